//! The wire format checked against an independent implementation: Python's `rosbags` (its
//! bundled ROS 2 Jazzy type store, `serialize_cdr`/`deserialize_cdr`, `hash_rihs01`). For every
//! message type: our bytes decode there to the same values (and re-encode there to the same
//! bytes), bytes it builds decode here to the same values, and the pinned type hashes are the
//! ones it computes. Values are compared as JSON: our serde field names are the ROS field names.

use std::process::Command;

use serde::Serialize;
use serde_json::{Value, json};
use teleop_bridge::link::types::*;
use teleop_bridge::link::{Message, decode, encode};

/// Whether `python3` can import `rosbags`. Under CI a missing module is a failure.
fn rosbags_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import rosbags.typesys, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        super::common::skip(
            "link golden tests against rosbags",
            "python3 cannot import rosbags (.ci/run installs it: pip install rosbags==0.11.9)",
        );
    }
    ok
}

/// Runs a Python program with `stdin` as its input; its stdout parsed as JSON.
fn python_json(program: &str, stdin: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Python: a rosbags message (or nested value) as plain JSON values.
const TO_PLAIN: &str = r#"
import json, sys
import numpy as np
from rosbags.typesys import Stores, get_typestore
ts = get_typestore(Stores.ROS2_JAZZY)
def plain(m):
    if hasattr(m, "__dataclass_fields__"):
        # Constants (DiagnosticStatus.OK …) are upper case; ROS field names never are.
        return {k: plain(getattr(m, k)) for k in m.__dataclass_fields__
                if k != "__msgtype__" and not k.isupper()}
    if isinstance(m, np.ndarray):
        return m.tolist()
    if isinstance(m, (list, tuple)):
        return [plain(x) for x in m]
    if isinstance(m, np.generic):
        return m.item()
    return m
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn header(sec: i32, nanosec: u32, frame: &str) -> Header {
    Header {
        stamp: Time { sec, nanosec },
        frame_id: frame.into(),
    }
}

/// One non-trivial value of every type, encoded: (ROS name, our bytes, our JSON).
fn samples() -> Vec<(&'static str, Vec<u8>, Value)> {
    fn one<M: Message + Serialize>(m: M) -> (&'static str, Vec<u8>, Value) {
        let mut bytes = Vec::new();
        encode(&m, &mut bytes).unwrap();
        (M::TYPE.name, bytes, serde_json::to_value(&m).unwrap())
    }
    let q = Quaternion {
        x: 0.1,
        y: -0.2,
        z: 1.0 / 3.0,
        w: 0.9,
    };
    vec![
        one(Time {
            sec: -5,
            nanosec: 999_999_999,
        }),
        one(Duration {
            sec: 2,
            nanosec: 20_000_000,
        }),
        one(header(1_700_000_000, 123, "base_link")),
        one(JointState {
            header: header(1, 2, ""),
            name: vec!["left_shoulder_pitch".into(), "ü".into(), "c".into()],
            position: vec![0.1, -1.5e-300, 3.0],
            velocity: vec![1.0, 2.0, 1e300],
            effort: vec![],
        }),
        one(CompressedImage {
            header: header(3, 4, "head_left_camera"),
            format: "jpeg".into(),
            data: vec![0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 0xd9],
        }),
        one(Float64MultiArray {
            layout: MultiArrayLayout {
                dim: vec![MultiArrayDimension {
                    label: "joints".into(),
                    size: 2,
                    stride: 2,
                }],
                data_offset: 1,
            },
            data: vec![0.5, -0.25],
        }),
        one(Float64MultiArray {
            layout: MultiArrayLayout::default(),
            data: vec![1.0, 2.0, 3.0],
        }),
        one(JointTrajectory {
            header: header(0, 0, "base"),
            joint_names: vec!["a".into(), "bb".into()],
            points: vec![
                JointTrajectoryPoint {
                    positions: vec![0.1, 0.2],
                    velocities: vec![0.0, -0.5],
                    accelerations: vec![],
                    effort: vec![7.0, 8.0],
                    time_from_start: Duration {
                        sec: 0,
                        nanosec: 20_000_000,
                    },
                },
                JointTrajectoryPoint {
                    positions: vec![0.3, 0.4],
                    time_from_start: Duration { sec: 1, nanosec: 0 },
                    ..JointTrajectoryPoint::default()
                },
            ],
        }),
        one(TFMessage {
            transforms: vec![
                TransformStamped {
                    header: header(5, 6, "world"),
                    child_frame_id: "pelvis".into(),
                    transform: Transform {
                        translation: Vector3 {
                            x: 1.0,
                            y: 2.0,
                            z: 0.75,
                        },
                        rotation: q,
                    },
                },
                TransformStamped {
                    header: header(5, 6, "pelvis"),
                    child_frame_id: "torso_link".into(),
                    transform: Transform::default(),
                },
            ],
        }),
        one(PoseStamped {
            header: header(7, 8, "world"),
            pose: Pose {
                position: Point {
                    x: -1.0,
                    y: 0.0,
                    z: 1e-9,
                },
                orientation: q,
            },
        }),
        one(DiagnosticStatus {
            level: DiagnosticStatus::WARN,
            name: "teleop_robot".into(),
            message: "HOLD".into(),
            hardware_id: "g1".into(),
            values: vec![
                KeyValue {
                    key: "command_age_ms".into(),
                    value: "120".into(),
                },
                KeyValue {
                    key: "holder".into(),
                    value: String::new(),
                },
            ],
        }),
    ]
}

/// Decodes `bytes` as the named type (one of ours) and re-encodes it, as JSON.
fn ours(name: &str, bytes: &[u8]) -> (Value, Vec<u8>) {
    fn go<M: Message + Serialize>(bytes: &[u8]) -> (Value, Vec<u8>) {
        let m: M = decode(bytes).unwrap_or_else(|e| panic!("{}: {e}", M::TYPE.name));
        let mut again = Vec::new();
        encode(&m, &mut again).unwrap();
        (serde_json::to_value(&m).unwrap(), again)
    }
    match name {
        "builtin_interfaces/msg/Time" => go::<Time>(bytes),
        "builtin_interfaces/msg/Duration" => go::<Duration>(bytes),
        "std_msgs/msg/Header" => go::<Header>(bytes),
        "std_msgs/msg/MultiArrayDimension" => go::<MultiArrayDimension>(bytes),
        "std_msgs/msg/MultiArrayLayout" => go::<MultiArrayLayout>(bytes),
        "std_msgs/msg/Float64MultiArray" => go::<Float64MultiArray>(bytes),
        "sensor_msgs/msg/JointState" => go::<JointState>(bytes),
        "sensor_msgs/msg/CompressedImage" => go::<CompressedImage>(bytes),
        "trajectory_msgs/msg/JointTrajectoryPoint" => go::<JointTrajectoryPoint>(bytes),
        "trajectory_msgs/msg/JointTrajectory" => go::<JointTrajectory>(bytes),
        "geometry_msgs/msg/Vector3" => go::<Vector3>(bytes),
        "geometry_msgs/msg/Point" => go::<Point>(bytes),
        "geometry_msgs/msg/Quaternion" => go::<Quaternion>(bytes),
        "geometry_msgs/msg/Transform" => go::<Transform>(bytes),
        "geometry_msgs/msg/TransformStamped" => go::<TransformStamped>(bytes),
        "tf2_msgs/msg/TFMessage" => go::<TFMessage>(bytes),
        "geometry_msgs/msg/Pose" => go::<Pose>(bytes),
        "geometry_msgs/msg/PoseStamped" => go::<PoseStamped>(bytes),
        "diagnostic_msgs/msg/KeyValue" => go::<KeyValue>(bytes),
        "diagnostic_msgs/msg/DiagnosticStatus" => go::<DiagnosticStatus>(bytes),
        other => panic!("no Rust type for {other}"),
    }
}

#[test]
fn link_rust_bytes_decode_in_rosbags_to_the_same_values_and_bytes() {
    if !rosbags_available() {
        return;
    }
    let samples = samples();
    let input: Vec<Value> = samples
        .iter()
        .map(|(name, bytes, _)| json!({"type": name, "hex": hex(bytes)}))
        .collect();
    let program = format!(
        "{TO_PLAIN}
out = []
for s in json.load(sys.stdin):
    raw = bytes.fromhex(s['hex'])
    m = ts.deserialize_cdr(raw, s['type'])
    again = bytes(ts.serialize_cdr(m, s['type']))
    out.append({{'value': plain(m), 'hex': again.hex()}})
json.dump(out, sys.stdout)
"
    );
    let got = python_json(&program, &Value::Array(input).to_string());
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), samples.len());
    for ((name, bytes, value), theirs) in samples.iter().zip(got) {
        assert_eq!(
            &theirs["value"], value,
            "{name}: values as rosbags reads our bytes"
        );
        assert_eq!(
            theirs["hex"].as_str().unwrap(),
            hex(bytes),
            "{name}: rosbags re-encodes our message to other bytes"
        );
    }
}

