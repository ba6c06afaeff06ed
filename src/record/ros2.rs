//! The episode's ROS 2 side: the `teleop_msgs` messages (their `.msg` files are
//! `ros/teleop_msgs/msg/`, a ROS 2 package to build where `ros2 bag play` should publish them),
//! each channel's `ros2msg` schema (the type's `.msg` text, then every type it uses after a
//! `====` line and `MSG: pkg/Type`, as rosbag2 writes them), the QoS profile written for every
//! topic, and the `metadata.yaml` rosbag2 keeps beside its MCAP files.
//!
//! The standard types (`sensor_msgs/msg/JointState`, `CompressedImage`, `tf2_msgs/msg/TFMessage`
//! and what they contain) are the network layer's ([`crate::link::types`]), encoded by the same
//! [`crate::link::encode`]. Their `.msg` texts below are ROS 2 Jazzy's, without comments;
//! `tests/integration/record.rs` checks them against the pinned type hashes with `rosbags`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::topics::*;
use crate::link::types::{CompressedImage, Header, JointState, Point, Pose, Quaternion, TFMessage};
use crate::link::{LinkError, Message, RosType, decode};

macro_rules! teleop_type {
    ($t:ty, $name:literal, $hash:literal) => {
        impl Message for $t {
            const TYPE: RosType = RosType {
                name: concat!("teleop_msgs/msg/", $name),
                dds_name: concat!("teleop_msgs::msg::dds_::", $name, "_"),
                hash: $hash,
            };
        }
    };
}

/// `teleop_msgs/msg/Hand`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hand {
    pub valid: bool,
    pub grip_tracked: bool,
    pub grip: Pose,
    pub trigger: f64,
    pub squeeze: f64,
    pub primary: bool,
    pub secondary: bool,
    pub menu: bool,
    pub joint_tracked: Vec<bool>,
    pub joints: Vec<Pose>,
}

/// `teleop_msgs/msg/OperatorFrame` (`/operator`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorFrame {
    pub header: Header,
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub frame_time_ns: u64,
    pub head_valid: bool,
    pub head_tracked: bool,
    pub head: Pose,
    pub left: Hand,
    pub right: Hand,
}

/// `teleop_msgs/msg/ClutchState` (`/clutch`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClutchState {
    pub header: Header,
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub outcome: String,
    pub end_effectors: Vec<String>,
    pub engaged: Vec<bool>,
    pub base_from_stage: Pose,
}

/// `teleop_msgs/msg/IkStep` (`/ik`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IkStep {
    pub header: Header,
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub ran: bool,
    pub ok: bool,
    pub position_error_m: f64,
    pub rotation_error_rad: f64,
    pub iterations: u32,
    pub targets: Vec<Pose>,
}

/// `teleop_msgs/msg/ContactForces` (`/contact`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactForces {
    pub header: Header,
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub force: Vec<f64>,
}

/// `teleop_msgs/msg/TickTiming` (`/latency`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TickTiming {
    pub header: Header,
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub state_ns: u64,
    pub frame_age_ns: i64,
    pub retarget_ns: u64,
    pub ik_ns: u64,
    pub safety_ns: u64,
    pub robot_ns: u64,
    pub tick_ns: u64,
}

/// `teleop_msgs/msg/Annotation` (`/annotations`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub header: Header,
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub label: String,
    pub outcome: String,
}

// Computed by `rosbags` 0.11.9 from ros/teleop_msgs/msg/*.msg; re-checked by
// tests/integration/record.rs.
#[rustfmt::skip]
mod identities {
    use super::*;
    teleop_type!(Hand, "Hand", "RIHS01_73256df84e32484eac56c2ed22bc1e012df8a3dbee09e4b44f623ce5855653ea");
    teleop_type!(OperatorFrame, "OperatorFrame", "RIHS01_df6d8d0b6c92b6edea53f8fd00bd28b782c0811f4ef8525ecad5d676a09df584");
    teleop_type!(ClutchState, "ClutchState", "RIHS01_8d41f8e107732d32a15e07ab55918f5bb818d3160319925e9804a19d83ee06e9");
    teleop_type!(IkStep, "IkStep", "RIHS01_302def7105c419aa3e1a259ea4891e26f7ae0348095ac4a4a65e0fe227b4462c");
    teleop_type!(ContactForces, "ContactForces", "RIHS01_f20ae5b0507eea0cb2d64fc8af6a92393dde62b30dad60a7372e9d6c3bf647e2");
    teleop_type!(TickTiming, "TickTiming", "RIHS01_609faf6adb674c443d90dde35c8d1b8a6761c8b9d54da59851e8320e2cab3dd6");
    teleop_type!(Annotation, "Annotation", "RIHS01_e0cc1fbf0fe135448056f5ecc1d8cf0c96c8bf43b17326e7dea566706a016564");
}

