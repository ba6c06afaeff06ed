//! The robot profile: its TOML shape (serde, unknown keys rejected) and its checks against the
//! robot model (links and joints exist, values are within the URDF's limits).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::hand::{HandMapping, Hands, Scale};
use super::toml_file::{self, FileError};
use crate::model::{JointKind, Model};

/// Why a profile could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable, not TOML, an unknown key, or a value refused naming its key.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{}: urdf: {source}", crate::model::shown_path(.path))]
    Model {
        path: PathBuf,
        #[source]
        source: Box<crate::model::Error>,
    },
}

/// Which of the operator's hands drives an end-effector or a gripper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hand {
    Left,
    Right,
}

/// A tool the operator's hand drives: the chain base → tip, its tip at the hand's grip pose.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndEffector {
    pub name: String,
    pub hand: Hand,
    pub base: String,
    pub tip: String,
    /// The tool centre point in `tip`'s frame (m; default: `tip`'s origin): the point the IK
    /// places, the clutch anchors and the workspace box holds, for a hand whose grasp centre
    /// no link marks (a multi-finger hand's, between its thumb and fingers).
    #[serde(default, deserialize_with = "three_opt")]
    pub tool_offset: Option<[f64; 3]>,
    /// Weight of 1 m of position error in the IK (default 1).
    #[serde(default = "one")]
    pub position_weight: f64,
    /// Weight of 1 rad of orientation error (default 1; 0 = position only).
    #[serde(default = "one")]
    pub rotation_weight: f64,
    /// Tool motion per unit of hand motion (default 1).
    #[serde(default = "one")]
    pub motion_scale: f64,
    /// The box the tool is kept in, in the base link's frame (m); default: unbounded. Exactly
    /// three numbers each.
    #[serde(default, deserialize_with = "three_opt")]
    pub workspace_min: Option<[f64; 3]>,
    #[serde(default, deserialize_with = "three_opt")]
    pub workspace_max: Option<[f64; 3]>,
}

impl EndEffector {
    /// The tool centre in the tip link's frame (m): `tool_offset`, else the tip's origin.
    pub fn tool(&self) -> nalgebra::Vector3<f64> {
        self.tool_offset.unwrap_or_default().into()
    }
}

/// The head: the operator's head orientation drives the chain base → tip (orientation only).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neck {
    pub base: String,
    pub tip: String,
}

/// The stereo pair the trainer looks through: two camera links (`left_link`, `right_link`), or
/// one link carrying a virtual pair `baseline_m` apart (`link`), for a robot with one camera or
/// none. `offset_m` and `pitch_deg` move the eyes off their link (clear of a head's own mesh,
/// or above an arm's base looking down at its work).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StereoCamera {
    #[serde(default)]
    pub left_link: Option<String>,
    #[serde(default)]
    pub right_link: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    /// Distance between the virtual pair's eyes (m); with `link` only. Default: a person's.
    #[serde(default)]
    pub baseline_m: Option<f64>,
    /// Where the eyes' midpoint sits in its link's frame (m; +X forward, +Y left, +Z up).
    #[serde(default, deserialize_with = "three")]
    pub offset_m: [f64; 3],
    /// How far the eyes look down from their link's +X (degrees; negative looks up).
    #[serde(default)]
    pub pitch_deg: f64,
    /// Vertical field of view (degrees).
    pub fov_deg: f64,
    /// Image size of each eye (pixels); default 1280 × 720.
    #[serde(default = "StereoCamera::default_width")]
    pub width: u32,
    #[serde(default = "StereoCamera::default_height")]
    pub height: u32,
}

/// Where one eye sits: a link, and the eye in that link's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EyeMount<'a> {
    pub link: &'a str,
    /// The eye's position in the link's frame (m).
    pub position_m: [f64; 3],
    /// Turn about the link's +Y: positive looks down.
    pub pitch_rad: f64,
}

impl StereoCamera {
    /// The distance between a virtual pair's eyes when the profile names none: about a
    /// person's, so the headset's depth feels natural.
    pub const DEFAULT_BASELINE_M: f64 = 0.064;

