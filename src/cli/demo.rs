//! `teleop demo`: the bundled humanoid picks up a cube in the simulation, driven by a scripted
//! trainer; prints the summary. No GPU, display or headset needed.

use std::path::{Path, PathBuf};

/// The bundled files, found beside the executable's source tree or the working directory.
pub fn bundled(relative: &str) -> PathBuf {
    let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if in_tree.exists() {
        in_tree
    } else {
        PathBuf::from(relative)
    }
}

pub fn run(robot: Option<PathBuf>, script: Option<PathBuf>, realtime: bool) -> anyhow::Result<()> {
    let profile = robot.unwrap_or_else(|| bundled("profiles/teleop_humanoid.toml"));
    let script = script.unwrap_or_else(|| bundled("scripts/pick_cube.toml"));
    eprintln!(
        "demo: {} driven by {} in the simulation ({})…",
        profile.display(),
        script.display(),
        if realtime { "real time" } else { "headless" }
    );
    let summary = if realtime {
        crate::demo::run_realtime(&profile, &script, 1.0)?
    } else {
        crate::demo::run(&profile, &script, 1.0)?
    };
    println!("{summary}");
    if summary.success {
        Ok(())
    } else {
        anyhow::bail!("the cube did not reach its spot")
    }
}
