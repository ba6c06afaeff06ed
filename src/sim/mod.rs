//! The simulated robot: the model as a rapier multibody (reduced coordinates, so the chain cannot
//! drift apart) on a fixed base, each driven joint a PD position servo with the URDF's effort
//! limit, in a scene of boxes (floor, table, objects). Physics at a fixed 1 kHz step, as fast as
//! the CPU allows (the caller decides real time or not).
//!
//! Only the joints something drives are joints of the multibody (see [`Sim::new`]'s `driven`):
//! a fixed joint, or a movable one nothing drives (a humanoid's legs when only its arms are
//! teleoperated), welds its child link into its parent's rigid body — the link's mass and
//! colliders become part of that body, at the pose the start posture gives. The multibody then
//! has only the driven joints' degrees of freedom, and its cost per step (mass matrix, its
//! factorisation, every servo's and contact's response through it) falls with them.
//!
//! What rapier does not do for a robot, done here: velocity limits (each servo's target moves at
//! most `velocity · dt` per physics step), mimic joints (their servos follow the leader's
//! target), joint limits from the URDF, and joint efforts (rapier does not report a
//! multibody motor's impulse: [`effort`] finds them from the bodies' motion and contacts).
//! Robot links collide with the scene, and with each other only when asked
//! ([`Sim::set_self_collision`]: it costs time). A mesh in `<collision>` collides as its
//! convex hull (a concave link is filled in); one that cannot be read is left out with a
//! warning.

mod convert;
mod effort;

use ::nalgebra::Vector3;
use rapier3d::prelude::*;

pub use convert::{pose as to_rapier_pose, pose_from_rapier};

use crate::config::Profile;
use crate::kinematics::{Pose as ModelPose, Tree};
use crate::model::{Inertial, JointKind, LinkId, Model, Shape};
use crate::robot::{self, Robot, RobotState};

/// Physics step (s): 1 kHz, twice the control rate, stiff enough for 1 cm fingers.
pub const PHYSICS_DT: f64 = 1e-3;

/// The solver: one substep per physics step, with two velocity iterations. rapier's default,
/// four substeps of one iteration, rebuilds and factorises the multibody's mass matrix at every
/// substep, most of a step's time; one substep at 1 kHz is as fine a step as the servos
/// (ω = 100 rad/s) and the contacts need, and the second iteration keeps the grip's contact
/// forces what four substeps give (the demo's mean grip per finger within 0.5 %, its peak within
/// 2.5 %; one iteration alone overshoots the peak by 11 %).
const SOLVER_SUBSTEPS: usize = 1;
const SOLVER_ITERATIONS: usize = 2;

/// The most the integral action may shift a servo's target (rad or m).
const INTEGRAL_LIMIT: f64 = 0.1;

const ROBOT: Group = Group::GROUP_1;
const SCENE: Group = Group::GROUP_2;

/// Servo gains (PID). Acceleration-based (rapier scales by the effective mass), so one set suits
/// every joint: ω = √stiffness rad/s, damping ratio damping / (2ω).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServoGains {
    pub stiffness: f64,
    pub damping: f64,
    /// Integral gain (1/s): the rate at which a steady error is corrected.
    pub integral: f64,
}

impl Default for ServoGains {
    fn default() -> Self {
        // ω = 100 rad/s, critically damped: settles in ~50 ms, far below the control's motion.
        Self {
            stiffness: 1e4,
            damping: 200.0,
            integral: 5.0,
        }
    }
}

/// One servoed joint: where its coordinate lives in the multibody, and its limits.
#[derive(Debug, Clone, Copy)]
struct Servo {
    joint: MultibodyJointHandle,
    /// Index of the joint's coordinate in rapier's spatial layout (0 linear X, 3 angular X).
    coordinate: usize,
    axis: JointAxis,
    lower: f64,
    upper: f64,
    velocity: f64,
}

/// A driven joint: its servo and its index in the model's `q`.
#[derive(Debug, Clone, Copy)]
struct Driven {
    servo: Servo,
    dof: usize,
}

/// A mimic joint's servo, following `multiplier · leader + offset`.
#[derive(Debug, Clone, Copy)]
struct MimicServo {
    servo: Servo,
    /// The leader's index in [`Sim::servos`].
    leader: usize,
    multiplier: f64,
    offset: f64,
}