/// Every type an episode uses, `pkg/msg/Name` → its `.msg` text.
pub const DEFINITIONS: [(&str, &str); 18] = [
    ("builtin_interfaces/msg/Time", "int32 sec\nuint32 nanosec\n"),
    (
        "std_msgs/msg/Header",
        "builtin_interfaces/Time stamp\nstring frame_id\n",
    ),
    (
        "sensor_msgs/msg/JointState",
        "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n",
    ),
    (
        "sensor_msgs/msg/CompressedImage",
        "std_msgs/Header header\nstring format\nuint8[] data\n",
    ),
    (
        "geometry_msgs/msg/Point",
        "float64 x\nfloat64 y\nfloat64 z\n",
    ),
    (
        "geometry_msgs/msg/Quaternion",
        "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n",
    ),
    (
        "geometry_msgs/msg/Pose",
        "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation\n",
    ),
    (
        "geometry_msgs/msg/Vector3",
        "float64 x\nfloat64 y\nfloat64 z\n",
    ),
    (
        "geometry_msgs/msg/Transform",
        "geometry_msgs/Vector3 translation\ngeometry_msgs/Quaternion rotation\n",
    ),
    (
        "geometry_msgs/msg/TransformStamped",
        "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/Transform transform\n",
    ),
    (
        "tf2_msgs/msg/TFMessage",
        "geometry_msgs/TransformStamped[] transforms\n",
    ),
    (
        "teleop_msgs/msg/Hand",
        include_str!("../../ros/teleop_msgs/msg/Hand.msg"),
    ),
    (
        "teleop_msgs/msg/OperatorFrame",
        include_str!("../../ros/teleop_msgs/msg/OperatorFrame.msg"),
    ),
    (
        "teleop_msgs/msg/ClutchState",
        include_str!("../../ros/teleop_msgs/msg/ClutchState.msg"),
    ),
    (
        "teleop_msgs/msg/IkStep",
        include_str!("../../ros/teleop_msgs/msg/IkStep.msg"),
    ),
    (
        "teleop_msgs/msg/ContactForces",
        include_str!("../../ros/teleop_msgs/msg/ContactForces.msg"),
    ),
    (
        "teleop_msgs/msg/TickTiming",
        include_str!("../../ros/teleop_msgs/msg/TickTiming.msg"),
    ),
    (
        "teleop_msgs/msg/Annotation",
        include_str!("../../ros/teleop_msgs/msg/Annotation.msg"),
    ),
];

fn definition(name: &str) -> Option<&'static str> {
    DEFINITIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
}

