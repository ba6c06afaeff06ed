//! One control tick on the bundled humanoid: retarget → IK → grippers → safety. The robot
//! follows an engaged hand, holds without a clutch, on stale or NaN input and out of reach, never
//! leaves its limits, and a tick allocates nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nalgebra::{Isometry3, UnitQuaternion, Vector3};
use teleop_bridge::app::Session;
use teleop_bridge::config::Profile;
use teleop_bridge::control::{Pipeline, TickOutcome};
use teleop_bridge::model::Model;
use teleop_bridge::msg::{HandInput, OperatorFrame};
use teleop_bridge::operator::Published;
use teleop_bridge::robot::{Error as RobotError, Robot, RobotState};
use teleop_bridge::rt::Histogram;
use teleop_bridge::safety::Limits;

use super::alloc_count::allocations_during;

const RATE_HZ: f64 = 500.0;
const TICK_NS: u64 = 2_000_000;

fn humanoid() -> (Profile, Model) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml");
    Profile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn frame(time_ns: u64, left: Vector3<f64>, squeeze: f64, trigger: f64) -> OperatorFrame {
    OperatorFrame {
        time_ns,
        head: Some(Isometry3::translation(0.0, 1.6, 0.0)),
        left: HandInput {
            grip: Some(Isometry3::from_parts(
                left.into(),
                UnitQuaternion::identity(),
            )),
            trigger,
            squeeze,
            ..HandInput::IDLE
        },
        right: HandInput::IDLE,
    }
}

/// Runs the pipeline for `seconds` with the frame `at(t)` each tick; checks every command
/// against the limits and returns the last outcome.
fn run(
    pipeline: &mut Pipeline,
    limits: &Limits,
    clock: &mut u64,
    seconds: f64,
    at: impl Fn(u64) -> Option<OperatorFrame>,
) -> TickOutcome {
    let mut outcome = TickOutcome::Stale;
    for _ in 0..(seconds * RATE_HZ).round() as usize {
        *clock += TICK_NS;
        let before = pipeline.command().to_vec();
        let f = at(*clock);
        outcome = pipeline.tick(f.as_ref(), *clock).outcome;
        for (i, (&q, &q0)) in pipeline.command().iter().zip(&before).enumerate() {
            assert!(q.is_finite(), "joint {i}: finite");
            assert!(
                q >= limits.lower[i] && q <= limits.upper[i],
                "joint {i}: within limits"
            );
            let step = (q - q0).abs();
            assert!(
                step <= limits.velocity[i] / RATE_HZ * (1.0 + 1e-9),
                "joint {i}: velocity"
            );
        }
    }
    outcome
}

fn setup() -> (Pipeline, Limits, Vec<f64>) {
    let (profile, model) = humanoid();
    let q = profile.start_posture(&model);
    let pipeline = Pipeline::new(&model, &profile, &q, 0.1).unwrap_or_else(|e| panic!("{e}"));
    (pipeline, Limits::from_profile(&model, &profile, 1.0), q)
}

#[test]
fn the_tool_follows_an_engaged_hand() {
    let (mut pipeline, limits, _) = setup();
    let start = pipeline.tool_pose(0);
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    let mut clock = 0;
    // Engage, then move the hand 0.1 m forward (stage −Z) and 0.05 m up over 0.5 s.
    run(&mut pipeline, &limits, &mut clock, 0.2, |t| {
        Some(frame(t, grip, 1.0, 0.0))
    });
    let t0 = clock;
    let outcome = run(&mut pipeline, &limits, &mut clock, 1.5, |t| {
        let s = ((t - t0) as f64 * 1e-9 / 0.5).min(1.0);
        Some(frame(t, grip + Vector3::new(0.0, 0.05, -0.1) * s, 1.0, 0.0))
    });
    assert_eq!(outcome, TickOutcome::Tracking);
    let moved = pipeline.tool_pose(0).translation.vector - start.translation.vector;
    assert!(
        (moved - Vector3::new(0.1, 0.0, 0.05)).norm() < 2e-3,
        "tool moved {moved}"
    );
    let turned = pipeline.tool_pose(0).rotation.angle_to(&start.rotation);
    assert!(turned < 1e-2, "orientation kept: {turned} rad");
}

#[test]
fn without_a_clutch_nothing_moves() {
    let (mut pipeline, limits, q) = setup();
    let mut clock = 0;
    let outcome = run(&mut pipeline, &limits, &mut clock, 0.5, |t| {
        Some(frame(
            t,
            Vector3::new(0.3 * t as f64 * 1e-9, 1.0, 0.0),
            0.3,
            1.0,
        ))
    });
    assert_eq!(outcome, TickOutcome::NoClutch);
    assert_eq!(
        pipeline.command(),
        &q[..],
        "not a joint moved, grippers included"
    );
}

