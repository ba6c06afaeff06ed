//! What episode files say about the robot: names, the URDF and profile texts, and the links
//! whose poses are recorded.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::episode::to_json;
use crate::msg::TickSample;

/// What the episode files say about the robot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RobotInfo {
    pub name: String,
    pub urdf_path: PathBuf,
    pub urdf_text: String,
    pub profile_path: PathBuf,
    pub profile_text: String,
    pub control_rate_hz: f64,
    /// The model's independent joints (`q` order).
    pub joint_names: Vec<String>,
    /// Every link (model order: contact forces).
    pub link_names: Vec<String>,
    /// (name, base link, tip link) per end-effector, profile order.
    pub end_effectors: Vec<(String, String, String)>,
    /// Links whose world pose is recorded: (name, model link index).
    pub pose_links: Vec<(String, usize)>,
}

impl RobotInfo {
    /// An empty [`TickSample`] sized for this robot.
    pub fn new_sample(&self) -> TickSample {
        TickSample::new(
            self.joint_names.len(),
            self.end_effectors.len(),
            self.link_names.len(),
            self.pose_links.iter().map(|(_, i)| *i).collect(),
        )
    }

    /// The episode metadata that comes from the robot.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let poses: Vec<&str> = self.pose_links.iter().map(|(n, _)| n.as_str()).collect();
        [
            ("robot", self.name.clone()),
            ("urdf_path", self.urdf_path.display().to_string()),
            ("urdf", self.urdf_text.clone()),
            ("urdf_sha256", sha256_hex(self.urdf_text.as_bytes())),
            ("profile_path", self.profile_path.display().to_string()),
            ("profile", self.profile_text.clone()),
            ("control_rate_hz", self.control_rate_hz.to_string()),
            ("joint_names", to_json(&self.joint_names)),
            ("link_names", to_json(&self.link_names)),
            ("end_effectors", to_json(&self.end_effectors)),
            ("pose_links", to_json(&poses)),
            (
                "software",
                format!("teleop-bridge {}", env!("CARGO_PKG_VERSION")),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
