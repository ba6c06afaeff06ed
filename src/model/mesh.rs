//! Mesh URIs → files, and files → triangles (on demand, with mesh-loader).

use std::path::{Path, PathBuf};

use super::Error;

/// Where `package://NAME/...` URIs are looked for.
///
/// Order: each folder of `package_path` (as `ROS_PACKAGE_PATH`: a folder that holds package
/// folders, or a package folder itself), then the URDF's folder and each of its ancestors.
#[derive(Debug, Clone, Default)]
pub struct PackagePath {
    pub folders: Vec<PathBuf>,
}

impl PackagePath {
    /// The folders of `ROS_PACKAGE_PATH`, if set.
    pub fn from_env() -> Self {
        let folders = std::env::var_os("ROS_PACKAGE_PATH")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Self { folders }
    }
}

/// Every file a mesh URI might name, in the order they are tried.
pub(crate) fn candidates(uri: &str, urdf_dir: &Path, packages: &PackagePath) -> Vec<PathBuf> {
    if let Some(rest) = uri.strip_prefix("package://") {
        let (package, relative) = rest.split_once('/').unwrap_or((rest, ""));
        let mut out = Vec::new();
        let folders = packages.folders.iter().map(PathBuf::as_path);
        for folder in folders.chain(urdf_dir.ancestors()) {
            if package.is_empty() {
                // `package:///x`: no package name, so the path is relative to each search folder.
                out.push(folder.join(relative));
            } else {
                out.push(folder.join(package).join(relative));
                if folder.file_name().is_some_and(|n| n == package) {
                    out.push(folder.join(relative));
                }
            }
        }
        out
    } else if let Some(rest) = uri.strip_prefix("file://") {
        vec![urdf_dir.join(rest)]
    } else {
        vec![urdf_dir.join(uri)]
    }
}

/// Triangles of one mesh file, scaled, in the file's own frame. Positions in metres once `scale`
/// is applied.
#[derive(Debug, Clone, Default)]
pub struct TriangleMesh {
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

impl super::MeshRef {
    /// Loads the file this reference resolved to; an error if it resolved to none.
    pub fn load(&self) -> Result<TriangleMesh, Error> {
        let Some(path) = &self.path else {
            return Err(Error::MeshNotFound {
                uri: self.uri.clone(),
                tried: self.tried.clone(),
            });
        };
        load_triangles(path, self.scale.into())
    }
}

/// Loads an STL, COLLADA or OBJ file into one merged, scaled triangle mesh.
pub fn load_triangles(path: &Path, scale: [f64; 3]) -> Result<TriangleMesh, Error> {
    let scene = mesh_loader::Loader::default()
        .merge_meshes(true)
        .load(path)
        .map_err(|source| Error::MeshLoad {
            path: path.to_owned(),
            source,
        })?;
    let mut out = TriangleMesh::default();
    for mesh in scene.meshes {
        let base = out.positions.len() as u32;
        let scaled = |v: &[f32; 3]| std::array::from_fn(|k| (f64::from(v[k]) * scale[k]) as f32);
        out.positions.extend(mesh.vertices.iter().map(scaled));
        if mesh.normals.len() == mesh.vertices.len() {
            out.normals.extend_from_slice(&mesh.normals);
        } else {
            out.normals
                .extend(std::iter::repeat_n([0.0; 3], mesh.vertices.len()));
        }
        out.triangles
            .extend(mesh.faces.iter().map(|f| f.map(|v| v + base)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_uri_tries_package_path_then_urdf_ancestors() {
        let packages = PackagePath {
            folders: vec![PathBuf::from("/ws/src")],
        };
        let tried = candidates(
            "package://arm/meshes/a.stl",
            Path::new("/x/arm/urdf"),
            &packages,
        );
        assert_eq!(tried[0], PathBuf::from("/ws/src/arm/meshes/a.stl"));
        assert!(tried.contains(&PathBuf::from("/x/arm/meshes/a.stl")));
        assert!(tried.contains(&PathBuf::from("/x/arm/urdf/arm/meshes/a.stl")));
    }

    #[test]
    fn empty_package_name_is_relative_to_search_folders() {
        let tried = candidates(
            "package:///m/a.stl",
            Path::new("/r"),
            &PackagePath::default(),
        );
        assert_eq!(
            tried,
            vec![PathBuf::from("/r/m/a.stl"), PathBuf::from("/m/a.stl")]
        );
    }

    #[test]
    fn file_and_relative_uris() {
        let none = PackagePath::default();
        assert_eq!(
            candidates("file:///abs/a.dae", Path::new("/r"), &none),
            vec![PathBuf::from("/abs/a.dae")]
        );
        assert_eq!(
            candidates("meshes/a.obj", Path::new("/r"), &none),
            vec![PathBuf::from("/r/meshes/a.obj")]
        );
    }
}
