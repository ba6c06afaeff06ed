//! Retargeting: the clutch anchors, holds and re-anchors without jumps; motion is scaled and
//! rotated into the robot's frame and kept in the workspace; jitter is filtered; and through the
//! IK and the safety filter, re-engaging elsewhere does not move the humanoid.

use std::path::Path;

use nalgebra::{Isometry3, Rotation3, Translation3, UnitQuaternion, Vector3};
use teleop_bridge::config::Profile;
use teleop_bridge::ik::{Options, Solver, Target, Task};
use teleop_bridge::kinematics::{Chain, Pose};
use teleop_bridge::msg::HandInput;
use teleop_bridge::retarget::{
    HandCommand, HandRetargeter, HandSettings, OneEuroSettings, gripper_position,
};
use teleop_bridge::safety::{Limits, SafetyFilter};

const DT: f64 = 1.0 / 90.0;

fn hand(x: f64, y: f64, z: f64, squeeze: f64) -> HandInput {
    HandInput {
        grip: Some(Isometry3::translation(x, y, z)),
        trigger: 0.0,
        squeeze,
        ..HandInput::IDLE
    }
}

/// No filtering: these tests check geometry, the filter has its own.
fn unfiltered() -> HandSettings {
    HandSettings {
        filter: OneEuroSettings {
            min_cutoff_hz: f64::INFINITY,
            ..OneEuroSettings::default()
        },
        ..HandSettings::default()
    }
}

fn tracked(command: HandCommand) -> Pose {
    match command {
        HandCommand::Track(pose) => pose,
        HandCommand::Hold => panic!("expected a target, got Hold"),
    }
}

#[test]
fn clutch_anchors_at_the_tool_and_maps_stage_motion_into_the_robot_frame() {
    let tool = Pose::from_parts(
        Translation3::new(0.4, 0.2, 1.0),
        Rotation3::from_euler_angles(0.1, 0.2, 0.3),
    );
    let mut retarget = HandRetargeter::new(HandSettings {
        motion_scale: 0.5,
        ..unfiltered()
    });
    assert_eq!(
        retarget.update(&hand(0.1, 1.2, -0.3, 0.0), DT, &tool),
        HandCommand::Hold
    );
    // Engaging: the target is where the tool is, wherever the hand is.
    let first = tracked(retarget.update(&hand(0.1, 1.2, -0.3, 1.0), DT, &tool));
    assert!((first.translation.vector - tool.translation.vector).norm() < 1e-12);
    assert!(first.rotation.angle_to(&tool.rotation) < 1e-9);
    // Hand 0.2 m forward (stage −Z) and 0.1 m up (stage +Y): tool 0.1 m along robot +X and 0.05
    // m along +Z (scale 0.5).
    let moved = tracked(retarget.update(&hand(0.1, 1.3, -0.5, 1.0), DT, &tool));
    let expected = tool.translation.vector + Vector3::new(0.1, 0.0, 0.05);
    assert!(
        (moved.translation.vector - expected).norm() < 1e-12,
        "{moved}"
    );
    // Hand 0.2 m to the operator's right (stage +X): robot −Y.
    let right = tracked(retarget.update(&hand(0.3, 1.2, -0.3, 1.0), DT, &tool));
    let expected = tool.translation.vector + Vector3::new(0.0, -0.1, 0.0);
    assert!(
        (right.translation.vector - expected).norm() < 1e-12,
        "{right}"
    );
    // Turning the hand about stage +Y (yaw, up) turns the tool about robot +Z by the same angle.
    let mut turned = hand(0.1, 1.2, -0.3, 1.0);
    turned.grip.as_mut().unwrap().rotation =
        UnitQuaternion::from_axis_angle(&Vector3::y_axis(), 0.3);
    let yawed = tracked(retarget.update(&turned, DT, &tool));
    let delta = yawed.rotation * tool.rotation.inverse();
    assert!((delta.angle() - 0.3).abs() < 1e-9);
    assert!((delta.axis().unwrap().into_inner() - Vector3::z()).norm() < 1e-9);
}

