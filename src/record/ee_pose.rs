//! End-effector poses for the export: each arm's tool pose in the robot's root-link frame,
//! by FK of the recorded joint positions with the URDF the episode stores.

use std::path::Path;

use nalgebra::{UnitQuaternion, Vector3};

use crate::kinematics::{Pose, Tree};
use crate::model::{LoadOptions, Model};

use super::reader::EpisodeFile;

/// The features' component names: position (m) then the unit quaternion, scalar last.
pub const NAMES: [&str; 7] = ["x", "y", "z", "qx", "qy", "qz", "qw"];

/// FK of each arm's tool for one episode's robot: its tip link's pose moved by the profile's
/// `tool_offset` (the point the IK placed).
pub struct EePose {
    tree: Tree,
    /// (side `left`/`right`, tool link name, its model index, tool offset in the link's frame).
    pub tools: Vec<(&'static str, String, usize, Vector3<f64>)>,
    poses: Vec<Pose>,
}

/// For each end-effector in `profile` (TOML text): its side (`left`, `right`: its `hand` key,
/// else a name that says `left` or `right`) and its `tool_offset` (zero where none).
fn sides(
    profile: &str,
    end_effectors: &[(String, String, String)],
) -> Vec<(Option<&'static str>, Vector3<f64>)> {
    let tables: Vec<toml::Value> = toml::from_str::<toml::Table>(profile)
        .ok()
        .and_then(|t| t.get("end_effector").and_then(|v| v.as_array()).cloned())
        .unwrap_or_default();
    end_effectors
        .iter()
        .enumerate()
        .map(|(i, (name, _, tip))| {
            let table = tables.get(i);
            let said = table
                .and_then(|e| e.get("hand"))
                .and_then(|h| h.as_str())
                .unwrap_or_default();
            let text = format!("{said} {name} {tip}").to_lowercase();
            let side = ["left", "right"]
                .into_iter()
                .find(|side| said == *side || (said.is_empty() && text.contains(side)));
            let offset: Vec<f64> = table
                .and_then(|e| e.get("tool_offset"))
                .and_then(|o| o.as_array())
                .map(|a| a.iter().filter_map(toml::Value::as_float).collect())
                .unwrap_or_default();
            let offset = match offset.as_slice() {
                &[x, y, z] if [x, y, z].iter().all(|v| v.is_finite()) => Vector3::new(x, y, z),
                _ => Vector3::zeros(),
            };
            (side, offset)
        })
        .collect()
}

impl EePose {
    /// From an episode's metadata; `None` (the feature left out) where it lacks the URDF, the
    /// end-effectors, or a left and a right one, or where its joints are not the URDF's.
    pub fn of(episode: &EpisodeFile, joint_names: &[String]) -> Option<EePose> {
        let urdf = episode.metadata.get("urdf")?;
        let profile = episode.metadata.get("profile").map_or("", String::as_str);
        let end_effectors: Vec<(String, String, String)> =
            episode.metadata_json("end_effectors").ok()?;
        let model = Model::from_urdf_str(
            urdf,
            Path::new("episode URDF"),
            Path::new("."),
            &LoadOptions::default(),
        )
        .ok()?;
        if !model.dof_names().eq(joint_names.iter().map(String::as_str)) {
            return None;
        }
        let mut tools = Vec::new();
        for side in ["left", "right"] {
            let ((_, offset), (_, _, tip)) = sides(profile, &end_effectors)
                .into_iter()
                .zip(&end_effectors)
                .find(|((s, _), _)| *s == Some(side))?;
            tools.push((side, tip.clone(), model.link_id(tip)?, offset));
        }
        let tree = Tree::new(&model);
        let poses = vec![Pose::identity(); tree.link_count()];
        Some(EePose { tree, tools, poses })
    }

    /// Each tool's pose for joint positions `q`: `[x, y, z, qx, qy, qz, qw]` (the quaternion
    /// with `qw ≥ 0`).
    pub fn at(&mut self, q: &[f64]) -> Vec<[f32; 7]> {
        self.tree.forward(q, &mut self.poses);
        self.tools
            .iter()
            .map(|&(_, _, link, offset)| {
                vector(&(self.poses[link] * Pose::from_parts(offset.into(), Default::default())))
            })
            .collect()
    }
}

/// `[x, y, z, qx, qy, qz, qw]` of a pose, `qw ≥ 0`.
pub fn vector(pose: &Pose) -> [f32; 7] {
    let t = pose.translation.vector;
    let q = UnitQuaternion::from_rotation_matrix(&pose.rotation);
    let s = if q.w < 0.0 { -1.0 } else { 1.0 };
    [
        t.x as f32,
        t.y as f32,
        t.z as f32,
        (s * q.i) as f32,
        (s * q.j) as f32,
        (s * q.k) as f32,
        (s * q.w) as f32,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_come_from_the_hand_key_or_the_name_and_tools_from_tool_offset() {
        let profile = r#"
            [[end_effector]]
            name = "a"
            hand = "right"
            tool_offset = [0.05, 0.08, 0.0]
            [[end_effector]]
            name = "left arm"
            tool_offset = [1.0, "x", 0.0]
        "#;
        let ees = [
            ("a".to_string(), "base".to_string(), "palm".to_string()),
            (
                "left arm".to_string(),
                "base".to_string(),
                "tcp".to_string(),
            ),
        ];
        let got = sides(profile, &ees);
        assert_eq!(got[0], (Some("right"), Vector3::new(0.05, 0.08, 0.0)));
        // A malformed offset is no offset (the profile's own check refuses it when loaded).
        assert_eq!(got[1], (Some("left"), Vector3::zeros()));
    }
}
