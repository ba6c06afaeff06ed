//! Robot profiles: what a URDF does not say about teleoperating a robot — which links the hands
//! drive, where the cameras are, which joints are the gripper and the neck, how a robot hand's
//! fingers follow the trainer's ([`HandMapping`], `[hands.left]` / `[hands.right]`), the rest
//! posture, and limits the URDF lacks (acceleration) or gets wrong (velocity).
//!
//! One TOML file per robot (see `profiles/teleop_humanoid.toml` for every key, commented).
//! Unknown keys and bad values are errors that name the key, e.g.
//! `profiles/x.toml: joint.left_elbow_joint.velocity: must be a number from 0.001 to 1000, got -1`.
//!
//! Every number has a range ([`ranges`]), so no value the checks accept can make the control
//! loop spin for ages or its arithmetic overflow:
//!
//! | key | range |
//! |---|---|
//! | `control_rate_hz` | 10 – 10,000 Hz |
//! | `default_acceleration`, `joint.NAME.acceleration` | 0.01 – 10,000 rad/s² (m/s²) |
//! | `joint.NAME.velocity` | 0.001 – 1,000 rad/s (m/s), and at most the URDF's |
//! | `joint.NAME.weight` | 1e-6 – 1e6 |
//! | `end_effector[i].position_weight`, `rotation_weight` | 0 – 1e6 |
//! | `end_effector[i].motion_scale` | 0.01 – 100 |
//! | `end_effector[i].workspace_min`, `workspace_max` | exactly 3 numbers, each within ±100 m |
//! | `camera.fov_deg` | 1 – 179° (exclusive) |
//! | `camera.width`, `camera.height` | 16 – 8192 px |
//! | `gripper[i].open`, `closed` | within the joint's limits; one gripper per hand and per joint |
//! | `rest.NAME` | within the joint's limits (continuous joints: ±1000 rad) |
//! | `hands.SIDE.scale` | `{ fixed = S }` with S from 0.1 to 10, or `"calibrate"` |
//! | `hands.SIDE.closed.NAME` | within the joint's limits |

pub mod catalogue;
mod hand;
mod profile;
pub mod toml_file;

pub use catalogue::Catalogue;
pub use hand::{Fingertip, HandMapping, Hands, LinkPoint, PinchPair, Scale, XrJoint};

pub use profile::{
    EndEffector, Error, EyeMount, Gripper, Hand, JointSettings, Neck, Profile, Ros2Control,
    Ros2Interface, StereoCamera, ranges,
};
