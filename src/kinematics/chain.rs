//! One tip relative to one base: FK and the geometric Jacobian in a single pass.

use nalgebra::{Matrix3, Matrix6xX, Rotation3, Vector3};

use super::joint::{Motion, Source, model_source};
use super::trig::sin_cos;
use super::{Error, Pose};
use crate::model::{JointId, LinkId, Model};

/// A movable joint on the path, with every fixed transform since the previous one folded in,
/// and its frame turned so that its axis is +z: then moving it rotates two columns (or shifts
/// along one), where a general axis would cost a full 3×3 product.
#[derive(Debug, Clone)]
struct Segment {
    /// From the previous segment's moved frame (or the base) to this joint's z-axis frame.
    previous_from_joint: Pose,
    prismatic: bool,
    /// `source.var` indexes the chain's own `q` ([`Chain::dofs`]).
    source: Source,
}

/// The kinematic chain from `base` down to `tip`, compiled to flat arrays.
///
/// Its configuration has one entry per independent joint that moves the tip ([`Chain::dofs`]),
/// in path order; a mimic joint on the path adds its motion to its leader's entry.
#[derive(Debug, Clone)]
pub struct Chain {
    base: LinkId,
    tip: LinkId,
    segments: Vec<Segment>,
    last_from_tip: Pose,
    dofs: Vec<JointId>,
    model_vars: Vec<usize>,
}

impl Chain {
    /// The chain between two links by name; `base` must be an ancestor of `tip`.
    pub fn new(model: &Model, base: &str, tip: &str) -> Result<Chain, Error> {
        let find = |name: &str| {
            model
                .link_id(name)
                .ok_or_else(|| Error::UnknownLink(name.to_owned()))
        };
        let (base_id, tip_id) = (find(base)?, find(tip)?);
        let mut path: Vec<JointId> = Vec::new();
        let mut link = tip_id;
        while link != base_id {
            let Some(joint) = model.links[link].parent_joint else {
                return Err(Error::NotAnAncestor {
                    base: base.to_owned(),
                    tip: tip.to_owned(),
                });
            };
            path.push(joint);
            link = model.joints[joint].parent;
        }
        path.reverse();

        let mut segments = Vec::new();
        let mut dofs: Vec<JointId> = Vec::new();
        let mut model_vars = Vec::new();
        let mut pending = Pose::identity();
        for &j in &path {
            let joint = &model.joints[j];
            pending *= joint.parent_from_joint;
            let Some(source) = model_source(model, j) else {
                continue;
            };
            let leader = model.dofs[source.var];
            let var = dofs.iter().position(|&d| d == leader).unwrap_or_else(|| {
                dofs.push(leader);
                model_vars.push(source.var);
                dofs.len() - 1
            });
            let (axis, prismatic) = match Motion::of(joint) {
                Motion::Revolute(axis) => (axis, false),
                Motion::Prismatic(axis) => (axis, true),
                Motion::Fixed => continue,
            };
            // joint_from_z_frame maps +z onto the axis; the motion about the axis equals
            // joint_from_z_frame · motion about z · z_frame_from_joint.
            let joint_from_z_frame = Rotation3::rotation_between(&Vector3::z(), &axis)
                .unwrap_or_else(|| {
                    Rotation3::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI)
                });
            segments.push(Segment {
                previous_from_joint: pending * joint_from_z_frame,
                prismatic,
                source: Source { var, ..source },
            });
            pending = Pose::from_parts(Default::default(), joint_from_z_frame.inverse());
        }
        Ok(Chain {
            base: base_id,
            tip: tip_id,
            segments,
            last_from_tip: pending,
            dofs,
            model_vars,
        })
    }

    /// The same chain ending at a point `tool` (in the tip link's frame) instead of the tip
    /// link's origin: [`Chain::forward`] and the Jacobian are then the tool point's.
    pub fn with_tool(mut self, tool: &Vector3<f64>) -> Chain {
        self.last_from_tip *= Pose::from_parts((*tool).into(), Default::default());
        self
    }

    pub fn base(&self) -> LinkId {
        self.base
    }

    pub fn tip(&self) -> LinkId {
        self.tip
    }

    /// Number of entries in this chain's `q`.
    pub fn dof(&self) -> usize {
        self.dofs.len()
    }

    /// The independent joints this chain's `q` holds, in order.
    pub fn dofs(&self) -> &[JointId] {
        &self.dofs
    }

    /// For each entry of this chain's `q`, its index in the model's `q`.
    pub fn model_vars(&self) -> &[usize] {
        &self.model_vars
    }

    /// `base_from_tip` (of the tool point, [`Chain::with_tool`]) at `q`. Panics if
    /// `q.len() != self.dof()`.
    pub fn forward(&self, q: &[f64]) -> Pose {
        assert_eq!(q.len(), self.dof(), "chain q has one entry per chain dof");
        let mut frame = Frame::identity();
        for_each_segment(&self.segments, q, |s, motion| {
            frame.append(&s.previous_from_joint);
            frame.move_joint(s, motion);
        });
        frame.into_pose() * self.last_from_tip
    }

    /// `base_from_tip` at `q`, and the geometric Jacobian of the tip written into `jacobian`:
    /// rows 0–2 the linear velocity of the tip's origin, rows 3–5 the angular velocity, both in
    /// the base frame. Panics if `q.len()` or `jacobian.ncols()` differ from `self.dof()`.
    pub fn forward_with_jacobian(&self, q: &[f64], jacobian: &mut Matrix6xX<f64>) -> Pose {
        assert_eq!(q.len(), self.dof(), "chain q has one entry per chain dof");
        assert_eq!(
            jacobian.ncols(),
            self.dof(),
            "one Jacobian column per chain dof"
        );
        jacobian.fill(0.0);
        let mut frame = Frame::identity();
        for_each_segment(&self.segments, q, |s, motion| {
            frame.append(&s.previous_from_joint);
            let m = s.source.multiplier;
            // The axis in the base frame is the z column, before and after the joint moves.
            let a = frame.rotation.column(2).into_owned();
            let mut column = jacobian.column_mut(s.source.var);
            if s.prismatic {
                for k in 0..3 {
                    column[k] += a[k] * m;
                }
            } else {
                // A revolute column is [a × (p_tip − o); a]. p_tip is not known yet, so store
                // o × a now and add a × p_tip once it is (linear in a, so sums of mimics work).
                let lin = frame.translation.cross(&a) * m;
                for k in 0..3 {
                    column[k] += lin[k];
                    column[k + 3] += a[k] * m;
                }
            }
            frame.move_joint(s, motion);
        });
        let base_from_tip = frame.into_pose() * self.last_from_tip;
        let p = base_from_tip.translation.vector;
        for mut column in jacobian.column_iter_mut() {
            let angular = Vector3::new(column[3], column[4], column[5]);
            let add = angular.cross(&p);
            for k in 0..3 {
                column[k] += add[k];
            }
        }
        base_from_tip
    }
}

