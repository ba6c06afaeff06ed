//! A first pass over the raw XML, before urdf-rs: it knows line numbers and which elements are
//! present, which urdf-rs's defaults hide (a joint without `<limit>` parses as limits of 0).
//!
//! It also checks, element by element and naming the line, everything urdf-rs would otherwise
//! refuse without saying where (required attributes and elements, numbers that do not parse,
//! vectors of the wrong length), what it would accept although no robot can have it (negative
//! masses, inertias, velocity and effort limits and sizes, empty names), and how deep the
//! elements nest: urdf-rs walks the tree recursively, so a document nested thousands of levels
//! deep would overflow the stack — and so does roxmltree's parser, so the depth is counted on the
//! raw text first.

use std::collections::HashMap;
use std::path::Path;

use roxmltree::Node;

use super::Error;

/// The deepest element nesting accepted (`<robot>` is level 1). A URDF needs 5
/// (robot/link/visual/geometry/mesh); vendor extensions such as `<gazebo>` plugins a few more.
pub const MAX_DEPTH: usize = 64;

/// What the raw XML says that the parsed URDF cannot.
pub(crate) struct XmlFacts {
    /// Joint name → whether it has a `<limit>` child.
    pub joint_has_limit: HashMap<String, bool>,
    /// Joint name → whether its `<safety_controller>` gives `soft_lower_limit` and
    /// `soft_upper_limit`. urdf-rs reads an absent one as 0, which would pin the joint at 0.
    pub joint_soft_bounds_given: HashMap<String, (bool, bool)>,
}

/// Attributes holding numbers, checked to be finite wherever they appear.
const NUMERIC_ATTRIBUTES: &[&str] = &[
    "xyz",
    "rpy",
    "lower",
    "upper",
    "effort",
    "velocity",
    "multiplier",
    "offset",
    "size",
    "radius",
    "length",
    "scale",
    "value",
    "ixx",
    "ixy",
    "ixz",
    "iyy",
    "iyz",
    "izz",
    "damping",
    "friction",
    "soft_lower_limit",
    "soft_upper_limit",
    "k_position",
    "k_velocity",
    "rgba",
];

const JOINT_TYPES: &[&str] = &[
    "revolute",
    "continuous",
    "prismatic",
    "fixed",
    "floating",
    "planar",
    "spherical",
];

/// Parses `text` as XML, or says where it is not.
pub(crate) fn parse<'a>(path: &Path, text: &'a str) -> Result<roxmltree::Document<'a>, Error> {
    roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        Error::NotXml {
            path: path.to_owned(),
            line: pos.row,
            column: pos.col,
            message: e.to_string(),
        }
    })
}

/// The line an element starts on.
pub(crate) fn line_of(node: Node) -> u32 {
    node.document().text_pos_at(node.range().start).row
}

