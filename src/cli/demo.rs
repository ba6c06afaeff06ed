//! `teleop demo` and `teleop run`: a session of the simulated robot driven by the scripted
//! trainer or a headset; prints the summary. No GPU, display or headset needed by default.

use std::path::PathBuf;

use anyhow::bail;
use clap::ValueEnum;

use super::robot::ConnectArgs;
use super::say;
use crate::app::recording::Recording;
use crate::app::{self, View, bundled, demo, headset};

/// Where operator frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Input {
    /// The scripted trainer (`--script`).
    #[default]
    Script,
    /// A headset through the active OpenXR runtime.
    Xr,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DemoArgs {
    /// Robot profile (TOML); default: the bundled humanoid.
    #[arg(long)]
    robot: Option<PathBuf>,
    /// Operator script (TOML keyframes); default: the bundled pick-and-place.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Real time: the control loop on its own thread at the profile's rate, the physics on
    /// another, deadline misses reported (default: headless, as fast as possible).
    #[arg(long)]
    realtime: bool,
    /// Vary the cube's start pose (and the spot) by this seed: up to 3 cm each way and 15°
    /// (times the arm's motion scale); the scripted trainer reaches for it where it lies.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    xr: XrArgs,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Robot profile (TOML); default: the bundled humanoid.
    #[arg(long)]
    robot: Option<PathBuf>,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    xr: XrArgs,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// The stereo robot-camera view, as the user asks for it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ViewArgs {
    /// Write side-by-side stereo PNGs of the robot's view into DIR.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Of the views rendered at 30 Hz (of session time), write every Nth.
    #[arg(long, value_name = "N", default_value_t = 10)]
    frame_every: u32,
    /// Per-eye PNG size, WIDTHxHEIGHT (default: the profile's camera size).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    frame_size: Option<(u32, u32)>,
    /// Show the stereo view (and an overview) in a desktop window (headless runs show the
    /// deterministic simulation as fast as it goes; add --realtime for real time).
    #[arg(long)]
    window: bool,
}

impl ViewArgs {
    pub fn into_view(self) -> View {
        View {
            png_dir: self.frames,
            png_every: self.frame_every,
            eye_size: self.frame_size,
            window: self.window,
        }
    }

    fn is_set(&self) -> bool {
        self.frames.is_some() || self.frame_size.is_some() || self.window
    }
}

/// Recording a session.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RecordArgs {
    /// Record the run as episodes in this folder, one ROS 2 bag each (`episode-NNNN/`: MCAP in
    /// CDR, metadata.yaml), the robot's rendered stereo view included (a JPEG per eye, 30 fps)
    /// where a graphics adapter exists.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Operator id written into recorded episodes (default: $USER).
    #[arg(long, requires = "record")]
    operator: Option<String>,
    /// Task description written into recorded episodes (the demo's own by default).
    #[arg(long, requires = "record")]
    task: Option<String>,
    /// Skill written into recorded episodes: a name from the catalogue (the demo's own,
    /// pick_and_place, by default).
    #[arg(long, requires = "record")]
    skill: Option<String>,
    /// Scenario written into recorded episodes: a name from the catalogue (the demo's own,
    /// tabletop, by default).
    #[arg(long, requires = "record")]
    scenario: Option<String>,
    /// The centre's catalogue of skills and scenarios (TOML; default: the bundled
    /// catalogue.toml).
    #[arg(long, value_name = "FILE", requires = "record")]
    catalogue: Option<PathBuf>,
    /// Leave the camera (the rendered stereo view) out of the recording.
    #[arg(long, requires = "record")]
    no_camera: bool,
    /// Per-eye size of the recorded camera frames, WIDTHxHEIGHT (default: the demo's
    /// --frame-size, else the profile's camera size).
    #[arg(long, value_name = "WxH", value_parser = parse_size, requires = "record")]
    camera_size: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct XrArgs {
    /// Operator source.
    #[arg(long, value_enum, default_value_t = Input::Script)]
    input: Input,
    /// With `--input xr`: an input-only session (XR_MND_headless), nothing shown in the
    /// headset.
    #[arg(long)]
    headless: bool,
    /// With `--input xr`: stop after this many seconds (default: when the session ends; the
    /// menu button ends it).
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    seconds: Option<f64>,
}

impl RecordArgs {
    fn into_recording(self) -> Option<Recording> {
        Some(Recording {
            dir: self.record?,
            operator: self.operator,
            task: self.task,
            skill: self.skill,
            scenario: self.scenario,
            catalogue: self.catalogue,
            camera: !self.no_camera,
            camera_size: self.camera_size,
        })
    }
}