/// `(sin, cos)` of a revolute joint's value, `(value, _)` of a prismatic one's.
type JointMotion = (f64, f64);

/// Calls `f` on each segment in order with its motion. The sines and cosines are worked out a
/// batch ahead: they do not depend on each other, so the CPU overlaps them, where computed one
/// per step they would sit on the chain's critical path.
#[inline(always)]
fn for_each_segment(segments: &[Segment], q: &[f64], mut f: impl FnMut(&Segment, JointMotion)) {
    const BATCH: usize = 16;
    let mut motions = [(0.0, 0.0); BATCH];
    for batch in segments.chunks(BATCH) {
        for (s, motion) in batch.iter().zip(motions.iter_mut()) {
            let value = s.source.multiplier * q[s.source.var] + s.source.offset;
            *motion = if s.prismatic {
                (value, 0.0)
            } else {
                sin_cos(value)
            };
        }
        for (s, &motion) in batch.iter().zip(motions.iter()) {
            f(s, motion);
        }
    }
}

/// `base_from_frame` while walking the chain, as a bare matrix and vector (no normalisation,
/// no wrapper types in the hot loop).
struct Frame {
    rotation: Matrix3<f64>,
    translation: Vector3<f64>,
}

impl Frame {
    fn identity() -> Frame {
        Frame {
            rotation: Matrix3::identity(),
            translation: Vector3::zeros(),
        }
    }

    /// `self = self · frame_from_next`.
    #[inline(always)]
    fn append(&mut self, frame_from_next: &Pose) {
        self.translation += self.rotation * frame_from_next.translation.vector;
        self.rotation *= frame_from_next.rotation.matrix();
    }

    /// Moves a z-axis joint: rotate columns 0 and 1 about z, or shift along column 2.
    #[inline(always)]
    fn move_joint(&mut self, segment: &Segment, motion: JointMotion) {
        if segment.prismatic {
            self.translation += self.rotation.column(2) * motion.0;
        } else {
            let (s, c) = motion;
            let x = self.rotation.column(0).into_owned();
            let y = self.rotation.column(1).into_owned();
            self.rotation.set_column(0, &(x * c + y * s));
            self.rotation.set_column(1, &(y * c - x * s));
        }
    }

    fn into_pose(self) -> Pose {
        Pose::from_parts(
            self.translation.into(),
            Rotation3::from_matrix_unchecked(self.rotation),
        )
    }
}
