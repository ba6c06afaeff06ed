//! One episode file being written: MCAP with zstd chunks, a chunk ended (and the file synced)
//! on every [`EpisodeWriter::flush`], episode metadata at the start and again at the end, and a
//! JSON sidecar beside it replaced atomically (temp file + rename) at both moments.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcap::records::{MessageHeader, Metadata};
use mcap::{Compression, WriteOptions, Writer};
use serde::Serialize;

use super::Error;
use super::robot_info::RobotInfo;
use super::topics::*;
use crate::msg::TickSample;

/// How an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// The operator threw it away: kept on disk, skipped by the export.
    Discarded,
    /// Stopped without a verdict.
    Unlabelled,
    /// Cut off (the recorder stopped on an error, or a crash found by repair).
    Interrupted,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Discarded => "discarded",
            Outcome::Unlabelled => "unlabelled",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// A JPEG-encoded camera frame on its way to the file.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    pub time_ns: u64,
    pub wall_ns: u64,
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// What an episode file holds, once closed.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeReport {
    pub path: PathBuf,
    pub outcome: Outcome,
    /// Messages per topic.
    pub counts: BTreeMap<String, u64>,
    /// Messages the control side could not queue, per topic (queue full).
    pub drops: BTreeMap<String, u64>,
    pub bytes: u64,
    pub duration_s: f64,
}

/// The file handle shared by the MCAP writer and the periodic `sync_data`.
struct SharedFile(Arc<File>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        (&*self.0).seek(pos)
    }
}

/// The MCAP side: channels, sequence numbers, counts, one reusable serialisation buffer.
struct Sink {
    path: PathBuf,
    mcap: Writer<BufWriter<SharedFile>>,
    channels: [u16; Topic::ALL.len()],
    sequence: [u32; Topic::ALL.len()],
    counts: [u64; Topic::ALL.len()],
    buf: Vec<u8>,
}

impl Sink {
    fn put<T: Serialize>(&mut self, topic: Topic, log_time: u64, msg: &T) -> Result<(), Error> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, msg).map_err(|e| Error::Invalid {
            path: self.path.clone(),
            message: format!("{}: {e}", topic.name()),
        })?;
        let i = topic.index();
        let header = MessageHeader {
            channel_id: self.channels[i],
            sequence: self.sequence[i],
            log_time,
            publish_time: log_time,
        };
        self.mcap
            .write_to_known_channel(&header, &self.buf)
            .map_err(Error::mcap(&self.path))?;
        self.sequence[i] = self.sequence[i].wrapping_add(1);
        self.counts[i] += 1;
        Ok(())
    }
}

/// Messages reused from tick to tick so the recorder thread does not allocate per message.
#[derive(Default)]
struct Scratch {
    operator: OperatorMsg,
    clutch: ClutchMsg,
    ik: IkMsg,
    command: JointCommandMsg,
    state: JointStateMsg,
    contact: ContactMsg,
    tf: FrameTransformsMsg,
    latency: LatencyMsg,
}

/// An open episode file.
pub struct EpisodeWriter {
    sink: Sink,
    scratch: Scratch,
    file: Arc<File>,
    sidecar: PathBuf,
    meta: BTreeMap<String, String>,
    info: Arc<RobotInfo>,
    /// (monotonic, wall) ns of the first timed message: log times are the wall clock at that
    /// moment plus monotonic time since, so they never jump with the wall clock.
    anchor: Option<(u64, u64)>,
    last_operator_ns: Option<u64>,
    last_clutch: Option<(crate::msg::TickOutcome, Vec<bool>)>,
    started_wall_ns: u64,
}

