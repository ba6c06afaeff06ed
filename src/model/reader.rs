//! URDF text → [`Description`]: the elements ROS's URDF parser (urdfdom) reads, read the way it
//! reads them, every refusal naming the file, the element and its line.
//!
//! What urdfdom takes without complaint loads here too:
//! - Elements are matched by their exact name, as urdfdom does (`<xacro:link>` is not a link).
//!   Elements and attributes urdfdom does not read are not looked at: `<transmission>`,
//!   `<gazebo>`, `<sensor>`, `<ros2_control>`, unknown children of links and joints, text.
//! - Where urdfdom reads one child (`<origin>`, `<inertial>`, `<mass>`, `<geometry>`, `<material>`,
//!   `<color>`, `<axis>`, `<limit>`, `<mimic>`, …) the first counts and later ones are ignored;
//!   the shape is the first element inside `<geometry>`. `<visual>` and `<collision>` may come in
//!   any order, mixed with `<inertial>` and anything else.
//! - Optional parts take urdfdom's defaults: no `<origin>` (or no `xyz` / `rpy`) is zero, no
//!   `<axis>` is (1, 0, 0), no `<mesh scale>` is 1, no `lower` / `upper` is 0, no mimic
//!   `multiplier` / `offset` is 1 / 0. The axis of a fixed joint is not read.
//! - A `<material>` needs only its name: `<texture/>` without a file, `<color/>` without `rgba`
//!   or with other than 4 numbers (no colour then), or neither (a reference to a material
//!   defined elsewhere) is fine.
//! - `<calibration>`, `<dynamics>` and `<safety_controller>` may give any of their attributes
//!   (`<safety_controller>` needs `k_velocity`, as in urdfdom); a `<limit>` without `effort` has
//!   effort "not given" (urdfdom wants it).
//! - A DOCTYPE, namespace prefixes never declared (an `xacro:` left behind), entities never
//!   defined (kept as text) and text that is not UTF-8 (a Latin-1 comment): urdfdom's XML parser
//!   does not mind them, so neither does this one.
//! - `version` 1.0 (also when absent) and 1.1, whose `<origin quat_xyzw>` is read as the
//!   rotation.
//!
//! Refused, naming the line: what urdfdom refuses or reports as an error (a required attribute or
//! element missing, a number that does not parse, a vector of the wrong length, an unknown joint
//! type or shape, a material without a name), and what no robot can have though urdfdom lets it
//! through: non-finite numbers, negative masses, moments of inertia, velocity and effort limits
//! and sizes, empty link and joint names, an `<axis>` of a moving joint without `xyz` (urdfdom
//! makes it a zero axis), and joints of type floating, planar and spherical.
//!
//! Element nesting is bounded: the model builder does not recurse, but roxmltree's parser does,
//! once per level, so a document nested 20,000 levels deep would overflow the stack inside it.
//! The depth is counted on the raw text first.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use nalgebra::{IsometryMatrix3, Quaternion, Rotation3, Translation3, UnitQuaternion, Vector3};
use roxmltree::Node;
use tracing::warn;

use super::Error;
use super::geometry::{Inertial, Rgba, Shape};
use super::robot::JointKind;

/// The deepest element nesting accepted (`<robot>` is level 1). A URDF needs 5
/// (robot/link/visual/geometry/mesh); vendor extensions such as `<gazebo>` plugins a few more.
pub const MAX_DEPTH: usize = 64;

/// How many slips urdfdom's XML parser lets through (undeclared namespace prefixes, undefined
/// entities) are mended before the reader gives up.
const MAX_MENDS: usize = 16;

/// A URDF as urdfdom reads it, with the line of each element an error may need to name.
pub(crate) struct Description {
    pub name: String,
    /// The line of `<robot>`.
    pub line: u32,
    /// Top-level `<material>` elements, in order.
    pub materials: Vec<MaterialDesc>,
    pub links: Vec<LinkDesc>,
    pub joints: Vec<JointDesc>,
}

