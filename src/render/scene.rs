//! What is drawn: the robot's URDF visuals and the scene's objects as meshes, each anchored to a
//! link or an object; and [`SceneState`], the poses that change every frame, handed from the
//! robot side to the render thread through a [`StateCell`] that never blocks the publisher.

use std::sync::Mutex;

use nalgebra::{Translation3, Vector3};

use super::geometry::MeshData;
use crate::kinematics::Pose;
use crate::model::{Model, Rgba, Shape};

/// Grey for visuals whose URDF names no colour.
const DEFAULT_COLOR: Rgba = [0.6, 0.6, 0.62, 1.0];
const FLOOR_COLOR: Rgba = [0.62, 0.6, 0.56, 1.0];
/// Floor: a 10 m square, its top at world z = 0.
const FLOOR_SIZE_M: f64 = 10.0;

/// A free object of the scene (a table, a cube), posed each frame from the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneObject {
    pub name: String,
    pub shape: Shape,
    pub color: Rgba,
}

/// What a drawable moves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// A robot link (model link order).
    Link(usize),
    /// A scene object (the order given to [`Scene::new`]).
    Object(usize),
    /// Fixed in the world.
    World,
}

/// One mesh placed in the scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawable {
    /// Index into [`Scene::meshes`].
    pub mesh: usize,
    pub color: Rgba,
    pub anchor: Anchor,
    pub anchor_from_mesh: Pose,
}

/// Everything the renderer uploads once.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    pub meshes: Vec<MeshData>,
    pub drawables: Vec<Drawable>,
    /// Number of robot links [`SceneState::link_poses`] must hold.
    pub links: usize,
    /// Number of objects [`SceneState::object_poses`] must hold.
    pub objects: usize,
    /// Visuals that could not be turned into triangles (a mesh file missing or unreadable):
    /// one line each, so the caller reports them once.
    pub skipped: Vec<String>,
}

impl Scene {
    /// The robot's visuals, the `objects`, and a floor at world z = 0.
    pub fn new(model: &Model, objects: &[SceneObject]) -> Scene {
        let mut scene = Scene {
            links: model.links.len(),
            objects: objects.len(),
            ..Scene::default()
        };
        for (link_id, link) in model.links.iter().enumerate() {
            for visual in &link.visuals {
                match MeshData::from_shape(&visual.shape) {
                    Ok(mesh) => scene.push(
                        mesh,
                        visual.color.unwrap_or(DEFAULT_COLOR),
                        Anchor::Link(link_id),
                        visual.link_from_shape,
                    ),
                    Err(e) => scene.skipped.push(format!("link {}: {e}", link.name)),
                }
            }
        }
        for (i, object) in objects.iter().enumerate() {
            match MeshData::from_shape(&object.shape) {
                Ok(mesh) => scene.push(mesh, object.color, Anchor::Object(i), Pose::identity()),
                Err(e) => scene.skipped.push(format!("object {}: {e}", object.name)),
            }
        }
        let floor = MeshData::cuboid([FLOOR_SIZE_M as f32, FLOOR_SIZE_M as f32, 0.02]);
        scene.push(
            floor,
            FLOOR_COLOR,
            Anchor::World,
            Pose::from_parts(Translation3::new(0.0, 0.0, -0.01), Default::default()),
        );
        scene
    }

    fn push(&mut self, mesh: MeshData, color: Rgba, anchor: Anchor, anchor_from_mesh: Pose) {
        if mesh.indices.is_empty() {
            return;
        }
        self.meshes.push(mesh);
        self.drawables.push(Drawable {
            mesh: self.meshes.len() - 1,
            color,
            anchor,
            anchor_from_mesh,
        });
    }

    /// A state sized for this scene, everything at the origin.
    pub fn state(&self) -> SceneState {
        SceneState {
            time_ns: 0,
            link_poses: vec![Pose::identity(); self.links],
            object_poses: vec![Pose::identity(); self.objects],
        }
    }

    /// `world_from_mesh` of drawable `i` in `state`.
    pub fn world_from_mesh(&self, i: usize, state: &SceneState) -> Pose {
        let d = &self.drawables[i];
        let world_from_anchor = match d.anchor {
            Anchor::Link(l) => state.link_poses[l],
            Anchor::Object(o) => state.object_poses[o],
            Anchor::World => Pose::identity(),
        };
        world_from_anchor * d.anchor_from_mesh
    }
}

/// A box-shaped object, the common case.
pub fn box_object(name: &str, size: Vector3<f64>, color: Rgba) -> SceneObject {
    SceneObject {
        name: name.to_string(),
        shape: Shape::Box { size },
        color,
    }
}

/// The poses that change from frame to frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneState {
    /// Monotonic time of the robot reading (ns).
    pub time_ns: u64,
    /// `world_from_link` for every robot link (model order).
    pub link_poses: Vec<Pose>,
    /// `world_from_object` for every scene object.
    pub object_poses: Vec<Pose>,
}

impl SceneState {
    /// Copies `other` in without allocating (same sizes).
    pub fn copy_from(&mut self, other: &SceneState) {
        self.time_ns = other.time_ns;
        self.link_poses.copy_from_slice(&other.link_poses);
        self.object_poses.copy_from_slice(&other.object_poses);
    }
}

/// The newest [`SceneState`], published by the robot side (the control or simulation thread)
/// and read by the render thread. Publishing never waits: if the reader is copying at that
/// instant, that one state is skipped (the next tick publishes again). Neither side allocates.
#[derive(Debug)]
pub struct StateCell {
    latest: Mutex<(u64, SceneState)>,
}

impl StateCell {
    pub fn new(initial: SceneState) -> StateCell {
        StateCell {
            latest: Mutex::new((0, initial)),
        }
    }

    /// Offers a new state; returns false when it was skipped because the reader held the cell.
    pub fn try_publish(&self, time_ns: u64, link_poses: &[Pose], object_poses: &[Pose]) -> bool {
        let Ok(mut guard) = self.latest.try_lock() else {
            return false;
        };
        let (version, state) = &mut *guard;
        *version += 1;
        state.time_ns = time_ns;
        // A robot that reports fewer objects than the scene draws (a real robot reports none)
        // leaves the others where they were.
        for (to, from) in [
            (&mut state.link_poses, link_poses),
            (&mut state.object_poses, object_poses),
        ] {
            let n = to.len().min(from.len());
            to[..n].copy_from_slice(&from[..n]);
        }
        true
    }

    /// Copies the newest state into `out` if it is newer than `seen` (a version this returned
    /// before; 0 at first); returns the version now held by `out`.
    pub fn read_newer(&self, seen: u64, out: &mut SceneState) -> u64 {
        // A poisoned lock means a publisher panicked mid-copy of plain poses: still usable.
        let guard = crate::rt::lock(&self.latest);
        if guard.0 != seen {
            out.copy_from(&guard.1);
        }
        guard.0
    }
}