/// The complex types a `.msg` text uses, as `pkg/msg/Name` (a bare name is of `package`).
fn dependencies(text: &str, package: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(ty) = line.split_whitespace().next() else {
            continue;
        };
        let ty = ty.split('[').next().unwrap_or(ty);
        let name = match ty.split_once('/') {
            Some((pkg, name)) => format!("{pkg}/msg/{name}"),
            None if ty.starts_with(|c: char| c.is_ascii_uppercase()) => {
                format!("{package}/msg/{ty}")
            }
            None => continue,
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The `ros2msg` schema of `name`: its text, then each type it uses (depth first, once each)
/// after a line of 80 `=` and `MSG: pkg/Name`. `None` for a type this module does not define.
pub fn schema(name: &str) -> Option<String> {
    let mut text = definition(name)?.to_string();
    let mut seen = vec![name.to_string()];
    let package = name.split('/').next().unwrap_or("");
    let mut stack: Vec<String> = dependencies(&text, package).into_iter().rev().collect();
    while let Some(dep) = stack.pop() {
        if seen.contains(&dep) {
            continue;
        }
        let body = definition(&dep)?;
        let short = dep.replacen("/msg/", "/", 1);
        text.push_str(&format!("{}\nMSG: {short}\n{body}", "=".repeat(80)));
        let package = dep.split('/').next().unwrap_or("");
        stack.extend(dependencies(body, package).into_iter().rev());
        seen.push(dep);
    }
    Some(text)
}

/// The QoS every episode topic is offered with (reliable, volatile, keep last 100), as
/// rosbag2's metadata version 8 writes it: one YAML list in a string.
pub const OFFERED_QOS: &str = "- history: 1\n  depth: 100\n  reliability: 1\n  durability: 2\n  deadline:\n    sec: 0\n    nsec: 0\n  lifespan:\n    sec: 0\n    nsec: 0\n  liveliness: 1\n  liveliness_lease_duration:\n    sec: 0\n    nsec: 0\n  avoid_ros_namespace_conventions: false";

/// One topic of a bag's `metadata.yaml`.
pub struct BagTopic<'a> {
    pub name: &'a str,
    pub ros_type: RosType,
    pub messages: u64,
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// rosbag2's `metadata.yaml` (version 8, what Jazzy writes and reads) for one MCAP file
/// `file_name` (zstd chunks inside, so no bag-level compression) holding `topics`, its messages
/// from `start_ns` to `end_ns` (log times); `custom` goes to `custom_data`.
pub fn bag_metadata(
    file_name: &str,
    start_ns: u64,
    end_ns: u64,
    topics: &[BagTopic],
    custom: &BTreeMap<String, String>,
) -> String {
    let count: u64 = topics.iter().map(|t| t.messages).sum();
    let duration = end_ns.saturating_sub(start_ns);
    let (file, qos) = (quoted(file_name), quoted(OFFERED_QOS));
    let mut y = format!(
        "rosbag2_bagfile_information:
  version: 8
  storage_identifier: mcap
  duration:
    nanoseconds: {duration}
  starting_time:
    nanoseconds_since_epoch: {start_ns}
  message_count: {count}
  topics_with_message_count:\n"
    );
    for t in topics {
        let (name, ty, hash, n) = (quoted(t.name), t.ros_type.name, t.ros_type.hash, t.messages);
        y.push_str(&format!(
            "    - topic_metadata:
        name: {name}
        type: {ty}
        serialization_format: cdr
        offered_qos_profiles: {qos}
        type_description_hash: {hash}
      message_count: {n}\n"
        ));
    }
    y.push_str(&format!(
        "  compression_format: \"\"
  compression_mode: \"\"
  relative_file_paths:
    - {file}
  files:
    - path: {file}
      starting_time:
        nanoseconds_since_epoch: {start_ns}
      duration:
        nanoseconds: {duration}
      message_count: {count}\n"
    ));
    if custom.is_empty() {
        y.push_str("  custom_data: {}\n");
    } else {
        y.push_str("  custom_data:\n");
        for (k, v) in custom {
            y.push_str(&format!("    {}: {}\n", quoted(k), quoted(v)));
        }
    }
    y.push_str("  ros_distro: jazzy\n");
    y
}

/// A message as an episode reads back, from either encoding: JSON (serde) or CDR (the
/// channel's ROS 2 type, converted). `log_time` is the message's MCAP log time, `offset` the
/// episode's log time minus monotonic time (what the standard types, which carry no monotonic
/// time, get theirs from).
pub trait EpisodeMsg: serde::de::DeserializeOwned {
    fn from_cdr(data: &[u8], log_time: u64, offset: i128) -> Result<Self, LinkError>;
}

fn mono(log_time: u64, offset: i128) -> u64 {
    u64::try_from((i128::from(log_time) - offset).max(0)).unwrap_or(u64::MAX)
}

/// A pose as read back.
pub fn pose_msg(p: &Pose) -> PoseMsg {
    let (t, q) = (&p.position, &p.orientation);
    PoseMsg {
        position: [t.x, t.y, t.z],
        orientation: [q.x, q.y, q.z, q.w],
    }
}

/// A pose as written.
pub fn pose(p: &PoseMsg) -> Pose {
    let ([x, y, z], [qx, qy, qz, qw]) = (p.position, p.orientation);
    Pose {
        position: Point { x, y, z },
        orientation: Quaternion {
            x: qx,
            y: qy,
            z: qz,
            w: qw,
        },
    }
}

fn hand_msg(h: &Hand) -> HandMsg {
    HandMsg {
        valid: h.valid,
        grip: h.grip_tracked.then(|| pose_msg(&h.grip)),
        trigger: h.trigger,
        squeeze: h.squeeze,
        primary: h.primary,
        secondary: h.secondary,
        menu: h.menu,
        joints: (!h.joints.is_empty()).then(|| {
            h.joints
                .iter()
                .zip(h.joint_tracked.iter().chain(std::iter::repeat(&false)))
                .map(|(p, &tracked)| tracked.then(|| pose_msg(p)))
                .collect()
        }),
    }
}

impl EpisodeMsg for OperatorMsg {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        let m: OperatorFrame = decode(data)?;
        Ok(OperatorMsg {
            mono_ns: m.mono_ns,
            wall_ns: m.wall_ns,
            frame_time_ns: m.frame_time_ns,
            head_valid: m.head_valid,
            head: m.head_tracked.then(|| pose_msg(&m.head)),
            left: hand_msg(&m.left),
            right: hand_msg(&m.right),
        })
    }
}

impl EpisodeMsg for ClutchMsg {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        let m: ClutchState = decode(data)?;
        Ok(ClutchMsg {
            mono_ns: m.mono_ns,
            wall_ns: m.wall_ns,
            outcome: m.outcome,
            end_effectors: m.end_effectors,
            engaged: m.engaged,
            base_from_stage: pose_msg(&m.base_from_stage),
        })
    }
}

