//! A JSON episode (the format written before episodes became ROS 2 bags: one
//! `episode-NNNN.mcap` with JSON messages and a `.json` sidecar) rewritten as an episode folder
//! of today's format: `episode-NNNN/` with the CDR MCAP, `metadata.yaml` and the sidecar, as the
//! recorder writes them.
//!
//! Every message keeps its log time; each is converted field by field to its channel's ROS 2
//! type. What changes: the side-by-side `/camera/stereo` JPEG is split into one JPEG per eye
//! (`/camera/left/image/compressed`, `/camera/right/image/compressed`), decoded and re-encoded
//! at [`JPEG_QUALITY`]; `/joint_state.state_ns` moves to `/latency` (as the recorder writes it);
//! every header stamp is the message's log time, as the recorder writes it (the standard types,
//! `JointState`, `TFMessage`, `CompressedImage`, carry no other time: their `wall_ns` reads
//! back as the log time). The episode metadata is kept, with
//! `converted_from` and `converted_by` added and the message counts and drops under the new
//! topic names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Error;
use super::episode::{Sink, file_name, per_topic, to_json, write_bag_metadata, write_sidecar};
use super::reader::EpisodeFile;
use super::ros2;
use super::topics::*;
use crate::link::types::{CompressedImage, JointState, TFMessage, Transform, TransformStamped};

/// JPEG quality of the per-eye images cut from a stereo frame (the recorder's default is 85;
/// higher here so that the second encoding loses little more).
pub const JPEG_QUALITY: u8 = 95;

/// What [`convert_json`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The new episode folder and its MCAP file.
    pub folder: PathBuf,
    pub file: PathBuf,
    /// Messages written (a stereo frame counts as two).
    pub messages: u64,
    /// Stereo frames split into two eyes.
    pub images: u64,
}

/// The folder [`convert_json`] writes `old` into by default: beside it, named as its file
/// (`DIR/episode-0003.mcap` → `DIR/episode-0003/`).
pub fn converted_folder(old: &Path) -> PathBuf {
    old.with_extension("")
}

/// Rewrites the JSON episode `old` as an episode folder `folder` (which must not exist; its
/// parent must) holding `<folder name>.mcap`, `metadata.yaml` and `<folder name>.json`. A damaged
/// or cut-off file is refused (`teleop record repair` it first), as is an episode already in
/// CDR. On an error the partly written folder is removed.
pub fn convert_json(old: &Path, folder: &Path) -> Result<Converted, Error> {
    let episode = EpisodeFile::read(old)?;
    if episode.is_cdr() {
        return Err(Error::Invalid {
            path: old.to_path_buf(),
            message: "already a ROS 2 (CDR) episode, nothing to convert".into(),
        });
    }
    if let Some(damage) = &episode.damage {
        return Err(Error::Invalid {
            path: old.to_path_buf(),
            message: format!("{damage}; run `teleop record repair` on it first"),
        });
    }
    std::fs::create_dir(folder).map_err(Error::io(folder))?;
    let result = write_folder(&episode, old, folder);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(folder);
    }
    result
}