/// Why the simulation could not be built or commanded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sim: joint {joint:?} could not join the multibody (a loop in the tree?)")]
    Joint { joint: String },
    #[error("sim: expected {expected} joint values, got {got}")]
    WrongLength { expected: usize, got: usize },
}

/// The simulated robot and its scene.
pub struct Sim {
    world: PhysicsWorld,
    self_collision: SelfCollision,
    gains: ServoGains,
    /// For each model link: the rigid body it is part of (its own, or an ancestor's it is welded
    /// to), where the link sits in that body, and its colliders.
    link_bodies: Vec<RigidBodyHandle>,
    body_from_link: Vec<ModelPose>,
    link_colliders: Vec<Vec<ColliderHandle>>,
    /// The driven joints, in model `q` order; the other dofs hold `held`.
    servos: Vec<Driven>,
    mimics: Vec<MimicServo>,
    /// Every dof's value at build time: what a welded dof reports.
    held: Vec<f64>,
    /// Per servo: positions asked for, and the targets moving towards them within velocity
    /// limits.
    wanted: Vec<f64>,
    target: Vec<f64>,
    target_rate: Vec<f64>,
    /// Each servo's integral correction (rad or m).
    integral: Vec<f64>,
    time_s: f64,
    objects: Vec<(String, RigidBodyHandle)>,
    /// Servos off, damping only ([`Robot::set_damped`]).
    damped: bool,
    /// The driven joints' efforts, from the bodies' motion over the last step.
    efforts: effort::Efforts,
}

/// Which of the model's dofs `profile` drives: the joints of its end-effector and neck chains,
/// its gripper joints and its hands' finger joints — what the control pipeline commands. Every other dof stays at the
/// start posture; pass this to [`Sim::new`] to weld them.
pub fn driven_dofs(model: &Model, profile: &Profile) -> Vec<bool> {
    let mut driven = vec![false; model.dof()];
    let mut mark = |joint: Option<usize>| {
        if let Some(dof) = joint.and_then(|j| model.dof_of_joint[j]) {
            driven[dof] = true;
        }
    };
    let chains = profile
        .end_effectors
        .iter()
        .map(|e| (&e.base, &e.tip))
        .chain(profile.neck.iter().map(|n| (&n.base, &n.tip)));
    for (base, tip) in chains {
        if let (Some(base), Some(tip)) = (model.link_id(base), model.link_id(tip)) {
            for joint in model.dofs_between(base, tip).unwrap_or_default() {
                mark(Some(joint));
            }
        }
    }
    for gripper in &profile.grippers {
        mark(model.joint_id(&gripper.joint));
    }
    // A hand's fingers: its listed joints, else every joint between its root (or the URDF's)
    // and a fingertip; and the joints its grasp closes.
    for hand in [&profile.hands.left, &profile.hands.right]
        .into_iter()
        .flatten()
    {
        for name in hand.joints.iter().chain(hand.closed.keys()) {
            mark(model.joint_id(name));
        }
        if hand.joints.is_empty() {
            let root = hand
                .root
                .as_deref()
                .and_then(|r| model.link_id(r))
                .unwrap_or(0);
            for tip in &hand.fingertips {
                if let Some(tip) = model.link_id(&tip.tip.link) {
                    for joint in model.dofs_between(root, tip).unwrap_or_default() {
                        mark(Some(joint));
                    }
                }
            }
        }
    }
    driven
}

/// The multibody joint a servo drives.
fn joint_mut<'a>(world: &'a mut PhysicsWorld, servo: &Servo) -> Option<&'a mut MultibodyJoint> {
    let (mb, link) = world.multibody_joints.get_mut(servo.joint)?;
    Some(&mut mb.link_mut(link)?.joint)
}

/// The robot's links collide with each other, except bodies within two joints of each other and
/// bodies already touching at the start posture (a URDF's collision meshes often overlap where links
/// meet: colliding them would push the robot apart from its first step).
#[derive(Debug, Default)]
struct SelfCollision {
    /// Off unless asked for ([`Sim::set_self_collision`]): it costs G1 half its speed.
    on: bool,
    skip: std::collections::HashSet<(RigidBodyHandle, RigidBodyHandle)>,
    /// Link pairs that touch at the start posture though more than two joints apart: they would
    /// collide from the first step, so they never do.
    resting: Vec<(LinkId, LinkId)>,
}

