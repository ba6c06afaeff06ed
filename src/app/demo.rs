//! The bundled demo: the robot at a table in the simulation, driven by a scripted trainer
//! through the whole control pipeline (retarget → IK → safety → servos). The trainer picks up a
//! cube and carries it to a marked spot; the summary says whether it got there (by physics: the
//! fingers hold it by friction, nothing teleports it). Headless (as fast as the CPU allows,
//! deterministic) or in real time, optionally recorded.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use nalgebra::Vector3;

use super::Error;
use super::recording::{self, Recording};
use super::scene::{CUBE, Scene};
use super::session::{Clock, Ended, Observer, Session, Tick};
use super::view::{self, Publish, View};
use crate::msg::{ImageSink, TickSink};
use crate::operator::{Script, Scripted};
use crate::record::{EpisodeReport, Outcome, Recorder};
use crate::render::StateCell;
use crate::robot::{Connection, LoopReport};
use crate::rt::Histogram;

/// The task the bundled demo performs, as written into its episodes.
pub const DEMO_TASK: &str = "Pick up the cube and put it on the marked spot.";
/// The demo's skill and scenario, names from the bundled catalogue.
pub const DEMO_SKILL: &str = "pick_and_place";
pub const DEMO_SCENARIO: &str = "tabletop";

/// How a demo run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds simulated after the script ends.
    pub settle_s: f64,
    /// Real time (control thread at the profile's rate, physics on its own thread) instead of
    /// headless lock-step.
    pub realtime: bool,
    pub view: View,
    /// Recorded as one episode, labelled by the demo's own verdict (task default [`DEMO_TASK`];
    /// the camera's per-eye size is the view's).
    pub record: Option<Recording>,
    /// Set from outside (an interrupt): the run stops at its next tick and an episode being
    /// recorded is closed as interrupted.
    pub stop: Arc<AtomicBool>,
    /// Drive a robot process over the network instead of the in-process simulator (implies
    /// real time).
    pub connect: Option<Connection>,
    /// Vary the cube's start pose (and the spot with it) by this seed; the scripted trainer
    /// reaches for it where it lies. None: the cube where the script was written for.
    pub seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settle_s: 1.0,
            realtime: false,
            view: View::default(),
            record: None,
            stop: Arc::default(),
            connect: None,
            seed: None,
        }
    }
}

/// What happened in a demo run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub simulated_s: f64,
    pub wall_s: f64,
    pub ticks: u64,
    /// The seed that varied the cube's start pose, if one did.
    pub seed: Option<u64>,
    pub cube_start: Vector3<f64>,
    /// The cube's turn about the vertical at the start (rad).
    pub cube_start_yaw: f64,
    pub cube_end: Vector3<f64>,
    pub target: Vector3<f64>,
    /// Horizontal distance from the cube's final centre to the marked spot (m).
    pub distance_to_target_m: f64,
    /// How high the cube was lifted above its start (m): proof it was carried, not pushed.
    pub highest_lift_m: f64,
    /// The largest contact force on a left finger while the cube was in the air (N); None for
    /// a robot that does not report contact forces (one over the network).
    pub grip_force_n: Option<f64>,
    /// The cube is within 3 cm of the spot and resting on the table.
    pub success: bool,
    pub ik: Histogram,
    pub tick: Histogram,
    /// Largest difference between a commanded and a simulated joint position (rad or m).
    pub max_tracking_error: f64,
    /// Control ticks that ended after their deadline (real-time runs only).
    pub deadline_misses: Option<u64>,
    /// When the first of them happened (session time, s).
    pub miss_times_s: Vec<f64>,
    /// How late control ticks started (real-time runs only).
    pub start_late: Option<Histogram>,
    /// The control thread's scheduling (real-time runs only).
    pub priority: Option<crate::rt::priority::Granted>,
    /// The simulator's own loop (real-time runs only: its thread at its own step).
    pub robot_loop: Option<LoopReport>,
    pub held_no_clutch: u64,
    pub held_stale: u64,
    /// What the view did: PNGs written, window frames shown, or why nothing was rendered.
    pub view: Option<String>,
}

