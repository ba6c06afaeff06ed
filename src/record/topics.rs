//! The channels of an episode file: topic names, their ROS 2 types, and the structs an episode
//! reads back as (whatever its encoding). Episodes are written in CDR ([`super::ros2`]); the
//! JSON Schemas here are those of the JSON episodes written before, which still read (the
//! structs below are their messages, serde); `/camera/stereo` exists only in those.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One channel of an episode file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Topic {
    Operator,
    Clutch,
    Ik,
    JointCommand,
    JointState,
    Contact,
    Tf,
    CameraLeft,
    CameraRight,
    Latency,
    Annotations,
    /// JSON episodes only: the side-by-side stereo image (`foxglove.CompressedImage`).
    Stereo,
}

impl Topic {
    /// The channels the recorder writes, in channel id order (id = index + 1).
    pub const ALL: [Topic; 11] = [
        Topic::Operator,
        Topic::Clutch,
        Topic::Ik,
        Topic::JointCommand,
        Topic::JointState,
        Topic::Contact,
        Topic::Tf,
        Topic::CameraLeft,
        Topic::CameraRight,
        Topic::Latency,
        Topic::Annotations,
    ];

    /// The channels of a JSON episode (the format written before CDR), in its channel order.
    pub const JSON: [Topic; 10] = [
        Topic::Operator,
        Topic::Clutch,
        Topic::Ik,
        Topic::JointCommand,
        Topic::JointState,
        Topic::Contact,
        Topic::Tf,
        Topic::Stereo,
        Topic::Latency,
        Topic::Annotations,
    ];

    /// The camera channels, per eye.
    pub const CAMERAS: [Topic; 2] = [Topic::CameraLeft, Topic::CameraRight];

