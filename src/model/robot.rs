//! The loaded robot: a tree of links joined by joints, in topological order.

use std::path::PathBuf;

use nalgebra::{IsometryMatrix3, Unit, Vector3};

use super::geometry::{Collision, Inertial, Visual};

/// Index into [`Model::links`].
pub type LinkId = usize;
/// Index into [`Model::joints`].
pub type JointId = usize;

/// How a joint moves its child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    /// Rotation about the axis, within position limits.
    Revolute,
    /// Rotation about the axis without position limits.
    Continuous,
    /// Translation along the axis.
    Prismatic,
    Fixed,
}

impl JointKind {
    pub fn name(self) -> &'static str {
        match self {
            JointKind::Revolute => "revolute",
            JointKind::Continuous => "continuous",
            JointKind::Prismatic => "prismatic",
            JointKind::Fixed => "fixed",
        }
    }

    pub fn is_movable(self) -> bool {
        self != JointKind::Fixed
    }
}

/// Limits of one joint (rad, rad/s, N·m for rotation; m, m/s, N for translation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointLimits {
    /// `None` for continuous joints.
    pub position: Option<(f64, f64)>,
    /// `None` where the URDF gives 0 or nothing (URDF uses 0 for "unknown").
    pub velocity: Option<f64>,
    pub effort: Option<f64>,
    /// From `<safety_controller soft_lower_limit soft_upper_limit>`, clipped to `position`.
    pub soft_position: Option<(f64, f64)>,
}

/// `position = multiplier · leader + offset`. The leader is always an independent joint: chains
/// of mimics in the URDF are folded into one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mimic {
    pub leader: JointId,
    pub multiplier: f64,
    pub offset: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Joint {
    pub name: String,
    pub kind: JointKind,
    pub parent: LinkId,
    pub child: LinkId,
    /// The joint frame at zero position, in the parent link's frame (URDF `<origin>`).
    pub parent_from_joint: IsometryMatrix3<f64>,
    /// Unit axis in the joint frame.
    pub axis: Unit<Vector3<f64>>,
    pub limits: JointLimits,
    pub mimic: Option<Mimic>,
}

impl Joint {
    /// Moves on its own (not fixed, not a mimic): one entry of the model's configuration.
    pub fn is_independent(&self) -> bool {
        self.kind.is_movable() && self.mimic.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub name: String,
    /// `None` for the root only.
    pub parent_joint: Option<JointId>,
    pub child_joints: Vec<JointId>,
    pub visuals: Vec<Visual>,
    pub collisions: Vec<Collision>,
    pub inertial: Option<Inertial>,
}

/// A validated robot: one root, every other link with exactly one parent joint.
///
/// Links are in depth-first order from the root (a parent always comes before its children);
/// `joints[i]` is the parent joint of `links[i + 1]`.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    /// The URDF file it came from, when loaded from a file.
    pub source: Option<PathBuf>,
    pub links: Vec<Link>,
    pub joints: Vec<Joint>,
    /// The independent joints, in `joints` order: the model's configuration vector `q` has one
    /// entry per element, in this order.
    pub dofs: Vec<JointId>,
    /// For each joint, its index in `dofs` if it is independent.
    pub dof_of_joint: Vec<Option<usize>>,
}

impl Model {
    pub const ROOT: LinkId = 0;

    pub fn root(&self) -> &Link {
        &self.links[Self::ROOT]
    }

    pub fn link_id(&self, name: &str) -> Option<LinkId> {
        self.links.iter().position(|l| l.name == name)
    }

    pub fn joint_id(&self, name: &str) -> Option<JointId> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// Number of independent joints (the length of `q`).
    pub fn dof(&self) -> usize {
        self.dofs.len()
    }

    /// Names of the independent joints, in `q` order.
    pub fn dof_names(&self) -> impl Iterator<Item = &str> {
        self.dofs.iter().map(|&j| self.joints[j].name.as_str())
    }

    /// Links from `from` up to the root, `from` first.
    pub fn ancestors(&self, from: LinkId) -> impl Iterator<Item = LinkId> + '_ {
        std::iter::successors(Some(from), |&l| {
            self.links[l].parent_joint.map(|j| self.joints[j].parent)
        })
    }

    /// The position of every joint for a configuration: independent joints copied from `q`,
    /// mimic joints derived from their leader, fixed joints 0.
    pub fn joint_positions(&self, q: &[f64], out: &mut [f64]) {
        for ((joint, dof), value) in self.joints.iter().zip(&self.dof_of_joint).zip(out) {
            *value = match (joint.mimic, *dof) {
                (_, Some(dof)) => q[dof],
                (Some(m), None) => match self.dof_of_joint[m.leader] {
                    Some(dof) => m.multiplier * q[dof] + m.offset,
                    None => 0.0,
                },
                (None, None) => 0.0,
            };
        }
    }
}

/// A chain worth offering to a user: `base` is an ancestor of `tip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSuggestion {
    pub base: LinkId,
    pub tip: LinkId,
    /// Independent joints moving the tip relative to the base.
    pub dof: usize,
}

impl Model {
    /// Independent joints (mimics counted as their leader) on the path from `base` down to
    /// `tip`; `None` if `base` is not an ancestor of `tip`.
    pub fn dofs_between(&self, base: LinkId, tip: LinkId) -> Option<Vec<JointId>> {
        let mut out = Vec::new();
        for link in self.ancestors(tip) {
            if link == base {
                out.reverse();
                return Some(out);
            }
            let joint = self.links[link].parent_joint?;
            let leader = match self.joints[joint].mimic {
                Some(m) => m.leader,
                None if self.joints[joint].kind.is_movable() => joint,
                None => continue,
            };
            if !out.contains(&leader) {
                out.push(leader);
            }
        }
        None
    }

    /// Chains from the root to every leaf, and between consecutive branch points (links with
    /// two or more children) and leaves: on a humanoid these are the arms (torso → hand), legs
    /// (pelvis → foot) and fingers. Only chains that move; sorted by base, then tip.
    pub fn suggested_chains(&self) -> Vec<ChainSuggestion> {
        let is_branch = |l: LinkId| self.links[l].child_joints.len() >= 2;
        let is_leaf = |l: LinkId| self.links[l].child_joints.is_empty();
        let mut out = Vec::new();
        let mut push = |base: LinkId, tip: LinkId| {
            let dof = self.dofs_between(base, tip).map_or(0, |d| d.len());
            let suggestion = ChainSuggestion { base, tip, dof };
            if dof > 0 && !out.contains(&suggestion) {
                out.push(suggestion);
            }
        };
        for link in 1..self.links.len() {
            if is_leaf(link) {
                push(Self::ROOT, link);
            }
            if is_leaf(link) || is_branch(link) {
                let base = self
                    .ancestors(link)
                    .skip(1)
                    .find(|&a| a == Self::ROOT || is_branch(a))
                    .unwrap_or(Self::ROOT);
                push(base, link);
            }
        }
        out.sort_by_key(|c| (c.base, c.tip));
        // Several tips fixed to one moving link (a torso's IMU, logo, camera) are one chain.
        let mut seen: Vec<(LinkId, Vec<JointId>)> = Vec::new();
        out.retain(|c| {
            let key = (c.base, self.dofs_between(c.base, c.tip).unwrap_or_default());
            let new = !seen.contains(&key);
            seen.push(key);
            new
        });
        out
    }
}