fn hand_msg(out: &mut HandMsg, hand: &crate::msg::HandInput) {
    out.valid = hand.finite_grip().is_some();
    out.grip = hand.grip.as_ref().map(PoseMsg::from_isometry);
    out.trigger = hand.trigger;
    out.squeeze = hand.squeeze;
    out.primary = hand.buttons.primary;
    out.secondary = hand.buttons.secondary;
    out.menu = hand.buttons.menu;
    out.joints = hand.joints.as_ref().map(|joints| {
        joints
            .iter()
            .map(|j| j.as_ref().map(PoseMsg::from_isometry))
            .collect()
    });
}

fn fill<T: Copy>(out: &mut Vec<T>, from: &[T]) {
    out.clear();
    out.extend_from_slice(from);
}

fn fill_nano(out: &mut Vec<f64>, from: &[f64]) {
    out.clear();
    out.extend(from.iter().map(|&v| nano(v)));
}

impl EpisodeWriter {
    /// Creates `path` (which must not exist) and its sidecar `path.json`, and writes the
    /// channels and the starting metadata.
    pub fn create(
        path: &Path,
        info: Arc<RobotInfo>,
        operator: &str,
        task: &str,
        camera_fps: f64,
        wall_ns: u64,
    ) -> Result<EpisodeWriter, Error> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(Error::io(path))?;
        let file = Arc::new(file);
        let options = WriteOptions::new()
            .compression(Some(Compression::Zstd))
            // Chunks end on flush (every flush interval); this only caps a chunk's size.
            .chunk_size(Some(8 << 20))
            .library(format!("teleop-bridge {}", env!("CARGO_PKG_VERSION")));
        let writer = BufWriter::with_capacity(1 << 20, SharedFile(Arc::clone(&file)));
        let mut mcap = options.create(writer).map_err(Error::mcap(path))?;
        let mut channels = [0u16; Topic::ALL.len()];
        let joints = serde_json::to_string(&info.joint_names).unwrap_or_default();
        let links = serde_json::to_string(&info.link_names).unwrap_or_default();
        let tools: Vec<&str> = info.end_effectors.iter().map(|e| e.0.as_str()).collect();
        let tools = serde_json::to_string(&tools).unwrap_or_default();
        for topic in Topic::ALL {
            let schema = serde_json::to_vec(&topic.schema()).unwrap_or_default();
            let schema_id = mcap
                .add_schema(topic.schema_name(), "jsonschema", &schema)
                .map_err(Error::mcap(path))?;
            let mut metadata = BTreeMap::new();
            metadata.insert("description".to_string(), topic.description().to_string());
            match topic {
                Topic::JointCommand | Topic::JointState => {
                    metadata.insert("joint_names".into(), joints.clone());
                }
                Topic::Contact => {
                    metadata.insert("link_names".into(), links.clone());
                }
                Topic::Ik | Topic::Clutch => {
                    metadata.insert("end_effectors".into(), tools.clone());
                }
                Topic::Camera => {
                    metadata.insert("fps".into(), camera_fps.to_string());
                }
                _ => {}
            }
            channels[topic.index()] = mcap
                .add_channel(schema_id, topic.name(), "json", &metadata)
                .map_err(Error::mcap(path))?;
        }
        let mut meta = info.metadata();
        meta.insert("operator".into(), operator.into());
        meta.insert("task".into(), task.into());
        meta.insert("camera_fps".into(), camera_fps.to_string());
        meta.insert("start_wall_ns".into(), wall_ns.to_string());
        meta.insert("start_time".into(), rfc3339(wall_ns));
        meta.insert("end_wall_ns".into(), String::new());
        meta.insert("end_time".into(), String::new());
        meta.insert("outcome".into(), "recording".into());
        let mut episode = EpisodeWriter {
            sink: Sink {
                path: path.to_path_buf(),
                mcap,
                channels,
                sequence: [0; Topic::ALL.len()],
                counts: [0; Topic::ALL.len()],
                buf: Vec::with_capacity(64 << 10),
            },
            scratch: Scratch::default(),
            file,
            sidecar: path.with_extension("json"),
            meta,
            info,
            anchor: None,
            last_operator_ns: None,
            last_clutch: None,
            started_wall_ns: wall_ns,
        };
        episode.write_metadata()?;
        episode.flush()?;
        Ok(episode)
    }

    pub fn path(&self) -> &Path {
        &self.sink.path
    }

    fn write_metadata(&mut self) -> Result<(), Error> {
        self.sink
            .mcap
            .write_metadata(&Metadata {
                name: "episode".into(),
                metadata: self.meta.clone(),
            })
            .map_err(Error::mcap(&self.sink.path))?;
        // The sidecar leaves out the long texts (URDF, profile) the MCAP carries.
        let mut side: BTreeMap<&str, &str> = self
            .meta
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "urdf" | "profile"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let name = self
            .sink
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        side.insert("file", &name);
        let text = serde_json::to_vec_pretty(&side).unwrap_or_default();
        write_atomically(&self.sidecar, &text)
    }

    /// Log time for a message stamped `mono_ns` (sets the anchor on the first).
    fn log_time(&mut self, mono_ns: u64, wall_ns: u64) -> u64 {
        let (mono0, wall0) = *self.anchor.get_or_insert((mono_ns, wall_ns));
        if mono_ns >= mono0 {
            wall0 + (mono_ns - mono0)
        } else {
            wall0.saturating_sub(mono0 - mono_ns)
        }
    }

    /// Monotonic time matching wall time `wall_ns` (for events that carry only a wall time).
    fn mono_for_wall(&self, wall_ns: u64) -> u64 {
        match self.anchor {
            Some((mono0, wall0)) => (mono0 + wall_ns).saturating_sub(wall0),
            None => 0,
        }
    }

    pub fn write_tick(&mut self, s: &TickSample) -> Result<(), Error> {
        let t = self.log_time(s.time_ns, s.wall_ns);
        let (mono_ns, wall_ns) = (s.time_ns, s.wall_ns);
        let Scratch {
            operator,
            clutch,
            ik,
            command,
            state,
            contact,
            tf,
            latency,
        } = &mut self.scratch;
        if let Some(f) = &s.operator
            && self.last_operator_ns != Some(f.time_ns)
        {
            self.last_operator_ns = Some(f.time_ns);
            operator.mono_ns = mono_ns;
            operator.wall_ns = wall_ns;
            operator.frame_time_ns = f.time_ns;
            operator.head = f.head.as_ref().map(PoseMsg::from_isometry);
            operator.head_valid = operator.head.is_some_and(|h| {
                h.position
                    .iter()
                    .chain(&h.orientation)
                    .all(|v| v.is_finite())
            });
            hand_msg(&mut operator.left, &f.left);
            hand_msg(&mut operator.right, &f.right);
            self.sink.put(Topic::Operator, t, operator)?;
        }
        let changed = match &self.last_clutch {
            Some((outcome, engaged)) => *outcome != s.outcome || engaged[..] != s.engaged[..],
            None => true,
        };
        if changed {
            self.last_clutch = Some((s.outcome, s.engaged.clone()));
            clutch.mono_ns = mono_ns;
            clutch.wall_ns = wall_ns;
            s.outcome.name().clone_into(&mut clutch.outcome);
            clutch.end_effectors = self
                .info
                .end_effectors
                .iter()
                .map(|e| e.0.clone())
                .collect();
            fill(&mut clutch.engaged, &s.engaged);
            clutch.base_from_stage = PoseMsg::from_isometry(&crate::msg::robot_from_stage_axes());
            self.sink.put(Topic::Clutch, t, clutch)?;
        }
        ik.mono_ns = mono_ns;
        ik.wall_ns = wall_ns;
        ik.ran = s.ik_ran;
        ik.ok = s.ik_ran && s.ik_ok;
        ik.position_error_m = if s.ik_ran {
            finite(nano(s.ik_position_error_m))
        } else {
            None
        };
        ik.rotation_error_rad = if s.ik_ran {
            finite(nano(s.ik_rotation_error_rad))
        } else {
            None
        };
        ik.iterations = if s.ik_ran { s.ik_iterations } else { 0 };
        ik.targets.clear();
        ik.targets
            .extend(s.targets.iter().map(PoseMsg::from_matrix));
        self.sink.put(Topic::Ik, t, ik)?;

        command.mono_ns = mono_ns;
        command.wall_ns = wall_ns;
        fill_nano(&mut command.position, &s.command_positions);
        fill_nano(&mut command.velocity, &s.command_velocities);
        self.sink.put(Topic::JointCommand, t, command)?;

        state.mono_ns = mono_ns;
        state.wall_ns = wall_ns;
        state.state_ns = s.state_time_ns;
        fill_nano(&mut state.position, &s.positions);
        fill_nano(&mut state.velocity, &s.velocities);
        fill_nano(&mut state.effort, &s.efforts);
        self.sink.put(Topic::JointState, t, state)?;

        contact.mono_ns = mono_ns;
        contact.wall_ns = wall_ns;
        fill_nano(&mut contact.force, &s.contact_forces);
        self.sink.put(Topic::Contact, t, contact)?;

        // Measured world_from_link for tools and cameras, then per tool the commanded pose and
        // the IK target in its chain's base frame.
        let poses = s.link_poses.len();
        let tools = self.info.end_effectors.len().min(s.tools.len());
        tf.transforms
            .resize_with(poses + 2 * tools, FrameTransformMsg::default);
        tf.mono_ns = mono_ns;
        tf.wall_ns = wall_ns;
        let stamp = Stamp::from_ns(t);
        for (i, (pose, (name, _))) in s.link_poses.iter().zip(&self.info.pose_links).enumerate() {
            let out = &mut tf.transforms[i];
            out.timestamp = stamp;
            if out.child_frame_id != *name {
                "world".clone_into(&mut out.parent_frame_id);
                name.clone_into(&mut out.child_frame_id);
            }
            out.set_pose(pose);
        }
        for (k, (_, base, tip)) in self.info.end_effectors.iter().take(tools).enumerate() {
            for (j, (pose, suffix)) in [(&s.tools[k], "commanded"), (&s.targets[k], "target")]
                .into_iter()
                .enumerate()
            {
                let out = &mut tf.transforms[poses + 2 * k + j];
                out.timestamp = stamp;
                if out.parent_frame_id != *base {
                    base.clone_into(&mut out.parent_frame_id);
                    out.child_frame_id = format!("{tip}_{suffix}");
                }
                out.set_pose(pose);
            }
        }
        self.sink.put(Topic::Tf, t, tf)?;

        latency.mono_ns = mono_ns;
        latency.wall_ns = wall_ns;
        latency.frame_age_ns = s.operator.map(|f| mono_ns.saturating_sub(f.time_ns));
        latency.retarget_ns = s.retarget_ns;
        latency.ik_ns = s.ik_ns;
        latency.safety_ns = s.safety_ns;
        latency.robot_ns = s.robot_ns;
        latency.tick_ns = s.tick_ns;
        self.sink.put(Topic::Latency, t, latency)
    }

    pub fn write_image(&mut self, image: &EncodedImage) -> Result<(), Error> {
        let t = self.log_time(image.time_ns, image.wall_ns);
        let msg = CompressedImageMsg {
            timestamp: Stamp::from_ns(t),
            frame_id: "stereo".into(),
            data: super::base64::encode(&image.jpeg),
            format: "jpeg".into(),
            width: image.width,
            height: image.height,
            mono_ns: image.time_ns,
            wall_ns: image.wall_ns,
        };
        self.sink.put(Topic::Camera, t, &msg)
    }

    /// An annotation at monotonic `mono_ns` if known, else at wall time `wall_ns`.
    pub fn annotate(
        &mut self,
        mono_ns: Option<u64>,
        wall_ns: u64,
        label: &str,
        outcome: Option<Outcome>,
    ) -> Result<(), Error> {
        let mono_ns = mono_ns.unwrap_or_else(|| self.mono_for_wall(wall_ns));
        let t = match self.anchor {
            Some(_) => self.log_time(mono_ns, wall_ns),
            None => wall_ns,
        };
        let msg = AnnotationMsg {
            mono_ns,
            wall_ns,
            label: label.into(),
            outcome: outcome.map(|o| o.name().to_string()),
        };
        self.sink.put(Topic::Annotations, t, &msg)
    }

    /// Ends the current chunk, writes it out and syncs the file: everything written so far
    /// survives a crash or power loss.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.sink
            .mcap
            .flush()
            .map_err(Error::mcap(&self.sink.path))?;
        self.file.sync_data().map_err(Error::io(&self.sink.path))
    }

    /// Writes the final metadata and the summary, syncs, and updates the sidecar.
    pub fn finish(
        mut self,
        outcome: Outcome,
        wall_ns: u64,
        drops: &[u64; Topic::ALL.len()],
    ) -> Result<EpisodeReport, Error> {
        self.annotate(None, wall_ns, "stop", Some(outcome))?;
        let counts: BTreeMap<String, u64> = Topic::ALL
            .iter()
            .map(|t| (t.name().to_string(), self.sink.counts[t.index()]))
            .collect();
        let drops: BTreeMap<String, u64> = Topic::ALL
            .iter()
            .map(|t| (t.name().to_string(), drops[t.index()]))
            .collect();
        let duration_s = wall_ns.saturating_sub(self.started_wall_ns) as f64 / 1e9;
        self.meta.insert("end_wall_ns".into(), wall_ns.to_string());
        self.meta.insert("end_time".into(), rfc3339(wall_ns));
        self.meta.insert("outcome".into(), outcome.name().into());
        self.meta
            .insert("duration_s".into(), format!("{duration_s:.3}"));
        self.meta.insert(
            "message_counts".into(),
            serde_json::to_string(&counts).unwrap_or_default(),
        );
        self.meta.insert(
            "drops".into(),
            serde_json::to_string(&drops).unwrap_or_default(),
        );
        self.write_metadata()?;
        self.sink
            .mcap
            .finish()
            .map_err(Error::mcap(&self.sink.path))?;
        let path = self.sink.path.clone();
        // Drop the writer (its own drop would call finish again: a no-op now).
        let file = self.file;
        drop(self.sink.mcap);
        file.sync_all().map_err(Error::io(&path))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(EpisodeReport {
            path,
            outcome,
            counts,
            drops,
            bytes,
            duration_s,
        })
    }

    /// After a write error: best effort to mark the sidecar, then let the file be (its last
    /// flushed chunk is readable, `teleop record repair` finishes it).
    pub fn abandon(mut self, error: &str) {
        self.meta.insert("outcome".into(), "interrupted".into());
        self.meta.insert("error".into(), error.into());
        let mut side = self.meta.clone();
        side.remove("urdf");
        side.remove("profile");
        if let Ok(text) = serde_json::to_vec_pretty(&side) {
            let _ = write_atomically(&self.sidecar, &text);
        }
        // The MCAP writer's drop tries to finish the file; on a full disk that fails quietly.
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see the old or
/// the new content, never half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp).map_err(Error::io(&tmp))?;
    f.write_all(bytes).map_err(Error::io(&tmp))?;
    f.sync_data().map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for nanoseconds since the Unix epoch (UTC).
pub fn rfc3339(wall_ns: u64) -> String {
    let secs = wall_ns / 1_000_000_000;
    let millis = (wall_ns % 1_000_000_000) / 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z (a leap day).
        assert_eq!(
            rfc3339(1_709_210_096_789_000_000),
            "2024-02-29T12:34:56.789Z"
        );
    }
}
