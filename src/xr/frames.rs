//! The one boundary between OpenXR's structs and axes and ours: OpenXR poses → nalgebra
//! (same frame), the validity of a located pose from its flags, and [`robot_from_xr`], the
//! change of axes between the XR stage (+Y up, −Z forward, +X right) and a URDF robot (+Z up,
//! +X forward, +Y left).

use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use openxr as xr;

/// `robot_from_xr`: re-expresses XR axes in robot axes: robot x = −xr z, robot y = −xr x,
/// robot z = xr y. The numbers live in [`crate::msg::robot_from_stage_axes`] (the lower
/// module, which the control loop uses); this is its one OpenXR-side name.
pub fn robot_from_xr() -> UnitQuaternion<f64> {
    crate::msg::robot_from_stage_axes().rotation
}

/// An OpenXR pose as an isometry in the same frame (`a_from_b` stays `a_from_b`). A
/// non-normalised quaternion from a runtime is normalised; a zero one gives `None`.
pub fn isometry_from_xr(pose: &xr::Posef) -> Option<Isometry3<f64>> {
    let q = pose.orientation;
    let p = pose.position;
    let quaternion = Quaternion::new(q.w as f64, q.x as f64, q.y as f64, q.z as f64);
    let norm = quaternion.norm();
    let finite = [q.x, q.y, q.z, q.w, p.x, p.y, p.z]
        .iter()
        .all(|v| v.is_finite());
    if !finite || norm < 1e-6 {
        return None;
    }
    Some(Isometry3::from_parts(
        Translation3::new(p.x as f64, p.y as f64, p.z as f64),
        UnitQuaternion::new_unchecked(quaternion / norm),
    ))
}

/// The inverse of [`isometry_from_xr`] (for poses we hand to the runtime).
pub fn xr_from_isometry(pose: &Isometry3<f64>) -> xr::Posef {
    let q = pose.rotation.quaternion();
    let t = pose.translation.vector;
    xr::Posef {
        orientation: xr::Quaternionf {
            x: q.i as f32,
            y: q.j as f32,
            z: q.k as f32,
            w: q.w as f32,
        },
        position: xr::Vector3f {
            x: t.x as f32,
            y: t.y as f32,
            z: t.z as f32,
        },
    }
}

/// A pose in XR axes re-expressed with robot axes, the posed thing's own axes included: a
/// head looking along stage −Z becomes a camera looking along robot +X.
/// `robot_pose = robot_from_xr · xr_pose · xr_from_robot`.
pub fn robot_pose_from_xr(xr_pose: &Isometry3<f64>) -> Isometry3<f64> {
    let axes = Isometry3::from_parts(Translation3::identity(), robot_from_xr());
    axes * xr_pose * axes.inverse()
}

/// The inverse of [`robot_pose_from_xr`]: where a robot-frame pose (a camera) sits in XR axes.
pub fn xr_pose_from_robot(robot_pose: &Isometry3<f64>) -> Isometry3<f64> {
    let axes = Isometry3::from_parts(Translation3::identity(), robot_from_xr());
    axes.inverse() * robot_pose * axes
}

/// The located pose if the runtime both knows it and tracks it now: orientation and position
/// valid *and* tracked. A pose that is only valid (inferred, last known) is not a pose to
/// drive a robot with.
pub fn tracked_pose(location: &xr::SpaceLocation) -> Option<Isometry3<f64>> {
    let needed = xr::SpaceLocationFlags::ORIENTATION_VALID
        | xr::SpaceLocationFlags::POSITION_VALID
        | xr::SpaceLocationFlags::ORIENTATION_TRACKED
        | xr::SpaceLocationFlags::POSITION_TRACKED;
    isometry_from_xr(&location.pose).filter(|_| location.location_flags.contains(needed))
}

/// The located pose if its orientation is valid and tracked (a 3-DoF headset's head: the neck
/// follows orientation only); the position may be estimated.
pub fn oriented_pose(location: &xr::SpaceLocation) -> Option<Isometry3<f64>> {
    let needed = xr::SpaceLocationFlags::ORIENTATION_VALID
        | xr::SpaceLocationFlags::ORIENTATION_TRACKED
        | xr::SpaceLocationFlags::POSITION_VALID;
    isometry_from_xr(&location.pose).filter(|_| location.location_flags.contains(needed))
}

