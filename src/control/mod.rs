//! One control tick: [`Pipeline`] (retarget → IK → grippers → safety). The safety filter is
//! [`crate::safety`]'s (the robot process runs the same one); the loop that runs ticks is
//! `app::Session`'s.

mod pipeline;

pub use crate::msg::TickOutcome;
pub use pipeline::{Error, Pipeline, StageTimes, TickReport};
