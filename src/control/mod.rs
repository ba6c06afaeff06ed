//! One control tick: [`Pipeline`] (retarget → IK → grippers → safety), and [`SafetyFilter`],
//! the last word before any joint command reaches a robot (position, velocity and acceleration
//! limits; smooth hold on stale or non-finite input). The loop that runs ticks is
//! `app::Session`'s.

mod pipeline;
mod safety;

pub use crate::msg::TickOutcome;
pub use pipeline::{Error, Pipeline, StageTimes, TickReport};
pub use safety::{Hold, Limits, Outcome, SafetyFilter};

use crate::config::Profile;
use crate::model::Model;

impl Limits {
    /// Limits for the model's independent joints (its `q` order): positions from the URDF
    /// (±∞ for continuous joints), velocities from the profile where it sets them, else the
    /// URDF's (`fallback_velocity` where neither does), accelerations from the profile.
    pub fn from_profile(model: &Model, profile: &Profile, fallback_velocity: f64) -> Limits {
        let mut limits = Limits {
            lower: Vec::with_capacity(model.dofs.len()),
            upper: Vec::with_capacity(model.dofs.len()),
            velocity: Vec::with_capacity(model.dofs.len()),
            acceleration: Vec::with_capacity(model.dofs.len()),
        };
        for &j in &model.dofs {
            let joint = &model.joints[j];
            let (lo, hi) = joint
                .limits
                .position
                .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
            limits.lower.push(lo);
            limits.upper.push(hi);
            let settings = profile.joint_settings(&joint.name);
            limits.velocity.push(
                settings
                    .velocity
                    .or(joint.limits.velocity)
                    .unwrap_or(fallback_velocity),
            );
            limits
                .acceleration
                .push(profile.acceleration_limit(&joint.name));
        }
        limits
    }
}
