//! Cameras: the robot's two eyes (camera links, or a virtual pair on one link) and an overview.

use nalgebra::{Matrix4, Point3, Rotation3, Translation3, Vector3};

use super::convert;
use crate::config::{EyeMount, StereoCamera};
use crate::kinematics::Pose;
use crate::model::Model;

/// Near and far clip distances (m): a hand 2 cm from the lens still shows.
const NEAR_M: f64 = 0.02;
const FAR_M: f64 = 40.0;

/// One eye: where it is and what it sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeCamera {
    /// `world_from_camera` of a body-convention camera link (+X forward, +Y left, +Z up).
    pub world_from_camera: Pose,
    pub fov_y_rad: f64,
    /// Width / height.
    pub aspect: f64,
}

impl EyeCamera {
    /// `clip_from_world` for the shader.
    pub fn clip_from_world(&self) -> Matrix4<f64> {
        convert::clip_from_view(self.fov_y_rad, self.aspect, NEAR_M, FAR_M)
            * convert::view_from_camera_link()
            * self.world_from_camera.inverse().to_homogeneous()
    }

    /// Where a world point lands in an image `width` × `height` (pixels, origin top-left, x right,
    /// y down); `None` behind the camera.
    pub fn project(&self, p_in_world: &Point3<f64>, width: u32, height: u32) -> Option<[f64; 2]> {
        let clip = self.clip_from_world() * p_in_world.to_homogeneous();
        if clip.w <= 0.0 {
            return None;
        }
        let (x, y) = (clip.x / clip.w, clip.y / clip.w);
        Some([
            (x + 1.0) / 2.0 * f64::from(width),
            (1.0 - y) / 2.0 * f64::from(height),
        ])
    }
}

/// The stereo pair: each eye on a link (a camera link, or a virtual pair's one link) at a pose
/// in that link's frame, a field of view and a per-eye image size.
#[derive(Debug, Clone, PartialEq)]
pub struct StereoRig {
    /// Link ids of the left and right eyes' links.
    pub links: [usize; 2],
    /// Each eye in its link's frame.
    pub link_from_eye: [Pose; 2],
    pub fov_y_rad: f64,
    pub width: u32,
    pub height: u32,
}

impl StereoRig {
    /// From a profile's `[camera]`; `None` if a link is missing from the model (profiles are
    /// checked against the model when loaded, so this is a setup bug).
    pub fn new(model: &Model, camera: &StereoCamera) -> Option<StereoRig> {
        let [left, right] = camera.eye_mounts();
        let eye = |m: &EyeMount| {
            Pose::from_parts(
                Translation3::from(Vector3::from(m.position_m)),
                Rotation3::from_axis_angle(&Vector3::y_axis(), m.pitch_rad),
            )
        };
        Some(StereoRig {
            links: [model.link_id(left.link)?, model.link_id(right.link)?],
            link_from_eye: [eye(&left), eye(&right)],
            fov_y_rad: camera.fov_deg.to_radians(),
            width: camera.width,
            height: camera.height,
        })
    }

    /// The same rig at another image size (tests and previews render small).
    pub fn with_size(mut self, width: u32, height: u32) -> StereoRig {
        self.width = width;
        self.height = height;
        self
    }

    /// Both eyes where the robot's links are now.
    pub fn eyes(&self, link_poses: &[Pose]) -> [EyeCamera; 2] {
        [0, 1].map(|i| EyeCamera {
            world_from_camera: link_poses[self.links[i]] * self.link_from_eye[i],
            fov_y_rad: self.fov_y_rad,
            aspect: f64::from(self.width) / f64::from(self.height),
        })
    }

    /// Distance between the two eyes (m) in this state.
    pub fn baseline_m(&self, link_poses: &[Pose]) -> f64 {
        let [left, right] = self.eyes(link_poses);
        (left.world_from_camera.translation.vector - right.world_from_camera.translation.vector)
            .norm()
    }
}

/// A third-person view for the window: behind and above the robot's right shoulder, looking at
/// the work area in front of it.
pub fn overview(world_from_base: &Pose, aspect: f64) -> (Matrix4<f64>, [f64; 3]) {
    let eye = world_from_base * Point3::new(-1.1, -0.9, 1.1);
    let target = world_from_base * Point3::new(0.5, 0.0, 0.1);
    let clip_from_world = convert::clip_from_view(55f64.to_radians(), aspect, NEAR_M, FAR_M)
        * convert::view_looking_at(eye, target);
    (clip_from_world, [eye.x, eye.y, eye.z])
}
