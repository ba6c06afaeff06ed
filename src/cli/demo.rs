//! `teleop demo`: the bundled humanoid picks up a cube in the simulation, driven by a scripted
//! trainer; prints the summary. No GPU, display or headset needed (the view is optional).

use std::path::{Path, PathBuf};

use crate::demo::{Options, View};

/// The bundled files, found beside the executable's source tree or the working directory.
pub fn bundled(relative: &str) -> PathBuf {
    let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if in_tree.exists() {
        in_tree
    } else {
        PathBuf::from(relative)
    }
}

/// The stereo robot-camera view, as the user asks for it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ViewArgs {
    /// Write side-by-side stereo PNGs of the robot's view into DIR.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Of the views rendered at 30 Hz (of simulated time), write every Nth.
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
            frames: self.frames,
            frame_every: self.frame_every,
            frame_size: self.frame_size,
            window: self.window,
        }
    }
}

/// Recording the demo.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RecordArgs {
    /// Record the run as an episode (MCAP) in this folder, the robot's rendered stereo view
    /// included (JPEG, 30 fps) where a graphics adapter exists.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Operator id written into recorded episodes (default: $USER).
    #[arg(long, requires = "record")]
    pub operator: Option<String>,
    /// Task description written into recorded episodes (the demo's own by default).
    #[arg(long, requires = "record")]
    pub task: Option<String>,
    /// Leave the camera (the rendered stereo view) out of the recording.
    #[arg(long, requires = "record")]
    pub no_camera: bool,
    /// Per-eye size of the recorded camera frames, WIDTHxHEIGHT (default: the demo's
    /// --frame-size, else the profile's camera size).
    #[arg(long, value_name = "WxH", value_parser = parse_size, requires = "record")]
    pub camera_size: Option<(u32, u32)>,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
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

pub fn run(
    robot: Option<PathBuf>,
    script: Option<PathBuf>,
    realtime: bool,
    view: ViewArgs,
    record: RecordArgs,
) -> anyhow::Result<()> {
    let profile = robot.unwrap_or_else(|| bundled("profiles/teleop_humanoid.toml"));
    let script = script.unwrap_or_else(|| bundled("scripts/pick_cube.toml"));
    eprintln!(
        "demo: {} driven by {} in the simulation ({})…",
        profile.display(),
        script.display(),
        if realtime { "real time" } else { "headless" }
    );
    let mut options = Options {
        settle_s: 1.0,
        view: view.into_view(),
    };
    // The demo renders its view once for PNGs, window and recording alike: one size.
    match (options.view.frame_size, record.camera_size) {
        (Some(a), Some(b)) if a != b => {
            anyhow::bail!("--frame-size and --camera-size differ; the demo renders one size")
        }
        (None, Some(size)) => options.view.frame_size = Some(size),
        _ => {}
    }
    if let Some(dir) = record.record {
        return super::record::demo(
            &profile,
            &script,
            &options,
            crate::record::DemoRecording {
                dir,
                operator: record.operator,
                task: record.task,
                realtime,
                camera: !record.no_camera,
            },
        );
    }
    let summary = if realtime {
        crate::demo::run_realtime_with(&profile, &script, &options)?
    } else {
        crate::demo::run_with(&profile, &script, &options)?
    };
    println!("{summary}");
    if summary.success {
        Ok(())
    } else {
        anyhow::bail!("the cube did not reach its spot")
    }
}
