//! What ROS's URDF parser (urdfdom) accepts loads, read as urdfdom reads it: the fixtures in
//! tests/fixtures/urdf_quirks each show some of it (their first comment says what), checked
//! against urdfdom's own `check_urdf` where it is installed. And every URDF in the repository
//! loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use nalgebra::Vector3;
use teleop_bridge::model::{JointKind, Model, Shape};

use super::common::skip;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn quirks_dir() -> PathBuf {
    root().join("tests/fixtures/urdf_quirks")
}

fn load(name: &str) -> Model {
    Model::from_urdf_file(quirks_dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn urdfs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            urdfs_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "urdf") {
            out.push(path);
        }
    }
}

fn quirk_fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    urdfs_under(&quirks_dir(), &mut out);
    out.sort();
    out
}

/// urdfdom's `check_urdf` (Debian's liburdfdom-tools), if installed; else the test skips.
pub fn check_urdf() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("check_urdf"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip(
            "a comparison with urdfdom",
            "check_urdf not found (apt-get install liburdfdom-tools)",
        );
    }
    found
}

/// Whether urdfdom returns a model for `urdf`, and what it printed.
pub fn urdfdom_verdict(check_urdf: &Path, urdf: &Path) -> (bool, String) {
    let out = Command::new(check_urdf)
        .arg(urdf)
        .output()
        .expect("check_urdf runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// urdfdom logs an error for these but keeps the model.
const URDFDOM_COMPLAINS: &[&str] = &["top_level_material_without_color.urdf"];

#[test]
fn every_quirk_fixture_loads() {
    let fixtures = quirk_fixtures();
    assert!(fixtures.len() >= 12, "{} fixtures", fixtures.len());
    for path in fixtures {
        Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn urdfdom_takes_every_quirk_fixture() {
    let Some(check_urdf) = check_urdf() else {
        return;
    };
    for path in quirk_fixtures() {
        let name = path.file_name().expect("name").to_string_lossy();
        let (accepted, output) = urdfdom_verdict(&check_urdf, &path);
        assert!(accepted, "urdfdom refuses {name}: {output}");
        if !URDFDOM_COMPLAINS.contains(&name.as_ref()) {
            assert!(
                !output.contains("Error"),
                "urdfdom complains about {name}: {output}"
            );
        }
    }
}

#[test]
fn materials_need_only_a_name() {
    let red = Some([1.0, 0.0, 0.0, 1.0]);
    let model = load("empty_texture.urdf");
    let color = |model: &Model, link: &str, i: usize| {
        model.links[model.link_id(link).expect("link")].visuals[i].color
    };
    assert_eq!(color(&model, "a", 0), None);
    assert_eq!(color(&model, "b", 0), red);

    let model = load("material_without_color.urdf");
    // Named by the visual, defined at the top after it.
    assert_eq!(color(&model, "a", 0), Some([0.0, 0.0, 1.0, 1.0]));
    // Defined nowhere, <color/> without rgba, a texture only: no colour.
    assert_eq!(color(&model, "a", 1), None);
    assert_eq!(color(&model, "b", 0), None);
    assert_eq!(color(&model, "b", 1), None);

    let model = load("top_level_material_without_color.urdf");
    assert_eq!(color(&model, "a", 0), None);
    assert_eq!(color(&model, "a", 1), None);

    let model = load("color_not_four_numbers.urdf");
    assert_eq!(color(&model, "a", 0), None);
    assert_eq!(color(&model, "a", 1), None);
}

#[test]
fn defaults_are_urdfdoms() {
    let model = load("defaults.urdf");
    let joint = |name: &str| &model.joints[model.joint_id(name).expect("joint")];

    let spin = joint("spin");
    assert_eq!(spin.kind, JointKind::Continuous);
    assert_eq!(*spin.axis, Vector3::x(), "no <axis>: x");
    assert_eq!(
        spin.parent_from_joint,
        nalgebra::IsometryMatrix3::identity()
    );
    assert_eq!(spin.limits.position, None);
    assert_eq!(spin.limits.velocity, None);

    let shoulder = joint("shoulder");
    assert_eq!(
        shoulder.parent_from_joint.translation.vector,
        Vector3::zeros()
    );
    let x_to = shoulder.parent_from_joint.rotation * Vector3::x();
    assert!((x_to - Vector3::y()).norm() < 1e-12, "yaw only: {x_to}");
    assert_eq!(shoulder.limits.velocity, Some(2.0));

    let grip = joint("grip");
    assert_eq!(grip.limits.position, Some((0.0, 0.04)), "no lower: 0");
    assert_eq!(
        grip.parent_from_joint.translation.vector,
        Vector3::new(0.1, 0.0, 0.0)
    );
    let mimic = joint("grip_mirror").mimic.expect("a mimic");
    assert_eq!(model.joints[mimic.leader].name, "grip");
    assert_eq!((mimic.multiplier, mimic.offset), (1.0, 0.0));

    let base = &model.links[model.link_id("base").expect("base")];
    let Shape::Mesh(mesh) = &base.visuals[0].shape else {
        panic!("a mesh");
    };
    assert_eq!(mesh.scale, Vector3::repeat(1.0));
    let inertial = base.inertial.as_ref().expect("inertial");
    assert_eq!(inertial.mass_kg, 2.0);
    assert_eq!(
        inertial.link_from_com,
        nalgebra::IsometryMatrix3::identity()
    );
    assert_eq!(
        base.collisions[0].link_from_shape.translation.vector,
        Vector3::new(0.0, 0.0, 0.1)
    );
}

#[test]
fn the_first_child_wins() {
    let model = load("first_child_wins.urdf");
    let a = &model.links[model.link_id("a").expect("a")];
    assert_eq!(a.inertial.as_ref().expect("inertial").mass_kg, 1.0);
    assert_eq!(a.visuals.len(), 1);
    let visual = &a.visuals[0];
    assert_eq!(visual.link_from_shape.translation.vector.x, 0.1);
    assert_eq!(
        visual.shape,
        Shape::Box {
            size: Vector3::new(0.1, 0.2, 0.3)
        }
    );
    assert_eq!(visual.color, Some([1.0, 0.0, 0.0, 1.0]));

    let j = &model.joints[model.joint_id("j").expect("j")];
    assert_eq!(model.links[j.parent].name, "a");
    assert_eq!(j.parent_from_joint.translation.vector.x, 1.0);
    assert_eq!(*j.axis, Vector3::z());
    assert_eq!(j.limits.position, Some((-1.0, 1.0)));
    assert_eq!(j.limits.velocity, Some(1.0));
    assert_eq!(j.limits.soft_position, Some((-0.5, 0.5)));
    let k = &model.joints[model.joint_id("k").expect("k")];
    assert_eq!(k.mimic.expect("mimic").multiplier, 2.0);
}

#[test]
fn order_extensions_and_xml_slips() {
    let model = load("any_order.urdf");
    let a = model.root();
    assert_eq!((a.visuals.len(), a.collisions.len()), (3, 2));
    assert!(a.inertial.is_some());
    assert_eq!(model.joints[0].kind, JointKind::Continuous);

    let model = load("extensions.urdf");
    assert_eq!((model.links.len(), model.joints.len()), (2, 1));

    // `<xacro:link>` is not a link.
    let model = load("undeclared_prefix.urdf");
    assert_eq!(model.links.len(), 1);
    assert_eq!(model.root().name, "a");

    let model = load("doctype_and_undefined_entity.urdf");
    assert_eq!(model.root().visuals.len(), 1);
    assert_eq!(load("latin1_comment.urdf").root().name, "a");
    assert_eq!(load("fixed_joint_axis.urdf").links.len(), 3);

    let model = load("joint_extras.urdf");
    let soft = |name: &str| {
        model.joints[model.joint_id(name).expect("joint")]
            .limits
            .soft_position
    };
    assert_eq!(soft("j1"), None, "k_velocity only");
    assert_eq!(
        soft("j2"),
        Some((-1.0, 0.9)),
        "the missing bound is the hard one"
    );
    assert_eq!(
        model.joints[model.joint_id("j3").expect("j3")].kind,
        JointKind::Fixed
    );
}

/// Every URDF in the repository loads: the bundled robots (their upstream originals too, whose
/// `package://` meshes resolve only with a package path), the bundled humanoid, the fixtures.
#[test]
fn every_urdf_in_the_repository_loads() {
    let mut urdfs = Vec::new();
    for dir in ["assets", "urdf", "tests/fixtures"] {
        urdfs_under(&root().join(dir), &mut urdfs);
    }
    urdfs.sort();
    let originals = urdfs
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("original")))
        .count();
    assert!(urdfs.len() >= 30, "{} URDFs", urdfs.len());
    assert_eq!(originals, 8, "one upstream original per corpus robot");
    for path in urdfs {
        Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}