#[test]
fn a_stalled_source_brings_the_robot_to_a_stop() {
    let (mut pipeline, limits, _) = setup();
    let mut clock = 0;
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    run(&mut pipeline, &limits, &mut clock, 0.1, |t| {
        Some(frame(t, grip, 1.0, 0.0))
    });
    let t0 = clock;
    let moving = move |t: u64| {
        Some(frame(
            t,
            grip + Vector3::new(0.0, 0.0, -0.4 * (t - t0) as f64 * 1e-9),
            1.0,
            0.0,
        ))
    };
    run(&mut pipeline, &limits, &mut clock, 0.3, moving);
    assert!(
        pipeline.command_velocity().iter().any(|v| v.abs() > 0.05),
        "moving"
    );
    // The source stalls: the last frame stays the newest for 0.4 s.
    let last = moving(clock).unwrap();
    let outcome = run(&mut pipeline, &limits, &mut clock, 0.4, |_| Some(last));
    assert_eq!(outcome, TickOutcome::Stale);
    assert!(
        pipeline.command_velocity().iter().all(|&v| v == 0.0),
        "stopped"
    );
    // It comes back with the hand elsewhere: the clutch re-anchors, no jump.
    let held = pipeline.tool_pose(0);
    run(&mut pipeline, &limits, &mut clock, 0.2, |t| {
        Some(frame(t, grip * 2.0, 1.0, 0.0))
    });
    let drift = (pipeline.tool_pose(0).translation.vector - held.translation.vector).norm();
    assert!(drift < 1e-3, "re-anchored without a jump: {drift} m");
}

#[test]
fn nan_poses_hold_and_never_reach_the_command() {
    let (mut pipeline, limits, _) = setup();
    let mut clock = 0;
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    run(&mut pipeline, &limits, &mut clock, 0.2, |t| {
        Some(frame(t, grip, 1.0, 0.0))
    });
    let held = pipeline.command().to_vec();
    let outcome = run(&mut pipeline, &limits, &mut clock, 0.3, |t| {
        let mut f = frame(t, Vector3::new(f64::NAN, 1.0, 0.0), 1.0, f64::NAN);
        f.head = Some(Isometry3::translation(f64::NAN, 0.0, 0.0));
        f.head.as_mut().unwrap().rotation =
            UnitQuaternion::new_unchecked(nalgebra::Quaternion::new(f64::NAN, 0.0, 0.0, 0.0));
        Some(f)
    });
    assert_eq!(outcome, TickOutcome::NoClutch, "a NaN hand counts as lost");
    let moved = pipeline
        .command()
        .iter()
        .zip(&held)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(moved < 1e-3, "held: moved {moved}");
}

#[test]
fn a_target_out_of_reach_moves_towards_it_within_limits() {
    let (mut pipeline, limits, _) = setup();
    let start = pipeline.tool_pose(0);
    let mut clock = 0;
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    run(&mut pipeline, &limits, &mut clock, 0.1, |t| {
        Some(frame(t, grip, 1.0, 0.0))
    });
    // 3 m forward at once.
    run(&mut pipeline, &limits, &mut clock, 2.0, |t| {
        Some(frame(t, grip + Vector3::new(0.0, 0.0, -3.0), 1.0, 0.0))
    });
    let reached = pipeline.tool_pose(0).translation.x - start.translation.x;
    assert!(reached > 0.1, "moved towards the target: {reached} m");
}

#[test]
fn the_profile_workspace_box_stops_the_tool() {
    let (mut pipeline, limits, _) = setup();
    let mut clock = 0;
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    run(&mut pipeline, &limits, &mut clock, 0.1, |t| {
        Some(frame(t, grip, 1.0, 0.0))
    });
    // 1 m up: the bundled profile keeps the left tool below z = 0.8 m (pelvis frame), which
    // the arm could reach past.
    run(&mut pipeline, &limits, &mut clock, 3.0, |t| {
        Some(frame(t, grip + Vector3::new(0.0, 1.0, 0.0), 1.0, 0.0))
    });
    let z = pipeline.tool_pose(0).translation.z;
    assert!((z - 0.8).abs() < 5e-3, "tool stopped at the box: z = {z}");
}

#[test]
fn the_trigger_closes_the_gripper() {
    let (profile, model) = humanoid();
    let (mut pipeline, limits, _) = setup();
    let finger = model
        .dof_names()
        .position(|n| n == "left_gripper_finger_joint")
        .unwrap();
    let mut clock = 0;
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    run(&mut pipeline, &limits, &mut clock, 1.0, |t| {
        Some(frame(t, grip, 1.0, 1.0))
    });
    let closed = profile.grippers[0].closed;
    assert!(
        (pipeline.command()[finger] - closed).abs() < 1e-9,
        "{}",
        pipeline.command()[finger]
    );
}

