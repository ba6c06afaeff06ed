//! One episode being written: a folder `episode-NNNN/` (a rosbag2 bag) holding the MCAP file
//! `episode-NNNN.mcap` (CDR messages, `ros2msg` schemas, zstd chunks, a chunk ended and the
//! file synced on every [`EpisodeWriter::flush`], episode metadata at the start and again at
//! the end), rosbag2's `metadata.yaml` and a JSON sidecar `episode-NNNN.json`, both replaced
//! atomically (temp file + rename) at the start and the end.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcap::records::{MessageHeader, Metadata};
use mcap::{Compression, WriteOptions, Writer};

use super::Error;
use super::robot_info::RobotInfo;
use super::ros2::{self, BagTopic};
use super::topics::*;
use crate::link::types::{CompressedImage, JointState, TFMessage, TransformStamped};
use crate::link::{Message, encode};
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

/// A camera frame on its way to the file: one JPEG per eye.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    pub time_ns: u64,
    pub wall_ns: u64,
    /// One eye's size.
    pub width: u32,
    pub height: u32,
    /// Left eye, right eye.
    pub jpeg: [Vec<u8>; 2],
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
pub(super) struct SharedFile(Arc<File>);

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

/// The MCAP side: channels, sequence numbers, counts, log time span, one reusable buffer.
pub(super) struct Sink {
    path: PathBuf,
    /// The file handle, for syncing.
    file: Arc<File>,
    mcap: Writer<BufWriter<SharedFile>>,
    channels: [u16; Topic::ALL.len()],
    sequence: [u32; Topic::ALL.len()],
    pub(super) counts: [u64; Topic::ALL.len()],
    /// First and last log time written.
    pub(super) span: Option<(u64, u64)>,
    buf: Vec<u8>,
}

impl Sink {
    /// Creates the MCAP file `path` (which must not exist) with every channel of [`Topic::ALL`]
    /// (CDR, a `ros2msg` schema per type, [`channel_metadata`] of `names` and the QoS rosbag2
    /// wants in each channel's metadata).
    pub(super) fn create(path: &Path, names: [&str; 4]) -> Result<Sink, Error> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(Error::io(path))?;
        let file = Arc::new(file);
        let options = WriteOptions::new()
            .compression(Some(Compression::Zstd))
            // What rosbag2 and rosbags require of an MCAP file they read.
            .profile("ros2")
            // Chunks end on flush (every flush interval); this only caps a chunk's size.
            .chunk_size(Some(8 << 20))
            .library(format!("teleop-bridge {}", env!("CARGO_PKG_VERSION")));
        let writer = BufWriter::with_capacity(1 << 20, SharedFile(Arc::clone(&file)));
        let mut mcap = options.create(writer).map_err(Error::mcap(path))?;
        let mut channels = [0u16; Topic::ALL.len()];
        let mut schemas: BTreeMap<&str, u16> = BTreeMap::new();
        for topic in Topic::ALL {
            let ros_type = topic.ros_type().name;
            let schema_id = match schemas.get(ros_type) {
                Some(&id) => id,
                None => {
                    let text = ros2::schema(ros_type).unwrap_or_default();
                    let id = mcap
                        .add_schema(ros_type, "ros2msg", text.as_bytes())
                        .map_err(Error::mcap(path))?;
                    schemas.insert(ros_type, id);
                    id
                }
            };
            let mut metadata = channel_metadata(topic, names.map(Some));
            metadata.insert("offered_qos_profiles".into(), ros2::OFFERED_QOS.to_string());
            channels[topic.index()] = mcap
                .add_channel(schema_id, topic.name(), "cdr", &metadata)
                .map_err(Error::mcap(path))?;
        }
        Ok(Sink {
            path: path.to_path_buf(),
            file,
            mcap,
            channels,
            sequence: [0; Topic::ALL.len()],
            counts: [0; Topic::ALL.len()],
            span: None,
            buf: Vec::with_capacity(64 << 10),
        })
    }

    /// Writes `msg` (CDR, with its encapsulation header) on `topic`.
    pub(super) fn put<M: Message>(
        &mut self,
        topic: Topic,
        log_time: u64,
        msg: &M,
    ) -> Result<(), Error> {
        encode(msg, &mut self.buf).map_err(|e| Error::Invalid {
            path: self.path.clone(),
            message: format!("{}: {e}", topic.name()),
        })?;
        self.span = Some(match self.span {
            Some((a, b)) => (a.min(log_time), b.max(log_time)),
            None => (log_time, log_time),
        });
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

    /// Writes the episode metadata record.
    pub(super) fn write_metadata(&mut self, meta: &BTreeMap<String, String>) -> Result<(), Error> {
        let metadata = Metadata {
            name: "episode".into(),
            metadata: meta.clone(),
        };
        self.mcap
            .write_metadata(&metadata)
            .map_err(Error::mcap(&self.path))
    }

    /// Ends the current chunk, writes it out and syncs the file.
    fn flush(&mut self) -> Result<(), Error> {
        self.mcap.flush().map_err(Error::mcap(&self.path))?;
        self.file.sync_data().map_err(Error::io(&self.path))
    }

    /// Writes the summary and syncs the file; its size.
    pub(super) fn finish(mut self) -> Result<u64, Error> {
        self.mcap.finish().map_err(Error::mcap(&self.path))?;
        // Drop the writer (its own drop would call finish again: a no-op now).
        drop(self.mcap);
        self.file.sync_all().map_err(Error::io(&self.path))?;
        Ok(self.file.metadata().map(|m| m.len()).unwrap_or(0))
    }
}

