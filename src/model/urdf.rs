//! URDF text → validated [`Model`]: [`reader`](super::reader) reads the elements, this builds
//! the tree and checks what needs the whole document (links named by joints, one root, no loops,
//! limits, mimic joints).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nalgebra::{Unit, Vector3};
use tracing::warn;

use super::Error;
use super::geometry::{Collision, MeshRef, Rgba, Shape, Visual};
use super::mesh::{PackagePath, candidates};
use super::reader::{self, Description, GeometryDesc, JointDesc, LinkDesc};
use super::robot::{Joint, JointId, JointKind, JointLimits, Link, Mimic, Model};

/// How a URDF is read: where `package://` URIs are looked for.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub packages: PackagePath,
}

impl LoadOptions {
    /// Packages from `ROS_PACKAGE_PATH`.
    pub fn from_env() -> Self {
        Self {
            packages: PackagePath::from_env(),
        }
    }
}

impl Model {
    /// Loads and validates a URDF file; `package://` URIs resolve through `ROS_PACKAGE_PATH`
    /// and the file's ancestor folders.
    pub fn from_urdf_file(path: impl AsRef<Path>) -> Result<Model, Error> {
        Self::from_urdf_file_with(path, &LoadOptions::from_env())
    }

    pub fn from_urdf_file_with(
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<Model, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        // urdfdom's XML parser takes bytes as they come: a Latin-1 comment does not stop it.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut model = Self::from_urdf_str(&text, path, dir, options)?;
        model.source = Some(path.to_owned());
        Ok(model)
    }

    /// Parses URDF text. `name_for_errors` names it in messages; relative mesh paths resolve
    /// against `urdf_dir`.
    pub fn from_urdf_str(
        text: &str,
        name_for_errors: &Path,
        urdf_dir: &Path,
        options: &LoadOptions,
    ) -> Result<Model, Error> {
        let robot = reader::read(name_for_errors, text)?;
        Builder {
            path: name_for_errors,
            urdf_dir,
            options,
            robot: &robot,
        }
        .build()
    }
}

struct Builder<'a> {
    path: &'a Path,
    urdf_dir: &'a Path,
    options: &'a LoadOptions,
    robot: &'a Description,
}