pub(crate) fn check(path: &Path, text: &str) -> Result<XmlFacts, Error> {
    check_depth(path, text)?;
    let doc = parse(path, text)?;
    let robot = doc.root_element();
    if robot.tag_name().name() != "robot" {
        return Err(Error::NoRobotElement {
            path: path.to_owned(),
            found: robot.tag_name().name().to_owned(),
        });
    }

    for node in robot.descendants().filter(|n| n.is_element()) {
        for attribute in node.attributes() {
            if !NUMERIC_ATTRIBUTES.contains(&attribute.name()) {
                continue;
            }
            // Unparsable text is reported below, where it matters; here NaN and infinities.
            let non_finite = attribute
                .value()
                .split_whitespace()
                .filter_map(|t| t.parse::<f64>().ok())
                .any(|v| !v.is_finite());
            if non_finite {
                return Err(Error::NotFinite {
                    path: path.to_owned(),
                    line: line_of(node),
                    element: node.tag_name().name().to_owned(),
                    attribute: attribute.name().to_owned(),
                    value: attribute.value().to_owned(),
                });
            }
        }
    }

    let checker = Checker { path };
    for node in robot.children().filter(|n| n.is_element()) {
        match node.tag_name().name() {
            "link" => checker.link(node)?,
            "joint" => checker.joint(node)?,
            "material" => checker.material(node)?,
            _ => {}
        }
    }

    let mut links: HashMap<&str, ()> = HashMap::new();
    let mut joint_has_limit = HashMap::new();
    let mut joint_soft_bounds_given = HashMap::new();
    for node in robot.children().filter(|n| n.is_element()) {
        let element = node.tag_name().name();
        if element != "link" && element != "joint" {
            continue;
        }
        // Present and not empty: checked above.
        let name = node.attribute("name").unwrap_or_default();
        if element == "link" {
            if links.insert(name, ()).is_some() {
                return Err(Error::DuplicateLink {
                    path: path.to_owned(),
                    name: name.to_owned(),
                });
            }
            continue;
        }
        let limit = node.children().find(|c| c.has_tag_name("limit"));
        if let Some(safety) = node
            .children()
            .find(|c| c.has_tag_name("safety_controller"))
        {
            joint_soft_bounds_given.insert(
                name.to_owned(),
                (
                    safety.attribute("soft_lower_limit").is_some(),
                    safety.attribute("soft_upper_limit").is_some(),
                ),
            );
        }
        if joint_has_limit
            .insert(name.to_owned(), limit.is_some())
            .is_some()
        {
            return Err(Error::DuplicateJoint {
                path: path.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    Ok(XmlFacts {
        joint_has_limit,
        joint_soft_bounds_given,
    })
}

/// Refuses elements nested deeper than [`MAX_DEPTH`] by scanning the raw text, before any XML
/// parser runs: roxmltree's parser recurses once per level too, so a document nested 20,000
/// levels deep overflows the stack inside it. The scan skips comments, CDATA, processing
/// instructions and declarations, and quoted attribute values; it only needs to count well
/// enough to stop deep nesting (the parser that runs next reports malformed XML).
fn check_depth(path: &Path, text: &str) -> Result<(), Error> {
    let bytes = text.as_bytes();
    let find = |from: usize, needle: &[u8]| {
        bytes[from.min(bytes.len())..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map_or(bytes.len(), |i| from + i + needle.len())
    };
    let mut depth = 0usize;
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
                    let name_end = rest
                        .iter()
                        .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
                        .unwrap_or(rest.len());
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
    Ok(())
}

/// Element-by-element checks of what urdf-rs reads, each error naming the line.
struct Checker<'p> {
    path: &'p Path,
}

impl Checker<'_> {
    /// The element's name for messages: its tag, and whose it is where that helps.
    fn describe(node: Node) -> String {
        let tag = node.tag_name().name();
        let owner = node
            .ancestors()
            .find(|a| a.has_tag_name("joint") || a.has_tag_name("link"))
            .filter(|a| *a != node)
            .and_then(|a| {
                Some(format!(
                    "{} '{}'",
                    a.tag_name().name(),
                    a.attribute("name")?
                ))
            });
        match owner {
            Some(owner) => format!("{tag}> of <{owner}"),
            None => tag.to_owned(),
        }
    }

    fn required<'n>(&self, node: Node<'n, '_>, attribute: &'static str) -> Result<&'n str, Error> {
        node.attribute(attribute)
            .ok_or_else(|| Error::MissingAttribute {
                path: self.path.to_owned(),
                line: line_of(node),
                element: Self::describe(node),
                attribute,
            })
    }

    fn bad_value(&self, node: Node, attribute: &str, value: &str, expected: &'static str) -> Error {
        Error::BadValue {
            path: self.path.to_owned(),
            line: line_of(node),
            element: Self::describe(node),
            attribute: attribute.to_owned(),
            value: value.to_owned(),
            expected,
        }
    }

    /// The attribute as a number, if present.
    fn number(&self, node: Node, attribute: &'static str) -> Result<Option<f64>, Error> {
        let Some(text) = node.attribute(attribute) else {
            return Ok(None);
        };
        text.trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| self.bad_value(node, attribute, text, "a number"))
    }

    fn required_number(&self, node: Node, attribute: &'static str) -> Result<f64, Error> {
        self.required(node, attribute)?;
        Ok(self.number(node, attribute)?.unwrap_or_default())
    }

    /// A number that must not be negative (`meaning`: what it is, for the message).
    fn not_negative(
        &self,
        node: Node,
        attribute: &'static str,
        value: Option<f64>,
        meaning: &'static str,
    ) -> Result<(), Error> {
        match value {
            Some(value) if value < 0.0 => Err(Error::Negative {
                path: self.path.to_owned(),
                line: line_of(node),
                element: Self::describe(node),
                attribute,
                value,
                meaning,
            }),
            _ => Ok(()),
        }
    }

    /// The attribute as exactly `n` numbers, if present.
    fn numbers(
        &self,
        node: Node,
        attribute: &'static str,
        n: usize,
    ) -> Result<Option<Vec<f64>>, Error> {
        let Some(text) = node.attribute(attribute) else {
            return Ok(None);
        };
        let values: Option<Vec<f64>> = text
            .split_whitespace()
            .map(|t| t.parse::<f64>().ok())
            .collect();
        let expected = match n {
            3 => "3 numbers",
            _ => "4 numbers",
        };
        match values {
            Some(v) if v.len() == n => Ok(Some(v)),
            _ => Err(self.bad_value(node, attribute, text, expected)),
        }
    }

    fn name(&self, node: Node) -> Result<(), Error> {
        if self.required(node, "name")?.is_empty() {
            return Err(Error::EmptyAttribute {
                path: self.path.to_owned(),
                line: line_of(node),
                element: Self::describe(node),
                attribute: "name",
            });
        }
        Ok(())
    }

    fn child<'a, 'b>(node: Node<'a, 'b>, tag: &str) -> Option<Node<'a, 'b>> {
        node.children().find(|c| c.has_tag_name(tag))
    }

    fn required_child<'a, 'b>(
        &self,
        node: Node<'a, 'b>,
        tag: &'static str,
    ) -> Result<Node<'a, 'b>, Error> {
        Self::child(node, tag).ok_or_else(|| Error::MissingElement {
            path: self.path.to_owned(),
            line: line_of(node),
            element: Self::describe(node),
            child: tag,
        })
    }

    fn origin(&self, node: Node) -> Result<(), Error> {
        if let Some(origin) = Self::child(node, "origin") {
            self.numbers(origin, "xyz", 3)?;
            self.numbers(origin, "rpy", 3)?;
        }
        Ok(())
    }

    fn link(&self, link: Node) -> Result<(), Error> {
        self.name(link)?;
        if let Some(inertial) = Self::child(link, "inertial") {
            self.origin(inertial)?;
            let mass = self.required_child(inertial, "mass")?;
            let value = self.required_number(mass, "value")?;
            self.not_negative(mass, "value", Some(value), "a mass")?;
            let inertia = self.required_child(inertial, "inertia")?;
            for attribute in ["ixx", "ixy", "ixz", "iyy", "iyz", "izz"] {
                let value = self.required_number(inertia, attribute)?;
                if matches!(attribute, "ixx" | "iyy" | "izz") {
                    self.not_negative(inertia, attribute, Some(value), "a moment of inertia")?;
                }
            }
        }
        for element in link.children().filter(|c| c.is_element()) {
            let tag = element.tag_name().name();
            if tag != "visual" && tag != "collision" {
                continue;
            }
            self.origin(element)?;
            self.geometry(self.required_child(element, "geometry")?)?;
            if tag == "visual"
                && let Some(material) = Self::child(element, "material")
            {
                self.material(material)?;
            }
        }
        Ok(())
    }

    fn geometry(&self, geometry: Node) -> Result<(), Error> {
        let Some(shape) = geometry.children().find(|c| {
            matches!(
                c.tag_name().name(),
                "box" | "cylinder" | "capsule" | "sphere" | "mesh"
            )
        }) else {
            return Err(Error::MissingElement {
                path: self.path.to_owned(),
                line: line_of(geometry),
                element: Self::describe(geometry),
                child: "box>, <cylinder>, <capsule>, <sphere> or <mesh",
            });
        };
        match shape.tag_name().name() {
            "box" => {
                self.required(shape, "size")?;
                let size = self.numbers(shape, "size", 3)?.unwrap_or_default();
                if let Some(&v) = size.iter().find(|v| **v < 0.0) {
                    self.not_negative(shape, "size", Some(v), "a box's size")?;
                }
            }
            "cylinder" | "capsule" => {
                for attribute in ["radius", "length"] {
                    let v = self.required_number(shape, attribute)?;
                    self.not_negative(shape, attribute, Some(v), "a size")?;
                }
            }
            "sphere" => {
                let v = self.required_number(shape, "radius")?;
                self.not_negative(shape, "radius", Some(v), "a size")?;
            }
            _ => {
                self.required(shape, "filename")?;
                self.numbers(shape, "scale", 3)?;
            }
        }
        Ok(())
    }

    fn material(&self, material: Node) -> Result<(), Error> {
        self.required(material, "name")?;
        if let Some(color) = Self::child(material, "color") {
            self.required(color, "rgba")?;
            self.numbers(color, "rgba", 4)?;
        }
        if let Some(texture) = Self::child(material, "texture") {
            self.required(texture, "filename")?;
        }
        Ok(())
    }

    fn joint(&self, joint: Node) -> Result<(), Error> {
        self.name(joint)?;
        let kind = self.required(joint, "type")?;
        if !JOINT_TYPES.contains(&kind) {
            return Err(self.bad_value(
                joint,
                "type",
                kind,
                "a joint type (revolute, continuous, prismatic, fixed, floating, planar, spherical)",
            ));
        }
        self.origin(joint)?;
        for role in ["parent", "child"] {
            let end = self.required_child(joint, role)?;
            self.required(end, "link")?;
        }
        if let Some(axis) = Self::child(joint, "axis") {
            self.required(axis, "xyz")?;
            self.numbers(axis, "xyz", 3)?;
        }
        if let Some(limit) = Self::child(joint, "limit") {
            // urdf-rs needs `velocity`; say so plainly instead of a deserializer message.
            let velocity = self.required_number(limit, "velocity")?;
            self.not_negative(limit, "velocity", Some(velocity), "a velocity limit")?;
            let effort = self.number(limit, "effort")?;
            self.not_negative(limit, "effort", effort, "an effort limit")?;
            self.number(limit, "lower")?;
            self.number(limit, "upper")?;
        }
        if let Some(mimic) = Self::child(joint, "mimic") {
            self.required(mimic, "joint")?;
            self.number(mimic, "multiplier")?;
            self.number(mimic, "offset")?;
        }
        if let Some(safety) = Self::child(joint, "safety_controller") {
            self.required_number(safety, "k_velocity")?;
            for attribute in ["soft_lower_limit", "soft_upper_limit", "k_position"] {
                self.number(safety, attribute)?;
            }
        }
        if let Some(calibration) = Self::child(joint, "calibration") {
            self.number(calibration, "rising")?;
            self.number(calibration, "falling")?;
        }
        if let Some(dynamics) = Self::child(joint, "dynamics") {
            self.number(dynamics, "damping")?;
            self.number(dynamics, "friction")?;
        }
        Ok(())
    }
}
