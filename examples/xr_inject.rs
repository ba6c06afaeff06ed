//! Streams an operator script (default: the demo's pick-and-place) to Monado's remote driver,
//! so `teleop demo --input xr` can be run against a real OpenXR runtime without a headset:
//!
//! ```text
//! scripts/xr-runtime.sh start remote
//! cargo run --example xr_inject -- [SCRIPT.toml] [--delay S] [--seconds S] [--loop] &
//! scripts/xr-runtime.sh exec target/debug/teleop demo --input xr --seconds 15
//! ```
//! The script starts `--delay` seconds after the injector connects (hands at rest until then);
//! `--loop` repeats it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use teleop_bridge::operator::Script;
use teleop_bridge::xr::remote::{Injector, RemoteController, RemoteState};

fn main() -> anyhow::Result<()> {
    let mut script_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pick_cube.toml");
    let mut seconds = None;
    let mut repeat = false;
    let mut delay = 0.0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = Some(args.next().unwrap_or_default().parse::<f64>()?),
            "--loop" => repeat = true,
            "--delay" => delay = args.next().unwrap_or_default().parse::<f64>()?,
            other => script_path = PathBuf::from(other),
        }
    }
    let script = Script::load(&script_path)?;
    let mut injector = Injector::connect(Duration::from_secs(10))?;
    eprintln!(
        "xr_inject: streaming {} ({:.1} s) to the remote driver",
        script_path.display(),
        script.duration()
    );
    let standing = RemoteState::standing();
    // Hands at rest, clutch open, until the client is up (a clutch already held when input
    // arrives stays open until released: see xr::session::ClutchLatch).
    let waiting = Instant::now();
    while waiting.elapsed().as_secs_f64() < delay {
        injector.send(&standing)?;
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        if seconds.is_some_and(|s| elapsed >= s) || (!repeat && elapsed > script.duration() + 2.0) {
            return Ok(());
        }
        let t = if repeat {
            elapsed % script.duration()
        } else {
            elapsed
        };
        let frame = script.frame_at(t, 0);
        let hand =
            |input: &teleop_bridge::msg::HandInput, rest: &RemoteController| RemoteController {
                pose: input.grip.unwrap_or(rest.pose),
                active: input.grip.is_some(),
                trigger: input.trigger as f32,
                squeeze: input.squeeze as f32,
                ..*rest
            };
        injector.send(&RemoteState {
            head: frame.head.unwrap_or(standing.head),
            left: hand(&frame.left, &standing.left),
            right: hand(&frame.right, &standing.right),
        })?;
        std::thread::sleep(Duration::from_millis(5));
    }
}
