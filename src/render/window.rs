//! The desktop mirror: a winit window showing the stereo pair side by side (and optionally a
//! third-person overview below it), redrawn from the newest [`SceneState`] at up to
//! `max_fps`. Runs on the main thread; closes when the caller's `stop` flag is set, the window
//! is closed, or Esc/Q is pressed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use winit::application::ApplicationHandler;
use winit::event::{ElementState, KeyEvent, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

use super::renderer::{Gpu, SceneRenderer};
use super::scene::{Scene, SceneState, StateCell};
use super::stereo::{EYE_FORMAT, StereoTarget};
use super::{Error, StereoRig};

/// How the window behaves.
#[derive(Debug, Clone)]
pub struct WindowOptions {
    pub title: String,
    /// Draw the third-person overview under the stereo pair (toggle with `O`).
    pub overview: bool,
    /// Redraw at most this often (Hz).
    pub max_fps: f64,
    /// Pose of the robot's base in the world, for the overview camera.
    pub world_from_base: crate::kinematics::Pose,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            title: "teleop — robot view".into(),
            overview: true,
            max_fps: 60.0,
            world_from_base: crate::kinematics::Pose::identity(),
        }
    }
}

/// What the window did.
#[derive(Debug, Clone, Default)]
pub struct WindowReport {
    pub frames_presented: u64,
    pub adapter: String,
}

/// Opens the window and runs its event loop until `stop` is set or the user closes it.
/// [`Error::Window`] when there is no display (the caller goes on without a window).
pub fn run_window(
    scene: Scene,
    rig: StereoRig,
    cell: Arc<StateCell>,
    stop: Arc<AtomicBool>,
    options: WindowOptions,
) -> Result<WindowReport, Error> {
    let event_loop = EventLoop::new().map_err(|e| Error::Window(format!("no display: {e}")))?;
    let mut app = App {
        scene: Some(scene),
        rig,
        cell,
        stop,
        options,
        shown: None,
        error: None,
        report: WindowReport::default(),
        next_frame: Instant::now(),
        seen: 0,
    };
    event_loop
        .run_app(&mut app)
        .map_err(|e| Error::Window(e.to_string()))?;
    match app.error {
        Some(e) => Err(e),
        None => Ok(app.report),
    }
}

/// Everything that exists once the window is open.
struct Shown {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    gpu: Gpu,
    renderer: SceneRenderer,
    stereo: StereoTarget,
    overview: StereoTarget,
    blit: Blit,
    state: SceneState,
}

struct App {
    scene: Option<Scene>,
    rig: StereoRig,
    cell: Arc<StateCell>,
    stop: Arc<AtomicBool>,
    options: WindowOptions,
    shown: Option<Shown>,
    error: Option<Error>,
    report: WindowReport,
    next_frame: Instant,
    seen: u64,
}

impl App {
    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<Shown, Error> {
        let eye_aspect = f64::from(self.rig.width) / f64::from(self.rig.height);
        let width = 1280.0;
        let rows = if self.options.overview { 2.0 } else { 1.0 };
        let height = (width / 2.0 / eye_aspect * rows).round();
        let window = event_loop
            .create_window(
                Window::default_attributes()
                    .with_title(self.options.title.clone())
                    .with_inner_size(winit::dpi::PhysicalSize::new(width, height)),
            )
            .map_err(|e| Error::Window(e.to_string()))?;
        let window = Arc::new(window);
        let instance = Gpu::instance();
        let surface = instance
            .create_surface(Arc::clone(&window))
            .map_err(|e| Error::Window(e.to_string()))?;
        let gpu = Gpu::new(instance, Some(&surface))?;
        let size = window.inner_size();
        let config = surface
            .get_default_config(&gpu.adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| Error::Window("the surface does not fit the adapter".into()))?;
        surface.configure(&gpu.device, &config);
        let samples = gpu.sample_count(EYE_FORMAT);
        let scene = self.scene.take().unwrap_or_default();
        let state = scene.state();
        let renderer = SceneRenderer::new(&gpu, scene, EYE_FORMAT, samples);
        let stereo = StereoTarget::new(&gpu, self.rig.width, self.rig.height, samples);
        // The overview shares the eye size so one blit layout fits both rows.
        let overview =
            StereoTarget::with_layers(&gpu, self.rig.width * 2, self.rig.height, samples, 1);
        let blit = Blit::new(&gpu, config.format, &stereo, &overview);
        self.report.adapter = gpu.describe();
        Ok(Shown {
            window,
            surface,
            config,
            gpu,
            renderer,
            stereo,
            overview,
            blit,
            state,
        })
    }

