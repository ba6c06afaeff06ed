//! `teleop record …`, `teleop replay`, `teleop export`: episode files after the fact.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use crate::record::{self, EpisodeFile};

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Make a cut-off episode file (crash, power loss, full disk) complete again, in place;
    /// the damaged original is kept as FILE.damaged.
    Repair { file: PathBuf },
    /// List an episode's channels, message counts and metadata.
    Info { file: PathBuf },
}

pub fn run(command: RecordCommand) -> anyhow::Result<()> {
    match command {
        RecordCommand::Repair { file } => {
            let r = record::repair(&file)?;
            match (&r.damage, &r.original) {
                (Some(damage), Some(original)) => println!(
                    "{}: was {damage}; rewritten complete with {} messages (original kept as {})",
                    file.display(),
                    r.messages,
                    original.display()
                ),
                _ => println!(
                    "{}: complete ({} messages), nothing to repair",
                    file.display(),
                    r.messages
                ),
            }
            Ok(())
        }
        RecordCommand::Info { file } => info(&file),
    }
}

fn info(file: &Path) -> anyhow::Result<()> {
    let episode = EpisodeFile::read(file)?;
    println!(
        "{}: {}",
        file.display(),
        match &episode.damage {
            None => "complete".to_string(),
            Some(d) => format!("{d} (readable part shown; `teleop record repair` fixes it)"),
        }
    );
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
            println!("  {key}: {v}");
        }
    }
    for (topic, n) in episode.counts() {
        println!("  {topic:<16} {n:>8} messages");
    }
    Ok(())
}

pub fn replay(
    file: &Path,
    from_operator: bool,
    robot: Option<PathBuf>,
    view: crate::demo::View,
) -> anyhow::Result<()> {
    let summary = record::replay(
        file,
        &record::ReplayOptions {
            from_operator,
            profile: robot,
            view,
        },
    )?;
    println!("{summary}");
    if summary.success {
        Ok(())
    } else {
        anyhow::bail!("the cube did not reach its spot in the replay")
    }
}

pub fn export(
    out: &Path,
    files: &[PathBuf],
    fps: f64,
    include_discarded: bool,
) -> anyhow::Result<()> {
    let report = record::export_lerobot(
        out,
        files,
        &record::ExportOptions {
            fps,
            include_discarded,
            progress: true,
        },
    )
    .with_context(|| format!("export to {}", out.display()))?;
    for (path, why) in &report.skipped {
        eprintln!("skipped {}: {why}", path.display());
    }
    println!(
        "{}: LeRobotDataset v3.0, {} episodes, {} frames at {fps} fps, images: {}",
        out.display(),
        report.episodes,
        report.frames,
        report.images.unwrap_or("none recorded")
    );
    Ok(())
}

/// `teleop demo --record DIR`: the demo, recorded; teleoperation runs to its end even when
/// recording fails, which then is the error.
pub fn demo(
    profile: &Path,
    script: &Path,
    options: &crate::demo::Options,
    recording: record::DemoRecording,
) -> anyhow::Result<()> {
    let recorded = record::record_demo(profile, script, options, &recording)?;
    println!("{}", recorded.summary);
    let episode = recorded.episode?;
    let dropped: u64 = episode.drops.values().sum();
    println!(
        "recorded: {} ({:.1} MB, {:.1} s, outcome {}, {} messages, {dropped} dropped)",
        episode.path.display(),
        episode.bytes as f64 / 1e6,
        episode.duration_s,
        episode.outcome.name(),
        episode.counts.values().sum::<u64>()
    );
    if recorded.summary.success {
        Ok(())
    } else {
        anyhow::bail!("the cube did not reach its spot")
    }
}
