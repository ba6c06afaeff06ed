//! The bundled humanoid: loads, has the structure the demo relies on, and sane limits.

use teleop_bridge::kinematics::{Chain, Pose, Tree};
use teleop_bridge::model::{JointKind, Model};

use super::common::bundled_humanoid;

fn humanoid() -> Model {
    Model::from_urdf_file(bundled_humanoid()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn structure_waist_neck_two_seven_dof_arms_and_mimic_grippers() {
    let model = humanoid();
    assert_eq!(model.root().name, "pelvis");
    for side in ["left", "right"] {
        let arm =
            Chain::new(&model, "torso_link", &format!("{side}_hand_link")).expect("arm chain");
        assert_eq!(arm.dof(), 7, "{side} arm");
        let finger = model
            .joint_id(&format!("{side}_gripper_finger_mirror_joint"))
            .expect("mimic finger");
        let mimic = model.joints[finger].mimic.expect("is a mimic");
        assert_eq!(
            model.joints[mimic.leader].name,
            format!("{side}_gripper_finger_joint")
        );
    }
    let waist = Chain::new(&model, "pelvis", "torso_link").expect("waist");
    assert!((1..=3).contains(&waist.dof()));
    let neck = Chain::new(&model, "torso_link", "head_link").expect("neck");
    assert_eq!(neck.dof(), 2);
    let suggested: Vec<(String, String)> = model
        .suggested_chains()
        .iter()
        .map(|c| {
            (
                model.links[c.base].name.clone(),
                model.links[c.tip].name.clone(),
            )
        })
        .collect();
    assert!(
        suggested.contains(&("torso_link".into(), "left_hand_link".into())),
        "{suggested:?}"
    );
}

#[test]
fn stereo_cameras_are_six_centimetres_apart_and_look_forward() {
    let model = humanoid();
    let tree = Tree::new(&model);
    let mut poses = vec![Pose::identity(); tree.link_count()];
    tree.forward(&vec![0.0; tree.dof()], &mut poses);
    let at = |name: &str| poses[model.link_id(name).expect(name)];
    let (left, right) = (at("left_camera_link"), at("right_camera_link"));
    let baseline = (left.translation.vector - right.translation.vector).norm();
    assert!((baseline - 0.06).abs() < 0.005, "baseline {baseline}");
    assert!(
        left.translation.y > right.translation.y,
        "left camera on +y"
    );
    let head_height = left.translation.z - at("pelvis").translation.z;
    assert!(
        (0.4..0.9).contains(&head_height),
        "cameras {head_height} m above the pelvis"
    );
    // Shoulders about a humanoid's width apart.
    let shoulders = (at("left_shoulder_pitch_link").translation.vector
        - at("right_shoulder_pitch_link").translation.vector)
        .norm();
    assert!(
        (0.3..0.5).contains(&shoulders),
        "shoulder width {shoulders}"
    );
}

#[test]
fn every_movable_joint_has_sane_limits_and_links_have_mass() {
    let model = humanoid();
    for joint in model.joints.iter().filter(|j| j.kind.is_movable()) {
        let (lower, upper) = joint.limits.position.expect("position limits");
        assert!(lower < upper, "{}", joint.name);
        let velocity = joint.limits.velocity.expect("velocity limit");
        let effort = joint.limits.effort.expect("effort limit");
        match joint.kind {
            JointKind::Revolute => {
                assert!(
                    upper - lower <= 2.0 * std::f64::consts::TAU,
                    "{}",
                    joint.name
                );
                assert!(
                    (0.5..=10.0).contains(&velocity),
                    "{} velocity {velocity}",
                    joint.name
                );
                assert!(
                    (1.0..=200.0).contains(&effort),
                    "{} effort {effort}",
                    joint.name
                );
            }
            JointKind::Prismatic => {
                assert!(upper - lower <= 0.1, "{}: gripper travel", joint.name);
                assert!(velocity <= 1.0, "{}", joint.name);
            }
            other => panic!("{}: unexpected {other:?}", joint.name),
        }
    }
    let mass: f64 = model
        .links
        .iter()
        .filter_map(|l| l.inertial.as_ref())
        .map(|i| i.mass_kg)
        .sum();
    assert!((10.0..60.0).contains(&mass), "upper-body mass {mass} kg");
}