    /// Left eye, right eye. A checked profile has either both eye links or `link`.
    pub fn eye_mounts(&self) -> [EyeMount<'_>; 2] {
        let pitch_rad = self.pitch_deg.to_radians();
        let [x, y, z] = self.offset_m;
        match (&self.left_link, &self.right_link, &self.link) {
            (Some(left), Some(right), _) => [left, right].map(|link| EyeMount {
                link,
                position_m: [x, y, z],
                pitch_rad,
            }),
            (_, _, link) => {
                let link = link.as_deref().unwrap_or_default();
                let half = self.baseline_m.unwrap_or(Self::DEFAULT_BASELINE_M) / 2.0;
                [half, -half].map(|dy| EyeMount {
                    link,
                    position_m: [x, y + dy, z],
                    pitch_rad,
                })
            }
        }
    }

    /// The links the eyes ride on (one name twice for a virtual pair).
    pub fn eye_links(&self) -> [&str; 2] {
        self.eye_mounts().map(|m| m.link)
    }

    fn default_width() -> u32 {
        1280
    }

    fn default_height() -> u32 {
        720
    }
}

/// A gripper: the trigger moves `joint` (mimic joints follow) from `open` to `closed`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gripper {
    pub hand: Hand,
    pub joint: String,
    pub open: f64,
    pub closed: f64,
}

/// Per-joint settings that override or add to the URDF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointSettings {
    /// Velocity limit (rad/s or m/s); at most the URDF's.
    pub velocity: Option<f64>,
    /// Acceleration limit (rad/s² or m/s²); URDFs have none.
    pub acceleration: Option<f64>,
    /// Relative cost of moving this joint in the IK (default 1).
    pub weight: Option<f64>,
}

/// Which ros2_control command interface a ROS 2 robot's controller takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ros2Interface {
    /// `forward_command_controller` (position): `std_msgs/msg/Float64MultiArray`, one value
    /// per controller joint in `joints` order.
    ForwardPosition,
    /// `joint_trajectory_controller`: `trajectory_msgs/msg/JointTrajectory`, one point per
    /// command.
    JointTrajectory,
}

/// A ROS 2 robot driven through its own controllers (ros2_control) over rmw_zenoh, without
/// `teleop robot` on its side: `teleop demo|run --connect ENDPOINT` with this profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ros2Control {
    pub interface: Ros2Interface,
    /// The controller's command topic (`/forward_position_controller/commands`).
    pub command_topic: String,
    /// The controller's joints, in its order.
    pub joints: Vec<String>,
    /// Where the robot publishes `sensor_msgs/msg/JointState` (default `/joint_states`).
    #[serde(default = "default_state_topic")]
    pub state_topic: String,
}

fn default_state_topic() -> String {
    "/joint_states".into()
}

/// A robot profile, parsed and checked against its URDF.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    /// The URDF, relative to the profile's folder (made absolute by [`Profile::load`]).
    pub urdf: PathBuf,
    /// The control loop's rate (default 500 Hz).
    #[serde(default = "default_control_rate")]
    pub control_rate_hz: f64,
    /// Acceleration limit for joints without their own (default 10 rad/s²).
    #[serde(default = "default_acceleration")]
    pub default_acceleration: f64,
    /// What the operator's hands drive; may be empty in a hand-only profile (`[hands.*]`).
    #[serde(default, rename = "end_effector")]
    pub end_effectors: Vec<EndEffector>,
    pub neck: Option<Neck>,
    pub camera: Option<StereoCamera>,
    #[serde(default, rename = "gripper")]
    pub grippers: Vec<Gripper>,
    /// Rest posture for the IK's null space, joint name → value; joints not named rest mid-range.
    #[serde(default)]
    pub rest: BTreeMap<String, f64>,
    #[serde(default, rename = "joint")]
    pub joints: BTreeMap<String, JointSettings>,
    /// A ROS 2 robot's own controllers, when `--connect` reaches one directly.
    pub ros2_control: Option<Ros2Control>,
    /// Finger retargeting per robot hand (`[hands.left]`, `[hands.right]`).
    #[serde(default)]
    pub hands: Hands,
    /// The simulator collides the robot's own links with each other (not those within two
    /// joints of each other or touching at the start posture). Off by default: it costs time.
    #[serde(default)]
    pub self_collision: bool,
    /// The simulated robot's links carry no weight of their own, as on a robot whose arms are
    /// counterbalanced (PR2's springs) or whose controllers feed gravity forward; what it holds
    /// still weighs. For URDFs whose effort limits cannot hold the arms up against gravity.
    #[serde(default)]
    pub gravity_compensation: bool,
    /// The scripted trainer `teleop demo` drives this robot with when no `--script` is given,
    /// relative to the profile's folder (made absolute by [`Profile::load`]): for a hand that
    /// grasps otherwise than the bundled script's gripper, fingers down.
    #[serde(default)]
    pub demo_script: Option<PathBuf>,
}