impl Builder<'_> {
    fn path(&self) -> PathBuf {
        self.path.to_owned()
    }

    fn build(&self) -> Result<Model, Error> {
        let robot = self.robot;
        let link_index: HashMap<&str, usize> = robot
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.as_str(), i))
            .collect();

        // Tree structure in URDF indices.
        let mut parent_joint_of: Vec<Option<usize>> = vec![None; robot.links.len()];
        let mut children_of: Vec<Vec<usize>> = vec![Vec::new(); robot.links.len()];
        for (j, joint) in robot.joints.iter().enumerate() {
            let find = |role: &'static str, name: &str, line: u32| {
                link_index
                    .get(name)
                    .copied()
                    .ok_or_else(|| Error::MissingLink {
                        path: self.path(),
                        line,
                        joint: joint.name.clone(),
                        role,
                        link: name.to_owned(),
                    })
            };
            let parent = find("parent", &joint.parent, joint.parent_line)?;
            let child = find("child", &joint.child, joint.child_line)?;
            if let Some(first) = parent_joint_of[child] {
                return Err(Error::TwoParents {
                    path: self.path(),
                    line: joint.child_line,
                    link: joint.child.clone(),
                    first: robot.joints[first].name.clone(),
                    second: joint.name.clone(),
                });
            }
            parent_joint_of[child] = Some(j);
            children_of[parent].push(j);
        }
        let roots: Vec<usize> = (0..robot.links.len())
            .filter(|&l| parent_joint_of[l].is_none())
            .collect();
        if roots.len() != 1 {
            if roots.is_empty() && !robot.links.is_empty() {
                return Err(Error::Loop {
                    path: self.path(),
                    line: robot.joints.first().map_or(robot.line, |j| j.line),
                    links: robot.links.iter().map(|l| l.name.clone()).collect(),
                });
            }
            return Err(Error::NoSingleRoot {
                path: self.path(),
                // The first root too many, else (no links at all) the robot.
                line: roots.get(1).map_or(robot.line, |&l| robot.links[l].line),
                roots: roots.iter().map(|&l| robot.links[l].name.clone()).collect(),
            });
        }

        // Depth-first order from the root; links not reached sit on a loop.
        let mut order = Vec::with_capacity(robot.links.len());
        let mut stack = vec![roots[0]];
        while let Some(l) = stack.pop() {
            order.push(l);
            for &j in children_of[l].iter().rev() {
                stack.push(link_index[robot.joints[j].child.as_str()]);
            }
        }
        if order.len() != robot.links.len() {
            let mut reached = vec![false; robot.links.len()];
            order.iter().for_each(|&l| reached[l] = true);
            let on_loop: Vec<usize> = (0..robot.links.len()).filter(|&l| !reached[l]).collect();
            // Invariant: a link not reached from the single root has a parent joint (only the
            // root has none).
            let line = on_loop
                .iter()
                .filter_map(|&l| parent_joint_of[l])
                .map(|j| robot.joints[j].line)
                .min()
                .unwrap_or(robot.line);
            return Err(Error::Loop {
                path: self.path(),
                line,
                links: on_loop
                    .iter()
                    .map(|&l| robot.links[l].name.clone())
                    .collect(),
            });
        }
        let mut new_link_of = vec![0; robot.links.len()];
        for (new, &old) in order.iter().enumerate() {
            new_link_of[old] = new;
        }
        // joints[i] is the parent joint of links[i + 1]. Invariant for the expect below: the
        // depth-first walk reached every link from the single root, so each non-root link was
        // reached through its parent joint.
        let joint_order: Vec<usize> = order[1..]
            .iter()
            .map(|&l| parent_joint_of[l].expect("every non-root link has a parent joint"))
            .collect();

        let materials = self.named_materials();
        let mut links: Vec<Link> = order
            .iter()
            .map(|&old| self.link(&robot.links[old], &materials))
            .collect();
        let mut joints = Vec::with_capacity(joint_order.len());
        for (new, &old) in joint_order.iter().enumerate() {
            let joint = self.joint(&robot.joints[old], &new_link_of, &link_index)?;
            links[joint.parent].child_joints.push(new);
            links[joint.child].parent_joint = Some(new);
            joints.push(joint);
        }
        self.resolve_mimics(&mut joints)?;

        let dofs: Vec<JointId> = (0..joints.len())
            .filter(|&j| joints[j].is_independent())
            .collect();
        let mut dof_of_joint = vec![None; joints.len()];
        dofs.iter()
            .enumerate()
            .for_each(|(d, &j)| dof_of_joint[j] = Some(d));
        Ok(Model {
            name: robot.name.clone(),
            source: None,
            names: super::robot::Names::new(&links, &joints),
            links,
            joints,
            dofs,
            dof_of_joint,
        })
    }

    fn joint(
        &self,
        joint: &JointDesc,
        new_link_of: &[usize],
        link_index: &HashMap<&str, usize>,
    ) -> Result<Joint, Error> {
        let kind = joint.kind;
        let axis = if kind.is_movable() {
            let norm = joint.axis.norm();
            if norm < 1e-12 {
                return Err(Error::ZeroAxis {
                    path: self.path(),
                    line: joint.axis_line,
                    joint: joint.name.clone(),
                });
            }
            if (norm - 1.0).abs() > 1e-9 {
                warn!(joint = %joint.name, norm, "joint axis is not unit length; normalised");
            }
            Unit::new_normalize(joint.axis)
        } else {
            Vector3::x_axis()
        };

        if matches!(kind, JointKind::Revolute | JointKind::Prismatic) && joint.limit.is_none() {
            return Err(Error::MissingLimit {
                path: self.path(),
                line: joint.line,
                joint: joint.name.clone(),
                kind: kind.name(),
            });
        }
        let position = match (kind, &joint.limit) {
            (JointKind::Revolute | JointKind::Prismatic, Some(l)) => {
                if l.lower > l.upper {
                    return Err(Error::InvertedLimit {
                        path: self.path(),
                        line: l.line,
                        joint: joint.name.clone(),
                        lower: l.lower,
                        upper: l.upper,
                    });
                }
                Some((l.lower, l.upper))
            }
            _ => None,
        };
        // URDF's 0 is "not given".
        let positive = |v: f64| (v > 0.0).then_some(v);
        let soft_position = match (&joint.safety, position) {
            (None, _) => None,
            (Some(s), _) if s.soft_lower.is_none() && s.soft_upper.is_none() => None,
            // A bound the controller leaves out is the hard one.
            (Some(s), Some((lower, upper))) => Some((
                s.soft_lower.map_or(lower, |v| v.max(lower)),
                s.soft_upper.map_or(upper, |v| v.min(upper)),
            )),
            // A continuous joint is soft-limited only when both bounds are given.
            (Some(s), None) => s.soft_lower.zip(s.soft_upper),
        }
        .filter(|(lo, hi)| lo <= hi);

        Ok(Joint {
            name: joint.name.clone(),
            kind,
            parent: new_link_of[link_index[joint.parent.as_str()]],
            child: new_link_of[link_index[joint.child.as_str()]],
            parent_from_joint: joint.parent_from_joint,
            axis,
            limits: JointLimits {
                position,
                velocity: joint.limit.as_ref().and_then(|l| positive(l.velocity)),
                effort: joint.limit.as_ref().and_then(|l| positive(l.effort)),
                soft_position,
            },
            // Filled in by `resolve_mimics`, once every joint has its final index.
            mimic: None,
        })
    }

    /// Points every mimic at its ultimate independent leader, composing chained mimics.
    fn resolve_mimics(&self, joints: &mut [Joint]) -> Result<(), Error> {
        let by_name: HashMap<String, JointId> =
            joints.iter().map(|j| j.name.clone()).zip(0..).collect();
        // As written in the URDF: follower → (leader, multiplier, offset, line of <mimic>).
        let written: HashMap<&str, (&str, f64, f64, u32)> = self
            .robot
            .joints
            .iter()
            .filter_map(|j| {
                let m = j.mimic.as_ref()?;
                Some((
                    j.name.as_str(),
                    (m.joint.as_str(), m.multiplier, m.offset, m.line),
                ))
            })
            .collect();
        for joint in joints.iter_mut() {
            let Some(&(mut leader_name, mut multiplier, mut offset, line)) =
                written.get(joint.name.as_str())
            else {
                continue;
            };
            let mut visited = vec![joint.name.clone()];
            let mut follower_line = line;
            let leader = loop {
                let follower = visited.last().cloned().unwrap_or_default();
                let Some(&leader) = by_name.get(leader_name) else {
                    return Err(Error::MimicMissingJoint {
                        path: self.path(),
                        line: follower_line,
                        joint: follower,
                        leader: leader_name.to_owned(),
                    });
                };
                if visited.iter().any(|n| n == leader_name) {
                    return Err(Error::MimicCycle {
                        path: self.path(),
                        line,
                        joints: visited,
                    });
                }
                let Some(&(next, m2, o2, next_line)) = written.get(leader_name) else {
                    break leader;
                };
                // follower = m·(m2·x + o2) + o = (m·m2)·x + (m·o2 + o)
                offset += multiplier * o2;
                multiplier *= m2;
                visited.push(leader_name.to_owned());
                leader_name = next;
                follower_line = next_line;
            };
            if joints_kind(self.robot, leader_name) == Some(JointKind::Fixed) {
                return Err(Error::MimicFixedLeader {
                    path: self.path(),
                    line: follower_line,
                    joint: joint.name.clone(),
                    leader: leader_name.to_owned(),
                });
            }
            joint.mimic = Some(Mimic {
                leader,
                multiplier,
                offset,
            });
        }
        Ok(())
    }

    /// Each material name's colour as urdfdom assigns it: the first definition wins, top-level
    /// materials first, then those defined inside visuals (with a colour or a texture) in order.
    fn named_materials(&self) -> HashMap<&str, Option<Rgba>> {
        let mut out = HashMap::new();
        let inline = self
            .robot
            .links
            .iter()
            .flat_map(|l| l.visuals.iter())
            .filter_map(|v| v.material.as_ref())
            .filter(|m| m.color.is_some() || m.texture);
        for material in self.robot.materials.iter().chain(inline) {
            out.entry(material.name.as_str()).or_insert(material.color);
        }
        out
    }

    fn link(&self, link: &LinkDesc, materials: &HashMap<&str, Option<Rgba>>) -> Link {
        let visuals = link
            .visuals
            .iter()
            .map(|v| Visual {
                link_from_shape: v.link_from_shape,
                shape: self.shape(&v.geometry),
                color: v.material.as_ref().and_then(|m| {
                    let named = materials
                        .get(m.name.as_str())
                        .filter(|_| !m.name.is_empty());
                    named.copied().unwrap_or(m.color)
                }),
            })
            .collect();
        let collisions = link
            .collisions
            .iter()
            .map(|c| Collision {
                link_from_shape: c.link_from_shape,
                shape: self.shape(&c.geometry),
            })
            .collect();
        let inertial = link.inertial.clone().filter(|i| i.mass_kg > 0.0);
        Link {
            name: link.name.clone(),
            parent_joint: None,
            child_joints: Vec::new(),
            visuals,
            collisions,
            inertial,
        }
    }

    fn shape(&self, geometry: &GeometryDesc) -> Shape {
        match geometry {
            GeometryDesc::Primitive(shape) => shape.clone(),
            GeometryDesc::Mesh { filename, scale } => {
                let tried = candidates(filename, self.urdf_dir, &self.options.packages);
                let path = tried.iter().find(|p| p.is_file()).cloned();
                Shape::Mesh(MeshRef {
                    uri: filename.clone(),
                    path,
                    tried,
                    scale: *scale,
                })
            }
        }
    }
}

/// The kind of the joint named `name`, if there is one.
fn joints_kind(robot: &Description, name: &str) -> Option<JointKind> {
    robot.joints.iter().find(|j| j.name == name).map(|j| j.kind)
}
