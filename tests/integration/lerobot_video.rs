//! The LeRobot export as LeRobot writes a dataset: one MP4 per camera (checked with FFmpeg's
//! `ffprobe`), every feature's statistics with the quantiles, the `huggingface` schema
//! metadata and nullable columns (read with `pyarrow`), end-effector poses equal to FK of the
//! exported state, no local paths, a video dataset at most a fifth of the JPEG-in-parquet one,
//! and the fallbacks: no `ffmpeg` (JPEG in the parquet, a warning), a failing `ffmpeg` (an
//! error with its message, nothing left behind) and one without SVT-AV1 (H.264).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use teleop_bridge::config::Profile;
use teleop_bridge::kinematics::{Pose, Tree};
use teleop_bridge::record::{self, ExportOptions, ImageStorage};

use super::record::{CAMERA_EYE, profile, python_has, python_json, recorded_demo};

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lerobot-video-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether FFmpeg's programs are on the PATH. Under CI a missing one is a failure.
fn ffmpeg_present() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|p| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        super::common::skip(
            "a video export test",
            "ffmpeg or ffprobe is missing (.ci/run installs the ffmpeg package)",
        );
    }
    ok
}

/// Bytes of every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            bytes_under(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `ffprobe` of a video's first stream: codec, size, pixel format and decoded frame count.
fn probe(video: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,pix_fmt,nb_read_frames",
            "-of",
            "json",
        ])
        .arg(video)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"][0].clone()
}

const STAT_KEYS: [&str; 10] = [
    "min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99",
];

/// The parquet files' schemas and metadata as pyarrow reads them.
const READ_SCHEMAS: &str = r#"
import json, sys, pathlib
import pyarrow.parquet as pq
root = pathlib.Path(sys.argv[1])
out = {}
for name, rel in (("data", "data/chunk-000/file-000.parquet"),
                  ("episodes", "meta/episodes/chunk-000/file-000.parquet")):
    t = pq.read_table(root / rel)
    meta = t.schema.metadata or {}
    out[name] = {
        "types": {f.name: str(f.type) for f in t.schema},
        "nullable": all(f.nullable for f in t.schema),
        "huggingface": json.loads(meta[b"huggingface"]) if b"huggingface" in meta else None,
        "rows": t.num_rows,
    }
e = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
out["episodes"]["values"] = {k: v for k, v in e.items() if not k.startswith("stats/")}
out["episodes"]["q50_left"] = e.get("stats/observation.images.left/q50")
print(json.dumps(out))
"#;

