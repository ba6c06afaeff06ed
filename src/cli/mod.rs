//! The `teleop` command line: parse arguments, run one subcommand, turn its error into a
//! one-line message and an exit code in exactly one place.

mod demo;
mod inspect;
mod kin;
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
        xr: xr::XrArgs,
    },
    /// The simulated humanoid driven by an operator source (`--input xr`: a headset through
    /// any OpenXR runtime), in real time, until the session ends.
    Run {
        /// Robot profile (TOML); default: the bundled humanoid.
        #[arg(long)]
        robot: Option<PathBuf>,
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
        xr: xr::XrArgs::default(),
    }) {
        Command::Demo {
            robot,
            script,
            realtime,
            view,
            xr,
        } => match xr.input {
            xr::Input::Script => demo::run(robot, script, realtime, view),
            xr::Input::Xr => xr::run(robot, &xr),
        },
        Command::Run { robot, xr } => match xr.input {
            xr::Input::Xr => xr::run(robot, &xr),
            xr::Input::Script => demo::run(robot, None, true, demo::ViewArgs::default()),
        },
        Command::Inspect { urdf, json } => inspect::run(&urdf, json),
        Command::Kin(command) => kin::run(command),
    }
}