impl SelfCollision {
    /// Closer than this at the start posture counts as touching (m).
    const TOUCHING_M: f32 = 0.002;

    fn skip_pair(&mut self, a: RigidBodyHandle, b: RigidBodyHandle) {
        if a != b {
            self.skip.insert((a, b));
            self.skip.insert((b, a));
        }
    }

    /// Finds the bodies whose colliders touch where the robot starts, and skips them.
    fn touching_at_rest(&mut self, world: &PhysicsWorld, link_colliders: &[Vec<ColliderHandle>]) {
        let colliders: Vec<(LinkId, &Collider)> = link_colliders
            .iter()
            .enumerate()
            .flat_map(|(l, cs)| {
                cs.iter()
                    .filter_map(move |&c| Some((l, world.colliders.get(c)?)))
            })
            .collect();
        for (i, &(la, a)) in colliders.iter().enumerate() {
            for &(lb, b) in &colliders[i + 1..] {
                let (Some(pa), Some(pb)) = (a.parent(), b.parent()) else {
                    continue;
                };
                if pa == pb || self.skip.contains(&(pa, pb)) {
                    continue;
                }
                let near = rapier3d::parry::query::distance(
                    a.position(),
                    a.shape(),
                    b.position(),
                    b.shape(),
                )
                .is_ok_and(|d| d.distance <= Self::TOUCHING_M);
                if near {
                    self.skip_pair(pa, pb);
                    self.resting.push((la, lb));
                }
            }
        }
    }
}

impl PhysicsHooks for SelfCollision {
    fn filter_contact_pair(&self, context: &PairFilterContext) -> Option<SolverFlags> {
        match (context.rigid_body1, context.rigid_body2) {
            (Some(a), Some(b)) if self.skip.contains(&(a, b)) => None,
            _ => Some(SolverFlags::COMPUTE_RIGID_IMPULSES),
        }
    }
}

fn groups(member: Group, filter: Group) -> InteractionGroups {
    InteractionGroups::new(member, filter, InteractionTestMode::And)
}

/// A collider for a URDF shape, positioned in its body's frame: a mesh becomes its convex hull
/// (a concave link is filled in: a hand's palm closes over its hollow). `None` for a mesh that
/// cannot be read or has no volume; the caller says which.
fn collider(shape: &Shape, body_from_shape: &ModelPose) -> Option<ColliderBuilder> {
    let f = |v: f64| v as f32;
    let (builder, shape_from_rapier) = match shape {
        Shape::Box { size } => (
            ColliderBuilder::cuboid(f(size.x / 2.0), f(size.y / 2.0), f(size.z / 2.0)),
            None,
        ),
        // rapier's cylinders and capsules run along Y, URDF's along Z.
        Shape::Cylinder { radius, length } => (
            ColliderBuilder::cylinder(f(length / 2.0), f(*radius)),
            Some(::nalgebra::Rotation3::from_axis_angle(
                &Vector3::x_axis(),
                std::f64::consts::FRAC_PI_2,
            )),
        ),
        Shape::Capsule { radius, length } => (
            ColliderBuilder::capsule_z(f(length / 2.0), f(*radius)),
            None,
        ),
        Shape::Sphere { radius } => (ColliderBuilder::ball(f(*radius)), None),
        Shape::Mesh(mesh) => {
            let triangles = mesh.load().ok()?;
            let points: Vec<Vector> = triangles.positions.into_iter().map(Vector::from).collect();
            (ColliderBuilder::convex_hull(&points)?, None)
        }
    };
    let mut pose = *body_from_shape;
    if let Some(r) = shape_from_rapier {
        pose.rotation *= r;
    }
    Some(builder.position(convert::pose(&pose)))
}

/// A link's inertial in `body`'s frame, the link at `body_from_link`.
fn mass_properties(inertial: &Inertial, body_from_link: &ModelPose) -> MassProperties {
    let [ixx, _, _, iyy, _, izz] = inertial.inertia;
    let com = convert::pose(&(body_from_link * inertial.link_from_com));
    MassProperties::with_principal_inertia_frame(
        com.translation,
        inertial.mass_kg.max(1e-3) as f32,
        Vector::new(ixx as f32, iyy as f32, izz as f32).max(Vector::splat(1e-6)),
        com.rotation,
    )
}

