//! The `teleop` binary as users and scripts drive it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::common::{bundled_humanoid, robots_dir, urdf_in};

fn teleop(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(args)
        .env_remove("ROS_PACKAGE_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("teleop runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("teleop finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn inspect_g1_suggests_both_arm_chains() {
    let dir = robots_dir();
    let urdf = urdf_in(&dir.join("unitree_g1"));
    let out = teleop(&["inspect", urdf.to_str().expect("utf-8 path")], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("torso_link → left_hand_palm_link (7 DoF)"),
        "{text}"
    );
    assert!(
        text.contains("torso_link → right_hand_palm_link (7 DoF)"),
        "{text}"
    );
    assert!(
        text.contains("pelvis → left_ankle_roll_link (6 DoF)"),
        "{text}"
    );

    let out = teleop(
        &["inspect", "--json", urdf.to_str().expect("utf-8 path")],
        "",
    );
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["dof"], 43);
    assert_eq!(
        report["meshes"]["unresolved"].as_array().map(Vec::len),
        Some(0)
    );
    let arm = report["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .find(|c| c["base"] == "torso_link" && c["tip"] == "left_hand_palm_link")
        .expect("left arm chain");
    assert_eq!(arm["joints"][0], "left_shoulder_pitch_joint");
    assert_eq!(arm["joints"][6], "left_wrist_yaw_joint");
}

#[test]
fn inspect_lists_unresolved_meshes_and_ros_package_path_resolves_them() {
    let dir = robots_dir();
    let original = dir.join("panda/original/panda.urdf");
    let original = original.to_str().expect("utf-8 path");
    let out = teleop(&["inspect", "--json", original], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["meshes"]["referenced"], 20);
    assert_eq!(report["meshes"]["resolved"], 0);

    let packages = tempfile::tempdir().expect("tempdir");
    let package = packages
        .path()
        .join("example-robot-data/robots/panda_description");
    std::fs::create_dir_all(&package).expect("mkdir");
    std::os::unix::fs::symlink(dir.join("panda/meshes"), package.join("meshes")).expect("symlink");
    let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["inspect", "--json", original])
        .env(
            "ROS_PACKAGE_PATH",
            format!("/nonexistent:{}", packages.path().display()),
        )
        .output()
        .expect("runs");
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["meshes"]["resolved"], 20, "{}", stdout(&out));
}

#[test]
fn kin_fk_answers_one_line_per_line_in_with_full_precision() {
    let humanoid = bundled_humanoid();
    let urdf = humanoid.to_str().expect("utf-8 path");
    let input = "{\"q\": {}}\n\n{\"q\": {\"left_elbow_joint\": 1.0, \"waist_yaw_joint\": 0.3}}\n";
    let out = teleop(&["kin", "fk", urdf], input);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "blank lines are skipped");
    let root = &lines[0]["links"]["pelvis"];
    assert_eq!(root[0][0], 1.0);
    assert_eq!(root[3], serde_json::json!([0.0, 0.0, 0.0, 1.0]));
    // Bending the elbow moves the hand but not the shoulder.
    let moved = |link: &str| lines[0]["links"][link] != lines[1]["links"][link];
    assert!(moved("left_hand_link"));
    assert!(
        moved("left_shoulder_pitch_link"),
        "waist yaw moves the shoulder"
    );
    assert!(!moved("pelvis"));
}