#[test]
fn releasing_holds_and_re_engaging_elsewhere_starts_where_the_tool_is() {
    let mut retarget = HandRetargeter::new(unfiltered());
    let tool = Pose::translation(0.3, 0.0, 1.0);
    tracked(retarget.update(&hand(0.0, 1.0, 0.0, 1.0), DT, &tool));
    tracked(retarget.update(&hand(0.0, 1.0, -0.1, 0.9), DT, &tool));
    // Hysteresis: 0.5 is neither engage nor release.
    tracked(retarget.update(&hand(0.0, 1.0, -0.1, 0.5), DT, &tool));
    assert_eq!(
        retarget.update(&hand(0.0, 1.0, -0.2, 0.3), DT, &tool),
        HandCommand::Hold
    );
    assert!(!retarget.engaged());
    // The robot got to 0.4 while engaged; the hand went back 0.5 m while released.
    let tool_now = Pose::translation(0.4, 0.0, 1.0);
    assert_eq!(
        retarget.update(&hand(0.0, 1.0, 0.3, 0.5), DT, &tool_now),
        HandCommand::Hold
    );
    let again = tracked(retarget.update(&hand(0.0, 1.0, 0.3, 0.7), DT, &tool_now));
    assert!((again.translation.vector - tool_now.translation.vector).norm() < 1e-12);
    let on = tracked(retarget.update(&hand(0.0, 1.0, 0.2, 0.7), DT, &tool_now));
    assert!(
        (on.translation.x - 0.5).abs() < 1e-12,
        "continues from the new anchor"
    );
}

#[test]
fn lost_or_corrupt_tracking_holds_and_re_anchors() {
    let mut retarget = HandRetargeter::new(unfiltered());
    let tool = Pose::translation(0.3, 0.0, 1.0);
    tracked(retarget.update(&hand(0.0, 1.0, 0.0, 1.0), DT, &tool));
    let lost = HandInput {
        grip: None,
        ..hand(0.0, 0.0, 0.0, 1.0)
    };
    assert_eq!(retarget.update(&lost, DT, &tool), HandCommand::Hold);
    let nan = hand(f64::NAN, 1.0, 0.0, 1.0);
    assert_eq!(retarget.update(&nan, DT, &tool), HandCommand::Hold);
    let mut bad_rotation = hand(0.0, 1.0, 0.0, 1.0);
    bad_rotation.grip.as_mut().unwrap().rotation =
        UnitQuaternion::new_unchecked(nalgebra::Quaternion::new(f64::NAN, 0.0, 0.0, 0.0));
    assert_eq!(retarget.update(&bad_rotation, DT, &tool), HandCommand::Hold);
    // Back, elsewhere: re-anchored, no jump.
    let back = tracked(retarget.update(&hand(0.5, 1.5, 0.5, 1.0), DT, &tool));
    assert!((back.translation.vector - tool.translation.vector).norm() < 1e-12);
}

#[test]
fn workspace_box_bounds_the_target() {
    let mut retarget = HandRetargeter::new(HandSettings {
        workspace_min: Vector3::new(0.1, -0.5, 0.5),
        workspace_max: Vector3::new(0.6, 0.5, 1.5),
        ..unfiltered()
    });
    let tool = Pose::translation(0.3, 0.0, 1.0);
    tracked(retarget.update(&hand(0.0, 1.0, 0.0, 1.0), DT, &tool));
    // 2 m forward and 2 m down.
    let far = tracked(retarget.update(&hand(0.0, -1.0, -2.0, 1.0), DT, &tool));
    assert_eq!(far.translation.vector, Vector3::new(0.6, 0.0, 0.5));
}

#[test]
fn filter_removes_jitter_and_follows_fast_motion() {
    let mut retarget = HandRetargeter::new(HandSettings::default());
    let tool = Pose::translation(0.3, 0.0, 1.0);
    tracked(retarget.update(&hand(0.0, 1.0, 0.0, 1.0), DT, &tool));
    // A still hand with ±2 mm tracking noise (deterministic pseudo-random).
    let mut seed = 12345u64;
    let mut noise = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.004
    };
    // Root-mean-square deviation from the still position, raw and filtered.
    let (mut raw, mut filtered) = (0.0f64, 0.0f64);
    for _ in 0..300 {
        let n = noise();
        let out = tracked(retarget.update(&hand(n, 1.0, 0.0, 1.0), DT, &tool));
        raw += n * n;
        filtered += out.translation.y * out.translation.y;
    }
    let (raw, filtered) = ((raw / 300.0).sqrt(), (filtered / 300.0).sqrt());
    assert!(filtered < raw / 3.0, "rms {filtered} vs {raw}");
    // A fast reach: 0.4 m forward in 0.4 s; 0.1 s after it ends the tool is within 1 cm.
    let mut out = tool;
    for step in 1..=45 {
        let z = -0.4 * (step as f64 * DT / 0.4).min(1.0);
        out = tracked(retarget.update(&hand(0.0, 1.0, z, 1.0), DT, &tool));
    }
    assert!(
        (out.translation.x - 0.7).abs() < 0.01,
        "{}",
        out.translation.x
    );
}

