//! `teleop record …`, `teleop replay`, `teleop export`: episode files after the fact.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use super::demo::ViewArgs;
use super::say;
use crate::app::replay::{ReplayOptions, replay as replay_episode};
use crate::record::{self, EpisodeFile};

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Make a cut-off episode file (crash, power loss, full disk) complete again, in place;
    /// the damaged original is kept as FILE.damaged.
    Repair { file: PathBuf },
    /// List an episode's channels, message counts and metadata.
    Info { file: PathBuf },
    /// Rewrite an old JSON episode file (`episode-NNNN.mcap` with JSON messages) as an episode
    /// folder of today's format (ROS 2 CDR, metadata.yaml); the old file is left as it is.
    Convert {
        /// The old episode file (`episode-NNNN.mcap`, its `.json` sidecar beside it).
        file: PathBuf,
        /// The episode folder to write (must not exist; default: beside FILE, named as it).
        #[arg(short = 'o', long = "out", value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
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
    view: ViewArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write a LeRobotDataset v3.0 folder here.
    #[arg(long, value_name = "OUT")]
    lerobot: PathBuf,
    /// Episodes: folders (`episode-NNNN/`) or their MCAP files; old JSON episode files too.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Frames per second of the dataset (a whole number).
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Also export episodes the operator discarded.
    #[arg(long)]
    include_discarded: bool,
    /// Camera frames as one MP4 per camera (`video`: AV1, else H.264, by the `ffmpeg` program;
    /// without it, parquet with a warning) or as JPEG in the data parquet (`parquet`).
    #[arg(long, value_enum, default_value_t = Images::Video)]
    images: Images,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Images {
    Video,
    Parquet,
}

pub fn run(command: RecordCommand) -> anyhow::Result<()> {
    match command {
        RecordCommand::Repair { file } => {
            let r = record::repair(&file)?;
            match (&r.damage, &r.original) {
                (Some(damage), Some(original)) => say(format_args!(
                    "{}: was {damage}; rewritten complete with {} messages (original kept as {})",
                    file.display(),
                    r.messages,
                    original.display()
                )),
                _ => say(format_args!(
                    "{}: complete ({} messages), nothing to repair",
                    file.display(),
                    r.messages
                )),
            }
        }
        RecordCommand::Info { file } => info(&file),
        RecordCommand::Convert { file, out } => {
            let folder = out.unwrap_or_else(|| record::converted_folder(&file));
            let c = record::convert_json(&file, &folder)?;
            say(format_args!(
                "{}: converted to {} ({} messages, {} stereo frames split per eye)",
                file.display(),
                c.file.display(),
                c.messages,
                c.images
            ))
        }
    }
}

fn info(file: &Path) -> anyhow::Result<()> {
    let episode = EpisodeFile::read(file)?;
    say(format_args!(
        "{}: {}",
        file.display(),
        match &episode.damage {
            None => "complete".to_string(),
            Some(d) => format!("{d} (readable part shown; `teleop record repair` fixes it)"),
        }
    ))?;
    for key in [
        "robot",
        "urdf_sha256",
        "operator",
        "task",
        "start_time",
        "end_time",
        "outcome",
        "drops",
        "software",
    ] {
        if let Some(v) = episode.metadata.get(key) {
            say(format_args!("  {key}: {v}"))?;
        }
    }
    for (topic, n) in episode.counts() {
        say(format_args!("  {topic:<16} {n:>8} messages"))?;
    }
    Ok(())
}

pub fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let summary = replay_episode(
        &args.file,
        &ReplayOptions {
            from_operator: args.from_operator,
            profile: args.robot,
            view: args.view.into_view(),
        },
    )?;
    say(&summary)?;
    if summary.success {
        Ok(())
    } else {
        bail!("the cube did not reach its spot in the replay")
    }
}

pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs {
        lerobot: out,
        files,
        fps,
        include_discarded,
        images,
    } = args;
    let report = record::export_lerobot(
        &out,
        &files,
        &record::ExportOptions {
            fps,
            include_discarded,
            progress: true,
            images: match images {
                Images::Video => record::ImageStorage::Video,
                Images::Parquet => record::ImageStorage::Parquet,
            },
            ..record::ExportOptions::default()
        },
    )
    .with_context(|| format!("export to {}", out.display()))?;
    for (path, why) in &report.skipped {
        eprintln!("skipped {}: {why}", path.display());
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let images = match (report.images, report.codec) {
        (Some(kind), Some(codec)) => format!("{kind} ({codec})"),
        (Some(kind), None) => kind.to_string(),
        (None, _) => "none recorded".to_string(),
    };
    say(format_args!(
        "{}: LeRobotDataset v3.0, {} episodes, {} frames at {fps} fps, images: {images}, \
         end-effector poses: {}",
        out.display(),
        report.episodes,
        report.frames,
        if report.ee_pose { "yes" } else { "no" }
    ))
}
