//! The simulated robot: the model as a rapier multibody (reduced coordinates, so the chain cannot
//! drift apart) on a fixed base, each joint a PD position servo with the URDF's effort limit,
//! in a scene of boxes (floor, table, objects). Physics at a fixed 1 kHz step, as fast as the CPU
//! allows (the caller decides real time or not).
//!
//! What rapier does not do for a robot, done here: velocity limits (each servo's target moves at
//! most `velocity · dt` per physics step), mimic joints (their servos follow the leader's
//! target), and joint limits from the URDF. Robot links do not collide with each other (the IK
//! keeps the arms apart; self-contacts between touching links would fight the servos), only
//! with the scene. Meshes in `<collision>` are left out (boxes, cylinders, spheres and capsules
//! are used); the bundled humanoid has none.

mod convert;

use ::nalgebra::Vector3;
use rapier3d::prelude::*;

pub use convert::{pose as to_rapier_pose, pose_from_rapier};

use crate::kinematics::{Pose as ModelPose, Tree};
use crate::model::{JointKind, LinkId, Model, Shape};
use crate::robot::{self, Robot, RobotState};

/// Physics step (s): 1 kHz, twice the control rate, stiff enough for 1 cm fingers.
pub const PHYSICS_DT: f64 = 1e-3;

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

/// A mimic joint's servo, following `multiplier · leader + offset`.
#[derive(Debug, Clone, Copy)]
struct MimicServo {
    servo: Servo,
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
    gains: ServoGains,
    link_bodies: Vec<RigidBodyHandle>,
    servos: Vec<Servo>,
    mimics: Vec<MimicServo>,
    /// Positions asked for, and the servo targets moving towards them within velocity limits.
    wanted: Vec<f64>,
    target: Vec<f64>,
    target_rate: Vec<f64>,
    /// Each servo's integral correction (rad or m).
    integral: Vec<f64>,
    time_s: f64,
    objects: Vec<(String, RigidBodyHandle)>,
}

/// The multibody joint a servo drives.
fn joint_mut<'a>(world: &'a mut PhysicsWorld, servo: &Servo) -> Option<&'a mut MultibodyJoint> {
    let (mb, link) = world.multibody_joints.get_mut(servo.joint)?;
    Some(&mut mb.link_mut(link)?.joint)
}

fn groups(member: Group, filter: Group) -> InteractionGroups {
    InteractionGroups::new(member, filter, InteractionTestMode::And)
}

/// A collider for a URDF shape, positioned in its link's frame; `None` for meshes.
fn collider(shape: &Shape, link_from_shape: &ModelPose) -> Option<ColliderBuilder> {
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
        Shape::Mesh(_) => return None,
    };
    let mut pose = *link_from_shape;
    if let Some(r) = shape_from_rapier {
        pose.rotation *= r;
    }
    Some(builder.position(convert::pose(&pose)))
}

