//! The demo: with no robot, headset, GPU or display, the scripted trainer makes the simulated
//! humanoid pick up the cube and put it within 3 cm of the marked spot — carried by the fingers'
//! grip (it rises on the way), not pushed or teleported.

use std::path::Path;
use std::process::Command;

use teleop_bridge::demo;

#[test]
fn the_humanoid_carries_the_cube_to_its_spot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summary = demo::run(
        &root.join("profiles/teleop_humanoid.toml"),
        &root.join("scripts/pick_cube.toml"),
        1.0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.success, "{summary}");
    assert!(summary.distance_to_target_m < 0.03, "{summary}");
    assert!(
        summary.highest_lift_m > 0.05,
        "carried, not pushed: {summary}"
    );
    let start_to_spot = (summary.cube_start - summary.target).xy().norm();
    assert!(
        start_to_spot > 0.15,
        "the spot is somewhere else than the start"
    );
    assert!(
        summary.max_tracking_error < 0.2,
        "the servos follow: {summary}"
    );
}

#[test]
fn teleop_without_arguments_runs_the_demo_and_reports_success() {
    let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run teleop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("task: SUCCESS"), "{stdout}");
    assert!(stdout.contains("latency: IK p50"), "{stdout}");
}

#[test]
fn demo_refuses_bad_files_with_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[key]]\nt = 0.0\nleft = { position = [0, 1, 0], squeze = 1 }\n",
    )
    .unwrap();
    for args in [
        vec!["demo", "--script", bad.to_str().unwrap()],
        vec!["demo", "--robot", "/nonexistent/robot.toml"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(
            error.contains("squeze") || error.contains("/nonexistent/robot.toml"),
            "{error}"
        );
    }
}
