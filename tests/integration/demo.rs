//! The demo: with no robot, headset, GPU or display, the scripted trainer makes the simulated
//! humanoid pick up the cube and put it within 3 cm of the marked spot — carried by the fingers'
//! grip (it rises on the way), not pushed or teleported.

use std::path::Path;
use std::process::Command;

use teleop_bridge::app::{View, demo};

/// One run checks the task and the PNG frames of the robot's view written along the way.
#[test]
fn the_humanoid_carries_the_cube_to_its_spot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let frames = tempfile::tempdir().unwrap();
    let options = demo::Options {
        view: View {
            png_dir: Some(frames.path().to_owned()),
            png_every: 30,
            eye_size: Some((320, 180)),
            window: false,
        },
        ..demo::Options::default()
    };
    let summary = demo::run(
        &root.join("profiles/teleop_humanoid.toml"),
        &root.join("scripts/pick_cube.toml"),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .summary;
    check_frames(frames.path(), &summary);
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

/// The humanoid with three-finger hands picks the cube both ways a trainer drives a hand: tracked
/// fingers (the script's hand closes; the retargeter curls index and middle and its pinch term
/// brings the thumb onto them) and a controller (the trigger closes them along the grasp
/// synergy). The fingers carry the cube: it rises and they press on it.
#[test]
fn the_humanoid_with_hands_picks_the_cube_with_tracked_fingers_and_with_a_controller() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for script in ["scripts/pick_cube_hands.toml", "scripts/pick_cube.toml"] {
        let summary = demo::run(
            &root.join("profiles/teleop_humanoid_hands.toml"),
            &root.join(script),
            &demo::Options::default(),
        )
        .unwrap_or_else(|e| panic!("{script}: {e}"))
        .summary;
        assert!(summary.success, "{script}: {summary}");
        assert!(summary.highest_lift_m > 0.05, "{script}: {summary}");
        let grip = summary
            .grip_force_n
            .expect("the simulator reports contact forces");
        assert!(grip > 5.0, "{script}: {summary}");
    }
}

/// Unitree G1 with its bundled profile picks and places the cube with its Dex3 hand: `teleop demo
/// --robot` alone takes the profile's palm-down script, the trigger closes the fingers along the
/// grasp synergy, and the fingers' contact forces are what lift the cube.
#[test]
fn the_g1_picks_the_cube_with_its_dex3_hand_from_its_profile_alone() {
    let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["demo", "--robot", "profiles/unitree_g1.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run teleop");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("pick_cube_palm_down.toml"), "{stderr}");
    assert!(stdout.contains("task: SUCCESS"), "{stdout}");
    let number_after = |text: &str| -> f64 {
        let at = stdout
            .find(text)
            .unwrap_or_else(|| panic!("{text}: {stdout}"))
            + text.len();
        stdout[at..].split(' ').next().unwrap().parse().unwrap()
    };
    assert!(number_after("lifted ") > 2.0, "{stdout}");
    assert!(number_after("gripped with up to ") > 5.0, "{stdout}");
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
fn flags_a_source_cannot_honour_are_refused_in_one_line() {
    for (args, says) in [
        (
            &[
                "demo",
                "--input",
                "xr",
                "--script",
                "scripts/pick_cube.toml",
            ][..],
            "--input xr",
        ),
        (&["demo", "--input", "xr", "--window"][..], "--window"),
        (&["demo", "--seconds", "3"][..], "--input xr only"),
        (&["run", "--headless"][..], "--input xr only"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(errors[0].contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
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

/// 30 Hz views, every 30th written: one PNG per simulated second, side by side, 2 × 320 × 180.
/// The first shows the cube (red) in both eyes.
fn check_frames(dir: &Path, summary: &demo::Summary) {
    let view = summary.view.as_deref().unwrap_or("");
    if view.starts_with("not rendered") {
        super::common::skip("the demo's PNG checks", view);
        return;
    }
    let mut pngs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pngs.sort();
    let expected = (summary.simulated_s * 30.0 / 30.0).ceil() as usize;
    assert!(
        pngs.len().abs_diff(expected) <= 1,
        "{} PNGs for {:.1} s ({view})",
        pngs.len(),
        summary.simulated_s
    );
    assert!(
        view.contains(&format!("{} stereo PNGs", pngs.len())),
        "{view}"
    );
    // Once the trainer looks down at the table (after the first second) the cube is in view.
    let mut with_cube = 0;
    for png in &pngs {
        let image = image::open(png).expect("a PNG").to_rgba8();
        assert_eq!(image.dimensions(), (640, 180), "{}", png.display());
        let red = |x0: u32| {
            (0..180)
                .flat_map(|y| (x0..x0 + 320).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let [r, g, b, _] = image.get_pixel(x, y).0.map(i32::from);
                    r > 80 && r > 2 * g && r > 2 * b
                })
                .count()
        };
        if red(0) > 5 && red(320) > 5 {
            with_cube += 1;
        }
    }
    assert!(
        with_cube * 2 >= pngs.len(),
        "the cube shows in both eyes in only {with_cube} of {} frames",
        pngs.len()
    );
}

/// Real time: the control thread at 500 Hz, the simulator on its own thread at its 1 kHz step
/// (they only exchange the newest command and state): the same task, done.
#[test]
fn the_real_time_demo_runs_physics_on_its_own_thread_and_does_the_task() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = demo::run(
        &root.join("profiles/teleop_humanoid.toml"),
        &root.join("scripts/pick_cube.toml"),
        &demo::Options {
            realtime: true,
            ..demo::Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let summary = run.summary;
    assert!(summary.success, "{summary}");
    assert!(summary.highest_lift_m > 0.05, "{summary}");
    // It ran in real time (the session's clock is the wall clock) for the script's length.
    assert!(
        (summary.simulated_s - summary.wall_s).abs() < 0.5 && summary.simulated_s > 10.0,
        "{summary}"
    );
    assert!(summary.deadline_misses.is_some() && summary.start_late.is_some());
}
