//! `--input xr`: the demo's scene driven by a headset through any OpenXR runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, ValueEnum};
use teleop_xr::{ClearEyes, EyeRenderer, HeadlessClient, RobotView, Source, VulkanClient, drive};

use super::demo::RecordArgs;
use crate::msg::TickSink;
use crate::record::{Recorder, RecorderConfig, RobotInfo};
use crate::xr as teleop_xr;
use crate::{demo, render};

/// Where operator frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Input {
    /// The scripted trainer (`--script`).
    #[default]
    Script,
    /// A headset through the active OpenXR runtime.
    Xr,
}

#[derive(Debug, Clone, Default, Args)]
pub struct XrArgs {
    /// Operator source.
    #[arg(long, value_enum, default_value_t = Input::Script)]
    pub input: Input,
    /// With `--input xr`: an input-only session (XR_MND_headless), nothing shown in the
    /// headset.
    #[arg(long)]
    pub headless: bool,
    /// With `--input xr`: stop after this many seconds (default: when the session ends; the
    /// menu button ends it).
    #[arg(long, value_name = "S")]
    pub seconds: Option<f64>,
}

pub fn run(robot: Option<PathBuf>, args: &XrArgs, record: &RecordArgs) -> anyhow::Result<()> {
    let profile = robot.unwrap_or_else(|| super::demo::bundled("profiles/teleop_humanoid.toml"));
    let scene = demo::scene(&profile)?;
    // Before the session: a trainer should not find out after an hour that nothing was kept.
    let mut recorder = match &record.record {
        Some(dir) => {
            let mut config = RecorderConfig::new(dir, RobotInfo::from_profile(&profile)?);
            if let Some(operator) = &record.operator {
                config.operator = operator.clone();
            }
            config.task = record.task.clone().unwrap_or_default();
            Some(Recorder::start(config)?)
        }
        None => None,
    };
    let sink = recorder
        .as_mut()
        .and_then(Recorder::take_tap)
        .map(|tap| Box::new(tap) as Box<dyn TickSink>);
    let camera = recorder
        .as_mut()
        .filter(|_| !record.no_camera && scene.rig.is_some())
        .and_then(Recorder::take_camera);
    let epoch = Instant::now();
    // What the control thread publishes the robot's poses to: the headset's view and the
    // recorder's camera read it.
    let mut view_cell = camera
        .is_some()
        .then(|| Arc::new(render::StateCell::new(scene.view_state())));
    let mut source: Box<dyn Source> = if args.headless {
        Box::new(HeadlessClient::new(epoch, 90.0)?)
    } else {
        // The robot's stereo view where the profile names its cameras, else plain colours.
        let eyes: Box<dyn EyeRenderer> = match &scene.rig {
            Some(rig) => {
                let drawn = render::Scene::new(&scene.model, &scene.scene_objects);
                let cell = view_cell
                    .get_or_insert_with(|| Arc::new(render::StateCell::new(drawn.state())));
                Box::new(RobotView::new(drawn, rig.clone(), Arc::clone(cell)))
            }
            None => Box::new(ClearEyes),
        };
        Box::new(VulkanClient::new(epoch, eyes)?)
    };
    eprintln!(
        "xr: {} driving {} (squeeze: clutch, trigger: gripper, {})…",
        source.runtime_name(),
        profile.display(),
        match &record.record {
            Some(dir) => format!(
                "recording into {}: right A start/stop, right B success, left Y failure, left \
                 menu discard, left X marker; quit from the runtime's system menu",
                dir.display()
            ),
            None => "menu: quit".into(),
        }
    );
    let options = drive::Options {
        duration_s: args.seconds,
    };
    // The recorded camera renders offscreen on its own thread (the headset's view goes to the
    // swapchain and is not read back).
    let camera_done = Arc::new(AtomicBool::new(false));
    let camera_thread = match (camera, &view_cell) {
        (Some(camera), Some(cell)) => Some(demo::spawn_camera(
            &scene,
            record.camera_size,
            Box::new(camera),
            Arc::clone(cell),
            Arc::clone(&camera_done),
        )?),
        _ => None,
    };
    let report = drive::run(scene, source.as_mut(), options, epoch, view_cell, sink);
    camera_done.store(true, Ordering::Relaxed);
    let camera_report = camera_thread.map(|t| t.join());
    let report = report?;
    println!("{report}");
    match camera_report {
        Some(Ok(Ok(Some(line)))) => println!("camera: {line}"),
        Some(Ok(Err(e))) => eprintln!("xr: the recorded camera stopped: {e}"),
        Some(Err(_)) => eprintln!("xr: the recorded camera's thread panicked"),
        _ => {}
    }
    if let Some(recorder) = recorder.take() {
        // An episode still open is closed unlabelled.
        for episode in recorder.finish()? {
            println!(
                "recorded: {} ({:.1} s, outcome {}, {} dropped)",
                episode.path.display(),
                episode.duration_s,
                episode.outcome.name(),
                episode.drops.values().sum::<u64>()
            );
        }
    }
    match report.ended {
        drive::Ended::SessionEnded => Ok(()),
        drive::Ended::Failed(e) => Err(e.into()),
    }
}
