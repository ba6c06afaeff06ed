//! Errors from setting up a hand retargeter or reading one input line (bad tracking at solve time
//! is a hold, never an error).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kinematics(#[from] crate::kinematics::Error),
    #[error("hand mapping: {0}")]
    Mapping(String),
    #[error("hand mapping: no joint named '{0}' in the URDF")]
    UnknownJoint(String),
    #[error("hand mapping: joint '{joint}' cannot be driven: {reason}")]
    NotDriveable { joint: String, reason: String },
    #[error("hand mapping: pinch names fingertip '{0}', which `fingertips` does not define")]
    UnknownFingertip(String),
    #[error("{0}")]
    Input(String),
}