#[test]
fn the_video_export_is_lerobots_layout_with_every_statistic() {
    if !ffmpeg_present() || !python_has("pyarrow") {
        return;
    }
    let (path, _) = recorded_demo();
    let out = scratch("layout").join("dataset");
    // Two episodes: one MP4 per camera holds both, one after the other.
    let report = record::export_lerobot(
        &out,
        &[path.clone(), path.clone()],
        &ExportOptions::default(),
    )
    .unwrap();
    assert_eq!(report.images, Some("video"));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(report.ee_pose);
    let codec = report.codec.expect("a codec");
    let per_episode = report.frames / 2;
    let info = read_json(&out.join("meta/info.json"));
    assert_eq!(info["fps"].as_u64(), Some(30));
    assert_eq!(
        info["video_path"],
        "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    );
    let (w, h) = CAMERA_EYE;
    for eye in ["left", "right"] {
        let key = format!("observation.images.{eye}");
        let feature = &info["features"][&key];
        assert_eq!(feature["dtype"], "video");
        assert_eq!(feature["shape"], json!([h, w, 3]));
        assert_eq!(feature["names"], json!(["height", "width", "channels"]));
        assert_eq!(
            feature["info"],
            json!({
                "video.height": h, "video.width": w, "video.codec": codec,
                "video.pix_fmt": "yuv420p", "is_depth_map": false, "video.fps": 30,
                "video.channels": 3, "has_audio": false
            })
        );
        let video = out.join(format!("videos/{key}/chunk-000/file-000.mp4"));
        let p = probe(&video);
        assert_eq!(p["codec_name"], codec, "{p}");
        assert_eq!(
            (p["width"].as_u64(), p["height"].as_u64()),
            (Some(u64::from(w)), Some(u64::from(h)))
        );
        assert_eq!(p["pix_fmt"], "yuv420p");
        assert_eq!(
            p["nb_read_frames"]
                .as_str()
                .and_then(|n| n.parse::<usize>().ok()),
            Some(report.frames),
            "one video frame per dataset frame: {p}"
        );
    }
    for side in ["left", "right"] {
        let feature = &info["features"][format!("observation.ee_pose.{side}")];
        assert_eq!(feature["dtype"], "float32");
        assert_eq!(feature["shape"], json!([7]));
        assert_eq!(
            feature["names"],
            json!(["x", "y", "z", "qx", "qy", "qz", "qw"])
        );
    }

    // Every feature's statistics, all ten of them, images per channel in 0..1.
    let stats = read_json(&out.join("meta/stats.json"));
    for (feature, spec) in info["features"].as_object().unwrap() {
        let s = &stats[feature];
        for key in STAT_KEYS {
            assert!(s.get(key).is_some(), "stats.json {feature} has no {key}");
        }
        let n = if spec["dtype"] == "video" {
            3
        } else {
            spec["shape"][0].as_u64().unwrap() as usize
        };
        for key in ["min", "q01", "q10", "q50", "q90", "q99", "max"] {
            assert_eq!(s[key].as_array().unwrap().len(), n, "{feature} {key}");
        }
        let flat = |key: &str| -> Vec<f64> {
            s[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    if spec["dtype"] == "video" {
                        v[0][0].as_f64().unwrap()
                    } else {
                        v.as_f64().unwrap()
                    }
                })
                .collect()
        };
        let order = ["min", "q01", "q10", "q50", "q90", "q99", "max"].map(flat);
        for j in 0..n {
            for pair in order.windows(2) {
                assert!(pair[0][j] <= pair[1][j] + 1e-9, "{feature}[{j}]: {order:?}");
            }
            if spec["dtype"] == "video" {
                assert!((0.0..=1.0).contains(&order[0][j]) && order[6][j] <= 1.0);
            }
        }
        let count = s["count"][0].as_u64().unwrap();
        if spec["dtype"] == "video" {
            // LeRobot's sample: 100 frames of each ~330-frame episode.
            assert_eq!(count, 200, "{feature}");
        } else {
            assert_eq!(count, report.frames as u64, "{feature}");
        }
    }

    let py = python_json(READ_SCHEMAS, &[&out]);
    for table in ["data", "episodes"] {
        assert_eq!(
            py[table]["nullable"], true,
            "{table}: every column nullable"
        );
        let hf = &py[table]["huggingface"]["info"]["features"];
        assert!(hf.is_object(), "{table}: huggingface schema metadata: {py}");
        for column in py[table]["types"].as_object().unwrap().keys() {
            assert!(
                hf.get(column).is_some(),
                "{table}: {column} not in the huggingface features"
            );
        }
    }
    let hf = &py["data"]["huggingface"]["info"]["features"];
    assert_eq!(
        hf["observation.state"]["length"],
        info["features"]["observation.state"]["shape"][0]
    );
    assert_eq!(
        hf["timestamp"],
        json!({"dtype": "float32", "_type": "Value"})
    );
    // Video features live in the MP4s, not the data parquet.
    assert!(py["data"]["types"].get("observation.images.left").is_none());
    assert_eq!(
        py["episodes"]["types"]["stats/observation.images.left/q50"],
        "list<element: list<element: list<element: double>>>"
    );
    let types = py["episodes"]["types"].as_object().unwrap();
    for feature in info["features"].as_object().unwrap().keys() {
        for key in STAT_KEYS {
            assert!(
                types.contains_key(&format!("stats/{feature}/{key}")),
                "meta/episodes has no stats/{feature}/{key}"
            );
        }
    }
    let e = &py["episodes"]["values"];
    let half = per_episode as f64 / 30.0;
    for eye in ["left", "right"] {
        let v = |c: &str| e[format!("videos/observation.images.{eye}/{c}")].clone();
        assert_eq!(v("chunk_index"), json!([0, 0]));
        assert_eq!(v("file_index"), json!([0, 0]));
        assert_eq!(v("from_timestamp"), json!([0.0, half]));
        assert_eq!(v("to_timestamp"), json!([half, 2.0 * half]));
    }
    let (loaded, _) = Profile::load(&profile()).unwrap();
    let urdf = std::fs::read(&loaded.urdf).unwrap();
    let sha = record::sha256_hex(&urdf);
    assert_eq!(e["urdf_sha256"], json!([sha, sha]));
    assert_eq!(e["robot_profile"], json!([loaded.name, loaded.name]));

    // No local path anywhere in meta.
    let folder = path.parent().unwrap().to_string_lossy().into_owned();
    for file in [
        "meta/info.json",
        "meta/stats.json",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/tasks.parquet",
        "data/chunk-000/file-000.parquet",
    ] {
        let bytes = std::fs::read(out.join(file)).unwrap();
        assert!(
            !bytes.windows(folder.len()).any(|w| w == folder.as_bytes()),
            "{file} names the local folder {folder}"
        );
    }
    // Nothing but the dataset is left beside it.
    let beside: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["dataset"], "{beside:?}");
}

