//! Every `unsafe` call of the OpenXR client, in one place: loading the loader library, creating
//! sessions (OpenXR's graphics bindings take raw handles), and the Vulkan ↔ OpenXR ↔ wgpu
//! handshake. Each block states the invariant that makes it sound.
#![allow(unsafe_code)]

use openxr as xr;

use super::error::{Error, check};
use crate::render;

/// The system's OpenXR loader (`libopenxr_loader.so.1`), opened at run time.
pub fn load_entry() -> Result<xr::Entry, Error> {
    // SAFETY: the library by that name is the Khronos OpenXR loader (or a conforming
    // implementation): the only thing `Entry::load` requires.
    unsafe { xr::Entry::load(&()) }.map_err(|e| Error::NoLoader {
        detail: e.to_string(),
    })
}

/// What `xrCreateSession` gives: the session, its frame waiter and its frame stream.
pub type SessionParts<G> = (xr::Session<G>, xr::FrameWaiter, xr::FrameStream<G>);

/// A session with no graphics binding (`XR_MND_headless`, which the caller enabled).
pub fn create_headless_session(
    instance: &xr::Instance,
    system: xr::SystemId,
) -> Result<SessionParts<xr::Headless>, Error> {
    // SAFETY: a headless session has no graphics handles to keep valid; the create info is
    // empty. The extension is enabled on `instance` (checked by the caller).
    check("xrCreateSession (headless)", unsafe {
        instance.create_session::<xr::Headless>(system, &xr::headless::SessionCreateInfo {})
    })
}

/// The wgpu device OpenXR renders with: its Vulkan instance and device were created through
/// the runtime (`xrCreateVulkanInstanceKHR` / `xrCreateVulkanDeviceKHR`, so they carry the
/// extensions the compositor needs), then handed to wgpu-hal, which owns them from then on.
pub struct Gpu {
    /// The same kind of GPU the renderer uses elsewhere (window, PNG frames).
    pub gpu: render::Gpu,
    /// The raw handles the OpenXR session is created with.
    session_info: xr::vulkan::SessionCreateInfo,
}

fn graphics(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Graphics(format!("{what}: {e}"))
}

/// Vulkan 1.2: what wgpu-hal and lavapipe both do well; the runtime must accept it.
const VK_API_VERSION: u32 = ash::vk::API_VERSION_1_2;

pub fn create_gpu(instance: &xr::Instance, system: xr::SystemId) -> Result<Gpu, Error> {
    use ash::vk::{self, Handle};
    use wgpu::hal::api::Vulkan as Hal;

    let wanted = xr::Version::new(1, 2, 0);
    let reqs = check(
        "xrGetVulkanGraphicsRequirements2KHR",
        instance.graphics_requirements::<xr::Vulkan>(system),
    )?;
    if wanted < reqs.min_api_version_supported
        || wanted.major() > reqs.max_api_version_supported.major()
    {
        return Err(Error::Graphics(format!(
            "the OpenXR runtime wants Vulkan {}–{}.x, we use 1.2",
            reqs.min_api_version_supported,
            reqs.max_api_version_supported.major()
        )));
    }
    // SAFETY: loads the system's Vulkan loader (libvulkan.so.1), a conforming implementation.
    let entry = unsafe { ash::Entry::load() }.map_err(|e| graphics("Vulkan loader", e))?;
    let flags = wgpu::InstanceFlags::empty();
    let extensions =
        <Hal as wgpu::hal::Api>::Instance::desired_extensions(&entry, VK_API_VERSION, flags)
            .map_err(|e| graphics("Vulkan instance extensions", e))?;
    let extension_ptrs: Vec<*const std::ffi::c_char> =
        extensions.iter().map(|e| e.as_ptr()).collect();
    let app = vk::ApplicationInfo::default()
        .application_name(c"teleop-bridge")
        .api_version(VK_API_VERSION);
    let create_info = vk::InstanceCreateInfo::default()
        .application_info(&app)
        .enabled_extension_names(&extension_ptrs);
    // SAFETY: `get_instance_proc_addr` comes from the loaded entry and has the signature
    // OpenXR's `PFN_vkGetInstanceProcAddr` describes; `create_info` and what it points to live
    // until the call returns.
    let raw_instance = unsafe {
        #[allow(clippy::missing_transmute_annotations)]
        instance.create_vulkan_instance(
            system,
            std::mem::transmute(entry.static_fn().get_instance_proc_addr),
            &create_info as *const _ as *const _,
        )
    };
    let raw_instance = check("xrCreateVulkanInstanceKHR", raw_instance)?
        .map_err(|r| graphics("vkCreateInstance", vk::Result::from_raw(r)))?;
    // SAFETY: the handle was just created from this entry.
    let ash_instance = unsafe {
        ash::Instance::load(entry.static_fn(), vk::Instance::from_raw(raw_instance as _))
    };
    // SAFETY: the instance was created from `entry` with `extensions` and VK_API_VERSION;
    // wgpu-hal takes ownership (no drop callback) and destroys it last.
    let hal_instance = unsafe {
        <Hal as wgpu::hal::Api>::Instance::from_raw(
            entry,
            ash_instance,
            VK_API_VERSION,
            0,
            None,
            extensions,
            flags,
            wgpu::MemoryBudgetThresholds::default(),
            false,
            None,
        )
    }
    .map_err(|e| graphics("wgpu-hal instance", e))?;
    // SAFETY: the instance handle is valid (above).
    let raw_physical = check("xrGetVulkanGraphicsDevice2KHR", unsafe {
        instance.vulkan_graphics_device(system, raw_instance)
    })?;
    let physical = vk::PhysicalDevice::from_raw(raw_physical as _);
    let exposed = hal_instance.expose_adapter(physical).ok_or_else(|| {
        Error::Graphics("the runtime's Vulkan device is not usable by wgpu".into())
    })?;
    let family = {
        let raw = hal_instance.shared_instance().raw_instance();
        // SAFETY: `physical` belongs to this instance.
        unsafe { raw.get_physical_device_queue_family_properties(physical) }
            .iter()
            .position(|f| f.queue_flags.contains(vk::QueueFlags::GRAPHICS))
            .ok_or_else(|| Error::Graphics("no graphics queue".into()))? as u32
    };
    let features = wgpu::Features::empty();
    let limits = exposed.capabilities.limits.clone();
    let device_extensions = exposed.adapter.required_device_extensions(features);
    let device_extension_ptrs: Vec<*const std::ffi::c_char> =
        device_extensions.iter().map(|e| e.as_ptr()).collect();
    let mut physical_features = exposed
        .adapter
        .physical_device_features(&device_extensions, features);
    let priorities = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(family)
        .queue_priorities(&priorities)];
    let device_info = physical_features.add_to_device_create(
        vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&device_extension_ptrs),
    );
    let entry_fn = hal_instance
        .shared_instance()
        .entry()
        .static_fn()
        .get_instance_proc_addr;
    // SAFETY: as for the instance; `device_info` and everything it points to outlive the call.
    let raw_device = unsafe {
        #[allow(clippy::missing_transmute_annotations)]
        instance.create_vulkan_device(
            system,
            std::mem::transmute(entry_fn),
            raw_physical,
            &device_info as *const _ as *const _,
        )
    };
    let raw_device = check("xrCreateVulkanDeviceKHR", raw_device)?
        .map_err(|r| graphics("vkCreateDevice", vk::Result::from_raw(r)))?;
    let ash_device = unsafe {
        // SAFETY: the device was just created from this instance.
        ash::Device::load(
            hal_instance.shared_instance().raw_instance().fp_v1_0(),
            vk::Device::from_raw(raw_device as _),
        )
    };
    let session_info = xr::vulkan::SessionCreateInfo {
        instance: raw_instance,
        physical_device: raw_physical,
        device: raw_device,
        queue_family_index: family,
        queue_index: 0,
    };
    // SAFETY: the device was created from this adapter's physical device with
    // `device_extensions` and `physical_features`, queue family `family`; wgpu-hal owns it.
    let open = unsafe {
        exposed.adapter.device_from_raw(
            ash_device,
            None,
            &device_extensions,
            features,
            &limits,
            &wgpu::MemoryHints::Performance,
            family,
            0,
        )
    }
    .map_err(|e| graphics("wgpu-hal device", e))?;
    // SAFETY: the instance, adapter and device above come from one another.
    let wgpu_instance = unsafe { wgpu::Instance::from_hal::<Hal>(hal_instance) };
    let adapter = unsafe { wgpu_instance.create_adapter_from_hal(exposed) };
    let (device, queue) = unsafe {
        adapter.create_device_from_hal(
            open,
            &wgpu::DeviceDescriptor {
                label: Some("openxr"),
                required_features: features,
                required_limits: limits,
                ..Default::default()
            },
        )
    }
    .map_err(|e| graphics("wgpu device", e))?;
    Ok(Gpu {
        gpu: render::Gpu {
            instance: wgpu_instance,
            adapter,
            device,
            queue,
        },
        session_info,
    })
}