impl EpisodeMsg for IkMsg {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        let m: IkStep = decode(data)?;
        Ok(IkMsg {
            mono_ns: m.mono_ns,
            wall_ns: m.wall_ns,
            ran: m.ran,
            ok: m.ok,
            position_error_m: finite(m.position_error_m),
            rotation_error_rad: finite(m.rotation_error_rad),
            iterations: m.iterations,
            targets: m.targets.iter().map(pose_msg).collect(),
        })
    }
}

impl EpisodeMsg for JointCommandMsg {
    fn from_cdr(data: &[u8], log_time: u64, offset: i128) -> Result<Self, LinkError> {
        let m: JointState = decode(data)?;
        Ok(JointCommandMsg {
            mono_ns: mono(log_time, offset),
            wall_ns: m.header.stamp.to_ns(),
            position: m.position,
            velocity: m.velocity,
        })
    }
}

impl EpisodeMsg for JointStateMsg {
    /// `state_ns` is the tick's monotonic time (the robot's own is in `/latency`).
    fn from_cdr(data: &[u8], log_time: u64, offset: i128) -> Result<Self, LinkError> {
        let m: JointState = decode(data)?;
        let mono_ns = mono(log_time, offset);
        Ok(JointStateMsg {
            mono_ns,
            wall_ns: m.header.stamp.to_ns(),
            state_ns: mono_ns,
            position: m.position,
            velocity: m.velocity,
            effort: m.effort,
        })
    }
}

impl EpisodeMsg for ContactMsg {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        let m: ContactForces = decode(data)?;
        Ok(ContactMsg {
            mono_ns: m.mono_ns,
            wall_ns: m.wall_ns,
            force: m.force,
        })
    }
}

impl EpisodeMsg for FrameTransformsMsg {
    fn from_cdr(data: &[u8], log_time: u64, offset: i128) -> Result<Self, LinkError> {
        let m: TFMessage = decode(data)?;
        let transforms = m
            .transforms
            .into_iter()
            .map(|t| FrameTransformMsg {
                timestamp: Stamp::from_ns(t.header.stamp.to_ns()),
                parent_frame_id: t.header.frame_id,
                child_frame_id: t.child_frame_id,
                translation: t.transform.translation,
                rotation: t.transform.rotation,
            })
            .collect();
        Ok(FrameTransformsMsg {
            transforms,
            mono_ns: mono(log_time, offset),
            wall_ns: log_time,
        })
    }
}

impl EpisodeMsg for CompressedImageMsg {
    /// The size comes from the JPEG's header (0 × 0 if it has none).
    fn from_cdr(data: &[u8], log_time: u64, offset: i128) -> Result<Self, LinkError> {
        let m: CompressedImage = decode(data)?;
        let (width, height) = image::ImageReader::with_format(
            std::io::Cursor::new(&m.data),
            image::ImageFormat::Jpeg,
        )
        .into_dimensions()
        .unwrap_or((0, 0));
        Ok(CompressedImageMsg {
            timestamp: Stamp::from_ns(m.header.stamp.to_ns()),
            frame_id: m.header.frame_id,
            data: m.data,
            format: m.format,
            width,
            height,
            mono_ns: mono(log_time, offset),
            wall_ns: m.header.stamp.to_ns(),
        })
    }
}

impl EpisodeMsg for LatencyMsg {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        let m: TickTiming = decode(data)?;
        Ok(LatencyMsg {
            mono_ns: m.mono_ns,
            wall_ns: m.wall_ns,
            frame_age_ns: u64::try_from(m.frame_age_ns).ok(),
            retarget_ns: m.retarget_ns,
            ik_ns: m.ik_ns,
            safety_ns: m.safety_ns,
            robot_ns: m.robot_ns,
            tick_ns: m.tick_ns,
        })
    }
}

