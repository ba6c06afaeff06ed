//! The stereo robot-camera view (wgpu): the robot's URDF visuals and the scene drawn from the
//! robot's two camera links into a 2-layer texture array, then shown in a window, written to PNG
//! files, or handed to an XR swapchain.
//!
//! ```text
//!  Scene (meshes, uploaded once) ─┐
//!  SceneState (poses, per frame) ─┼─► SceneRenderer ──► StereoTarget (2-layer array) ─┬─► PNG (FrameWriter)
//!  StereoRig (camera links)  ─────┘                                                  ├─► window (blit)
//!                                                                                    └─► XR swapchain
//! ```
//!
//! Rendering runs on the caller's thread (the main thread); the robot side publishes poses into a
//! [`StateCell`] that never blocks it.
//!
//! ## Limitations
//! - One pass per eye; multiview is not used yet (the second pass costs one more draw list, which
//!   is small next to the fragment work on a software rasteriser).
//! - Flat material colours only: URDF `<texture>`s and COLLADA material colours are ignored.
//! - No shadows; lighting is a fixed key/fill/ambient rig in the world frame.
//! - The floor is drawn at world z = 0 whether or not the backend has one.

mod blit;
mod camera;
mod convert;
mod error;
mod feed;
mod frames;
mod geometry;
mod renderer;
mod scene;
mod stereo;
mod window;

pub use blit::{Blit, BlitSource, STALE_AFTER_NS, clear_pass, staleness};
pub use camera::{EyeCamera, StereoRig, overview};
pub use error::Error;
pub use feed::{FeedTexture, FeedView, FrameCell, image_age_ns};
pub use frames::FrameWriter;
pub use geometry::{MeshData, Vertex};
pub use renderer::{BACKGROUND, CAMERA_SLOTS, DEPTH_FORMAT, Gpu, SceneRenderer};
pub use scene::{Anchor, Drawable, Scene, SceneObject, SceneState, StateCell, box_object};
pub use stereo::{EYE_FORMAT, StereoImage, StereoTarget};
pub use window::{WindowOptions, WindowReport, run_window};

/// Everything needed to draw the stereo view offscreen: GPU, uploaded scene, eye textures.
#[derive(Debug)]
pub struct StereoView {
    pub gpu: Gpu,
    pub renderer: SceneRenderer,
    pub target: StereoTarget,
    pub rig: StereoRig,
}

impl StereoView {
    /// A headless view of `scene` through `rig` on any adapter (lavapipe where there is no GPU).
    pub fn headless(scene: Scene, rig: StereoRig) -> Result<StereoView, Error> {
        let gpu = Gpu::headless()?;
        let samples = gpu.sample_count(EYE_FORMAT);
        let renderer = SceneRenderer::new(&gpu, scene, EYE_FORMAT, samples);
        let target = StereoTarget::new(&gpu, rig.width, rig.height, samples);
        Ok(StereoView {
            gpu,
            renderer,
            target,
            rig,
        })
    }

    /// Renders `state` from the robot's eyes and reads it back side by side.
    pub fn render_image(&mut self, state: &SceneState) -> Result<StereoImage, Error> {
        let eyes = self.rig.eyes(&state.link_poses);
        self.target
            .render_to_image(&self.gpu, &mut self.renderer, state, &eyes)
    }
}
