//! # teleop-bridge
//!
//! A VR teleoperation bridge for humanoid robots: a trainer in a headset moves, the robot moves
//! with them, and every demonstration is recorded as training data.
//!
//! ```text
//!  operator source ──OperatorFrame──► retarget ──Targets──► ik ──JointTargets──► safety ──► robot
//!  (xr | script | replay)                                                                   │
//!  headset / window / PNG ◄── render (stereo robot-camera view) ◄── RobotState, CameraFrames ┤
//!  recorder (MCAP) ◄── every message above, with its timestamps ◄────────────────────────────┘
//! ```
//!
//! ## Frames
//! Transforms are named `a_from_b` (maps points in b to a); points `p_in_a`.
//! - `stage`: the XR tracking space (+Y up, −Z forward, right-handed).
//! - `head`, `hand`: the operator's head and hands, in `stage`.
//! - `base`: the robot's root link (URDF/ROS: +Z up, +X forward).
//! - `link`: any URDF link; `camera`: a robot camera link.
//! - `world`: the simulator's fixed frame.
//!
//! ## Modules so far
//! - [`model`]: URDF → validated robot description.
//! - [`kinematics`]: FK and Jacobians on compiled, allocation-free chains and trees.
//! - [`ik`]: inverse kinematics, tracking and global.
//! - [`config`]: robot profiles (TOML), checked against the URDF.
//! - [`control`]: the safety filter between the IK and the robot.
//! - [`msg`], [`retarget`]: operator frames; clutch, scaling, workspace box, jitter filter.
//! - [`record`]: demonstrations to MCAP episodes; replay; LeRobot export.
//! - [`xr`]: the OpenXR client (headset → operator frames; the robot's view → headset).
//! - [`cli`]: the `teleop` command line.

#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod control;
pub mod ik;
pub mod kinematics;
pub mod model;
pub mod msg;
pub mod operator;
pub mod record;
pub mod render;
pub mod retarget;
pub mod robot;
pub mod rt;
pub mod sim;
pub mod xr;