fn write_folder(episode: &EpisodeFile, old: &Path, folder: &Path) -> Result<Converted, Error> {
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "episode".into());
    let path = folder.join(&name).with_extension("mcap");
    let invalid = |message: String| Error::Invalid {
        path: old.to_path_buf(),
        message,
    };

    // Channel metadata as the old channels had it (else from the episode metadata).
    let old_channel = |topic: Topic, key: &str| -> Option<String> {
        episode
            .channels
            .values()
            .find(|c| c.topic == topic.name())
            .and_then(|c| c.metadata.get(key).cloned())
    };
    let meta = &episode.metadata;
    let joint_names: Vec<String> = episode.metadata_json("joint_names").unwrap_or_default();
    let joints_text =
        old_channel(Topic::JointState, "joint_names").unwrap_or_else(|| to_json(&joint_names));
    let links_text = old_channel(Topic::Contact, "link_names")
        .or_else(|| meta.get("link_names").cloned())
        .unwrap_or_default();
    let tools: Vec<(String, String, String)> =
        episode.metadata_json("end_effectors").unwrap_or_default();
    let tools_text = old_channel(Topic::Ik, "end_effectors")
        .unwrap_or_else(|| to_json(&tools.iter().map(|t| t.0.as_str()).collect::<Vec<_>>()));
    let fps = meta.get("camera_fps").cloned().unwrap_or_default();
    let base = tools.first().map_or("base", |t| t.1.as_str());

    let mut sink = Sink::create(&path, [&joints_text, &links_text, &tools_text, &fps])?;

    // `/joint_state.state_ns` per tick, for `/latency`.
    let state_ns: BTreeMap<u64, u64> = episode
        .decode::<JointStateMsg>(Topic::JointState)?
        .into_iter()
        .map(|m| (m.mono_ns, m.state_ns))
        .collect();

    let mut new_meta = meta.clone();
    let mut log_minus_mono = None;
    let mut images = 0u64;
    let topic_of: BTreeMap<u16, Topic> = episode
        .channels
        .iter()
        .filter_map(|(id, c)| Some((*id, Topic::from_name(&c.topic)?)))
        .collect();
    let mut index: BTreeMap<Topic, usize> = BTreeMap::new();
    for m in &episode.messages {
        let Some(&topic) = topic_of.get(&m.channel) else {
            continue;
        };
        let next = index.entry(topic).or_default();
        let i = *next;
        *next += 1;
        let decode_error = |error: serde_json::Error| Error::Decode {
            path: old.to_path_buf(),
            topic: topic.name().into(),
            index: i,
            error: error.to_string(),
        };
        let t = m.log_time;
        match topic {
            Topic::Operator => {
                let o: OperatorMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = ros2::OperatorFrame {
                    mono_ns: o.mono_ns,
                    wall_ns: o.wall_ns,
                    frame_time_ns: o.frame_time_ns,
                    head_valid: o.head_valid,
                    head_tracked: o.head.is_some(),
                    head: o.head.as_ref().map(ros2::pose).unwrap_or_default(),
                    left: hand(&o.left),
                    right: hand(&o.right),
                    ..Default::default()
                };
                msg.header.set(t, "stage");
                sink.put(topic, t, &msg)?;
            }
            Topic::Clutch => {
                let c: ClutchMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = ros2::ClutchState {
                    mono_ns: c.mono_ns,
                    wall_ns: c.wall_ns,
                    outcome: c.outcome,
                    end_effectors: c.end_effectors,
                    engaged: c.engaged,
                    base_from_stage: ros2::pose(&c.base_from_stage),
                    ..Default::default()
                };
                msg.header.set(t, base);
                sink.put(topic, t, &msg)?;
            }
            Topic::Ik => {
                let k: IkMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = ros2::IkStep {
                    mono_ns: k.mono_ns,
                    wall_ns: k.wall_ns,
                    ran: k.ran,
                    ok: k.ok,
                    position_error_m: k.position_error_m.unwrap_or(f64::NAN),
                    rotation_error_rad: k.rotation_error_rad.unwrap_or(f64::NAN),
                    iterations: k.iterations,
                    targets: k.targets.iter().map(ros2::pose).collect(),
                    ..Default::default()
                };
                msg.header.set(t, base);
                sink.put(topic, t, &msg)?;
            }
            Topic::JointCommand => {
                let c: JointCommandMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = JointState {
                    name: joint_names.clone(),
                    position: c.position,
                    velocity: c.velocity,
                    ..Default::default()
                };
                msg.header.set(t, "");
                sink.put(topic, t, &msg)?;
            }
            Topic::JointState => {
                let s: JointStateMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = JointState {
                    name: joint_names.clone(),
                    position: s.position,
                    velocity: s.velocity,
                    effort: s.effort,
                    ..Default::default()
                };
                msg.header.set(t, "");
                sink.put(topic, t, &msg)?;
            }
            Topic::Contact => {
                let c: ContactMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = ros2::ContactForces {
                    mono_ns: c.mono_ns,
                    wall_ns: c.wall_ns,
                    force: c.force,
                    ..Default::default()
                };
                msg.header.set(t, "world");
                sink.put(topic, t, &msg)?;
            }
            Topic::Tf => {
                let f: FrameTransformsMsg =
                    serde_json::from_slice(&m.data).map_err(decode_error)?;
                let transforms = f
                    .transforms
                    .into_iter()
                    .map(|x| {
                        let mut out = TransformStamped {
                            child_frame_id: x.child_frame_id,
                            transform: Transform {
                                translation: x.translation,
                                rotation: x.rotation,
                            },
                            ..Default::default()
                        };
                        out.header.set(t, &x.parent_frame_id);
                        out
                    })
                    .collect();
                sink.put(topic, t, &TFMessage { transforms })?;
            }
            Topic::Stereo => {
                let s: CompressedImageMsg =
                    serde_json::from_slice(&m.data).map_err(decode_error)?;
                let eyes = split_stereo(&s.data)
                    .map_err(|e| invalid(format!("message {i} on {}: {e}", topic.name())))?;
                let mut msg = CompressedImage::default();
                for (eye, (jpeg, frame)) in Topic::CAMERAS
                    .into_iter()
                    .zip(eyes.iter().zip(["camera_left", "camera_right"]))
                {
                    msg.set_jpeg(t, frame, jpeg);
                    sink.put(eye, t, &msg)?;
                }
                images += 1;
            }
            Topic::Latency => {
                let l: LatencyMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                log_minus_mono.get_or_insert(i128::from(t) - i128::from(l.mono_ns));
                let mut msg = ros2::TickTiming {
                    mono_ns: l.mono_ns,
                    wall_ns: l.wall_ns,
                    state_ns: state_ns.get(&l.mono_ns).copied().unwrap_or(l.mono_ns),
                    frame_age_ns: l
                        .frame_age_ns
                        .map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX)),
                    retarget_ns: l.retarget_ns,
                    ik_ns: l.ik_ns,
                    safety_ns: l.safety_ns,
                    robot_ns: l.robot_ns,
                    tick_ns: l.tick_ns,
                    ..Default::default()
                };
                msg.header.set(t, "");
                sink.put(topic, t, &msg)?;
            }
            Topic::Annotations => {
                let a: AnnotationMsg = serde_json::from_slice(&m.data).map_err(decode_error)?;
                let mut msg = ros2::Annotation {
                    mono_ns: a.mono_ns,
                    wall_ns: a.wall_ns,
                    label: a.label,
                    outcome: a.outcome.unwrap_or_default(),
                    ..Default::default()
                };
                msg.header.set(t, "");
                sink.put(topic, t, &msg)?;
            }
            // Channels only the CDR format has do not occur in a JSON episode.
            Topic::CameraLeft | Topic::CameraRight => {}
        }
    }

    // The episode metadata under the new topic names.
    let counts = per_topic(|t| sink.counts[t.index()]);
    let old_drops: BTreeMap<String, u64> = episode.metadata_json("drops").unwrap_or_default();
    let drops = per_topic(|t| {
        let was = match t {
            Topic::CameraLeft | Topic::CameraRight => Topic::Stereo,
            t => t,
        };
        old_drops.get(was.name()).copied().unwrap_or(0)
    });
    new_meta.insert("message_counts".into(), to_json(&counts));
    new_meta.insert("drops".into(), to_json(&drops));
    new_meta.insert("converted_from".into(), file_name(old));
    new_meta.insert(
        "converted_by".into(),
        format!("teleop-bridge {}", env!("CARGO_PKG_VERSION")),
    );
    if let Some(offset) = log_minus_mono {
        new_meta
            .entry("log_minus_mono_ns".into())
            .or_insert_with(|| offset.to_string());
    }
    sink.write_metadata(&new_meta)?;
    let span = sink.span;
    sink.finish()?;
    write_sidecar(&path, &new_meta, true)?;
    let start = meta
        .get("start_wall_ns")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (start, end) = span.unwrap_or((start, start));
    write_bag_metadata(
        &path,
        start,
        end,
        |t| counts.get(t.name()).copied().unwrap_or(0),
        &new_meta,
    )?;
    Ok(Converted {
        folder: folder.to_path_buf(),
        file: path,
        messages: counts.values().sum(),
        images,
    })
}