/// A Vulkan session on `gpu`'s device.
pub fn create_vulkan_session(
    instance: &xr::Instance,
    system: xr::SystemId,
    gpu: &Gpu,
) -> Result<SessionParts<xr::Vulkan>, Error> {
    // SAFETY: the handles were created through this OpenXR instance and system and stay
    // valid while `gpu` lives; the caller drops the session before `gpu`.
    check("xrCreateSession (Vulkan)", unsafe {
        instance.create_session::<xr::Vulkan>(system, &gpu.session_info)
    })
}

/// One swapchain image (a `VkImage` the runtime owns, `layers` array layers) as a wgpu texture
/// that can be rendered to.
pub fn wrap_swapchain_image(
    device: &wgpu::Device,
    image: u64,
    format: wgpu::TextureFormat,
    width: u32,
    height: u32,
    layers: u32,
) -> Result<wgpu::Texture, Error> {
    use ash::vk::{self, Handle};
    use wgpu::hal::api::Vulkan as Hal;

    let size = wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: layers,
    };
    let hal_desc = wgpu::hal::TextureDescriptor {
        label: Some("openxr swapchain"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUses::COLOR_TARGET | wgpu::TextureUses::RESOURCE,
        memory_flags: wgpu::hal::MemoryFlags::empty(),
        view_formats: vec![],
    };
    // SAFETY: the image was created by the runtime with this size, format, layer count and
    // colour-attachment + sampled usage (our swapchain create info); the no-op drop callback
    // leaves it to the runtime, which keeps it alive until the swapchain is destroyed, after
    // the texture (the client drops textures first).
    let hal_texture = unsafe {
        let hal_device = device
            .as_hal::<Hal>()
            .ok_or_else(|| Error::Graphics("the wgpu device is not Vulkan".into()))?;
        hal_device.texture_from_raw(
            vk::Image::from_raw(image),
            &hal_desc,
            Some(Box::new(|| {})),
            wgpu::hal::vulkan::TextureMemory::External,
        )
    };
    // SAFETY: `hal_texture` belongs to `device`; it starts as a colour target, where the
    // runtime leaves swapchain images for the application.
    Ok(unsafe {
        device.create_texture_from_hal::<Hal>(
            hal_texture,
            &wgpu::TextureDescriptor {
                label: Some("openxr swapchain"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                    | wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::TextureUses::COLOR_TARGET,
        )
    })
}