#[test]
fn a_tick_allocates_nothing() {
    let (mut pipeline, limits, _) = setup();
    let mut clock = 0;
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    run(&mut pipeline, &limits, &mut clock, 0.1, |t| {
        Some(frame(t, grip, 1.0, 0.5))
    });
    for k in 0..50 {
        clock += TICK_NS;
        let f = frame(
            clock,
            grip + Vector3::new(0.0, 0.0, -0.002 * k as f64),
            1.0,
            0.5,
        );
        let n = allocations_during(|| {
            pipeline.tick(Some(&f), clock);
        });
        assert_eq!(n, 0, "tick {k} allocated");
    }
}

/// A robot that takes every command as its state, and counts them.
struct EchoRobot {
    positions: Vec<f64>,
    commands: Arc<AtomicU64>,
}

impl Robot for EchoRobot {
    fn dof(&self) -> usize {
        self.positions.len()
    }
    fn links(&self) -> usize {
        0
    }
    fn command(&mut self, positions: &[f64]) -> Result<(), RobotError> {
        if positions.len() != self.positions.len() {
            return Err(RobotError::WrongLength {
                expected: self.positions.len(),
                got: positions.len(),
            });
        }
        self.positions.copy_from_slice(positions);
        self.commands.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn read_state(&mut self, out: &mut RobotState) -> Result<(), RobotError> {
        out.positions.copy_from_slice(&self.positions);
        Ok(())
    }
}

#[test]
fn a_real_time_session_ticks_the_pipeline_against_a_robot_on_its_own_clock() {
    let (pipeline, _, q) = setup();
    let commands = Arc::new(AtomicU64::new(0));
    let robot = EchoRobot {
        positions: q,
        commands: Arc::clone(&commands),
    };
    let frames = Published::new();
    let epoch = Instant::now();
    let running = Session {
        pipeline,
        robot: Box::new(robot),
        source: Box::new(frames.subscribe()),
        recorder: None,
        observer: (),
    }
    .spawn(epoch, Arc::default())
    .unwrap_or_else(|e| panic!("{e}"));
    // A source publishing at ~100 Hz: engaged, moving forward.
    let grip = Vector3::new(-0.2, 1.1, -0.3);
    for k in 0..30 {
        let now = epoch.elapsed().as_nanos() as u64;
        frames.publish(frame(
            now,
            grip + Vector3::new(0.0, 0.0, -0.003 * k as f64),
            1.0,
            0.0,
        ));
        std::thread::sleep(Duration::from_millis(10));
    }
    // The source ending ends the session by itself.
    frames.end();
    let ended = running.join().unwrap_or_else(|e| panic!("{e}"));
    let stats = &ended.stats;
    assert!(stats.ticks > 10, "ticked: {}", stats.ticks);
    assert_eq!(
        stats.ticks,
        commands.load(Ordering::Relaxed),
        "one command per tick"
    );
    assert_eq!(stats.tick.count(), stats.ticks);
    assert!(stats.held_stale < stats.ticks / 2, "mostly fresh frames");
    assert!(stats.moving_ticks() > 0);
    assert!(
        stats.ik.percentile(50.0) > 0 && stats.ik.percentile(50.0) <= stats.ik.percentile(99.0)
    );
    // Every new frame that moved the robot has its frame → command latency, and those are
    // real (positive, well under a second on the same clock).
    assert!(!stats.frame_to_command_ns.is_empty());
    assert!(
        stats
            .frame_to_command_ns
            .iter()
            .all(|&ns| ns > 0 && ns < 1_000_000_000),
        "{:?}",
        &stats.frame_to_command_ns[..5.min(stats.frame_to_command_ns.len())]
    );
    // The tool moved forward with the hand.
    let start = {
        let (profile, model) = humanoid();
        Pipeline::new(&model, &profile, &profile.start_posture(&model), 0.1)
            .unwrap()
            .tool_pose(0)
    };
    let mut pipeline = ended.pipeline;
    assert!(pipeline.tool_pose(0).translation.x > start.translation.x + 0.02);
}

#[test]
fn a_lock_step_session_refuses_a_robot_on_its_own_clock() {
    let (pipeline, _, q) = setup();
    let robot = EchoRobot {
        positions: q,
        commands: Arc::new(AtomicU64::new(0)),
    };
    let session = Session {
        pipeline,
        robot: Box::new(robot),
        source: Box::new(Published::new().subscribe()),
        recorder: None,
        observer: (),
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let err = session
        .run(teleop_bridge::app::Clock::LockStep, &stop)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("own clock"), "{err}");
}

#[test]
fn histogram_percentiles_bound_the_recorded_values() {
    let mut h = Histogram::default();
    for ns in 1..=1000u64 {
        h.record(ns * 1000);
    }
    for p in [50.0, 90.0, 99.0] {
        let exact = (p * 10.0) as u64 * 1000;
        let read = h.percentile(p);
        assert!(
            read >= exact && read as f64 <= exact as f64 * 1.2,
            "p{p}: {read} vs {exact}"
        );
    }
    assert_eq!(Histogram::default().percentile(50.0), 0);
}
