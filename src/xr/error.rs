//! Why the OpenXR client could not start or had to stop.

use openxr as xr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "OpenXR loader not found ({detail}): install the OpenXR loader (Debian: libopenxr-loader1)"
    )]
    NoLoader { detail: String },
    #[error(
        "no OpenXR runtime available ({result}): is a runtime installed and active \
         (active_runtime.json or XR_RUNTIME_JSON) and its service running (monado-service)?"
    )]
    NoRuntime { result: xr::sys::Result },
    #[error("no headset: the OpenXR runtime offers no head-mounted display ({result})")]
    NoHeadset { result: xr::sys::Result },
    #[error("the OpenXR runtime {runtime:?} lacks {extension}, needed for {purpose}")]
    MissingExtension {
        runtime: String,
        extension: &'static str,
        purpose: &'static str,
    },
    #[error("OpenXR {call} failed: {result}")]
    Call {
        call: &'static str,
        result: xr::sys::Result,
    },
    #[error("the OpenXR runtime went away ({call}: {result}); the robot holds where it is")]
    RuntimeLost {
        call: &'static str,
        result: xr::sys::Result,
    },
    #[error("graphics: {0}")]
    Graphics(String),
}

impl Error {
    /// The result of an OpenXR call, with the results that mean "the service is gone" told
    /// apart from ordinary failures.
    pub fn from_call(call: &'static str, result: xr::sys::Result) -> Error {
        match result {
            xr::sys::Result::ERROR_INSTANCE_LOST
            | xr::sys::Result::ERROR_SESSION_LOST
            | xr::sys::Result::ERROR_RUNTIME_FAILURE
            | xr::sys::Result::ERROR_RUNTIME_UNAVAILABLE => Error::RuntimeLost { call, result },
            _ => Error::Call { call, result },
        }
    }

    /// The runtime is gone: nothing more may be asked of it.
    pub fn is_runtime_lost(&self) -> bool {
        matches!(self, Error::RuntimeLost { .. })
    }
}

/// `r.map_err(|e| Error::from_call(call, e))`, shorter.
pub(crate) fn check<T>(call: &'static str, r: xr::Result<T>) -> Result<T, Error> {
    r.map_err(|result| Error::from_call(call, result))
}
