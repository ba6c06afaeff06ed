//! The `teleop` command line: parse arguments, call `app` (or a file tool), turn its error into
//! a one-line message and an exit code in exactly one place.

mod demo;
mod draft;
mod inspect;
mod kin;
mod profile;
mod record;
mod robot;

use std::io::Write;
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
    /// The simulated humanoid picks up a cube, driven by a scripted trainer (the default) or a
    /// headset (`--input xr`).
    Demo(demo::DemoArgs),
    /// The simulated humanoid driven by an operator source (`--input xr`: a headset through
    /// any OpenXR runtime), in real time, until the session ends.
    Run(demo::RunArgs),
    /// The robot process: hosts the simulated robot and drives it with the commands of one
    /// station at a time over Zenoh (ROS 2 topics), with its own safety filter and watchdog.
    Robot(robot::RobotArgs),
    /// Episode files: repair a cut-off one, show one's contents.
    #[command(subcommand)]
    Record(record::RecordCommand),
    /// Drive the simulated demo scene from a recorded episode.
    Replay(record::ReplayArgs),
    /// Convert episodes to a dataset for policy training.
    Export(record::ExportArgs),
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
    /// Robot profiles: check one before a trainer drives it.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
}

/// Runs the command line; the process's exit code: 0 done, 1 failed (one `error:` line), 2 bad
/// arguments (one line).
pub fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help, --version: what the user asked for.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("error: {first} (see teleop --help)");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`teleop record info EP | head -1`) has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line: a cause already said by the message before it is not
/// repeated, control characters are escaped, and the line is cut at 1,000 characters.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    let mut out = String::with_capacity(line.len().min(1024));
    for (n, c) in line.chars().enumerate() {
        if n == 1000 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(|io| io.kind()) == pipe
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == pipe
    })
}

/// Writes a line to stdout; a closed or full stdout is an error to return, not a panic.
pub(crate) fn say(line: impl std::fmt::Display) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::Error::new(e).context("stdout"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args
        .command
        .unwrap_or_else(|| Command::Demo(demo::DemoArgs::default()))
    {
        Command::Demo(args) => demo::demo(args),
        Command::Run(args) => demo::run(args),
        Command::Robot(args) => robot::run(args),
        Command::Record(command) => record::run(command),
        Command::Replay(args) => record::replay(args),
        Command::Export(args) => record::export(args),
        Command::Inspect { urdf, json } => inspect::run(&urdf, json),
        Command::Kin(command) => kin::run(command),
        Command::Profile(command) => profile::run(command),
    }
}