impl Sim {
    /// The model at `q` (model order), its root fixed at `world_from_root`, on a floor at z = 0.
    ///
    /// `driven` (one entry per model dof, e.g. from [`driven_dofs`]) says which joints are
    /// servoed; mimic joints follow their leader. A dof not driven is welded at its value in `q`:
    /// its child link becomes part of its parent's rigid body, so it cannot move however it is
    /// commanded (its commands are ignored, [`Robot::read_state`] reports it at that value). All
    /// `true` simulates every joint.
    pub fn new(
        model: &Model,
        q: &[f64],
        world_from_root: &ModelPose,
        gains: ServoGains,
        driven: &[bool],
    ) -> Result<Sim, Error> {
        for len in [q.len(), driven.len()] {
            if len != model.dof() {
                return Err(Error::WrongLength {
                    expected: model.dof(),
                    got: len,
                });
            }
        }
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::new(0.0, 0.0, -9.81);
        world.integration_parameters.dt = PHYSICS_DT as f32;
        world.integration_parameters.num_solver_iterations = SOLVER_SUBSTEPS;
        world.integration_parameters.num_internal_pgs_iterations = SOLVER_ITERATIONS;
        let floor = world.insert_body(RigidBodyBuilder::fixed());
        world.insert_collider(
            ColliderBuilder::cuboid(5.0, 5.0, 0.05)
                .translation(Vector::new(0.0, 0.0, -0.05))
                .collision_groups(groups(SCENE, Group::ALL))
                .friction(1.0),
            Some(floor),
        );
        // Every joint's value in full (mimics included); the joints that stay joints.
        let mut joint_values = vec![0.0; model.joints.len()];
        model.joint_positions(q, &mut joint_values);
        let moves: Vec<bool> = (0..model.joints.len())
            .map(|j| {
                let joint = &model.joints[j];
                let leader = joint.mimic.map_or(j, |m| m.leader);
                joint.kind.is_movable() && model.dof_of_joint[leader].is_some_and(|d| driven[d])
            })
            .collect();
        // Links at their poses for q; each link's body: its own if its joint moves, else its
        // parent's (links come parents first).
        let tree = Tree::new(model);
        let mut root_from_link = vec![ModelPose::identity(); tree.link_count()];
        tree.forward(q, &mut root_from_link);
        let mut body_link = vec![Model::ROOT; model.links.len()];
        let mut body_from_link = vec![ModelPose::identity(); model.links.len()];
        for (l, link) in model.links.iter().enumerate() {
            body_link[l] = match link.parent_joint {
                Some(j) if !moves[j] => body_link[model.joints[j].parent],
                _ => l,
            };
            body_from_link[l] = root_from_link[body_link[l]].inverse() * root_from_link[l];
        }
        let mut link_bodies = Vec::with_capacity(model.links.len());
        for l in 0..model.links.len() {
            if body_link[l] != l {
                link_bodies.push(link_bodies[body_link[l]]);
                continue;
            }
            let world_from_link = world_from_root * root_from_link[l];
            let mut body = if l == Model::ROOT {
                RigidBodyBuilder::fixed()
            } else {
                RigidBodyBuilder::dynamic()
            }
            .pose(convert::pose(&world_from_link))
            .can_sleep(false);
            // The body's mass: its own link's and every link welded to it.
            let welded = (l..model.links.len()).filter(|&m| body_link[m] == l);
            let mass: MassProperties = welded
                .filter_map(|m| {
                    Some(mass_properties(
                        model.links[m].inertial.as_ref()?,
                        &body_from_link[m],
                    ))
                })
                .sum();
            if mass.mass() > 0.0 {
                body = body.additional_mass_properties(mass);
            }
            link_bodies.push(world.insert_body(body));
        }
        let mut link_colliders = vec![Vec::new(); model.links.len()];
        for (l, link) in model.links.iter().enumerate() {
            for c in &link.collisions {
                let Some(builder) = collider(&c.shape, &(body_from_link[l] * c.link_from_shape))
                else {
                    tracing::warn!(
                        "sim: link {}: a collision mesh that cannot be read or has no volume is left out",
                        link.name
                    );
                    continue;
                };
                let builder = builder
                    .density(0.0)
                    .friction(1.0)
                    .collision_groups(groups(ROBOT, SCENE));
                link_colliders[l].push(world.insert_collider(builder, Some(link_bodies[l])));
            }
        }
        let mut self_collision = SelfCollision::default();
        // Bodies within two joints of each other (parent, grandparent, sibling) never collide:
        // a hand's phalanges and palm, a finger and its neighbour, an upper arm and the torso
        // its shoulder hangs from. Nearer pairs are the URDF's business, and checking them every
        // step tripled G1's simulation time.
        let mut parent_body = std::collections::HashMap::new();
        for joint in &model.joints {
            let (p, c) = (link_bodies[joint.parent], link_bodies[joint.child]);
            if p != c {
                parent_body.insert(c, p);
            }
        }
        for (&child, &parent) in &parent_body {
            self_collision.skip_pair(child, parent);
            if let Some(&grandparent) = parent_body.get(&parent) {
                self_collision.skip_pair(child, grandparent);
            }
            for (&other, &other_parent) in &parent_body {
                if other_parent == parent {
                    self_collision.skip_pair(child, other);
                }
            }
        }
        self_collision.touching_at_rest(&world, &link_colliders);
        // Joints come in model order, so the servos come in dof order.
        let mut servos = Vec::new();
        let mut mimics = Vec::new();
        // The base is fixed, so the subtrees hanging from it (G1's two arms when its waist is
        // welded) move independently: each becomes a multibody of its own rather than one
        // whose mass matrix couples them with zeros (its cost grows with links × dofs²). The
        // first hangs from the base's body, each further one from a fixed anchor of its own at
        // the base's pose.
        let mut base_taken = false;
        for (j, joint) in model.joints.iter().enumerate() {
            if !moves[j] {
                continue;
            }
            let parent_body = if body_link[joint.parent] != Model::ROOT {
                link_bodies[joint.parent]
            } else if std::mem::replace(&mut base_taken, true) {
                world.insert_body(RigidBodyBuilder::fixed().pose(convert::pose(world_from_root)))
            } else {
                link_bodies[Model::ROOT]
            };
            let axis = joint.axis.into_inner();
            let frame_from_x = convert::x_to(&axis);
            // The joint frame in the parent's body (the parent link may be welded to it).
            let parent_frame = body_from_link[joint.parent]
                * ModelPose::from_parts(
                    joint.parent_from_joint.translation,
                    joint.parent_from_joint.rotation * frame_from_x,
                );
            let child_frame = ModelPose::from_parts(Default::default(), frame_from_x);
            let (mask, joint_axis, coordinate) = match joint.kind {
                JointKind::Prismatic => (JointAxesMask::LOCKED_PRISMATIC_AXES, JointAxis::LinX, 0),
                _ => (JointAxesMask::LOCKED_REVOLUTE_AXES, JointAxis::AngX, 3),
            };
            let (lower, upper) = joint
                .limits
                .position
                .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
            let effort = joint.limits.effort.unwrap_or(1e3) as f32;
            let mut builder = GenericJointBuilder::new(mask)
                .local_frame1(convert::pose(&parent_frame))
                .local_frame2(convert::pose(&child_frame))
                .motor_position(
                    joint_axis,
                    joint_values[j] as f32,
                    gains.stiffness as f32,
                    gains.damping as f32,
                )
                .motor_max_force(joint_axis, effort);
            if lower.is_finite() {
                builder = builder.limits(joint_axis, [lower as f32, upper as f32]);
            }
            let handle = world
                .insert_multibody_joint(parent_body, link_bodies[joint.child], builder.build())
                .ok_or_else(|| Error::Joint {
                    joint: joint.name.clone(),
                })?;
            let servo = Servo {
                joint: handle,
                coordinate,
                axis: joint_axis,
                lower,
                upper,
                velocity: joint.limits.velocity.unwrap_or(f64::INFINITY),
            };
            match (joint.mimic, model.dof_of_joint[j]) {
                (Some(m), _) => mimics.push((servo, m)),
                (None, Some(dof)) => servos.push(Driven { servo, dof }),
                (None, None) => {}
            }
        }
        let servo_of_dof = |dof: usize| servos.iter().position(|s| s.dof == dof);
        let mimics = mimics
            .into_iter()
            .filter_map(|(servo, m)| {
                Some(MimicServo {
                    servo,
                    leader: servo_of_dof(model.dof_of_joint[m.leader]?)?,
                    multiplier: m.multiplier,
                    offset: m.offset,
                })
            })
            .collect();
        let wanted: Vec<f64> = servos.iter().map(|s| q[s.dof]).collect();
        let driven: Vec<usize> = servos.iter().map(|s| s.dof).collect();
        let efforts = effort::Efforts::new(model, &link_bodies, &driven);
        let mut sim = Sim {
            world,
            self_collision,
            gains,
            link_bodies,
            body_from_link,
            link_colliders,
            mimics,
            held: q.to_vec(),
            target: wanted.clone(),
            target_rate: vec![0.0; servos.len()],
            integral: vec![0.0; servos.len()],
            wanted,
            servos,
            time_s: 0.0,
            objects: Vec::new(),
            damped: false,
            efforts,
        };
        // Start the joints exactly at q (not at the links' build poses' implied zero).
        sim.set_joint_coordinates();
        Ok(sim)
    }

