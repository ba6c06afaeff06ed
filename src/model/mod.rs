//! The robot description: URDF → links, joints, limits, mimic joints, geometry and meshes, with
//! validation that names the file, the line and the element at fault.
//!
//! Any URDF that ROS's parser (urdfdom) reads without an error loads, read as urdfdom reads it
//! (first child wins, its defaults, no colour or texture needed; see `reader.rs` for the list),
//! except what is refused on purpose below.
//!
//! ## Limitations
//! - Joint types `floating`, `planar` and `spherical` are rejected with
//!   [`Error::UnsupportedJoint`]; a floating base is the robot backend's business, not the URDF's.
//! - `<calibration>` and `<dynamics>` are checked but not used; `<transmission>`, `<gazebo>` and
//!   other extensions are not read. Textures are not used.
//! - A velocity or effort limit of 0 is read as "not given" (URDF's own default).
//! - Meshes are resolved when the URDF loads but read only on demand ([`MeshRef::load`]).
//! - Elements may nest at most [`MAX_DEPTH`] deep (the XML parser recurses once per level).
//! - Negative masses, moments of inertia (`ixx`, `iyy`, `izz`), velocity and effort limits and
//!   shape sizes, non-finite numbers, empty link or joint names and an `<axis>` without `xyz` on
//!   a moving joint are refused naming the line, though urdfdom lets them through.

mod error;
mod geometry;
mod mesh;
mod reader;
mod robot;
mod urdf;

pub use error::{Error, MAX_ECHO, shown, shown_at_most, shown_list, shown_path};
pub use geometry::{Collision, Inertial, MeshRef, Rgba, Shape, Visual};
pub use mesh::{PackagePath, TriangleMesh, load_triangles};
pub use reader::MAX_DEPTH;
pub use robot::{
    ChainSuggestion, Joint, JointId, JointKind, JointLimits, Link, LinkId, Mimic, Model,
};
pub use urdf::LoadOptions;
