//! The OpenXR instance: the loader, the runtime, the extensions we use where it offers them,
//! and the headset (system). Failing here means "no headset to use", with the reason.

use std::time::Instant;

use openxr as xr;

use super::error::{Error, check};
use super::handshake;

/// Which kind of session the instance is for (decides the extension it cannot do without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Input only, no graphics (`XR_MND_headless`): tests, and driving the robot without
    /// showing anything.
    Headless,
    /// Vulkan (`XR_KHR_vulkan_enable2`), showing the robot's stereo view in the headset.
    Vulkan,
}

/// Which optional extensions are enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enabled {
    pub vulkan: bool,
    pub headless: bool,
    pub hand_tracking: bool,
    pub convert_timespec: bool,
}

/// A loaded runtime with its headset.
pub struct Runtime {
    pub instance: xr::Instance,
    pub system: xr::SystemId,
    pub enabled: Enabled,
    /// The runtime's name and version, for messages.
    pub name: String,
    /// XrTime of `epoch` (ns): maps runtime times onto the pipeline's monotonic clock.
    xr_time_at_epoch: Option<i64>,
}

impl Runtime {
    /// Loads the loader, creates an instance for `kind` with the extensions the runtime offers
    /// among those we use, and finds the headset. `epoch` is the pipeline's time zero.
    pub fn new(kind: SessionKind, epoch: Instant) -> Result<Runtime, Error> {
        let entry = handshake::load_entry()?;
        let available = entry
            .enumerate_extensions()
            .map_err(|result| Error::NoRuntime { result })?;
        let mut wanted = xr::ExtensionSet::default();
        wanted.khr_vulkan_enable2 = kind == SessionKind::Vulkan && available.khr_vulkan_enable2;
        wanted.mnd_headless = kind == SessionKind::Headless && available.mnd_headless;
        wanted.ext_hand_tracking = available.ext_hand_tracking;
        wanted.khr_convert_timespec_time = available.khr_convert_timespec_time;
        let instance = entry
            .create_instance(
                &xr::ApplicationInfo {
                    application_name: "teleop-bridge",
                    application_version: 1,
                    engine_name: "teleop-bridge",
                    engine_version: 1,
                    api_version: xr::Version::new(1, 0, 0),
                },
                &wanted,
                &[],
                &(),
            )
            .map_err(|result| match result {
                xr::sys::Result::ERROR_RUNTIME_UNAVAILABLE
                | xr::sys::Result::ERROR_RUNTIME_FAILURE
                | xr::sys::Result::ERROR_INSTANCE_LOST => Error::NoRuntime { result },
                result => Error::Call {
                    call: "xrCreateInstance",
                    result,
                },
            })?;
        let props = check("xrGetInstanceProperties", instance.properties())?;
        let name = format!("{} {}", props.runtime_name, props.runtime_version);
        let missing = |extension, purpose| Error::MissingExtension {
            runtime: name.clone(),
            extension,
            purpose,
        };
        match kind {
            SessionKind::Headless if !wanted.mnd_headless => {
                return Err(missing("XR_MND_headless", "a session without graphics"));
            }
            SessionKind::Vulkan if !wanted.khr_vulkan_enable2 => {
                return Err(missing("XR_KHR_vulkan_enable2", "showing the robot's view"));
            }
            _ => {}
        }
        let system = instance
            .system(xr::FormFactor::HEAD_MOUNTED_DISPLAY)
            .map_err(|result| match result {
                xr::sys::Result::ERROR_FORM_FACTOR_UNAVAILABLE
                | xr::sys::Result::ERROR_FORM_FACTOR_UNSUPPORTED => Error::NoHeadset { result },
                result => Error::from_call("xrGetSystem", result),
            })?;
        let hand_tracking =
            wanted.ext_hand_tracking && instance.supports_hand_tracking(system).unwrap_or(false);
        let enabled = Enabled {
            vulkan: wanted.khr_vulkan_enable2,
            headless: wanted.mnd_headless,
            hand_tracking,
            convert_timespec: wanted.khr_convert_timespec_time,
        };
        let mut runtime = Runtime {
            instance,
            system,
            enabled,
            name,
            xr_time_at_epoch: None,
        };
        runtime.xr_time_at_epoch = runtime
            .now()
            .map(|now| now - epoch.elapsed().as_nanos() as i64);
        tracing::info!(runtime = %runtime.name, ?enabled, "OpenXR instance");
        Ok(runtime)
    }

    /// The runtime's current time (XrTime, ns), when `XR_KHR_convert_timespec_time` is there.
    pub fn now(&self) -> Option<i64> {
        if !self.enabled.convert_timespec {
            return None;
        }
        self.instance.now().ok().map(|t| t.as_nanos())
    }

    /// An XrTime as nanoseconds since the pipeline's epoch (0 before it). Without the
    /// timespec extension runtime times cannot be mapped: `None`.
    pub fn epoch_ns(&self, time: xr::Time) -> Option<u64> {
        self.xr_time_at_epoch
            .map(|at_epoch| (time.as_nanos() - at_epoch).max(0) as u64)
    }
}
