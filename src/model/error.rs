//! Errors from loading a robot description. Each names the file and the element at fault.

use std::path::PathBuf;

/// Why a URDF could not become a [`crate::model::Model`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not well-formed XML: {message}")]
    NotXml {
        path: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{path}: the root element is <{found}>, expected <robot>")]
    NoRobotElement { path: PathBuf, found: String },
    #[error("{path}:{line}: <{element}> has no '{attribute}' attribute")]
    MissingAttribute {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: &'static str,
    },
    #[error(
        "{path}:{line}: <{element}> attribute '{attribute}' = \"{value}\" is not a finite number"
    )]
    NotFinite {
        path: PathBuf,
        line: u32,
        element: String,
        attribute: String,
        value: String,
    },
    #[error("{path}: URDF parser: {message}")]
    Urdf { path: PathBuf, message: String },
    #[error("{path}: two links are named '{name}'")]
    DuplicateLink { path: PathBuf, name: String },
    #[error("{path}: two joints are named '{name}'")]
    DuplicateJoint { path: PathBuf, name: String },
    #[error("{path}: joint '{joint}' names {role} link '{link}', which does not exist")]
    MissingLink {
        path: PathBuf,
        joint: String,
        role: &'static str,
        link: String,
    },
    #[error("{path}: link '{link}' has two parents: joints '{first}' and '{second}'")]
    TwoParents {
        path: PathBuf,
        link: String,
        first: String,
        second: String,
    },
    #[error("{path}: joints form a loop through links {links:?}")]
    Loop { path: PathBuf, links: Vec<String> },
    #[error("{path}: expected one root link, found {} ({roots:?})", roots.len())]
    NoSingleRoot { path: PathBuf, roots: Vec<String> },
    #[error(
        "{path}: {kind} joint '{joint}' has no <limit> (revolute and prismatic joints need one)"
    )]
    MissingLimit {
        path: PathBuf,
        joint: String,
        kind: &'static str,
    },
    #[error("{path}: joint '{joint}' has lower limit {lower} above upper limit {upper}")]
    InvertedLimit {
        path: PathBuf,
        joint: String,
        lower: f64,
        upper: f64,
    },
    #[error("{path}: joint '{joint}' has a zero-length axis")]
    ZeroAxis { path: PathBuf, joint: String },
    #[error(
        "{path}: joint '{joint}' is of type '{kind}', which is not supported (only revolute, continuous, prismatic and fixed)"
    )]
    UnsupportedJoint {
        path: PathBuf,
        joint: String,
        kind: &'static str,
    },
    #[error("{path}: mimic joint '{joint}' follows '{leader}', which does not exist")]
    MimicMissingJoint {
        path: PathBuf,
        joint: String,
        leader: String,
    },
    #[error("{path}: mimic joint '{joint}' follows '{leader}', which is fixed")]
    MimicFixedLeader {
        path: PathBuf,
        joint: String,
        leader: String,
    },
    #[error("{path}: mimic joints form a cycle: {joints:?}")]
    MimicCycle { path: PathBuf, joints: Vec<String> },
    #[error("mesh '{uri}' does not resolve to a file (tried {tried:?})")]
    MeshNotFound { uri: String, tried: Vec<PathBuf> },
    #[error("{path}: cannot load mesh: {source}")]
    MeshLoad {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