pub(super) fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected WIDTHxHEIGHT such as 640x360, got {text:?}");
    let (w, h) = text.split_once('x').ok_or_else(bad)?;
    let (w, h) = (
        w.parse::<u32>().map_err(|_| bad())?,
        h.parse::<u32>().map_err(|_| bad())?,
    );
    if (16..=8192).contains(&w) && (16..=8192).contains(&h) {
        Ok((w, h))
    } else {
        Err(format!("{text}: each side must be 16 to 8192 pixels"))
    }
}

pub(super) fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 7.0 * 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?}: a number of seconds above 0, at most a week"
        )),
    }
}

pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        robot,
        script,
        realtime,
        seed,
        view,
        record,
        xr,
        connect,
    } = args;
    if xr.input == Input::Xr {
        if script.is_some() || view.is_set() || seed.is_some() {
            bail!(
                "--input xr takes its view to the headset: --script, --seed, --frames, --frame-size and --window go with the scripted trainer only"
            );
        }
        return headset(robot, record, xr, connect);
    }
    if xr.headless || xr.seconds.is_some() {
        bail!("--headless and --seconds go with --input xr only");
    }
    let profile = robot.unwrap_or_else(|| bundled("profiles/teleop_humanoid.toml"));
    // Bad files are one error line, not a progress line and then an error.
    let (loaded, _) = crate::config::Profile::load(&profile)?;
    let script = script
        .or(loaded.demo_script)
        .unwrap_or_else(|| bundled("scripts/pick_cube.toml"));
    crate::operator::Script::load(&script)?;
    let recording = record.clone().into_recording();
    if let Some(r) = &recording {
        app::recording::labels(r, demo::DEMO_TASK, demo::DEMO_SKILL, demo::DEMO_SCENARIO)?;
    }
    if seed.is_some() && connect.endpoint().is_some() {
        bail!(
            "--seed varies the simulator's scene in this process; a robot process sets up its own"
        );
    }
    eprintln!(
        "demo: {} driven by {} in the simulation ({})…",
        profile.display(),
        script.display(),
        match (connect.endpoint(), realtime) {
            (Some(endpoint), _) => format!("real time, robot process at {endpoint}"),
            (None, true) => "real time".into(),
            (None, false) => "headless".into(),
        }
    );
    let mut view = view.into_view();
    // The demo renders its view once for PNGs, window and recording alike: one size.
    match (view.eye_size, record.camera_size) {
        (Some(a), Some(b)) if a != b => {
            bail!("--frame-size and --camera-size differ; the demo renders one size")
        }
        (None, Some(size)) => view.eye_size = Some(size),
        _ => {}
    }
    let options = demo::Options {
        realtime,
        view,
        record: recording,
        stop: crate::rt::interrupt_flag(),
        connect: connect.into_connection(&profile),
        seed,
        ..demo::Options::default()
    };
    let run = demo::run(&profile, &script, &options)?;
    say(&run.summary)?;
    if let Some(episode) = run.episode {
        let episode = episode?;
        let dropped: u64 = episode.drops.values().sum();
        say(format_args!(
            "recorded: {} ({:.1} MB, {:.1} s, outcome {}, {} messages, {dropped} dropped)",
            episode.path.display(),
            episode.bytes as f64 / 1e6,
            episode.duration_s,
            episode.outcome.name(),
            episode.counts.values().sum::<u64>()
        ))?;
    }
    if run.interrupted {
        bail!("interrupted before the script ended")
    } else if run.summary.success {
        Ok(())
    } else {
        bail!("the cube did not reach its spot")
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let RunArgs {
        robot,
        record,
        xr,
        connect,
    } = args;
    match xr.input {
        Input::Xr => headset(robot, record, xr, connect),
        Input::Script => demo(DemoArgs {
            robot,
            realtime: true,
            record,
            xr,
            connect,
            ..DemoArgs::default()
        }),
    }
}

fn headset(
    robot: Option<PathBuf>,
    record: RecordArgs,
    xr: XrArgs,
    connect: ConnectArgs,
) -> anyhow::Result<()> {
    let profile = robot.unwrap_or_else(|| bundled("profiles/teleop_humanoid.toml"));
    let options = headset::Options {
        headless: xr.headless,
        duration_s: xr.seconds,
        record: record.into_recording(),
        stop: crate::rt::interrupt_flag(),
        connect: connect.into_connection(&profile),
    };
    let report = headset::run(&profile, &options)?;
    say(&report)?;
    match report.ended {
        crate::xr::drive::Ended::SessionEnded => Ok(()),
        crate::xr::drive::Ended::Failed(e) => Err(app::Error::from(e).into()),
    }
}