/// A demo run: its summary and, when recorded, the episode (or why recording failed — the demo
/// itself runs to its end regardless).
#[derive(Debug)]
pub struct Run {
    pub summary: Summary,
    /// The run was stopped from outside before the script ended.
    pub interrupted: bool,
    pub episode: Option<Result<EpisodeReport, Error>>,
}

/// What the robot side watches while the demo runs.
#[derive(Debug, Default)]
struct Watch {
    cube_start_z: f64,
    fingers: Vec<usize>,
    highest_lift_m: f64,
    grip_force_n: f64,
    /// Per DoF: a left finger joint, which the cube stops short of its command by design, so
    /// it does not count as tracking.
    grips: Vec<bool>,
    max_tracking_error: f64,
}

impl Observer for Watch {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        let state = tick.state;
        for (k, (a, b)) in state.positions.iter().zip(tick.command).enumerate() {
            if !self.grips.get(k).copied().unwrap_or(false) {
                self.max_tracking_error = self.max_tracking_error.max((a - b).abs());
            }
        }
        let Some(cube) = state.object_poses.get(CUBE) else {
            return;
        };
        let lift = cube.translation.z - self.cube_start_z;
        self.highest_lift_m = self.highest_lift_m.max(lift);
        if lift > 0.01 {
            for &finger in &self.fingers {
                self.grip_force_n = self.grip_force_n.max(state.contact_forces[finger]);
            }
        }
    }
}

