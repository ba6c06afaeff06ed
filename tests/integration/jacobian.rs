//! The analytic Jacobian against central finite differences of FK.

use nalgebra::{Matrix3, Matrix6xX, Vector3};
use proptest::prelude::*;
use teleop_bridge::kinematics::Chain;

use super::common::{load_robot, robots_dir};

/// (robot, base, tip): arms, continuous joints, a prismatic finger, and mimic joints
/// (PR2's gripper: several mimic joints of one leader, one with multiplier −1).
const CHAINS: &[(&str, &str, &str)] = &[
    ("panda", "panda_link0", "panda_link8"),
    ("panda", "panda_link0", "panda_rightfinger"),
    ("ur5", "base_link", "tool0"),
    (
        "kinova_j2s6s200",
        "j2s6s200_link_base",
        "j2s6s200_end_effector",
    ),
    ("unitree_g1", "torso_link", "left_hand_palm_link"),
    ("unitree_g1", "pelvis", "right_hand_palm_link"),
    ("pr2", "torso_lift_link", "l_gripper_tool_frame"),
    ("pr2", "torso_lift_link", "l_gripper_r_finger_tip_link"),
    ("allegro_right", "palm_link", "link_3.0_tip"),
];

fn check_chain(chain: &Chain, q: &[f64]) -> Result<(), TestCaseError> {
    let n = chain.dof();
    let mut jacobian = Matrix6xX::zeros(n);
    let pose = chain.forward_with_jacobian(q, &mut jacobian);
    let plain = chain.forward(q);
    prop_assert!((pose.to_homogeneous() - plain.to_homogeneous()).abs().max() < 1e-12);
    let h = 1e-6;
    let mut q_step = q.to_vec();
    for k in 0..n {
        q_step[k] = q[k] + h;
        let plus = chain.forward(&q_step);
        q_step[k] = q[k] - h;
        let minus = chain.forward(&q_step);
        q_step[k] = q[k];
        let linear = (plus.translation.vector - minus.translation.vector) / (2.0 * h);
        let d_rotation: Matrix3<f64> =
            (plus.rotation.matrix() - minus.rotation.matrix()) / (2.0 * h);
        let skew = d_rotation * pose.rotation.matrix().transpose();
        let angular = Vector3::new(skew[(2, 1)], skew[(0, 2)], skew[(1, 0)]);
        for r in 0..3 {
            prop_assert!(
                (jacobian[(r, k)] - linear[r]).abs() < 1e-6,
                "linear row {r} col {k}: {} vs {}",
                jacobian[(r, k)],
                linear[r]
            );
            prop_assert!(
                (jacobian[(r + 3, k)] - angular[r]).abs() < 1e-6,
                "angular row {r} col {k}: {} vs {}",
                jacobian[(r + 3, k)],
                angular[r]
            );
        }
    }
    Ok(())
}

#[test]
fn jacobian_matches_finite_differences_on_random_configurations() {
    let dir = robots_dir();
    let chains: Vec<(String, Chain)> = CHAINS
        .iter()
        .map(|&(robot, base, tip)| {
            let model = load_robot(&dir, robot);
            let chain = Chain::new(&model, base, tip).unwrap_or_else(|e| panic!("{robot}: {e}"));
            (format!("{robot} {base}→{tip}"), chain)
        })
        .collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = proptest::collection::vec(-3.2..3.2f64, 16);
    for (name, chain) in &chains {
        assert!(chain.dof() > 0 && chain.dof() <= 16, "{name}");
        runner
            .run(&strategy, |values| {
                check_chain(chain, &values[..chain.dof()])
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// A tool point off the tip link (G1's grasp centre, 0.05 m along the palm and 0.08 m out of
/// it): FK is the link's pose moved by the offset in the link's frame, and the Jacobian is the
/// point's, not the link origin's.
#[test]
fn a_tool_offset_moves_fk_and_the_jacobian_to_the_tool_point() {
    let model = load_robot(&robots_dir(), "unitree_g1");
    let link = Chain::new(&model, "torso_link", "left_hand_palm_link").expect("chain");
    let offset = Vector3::new(0.05, -0.08, 0.0);
    let tool = link.clone().with_tool(&offset);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&proptest::collection::vec(-3.2..3.2f64, 7), |q| {
            let (at_link, at_tool) = (link.forward(&q), tool.forward(&q));
            let moved = at_link.translation.vector + at_link.rotation * offset;
            prop_assert!((at_tool.translation.vector - moved).norm() < 1e-12);
            prop_assert!(
                (at_tool.rotation.matrix() - at_link.rotation.matrix())
                    .abs()
                    .max()
                    < 1e-12
            );
            check_chain(&tool, &q)
        })
        .unwrap();
}

#[test]
fn mimic_joints_fold_into_their_leaders_column() {
    let dir = robots_dir();
    let model = load_robot(&dir, "pr2");
    let chain =
        Chain::new(&model, "torso_lift_link", "l_gripper_r_finger_tip_link").expect("chain");
    let names: Vec<&str> = chain
        .dofs()
        .iter()
        .map(|&j| model.joints[j].name.as_str())
        .collect();
    // The right finger and its tip are mimics of the left finger joint: one variable, not three.
    assert_eq!(names.last(), Some(&"l_gripper_l_finger_joint"), "{names:?}");
    assert_eq!(chain.dof(), 8, "{names:?}");
}
