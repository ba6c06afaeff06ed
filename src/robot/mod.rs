//! The robot as the control loop sees it: joint position commands in, [`RobotState`] out.
//! Backends implement [`Robot`]: the rapier simulation ([`crate::sim::Sim`]), stepped in
//! lock-step by a headless session or on a thread of its own by [`Paced`] in real time; and
//! [`Remote`], a robot in another process over Zenoh, whose side of the link is [`host`]: the
//! robot process's own loop, safety filter and watchdog; and [`Ros2Robot`], a ROS 2 robot's own
//! ros2_control controllers.
//!
//! # Implementation
//! A backend takes calls from one thread (the control thread), one at a time, at the control
//! rate. It must not block for long, should not allocate per call, and refuses a command of the
//! wrong length or with a non-finite value (an error, never a panic).
//!
//! ## Limitations
//! - Position commands only (no velocity or torque interfaces yet).

pub mod host;
mod paced;
pub mod remote;
pub mod ros2;

pub use crate::msg::RobotState;

use crate::kinematics::{Pose, Tree};
pub use paced::Paced;
pub use remote::{Connection, Remote};
pub use ros2::Ros2Robot;

/// Why a robot did not take a command or give a state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("robot: expected {expected} joint values, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("robot: {0}")]
    Backend(String),
}

impl From<crate::link::LinkError> for Error {
    fn from(e: crate::link::LinkError) -> Self {
        Error::Backend(e.to_string())
    }
}

/// How a backend on its own clock kept it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopReport {
    pub steps: u64,
    /// Steps that ended after the next one was due (the backend slower than real time).
    pub late_steps: u64,
}

/// A robot backend.
pub trait Robot: Send {
    /// Number of joint values in commands and states (the model's `dof`).
    fn dof(&self) -> usize;
    /// Number of links in contact readings and poses (the model's links).
    fn links(&self) -> usize;
    /// Number of objects whose poses the backend reports (a simulator's props; 0 for a real
    /// robot).
    fn objects(&self) -> usize {
        0
    }
    /// Position command for every joint, in the model's `q` order.
    fn command(&mut self, positions: &[f64]) -> Result<(), Error>;
    /// The latest state, written into `out` (sized by [`RobotState::zeros`] with this robot's
    /// `dof`, `links` and `objects`).
    fn read_state(&mut self, out: &mut RobotState) -> Result<(), Error>;
    /// Whether the backend's time advances only through [`Robot::step`] (a simulator), so a
    /// session may run it as fast as the CPU allows; false for a backend on its own clock.
    fn is_lock_step(&self) -> bool {
        false
    }
    /// Lock-step backends: advance by `dt_s`. Backends on their own clock ignore it.
    fn step(&mut self, _dt_s: f64) -> Result<(), Error> {
        Ok(())
    }
    /// Servos off with damping (true), or back to position control holding where the joints
    /// are (false): the robot's safe mode when its commands stopped for good. A backend without
    /// one says so, and the caller keeps holding instead.
    fn set_damped(&mut self, _damped: bool) -> Result<(), Error> {
        Err(Error::Backend("this backend has no damped mode".into()))
    }
    /// A backend with a loop of its own: how well it kept its period so far.
    fn loop_report(&self) -> Option<LoopReport> {
        None
    }
}

/// Link poses from measured joints, for a robot that sends joint states only (what ROS's
/// `robot_state_publisher` computes): forward kinematics of the whole tree, placed at
/// `world_from_base`. No allocation per call.
pub(crate) struct LinkPoses {
    tree: Tree,
    world_from_base: Pose,
    root_from_link: Vec<Pose>,
}

impl LinkPoses {
    pub(crate) fn new(model: &crate::model::Model, world_from_base: Pose) -> Self {
        let tree = Tree::new(model);
        let links = tree.link_count();
        LinkPoses {
            tree,
            world_from_base,
            root_from_link: vec![Pose::identity(); links],
        }
    }

    pub(crate) fn links(&self) -> usize {
        self.root_from_link.len()
    }

    /// Writes `out.link_poses` from `out.positions`.
    pub(crate) fn fill(&mut self, out: &mut RobotState) {
        self.tree.forward(&out.positions, &mut self.root_from_link);
        for (pose, root_from_link) in out.link_poses.iter_mut().zip(&self.root_from_link) {
            *pose = self.world_from_base * root_from_link;
        }
    }
}

/// A state sized for `robot`.
pub fn state_for(robot: &dyn Robot) -> RobotState {
    RobotState::zeros(robot.dof(), robot.links(), robot.objects())
}
