//! Forward kinematics and Jacobians on a compiled, allocation-free form of the model.
//!
//! [`Tree`] poses every link; [`Chain`] poses one tip relative to one base and gives its
//! geometric Jacobian. Both take the configuration `q` in [`Model::dofs`](crate::model::Model)
//! order (for a chain: [`Chain::dofs`] order) and fold mimic joints in, so that a mimic's motion
//! shows up in its leader's Jacobian column.
//!
//! Poses are `IsometryMatrix3<f64>`: a rotation matrix and a translation, so composing two costs
//! one 3×3 product and no normalisation.
//!
//! ## Limitations
//! - A chain's base must be an ancestor of its tip (no paths that go up and then down the tree).

mod chain;
mod error;
mod joint;
pub mod lines;
mod tree;
mod trig;

pub use chain::Chain;
pub use error::Error;
pub use tree::{Tree, q_from_named};

/// A rigid transform: `a_from_b` maps points in frame b into frame a.
pub type Pose = nalgebra::IsometryMatrix3<f64>;

/// Row-major 4×4 of a pose, the layout of the CLI and the reference data.
pub fn pose_to_rows(pose: &Pose) -> [[f64; 4]; 4] {
    let r = pose.rotation.matrix();
    let t = &pose.translation.vector;
    [
        [r[(0, 0)], r[(0, 1)], r[(0, 2)], t[0]],
        [r[(1, 0)], r[(1, 1)], r[(1, 2)], t[1]],
        [r[(2, 0)], r[(2, 1)], r[(2, 2)], t[2]],
        [0.0, 0.0, 0.0, 1.0],
    ]
}
