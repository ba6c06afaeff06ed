//! `teleop export --lerobot OUT FILE…`: episodes to a LeRobotDataset v3.0 folder.
//!
//! Each episode is resampled at a fixed rate (zero-order hold: frame `k` at `k / fps` seconds
//! after the episode's first tick takes the newest recorded tick at or before it):
//! `observation.state` = measured joint positions, `action` = joint position command,
//! `observation.images.left` and `observation.images.right` = each eye's newest camera frame
//! (JPEG bytes; `observation.images.stereo`, side by side, for JSON episodes), when every
//! episode has camera frames. No video encoder is used, so images are stored in the data parquet (feature
//! dtype `image`, `video_path` null) and info.json says so (`teleop_image_storage`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::parquet_out::{self, Column};
use super::reader::EpisodeFile;
use super::topics::{CompressedImageMsg, JointCommandMsg, JointStateMsg, Topic};
use super::{Error, episode::write_atomically};

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Frames per second of the dataset (default 30, LeRobot's usual).
    pub fps: f64,
    /// Also export episodes the operator discarded (default: skip them).
    pub include_discarded: bool,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            fps: 30.0,
            include_discarded: false,
            progress: false,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    pub episodes: usize,
    pub frames: usize,
    /// Episodes left out, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// `"image"` (JPEG in the data parquet) or `None` (no camera frames recorded).
    pub images: Option<&'static str>,
}

/// The frame rates an export accepts (frames per second).
pub const FPS_RANGE: (f64, f64) = (1.0, 1_000.0);

/// The most frames one episode may become (at 30 fps: 9¼ hours); an episode whose recorded
/// times span more is refused rather than exported as gigabytes of repeated rows.
pub const MAX_FRAMES_PER_EPISODE: usize = 1_000_000;

const CHUNK: &str = "chunk-000/file-000";
const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
/// The image features, and the channels they come from: per eye, or (JSON episodes) one
/// side-by-side stereo image.
const EYES: [(&str, Topic); 2] = [
    ("observation.images.left", Topic::CameraLeft),
    ("observation.images.right", Topic::CameraRight),
];
const STEREO: [(&str, Topic); 1] = [("observation.images.stereo", Topic::Stereo)];

/// One camera of an episode resampled: its feature, its frames (JPEG), their size.
struct Camera {
    key: &'static str,
    frames: Vec<Vec<u8>>,
    size: (u32, u32),
}

/// One episode resampled.
struct Resampled {
    task: String,
    state: Vec<Vec<f32>>,
    action: Vec<Vec<f32>>,
    /// Empty without camera frames.
    cameras: Vec<Camera>,
}

