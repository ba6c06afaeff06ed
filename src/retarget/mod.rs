//! Operator space → robot space for one hand: calibration, clutch, motion scaling, workspace
//! box, jitter filter, trigger → gripper.
//!
//! The clutch makes teleoperation relative: while the squeeze is held the tool moves as the hand
//! moves *since the squeeze began* (scaled, rotated into the robot's base frame), starting from
//! where the tool was at that moment. Releasing it holds the robot; squeezing again re-anchors,
//! so the hand can be moved back to a comfortable place and nothing jumps.

mod one_euro;

pub use one_euro::{OneEuroPose, OneEuroSettings};

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};

use crate::kinematics::Pose;
use crate::msg::HandInput;

/// How one hand maps onto its end-effector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandSettings {
    /// `base_from_stage`: the rotation part turns the operator's motion into the robot's base
    /// frame (XR stage: +Y up, −Z forward; robot: +Z up, +X forward); translation is unused, the
    /// clutch anchors positions.
    pub base_from_stage: Isometry3<f64>,
    /// Robot motion per unit of hand motion (1: one-to-one).
    pub motion_scale: f64,
    /// Where the tool may be sent, in the base frame (m): an axis-aligned box.
    pub workspace_min: Vector3<f64>,
    pub workspace_max: Vector3<f64>,
    pub filter: OneEuroSettings,
    /// Squeeze at or above this engages the clutch, at or below `release_below` releases it.
    pub engage_above: f64,
    pub release_below: f64,
}

impl Default for HandSettings {
    fn default() -> Self {
        Self {
            base_from_stage: crate::msg::robot_from_stage_axes(),
            motion_scale: 1.0,
            workspace_min: Vector3::repeat(f64::NEG_INFINITY),
            workspace_max: Vector3::repeat(f64::INFINITY),
            filter: OneEuroSettings::default(),
            engage_above: 0.6,
            release_below: 0.4,
        }
    }
}

/// What the control loop should do with this hand's end-effector this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HandCommand {
    /// Keep the tool where it is (clutch released, hand not tracked, or not finite).
    Hold,
    /// Send the tool here: `base_from_tool`.
    Track(Pose),
}

/// One hand's retargeting state.
#[derive(Debug, Clone)]
pub struct HandRetargeter {
    settings: HandSettings,
    /// Set while the clutch is engaged: `stage_from_grip` and `base_from_tool` when it engaged.
    anchor: Option<(Isometry3<f64>, Isometry3<f64>)>,
    filter: OneEuroPose,
}

impl HandRetargeter {
    pub fn new(settings: HandSettings) -> HandRetargeter {
        HandRetargeter {
            filter: OneEuroPose::new(settings.filter),
            settings,
            anchor: None,
        }
    }

    pub fn engaged(&self) -> bool {
        self.anchor.is_some()
    }

    /// One sample `dt` seconds after the last. `base_from_tool` is where the tool is now (the
    /// anchor when the clutch engages).
    pub fn update(&mut self, hand: &HandInput, dt: f64, base_from_tool: &Pose) -> HandCommand {
        let Some(stage_from_grip) = hand.finite_grip() else {
            // Lost or corrupt tracking: hold, and re-anchor when it comes back.
            self.anchor = None;
            return HandCommand::Hold;
        };
        let squeeze = if hand.squeeze.is_finite() {
            hand.squeeze
        } else {
            0.0
        };
        match self.anchor {
            None if squeeze >= self.settings.engage_above => {
                let tool = Isometry3::from_parts(
                    base_from_tool.translation,
                    UnitQuaternion::from_rotation_matrix(&base_from_tool.rotation),
                );
                self.anchor = Some((*stage_from_grip, tool));
                self.filter.reset();
            }
            Some(_) if squeeze <= self.settings.release_below => self.anchor = None,
            _ => {}
        }
        let Some((anchor_grip, anchor_tool)) = self.anchor else {
            return HandCommand::Hold;
        };
        let axes = self.settings.base_from_stage.rotation;
        let moved_in_stage = stage_from_grip.translation.vector - anchor_grip.translation.vector;
        let position = (anchor_tool.translation.vector
            + axes * moved_in_stage * self.settings.motion_scale)
            .sup(&self.settings.workspace_min)
            .inf(&self.settings.workspace_max);
        // The hand's rotation since the anchor, expressed in the base frame, applied to the tool.
        let turned_in_stage = stage_from_grip.rotation * anchor_grip.rotation.inverse();
        let rotation = axes * turned_in_stage * axes.inverse() * anchor_tool.rotation;
        let raw = Isometry3::from_parts(Translation3::from(position), rotation);
        let filtered = self.filter.filter(&raw, dt);
        HandCommand::Track(Pose::from_parts(
            filtered.translation,
            filtered.rotation.to_rotation_matrix(),
        ))
    }
}

/// The gripper joint's value for a trigger reading: `open` at 0, `closed` at 1 (clamped; a
/// non-finite reading counts as released).
pub fn gripper_position(trigger: f64, open: f64, closed: f64) -> f64 {
    let t = if trigger.is_finite() {
        trigger.clamp(0.0, 1.0)
    } else {
        0.0
    };
    open + t * (closed - open)
}
