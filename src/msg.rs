//! Plain data passed between stages, with timestamps. No behaviour beyond small checks.

use nalgebra::{Isometry3, IsometryMatrix3, Matrix3, Rotation3, Translation3, UnitQuaternion};

/// The rotation from OpenXR's stage axes (+Y up, −Z forward, +X right) to a URDF's (+Z up, +X
/// forward, +Y left): robot x = −stage z, robot y = −stage x, robot z = stage y.
pub fn robot_from_stage_axes() -> Isometry3<f64> {
    let m = Matrix3::new(0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0);
    let rotation = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(m));
    Isometry3::from_parts(Translation3::identity(), rotation)
}

/// Hand-tracking joints per hand (`XR_EXT_hand_tracking`'s default set).
pub const HAND_JOINTS: usize = 26;

/// `stage_from_joint` for each hand-tracking joint in `XR_HAND_JOINT_*` order (palm, wrist,
/// thumb metacarpal … little tip); `None` where the joint is not tracked.
pub type HandJoints = [Option<Isometry3<f64>>; HAND_JOINTS];

/// One hand controller (or tracked hand) as the operator source saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandInput {
    /// `stage_from_grip`: the grip pose in the XR stage; `None` when not tracked.
    pub grip: Option<Isometry3<f64>>,
    /// Trigger, 0 (released) to 1 (pressed): closes the gripper.
    pub trigger: f64,
    /// Squeeze (grip button), 0 to 1: the clutch; the robot follows only while it is held.
    pub squeeze: f64,
    /// The other buttons (episode lifecycle, markers).
    pub buttons: Buttons,
    /// Tracked hand joints, when the source tracks hands (recorded for retargeting later; the
    /// pipeline drives from `grip`).
    pub joints: Option<HandJoints>,
}

impl HandInput {
    /// Not tracked, nothing pressed.
    pub const IDLE: HandInput = HandInput {
        grip: None,
        trigger: 0.0,
        squeeze: 0.0,
        buttons: Buttons::NONE,
        joints: None,
    };

    /// The grip pose, if tracked and finite.
    pub fn finite_grip(&self) -> Option<&Isometry3<f64>> {
        self.grip.as_ref().filter(|g| {
            g.translation.vector.iter().all(|v| v.is_finite())
                && g.rotation.coords.iter().all(|v| v.is_finite())
        })
    }
}

/// What the operator did at one instant: head and both hands, in the XR stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatorFrame {
    /// Monotonic time of the sample (ns).
    pub time_ns: u64,
    /// `stage_from_head`; `None` when the headset lost tracking.
    pub head: Option<Isometry3<f64>>,
    pub left: HandInput,
    pub right: HandInput,
}

/// A controller's buttons besides trigger and squeeze (true while pressed). On Quest-style
/// controllers `primary` is A/X, `secondary` B/Y, `menu` the menu button (left controller).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Buttons {
    pub primary: bool,
    pub secondary: bool,
    pub menu: bool,
}

impl Buttons {
    pub const NONE: Buttons = Buttons {
        primary: false,
        secondary: false,
        menu: false,
    };
}

/// What a control tick did with the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// At least one clutch engaged: the robot follows the operator.
    Tracking,
    /// The source gave joint positions (a recording's commands): the robot follows them
    /// through the safety filter only.
    Joints,
    /// No clutch engaged (deadman): braking to a stop, holding.
    NoClutch,
    /// No operator input, or the newest is older than the stale limit: braking, holding.
    Stale,
}

impl TickOutcome {
    /// The name recorded in episodes.
    pub fn name(self) -> &'static str {
        match self {
            TickOutcome::Tracking => "tracking",
            TickOutcome::Joints => "joints",
            TickOutcome::NoClutch => "no_clutch",
            TickOutcome::Stale => "stale",
        }
    }
}

/// What a robot reports, in the model's `q` order (its independent joints).
#[derive(Debug, Clone, PartialEq)]
pub struct RobotState {
    /// Monotonic time of the reading (ns).
    pub time_ns: u64,
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
    /// Joint efforts (N·m or N): what each joint's motor supplies (the simulation's from the
    /// bodies' motion and contacts); 0 where unknown.
    pub efforts: Vec<f64>,
    /// Contact force on each link (model link order, N): the magnitude of the sum of the normal
    /// forces the link feels from everything it touches (what a fingertip sensor reads).
    pub contact_forces: Vec<f64>,
    /// `world_from_link` for each link (model order): where the cameras and hands really are.
    pub link_poses: Vec<IsometryMatrix3<f64>>,
    /// `world_from_object` for the objects around the robot that the backend knows (a
    /// simulator's props, in the order they were added); empty for a real robot.
    pub object_poses: Vec<IsometryMatrix3<f64>>,
}

