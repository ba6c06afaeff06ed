//! The robot as the control loop sees it: joint position commands in, [`RobotState`] out. Backends
//! (the rapier simulation, a network robot) implement [`Robot`].

use crate::kinematics::Pose;

/// What a robot reports, in the model's `q` order (its independent joints).
#[derive(Debug, Clone, PartialEq)]
pub struct RobotState {
    /// Monotonic time of the reading (ns).
    pub time_ns: u64,
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
    /// Joint efforts (N·m or N); 0 where unknown (the simulation does not report them yet).
    pub efforts: Vec<f64>,
    /// Contact force on each link (model link order, N): the magnitude of the sum of the normal
    /// forces the link feels from everything it touches (what a fingertip sensor reads).
    pub contact_forces: Vec<f64>,
    /// `world_from_link` for each link (model order): where the cameras and hands really are.
    pub link_poses: Vec<Pose>,
}

impl RobotState {
    /// A state for `dof` joints and `links` links, all zero.
    pub fn zeros(dof: usize, links: usize) -> RobotState {
        RobotState {
            time_ns: 0,
            positions: vec![0.0; dof],
            velocities: vec![0.0; dof],
            efforts: vec![0.0; dof],
            contact_forces: vec![0.0; links],
            link_poses: vec![Pose::identity(); links],
        }
    }

    /// Copies `other` into `self` without allocating (same sizes; panics otherwise, a setup bug).
    pub fn copy_from(&mut self, other: &RobotState) {
        self.time_ns = other.time_ns;
        self.positions.copy_from_slice(&other.positions);
        self.velocities.copy_from_slice(&other.velocities);
        self.efforts.copy_from_slice(&other.efforts);
        self.contact_forces.copy_from_slice(&other.contact_forces);
        self.link_poses.copy_from_slice(&other.link_poses);
    }
}

/// Why a robot did not take a command or give a state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("robot: expected {expected} joint values, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("robot: {0}")]
    Backend(String),
}

/// A robot backend. Calls come from the control thread, one at a time, at the control rate;
/// implementations must not block for long and should not allocate per call.
pub trait Robot: Send {
    /// Number of joint values in commands and states (the model's `dof`).
    fn dof(&self) -> usize;
    /// Number of links in contact readings (the model's links).
    fn links(&self) -> usize;
    /// Position command for every joint, in the model's `q` order.
    fn command(&mut self, positions: &[f64]) -> Result<(), Error>;
    /// The latest state, written into `out` (sized by [`RobotState::zeros`]).
    fn read_state(&mut self, out: &mut RobotState) -> Result<(), Error>;
}