impl Sim {
    /// The model at `q` (model order), its root fixed at `world_from_root`, on a floor at z = 0.
    pub fn new(
        model: &Model,
        q: &[f64],
        world_from_root: &ModelPose,
        gains: ServoGains,
    ) -> Result<Sim, Error> {
        if q.len() != model.dof() {
            return Err(Error::WrongLength {
                expected: model.dof(),
                got: q.len(),
            });
        }
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::new(0.0, 0.0, -9.81);
        world.integration_parameters.dt = PHYSICS_DT as f32;
        let floor = world.insert_body(RigidBodyBuilder::fixed());
        world.insert_collider(
            ColliderBuilder::cuboid(5.0, 5.0, 0.05)
                .translation(Vector::new(0.0, 0.0, -0.05))
                .collision_groups(groups(SCENE, Group::ALL))
                .friction(1.0),
            Some(floor),
        );
        // Links at their poses for q; every joint's value in full (mimics included).
        let tree = Tree::new(model);
        let mut root_from_link = vec![ModelPose::identity(); tree.link_count()];
        tree.forward(q, &mut root_from_link);
        let mut link_bodies = Vec::with_capacity(model.links.len());
        for (l, link) in model.links.iter().enumerate() {
            let world_from_link = world_from_root * root_from_link[l];
            let mut body = if l == Model::ROOT {
                RigidBodyBuilder::fixed()
            } else {
                RigidBodyBuilder::dynamic()
            }
            .pose(convert::pose(&world_from_link))
            .can_sleep(false);
            if let Some(inertial) = &link.inertial {
                let [ixx, _, _, iyy, _, izz] = inertial.inertia;
                let com = convert::pose(&inertial.link_from_com);
                body =
                    body.additional_mass_properties(MassProperties::with_principal_inertia_frame(
                        com.translation,
                        inertial.mass_kg.max(1e-3) as f32,
                        Vector::new(ixx as f32, iyy as f32, izz as f32).max(Vector::splat(1e-6)),
                        com.rotation,
                    ));
            }
            let handle = world.insert_body(body);
            for c in &link.collisions {
                if let Some(builder) = collider(&c.shape, &c.link_from_shape) {
                    world.insert_collider(
                        builder
                            .density(0.0)
                            .friction(1.0)
                            .collision_groups(groups(ROBOT, SCENE)),
                        Some(handle),
                    );
                }
            }
            link_bodies.push(handle);
        }
        let mut joint_values = vec![0.0; model.joints.len()];
        model.joint_positions(q, &mut joint_values);
        let mut servos: Vec<Option<Servo>> = vec![None; model.dof()];
        let mut mimics = Vec::new();
        for (j, joint) in model.joints.iter().enumerate() {
            let axis = joint.axis.into_inner();
            let frame_from_x = convert::x_to(&axis);
            let parent_frame = ModelPose::from_parts(
                joint.parent_from_joint.translation,
                joint.parent_from_joint.rotation * frame_from_x,
            );
            let child_frame = ModelPose::from_parts(Default::default(), frame_from_x);
            let (mask, joint_axis, coordinate) = match joint.kind {
                JointKind::Revolute | JointKind::Continuous => {
                    (JointAxesMask::LOCKED_REVOLUTE_AXES, JointAxis::AngX, 3)
                }
                JointKind::Prismatic => (JointAxesMask::LOCKED_PRISMATIC_AXES, JointAxis::LinX, 0),
                JointKind::Fixed => (JointAxesMask::LOCKED_FIXED_AXES, JointAxis::AngX, 3),
            };
            let (lower, upper) = joint
                .limits
                .position
                .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
            let mut builder = GenericJointBuilder::new(mask)
                .local_frame1(convert::pose(&parent_frame))
                .local_frame2(convert::pose(&child_frame));
            if joint.kind.is_movable() {
                let effort = joint.limits.effort.unwrap_or(1e3) as f32;
                builder = builder
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
            }
            let handle = world
                .insert_multibody_joint(
                    link_bodies[joint.parent],
                    link_bodies[joint.child],
                    builder.build(),
                )
                .ok_or_else(|| Error::Joint {
                    joint: joint.name.clone(),
                })?;
            if !joint.kind.is_movable() {
                continue;
            }
            let servo = Servo {
                joint: handle,
                coordinate,
                axis: joint_axis,
                lower,
                upper,
                velocity: joint.limits.velocity.unwrap_or(f64::INFINITY),
            };
            match (joint.mimic, model.dof_of_joint[j]) {
                (Some(m), _) => {
                    if let Some(leader) = model.dof_of_joint[m.leader] {
                        mimics.push(MimicServo {
                            servo,
                            leader,
                            multiplier: m.multiplier,
                            offset: m.offset,
                        });
                    }
                }
                (None, Some(var)) => servos[var] = Some(servo),
                (None, None) => {}
            }
        }
        let servos = servos
            .into_iter()
            .map(|s| s.expect("every independent movable joint is a model dof"))
            .collect();
        let mut sim = Sim {
            world,
            gains,
            link_bodies,
            servos,
            mimics,
            wanted: q.to_vec(),
            target: q.to_vec(),
            target_rate: vec![0.0; q.len()],
            integral: vec![0.0; q.len()],
            time_s: 0.0,
            objects: Vec::new(),
        };
        // Start the joints exactly at q (not at the links' build poses' implied zero).
        sim.set_joint_coordinates(q);
        Ok(sim)
    }

