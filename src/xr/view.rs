//! The robot's stereo camera view in the headset: an [`EyeRenderer`] that draws the scene from
//! the robot's two camera links (the renderer's [`SceneRenderer`]) straight into the swapchain,
//! and tells the compositor where those cameras were, so the images are not head-locked: when
//! the trainer turns faster than the robot's neck follows, they look around inside what the
//! cameras saw.
//!
//! With a feed (a robot across the network), each eye shows the robot's own camera image as
//! it arrives instead, placed where the newest joint state puts that camera, darkened inside a
//! red frame when it goes stale; until the first image arrives the view is rendered here.
//!
//! Placement: the robot's world is put into the stage once, at the first frame, with the
//! robot's axes turned into OpenXR's ([`xr_pose_from_robot`]) and the midpoint of the camera
//! pair at the trainer's eyes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};

use super::frames::xr_pose_from_robot;
use super::vulkan::{EyeRenderer, EyeView, Rendered};
use crate::render::{
    self, Blit, DEPTH_FORMAT, FeedView, FrameCell, SceneRenderer, SceneState, StateCell, StereoRig,
};

/// Draws the robot's view from the newest state in a [`StateCell`].
pub struct RobotView {
    scene: Option<render::Scene>,
    renderer: Option<SceneRenderer>,
    rig: StereoRig,
    cell: Arc<StateCell>,
    state: SceneState,
    seen: u64,
    /// Depth buffer sized to the swapchain.
    depth: Option<(u32, u32, wgpu::TextureView)>,
    /// Set at the first frame: the offset that puts the camera pair's midpoint at the eyes.
    stage_offset: Option<Vector3<f64>>,
    /// The two eyes' layer poses this frame (computed with eye 0).
    rendered: [Option<Rendered>; 2],
    /// Frames whose robot state was newer than the one before.
    pub fresh_states: u64,
    feed: Option<Feed>,
}

/// Camera images received from the robot, on their way to the swapchain.
struct Feed {
    view: FeedView,
    /// Made at the first frame, for the swapchain's format (again if that changes).
    blit: Option<(wgpu::TextureFormat, Blit)>,
    /// Staleness of the newest image, this frame.
    stale: f32,
    /// Headset frames that showed a received image.
    frames: Arc<AtomicU64>,
}

impl Feed {
    /// Eye 0: uploads a newer image if there is one; whether there is one to show.
    fn update(&mut self, gpu: &render::Gpu, format: wgpu::TextureFormat) -> bool {
        if self.blit.as_ref().is_none_or(|(f, _)| *f != format) {
            self.blit = Some((format, Blit::new(&gpu.device, format)));
            self.view.drop_texture();
        }
        let Some((_, blit)) = &self.blit else {
            return false;
        };
        let showing = self.view.update(gpu, blit);
        if showing {
            self.frames.fetch_add(1, Ordering::Relaxed);
            self.stale = self.view.age_ns().map_or(0.0, render::staleness);
        }
        showing
    }

    fn draw(
        &mut self,
        gpu: &render::Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        eye: usize,
    ) {
        if let (Some((_, blit)), Some(eyes)) = (&self.blit, self.view.eyes_mut()) {
            let source = &mut eyes[eye];
            source.set_stale(&gpu.queue, self.stale);
            let mut pass = render::clear_pass(encoder, target);
            blit.draw(&mut pass, source);
        }
    }
}

impl RobotView {
    /// A view of `scene` through `rig`, drawing whatever the robot side last published into
    /// `cell`.
    pub fn new(scene: render::Scene, rig: StereoRig, cell: Arc<StateCell>) -> RobotView {
        let state = scene.state();
        RobotView {
            scene: Some(scene),
            renderer: None,
            rig,
            cell,
            state,
            seen: 0,
            depth: None,
            stage_offset: None,
            rendered: [None; 2],
            fresh_states: 0,
            feed: None,
        }
    }

