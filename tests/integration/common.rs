//! Helpers every test area shares: skipping a test that cannot run here, where the robot
//! corpus is (bundled in `assets/robots`), and loading its robots.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A test that cannot run on this machine says why on stderr and is counted (one line each in
/// `target/tmp/skipped-tests.txt`); under `CI` it fails instead: there, none may skip.
pub fn skip(test: &str, why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{test} cannot run: {why}");
    eprintln!("SKIPPED {test}: {why}");
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
    {
        let _ = writeln!(f, "{test}: {why}");
    }
}

use teleop_bridge::model::Model;

/// One real-time multi-process test at a time (recorded demos, a robot process and its
/// stations): two at once on a 2-core machine starve each other's threads, and the tests
/// measure what one run keeps.
pub static REALTIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The robot corpus: the bundled robots in `assets/robots` (see its INDEX.md), or the folder of
/// the same layout that `TELEOP_ROBOTS_DIR` names.
pub fn robots_dir() -> PathBuf {
    let dir = std::env::var_os("TELEOP_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/robots"));
    assert!(
        dir.join("INDEX.md").is_file(),
        "robot corpus not found at {}",
        dir.display()
    );
    dir
}

/// Every robot folder of the corpus, sorted.
pub fn robot_folders(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus folder readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("fk_reference.json").is_file())
        .collect();
    out.sort();
    out
}

/// The URDF at the top of a robot folder (not `original/`).
pub fn urdf_in(folder: &Path) -> PathBuf {
    let mut urdfs: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("robot folder readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "urdf"))
        .collect();
    assert_eq!(urdfs.len(), 1, "one URDF in {}", folder.display());
    urdfs.remove(0)
}

pub fn load_robot(dir: &Path, name: &str) -> Model {
    let path = urdf_in(&dir.join(name));
    Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

pub fn bundled_humanoid() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/teleop_humanoid.urdf")
}

/// A URDF written in a test, loaded with the default options; panics with the loader's error.
pub fn inline_model(urdf: &str) -> Model {
    Model::from_urdf_str(
        urdf,
        Path::new("inline.urdf"),
        Path::new("."),
        &teleop_bridge::model::LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}