/// Checks one channel's joint rows before anything is built from them: in time order, one
/// value per joint, every value a finite number that fits an `f32`.
fn check_rows<'a>(
    episode: &EpisodeFile,
    topic: Topic,
    joints: usize,
    rows: impl Iterator<Item = (u64, &'a [f64])>,
) -> Result<(), Error> {
    let mut last = 0;
    for (index, (mono_ns, values)) in rows.enumerate() {
        let refuse = |why: String| Error::Invalid {
            path: episode.path.clone(),
            message: format!("message {index} on {}: {why}", topic.name()),
        };
        if mono_ns < last {
            return Err(refuse(format!(
                "mono_ns {mono_ns} is earlier than the message before ({last}): times out of order"
            )));
        }
        last = mono_ns;
        if values.len() != joints {
            return Err(refuse(format!(
                "{} positions for the {joints} joints in the episode's joint_names",
                values.len()
            )));
        }
        if let Some((j, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || v.abs() > f64::from(f32::MAX))
        {
            return Err(refuse(format!(
                "position {j} is {v:e}, not a finite number a float32 holds"
            )));
        }
    }
    Ok(())
}

fn resample(episode: &EpisodeFile, fps: f64, joints: usize) -> Result<Resampled, Error> {
    let invalid = |message: String| Error::Invalid {
        path: episode.path.clone(),
        message,
    };
    let states: Vec<JointStateMsg> = episode.decode(Topic::JointState)?;
    let commands: Vec<JointCommandMsg> = episode.decode(Topic::JointCommand)?;
    let sources: &[(&'static str, Topic)] = if episode.is_cdr() { &EYES } else { &STEREO };
    let mut cameras = Vec::new();
    for &(key, topic) in sources {
        let mut images: Vec<CompressedImageMsg> = episode.decode(topic)?;
        images.sort_by_key(|m| m.mono_ns);
        cameras.push((key, images));
    }
    if cameras.iter().any(|(_, images)| images.is_empty()) {
        cameras.clear();
    }
    let (Some(first), Some(last)) = (states.first(), states.last()) else {
        return Err(invalid("no joint states recorded".into()));
    };
    if commands.is_empty() {
        return Err(invalid("no joint commands recorded".into()));
    }
    check_rows(
        episode,
        Topic::JointState,
        joints,
        states.iter().map(|m| (m.mono_ns, m.position.as_slice())),
    )?;
    check_rows(
        episode,
        Topic::JointCommand,
        joints,
        commands.iter().map(|m| (m.mono_ns, m.position.as_slice())),
    )?;
    let (t0, t1) = (first.mono_ns, last.mono_ns);
    // In order (checked above), so this does not wrap.
    let span_s = t1.saturating_sub(t0) as f64 / 1e9;
    let frames = (span_s * fps).floor() + 1.0;
    if !frames.is_finite() || frames > MAX_FRAMES_PER_EPISODE as f64 {
        return Err(invalid(format!(
            "/joint_state spans {span_s:.1} s: {frames} frames at {fps} fps, more than the \
             {MAX_FRAMES_PER_EPISODE} an episode may have"
        )));
    }
    let frames = frames as usize;
    let mut out = Resampled {
        task: episode.metadata.get("task").cloned().unwrap_or_default(),
        state: Vec::with_capacity(frames),
        action: Vec::with_capacity(frames),
        cameras: cameras
            .iter()
            .map(|(key, images)| Camera {
                key,
                frames: Vec::with_capacity(frames),
                size: images.first().map_or((0, 0), |m| (m.width, m.height)),
            })
            .collect(),
    };
    let (mut s, mut c) = (0, 0);
    let mut next = vec![0; cameras.len()];
    for k in 0..frames {
        // k / fps ≤ the span (checked), so this stays within t0..=t1 (and saturates if not).
        let t = t0.saturating_add((k as f64 / fps * 1e9).round() as u64);
        while s + 1 < states.len() && states[s + 1].mono_ns <= t {
            s += 1;
        }
        while c + 1 < commands.len() && commands[c + 1].mono_ns <= t {
            c += 1;
        }
        out.state
            .push(states[s].position.iter().map(|&v| v as f32).collect());
        out.action
            .push(commands[c].position.iter().map(|&v| v as f32).collect());
        for ((camera, (_, images)), i) in out.cameras.iter_mut().zip(&cameras).zip(&mut next) {
            while *i + 1 < images.len() && images[*i + 1].mono_ns <= t {
                *i += 1;
            }
            camera.frames.push(images[*i].data.clone());
        }
    }
    Ok(out)
}

/// Per-dimension min, max, mean, std and count of `rows`.
fn stats(rows: &[Vec<f32>]) -> Value {
    let n = rows.first().map_or(0, Vec::len);
    let mut min = vec![f64::INFINITY; n];
    let mut max = vec![f64::NEG_INFINITY; n];
    let mut sum = vec![0.0; n];
    let mut sum_sq = vec![0.0; n];
    for row in rows {
        for (j, &v) in row.iter().enumerate().take(n) {
            let v = f64::from(v);
            min[j] = min[j].min(v);
            max[j] = max[j].max(v);
            sum[j] += v;
            sum_sq[j] += v * v;
        }
    }
    let count = rows.len().max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let std: Vec<f64> = sum_sq
        .iter()
        .zip(&mean)
        .map(|(sq, m)| (sq / count - m * m).max(0.0).sqrt())
        .collect();
    json!({"min": min, "max": max, "mean": mean, "std": std, "count": [rows.len()]})
}

fn scalar_stats(values: impl Iterator<Item = f64> + Clone) -> Value {
    let rows: Vec<Vec<f32>> = values.map(|v| vec![v as f32]).collect();
    stats(&rows)
}

fn stats_columns(prefix: &str, s: &Value) -> Vec<(String, Column)> {
    let list = |k: &str| -> Vec<f64> {
        s[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let count = s["count"][0].as_i64().unwrap_or(0);
    vec![
        (
            format!("stats/{prefix}/min"),
            Column::F64List(vec![list("min")]),
        ),
        (
            format!("stats/{prefix}/max"),
            Column::F64List(vec![list("max")]),
        ),
        (
            format!("stats/{prefix}/mean"),
            Column::F64List(vec![list("mean")]),
        ),
        (
            format!("stats/{prefix}/std"),
            Column::F64List(vec![list("std")]),
        ),
        (
            format!("stats/{prefix}/count"),
            Column::I64List(vec![vec![count]]),
        ),
    ]
}

/// Exports `files` into a new LeRobotDataset v3.0 at `out` (which must not exist, or be empty).
pub fn export(
    out: &Path,
    files: &[PathBuf],
    options: &ExportOptions,
) -> Result<ExportReport, Error> {
    let (lo, hi) = FPS_RANGE;
    if !(options.fps >= lo && options.fps <= hi) {
        return Err(Error::Invalid {
            path: out.to_path_buf(),
            message: format!(
                "fps must be from {lo} to {hi} frames per second, got {}",
                options.fps
            ),
        });
    }
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(Error::io(out))?
            .next()
            .is_some()
    {
        return Err(Error::Invalid {
            path: out.to_path_buf(),
            message: "the output folder exists and is not empty".into(),
        });
    }
    let bar = if options.progress {
        indicatif::ProgressBar::new(files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} episodes")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("reading");
    let mut joint_names: Option<Vec<String>> = None;
    let mut robot_type = String::new();
    let mut episodes = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let episode = EpisodeFile::read(path)?;
        bar.inc(1);
        if episode.outcome() == "discarded" && !options.include_discarded {
            skipped.push((path.clone(), "discarded by the operator".to_string()));
            continue;
        }
        let names: Vec<String> = episode.metadata_json("joint_names")?;
        if names.is_empty() {
            return Err(Error::Invalid {
                path: path.clone(),
                message: "episode metadata joint_names is empty".into(),
            });
        }
        let joints = names.len();
        match &joint_names {
            None => {
                joint_names = Some(names);
                robot_type = episode.metadata.get("robot").cloned().unwrap_or_default();
            }
            Some(n) if *n != names => {
                return Err(Error::Invalid {
                    path: path.clone(),
                    message: "recorded with other joints than the first episode".into(),
                });
            }
            Some(_) => {}
        }
        episodes.push((path.clone(), resample(&episode, options.fps, joints)?));
    }
    bar.finish_and_clear();
    let Some(joint_names) = joint_names else {
        return Err(Error::Invalid {
            path: out.to_path_buf(),
            message: "no episode to export".into(),
        });
    };
    let keys = |e: &Resampled| e.cameras.iter().map(|c| c.key).collect::<Vec<_>>();
    let with_images = !episodes.is_empty()
        && episodes
            .iter()
            .all(|(_, e)| !e.cameras.is_empty() && keys(e) == keys(&episodes[0].1));

    // Tasks in first-seen order.
    let mut tasks: Vec<String> = Vec::new();
    for (_, e) in &episodes {
        if !tasks.contains(&e.task) {
            tasks.push(e.task.clone());
        }
    }

    let mut data = DataColumns::default();
    let mut episode_rows = EpisodeColumns::default();
    for (episode_index, (_, e)) in episodes.iter().enumerate() {
        let from = data.index.len();
        let task_index = tasks.iter().position(|t| *t == e.task).unwrap_or(0) as i64;
        for (k, (state, action)) in e.state.iter().zip(&e.action).enumerate() {
            data.state.push(state.clone());
            data.action.push(action.clone());
            data.timestamp.push((k as f64 / options.fps) as f32);
            data.frame_index.push(k as i64);
            data.episode_index.push(episode_index as i64);
            data.index.push(data.index.len() as i64);
            data.task_index.push(task_index);
            if with_images {
                for (j, camera) in e.cameras.iter().enumerate() {
                    if data.images.len() <= j {
                        data.images.push((camera.key, Vec::new()));
                    }
                    data.images[j].1.push((
                        camera.frames[k].clone(),
                        format!("episode-{episode_index:06}/{}-{k:06}.jpg", camera.key),
                    ));
                }
            }
        }
        let len = e.state.len();
        episode_rows.push(episode_index, &e.task, from, len, e, options.fps);
    }

    let bar = if options.progress {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message("writing");
    let total_frames = data.index.len();
    let n = joint_names.len();
    let mut features = json!({
        "observation.state": {"dtype": "float32", "shape": [n], "names": joint_names},
        "action": {"dtype": "float32", "shape": [n], "names": joint_names},
        "timestamp": {"dtype": "float32", "shape": [1], "names": null},
        "frame_index": {"dtype": "int64", "shape": [1], "names": null},
        "episode_index": {"dtype": "int64", "shape": [1], "names": null},
        "index": {"dtype": "int64", "shape": [1], "names": null},
        "task_index": {"dtype": "int64", "shape": [1], "names": null}
    });
    if with_images {
        for camera in &episodes[0].1.cameras {
            let (w, h) = camera.size;
            features[camera.key] = json!({
                "dtype": "image",
                "shape": [h, w, 3],
                "names": ["height", "width", "channels"]
            });
        }
    }
    let info = json!({
        "codebase_version": "v3.0",
        "robot_type": robot_type,
        "total_episodes": episodes.len(),
        "total_frames": total_frames,
        "total_tasks": tasks.len(),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "fps": options.fps,
        "splits": {"train": format!("0:{}", episodes.len())},
        "data_path": DATA_PATH,
        "video_path": null,
        "features": features,
        "teleop_image_storage": if with_images {
            "image: JPEG bytes in the data parquet (no video encoder used)"
        } else {
            "none: no camera frames recorded"
        },
        "teleop_source_files": episodes.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>()
    });

    let meta = out.join("meta");
    std::fs::create_dir_all(&meta).map_err(Error::io(&meta))?;
    let global_stats = json!({
        "observation.state": stats(&data.state),
        "action": stats(&data.action),
        "timestamp": scalar_stats(data.timestamp.iter().map(|&v| f64::from(v))),
        "frame_index": scalar_stats(data.frame_index.iter().map(|&v| v as f64)),
        "episode_index": scalar_stats(data.episode_index.iter().map(|&v| v as f64)),
        "index": scalar_stats(data.index.iter().map(|&v| v as f64)),
        "task_index": scalar_stats(data.task_index.iter().map(|&v| v as f64))
    });
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    write_atomically(&meta.join("info.json"), &pretty(&info))?;
    write_atomically(&meta.join("stats.json"), &pretty(&global_stats))?;

    parquet_out::write(
        &meta.join("tasks.parquet"),
        &[
            ("task_index", Column::I64((0..tasks.len() as i64).collect())),
            ("task", Column::Str(tasks.clone())),
        ],
        vec![("pandas".into(), pandas_index_metadata())],
    )?;
    bar.tick();

    let episodes_path = meta.join(format!("episodes/{CHUNK}.parquet"));
    parquet_out::write(&episodes_path, &episode_rows.into_columns(), vec![])?;
    bar.tick();

    let mut columns = vec![
        ("observation.state", Column::F32List(data.state)),
        ("action", Column::F32List(data.action)),
        ("timestamp", Column::F32(data.timestamp)),
        ("frame_index", Column::I64(data.frame_index)),
        ("episode_index", Column::I64(data.episode_index)),
        ("index", Column::I64(data.index)),
        ("task_index", Column::I64(data.task_index)),
    ];
    if with_images {
        for (key, images) in data.images {
            columns.push((key, Column::Image(images)));
        }
    }
    parquet_out::write(&out.join(format!("data/{CHUNK}.parquet")), &columns, vec![])?;
    bar.finish_and_clear();
    Ok(ExportReport {
        episodes: episodes.len(),
        frames: total_frames,
        skipped,
        images: with_images.then_some("image"),
    })
}

/// pandas reads `task` back as the table's index, as LeRobot's `load_tasks` expects.
fn pandas_index_metadata() -> String {
    json!({
        "index_columns": ["task"],
        "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode",
            "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                "numpy_type": "int64", "metadata": null},
            {"name": "task", "field_name": "task", "pandas_type": "unicode",
                "numpy_type": "object", "metadata": null}
        ],
        "creator": {"library": "teleop-bridge", "version": env!("CARGO_PKG_VERSION")},
        "pandas_version": "2.2.0"
    })
    .to_string()
}

/// One camera feature's column: (JPEG, file name) per row.
type ImageColumn = (&'static str, Vec<(Vec<u8>, String)>);

#[derive(Default)]
struct DataColumns {
    state: Vec<Vec<f32>>,
    action: Vec<Vec<f32>>,
    timestamp: Vec<f32>,
    frame_index: Vec<i64>,
    episode_index: Vec<i64>,
    index: Vec<i64>,
    task_index: Vec<i64>,
    /// Per camera feature: (JPEG, file name) per row.
    images: Vec<ImageColumn>,
}

#[derive(Default)]
struct EpisodeColumns {
    episode_index: Vec<i64>,
    tasks: Vec<Vec<String>>,
    length: Vec<i64>,
    from: Vec<i64>,
    to: Vec<i64>,
    /// Per feature, per statistic: one row per episode.
    stats: BTreeMap<String, Vec<Value>>,
}

impl EpisodeColumns {
    fn push(&mut self, index: usize, task: &str, from: usize, len: usize, e: &Resampled, fps: f64) {
        self.episode_index.push(index as i64);
        self.tasks.push(vec![task.to_string()]);
        self.length.push(len as i64);
        self.from.push(from as i64);
        self.to.push((from + len) as i64);
        let timestamps = (0..len).map(|k| k as f64 / fps);
        for (feature, s) in [
            ("observation.state", stats(&e.state)),
            ("action", stats(&e.action)),
            ("timestamp", scalar_stats(timestamps)),
            ("frame_index", scalar_stats((0..len).map(|k| k as f64))),
        ] {
            self.stats.entry(feature.to_string()).or_default().push(s);
        }
    }

    fn into_columns(self) -> Vec<(String, Column)> {
        let rows = self.episode_index.len();
        let zeros = || Column::I64(vec![0; rows]);
        let mut columns = vec![
            ("episode_index".to_string(), Column::I64(self.episode_index)),
            ("tasks".to_string(), Column::StrList(self.tasks)),
            ("length".to_string(), Column::I64(self.length)),
            ("data/chunk_index".to_string(), zeros()),
            ("data/file_index".to_string(), zeros()),
            ("dataset_from_index".to_string(), Column::I64(self.from)),
            ("dataset_to_index".to_string(), Column::I64(self.to)),
            ("meta/episodes/chunk_index".to_string(), zeros()),
            ("meta/episodes/file_index".to_string(), zeros()),
        ];
        for (feature, per_episode) in self.stats {
            // Stack each episode's one-row stats columns into one column per statistic.
            let mut stacked: Vec<(String, Column)> = Vec::new();
            for s in &per_episode {
                for (i, (name, column)) in stats_columns(&feature, s).into_iter().enumerate() {
                    if stacked.len() <= i {
                        stacked.push((name, column));
                        continue;
                    }
                    match (&mut stacked[i].1, column) {
                        (Column::F64List(a), Column::F64List(b)) => a.extend(b),
                        (Column::I64List(a), Column::I64List(b)) => a.extend(b),
                        _ => {}
                    }
                }
            }
            columns.extend(stacked);
        }
        columns
    }
}
