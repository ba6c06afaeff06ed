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
//! ## Modules, lowest layer first (ARCHITECTURE.md has the import rules)
//! - [`model`], [`msg`], [`rt`], [`config`]: the URDF model; plain data between stages; thread
//!   priorities, clocks, histograms; robot profiles checked against the URDF.
//! - [`kinematics`]: FK and Jacobians on compiled, allocation-free chains and trees.
//! - [`ik`], [`retarget`], [`hands`]: inverse kinematics; clutch, scaling, workspace box, jitter
//!   filter; finger retargeting (tracked hand joints → robot hand joints).
//! - [`link`]: the wire to a robot in another process: rmw_zenoh key expressions, liveliness
//!   tokens and attachments, ROS 2 messages in CDR.
//! - [`control`]: one tick (retarget → IK → grippers → safety) and the safety filter.
//! - [`operator`], [`robot`], [`sim`]: operator sources; the robot trait; the rapier robot.
//! - [`render`], [`record`]: the stereo view; episodes to MCAP, readers, LeRobot export.
//! - [`xr`]: the OpenXR client (headset → operator frames; the robot's view → headset).
//! - [`app`]: the one wiring place: sessions and their one tick loop, the demo, replay.
//! - [`cli`]: the `teleop` command line.

#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod control;
pub mod hands;
pub mod ik;
pub mod kinematics;
pub mod link;
pub mod model;
pub mod msg;
pub mod operator;
pub mod record;
pub mod render;
pub mod retarget;
pub mod robot;
pub mod rt;
pub mod safety;
pub mod sim;
pub mod xr;