    /// Moves the servoed joints from their build-time zero to the build posture (`held`), and
    /// the bodies with them.
    fn set_joint_coordinates(&mut self) {
        let set = |world: &mut PhysicsWorld, servo: &Servo, value: f64| {
            if let Some(joint) = joint_mut(world, servo) {
                let now = joint.coords()[servo.coordinate] as f64;
                joint.apply_displacement(&[(value - now) as f32]);
            }
        };
        for s in &self.servos {
            set(&mut self.world, &s.servo, self.held[s.dof]);
        }
        for m in &self.mimics {
            let leader = self.held[self.servos[m.leader].dof];
            set(&mut self.world, &m.servo, m.multiplier * leader + m.offset);
        }
        // Welded joints can split the robot into several multibodies (one per driven subtree
        // of a fixed body): update each (repeats are harmless, this runs once).
        let joints = self.servos.iter().map(|s| s.servo.joint);
        for joint in joints.chain(self.mimics.iter().map(|m| m.servo.joint)) {
            if let Some((mb, _)) = self.world.multibody_joints.get_mut(joint) {
                mb.forward_kinematics(&self.world.bodies, true);
                mb.update_rigid_bodies(&mut self.world.bodies, true);
            }
        }
    }

    /// Adds a box: `mass_kg` None for a fixed one (a table), else a dynamic object. Returns its
    /// index for [`Sim::object_pose`].
    pub fn add_box(
        &mut self,
        name: &str,
        world_from_box: &ModelPose,
        size: Vector3<f64>,
        mass_kg: Option<f64>,
    ) -> usize {
        let body = match mass_kg {
            Some(_) => RigidBodyBuilder::dynamic().can_sleep(false),
            None => RigidBodyBuilder::fixed(),
        }
        .pose(convert::pose(world_from_box));
        let handle = self.world.insert_body(body);
        let half = size / 2.0;
        let mut builder = ColliderBuilder::cuboid(half.x as f32, half.y as f32, half.z as f32)
            .friction(1.0)
            .collision_groups(groups(SCENE, Group::ALL));
        if let Some(m) = mass_kg {
            builder = builder.mass(m as f32);
        }
        self.world.insert_collider(builder, Some(handle));
        self.objects.push((name.to_string(), handle));
        self.objects.len() - 1
    }

