//! Draws one layer of a texture array into the current viewport of a render pass: the window's
//! eyes and overview, and camera images received from a robot in the window or the headset.
//! A stale image (see [`staleness`]) is darkened inside a red frame, so a trainer sees at a
//! glance that the robot's camera has stopped arriving.

use wgpu::util::DeviceExt;

/// The pipeline, for one target format.
pub struct Blit {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

/// One layer of one texture array, ready to draw, with its staleness.
pub struct BlitSource {
    group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    layer: u32,
    stale: f32,
}

impl BlitSource {
    /// Sets how stale the image is (0: fresh … 1: stale); written only when it changes.
    pub fn set_stale(&mut self, queue: &wgpu::Queue, stale: f32) {
        if stale != self.stale {
            self.stale = stale;
            queue.write_buffer(&self.uniform, 0, &uniform_bytes(self.layer, stale));
        }
    }
}

/// The uniform: layer index, staleness, padding (a uniform is at least 16 bytes everywhere).
fn uniform_bytes(layer: u32, stale: f32) -> [u8; 16] {
    let mut bytes = [0; 16];
    bytes[..4].copy_from_slice(&layer.to_le_bytes());
    bytes[4..8].copy_from_slice(&stale.to_le_bytes());
    bytes
}

impl Blit {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Blit {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blit.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/blit.wgsl").into()),
        });
        let fragment = wgpu::ShaderStages::FRAGMENT;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("blit"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: fragment,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: fragment,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: fragment,
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
        Blit {
            pipeline,
            layout,
            sampler,
        }
    }

    /// Layer `layer` of the `D2Array` view `view`.
    pub fn source(
        &self,
        device: &wgpu::Device,
        view: &wgpu::TextureView,
        layer: u32,
    ) -> BlitSource {
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("blit layer"),
            contents: &uniform_bytes(layer, 0.0),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("blit"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: uniform.as_entire_binding(),
                },
            ],
        });
        BlitSource {
            group,
            uniform,
            layer,
            stale: 0.0,
        }
    }

    /// Draws `source` into the pass's current viewport.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, source: &BlitSource) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &source.group, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// A render pass that clears `view` to black and draws into it.
pub fn clear_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
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
    })
}

/// An image this old is shown as stale.
pub const STALE_AFTER_NS: u64 = 200_000_000;

/// How stale an image `age_ns` old looks: 0 up to [`STALE_AFTER_NS`], then rising to 1 over the
/// next 800 ms (the frame fades in rather than flickering on a single late image).
pub fn staleness(age_ns: u64) -> f32 {
    let over = age_ns.saturating_sub(STALE_AFTER_NS) as f64 / 800e6;
    over.min(1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_images_are_not_stale_and_old_ones_fully_are() {
        assert_eq!(staleness(0), 0.0);
        assert_eq!(staleness(STALE_AFTER_NS), 0.0);
        let half = staleness(STALE_AFTER_NS + 400_000_000);
        assert!((half - 0.5).abs() < 1e-6, "{half}");
        assert_eq!(staleness(5_000_000_000), 1.0);
        assert_eq!(staleness(u64::MAX), 1.0);
    }
}
