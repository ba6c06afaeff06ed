//! Robot profiles: what a URDF does not say about teleoperating a robot — which links the hands
//! drive, where the cameras are, which joints are the gripper and the neck, the rest posture,
//! and limits the URDF lacks (acceleration) or gets wrong (velocity).
//!
//! One TOML file per robot (see `profiles/teleop_humanoid.toml` for every key, commented).
//! Unknown keys and bad values are errors that name the key, e.g.
//! `profiles/x.toml: joint.left_elbow_joint.velocity: must be a positive number, got -1`.

mod profile;
pub mod toml_file;

pub use profile::{EndEffector, Error, Gripper, Hand, JointSettings, Neck, Profile, StereoCamera};