    /// Moves the joints to `q` (from their build-time zero) and the bodies with them.
    fn set_joint_coordinates(&mut self, q: &[f64]) {
        let set = |world: &mut PhysicsWorld, servo: &Servo, value: f64| {
            if let Some(joint) = joint_mut(world, servo) {
                let now = joint.coords()[servo.coordinate] as f64;
                joint.apply_displacement(&[(value - now) as f32]);
            }
        };
        for (servo, &value) in self.servos.iter().zip(q) {
            set(&mut self.world, servo, value);
        }
        for m in &self.mimics {
            set(
                &mut self.world,
                &m.servo,
                m.multiplier * q[m.leader] + m.offset,
            );
        }
        // The model is one tree: any joint's multibody is the whole robot.
        if let Some(servo) = self.servos.first()
            && let Some((mb, _)) = self.world.multibody_joints.get_mut(servo.joint)
        {
            mb.forward_kinematics(&self.world.bodies, true);
            mb.update_rigid_bodies(&mut self.world.bodies, true);
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

    /// `world_from_link` of a model link as simulated.
    pub fn link_pose(&self, link: LinkId) -> ModelPose {
        convert::pose_from_rapier(self.world.bodies[self.link_bodies[link]].position())
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
            // The target's own rate goes in as the servo's velocity feed-forward: without it a
            // PD servo lags a moving target and then overshoots its speed catching up.
            for (i, servo) in self.servos.iter().enumerate() {
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
            for (i, servo) in self.servos.iter().enumerate() {
                let target = self.target[i] + self.integral[i];
                set_motor(&mut self.world, servo, target, self.target_rate[i]);
            }
            for m in &self.mimics {
                let target = (m.multiplier * self.target[m.leader] + m.offset)
                    .clamp(m.servo.lower, m.servo.upper);
                let rate = m.multiplier * self.target_rate[m.leader];
                set_motor(&mut self.world, &m.servo, target, rate);
            }
            self.world.step();
            self.time_s += PHYSICS_DT;
        }
    }

    /// |Σ contact impulses| / dt on a body over the last step (N), from the body's own side.
    fn contact_force(&self, body: RigidBodyHandle) -> f64 {
        let mut impulse = Vector::ZERO;
        for &collider in self.world.bodies[body].colliders() {
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
        match self.world.multibody_joints.get(servo.joint) {
            Some((mb, link)) => match mb.link(link) {
                Some(l) => {
                    let position = l.joint.coords()[servo.coordinate] as f64;
                    let velocity = mb.joint_velocity(l).get(0).copied().unwrap_or(0.0) as f64;
                    (position, velocity)
                }
                None => (f64::NAN, f64::NAN),
            },
            None => (f64::NAN, f64::NAN),
        }
    }
}

impl Robot for Sim {
    fn dof(&self) -> usize {
        self.servos.len()
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

    fn command(&mut self, positions: &[f64]) -> Result<(), robot::Error> {
        if positions.len() != self.servos.len() {
            return Err(robot::Error::WrongLength {
                expected: self.servos.len(),
                got: positions.len(),
            });
        }
        if !positions.iter().all(|v| v.is_finite()) {
            return Err(robot::Error::Backend(
                "a joint command was not finite; holding".into(),
            ));
        }
        self.wanted.copy_from_slice(positions);
        Ok(())
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), robot::Error> {
        out.time_ns = (self.time_s * 1e9) as u64;
        for (i, servo) in self.servos.iter().enumerate() {
            let (p, v) = self.joint_state(servo);
            out.positions[i] = p;
            out.velocities[i] = v;
        }
        for (l, &body) in self.link_bodies.iter().enumerate() {
            out.contact_forces[l] = self.contact_force(body);
            out.link_poses[l] = self.link_pose(l);
        }
        for (i, pose) in out.object_poses.iter_mut().enumerate() {
            *pose = self.object_pose(i);
        }
        Ok(())
    }
}