pub(crate) struct LinkDesc {
    pub name: String,
    pub line: u32,
    pub inertial: Option<Inertial>,
    pub visuals: Vec<VisualDesc>,
    pub collisions: Vec<CollisionDesc>,
}

pub(crate) struct VisualDesc {
    pub link_from_shape: IsometryMatrix3<f64>,
    pub geometry: GeometryDesc,
    pub material: Option<MaterialDesc>,
}

pub(crate) struct CollisionDesc {
    pub link_from_shape: IsometryMatrix3<f64>,
    pub geometry: GeometryDesc,
}

pub(crate) enum GeometryDesc {
    /// Box, cylinder, capsule or sphere.
    Primitive(Shape),
    Mesh {
        filename: String,
        scale: Vector3<f64>,
    },
}

pub(crate) struct MaterialDesc {
    pub name: String,
    pub color: Option<Rgba>,
    /// Whether a `<texture>` names a file.
    pub texture: bool,
}

pub(crate) struct JointDesc {
    pub name: String,
    pub line: u32,
    pub kind: JointKind,
    pub parent_from_joint: IsometryMatrix3<f64>,
    pub parent: String,
    pub parent_line: u32,
    pub child: String,
    pub child_line: u32,
    /// As written, not normalised; (1, 0, 0) without `<axis>` and for fixed joints.
    pub axis: Vector3<f64>,
    /// The line of `<axis>`, else of `<joint>`.
    pub axis_line: u32,
    pub limit: Option<LimitDesc>,
    pub safety: Option<SafetyDesc>,
    pub mimic: Option<MimicDesc>,
}

pub(crate) struct LimitDesc {
    pub line: u32,
    pub lower: f64,
    pub upper: f64,
    /// 0 when not given (URDF's "unknown").
    pub effort: f64,
    pub velocity: f64,
}

/// `<safety_controller>`'s soft bounds, each only if given (urdfdom's 0 would pin the joint).
pub(crate) struct SafetyDesc {
    pub soft_lower: Option<f64>,
    pub soft_upper: Option<f64>,
}

pub(crate) struct MimicDesc {
    pub line: u32,
    pub joint: String,
    pub multiplier: f64,
    pub offset: f64,
}

const JOINT_TYPES: &str =
    "a joint type (revolute, continuous, prismatic, fixed, floating, planar, spherical)";

/// Reads `text`, or says what is wrong with it and where.
pub(crate) fn read(path: &Path, text: &str) -> Result<Description, Error> {
    let mut root_name_end = check_depth(path, text)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let mut source = Cow::Borrowed(text);
    let mut mends = 0;
    loop {
        let error = match roxmltree::Document::parse_with_options(&source, options) {
            Ok(doc) => return Reader::new(path, &doc).robot(doc.root_element()),
            Err(error) => error,
        };
        // urdfdom's XML parser (tinyxml2) knows no namespaces and leaves an entity it does not
        // know as it is: mend the text the same way, on the same line, so every line number
        // stays right.
        let mended = match (&error, root_name_end) {
            _ if mends == MAX_MENDS => None,
            (roxmltree::Error::UnknownNamespace(prefix, _), Some(at)) => {
                let mut text = source.to_string();
                text.insert_str(at, &format!(" xmlns:{prefix}=\"urn:undeclared:{prefix}\""));
                Some(text)
            }
            (roxmltree::Error::UnknownEntityReference(_, pos), _) => offset_of(&source, *pos)
                .filter(|&at| source[at..].starts_with('&'))
                .map(|at| {
                    if let Some(end) = root_name_end.as_mut().filter(|end| **end > at) {
                        *end += "amp;".len();
                    }
                    let mut text = source.to_string();
                    text.insert_str(at + 1, "amp;");
                    text
                }),
            _ => None,
        };
        let Some(mended) = mended else {
            let pos = error.pos();
            return Err(Error::NotXml {
                path: path.to_owned(),
                line: pos.row,
                column: pos.col,
                message: error.to_string(),
            });
        };
        source = Cow::Owned(mended);
        mends += 1;
    }
}

