//! The Vulkan session: the headset shows what an [`EyeRenderer`] draws (the robot's stereo
//! camera view) as a projection layer, one wgpu render pass per eye into the runtime's
//! swapchain images, while the operator's input is sampled at each frame's predicted display
//! time.
//!
//! Frame loop, one OpenXR call per step: `wait_frame` → `begin_frame` → `acquire/wait_image`
//! → draw both eyes → `release_image` → `locate_views` → `end_frame` with the layer.

use std::time::Instant;

use ash::vk::Format as VkFormat;
use nalgebra::Isometry3;
use openxr as xr;
use wgpu::TextureFormat;

use super::client::{Client, Core, Step};
use super::error::{Error, check};
use super::frames::{isometry_from_xr, xr_from_isometry};
use super::handshake::{self, Gpu};
use super::instance::{Runtime, SessionKind};
use super::session::SessionState;
use crate::render;

/// Where one eye's image is seen from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeView {
    /// 0 left, 1 right.
    pub eye: usize,
    /// `stage_from_eye` as the headset predicts it for this frame's display time; `None` when
    /// not tracked.
    pub stage_from_eye: Option<Isometry3<f64>>,
    /// Field of view: angles left, right, up, down (rad; left and down negative).
    pub fov: [f32; 4],
    /// Pixels.
    pub width: u32,
    pub height: u32,
}

/// What an eye's image was rendered as: where from and with which field of view, so the
/// compositor shows it where the robot's camera looked (not head-locked: the trainer looks
/// around inside it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rendered {
    /// `stage_from_view` in OpenXR's view convention (+X right, +Y up, −Z forward).
    pub stage_from_view: Isometry3<f64>,
    /// Angles left, right, up, down (rad).
    pub fov: [f32; 4],
}

/// Draws what the headset shows: [`RobotView`](super::view::RobotView) (the robot's stereo
/// camera view) or [`ClearEyes`].
pub trait EyeRenderer {
    /// Records the drawing of one eye (eye 0 first) into `target` (a 2D view of that eye's
    /// swapchain layer, `target_format`, `view.width` × `view.height`). The last use of
    /// `target` must be a render pass (the runtime expects the image in colour-attachment
    /// layout). `None`: shown at the eye's own pose and field of view.
    fn draw_eye(
        &mut self,
        gpu: &render::Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        target_format: wgpu::TextureFormat,
        view: &EyeView,
    ) -> Option<Rendered>;
}

/// The stand-in until the stereo renderer lands: each eye cleared to its own colour.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClearEyes;

impl EyeRenderer for ClearEyes {
    fn draw_eye(
        &mut self,
        _gpu: &render::Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        _target_format: wgpu::TextureFormat,
        view: &EyeView,
    ) -> Option<Rendered> {
        let (r, b) = if view.eye == 0 {
            (0.1, 0.4)
        } else {
            (0.4, 0.1)
        };
        let color = wgpu::Color {
            r,
            g: 0.2,
            b,
            a: 1.0,
        };
        encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("clear eye"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(color),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        None
    }
}

/// The swapchain: one image with a layer per eye, each image wrapped as a wgpu texture.
struct Swapchain {
    /// Per image, per eye: a 2D view of that layer. Dropped before `handle`.
    views: Vec<[wgpu::TextureView; 2]>,
    _textures: Vec<wgpu::Texture>,
    handle: xr::Swapchain<xr::Vulkan>,
    format: wgpu::TextureFormat,
    width: u32,
    height: u32,
}

/// Swapchain formats we can render to, best first (sRGB: the compositor expects it).
const FORMATS: [(VkFormat, TextureFormat); 4] = [
    (VkFormat::R8G8B8A8_SRGB, TextureFormat::Rgba8UnormSrgb),
    (VkFormat::B8G8R8A8_SRGB, TextureFormat::Bgra8UnormSrgb),
    (VkFormat::R8G8B8A8_UNORM, TextureFormat::Rgba8Unorm),
    (VkFormat::B8G8R8A8_UNORM, TextureFormat::Bgra8Unorm),
];

/// A Vulkan OpenXR session rendering with wgpu. Fields drop in order: swapchain (textures
/// first), frame stream, session and input, then the GPU (the session must go before the
/// device it renders with), then nothing else holds a Vulkan handle.
pub struct VulkanClient {
    swapchain: Option<Swapchain>,
    stream: xr::FrameStream<xr::Vulkan>,
    waiter: xr::FrameWaiter,
    core: Core<xr::Vulkan>,
    gpu: Gpu,
    renderer: Box<dyn EyeRenderer>,
    blend: xr::EnvironmentBlendMode,
    /// Frames submitted with a projection layer.
    pub frames_submitted: u64,
}

impl VulkanClient {
    /// Connects to the runtime, creates the Vulkan instance and device through it, wraps them
    /// in wgpu and starts a session that shows what `renderer` draws.
    pub fn new(epoch: Instant, renderer: Box<dyn EyeRenderer>) -> Result<VulkanClient, Error> {
        let runtime = Runtime::new(SessionKind::Vulkan, epoch)?;
        let gpu = handshake::create_gpu(&runtime.instance, runtime.system)?;
        let (session, waiter, stream) =
            handshake::create_vulkan_session(&runtime.instance, runtime.system, &gpu)?;
        let blend = check(
            "xrEnumerateEnvironmentBlendModes",
            runtime.instance.enumerate_environment_blend_modes(
                runtime.system,
                xr::ViewConfigurationType::PRIMARY_STEREO,
            ),
        )?
        .first()
        .copied()
        .unwrap_or(xr::EnvironmentBlendMode::OPAQUE);
        tracing::info!(adapter = ?gpu.gpu.adapter.get_info().name, "OpenXR Vulkan device");
        Ok(VulkanClient {
            swapchain: None,
            stream,
            waiter,
            core: Core::new(runtime, session, epoch)?,
            gpu,
            renderer,
            blend,
            frames_submitted: 0,
        })
    }

