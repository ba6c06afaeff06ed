//! Every malformed URDF in tests/broken_urdf gives its own error, naming the file; none panics.

use std::path::{Path, PathBuf};

use teleop_bridge::model::{Error, Model, Shape};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/broken_urdf")
        .join(name)
}

fn load_err(name: &str) -> Error {
    let err = Model::from_urdf_file(fixture(name)).expect_err(name);
    let message = err.to_string();
    assert!(
        message.contains(name),
        "{name}: message names the file: {message}"
    );
    assert!(!message.contains('\n'), "{name}: one line: {message}");
    err
}

#[test]
fn missing_file() {
    let err = Model::from_urdf_file(fixture("does_not_exist.urdf")).expect_err("missing");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("does_not_exist.urdf"));
}

#[test]
fn each_broken_urdf_gives_its_specific_error() {
    type IsExpected = fn(&Error) -> bool;
    let cases: &[(&str, IsExpected, &str)] = &[
        (
            "not_xml.urdf",
            |e| matches!(e, Error::NotXml { line: 4, .. }),
            "not well-formed",
        ),
        (
            "no_robot_element.urdf",
            |e| matches!(e, Error::NoRobotElement { .. }),
            "<model>",
        ),
        (
            "duplicate_link.urdf",
            |e| matches!(e, Error::DuplicateLink { name, .. } if name == "a"),
            "'a'",
        ),
        (
            "duplicate_joint.urdf",
            |e| matches!(e, Error::DuplicateJoint { name, .. } if name == "j"),
            "'j'",
        ),
        (
            "joint_missing_link.urdf",
            |e| matches!(e, Error::MissingLink { link, .. } if link == "ghost"),
            "'ghost'",
        ),
        (
            "two_parents.urdf",
            |e| matches!(e, Error::TwoParents { link, .. } if link == "c"),
            "'j1' and 'j2'",
        ),
        (
            "loop.urdf",
            |e| matches!(e, Error::Loop { links, .. } if links.len() == 2),
            "loop",
        ),
        (
            "no_single_root.urdf",
            |e| matches!(e, Error::NoSingleRoot { roots, .. } if roots.len() == 2),
            "root",
        ),
        (
            "revolute_without_limit.urdf",
            |e| matches!(e, Error::MissingLimit { joint, .. } if joint == "j"),
            "<limit>",
        ),
        (
            "prismatic_without_limit.urdf",
            |e| matches!(e, Error::MissingLimit { joint, .. } if joint == "slide"),
            "prismatic",
        ),
        (
            "nan_origin.urdf",
            |e| matches!(e, Error::NotFinite { attribute, .. } if attribute == "xyz"),
            "origin",
        ),
        (
            "infinite_limit.urdf",
            |e| matches!(e, Error::NotFinite { attribute, .. } if attribute == "upper"),
            "limit",
        ),
        (
            "mimic_missing_joint.urdf",
            |e| matches!(e, Error::MimicMissingJoint { leader, .. } if leader == "nowhere"),
            "'nowhere'",
        ),
        (
            "mimic_cycle.urdf",
            |e| matches!(e, Error::MimicCycle { .. }),
            "cycle",
        ),
        (
            "floating_joint.urdf",
            |e| {
                matches!(
                    e,
                    Error::UnsupportedJoint {
                        kind: "floating",
                        ..
                    }
                )
            },
            "'free'",
        ),
        (
            "zero_axis.urdf",
            |e| matches!(e, Error::ZeroAxis { .. }),
            "axis",
        ),
        (
            "inverted_limit.urdf",
            |e| matches!(e, Error::InvertedLimit { .. }),
            "above",
        ),
        (
            "limit_without_velocity.urdf",
            |e| {
                matches!(
                    e,
                    Error::MissingAttribute {
                        attribute: "velocity",
                        ..
                    }
                )
            },
            "velocity",
        ),
    ];
    let on_disk = std::fs::read_dir(fixture("")).expect("fixtures").count();
    // Every fixture is covered here, plus unresolved_mesh.urdf below (it loads; its mesh does not).
    assert_eq!(on_disk, cases.len() + 1, "a case per fixture");
    for (name, is_expected, says) in cases {
        let err = load_err(name);
        assert!(is_expected(&err), "{name}: unexpected error: {err:?}");
        assert!(
            err.to_string().contains(says),
            "{name}: '{err}' should say {says}"
        );
    }
}

#[test]
fn unresolved_mesh_loads_but_its_mesh_errors_when_needed() {
    let model =
        Model::from_urdf_file(fixture("unresolved_mesh.urdf")).expect("meshes are resolved lazily");
    let Shape::Mesh(mesh) = &model.links[0].visuals[0].shape else {
        panic!("a mesh visual");
    };
    assert!(mesh.path.is_none());
    let err = mesh.load().expect_err("cannot load");
    assert!(matches!(err, Error::MeshNotFound { .. }));
    assert!(
        err.to_string()
            .contains("package://nowhere_description/meshes/a.stl"),
        "{err}"
    );
}