#[test]
fn kin_fk_matches_the_reference_for_a_real_robot() {
    let dir = robots_dir();
    let folder = dir.join("xarm7");
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("fk_reference.json")).expect("read"),
    )
    .expect("JSON");
    let sample = &reference["samples"][7];
    let q: serde_json::Map<String, Value> = reference["joint_names"]
        .as_array()
        .expect("names")
        .iter()
        .zip(sample["q"].as_array().expect("q"))
        .map(|(n, v)| (n.as_str().expect("name").to_owned(), v.clone()))
        .collect();
    let input = format!("{}\n", serde_json::json!({ "q": q }));
    let out = teleop(
        &["kin", "fk", urdf_in(&folder).to_str().expect("utf-8")],
        &input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    let ours = answer["links"]["link_eef"]
        .as_array()
        .expect("pose")
        .clone();
    let theirs = sample["poses"]["link_eef"]
        .as_array()
        .expect("pose")
        .clone();
    for (a, b) in ours
        .iter()
        .flat_map(|r| r.as_array().expect("row").clone())
        .zip(
            theirs
                .iter()
                .flat_map(|r| r.as_array().expect("row").clone()),
        )
    {
        let (a, b) = (a.as_f64().expect("num"), b.as_f64().expect("num"));
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn bad_input_gets_a_one_line_error_and_a_failing_exit_code() {
    let humanoid = bundled_humanoid();
    let urdf = humanoid.to_str().expect("utf-8 path");
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken_urdf/loop.urdf");
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["kin", "fk", urdf],
            "{\"q\": {\"no_such_joint\": 1}}\n",
            "no_such_joint",
        ),
        (
            vec!["kin", "fk", urdf],
            "{\"q\": {\"left_gripper_finger_mirror_joint\": 0.01}}\n",
            "mimics",
        ),
        (vec!["kin", "fk", urdf], "not json\n", "line 1"),
        (
            vec!["kin", "fk", urdf],
            "{\"q\": {\"left_elbow_joint\": \"x\"}}\n",
            "line 1",
        ),
        (vec!["kin", "fk", "/no/such.urdf"], "", "/no/such.urdf"),
        (vec!["inspect", broken.to_str().expect("utf-8")], "", "loop"),
    ];
    for (args, input, says) in cases {
        let out = teleop(&args, input);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.trim_end().lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(
            err.contains(says),
            "{args:?}: '{err}' should mention {says}"
        );
    }
}

/// The bundled humanoid's left arm, pelvis → left_tcp_link, at `q` (by name): its pose as rows.
fn humanoid_tcp_rows(q: &[(&str, f64)]) -> Vec<Vec<f64>> {
    use teleop_bridge::kinematics::{Chain, pose_to_rows};
    let model = teleop_bridge::model::Model::from_urdf_file(bundled_humanoid()).expect("loads");
    let chain = Chain::new(&model, "pelvis", "left_tcp_link").expect("chain");
    let chain_q: Vec<f64> = chain
        .dofs()
        .iter()
        .map(|&d| {
            let name = &model.joints[d].name;
            q.iter().find(|(n, _)| n == name).map_or(0.0, |(_, v)| *v)
        })
        .collect();
    pose_to_rows(&chain.forward(&chain_q))
        .iter()
        .map(|r| r.to_vec())
        .collect()
}

/// Runs a JSON-lines command that must succeed; its answers, one per output line.
fn json_answers(args: &[&str], lines: &str) -> Vec<Value> {
    let out = teleop(args, lines);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn max_abs_difference(a: &Value, b: &[Vec<f64>]) -> f64 {
    let mut worst: f64 = 0.0;
    for (r, row) in b.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            worst = worst.max((a[r][c].as_f64().expect("number") - v).abs());
        }
    }
    worst
}

#[test]
fn kin_ik_solves_targets_and_its_answers_reach_them_through_kin_fk() {
    let urdf = bundled_humanoid();
    let urdf = urdf.to_str().expect("utf-8 path");
    let reach = [
        ("waist_yaw_joint", 0.2),
        ("left_shoulder_pitch_joint", -0.4),
        ("left_elbow_joint", 1.0),
        ("left_wrist_pitch_joint", 1.4),
    ];
    let target = humanoid_tcp_rows(&reach);
    let lines = format!(
        "{}\n{}\n",
        serde_json::json!({ "target": target }),
        serde_json::json!({ "target": target, "seed": { "left_elbow_joint": 0.5 } })
    );
    let args = [
        "kin",
        "ik",
        urdf,
        "--base",
        "pelvis",
        "--tip",
        "left_tcp_link",
        // Correctness, not speed (benches/ik.rs times it): a loaded machine gets time to finish.
        "--timeout-ms",
        "1000",
    ];
    let answers = json_answers(&args, &lines);
    assert_eq!(answers.len(), 2);
    for answer in &answers {
        assert_eq!(answer["ok"], true, "{answer}");
        assert!(answer["pos_err_m"].as_f64().expect("error") < 1e-4);
        assert!(answer["iterations"].as_u64().expect("iterations") >= 1);
        assert!(answer["micros"].as_f64().expect("micros") > 0.0);
        // The answer, fed to `kin fk`, puts the tip on the target: an independent check.
        let fk = teleop(
            &["kin", "fk", urdf],
            &format!("{}\n", serde_json::json!({ "q": answer["q"] })),
        );
        assert!(fk.status.success(), "{}", stderr(&fk));
        let links: Value = serde_json::from_str(stdout(&fk).trim()).expect("json");
        assert!(max_abs_difference(&links["links"]["left_tcp_link"], &target) < 2e-4);
    }
}

