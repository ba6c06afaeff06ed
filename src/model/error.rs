//! Errors from loading a robot description. Each names the file, the line and the element at
//! fault (a mesh's errors name the mesh), on one line: names and values echoed from the file have their control characters escaped and
//! are cut to [`MAX_ECHO`] characters ([`shown`]), so a newline or an ANSI escape in a link name,
//! or a 10 MB joint name, cannot break or flood the message.

use std::path::{Path, PathBuf};

/// The most characters of one name, value or path an error message repeats.
pub const MAX_ECHO: usize = 200;

/// `text` as an error message shows it: control characters escaped (`\n`, `\u{1b}`), at most
/// [`MAX_ECHO`] characters, then `…`.
pub fn shown(text: &str) -> String {
    shown_at_most(text, MAX_ECHO)
}

/// `text` with control characters escaped, at most `max` characters, then `…`.
pub fn shown_at_most(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A path as an error message shows it (see [`shown`]).
pub fn shown_path(path: &Path) -> String {
    shown(&path.display().to_string())
}

/// Names in a list, each [`shown`], at most 10 of them (then how many more).
pub fn shown_list(names: &[String]) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .take(10)
        .map(|n| format!("'{}'", shown(n)))
        .collect();
    if names.len() > 10 {
        parts.push(format!("and {} more", names.len() - 10));
    }
    format!("[{}]", parts.join(", "))
}

/// Why a URDF could not become a [`crate::model::Model`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", shown_path(.path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: not well-formed XML: {}", shown_path(.path), shown(.message))]
    NotXml {
        path: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
    #[error(
        "{}:{line}: <{}> is nested {depth} elements deep; a URDF may nest at most {limit}",
        shown_path(.path), shown(.element)
    )]
    TooDeep {
        path: PathBuf,
        line: u32,
        element: String,
        depth: usize,
        limit: usize,
    },
    #[error("{}:{line}: the root element is <{}>, expected <robot>", shown_path(.path), shown(.found))]
    NoRobotElement {
        path: PathBuf,
        line: u32,
        found: String,
    },
    #[error("{}:{line}: <{}> has no '{attribute}' attribute", shown_path(.path), shown(.element))]
    MissingAttribute {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: &'static str,
    },
    #[error("{}:{line}: <{}> has an empty '{attribute}'", shown_path(.path), shown(.element))]
    EmptyAttribute {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: &'static str,
    },
    #[error("{}:{line}: <{}> needs a <{child}> element", shown_path(.path), shown(.element))]
    MissingElement {
        path: PathBuf,
        line: u32,
        element: String,
        child: &'static str,
    },
    #[error(
        "{}:{line}: <{}> attribute '{}' = \"{}\" is not a finite number",
        shown_path(.path), shown(.element), shown(.attribute), shown(.value)
    )]
    NotFinite {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: String,
        value: String,
    },
    #[error(
        "{}:{line}: <{}> attribute '{}' = \"{}\" is not {expected}",
        shown_path(.path), shown(.element), shown(.attribute), shown(.value)
    )]
    BadValue {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: String,
        value: String,
        expected: &'static str,
    },
    #[error(
        "{}:{line}: <{}> attribute '{attribute}' = {value} is negative; {meaning} cannot be",
        shown_path(.path), shown(.element)
    )]
    Negative {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: &'static str,
        value: f64,
        meaning: &'static str,
    },
    #[error(
        "{}:{line}: <{}> is not a shape (box, cylinder, capsule, sphere or mesh)",
        shown_path(.path), shown(.element)
    )]
    UnknownShape {
        path: PathBuf,
        line: u32,
        element: String,
    },
    #[error("{}:{line}: two links are named '{}'", shown_path(.path), shown(.name))]
    DuplicateLink {
        path: PathBuf,
        line: u32,
        name: String,
    },
    #[error("{}:{line}: two joints are named '{}'", shown_path(.path), shown(.name))]
    DuplicateJoint {
        path: PathBuf,
        line: u32,
        name: String,
    },
    #[error(
        "{}:{line}: joint '{}' names {role} link '{}', which does not exist",
        shown_path(.path), shown(.joint), shown(.link)
    )]
    MissingLink {
        path: PathBuf,
        line: u32,
        joint: String,
        role: &'static str,
        link: String,
    },
    #[error(
        "{}:{line}: link '{}' has two parents: joints '{}' and '{}'",
        shown_path(.path), shown(.link), shown(.first), shown(.second)
    )]
    TwoParents {
        path: PathBuf,
        line: u32,
        link: String,
        first: String,
        second: String,
    },
    #[error(
        "{}:{line}: joints form a loop through links {}",
        shown_path(.path), shown_list(.links)
    )]
    Loop {
        path: PathBuf,
        line: u32,
        links: Vec<String>,
    },
    #[error(
        "{}:{line}: expected one root link, found {} ({})",
        shown_path(.path), .roots.len(), shown_list(.roots)
    )]
    NoSingleRoot {
        path: PathBuf,
        line: u32,
        roots: Vec<String>,
    },
    #[error(
        "{}:{line}: {kind} joint '{}' has no <limit> (revolute and prismatic joints need one)",
        shown_path(.path), shown(.joint)
    )]
    MissingLimit {
        path: PathBuf,
        line: u32,
        joint: String,
        kind: &'static str,
    },
    #[error(
        "{}:{line}: joint '{}' has lower limit {lower} above upper limit {upper}",
        shown_path(.path), shown(.joint)
    )]
    InvertedLimit {
        path: PathBuf,
        line: u32,
        joint: String,
        lower: f64,
        upper: f64,
    },
    #[error("{}:{line}: joint '{}' has a zero-length axis", shown_path(.path), shown(.joint))]
    ZeroAxis {
        path: PathBuf,
        line: u32,
        joint: String,
    },
    #[error(
        "{}:{line}: joint '{}' is of type '{kind}', which is not supported (only revolute, continuous, prismatic and fixed)",
        shown_path(.path), shown(.joint)
    )]
    UnsupportedJoint {
        path: PathBuf,
        line: u32,
        joint: String,
        kind: &'static str,
    },
    #[error(
        "{}:{line}: mimic joint '{}' follows '{}', which does not exist",
        shown_path(.path), shown(.joint), shown(.leader)
    )]
    MimicMissingJoint {
        path: PathBuf,
        line: u32,
        joint: String,
        leader: String,
    },
    #[error(
        "{}:{line}: mimic joint '{}' follows '{}', which is fixed",
        shown_path(.path), shown(.joint), shown(.leader)
    )]
    MimicFixedLeader {
        path: PathBuf,
        line: u32,
        joint: String,
        leader: String,
    },
    #[error(
        "{}:{line}: mimic joints form a cycle: {}",
        shown_path(.path), shown_list(.joints)
    )]
    MimicCycle {
        path: PathBuf,
        line: u32,
        joints: Vec<String>,
    },
    #[error(
        "mesh '{}' does not resolve to a file (tried {})",
        shown(.uri), shown_list(&.tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>())
    )]
    MeshNotFound { uri: String, tried: Vec<PathBuf> },
    #[error("{}: cannot load mesh: {source}", shown_path(.path))]
    MeshLoad {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
