//! What episode files say about the robot: names, the URDF and profile texts, and the links
//! whose poses are recorded.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

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
    pub fn metadata(&self) -> std::collections::BTreeMap<String, String> {
        let json = |v: &dyn erased::Json| v.json();
        let mut m = std::collections::BTreeMap::new();
        m.insert("robot".into(), self.name.clone());
        m.insert("urdf_path".into(), self.urdf_path.display().to_string());
        m.insert("urdf".into(), self.urdf_text.clone());
        m.insert("urdf_sha256".into(), sha256_hex(self.urdf_text.as_bytes()));
        m.insert(
            "profile_path".into(),
            self.profile_path.display().to_string(),
        );
        m.insert("profile".into(), self.profile_text.clone());
        m.insert("control_rate_hz".into(), self.control_rate_hz.to_string());
        m.insert("joint_names".into(), json(&self.joint_names));
        m.insert("link_names".into(), json(&self.link_names));
        m.insert("end_effectors".into(), json(&self.end_effectors));
        let poses: Vec<&str> = self.pose_links.iter().map(|(n, _)| n.as_str()).collect();
        m.insert("pose_links".into(), json(&poses));
        m.insert(
            "software".into(),
            format!("teleop-bridge {}", env!("CARGO_PKG_VERSION")),
        );
        m
    }
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