/// The byte offset of a (1-based) line and column in characters.
fn offset_of(text: &str, pos: roxmltree::TextPos) -> Option<usize> {
    let line_start = if pos.row <= 1 {
        0
    } else {
        text.match_indices('\n').nth(pos.row as usize - 2)?.0 + 1
    };
    let column = (pos.col as usize).checked_sub(1)?;
    text[line_start..]
        .char_indices()
        .nth(column)
        .map(|(i, _)| line_start + i)
}

/// Refuses elements nested deeper than [`MAX_DEPTH`] by scanning the raw text, before any XML
/// parser runs: roxmltree's parser recurses once per level, so a document nested 20,000 levels
/// deep overflows the stack inside it. The scan skips comments, CDATA, processing instructions
/// and declarations, and quoted attribute values; it only needs to count well enough to stop
/// deep nesting (the parser that runs next reports malformed XML). Returns where the first
/// element's name ends (where a namespace declaration can be added to it).
fn check_depth(path: &Path, text: &str) -> Result<Option<usize>, Error> {
    let bytes = text.as_bytes();
    let find = |from: usize, needle: &[u8]| {
        bytes[from.min(bytes.len())..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map_or(bytes.len(), |i| from + i + needle.len())
    };
    let mut depth = 0usize;
    let mut root_name_end = None;
    let mut i = 0;
    // `i` may pass the end by one after an unterminated tag.
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'<'))
    {
        let at = i + offset;
        let rest = &bytes[at..];
        i = if rest.starts_with(b"<!--") {
            find(at + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            find(at + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            find(at + 2, b"?>")
        } else if rest.starts_with(b"<!") {
            find(at + 2, b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            find(at + 2, b">")
        } else {
            let name_end = rest
                .iter()
                .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
                .unwrap_or(rest.len());
            if root_name_end.is_none() && name_end > 1 {
                root_name_end = Some(at + name_end);
            }
            // A start tag: to its `>` outside quotes; `/>` closes it at once.
            let mut j = at + 1;
            let mut quote = None;
            let mut self_closing = false;
            while j < bytes.len() {
                let b = bytes[j];
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'>' => {
                        self_closing = bytes[j - 1] == b'/';
                        break;
                    }
                    None => {}
                }
                j += 1;
            }
            if !self_closing {
                depth += 1;
                if depth > MAX_DEPTH {
                    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                    return Err(Error::TooDeep {
                        path: path.to_owned(),
                        line: u32::try_from(line).unwrap_or(u32::MAX),
                        element: String::from_utf8_lossy(&rest[1..name_end.max(1)]).into_owned(),
                        depth,
                        limit: MAX_DEPTH,
                    });
                }
            }
            j + 1
        };
    }
    Ok(root_name_end)
}

/// An element's name as written, prefix included: what urdfdom's XML parser matches on.
fn qname<'i>(node: Node<'_, 'i>) -> &'i str {
    let text = node.document().input_text();
    let rest = text.get(node.range().start + 1..).unwrap_or_default();
    let end = rest
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The first child element named `tag` (urdfdom's `FirstChildElement`).
fn child<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && qname(*c) == tag)
}

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

/// Reads elements, each error naming the file and the line.
struct Reader<'p> {
    path: &'p Path,
    /// Byte offsets of the text's newlines, for line numbers.
    newlines: Vec<usize>,
    /// `version="1.1"`: `<origin quat_xyzw>` is read.
    quaternions: bool,
}

impl<'p> Reader<'p> {
    fn new(path: &'p Path, doc: &roxmltree::Document) -> Self {
        let text = doc.input_text();
        let newlines = text.match_indices('\n').map(|(i, _)| i).collect();
        Self {
            path,
            newlines,
            quaternions: false,
        }
    }

    fn line(&self, node: Node) -> u32 {
        let start = node.range().start;
        let line = self.newlines.partition_point(|&n| n < start) + 1;
        u32::try_from(line).unwrap_or(u32::MAX)
    }

