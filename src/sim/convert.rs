//! The one place where nalgebra f64 (model, kinematics) meets rapier's glam f32.

use nalgebra::{UnitQuaternion, Vector3};
use rapier3d::math::{Pose, Rotation, Vector};

use crate::kinematics::Pose as ModelPose;

pub fn vector(v: &Vector3<f64>) -> Vector {
    Vector::new(v.x as f32, v.y as f32, v.z as f32)
}

pub fn vector_from_rapier(v: Vector) -> Vector3<f64> {
    Vector3::new(v.x as f64, v.y as f64, v.z as f64)
}

pub fn pose(p: &ModelPose) -> Pose {
    let q = UnitQuaternion::from_rotation_matrix(&p.rotation);
    Pose::from_parts(
        vector(&p.translation.vector),
        Rotation::from_xyzw(q.i as f32, q.j as f32, q.k as f32, q.w as f32).normalize(),
    )
}

pub fn rotation_from_rapier(r: Rotation) -> nalgebra::Rotation3<f64> {
    UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
        r.w as f64, r.x as f64, r.y as f64, r.z as f64,
    ))
    .to_rotation_matrix()
}

pub fn pose_from_rapier(p: &Pose) -> ModelPose {
    ModelPose::from_parts(
        vector_from_rapier(p.translation).into(),
        rotation_from_rapier(p.rotation),
    )
}

/// A rotation taking +X to `axis` (unit): rapier's revolute and prismatic joints move about and
/// along their frames' X axis.
pub fn x_to(axis: &Vector3<f64>) -> nalgebra::Rotation3<f64> {
    nalgebra::Rotation3::rotation_between(&Vector3::x(), axis).unwrap_or_else(|| {
        // axis = −X: half a turn about Z.
        nalgebra::Rotation3::from_axis_angle(&Vector3::z_axis(), std::f64::consts::PI)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_round_trip_and_x_to_maps_x_onto_the_axis() {
        let p = ModelPose::from_parts(
            Vector3::new(0.1, -0.2, 0.3).into(),
            nalgebra::Rotation3::from_euler_angles(0.3, -0.7, 1.1),
        );
        let back = pose_from_rapier(&pose(&p));
        assert!((back.translation.vector - p.translation.vector).norm() < 1e-6);
        assert!(back.rotation.angle_to(&p.rotation) < 1e-6);
        for axis in [Vector3::x(), -Vector3::x(), Vector3::y(), -Vector3::z()] {
            assert!((x_to(&axis) * Vector3::x() - axis).norm() < 1e-12, "{axis}");
        }
        // The rotation pose() builds moves points as the model's does.
        let v = Vector3::new(0.4, 0.5, -0.6);
        let moved = pose(&p).transform_point(vector(&v));
        assert!((vector_from_rapier(moved) - p.transform_point(&v.into()).coords).norm() < 1e-6);
    }
}
