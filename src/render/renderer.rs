//! The GPU side: a [`Gpu`] (adapter, device, queue) and a [`SceneRenderer`] that uploads every
//! mesh once and per frame writes only one transform and colour per drawable. It draws into any
//! colour view — an offscreen layer, a window's surface, an XR swapchain image — so every target
//! shares it.

use std::ops::Range;

use nalgebra::Matrix4;
use wgpu::util::DeviceExt;

use super::convert::{self, GpuMatrix};
use super::scene::{Scene, SceneState};
use super::{Error, EyeCamera};

/// The depth buffer's format.
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// The colour of the world behind everything (linear RGB): a pale grey-blue.
pub const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.55,
    g: 0.62,
    b: 0.7,
    a: 1.0,
};
/// How many cameras one renderer can hold at once: left eye, right eye, overview.
pub const CAMERA_SLOTS: usize = 3;

/// The adapter, device and queue every target renders with.
#[derive(Debug)]
pub struct Gpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl Gpu {
    /// Any adapter (a real GPU first, else a software one such as lavapipe), compatible with
    /// `surface` if given. [`Error::NoAdapter`] when none exists.
    pub fn new(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Gpu, Error> {
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: surface,
            ..Default::default()
        }))
        .map_err(|e| Error::NoAdapter(e.to_string()))?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("teleop"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| Error::Device(e.to_string()))?;
        Ok(Gpu {
            instance,
            adapter,
            device,
            queue,
        })
    }

    /// A GPU for offscreen rendering only.
    pub fn headless() -> Result<Gpu, Error> {
        Gpu::new(Gpu::instance(), None)
    }

    /// An instance on the primary backends (Vulkan, Metal, DX12), or those `WGPU_BACKEND`
    /// names. OpenGL is left out by default: where Vulkan exists it is never chosen, and where
    /// it does not, probing EGL only logs driver errors (lavapipe is the software fallback).
    pub fn instance() -> wgpu::Instance {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        wgpu::Instance::new(descriptor)
    }

    /// The adapter's name and backend, for logs and benchmark tables.
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!("{} ({:?})", info.name, info.backend)
    }

    /// 4× MSAA where the adapter supports it for `format` (and depth), else 1.
    /// `TELEOP_RENDER_SAMPLES=1` turns MSAA off (faster on a software rasteriser).
    pub fn sample_count(&self, format: wgpu::TextureFormat) -> u32 {
        if std::env::var("TELEOP_RENDER_SAMPLES").is_ok_and(|v| v.trim() == "1") {
            return 1;
        }
        let ok = |f| {
            self.adapter
                .get_texture_format_features(f)
                .flags
                .sample_count_supported(4)
        };
        if ok(format) && ok(DEPTH_FORMAT) { 4 } else { 1 }
    }
}

/// Per drawable, per frame: its pose and colour (the instance vertex buffer).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Instance {
    world_from_mesh: GpuMatrix,
    color: [f32; 4],
}

/// One camera slot's uniform.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CameraUniform {
    clip_from_world: GpuMatrix,
    eye_in_world: [f32; 4],
}

/// Where one drawable's triangles are in the shared buffers.
#[derive(Debug, Clone)]
struct MeshRange {
    indices: Range<u32>,
    base_vertex: i32,
}

/// Draws a [`Scene`] from up to [`CAMERA_SLOTS`] cameras.
#[derive(Debug)]
pub struct SceneRenderer {
    pipeline: wgpu::RenderPipeline,
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    instances: wgpu::Buffer,
    mesh_ranges: Vec<MeshRange>,
    /// Mesh index of each drawable (the instance index is the drawable index).
    drawable_meshes: Vec<usize>,
    cameras: Vec<wgpu::Buffer>,
    camera_groups: Vec<wgpu::BindGroup>,
    /// Staging for the instance buffer, reused every frame.
    staged: Vec<Instance>,
    scene: Scene,
    pub color_format: wgpu::TextureFormat,
    pub sample_count: u32,
}

