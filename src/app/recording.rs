//! Recording wired to a robot profile: what episodes say about the robot, and starting a
//! recorder for a session.

use std::path::{Path, PathBuf};

use super::Error;
use crate::config::Profile;
use crate::config::catalogue::{Catalogue, Kind};
use crate::record::{self, Labels, Recorder, RecorderConfig, RobotInfo};

/// How a session is recorded.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub dir: PathBuf,
    /// Operator id; default `$USER`.
    pub operator: Option<String>,
    /// Task description (the demo's own by default).
    pub task: Option<String>,
    /// Skill and scenario, names from the catalogue (the demo's own by default).
    pub skill: Option<String>,
    pub scenario: Option<String>,
    /// The catalogue the skill and scenario must be in (default: the bundled one).
    pub catalogue: Option<PathBuf>,
    /// Record the robot's rendered stereo view (JPEG, at the recorder's camera rate) where a
    /// graphics adapter exists.
    pub camera: bool,
    /// Its per-eye size where the session has no view of its own to share (default: the
    /// profile's camera).
    pub camera_size: Option<(u32, u32)>,
}

/// What episodes say about the robot of `profile` (a TOML file). Poses recorded: the tools'
/// tips and the cameras.
pub fn robot_info(profile: &Path) -> Result<RobotInfo, Error> {
    let (loaded, model) = Profile::load(profile)?;
    let urdf_text =
        std::fs::read_to_string(&loaded.urdf).map_err(record::Error::io(&loaded.urdf))?;
    let profile_text = std::fs::read_to_string(profile).map_err(record::Error::io(profile))?;
    let mut pose_links = Vec::new();
    let mut add = |name: &str| {
        if let Some(id) = model.link_id(name)
            && !pose_links.iter().any(|(_, i)| *i == id)
        {
            pose_links.push((name.to_string(), id));
        }
    };
    for e in &loaded.end_effectors {
        add(&e.tip);
    }
    if let Some(c) = &loaded.camera {
        for link in c.eye_links() {
            add(link);
        }
    }
    Ok(RobotInfo {
        name: loaded.name.clone(),
        urdf_path: loaded.urdf.clone(),
        urdf_text,
        profile_path: std::path::absolute(profile).unwrap_or_else(|_| profile.to_path_buf()),
        profile_text,
        control_rate_hz: loaded.control_rate_hz,
        joint_names: model.dof_names().map(str::to_string).collect(),
        link_names: model.links.iter().map(|l| l.name.clone()).collect(),
        end_effectors: loaded
            .end_effectors
            .iter()
            .map(|e| (e.name.clone(), e.base.clone(), e.tip.clone()))
            .collect(),
        pose_links,
    })
}

/// The session's labels: `recording`'s, else the defaults given (the demo's own), with the
/// skill and scenario checked against the catalogue before anything is recorded. The operator
/// defaults to `$USER`.
pub fn labels(
    recording: &Recording,
    task: &str,
    skill: &str,
    scenario: &str,
) -> Result<Labels, Error> {
    let skill = recording.skill.as_deref().unwrap_or(skill);
    let scenario = recording.scenario.as_deref().unwrap_or(scenario);
    if !skill.is_empty() || !scenario.is_empty() {
        let path = recording
            .catalogue
            .clone()
            .unwrap_or_else(|| super::bundled("catalogue.toml"));
        let catalogue = Catalogue::load(&path).map_err(crate::config::Error::from)?;
        for (kind, name) in [(Kind::Skill, skill), (Kind::Scenario, scenario)] {
            if !name.is_empty() {
                catalogue.check(kind, name).map_err(Error::Usage)?;
            }
        }
    }
    Ok(Labels {
        operator: recording
            .operator
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".into()),
        task: recording.task.clone().unwrap_or_else(|| task.into()),
        skill: skill.into(),
        scenario: scenario.into(),
        setup: Vec::new(),
    })
}

/// A recorder for the robot of `profile` writing into `dir` (created if missing; refused up
/// front when it cannot be written). `lossless`: ticks and frames wait for queue space (only
/// for sessions that are not real time).
pub fn start(
    profile: &Path,
    dir: &Path,
    labels: Labels,
    lossless: bool,
) -> Result<Recorder, Error> {
    let mut config = RecorderConfig::new(dir, robot_info(profile)?);
    config.labels = labels;
    config.lossless = lossless;
    Ok(Recorder::start(config)?)
}
