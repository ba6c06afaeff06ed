//! `teleop run|demo --input xr`: the demo's scene driven by a headset through any OpenXR
//! runtime. The headset's frame loop runs on this thread and publishes operator frames; the
//! session ticks on its control thread against the simulator on its own thread; the robot's
//! view goes to the headset, and, when recording, the robot's camera to the recorder.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use nalgebra::Vector3;

use super::Error;
use super::feed::{self, CameraFeed};
use super::recording::{self, Recording};
use super::scene::{CUBE, Scene};
use super::session::Session;
use super::view::{self, Publish};
use crate::msg::{ImageSink, TickSink};
use crate::operator::Published;
use crate::record::{EpisodeReport, Outcome, Recorder};
use crate::render::{self, StateCell};
use crate::robot::Connection;
use crate::xr::{self, ClearEyes, Client, EyeRenderer, HeadlessClient, RobotView, VulkanClient};

/// How a headset session runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// An input-only session (`XR_MND_headless`): nothing shown in the headset.
    pub headless: bool,
    /// Stop after this long (s); `None`: until the session ends.
    pub duration_s: Option<f64>,
    /// Episodes start and end on the controller's buttons; the camera is rendered offscreen
    /// on its own thread.
    pub record: Option<Recording>,
    /// Set from outside (an interrupt): the session ends as if asked to; an open episode is
    /// closed as interrupted.
    pub stop: Arc<AtomicBool>,
    /// Drive a robot process over the network instead of the in-process simulator.
    pub connect: Option<Connection>,
}

/// What a headset session did.
#[derive(Debug)]
pub struct Report {
    pub runtime: String,
    pub profiles: [String; 2],
    pub samples: u64,
    pub focused_samples: u64,
    pub ticks: u64,
    pub tracking_ticks: u64,
    pub deadline_misses: u64,
    /// Predicted display time → joint command, one entry per operator frame that produced a
    /// command (ns; negative: the command was ready before the display time).
    pub latency_ns: Vec<i64>,
    pub cube_end: Vector3<f64>,
    pub ended: xr::drive::Ended,
    /// What the recorded camera did, when recording.
    pub camera: Option<String>,
    /// The episodes recorded (an episode still open at the end is closed unlabelled).
    pub episodes: Vec<EpisodeReport>,
}

impl Report {
    /// The `p`-th percentile (0–100) of the display → command latency (ms).
    pub fn latency_ms(&self, p: f64) -> Option<f64> {
        percentile(&self.latency_ns, p).map(|ns| ns as f64 / 1e6)
    }
}

