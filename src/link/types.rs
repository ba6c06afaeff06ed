//! The ROS 2 message types the bridge speaks, field for field as in their `.msg` files (ROS 2
//! Jazzy), in declaration order: serde's field order is the CDR order. Each top-level type
//! carries its ROS name and its pinned REP-2016 type hash ([`Message::TYPE`]).
//!
//! The hashes were computed by `rosbags` 0.11.9 (`get_typestore(Stores.ROS2_JAZZY).hash_rihs01`)
//! and are re-checked against it by `tests/integration/link.rs`.

use serde::{Deserialize, Serialize};

/// A ROS 2 message type: its name, the name rmw_zenoh puts in key expressions, its type hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosType {
    /// `pkg/msg/Name`, as ROS tools print it.
    pub name: &'static str,
    /// `pkg::msg::dds_::Name_`: the DDS mangling rmw_zenoh uses in key expressions and tokens.
    pub dds_name: &'static str,
    /// `RIHS01_<sha256 hex>` (REP-2016).
    pub hash: &'static str,
}

/// A message that crosses the wire: serde gives its CDR layout, `TYPE` its identity.
pub trait Message: Serialize + for<'de> Deserialize<'de> {
    const TYPE: RosType;
}

/// `impl Message` for each type (its ROS name is its Rust name), and [`ALL_TYPES`].
macro_rules! ros_types {
    ($($t:ident, $pkg:literal, $hash:literal;)*) => {
        $(impl Message for $t {
            const TYPE: RosType = RosType {
                name: concat!($pkg, "/msg/", stringify!($t)),
                dds_name: concat!($pkg, "::msg::dds_::", stringify!($t), "_"),
                hash: $hash,
            };
        })*

        /// Every type of this module, for tests and tools that check them all.
        pub const ALL_TYPES: [RosType; [$($hash),*].len()] = [$($t::TYPE),*];
    };
}

// ---------------------------------------------------------------- builtin_interfaces

/// `builtin_interfaces/msg/Time`: seconds and nanoseconds since the epoch of the sender's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Time {
    pub sec: i32,
    pub nanosec: u32,
}

impl Time {
    /// From nanoseconds (seconds saturate at `i32::MAX`, as a 2038 clock would).
    pub fn from_ns(ns: u64) -> Time {
        Time {
            sec: (ns / 1_000_000_000).min(i32::MAX as u64) as i32,
            nanosec: (ns % 1_000_000_000) as u32,
        }
    }

    /// Nanoseconds; a negative time gives 0.
    pub fn to_ns(self) -> u64 {
        if self.sec < 0 {
            return 0;
        }
        self.sec as u64 * 1_000_000_000 + u64::from(self.nanosec)
    }
}

/// `builtin_interfaces/msg/Duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duration {
    pub sec: i32,
    pub nanosec: u32,
}

impl Duration {
    /// From a non-negative length in nanoseconds (seconds saturate at `i32::MAX`).
    pub fn from_ns(ns: u64) -> Duration {
        let Time { sec, nanosec } = Time::from_ns(ns);
        Duration { sec, nanosec }
    }

    /// From seconds (negative and NaN give zero).
    pub fn from_secs_f64(s: f64) -> Duration {
        Duration::from_ns(if s > 0.0 { (s * 1e9).round() as u64 } else { 0 })
    }
}

// ---------------------------------------------------------------- std_msgs

/// `std_msgs/msg/Header`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub stamp: Time,
    pub frame_id: String,
}

/// `std_msgs/msg/MultiArrayDimension`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiArrayDimension {
    pub label: String,
    pub size: u32,
    pub stride: u32,
}

/// `std_msgs/msg/MultiArrayLayout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiArrayLayout {
    pub dim: Vec<MultiArrayDimension>,
    pub data_offset: u32,
}

/// `std_msgs/msg/Float64MultiArray`: what ros2_control's forward command controllers take.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Float64MultiArray {
    pub layout: MultiArrayLayout,
    pub data: Vec<f64>,
}

// ---------------------------------------------------------------- sensor_msgs

/// `sensor_msgs/msg/JointState`: names with positions, velocities, efforts (each empty or one
/// per name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointState {
    pub header: Header,
    pub name: Vec<String>,
    pub position: Vec<f64>,
    pub velocity: Vec<f64>,
    pub effort: Vec<f64>,
}

/// `sensor_msgs/msg/CompressedImage`: `format` is e.g. `"jpeg"`; `data` the encoded bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressedImage {
    pub header: Header,
    pub format: String,
    /// `uint8[]`, written and read as one block (not byte by byte).
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

// ---------------------------------------------------------------- trajectory_msgs

/// `trajectory_msgs/msg/JointTrajectoryPoint`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointTrajectoryPoint {
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
    pub accelerations: Vec<f64>,
    pub effort: Vec<f64>,
    pub time_from_start: Duration,
}

