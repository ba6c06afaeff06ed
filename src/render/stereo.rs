//! The stereo view: both eyes rendered into one 2-layer texture array (layer 0 left, layer 1
//! right), one pass per eye. The array is the hand-off point: the window samples it, the PNG
//! writer reads it back, and an XR swapchain can take its layers.

use super::renderer::{DEPTH_FORMAT, Gpu, SceneRenderer};
use super::scene::SceneState;
use super::{Error, EyeCamera};

/// The colour format of the eye images (sRGB-encoded bytes, as PNGs and headsets expect).
pub const EYE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// A side-by-side stereo image: left eye in the left half, RGBA8, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct StereoImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl StereoImage {
    /// The pixel at (x, y) of the whole side-by-side image.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        // A pixel outside the image panics on the index, as any slice index does.
        self.rgba[i..i + 4].try_into().expect("a 4-byte range")
    }

    /// The width of one eye.
    pub fn eye_width(&self) -> u32 {
        self.width / 2
    }

    /// Writes a PNG file.
    pub fn save_png(&self, path: &std::path::Path) -> Result<(), Error> {
        image::save_buffer(
            path,
            &self.rgba,
            self.width,
            self.height,
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| Error::Png {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

/// The eye texture array with its depth and multisample buffers, and a readback buffer.
#[derive(Debug)]
pub struct StereoTarget {
    pub width: u32,
    pub height: u32,
    /// 2 layers, [`EYE_FORMAT`], single-sampled: what consumers read.
    pub eyes: wgpu::Texture,
    /// One view per layer (render attachments / resolve targets).
    pub eye_views: Vec<wgpu::TextureView>,
    /// Both layers as one `D2Array` view (for sampling).
    pub array_view: wgpu::TextureView,
    msaa_view: Option<wgpu::TextureView>,
    /// With MSAA: the single-layer texture each pass resolves into before its copy into the
    /// array. Resolving straight into a layer view of the array left layer 1 empty on lavapipe
    /// (wgpu 30, Mesa 22), so the copy is the portable path.
    resolved: Option<(wgpu::Texture, wgpu::TextureView)>,
    depth_view: wgpu::TextureView,
    readback: wgpu::Buffer,
    /// Bytes per row in `readback` (padded to wgpu's copy alignment).
    padded_row: u32,
}

impl StereoTarget {
    /// Textures for eyes of `width` × `height` drawn with `sample_count` samples.
    pub fn new(gpu: &Gpu, width: u32, height: u32, sample_count: u32) -> StereoTarget {
        StereoTarget::with_layers(gpu, width, height, sample_count, 2)
    }

    /// The same with `layers` images (1 for a single view such as the overview).
    pub fn with_layers(
        gpu: &Gpu,
        width: u32,
        height: u32,
        sample_count: u32,
        layers: u32,
    ) -> StereoTarget {
        let device = &gpu.device;
        let texture = |label, layers, sample_count, format, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: layers,
                },
                mip_level_count: 1,
                sample_count,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let attach = wgpu::TextureUsages::RENDER_ATTACHMENT;
        let eyes = texture(
            "stereo eyes",
            layers,
            1,
            EYE_FORMAT,
            attach
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST,
        );
        let layer_view = |layer| {
            eyes.create_view(&wgpu::TextureViewDescriptor {
                label: Some("eye"),
                dimension: Some(wgpu::TextureViewDimension::D2),
                base_array_layer: layer,
                array_layer_count: Some(1),
                ..Default::default()
            })
        };
        let eye_views = (0..layers).map(layer_view).collect();
        let array_view = eyes.create_view(&wgpu::TextureViewDescriptor {
            label: Some("eyes"),
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let attachment = |label, format| {
            texture(label, 1, sample_count, format, attach).create_view(&Default::default())
        };
        let resolved = (sample_count > 1).then(|| {
            let resolved = texture(
                "eye resolved",
                1,
                1,
                EYE_FORMAT,
                attach | wgpu::TextureUsages::COPY_SRC,
            );
            let view = resolved.create_view(&Default::default());
            (resolved, view)
        });
        // One multisample colour and one depth buffer serve both eyes: each pass clears them.
        let msaa_view = (sample_count > 1).then(|| attachment("eye msaa", EYE_FORMAT));
        let depth_view = attachment("eye depth", DEPTH_FORMAT);
        let padded_row = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("stereo readback"),
            size: u64::from(padded_row) * u64::from(height) * u64::from(layers),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        StereoTarget {
            width,
            height,
            eyes,
            eye_views,
            array_view,
            msaa_view,
            resolved,
            depth_view,
            readback,
            padded_row,
        }
    }

    /// Records both eye passes for `state` seen from `eyes` (camera slots 0 and 1).
    pub fn encode(
        &self,
        gpu: &Gpu,
        renderer: &mut SceneRenderer,
        state: &SceneState,
        eyes: &[EyeCamera; 2],
        encoder: &mut wgpu::CommandEncoder,
    ) {
        renderer.update(&gpu.queue, state);
        for (slot, eye) in eyes.iter().enumerate() {
            renderer.set_camera(&gpu.queue, slot, eye);
            self.draw_layer(renderer, slot, slot, encoder);
        }
    }

    /// Layer `layer` of the eye array as a copy source or destination.
    fn layer_copy(&self, layer: u32) -> wgpu::TexelCopyTextureInfo<'_> {
        wgpu::TexelCopyTextureInfo {
            texture: &self.eyes,
            mip_level: 0,
            origin: wgpu::Origin3d {
                x: 0,
                y: 0,
                z: layer,
            },
            aspect: wgpu::TextureAspect::All,
        }
    }

    /// Records one pass from camera `slot` (already set) into `layer`, with the instances as
    /// last updated.
    pub fn draw_layer(
        &self,
        renderer: &SceneRenderer,
        slot: usize,
        layer: usize,
        encoder: &mut wgpu::CommandEncoder,
    ) {
        let view = &self.eye_views[layer];
        match (&self.msaa_view, &self.resolved) {
            (Some(msaa), Some((resolved, resolved_view))) => {
                renderer.draw(encoder, slot, msaa, Some(resolved_view), &self.depth_view);
                encoder.copy_texture_to_texture(
                    resolved.as_image_copy(),
                    self.layer_copy(layer as u32),
                    wgpu::Extent3d {
                        width: self.width,
                        height: self.height,
                        depth_or_array_layers: 1,
                    },
                );
            }
            _ => renderer.draw(encoder, slot, view, None, &self.depth_view),
        }
    }

    /// Renders both eyes and submits the work.
    pub fn render(
        &self,
        gpu: &Gpu,
        renderer: &mut SceneRenderer,
        state: &SceneState,
        eyes: &[EyeCamera; 2],
    ) {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("stereo"),
            });
        self.encode(gpu, renderer, state, eyes, &mut encoder);
        gpu.queue.submit([encoder.finish()]);
    }

    /// Renders both eyes and reads them back as one side-by-side image (waits for the GPU).
    pub fn render_to_image(
        &self,
        gpu: &Gpu,
        renderer: &mut SceneRenderer,
        state: &SceneState,
        eyes: &[EyeCamera; 2],
    ) -> Result<StereoImage, Error> {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("stereo readback"),
            });
        self.encode(gpu, renderer, state, eyes, &mut encoder);
        // One copy per layer: each eye's rows land one after the other.
        for layer in 0..2u32 {
            encoder.copy_texture_to_buffer(
                self.layer_copy(layer),
                wgpu::TexelCopyBufferInfo {
                    buffer: &self.readback,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: u64::from(layer) * u64::from(self.padded_row * self.height),
                        bytes_per_row: Some(self.padded_row),
                        rows_per_image: Some(self.height),
                    },
                },
                wgpu::Extent3d {
                    width: self.width,
                    height: self.height,
                    depth_or_array_layers: 1,
                },
            );
        }
        gpu.queue.submit([encoder.finish()]);
        self.read_back(gpu)
    }

    fn read_back(&self, gpu: &Gpu) -> Result<StereoImage, Error> {
        let slice = self.readback.slice(..);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            // The receiver outlives the wait below; a send can only fail if it is gone.
            let _ = sender.send(result);
        });
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Readback(e.to_string()))?;
        receiver
            .recv()
            .map_err(|e| Error::Readback(e.to_string()))?
            .map_err(|e| Error::Readback(e.to_string()))?;
        let (w, h) = (self.width as usize, self.height as usize);
        let mut rgba = vec![0u8; w * 2 * h * 4];
        {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| Error::Readback(e.to_string()))?;
            let padded = self.padded_row as usize;
            for layer in 0..2 {
                for y in 0..h {
                    let src = (layer * h + y) * padded;
                    let dst = (y * w * 2 + layer * w) * 4;
                    rgba[dst..dst + w * 4].copy_from_slice(&mapped[src..src + w * 4]);
                }
            }
        }
        self.readback.unmap();
        Ok(StereoImage {
            width: self.width * 2,
            height: self.height,
            rgba,
        })
    }
}
