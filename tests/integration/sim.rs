//! The simulated humanoid: built where the kinematics says its links are, its servos hold and
//! reach commanded joints against gravity within the velocity limits, mimic fingers follow, and
//! objects rest on the table.

use std::path::Path;

use nalgebra::{Translation3, Vector3};
use teleop_bridge::config::Profile;
use teleop_bridge::control::{Limits, SafetyFilter};
use teleop_bridge::kinematics::{Pose, Tree};
use teleop_bridge::model::Model;
use teleop_bridge::robot::{Robot, RobotState};
use teleop_bridge::sim::{ServoGains, Sim};

fn humanoid() -> (Profile, Model) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml");
    Profile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn world_from_root() -> Pose {
    Pose::from_parts(Translation3::new(0.0, 0.0, 1.0), Default::default())
}

/// Largest distance between simulated link origins and the kinematics' at `q`.
fn link_mismatch(sim: &Sim, model: &Model, q: &[f64]) -> f64 {
    let tree = Tree::new(model);
    let mut poses = vec![Pose::identity(); tree.link_count()];
    tree.forward(q, &mut poses);
    (0..model.links.len())
        .map(|l| {
            let expected = world_from_root() * poses[l];
            let simulated = sim.link_pose(l);
            (expected.translation.vector - simulated.translation.vector).norm()
                + expected.rotation.angle_to(&simulated.rotation) * 0.1
        })
        .fold(0.0, f64::max)
}

#[test]
fn links_start_where_the_kinematics_puts_them() {
    let (profile, model) = humanoid();
    let q = profile.start_posture(&model);
    let sim = Sim::new(&model, &q, &world_from_root(), ServoGains::default()).unwrap();
    let mismatch = link_mismatch(&sim, &model, &q);
    assert!(mismatch < 1e-4, "links off by {mismatch}");
}

#[test]
fn servos_reach_commanded_joints_against_gravity_within_velocity_limits() {
    let (profile, model) = humanoid();
    let q0 = profile.start_posture(&model);
    let mut sim = Sim::new(&model, &q0, &world_from_root(), ServoGains::default()).unwrap();
    let mut goal = q0.clone();
    for (i, name) in model.dof_names().enumerate() {
        match name {
            "left_shoulder_pitch_joint" => goal[i] = -1.2,
            "left_elbow_joint" => goal[i] = 0.6,
            "right_shoulder_roll_joint" => goal[i] = -0.8,
            "waist_yaw_joint" => goal[i] = 0.3,
            "left_gripper_finger_joint" => goal[i] = 0.01,
            _ => {}
        }
    }
    // As the control loop drives it: through the safety filter at 500 Hz.
    let limits = Limits::from_profile(&model, &profile, 1.0);
    let mut safety = SafetyFilter::new(limits.clone(), &q0);
    let mut state = RobotState::zeros(sim.dof(), sim.links(), 0);
    let mut fastest = vec![0.0f64; sim.dof()];
    for _ in 0..750 {
        let _ = safety.step(Some(&goal), 0.002);
        sim.command(safety.position()).unwrap();
        sim.advance(0.002);
        sim.read_state(&mut state).unwrap();
        for (f, &v) in fastest.iter_mut().zip(&state.velocities) {
            *f = f.max(v.abs());
        }
    }
    // The servo targets never move faster than the limits; what the joints do on top is the
    // servos' tracking error. The 50 g fingers are dragged by the arm's acceleration: 1.3×.
    for (i, (&f, &vmax)) in fastest.iter().zip(&limits.velocity).enumerate() {
        let finger = model.dof_names().nth(i).unwrap().contains("finger");
        let allowed = vmax * if finger { 1.3 } else { 1.1 };
        assert!(f <= allowed, "joint {i}: {f} over its limit {vmax}");
    }
    for (i, (&p, &g)) in state.positions.iter().zip(&goal).enumerate() {
        let tolerance = if model.dof_names().nth(i).unwrap().contains("finger") {
            2e-3
        } else {
            1e-2
        };
        assert!(
            (p - g).abs() < tolerance,
            "joint {i}: at {p}, commanded {g}"
        );
    }
    // The bodies are where the kinematics puts the simulated joints (including the mimic finger).
    let mismatch = link_mismatch(&sim, &model, &state.positions);
    assert!(mismatch < 2e-3, "links off by {mismatch}");
    // The state reports them, cameras included.
    let camera = model.link_id("left_camera_link").unwrap();
    assert_eq!(state.link_poses[camera], sim.link_pose(camera));
}

#[test]
fn a_box_rests_on_the_table() {
    let (profile, model) = humanoid();
    let q = profile.start_posture(&model);
    let mut sim = Sim::new(&model, &q, &world_from_root(), ServoGains::default()).unwrap();
    let table_top = 0.75;
    sim.add_box(
        "table",
        &Pose::from_parts(
            Translation3::new(0.6, 0.0, table_top / 2.0),
            Default::default(),
        ),
        Vector3::new(0.5, 1.0, table_top),
        None,
    );
    let cube = sim.add_box(
        "cube",
        &Pose::from_parts(
            Translation3::new(0.55, 0.1, table_top + 0.03),
            Default::default(),
        ),
        Vector3::new(0.04, 0.04, 0.04),
        Some(0.1),
    );
    sim.advance(1.0);
    let p = sim.object_pose(cube).translation.vector;
    assert!(
        (p - Vector3::new(0.55, 0.1, table_top + 0.02)).norm() < 2e-3,
        "cube at {p}"
    );
}

#[test]
fn a_non_finite_or_wrong_length_command_is_refused_and_the_robot_holds() {
    let (profile, model) = humanoid();
    let q = profile.start_posture(&model);
    let mut sim = Sim::new(&model, &q, &world_from_root(), ServoGains::default()).unwrap();
    let mut bad = q.clone();
    bad[3] = f64::NAN;
    assert!(sim.command(&bad).is_err());
    assert!(sim.command(&q[..3]).is_err());
    sim.advance(0.5);
    let mut state = RobotState::zeros(sim.dof(), sim.links(), 0);
    sim.read_state(&mut state).unwrap();
    for (i, (&p, &g)) in state.positions.iter().zip(&q).enumerate() {
        assert!(
            p.is_finite() && (p - g).abs() < 0.02,
            "joint {i}: {p} held near {g}"
        );
    }
}
