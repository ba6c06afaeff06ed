//! One tip relative to one base: FK and the geometric Jacobian in a single pass.

use nalgebra::{Matrix6xX, Vector3};

use super::joint::{Motion, Source, model_source};
use super::{Error, Pose};
use crate::model::{JointId, LinkId, Model};

/// A movable joint on the path, with every fixed transform since the previous one folded in.
#[derive(Debug, Clone)]
struct Segment {
    /// From the previous segment's moved frame (or the base) to this joint's frame.
    previous_from_joint: Pose,
    motion: Motion,
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
            segments.push(Segment {
                previous_from_joint: pending,
                motion: Motion::of(joint),
                source: Source { var, ..source },
            });
            pending = Pose::identity();
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

    /// `base_from_tip` at `q`. Panics if `q.len() != self.dof()`.
    pub fn forward(&self, q: &[f64]) -> Pose {
        assert_eq!(q.len(), self.dof(), "chain q has one entry per chain dof");
        let mut base_from_frame = Pose::identity();
        for s in &self.segments {
            let value = s.source.multiplier * q[s.source.var] + s.source.offset;
            base_from_frame = base_from_frame * s.previous_from_joint * s.motion.pose(value);
        }
        base_from_frame * self.last_from_tip
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
        let mut base_from_frame = Pose::identity();
        for s in &self.segments {
            let base_from_joint = base_from_frame * s.previous_from_joint;
            let m = s.source.multiplier;
            let mut column = jacobian.column_mut(s.source.var);
            match s.motion {
                // A revolute column is [a × (p_tip − o); a]. p_tip is not known yet, so store
                // o × a now and add a × p_tip once it is (linear in a, so sums of mimics work).
                Motion::Revolute(axis) => {
                    let a: Vector3<f64> = base_from_joint.rotation * axis.into_inner();
                    let o = base_from_joint.translation.vector;
                    let lin = o.cross(&a) * m;
                    for k in 0..3 {
                        column[k] += lin[k];
                        column[k + 3] += a[k] * m;
                    }
                }
                Motion::Prismatic(axis) => {
                    let a: Vector3<f64> = base_from_joint.rotation * axis.into_inner();
                    for k in 0..3 {
                        column[k] += a[k] * m;
                    }
                }
                Motion::Fixed => {}
            }
            let value = m * q[s.source.var] + s.source.offset;
            base_from_frame = base_from_joint * s.motion.pose(value);
        }
        let base_from_tip = base_from_frame * self.last_from_tip;
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
