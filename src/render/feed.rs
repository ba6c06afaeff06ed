//! Camera images that arrive from elsewhere (a robot process's cameras) rather than being
//! rendered here: the newest decoded stereo frame in a [`FrameCell`], and a [`FeedTexture`] that
//! puts it on the GPU for the window or the headset.

use std::sync::{Arc, Mutex};

use super::Gpu;
use super::blit::{Blit, BlitSource};
use super::stereo::EYE_FORMAT;
use crate::msg::CameraFrame;

/// The newest decoded stereo frame (side by side, RGBA8): the decoder publishes, the window or
/// headset reads at its own pace; the newest frame wins. `time_ns` is the robot's wall-clock
/// stamp of the image (ns since the Unix epoch), so a reader can tell its age.
#[derive(Debug, Default)]
pub struct FrameCell {
    latest: Mutex<(u64, CameraFrame)>,
}

impl FrameCell {
    /// Publishes `frame`, taking it and handing back the buffer it replaces (so a decoder
    /// that keeps reusing what it gets back stops allocating).
    pub fn publish(&self, frame: &mut CameraFrame) {
        let mut guard = crate::rt::lock(&self.latest);
        guard.0 += 1;
        std::mem::swap(&mut guard.1, frame);
    }

    /// Copies the newest frame into `out` if it is newer than `seen` (a version this returned
    /// before; 0 at first); returns the version `out` now holds (0: none published yet).
    pub fn read_newer(&self, seen: u64, out: &mut CameraFrame) -> u64 {
        let guard = crate::rt::lock(&self.latest);
        if guard.0 != seen {
            let newest = &guard.1;
            out.time_ns = newest.time_ns;
            out.width = newest.width;
            out.height = newest.height;
            out.rgba.clear();
            out.rgba.extend_from_slice(&newest.rgba);
        }
        guard.0
    }
}

/// How old an image stamped `time_ns` (wall clock) is now.
pub fn image_age_ns(time_ns: u64) -> u64 {
    crate::rt::wall_clock_ns().saturating_sub(time_ns)
}

/// A received stereo frame on the GPU: a 2-layer [`EYE_FORMAT`] array (the JPEGs are sRGB, so
/// sampling it gives linear colour like the eyes rendered here).
pub struct FeedTexture {
    texture: wgpu::Texture,
    /// Both eyes as one `D2Array` view (for [`super::Blit::source`]).
    pub view: wgpu::TextureView,
    /// One eye's size.
    pub width: u32,
    pub height: u32,
}

impl FeedTexture {
    /// A texture for eyes of `width` × `height`.
    pub fn new(gpu: &Gpu, width: u32, height: u32) -> FeedTexture {
        let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("camera feed"),
            size: wgpu::Extent3d {
                width: width.max(1),
                height: height.max(1),
                depth_or_array_layers: 2,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: EYE_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        FeedTexture {
            texture,
            view,
            width,
            height,
        }
    }

    /// Whether `frame` (side by side) has this texture's eye size.
    pub fn fits(&self, frame: &CameraFrame) -> bool {
        frame.width == 2 * self.width && frame.height == self.height
    }

    /// Queues `frame`'s two halves into the two layers; false (nothing written) if it does not
    /// [fit](Self::fits) or is short.
    pub fn upload(&self, queue: &wgpu::Queue, frame: &CameraFrame) -> bool {
        let (w, h) = (self.width, self.height);
        if !self.fits(frame) || frame.rgba.len() < (2 * w * h * 4) as usize {
            return false;
        }
        for eye in 0..2 {
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &self.texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d { x: 0, y: 0, z: eye },
                    aspect: wgpu::TextureAspect::All,
                },
                &frame.rgba,
                wgpu::TexelCopyBufferLayout {
                    offset: u64::from(eye * w * 4),
                    bytes_per_row: Some(2 * w * 4),
                    rows_per_image: Some(h),
                },
                wgpu::Extent3d {
                    width: w,
                    height: h,
                    depth_or_array_layers: 1,
                },
            );
        }
        true
    }
}

/// Received frames on their way to a display (the window, a headset): the newest frame of a
/// [`FrameCell`] in a [`FeedTexture`] with one [`BlitSource`] per eye, made again when the
/// frame's size changes.
pub struct FeedView {
    cell: Arc<FrameCell>,
    frame: CameraFrame,
    seen: u64,
    shown: Option<(FeedTexture, [BlitSource; 2])>,
}

impl FeedView {
    pub fn new(cell: Arc<FrameCell>) -> FeedView {
        FeedView {
            cell,
            frame: CameraFrame::default(),
            seen: 0,
            shown: None,
        }
    }

    /// Uploads the newest frame if it is new (or has no texture yet), its eyes to be drawn by
    /// `blit`; whether there is a frame to show.
    pub fn update(&mut self, gpu: &Gpu, blit: &Blit) -> bool {
        let version = self.cell.read_newer(self.seen, &mut self.frame);
        let newer = version != self.seen;
        self.seen = version;
        if version == 0 {
            return false;
        }
        if newer || self.shown.is_none() {
            let fits = self
                .shown
                .as_ref()
                .is_some_and(|(t, _)| t.fits(&self.frame));
            if !fits {
                let texture = FeedTexture::new(gpu, self.frame.width / 2, self.frame.height);
                let eyes = [0, 1].map(|l| blit.source(&gpu.device, &texture.view, l));
                self.shown = Some((texture, eyes));
            }
            if let Some((texture, _)) = &self.shown {
                texture.upload(&gpu.queue, &self.frame);
            }
        }
        true
    }

    /// Forgets the texture and its sources (their `Blit` is gone); the next update makes them
    /// again from the newest frame.
    pub fn drop_texture(&mut self) {
        self.shown = None;
    }

    /// The eyes of the frame shown, once there is one.
    pub fn eyes_mut(&mut self) -> Option<&mut [BlitSource; 2]> {
        self.shown.as_mut().map(|(_, eyes)| eyes)
    }

    /// How old the newest frame is (None before the first).
    pub fn age_ns(&self) -> Option<u64> {
        (self.seen > 0).then(|| image_age_ns(self.frame.time_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(time_ns: u64, value: u8) -> CameraFrame {
        CameraFrame {
            time_ns,
            width: 4,
            height: 2,
            rgba: vec![value; 4 * 2 * 4],
        }
    }

    #[test]
    fn the_newest_frame_wins_and_buffers_are_recycled() {
        let cell = FrameCell::default();
        let mut out = CameraFrame::default();
        assert_eq!(cell.read_newer(0, &mut out), 0, "nothing published yet");
        let mut first = frame(1, 10);
        cell.publish(&mut first);
        assert!(first.rgba.is_empty(), "the empty initial buffer comes back");
        let mut second = frame(2, 20);
        cell.publish(&mut second);
        assert_eq!(second.time_ns, 1, "the replaced frame comes back for reuse");
        let seen = cell.read_newer(0, &mut out);
        assert_eq!((seen, out.time_ns, out.rgba[0]), (2, 2, 20));
        out.time_ns = 99;
        assert_eq!(cell.read_newer(seen, &mut out), seen);
        assert_eq!(out.time_ns, 99, "nothing copied when nothing is newer");
    }
}
