//! The `teleop` command line: parse arguments, run one subcommand, turn its error into a
//! one-line message and an exit code in exactly one place.

mod demo;
mod inspect;
mod kin;
mod record;
mod xr;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "teleop",
    version,
    about = "VR teleoperation bridge for humanoid robots"
)]
pub struct Args {
    /// Without a command: `demo`.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The simulated humanoid picks up a cube, driven by a scripted trainer (the default).
    Demo {
        /// Robot profile (TOML); default: the bundled humanoid.
        #[arg(long)]
        robot: Option<PathBuf>,
        /// Operator script (TOML keyframes); default: the bundled pick-and-place.
        #[arg(long)]
        script: Option<PathBuf>,
        /// Real time: the control loop on its own thread at the profile's rate, frames at
        /// 90 Hz, deadline misses reported (default: headless, as fast as possible).
        #[arg(long)]
        realtime: bool,
        #[command(flatten)]
        view: demo::ViewArgs,
        #[command(flatten)]
        record: demo::RecordArgs,
        #[command(flatten)]
        xr: xr::XrArgs,
    },
    /// Episode files: repair a cut-off one, show one's contents.
    #[command(subcommand)]
    Record(record::RecordCommand),
    /// Drive the simulated demo scene from a recorded episode.
    Replay {
        file: PathBuf,
        /// Re-run retarget → IK → safety from the recorded operator frames instead of sending
        /// the recorded joint commands.
        #[arg(long)]
        from_operator: bool,
        /// Robot profile (default: the one the episode was recorded with).
        #[arg(long)]
        robot: Option<PathBuf>,
        /// The robot's view while it replays (a window keeps the replay to real time).
        #[command(flatten)]
        view: demo::ViewArgs,
    },
    /// Convert episodes to a dataset for policy training.
    Export {
        /// Write a LeRobotDataset v3.0 folder here.
        #[arg(long, value_name = "OUT")]
        lerobot: PathBuf,
        /// Episode files (MCAP).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Frames per second of the dataset.
        #[arg(long, default_value_t = 30.0)]
        fps: f64,
        /// Also export episodes the operator discarded.
        #[arg(long)]
        include_discarded: bool,
    },
    /// The simulated humanoid driven by an operator source (`--input xr`: a headset through
    /// any OpenXR runtime), in real time, until the session ends.
    Run {
        /// Robot profile (TOML); default: the bundled humanoid.
        #[arg(long)]
        robot: Option<PathBuf>,
        #[command(flatten)]
        record: demo::RecordArgs,
        #[command(flatten)]
        xr: xr::XrArgs,
    },
    /// Describe a URDF: tree, DoF, joint limits, suggested chains, mesh status.
    Inspect {
        urdf: PathBuf,
        /// Machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Kinematics on JSON lines (stdin → stdout).
    #[command(subcommand)]
    Kin(kin::KinCommand),
}

/// Runs the command line; the process's exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command.unwrap_or(Command::Demo {
        robot: None,
        script: None,
        realtime: false,
        view: demo::ViewArgs::default(),
        record: demo::RecordArgs::default(),
        xr: xr::XrArgs::default(),
    }) {
        Command::Demo {
            robot,
            script,
            realtime,
            view,
            record,
            xr,
        } => match xr.input {
            xr::Input::Script => demo::run(robot, script, realtime, view, record),
            xr::Input::Xr => xr::run(robot, &xr, &record),
        },
        Command::Record(command) => record::run(command),
        Command::Replay {
            file,
            from_operator,
            robot,
            view,
        } => record::replay(&file, from_operator, robot, view.into_view()),
        Command::Export {
            lerobot,
            files,
            fps,
            include_discarded,
        } => record::export(&lerobot, &files, fps, include_discarded),
        Command::Run { robot, record, xr } => match xr.input {
            xr::Input::Xr => xr::run(robot, &xr, &record),
            xr::Input::Script => demo::run(robot, None, true, demo::ViewArgs::default(), record),
        },
        Command::Inspect { urdf, json } => inspect::run(&urdf, json),
        Command::Kin(command) => kin::run(command),
    }
}
