//! The desktop mirror: a winit window showing the stereo pair side by side (and optionally a
//! third-person overview below it), redrawn from the newest [`SceneState`] at up to
//! `max_fps`. With a feed (a robot across the network), the pair is the robot's own camera
//! images as they arrive, with their age in the title and a red frame when they go stale; until
//! the first one arrives it is rendered here. Runs on the main thread; closes when the caller's
//! `stop` flag is set, the window is closed, or Esc/Q is pressed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use winit::application::ApplicationHandler;
use winit::event::{ElementState, KeyEvent, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

use super::blit::{Blit, BlitSource, clear_pass, staleness};
use super::feed::{FeedView, FrameCell};
use super::renderer::{Gpu, SceneRenderer};
use super::scene::{Scene, SceneState, StateCell};
use super::stereo::{EYE_FORMAT, StereoTarget};
use super::{Error, STALE_AFTER_NS, StereoRig};

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
    /// Camera images received from the robot, shown instead of rendering its view here.
    pub feed: Option<Arc<FrameCell>>,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            title: "teleop — robot view".into(),
            overview: true,
            max_fps: 60.0,
            world_from_base: crate::kinematics::Pose::identity(),
            feed: None,
        }
    }
}

/// What the window did.
#[derive(Debug, Clone, Default)]
pub struct WindowReport {
    pub frames_presented: u64,
    /// Of those, how many showed the robot's received camera images, and how many of these
    /// were stale (older than [`STALE_AFTER_NS`]).
    pub feed_frames: u64,
    pub stale_frames: u64,
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
        title: String::new(),
    };
    event_loop
        .run_app(&mut app)
        .map_err(|e| Error::Window(e.to_string()))?;
    app.error.map_or(Ok(app.report), Err)
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
    /// Left eye, right eye, overview.
    sources: [BlitSource; 3],
    feed: Option<FeedView>,
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
    /// The title shown now.
    title: String,
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
        let blit = Blit::new(&gpu.device, config.format);
        let sources = [
            blit.source(&gpu.device, &stereo.array_view, 0),
            blit.source(&gpu.device, &stereo.array_view, 1),
            blit.source(&gpu.device, &overview.array_view, 0),
        ];
        let feed = self.options.feed.clone().map(FeedView::new);
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
            sources,
            feed,
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
        let age_ns = shown.feed.as_mut().and_then(|feed| {
            feed.update(gpu, &shown.blit);
            feed.age_ns()
        });
        let has_feed = shown.feed.is_some();
        let received = shown.feed.as_mut().and_then(FeedView::eyes_mut);
        if received.is_none() {
            let eyes = self.rig.eyes(&shown.state.link_poses);
            shown
                .stereo
                .encode(gpu, &mut shown.renderer, &shown.state, &eyes, &mut encoder);
        }
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
        let stale = age_ns.map_or(0.0, staleness);
        let eyes = match received {
            Some(eyes) => {
                let eyes = &mut eyes[..];
                self.report.feed_frames += 1;
                if age_ns.is_some_and(|a| a > STALE_AFTER_NS) {
                    self.report.stale_frames += 1;
                }
                for eye in eyes.iter_mut() {
                    eye.set_stale(&gpu.queue, stale);
                }
                eyes
            }
            None => &mut shown.sources[..2],
        };
        let title = match (has_feed, age_ns) {
            (false, _) => self.options.title.clone(),
            (true, None) => format!("{} — waiting for the robot's camera", self.options.title),
            (true, Some(age)) if age > STALE_AFTER_NS => format!(
                "{} — robot camera {:.1} s old",
                self.options.title,
                age as f64 / 1e9
            ),
            (true, Some(_)) => format!("{} — robot camera", self.options.title),
        };
        if title != self.title {
            shown.window.set_title(&title);
            self.title = title;
        }
        let view = frame.texture.create_view(&Default::default());
        {
            let (w, h) = (shown.config.width as f32, shown.config.height as f32);
            let row = if self.options.overview { h / 2.0 } else { h };
            let mut pass = clear_pass(&mut encoder, &view);
            for (i, eye) in eyes.iter().enumerate() {
                pass.set_viewport(i as f32 * w / 2.0, 0.0, w / 2.0, row, 0.0, 1.0);
                shown.blit.draw(&mut pass, eye);
            }
            if self.options.overview {
                pass.set_viewport(0.0, row, w, row, 0.0, 1.0);
                shown.blit.draw(&mut pass, &shown.sources[2]);
            }
        }
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
