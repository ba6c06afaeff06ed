//! Robot profiles: the bundled one loads and fits its URDF; unknown keys and bad values are
//! refused with a message that names the key.

use std::path::{Path, PathBuf};

use teleop_bridge::config::{Hand, Profile};

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml")
}

/// The bundled profile's text with `from` replaced by `to` (exactly once), checked against the
/// bundled URDF as if it sat beside the bundled profile.
fn edited(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(bundled()).expect("bundled profile");
    assert_eq!(text.matches(from).count(), 1, "{from:?} occurs once");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("edited.toml");
    let text = text.replace(from, to).replace(
        "urdf = \"../urdf/teleop_humanoid.urdf\"",
        &format!(
            "urdf = {:?}",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/teleop_humanoid.urdf")
        ),
    );
    std::fs::write(&path, text).expect("write");
    match Profile::load(&path) {
        Ok(_) => panic!("{from:?} → {to:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bundled_profile_loads_and_fits_its_urdf() {
    let (profile, model) = Profile::load(&bundled()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(profile.end_effectors.len(), 2);
    assert_eq!(profile.end_effectors[0].hand, Hand::Left);
    assert_eq!(profile.end_effectors[1].tip, "right_tcp_link");
    assert_eq!(profile.control_rate_hz, 500.0);
    assert!(
        model
            .link_id(profile.camera.as_ref().unwrap().eye_links()[0])
            .is_some()
    );
    assert_eq!(profile.acceleration_limit("waist_yaw_joint"), 5.0);
    assert_eq!(profile.acceleration_limit("left_elbow_joint"), 20.0);
    assert_eq!(
        profile.joint_settings("waist_pitch_joint").weight,
        Some(4.0)
    );
    assert_eq!(profile.rest["left_elbow_joint"], 1.6);
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let cases = [
        (
            "control_rate_hz = 500",
            "control_rate = 500",
            "control_rate",
        ),
        ("fov_deg = 75", "fov_degrees = 90", "fov_degrees"),
        (
            "motion_scale = 1.0\nworkspace_min = [0.05, -0.4",
            "motion_scal = 1.0\nworkspace_min = [0.05, -0.4",
            "motion_scal",
        ),
        (
            "acceleration = 5\nweight = 4\n\n[joint.waist_pitch_joint]",
            "accel = 5\nweight = 4\n\n[joint.waist_pitch_joint]",
            "accel",
        ),
    ];
    for (from, to, key) in cases {
        let message = edited(from, to);
        assert!(
            message.contains(key) && message.contains("edited.toml"),
            "{message}"
        );
    }
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    let cases = [
        (
            "control_rate_hz = 500",
            "control_rate_hz = -5",
            "control_rate_hz",
        ),
        (
            "control_rate_hz = 500",
            "control_rate_hz = \"fast\"",
            "control_rate_hz",
        ),
        (
            "tip = \"right_tcp_link\"",
            "tip = \"right_tpc_link\"",
            "end_effector[1].tip",
        ),
        (
            "hand = \"right\"\nbase",
            "hand = \"left\"\nbase",
            "end_effector[1].hand",
        ),
        ("hand = \"right\"\nbase", "hand = \"middle\"\nbase", "hand"),
        ("fov_deg = 75", "fov_deg = 200", "camera.fov_deg"),
        (
            "workspace_max = [0.8, 0.7, 0.8]",
            "workspace_max = [0.8, -0.5, 0.8]",
            "end_effector[0].workspace_min",
        ),
        (
            "workspace_max = [0.8, 0.7, 0.8]",
            "workspace_max = [0.8, 0.7]",
            "workspace_max",
        ),
        (
            "motion_scale = 1.0\nworkspace_min = [0.05, -0.7",
            "motion_scale = 0.0\nworkspace_min = [0.05, -0.7",
            "end_effector[1].motion_scale",
        ),
        (
            "motion_scale = 1.0\nworkspace_min = [0.05, -0.7",
            "motion_scale = 1.0\ntool_offset = [0.0, 0.0, 2.5]\nworkspace_min = [0.05, -0.7",
            "end_effector[1].tool_offset",
        ),
        (
            "open = 0.04\nclosed = 0.0\n\n[[gripper]]",
            "open = 0.4\nclosed = 0.0\n\n[[gripper]]",
            "gripper[0].open",
        ),
        (
            "joint = \"right_gripper_finger_joint\"",
            "joint = \"right_gripper_finger_mirror_joint\"",
            "gripper[1].joint",
        ),
        (
            "left_elbow_joint = 1.6",
            "left_elbow_joint = 9.0",
            "rest.left_elbow_joint",
        ),
        (
            "left_elbow_joint = 1.6",
            "left_elbw_joint = 1.6",
            "rest.left_elbw_joint",
        ),
        (
            "[joint.waist_yaw_joint]\nacceleration = 5",
            "[joint.waist_yaw_joint]\nacceleration = 0",
            "joint.waist_yaw_joint.acceleration",
        ),
        (
            "[joint.waist_yaw_joint]\nacceleration = 5",
            "[joint.waist_yaw_joint]\nvelocity = 30",
            "joint.waist_yaw_joint.velocity",
        ),
        (
            "[joint.waist_yaw_joint]",
            "[joint.left_camera_joint]",
            "joint.left_camera_joint",
        ),
        ("tip = \"head_link\"", "tip = \"pelvis\"", "neck"),
        // A virtual pair on one link, or two eye links: never both, never half.
        (
            "fov_deg = 75",
            "fov_deg = 75\nlink = \"head_link\"",
            "camera.link",
        ),
        (
            "right_link = \"right_camera_link\"",
            "",
            "camera.right_link",
        ),
        (
            "fov_deg = 75",
            "fov_deg = 75\nbaseline_m = 0.06",
            "camera.baseline_m",
        ),
        (
            "left_link = \"left_camera_link\"\nright_link = \"right_camera_link\"",
            "link = \"head_link\"\nbaseline_m = 3.0",
            "camera.baseline_m",
        ),
        (
            "left_link = \"left_camera_link\"\nright_link = \"right_camera_link\"",
            "link = \"hed_link\"",
            "camera.link",
        ),
        (
            "fov_deg = 75",
            "fov_deg = 75\npitch_deg = 120",
            "camera.pitch_deg",
        ),
        (
            "fov_deg = 75",
            "fov_deg = 75\noffset_m = [0.1, 0.0, 9.0]",
            "camera.offset_m",
        ),
    ];
    for (from, to, key) in cases {
        let message = edited(from, to);
        assert!(message.contains(key), "{to:?}: {message}");
        assert!(
            !message.contains('\n') || message.contains("edited.toml"),
            "{message}"
        );
    }
}

#[test]
fn missing_files_name_the_path() {
    let message = Profile::load(Path::new("/nonexistent/robot.toml"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("/nonexistent/robot.toml"), "{message}");
    let message = edited(
        "urdf = \"../urdf/teleop_humanoid.urdf\"",
        "urdf = \"missing.urdf\"",
    );
    assert!(message.contains("missing.urdf"), "{message}");
}

/// Numbers the checks used to accept although they hang the control loop (`control_rate_hz =
/// 1e9`, `1e-9`, an acceleration of 1e-300), and arrays and tables whose extras were dropped:
/// each refused naming its key and saying its range.
#[test]
fn values_outside_their_documented_ranges_are_refused_naming_the_key() {
    let cases = [
        (
            "control_rate_hz = 500",
            "control_rate_hz = 1e9",
            "control_rate_hz: must be a number from 10 to 10000",
        ),
        (
            "control_rate_hz = 500",
            "control_rate_hz = 1e308",
            "control_rate_hz",
        ),
        (
            "control_rate_hz = 500",
            "control_rate_hz = 1e-9",
            "control_rate_hz",
        ),
        (
            "default_acceleration = 20",
            "default_acceleration = 1e-300",
            "default_acceleration: must be a number from 0.01 to 10000",
        ),
        (
            "[joint.waist_yaw_joint]\nacceleration = 5",
            "[joint.waist_yaw_joint]\nacceleration = 1e-300",
            "joint.waist_yaw_joint.acceleration",
        ),
        (
            "[joint.waist_yaw_joint]\nacceleration = 5",
            "[joint.waist_yaw_joint]\nacceleration = 1e300",
            "joint.waist_yaw_joint.acceleration",
        ),
        (
            "[joint.waist_yaw_joint]\nacceleration = 5\nweight = 4",
            "[joint.waist_yaw_joint]\nacceleration = 5\nweight = 1e300",
            "joint.waist_yaw_joint.weight",
        ),
        (
            "motion_scale = 1.0\nworkspace_min = [0.05, -0.7",
            "motion_scale = 1e300\nworkspace_min = [0.05, -0.7",
            "end_effector[1].motion_scale",
        ),
        (
            "workspace_max = [0.8, 0.7, 0.8]",
            "workspace_max = [0.8, 0.7, 0.8, 1.0]",
            "workspace_max: expected exactly 3 numbers [x, y, z], got 4",
        ),
        (
            "workspace_min = [0.05, -0.4, -0.3]",
            "workspace_min = [-1e300, -0.4, -0.3]",
            "end_effector[0].workspace_min",
        ),
        (
            "open = 0.04\nclosed = 0.0\n\n[[gripper]]\nhand = \"right\"",
            "open = 0.04\nclosed = 0.0\n\n[[gripper]]\nhand = \"left\"",
            "gripper[1].hand: Left already works gripper[0]",
        ),
    ];
    for (from, to, says) in cases {
        let message = edited(from, to);
        assert!(message.contains(says), "{to:?}: {message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

/// Keys and values echoed in errors have control characters escaped and are cut short: a
/// 10 MB joint name or a newline in a key gives one short line.
#[test]
fn echoed_keys_are_escaped_and_cut_short() {
    let huge = "n".repeat(10 << 20);
    for (to, says) in [
        (
            format!("[joint.{huge}]\nacceleration = 5"),
            format!("joint.{}…: no joint", "n".repeat(200 - "joint.".len())),
        ),
        (
            "[joint.\"a\\nb\\u001b[2J\"]\nacceleration = 5".to_string(),
            "joint.a\\nb\\u{1b}[2J: no joint".to_string(),
        ),
    ] {
        let message = edited("[joint.waist_yaw_joint]\nacceleration = 5", &to);
        assert!(message.len() < 1500, "{} bytes", message.len());
        assert!(
            !message.contains('\n') && !message.contains('\u{1b}'),
            "{message}"
        );
        assert!(message.contains(&says), "{message}");
    }
}

/// `teleop profile check` on a profile file; exit code, stdout, stderr.
fn check(profile: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["profile", "check"])
        .arg(profile)
        .args(extra)
        .output()
        .expect("run teleop");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The bundled profiles pass the integrator's check: every arm rests inside its box, reaches a
/// good part of it, rests away from singularities, and the camera sees both hands.
#[test]
fn profile_check_passes_the_bundled_robots() {
    // (profile, arms); the three arm robots were drafted by `profile new`, then checked by hand.
    for (name, arm_count) in [
        ("teleop_humanoid", 2),
        ("teleop_humanoid_hands", 2),
        ("unitree_g1", 2),
        ("franka_panda", 1),
        ("so101", 1),
        ("pr2", 2),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("profiles/{name}.toml"));
        let (code, stdout, stderr) = check(&path, &["--json"]);
        assert_eq!(code, Some(0), "{name}: {stdout}\n{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
        assert_eq!(
            report["problems"],
            serde_json::json!([]),
            "{name}: {report}"
        );
        let arms = report["arms"].as_array().unwrap();
        assert_eq!(arms.len(), arm_count, "{name}");
        // Links that would collide at rest: PR2's drafted right arm hangs with its upper arm
        // and elbow against the base; the others rest clear.
        let touching = report["touching_at_rest"]
            .as_array()
            .expect("touching_at_rest");
        if name == "pr2" {
            assert!(
                touching.contains(&serde_json::json!(["base_link", "r_upper_arm_link"])),
                "{name}: {touching:?}"
            );
        } else {
            assert!(touching.is_empty(), "{name}: {touching:?}");
        }
        for arm in arms {
            // A drafted profile sets no workspace box, so there is no box to rest in or reach.
            if !arm["reachable_fraction"].is_null() {
                assert_eq!(arm["rest_in_box"], true, "{name}: {arm}");
                let reachable = arm["reachable_fraction"].as_f64().unwrap();
                assert!((0.2..=1.0).contains(&reachable), "{name}: {arm}");
            }
            assert!(
                arm["manipulability_rest"].as_f64().unwrap()
                    > arm["manipulability_median"].as_f64().unwrap(),
                "{name}: a well-conditioned rest posture: {arm}"
            );
            assert_eq!(
                arm["in_view"],
                serde_json::json!([true, true]),
                "{name}: {arm}"
            );
        }
        // The text report says the same.
        let (code, text, _) = check(&path, &[]);
        assert_eq!(code, Some(0));
        assert!(text.contains("ok: the profile can be driven"), "{text}");
        assert!(text.contains("both eyes see the hand at rest"), "{text}");
    }
}

/// A profile whose hand rests outside its workspace box, or with no arm at all, cannot be
/// driven: the report names the problem and the exit status is 1, with one error line.
#[test]
fn profile_check_fails_a_profile_that_cannot_be_driven() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(bundled())
        .unwrap()
        .replace(
            "urdf = \"../urdf/teleop_humanoid.urdf\"",
            &format!(
                "urdf = {:?}",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/teleop_humanoid.urdf")
            ),
        )
        .replacen(
            "workspace_max = [0.8, 0.7, 0.8]",
            "workspace_max = [0.3, 0.7, 0.8]",
            1,
        );
    let boxed = dir.path().join("small_box.toml");
    std::fs::write(&boxed, text).unwrap();
    let (code, stdout, stderr) = check(&boxed, &[]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("left hand: the hand rests at (0.498, 0.292, 0.430) m in pelvis, outside its workspace box"),
        "{stdout}"
    );
    assert!(!stdout.contains("right hand: the hand rests"), "{stdout}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot be driven: 1 problem"),
        "{stderr}"
    );
    let hand_only = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/allegro_right.toml");
    let (code, stdout, _) = check(&hand_only, &[]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("no [[end_effector]]"), "{stdout}");
}

/// `--png` draws the robot from three sides with each hand's reachable volume: three 480 px
/// views, each showing both hands' colours (magenta left, cyan right).
#[test]
fn profile_check_draws_the_reach_of_each_hand_from_three_sides() {
    if let Err(e) = teleop_bridge::render::Gpu::headless() {
        return super::common::skip(
            "the profile picture test",
            &format!("{e} (CI installs lavapipe)"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("g1.png");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/unitree_g1.toml");
    let (code, stdout, stderr) = check(&profile, &["--png", png.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("picture: "), "{stdout}");
    let image = image::open(&png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (1440, 480));
    for view in 0..3 {
        let count = |want: fn([u8; 3]) -> bool| {
            (view * 480..(view + 1) * 480)
                .flat_map(|x| (0..480).map(move |y| (x, y)))
                .filter(|&(x, y)| want(image.get_pixel(x, y).0))
                .count()
        };
        let magenta = count(|[r, g, b]| r > 120 && b > 100 && g < 80);
        let cyan = count(|[r, g, b]| g > 100 && b > 120 && r < 80);
        assert!(
            magenta > 200 && cyan > 200,
            "view {view}: magenta {magenta}, cyan {cyan}"
        );
    }
}

fn teleop(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(args)
        .output()
        .expect("teleop runs")
}

/// The largest commanded-vs-simulated joint difference a demo summary reports.
fn tracking_error(summary: &str) -> f64 {
    let line = summary
        .lines()
        .find(|l| l.starts_with("tracking:"))
        .unwrap_or_else(|| panic!("no tracking line: {summary}"));
    line.split("difference ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// From the URDF alone to a robot the demo drives: `profile new` drafts a profile that
/// `profile check` passes and whose arms the demo's scripted trainer moves, for every bundled
/// robot with an arm (one arm or two, with a gripper, a hand or none).
#[test]
fn profile_new_drafts_a_profile_that_checks_and_drives_every_bundled_arm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // (URDF, arms, gripper drafted, largest tracking error allowed (rad or m), carries the
    // cube). PR2's URDF gives its shoulder 30 N·m, less than its arm's weight needs (the real
    // robot has a spring counterbalance the URDF does not describe): the draft finds that and
    // asks for gravity_compensation, or the shoulder sags 0.59 rad. G1's Dex3 has a thumb: the
    // draft makes it grasp palm down (tool centre between thumb and fingers, palms facing at
    // rest, the palm-down script). An arm that did not move, or a simulation that blew up, is
    // far beyond the tolerances. The bundled humanoids' own URDFs are drafted too: their grasp
    // centre's frame points −Z, into the hand, against ROS's convention, and the three-finger
    // hand's thumb closes across the palm, as a gripper's jaws do.
    let cases = [
        ("assets/robots/panda/panda.urdf", 1, true, 0.25, true),
        ("assets/robots/ur5/ur5_robot.urdf", 1, false, 0.25, false),
        ("assets/robots/xarm7/xarm7.urdf", 1, false, 0.25, false),
        (
            "assets/robots/kinova_j2s6s200/kinova.urdf",
            1,
            false,
            0.25,
            false,
        ),
        ("assets/robots/so101/so101.urdf", 1, true, 0.25, false),
        ("assets/robots/pr2/pr2.urdf", 2, true, 0.25, true),
        (
            "assets/robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf",
            2,
            false,
            0.25,
            true,
        ),
        ("urdf/teleop_humanoid.urdf", 2, true, 0.25, true),
        ("urdf/teleop_humanoid_hands.urdf", 2, false, 0.25, true),
    ];
    for (urdf, arms, gripper, tolerance, carries) in cases {
        let name = Path::new(urdf).file_stem().unwrap().to_str().unwrap();
        let path = dir.path().join(format!("{name}.toml"));
        let out = teleop(&[
            "profile",
            "new",
            root.join(urdf).to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let (profile, _) = Profile::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(profile.end_effectors.len(), arms, "{name}:\n{text}");
        assert_eq!(!profile.grippers.is_empty(), gripper, "{name}:\n{text}");
        assert!(
            profile.end_effectors.iter().any(|e| e.hand == Hand::Left),
            "{name}: the left hand drives an arm (the script's)"
        );
        assert!(!profile.rest.is_empty(), "{name}: a rest posture");
        // Every guess is commented: each key the draft sets follows a comment somewhere above.
        assert!(text.matches("\n# ").count() >= 8, "{name}:\n{text}");
        let (code, stdout, stderr) = check(&path, &["--samples", "3000"]);
        assert_eq!(code, Some(0), "{name}: {stdout}{stderr}");
        // A camera for every robot: its own pair as it is (PR2's looks level, over its hands),
        // else a virtual pair placed to see the hands at rest.
        let camera = profile
            .camera
            .as_ref()
            .unwrap_or_else(|| panic!("{name}:\n{text}"));
        if camera.link.is_some() {
            assert_eq!(
                stdout.matches("both eyes see the hand at rest").count(),
                arms,
                "{name}: {stdout}"
            );
        }
        let out = teleop(&["demo", "--robot", path.to_str().unwrap()]);
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(
            summary.contains("task: "),
            "{name}: the demo ran to its summary: {summary}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let error = tracking_error(&summary);
        assert!(
            error < tolerance,
            "{name}: the simulated arm follows its commands: {summary}"
        );
        assert_eq!(
            profile.gravity_compensation,
            name == "pr2",
            "{name}: gravity compensation only where an effort limit cannot hold the arm:\n{text}"
        );
        if carries {
            // The drafted Panda, PR2, G1 and humanoids pick the cube up and carry it (Panda's
            // lands 2.5 cm from the spot in the release build, PR2's 1.9 cm, G1's 1.7 cm, the
            // humanoids' 1.8 and 0.9 cm in the tests' build; the lift is the robust part to
            // assert).
            let lifted: f64 = summary
                .split("lifted ")
                .nth(1)
                .and_then(|r| r.split(" cm").next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: {summary}"));
            assert!(lifted > 4.0, "{name}: the cube is carried: {summary}");
        }
    }
}

/// A URDF without an arm (a hand alone) is refused in one line that says why.
#[test]
fn profile_new_refuses_a_urdf_without_an_arm() {
    let urdf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/robots/allegro_right/allegro_right_hand.urdf");
    let out = teleop(&["profile", "new", urdf.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no arm found"), "{stderr}");
}

/// `teleop profile new` on the bundled G1 URDF, loaded; with the folder the draft is in, which
/// must outlive the model: its mesh paths go through the draft's folder (the URDF path is
/// written relative to it) and meshes load when first used.
fn drafted_g1() -> (tempfile::TempDir, Profile, teleop_bridge::model::Model) {
    let urdf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/robots/unitree_g1/g1_29dof_with_hand_rev_1_0.urdf");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g1.toml");
    let out = teleop(&[
        "profile",
        "new",
        urdf.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (profile, model) = Profile::load(&path).expect("the draft loads");
    (dir, profile, model)
}

/// A robot whose URDF has no camera link gets its virtual eyes out of its own head: G1's head
/// link sits at its neck, below the face; drafted eyes at that origin showed the inside of the
/// head. Every vertex of the head's mesh in front of the eyes' line of sight is behind them.
#[test]
fn profile_new_puts_virtual_eyes_in_front_of_the_head_mesh() {
    use teleop_bridge::kinematics::{Pose, Tree};
    use teleop_bridge::model::Shape;
    use teleop_bridge::render::StereoRig;
    let (_draft, profile, model) = drafted_g1();
    let camera = profile.camera.as_ref().expect("a drafted camera");
    assert_eq!(camera.link.as_deref(), Some("head_link"));
    let rig = StereoRig::new(&model, camera).expect("rig");
    let mut poses = vec![Pose::identity(); model.links.len()];
    Tree::new(&model).forward(&vec![0.0; model.dof()], &mut poses);
    let head = model.link_id("head_link").unwrap();
    let mut seen = 0;
    for eye in rig.eyes(&poses) {
        // The eye looks down at the hands: test along its own axes.
        let eye_from_head = eye.world_from_camera.inverse() * poses[head];
        for visual in &model.links[head].visuals {
            let Shape::Mesh(mesh) = &visual.shape else {
                continue;
            };
            let mesh = mesh.load().expect("G1's head mesh");
            for p in &mesh.positions {
                let p = eye_from_head
                    * visual.link_from_shape
                    * nalgebra::Point3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
                if p.y.abs() < 0.03 && p.z.abs() < 0.03 {
                    seen += 1;
                    assert!(p.x < 0.0, "a head vertex {:.3} m in front of the eye", p.x);
                }
            }
        }
    }
    assert!(
        seen > 0,
        "the head's mesh lies on the eyes' line, behind them"
    );
}

/// `profile new` drafts a dexterous hand as a `[hands.*]` mapping with a grasp synergy, and on
/// G1's Dex3-1 it finds what was worked out by hand for the bundled profile: the same wrist
/// axes (within 5°), fingertips within 5 mm, the same origin, and a synergy that closes every
/// finger joint the bundled one closes in the same direction.
#[test]
fn profile_new_drafts_g1s_hands_as_the_bundled_profile_maps_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_draft, drafted, _) = drafted_g1();
    let (bundled, _) = Profile::load(&root.join("profiles/unitree_g1.toml")).expect("bundled");
    for (side, d, b) in [
        ("left", &drafted.hands.left, &bundled.hands.left),
        ("right", &drafted.hands.right, &bundled.hands.right),
    ] {
        let (d, b) = (
            d.as_ref().expect("drafted hand"),
            b.as_ref().expect("bundled hand"),
        );
        assert_eq!(d.root, b.root, "{side}");
        let m = |r: &[[f64; 3]; 3]| nalgebra::Matrix3::from_fn(|i, j| r[i][j]);
        let turn = (m(&d.root_from_wrist).transpose() * m(&b.root_from_wrist)).trace();
        let angle = ((turn - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees();
        assert!(angle < 5.0, "{side}: wrist axes {angle:.1}° apart");
        for bt in &b.fingertips {
            let dt = d
                .fingertips
                .iter()
                .find(|t| t.tip.link == bt.tip.link)
                .unwrap_or_else(|| panic!("{side}: a tip on {}", bt.tip.link));
            let gap = (0..3)
                .map(|k| (dt.tip.offset[k] - bt.tip.offset[k]).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(gap < 0.005, "{side} {}: tips {gap:.4} m apart", bt.name);
            assert_eq!(dt.origin, bt.origin, "{side} {}", bt.name);
        }
        for (end, bundled_end, drafted_end) in
            [("closed", &b.closed, &d.closed), ("open", &b.open, &d.open)]
        {
            for (joint, value) in bundled_end {
                let drafted = drafted_end
                    .get(joint)
                    .unwrap_or_else(|| panic!("{side} {end}: {joint}"));
                assert!(
                    drafted * value > 0.0 && (drafted - value).abs() < 0.3,
                    "{side} {end} {joint}: drafted {drafted}, bundled {value}"
                );
            }
        }
    }
    // The palm-down grasp: the grasp centre within 1 cm of the one found by hand, and the
    // palm-down script.
    for (d, b) in drafted.end_effectors.iter().zip(&bundled.end_effectors) {
        let (d_tool, b_tool) = (
            d.tool_offset.expect("drafted"),
            b.tool_offset.expect("bundled"),
        );
        let gap = (0..3)
            .map(|k| (d_tool[k] - b_tool[k]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(gap < 0.01, "{}: tool {d_tool:?} vs {b_tool:?}", d.name);
    }
    let script = drafted.demo_script.expect("a demo script");
    assert!(
        script.ends_with("scripts/pick_cube_palm_down.toml") && script.exists(),
        "{script:?}"
    );
}