#[test]
fn kin_ik_track_moves_within_the_velocity_limit_per_line() {
    let urdf = bundled_humanoid();
    let urdf = urdf.to_str().expect("utf-8 path");
    let start = [
        ("left_elbow_joint", 1.0),
        ("left_shoulder_pitch_joint", -0.4),
    ];
    let far = [
        ("left_elbow_joint", 2.0),
        ("left_shoulder_pitch_joint", -1.2),
    ];
    let mut lines = serde_json::json!({
        "target": humanoid_tcp_rows(&start),
        "seed": { "left_elbow_joint": 1.0, "left_shoulder_pitch_joint": -0.4 }
    })
    .to_string();
    lines.push('\n');
    for _ in 0..30 {
        lines.push_str(&serde_json::json!({ "target": humanoid_tcp_rows(&far) }).to_string());
        lines.push('\n');
    }
    let args = [
        "kin",
        "ik",
        urdf,
        "--base",
        "pelvis",
        "--tip",
        "left_tcp_link",
        "--mode",
        "track",
        "--rate-hz",
        "100",
    ];
    let answers = json_answers(&args, &lines);
    assert_eq!(answers.len(), 31);
    let model = teleop_bridge::model::Model::from_urdf_file(bundled_humanoid()).expect("loads");
    for pair in answers.windows(2) {
        for (name, value) in pair[1]["q"].as_object().expect("q") {
            let joint = model.joint_id(name).expect("joint");
            let vmax = model.joints[joint].limits.velocity.expect("velocity limit");
            let step = (value.as_f64().expect("number")
                - pair[0]["q"][name].as_f64().expect("number"))
            .abs();
            assert!(
                step <= vmax / 100.0 * (1.0 + 1e-9),
                "{name} moved {step} in one tick"
            );
        }
    }
    // A jump the limits cannot make in one tick: not reached at once, reached in the end.
    assert_eq!(answers[1]["ok"], false);
    let last = answers.last().expect("answers");
    assert_eq!(last["ok"], true, "{last}");
}