impl RobotState {
    /// A state for `dof` joints, `links` links and `objects` objects, all zero.
    pub fn zeros(dof: usize, links: usize, objects: usize) -> RobotState {
        let identity = IsometryMatrix3::identity();
        RobotState {
            time_ns: 0,
            positions: vec![0.0; dof],
            velocities: vec![0.0; dof],
            efforts: vec![0.0; dof],
            contact_forces: vec![0.0; links],
            link_poses: vec![identity; links],
            object_poses: vec![identity; objects],
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
        self.object_poses.copy_from_slice(&other.object_poses);
    }
}

/// One rendered side-by-side stereo frame from the robot's cameras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraFrame {
    /// Monotonic time the frame shows (ns).
    pub time_ns: u64,
    /// Both eyes: `width` = 2 × one eye's width.
    pub width: u32,
    pub height: u32,
    /// RGBA8, row-major, `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

/// What the control loop knew after one tick, for the recorder: sized once by
/// [`TickSample::new`], then overwritten each tick without allocating.
#[derive(Debug, Clone, PartialEq)]
pub struct TickSample {
    /// Monotonic time of the tick (ns) and the wall clock (ns since the Unix epoch).
    pub time_ns: u64,
    pub wall_ns: u64,
    /// The newest operator frame the tick saw (stale or not).
    pub operator: Option<OperatorFrame>,
    /// What the tick did with the robot.
    pub outcome: TickOutcome,
    /// Per end-effector (profile order): clutch engaged, IK target `base_from_tool`, and
    /// `base_from_tool` at the command (forward kinematics of the joint command).
    pub engaged: Vec<bool>,
    pub targets: Vec<IsometryMatrix3<f64>>,
    pub tools: Vec<IsometryMatrix3<f64>>,
    /// The IK's residuals this tick; `ik_ran` false when it did not run (held).
    pub ik_ran: bool,
    pub ik_ok: bool,
    pub ik_position_error_m: f64,
    pub ik_rotation_error_rad: f64,
    pub ik_iterations: u32,
    /// Joint command after the safety filter (model `q` order).
    pub command_positions: Vec<f64>,
    pub command_velocities: Vec<f64>,
    /// Measured joint state and the robot's time for it.
    pub state_time_ns: u64,
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
    pub efforts: Vec<f64>,
    /// Contact force per link (model link order, N).
    pub contact_forces: Vec<f64>,
    /// `world_from_link` for the links named by `pose_links` (model link indices).
    pub pose_links: Vec<usize>,
    pub link_poses: Vec<IsometryMatrix3<f64>>,
    /// Stage durations (ns): retarget, IK, safety filter, robot I/O, whole tick.
    pub retarget_ns: u64,
    pub ik_ns: u64,
    pub safety_ns: u64,
    pub robot_ns: u64,
    pub tick_ns: u64,
}

impl TickSample {
    /// A zeroed sample for `dof` joints, `end_effectors` tools, `links` links, and the poses of
    /// the links in `pose_links`.
    pub fn new(dof: usize, end_effectors: usize, links: usize, pose_links: Vec<usize>) -> Self {
        let identity = IsometryMatrix3::identity();
        TickSample {
            time_ns: 0,
            wall_ns: 0,
            operator: None,
            outcome: TickOutcome::Stale,
            engaged: vec![false; end_effectors],
            targets: vec![identity; end_effectors],
            tools: vec![identity; end_effectors],
            ik_ran: false,
            ik_ok: false,
            ik_position_error_m: 0.0,
            ik_rotation_error_rad: 0.0,
            ik_iterations: 0,
            command_positions: vec![0.0; dof],
            command_velocities: vec![0.0; dof],
            state_time_ns: 0,
            positions: vec![0.0; dof],
            velocities: vec![0.0; dof],
            efforts: vec![0.0; dof],
            contact_forces: vec![0.0; links],
            link_poses: vec![identity; pose_links.len()],
            pose_links,
            retarget_ns: 0,
            ik_ns: 0,
            safety_ns: 0,
            robot_ns: 0,
            tick_ns: 0,
        }
    }

    /// Copies `other` into `self` without allocating (same sizes; panics otherwise, a setup bug).
    pub fn copy_from(&mut self, other: &TickSample) {
        self.time_ns = other.time_ns;
        self.wall_ns = other.wall_ns;
        self.operator = other.operator;
        self.outcome = other.outcome;
        self.engaged.copy_from_slice(&other.engaged);
        self.targets.copy_from_slice(&other.targets);
        self.tools.copy_from_slice(&other.tools);
        self.ik_ran = other.ik_ran;
        self.ik_ok = other.ik_ok;
        self.ik_position_error_m = other.ik_position_error_m;
        self.ik_rotation_error_rad = other.ik_rotation_error_rad;
        self.ik_iterations = other.ik_iterations;
        self.command_positions
            .copy_from_slice(&other.command_positions);
        self.command_velocities
            .copy_from_slice(&other.command_velocities);
        self.state_time_ns = other.state_time_ns;
        self.positions.copy_from_slice(&other.positions);
        self.velocities.copy_from_slice(&other.velocities);
        self.efforts.copy_from_slice(&other.efforts);
        self.contact_forces.copy_from_slice(&other.contact_forces);
        self.pose_links.copy_from_slice(&other.pose_links);
        self.link_poses.copy_from_slice(&other.link_poses);
        self.retarget_ns = other.retarget_ns;
        self.ik_ns = other.ik_ns;
        self.safety_ns = other.safety_ns;
        self.robot_ns = other.robot_ns;
        self.tick_ns = other.tick_ns;
    }
}

/// Where the control loop hands each tick's [`TickSample`] (the recorder). Called on the control
/// thread: implementations must neither block nor allocate (copy the sample into a buffer they
/// own, or count it dropped).
pub trait TickSink: Send {
    /// An empty sample sized for this sink; called once before the first tick.
    fn new_sample(&self) -> TickSample;
    /// One tick's sample.
    fn tick(&mut self, sample: &TickSample);
}

/// Where the render side hands camera frames (the recorder). Called on the thread that renders:
/// implementations must not block a real-time view (queue or count the frame dropped).
pub trait ImageSink: Send {
    /// Whether a frame at monotonic `time_ns` would be kept (lets the renderer skip reading
    /// back a frame nobody records).
    fn wants(&self, time_ns: u64) -> bool;
    /// Offers a frame; true if it was kept.
    fn offer(&mut self, frame: CameraFrame) -> bool;
}
