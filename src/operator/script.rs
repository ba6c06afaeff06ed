//! A scripted operator: keyframes of head and hand poses and buttons in a small TOML file,
//! interpolated in time (positions and buttons linearly, orientations by slerp).
//!
//! ```toml
//! # XR stage frame: metres, +Y up, −Z forward; angles in degrees (roll, pitch, yaw about the
//! # stage's X, Y, Z axes, as nalgebra's Euler angles).
//! [[key]]
//! t = 0.0
//! head = { position = [0.0, 1.6, 0.0] }
//! left = { position = [-0.2, 1.1, -0.3], squeeze = 1.0, trigger = 0.0 }
//! # Buttons (optional, held from this key to the next): primary (A/X), secondary (B/Y), menu.
//! right = { position = [0.2, 1.1, -0.3], primary = true }
//! # `right` absent: the right hand is not tracked at this key.
//! # `grasp` (0 open … 1 closed): a tracked hand, its fingers included, whose palm is the pose.
//! [[key]]
//! t = 1.0
//! left = { position = [-0.2, 1.0, -0.3], squeeze = 1.0, grasp = 0.5 }
//! ```

use std::path::Path;

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use serde::Deserialize;

use super::tracked_hand::tracked_hand;
use crate::config::Hand;
use crate::config::toml_file::{self, FileError};

/// The ranges a script's numbers must lie in: key times `t` from 0 to [`MAX_TIME_S`],
/// positions within ±[`MAX_POSITION_M`] on every axis, angles within ±[`MAX_ANGLE_DEG`],
/// `squeeze`, `trigger` and `grasp` from 0 to 1; `position` and `rpy_deg` exactly three numbers.
pub const MAX_TIME_S: f64 = 3_600.0;
/// See [`MAX_TIME_S`].
pub const MAX_POSITION_M: f64 = 100.0;
/// See [`MAX_TIME_S`].
pub const MAX_ANGLE_DEG: f64 = 3_600.0;

/// `[x, y, z]`, refusing any other count (serde's fixed-size arrays ignore extra entries).
fn three<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[f64; 3], D::Error> {
    let values = Vec::<f64>::deserialize(d)?;
    <[f64; 3]>::try_from(values.as_slice()).map_err(|_| {
        serde::de::Error::custom(format!("expected exactly 3 numbers, got {}", values.len()))
    })
}
use crate::msg::{Buttons, HandInput, OperatorFrame};