    pub fn runtime(&self) -> &Runtime {
        &self.core.runtime
    }

    pub fn state(&self) -> SessionState {
        self.core.machine.state()
    }

    pub fn focused(&self) -> bool {
        self.core.machine.focused()
    }

    /// The GPU adapter's name (lavapipe shows as "llvmpipe").
    pub fn adapter_name(&self) -> String {
        self.gpu.gpu.adapter.get_info().name
    }

    fn step_inner(&mut self) -> Result<Step, Error> {
        if let Some(step) = self.core.begin_step()? {
            return Ok(step);
        }
        let state = check("xrWaitFrame", self.waiter.wait())?;
        check("xrBeginFrame", self.stream.begin())?;
        let time = state.predicted_display_time;
        // Input first: sampled at the time the frame will be seen.
        let step = self.core.sample(time)?;
        if !state.should_render {
            check("xrEndFrame", self.stream.end(time, self.blend, &[]))?;
            return Ok(step);
        }
        if self.swapchain.is_none() {
            self.swapchain = Some(self.create_swapchain()?);
        }
        let (_, views) = check(
            "xrLocateViews",
            self.core.session.locate_views(
                xr::ViewConfigurationType::PRIMARY_STEREO,
                time,
                self.core.input.reference(),
            ),
        )?;
        let swapchain = self.swapchain.as_mut().expect("created above");
        let image = check("xrAcquireSwapchainImage", swapchain.handle.acquire_image())? as usize;
        check(
            "xrWaitSwapchainImage",
            swapchain.handle.wait_image(xr::Duration::INFINITE),
        )?;
        let mut encoder =
            self.gpu
                .gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("eyes"),
                });
        let mut shown = [(xr::Posef::IDENTITY, xr::Fovf::default()); 2];
        for (eye, (pose, fov)) in shown.iter_mut().enumerate() {
            let located = views.get(eye);
            let view = EyeView {
                eye,
                stage_from_eye: located.and_then(|v| isometry_from_xr(&v.pose)),
                fov: located.map_or([0.0; 4], |v| {
                    [
                        v.fov.angle_left,
                        v.fov.angle_right,
                        v.fov.angle_up,
                        v.fov.angle_down,
                    ]
                }),
                width: swapchain.width,
                height: swapchain.height,
            };
            let rendered = self.renderer.draw_eye(
                &self.gpu.gpu,
                &mut encoder,
                &swapchain.views[image][eye],
                swapchain.format,
                &view,
            );
            (*pose, *fov) = match rendered {
                Some(r) => (
                    xr_from_isometry(&r.stage_from_view),
                    xr::Fovf {
                        angle_left: r.fov[0],
                        angle_right: r.fov[1],
                        angle_up: r.fov[2],
                        angle_down: r.fov[3],
                    },
                ),
                None => located.map_or((xr::Posef::IDENTITY, xr::Fovf::default()), |v| {
                    (v.pose, v.fov)
                }),
            };
        }
        self.gpu.gpu.queue.submit([encoder.finish()]);
        check("xrReleaseSwapchainImage", swapchain.handle.release_image())?;
        let rect = xr::Rect2Di {
            offset: xr::Offset2Di { x: 0, y: 0 },
            extent: xr::Extent2Di {
                width: swapchain.width as i32,
                height: swapchain.height as i32,
            },
        };
        let layer_views = [0, 1].map(|eye| {
            xr::CompositionLayerProjectionView::new()
                .pose(shown[eye].0)
                .fov(shown[eye].1)
                .sub_image(
                    xr::SwapchainSubImage::new()
                        .swapchain(&swapchain.handle)
                        .image_array_index(eye as u32)
                        .image_rect(rect),
                )
        });
        let layer = xr::CompositionLayerProjection::new()
            .space(self.core.input.reference())
            .views(&layer_views);
        check("xrEndFrame", self.stream.end(time, self.blend, &[&layer]))?;
        self.frames_submitted += 1;
        Ok(step)
    }

    fn create_swapchain(&self) -> Result<Swapchain, Error> {
        let runtime = &self.core.runtime;
        let views = check(
            "xrEnumerateViewConfigurationViews",
            runtime.instance.enumerate_view_configuration_views(
                runtime.system,
                xr::ViewConfigurationType::PRIMARY_STEREO,
            ),
        )?;
        let view = views
            .first()
            .ok_or_else(|| Error::Graphics("the runtime reports no stereo views".into()))?;
        let offered = check(
            "xrEnumerateSwapchainFormats",
            self.core.session.enumerate_swapchain_formats(),
        )?;
        let (vk_format, format) = FORMATS
            .iter()
            .find(|(vk, _)| offered.contains(&(vk.as_raw() as u32)))
            .copied()
            .ok_or_else(|| Error::Graphics(format!("no usable swapchain format in {offered:?}")))?;
        let (width, height) = (
            view.recommended_image_rect_width,
            view.recommended_image_rect_height,
        );
        let handle = check(
            "xrCreateSwapchain",
            self.core
                .session
                .create_swapchain(&xr::SwapchainCreateInfo {
                    create_flags: xr::SwapchainCreateFlags::EMPTY,
                    usage_flags: xr::SwapchainUsageFlags::COLOR_ATTACHMENT
                        | xr::SwapchainUsageFlags::SAMPLED,
                    format: vk_format.as_raw() as u32,
                    sample_count: 1,
                    width,
                    height,
                    face_count: 1,
                    array_size: 2,
                    mip_count: 1,
                }),
        )?;
        let images = check("xrEnumerateSwapchainImages", handle.enumerate_images())?;
        let mut textures = Vec::with_capacity(images.len());
        let mut eye_views = Vec::with_capacity(images.len());
        for image in images {
            let texture = handshake::wrap_swapchain_image(
                &self.gpu.gpu.device,
                image,
                format,
                width,
                height,
                2,
            )?;
            eye_views.push([0, 1].map(|layer| {
                texture.create_view(&wgpu::TextureViewDescriptor {
                    label: Some("eye"),
                    dimension: Some(wgpu::TextureViewDimension::D2),
                    base_array_layer: layer,
                    array_layer_count: Some(1),
                    ..Default::default()
                })
            }));
            textures.push(texture);
        }
        tracing::info!(
            width,
            height,
            ?format,
            images = textures.len(),
            "OpenXR swapchain"
        );
        Ok(Swapchain {
            views: eye_views,
            _textures: textures,
            handle,
            format,
            width,
            height,
        })
    }
}

impl Client for VulkanClient {
    fn step(&mut self) -> Result<Step, Error> {
        let result = self.step_inner();
        self.core.note(result)
    }

    fn request_exit(&mut self) -> Result<(), Error> {
        self.core.request_exit()
    }

    fn runtime_name(&self) -> String {
        self.core.runtime.name.clone()
    }

    fn profiles(&self) -> [String; 2] {
        self.core.input.profiles.clone()
    }
}