impl SceneRenderer {
    /// Uploads `scene` for drawing into `color_format` targets with `sample_count` samples.
    pub fn new(
        gpu: &Gpu,
        scene: Scene,
        color_format: wgpu::TextureFormat,
        sample_count: u32,
    ) -> SceneRenderer {
        let device = &gpu.device;
        let mut all_vertices = Vec::new();
        let mut all_indices = Vec::new();
        let mut mesh_ranges = Vec::with_capacity(scene.meshes.len());
        for mesh in &scene.meshes {
            let first = all_indices.len() as u32;
            mesh_ranges.push(MeshRange {
                indices: first..first + mesh.indices.len() as u32,
                base_vertex: all_vertices.len() as i32,
            });
            all_vertices.extend_from_slice(&mesh.vertices);
            all_indices.extend_from_slice(&mesh.indices);
        }
        let vertices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("scene vertices"),
            contents: bytemuck::cast_slice(&all_vertices),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("scene indices"),
            contents: bytemuck::cast_slice(&all_indices),
            usage: wgpu::BufferUsages::INDEX,
        });
        let instances = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("scene instances"),
            size: (scene.drawables.len().max(1) * std::mem::size_of::<Instance>()) as u64,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let camera_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("camera"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let (cameras, camera_groups) = (0..CAMERA_SLOTS)
            .map(|_| {
                let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("camera"),
                    size: std::mem::size_of::<CameraUniform>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("camera"),
                    layout: &camera_layout,
                    entries: &[wgpu::BindGroupEntry {
                        binding: 0,
                        resource: buffer.as_entire_binding(),
                    }],
                });
                (buffer, group)
            })
            .unzip();
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("scene.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/scene.wgsl").into()),
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("scene"),
            bind_group_layouts: &[Some(&camera_layout)],
            immediate_size: 0,
        });
        let vertex_attributes = wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3];
        let instance_attributes = wgpu::vertex_attr_array![
            2 => Float32x4, 3 => Float32x4, 4 => Float32x4, 5 => Float32x4, 6 => Float32x4
        ];
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("scene"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[
                    Some(wgpu::VertexBufferLayout {
                        array_stride: std::mem::size_of::<super::geometry::Vertex>() as u64,
                        step_mode: wgpu::VertexStepMode::Vertex,
                        attributes: &vertex_attributes,
                    }),
                    Some(wgpu::VertexBufferLayout {
                        array_stride: std::mem::size_of::<Instance>() as u64,
                        step_mode: wgpu::VertexStepMode::Instance,
                        attributes: &instance_attributes,
                    }),
                ],
            },
            primitive: wgpu::PrimitiveState {
                cull_mode: Some(wgpu::Face::Back),
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: wgpu::MultisampleState {
                count: sample_count,
                ..Default::default()
            },
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: color_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        SceneRenderer {
            pipeline,
            vertices,
            indices,
            instances,
            mesh_ranges,
            drawable_meshes: scene.drawables.iter().map(|d| d.mesh).collect(),
            cameras,
            camera_groups,
            staged: Vec::with_capacity(scene.drawables.len()),
            scene,
            color_format,
            sample_count,
        }
    }

    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    /// Writes every drawable's pose for `state` (one buffer write; nothing allocates).
    pub fn update(&mut self, queue: &wgpu::Queue, state: &SceneState) {
        self.staged.clear();
        for (i, d) in self.scene.drawables.iter().enumerate() {
            self.staged.push(Instance {
                world_from_mesh: convert::gpu_pose(&self.scene.world_from_mesh(i, state)),
                color: d.color.map(|c| c as f32),
            });
        }
        if !self.staged.is_empty() {
            queue.write_buffer(&self.instances, 0, bytemuck::cast_slice(&self.staged));
        }
    }

    /// Sets camera `slot` (0..[`CAMERA_SLOTS`]).
    pub fn set_camera(&self, queue: &wgpu::Queue, slot: usize, camera: &EyeCamera) {
        let eye = camera.world_from_camera.translation.vector;
        self.set_camera_matrix(queue, slot, &camera.clip_from_world(), eye.into());
    }

    /// Sets camera `slot` from a view and projection that are not a robot camera link (the
    /// overview).
    pub fn set_camera_matrix(
        &self,
        queue: &wgpu::Queue,
        slot: usize,
        clip_from_world: &Matrix4<f64>,
        eye: [f64; 3],
    ) {
        let uniform = CameraUniform {
            clip_from_world: convert::gpu_matrix(clip_from_world),
            eye_in_world: [eye[0] as f32, eye[1] as f32, eye[2] as f32, 1.0],
        };
        queue.write_buffer(&self.cameras[slot], 0, bytemuck::bytes_of(&uniform));
    }

    /// Records one pass drawing the scene from camera `slot` into `color` (multisampled when
    /// `sample_count` > 1, then resolved into `resolve`), clearing colour and `depth` first.
    pub fn draw(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        slot: usize,
        color: &wgpu::TextureView,
        resolve: Option<&wgpu::TextureView>,
        depth: &wgpu::TextureView,
    ) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("scene"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: color,
                depth_slice: None,
                resolve_target: resolve,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(BACKGROUND),
                    store: if resolve.is_some() {
                        wgpu::StoreOp::Discard
                    } else {
                        wgpu::StoreOp::Store
                    },
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: depth,
                depth_ops: Some(wgpu::Operations {
                    load: wgpu::LoadOp::Clear(1.0),
                    store: wgpu::StoreOp::Discard,
                }),
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.camera_groups[slot], &[]);
        pass.set_vertex_buffer(0, self.vertices.slice(..));
        pass.set_vertex_buffer(1, self.instances.slice(..));
        pass.set_index_buffer(self.indices.slice(..), wgpu::IndexFormat::Uint32);
        for (i, &mesh) in self.drawable_meshes.iter().enumerate() {
            let range = &self.mesh_ranges[mesh];
            let i = i as u32;
            pass.draw_indexed(range.indices.clone(), range.base_vertex, i..i + 1);
        }
    }
}