/// Runs the demo with the robot `profile` and operator `script` (see [`Options`]).
pub fn run(profile: &Path, script: &Path, options: &Options) -> Result<Run, Error> {
    if options.seed.is_some() && options.connect.is_some() {
        return Err(Error::Usage(
            "--seed varies the simulator's scene in this process; a robot process sets up its own"
                .into(),
        ));
    }
    let mut scene = Scene::load(profile)?;
    if let Some(seed) = options.seed {
        scene = scene.seeded(seed);
    }
    let script = Script::load(script)?.with_left_path_shifted(&scene.script_shift());
    let source = Scripted::new(script, options.settle_s);
    // A recording that cannot start is reported with the result; the demo runs regardless.
    let mut recorder = None;
    let mut start_error = None;
    let realtime = options.realtime || options.connect.is_some();
    if let Some(r) = &options.record {
        let labels = recording::labels(r, DEMO_TASK, DEMO_SKILL, DEMO_SCENARIO).map(|mut l| {
            l.setup = setup(&scene, options.seed);
            l
        });
        match labels
            .and_then(|labels| recording::start(profile, &r.dir, labels, !realtime))
            .and_then(|recorder| {
                recorder.start_episode()?;
                Ok(recorder)
            }) {
            Ok(started) => recorder = Some(started),
            Err(e) => start_error = Some(e),
        }
    }
    let ticks = recorder
        .as_mut()
        .and_then(Recorder::take_tap)
        .map(|t| Box::new(t) as Box<dyn TickSink>);
    let mut camera = recorder
        .as_mut()
        .filter(|_| options.record.as_ref().is_some_and(|r| r.camera))
        .and_then(Recorder::take_camera)
        .map(|c| Box::new(c) as Box<dyn ImageSink>);
    let mut grips = vec![false; scene.model.dof()];
    for &link in &scene.fingers {
        if let Some(dof) = scene.model.links[link]
            .parent_joint
            .and_then(|j| scene.model.dof_of_joint[j])
        {
            grips[dof] = true;
        }
    }
    let mut watch = Watch {
        cube_start_z: scene.cube_start().z,
        fingers: scene.fingers.clone(),
        grips,
        ..Watch::default()
    };
    let (ended, view) = if realtime {
        let cell = Arc::new(StateCell::new(scene.view_state()));
        let (robot, pipeline, first) = scene.realtime_robot(options.connect.as_ref())?;
        if let Some(cube) = first.object_poses.get(CUBE) {
            watch.cube_start_z = cube.translation.z;
        }
        // Ready before the robot moves: the view's setup must not run beside the control loop.
        let live = match options.connect {
            Some(_) => None,
            None => view::prepare_live(&scene, &options.view, camera.take())?,
        };
        // The session's clock and the wall clock at once: the robot's camera stamps are wall
        // clock, the recorder's times the session's.
        let (epoch, epoch_wall_ns) = (Instant::now(), crate::rt::wall_clock_ns());
        let running = Session {
            pipeline,
            robot,
            source: Box::new(source),
            recorder: ticks,
            observer: (watch, Publish(Arc::clone(&cell))),
        }
        .spawn(epoch, Arc::clone(&options.stop))?;
        let done = running.done();
        let view = match &options.connect {
            Some(connection) => view::show_remote(
                &scene,
                &options.view,
                camera,
                connection,
                epoch_wall_ns,
                &cell,
                &done,
            ),
            None => match live {
                Some(live) => live.show(&scene, &cell, &done),
                None => Ok(None),
            },
        };
        let ended = match view {
            Ok(_) => running.join()?,
            Err(e) => {
                let _ = running.stop();
                return Err(e);
            }
        };
        (ended.split().0, view?)
    } else {
        let dt = 1.0 / scene.profile.control_rate_hz;
        view::with_tap(&scene, &options.view, camera, dt, |tap| {
            let session = Session {
                pipeline: scene.pipeline()?,
                robot: Box::new(scene.sim()?),
                source: Box::new(source),
                recorder: ticks,
                observer: (watch, tap),
            };
            Ok(session.run(Clock::LockStep, &options.stop)?.split())
        })?
    };
    let interrupted = options.stop.load(Ordering::Relaxed);
    let summary = summarize(
        &scene,
        options.seed,
        ended,
        realtime,
        options.connect.is_some(),
        view,
    );
    let episode = match (recorder, start_error) {
        (_, Some(e)) => Some(Err(e)),
        (Some(recorder), None) => {
            let outcome = match (interrupted, summary.success) {
                (true, _) => Outcome::Interrupted,
                (false, true) => Outcome::Success,
                (false, false) => Outcome::Failure,
            };
            let stopped = recorder.stop_episode(outcome);
            let finished = recorder.finish();
            Some(match (stopped, finished) {
                (Ok(report), Ok(_)) => Ok(report),
                (Err(e), _) | (_, Err(e)) => Err(e.into()),
            })
        }
        (None, None) => None,
    };
    Ok(Run {
        summary,
        interrupted,
        episode,
    })
}

/// How the demo's scene was set up, for the episode's metadata.
fn setup(scene: &Scene, seed: Option<u64>) -> Vec<(String, String)> {
    let (c, t) = (scene.layout.cube, scene.layout.target);
    let seed = seed.map_or_else(|| "none".into(), |s| s.to_string());
    let yaw = format!("{:.2}", scene.layout.cube_yaw.to_degrees());
    let cube = format!("[{:.4}, {:.4}, {:.4}]", c.x, c.y, c.z);
    let spot = format!("[{:.4}, {:.4}]", t.x, t.y);
    [
        ("seed", seed),
        ("cube_start_m", cube),
        ("cube_start_yaw_deg", yaw),
        ("spot_m", spot),
    ]
    .map(|(key, value)| (key.to_string(), value))
    .into()
}

