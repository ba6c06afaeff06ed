//! `teleop demo|run --input xr`: the demo's scene (humanoid, table, cube) driven by a headset
//! through any OpenXR runtime. The OpenXR loop runs on the calling thread and publishes each
//! sample to the control thread, which ticks the pipeline at the profile's rate and steps the
//! simulation with every command. Measures the latency from a pose's predicted display time to
//! the first joint command derived from it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nalgebra::Vector3;

use super::client::{Source, Step};
use super::error::Error as XrError;
use crate::control::{FrameCell, TickOutcome};
use crate::demo::{self, Scene};
use crate::kinematics::Pose;
use crate::msg::TickSink;
use crate::render::StateCell;
use crate::robot::{Robot, RobotState};

/// Why an XR run could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Scene(#[from] demo::Error),
    #[error(transparent)]
    Xr(#[from] XrError),
    #[error("simulation: {0}")]
    Robot(#[from] crate::robot::Error),
}

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Stop after this long (s); `None`: until the session ends (menu button, runtime).
    pub duration_s: Option<f64>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    /// The session ended (we asked, or the runtime closed it).
    SessionEnded,
    /// The session failed mid-run (the runtime went away, or a call failed); the robot held.
    Failed(XrError),
}

/// What an XR run did.
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
    pub ended: Ended,
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

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let profile = |p: &String| {
            if p.is_empty() {
                "none".to_string()
            } else {
                p.clone()
            }
        };
        writeln!(
            f,
            "xr: {}; controllers: left {}, right {}",
            self.runtime,
            profile(&self.profiles[0]),
            profile(&self.profiles[1])
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
                Ended::SessionEnded => "session ended".to_string(),
                Ended::Failed(e) => format!("{e}"),
            }
        )
    }
}

/// The most latency samples kept (preallocated: the control thread never allocates).
const LATENCY_CAPACITY: usize = 1 << 17;

struct ControlStats {
    ticks: u64,
    tracking_ticks: u64,
    deadline_misses: u64,
    latency_ns: Vec<i64>,
}

type ControlResult = Result<(ControlStats, Scene), crate::robot::Error>;

/// Ticks the pipeline against the simulation at the profile's rate until `stop`, handing each
/// tick to `sink` (the recorder) when given.
fn spawn_control(
    mut scene: Scene,
    frames: Arc<FrameCell>,
    view: Option<Arc<StateCell>>,
    stop: Arc<AtomicBool>,
    epoch: Instant,
    mut sink: Option<Box<dyn TickSink>>,
) -> JoinHandle<ControlResult> {
    std::thread::spawn(move || {
        crate::control::priority::raise_for_control();
        let mut object_poses = vec![Pose::identity(); scene.objects.len()];
        let dt = scene.pipeline.tick_period_s();
        let period = Duration::from_secs_f64(dt);
        let mut state = RobotState::zeros(scene.sim.dof(), scene.sim.links());
        let mut stats = ControlStats {
            ticks: 0,
            tracking_ticks: 0,
            deadline_misses: 0,
            latency_ns: Vec::with_capacity(LATENCY_CAPACITY),
        };
        let mut last_frame_ns = None;
        let mut sample = sink.as_ref().map(|s| s.new_sample());
        let mut deadline = Instant::now() + period;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let now_ns = started.saturating_duration_since(epoch).as_nanos() as u64;
            let frame = frames.latest();
            let report = scene.pipeline.tick(frame.as_ref(), now_ns);
            let sent = Instant::now();
            scene.sim.command(scene.pipeline.command())?;
            let commanded_ns = epoch.elapsed().as_nanos() as i64;
            scene.sim.advance(dt);
            scene.sim.read_state(&mut state)?;
            if let (Some(sink), Some(sample)) = (&mut sink, &mut sample) {
                let robot_done = Instant::now();
                scene
                    .pipeline
                    .fill_sample(now_ns, frame, &report, &state, sample);
                sample.robot_ns = robot_done.saturating_duration_since(sent).as_nanos() as u64;
                sample.tick_ns = robot_done.saturating_duration_since(started).as_nanos() as u64;
                sink.tick(sample);
            }
            if let Some(cell) = &view {
                for (pose, &id) in object_poses.iter_mut().zip(&scene.objects) {
                    *pose = scene.sim.object_pose(id);
                }
                // Never waits: a state the headset is copying at that instant is skipped.
                cell.try_publish(now_ns, &state.link_poses, &object_poses);
            }
            stats.ticks += 1;
            if report.outcome == TickOutcome::Tracking {
                stats.tracking_ticks += 1;
                if let Some(f) = frame
                    && last_frame_ns != Some(f.time_ns)
                {
                    last_frame_ns = Some(f.time_ns);
                    if stats.latency_ns.len() < LATENCY_CAPACITY {
                        stats.latency_ns.push(commanded_ns - f.time_ns as i64);
                    }
                }
            }
            let done = Instant::now();
            if done > deadline {
                stats.deadline_misses += 1;
                deadline = done + period;
            } else {
                std::thread::sleep(deadline - done);
                deadline += period;
            }
        }
        Ok((stats, scene))
    })
}

