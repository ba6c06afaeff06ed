//! The untouched upstream URDFs, with `package://` URIs, resolve every mesh once the package
//! folders they name exist.

use std::path::Path;

use teleop_bridge::model::{LoadOptions, Model, PackagePath, Shape};

use super::common::{robot_folders, robots_dir};

/// Lays out `root/PKG/<prefix>/meshes` → the robot's `meshes/` for each `package://PKG/<prefix>/meshes/…`.
fn lay_out_packages(text: &str, robot: &Path, root: &Path) {
    for uri in text
        .split("filename=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
    {
        let Some(rest) = uri.strip_prefix("package://") else {
            continue;
        };
        let Some(at) = rest.find("/meshes/") else {
            continue;
        };
        let package_folder = root.join(&rest[..at]);
        let link = package_folder.join("meshes");
        if !link.exists() {
            std::fs::create_dir_all(&package_folder).expect("create package folder");
            std::os::unix::fs::symlink(robot.join("meshes"), &link).expect("symlink meshes");
        }
    }
}

#[test]
fn original_urdfs_resolve_and_load_every_mesh_through_the_package_path() {
    let dir = robots_dir();
    for folder in robot_folders(&dir) {
        let original = std::fs::read_dir(folder.join("original"))
            .expect("original/ readable")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|e| e == "urdf"))
            .expect("an original URDF");
        let text = std::fs::read_to_string(&original).expect("readable");
        let packages = tempfile::tempdir().expect("tempdir");
        lay_out_packages(&text, &folder, packages.path());
        let options = LoadOptions {
            packages: PackagePath {
                folders: vec![packages.path().to_owned()],
            },
        };
        let model =
            Model::from_urdf_file_with(&original, &options).unwrap_or_else(|e| panic!("{e}"));
        let meshes: Vec<_> = model
            .links
            .iter()
            .flat_map(|l| {
                l.visuals
                    .iter()
                    .map(|v| &v.shape)
                    .chain(l.collisions.iter().map(|c| &c.shape))
            })
            .filter_map(|s| match s {
                Shape::Mesh(m) => Some(m),
                _ => None,
            })
            .collect();
        assert!(!meshes.is_empty(), "{}: has meshes", original.display());
        for mesh in meshes {
            assert!(
                mesh.path.is_some(),
                "{}: {} unresolved, tried {:?}",
                original.display(),
                mesh.uri,
                mesh.tried
            );
            let triangles = mesh.load().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !triangles.triangles.is_empty(),
                "{} has triangles",
                mesh.uri
            );
        }
    }
}

#[test]
fn original_urdf_without_package_path_reports_unresolved_meshes() {
    let dir = robots_dir();
    let original = dir.join("panda/original/panda.urdf");
    let model = Model::from_urdf_file_with(&original, &LoadOptions::default())
        .expect("loads: meshes are lazy");
    let Some(Shape::Mesh(mesh)) = model
        .links
        .iter()
        .flat_map(|l| &l.visuals)
        .map(|v| &v.shape)
        .next()
    else {
        panic!("panda has a visual mesh");
    };
    assert!(mesh.path.is_none());
    let err = mesh
        .load()
        .expect_err("unresolved mesh cannot load")
        .to_string();
    assert!(
        err.contains("package://example-robot-data/robots/panda_description/meshes"),
        "{err}"
    );
}