#[test]
fn kin_ik_rejects_bad_lines_naming_the_line() {
    let urdf = bundled_humanoid();
    let urdf = urdf.to_str().expect("utf-8 path");
    let args = [
        "kin",
        "ik",
        urdf,
        "--base",
        "pelvis",
        "--tip",
        "left_tcp_link",
    ];
    let good = serde_json::json!({ "target": humanoid_tcp_rows(&[]) }).to_string();
    for (bad, expected) in [
        (
            r#"{"target": [[2,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}"#,
            "line 2: target's rotation is not a rotation",
        ),
        (
            r#"{"target": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,1,1]]}"#,
            "line 2: target's last row",
        ),
        (r#"{"target": [[1,0,0,0]]}"#, "line 2: expected"),
        (
            &format!(
                r#"{{"target": {}, "seed": {{"neck_yaw_joint": 0.1}}}}"#,
                &good[10..good.len() - 1]
            ),
            "seed joint 'neck_yaw_joint' does not move pelvis → left_tcp_link",
        ),
    ] {
        let out = teleop(&args, &format!("{good}\n{bad}\n"));
        assert!(!out.status.success());
        assert_eq!(
            stdout(&out).lines().count(),
            1,
            "the good line is answered first"
        );
        let message = stderr(&out);
        assert!(message.contains(expected), "{message}");
        assert_eq!(message.trim().lines().count(), 1, "{message}");
    }
    let out = teleop(
        &["kin", "ik", urdf, "--base", "pelvis", "--tip", "nope"],
        "",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
}

fn teleop_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(args)
        .env_remove("ROS_PACKAGE_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("teleop runs");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    // Written from a thread: teleop may stop reading (an error) before taking it all.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("teleop finishes");
    let _ = writer.join();
    out
}

fn one_line_error(out: &Output, what: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert!(
        err.starts_with("error: ") && err.trim_end().lines().count() == 1,
        "{what}: {err}"
    );
    assert!(err.len() < 2000, "{what}: {} bytes", err.len());
    err
}

/// `kin` refuses, naming the line: bytes that are not UTF-8, a line longer than 1 MiB, joint
/// values so large a pose overflows (it used to print `null`); and its options have ranges
/// (`--timeout-ms 1e15` on an unreachable target used to run for 31 years).
#[test]
fn kin_refuses_what_it_cannot_answer_naming_the_line() {
    let humanoid = bundled_humanoid();
    let urdf = humanoid.to_str().expect("utf-8 path");
    let good = b"{\"q\": {\"left_elbow_joint\": 1.0}}\n";

    let mut input = good.to_vec();
    input.extend_from_slice(b"{\"q\": {\"left_elbow_joint\": \xff\xfe}}\n");
    let out = teleop_bytes(&["kin", "fk", urdf], &input);
    let err = one_line_error(&out, "not UTF-8");
    assert!(err.contains("stdin line 2: not UTF-8"), "{err}");
    assert_eq!(stdout(&out).lines().count(), 1, "line 1 answered");

    let mut input = good.to_vec();
    input.extend(std::iter::repeat_n(b' ', 3 << 20));
    input.push(b'\n');
    let out = teleop_bytes(&["kin", "fk", urdf], &input);
    let err = one_line_error(&out, "long line");
    assert!(
        err.contains("stdin line 2: longer than 1048576 bytes"),
        "{err}"
    );

    // Two prismatic joints in series at 1e308 each: the tip is at 2e308 = ∞.
    let dir = tempfile::tempdir().expect("tempdir");
    let slides = dir.path().join("slides.urdf");
    std::fs::write(
        &slides,
        r#"<robot name="slides"><link name="a"/><link name="b"/><link name="c"/>
<joint name="s1" type="prismatic"><parent link="a"/><child link="b"/><axis xyz="1 0 0"/>
<limit lower="-1e308" upper="1e308" effort="1" velocity="1"/></joint>
<joint name="s2" type="prismatic"><parent link="b"/><child link="c"/><axis xyz="1 0 0"/>
<limit lower="-1e308" upper="1e308" effort="1" velocity="1"/></joint></robot>"#,
    )
    .unwrap();
    let out = teleop(
        &["kin", "fk", slides.to_str().unwrap()],
        "{\"q\": {\"s1\": 1e308}}\n{\"q\": {\"s1\": 1e308, \"s2\": 1e308}}\n",
    );
    let err = one_line_error(&out, "overflow");
    assert!(
        err.contains("stdin line 2: the pose of link 'c' is not finite"),
        "{err}"
    );
    assert!(!stdout(&out).contains("null"), "{}", stdout(&out));
    // IK over limits of ±1e308 (their span overflows): restarts stay finite.
    let out = teleop(
        &[
            "kin",
            "ik",
            slides.to_str().unwrap(),
            "--base",
            "a",
            "--tip",
            "c",
            "--timeout-ms",
            "2",
        ],
        // Out of reach (the slides move along x only): the solver restarts until its budget.
        "{\"target\": [[1,0,0,0.5],[0,1,0,0.5],[0,0,1,0],[0,0,0,1]]}\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["q"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.as_f64().is_some_and(f64::is_finite)),
        "{answer}"
    );

    let ik = [
        "kin",
        "ik",
        urdf,
        "--base",
        "pelvis",
        "--tip",
        "left_tcp_link",
    ];
    for (option, value, says) in [
        (
            "--timeout-ms",
            "1e15",
            "--timeout-ms must be more than 0 and at most 60000",
        ),
        ("--timeout-ms", "0", "--timeout-ms"),
        ("--rate-hz", "1e9", "--rate-hz must be from 10 to 10000"),
        ("--rate-hz", "1e-9", "--rate-hz"),
    ] {
        let mut args = ik.to_vec();
        args.extend([option, value]);
        let out = teleop(&args, "");
        let err = one_line_error(&out, option);
        assert!(err.contains(says), "{err}");
    }
    // A target a million kilometres away is refused rather than chased.
    let out = teleop(
        &ik,
        "{\"target\": [[1,0,0,1e12],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}\n",
    );
    let err = one_line_error(&out, "far target");
    assert!(err.contains("stdin line 1: target's translation"), "{err}");
}

/// Input nested 20,000 levels deep overflowed the stack in every command that reads a URDF.
#[test]
fn deeply_nested_urdfs_get_a_one_line_error_everywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = dir.path().join("d.urdf");
    std::fs::write(
        &deep,
        format!(
            "<robot name=\"r\"><link name=\"a\">{}{}</link></robot>\n",
            "<x>".repeat(20_000),
            "</x>".repeat(20_000)
        ),
    )
    .unwrap();
    let profile = dir.path().join("deep.toml");
    let bundled = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml"),
    )
    .unwrap();
    std::fs::write(
        &profile,
        bundled.replace("\"../urdf/teleop_humanoid.urdf\"", "\"d.urdf\""),
    )
    .unwrap();
    let profile = profile.to_str().unwrap();
    let deep = deep.to_str().unwrap();
    // The demo says what it runs before it loads the profile: its error line is the last.
    let out = teleop(&["demo", "--robot", profile], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let last = stderr(&out).lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with("error: ") && last.contains("d.urdf:1: <x> is nested 65 elements deep"),
        "{}",
        stderr(&out)
    );
    for args in [
        vec!["inspect", deep],
        vec!["inspect", "--json", deep],
        vec!["kin", "fk", deep],
        vec!["kin", "ik", deep, "--base", "a", "--tip", "a"],
    ] {
        let out = teleop(&args, "");
        let err = one_line_error(&out, &args.join(" "));
        assert!(
            err.contains("d.urdf:1: <x> is nested 65 elements deep"),
            "{err}"
        );
    }
}