#[test]
fn the_video_dataset_is_at_most_a_fifth_of_the_jpeg_in_parquet_one() {
    if !ffmpeg_present() {
        return;
    }
    let (path, _) = recorded_demo();
    let dir = scratch("size");
    let export = |name: &str, images| {
        let out = dir.join(name);
        let report = record::export_lerobot(
            &out,
            std::slice::from_ref(path),
            &ExportOptions {
                images,
                ..ExportOptions::default()
            },
        )
        .unwrap();
        (report, bytes_under(&out))
    };
    let (video, video_bytes) = export("video", ImageStorage::Video);
    let (jpeg, jpeg_bytes) = export("jpeg", ImageStorage::Parquet);
    assert_eq!((video.images, jpeg.images), (Some("video"), Some("image")));
    assert_eq!(video.frames, jpeg.frames);
    eprintln!(
        "video dataset {video_bytes} bytes, JPEG-in-parquet {jpeg_bytes} bytes: {:.3}",
        video_bytes as f64 / jpeg_bytes as f64
    );
    assert!(
        video_bytes * 5 <= jpeg_bytes,
        "video {video_bytes} bytes is more than a fifth of {jpeg_bytes}"
    );
}

/// The data parquet's state and end-effector columns (pyarrow).
/// A JSON array of numbers (a state or pose row read back by Python).
fn floats(row: &Value) -> Vec<f64> {
    row.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

const READ_POSES: &str = r#"
import json, sys, pathlib
import pyarrow.parquet as pq
d = pq.read_table(pathlib.Path(sys.argv[1]) / "data/chunk-000/file-000.parquet").to_pydict()
print(json.dumps({k: d[k] for k in ("observation.state", "observation.ee_pose.left", "observation.ee_pose.right")}))
"#;

#[test]
fn end_effector_poses_are_fk_of_the_exported_state() {
    if !python_has("pyarrow") {
        return;
    }
    let (path, _) = recorded_demo();
    let out = scratch("ee").join("dataset");
    let report = record::export_lerobot(
        &out,
        std::slice::from_ref(path),
        &ExportOptions {
            images: ImageStorage::Parquet,
            ..ExportOptions::default()
        },
    )
    .unwrap();
    assert!(report.ee_pose);
    let info = read_json(&out.join("meta/info.json"));
    // teleop's notes are beside info.json (LeRobot drops fields it does not know from it).
    let teleop = read_json(&out.join("meta/teleop.json"));
    assert!(
        info.as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("teleop"))
    );
    assert_eq!(
        teleop["source_files"].as_array().map(Vec::len),
        Some(report.episodes)
    );
    let (_, model) = Profile::load(&profile()).unwrap();
    let tree = Tree::new(&model);
    let mut poses = vec![Pose::identity(); tree.link_count()];
    let py = python_json(READ_POSES, &[&out]);
    let states = py["observation.state"].as_array().unwrap();
    assert_eq!(states.len(), report.frames);
    let mut moved = 0.0f64;
    for side in ["left", "right"] {
        let key = format!("observation.ee_pose.{side}");
        let link = teleop["ee_pose"]["links"][&key].as_str().unwrap();
        assert_eq!(link, format!("{side}_tcp_link"));
        let id = model.link_id(link).unwrap();
        let rows = py[&key].as_array().unwrap();
        let first = rows[0].clone();
        for (state, row) in states.iter().zip(rows) {
            let q = floats(state);
            tree.forward(&q, &mut poses);
            let pose = &poses[id];
            let v = floats(row);
            let t = pose.translation.vector;
            let p_err = ((v[0] - t.x).powi(2) + (v[1] - t.y).powi(2) + (v[2] - t.z).powi(2)).sqrt();
            assert!(p_err < 1e-5, "{key}: position off by {p_err} m");
            let r = nalgebra::UnitQuaternion::from_quaternion(nalgebra::Quaternion::new(
                v[6], v[3], v[4], v[5],
            ));
            assert!(v[6] >= 0.0, "{key}: qw ≥ 0");
            let angle = r
                .rotation_to(&nalgebra::UnitQuaternion::from_rotation_matrix(
                    &pose.rotation,
                ))
                .angle();
            assert!(angle < 1e-5, "{key}: rotation off by {angle} rad");
            moved = moved.max((v[0] - first[0].as_f64().unwrap()).abs());
        }
    }
    assert!(moved > 0.05, "the demo moves the tools: {moved} m");
}

#[test]
fn without_ffmpeg_images_go_to_the_parquet_with_a_warning() {
    let (path, _) = recorded_demo();
    let out = scratch("no-ffmpeg").join("dataset");
    let report = record::export_lerobot(
        &out,
        std::slice::from_ref(path),
        &ExportOptions {
            ffmpeg: PathBuf::from("/nonexistent/ffmpeg"),
            ..ExportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.images, Some("image"));
    assert_eq!(report.codec, None);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("/nonexistent/ffmpeg"),
        "{:?}",
        report.warnings
    );
    let info = read_json(&out.join("meta/info.json"));
    assert_eq!(
        info["features"]["observation.images.left"]["dtype"],
        "image"
    );
    assert!(info["video_path"].is_null());
}