#[cfg(test)]
mod tests {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_6};

    use nalgebra::{Point3, Vector3};

    use super::*;

    fn close(a: &Vector3<f64>, b: &Vector3<f64>) -> bool {
        (a - b).norm() < 1e-9
    }

    #[test]
    fn stage_points_map_to_robot_axes_by_hand() {
        // 0.5 m in front of the stage origin (−Z), 0.1 m to the right (+X), 1.6 m up (+Y):
        // robot 0.5 m forward (+X), 0.1 m to the right (−Y), 1.6 m up (+Z).
        let p_in_xr = Vector3::new(0.1, 1.6, -0.5);
        let p_in_robot = robot_from_xr() * p_in_xr;
        assert!(
            close(&p_in_robot, &Vector3::new(0.5, -0.1, 1.6)),
            "{p_in_robot}"
        );
        // And each axis on its own.
        assert!(close(&(robot_from_xr() * Vector3::x()), &-Vector3::y()));
        assert!(close(&(robot_from_xr() * Vector3::y()), &Vector3::z()));
        assert!(close(&(robot_from_xr() * Vector3::z()), &-Vector3::x()));
    }

    #[test]
    fn looking_forward_in_xr_is_the_identity_in_robot_axes() {
        let head = Isometry3::translation(0.1, 1.6, -0.5);
        let robot = robot_pose_from_xr(&head);
        assert!(robot.rotation.angle() < 1e-12);
        assert!(close(
            &robot.translation.vector,
            &Vector3::new(0.5, -0.1, 1.6)
        ));
        // The thing's forward axis: −Z in XR, +X for the robot.
        let forward_xr = head.rotation * -Vector3::z();
        assert!(close(
            &(robot_from_xr() * forward_xr),
            &(robot.rotation * Vector3::x())
        ));
    }

    #[test]
    fn turning_left_and_looking_up_keep_their_meaning() {
        // Yaw left 90° in XR (about +Y): looking along −X (the operator's left).
        let yaw = Isometry3::rotation(Vector3::y() * FRAC_PI_2);
        let robot = robot_pose_from_xr(&yaw);
        // The robot turns about +Z by +90°: looking along +Y (its left).
        let expected = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), FRAC_PI_2);
        assert!(robot.rotation.angle_to(&expected) < 1e-12);
        assert!(close(&(robot.rotation * Vector3::x()), &Vector3::y()));
        // Pitch up 30° in XR (about +X): forward tips towards +Y; the robot's forward tips
        // towards +Z, a rotation about −Y.
        let pitch = Isometry3::rotation(Vector3::x() * FRAC_PI_6);
        let robot = robot_pose_from_xr(&pitch);
        let expected = UnitQuaternion::from_axis_angle(&-Vector3::y_axis(), FRAC_PI_6);
        assert!(robot.rotation.angle_to(&expected) < 1e-12);
    }

    #[test]
    fn conversions_round_trip() {
        let pose = Isometry3::from_parts(
            Translation3::new(0.3, 1.2, -0.4),
            UnitQuaternion::from_euler_angles(0.2, -0.7, 1.1),
        );
        let back = xr_pose_from_robot(&robot_pose_from_xr(&pose));
        assert!((back.to_homogeneous() - pose.to_homogeneous()).norm() < 1e-12);
        let through_xr = isometry_from_xr(&xr_from_isometry(&pose)).unwrap();
        assert!((through_xr.translation.vector - pose.translation.vector).norm() < 1e-6);
        assert!(through_xr.rotation.angle_to(&pose.rotation) < 1e-6);
        let p = Point3::new(1.0, 2.0, 3.0);
        assert!((through_xr * p - pose * p).norm() < 1e-5);
    }

    #[test]
    fn validity_comes_from_the_location_flags() {
        let pose = xr_from_isometry(&Isometry3::translation(0.0, 1.0, 0.0));
        let with = |flags| xr::SpaceLocation {
            location_flags: flags,
            pose,
        };
        let valid =
            xr::SpaceLocationFlags::ORIENTATION_VALID | xr::SpaceLocationFlags::POSITION_VALID;
        let tracked =
            xr::SpaceLocationFlags::ORIENTATION_TRACKED | xr::SpaceLocationFlags::POSITION_TRACKED;
        assert!(tracked_pose(&with(valid | tracked)).is_some());
        // Valid but not tracked (last known, inferred): not a pose to drive with.
        assert!(tracked_pose(&with(valid)).is_none());
        assert!(tracked_pose(&with(xr::SpaceLocationFlags::EMPTY)).is_none());
        // A 3-DoF head: orientation tracked, position only valid.
        let three_dof = valid | xr::SpaceLocationFlags::ORIENTATION_TRACKED;
        assert!(tracked_pose(&with(three_dof)).is_none());
        assert!(oriented_pose(&with(three_dof)).is_some());
        // A zero quaternion is refused whatever the flags say.
        let mut zero = with(valid | tracked);
        zero.pose.orientation = xr::Quaternionf::default();
        assert!(tracked_pose(&zero).is_none());
    }
}
