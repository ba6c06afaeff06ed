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
        // Physically impossible values and empty names, each naming its line.
        (
            "negative_velocity.urdf",
            |e| {
                matches!(
                    e,
                    Error::Negative {
                        line: 18,
                        attribute: "velocity",
                        ..
                    }
                )
            },
            ":18: <limit> of <joint 'j'> attribute 'velocity' = -1 is negative",
        ),
        (
            "negative_effort.urdf",
            |e| {
                matches!(
                    e,
                    Error::Negative {
                        line: 18,
                        attribute: "effort",
                        ..
                    }
                )
            },
            "an effort limit cannot be",
        ),
        (
            "negative_mass.urdf",
            |e| {
                matches!(
                    e,
                    Error::Negative {
                        line: 5,
                        attribute: "value",
                        ..
                    }
                )
            },
            "<mass> of <link 'a'> attribute 'value' = -2 is negative",
        ),
        (
            "negative_inertia.urdf",
            |e| {
                matches!(
                    e,
                    Error::Negative {
                        line: 6,
                        attribute: "ixx",
                        ..
                    }
                )
            },
            "a moment of inertia",
        ),
        (
            "negative_radius.urdf",
            |e| {
                matches!(
                    e,
                    Error::Negative {
                        line: 9,
                        attribute: "radius",
                        ..
                    }
                )
            },
            "<cylinder> of <link 'a'>",
        ),
        (
            "empty_joint_name.urdf",
            |e| {
                matches!(
                    e,
                    Error::EmptyAttribute {
                        line: 14,
                        attribute: "name",
                        ..
                    }
                )
            },
            ":14: <joint> has an empty 'name'",
        ),
        // urdf-rs's own refusals, which named neither line nor element.
        (
            "empty_texture.urdf",
            |e| {
                matches!(
                    e,
                    Error::MissingAttribute {
                        line: 10,
                        attribute: "filename",
                        ..
                    }
                )
            },
            ":10: <texture> of <link 'a'> has no 'filename' attribute",
        ),
        (
            "unknown_joint_type.urdf",
            |e| matches!(e, Error::BadValue { line: 14, .. }),
            "'type' = \"hinge\" is not a joint type",
        ),
        (
            "bad_number.urdf",
            |e| matches!(e, Error::BadValue { line: 18, .. }),
            "'effort' = \"1.0.0\" is not a number",
        ),
        // Names are echoed with their control characters escaped: one line.
        (
            "control_characters_in_name.urdf",
            |e| matches!(e, Error::MissingLink { .. }),
            "joint 'j\\n\\t2' names child link 'b\\n\\tx'",
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

/// XML nested 20,000 levels deep overflowed the stack (urdf-rs reads recursively): refused
/// before any recursion, naming the line.
#[test]
fn deep_nesting_is_refused_before_any_recursion() {
    let depth = 20_000;
    let text = format!(
        "<robot name=\"r\"><link name=\"a\">{}{}</link></robot>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    );
    let err = Model::from_urdf_str(
        &text,
        Path::new("deep.urdf"),
        Path::new("."),
        &Default::default(),
    )
    .expect_err("too deep");
    assert!(
        matches!(
            err,
            Error::TooDeep {
                line: 1,
                depth: 65,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("deep.urdf:1: <x> is nested 65"),
        "{err}"
    );
    // Vendor extensions a few levels deep are fine.
    let text = format!(
        "<robot name=\"r\"><link name=\"a\"/><gazebo>{}{}</gazebo></robot>",
        "<x>".repeat(40),
        "</x>".repeat(40)
    );
    Model::from_urdf_str(
        &text,
        Path::new("ok.urdf"),
        Path::new("."),
        &Default::default(),
    )
    .unwrap();
}

/// A 10 MB joint name gave a 10 MB error line; echoed names are cut at 200 characters.
#[test]
fn huge_names_are_cut_short_in_messages() {
    let name = "n".repeat(10 << 20);
    let text = format!(
        "<robot name=\"r\"><link name=\"a\"/><joint name=\"{name}\" type=\"fixed\">\
         <parent link=\"a\"/><child link=\"{name}\"/></joint></robot>"
    );
    let err = Model::from_urdf_str(
        &text,
        Path::new("big.urdf"),
        Path::new("."),
        &Default::default(),
    )
    .expect_err("no such link");
    let message = err.to_string();
    assert!(message.len() < 1000, "{} bytes", message.len());
    assert!(
        message.contains(&format!("'{}…'", "n".repeat(200))),
        "{message}"
    );
}

/// Every urdf-rs refusal names a line and an element, also the ones the pre-check does not
/// know (they used to read `URDF parser: custom: duplicate field …` alone).
#[test]
fn urdf_parser_errors_name_the_line_and_element() {
    let cases = [
        (
            "<inertial><mass value=\"1\"/><mass value=\"2\"/><inertia ixx=\"1\" ixy=\"0\" ixz=\"0\" iyy=\"1\" iyz=\"0\" izz=\"1\"/></inertial>",
            "duplicate field `mass`",
        ),
        (
            "<visual><geometry><box size=\"1 1 1\"/><sphere radius=\"1\"/></geometry></visual>",
            "sphere",
        ),
    ];
    for (inside, says) in cases {
        let text = format!(
            "<robot name=\"r\">\n  <link name=\"a\"/>\n  <link name=\"b\">\n    {inside}\n  </link>\n</robot>\n"
        );
        let err = Model::from_urdf_str(
            &text,
            Path::new("dup.urdf"),
            Path::new("."),
            &Default::default(),
        )
        .expect_err(inside);
        let message = err.to_string();
        assert!(
            message.starts_with("dup.urdf:3: <link name=\"b\">: URDF parser: "),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
        assert!(message.len() < 400 && !message.contains('\n'), "{message}");
    }
}