/// Messages reused from tick to tick so the recorder thread does not allocate per message.
#[derive(Default)]
struct Scratch {
    operator: ros2::OperatorFrame,
    clutch: ros2::ClutchState,
    ik: ros2::IkStep,
    command: JointState,
    state: JointState,
    contact: ros2::ContactForces,
    tf: TFMessage,
    latency: ros2::TickTiming,
    image: CompressedImage,
    annotation: ros2::Annotation,
}

/// An open episode file.
pub struct EpisodeWriter {
    sink: Sink,
    scratch: Scratch,
    meta: BTreeMap<String, String>,
    info: Arc<RobotInfo>,
    /// (monotonic, wall) ns of the first timed message: log times are the wall clock at that
    /// moment plus monotonic time since, so they never jump with the wall clock.
    anchor: Option<(u64, u64)>,
    last_operator_ns: Option<u64>,
    last_clutch: Option<(crate::msg::TickOutcome, Vec<bool>)>,
    started_wall_ns: u64,
}

/// `p` as written: exactly (measured poses).
fn pose_of(p: &nalgebra::Isometry3<f64>) -> crate::link::types::Pose {
    ros2::pose(&PoseMsg::from_isometry(p))
}

/// `p` as written: to 1e-9 (computed poses).
fn pose_of_matrix(p: &nalgebra::IsometryMatrix3<f64>) -> crate::link::types::Pose {
    ros2::pose(&PoseMsg::from_matrix(p))
}

fn hand_msg(out: &mut ros2::Hand, hand: &crate::msg::HandInput) {
    out.valid = hand.finite_grip().is_some();
    out.grip_tracked = hand.grip.is_some();
    out.grip = hand.grip.as_ref().map(pose_of).unwrap_or_default();
    out.trigger = hand.trigger;
    out.squeeze = hand.squeeze;
    out.primary = hand.buttons.primary;
    out.secondary = hand.buttons.secondary;
    out.menu = hand.buttons.menu;
    out.joint_tracked.clear();
    out.joints.clear();
    if let Some(joints) = &hand.joints {
        for j in joints {
            out.joint_tracked.push(j.is_some());
            out.joints.push(j.as_ref().map(pose_of).unwrap_or_default());
        }
    }
}

fn fill<T: Copy>(out: &mut Vec<T>, from: &[T]) {
    out.clear();
    out.extend_from_slice(from);
}

fn set_string(out: &mut String, s: &str) {
    if out != s {
        out.clear();
        out.push_str(s);
    }
}

fn fill_nano(out: &mut Vec<f64>, from: &[f64]) {
    out.clear();
    out.extend(from.iter().map(|&v| nano(v)));
}

/// What an episode is labelled with, besides the robot: who demonstrated, what they were asked
/// to do, the skill and scenario (names from the centre's catalogue; empty: not given), and how
/// the scene was set up (`setup.KEY` in the metadata: the demo's seed and cube pose).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    pub operator: String,
    pub task: String,
    pub skill: String,
    pub scenario: String,
    pub setup: Vec<(String, String)>,
}

