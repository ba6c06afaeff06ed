//! The simulated humanoid: built where the kinematics says its links are, its servos hold and
//! reach commanded joints against gravity within the velocity limits, mimic fingers follow, and
//! objects rest on the table. Joints no profile key drives are welded: they stay put however they
//! are commanded while the driven ones track (Unitree G1 with both arms driven); the demo's grip
//! forces are what they were before the simulation was made faster.

use std::path::Path;

use nalgebra::{Translation3, Vector3};
use teleop_bridge::app::Scene;
use teleop_bridge::app::scene::CUBE;
use teleop_bridge::config::Profile;
use teleop_bridge::kinematics::{Pose, Tree};
use teleop_bridge::model::Model;
use teleop_bridge::operator::Script;
use teleop_bridge::robot::{Robot, RobotState};
use teleop_bridge::safety::{Limits, SafetyFilter};
use teleop_bridge::sim::{ServoGains, Sim, driven_dofs};

use super::common::inline_model;

fn load(profile: &str) -> (Profile, Model) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(profile);
    Profile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn humanoid() -> (Profile, Model) {
    load("teleop_humanoid.toml")
}

/// The bundled humanoid with every joint simulated.
fn humanoid_sim(model: &Model, q: &[f64]) -> Sim {
    let all = vec![true; model.dof()];
    Sim::new(model, q, &world_from_root(), ServoGains::default(), &all).unwrap()
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
    let sim = humanoid_sim(&model, &q);
    let mismatch = link_mismatch(&sim, &model, &q);
    assert!(mismatch < 1e-4, "links off by {mismatch}");
}

