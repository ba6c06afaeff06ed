//! `teleop replay FILE`: the demo's scene driven again from a recording, through the same
//! session as a live run — by the recorded joint commands (through the safety filter), or with
//! `--from-operator` by the recorded operator frames run through a fresh control pipeline
//! (retarget → IK → safety), which checks that the recording holds everything needed to redo
//! the teleoperation.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use nalgebra::Vector3;

use super::Error;
use super::scene::{CUBE, Scene};
use super::session::{Clock, Observer, Session, Tick};
use super::view::{self, View};
use crate::operator::Replay;
use crate::record::EpisodeFile;

#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Re-run the pipeline from the recorded operator frames instead of sending the recorded
    /// joint commands.
    pub from_operator: bool,
    /// Robot profile; default: the one the episode names (`profile_path`).
    pub profile: Option<PathBuf>,
    /// The robot's stereo view: PNG frames and/or a window (which keeps the replay to real
    /// time).
    pub view: View,
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    pub ticks: u64,
    pub from_operator: bool,
    /// Whether the file was cut off (replayed up to where it was readable).
    pub damage: Option<String>,
    pub cube_end: Vector3<f64>,
    pub distance_to_target_m: f64,
    /// The demo's verdict on the cube (within 3 cm of the spot, resting).
    pub success: bool,
    /// `--from-operator`: the largest difference between a re-computed and a recorded joint
    /// command (rad or m).
    pub max_command_difference: Option<f64>,
    /// What the view did (frames written, window shown), if one was asked for.
    pub view: Option<String>,
}

impl std::fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replay: {} ticks from the recorded {}; cube {:.1} cm from the spot: {}",
            self.ticks,
            if self.from_operator {
                "operator frames (pipeline re-run)"
            } else {
                "joint commands"
            },
            self.distance_to_target_m * 100.0,
            if self.success { "SUCCESS" } else { "FAILED" }
        )?;
        if let Some(d) = self.max_command_difference {
            write!(f, "; re-computed commands within {d:.2e} of the recorded")?;
        }
        if let Some(d) = &self.damage {
            write!(f, " (file {d})")?;
        }
        if let Some(view) = &self.view {
            write!(f, "\nview: {view}")?;
        }
        Ok(())
    }
}

/// With `--from-operator`: how far the re-computed commands stray from the recorded ones.
struct Compare {
    recorded: Replay,
    worst: f64,
}

impl Observer for Compare {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        if let Some(recorded) = self.recorded.command_at(tick.now_ns) {
            for (a, b) in tick.command.iter().zip(recorded) {
                self.worst = self.worst.max((a - b).abs());
            }
        }
    }
}

/// Replays the episode at `path` in the demo's scene.
pub fn replay(path: &Path, options: &ReplayOptions) -> Result<ReplaySummary, Error> {
    let episode = EpisodeFile::read(path)?;
    let invalid = |message: String| Error::Input {
        what: path.display().to_string(),
        message,
    };
    let profile = match &options.profile {
        Some(p) => p.clone(),
        None => {
            let p = PathBuf::from(
                episode
                    .metadata
                    .get("profile_path")
                    .cloned()
                    .unwrap_or_default(),
            );
            if !p.is_file() {
                return Err(invalid(format!(
                    "the recorded robot profile {:?} is not here; pass --robot PROFILE",
                    p.display().to_string()
                )));
            }
            p
        }
    };
    let scene = Scene::load(&profile)?;
    let joints: Vec<String> = scene.model.dof_names().map(str::to_string).collect();
    let recorded: Vec<String> = episode.metadata_json("joint_names")?;
    if recorded != joints {
        return Err(invalid(format!(
            "recorded for joints {recorded:?}, but {} has {joints:?}",
            profile.display()
        )));
    }
    let playback = episode.playback()?;
    for (index, (_, command)) in playback.commands.iter().enumerate() {
        check_command(&scene, index, command).map_err(invalid)?;
    }
    let replay = Replay::new(playback.operator, playback.commands, options.from_operator)
        .ok_or_else(|| invalid("no joint commands recorded".into()))?;
    let compare = options.from_operator.then(|| Compare {
        recorded: replay.clone(),
        worst: 0.0,
    });
    // A window keeps the replay to real time: someone is watching it.
    let clock = if options.view.window {
        Clock::Paced
    } else {
        Clock::LockStep
    };
    let dt = 1.0 / scene.profile.control_rate_hz;
    let (ended, view) = view::with_tap(&scene, &options.view, None, dt, |tap| {
        let session = Session {
            pipeline: scene.pipeline()?,
            robot: Box::new(scene.sim()?),
            source: Box::new(replay),
            recorder: None,
            observer: (compare, tap),
        };
        Ok(session.run(clock, &AtomicBool::new(false))?.split())
    })?;
    let cube_end = ended
        .state
        .object_poses
        .get(CUBE)
        .map_or_else(Vector3::zeros, |p| p.translation.vector);
    let (distance_to_target_m, success) = scene.layout.judge(&cube_end);
    Ok(ReplaySummary {
        ticks: ended.stats.ticks,
        from_operator: options.from_operator,
        damage: episode.damage.clone(),
        cube_end,
        distance_to_target_m,
        success,
        max_command_difference: ended.observer.map(|c| c.worst),
        view,
    })
}

/// A recorded command must fit the robot: one finite value per joint, within its limits.
fn check_command(scene: &Scene, index: usize, command: &[f64]) -> Result<(), String> {
    let model = &scene.model;
    if command.len() != model.dof() {
        return Err(format!(
            "joint command {index} has {} values, the robot {}",
            command.len(),
            model.dof()
        ));
    }
    for (&value, &j) in command.iter().zip(&model.dofs) {
        let joint = &model.joints[j];
        let (lo, hi) = joint
            .limits
            .position
            .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        // Continuous joints: a turn beyond a thousand revolutions is no recording of ours.
        let (lo, hi) = (lo.max(-1e4), hi.min(1e4));
        if !(value.is_finite() && value >= lo - 1e-6 && value <= hi + 1e-6) {
            return Err(format!(
                "joint command {index}: {} = {value} is outside its limits [{lo}, {hi}]",
                joint.name
            ));
        }
    }
    Ok(())
}