#[test]
fn link_rosbags_bytes_decode_in_rust_to_the_same_values() {
    if !rosbags_available() {
        return;
    }
    // Messages built on the Python side only, from rosbags' own classes.
    let program = format!(
        r#"{TO_PLAIN}
T = ts.types
def t(name): return T[name]
Time = t("builtin_interfaces/msg/Time"); Dur = t("builtin_interfaces/msg/Duration")
Header = t("std_msgs/msg/Header")
def hdr(s, n, f): return Header(stamp=Time(sec=s, nanosec=n), frame_id=f)
f64 = lambda xs: np.array(xs, dtype=np.float64)
V3 = t("geometry_msgs/msg/Vector3"); Q = t("geometry_msgs/msg/Quaternion"); P = t("geometry_msgs/msg/Point")
Tr = t("geometry_msgs/msg/Transform"); TS = t("geometry_msgs/msg/TransformStamped")
Pt = t("trajectory_msgs/msg/JointTrajectoryPoint")
Dim = t("std_msgs/msg/MultiArrayDimension"); Lay = t("std_msgs/msg/MultiArrayLayout")
q = Q(x=0.5, y=-0.5, z=0.5, w=-0.5)
msgs = [
  Time(sec=2147483647, nanosec=1),
  Dur(sec=-1, nanosec=500),
  hdr(1, 2, "odom"),
  t("sensor_msgs/msg/JointState")(header=hdr(10, 20, "x"), name=["j1", "j2"], position=f64([0.25, 1/7]),
      velocity=f64([]), effort=f64([-3.5, 4.0])),
  t("sensor_msgs/msg/CompressedImage")(header=hdr(0, 1, "cam"), format="jpeg",
      data=np.frombuffer(bytes(range(256)) * 3 + b"\xff", dtype=np.uint8)),
  t("std_msgs/msg/Float64MultiArray")(layout=Lay(dim=[Dim(label="rows", size=2, stride=4), Dim(label="cols", size=2, stride=2)],
      data_offset=0), data=f64([1, 2, 3, 4])),
  t("trajectory_msgs/msg/JointTrajectory")(header=hdr(0, 0, ""), joint_names=["x"],
      points=[Pt(positions=f64([1.5]), velocities=f64([]), accelerations=f64([0.1]), effort=f64([]),
                 time_from_start=Dur(sec=0, nanosec=4000000))]),
  t("tf2_msgs/msg/TFMessage")(transforms=[TS(header=hdr(9, 9, "map"), child_frame_id="odom",
      transform=Tr(translation=V3(x=0.0, y=-0.0, z=1e-310), rotation=q))]),
  t("tf2_msgs/msg/TFMessage")(transforms=[]),
  t("geometry_msgs/msg/PoseStamped")(header=hdr(3, 3, "world"),
      pose=t("geometry_msgs/msg/Pose")(position=P(x=1.0, y=2.0, z=3.0), orientation=q)),
]
out = [{{"type": m.__msgtype__, "hex": bytes(ts.serialize_cdr(m, m.__msgtype__)).hex(), "value": plain(m)}} for m in msgs]
json.dump(out, sys.stdout)
"#
    );
    let got = python_json(&program, "");
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 10);
    for m in got {
        let name = m["type"].as_str().unwrap();
        let bytes = unhex(m["hex"].as_str().unwrap());
        let (value, again) = ours(name, &bytes);
        assert_eq!(
            value, m["value"],
            "{name}: values as we read rosbags' bytes"
        );
        assert_eq!(
            hex(&again),
            hex(&bytes),
            "{name}: we re-encode rosbags' message to other bytes"
        );
    }
}

