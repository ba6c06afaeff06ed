// Shows one layer of the stereo texture array in the current viewport (the window's left or
// right half).

@group(0) @binding(0) var eyes: texture_2d_array<f32>;
@group(0) @binding(1) var eyes_sampler: sampler;

struct Layer {
    index: u32,
};
@group(0) @binding(2) var<uniform> layer: Layer;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// One triangle covering the viewport.
@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VertexOut {
    let x = f32((i << 1u) & 2u);
    let y = f32(i & 2u);
    var out: VertexOut;
    out.clip = vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0);
    out.uv = vec2<f32>(x, y);
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    return textureSample(eyes, eyes_sampler, in.uv, layer.index);
}
