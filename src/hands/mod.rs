//! Finger retargeting: the trainer's tracked hand (OpenXR's 26 joints) → a robot hand's joint
//! targets, for any URDF hand described by a small [`HandMapping`] (a profile's `[hands.SIDE]`,
//! or a file of its own; the type is `config`'s so profiles can check it). On a whole robot the
//! mapping's `root` (the palm) is the hand's frame: only joints below it move.
//!
//! Each fingertip's vector from an origin frame (robot) follows the trainer's wrist → tip vector
//! (scaled, turned into the hand root's axes). The fit is a Huber loss on those vectors, plus a
//! pinch term that closes the robot's thumb on a finger while the trainer pinches (hysteresis,
//! faded in and out), plus ‖q − q_previous‖² in both value and gradient. It is minimised by
//! damped Gauss–Newton with analytic Jacobians inside a box: the URDF limits (a mimic joint's
//! limits bound its leader) intersected with the velocity limit × dt around the last output.
//! Fingers that share no joints are solved as separate small problems; a pinch pair joins its
//! two fingers' problems only in frames where it pinches (activation > 0), or where its tips,
//! solved apart, come under the floor.
//! A solve allocates nothing, is deterministic, and holds the last posture when a joint it needs
//! is untracked or not finite.
//!
//! ## Frames
//! `v_root = root_from_wrist · R_wristᵀ · (p − p_wrist)`, where `R_wrist` is the OpenXR wrist
//! joint's orientation (+Z towards the forearm, +Y dorsal, X = Y × Z for both hands), so left
//! and right hands go through the same code; a left robot hand has its own mapping.
//!
//! ## Limitations
//! - Fitted vectors only: per-phalanx directions from the OpenXR joint orientations are not used.
//! - The pinch term is between fingertip frames (no finger-pad radius): "closed" is a gap of a
//!   few millimetres between tip frames.
//! - The first solve after [`Retargeter::reset`] is not rate limited (the robot's posture is not
//!   known); use [`Retargeter::reset_to`] when it is.

mod error;
mod line;
mod mapping;
mod options;
mod solver;

pub use error::Error;
pub use line::{HandPositions, parse_line, process_line};
pub use mapping::{Fingertip, HandMapping, LinkPoint, PinchPair, Scale, XrJoint};
pub use options::Options;
pub use solver::{Retargeter, Solution, Status, XR_JOINTS};
