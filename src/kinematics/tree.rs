//! FK of every link of the model at once.

use std::collections::HashMap;

use super::joint::{Motion, Source, model_source};
use super::{Error, Pose};
use crate::model::Model;

#[derive(Debug, Clone)]
struct CompiledJoint {
    parent: usize,
    parent_from_joint: Pose,
    motion: Motion,
    source: Option<Source>,
}

/// The whole tree, compiled: `joints[i]` moves link `i + 1` (the model's order).
#[derive(Debug, Clone)]
pub struct Tree {
    joints: Vec<CompiledJoint>,
    dof: usize,
}

impl Tree {
    pub fn new(model: &Model) -> Tree {
        let joints = model
            .joints
            .iter()
            .enumerate()
            .map(|(j, joint)| CompiledJoint {
                parent: joint.parent,
                parent_from_joint: joint.parent_from_joint,
                motion: Motion::of(joint),
                source: model_source(model, j),
            })
            .collect();
        Tree {
            joints,
            dof: model.dof(),
        }
    }

    pub fn dof(&self) -> usize {
        self.dof
    }

    pub fn link_count(&self) -> usize {
        self.joints.len() + 1
    }

    /// Writes `root_from_link` for every link (model order) into `out`.
    ///
    /// Panics if `q.len() != self.dof()` or `out.len() != self.link_count()`: both are sized once
    /// by the caller, so a mismatch is a bug, not bad input.
    pub fn forward(&self, q: &[f64], out: &mut [Pose]) {
        assert_eq!(q.len(), self.dof, "q has one entry per independent joint");
        assert_eq!(out.len(), self.link_count(), "one output pose per link");
        out[0] = Pose::identity();
        for (i, joint) in self.joints.iter().enumerate() {
            let value = joint
                .source
                .map_or(0.0, |s| s.multiplier * q[s.var] + s.offset);
            // Links are ordered parents first, so out[parent] is already set.
            out[i + 1] = out[joint.parent] * joint.parent_from_joint * joint.motion.pose(value);
        }
    }
}

/// A configuration vector from joint names: missing joints at 0; unknown, fixed, mimic or
/// non-finite entries are errors.
pub fn q_from_named(model: &Model, named: &HashMap<String, f64>) -> Result<Vec<f64>, Error> {
    let mut q = vec![0.0; model.dof()];
    for (name, &value) in named {
        let joint = model
            .joint_id(name)
            .ok_or_else(|| Error::UnknownJoint(name.clone()))?;
        let Some(dof) = model.dof_of_joint[joint] else {
            let reason = match model.joints[joint].mimic {
                Some(m) => format!(
                    "it mimics '{}'; set that joint",
                    model.joints[m.leader].name
                ),
                None => "it is fixed".to_owned(),
            };
            return Err(Error::NotIndependent {
                joint: name.clone(),
                reason,
            });
        };
        if !value.is_finite() {
            return Err(Error::NotFinite {
                joint: name.clone(),
                value,
            });
        }
        q[dof] = value;
    }
    Ok(q)
}