    /// The channels written once per control tick (what a dropped tick loses).
    pub const PER_TICK: [Topic; 6] = [
        Topic::Ik,
        Topic::JointCommand,
        Topic::JointState,
        Topic::Contact,
        Topic::Tf,
        Topic::Latency,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Topic::Operator => "/operator",
            Topic::Clutch => "/clutch",
            Topic::Ik => "/ik",
            Topic::JointCommand => "/joint_command",
            Topic::JointState => "/joint_state",
            Topic::Contact => "/contact",
            Topic::Tf => "/tf",
            Topic::CameraLeft => "/camera/left/image/compressed",
            Topic::CameraRight => "/camera/right/image/compressed",
            Topic::Stereo => "/camera/stereo",
            Topic::Latency => "/latency",
            Topic::Annotations => "/annotations",
        }
    }

    pub fn from_name(name: &str) -> Option<Topic> {
        Topic::ALL
            .into_iter()
            .chain([Topic::Stereo])
            .find(|t| t.name() == name)
    }

    /// The channel's ROS 2 type (the legacy stereo channel's is one eye's).
    pub fn ros_type(self) -> crate::link::RosType {
        use super::ros2;
        use crate::link::{Message, types};
        match self {
            Topic::Operator => ros2::OperatorFrame::TYPE,
            Topic::Clutch => ros2::ClutchState::TYPE,
            Topic::Ik => ros2::IkStep::TYPE,
            Topic::JointCommand | Topic::JointState => types::JointState::TYPE,
            Topic::Contact => ros2::ContactForces::TYPE,
            Topic::Tf => types::TFMessage::TYPE,
            Topic::CameraLeft | Topic::CameraRight | Topic::Stereo => types::CompressedImage::TYPE,
            Topic::Latency => ros2::TickTiming::TYPE,
            Topic::Annotations => ros2::Annotation::TYPE,
        }
    }

    /// The JSON episode's schema name: Foxglove's where one fit.
    pub fn schema_name(self) -> &'static str {
        match self {
            Topic::Operator => "teleop.OperatorFrame",
            Topic::Clutch => "teleop.ClutchState",
            Topic::Ik => "teleop.IkStep",
            Topic::JointCommand => "teleop.JointCommand",
            Topic::JointState => "teleop.JointState",
            Topic::Contact => "teleop.ContactForces",
            Topic::Tf => "foxglove.FrameTransforms",
            Topic::CameraLeft | Topic::CameraRight | Topic::Stereo => "foxglove.CompressedImage",
            Topic::Latency => "teleop.Latency",
            Topic::Annotations => "teleop.Annotation",
        }
    }

    /// What the channel holds, one line (channel metadata and the README's table).
    pub fn description(self) -> &'static str {
        match self {
            Topic::Operator => {
                "raw operator frames as the source gave them: head, controllers, buttons, validity"
            }
            Topic::Clutch => {
                "clutch state per end-effector and the stage→base calibration, on change"
            }
            Topic::Ik => "IK targets (base_from_tool) and residuals, every tick",
            Topic::JointCommand => "joint position and velocity commands after the safety filter",
            Topic::JointState => "measured joint position, velocity, effort",
            Topic::Contact => "contact force per link (N), fingertips included",
            Topic::Tf => {
                "world_from_link of tools and cameras (measured), base_from_tool (commanded)"
            }
            Topic::CameraLeft => "the left eye's camera frames, JPEG, at the configured rate",
            Topic::CameraRight => "the right eye's camera frames, JPEG, at the configured rate",
            Topic::Stereo => "side-by-side stereo camera frames, JPEG, at the configured rate",
            Topic::Latency => "per-stage durations of the tick and the operator frame's age",
            Topic::Annotations => "episode events and operator markers",
        }
    }

    /// The JSON Schema of the channel's messages in a JSON episode.
    pub fn schema(self) -> Value {
        let times = json!({
            "mono_ns": {"type": "integer", "description": "monotonic time (ns)"},
            "wall_ns": {"type": "integer", "description": "wall clock (ns since the Unix epoch)"}
        });
        let pose = json!({
            "type": "object",
            "properties": {
                "position": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                "orientation": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                    "description": "quaternion x, y, z, w"}
            },
            "required": ["position", "orientation"]
        });
        let numbers = json!({"type": "array", "items": {"type": "number"}});
        let hand = json!({
            "type": "object",
            "properties": {
                "valid": {"type": "boolean"},
                "grip": {"anyOf": [pose, {"type": "null"}], "description": "stage_from_grip"},
                "trigger": {"type": "number"}, "squeeze": {"type": "number"},
                "primary": {"type": "boolean"}, "secondary": {"type": "boolean"},
                "menu": {"type": "boolean"},
                "joints": {"anyOf": [
                        {"type": "array", "minItems": 26, "maxItems": 26,
                         "items": {"anyOf": [pose, {"type": "null"}]}},
                        {"type": "null"}],
                    "description": "hand tracking: stage_from_joint for the 26 XR_EXT_hand_tracking joints in XR_HAND_JOINT_* order (null: not tracked); null without hand tracking"}
            },
            "required": ["valid", "grip", "trigger", "squeeze", "primary", "secondary", "menu"]
        });
        let stamp = json!({
            "type": "object",
            "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}},
            "required": ["sec", "nsec"]
        });
        let (mut properties, required): (Value, &[&str]) = match self {
            Topic::Operator => (
                json!({
                    "frame_time_ns": {"type": "integer", "description": "the source's sample time (monotonic ns)"},
                    "head_valid": {"type": "boolean"},
                    "head": {"anyOf": [pose, {"type": "null"}], "description": "stage_from_head"},
                    "left": hand, "right": hand
                }),
                &["frame_time_ns", "head_valid", "head", "left", "right"],
            ),
            Topic::Clutch => (
                json!({
                    "outcome": {"enum": ["tracking", "no_clutch", "stale"]},
                    "end_effectors": {"type": "array", "items": {"type": "string"}},
                    "engaged": {"type": "array", "items": {"type": "boolean"}},
                    "base_from_stage": pose
                }),
                &["outcome", "end_effectors", "engaged", "base_from_stage"],
            ),
            Topic::Ik => (
                json!({
                    "ran": {"type": "boolean"}, "ok": {"type": "boolean"},
                    "position_error_m": {"type": ["number", "null"]},
                    "rotation_error_rad": {"type": ["number", "null"]},
                    "iterations": {"type": "integer"},
                    "targets": {"type": "array", "items": pose, "description": "base_from_tool per end-effector"}
                }),
                &[
                    "ran",
                    "ok",
                    "position_error_m",
                    "rotation_error_rad",
                    "iterations",
                    "targets",
                ],
            ),
            Topic::JointCommand => (
                json!({"position": numbers, "velocity": numbers}),
                &["position", "velocity"],
            ),
            Topic::JointState => (
                json!({
                    "state_ns": {"type": "integer", "description": "the robot's time of the reading"},
                    "position": numbers, "velocity": numbers, "effort": numbers
                }),
                &["state_ns", "position", "velocity", "effort"],
            ),
            Topic::Contact => (json!({"force": numbers}), &["force"]),
            Topic::Tf => (
                json!({"transforms": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "timestamp": stamp,
                        "parent_frame_id": {"type": "string"},
                        "child_frame_id": {"type": "string"},
                        "translation": {"type": "object", "properties": {
                            "x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"}}},
                        "rotation": {"type": "object", "properties": {
                            "x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"},
                            "w": {"type": "number"}}}
                    },
                    "required": ["timestamp", "parent_frame_id", "child_frame_id", "translation", "rotation"]
                }}}),
                &["transforms"],
            ),
            Topic::CameraLeft | Topic::CameraRight | Topic::Stereo => (
                json!({
                    "timestamp": stamp,
                    "frame_id": {"type": "string"},
                    "data": {"type": "string", "contentEncoding": "base64"},
                    "format": {"type": "string"},
                    "width": {"type": "integer"}, "height": {"type": "integer"}
                }),
                &["timestamp", "frame_id", "data", "format", "width", "height"],
            ),
            Topic::Latency => (
                json!({
                    "frame_age_ns": {"type": ["integer", "null"]},
                    "retarget_ns": {"type": "integer"}, "ik_ns": {"type": "integer"},
                    "safety_ns": {"type": "integer"}, "robot_ns": {"type": "integer"},
                    "tick_ns": {"type": "integer"}
                }),
                &[
                    "frame_age_ns",
                    "retarget_ns",
                    "ik_ns",
                    "safety_ns",
                    "robot_ns",
                    "tick_ns",
                ],
            ),
            Topic::Annotations => (
                json!({"label": {"type": "string"}, "outcome": {"type": ["string", "null"]}}),
                &["label", "outcome"],
            ),
        };
        if let (Some(p), Some(t)) = (properties.as_object_mut(), times.as_object()) {
            p.extend(t.clone());
        }
        let mut required: Vec<&str> = required.to_vec();
        required.extend(["mono_ns", "wall_ns"]);
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.schema_name(),
            "description": self.description(),
            "type": "object",
            "properties": properties,
            "required": required
        })
    }
}