    /// The element's name for messages: its tag, and whose it is where that helps (the link or
    /// joint it is in, else the material).
    fn describe(node: Node) -> String {
        let tag = qname(node);
        let nearest = |tags: &[&str]| {
            node.ancestors()
                .skip(1)
                .find(|a| a.is_element() && tags.contains(&qname(*a)))
        };
        let owner = nearest(&["joint", "link"])
            .or_else(|| nearest(&["material"]))
            .and_then(|a| Some(format!("{} '{}'", qname(a), a.attribute("name")?)));
        match owner {
            Some(owner) => format!("{tag}> of <{owner}"),
            None => tag.to_owned(),
        }
    }

    fn robot(mut self, robot: Node) -> Result<Description, Error> {
        if qname(robot) != "robot" {
            return Err(Error::NoRobotElement {
                path: self.path.to_owned(),
                line: self.line(robot),
                found: qname(robot).to_owned(),
            });
        }
        if let Some(version) = robot.attribute("version") {
            let parsed = version
                .split_once('.')
                .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse().ok()?)));
            match parsed {
                Some((1, 0)) => {}
                Some((1, 1)) => self.quaternions = true,
                _ => {
                    return Err(self.bad_value(
                        robot,
                        "version",
                        version,
                        "a URDF version this reader knows (1.0 or 1.1)",
                    ));
                }
            }
        }
        let mut description = Description {
            name: robot.attribute("name").unwrap_or_default().to_owned(),
            line: self.line(robot),
            materials: Vec::new(),
            links: Vec::new(),
            joints: Vec::new(),
        };
        let mut link_names = HashSet::new();
        let mut joint_names = HashSet::new();
        for node in elements(robot) {
            match qname(node) {
                "material" => description.materials.push(self.material(node)?),
                "link" => {
                    let link = self.link(node)?;
                    if !link_names.insert(link.name.clone()) {
                        return Err(Error::DuplicateLink {
                            path: self.path.to_owned(),
                            line: link.line,
                            name: link.name,
                        });
                    }
                    description.links.push(link);
                }
                "joint" => {
                    let joint = self.joint(node)?;
                    if !joint_names.insert(joint.name.clone()) {
                        return Err(Error::DuplicateJoint {
                            path: self.path.to_owned(),
                            line: joint.line,
                            name: joint.name,
                        });
                    }
                    description.joints.push(joint);
                }
                _ => {}
            }
        }
        Ok(description)
    }

    fn required<'n>(&self, node: Node<'n, '_>, attribute: &'static str) -> Result<&'n str, Error> {
        node.attribute(attribute)
            .ok_or_else(|| Error::MissingAttribute {
                path: self.path.to_owned(),
                line: self.line(node),
                element: Self::describe(node),
                attribute,
            })
    }

    fn required_child<'a, 'i>(
        &self,
        node: Node<'a, 'i>,
        tag: &'static str,
    ) -> Result<Node<'a, 'i>, Error> {
        child(node, tag).ok_or_else(|| self.missing(node, tag))
    }

    fn missing(&self, node: Node, child: &'static str) -> Error {
        Error::MissingElement {
            path: self.path.to_owned(),
            line: self.line(node),
            element: Self::describe(node),
            child,
        }
    }

    fn bad_value(&self, node: Node, attribute: &str, value: &str, expected: &'static str) -> Error {
        Error::BadValue {
            path: self.path.to_owned(),
            line: self.line(node),
            element: Self::describe(node),
            attribute: attribute.to_owned(),
            value: value.to_owned(),
            expected,
        }
    }

    /// `text` as finite numbers, or the error naming the attribute and what was `expected`.
    fn parse_numbers(
        &self,
        node: Node,
        attribute: &str,
        text: &str,
        expected: &'static str,
    ) -> Result<Vec<f64>, Error> {
        let mut out = Vec::new();
        for token in text.split_whitespace() {
            let Ok(value) = token.parse::<f64>() else {
                return Err(self.bad_value(node, attribute, text, expected));
            };
            if !value.is_finite() {
                return Err(Error::NotFinite {
                    path: self.path.to_owned(),
                    line: self.line(node),
                    element: Self::describe(node),
                    attribute: attribute.to_owned(),
                    value: text.to_owned(),
                });
            }
            out.push(value);
        }
        Ok(out)
    }

    /// The attribute as one finite number, if present.
    fn number(&self, node: Node, attribute: &'static str) -> Result<Option<f64>, Error> {
        let Some(text) = node.attribute(attribute) else {
            return Ok(None);
        };
        match self.parse_numbers(node, attribute, text, "a number")?[..] {
            [value] => Ok(Some(value)),
            _ => Err(self.bad_value(node, attribute, text, "a number")),
        }
    }

    fn required_number(&self, node: Node, attribute: &'static str) -> Result<f64, Error> {
        self.required(node, attribute)?;
        Ok(self.number(node, attribute)?.unwrap_or_default())
    }

    /// The attribute as exactly `N` finite numbers, if present.
    fn vector<const N: usize>(
        &self,
        node: Node,
        attribute: &'static str,
    ) -> Result<Option<[f64; N]>, Error> {
        let Some(text) = node.attribute(attribute) else {
            return Ok(None);
        };
        let expected = match N {
            3 => "3 numbers",
            _ => "4 numbers",
        };
        <[f64; N]>::try_from(self.parse_numbers(node, attribute, text, expected)?)
            .map(Some)
            .map_err(|_| self.bad_value(node, attribute, text, expected))
    }

    fn required_vector<const N: usize>(
        &self,
        node: Node,
        attribute: &'static str,
    ) -> Result<[f64; N], Error> {
        self.required(node, attribute)?;
        Ok(self.vector(node, attribute)?.unwrap_or([0.0; N]))
    }

    /// A number that must not be negative (`meaning`: what it is, for the message).
    fn not_negative(
        &self,
        node: Node,
        attribute: &'static str,
        value: f64,
        meaning: &'static str,
    ) -> Result<(), Error> {
        if value < 0.0 {
            return Err(Error::Negative {
                path: self.path.to_owned(),
                line: self.line(node),
                element: Self::describe(node),
                attribute,
                value,
                meaning,
            });
        }
        Ok(())
    }

    /// A `name` attribute, present and not empty.
    fn name(&self, node: Node) -> Result<String, Error> {
        let name = self.required(node, "name")?;
        if name.is_empty() {
            return Err(Error::EmptyAttribute {
                path: self.path.to_owned(),
                line: self.line(node),
                element: Self::describe(node),
                attribute: "name",
            });
        }
        Ok(name.to_owned())
    }

    /// `node`'s `<origin>` (fixed-axis roll about x, then pitch about y, then yaw about z);
    /// the identity without one.
    fn origin(&self, node: Node) -> Result<IsometryMatrix3<f64>, Error> {
        let Some(origin) = child(node, "origin") else {
            return Ok(IsometryMatrix3::identity());
        };
        let [x, y, z] = self.vector::<3>(origin, "xyz")?.unwrap_or_default();
        let rpy = self.vector::<3>(origin, "rpy")?;
        let quaternion = match origin.attribute("quat_xyzw") {
            Some(text) if self.quaternions => {
                if rpy.is_some() {
                    return Err(self.bad_value(
                        origin,
                        "quat_xyzw",
                        text,
                        "allowed with 'rpy' (give one of them)",
                    ));
                }
                let [qx, qy, qz, qw] = self.vector::<4>(origin, "quat_xyzw")?.unwrap_or_default();
                let q = Quaternion::new(qw, qx, qy, qz);
                if q.norm() < 1e-12 {
                    return Err(self.bad_value(
                        origin,
                        "quat_xyzw",
                        text,
                        "a rotation (the 4 numbers are all zero)",
                    ));
                }
                Some(UnitQuaternion::from_quaternion(q).to_rotation_matrix())
            }
            // URDF 1.0 has no quat_xyzw: urdfdom does not read it.
            _ => None,
        };
        let rotation = quaternion.unwrap_or_else(|| {
            let [roll, pitch, yaw] = rpy.unwrap_or_default();
            Rotation3::from_euler_angles(roll, pitch, yaw)
        });
        let translation = Translation3::new(x, y, z);
        Ok(IsometryMatrix3::from_parts(translation, rotation))
    }

    fn material(&self, node: Node) -> Result<MaterialDesc, Error> {
        let name = self.required(node, "name")?.to_owned();
        let color = child(node, "color").map_or(Ok(None), |c| self.rgba(c))?;
        let texture = child(node, "texture").is_some_and(|t| t.attribute("filename").is_some());
        Ok(MaterialDesc {
            name,
            color,
            texture,
        })
    }

    /// `<color rgba>`: without `rgba`, or with other than 4 numbers, no colour (urdfdom says
    /// nothing either); what is not a number is an error.
    fn rgba(&self, color: Node) -> Result<Option<Rgba>, Error> {
        let Some(text) = color.attribute("rgba") else {
            return Ok(None);
        };
        let rgba = Rgba::try_from(self.parse_numbers(color, "rgba", text, "4 numbers")?).ok();
        if rgba.is_none() {
            warn!(
                line = self.line(color),
                rgba = text,
                "<color rgba> is not 4 numbers; no colour"
            );
        }
        Ok(rgba)
    }

    fn link(&self, node: Node) -> Result<LinkDesc, Error> {
        let name = self.name(node)?;
        let inertial = child(node, "inertial")
            .map(|i| self.inertial(i))
            .transpose()?;
        let mut visuals = Vec::new();
        let mut collisions = Vec::new();
        for element in elements(node) {
            match qname(element) {
                "visual" => visuals.push(VisualDesc {
                    link_from_shape: self.origin(element)?,
                    geometry: self.geometry(self.required_child(element, "geometry")?)?,
                    material: child(element, "material")
                        .map(|m| self.material(m))
                        .transpose()?,
                }),
                "collision" => collisions.push(CollisionDesc {
                    link_from_shape: self.origin(element)?,
                    geometry: self.geometry(self.required_child(element, "geometry")?)?,
                }),
                _ => {}
            }
        }
        Ok(LinkDesc {
            name,
            line: self.line(node),
            inertial,
            visuals,
            collisions,
        })
    }

    fn inertial(&self, node: Node) -> Result<Inertial, Error> {
        let link_from_com = self.origin(node)?;
        let mass_node = self.required_child(node, "mass")?;
        let mass = self.required_number(mass_node, "value")?;
        self.not_negative(mass_node, "value", mass, "a mass")?;
        let inertia_node = self.required_child(node, "inertia")?;
        let mut inertia = [0.0; 6];
        for (value, attribute) in inertia
            .iter_mut()
            .zip(["ixx", "ixy", "ixz", "iyy", "iyz", "izz"])
        {
            *value = self.required_number(inertia_node, attribute)?;
            if matches!(attribute, "ixx" | "iyy" | "izz") {
                self.not_negative(inertia_node, attribute, *value, "a moment of inertia")?;
            }
        }
        Ok(Inertial {
            link_from_com,
            mass_kg: mass,
            inertia,
        })
    }

    fn geometry(&self, geometry: Node) -> Result<GeometryDesc, Error> {
        const SHAPES: &str = "box>, <cylinder>, <capsule>, <sphere> or <mesh";
        // urdfdom: the first element inside <geometry> is the shape.
        let Some(shape) = elements(geometry).next() else {
            return Err(self.missing(geometry, SHAPES));
        };
        let size = |attribute: &'static str| -> Result<f64, Error> {
            let value = self.required_number(shape, attribute)?;
            self.not_negative(shape, attribute, value, "a size")?;
            Ok(value)
        };
        let primitive = match qname(shape) {
            "box" => {
                let size = self.required_vector::<3>(shape, "size")?;
                if let Some(&v) = size.iter().find(|v| **v < 0.0) {
                    self.not_negative(shape, "size", v, "a box's size")?;
                }
                Shape::Box {
                    size: Vector3::from(size),
                }
            }
            "cylinder" => Shape::Cylinder {
                radius: size("radius")?,
                length: size("length")?,
            },
            "capsule" => Shape::Capsule {
                radius: size("radius")?,
                length: size("length")?,
            },
            "sphere" => Shape::Sphere {
                radius: size("radius")?,
            },
            "mesh" => {
                let filename = self.required(shape, "filename")?.to_owned();
                let scale = self.vector::<3>(shape, "scale")?.unwrap_or([1.0; 3]);
                return Ok(GeometryDesc::Mesh {
                    filename,
                    scale: Vector3::from(scale),
                });
            }
            _ => {
                return Err(Error::UnknownShape {
                    path: self.path.to_owned(),
                    line: self.line(shape),
                    element: Self::describe(shape),
                });
            }
        };
        Ok(GeometryDesc::Primitive(primitive))
    }

    fn joint(&self, node: Node) -> Result<JointDesc, Error> {
        let name = self.name(node)?;
        let line = self.line(node);
        let type_name = self.required(node, "type")?;
        let kind = match type_name {
            "revolute" => JointKind::Revolute,
            "continuous" => JointKind::Continuous,
            "prismatic" => JointKind::Prismatic,
            "fixed" => JointKind::Fixed,
            unsupported @ ("floating" | "planar" | "spherical") => {
                return Err(Error::UnsupportedJoint {
                    path: self.path.to_owned(),
                    line,
                    joint: name,
                    kind: match unsupported {
                        "floating" => "floating",
                        "planar" => "planar",
                        _ => "spherical",
                    },
                });
            }
            other => return Err(self.bad_value(node, "type", other, JOINT_TYPES)),
        };
        let parent_from_joint = self.origin(node)?;
        let parent = self.required_child(node, "parent")?;
        let child_node = self.required_child(node, "child")?;
        let parent_name = self.required(parent, "link")?.to_owned();
        let child_name = self.required(child_node, "link")?.to_owned();

        // urdfdom reads no axis for a fixed joint.
        let (axis, axis_line) = match child(node, "axis").filter(|_| kind.is_movable()) {
            Some(axis) => (
                Vector3::from(self.required_vector::<3>(axis, "xyz")?),
                self.line(axis),
            ),
            None => (Vector3::x(), line),
        };

        let limit = match child(node, "limit") {
            Some(limit) => {
                // urdfdom needs `velocity`; say so plainly, naming the line.
                let velocity = self.required_number(limit, "velocity")?;
                self.not_negative(limit, "velocity", velocity, "a velocity limit")?;
                let effort = self.number(limit, "effort")?.unwrap_or_default();
                self.not_negative(limit, "effort", effort, "an effort limit")?;
                Some(LimitDesc {
                    line: self.line(limit),
                    lower: self.number(limit, "lower")?.unwrap_or_default(),
                    upper: self.number(limit, "upper")?.unwrap_or_default(),
                    effort,
                    velocity,
                })
            }
            None => None,
        };
        let safety = match child(node, "safety_controller") {
            Some(safety) => {
                self.required_number(safety, "k_velocity")?;
                self.number(safety, "k_position")?;
                Some(SafetyDesc {
                    soft_lower: self.number(safety, "soft_lower_limit")?,
                    soft_upper: self.number(safety, "soft_upper_limit")?,
                })
            }
            None => None,
        };
        let mimic = match child(node, "mimic") {
            Some(mimic) => Some(MimicDesc {
                line: self.line(mimic),
                joint: self.required(mimic, "joint")?.to_owned(),
                multiplier: self.number(mimic, "multiplier")?.unwrap_or(1.0),
                offset: self.number(mimic, "offset")?.unwrap_or(0.0),
            }),
            None => None,
        };
        // Read by urdfdom (a malformed number is an error there too), not used here.
        if let Some(calibration) = child(node, "calibration") {
            self.number(calibration, "rising")?;
            self.number(calibration, "falling")?;
        }
        if let Some(dynamics) = child(node, "dynamics") {
            self.number(dynamics, "damping")?;
            self.number(dynamics, "friction")?;
        }
        Ok(JointDesc {
            name,
            line,
            kind,
            parent_from_joint,
            parent: parent_name,
            parent_line: self.line(parent),
            child: child_name,
            child_line: self.line(child_node),
            axis,
            axis_line,
            limit,
            safety,
            mimic,
        })
    }
}