fn hand(h: &HandMsg) -> ros2::Hand {
    let joints = h.joints.as_deref().unwrap_or_default();
    ros2::Hand {
        valid: h.valid,
        grip_tracked: h.grip.is_some(),
        grip: h.grip.as_ref().map(ros2::pose).unwrap_or_default(),
        trigger: h.trigger,
        squeeze: h.squeeze,
        primary: h.primary,
        secondary: h.secondary,
        menu: h.menu,
        joint_tracked: joints.iter().map(Option::is_some).collect(),
        joints: joints
            .iter()
            .map(|j| j.as_ref().map(ros2::pose).unwrap_or_default())
            .collect(),
    }
}

/// A side-by-side stereo JPEG as one JPEG per eye (left half, right half).
fn split_stereo(jpeg: &[u8]) -> Result<[Vec<u8>; 2], String> {
    let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| format!("stereo JPEG: {e}"))?
        .into_rgb8();
    let (width, height) = image.dimensions();
    if width < 2 || width % 2 != 0 {
        return Err(format!(
            "stereo image {width}×{height} is not two eyes side by side"
        ));
    }
    let eye = width / 2;
    let mut out = [Vec::new(), Vec::new()];
    for (k, jpeg) in out.iter_mut().enumerate() {
        let half = image::imageops::crop_imm(&image, k as u32 * eye, 0, eye, height).to_image();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *jpeg, JPEG_QUALITY)
            .encode(&half, eye, height, image::ExtendedColorType::Rgb8)
            .map_err(|e| format!("eye JPEG: {e}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stereo_jpeg_splits_into_its_left_and_right_eye() {
        let (eye, height) = (16, 8);
        let sbs = image::RgbImage::from_fn(2 * eye, height, |x, _| {
            if x < eye {
                image::Rgb([250, 0, 0])
            } else {
                image::Rgb([0, 0, 250])
            }
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode(&sbs, 2 * eye, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        let [left, right] = split_stereo(&jpeg).unwrap();
        for (jpeg, red) in [(left, true), (right, false)] {
            let img = image::load_from_memory(&jpeg).unwrap().into_rgb8();
            assert_eq!(img.dimensions(), (eye, height));
            let p = img.get_pixel(eye / 2, height / 2);
            assert_eq!(p[0] > 200, red, "{p:?}");
            assert_eq!(p[2] > 200, !red, "{p:?}");
        }
        assert!(split_stereo(b"not a jpeg").is_err());
    }
}
