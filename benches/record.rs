//! Recording soak: does recording cost the control loop anything, does it drop, how big are the
//! files? One long run, so a plain `main` rather than criterion (which times short repeated
//! calls). The control thread ticks the humanoid's real pipeline at 500 Hz against an echo robot
//! (command in, same state out: no physics, so the loop's own cost is what is measured);
//! operator frames come from the demo script, looped, at 90 Hz; a render stand-in offers
//! 2×640×480 stereo frames at 30 fps (moving gradients with fine texture, roughly a rendered
//! scene's JPEG size). It runs once without and once with recording, and prints tick
//! percentiles, deadline misses, drops per channel and MB per minute.
//!
//! `cargo bench --bench record` runs 600 s per pass (`RECORD_BENCH_SECS` to change it); under
//! `cargo test` it is a 2 s smoke run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use teleop_bridge::app::{LoopStats, Scene, Session};
use teleop_bridge::msg::{CameraFrame, TickSink};
use teleop_bridge::operator::{Published, Script};
use teleop_bridge::record::{Outcome, Recorder, RecorderConfig, Topic};
use teleop_bridge::robot::{self, Robot, RobotState};

struct Echo(RobotState);

impl Robot for Echo {
    fn dof(&self) -> usize {
        self.0.positions.len()
    }
    fn links(&self) -> usize {
        self.0.contact_forces.len()
    }
    fn command(&mut self, positions: &[f64]) -> Result<(), robot::Error> {
        self.0.positions.copy_from_slice(positions);
        Ok(())
    }
    fn read_state(&mut self, out: &mut RobotState) -> Result<(), robot::Error> {
        out.copy_from(&self.0);
        Ok(())
    }
}

fn stereo_frame(k: u64, time_ns: u64) -> CameraFrame {
    let (w, h) = (1280u32, 480u32);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    let mut noise = 0x9E37_79B9_u32 ^ k as u32;
    for y in 0..h {
        for x in 0..w {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let grain = (noise & 7) as u8;
            let eye_x = x % (w / 2);
            let r = ((eye_x + k as u32 * 3) % 256) as u8;
            let g = ((y + k as u32) % 256) as u8;
            let b = if (eye_x / 40 + y / 40) % 2 == 0 {
                200
            } else {
                60
            };
            rgba.extend([r.wrapping_add(grain), g.wrapping_add(grain), b, 255]);
        }
    }
    CameraFrame {
        time_ns,
        width: w,
        height: h,
        rgba,
    }
}

struct Pass {
    stats: LoopStats,
    seconds: f64,
    report: Option<teleop_bridge::record::EpisodeReport>,
}

fn pass(root: &Path, seconds: f64, record: bool) -> Pass {
    let profile = root.join("profiles/teleop_humanoid.toml");
    let script = Script::load(&root.join("scripts/pick_cube.toml")).expect("script");
    let scene = Scene::load(&profile).expect("scene");
    let pipeline = scene.pipeline().expect("pipeline");
    let mut state = RobotState::zeros(scene.model.dof(), scene.model.links.len(), 0);
    state.positions.copy_from_slice(pipeline.command());
    let dir = std::env::temp_dir().join(format!("teleop-record-bench-{}", std::process::id()));
    let mut recorder = record.then(|| {
        let _ = std::fs::remove_dir_all(&dir);
        let robot = teleop_bridge::app::recording::robot_info(&profile).expect("profile");
        let mut config = RecorderConfig::new(&dir, robot);
        config.labels.task = "soak".into();
        Recorder::start(config).expect("recorder")
    });
    let sink = recorder
        .as_mut()
        .and_then(Recorder::take_tap)
        .map(|t| Box::new(t) as Box<dyn TickSink>);
    let mut camera = recorder.as_mut().and_then(Recorder::take_camera);
    if let Some(r) = &recorder {
        r.start_episode().expect("episode");
    }
    let frames = Published::new();
    let epoch = Instant::now();
    let running = Session {
        pipeline,
        robot: Box::new(Echo(state)),
        source: Box::new(frames.subscribe()),
        recorder: sink,
        observer: (),
    }
    .spawn(epoch, Arc::default())
    .expect("control thread");
    let done = Arc::new(AtomicBool::new(false));
    let render = camera.take().map(|mut camera| {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut k = 0;
            while !done.load(Ordering::Relaxed) {
                let t = epoch.elapsed().as_nanos() as u64;
                if camera.wants(t) {
                    camera.offer(stereo_frame(k, t));
                    k += 1;
                }
                std::thread::sleep(Duration::from_millis(1000 / 60));
            }
        })
    });
    let period = script.duration() + 1.0;
    loop {
        let t = epoch.elapsed().as_secs_f64();
        if t > seconds {
            break;
        }
        let frame = script.frame_at(t % period, (t * 1e9) as u64);
        frames.publish(frame);
        std::thread::sleep(Duration::from_secs_f64(1.0 / 90.0));
    }
    done.store(true, Ordering::Relaxed);
    if let Some(r) = render {
        let _ = r.join();
    }
    let stats = running.stop().expect("control thread").stats;
    let seconds = epoch.elapsed().as_secs_f64();
    let report = recorder.map(|r| {
        let report = r.stop_episode(Outcome::Unlabelled).expect("stop");
        r.finish().expect("finish");
        report
    });
    let _ = std::fs::remove_dir_all(&dir);
    Pass {
        stats,
        seconds,
        report,
    }
}

fn print(name: &str, p: &Pass) {
    let us = |q: f64| p.stats.tick.percentile(q) as f64 / 1e3;
    let late_us = |q: f64| p.stats.start_late.percentile(q) as f64 / 1e3;
    println!(
        "{name:>13}: {:.0} s, {} ticks ({:.1} Hz), tick p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, {} deadline misses; started late p99 {:.1} µs, p99.9 {:.1} µs; control thread at {}",
        p.seconds,
        p.stats.ticks,
        p.stats.ticks as f64 / p.seconds,
        us(50.0),
        us(99.0),
        us(99.9),
        p.stats.deadline_misses,
        late_us(99.0),
        late_us(99.9),
        p.stats
            .priority
            .as_ref()
            .map_or_else(|| "?".to_string(), ToString::to_string)
    );
    if let Some(r) = &p.report {
        let minutes = r.duration_s / 60.0;
        let dropped: u64 = r.drops.values().sum();
        println!(
            "{:>13}  {:.1} MB in {:.1} min = {:.1} MB/min; {} camera frames; drops: {} ({:?})",
            "",
            r.bytes as f64 / 1e6,
            minutes,
            r.bytes as f64 / 1e6 / minutes.max(1e-9),
            r.counts[Topic::CameraLeft.name()],
            dropped,
            r.drops.iter().filter(|(_, n)| **n > 0).collect::<Vec<_>>()
        );
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let seconds: f64 = if bench {
        std::env::var("RECORD_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(600.0)
    } else {
        2.0
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plain = pass(root, seconds, false);
    print("not recording", &plain);
    let recorded = pass(root, seconds, true);
    print("recording", &recorded);
}
