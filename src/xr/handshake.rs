//! Every `unsafe` call of the OpenXR client, in one place: loading the loader library, creating
//! sessions (OpenXR's graphics bindings take raw handles), and the Vulkan ↔ OpenXR ↔ wgpu
//! handshake. Each block states the invariant that makes it sound.
#![allow(unsafe_code)]

use openxr as xr;

use super::error::{Error, check};

/// The system's OpenXR loader (`libopenxr_loader.so.1`), opened at run time.
pub fn load_entry() -> Result<xr::Entry, Error> {
    // SAFETY: the library by that name is the Khronos OpenXR loader (or a conforming
    // implementation): the only thing `Entry::load` requires.
    unsafe { xr::Entry::load(&()) }.map_err(|e| Error::NoLoader {
        detail: e.to_string(),
    })
}

/// A session with no graphics binding (`XR_MND_headless`, which the caller enabled).
pub fn create_headless_session(
    instance: &xr::Instance,
    system: xr::SystemId,
) -> Result<
    (
        xr::Session<xr::Headless>,
        xr::FrameWaiter,
        xr::FrameStream<xr::Headless>,
    ),
    Error,
> {
    // SAFETY: a headless session has no graphics handles to keep valid; the create info is
    // empty. The extension is enabled on `instance` (checked by the caller).
    check("xrCreateSession (headless)", unsafe {
        instance.create_session::<xr::Headless>(system, &xr::headless::SessionCreateInfo {})
    })
}
