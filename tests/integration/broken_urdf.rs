//! Every malformed URDF in tests/broken_urdf gives its own error, naming the file, the line and
//! the element; none panics. Each is refused by ROS's parser (urdfdom) too, or on purpose.

use std::path::{Path, PathBuf};

use teleop_bridge::model::{Error, Model, Shape};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/broken_urdf")
        .join(name)
}

/// The line a message names after `name:`, if it names one.
fn line_named(message: &str, name: &str) -> Option<u32> {
    let rest = &message[message.find(&format!("{name}:"))? + name.len() + 1..];
    rest[..rest.find(':')?].parse().ok()
}

fn load_err(name: &str) -> Error {
    let err = Model::from_urdf_file(fixture(name)).expect_err(name);
    let message = err.to_string();
    assert!(
        line_named(&message, name).is_some(),
        "{name}: message names the file and the line: {message}"
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
    // (fixture, the error, what the message says after `file:line: `).
    let cases: &[(&str, IsExpected, &str)] = &[
        (
            "not_xml.urdf",
            |e| matches!(e, Error::NotXml { line: 4, .. }),
            "4:1: not well-formed",
        ),
        (
            "no_robot_element.urdf",
            |e| matches!(e, Error::NoRobotElement { line: 2, .. }),
            "2: the root element is <model>",
        ),
        (
            "duplicate_link.urdf",
            |e| matches!(e, Error::DuplicateLink { line: 5, name, .. } if name == "a"),
            "5: two links are named 'a'",
        ),
        (
            "duplicate_joint.urdf",
            |e| matches!(e, Error::DuplicateJoint { line: 13, name, .. } if name == "j"),
            "13: two joints are named 'j'",
        ),
        (
            "joint_missing_link.urdf",
            |e| matches!(e, Error::MissingLink { line: 15, link, .. } if link == "ghost"),
            "15: joint 'k' names child link 'ghost'",
        ),
        (
            "two_parents.urdf",
            |e| matches!(e, Error::TwoParents { line: 16, link, .. } if link == "c"),
            "16: link 'c' has two parents: joints 'j1' and 'j2'",
        ),
        (
            "loop.urdf",
            |e| matches!(e, Error::Loop { line: 14, links, .. } if links.len() == 2),
            "14: joints form a loop",
        ),
        (
            "no_single_root.urdf",
            |e| matches!(e, Error::NoSingleRoot { line: 5, roots, .. } if roots.len() == 2),
            "5: expected one root link",
        ),
        (
            "revolute_without_limit.urdf",
            |e| matches!(e, Error::MissingLimit { line: 5, joint, .. } if joint == "j"),
            "5: revolute joint 'j' has no <limit>",
        ),
        (
            "prismatic_without_limit.urdf",
            |e| matches!(e, Error::MissingLimit { line: 5, joint, .. } if joint == "slide"),
            "5: prismatic joint 'slide'",
        ),
        (
            "nan_origin.urdf",
            |e| matches!(e, Error::NotFinite { line: 6, attribute, .. } if attribute == "xyz"),
            "6: <origin> of <joint 'j'>",
        ),
        (
            "infinite_limit.urdf",
            |e| matches!(e, Error::NotFinite { line: 10, attribute, .. } if attribute == "upper"),
            "10: <limit> of <joint 'j'>",
        ),
        (
            "mimic_missing_joint.urdf",
            |e| matches!(e, Error::MimicMissingJoint { line: 19, leader, .. } if leader == "nowhere"),
            "19: mimic joint 'm' follows 'nowhere'",
        ),
        (
            "mimic_cycle.urdf",
            |e| matches!(e, Error::MimicCycle { line: 12, .. }),
            "12: mimic joints form a cycle",
        ),
        (
            "floating_joint.urdf",
            |e| {
                matches!(
                    e,
                    Error::UnsupportedJoint {
                        line: 5,
                        kind: "floating",
                        ..
                    }
                )
            },
            "5: joint 'free' is of type 'floating'",
        ),
        (
            "zero_axis.urdf",
            |e| matches!(e, Error::ZeroAxis { line: 9, .. }),
            "9: joint 'j' has a zero-length axis",
        ),
        (
            "inverted_limit.urdf",
            |e| matches!(e, Error::InvertedLimit { line: 10, .. }),
            "10: joint 'j' has lower limit 1 above",
        ),
        (
            "limit_without_velocity.urdf",
            |e| {
                matches!(
                    e,
                    Error::MissingAttribute {
                        line: 10,
                        attribute: "velocity",
                        ..
                    }
                )
            },
            "10: <limit> of <joint 'j'> has no 'velocity'",
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
            "18: <limit> of <joint 'j'> attribute 'velocity' = -1 is negative",
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
            "18: <limit> of <joint 'j'> attribute 'effort' = -5 is negative; an effort limit cannot be",
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
            "5: <mass> of <link 'a'> attribute 'value' = -2 is negative",
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
            "6: <inertia> of <link 'a'> attribute 'ixx' = -0.1 is negative; a moment of inertia",
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
            "9: <cylinder> of <link 'a'>",
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
            "14: <joint> has an empty 'name'",
        ),
        (
            "unknown_joint_type.urdf",
            |e| matches!(e, Error::BadValue { line: 14, .. }),
            "14: <joint> attribute 'type' = \"hinge\" is not a joint type",
        ),
        (
            "bad_number.urdf",
            |e| matches!(e, Error::BadValue { line: 18, .. }),
            "18: <limit> of <joint 'j'> attribute 'effort' = \"1.0.0\" is not a number",
        ),
        (
            "unknown_shape.urdf",
            |e| matches!(e, Error::UnknownShape { line: 6, .. }),
            "6: <cone> of <link 'a'> is not a shape",
        ),
        (
            "unknown_version.urdf",
            |e| matches!(e, Error::BadValue { line: 2, .. }),
            "2: <robot> attribute 'version' = \"2.0\" is not a URDF version",
        ),
        (
            "axis_without_xyz.urdf",
            |e| {
                matches!(
                    e,
                    Error::MissingAttribute {
                        line: 8,
                        attribute: "xyz",
                        ..
                    }
                )
            },
            "8: <axis> of <joint 'j'> has no 'xyz' attribute",
        ),
        (
            "material_without_name.urdf",
            |e| {
                matches!(
                    e,
                    Error::MissingAttribute {
                        line: 6,
                        attribute: "name",
                        ..
                    }
                )
            },
            "6: <material> of <link 'a'> has no 'name' attribute",
        ),
        (
            "color_not_numbers.urdf",
            |e| matches!(e, Error::BadValue { line: 4, .. }),
            "4: <color> of <material 'm'> attribute 'rgba' = \"red\" is not 4 numbers",
        ),
        // Names are echoed with their control characters escaped: one line.
        (
            "control_characters_in_name.urdf",
            |e| matches!(e, Error::MissingLink { line: 16, .. }),
            "16: joint 'j\\n\\t2' names child link 'b\\n\\tx'",
        ),
    ];
    let on_disk = std::fs::read_dir(fixture("")).expect("fixtures").count();
    // Every fixture is covered here, plus unresolved_mesh.urdf below (it loads; its mesh does not).
    assert_eq!(on_disk, cases.len() + 1, "a case per fixture");
    for (name, is_expected, says) in cases {
        let err = load_err(name);
        assert!(is_expected(&err), "{name}: unexpected error: {err:?}");
        assert!(
            err.to_string().contains(&format!("{name}:{says}")),
            "{name}: '{err}' should say {name}:{says}"
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

/// The fixtures ROS's parser lets through, which are refused on purpose: no robot can have
/// them, or they are not a tree of the joint types this project moves.
const REFUSED_ON_PURPOSE: &[&str] = &[
    // urdfdom makes it a zero axis.
    "axis_without_xyz.urdf",
    "empty_joint_name.urdf",
    // A floating base is the robot backend's business.
    "floating_joint.urdf",
    "inverted_limit.urdf",
    // urdfdom looks for loops only from the root.
    "loop.urdf",
    "mimic_cycle.urdf",
    "mimic_missing_joint.urdf",
    "negative_effort.urdf",
    "negative_inertia.urdf",
    "negative_mass.urdf",
    "negative_radius.urdf",
    "negative_velocity.urdf",
    // urdfdom keeps the last parent.
    "two_parents.urdf",
    "zero_axis.urdf",
];

/// Each broken fixture is refused by urdfdom's `check_urdf` too (it fails, or reports an error),
/// unless it is listed as refused on purpose; and each one listed is one urdfdom takes.
#[test]
fn each_refusal_is_urdfdoms_or_on_purpose() {
    let Some(check_urdf) = super::urdf_quirks::check_urdf() else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(fixture(""))
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".urdf") && n != "unresolved_mesh.urdf")
        .collect();
    names.sort();
    for name in names {
        let (accepted, output) = super::urdf_quirks::urdfdom_verdict(&check_urdf, &fixture(&name));
        let complains = !accepted || output.contains("Error");
        let on_purpose = REFUSED_ON_PURPOSE.contains(&name.as_str());
        assert!(
            complains != on_purpose,
            "{name}: urdfdom {} it, and it is{} listed as refused on purpose: {output}",
            if complains { "refuses" } else { "takes" },
            if on_purpose { "" } else { " not" },
        );
    }
}