#[test]
fn a_failing_ffmpeg_is_an_error_with_its_message_and_leaves_nothing() {
    let (path, _) = recorded_demo();
    let dir = scratch("bad-ffmpeg");
    let fake = dir.join("ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         case \"$*\" in *-encoders*) echo ' V..... libsvtav1  SVT-AV1'; exit 0;; esac\n\
         cat > /dev/null\n\
         echo 'Svt[info]: noise' >&2\n\
         echo 'out.mp4: No space left on device' >&2\n\
         exit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join("dataset");
    let error = record::export_lerobot(
        &out,
        std::slice::from_ref(path),
        &ExportOptions {
            ffmpeg: fake.clone(),
            ..ExportOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("ffmpeg failed") && error.contains("No space left on device"),
        "{error}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["ffmpeg"], "nothing but the fake program: {left:?}");
}

#[test]
fn without_svt_av1_the_video_is_h264() {
    if !ffmpeg_present() {
        return;
    }
    let (path, _) = recorded_demo();
    let dir = scratch("h264");
    // FFmpeg as it is, but listing no SVT-AV1 encoder.
    let ffmpeg = dir.join("ffmpeg-without-svtav1");
    std::fs::write(
        &ffmpeg,
        "#!/bin/sh\n\
         case \"$*\" in *-encoders*) ffmpeg -hide_banner -encoders | grep -v libsvtav1; exit 0;; esac\n\
         exec ffmpeg \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ffmpeg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join("dataset");
    let report = record::export_lerobot(
        &out,
        std::slice::from_ref(path),
        &ExportOptions {
            ffmpeg,
            ..ExportOptions::default()
        },
    )
    .unwrap();
    assert_eq!((report.images, report.codec), (Some("video"), Some("h264")));
    let info = read_json(&out.join("meta/info.json"));
    assert_eq!(
        info["features"]["observation.images.right"]["info"]["video.codec"],
        "h264"
    );
    let p = probe(&out.join("videos/observation.images.right/chunk-000/file-000.mp4"));
    assert_eq!(p["codec_name"], "h264");
    assert_eq!(
        p["nb_read_frames"]
            .as_str()
            .and_then(|n| n.parse::<usize>().ok()),
        Some(report.frames)
    );
}

/// G1's tools are its grasp centres (`tool_offset`), the points its IK places: each exported
/// pose is its palm's FK moved by the profile's offset, 9.4 cm from the palm's origin, not the
/// palm itself.
#[test]
fn end_effector_poses_are_the_profiles_tool_centres() {
    if !python_has("pyarrow") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let g1 = root.join("profiles/unitree_g1.toml");
    let dir = scratch("g1-tools");
    let run = teleop_bridge::app::demo::run(
        &g1,
        &root.join("scripts/pick_cube_palm_down.toml"),
        &teleop_bridge::app::demo::Options {
            record: Some(teleop_bridge::app::recording::Recording {
                dir: dir.clone(),
                operator: Some("tester".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let episode = run
        .episode
        .expect("recorded")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("dataset");
    let report = record::export_lerobot(
        &out,
        std::slice::from_ref(&episode.path),
        &ExportOptions::default(),
    )
    .unwrap();
    assert!(report.ee_pose);
    let (profile, model) = Profile::load(&g1).unwrap();
    let tree = Tree::new(&model);
    let mut poses = vec![Pose::identity(); tree.link_count()];
    let py = python_json(READ_POSES, &[&out]);
    let states = py["observation.state"].as_array().unwrap();
    for (side, effector) in ["left", "right"].iter().zip(&profile.end_effectors) {
        let offset = nalgebra::Vector3::from(effector.tool_offset.expect("G1's tool offsets"));
        let palm = model.link_id(&effector.tip).unwrap();
        let rows = py[format!("observation.ee_pose.{side}")]
            .as_array()
            .unwrap();
        for (state, row) in states.iter().zip(rows) {
            let q = floats(state);
            tree.forward(&q, &mut poses);
            let tool = poses[palm] * nalgebra::Point3::from(offset);
            let v = floats(row);
            let off = (nalgebra::Vector3::new(v[0], v[1], v[2]) - tool.coords).norm();
            assert!(off < 1e-5, "{side}: {off} m from the tool centre");
            let from_palm = (tool.coords - poses[palm].translation.vector).norm();
            assert!((from_palm - 0.094).abs() < 1e-3, "{side}: {from_palm}");
        }
    }
}