#[test]
fn trigger_maps_to_the_gripper_within_its_range() {
    assert_eq!(gripper_position(0.0, 0.04, 0.0), 0.04);
    assert_eq!(gripper_position(1.0, 0.04, 0.0), 0.0);
    assert!((gripper_position(0.25, 0.04, 0.0) - 0.03).abs() < 1e-15);
    assert_eq!(gripper_position(7.0, 0.04, 0.0), 0.0);
    assert_eq!(gripper_position(f64::NAN, 0.04, 0.0), 0.04);
}

/// The humanoid's left arm through retarget → IK tracking → safety filter at 90 Hz: release the
/// clutch mid-reach, move the hand far away, squeeze again. The robot stops within its limits
/// and re-engaging does not move it.
#[test]
fn humanoid_clutch_release_holds_and_re_engaging_elsewhere_does_not_move_it() {
    let profile_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml");
    let (profile, model) = Profile::load(&profile_path).unwrap_or_else(|e| panic!("{e}"));
    let chain = Chain::new(&model, "pelvis", "left_tcp_link").expect("chain");
    let mut solver =
        Solver::new(&model, vec![Task::new(chain.clone())], Options::default()).unwrap();
    let n = solver.dof();
    // Solver q ↔ model q.
    let model_vars = solver.model_vars().to_vec();
    let all_limits = Limits::from_profile(&model, &profile, 1.0);
    let pick = |v: &[f64]| model_vars.iter().map(|&m| v[m]).collect::<Vec<f64>>();
    let limits = Limits {
        lower: pick(&all_limits.lower),
        upper: pick(&all_limits.upper),
        velocity: pick(&all_limits.velocity),
        acceleration: pick(&all_limits.acceleration),
    };
    let mut q: Vec<f64> = (0..n)
        .map(|i| match model.dof_names().nth(model_vars[i]).unwrap() {
            "left_shoulder_pitch_joint" => -0.6,
            "left_shoulder_roll_joint" => 0.3,
            "left_elbow_joint" => 1.6,
            _ => 0.0,
        })
        .collect();
    let mut safety = SafetyFilter::new(limits.clone(), &q);
    let mut retarget = HandRetargeter::new(HandSettings::default());
    let mut ik_q = q.clone();
    // One control tick; returns each joint's step and the commanded velocities.
    let mut tick = |grip_z: f64, squeeze: f64, q: &mut Vec<f64>| -> (Vec<f64>, Vec<f64>) {
        let tool = chain.forward(q);
        let before = q.clone();
        let wanted = match retarget.update(&hand(0.0, 1.0, grip_z, squeeze), DT, &tool) {
            HandCommand::Track(target) => {
                solver.set_target(0, Target::Pose(target));
                ik_q.copy_from_slice(q);
                solver.track(&mut ik_q, DT);
                Some(ik_q.clone())
            }
            HandCommand::Hold => None,
        };
        safety.step(wanted.as_deref(), DT).ok();
        q.copy_from_slice(safety.position());
        let steps = (0..n).map(|i| (q[i] - before[i]).abs()).collect();
        (steps, safety.velocity().to_vec())
    };
    // Engage and reach forward at 0.5 m/s for 0.3 s.
    let mut velocity = Vec::new();
    for step in 0..=27 {
        velocity = tick(-0.5 * step as f64 * DT, 1.0, &mut q).1;
    }
    assert!(
        velocity.iter().any(|v| v.abs() > 0.1),
        "moving when released: {velocity:?}"
    );
    // Release mid-motion: the robot brakes within its acceleration limits and stops.
    for _ in 0..90 {
        velocity = tick(-0.15, 0.0, &mut q).1;
    }
    assert!(velocity.iter().all(|&v| v == 0.0), "stopped: {velocity:?}");
    let held = q.clone();
    // The hand goes 0.4 m elsewhere while released, then squeezes there.
    for step in 0..30 {
        let (steps, _) = tick(-0.15 + 0.4 * step as f64 / 30.0, 0.0, &mut q);
        assert!(steps.iter().all(|&s| s == 0.0), "released: no motion");
    }
    for _ in 0..30 {
        let (steps, _) = tick(0.25, 1.0, &mut q);
        // Only the IK's null-space posture may move it, slowly: a quarter of the velocity limit.
        for (i, (&step, &vmax)) in steps.iter().zip(&limits.velocity).enumerate() {
            let allowed = 0.25 * vmax * DT;
            assert!(
                step < allowed,
                "re-engaging moved joint {i} by {step} rad in one tick"
            );
        }
    }
    let tool_drift =
        (chain.forward(&q).translation.vector - chain.forward(&held).translation.vector).norm();
    assert!(tool_drift < 1e-3, "the tool stayed put: {tool_drift} m");
}
