// The robot and its scene: flat colours lit by a key light, a fill light and a sky/ground
// ambient term, so shape reads clearly without textures.

struct Camera {
    clip_from_world: mat4x4<f32>,
    // xyz: the eye in the world (for the rim term); w unused.
    eye_in_world: vec4<f32>,
};

@group(0) @binding(0) var<uniform> camera: Camera;

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    // world_from_mesh, one column per attribute (rigid: normals need no inverse-transpose).
    @location(2) m0: vec4<f32>,
    @location(3) m1: vec4<f32>,
    @location(4) m2: vec4<f32>,
    @location(5) m3: vec4<f32>,
    @location(6) color: vec4<f32>,
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal_in_world: vec3<f32>,
    @location(1) position_in_world: vec3<f32>,
    @location(2) color: vec4<f32>,
};

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    let world_from_mesh = mat4x4<f32>(v.m0, v.m1, v.m2, v.m3);
    let p = world_from_mesh * vec4<f32>(v.position, 1.0);
    var out: VertexOut;
    out.clip = camera.clip_from_world * p;
    out.normal_in_world = (world_from_mesh * vec4<f32>(v.normal, 0.0)).xyz;
    out.position_in_world = p.xyz;
    out.color = v.color;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    var n = normalize(in.normal_in_world);
    let to_eye = normalize(camera.eye_in_world.xyz - in.position_in_world);
    // Two-sided: a face seen from behind is lit as if it faced the eye.
    if (dot(n, to_eye) < 0.0) {
        n = -n;
    }
    let key = normalize(vec3<f32>(0.4, 0.3, 1.0));
    let fill = normalize(vec3<f32>(-0.6, -0.5, 0.4));
    let hemisphere = 0.5 + 0.5 * n.z; // 1 facing the sky, 0 facing the floor
    let light = 0.25 + 0.15 * hemisphere
        + 0.55 * max(dot(n, key), 0.0)
        + 0.2 * max(dot(n, fill), 0.0);
    return vec4<f32>(in.color.rgb * light, in.color.a);
}