impl EpisodeMsg for AnnotationMsg {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        let m: Annotation = decode(data)?;
        Ok(AnnotationMsg {
            mono_ns: m.mono_ns,
            wall_ns: m.wall_ns,
            label: m.label,
            outcome: (!m.outcome.is_empty()).then_some(m.outcome),
        })
    }
}

/// Any message as a JSON value (from CDR: the ROS message's fields).
impl EpisodeMsg for serde_json::Value {
    fn from_cdr(data: &[u8], _: u64, _: i128) -> Result<Self, LinkError> {
        // Which type is unknown here: try each of an episode's, as the reader's repair does.
        identify_cdr(data)
            .ok_or_else(|| LinkError::Mismatch("no episode type fits these bytes".into()))
    }
}

/// `data` decoded as the first episode type it is whole as, in JSON.
pub fn identify_cdr(data: &[u8]) -> Option<serde_json::Value> {
    fn as_json<M: Message>(data: &[u8]) -> Option<serde_json::Value> {
        decode::<M>(data)
            .ok()
            .and_then(|m| serde_json::to_value(m).ok())
    }
    as_json::<OperatorFrame>(data)
        .or_else(|| as_json::<ClutchState>(data))
        .or_else(|| as_json::<IkStep>(data))
        .or_else(|| as_json::<TickTiming>(data))
        .or_else(|| as_json::<Annotation>(data))
        .or_else(|| as_json::<ContactForces>(data))
        .or_else(|| as_json::<JointState>(data))
        .or_else(|| as_json::<CompressedImage>(data))
        .or_else(|| as_json::<TFMessage>(data))
}

/// Whether `data` decodes whole as `topic`'s ROS type.
pub fn fits(topic: Topic, data: &[u8]) -> bool {
    match topic {
        Topic::Operator => decode::<OperatorFrame>(data).is_ok(),
        Topic::Clutch => decode::<ClutchState>(data).is_ok(),
        Topic::Ik => decode::<IkStep>(data).is_ok(),
        Topic::JointCommand | Topic::JointState => decode::<JointState>(data).is_ok(),
        Topic::Contact => decode::<ContactForces>(data).is_ok(),
        Topic::Tf => decode::<TFMessage>(data).is_ok(),
        Topic::CameraLeft | Topic::CameraRight | Topic::Stereo => {
            decode::<CompressedImage>(data).is_ok()
        }
        Topic::Latency => decode::<TickTiming>(data).is_ok(),
        Topic::Annotations => decode::<Annotation>(data).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_list_every_dependency_once() {
        let s = schema("tf2_msgs/msg/TFMessage").unwrap();
        for dep in [
            "MSG: geometry_msgs/TransformStamped\n",
            "MSG: std_msgs/Header\n",
            "MSG: builtin_interfaces/Time\n",
            "MSG: geometry_msgs/Transform\n",
            "MSG: geometry_msgs/Vector3\n",
            "MSG: geometry_msgs/Quaternion\n",
        ] {
            assert_eq!(s.matches(dep).count(), 1, "{dep} in\n{s}");
        }
        let s = schema("teleop_msgs/msg/OperatorFrame").unwrap();
        assert_eq!(s.matches("MSG: teleop_msgs/Hand\n").count(), 1);
        assert_eq!(s.matches("MSG: geometry_msgs/Pose\n").count(), 1);
        assert!(schema("nope/msg/Nope").is_none());
        for (name, _) in DEFINITIONS {
            assert!(schema(name).is_some(), "{name}");
        }
    }

    #[test]
    fn metadata_yaml_has_what_rosbag2_requires() {
        let topics = [BagTopic {
            name: "/joint_state",
            ros_type: crate::link::types::JointState::TYPE,
            messages: 3,
        }];
        let y = bag_metadata("e.mcap", 10, 30, &topics, &BTreeMap::new());
        for key in [
            "version: 8",
            "storage_identifier: mcap",
            "nanoseconds: 20",
            "nanoseconds_since_epoch: 10",
            "message_count: 3",
            "type: sensor_msgs/msg/JointState",
            "serialization_format: cdr",
            "relative_file_paths:",
            "custom_data: {}",
            "ros_distro: jazzy",
        ] {
            assert!(y.contains(key), "{key} in\n{y}");
        }
    }
}