impl EpisodeWriter {
    /// Creates `path` (which must not exist; its folder must) with the sidecar `path.json` and
    /// `metadata.yaml` beside it, and writes the channels and the starting metadata.
    pub fn create(
        path: &Path,
        info: Arc<RobotInfo>,
        labels: &Labels,
        camera_fps: f64,
        wall_ns: u64,
    ) -> Result<EpisodeWriter, Error> {
        let joints = to_json(&info.joint_names);
        let links = to_json(&info.link_names);
        let tools: Vec<&str> = info.end_effectors.iter().map(|e| e.0.as_str()).collect();
        let tools = to_json(&tools);
        let sink = Sink::create(path, [&joints, &links, &tools, &camera_fps.to_string()])?;
        let mut meta = info.metadata();
        meta.insert("operator".into(), labels.operator.clone());
        meta.insert("task".into(), labels.task.clone());
        meta.insert("skill".into(), labels.skill.clone());
        meta.insert("scenario".into(), labels.scenario.clone());
        for (key, value) in &labels.setup {
            meta.insert(format!("setup.{key}"), value.clone());
        }
        meta.insert("camera_fps".into(), camera_fps.to_string());
        meta.insert("start_wall_ns".into(), wall_ns.to_string());
        meta.insert("start_time".into(), rfc3339(wall_ns));
        meta.insert("end_wall_ns".into(), String::new());
        meta.insert("end_time".into(), String::new());
        meta.insert("outcome".into(), "recording".into());
        let mut episode = EpisodeWriter {
            sink,
            scratch: Scratch::default(),
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
        self.sink.write_metadata(&self.meta)?;
        write_sidecar(&self.sink.path, &self.meta, true)?;
        let counts = self.sink.counts;
        let (start, end) = self
            .sink
            .span
            .unwrap_or((self.started_wall_ns, self.started_wall_ns));
        write_bag_metadata(
            &self.sink.path,
            start,
            end,
            |topic| counts[topic.index()],
            &self.meta,
        )
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
            ..
        } = &mut self.scratch;
        let base = self
            .info
            .end_effectors
            .first()
            .map_or("base", |e| e.1.as_str());
        if let Some(f) = &s.operator
            && self.last_operator_ns != Some(f.time_ns)
        {
            self.last_operator_ns = Some(f.time_ns);
            operator.header.set(t, "stage");
            operator.mono_ns = mono_ns;
            operator.wall_ns = wall_ns;
            operator.frame_time_ns = f.time_ns;
            operator.head_tracked = f.head.is_some();
            operator.head = f.head.as_ref().map(pose_of).unwrap_or_default();
            operator.head_valid = f.head.as_ref().is_some_and(|h| {
                let h = PoseMsg::from_isometry(h);
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
            clutch.header.set(t, base);
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
            clutch.base_from_stage = pose_of(&crate::msg::robot_from_stage_axes());
            self.sink.put(Topic::Clutch, t, clutch)?;
        }
        ik.header.set(t, base);
        ik.mono_ns = mono_ns;
        ik.wall_ns = wall_ns;
        ik.ran = s.ik_ran;
        ik.ok = s.ik_ran && s.ik_ok;
        let residual = |v: f64| finite(nano(v)).filter(|_| s.ik_ran).unwrap_or(f64::NAN);
        ik.position_error_m = residual(s.ik_position_error_m);
        ik.rotation_error_rad = residual(s.ik_rotation_error_rad);
        ik.iterations = if s.ik_ran { s.ik_iterations } else { 0 };
        ik.targets.clear();
        ik.targets.extend(s.targets.iter().map(pose_of_matrix));
        self.sink.put(Topic::Ik, t, ik)?;

        let joints = &self.info.joint_names;
        command.header.set(t, "");
        sync_names(&mut command.name, joints);
        fill_nano(&mut command.position, &s.command_positions);
        fill_nano(&mut command.velocity, &s.command_velocities);
        command.effort.clear();
        self.sink.put(Topic::JointCommand, t, command)?;

        state.header.set(t, "");
        sync_names(&mut state.name, joints);
        fill_nano(&mut state.position, &s.positions);
        fill_nano(&mut state.velocity, &s.velocities);
        fill_nano(&mut state.effort, &s.efforts);
        self.sink.put(Topic::JointState, t, state)?;

        contact.header.set(t, "world");
        contact.mono_ns = mono_ns;
        contact.wall_ns = wall_ns;
        fill_nano(&mut contact.force, &s.contact_forces);
        self.sink.put(Topic::Contact, t, contact)?;

        // Measured world_from_link for tools and cameras, then per tool the commanded pose and
        // the IK target in its chain's base frame.
        let poses = s.link_poses.len();
        let tools = self.info.end_effectors.len().min(s.tools.len());
        tf.transforms
            .resize_with(poses + 2 * tools, TransformStamped::default);
        for (i, (pose, (name, _))) in s.link_poses.iter().zip(&self.info.pose_links).enumerate() {
            let out = &mut tf.transforms[i];
            out.header.set(t, "world");
            set_string(&mut out.child_frame_id, name);
            set_transform(&mut out.transform, pose);
        }
        for (k, (_, base, tip)) in self.info.end_effectors.iter().take(tools).enumerate() {
            for (j, (pose, suffix)) in [(&s.tools[k], "commanded"), (&s.targets[k], "target")]
                .into_iter()
                .enumerate()
            {
                let out = &mut tf.transforms[poses + 2 * k + j];
                if out.header.frame_id != *base || !out.child_frame_id.ends_with(suffix) {
                    out.child_frame_id = format!("{tip}_{suffix}");
                }
                out.header.set(t, base);
                set_transform(&mut out.transform, pose);
            }
        }
        self.sink.put(Topic::Tf, t, tf)?;

        latency.header.set(t, "");
        latency.mono_ns = mono_ns;
        latency.wall_ns = wall_ns;
        latency.state_ns = s.state_time_ns;
        latency.frame_age_ns = s.operator.map_or(-1, |f| {
            i64::try_from(mono_ns.saturating_sub(f.time_ns)).unwrap_or(i64::MAX)
        });
        latency.retarget_ns = s.retarget_ns;
        latency.ik_ns = s.ik_ns;
        latency.safety_ns = s.safety_ns;
        latency.robot_ns = s.robot_ns;
        latency.tick_ns = s.tick_ns;
        self.sink.put(Topic::Latency, t, latency)
    }

    /// One camera frame: each eye's JPEG on its channel, stamped alike.
    pub fn write_image(&mut self, image: &EncodedImage) -> Result<(), Error> {
        let t = self.log_time(image.time_ns, image.wall_ns);
        for (topic, (jpeg, frame)) in Topic::CAMERAS
            .into_iter()
            .zip(image.jpeg.iter().zip(["camera_left", "camera_right"]))
        {
            self.scratch.image.set_jpeg(t, frame, jpeg);
            self.sink.put(topic, t, &self.scratch.image)?;
        }
        Ok(())
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
        let msg = &mut self.scratch.annotation;
        msg.header.set(t, "");
        msg.mono_ns = mono_ns;
        msg.wall_ns = wall_ns;
        set_string(&mut msg.label, label);
        set_string(&mut msg.outcome, outcome.map_or("", Outcome::name));
        self.sink.put(Topic::Annotations, t, &*msg)
    }

    /// Ends the current chunk, writes it out and syncs the file: everything written so far
    /// survives a crash or power loss.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.sink.flush()
    }

    /// Writes the final metadata and the summary, syncs, and updates the sidecar.
    pub fn finish(
        mut self,
        outcome: Outcome,
        wall_ns: u64,
        drops: &[u64; Topic::ALL.len()],
    ) -> Result<EpisodeReport, Error> {
        self.annotate(None, wall_ns, "stop", Some(outcome))?;
        let counts = per_topic(|t| self.sink.counts[t.index()]);
        let drops = per_topic(|t| drops[t.index()]);
        let duration_s = wall_ns.saturating_sub(self.started_wall_ns) as f64 / 1e9;
        self.meta.insert("end_wall_ns".into(), wall_ns.to_string());
        self.meta.insert("end_time".into(), rfc3339(wall_ns));
        self.meta.insert("outcome".into(), outcome.name().into());
        self.meta
            .insert("duration_s".into(), format!("{duration_s:.3}"));
        if let Some((mono0, wall0)) = self.anchor {
            // What gives the standard types (a stamp, no monotonic time) their monotonic time.
            self.meta.insert(
                "log_minus_mono_ns".into(),
                (i128::from(wall0) - i128::from(mono0)).to_string(),
            );
        }
        self.meta.insert("message_counts".into(), to_json(&counts));
        self.meta.insert("drops".into(), to_json(&drops));
        self.write_metadata()?;
        let path = self.sink.path.clone();
        let bytes = self.sink.finish()?;
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
        let _ = write_sidecar(&self.sink.path, &self.meta, false);
        // The MCAP writer's drop tries to finish the file; on a full disk that fails quietly.
    }
}

/// The names as they are (no allocation once they are).
fn sync_names(out: &mut Vec<String>, names: &[String]) {
    if out[..] != names[..] {
        *out = names.to_vec();
    }
}

/// `parent_from_child` to 1e-9, as the transform's fields.
fn set_transform(out: &mut crate::link::types::Transform, p: &nalgebra::IsometryMatrix3<f64>) {
    let mut m = FrameTransformMsg::default();
    m.set_pose(p);
    (out.translation, out.rotation) = (m.translation, m.rotation);
}

/// Writes rosbag2's `metadata.yaml` beside the episode's MCAP file `mcap_path`: every channel
/// the recorder writes, with `count(topic)` messages from `start_ns` to `end_ns`; the episode
/// metadata's short values go to `custom_data`.
pub fn write_bag_metadata(
    mcap_path: &Path,
    start_ns: u64,
    end_ns: u64,
    count: impl Fn(Topic) -> u64,
    meta: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let topics: Vec<BagTopic> = Topic::ALL
        .iter()
        .map(|t| BagTopic {
            name: t.name(),
            ros_type: t.ros_type(),
            messages: count(*t),
        })
        .collect();
    let custom: BTreeMap<String, String> = meta
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "urdf" | "profile") && v.len() <= 256)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let text = ros2::bag_metadata(&file_name(mcap_path), start_ns, end_ns, &topics, &custom);
    write_atomically(&mcap_path.with_file_name("metadata.yaml"), text.as_bytes())
}

