//! Plain data passed between stages, with timestamps. No behaviour beyond small checks.

use nalgebra::Isometry3;

/// One hand controller (or tracked hand) as the operator source saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandInput {
    /// `stage_from_grip`: the grip pose in the XR stage; `None` when not tracked.
    pub grip: Option<Isometry3<f64>>,
    /// Trigger, 0 (released) to 1 (pressed): closes the gripper.
    pub trigger: f64,
    /// Squeeze (grip button), 0 to 1: the clutch; the robot follows only while it is held.
    pub squeeze: f64,
}

impl HandInput {
    /// Not tracked, nothing pressed.
    pub const IDLE: HandInput = HandInput {
        grip: None,
        trigger: 0.0,
        squeeze: 0.0,
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
