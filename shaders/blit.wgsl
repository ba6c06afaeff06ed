// Shows one layer of a texture array in the current viewport (a window's eye or overview, or a
// headset eye). A stale image (`stale` > 0: the robot's camera stopped arriving) is darkened
// inside a red frame whose width grows with its staleness.

@group(0) @binding(0) var eyes: texture_2d_array<f32>;
@group(0) @binding(1) var eyes_sampler: sampler;

struct Layer {
    index: u32,
    stale: f32,
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
    let color = textureSample(eyes, eyes_sampler, in.uv, layer.index);
    if (layer.stale <= 0.0) {
        return color;
    }
    let edge = min(min(in.uv.x, 1.0 - in.uv.x), min(in.uv.y, 1.0 - in.uv.y));
    if (edge < 0.01 + 0.02 * layer.stale) {
        return vec4<f32>(0.9, 0.05, 0.05, 1.0);
    }
    return vec4<f32>(color.rgb * (1.0 - 0.6 * layer.stale), color.a);
}
