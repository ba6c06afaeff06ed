//! Joint limits as the URDF states them, `<safety_controller>` soft limits included.

use teleop_bridge::model::Model;

use super::common::{inline_model, load_robot, robots_dir};

fn limits_of<'m>(model: &'m Model, joint: &str) -> &'m teleop_bridge::model::JointLimits {
    &model
        .joints
        .iter()
        .find(|j| j.name == joint)
        .unwrap_or_else(|| panic!("joint {joint}"))
        .limits
}

#[test]
fn pr2_soft_limits_are_read_and_absent_ones_do_not_pin_joints() {
    let dir = robots_dir();
    let pr2 = load_robot(&dir, "pr2");
    // Given both soft bounds: kept, inside the hard ones.
    let elbow = limits_of(&pr2, "l_elbow_flex_joint");
    assert_eq!(elbow.position, Some((-2.3213, 0.0)));
    assert_eq!(elbow.soft_position, Some((-2.1213, -0.15)));
    // `<safety_controller k_velocity="1"/>` on a continuous joint: no soft bounds, so none
    // (urdf-rs's default of 0 for both would freeze the forearm).
    let forearm = limits_of(&pr2, "l_forearm_roll_joint");
    assert_eq!(forearm.position, None);
    assert_eq!(forearm.soft_position, None);
}

#[test]
fn a_missing_soft_bound_falls_back_to_the_hard_one() {
    let urdf = r#"<robot name="r">
      <link name="a"/><link name="b"/><link name="c"/>
      <joint name="only_upper" type="revolute">
        <parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
        <limit lower="-1" upper="1" effort="1" velocity="1"/>
        <safety_controller k_velocity="1" soft_upper_limit="0.5"/>
      </joint>
      <joint name="none_given" type="revolute">
        <parent link="b"/><child link="c"/><axis xyz="0 0 1"/>
        <limit lower="-1" upper="1" effort="1" velocity="1"/>
        <safety_controller k_velocity="1"/>
      </joint>
    </robot>"#;
    let model = inline_model(urdf);
    assert_eq!(
        limits_of(&model, "only_upper").soft_position,
        Some((-1.0, 0.5))
    );
    assert_eq!(limits_of(&model, "none_given").soft_position, None);
}