/// A pose as JSON: position (m) and unit quaternion `[x, y, z, w]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PoseMsg {
    pub position: [f64; 3],
    pub orientation: [f64; 4],
}

impl PoseMsg {
    pub fn from_isometry(p: &nalgebra::Isometry3<f64>) -> PoseMsg {
        let q = p.rotation.coords;
        PoseMsg {
            position: p.translation.vector.into(),
            orientation: [q.x, q.y, q.z, q.w],
        }
    }

    /// A computed pose (IK target), to 1e-9.
    pub fn from_matrix(p: &nalgebra::IsometryMatrix3<f64>) -> PoseMsg {
        let q = nalgebra::UnitQuaternion::from_rotation_matrix(&p.rotation);
        let m = PoseMsg::from_isometry(&nalgebra::Isometry3::from_parts(p.translation, q));
        PoseMsg {
            position: m.position.map(nano),
            orientation: m.orientation.map(nano),
        }
    }

    pub fn to_isometry(self) -> nalgebra::Isometry3<f64> {
        let [x, y, z, w] = self.orientation;
        nalgebra::Isometry3::from_parts(
            nalgebra::Translation3::from(nalgebra::Vector3::from(self.position)),
            // Recorded from a unit quaternion: renormalising would change its last bits.
            nalgebra::UnitQuaternion::new_unchecked(nalgebra::Quaternion::new(w, x, y, z)),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandMsg {
    pub valid: bool,
    pub grip: Option<PoseMsg>,
    pub trigger: f64,
    pub squeeze: f64,
    pub primary: bool,
    pub secondary: bool,
    pub menu: bool,
    /// `stage_from_joint` per hand-tracking joint (26, `XR_HAND_JOINT_*` order), `None` where not
    /// tracked; `None` altogether without hand tracking.
    pub joints: Option<Vec<Option<PoseMsg>>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub frame_time_ns: u64,
    pub head_valid: bool,
    pub head: Option<PoseMsg>,
    pub left: HandMsg,
    pub right: HandMsg,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClutchMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub outcome: String,
    pub end_effectors: Vec<String>,
    pub engaged: Vec<bool>,
    pub base_from_stage: PoseMsg,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IkMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub ran: bool,
    pub ok: bool,
    pub position_error_m: Option<f64>,
    pub rotation_error_rad: Option<f64>,
    pub iterations: u32,
    pub targets: Vec<PoseMsg>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointCommandMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub position: Vec<f64>,
    pub velocity: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JointStateMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub state_ns: u64,
    pub position: Vec<f64>,
    pub velocity: Vec<f64>,
    pub effort: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub force: Vec<f64>,
}

/// Foxglove's time stamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub sec: u64,
    pub nsec: u32,
}

impl Stamp {
    pub fn from_ns(ns: u64) -> Stamp {
        Stamp {
            sec: ns / 1_000_000_000,
            nsec: (ns % 1_000_000_000) as u32,
        }
    }
}

/// Foxglove's vector and quaternion have the fields of ROS 2's.
pub type Vector3Msg = crate::link::types::Vector3;
pub type QuaternionMsg = crate::link::types::Quaternion;

/// `foxglove.FrameTransform`: `parent_from_child`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameTransformMsg {
    pub timestamp: Stamp,
    pub parent_frame_id: String,
    pub child_frame_id: String,
    pub translation: Vector3Msg,
    pub rotation: QuaternionMsg,
}

impl FrameTransformMsg {
    pub fn set_pose(&mut self, p: &nalgebra::IsometryMatrix3<f64>) {
        let q = nalgebra::UnitQuaternion::from_rotation_matrix(&p.rotation).coords;
        let t = p.translation.vector;
        self.translation = Vector3Msg {
            x: nano(t.x),
            y: nano(t.y),
            z: nano(t.z),
        };
        self.rotation = QuaternionMsg {
            x: nano(q.x),
            y: nano(q.y),
            z: nano(q.z),
            w: nano(q.w),
        };
    }
}

/// `foxglove.FrameTransforms`, plus our times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameTransformsMsg {
    pub transforms: Vec<FrameTransformMsg>,
    pub mono_ns: u64,
    pub wall_ns: u64,
}

