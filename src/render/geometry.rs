//! Triangle meshes on the CPU, ready to upload: URDF primitives tessellated, mesh files loaded,
//! each in its shape's own frame with its size or scale baked in (so per-frame transforms stay
//! rigid and normals need no inverse-transpose).

use std::f32::consts::TAU;

use crate::model::{Shape, TriangleMesh};

/// One vertex as the shader reads it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
}

/// Vertices and triangle indices of one drawable shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshData {
    pub vertices: Vec<Vertex>,
    pub indices: Vec<u32>,
}

/// Segments around a cylinder, sphere or capsule: smooth enough at headset distances.
const ROUND_SEGMENTS: u32 = 24;
const SPHERE_RINGS: u32 = 12;

impl MeshData {
    /// The triangles of `shape`; an error for an unreadable mesh file (the caller says so).
    pub fn from_shape(shape: &Shape) -> Result<MeshData, crate::model::Error> {
        Ok(match shape {
            Shape::Box { size } => MeshData::cuboid([size.x as f32, size.y as f32, size.z as f32]),
            Shape::Cylinder { radius, length } => {
                MeshData::cylinder(*radius as f32, *length as f32)
            }
            Shape::Capsule { radius, length } => MeshData::capsule(*radius as f32, *length as f32),
            Shape::Sphere { radius } => MeshData::capsule(*radius as f32, 0.0),
            Shape::Mesh(mesh) => MeshData::from_triangles(&mesh.load()?),
        })
    }

