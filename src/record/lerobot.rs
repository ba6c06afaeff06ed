//! `teleop export --lerobot OUT FILE…`: episodes to a LeRobotDataset v3.0 folder, laid out as
//! LeRobot itself writes one.
//!
//! Each episode is resampled at a fixed, whole-number rate (zero-order hold: frame `k` at
//! `k / fps` seconds after the episode's first tick takes the newest recorded tick at or before
//! it): `observation.state` = measured joint positions, `action` = joint position command,
//! `observation.ee_pose.left` / `.right` = each arm's tool pose in the robot's root-link frame
//! (FK of the state with the episode's URDF, moved by the profile's `tool_offset`: x, y, z, qx,
//! qy, qz, qw; left out for episodes
//! that do not say which end-effector is which arm), and `observation.images.left` / `.right` =
//! each eye's newest camera frame (`observation.images.stereo`, side by side, for JSON
//! episodes), when every episode has camera frames.
//!
//! Images are stored as LeRobot stores them by default: one MP4 per camera
//! (`videos/{key}/chunk-000/file-000.mp4`, the episodes one after another; feature dtype
//! `video`), encoded by FFmpeg (the `ffmpeg` program) in AV1 (SVT-AV1) where it has it, else
//! H.264 (x264). [`ImageStorage::Parquet`] (or no `ffmpeg` on the PATH: a warning says so)
//! stores the JPEG bytes in the data parquet instead (dtype `image`).
//!
//! Statistics: every feature's, per episode (`stats/…` columns of `meta/episodes`) and for
//! the dataset (`meta/stats.json`), see [`super::stats`]. Parquet files carry the
//! `huggingface` schema metadata and nullable columns, as Hugging Face `datasets` writes them.
//! Nothing in `meta` names a local path. The dataset is built in a hidden folder beside `OUT`
//! and renamed into place when complete: a failed export leaves nothing behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::Error;
use super::ee_pose::{self, EePose};
use super::episode::{file_name, to_json, write_atomically};
use super::parquet_out::{self, Column};
use super::reader::EpisodeFile;
use super::stats::{ImageStats, Stats, sample_indices};
use super::topics::{CompressedImageMsg, JointCommandMsg, JointStateMsg, Topic};
use super::video::{self, Codec, Encoder};

/// Where an export puts camera frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageStorage {
    /// One MP4 per camera (LeRobot's default); the JPEG-in-parquet form where `ffmpeg` is
    /// missing.
    #[default]
    Video,
    /// JPEG bytes in the data parquet (feature dtype `image`).
    Parquet,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Frames per second of the dataset, a whole number (default 30, LeRobot's usual).
    pub fps: f64,
    /// Also export episodes the operator discarded (default: skip them).
    pub include_discarded: bool,
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// Video (default) or JPEG in the parquet.
    pub images: ImageStorage,
    /// The FFmpeg program (default `ffmpeg`, found on the PATH).
    pub ffmpeg: PathBuf,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            fps: 30.0,
            include_discarded: false,
            progress: false,
            images: ImageStorage::Video,
            ffmpeg: PathBuf::from("ffmpeg"),
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
    /// `"video"` (MP4 per camera), `"image"` (JPEG in the data parquet) or `None` (no camera
    /// frames recorded).
    pub images: Option<&'static str>,
    /// The video codec (`"av1"`, `"h264"`) where images are video.
    pub codec: Option<&'static str>,
    /// Whether the `observation.ee_pose.*` features were exported.
    pub ee_pose: bool,
    /// What the export could not do as asked (one line each), e.g. no `ffmpeg` for video.
    pub warnings: Vec<String>,
}

/// The frame rates an export accepts (frames per second).
pub const FPS_RANGE: (f64, f64) = (1.0, 1_000.0);

/// The most frames one episode may become (at 30 fps: 9¼ hours); an episode whose recorded
/// times span more is refused rather than exported as gigabytes of repeated rows.
pub const MAX_FRAMES_PER_EPISODE: usize = 1_000_000;

const CHUNK: &str = "chunk-000/file-000";
const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
const VIDEO_PATH: &str = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4";
/// The image features, and the channels they come from: per eye, or (JSON episodes) one
/// side-by-side stereo image.
const EYES: [(&str, Topic); 2] = [
    ("observation.images.left", Topic::CameraLeft),
    ("observation.images.right", Topic::CameraRight),
];
const STEREO: [(&str, Topic); 1] = [("observation.images.stereo", Topic::Stereo)];