fn summarize(
    scene: &Scene,
    seed: Option<u64>,
    ended: Ended<Watch>,
    realtime: bool,
    remote: bool,
    view: Option<String>,
) -> Summary {
    let (stats, state, watch) = (ended.stats, ended.state, ended.observer);
    let cube_end = state
        .object_poses
        .get(CUBE)
        .map_or_else(Vector3::zeros, |p| p.translation.vector);
    let (distance_to_target_m, success) = scene.layout.judge(&cube_end);
    Summary {
        simulated_s: if realtime {
            stats.session_s
        } else {
            state.time_ns as f64 / 1e9
        },
        wall_s: stats.wall_s,
        ticks: stats.ticks,
        seed,
        cube_start: scene.cube_start(),
        cube_start_yaw: scene.layout.cube_yaw,
        cube_end,
        target: scene.layout.target,
        distance_to_target_m,
        highest_lift_m: watch.highest_lift_m,
        grip_force_n: (!remote).then_some(watch.grip_force_n),
        success,
        max_tracking_error: watch.max_tracking_error,
        deadline_misses: realtime.then_some(stats.deadline_misses),
        miss_times_s: stats.miss_times_s().to_vec(),
        start_late: realtime.then_some(stats.start_late),
        ik: stats.ik,
        tick: stats.tick,
        priority: stats.priority,
        robot_loop: ended.robot.loop_report(),
        held_no_clutch: stats.held_no_clutch,
        held_stale: stats.held_stale,
        view,
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |h: &Histogram, p: f64| h.percentile(p) as f64 / 1e3;
        writeln!(
            f,
            "task: {} — cube {:.1} cm from the spot (goal < 3 cm), lifted {:.1} cm on the way, {}",
            if self.success { "SUCCESS" } else { "FAILED" },
            self.distance_to_target_m * 100.0,
            self.highest_lift_m * 100.0,
            match self.grip_force_n {
                Some(n) => format!("gripped with up to {n:.0} N per finger"),
                None => "grip force not reported by the robot".into(),
            }
        )?;
        let (s, e, t) = (self.cube_start, self.cube_end, self.target);
        writeln!(
            f,
            "cube: start ({:.3}, {:.3}, {:.3}) m turned {:.1}°{}, end ({:.3}, {:.3}, {:.3}) m, spot ({:.3}, {:.3}) m",
            s.x,
            s.y,
            s.z,
            self.cube_start_yaw.to_degrees(),
            self.seed
                .map_or_else(String::new, |seed| format!(" (seed {seed})")),
            e.x,
            e.y,
            e.z,
            t.x,
            t.y
        )?;
        writeln!(
            f,
            "time: {:.1} s simulated in {:.1} s wall ({:.1}× real time), {} control ticks",
            self.simulated_s,
            self.wall_s,
            self.simulated_s / self.wall_s.max(1e-9),
            self.ticks
        )?;
        writeln!(
            f,
            "latency: IK p50 {:.1} µs, p99 {:.1} µs; whole tick p50 {:.1} µs, p99 {:.1} µs; {}",
            us(&self.ik, 50.0),
            us(&self.ik, 99.0),
            us(&self.tick, 50.0),
            us(&self.tick, 99.0),
            match self.deadline_misses {
                Some(0) => "0 deadline misses".to_string(),
                Some(n) => format!(
                    "{n} deadline misses (at {}{} s)",
                    self.miss_times_s
                        .iter()
                        .map(|t| format!("{t:.2}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if n as usize > self.miss_times_s.len() {
                        ", …"
                    } else {
                        ""
                    }
                ),
                None => "headless, faster than real time: no deadlines".to_string(),
            }
        )?;
        if let Some(late) = &self.start_late {
            writeln!(
                f,
                "timing: ticks started late by p50 {:.1} µs, p99 {:.1} µs, max ≤ {:.1} µs; control thread at {}",
                us(late, 50.0),
                us(late, 99.0),
                us(late, 100.0),
                self.priority
                    .as_ref()
                    .map_or_else(|| "?".to_string(), ToString::to_string)
            )?;
        }
        if let Some(r) = &self.robot_loop {
            writeln!(
                f,
                "simulator: its own thread, {} steps, {} late",
                r.steps, r.late_steps
            )?;
        }
        write!(
            f,
            "tracking: largest commanded-vs-simulated joint difference {:.4}; the gripping fingers, which the cube stops, aside; held {} ticks without a clutch, {} stale",
            self.max_tracking_error, self.held_no_clutch, self.held_stale
        )?;
        if let Some(view) = &self.view {
            write!(f, "\nview: {view}")?;
        }
        Ok(())
    }
}
