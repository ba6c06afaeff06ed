//! A first pass over the raw XML, before urdf-rs: it knows line numbers and which elements are
//! present, which urdf-rs's defaults hide (a joint without `<limit>` parses as limits of 0).

use std::collections::HashMap;
use std::path::Path;

use super::Error;

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

pub(crate) fn check(path: &Path, text: &str) -> Result<XmlFacts, Error> {
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        Error::NotXml {
            path: path.to_owned(),
            line: pos.row,
            column: pos.col,
            message: e.to_string(),
        }
    })?;
    let robot = doc.root_element();
    if robot.tag_name().name() != "robot" {
        return Err(Error::NoRobotElement {
            path: path.to_owned(),
            found: robot.tag_name().name().to_owned(),
        });
    }
    let line_of = |node: roxmltree::Node| doc.text_pos_at(node.range().start).row;

    for node in robot.descendants().filter(|n| n.is_element()) {
        for attribute in node.attributes() {
            if !NUMERIC_ATTRIBUTES.contains(&attribute.name()) {
                continue;
            }
            // Unparsable text is urdf-rs's to report; here only NaN and infinities.
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

    let mut links: HashMap<&str, ()> = HashMap::new();
    let mut joint_has_limit = HashMap::new();
    let mut joint_soft_bounds_given = HashMap::new();
    for node in robot.children().filter(|n| n.is_element()) {
        let element = node.tag_name().name();
        if element != "link" && element != "joint" {
            continue;
        }
        let Some(name) = node.attribute("name") else {
            return Err(Error::MissingAttribute {
                path: path.to_owned(),
                line: line_of(node),
                element: element.to_owned(),
                attribute: "name",
            });
        };
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
        if let Some(limit) = limit {
            // urdf-rs needs `velocity`; say so plainly instead of a deserializer message.
            if limit.attribute("velocity").is_none() {
                return Err(Error::MissingAttribute {
                    path: path.to_owned(),
                    line: line_of(limit),
                    element: format!("limit of joint '{name}'"),
                    attribute: "velocity",
                });
            }
        }
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
