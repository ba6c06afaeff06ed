//! Errors from compiling chains and naming configurations. Names echoed from input are shown
//! escaped and cut short ([`shown`]), so every message stays one short line.

use crate::model::shown;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no link named '{}'", shown(.0))]
    UnknownLink(String),
    #[error(
        "link '{}' is not an ancestor of link '{}', so they do not form a chain",
        shown(.base), shown(.tip)
    )]
    NotAnAncestor { base: String, tip: String },
    #[error("no joint named '{}'", shown(.0))]
    UnknownJoint(String),
    #[error("joint '{}' cannot be set: {}", shown(.joint), shown(.reason))]
    NotIndependent { joint: String, reason: String },
    #[error("joint '{}' value {value} is not a finite number", shown(.joint))]
    NotFinite { joint: String, value: f64 },
}