    /// A box centred on the origin with full edge lengths `size`.
    pub fn cuboid(size: [f32; 3]) -> MeshData {
        let h = size.map(|s| s / 2.0);
        let mut out = MeshData::default();
        // Each face: its outward axis and sign; corners wound counter-clockwise seen from outside.
        for axis in 0..3 {
            for sign in [1.0f32, -1.0] {
                let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
                let mut normal = [0.0; 3];
                normal[axis] = sign;
                let base = out.vertices.len() as u32;
                for (a, b) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
                    let mut p = [0.0; 3];
                    p[axis] = sign * h[axis];
                    p[u] = a * h[u];
                    p[v] = b * h[v] * sign;
                    out.vertices.push(Vertex {
                        position: p,
                        normal,
                    });
                }
                out.indices.extend([0, 1, 2, 0, 2, 3].map(|i| base + i));
            }
        }
        out
    }

    /// A cylinder along z, centred on the origin, with flat caps.
    pub fn cylinder(radius: f32, length: f32) -> MeshData {
        let mut out = MeshData::default();
        let h = length / 2.0;
        let n = ROUND_SEGMENTS;
        let ring = |i: u32| {
            let a = TAU * i as f32 / n as f32;
            (a.cos(), a.sin())
        };
        // Side: two vertices per segment edge, smooth normals.
        for i in 0..=n {
            let (c, s) = ring(i);
            for z in [-h, h] {
                out.vertices.push(Vertex {
                    position: [radius * c, radius * s, z],
                    normal: [c, s, 0.0],
                });
            }
        }
        for i in 0..n {
            let k = 2 * i;
            out.indices
                .extend_from_slice(&[k, k + 2, k + 3, k, k + 3, k + 1]);
        }
        // Caps: a centre vertex and a fan, normals along ±z.
        for (z, nz) in [(h, 1.0f32), (-h, -1.0)] {
            let centre = out.vertices.len() as u32;
            out.vertices.push(Vertex {
                position: [0.0, 0.0, z],
                normal: [0.0, 0.0, nz],
            });
            for i in 0..=n {
                let (c, s) = ring(i);
                out.vertices.push(Vertex {
                    position: [radius * c, radius * s, z],
                    normal: [0.0, 0.0, nz],
                });
            }
            for i in 0..n {
                let (a, b) = (centre + 1 + i, centre + 2 + i);
                let (a, b) = if nz > 0.0 { (a, b) } else { (b, a) };
                out.indices.extend_from_slice(&[centre, a, b]);
            }
        }
        out
    }

    /// A capsule along z: a cylinder of `length` between two hemispheres (a sphere when
    /// `length` is 0).
    pub fn capsule(radius: f32, length: f32) -> MeshData {
        let mut out = MeshData::default();
        let h = length / 2.0;
        let rings = SPHERE_RINGS; // even, so the equator is a ring of its own
        let n = ROUND_SEGMENTS;
        for r in 0..=rings {
            // Polar angle from +z; the upper half is shifted up by h, the lower down by h, and
            // the equator is duplicated so the straight part joins both halves.
            let theta = std::f32::consts::PI * r as f32 / rings as f32;
            let offsets: &[f32] = if r == rings / 2 { &[h, -h] } else { &[0.0] };
            for &dz in offsets {
                let shift = if dz != 0.0 {
                    dz
                } else if r < rings / 2 {
                    h
                } else {
                    -h
                };
                for i in 0..=n {
                    let phi = TAU * i as f32 / n as f32;
                    let normal = [
                        theta.sin() * phi.cos(),
                        theta.sin() * phi.sin(),
                        theta.cos(),
                    ];
                    let mut position = normal.map(|c| radius * c);
                    position[2] += shift;
                    out.vertices.push(Vertex { position, normal });
                }
            }
        }
        let rows = rings + 2; // the duplicated equator adds one row
        for r in 0..rows - 1 {
            for i in 0..n {
                let a = r * (n + 1) + i;
                let b = a + n + 1;
                out.indices
                    .extend_from_slice(&[a, b, a + 1, a + 1, b, b + 1]);
            }
        }
        out
    }

    /// A loaded mesh file. Where the file gave no normals, each triangle gets its face normal
    /// (vertices are split so flat shading stays flat).
    pub fn from_triangles(mesh: &TriangleMesh) -> MeshData {
        let has_normals = mesh.normals.len() == mesh.positions.len()
            && mesh.normals.iter().any(|n| n.iter().any(|&c| c != 0.0));
        let mut out = MeshData::default();
        if has_normals {
            out.vertices = mesh
                .positions
                .iter()
                .zip(&mesh.normals)
                .map(|(&position, &normal)| Vertex {
                    position,
                    normal: normalized(normal),
                })
                .collect();
            out.indices = mesh.triangles.iter().flatten().copied().collect();
            return out;
        }
        for t in &mesh.triangles {
            let [a, b, c] = t.map(|i| mesh.positions.get(i as usize).copied());
            let (Some(a), Some(b), Some(c)) = (a, b, c) else {
                continue; // an index past the end: a broken file; skip the triangle
            };
            let normal = normalized(cross(sub(b, a), sub(c, a)));
            let base = out.vertices.len() as u32;
            for position in [a, b, c] {
                out.vertices.push(Vertex { position, normal });
            }
            out.indices.extend_from_slice(&[base, base + 1, base + 2]);
        }
        out
    }
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalized(v: [f32; 3]) -> [f32; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if n > 0.0 && n.is_finite() {
        v.map(|c| c / n)
    } else {
        [0.0, 0.0, 1.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every triangle of a closed convex shape centred on the origin faces outward: its
    /// winding normal points away from the centre (the pipeline culls back faces).
    fn assert_outward(mesh: &MeshData) {
        for t in mesh.indices.chunks(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| mesh.vertices[i as usize].position);
            let n = cross(sub(b, a), sub(c, a));
            let centroid = [0, 1, 2].map(|k| (a[k] + b[k] + c[k]) / 3.0);
            let area2 = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if area2 < 1e-9 {
                continue; // degenerate triangles at a pole
            }
            let dot: f32 = (0..3).map(|k| n[k] * centroid[k]).sum();
            assert!(dot > 0.0, "inward triangle {a:?} {b:?} {c:?}");
        }
    }

    fn extent(mesh: &MeshData) -> [f32; 3] {
        let mut hi = [f32::MIN; 3];
        for v in &mesh.vertices {
            for (h, p) in hi.iter_mut().zip(v.position) {
                *h = h.max(p);
            }
        }
        hi
    }

    #[test]
    fn primitives_have_their_size_and_face_outward() {
        let cuboid = MeshData::cuboid([0.2, 0.4, 0.6]);
        assert_eq!(cuboid.indices.len(), 36);
        assert_eq!(extent(&cuboid), [0.1, 0.2, 0.3]);
        assert_outward(&cuboid);

        let cylinder = MeshData::cylinder(0.05, 0.3);
        let e = extent(&cylinder);
        assert!((e[0] - 0.05).abs() < 1e-6 && (e[2] - 0.15).abs() < 1e-6);
        assert_outward(&cylinder);

        let capsule = MeshData::capsule(0.05, 0.2);
        assert!((extent(&capsule)[2] - 0.15).abs() < 1e-6);
        assert_outward(&capsule);

        let sphere = MeshData::capsule(0.1, 0.0);
        assert!((extent(&sphere)[2] - 0.1).abs() < 1e-6);
        assert_outward(&sphere);
    }

    #[test]
    fn mesh_without_normals_gets_face_normals() {
        let mesh = TriangleMesh {
            positions: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            normals: vec![[0.0; 3]; 3],
            triangles: vec![[0, 1, 2], [0, 1, 7]],
        };
        let data = MeshData::from_triangles(&mesh);
        assert_eq!(
            data.indices.len(),
            3,
            "the triangle with a bad index is skipped"
        );
        assert!(data.vertices.iter().all(|v| v.normal == [0.0, 0.0, 1.0]));
    }
}
