//! URDF text → validated [`Model`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nalgebra::{IsometryMatrix3, Rotation3, Translation3, Unit, Vector3};
use tracing::warn;

use super::geometry::{Collision, Inertial, MeshRef, Rgba, Shape, Visual};
use super::mesh::{PackagePath, candidates};
use super::robot::{Joint, JointId, JointKind, JointLimits, Link, Mimic, Model};
use super::{Error, xml_check};

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
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
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
        let path = name_for_errors;
        let facts = xml_check::check(path, text)?;
        let robot =
            urdf_rs::read_from_string(text).map_err(|e| locate_urdf_error(path, text, e))?;
        Builder {
            path,
            urdf_dir,
            options,
            facts: &facts,
            robot: &robot,
        }
        .build()
    }
}

struct Builder<'a> {
    path: &'a Path,
    urdf_dir: &'a Path,
    options: &'a LoadOptions,
    facts: &'a xml_check::XmlFacts,
    robot: &'a urdf_rs::Robot,
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
            let find = |role: &'static str, name: &str| {
                link_index
                    .get(name)
                    .copied()
                    .ok_or_else(|| Error::MissingLink {
                        path: self.path(),
                        joint: joint.name.clone(),
                        role,
                        link: name.to_owned(),
                    })
            };
            let parent = find("parent", &joint.parent.link)?;
            let child = find("child", &joint.child.link)?;
            if let Some(first) = parent_joint_of[child] {
                return Err(Error::TwoParents {
                    path: self.path(),
                    link: joint.child.link.clone(),
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
                    links: robot.links.iter().map(|l| l.name.clone()).collect(),
                });
            }
            return Err(Error::NoSingleRoot {
                path: self.path(),
                roots: roots.iter().map(|&l| robot.links[l].name.clone()).collect(),
            });
        }

        // Depth-first order from the root; links not reached sit on a loop.
        let mut order = Vec::with_capacity(robot.links.len());
        let mut stack = vec![roots[0]];
        while let Some(l) = stack.pop() {
            order.push(l);
            for &j in children_of[l].iter().rev() {
                stack.push(link_index[robot.joints[j].child.link.as_str()]);
            }
        }
        if order.len() != robot.links.len() {
            let mut reached = vec![false; robot.links.len()];
            order.iter().for_each(|&l| reached[l] = true);
            return Err(Error::Loop {
                path: self.path(),
                links: (0..robot.links.len())
                    .filter(|&l| !reached[l])
                    .map(|l| robot.links[l].name.clone())
                    .collect(),
            });
        }
        let mut new_link_of = vec![0; robot.links.len()];
        order
            .iter()
            .enumerate()
            .for_each(|(new, &old)| new_link_of[old] = new);
        // joints[i] is the parent joint of links[i + 1]. Invariant for the expect below: the
        // depth-first walk reached every link from the single root, so each non-root link was
        // reached through its parent joint.
        let joint_order: Vec<usize> = order[1..]
            .iter()
            .map(|&l| parent_joint_of[l].expect("every non-root link has a parent joint"))
            .collect();
        let mut new_joint_of = vec![0; robot.joints.len()];
        joint_order
            .iter()
            .enumerate()
            .for_each(|(new, &old)| new_joint_of[old] = new);

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
        joint: &urdf_rs::Joint,
        new_link_of: &[usize],
        link_index: &HashMap<&str, usize>,
    ) -> Result<Joint, Error> {
        let kind = match joint.joint_type {
            urdf_rs::JointType::Revolute => JointKind::Revolute,
            urdf_rs::JointType::Continuous => JointKind::Continuous,
            urdf_rs::JointType::Prismatic => JointKind::Prismatic,
            urdf_rs::JointType::Fixed => JointKind::Fixed,
            urdf_rs::JointType::Floating => return Err(self.unsupported(joint, "floating")),
            urdf_rs::JointType::Planar => return Err(self.unsupported(joint, "planar")),
            urdf_rs::JointType::Spherical => return Err(self.unsupported(joint, "spherical")),
        };
        let axis = Vector3::from(joint.axis.xyz.0);
        let axis = if kind.is_movable() {
            let norm = axis.norm();
            if norm < 1e-12 {
                return Err(Error::ZeroAxis {
                    path: self.path(),
                    joint: joint.name.clone(),
                });
            }
            if (norm - 1.0).abs() > 1e-9 {
                warn!(joint = %joint.name, norm, "joint axis is not unit length; normalised");
            }
            Unit::new_normalize(axis)
        } else {
            Vector3::x_axis()
        };

        let has_limit = self
            .facts
            .joint_has_limit
            .get(&joint.name)
            .copied()
            .unwrap_or(false);
        if matches!(kind, JointKind::Revolute | JointKind::Prismatic) && !has_limit {
            return Err(Error::MissingLimit {
                path: self.path(),
                joint: joint.name.clone(),
                kind: kind.name(),
            });
        }
        let l = &joint.limit;
        let position = match kind {
            JointKind::Revolute | JointKind::Prismatic => {
                if l.lower > l.upper {
                    return Err(Error::InvertedLimit {
                        path: self.path(),
                        joint: joint.name.clone(),
                        lower: l.lower,
                        upper: l.upper,
                    });
                }
                Some((l.lower, l.upper))
            }
            _ => None,
        };
        let positive = |v: f64| (has_limit && v > 0.0).then_some(v);
        let soft_bounds_given = self
            .facts
            .joint_soft_bounds_given
            .get(&joint.name)
            .copied()
            .unwrap_or((false, false));
        let soft_position = match (&joint.safety_controller, position, soft_bounds_given) {
            (_, _, (false, false)) | (None, _, _) => None,
            // A bound the controller leaves out is the hard one.
            (Some(s), Some((lower, upper)), (has_lower, has_upper)) => Some((
                if has_lower {
                    s.soft_lower_limit.max(lower)
                } else {
                    lower
                },
                if has_upper {
                    s.soft_upper_limit.min(upper)
                } else {
                    upper
                },
            )),
            // A continuous joint is soft-limited only when both bounds are given.
            (Some(s), None, (true, true)) => Some((s.soft_lower_limit, s.soft_upper_limit)),
            (Some(_), None, _) => None,
        }
        .filter(|(lo, hi)| lo <= hi);

        Ok(Joint {
            name: joint.name.clone(),
            kind,
            parent: new_link_of[link_index[joint.parent.link.as_str()]],
            child: new_link_of[link_index[joint.child.link.as_str()]],
            parent_from_joint: isometry(&joint.origin),
            axis,
            limits: JointLimits {
                position,
                velocity: positive(l.velocity),
                effort: positive(l.effort),
                soft_position,
            },
            // Filled in by `resolve_mimics`, once every joint has its final index.
            mimic: None,
        })
    }

    /// Points every mimic at its ultimate independent leader, composing chained mimics.
    fn resolve_mimics(&self, joints: &mut [Joint]) -> Result<(), Error> {
        let by_name: HashMap<String, JointId> = joints
            .iter()
            .enumerate()
            .map(|(i, j)| (j.name.clone(), i))
            .collect();
        // As written in the URDF: follower → (leader, multiplier, offset).
        let written: HashMap<&str, (&str, f64, f64)> = self
            .robot
            .joints
            .iter()
            .filter_map(|j| {
                let m = j.mimic.as_ref()?;
                let link = (
                    m.joint.as_str(),
                    m.multiplier.unwrap_or(1.0),
                    m.offset.unwrap_or(0.0),
                );
                Some((j.name.as_str(), link))
            })
            .collect();
        for joint in joints.iter_mut() {
            let Some(&(mut leader_name, mut multiplier, mut offset)) =
                written.get(joint.name.as_str())
            else {
                continue;
            };
            let mut visited = vec![joint.name.clone()];
            let leader = loop {
                let follower = visited.last().cloned().unwrap_or_default();
                let Some(&leader) = by_name.get(leader_name) else {
                    return Err(Error::MimicMissingJoint {
                        path: self.path(),
                        joint: follower,
                        leader: leader_name.to_owned(),
                    });
                };
                if visited.iter().any(|n| n == leader_name) {
                    return Err(Error::MimicCycle {
                        path: self.path(),
                        joints: visited,
                    });
                }
                let Some(&(next, m2, o2)) = written.get(leader_name) else {
                    break leader;
                };
                // follower = m·(m2·x + o2) + o = (m·m2)·x + (m·o2 + o)
                offset += multiplier * o2;
                multiplier *= m2;
                visited.push(leader_name.to_owned());
                leader_name = next;
            };
            let leader_kind = self
                .robot
                .joints
                .iter()
                .find(|j| j.name == leader_name)
                .map(|j| &j.joint_type);
            if leader_kind == Some(&urdf_rs::JointType::Fixed) {
                return Err(Error::MimicFixedLeader {
                    path: self.path(),
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

    fn unsupported(&self, joint: &urdf_rs::Joint, kind: &'static str) -> Error {
        Error::UnsupportedJoint {
            path: self.path(),
            joint: joint.name.clone(),
            kind,
        }
    }

    fn named_materials(&self) -> HashMap<&str, Rgba> {
        let mut out = HashMap::new();
        let top = self.robot.materials.iter();
        let inline = self
            .robot
            .links
            .iter()
            .flat_map(|l| l.visual.iter())
            .filter_map(|v| v.material.as_ref());
        for material in top.chain(inline) {
            if let Some(color) = &material.color {
                out.entry(material.name.as_str()).or_insert(color.rgba.0);
            }
        }
        out
    }

    fn link(&self, link: &urdf_rs::Link, materials: &HashMap<&str, Rgba>) -> Link {
        let visuals = link
            .visual
            .iter()
            .map(|v| Visual {
                link_from_shape: isometry(&v.origin),
                shape: self.shape(&v.geometry),
                color: v.material.as_ref().and_then(|m| {
                    m.color
                        .as_ref()
                        .map(|c| c.rgba.0)
                        .or_else(|| materials.get(m.name.as_str()).copied())
                }),
            })
            .collect();
        let collisions = link
            .collision
            .iter()
            .map(|c| Collision {
                link_from_shape: isometry(&c.origin),
                shape: self.shape(&c.geometry),
            })
            .collect();
        let i = &link.inertial;
        let inertial = (i.mass.value > 0.0).then(|| Inertial {
            link_from_com: isometry(&i.origin),
            mass_kg: i.mass.value,
            inertia: [
                i.inertia.ixx,
                i.inertia.ixy,
                i.inertia.ixz,
                i.inertia.iyy,
                i.inertia.iyz,
                i.inertia.izz,
            ],
        });
        Link {
            name: link.name.clone(),
            parent_joint: None,
            child_joints: Vec::new(),
            visuals,
            collisions,
            inertial,
        }
    }

    fn shape(&self, geometry: &urdf_rs::Geometry) -> Shape {
        match geometry {
            urdf_rs::Geometry::Box { size } => Shape::Box {
                size: Vector3::from(size.0),
            },
            urdf_rs::Geometry::Cylinder { radius, length } => Shape::Cylinder {
                radius: *radius,
                length: *length,
            },
            urdf_rs::Geometry::Capsule { radius, length } => Shape::Capsule {
                radius: *radius,
                length: *length,
            },
            urdf_rs::Geometry::Sphere { radius } => Shape::Sphere { radius: *radius },
            urdf_rs::Geometry::Mesh { filename, scale } => {
                let tried = candidates(filename, self.urdf_dir, &self.options.packages);
                let path = tried.iter().find(|p| p.is_file()).cloned();
                Shape::Mesh(MeshRef {
                    uri: filename.clone(),
                    path,
                    tried,
                    scale: scale
                        .map(|s| Vector3::from(s.0))
                        .unwrap_or_else(|| Vector3::repeat(1.0)),
                })
            }
        }
    }
}

/// urdf-rs's error, placed: the first top-level element (`<link>`, `<joint>`, `<material>`) that
/// urdf-rs refuses on its own, read alone inside the document's own `<robot>` start, names the
/// line; when none does, the `<robot>` element is blamed. Only runs once loading failed.
fn locate_urdf_error(path: &Path, text: &str, error: urdf_rs::UrdfError) -> Error {
    let fallback = |line, element: String| Error::Urdf {
        path: path.to_owned(),
        line,
        element,
        message: error.to_string(),
    };
    // The text parsed in xml_check::check, so this does not fail.
    let Ok(doc) = xml_check::parse(path, text) else {
        return fallback(1, "robot".into());
    };
    let robot = doc.root_element();
    let children: Vec<roxmltree::Node> = robot.children().filter(|n| n.is_element()).collect();
    let Some(first) = children.first() else {
        return fallback(xml_check::line_of(robot), "robot".into());
    };
    // Everything up to the first child: prolog, DTD entities, `<robot …>` with its namespaces.
    let start = &text[..first.range().start];
    for node in &children {
        let tag = node.tag_name().name();
        if !matches!(tag, "link" | "joint" | "material") {
            continue;
        }
        let alone = format!("{start}{}</robot>", &text[node.range()]);
        if let Err(e) = urdf_rs::read_from_string(&alone) {
            let element = match node.attribute("name") {
                Some(name) => format!("{tag} name=\"{name}\""),
                None => tag.to_owned(),
            };
            return Error::Urdf {
                path: path.to_owned(),
                line: xml_check::line_of(*node),
                element,
                message: e.to_string(),
            };
        }
    }
    fallback(xml_check::line_of(robot), "robot".into())
}

/// URDF `<origin xyz rpy>`: fixed-axis roll about x, then pitch about y, then yaw about z.
pub(crate) fn isometry(pose: &urdf_rs::Pose) -> IsometryMatrix3<f64> {
    let [x, y, z] = pose.xyz.0;
    let [roll, pitch, yaw] = pose.rpy.0;
    IsometryMatrix3::from_parts(
        Translation3::new(x, y, z),
        Rotation3::from_euler_angles(roll, pitch, yaw),
    )
}