/// `foxglove.CompressedImage` (JPEG, base64 in JSON), plus our times and the size: a camera
/// frame as read back (from CDR: one eye, its size from the JPEG header).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompressedImageMsg {
    pub timestamp: Stamp,
    pub frame_id: String,
    /// The JPEG bytes (base64 text in JSON).
    #[serde(with = "super::base64::text")]
    pub data: Vec<u8>,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub mono_ns: u64,
    pub wall_ns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub frame_age_ns: Option<u64>,
    pub retarget_ns: u64,
    pub ik_ns: u64,
    pub safety_ns: u64,
    pub robot_ns: u64,
    pub tick_ns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnnotationMsg {
    pub mono_ns: u64,
    pub wall_ns: u64,
    pub label: String,
    pub outcome: Option<String>,
}

/// `x` to 1e-9 (nm, nrad, nN): measured and computed values carry no more, and the shorter
/// decimal text compresses far better than 17 significant digits of noise.
pub fn nano(x: f64) -> f64 {
    let r = (x * 1e9).round() / 1e9;
    if r.is_finite() { r } else { x }
}

/// `Some(x)` when finite (JSON has no NaN or infinity).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_requires_both_times_and_names_its_topic() {
        for topic in Topic::JSON {
            let schema = topic.schema();
            let required = schema["required"].as_array().unwrap();
            assert!(required.iter().any(|r| r == "mono_ns"), "{topic:?}");
            assert!(required.iter().any(|r| r == "wall_ns"), "{topic:?}");
            for r in required {
                assert!(
                    schema["properties"].get(r.as_str().unwrap()).is_some(),
                    "{topic:?}: {r} required but not described"
                );
            }
            assert_eq!(Topic::from_name(topic.name()), Some(topic));
        }
        for topic in Topic::ALL {
            assert_eq!(
                topic.index(),
                Topic::ALL.iter().position(|t| *t == topic).unwrap()
            );
        }
    }

    #[test]
    fn pose_round_trips_through_json() {
        let p = nalgebra::Isometry3::new(
            nalgebra::Vector3::new(0.1, -0.2, 0.3),
            nalgebra::Vector3::new(0.4, 0.5, -0.6),
        );
        let text = serde_json::to_string(&PoseMsg::from_isometry(&p)).unwrap();
        let back: PoseMsg = serde_json::from_str(&text).unwrap();
        assert!((back.to_isometry().to_homogeneous() - p.to_homogeneous()).norm() < 1e-12);
    }
}
