//! Errors from compiling chains and naming configurations.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no link named '{0}'")]
    UnknownLink(String),
    #[error("link '{base}' is not an ancestor of link '{tip}', so they do not form a chain")]
    NotAnAncestor { base: String, tip: String },
    #[error("no joint named '{0}'")]
    UnknownJoint(String),
    #[error("joint '{joint}' cannot be set: {reason}")]
    NotIndependent { joint: String, reason: String },
    #[error("joint '{joint}' value {value} is not a finite number")]
    NotFinite { joint: String, value: f64 },
}
