//! `teleop export` refuses what it cannot export faithfully, naming the episode file and the
//! message, instead of aborting on an absurd allocation or writing garbage with exit 0: times
//! out of order, frame rates outside 1–1000 fps, joint rows of the wrong width, values that are
//! not finite or do not fit a float32, joint names that do not match the rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use teleop_bridge::record::{self, ExportOptions};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "teleop-export-checks-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// A joint row (`position` on `/joint_state` and `/joint_command`) at a time.
struct Row {
    mono_ns: u64,
    position: Value,
}

fn rows(n: usize, joints: usize) -> Vec<Row> {
    (0..n)
        .map(|k| Row {
            mono_ns: 1_000_000_000 + k as u64 * 2_000_000,
            position: json!(vec![0.1 * k as f64; joints]),
        })
        .collect()
}

/// Writes an episode with `joint_names` and the given rows on both joint channels.
fn episode(path: &Path, joint_names: &Value, states: &[Row], commands: &[Row]) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = mcap::WriteOptions::new()
        .create(std::io::BufWriter::new(file))
        .unwrap();
    let schema = w.add_schema("s", "jsonschema", b"{}").unwrap();
    let state = w
        .add_channel(schema, "/joint_state", "json", &BTreeMap::new())
        .unwrap();
    let command = w
        .add_channel(schema, "/joint_command", "json", &BTreeMap::new())
        .unwrap();
    let mut metadata = BTreeMap::new();
    metadata.insert("joint_names".to_string(), joint_names.to_string());
    metadata.insert("outcome".to_string(), "success".to_string());
    metadata.insert("task".to_string(), "test".to_string());
    metadata.insert("robot".to_string(), "test".to_string());
    w.write_metadata(&mcap::records::Metadata {
        name: "episode".into(),
        metadata,
    })
    .unwrap();
    for (channel, rows, is_state) in [(state, states, true), (command, commands, false)] {
        for (k, row) in rows.iter().enumerate() {
            let mut msg = json!({
                "mono_ns": row.mono_ns,
                "wall_ns": row.mono_ns,
                "position": row.position,
                "velocity": [],
            });
            if is_state {
                msg["state_ns"] = json!(row.mono_ns);
                msg["effort"] = json!([]);
            }
            let header = mcap::records::MessageHeader {
                channel_id: channel,
                sequence: k as u32,
                log_time: row.mono_ns,
                publish_time: row.mono_ns,
            };
            w.write_to_known_channel(&header, msg.to_string().as_bytes())
                .unwrap();
        }
    }
    w.finish().unwrap();
}

fn names(n: usize) -> Value {
    json!((0..n).map(|i| format!("j{i}")).collect::<Vec<_>>())
}

fn export(dir: &Path, file: &Path, fps: f64) -> Result<record::ExportReport, String> {
    record::export_lerobot(
        &dir.join("out"),
        &[file.to_path_buf()],
        &ExportOptions {
            fps,
            ..ExportOptions::default()
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_good_episode_exports() {
    let dir = scratch("good");
    let file = dir.join("episode-0000.mcap");
    episode(&file, &names(20), &rows(100, 20), &rows(100, 20));
    let report = export(&dir, &file, 30.0).unwrap();
    assert_eq!(report.episodes, 1);
    // 99 ticks of 2 ms: 0.198 s at 30 fps.
    assert_eq!(report.frames, 6);
}

#[test]
fn bad_rows_are_refused_naming_the_file_and_the_message() {
    let cases: Vec<(&str, Value, Vec<Row>, &str)> = vec![
        (
            "times out of order",
            names(20),
            {
                let mut r = rows(10, 20);
                r[5].mono_ns = 10;
                r
            },
            "message 5 on /joint_state: mono_ns 10 is earlier",
        ),
        (
            "3 of 20 values",
            names(20),
            {
                let mut r = rows(10, 20);
                r[4].position = json!([1.0, 2.0, 3.0]);
                r
            },
            "message 4 on /joint_state: 3 positions for the 20 joints",
        ),
        (
            "no values",
            names(20),
            {
                let mut r = rows(10, 20);
                r[0].position = json!([]);
                r
            },
            "message 0 on /joint_state: 0 positions",
        ),
        (
            "a million values",
            names(20),
            {
                let mut r = rows(3, 20);
                r[2].position = json!(vec![0.5; 1_000_000]);
                r
            },
            "1000000 positions",
        ),
        (
            "null",
            names(20),
            {
                let mut r = rows(10, 20);
                r[7].position = Value::Null;
                r
            },
            "message 7 on /joint_state",
        ),
        (
            "a null value",
            names(20),
            {
                let mut r = rows(10, 20);
                r[7].position[3] = Value::Null;
                r
            },
            "message 7 on /joint_state",
        ),
        (
            "1e308",
            names(20),
            {
                let mut r = rows(10, 20);
                r[2].position[19] = json!(1e308);
                r
            },
            "position 19 is 1e308",
        ),
        (
            "1 joint name for 20 columns",
            names(1),
            rows(10, 20),
            "20 positions for the 1 joints",
        ),
        (
            "no joint names",
            json!([]),
            rows(10, 20),
            "joint_names is empty",
        ),
        (
            "times spanning centuries",
            names(20),
            {
                let mut r = rows(3, 20);
                r[2].mono_ns = u64::MAX / 2;
                r
            },
            "more than the 1000000",
        ),
    ];
    for (what, joint_names, states, says) in cases {
        let dir = scratch("rows");
        let file = dir.join("episode-0007.mcap");
        episode(&file, &joint_names, &states, &rows(10, 20));
        let error = export(&dir, &file, 30.0).expect_err(what);
        assert!(error.contains("episode-0007.mcap"), "{what}: {error}");
        assert!(error.contains(says), "{what}: {error}");
        assert!(!error.contains('\n'), "{what}: {error}");
        assert!(!dir.join("out/data").exists(), "{what}: nothing written");
    }
    // The commands are checked as well as the states.
    let dir = scratch("commands");
    let file = dir.join("episode-0001.mcap");
    let mut commands = rows(10, 20);
    commands[9].position[0] = json!(-1e39);
    episode(&file, &names(20), &rows(10, 20), &commands);
    let error = export(&dir, &file, 30.0).unwrap_err();
    assert!(error.contains("message 9 on /joint_command"), "{error}");
}

#[test]
fn frame_rates_outside_1_to_1000_are_refused() {
    let dir = scratch("fps");
    let file = dir.join("episode-0000.mcap");
    episode(&file, &names(20), &rows(10, 20), &rows(10, 20));
    for fps in [
        1e12,
        1e300,
        1000.5,
        0.5,
        0.0,
        -30.0,
        f64::NAN,
        f64::INFINITY,
    ] {
        let error = export(&dir, &file, fps).expect_err("refused");
        assert!(
            error.contains("fps must be from 1 to 1000"),
            "{fps}: {error}"
        );
    }
    export(&dir, &file, 1000.0).unwrap();
}

#[test]
fn the_command_line_says_so_in_one_line_and_exits_1() {
    let dir = scratch("cli");
    let file = dir.join("episode-0000.mcap");
    episode(&file, &names(20), &rows(10, 20), &rows(10, 20));
    for fps in ["1e12", "1e300"] {
        let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
            .args(["export", "--fps", fps, "--lerobot"])
            .arg(dir.join(format!("out-{fps}")))
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{fps}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("fps"), "{stderr}");
    }
}