    fn draw(&mut self) {
        let Some(shown) = &mut self.shown else {
            return;
        };
        self.seen = self.cell.read_newer(self.seen, &mut shown.state);
        let frame = match shown.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame)
            | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                shown.surface.configure(&shown.gpu.device, &shown.config);
                return;
            }
            // Timeout, occluded, validation: skip this frame, try the next.
            _ => return,
        };
        let gpu = &shown.gpu;
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("window"),
            });
        let eyes = self.rig.eyes(&shown.state.link_poses);
        shown
            .stereo
            .encode(gpu, &mut shown.renderer, &shown.state, &eyes, &mut encoder);
        if self.options.overview {
            let aspect = f64::from(shown.overview.width) / f64::from(shown.overview.height);
            let (clip_from_world, eye) = super::overview(&self.options.world_from_base, aspect);
            shown
                .renderer
                .set_camera_matrix(&gpu.queue, 2, &clip_from_world, eye);
            shown
                .overview
                .draw_layer(&shown.renderer, 2, 0, &mut encoder);
        }
        let view = frame.texture.create_view(&Default::default());
        shown.blit.draw(
            &mut encoder,
            &view,
            shown.config.width,
            shown.config.height,
            self.options.overview,
        );
        gpu.queue.submit([encoder.finish()]);
        shown.window.pre_present_notify();
        gpu.queue.present(frame);
        self.report.frames_presented += 1;
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.shown.is_some() || self.error.is_some() {
            return;
        }
        match self.open(event_loop) {
            Ok(shown) => self.shown = Some(shown),
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                if let Some(shown) = &mut self.shown {
                    shown.config.width = size.width.max(1);
                    shown.config.height = size.height.max(1);
                    shown.surface.configure(&shown.gpu.device, &shown.config);
                }
            }
            WindowEvent::RedrawRequested => self.draw(),
            WindowEvent::KeyboardInput {
                event:
                    KeyEvent {
                        logical_key,
                        state: ElementState::Pressed,
                        ..
                    },
                ..
            } => match logical_key.as_ref() {
                Key::Named(NamedKey::Escape) | Key::Character("q") => event_loop.exit(),
                Key::Character("o") => self.options.overview = !self.options.overview,
                _ => {}
            },
            _ => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if self.stop.load(Ordering::Relaxed) {
            event_loop.exit();
            return;
        }
        let now = Instant::now();
        if now >= self.next_frame {
            if let Some(shown) = &self.shown {
                shown.window.request_redraw();
            }
            let period = Duration::from_secs_f64(1.0 / self.options.max_fps.max(1.0));
            self.next_frame = (self.next_frame + period).max(now);
        }
        event_loop.set_control_flow(ControlFlow::WaitUntil(self.next_frame));
    }
}

/// Copies texture-array layers into rectangles of the window's surface.
struct Blit {
    pipeline: wgpu::RenderPipeline,
    /// Left eye, right eye, overview.
    groups: [wgpu::BindGroup; 3],
}

impl Blit {
    fn new(
        gpu: &Gpu,
        format: wgpu::TextureFormat,
        stereo: &StereoTarget,
        overview: &StereoTarget,
    ) -> Blit {
        let device = &gpu.device;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blit.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/blit.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("blit"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let group = |view: &wgpu::TextureView, layer: u32| {
            use wgpu::util::DeviceExt;
            // A uniform is at least 16 bytes on every backend.
            let index = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("blit layer"),
                contents: bytemuck::cast_slice(&[layer, 0, 0, 0]),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("blit"),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Sampler(&sampler),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: index.as_entire_binding(),
                    },
                ],
            })
        };
        let groups = [
            group(&stereo.array_view, 0),
            group(&stereo.array_view, 1),
            group(&overview.array_view, 0),
        ];
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("blit"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("blit"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(format.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        Blit { pipeline, groups }
    }

    /// Left eye | right eye across the top (the whole window without the overview), the
    /// overview across the bottom half.
    fn draw(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        width: u32,
        height: u32,
        overview: bool,
    ) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("blit"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        let (w, h) = (width as f32, height as f32);
        let row = if overview { h / 2.0 } else { h };
        let mut rects = vec![(0, 0.0, 0.0, w / 2.0, row), (1, w / 2.0, 0.0, w / 2.0, row)];
        if overview {
            rects.push((2, 0.0, row, w, row));
        }
        for (group, x, y, rw, rh) in rects {
            pass.set_viewport(x, y, rw, rh, 0.0, 1.0);
            pass.set_bind_group(0, &self.groups[group], &[]);
            pass.draw(0..3, 0..1);
        }
    }
}