    /// Shows the camera images published into `cell` (a robot's own, received over the
    /// network) in place of rendering the robot's view here, once the first has arrived.
    pub fn with_feed(mut self, cell: Arc<FrameCell>) -> RobotView {
        self.feed = Some(Feed {
            view: FeedView::new(cell),
            blit: None,
            stale: 0.0,
            frames: Arc::default(),
        });
        self
    }

    /// Counts the headset frames that show the robot's received camera images (0 without a
    /// feed); readable after the view has gone into a client.
    pub fn feed_frames(&self) -> Arc<AtomicU64> {
        self.feed
            .as_ref()
            .map_or_else(Arc::default, |f| Arc::clone(&f.frames))
    }

    fn depth_view(&mut self, gpu: &render::Gpu, width: u32, height: u32) -> &wgpu::TextureView {
        let stale = self
            .depth
            .as_ref()
            .is_none_or(|(w, h, _)| (*w, *h) != (width, height));
        if stale {
            let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("xr eye depth"),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: DEPTH_FORMAT,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                view_formats: &[],
            });
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            self.depth = Some((width, height, view));
        }
        &self.depth.as_ref().expect("created above").2
    }

    /// Eye 0 of each frame: the newest robot state, both cameras, where they show in the stage.
    fn begin_frame(&mut self, gpu: &render::Gpu, view: &EyeView) {
        let version = self.cell.read_newer(self.seen, &mut self.state);
        if version != self.seen {
            self.fresh_states += 1;
            self.seen = version;
        }
        let Some(renderer) = self.renderer.as_mut() else {
            return;
        };
        renderer.update(&gpu.queue, &self.state);
        let aspect = f64::from(view.width) / f64::from(view.height.max(1));
        let eyes = self.rig.eyes(&self.state.link_poses).map(|mut eye| {
            eye.aspect = aspect;
            eye
        });
        for (slot, eye) in eyes.iter().enumerate() {
            renderer.set_camera(&gpu.queue, slot, eye);
        }
        let in_xr = eyes.map(|eye| {
            let pose = eye.world_from_camera;
            let rotation = UnitQuaternion::from_rotation_matrix(&pose.rotation);
            xr_pose_from_robot(&Isometry3::from_parts(pose.translation, rotation))
        });
        if self.stage_offset.is_none()
            && let Some(head) = view.stage_from_eye
        {
            let middle = (in_xr[0].translation.vector + in_xr[1].translation.vector) / 2.0;
            self.stage_offset = Some(head.translation.vector - middle);
        }
        let offset = Translation3::from(self.stage_offset.unwrap_or_else(Vector3::zeros));
        let half_y = self.rig.fov_y_rad / 2.0;
        let half_x = (half_y.tan() * aspect).atan();
        let fov = [-half_x as f32, half_x as f32, half_y as f32, -half_y as f32];
        self.rendered = in_xr.map(|pose| {
            Some(Rendered {
                stage_from_view: offset * pose,
                fov,
            })
        });
    }
}

impl EyeRenderer for RobotView {
    fn draw_eye(
        &mut self,
        gpu: &render::Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        target_format: wgpu::TextureFormat,
        view: &EyeView,
    ) -> Option<Rendered> {
        if self.renderer.is_none()
            && let Some(scene) = self.scene.take()
        {
            // Drawn straight into the swapchain, single-sampled: its format, no resolve.
            self.renderer = Some(SceneRenderer::new(gpu, scene, target_format, 1));
        }
        if view.eye == 0 {
            self.begin_frame(gpu, view);
        }
        let eye = view.eye.min(1);
        if let Some(feed) = &mut self.feed {
            let showing = if view.eye == 0 {
                feed.update(gpu, target_format)
            } else {
                feed.view.eyes_mut().is_some()
            };
            if showing {
                feed.draw(gpu, encoder, target, eye);
                return self.rendered[eye];
            }
        }
        let depth = self.depth_view(gpu, view.width, view.height).clone();
        self.renderer
            .as_ref()?
            .draw(encoder, eye, target, None, &depth);
        self.rendered[eye]
    }
}