/// One camera of an episode resampled: its feature, its recorded frames (JPEG), which of them
/// each dataset frame shows, their size.
struct Camera {
    key: &'static str,
    images: Vec<Vec<u8>>,
    frame_of: Vec<usize>,
    size: (u32, u32),
}

/// One episode resampled.
struct Resampled {
    task: String,
    state: Vec<Vec<f32>>,
    action: Vec<Vec<f32>>,
    /// Per arm (`left`, `right`): feature key, tool link, pose per frame; empty where unknown.
    ee: Vec<(String, String, Vec<[f32; 7]>)>,
    /// Empty without camera frames.
    cameras: Vec<Camera>,
    urdf_sha256: String,
    robot: String,
    /// The episode's [`LABELS`] metadata, in that order, and its `setup.*` keys as one JSON
    /// object (the demo's seed and cube pose).
    labels: Vec<String>,
    setup: String,
    /// The episode's file or folder name (no path).
    source: String,
}

/// Episode metadata carried into the dataset's episodes table, one column each: who
/// demonstrated, the catalogue's skill and scenario, the outcome.
const LABELS: [&str; 4] = ["operator", "skill", "scenario", "outcome"];

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

fn resample(episode: &EpisodeFile, fps: f64, joint_names: &[String]) -> Result<Resampled, Error> {
    let joints = joint_names.len();
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
    let mut fk = EePose::of(episode, joint_names);
    let meta = |key: &str| episode.metadata.get(key).cloned().unwrap_or_default();
    let mut out = Resampled {
        task: meta("task"),
        state: Vec::with_capacity(frames),
        action: Vec::with_capacity(frames),
        ee: fk.as_ref().map_or_else(Vec::new, |fk| {
            fk.tools
                .iter()
                .map(|(side, link, _, _)| {
                    (
                        format!("observation.ee_pose.{side}"),
                        link.clone(),
                        Vec::with_capacity(frames),
                    )
                })
                .collect()
        }),
        cameras: Vec::new(),
        urdf_sha256: meta("urdf_sha256"),
        robot: meta("robot"),
        labels: LABELS.iter().map(|k| meta(k)).collect(),
        setup: to_json(
            &episode
                .metadata
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("setup.")?, v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        source: file_name(&episode.path),
    };
    let (mut s, mut c) = (0, 0);
    let mut next = vec![0; cameras.len()];
    let mut frame_of = vec![Vec::with_capacity(frames); cameras.len()];
    let mut pose_of: Option<(usize, Vec<[f32; 7]>)> = None;
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
        if let Some(fk) = fk.as_mut() {
            if pose_of.as_ref().is_none_or(|(i, _)| *i != s) {
                pose_of = Some((s, fk.at(&states[s].position)));
            }
            if let Some((_, poses)) = &pose_of {
                for ((_, _, rows), pose) in out.ee.iter_mut().zip(poses) {
                    rows.push(*pose);
                }
            }
        }
        for (((_, images), i), of) in cameras.iter().zip(&mut next).zip(&mut frame_of) {
            while *i + 1 < images.len() && images[*i + 1].mono_ns <= t {
                *i += 1;
            }
            of.push(*i);
        }
    }
    out.cameras = cameras
        .into_iter()
        .zip(frame_of)
        .map(|((key, images), frame_of)| Camera {
            key,
            size: images.first().map_or((0, 0), |m| (m.width, m.height)),
            images: images.into_iter().map(|m| m.data).collect(),
            frame_of,
        })
        .collect();
    Ok(out)
}

