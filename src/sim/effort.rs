//! Joint efforts of the simulated robot: what each driven joint's motor supplies, found from
//! the Newton–Euler balance of the bodies below the joint (mass and inertia, their accelerations
//! over the last physics step, gravity as it acts on them) less the contact forces on those
//! bodies. Rapier does not report the impulses of a multibody's motors, so they are found from
//! what they did.

use ::nalgebra::{Matrix3, Vector3};
use rapier3d::prelude::*;

use super::convert::{rotation_from_rapier, vector_from_rapier as v64};
use crate::kinematics::Pose as ModelPose;
use crate::model::{JointKind, LinkId, Model};

/// A robot body's velocity after the last physics step, its acceleration over that step, and
/// (scratch for [`Efforts::write`]) the wrench it needs from the joint above it.
struct Motion {
    body: RigidBodyHandle,
    linvel: Vector3<f64>,
    angvel: Vector3<f64>,
    lin_acc: Vector3<f64>,
    ang_acc: Vector3<f64>,
    wrench: (Vector3<f64>, Vector3<f64>),
}

/// One driven joint: its dof, its child link (whose frame is the joint's), its axis there, and
/// the robot's bodies below it (indices into [`Efforts::motion`]).
struct Load {
    dof: usize,
    child: LinkId,
    axis: Vector3<f64>,
    prismatic: bool,
    bodies: Vec<usize>,
}

/// The efforts of a simulation's driven joints, refreshed every physics step.
pub(super) struct Efforts {
    motion: Vec<Motion>,
    loads: Vec<Load>,
}

impl Efforts {
    /// For the driven dofs `dofs` of a robot whose links are simulated by `link_bodies` (welded
    /// links share their ancestor's body).
    pub fn new(model: &Model, link_bodies: &[RigidBodyHandle], dofs: &[usize]) -> Efforts {
        let mut motion: Vec<Motion> = Vec::new();
        let mut body_index = |body: RigidBodyHandle| {
            let found = motion.iter().position(|m| m.body == body);
            found.unwrap_or_else(|| {
                motion.push(Motion {
                    body,
                    linvel: Vector3::zeros(),
                    angvel: Vector3::zeros(),
                    lin_acc: Vector3::zeros(),
                    ang_acc: Vector3::zeros(),
                    wrench: (Vector3::zeros(), Vector3::zeros()),
                });
                motion.len() - 1
            })
        };
        let loads = dofs
            .iter()
            .map(|&dof| {
                let joint = &model.joints[model.dofs[dof]];
                let mut bodies: Vec<usize> = (0..model.links.len())
                    .filter(|&l| model.ancestors(l).any(|a| a == joint.child))
                    .map(|l| body_index(link_bodies[l]))
                    .collect();
                bodies.sort_unstable();
                bodies.dedup();
                Load {
                    dof,
                    child: joint.child,
                    axis: joint.axis.into_inner(),
                    prismatic: joint.kind == JointKind::Prismatic,
                    bodies,
                }
            })
            .collect();
        Efforts { motion, loads }
    }

    /// After a physics step of `dt` seconds: each body's acceleration over it.
    pub fn after_step(&mut self, bodies: &RigidBodySet, dt: f64) {
        for m in &mut self.motion {
            let Some(body) = bodies.get(m.body) else {
                continue;
            };
            let (linvel, angvel) = (v64(body.linvel()), v64(body.angvel()));
            m.lin_acc = (linvel - m.linvel) / dt;
            m.ang_acc = (angvel - m.angvel) / dt;
            m.linvel = linvel;
            m.angvel = angvel;
        }
    }

    /// Each driven joint's effort (N·m, or N for a prismatic joint) into `efforts` at its dof:
    /// along its axis, what the bodies below it need beyond gravity and their contacts. `dt` is
    /// the step the contact impulses were applied over; `world_from_link` the links' poses as
    /// simulated.
    pub fn write(
        &mut self,
        world: &PhysicsWorld,
        dt: f64,
        world_from_link: &[ModelPose],
        efforts: &mut [f64],
    ) {
        // Each body's wrench once (its torque about the world origin), shared by every joint
        // above it: about a joint at p it is τ − p × F.
        let gravity = v64(world.gravity);
        for m in &mut self.motion {
            m.wrench = match world.bodies.get(m.body) {
                Some(body) => body_wrench(world, body, m, &gravity, dt),
                None => (Vector3::zeros(), Vector3::zeros()),
            };
        }
        for load in &self.loads {
            let frame = &world_from_link[load.child];
            let (origin, axis) = (frame.translation.vector, frame.rotation * load.axis);
            let (mut force, mut torque) = (Vector3::zeros(), Vector3::zeros());
            for &b in &load.bodies {
                let (f, t) = self.motion[b].wrench;
                force += f;
                torque += t - origin.cross(&f);
            }
            efforts[load.dof] = axis.dot(if load.prismatic { &force } else { &torque });
        }
    }
}

/// What a body needs from the joint above it beyond gravity and its contacts: force, and torque
/// about the world origin.
fn body_wrench(
    world: &PhysicsWorld,
    body: &RigidBody,
    m: &Motion,
    gravity: &Vector3<f64>,
    dt: f64,
) -> (Vector3<f64>, Vector3<f64>) {
    let mass = body.mass() as f64;
    let com = v64(body.center_of_mass());
    let needed = (m.lin_acc - gravity * body.gravity_scale() as f64) * mass;
    let inertia = world_inertia(body);
    let spin = inertia * m.ang_acc + m.angvel.cross(&(inertia * m.angvel));
    let (mut force, mut torque) = (needed, com.cross(&needed) + spin);
    // Contacts push too; what they supply the joint need not.
    for &collider in body.colliders() {
        let Some(ours) = world.colliders.get(collider) else {
            continue;
        };
        let position = ours.position();
        for pair in world.narrow_phase.contact_pairs_with(collider) {
            let first = pair.collider1 == collider;
            for manifold in pair.solver_manifolds() {
                let normal = v64(manifold.data.normal);
                for point in &manifold.points {
                    // On collider 1 the normal impulse acts against the normal (1 → 2) and
                    // friction along its world vector; on collider 2 the opposite (rapier's
                    // solver conventions).
                    let on_first = v64(point.data.warmstart_tangent_world)
                        - normal * point.data.impulse as f64;
                    let (on_us, local) = if first {
                        (on_first / dt, point.local_p1)
                    } else {
                        (-on_first / dt, point.local_p2)
                    };
                    let at = v64(position.transform_point(local));
                    force -= on_us;
                    torque -= at.cross(&on_us);
                }
            }
        }
    }
    (force, torque)
}

/// A body's inertia tensor about its centre of mass, in world axes.
fn world_inertia(body: &RigidBody) -> Matrix3<f64> {
    let props = &body.mass_properties().local_mprops;
    let rotation = rotation_from_rapier(*body.rotation() * props.principal_inertia_local_frame);
    let principal = v64(props.principal_inertia());
    rotation.matrix() * Matrix3::from_diagonal(&principal) * rotation.matrix().transpose()
}