#[test]
fn servos_reach_commanded_joints_against_gravity_within_velocity_limits() {
    let (profile, model) = humanoid();
    let q0 = profile.start_posture(&model);
    let mut sim = humanoid_sim(&model, &q0);
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
    let mut sim = humanoid_sim(&model, &q);
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
    let mut sim = humanoid_sim(&model, &q);
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

#[test]
fn the_profiles_drive_their_chains_and_grippers() {
    let (profile, model) = humanoid();
    assert!(driven_dofs(&model, &profile).iter().all(|&d| d), "all 20");
    let (profile, model) = load("unitree_g1.toml");
    let driven: Vec<&str> = model
        .dof_names()
        .zip(driven_dofs(&model, &profile))
        .filter_map(|(name, d)| d.then_some(name))
        .collect();
    // Two 7-DoF arms and two 7-DoF Dex3 hands; the legs and waist are welded.
    assert_eq!(driven.len(), 28, "{driven:?}");
    for side in ["left", "right"] {
        for joint in [
            "shoulder_pitch",
            "shoulder_roll",
            "shoulder_yaw",
            "elbow",
            "wrist_roll",
            "wrist_pitch",
            "wrist_yaw",
            "hand_thumb_0",
            "hand_thumb_2",
            "hand_index_1",
            "hand_middle_1",
        ] {
            let name = format!("{side}_{joint}_joint");
            assert!(driven.contains(&name.as_str()), "{name} in {driven:?}");
        }
    }
}

/// G1 as the demo builds it: its arms driven through the safety filter towards `goal` for
/// `seconds`; the state at the end, and each dof's fastest speed on the way.
fn drive_g1(goal: &[f64], seconds: f64) -> (Model, Vec<f64>, Sim, RobotState, Vec<f64>) {
    let (profile, model) = load("unitree_g1.toml");
    let q0 = profile.start_posture(&model);
    let driven = driven_dofs(&model, &profile);
    let mut sim = Sim::new(
        &model,
        &q0,
        &world_from_root(),
        ServoGains::default(),
        &driven,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let limits = Limits::from_profile(&model, &profile, 1.0);
    let mut safety = SafetyFilter::new(limits, &q0);
    let mut state = RobotState::zeros(sim.dof(), sim.links(), 0);
    let mut fastest = vec![0.0f64; sim.dof()];
    for _ in 0..(seconds / 0.002).round() as usize {
        let _ = safety.step(Some(goal), 0.002);
        sim.command(safety.position()).unwrap();
        sim.advance(0.002);
        sim.read_state(&mut state).unwrap();
        for (f, &v) in fastest.iter_mut().zip(&state.velocities) {
            *f = f.max(v.abs());
        }
    }
    (model, q0, sim, state, fastest)
}

#[test]
fn g1_arms_track_a_commanded_motion_while_its_welded_joints_stay_put() {
    let (profile, model) = load("unitree_g1.toml");
    let mut goal = profile.start_posture(&model);
    let set = |goal: &mut Vec<f64>, name: &str, value: f64| {
        let i = model.dof_names().position(|n| n == name).unwrap();
        goal[i] = value;
    };
    // Both arms move: the left reaches forward and up, the right turns its forearm in.
    set(&mut goal, "left_shoulder_pitch_joint", -1.0);
    set(&mut goal, "left_elbow_joint", -0.4);
    set(&mut goal, "left_wrist_roll_joint", 0.8);
    set(&mut goal, "right_shoulder_yaw_joint", 0.6);
    set(&mut goal, "right_elbow_joint", 0.9);
    // Commands for welded joints (a knee, the waist, a finger) change nothing.
    set(&mut goal, "left_knee_joint", 1.0);
    set(&mut goal, "waist_yaw_joint", 0.5);
    set(&mut goal, "right_hand_index_0_joint", 1.0);
    let (model, q0, sim, state, fastest) = drive_g1(&goal, 2.0);
    let driven = driven_dofs(&model, &profile);
    let limits = Limits::from_profile(&model, &profile, 1.0);
    for (i, name) in model.dof_names().enumerate() {
        let (p, v) = (state.positions[i], state.velocities[i]);
        if driven[i] {
            assert!(
                (p - goal[i]).abs() < 1e-2,
                "{name}: at {p}, commanded {}",
                goal[i]
            );
            let (lo, hi) = model.joints[model.dofs[i]].limits.position.unwrap();
            assert!(
                p >= lo - 1e-3 && p <= hi + 1e-3,
                "{name}: {p} outside [{lo}, {hi}]"
            );
            assert!(
                fastest[i] <= limits.velocity[i] * 1.1,
                "{name}: {} over its limit {}",
                fastest[i],
                limits.velocity[i]
            );
        } else {
            assert_eq!((p, v), (q0[i], 0.0), "{name} is welded at its start");
        }
    }
    // Every link is where the kinematics puts the reported joints: the welded legs and fingers
    // did not sag or swing, the arms carried their hands along.
    let mismatch = link_mismatch(&sim, &model, &state.positions);
    assert!(mismatch < 2e-3, "links off by {mismatch}");
    let tree = Tree::new(&model);
    let mut start = vec![Pose::identity(); tree.link_count()];
    tree.forward(&q0, &mut start);
    for name in [
        "left_ankle_roll_link",
        "torso_link",
        "right_hand_index_1_link",
    ] {
        let l = model.link_id(name).unwrap();
        let moved = (sim.link_pose(l).translation.vector
            - (world_from_root() * start[l]).translation.vector)
            .norm();
        let expected = if name.starts_with("right_hand") {
            0.05
        } else {
            0.0
        };
        if expected == 0.0 {
            assert!(moved < 1e-4, "{name} moved {moved} m");
        } else {
            assert!(moved > expected, "{name} moved only {moved} m with its arm");
        }
    }
    let palm = model.link_id("left_hand_palm_link").unwrap();
    assert_eq!(state.link_poses[palm], sim.link_pose(palm));
}

/// The left fingers' contact forces (N) at each control tick while the demo's cube is carried
/// (more than 1 cm above its start), as the headless demo runs it.
fn demo_grip_forces() -> Vec<[f64; 2]> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = Script::load(&root.join("scripts/pick_cube.toml")).unwrap();
    let scene =
        Scene::load(&root.join("profiles/teleop_humanoid.toml")).unwrap_or_else(|e| panic!("{e}"));
    let (mut pipeline, mut sim, fingers) = (
        scene.pipeline().unwrap(),
        scene.sim().unwrap(),
        scene.fingers.clone(),
    );
    let cube = CUBE;
    let dt = pipeline.tick_period_s();
    let start_z = sim.object_pose(cube).translation.z;
    let mut state = RobotState::zeros(sim.dof(), sim.links(), sim.objects());
    let mut carried = Vec::new();
    for k in 0..((script.duration() + 1.0) / dt).ceil() as u64 {
        let t = k as f64 * dt;
        let now_ns = (t * 1e9) as u64;
        pipeline.tick(Some(&script.frame_at(t, now_ns)), now_ns);
        sim.command(pipeline.command()).unwrap();
        sim.advance(dt);
        sim.read_state(&mut state).unwrap();
        if sim.object_pose(cube).translation.z - start_z > 0.01 {
            carried.push([
                state.contact_forces[fingers[0]],
                state.contact_forces[fingers[1]],
            ]);
        }
    }
    carried
}

#[test]
fn the_demo_grips_the_cube_as_hard_as_before() {
    let carried = demo_grip_forces();
    // Carried for about 3.6 s of the script (1811 ticks before the speed-up).
    assert!(carried.len() > 1700, "carried {} ticks", carried.len());
    // Measured before the simulation was made faster (4 substeps per 1 ms step, every fixed
    // link its own multibody link): each finger pressed with 14.70 and 14.83 N on average and
    // at most 15.2 and 15.4 N while the cube was in the air. The same within 3 %, and at every
    // tick enough to hold the 0.1 kg cube by friction (µ = 1) with a wide margin.
    let n = carried.len() as f64;
    for (finger, (mean_before, max_before)) in [(14.70, 15.22), (14.83, 15.39)].iter().enumerate() {
        let forces = carried.iter().map(|f| f[finger]);
        let mean = forces.clone().sum::<f64>() / n;
        let max = forces.fold(0.0, f64::max);
        assert!(
            (mean / mean_before - 1.0).abs() < 0.03,
            "finger {finger}: {mean:.2} N on average, {mean_before} N before"
        );
        assert!(
            (max / max_before - 1.0).abs() < 0.05,
            "finger {finger}: at most {max:.2} N, {max_before} N before"
        );
    }
    let weakest = carried
        .iter()
        .map(|f| f[0] + f[1])
        .fold(f64::INFINITY, f64::min);
    assert!(
        weakest > 10.0 * 0.1 * 9.81,
        "the grip fell to {weakest:.2} N"
    );
}

/// A robot whose collision geometry is all meshes (Franka Panda) collides through their convex
/// hulls: a box dropped onto its hand is stopped there, while the same box dropped beside the
/// robot falls freely.
#[test]
fn a_box_dropped_on_a_mesh_only_hand_is_stopped_by_it() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/robots/panda/panda.urdf");
    let model = Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"));
    // Mid-range: the arm bent, its hand well above the floor.
    let q: Vec<f64> = model
        .dofs
        .iter()
        .map(|&j| {
            model.joints[j]
                .limits
                .position
                .map_or(0.0, |(lo, hi)| (lo + hi) / 2.0)
        })
        .collect();
    let welded = vec![false; model.dof()];
    let mut sim = Sim::new(
        &model,
        &q,
        &world_from_root(),
        ServoGains::default(),
        &welded,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let hand = sim
        .link_pose(model.link_id("panda_hand").expect("panda_hand"))
        .translation
        .vector;
    assert!(hand.z > 0.5, "the hand is off the floor: {hand}");
    let drop = |sim: &mut Sim, name: &str, x: f64, y: f64| {
        sim.add_box(
            name,
            &Pose::from_parts(Translation3::new(x, y, hand.z + 0.1), Default::default()),
            Vector3::new(0.03, 0.03, 0.03),
            Some(0.05),
        )
    };
    let on_hand = drop(&mut sim, "on hand", hand.x, hand.y);
    let beside = drop(&mut sim, "beside", hand.x, hand.y + 1.0);
    // Falling freely for 0.25 s takes a box 0.31 m down: 0.21 m below the hand's origin.
    sim.advance(0.25);
    let free = sim.object_pose(beside).translation.vector;
    assert!(free.z < hand.z - 0.18, "the box beside fell freely: {free}");
    let stopped = sim.object_pose(on_hand).translation.vector;
    assert!(
        stopped.z > hand.z - 0.08,
        "the box on the hand was stopped by it (hand at {hand}): it is at {stopped}"
    );
}

/// A bar swung about its joint towards a wall fixed to the robot's base, three joints away:
/// with self-collision on (`self_collision = true` in a profile) the wall stops it; off (the
/// default) it passes through. A wall touching the base at rest is part of the base's body, and
/// adjacent links never collide, so the robot is not pushed apart at its first step.
#[test]
fn self_collision_stops_a_link_at_another_of_the_same_robot() {
    let inertial = r#"<inertial><mass value="0.5"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>"#;
    let joint = |name: &str, parent: &str, child: &str| {
        format!(
            r#"<joint name="{name}" type="revolute"><parent link="{parent}"/><child link="{child}"/><axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="10" velocity="3"/></joint>"#
        )
    };
    let urdf = format!(
        r#"<robot name="bar">
  <link name="base"><collision><origin xyz="0.55 0 0"/><geometry><box size="0.1 0.6 0.4"/></geometry></collision></link>
  <link name="a">{inertial}</link>
  <link name="b">{inertial}</link>
  <link name="bar">{inertial}<collision><origin xyz="0 0.3 0"/><geometry><box size="0.04 0.6 0.04"/></geometry></collision></link>
  {}{}{}
</robot>"#,
        joint("j1", "base", "a"),
        joint("j2", "a", "b"),
        joint("j3", "b", "bar")
    );
    let model = inline_model(&urdf);
    let swing = |on: bool| {
        let q0 = vec![0.0; model.dof()];
        let mut sim = Sim::new(
            &model,
            &q0,
            &world_from_root(),
            ServoGains::default(),
            &vec![true; model.dof()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        sim.set_self_collision(on);
        assert!(sim.resting_contacts().is_empty(), "nothing touches at rest");
        // Turn the bar from +y towards +x (through the wall at x = 0.5 from about 60°).
        let goal = [0.0, 0.0, -1.57];
        let mut state = RobotState::zeros(sim.dof(), sim.links(), 0);
        for _ in 0..1500 {
            sim.command(&goal).unwrap();
            sim.advance(0.002);
        }
        sim.read_state(&mut state).unwrap();
        // The three joints turn about the same axis: the bar's angle is their sum (the wall's
        // push shows up on the first two, whose servos give way).
        state.positions.iter().sum::<f64>()
    };
    let free = swing(false);
    assert!(free < -1.5, "off, the bar swings through the wall: {free}");
    let stopped = swing(true);
    assert!(
        (-1.15..-0.9).contains(&stopped),
        "on, the wall stops the bar near 59°, where it meets it: {stopped} rad"
    );
}

/// A horizontal arm: 2 kg at 0.5 m puts 9.81 N·m on its shoulder. With an effort limit of
/// 5 N·m it sags under its own weight; with `gravity_compensation` (a counterbalanced robot) it
/// holds the commanded posture, while an object it does not carry still falls. With a limit
/// that suffices, the reported effort is the torque that holds it: −9.81 N·m about +Y
/// (gravity turns it +9.81), and 0 compensated.
#[test]
fn gravity_compensation_holds_an_arm_its_effort_cannot_and_efforts_say_what_holds_it() {
    let arm = |effort: f64| {
        let urdf = format!(
            r#"<robot name="arm">
  <link name="base"/>
  <link name="upper"><inertial><origin xyz="0.5 0 0"/><mass value="2"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial></link>
  <joint name="shoulder" type="revolute"><parent link="base"/><child link="upper"/><axis xyz="0 1 0"/><limit lower="-2" upper="2" effort="{effort}" velocity="3"/></joint>
</robot>"#
        );
        inline_model(&urdf)
    };
    let hold = |model: &Model, compensated: bool| {
        let mut sim = Sim::new(
            model,
            &[0.0],
            &world_from_root(),
            ServoGains::default(),
            &[true],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        sim.set_gravity_compensation(compensated);
        let pose = Pose::from_parts(Translation3::new(2.0, 0.0, 1.0), Default::default());
        sim.add_box("falling", &pose, Vector3::repeat(0.1), Some(0.1));
        let mut state = RobotState::zeros(sim.dof(), sim.links(), 1);
        for _ in 0..500 {
            sim.command(&[0.0]).unwrap();
            sim.advance(0.002);
        }
        sim.read_state(&mut state).unwrap();
        (
            state.positions[0],
            state.object_poses[0].translation.vector.z,
            state.efforts[0],
        )
    };
    let weak = arm(5.0);
    let (sagged, fell_free, _) = hold(&weak, false);
    let (held, fell_compensated, _) = hold(&weak, true);
    // A positive turn about +y lowers +x.
    assert!(
        sagged > 0.5,
        "without compensation the arm sags: {sagged} rad"
    );
    assert!(held.abs() < 0.01, "compensated, it holds: {held} rad");
    for z in [fell_free, fell_compensated] {
        assert!(z < 0.2, "the object falls either way: {z} m");
    }
    let strong = arm(50.0);
    let (at, _, effort) = hold(&strong, false);
    assert!(at.abs() < 0.01, "{at}");
    assert!((effort + 9.81).abs() < 0.2, "holding torque {effort} N·m");
    let (_, _, compensated) = hold(&strong, true);
    assert!(compensated.abs() < 0.05, "compensated: {compensated} N·m");
}

/// A platform on a vertical slide carries a box resting on its tilted top (20°, held there by
/// friction): the slide's effort is the weight of both, 4 kg × 9.81 m/s², whatever share of the
/// box's weight goes through the contact's normal and its friction (with friction counted the
/// wrong way round it would read 32 N).
#[test]
fn a_joints_effort_carries_what_rests_on_it() {
    let urdf = r#"<robot name="lift">
  <link name="base"/>
  <link name="platform"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><origin rpy="0 0.349 0"/><geometry><box size="0.4 0.4 0.05"/></geometry></collision></link>
  <joint name="slide" type="prismatic"><parent link="base"/><child link="platform"/><axis xyz="0 0 1"/><limit lower="-1" upper="1" effort="500" velocity="1"/></joint>
</robot>"#;
    let model = inline_model(urdf);
    let mut sim = Sim::new(
        &model,
        &[0.0],
        &world_from_root(),
        ServoGains::default(),
        &[true],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let on_top = Pose::from_parts(
        Translation3::new(0.0, 0.0, 1.09),
        nalgebra::Rotation3::from_euler_angles(0.0, 0.349, 0.0),
    );
    sim.add_box("box", &on_top, Vector3::repeat(0.1), Some(3.0));
    let mut state = RobotState::zeros(sim.dof(), sim.links(), 1);
    let mut efforts = Vec::new();
    for k in 0..1000 {
        sim.command(&[0.0]).unwrap();
        sim.advance(0.002);
        if k >= 750 {
            sim.read_state(&mut state).unwrap();
            efforts.push(state.efforts[0]);
        }
    }
    let moved = (state.object_poses[0].translation.vector - on_top.translation.vector).norm();
    assert!(
        moved < 0.02,
        "the box rests where it was put: moved {moved} m"
    );
    let mean = efforts.iter().sum::<f64>() / efforts.len() as f64;
    assert!((mean - 4.0 * 9.81).abs() < 1.0, "slide effort {mean} N");
}