    /// `world_from_object` of an object added with [`Sim::add_box`].
    pub fn object_pose(&self, index: usize) -> ModelPose {
        convert::pose_from_rapier(self.world.bodies[self.objects[index].1].position())
    }

    /// Link pairs more than two joints apart whose collision geometry touches at the start
    /// posture: with self-collision on they would push each other apart from the first step, so
    /// they never collide; every other pair more than two joints apart does.
    pub fn resting_contacts(&self) -> &[(LinkId, LinkId)] {
        &self.self_collision.resting
    }

    /// Turns collisions between the robot's own links on or off (off when built). On, every
    /// pair of links collides except those of [`Sim::resting_contacts`] and bodies within two
    /// joints of each other. It costs time: the bundled humanoid ran 23 % slower with it, G1
    /// 59 % (2026-12-04), so profiles ask for it (`self_collision = true`).
    pub fn set_self_collision(&mut self, on: bool) {
        self.self_collision.on = on;
        let (filter, hooks) = if on {
            (SCENE | ROBOT, ActiveHooks::FILTER_CONTACT_PAIRS)
        } else {
            (SCENE, ActiveHooks::empty())
        };
        for &c in self.link_colliders.iter().flatten() {
            if let Some(collider) = self.world.colliders.get_mut(c) {
                collider.set_collision_groups(groups(ROBOT, filter));
                collider.set_active_hooks(hooks);
            }
        }
    }

