//! The bundled demo: the humanoid at a table in the rapier simulation, driven by a scripted
//! trainer through the whole control pipeline (retarget → IK → safety → servos), run faster than
//! real time. The trainer picks up a cube and carries it to a marked spot; the summary says
//! whether it got there (by physics: the fingers hold it by friction, nothing teleports it).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nalgebra::{Translation3, Vector3};

use crate::config::Profile;
use crate::control::{ControlThread, FrameCell, Histogram, Pipeline, TickOutcome};
use crate::kinematics::Pose;
use crate::model::Model;
use crate::operator::Script;
use crate::robot::{Robot, RobotState};
use crate::sim::{ServoGains, Sim};

/// Where things stand, in the world frame (m). Laid out for the bundled humanoid and script:
/// at the rest posture the left tool centre is at (0.498, 0.292, 0.43) from the pelvis; the
/// script moves the hand 0.05 m forward and 0.25 m down to grasp, then 0.2 m to the right.
pub mod layout {
    /// The pelvis (the robot's fixed base).
    pub const PELVIS: [f64; 3] = [0.0, 0.0, 0.75];
    /// Cube edge (m) and mass (kg).
    pub const CUBE_SIZE: f64 = 0.04;
    pub const CUBE_MASS: f64 = 0.1;
    /// The cube's centre at the start: where the tool centre arrives to grasp.
    pub const CUBE: [f64; 3] = [0.548, 0.292, 0.93];
    /// A tray on the table, out of the way (its centre).
    pub const TRAY: [f64; 3] = [0.72, -0.15, TABLE_TOP + 0.01];
    /// Where the cube should end up (the marked spot), its centre.
    pub const TARGET: [f64; 3] = [0.548, 0.092, 0.93];
    /// The table: top just under the cube, from x = 0.42 to 0.82, y = −0.3 to 0.5.
    pub const TABLE_TOP: f64 = CUBE[2] - CUBE_SIZE / 2.0;
    pub const TABLE_CENTER_XY: [f64; 2] = [0.62, 0.1];
    pub const TABLE_SIZE_XY: [f64; 2] = [0.4, 0.8];
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Profile(#[from] crate::config::Error),
    #[error(transparent)]
    Script(#[from] crate::operator::Error),
    #[error(transparent)]
    Pipeline(#[from] crate::control::Error),
    #[error(transparent)]
    Sim(#[from] crate::sim::Error),
    #[error(transparent)]
    Robot(#[from] crate::robot::Error),
}

/// What happened in a demo run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub simulated_s: f64,
    pub wall_s: f64,
    pub ticks: u64,
    pub cube_start: Vector3<f64>,
    pub cube_end: Vector3<f64>,
    pub target: Vector3<f64>,
    /// Horizontal distance from the cube's final centre to the marked spot (m).
    pub distance_to_target_m: f64,
    /// How high the cube was lifted above its start (m): proof it was carried, not pushed.
    pub highest_lift_m: f64,
    /// The largest contact force on a left finger while the cube was in the air (N).
    pub grip_force_n: f64,
    /// The cube is within 3 cm of the spot and resting on the table.
    pub success: bool,
    pub ik: Histogram,
    pub tick: Histogram,
    /// Largest difference between a commanded and a simulated joint position (rad or m).
    pub max_tracking_error: f64,
    /// Control ticks that ended after their deadline (real-time runs only).
    pub deadline_misses: Option<u64>,
    pub held_no_clutch: u64,
    pub held_stale: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |h: &Histogram, p: f64| h.percentile(p) as f64 / 1e3;
        writeln!(
            f,
            "task: {} — cube {:.1} cm from the spot (goal < 3 cm), lifted {:.1} cm on the way, gripped with up to {:.0} N per finger",
            if self.success { "SUCCESS" } else { "FAILED" },
            self.distance_to_target_m * 100.0,
            self.highest_lift_m * 100.0,
            self.grip_force_n
        )?;
        writeln!(
            f,
            "cube: start ({:.3}, {:.3}, {:.3}) m, end ({:.3}, {:.3}, {:.3}) m, spot ({:.3}, {:.3}) m",
            self.cube_start.x,
            self.cube_start.y,
            self.cube_start.z,
            self.cube_end.x,
            self.cube_end.y,
            self.cube_end.z,
            self.target.x,
            self.target.y
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
                Some(n) => format!("{n} deadline misses"),
                None => "headless, faster than real time: no deadlines".to_string(),
            }
        )?;
        write!(
            f,
            "tracking: largest commanded-vs-simulated joint difference {:.4}; held {} ticks without a clutch, {} stale",
            self.max_tracking_error, self.held_no_clutch, self.held_stale
        )
    }
}

fn at(p: [f64; 3]) -> Pose {
    Pose::from_parts(Translation3::new(p[0], p[1], p[2]), Default::default())
}

/// Everything a run needs, built from the files.
struct Setup {
    script: Script,
    pipeline: Pipeline,
    sim: Sim,
    cube: usize,
    fingers: Vec<usize>,
}

fn setup(profile: &Path, script: &Path) -> Result<Setup, Error> {
    let Scene {
        pipeline,
        sim,
        cube,
        fingers,
        ..
    } = scene(profile)?;
    let script = Script::load(script)?;
    Ok(Setup {
        script,
        pipeline,
        sim,
        cube,
        fingers,
    })
}

/// The demo's world for any operator source: the robot at its start posture behind a table
/// with the cube and a tray, and the pipeline that drives it.
pub struct Scene {
    pub profile: Profile,
    pub model: Model,
    pub pipeline: Pipeline,
    pub sim: Sim,
    /// The cube's object index in the simulation.
    pub cube: usize,
    /// The left fingers' link indices.
    pub fingers: Vec<usize>,
}

/// Builds the demo's [`Scene`] for the robot `profile`.
pub fn scene(profile: &Path) -> Result<Scene, Error> {
    let (profile, model) = Profile::load(profile)?;
    let q = profile.start_posture(&model);
    let pipeline = Pipeline::new(&model, &profile, &q, 0.1)?;
    let mut sim = Sim::new(&model, &q, &at(layout::PELVIS), ServoGains::default())?;
    let [tx, ty] = layout::TABLE_CENTER_XY;
    let [sx, sy] = layout::TABLE_SIZE_XY;
    sim.add_box(
        "table",
        &at([tx, ty, layout::TABLE_TOP / 2.0]),
        Vector3::new(sx, sy, layout::TABLE_TOP),
        None,
    );
    let cube = sim.add_box(
        "cube",
        &at(layout::CUBE),
        Vector3::repeat(layout::CUBE_SIZE),
        Some(layout::CUBE_MASS),
    );
    // A tray off to the side: a second, flat object that must stay where it is.
    sim.add_box(
        "tray",
        &at(layout::TRAY),
        Vector3::new(0.2, 0.15, 0.02),
        Some(0.3),
    );
    let fingers: Vec<usize> = ["left_finger_a_link", "left_finger_b_link"]
        .iter()
        .filter_map(|name| model.link_id(name))
        .collect();
    Ok(Scene {
        profile,
        model,
        pipeline,
        sim,
        cube,
        fingers,
    })
}

/// What the robot side watches while the demo runs.
#[derive(Debug, Default)]
struct Watch {
    highest_lift_m: f64,
    grip_force_n: f64,
    max_tracking_error: f64,
}

impl Watch {
    fn observe(
        &mut self,
        sim: &Sim,
        state: &RobotState,
        command: &[f64],
        cube: usize,
        fingers: &[usize],
        cube_start_z: f64,
    ) {
        for (a, b) in state.positions.iter().zip(command) {
            self.max_tracking_error = self.max_tracking_error.max((a - b).abs());
        }
        let lift = sim.object_pose(cube).translation.z - cube_start_z;
        self.highest_lift_m = self.highest_lift_m.max(lift);
        if lift > 0.01 {
            for &finger in fingers {
                self.grip_force_n = self.grip_force_n.max(state.contact_forces[finger]);
            }
        }
    }
}

/// Runs the demo with the robot `profile` and operator `script`, plus `settle_s` seconds after
/// the script ends, headless and as fast as the CPU allows (deterministic).
pub fn run(profile: &Path, script: &Path, settle_s: f64) -> Result<Summary, Error> {
    let Setup {
        script,
        mut pipeline,
        mut sim,
        cube,
        fingers,
    } = setup(profile, script)?;
    let dt = pipeline.tick_period_s();
    let duration = script.duration() + settle_s;
    let ticks = (duration / dt).ceil() as u64;
    let mut state = RobotState::zeros(sim.dof(), sim.links());
    let mut summary = Summary::new(&sim, cube, ticks);
    let mut watch = Watch::default();
    let started = Instant::now();
    for k in 0..ticks {
        let t = k as f64 * dt;
        let now_ns = (t * 1e9) as u64;
        let frame = script.frame_at(t, now_ns);
        let tick_started = Instant::now();
        let report = pipeline.tick(Some(&frame), now_ns);
        sim.command(pipeline.command())?;
        summary
            .tick
            .record(tick_started.elapsed().as_nanos() as u64);
        summary.ik.record(report.times.ik_ns);
        match report.outcome {
            TickOutcome::Tracking => {}
            TickOutcome::NoClutch => summary.held_no_clutch += 1,
            TickOutcome::Stale => summary.held_stale += 1,
        }
        sim.advance(dt);
        sim.read_state(&mut state)?;
        watch.observe(
            &sim,
            &state,
            pipeline.command(),
            cube,
            &fingers,
            summary.cube_start.z,
        );
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    summary.finish(&sim, cube, watch);
    Ok(summary)
}

impl Summary {
    fn new(sim: &Sim, cube: usize, ticks: u64) -> Summary {
        Summary {
            simulated_s: 0.0,
            wall_s: 0.0,
            ticks,
            cube_start: sim.object_pose(cube).translation.vector,
            cube_end: Vector3::zeros(),
            target: Vector3::from(layout::TARGET),
            distance_to_target_m: f64::INFINITY,
            highest_lift_m: 0.0,
            grip_force_n: 0.0,
            success: false,
            ik: Histogram::default(),
            tick: Histogram::default(),
            deadline_misses: None,
            max_tracking_error: 0.0,
            held_no_clutch: 0,
            held_stale: 0,
        }
    }

    fn finish(&mut self, sim: &Sim, cube: usize, watch: Watch) {
        self.simulated_s = sim.time_s();
        self.cube_end = sim.object_pose(cube).translation.vector;
        self.distance_to_target_m = (self.cube_end - self.target).xy().norm();
        let resting = (self.cube_end.z - layout::CUBE[2]).abs() < 0.01;
        self.success = self.distance_to_target_m < 0.03 && resting;
        self.highest_lift_m = watch.highest_lift_m;
        self.grip_force_n = watch.grip_force_n;
        self.max_tracking_error = watch.max_tracking_error;
    }
}

/// The robot side of a real-time run: each command advances the simulation by one control
/// period, so the control thread's clock is the simulation's.
struct SteppedSim {
    shared: Arc<Mutex<(Sim, Watch)>>,
    dt: f64,
    state: RobotState,
    command: Vec<f64>,
    cube: usize,
    cube_start_z: f64,
    fingers: Vec<usize>,
}

impl Robot for SteppedSim {
    fn dof(&self) -> usize {
        self.state.positions.len()
    }

    fn links(&self) -> usize {
        self.state.contact_forces.len()
    }

    fn command(&mut self, positions: &[f64]) -> Result<(), crate::robot::Error> {
        let mut guard = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let (sim, watch) = &mut *guard;
        sim.command(positions)?;
        self.command.copy_from_slice(positions);
        sim.advance(self.dt);
        sim.read_state(&mut self.state)?;
        watch.observe(
            sim,
            &self.state,
            &self.command,
            self.cube,
            &self.fingers,
            self.cube_start_z,
        );
        Ok(())
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), crate::robot::Error> {
        out.copy_from(&self.state);
        Ok(())
    }
}

/// The demo in real time: the control loop on its own thread at the profile's rate (each tick
/// also steps the simulation), the script publishing operator frames at 90 Hz from this thread
/// as a headset would. Reports the loop's deadline misses.
pub fn run_realtime(profile: &Path, script: &Path, settle_s: f64) -> Result<Summary, Error> {
    let Setup {
        script,
        pipeline,
        sim,
        cube,
        fingers,
    } = setup(profile, script)?;
    let dt = pipeline.tick_period_s();
    let mut summary = Summary::new(&sim, cube, 0);
    let state = RobotState::zeros(sim.dof(), sim.links());
    let shared = Arc::new(Mutex::new((sim, Watch::default())));
    let robot = SteppedSim {
        shared: Arc::clone(&shared),
        dt,
        command: vec![0.0; state.positions.len()],
        state,
        cube,
        cube_start_z: summary.cube_start.z,
        fingers,
    };
    let frames = Arc::new(FrameCell::default());
    let epoch = Instant::now();
    let thread = ControlThread::spawn(pipeline, Box::new(robot), Arc::clone(&frames), epoch);
    let duration = script.duration() + settle_s;
    loop {
        let t = epoch.elapsed().as_secs_f64();
        if t > duration {
            break;
        }
        frames.publish(script.frame_at(t, (t * 1e9) as u64));
        std::thread::sleep(Duration::from_secs_f64(1.0 / 90.0));
    }
    let (stats, _) = thread.stop()?;
    summary.wall_s = epoch.elapsed().as_secs_f64();
    summary.ticks = stats.ticks;
    summary.ik = stats.ik.clone();
    summary.tick = stats.tick.clone();
    summary.deadline_misses = Some(stats.deadline_misses);
    summary.held_no_clutch = stats.held_no_clutch;
    summary.held_stale = stats.held_stale;
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let (sim, watch) = &mut *guard;
    summary.finish(sim, cube, std::mem::take(watch));
    Ok(summary)
}
