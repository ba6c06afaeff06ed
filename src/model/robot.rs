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
    /// Link and joint ids by name, so looking names up stays linear in how many are looked up
    /// (a 50,000-joint URDF named joint by joint would otherwise be quadratic). Checked against
    /// `links`/`joints` on use, so editing those fields cannot make a lookup wrong.
    pub(crate) names: Names,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    pub(crate) links: std::collections::HashMap<String, LinkId>,
    pub(crate) joints: std::collections::HashMap<String, JointId>,
}

impl Names {
    pub(crate) fn new(links: &[Link], joints: &[Joint]) -> Names {
        let links = links.iter().map(|l| &l.name);
        let joints = joints.iter().map(|j| &j.name);
        Names {
            links: links.cloned().zip(0..).collect(),
            joints: joints.cloned().zip(0..).collect(),
        }
    }
}

impl Model {
    pub const ROOT: LinkId = 0;

    pub fn root(&self) -> &Link {
        &self.links[Self::ROOT]
    }

    pub fn link_id(&self, name: &str) -> Option<LinkId> {
        match self.names.links.get(name) {
            Some(&i) if self.links.get(i).is_some_and(|l| l.name == name) => Some(i),
            _ => self.links.iter().position(|l| l.name == name),
        }
    }

    pub fn joint_id(&self, name: &str) -> Option<JointId> {
        match self.names.joints.get(name) {
            Some(&i) if self.joints.get(i).is_some_and(|j| j.name == name) => Some(i),
            _ => self.joints.iter().position(|j| j.name == name),
        }
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
                (Some(m), None) => {
                    self.dof_of_joint[m.leader].map_or(0.0, |d| m.multiplier * q[d] + m.offset)
                }
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
    /// `tip`; `None` if `base` is not an ancestor of `tip`. Linear in the path's length.
    pub fn dofs_between(&self, base: LinkId, tip: LinkId) -> Option<Vec<JointId>> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
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
            if seen.insert(leader) {
                out.push(leader);
            }
        }
        None
    }

    /// At most this many chains are suggested (the first, by base then tip): a real robot has
    /// a few dozen; a generated tree of thousands of branches would otherwise make the list,
    /// and `inspect`'s output, grow with the square of its size.
    pub const MAX_SUGGESTED_CHAINS: usize = 1_000;

    /// Chains from the root to every leaf, and between consecutive branch points (links with
    /// two or more children) and leaves: on a humanoid these are the arms (torso → hand), legs
    /// (pelvis → foot) and fingers. Only chains that move; sorted by base, then tip; at most
    /// [`Model::MAX_SUGGESTED_CHAINS`]. Near-linear in the number of links.
    pub fn suggested_chains(&self) -> Vec<ChainSuggestion> {
        let n = self.links.len();
        let is_branch = |l: LinkId| self.links[l].child_joints.len() >= 2;
        let is_leaf = |l: LinkId| self.links[l].child_joints.is_empty();
        let parent = |l: LinkId| self.links[l].parent_joint.map(|j| self.joints[j].parent);
        // Links are stored parents first (depth-first from the root), so one forward pass
        // fills, per link: its depth, the nearest branch point (or the root) above it, and the
        // nearest moving joint above it (mimics count) with that joint's child's depth.
        let mut depth = vec![0usize; n];
        let mut branch_above = vec![Self::ROOT; n];
        let mut moving_above: Vec<Option<(JointId, usize)>> = vec![None; n];
        // Each entry is computed from its parent's, written before it: an index loop.
        #[allow(clippy::needless_range_loop)]
        for link in 1..n {
            let Some(p) = parent(link) else { continue };
            depth[link] = depth[p] + 1;
            branch_above[link] = if p == Self::ROOT || is_branch(p) {
                p
            } else {
                branch_above[p]
            };
            let joint = self.links[link].parent_joint;
            moving_above[link] = match joint {
                Some(j) if self.joints[j].kind.is_movable() || self.joints[j].mimic.is_some() => {
                    Some((j, depth[link]))
                }
                _ => moving_above[p],
            };
        }
        let mut candidates = Vec::new();
        for (link, &above) in branch_above.iter().enumerate().skip(1) {
            if is_leaf(link) {
                candidates.push((Self::ROOT, link));
            }
            if is_leaf(link) || is_branch(link) {
                candidates.push((above, link));
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        // Several tips fixed to one moving link (a torso's IMU, logo, camera) are one chain:
        // the same base and the same nearest moving joint above the tip.
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (base, tip) in candidates {
            let Some((joint, child_depth)) = moving_above[tip] else {
                continue;
            };
            // The joint moves the tip relative to the base only if it lies below the base.
            if child_depth <= depth[base] || !seen.insert((base, joint)) {
                continue;
            }
            if out.len() == Self::MAX_SUGGESTED_CHAINS {
                break;
            }
            let dof = self.dofs_between(base, tip).map_or(0, |d| d.len());
            if dof > 0 {
                out.push(ChainSuggestion { base, tip, dof });
            }
        }
        out
    }
}