fn one() -> f64 {
    1.0
}

/// `[x, y, z]`, refusing any other count (serde's fixed-size arrays ignore extra entries).
pub(crate) fn three<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[f64; 3], D::Error> {
    let values = Vec::<f64>::deserialize(d)?;
    <[f64; 3]>::try_from(values.as_slice()).map_err(|_| {
        serde::de::Error::custom(format!(
            "expected exactly 3 numbers [x, y, z], got {}",
            values.len()
        ))
    })
}

fn three_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<[f64; 3]>, D::Error> {
    three(d).map(Some)
}

/// The ranges a profile's numbers must lie in (documented in `profiles/teleop_humanoid.toml`
/// and the profile reference): wide enough for any real robot, narrow enough that no value
/// makes the control loop spin for ages or its arithmetic overflow.
pub mod ranges {
    /// `control_rate_hz` (Hz).
    pub const CONTROL_RATE_HZ: (f64, f64) = (10.0, 10_000.0);
    /// `default_acceleration`, `joint.NAME.acceleration` (rad/s² or m/s²).
    pub const ACCELERATION: (f64, f64) = (0.01, 10_000.0);
    /// `joint.NAME.velocity` (rad/s or m/s), and at most the URDF's.
    pub const VELOCITY: (f64, f64) = (1e-3, 1_000.0);
    /// `joint.NAME.weight`.
    pub const WEIGHT: (f64, f64) = (1e-6, 1e6);
    /// `end_effector[i].position_weight`, `rotation_weight` (0 allowed: ignore that part).
    pub const TASK_WEIGHT: (f64, f64) = (0.0, 1e6);
    /// `end_effector[i].motion_scale`.
    pub const MOTION_SCALE: (f64, f64) = (0.01, 100.0);
    /// Every coordinate of `workspace_min` and `workspace_max` (m).
    pub const WORKSPACE_M: f64 = 100.0;
    /// `rest` values of continuous joints (rad).
    pub const CONTINUOUS_REST: f64 = 1_000.0;
    /// `hands.SIDE.scale = { fixed = S }`: robot hands from a tenth to ten times a human's.
    pub const HAND_SCALE: (f64, f64) = (0.1, 10.0);
    /// Every coordinate of a `hands.SIDE.fingertips[i]` offset (m).
    pub const HAND_OFFSET_M: f64 = 1.0;
    /// A camera's offset from its link, and a virtual pair's baseline (m).
    pub const CAMERA_OFFSET_M: f64 = 2.0;
    /// Every coordinate of `end_effector[i].tool_offset` (m).
    pub const TOOL_OFFSET_M: f64 = 1.0;
}

/// Whether `value` is within joint `j`'s position limits (a continuous joint's: ±1000 rad).
fn within_limits(model: &Model, j: usize, value: f64) -> bool {
    match model.joints[j].limits.position {
        Some((lo, hi)) => value >= lo && value <= hi,
        None => value.abs() <= ranges::CONTINUOUS_REST,
    }
}

/// Refuses `point` at `key` unless every coordinate is within ±`bound` m.
fn in_box(path: &Path, key: String, point: [f64; 3], bound: f64) -> Result<(), Error> {
    if point.iter().all(|v| v.abs() <= bound) {
        return Ok(());
    }
    let message = format!("every coordinate must be within ±{bound} m, got {point:?}");
    Err(FileError::invalid(path, key, message).into())
}

fn default_control_rate() -> f64 {
    500.0
}

fn default_acceleration() -> f64 {
    10.0
}