    /// Whether gravity pulls on the robot's own links (it always does on the objects): off, the
    /// links weigh nothing, as on a counterbalanced or gravity-compensated robot, while their
    /// inertia and the servos' effort limits stay.
    pub fn set_gravity_compensation(&mut self, on: bool) {
        let scale = if on { 0.0 } else { 1.0 };
        for &body in &self.link_bodies {
            if let Some(body) = self.world.bodies.get_mut(body) {
                body.set_gravity_scale(scale, true);
            }
        }
    }

    /// `world_from_link` of a model link as simulated.
    pub fn link_pose(&self, link: LinkId) -> ModelPose {
        convert::pose_from_rapier(self.world.bodies[self.link_bodies[link]].position())
            * self.body_from_link[link]
    }

    /// Simulated time (s).
    pub fn time_s(&self) -> f64 {
        self.time_s
    }

    /// Advances the physics by whole 1 kHz steps covering `seconds`. Each step first moves every
    /// servo's target towards the wanted position by at most its velocity limit.
    pub fn advance(&mut self, seconds: f64) {
        let steps = (seconds / PHYSICS_DT).round().max(0.0) as usize;
        for _ in 0..steps {
            if self.damped {
                self.damped_step();
                continue;
            }
            // The target's own rate goes in as the servo's velocity feed-forward: without it a
            // PD servo lags a moving target and then overshoots its speed catching up.
            for (i, s) in self.servos.iter().enumerate() {
                let servo = &s.servo;
                let step = servo.velocity * PHYSICS_DT;
                let goal = self.wanted[i].clamp(servo.lower, servo.upper);
                let moved = (goal - self.target[i]).clamp(-step, step);
                self.target[i] += moved;
                self.target_rate[i] = moved / PHYSICS_DT;
                // Integral action: a PD servo alone sags under gravity (≈ 1° at the shoulder).
                // Only while the target rests: integrating the lag of a moving target winds up
                // and overshoots the velocity limit.
                let (position, _) = self.joint_state(servo);
                if position.is_finite() && moved == 0.0 {
                    self.integral[i] = (self.integral[i]
                        + self.gains.integral * PHYSICS_DT * (self.target[i] - position))
                        .clamp(-INTEGRAL_LIMIT, INTEGRAL_LIMIT);
                }
            }
            let gains = self.gains;
            let set_motor = |world: &mut PhysicsWorld, servo: &Servo, target: f64, rate: f64| {
                if let Some(joint) = joint_mut(world, servo) {
                    joint.data.set_motor(
                        servo.axis,
                        target as f32,
                        rate as f32,
                        gains.stiffness as f32,
                        gains.damping as f32,
                    );
                }
            };
            for (i, s) in self.servos.iter().enumerate() {
                let target = self.target[i] + self.integral[i];
                set_motor(&mut self.world, &s.servo, target, self.target_rate[i]);
            }
            for m in &self.mimics {
                let target = (m.multiplier * self.target[m.leader] + m.offset)
                    .clamp(m.servo.lower, m.servo.upper);
                let rate = m.multiplier * self.target_rate[m.leader];
                set_motor(&mut self.world, &m.servo, target, rate);
            }
            self.physics_step();
        }
    }

    /// One physics step; with self-collision on, through its pair filter.
    fn physics_step(&mut self) {
        if self.self_collision.on {
            self.world.step_with_events(&self.self_collision, &());
        } else {
            self.world.step();
        }
        self.efforts.after_step(&self.world.bodies, PHYSICS_DT);
        self.time_s += PHYSICS_DT;
    }

