//! The one boundary between the robot's math (nalgebra `f64`, URDF axes) and the GPU's (`f32`
//! column-major matrices, wgpu clip space).
//!
//! Camera frames: a robot camera link uses the body convention (+X looks forward, +Y left, +Z
//! up), as the bundled humanoid's `*_camera_link`s do. The shader's view space is the graphics
//! convention (+X right, +Y up, −Z forward). wgpu clip space has depth in 0..1.

use nalgebra::{Matrix4, Point3, Vector3};

use crate::kinematics::Pose;

/// A column-major 4×4 matrix as WGSL's `mat4x4<f32>` reads it.
pub type GpuMatrix = [[f32; 4]; 4];

/// `view_from_camera`: from a body-convention camera link to graphics view space.
pub fn view_from_camera_link() -> Matrix4<f64> {
    // view x = −camera y (right), view y = camera z (up), view z = −camera x (backward).
    #[rustfmt::skip]
    let m = Matrix4::new(
        0.0, -1.0, 0.0, 0.0,
        0.0, 0.0, 1.0, 0.0,
        -1.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 1.0,
    );
    m
}

/// `clip_from_view`: a right-handed perspective projection into wgpu clip space (depth 0 at
/// `near`, 1 at `far`). `fov_y_rad` is the vertical field of view; `aspect` = width / height.
pub fn clip_from_view(fov_y_rad: f64, aspect: f64, near: f64, far: f64) -> Matrix4<f64> {
    let f = 1.0 / (fov_y_rad / 2.0).tan();
    let a = far / (near - far);
    #[rustfmt::skip]
    let m = Matrix4::new(
        f / aspect, 0.0, 0.0, 0.0,
        0.0, f, 0.0, 0.0,
        0.0, 0.0, a, a * near,
        0.0, 0.0, -1.0, 0.0,
    );
    m
}

/// `view_from_world` for a camera at `eye` looking at `target` with world +Z up (the overview
/// camera).
pub fn view_looking_at(eye: Point3<f64>, target: Point3<f64>) -> Matrix4<f64> {
    Matrix4::look_at_rh(&eye, &target, &Vector3::z())
}

/// An `f64` matrix as the GPU reads it.
pub fn gpu_matrix(m: &Matrix4<f64>) -> GpuMatrix {
    m.cast::<f32>().into()
}

/// A rigid pose as a GPU matrix.
pub fn gpu_pose(pose: &Pose) -> GpuMatrix {
    gpu_matrix(&pose.to_homogeneous())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Translation3, Vector4};

    #[test]
    fn forward_of_the_camera_link_projects_to_the_image_centre_and_left_to_the_left() {
        let clip_from_camera =
            clip_from_view(1.0, 16.0 / 9.0, 0.05, 50.0) * view_from_camera_link();
        let project = |p: Vector4<f64>| {
            let c = clip_from_camera * p;
            (c.x / c.w, c.y / c.w, c.z / c.w)
        };
        // 2 m straight ahead: the centre of the image, depth inside 0..1.
        let (x, y, z) = project(Vector4::new(2.0, 0.0, 0.0, 1.0));
        assert!(x.abs() < 1e-12 && y.abs() < 1e-12 && z > 0.0 && z < 1.0);
        // Left (+Y) appears on the left (negative NDC x), up (+Z) at the top (positive NDC y).
        let (x, _, _) = project(Vector4::new(2.0, 0.5, 0.0, 1.0));
        assert!(x < 0.0);
        let (_, y, _) = project(Vector4::new(2.0, 0.0, 0.5, 1.0));
        assert!(y > 0.0);
        // Near plane → depth 0, far plane → depth 1.
        assert!(project(Vector4::new(0.05, 0.0, 0.0, 1.0)).2.abs() < 1e-9);
        assert!((project(Vector4::new(50.0, 0.0, 0.0, 1.0)).2 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn gpu_matrix_is_column_major() {
        let pose = Pose::from_parts(Translation3::new(1.0, 2.0, 3.0), Default::default());
        let m = gpu_pose(&pose);
        assert_eq!(m[3], [1.0, 2.0, 3.0, 1.0]);
    }
}