impl Profile {
    /// Reads, parses and checks the profile at `path`, and loads its URDF.
    pub fn load(path: &Path) -> Result<(Profile, Model), Error> {
        let text = toml_file::read(path)?;
        let mut profile = Profile::parse(&text, path)?;
        let folder = path.parent().unwrap_or(Path::new("."));
        profile.urdf = folder.join(&profile.urdf);
        profile.demo_script = profile.demo_script.map(|s| folder.join(s));
        let model = Model::from_urdf_file(&profile.urdf).map_err(|source| Error::Model {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        profile.check(&model, path)?;
        Ok((profile, model))
    }

    /// Parses TOML text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile, Error> {
        Ok(toml_file::parse(text, path)?)
    }

    /// Checks every name against `model` and every value against the URDF's limits.
    pub fn check(&self, model: &Model, path: &Path) -> Result<(), Error> {
        let invalid =
            |key: String, message: String| Error::from(FileError::invalid(path, key, message));
        let within = |key: &str, value: f64, (lo, hi): (f64, f64)| {
            if value >= lo && value <= hi {
                Ok(())
            } else {
                Err(invalid(
                    key.to_string(),
                    format!("must be a number from {lo} to {hi}, got {value}"),
                ))
            }
        };
        let link = |key: String, name: &str| match model.link_id(name) {
            Some(_) => Ok(()),
            None => Err(invalid(key, format!("no link {name:?} in the URDF"))),
        };
        let movable_joint = |key: String, name: &str| match model.joint_id(name) {
            None => Err(invalid(key, format!("no joint {name:?} in the URDF"))),
            Some(j) if !model.joints[j].kind.is_movable() => {
                Err(invalid(key, format!("joint {name:?} is fixed")))
            }
            Some(j) if model.joints[j].mimic.is_some() => Err(invalid(
                key,
                format!("joint {name:?} mimics another joint; name its leader"),
            )),
            Some(j) => Ok(j),
        };
        let chain = |key: String, base: &str, tip: &str| {
            link(format!("{key}.base"), base)?;
            link(format!("{key}.tip"), tip)?;
            match (model.link_id(base), model.link_id(tip)) {
                (Some(b), Some(t)) if model.dofs_between(b, t).is_some_and(|d| !d.is_empty()) => {
                    Ok(())
                }
                _ => Err(invalid(
                    key,
                    format!("{tip:?} is not below {base:?} with joints between them"),
                )),
            }
        };

        within(
            "control_rate_hz",
            self.control_rate_hz,
            ranges::CONTROL_RATE_HZ,
        )?;
        within(
            "default_acceleration",
            self.default_acceleration,
            ranges::ACCELERATION,
        )?;
        if self.end_effectors.is_empty() && self.hands.left.is_none() && self.hands.right.is_none()
        {
            return Err(invalid(
                "end_effector".into(),
                "at least one is needed (or a [hands.left] / [hands.right] mapping)".into(),
            ));
        }
        for (i, e) in self.end_effectors.iter().enumerate() {
            let key = format!("end_effector[{i}]");
            chain(key.clone(), &e.base, &e.tip)?;
            for (name, value, range) in [
                ("position_weight", e.position_weight, ranges::TASK_WEIGHT),
                ("rotation_weight", e.rotation_weight, ranges::TASK_WEIGHT),
                ("motion_scale", e.motion_scale, ranges::MOTION_SCALE),
            ] {
                within(&format!("{key}.{name}"), value, range)?;
            }
            for (name, point, bound) in [
                ("workspace_min", e.workspace_min, ranges::WORKSPACE_M),
                ("workspace_max", e.workspace_max, ranges::WORKSPACE_M),
                ("tool_offset", e.tool_offset, ranges::TOOL_OFFSET_M),
            ] {
                if let Some(point) = point {
                    in_box(path, format!("{key}.{name}"), point, bound)?;
                }
            }
            let min = e.workspace_min.unwrap_or([f64::NEG_INFINITY; 3]);
            let max = e.workspace_max.unwrap_or([f64::INFINITY; 3]);
            if (0..3).any(|k| min[k].is_nan() || max[k].is_nan() || min[k] >= max[k]) {
                return Err(invalid(
                    format!("{key}.workspace_min"),
                    format!("must be below workspace_max on every axis: {min:?} vs {max:?}"),
                ));
            }
            if self.end_effectors[..i].iter().any(|o| o.hand == e.hand) {
                return Err(invalid(
                    format!("{key}.hand"),
                    format!("{:?} already drives another end-effector", e.hand),
                ));
            }
        }
        if let Some(neck) = &self.neck {
            chain("neck".into(), &neck.base, &neck.tip)?;
        }
        if let Some(camera) = &self.camera {
            match (&camera.left_link, &camera.right_link, &camera.link) {
                (Some(left), Some(right), None) => {
                    link("camera.left_link".into(), left)?;
                    link("camera.right_link".into(), right)?;
                    if camera.baseline_m.is_some() {
                        return Err(invalid(
                            "camera.baseline_m".into(),
                            "only with camera.link: two eye links are as far apart as the URDF puts them".into(),
                        ));
                    }
                }
                (None, None, Some(one)) => {
                    link("camera.link".into(), one)?;
                    if let Some(b) = camera.baseline_m
                        && !(0.0..=ranges::CAMERA_OFFSET_M).contains(&b)
                    {
                        return Err(invalid(
                            "camera.baseline_m".into(),
                            format!(
                                "must be between 0 and {} m, got {b}",
                                ranges::CAMERA_OFFSET_M
                            ),
                        ));
                    }
                }
                (_, _, Some(_)) => {
                    return Err(invalid(
                        "camera.link".into(),
                        "give either camera.link (a virtual pair) or camera.left_link and camera.right_link, not both".into(),
                    ));
                }
                (left, _, None) => {
                    let missing = if left.is_none() {
                        "left_link"
                    } else {
                        "right_link"
                    };
                    return Err(invalid(
                        format!("camera.{missing}"),
                        "missing: give camera.left_link and camera.right_link, or camera.link for a virtual pair".into(),
                    ));
                }
            }
            in_box(
                path,
                "camera.offset_m".into(),
                camera.offset_m,
                ranges::CAMERA_OFFSET_M,
            )?;
            if !(-90.0..=90.0).contains(&camera.pitch_deg) {
                return Err(invalid(
                    "camera.pitch_deg".into(),
                    format!(
                        "must be between -90 and 90 degrees, got {}",
                        camera.pitch_deg
                    ),
                ));
            }
            if !(camera.fov_deg > 1.0 && camera.fov_deg < 179.0) {
                return Err(invalid(
                    "camera.fov_deg".into(),
                    format!("must be between 1 and 179 degrees, got {}", camera.fov_deg),
                ));
            }
            for (key, value) in [
                ("camera.width", camera.width),
                ("camera.height", camera.height),
            ] {
                if !(16..=8192).contains(&value) {
                    return Err(invalid(
                        key.into(),
                        format!("must be between 16 and 8192 pixels, got {value}"),
                    ));
                }
            }
        }
        for (i, g) in self.grippers.iter().enumerate() {
            let key = format!("gripper[{i}]");
            if let Some(first) = self.grippers[..i].iter().position(|o| o.hand == g.hand) {
                return Err(invalid(
                    format!("{key}.hand"),
                    format!("{:?} already works gripper[{first}]", g.hand),
                ));
            }
            if let Some(first) = self.grippers[..i].iter().position(|o| o.joint == g.joint) {
                return Err(invalid(
                    format!("{key}.joint"),
                    format!("gripper[{first}] already moves this joint"),
                ));
            }
            let j = movable_joint(format!("{key}.joint"), &g.joint)?;
            for (name, value) in [("open", g.open), ("closed", g.closed)] {
                if !within_limits(model, j, value) {
                    return Err(invalid(
                        format!("{key}.{name}"),
                        format!("{value} is outside joint {:?}'s limits", g.joint),
                    ));
                }
            }
        }
        for (name, &value) in &self.rest {
            let j = movable_joint(format!("rest.{name}"), name)?;
            if !within_limits(model, j, value) {
                return Err(invalid(
                    format!("rest.{name}"),
                    format!("{value} is outside the joint's limits"),
                ));
            }
        }
        for (name, settings) in &self.joints {
            let j = movable_joint(format!("joint.{name}"), name)?;
            if let Some(v) = settings.velocity {
                let key = format!("joint.{name}.velocity");
                within(&key, v, ranges::VELOCITY)?;
                if let Some(urdf) = model.joints[j].limits.velocity
                    && v > urdf
                {
                    return Err(invalid(
                        key,
                        format!("{v} exceeds the URDF's velocity limit {urdf}"),
                    ));
                }
            }
            for (setting, value, range) in [
                ("acceleration", settings.acceleration, ranges::ACCELERATION),
                ("weight", settings.weight, ranges::WEIGHT),
            ] {
                if let Some(value) = value {
                    within(&format!("joint.{name}.{setting}"), value, range)?;
                }
            }
        }
        for (side, mapping) in [("left", &self.hands.left), ("right", &self.hands.right)] {
            if let Some(mapping) = mapping {
                self.check_hand(model, path, side, mapping)?;
            }
        }
        // The kinds a gripper can be: anything movable; a continuous "gripper" is a mistake.
        for (i, g) in self.grippers.iter().enumerate() {
            if let Some(j) = model.joint_id(&g.joint)
                && model.joints[j].kind == JointKind::Continuous
            {
                return Err(invalid(
                    format!("gripper[{i}].joint"),
                    format!("joint {:?} is continuous; a gripper needs limits", g.joint),
                ));
            }
        }
        if let Some(r) = &self.ros2_control {
            if r.joints.is_empty() {
                return Err(invalid(
                    "ros2_control.joints".into(),
                    "name the controller's joints, in its order".into(),
                ));
            }
            for (i, name) in r.joints.iter().enumerate() {
                movable_joint(format!("ros2_control.joints[{i}]"), name)?;
                if r.joints[..i].contains(name) {
                    return Err(invalid(
                        format!("ros2_control.joints[{i}]"),
                        format!("joint {name:?} is named twice"),
                    ));
                }
            }
            for (key, topic) in [
                ("ros2_control.command_topic", &r.command_topic),
                ("ros2_control.state_topic", &r.state_topic),
            ] {
                let ok = topic.starts_with('/')
                    && topic.len() > 1
                    && topic[1..].split('/').all(|t| {
                        !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    });
                if !ok {
                    return Err(invalid(
                        key.into(),
                        format!("{topic:?} is not an absolute ROS topic name (/a/b_c)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks `[hands.SIDE]`: links below its root, drivable joints that no end-effector or
    /// gripper also moves, a rotation, a sane scale, pinch pairs naming fingertips.
    fn check_hand(
        &self,
        model: &Model,
        path: &Path,
        side: &str,
        mapping: &HandMapping,
    ) -> Result<(), Error> {
        let key = |rest: &str| format!("hands.{side}.{rest}");
        let invalid =
            |key: String, message: String| Error::from(FileError::invalid(path, key, message));
        let root = match &mapping.root {
            Some(name) => model
                .link_id(name)
                .ok_or_else(|| invalid(key("root"), format!("no link {name:?} in the URDF")))?,
            None => crate::model::Model::ROOT,
        };
        let root_name = &model.links[root].name;
        let r = mapping.root_from_wrist;
        let orthonormal = (0..3).all(|i| {
            (0..3).all(|j| {
                let dot: f64 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                (dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-6
            })
        });
        let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
            - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        if !orthonormal || (det - 1.0).abs() > 1e-6 {
            return Err(invalid(
                key("root_from_wrist"),
                format!("must be a rotation (orthonormal rows, determinant +1), got {r:?}"),
            ));
        }
        if let Scale::Fixed(s) = mapping.scale {
            let (lo, hi) = ranges::HAND_SCALE;
            if !(s >= lo && s <= hi) {
                return Err(invalid(
                    key("scale"),
                    format!("must be {{ fixed = S }} with S from {lo} to {hi}, got {s}"),
                ));
            }
        }
        if mapping.fingertips.is_empty() {
            return Err(invalid(key("fingertips"), "at least one is needed".into()));
        }
        // Joints that move a fitted frame: the retargeter's unless `joints` narrows them.
        let mut finger_joints = Vec::new();
        for (i, f) in mapping.fingertips.iter().enumerate() {
            if mapping.fingertips[..i].iter().any(|o| o.name == f.name) {
                return Err(invalid(
                    key(&format!("fingertips[{i}].name")),
                    format!("{:?} is defined twice", f.name),
                ));
            }
            for (part, point) in [("tip", &f.tip), ("origin", &f.origin)] {
                let k = key(&format!("fingertips[{i}].{part}"));
                let link = model.link_id(&point.link).ok_or_else(|| {
                    invalid(
                        format!("{k}.link"),
                        format!("no link {:?} in the URDF", point.link),
                    )
                })?;
                let dofs = model.dofs_between(root, link).ok_or_else(|| {
                    invalid(
                        format!("{k}.link"),
                        format!(
                            "{:?} is not below the hand's root {root_name:?}",
                            point.link
                        ),
                    )
                })?;
                finger_joints.extend(dofs);
                in_box(
                    path,
                    format!("{k}.offset"),
                    point.offset,
                    ranges::HAND_OFFSET_M,
                )?;
            }
        }
        for (i, p) in mapping.pinch.iter().enumerate() {
            for (part, name) in [("thumb", &p.thumb), ("finger", &p.finger)] {
                if !mapping.fingertips.iter().any(|f| &f.name == name) {
                    return Err(invalid(
                        key(&format!("pinch[{i}].{part}")),
                        format!("no fingertip named {name:?}"),
                    ));
                }
            }
        }
        let movable_below_root = |k: String, name: &str| -> Result<usize, Error> {
            let Some(j) = model.joint_id(name) else {
                return Err(invalid(k, format!("no joint {name:?} in the URDF")));
            };
            if !model.joints[j].kind.is_movable() {
                return Err(invalid(k, format!("joint {name:?} is fixed")));
            }
            if let Some(m) = model.joints[j].mimic {
                return Err(invalid(
                    k,
                    format!(
                        "joint {name:?} mimics {:?}; name that joint",
                        model.joints[m.leader].name
                    ),
                ));
            }
            if model.dofs_between(root, model.joints[j].child).is_none() {
                return Err(invalid(
                    k,
                    format!("joint {name:?} is not below the hand's root {root_name:?}"),
                ));
            }
            Ok(j)
        };
        if !mapping.joints.is_empty() {
            finger_joints.clear();
            for (i, name) in mapping.joints.iter().enumerate() {
                finger_joints.push(movable_below_root(key(&format!("joints[{i}]")), name)?);
            }
        }
        for (end, values) in [("open", &mapping.open), ("closed", &mapping.closed)] {
            for (name, &value) in values {
                let k = key(&format!("{end}.{name}"));
                let j = movable_below_root(k.clone(), name)?;
                if !within_limits(model, j, value) {
                    return Err(invalid(k, format!("{value} is outside the joint's limits")));
                }
                finger_joints.push(j);
            }
        }
        // One joint, one driver: the arm's IK or a gripper moving a finger would fight it.
        for &j in &finger_joints {
            let name = &model.joints[j].name;
            if let Some(g) = self.grippers.iter().position(|g| &g.joint == name) {
                return Err(invalid(
                    key("fingertips"),
                    format!("joint {name:?} moves a finger and is gripper[{g}]'s too"),
                ));
            }
            for (i, e) in self.end_effectors.iter().enumerate() {
                let (Some(b), Some(t)) = (model.link_id(&e.base), model.link_id(&e.tip)) else {
                    continue;
                };
                if model.dofs_between(b, t).is_some_and(|d| d.contains(&j)) {
                    return Err(invalid(
                        key("root"),
                        format!(
                            "joint {name:?} moves a finger and end_effector[{i}]'s chain too; \
                             set root to a link at or below {:?}",
                            e.tip
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A posture to start from (model `q` order): the rest posture where the profile gives one,
    /// grippers open, every other joint at 0 clamped into its limits.
    pub fn start_posture(&self, model: &Model) -> Vec<f64> {
        model
            .dofs
            .iter()
            .map(|&j| {
                let joint = &model.joints[j];
                let value = self.rest.get(&joint.name).copied().unwrap_or_else(|| {
                    self.grippers
                        .iter()
                        .find(|g| g.joint == joint.name)
                        .map_or(0.0, |g| g.open)
                });
                match joint.limits.position {
                    Some((lo, hi)) => value.clamp(lo, hi),
                    None => value,
                }
            })
            .collect()
    }

    /// The settings for `joint`, defaults where the profile names none.
    pub fn joint_settings(&self, joint: &str) -> JointSettings {
        self.joints.get(joint).copied().unwrap_or_default()
    }

    /// Acceleration limit of `joint`: its own, else the profile's default.
    pub fn acceleration_limit(&self, joint: &str) -> f64 {
        self.joint_settings(joint)
            .acceleration
            .unwrap_or(self.default_acceleration)
    }
}