    /// One physics step with the servos off and only their damping on; the targets follow the
    /// joints, so position control resumes where they are, without a jump.
    fn damped_step(&mut self) {
        let damping = self.gains.damping as f32;
        let servos = self.servos.iter().map(|s| &s.servo);
        for servo in servos.chain(self.mimics.iter().map(|m| &m.servo)) {
            if let Some(joint) = joint_mut(&mut self.world, servo) {
                joint.data.set_motor(servo.axis, 0.0, 0.0, 0.0, damping);
            }
        }
        self.physics_step();
        for i in 0..self.servos.len() {
            let (position, _) = self.joint_state(&self.servos[i].servo);
            if position.is_finite() {
                self.target[i] = position;
                self.wanted[i] = position;
            }
            self.target_rate[i] = 0.0;
            self.integral[i] = 0.0;
        }
    }

    /// |Σ contact impulses| / dt on a link's colliders over the last step (N), from the link's
    /// own side.
    fn contact_force(&self, link: LinkId) -> f64 {
        let mut impulse = Vector::ZERO;
        for &collider in &self.link_colliders[link] {
            for pair in self.world.narrow_phase.contact_pairs_with(collider) {
                // The impulse pushes collider1 away from collider2 along the normal (1 → 2).
                let sign = if pair.collider1 == collider {
                    -1.0
                } else {
                    1.0
                };
                impulse += pair.total_impulse() * sign;
            }
        }
        impulse.length() as f64 / PHYSICS_DT
    }

    /// A joint's coordinate and rate as simulated.
    fn joint_state(&self, servo: &Servo) -> (f64, f64) {
        let state = || {
            let (mb, link) = self.world.multibody_joints.get(servo.joint)?;
            let l = mb.link(link)?;
            let position = l.joint.coords()[servo.coordinate] as f64;
            let velocity = mb.joint_velocity(l).get(0).copied().unwrap_or(0.0) as f64;
            Some((position, velocity))
        };
        state().unwrap_or((f64::NAN, f64::NAN))
    }
}

impl Robot for Sim {
    fn dof(&self) -> usize {
        self.held.len()
    }

    fn links(&self) -> usize {
        self.link_bodies.len()
    }

    fn objects(&self) -> usize {
        self.objects.len()
    }

    fn is_lock_step(&self) -> bool {
        true
    }

    fn step(&mut self, dt_s: f64) -> Result<(), robot::Error> {
        self.advance(dt_s);
        Ok(())
    }

    fn set_damped(&mut self, damped: bool) -> Result<(), robot::Error> {
        self.damped = damped;
        Ok(())
    }

    /// Welded dofs' entries are checked but otherwise ignored: they hold their build value.
    fn command(&mut self, positions: &[f64]) -> Result<(), robot::Error> {
        if positions.len() != self.held.len() {
            return Err(robot::Error::WrongLength {
                expected: self.held.len(),
                got: positions.len(),
            });
        }
        if !positions.iter().all(|v| v.is_finite()) {
            return Err(robot::Error::Backend(
                "a joint command was not finite; holding".into(),
            ));
        }
        for (wanted, s) in self.wanted.iter_mut().zip(&self.servos) {
            *wanted = positions[s.dof];
        }
        Ok(())
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), robot::Error> {
        out.time_ns = (self.time_s * 1e9) as u64;
        out.positions.copy_from_slice(&self.held);
        out.velocities.fill(0.0);
        for s in &self.servos {
            let (p, v) = self.joint_state(&s.servo);
            out.positions[s.dof] = p;
            out.velocities[s.dof] = v;
        }
        for l in 0..self.link_bodies.len() {
            out.contact_forces[l] = self.contact_force(l);
            out.link_poses[l] = self.link_pose(l);
        }
        // Welded dofs report no effort.
        out.efforts.fill(0.0);
        self.efforts
            .write(&self.world, PHYSICS_DT, &out.link_poses, &mut out.efforts);
        for (i, pose) in out.object_poses.iter_mut().enumerate() {
            *pose = self.object_pose(i);
        }
        Ok(())
    }
}
