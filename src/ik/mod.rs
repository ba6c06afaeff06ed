//! Inverse kinematics: joint values that put one or more link frames at their targets.
//!
//! A [`Solver`] holds [`Task`]s — each a chain of the model (base → tip) with a target pose and
//! weights for position and orientation — over the union of the chains' joints, so two hands and
//! a head that share waist joints are solved together. Two modes:
//! - [`Solver::track`]: the control loop's step. Warm-started from the current joints, a few
//!   box-constrained damped least-squares iterations whose box is the joint limits *and* the
//!   velocity limit × dt, so no step can exceed either. Bounded work, no allocation, deterministic.
//!   Out of reach, it moves towards the target and reports the residual.
//! - [`Solver::solve`]: a global solve for a first pose or `kin ik --mode solve`:
//!   Levenberg–Marquardt with adaptive damping and joints projected onto their limits, restarted
//!   from random seeds when progress stalls, within a time budget.
//!
//! Errors are the position difference and the rotation vector of `target · current⁻¹`, both in
//! the chain's base frame, matching [`Chain::forward_with_jacobian`](crate::kinematics::Chain).
//!
//! ## Limitations
//! - The posture task (pull towards a rest pose, by default mid-range) acts in the tasks' null
//!   space through a regularised projector ε·(JᵀJ + εI)⁻¹, in the first iteration of each tick
//!   only; the task-only iterations after it remove what leaks into task directions.
//! - With the posture, a redundant robot also drifts down the gradient of its velocity load (the
//!   joint speed the targets' current motion needs, relative to the limits; see
//!   `solver/margin.rs`), so it reaches configurations where the path ahead needs a joint near
//!   its limit already turned to one that can follow. This is local: where the target's path
//!   passes an algorithmic singularity (two joint axes aligned, e.g. Panda at joint 2 = 0) the
//!   split between the aligned joints is invisible to the gradient at the crossing itself, and on
//!   some paths tracking still lags there for a few ticks within the velocity limits, reports
//!   the residual and catches up; it never jumps.
//! - Collisions and self-collisions are not considered.
//! - Chains must be base → descendant paths (see [`kinematics`](crate::kinematics)).

mod error;
mod options;
mod qp;
pub(crate) mod rng;
mod solver;

pub use error::Error;
pub use options::Options;
pub use solver::{Report, Solver, Target, Task};
