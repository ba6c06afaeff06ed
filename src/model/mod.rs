//! The robot description: URDF → links, joints, limits, mimic joints, geometry and meshes, with
//! validation that names the file and element at fault.
//!
//! ## Limitations
//! - Joint types `floating`, `planar` and `spherical` are rejected with
//!   [`Error::UnsupportedJoint`]; a floating base is the robot backend's business, not the URDF's.
//! - `<calibration>`, `<dynamics>`, `<transmission>` and `<gazebo>` are ignored.
//! - A velocity or effort limit of 0 is read as "not given" (URDF's own default).
//! - Meshes are resolved when the URDF loads but read only on demand ([`MeshRef::load`]).
//! - Elements may nest at most [`MAX_DEPTH`] deep (urdf-rs reads the tree recursively).
//! - Negative masses, moments of inertia (`ixx`, `iyy`, `izz`), velocity and effort limits and
//!   shape sizes, and empty link or joint names, are refused naming the line.

mod error;
mod geometry;
mod mesh;
mod robot;
mod urdf;
mod xml_check;

pub use error::{Error, MAX_ECHO, shown, shown_at_most, shown_list, shown_path};
pub use geometry::{Collision, Inertial, MeshRef, Rgba, Shape, Visual};
pub use mesh::{PackagePath, TriangleMesh, load_triangles};
pub use robot::{
    ChainSuggestion, Joint, JointId, JointKind, JointLimits, Link, LinkId, Mimic, Model,
};
pub use urdf::LoadOptions;
pub use xml_check::MAX_DEPTH;