/// `inspect`'s output grew with the square of a chain's length (2.5 GB for 50,000 links); now
/// linearly, and the whole command stays quick.
#[test]
fn inspect_output_grows_linearly_with_a_long_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = |links: usize, json: bool| {
        let path = dir.path().join(format!("chain{links}.urdf"));
        let mut text = String::from("<robot name=\"chain\">\n<link name=\"l0\"/>\n");
        for i in 1..links {
            text.push_str(&format!(
                "<link name=\"l{i}\"/><joint name=\"j{i}\" type=\"continuous\"><parent link=\"l{}\"/><child link=\"l{i}\"/><axis xyz=\"0 0 1\"/></joint>\n",
                i - 1
            ));
        }
        text.push_str("</robot>\n");
        std::fs::write(&path, text).unwrap();
        let mut args = vec!["inspect"];
        if json {
            args.push("--json");
        }
        args.push(path.to_str().unwrap());
        let started = std::time::Instant::now();
        let out = teleop(&args, "");
        assert!(out.status.success(), "{}", stderr(&out));
        (out.stdout.len(), started.elapsed())
    };
    for json in [false, true] {
        let (small, _) = size(2_000, json);
        let (large, took) = size(20_000, json);
        assert!(
            (large as f64) < 12.0 * small as f64,
            "json {json}: {small} → {large} bytes for 10× the links"
        );
        assert!(took.as_secs() < 60, "json {json}: {took:?}");
    }
}

/// A reader that goes away (`| head -1`) gets what it read and the command ends quietly; a full
/// stdout (`> /dev/full`) is one `error:` line and exit 1; never a panic.
#[test]
fn a_closed_or_full_stdout_is_no_panic() {
    let teleop = env!("CARGO_BIN_EXE_teleop");
    let urdf = concat!(env!("CARGO_MANIFEST_DIR"), "/urdf/teleop_humanoid.urdf");
    for args in [vec!["inspect", urdf], vec!["inspect", urdf, "--json"]] {
        // The reader closes before the command writes anything.
        let mut child = std::process::Command::new(teleop)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        let full = std::fs::File::create("/dev/full").unwrap();
        let out = std::process::Command::new(teleop)
            .args(&args)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with("error:") && lines[0].contains("No space left"),
            "{stderr}"
        );
    }
}

/// Argument errors: one line, exit 2, pointing at --help (not clap's usage block).
#[test]
fn argument_errors_are_one_line_and_exit_2() {
    for args in [
        &["demo", "--no-such-flag"][..],
        &["replay"][..],
        &["demo", "--frame-size", "12x9"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with("error:") && lines[0].ends_with("(see teleop --help)"),
            "{stderr}"
        );
    }
}

/// An OS error is said once, not once by the message and again by its cause.
#[test]
fn a_missing_file_is_said_once() {
    for args in [
        &["demo", "--robot", "/nonexistent/robot.toml"][..],
        &["inspect", "/nonexistent/robot.urdf"][..],
        &["record", "info", "/nonexistent/episode.mcap"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{args:?}: {stderr}"));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(error.matches("os error 2").count(), 1, "{error}");
        assert!(error.contains("/nonexistent/"), "{error}");
    }
}

/// Without a runtime folder in the environment (ssh, containers), the graphics stack used to
/// print `error: XDG_RUNTIME_DIR is invalid…` twice beside a run that succeeded.
#[test]
fn no_runtime_dir_no_stray_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["demo", "--frame-size", "160x90", "--frames"])
        .arg(dir.path())
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .expect("run teleop");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    assert!(!stderr.lines().any(|l| l.starts_with("error")), "{stderr}");
}