/// Why a script could not be used: unreadable, not TOML, an unknown key, or a value refused
/// naming its key.
pub type Error = FileError;

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoseKey {
    #[serde(deserialize_with = "three")]
    position: [f64; 3],
    #[serde(default, deserialize_with = "three")]
    rpy_deg: [f64; 3],
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandKey {
    #[serde(deserialize_with = "three")]
    position: [f64; 3],
    #[serde(default, deserialize_with = "three")]
    rpy_deg: [f64; 3],
    #[serde(default)]
    squeeze: f64,
    #[serde(default)]
    trigger: f64,
    /// A tracked hand (its 26 joints, the pose its palm's) closed this far: 0 open … 1 a
    /// three-finger grasp. Absent: a controller.
    grasp: Option<f64>,
    /// Buttons held from this key until the next (A/X, B/Y, menu).
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    secondary: bool,
    #[serde(default)]
    menu: bool,
}

impl HandKey {
    fn buttons(&self) -> Buttons {
        Buttons {
            primary: self.primary,
            secondary: self.secondary,
            menu: self.menu,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    t: f64,
    head: Option<PoseKey>,
    left: Option<HandKey>,
    right: Option<HandKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    key: Vec<Key>,
}

fn pose(position: [f64; 3], rpy_deg: [f64; 3]) -> Isometry3<f64> {
    let [r, p, y] = rpy_deg.map(f64::to_radians);
    Isometry3::from_parts(
        Translation3::from(Vector3::from(position)),
        UnitQuaternion::from_euler_angles(r, p, y),
    )
}

fn lerp_pose(a: &Isometry3<f64>, b: &Isometry3<f64>, s: f64) -> Isometry3<f64> {
    let position = a.translation.vector.lerp(&b.translation.vector, s);
    let rotation = a
        .rotation
        .try_slerp(&b.rotation, s, 1e-9)
        .unwrap_or(b.rotation);
    Isometry3::from_parts(Translation3::from(position), rotation)
}

fn hand(key: Option<&HandKey>, side: Hand) -> HandInput {
    key.map_or(HandInput::IDLE, |k| {
        let grip = pose(k.position, k.rpy_deg);
        HandInput {
            grip: Some(grip),
            trigger: k.trigger,
            squeeze: k.squeeze,
            buttons: k.buttons(),
            joints: k.grasp.map(|g| tracked_hand(&grip, side, g)),
        }
    })
}

/// A loaded script: keyframes sorted by time.
#[derive(Debug, Clone)]
pub struct Script {
    keys: Vec<Key>,
}

impl Script {
    pub fn load(path: &Path) -> Result<Script, Error> {
        Script::parse(&toml_file::read(path)?, path)
    }

    /// Parses TOML text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Script, Error> {
        let file: File = toml_file::parse(text, path)?;
        let invalid = |key: String, message: String| FileError::invalid(path, key, message);
        if file.key.is_empty() {
            return Err(invalid(
                "key".into(),
                "at least one keyframe is needed".into(),
            ));
        }
        let mut last = f64::NEG_INFINITY;
        for (i, k) in file.key.iter().enumerate() {
            if !(k.t >= 0.0 && k.t <= MAX_TIME_S && k.t > last) {
                return Err(invalid(
                    format!("key[{i}].t"),
                    format!(
                        "times must be from 0 to {MAX_TIME_S} s and increasing; got {} after {last}",
                        k.t
                    ),
                ));
            }
            last = k.t;
            let poses = [
                ("head", k.head.map(|h| (h.position, h.rpy_deg))),
                ("left", k.left.map(|h| (h.position, h.rpy_deg))),
                ("right", k.right.map(|h| (h.position, h.rpy_deg))),
            ];
            for (part, pose) in poses {
                let Some((position, rpy)) = pose else {
                    continue;
                };
                if !position.iter().all(|v| v.abs() <= MAX_POSITION_M) {
                    return Err(invalid(
                        format!("key[{i}].{part}.position"),
                        format!(
                            "every coordinate must be within ±{MAX_POSITION_M} m, got {position:?}"
                        ),
                    ));
                }
                if !rpy.iter().all(|v| v.abs() <= MAX_ANGLE_DEG) {
                    return Err(invalid(
                        format!("key[{i}].{part}.rpy_deg"),
                        format!("every angle must be within ±{MAX_ANGLE_DEG}°, got {rpy:?}"),
                    ));
                }
            }
            for (side, h) in [("left", k.left), ("right", k.right)] {
                let Some(h) = h else { continue };
                let grasp = h.grasp.unwrap_or(0.0);
                for (name, v) in [
                    ("squeeze", h.squeeze),
                    ("trigger", h.trigger),
                    ("grasp", grasp),
                ] {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(invalid(
                            format!("key[{i}].{side}.{name}"),
                            format!("must be between 0 and 1, got {v}"),
                        ));
                    }
                }
            }
        }
        Ok(Script { keys: file.key })
    }

    /// The script with the left hand's path moved by `offset` (stage frame, m) from the first
    /// key after its clutch is squeezed (squeeze ≥ 0.5) on: the hand engages where it always
    /// does, then reaches `offset` further (for an object that lies elsewhere than the script
    /// was written for). Unchanged if the left clutch is never squeezed.
    pub fn with_left_path_shifted(&self, offset: &Vector3<f64>) -> Script {
        let mut keys = self.keys.clone();
        let engaged = keys
            .iter()
            .position(|k| k.left.is_some_and(|h| h.squeeze >= 0.5));
        if let Some(first) = engaged {
            for key in &mut keys[first + 1..] {
                if let Some(hand) = &mut key.left {
                    for (p, d) in hand.position.iter_mut().zip(offset.iter()) {
                        *p += d;
                    }
                }
            }
        }
        Script { keys }
    }

    /// Time of the last keyframe (s).
    pub fn duration(&self) -> f64 {
        self.keys.last().map_or(0.0, |k| k.t)
    }

    /// The operator at `t` seconds into the script, stamped `time_ns`. Before the first key, the
    /// first; after the last, the last. A hand or head present at only one of the two keys
    /// around `t` takes that key's state from there on (it appears or disappears at the key).
    pub fn frame_at(&self, t: f64, time_ns: u64) -> OperatorFrame {
        let next = self.keys.partition_point(|k| k.t <= t);
        let (a, b, s) = if next == 0 {
            (&self.keys[0], &self.keys[0], 0.0)
        } else if next == self.keys.len() {
            let last = &self.keys[next - 1];
            (last, last, 0.0)
        } else {
            let (a, b) = (&self.keys[next - 1], &self.keys[next]);
            (a, b, (t - a.t) / (b.t - a.t))
        };
        let head = match (a.head, b.head) {
            (Some(x), Some(y)) => Some(lerp_pose(
                &pose(x.position, x.rpy_deg),
                &pose(y.position, y.rpy_deg),
                s,
            )),
            (Some(x), None) => Some(pose(x.position, x.rpy_deg)),
            _ => None,
        };
        // A hand tracked at the earlier key stays tracked up to the next, closing towards that
        // key's grasp where it has one.
        let blend = |x: Option<&HandKey>, y: Option<&HandKey>, side: Hand| match (x, y) {
            (Some(x), Some(y)) => {
                let grip = lerp_pose(
                    &pose(x.position, x.rpy_deg),
                    &pose(y.position, y.rpy_deg),
                    s,
                );
                let grasp = x.grasp.map(|g| g + s * (y.grasp.unwrap_or(g) - g));
                HandInput {
                    grip: Some(grip),
                    trigger: x.trigger + s * (y.trigger - x.trigger),
                    squeeze: x.squeeze + s * (y.squeeze - x.squeeze),
                    buttons: x.buttons(),
                    joints: grasp.map(|g| tracked_hand(&grip, side, g)),
                }
            }
            (x, _) => hand(x, side),
        };
        OperatorFrame {
            time_ns,
            head,
            left: blend(a.left.as_ref(), b.left.as_ref(), Hand::Left),
            right: blend(a.right.as_ref(), b.right.as_ref(), Hand::Right),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = r#"
[[key]]
t = 0.0
left = { position = [0.0, 1.0, 0.0] }
right = { position = [0.5, 1.0, 0.0] }
[[key]]
t = 1.0
left = { position = [0.0, 1.0, 0.0], squeeze = 1.0 }
[[key]]
t = 2.0
left = { position = [0.0, 0.8, -0.1], squeeze = 1.0 }
"#;

    fn left_at(script: &Script, t: f64) -> Vector3<f64> {
        script
            .frame_at(t, 0)
            .left
            .grip
            .expect("tracked")
            .translation
            .vector
    }

    #[test]
    fn a_shifted_path_engages_where_it_did_and_then_reaches_further() {
        let script = Script::parse(SCRIPT, Path::new("s.toml")).unwrap();
        let offset = Vector3::new(0.01, 0.0, -0.02);
        let shifted = script.with_left_path_shifted(&offset);
        for t in [0.0, 0.5, 1.0] {
            assert_eq!(left_at(&shifted, t), left_at(&script, t), "t = {t}");
        }
        assert!((left_at(&shifted, 2.0) - left_at(&script, 2.0) - offset).norm() < 1e-12);
        assert!((left_at(&shifted, 1.5) - left_at(&script, 1.5) - offset / 2.0).norm() < 1e-12);
        assert_eq!(
            shifted.frame_at(2.0, 0).right.grip,
            script.frame_at(2.0, 0).right.grip,
            "the right hand keeps its path"
        );
    }
}