/// How long the runtime gets to close the session after we ask (then we leave anyway).
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Runs the demo's `scene` driven by `source` (a headless or Vulkan OpenXR session) until the
/// session ends, `options.duration_s` passes, or the runtime goes away (then the robot holds
/// and the report says why). The control thread publishes the robot's poses to `view` (what
/// the headset shows) when given, and hands every tick to `sink` (the recorder, whose episodes
/// the controller's buttons start and end). `epoch` must be the one `source` was created with.
///
/// The menu button ends the session, except while recording: then it is the recorder's
/// "discard" (left hand), and the session ends from the runtime's own system menu.
pub fn run(
    scene: Scene,
    source: &mut dyn Source,
    options: Options,
    epoch: Instant,
    view: Option<Arc<StateCell>>,
    sink: Option<Box<dyn TickSink>>,
) -> Result<Report, Error> {
    let frames = Arc::new(FrameCell::default());
    let stop = Arc::new(AtomicBool::new(false));
    let menu_quits = sink.is_none();
    let control = spawn_control(
        scene,
        Arc::clone(&frames),
        view,
        Arc::clone(&stop),
        epoch,
        sink,
    );
    let started = Instant::now();
    let mut exit_asked: Option<Instant> = None;
    let (mut samples, mut focused_samples) = (0, 0);
    let ended = loop {
        let over = options
            .duration_s
            .is_some_and(|d| started.elapsed().as_secs_f64() >= d);
        if over && exit_asked.is_none() {
            exit_asked = Some(Instant::now());
            if let Err(e) = source.request_exit() {
                break Ended::Failed(e);
            }
        }
        if exit_asked.is_some_and(|t| t.elapsed() > EXIT_GRACE) {
            break Ended::SessionEnded;
        }
        match source.step() {
            Ok(Step::Finished) => break Ended::SessionEnded,
            Ok(Step::Waiting) => {}
            Ok(Step::Sample(sample)) => {
                samples += 1;
                if sample.frame.left.grip.is_some() || sample.frame.right.grip.is_some() {
                    focused_samples += 1;
                }
                frames.publish(sample.frame);
                // The menu button ends the session (unless it is the recorder's).
                if menu_quits && (sample.left.menu || sample.right.menu) && exit_asked.is_none() {
                    exit_asked = Some(Instant::now());
                    if let Err(e) = source.request_exit() {
                        break Ended::Failed(e);
                    }
                }
            }
            Err(e) => break Ended::Failed(e),
        }
    };
    if matches!(ended, Ended::Failed(_)) {
        // No more frames: the pipeline sees them go stale and brakes to a hold; let it.
        std::thread::sleep(Duration::from_millis(300));
    }
    stop.store(true, Ordering::Relaxed);
    let (stats, scene) = match control.join() {
        Ok(result) => result?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    Ok(Report {
        runtime: source.runtime_name(),
        profiles: source.profiles(),
        samples,
        focused_samples,
        ticks: stats.ticks,
        tracking_ticks: stats.tracking_ticks,
        deadline_misses: stats.deadline_misses,
        latency_ns: stats.latency_ns,
        cube_end: scene.sim.object_pose(scene.cube).translation.vector,
        ended,
    })
}