/// The metadata the recorder gives `topic`'s channel: its description and, where the channel
/// has them, the JSON lists of joint, link or end-effector names, or the camera rate (`names`,
/// in that order; `None`: left out).
pub(super) fn channel_metadata(
    topic: Topic,
    [joints, links, tools, fps]: [Option<&str>; 4],
) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::from([("description".into(), topic.description().into())]);
    let (key, value) = match topic {
        Topic::JointCommand | Topic::JointState => ("joint_names", joints),
        Topic::Contact => ("link_names", links),
        Topic::Ik | Topic::Clutch => ("end_effectors", tools),
        Topic::CameraLeft | Topic::CameraRight | Topic::Stereo => ("fps", fps),
        Topic::Operator | Topic::Tf | Topic::Latency | Topic::Annotations => ("", None),
    };
    if let Some(value) = value {
        metadata.insert(key.into(), value.into());
    }
    metadata
}

/// Writes the JSON sidecar beside the episode's MCAP file `mcap_path`: the episode metadata
/// without the long texts (URDF, profile) the MCAP carries, and (`with_file`) the file's name.
pub(super) fn write_sidecar(
    mcap_path: &Path,
    meta: &BTreeMap<String, String>,
    with_file: bool,
) -> Result<(), Error> {
    let mut side: BTreeMap<&str, &str> = meta
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "urdf" | "profile"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let name = file_name(mcap_path);
    if with_file {
        side.insert("file", &name);
    }
    let text = serde_json::to_vec_pretty(&side).unwrap_or_default();
    write_atomically(&mcap_path.with_extension("json"), &text)
}

/// A value as compact JSON.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The last component of `path` (empty if none).
pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Per channel of [`Topic::ALL`], its name and `value(topic)`.
pub(super) fn per_topic(value: impl Fn(Topic) -> u64) -> BTreeMap<String, u64> {
    Topic::ALL
        .iter()
        .map(|&t| (t.name().to_string(), value(t)))
        .collect()
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see the old or
/// the new content, never half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
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
