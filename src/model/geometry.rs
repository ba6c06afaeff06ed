//! Visual and collision geometry of a link, with mesh references resolved to files.

use std::path::PathBuf;

use nalgebra::{IsometryMatrix3, Vector3};

/// A shape in its link's frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Full edge lengths along x, y, z (m).
    Box {
        size: Vector3<f64>,
    },
    /// Along the local z axis, centred on the origin.
    Cylinder {
        radius: f64,
        length: f64,
    },
    /// Along the local z axis; `length` excludes the two hemispheres.
    Capsule {
        radius: f64,
        length: f64,
    },
    Sphere {
        radius: f64,
    },
    Mesh(MeshRef),
}

/// A mesh file named by a URDF, and where it was found (if anywhere).
#[derive(Debug, Clone, PartialEq)]
pub struct MeshRef {
    /// As written in the URDF (`package://…`, `file://…` or a path).
    pub uri: String,
    /// The file it resolved to; `None` if no candidate exists (see [`MeshRef::tried`]).
    pub path: Option<PathBuf>,
    /// Every candidate that was looked at, in order, for error messages.
    pub tried: Vec<PathBuf>,
    pub scale: Vector3<f64>,
}

/// Linear RGBA in 0..=1.
pub type Rgba = [f64; 4];

/// One `<visual>` element.
#[derive(Debug, Clone, PartialEq)]
pub struct Visual {
    pub link_from_shape: IsometryMatrix3<f64>,
    pub shape: Shape,
    /// Resolved through the robot's named materials when the visual names one without a colour.
    pub color: Option<Rgba>,
}

/// One `<collision>` element.
#[derive(Debug, Clone, PartialEq)]
pub struct Collision {
    pub link_from_shape: IsometryMatrix3<f64>,
    pub shape: Shape,
}

/// Mass properties from `<inertial>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Inertial {
    pub link_from_com: IsometryMatrix3<f64>,
    pub mass_kg: f64,
    /// ixx, ixy, ixz, iyy, iyz, izz about the centre of mass, in the `link_from_com` frame.
    pub inertia: [f64; 6],
}