/// The `p`-th percentile (nearest rank) of unsorted samples.
pub fn percentile(samples: &[i64], p: f64) -> Option<i64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Runs the demo's scene for the robot `profile`, driven by the active OpenXR runtime.
pub fn run(profile: &Path, options: &Options) -> Result<Report, Error> {
    let scene = Scene::load(profile)?;
    // Before the session: a trainer should not find out after an hour that nothing was kept.
    let mut recorder = match &options.record {
        Some(r) => Some(recording::start(
            profile,
            &r.dir,
            recording::labels(r, "", "", "")?,
            false,
        )?),
        None => None,
    };
    let ticks = recorder
        .as_mut()
        .and_then(Recorder::take_tap)
        .map(|t| Box::new(t) as Box<dyn TickSink>);
    let mut camera = recorder
        .as_mut()
        .filter(|_| options.record.as_ref().is_some_and(|r| r.camera) && scene.rig.is_some())
        .and_then(Recorder::take_camera)
        .map(|c| Box::new(c) as Box<dyn ImageSink>);
    let (epoch, epoch_wall_ns) = (Instant::now(), crate::rt::wall_clock_ns());
    // Driving a robot across the network, the headset shows (and the recorder keeps) the
    // robot's own camera images.
    let received = match (&options.connect, &scene.rig) {
        (Some(connection), Some(_)) if !options.headless || camera.is_some() => {
            Some(CameraFeed::start(
                connection,
                feed::Outputs {
                    png: None,
                    recorder: camera.take().map(|c| (c, epoch_wall_ns)),
                },
            )?)
        }
        _ => None,
    };
    let mut feed_frames = None;
    // What the control thread publishes the robot's poses to: the headset's view and the
    // recorder's camera read it.
    let mut cell = (camera.is_some() || received.is_some())
        .then(|| Arc::new(StateCell::new(scene.view_state())));
    let mut client: Box<dyn Client> = if options.headless {
        Box::new(HeadlessClient::new(epoch, 90.0)?)
    } else {
        // The robot's stereo view where the profile names its cameras, else plain colours.
        let eyes: Box<dyn EyeRenderer> = match &scene.rig {
            Some(rig) => {
                let drawn = render::Scene::new(&scene.model, &scene.scene_objects());
                let cell = cell.get_or_insert_with(|| Arc::new(StateCell::new(drawn.state())));
                let mut view = RobotView::new(drawn, rig.clone(), Arc::clone(cell));
                if let Some(received) = &received {
                    view = view.with_feed(received.cell());
                    feed_frames = Some(view.feed_frames());
                }
                Box::new(view)
            }
            None => Box::new(ClearEyes),
        };
        Box::new(VulkanClient::new(epoch, eyes)?)
    };
    eprintln!(
        "xr: {} driving {} (squeeze: clutch, trigger: gripper, {})…",
        client.runtime_name(),
        profile.display(),
        match &options.record {
            Some(r) => format!(
                "recording into {}: right A start/stop, right B success, left Y failure, left \
                 menu discard, left X marker; quit from the runtime's system menu",
                r.dir.display()
            ),
            None => "menu: quit".into(),
        }
    );
    let published = Published::new();
    let (robot, pipeline, _) = scene.realtime_robot(options.connect.as_ref())?;
    let running = Session {
        pipeline,
        robot,
        source: Box::new(published.subscribe()),
        recorder: ticks,
        observer: cell.clone().map(Publish),
    }
    .spawn(epoch, Arc::new(AtomicBool::new(false)))?;
    // The recorded camera renders offscreen on its own thread (the headset's view goes to the
    // swapchain and is not read back).
    let camera_done = Arc::new(AtomicBool::new(false));
    let camera_thread = match (camera, &cell) {
        (Some(camera), Some(cell)) => Some(view::spawn_camera(
            &scene,
            options.record.as_ref().and_then(|r| r.camera_size),
            camera,
            Arc::clone(cell),
            Arc::clone(&camera_done),
        )?),
        _ => None,
    };
    let pumped = xr::drive::run(
        client.as_mut(),
        &published,
        xr::drive::Options {
            duration_s: options.duration_s,
            menu_quits: recorder.is_none(),
        },
        &options.stop,
    );
    let ended = running.join();
    camera_done.store(true, Ordering::Relaxed);
    let mut camera = match camera_thread.map(|t| t.join()) {
        Some(Ok(Ok(line))) => line,
        Some(Ok(Err(e))) => Some(format!("the recorded camera stopped: {e}")),
        Some(Err(_)) => Some("the recorded camera's thread panicked".into()),
        None => None,
    };
    if let Some(received) = received {
        let mut line = received.finish()?;
        if let Some(frames) = feed_frames {
            line += &format!(
                "; {} headset frames showed them",
                frames.load(Ordering::Relaxed)
            );
        }
        camera = Some(line);
    }
    let ended = ended?;
    let episodes = match recorder.take() {
        Some(recorder) => {
            if options.stop.load(Ordering::Relaxed) && recorder.is_recording() {
                recorder.stop_episode(Outcome::Interrupted)?;
            }
            // An episode still open is closed unlabelled.
            recorder.finish()?
        }
        None => Vec::new(),
    };
    Ok(Report {
        runtime: client.runtime_name(),
        profiles: client.profiles(),
        samples: pumped.samples,
        focused_samples: pumped.focused_samples,
        ticks: ended.stats.ticks,
        tracking_ticks: ended.stats.moving_ticks(),
        deadline_misses: ended.stats.deadline_misses,
        cube_end: ended
            .state
            .object_poses
            .get(CUBE)
            .map_or_else(Vector3::zeros, |p| p.translation.vector),
        latency_ns: ended.stats.frame_to_command_ns,
        ended: pumped.ended,
        camera,
        episodes,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [left, right] = self
            .profiles
            .each_ref()
            .map(|p| if p.is_empty() { "none" } else { p.as_str() });
        writeln!(
            f,
            "xr: {}; controllers: left {left}, right {right}",
            self.runtime
        )?;
        writeln!(
            f,
            "frames: {} sampled, {} with input focus; control: {} ticks, {} following the operator, {} deadline misses",
            self.samples,
            self.focused_samples,
            self.ticks,
            self.tracking_ticks,
            self.deadline_misses
        )?;
        match (
            self.latency_ms(50.0),
            self.latency_ms(90.0),
            self.latency_ms(99.0),
        ) {
            (Some(p50), Some(p90), Some(p99)) => writeln!(
                f,
                "latency, predicted display time → joint command: p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms ({} frames)",
                self.latency_ns.len()
            )?,
            _ => writeln!(f, "latency: no frame drove the robot (clutch never held)")?,
        }
        write!(
            f,
            "cube at ({:.3}, {:.3}, {:.3}) m; {}",
            self.cube_end.x,
            self.cube_end.y,
            self.cube_end.z,
            match &self.ended {
                xr::drive::Ended::SessionEnded => "session ended".to_string(),
                xr::drive::Ended::Failed(e) => format!("{e}"),
            }
        )?;
        if let Some(camera) = &self.camera {
            write!(f, "\ncamera: {camera}")?;
        }
        for e in &self.episodes {
            write!(
                f,
                "\nrecorded: {} ({:.1} s, outcome {}, {} dropped)",
                e.path.display(),
                e.duration_s,
                e.outcome.name(),
                e.drops.values().sum::<u64>()
            )?;
        }
        Ok(())
    }
}