#[test]
fn link_type_hashes_are_the_ones_rosbags_computes() {
    if !rosbags_available() {
        return;
    }
    let names: Vec<&str> = ALL_TYPES.iter().map(|t| t.name).collect();
    let program = format!(
        "{TO_PLAIN}
json.dump({{n: ts.hash_rihs01(n) for n in json.load(sys.stdin)}}, sys.stdout)
"
    );
    let got = python_json(&program, &serde_json::to_string(&names).unwrap());
    for t in ALL_TYPES {
        assert_eq!(got[t.name], t.hash, "{}", t.name);
    }
}

#[test]
fn link_keys_and_tokens_for_the_bridge() {
    use teleop_bridge::link::names::*;
    use teleop_bridge::link::{Attachment, EntityKind, Gid, NodeInfo, Qos};
    // The robot side of §8 of the network note: /g1/joint_states, published by node
    // teleop_robot in namespace /g1.
    let ns = robot_namespace("g1");
    let fq = fully_qualified(&ns, "joint_states").unwrap();
    assert_eq!(
        topic_key(0, &fq, &JointState::TYPE).unwrap(),
        "0/g1/joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e"
    );
    let node = NodeInfo::new(0, "5a7f", &ns, "teleop_robot").unwrap();
    let token = node
        .endpoint_token(
            1,
            EntityKind::Publisher,
            &fq,
            &JointState::TYPE,
            &Qos::reliable(10),
        )
        .unwrap();
    assert_eq!(
        token,
        "@ros2_lv/0/5a7f/0/1/MP/%/%g1/teleop_robot/%g1%joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e/::,10:,:,:,,"
    );
    // Every token part is non-empty (rmw_zenoh rejects tokens with empty parts) and there are
    // 13 of them for an endpoint, 9 for a node.
    assert_eq!(token.split('/').count(), 13);
    assert!(token.split('/').all(|p| !p.is_empty()));
    assert_eq!(node.node_token().split('/').count(), 9);
    let images = fully_qualified(&ns, "camera/left/image_raw/compressed").unwrap();
    let image_token = node
        .endpoint_token(
            2,
            EntityKind::Publisher,
            &images,
            &CompressedImage::TYPE,
            &Qos::best_effort(1),
        )
        .unwrap();
    assert!(image_token.ends_with(
        "/%g1%camera%left%image_raw%compressed/sensor_msgs::msg::dds_::CompressedImage_/RIHS01_15640771531571185e2efc8a100baf923961a4d15d5569652e6cb6691e8e371a/2::,1:,:,:,,"
    ));
    // The attachment of the first sample of that publisher.
    let a = Attachment {
        sequence_number: 1,
        source_timestamp_ns: 1_764_000_000_000_000_000,
        gid: Gid::of_token(&token),
    };
    let bytes = a.to_bytes();
    assert_eq!(bytes.len(), 33);
    assert_eq!(Attachment::from_bytes(&bytes).unwrap(), a);
}
