//! One joint's motion as FK needs it: where its value comes from in `q`, and how it moves.

use nalgebra::{Matrix3, Rotation3, Translation3, Unit, Vector3};

use super::Pose;
use super::trig::sin_cos;
use crate::model::{Joint, JointKind, Model};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Motion {
    Fixed,
    Revolute(Unit<Vector3<f64>>),
    Prismatic(Unit<Vector3<f64>>),
}

/// `value = multiplier · q[var] + offset`; for independent joints multiplier 1, offset 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Source {
    pub var: usize,
    pub multiplier: f64,
    pub offset: f64,
}

impl Motion {
    pub fn of(joint: &Joint) -> Motion {
        match joint.kind {
            JointKind::Fixed => Motion::Fixed,
            JointKind::Revolute | JointKind::Continuous => Motion::Revolute(joint.axis),
            JointKind::Prismatic => Motion::Prismatic(joint.axis),
        }
    }

    /// `joint_from_child` at joint value `value`.
    #[inline]
    pub fn pose(self, value: f64) -> Pose {
        match self {
            Motion::Fixed => Pose::identity(),
            Motion::Revolute(axis) => {
                // Rodrigues: R = c·I + s·[a]× + (1 − c)·a·aᵀ.
                let (s, c) = sin_cos(value);
                let a = axis.into_inner();
                let rotation =
                    Matrix3::identity() * c + a.cross_matrix() * s + a * a.transpose() * (1.0 - c);
                Pose::from_parts(
                    Translation3::identity(),
                    Rotation3::from_matrix_unchecked(rotation),
                )
            }
            Motion::Prismatic(axis) => Pose::from_parts(
                Translation3::from(axis.into_inner() * value),
                Rotation3::identity(),
            ),
        }
    }
}

/// Where a joint's value comes from, as an index into the model's `q`. `None` for fixed joints.
pub(crate) fn model_source(model: &Model, joint: usize) -> Option<Source> {
    let j = &model.joints[joint];
    if !j.kind.is_movable() {
        return None;
    }
    let (leader, multiplier, offset) = j
        .mimic
        .map_or((joint, 1.0, 0.0), |m| (m.leader, m.multiplier, m.offset));
    model.dof_of_joint[leader].map(|var| Source {
        var,
        multiplier,
        offset,
    })
}