/// `trajectory_msgs/msg/JointTrajectory`: what ros2_control's joint trajectory controller takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointTrajectory {
    pub header: Header,
    pub joint_names: Vec<String>,
    pub points: Vec<JointTrajectoryPoint>,
}

// ---------------------------------------------------------------- geometry_msgs, tf2_msgs

/// `geometry_msgs/msg/Vector3`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Vector3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// `geometry_msgs/msg/Point`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// `geometry_msgs/msg/Quaternion` (its `.msg` default is the identity, `w = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quaternion {
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub w: f64,
}

impl Default for Quaternion {
    fn default() -> Self {
        Quaternion {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            w: 1.0,
        }
    }
}

/// `geometry_msgs/msg/Transform`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    pub translation: Vector3,
    pub rotation: Quaternion,
}

/// `geometry_msgs/msg/TransformStamped`: `header.frame_id` is the parent, `child_frame_id` the
/// child (`transform` = `parent_from_child`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransformStamped {
    pub header: Header,
    pub child_frame_id: String,
    pub transform: Transform,
}

/// `tf2_msgs/msg/TFMessage`: what `/tf` and `/tf_static` carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TFMessage {
    pub transforms: Vec<TransformStamped>,
}

/// `geometry_msgs/msg/Pose`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    pub position: Point,
    pub orientation: Quaternion,
}

/// `geometry_msgs/msg/PoseStamped`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoseStamped {
    pub header: Header,
    pub pose: Pose,
}

/// `diagnostic_msgs/msg/KeyValue`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `diagnostic_msgs/msg/DiagnosticStatus`: what the robot process says of itself (its mode in
/// `message`, the rest as key/value pairs). `level` is one of the `DiagnosticStatus::*` levels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticStatus {
    pub level: u8,
    pub name: String,
    pub message: String,
    pub hardware_id: String,
    pub values: Vec<KeyValue>,
}

impl DiagnosticStatus {
    pub const OK: u8 = 0;
    pub const WARN: u8 = 1;
    pub const ERROR: u8 = 2;
    pub const STALE: u8 = 3;
}

// ---------------------------------------------------------------- identities

ros_types! {
    Time, "builtin_interfaces", "RIHS01_b106235e25a4c5ed35098aa0a61a3ee9c9b18d197f398b0e4206cea9acf9c197";
    Duration, "builtin_interfaces", "RIHS01_e8d009f659816f758b75334ee1a9ca5b5c0b859843261f14c7f937349599d93b";
    Header, "std_msgs", "RIHS01_f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01";
    MultiArrayDimension, "std_msgs", "RIHS01_5e773a60a4c7fc8a54985f307c7837aa2994252a126c301957a24e31282c9cbe";
    MultiArrayLayout, "std_msgs", "RIHS01_4c66e6f78e740ac103a94cf63259f968e48c617e7699e829b63c21a5cb50dac6";
    Float64MultiArray, "std_msgs", "RIHS01_1025ddc6b9552d191f89ef1a8d2f60f3d373e28b283d8891ddcc974e8c55397f";
    JointState, "sensor_msgs", "RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e";
    CompressedImage, "sensor_msgs", "RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a";
    JointTrajectoryPoint, "trajectory_msgs", "RIHS01_de8907036d8bd45aac6f30cc9044a3d4a329c42cbf719aff7d95a584cfa532d7";
    JointTrajectory, "trajectory_msgs", "RIHS01_179b33eba59d676f6d967ac71fe35e7ca2f64b2f3928f4a018cec115e213796e";
    Vector3, "geometry_msgs", "RIHS01_cc12fe83e4c02719f1ce8070bfd14aecd40f75a96696a67a2a1f37f7dbb0765d";
    Point, "geometry_msgs", "RIHS01_6963084842a9b04494d6b2941d11444708d892da2f4b09843b9c43f42a7f6881";
    Quaternion, "geometry_msgs", "RIHS01_8a765f66778c8ff7c8ab94afcc590a2ed5325a1d9a076ffff38fbce36f458684";
    Transform, "geometry_msgs", "RIHS01_beb83fbe698636351461f6f35d1abb20010c43d55374d81bd041f1ba2581fddc";
    TransformStamped, "geometry_msgs", "RIHS01_0a241f87d04668d94099cbb5ba11691d5ad32c2f29682e4eb5653424bd275206";
    TFMessage, "tf2_msgs", "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087";
    Pose, "geometry_msgs", "RIHS01_d501954e9476cea2996984e812054b68026ae0bfae789d9a10b23daf35cc90fa";
    PoseStamped, "geometry_msgs", "RIHS01_10f3786d7d40fd2b54367835614bff85d4ad3b5dab62bf8bca0cc232d73b4cd8";
    KeyValue, "diagnostic_msgs", "RIHS01_d68081eaa540288c5440753baecef0c4e16e81a5f78ad68902ded5100413bb42";
    DiagnosticStatus, "diagnostic_msgs", "RIHS01_b0e3e692ea2d54a8af2f4ef1930e81556a2db55216b771f8a7d2724ed47bf0e4";
}