/// Exports `files` into a new LeRobotDataset v3.0 at `out` (which must not exist, or be empty).
pub fn export(
    out: &Path,
    files: &[PathBuf],
    options: &ExportOptions,
) -> Result<ExportReport, Error> {
    let invalid = |message: &str| Error::Invalid {
        path: out.to_path_buf(),
        message: message.into(),
    };
    let (lo, hi) = FPS_RANGE;
    if !(options.fps >= lo && options.fps <= hi && options.fps.fract() == 0.0) {
        return Err(invalid(&format!(
            "fps must be from {lo} to {hi} frames per second, a whole number (LeRobot's fps is \
             an integer), got {}",
            options.fps
        )));
    }
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(Error::io(out))?
            .next()
            .is_some()
    {
        return Err(invalid("the output folder exists and is not empty"));
    }
    let bar = progress(
        options.progress,
        files.len() as u64,
        "{msg:>12} [{bar:30}] {pos}/{len} episodes",
        "reading",
    );
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
        match &joint_names {
            None => {
                joint_names = Some(names.clone());
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
        episodes.push(resample(&episode, options.fps, &names)?);
    }
    bar.finish_and_clear();
    let Some(joint_names) = joint_names else {
        return Err(invalid("no episode to export"));
    };
    let Some(name) = out.file_name() else {
        return Err(invalid("not a folder name"));
    };
    // Built beside `out` (same file system), renamed into place when complete.
    let stage = out.with_file_name(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(Error::io(&stage))?;
    }
    std::fs::create_dir_all(&stage).map_err(Error::io(&stage))?;
    let written = write_dataset(
        &stage,
        &episodes,
        &joint_names,
        &robot_type,
        options,
        skipped,
    )
    .and_then(|report| {
        if out.exists() {
            std::fs::remove_dir(out).map_err(Error::io(out))?;
        }
        std::fs::rename(&stage, out).map_err(Error::io(out))?;
        Ok(report)
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&stage);
    }
    written
}

/// A progress bar of `len` steps (hidden unless `show`).
fn progress(show: bool, len: u64, template: &str, message: &'static str) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}

/// What one camera's pass over all episodes found: per episode its image statistics.
type CameraPass = Result<Vec<Stats>, Error>;

/// Decodes one camera's frames (every one with an encoder, else only those the statistics
/// sample) and gathers per-episode image statistics; with an encoder, writes every frame.
fn camera_pass(
    episodes: &[Resampled],
    camera: usize,
    size: (u32, u32),
    mut encoder: Option<Encoder>,
    bar: &ProgressBar,
) -> CameraPass {
    let (w, h) = (size.0 as usize, size.1 as usize);
    let mut stats = Vec::with_capacity(episodes.len());
    for e in episodes {
        let c = &e.cameras[camera];
        let bad = |message: String| Error::Invalid {
            path: PathBuf::from(&e.source),
            message: format!("{}: {message}", c.key),
        };
        if c.size != size {
            return Err(bad(format!(
                "frames of {}x{} where the first episode's are {}x{}",
                c.size.0, c.size.1, size.0, size.1
            )));
        }
        let samples = sample_indices(c.frame_of.len());
        let mut next_sample = 0;
        let mut image = ImageStats::default();
        let mut decoded: Option<(usize, Vec<u8>)> = None;
        for (k, &i) in c.frame_of.iter().enumerate() {
            let sampled = samples.get(next_sample) == Some(&k);
            if encoder.is_none() && !sampled {
                continue;
            }
            if decoded.as_ref().is_none_or(|(d, _)| *d != i) {
                let rgb =
                    image::load_from_memory_with_format(&c.images[i], image::ImageFormat::Jpeg)
                        .map_err(|err| bad(format!("recorded frame {i} is no JPEG image: {err}")))?
                        .to_rgb8();
                if (rgb.width() as usize, rgb.height() as usize) != (w, h) {
                    return Err(bad(format!(
                        "recorded frame {i} is {}x{}, its message says {w}x{h}",
                        rgb.width(),
                        rgb.height()
                    )));
                }
                decoded = Some((i, rgb.into_raw()));
            }
            let Some((_, rgb)) = decoded.as_ref() else {
                continue;
            };
            while samples.get(next_sample) == Some(&k) {
                image.add(rgb, w, h);
                next_sample += 1;
            }
            if let Some(encoder) = encoder.as_mut() {
                encoder.write(rgb)?;
                bar.inc(1);
            }
        }
        stats.push(image.stats());
    }
    if let Some(encoder) = encoder {
        encoder.finish()?;
    }
    Ok(stats)
}

fn write_dataset(
    root: &Path,
    episodes: &[Resampled],
    joint_names: &[String],
    robot_type: &str,
    options: &ExportOptions,
    skipped: Vec<(PathBuf, String)>,
) -> Result<ExportReport, Error> {
    let fps = options.fps as u32;
    let mut warnings = Vec::new();
    let keys = |e: &Resampled| e.cameras.iter().map(|c| c.key).collect::<Vec<_>>();
    let with_images = !episodes.is_empty()
        && episodes
            .iter()
            .all(|e| !e.cameras.is_empty() && keys(e) == keys(&episodes[0]));
    let ee_keys = |e: &Resampled| {
        e.ee.iter()
            .map(|(k, l, _)| (k.clone(), l.clone()))
            .collect::<Vec<_>>()
    };
    let with_ee = episodes
        .iter()
        .all(|e| !e.ee.is_empty() && ee_keys(e) == ee_keys(&episodes[0]));
    let codec: Option<Codec> = match (with_images, options.images) {
        (true, ImageStorage::Video) => match video::find_codec(&options.ffmpeg) {
            Ok(codec) => Some(codec),
            Err(why) => {
                warnings.push(format!(
                    "no video encoder ({why}): images stored as JPEG in the data parquet"
                ));
                None
            }
        },
        _ => None,
    };

    // Tasks in first-seen order.
    let mut tasks: Vec<String> = Vec::new();
    for e in episodes {
        if !tasks.contains(&e.task) {
            tasks.push(e.task.clone());
        }
    }

    // Cameras: per camera one pass over every episode, each on its own thread (FFmpeg encodes
    // on threads of its own).
    let sizes: Vec<(u32, u32)> = if with_images {
        episodes[0].cameras.iter().map(|c| c.size).collect()
    } else {
        Vec::new()
    };
    let frames: usize = episodes.iter().map(|e| e.state.len()).sum();
    let bar = progress(
        options.progress && codec.is_some(),
        (frames * sizes.len()) as u64,
        "{msg:>12} [{bar:30}] {pos}/{len} frames {eta}",
        "encoding",
    );
    let image_stats = std::thread::scope(|scope| {
        let handles: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(j, &size)| {
                let encoder = codec.map(|codec| {
                    let path =
                        root.join(format!("videos/{}/{CHUNK}.mp4", episodes[0].cameras[j].key));
                    Encoder::start(&options.ffmpeg, codec, &path, size, fps)
                });
                let bar = &bar;
                scope.spawn(move || {
                    encoder
                        .transpose()
                        .and_then(|encoder| camera_pass(episodes, j, size, encoder, bar))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Invalid {
                        path: root.to_path_buf(),
                        message: "a camera thread panicked".into(),
                    })
                })
            })
            .collect::<Result<Vec<_>, Error>>()
    });
    bar.finish_and_clear();
    let image_stats: Vec<Vec<Stats>> = image_stats?;

    let mut data = DataColumns::default();
    let mut rows = EpisodeColumns::default();
    let mut per_episode: Vec<BTreeMap<String, Stats>> = Vec::new();
    let seconds = |frames: usize| frames as f64 / f64::from(fps);
    for (episode_index, e) in episodes.iter().enumerate() {
        let from = data.index.len();
        let len = e.state.len();
        let task_index = tasks.iter().position(|t| *t == e.task).unwrap_or(0) as i64;
        for (k, (state, action)) in e.state.iter().zip(&e.action).enumerate() {
            data.state.push(state.clone());
            data.action.push(action.clone());
            data.timestamp.push(seconds(k) as f32);
            data.frame_index.push(k as i64);
            data.episode_index.push(episode_index as i64);
            data.index.push(data.index.len() as i64);
            data.task_index.push(task_index);
            if with_ee {
                for (j, (key, _, poses)) in e.ee.iter().enumerate() {
                    if data.ee.len() <= j {
                        data.ee.push((key.clone(), Vec::new()));
                    }
                    data.ee[j].1.push(poses[k].to_vec());
                }
            }
            if with_images && codec.is_none() {
                for (j, camera) in e.cameras.iter().enumerate() {
                    if data.images.len() <= j {
                        data.images.push((camera.key, Vec::new()));
                    }
                    data.images[j].1.push((
                        camera.images[camera.frame_of[k]].clone(),
                        format!("episode-{episode_index:06}/{}-{k:06}.jpg", camera.key),
                    ));
                }
            }
        }
        let mut stats = BTreeMap::new();
        stats.insert("observation.state".to_string(), Stats::of_rows(&e.state));
        stats.insert("action".to_string(), Stats::of_rows(&e.action));
        if with_ee {
            for (key, _, poses) in &e.ee {
                stats.insert(key.clone(), Stats::of_rows(poses));
            }
        }
        let scalars: [(&str, &dyn Fn(usize) -> f64); 5] = [
            ("timestamp", &|k| f64::from(seconds(k) as f32)),
            ("frame_index", &|k| k as f64),
            ("episode_index", &|_| episode_index as f64),
            ("index", &|k| (from + k) as f64),
            ("task_index", &|_| task_index as f64),
        ];
        for (key, value) in scalars {
            stats.insert(key.into(), Stats::of_scalars((0..len).map(value)));
        }
        if with_images {
            for (j, camera) in e.cameras.iter().enumerate() {
                stats.insert(
                    camera.key.to_string(),
                    image_stats[j][episode_index].clone(),
                );
            }
        }
        rows.episode_index.push(episode_index as i64);
        rows.tasks.push(vec![e.task.clone()]);
        rows.length.push(len as i64);
        rows.from.push(from as i64);
        rows.to.push((from + len) as i64);
        rows.video_from.push(seconds(from));
        rows.video_to.push(seconds(from + len));
        rows.urdf_sha256.push(e.urdf_sha256.clone());
        rows.robot.push(e.robot.clone());
        for (column, value) in rows.labels.iter_mut().zip(&e.labels) {
            column.push(value.clone());
        }
        rows.setup.push(e.setup.clone());
        rows.source.push(e.source.clone());
        per_episode.push(stats);
    }

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
    let mut ee_links = serde_json::Map::new();
    if with_ee {
        for (key, link, _) in &episodes[0].ee {
            features[key.as_str()] =
                json!({"dtype": "float32", "shape": [7], "names": ee_pose::NAMES});
            ee_links.insert(key.clone(), json!(link));
        }
    }
    if with_images {
        for camera in &episodes[0].cameras {
            let (w, h) = camera.size;
            let feature = &mut features[camera.key];
            *feature = json!({
                "dtype": "image",
                "shape": [h, w, 3],
                "names": ["height", "width", "channels"]
            });
            if let Some(codec) = codec {
                feature["dtype"] = json!("video");
                feature["info"] = json!({
                        "video.height": h,
                        "video.width": w,
                        "video.codec": codec.name(),
                        "video.pix_fmt": "yuv420p",
                        "is_depth_map": false,
                        "video.fps": fps,
                        "video.channels": 3,
                        "has_audio": false
                });
            }
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
        "fps": fps,
        "splits": {"train": format!("0:{}", episodes.len())},
        "data_path": DATA_PATH,
        "video_path": if codec.is_some() { json!(VIDEO_PATH) } else { Value::Null },
        "features": features
    });
    // teleop's own notes go beside info.json, not in it: LeRobot warns about fields it does not
    // know and drops them when it rewrites info.json (resume + save_episode).
    let teleop = json!({
        "image_storage": match (with_images, codec) {
            (false, _) => "none: no camera frames recorded".to_string(),
            (true, Some(codec)) => format!(
                "video: one MP4 per camera, {} ({} -pix_fmt yuv420p {}) by FFmpeg",
                codec.name(),
                codec.encoder(),
                codec.options().join(" ")
            ),
            (true, None) => "image: JPEG bytes in the data parquet".to_string(),
        },
        "ee_pose": {
            "frame": "the robot's root link (URDF), from FK of observation.state; each tool is its link's origin moved by the profile's end_effector.tool_offset, where it has one",
            "links": ee_links
        },
        "source_files": episodes.iter().map(|e| e.source.clone()).collect::<Vec<_>>()
    });

    let feature_keys: Vec<String> = per_episode
        .first()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut global_stats = serde_json::Map::new();
    for key in &feature_keys {
        let parts: Vec<&Stats> = per_episode.iter().filter_map(|m| m.get(key)).collect();
        global_stats.insert(key.clone(), Stats::aggregate(&parts).to_json());
    }

    let meta = root.join("meta");
    std::fs::create_dir_all(&meta).map_err(Error::io(&meta))?;
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    write_atomically(&meta.join("info.json"), &pretty(&info))?;
    write_atomically(&meta.join("teleop.json"), &pretty(&teleop))?;
    write_atomically(
        &meta.join("stats.json"),
        &pretty(&Value::Object(global_stats)),
    )?;

    parquet_out::write(
        &meta.join("tasks.parquet"),
        &[
            ("task_index", Column::I64((0..tasks.len() as i64).collect())),
            ("task", Column::Str(tasks.clone())),
        ],
        vec![("pandas".into(), pandas_index_metadata())],
    )?;

    let video_keys: Vec<&str> = match codec {
        Some(_) => episodes[0].cameras.iter().map(|c| c.key).collect(),
        None => Vec::new(),
    };
    let episode_columns = rows.into_columns(&video_keys, &feature_keys, &per_episode);
    let hf = parquet_out::huggingface_metadata(&episode_columns, |_| None);
    parquet_out::write(
        &meta.join(format!("episodes/{CHUNK}.parquet")),
        &episode_columns,
        vec![hf],
    )?;

    let mut columns: Vec<(String, Column)> = vec![
        ("observation.state".into(), Column::F32List(data.state)),
        ("action".into(), Column::F32List(data.action)),
    ];
    for (key, rows) in data.ee {
        columns.push((key, Column::F32List(rows)));
    }
    for (key, images) in data.images {
        columns.push((key.to_string(), Column::Image(images)));
    }
    columns.extend([
        ("timestamp".into(), Column::F32(data.timestamp)),
        ("frame_index".into(), Column::I64(data.frame_index)),
        ("episode_index".into(), Column::I64(data.episode_index)),
        ("index".into(), Column::I64(data.index)),
        ("task_index".into(), Column::I64(data.task_index)),
    ]);
    let hf = parquet_out::huggingface_metadata(&columns, |name| match name {
        "observation.state" | "action" => Some(n),
        _ if name.starts_with("observation.ee_pose.") => Some(7),
        _ => None,
    });
    parquet_out::write(
        &root.join(format!("data/{CHUNK}.parquet")),
        &columns,
        vec![hf],
    )?;
    Ok(ExportReport {
        episodes: episodes.len(),
        frames: total_frames,
        skipped,
        images: match (with_images, codec) {
            (false, _) => None,
            (true, Some(_)) => Some("video"),
            (true, None) => Some("image"),
        },
        codec: codec.map(Codec::name),
        ee_pose: with_ee,
        warnings,
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
    /// Per arm: feature key, pose per row.
    ee: Vec<(String, Vec<Vec<f32>>)>,
    timestamp: Vec<f32>,
    frame_index: Vec<i64>,
    episode_index: Vec<i64>,
    index: Vec<i64>,
    task_index: Vec<i64>,
    /// Per camera feature (JPEG in the parquet only): (JPEG, file name) per row.
    images: Vec<ImageColumn>,
}

#[derive(Default)]
struct EpisodeColumns {
    episode_index: Vec<i64>,
    tasks: Vec<Vec<String>>,
    length: Vec<i64>,
    from: Vec<i64>,
    to: Vec<i64>,
    video_from: Vec<f64>,
    video_to: Vec<f64>,
    urdf_sha256: Vec<String>,
    robot: Vec<String>,
    /// Per [`LABELS`] key, one value per episode.
    labels: [Vec<String>; LABELS.len()],
    setup: Vec<String>,
    source: Vec<String>,
}

impl EpisodeColumns {
    /// LeRobot's columns (in its order), then the stats columns, then teleop's own.
    fn into_columns(
        self,
        video_keys: &[&str],
        feature_keys: &[String],
        stats: &[BTreeMap<String, Stats>],
    ) -> Vec<(String, Column)> {
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
        ];
        for key in video_keys {
            columns.push((format!("videos/{key}/chunk_index"), zeros()));
            columns.push((format!("videos/{key}/file_index"), zeros()));
            columns.push((
                format!("videos/{key}/from_timestamp"),
                Column::F64(self.video_from.clone()),
            ));
            columns.push((
                format!("videos/{key}/to_timestamp"),
                Column::F64(self.video_to.clone()),
            ));
        }
        columns.push(("meta/episodes/chunk_index".to_string(), zeros()));
        columns.push(("meta/episodes/file_index".to_string(), zeros()));
        for key in feature_keys {
            let per: Vec<&Stats> = stats.iter().filter_map(|m| m.get(key)).collect();
            let Some(first) = per.first() else { continue };
            for (i, (stat, _)) in first.values().into_iter().enumerate() {
                let values: Vec<Vec<f64>> = per.iter().map(|s| s.values()[i].1.to_vec()).collect();
                let column = if first.image {
                    Column::F64Channels(values)
                } else {
                    Column::F64List(values)
                };
                columns.push((format!("stats/{key}/{stat}"), column));
                if stat == "std" {
                    columns.push((
                        format!("stats/{key}/count"),
                        Column::I64List(per.iter().map(|s| vec![s.count as i64]).collect()),
                    ));
                }
            }
        }
        columns.push(("urdf_sha256".to_string(), Column::Str(self.urdf_sha256)));
        columns.push(("robot_profile".to_string(), Column::Str(self.robot)));
        for (key, values) in LABELS.iter().zip(self.labels) {
            columns.push((key.to_string(), Column::Str(values)));
        }
        columns.push(("setup".to_string(), Column::Str(self.setup)));
        columns.push(("teleop_source".to_string(), Column::Str(self.source)));
        columns
    }
}
