//! `teleop replay FILE`: the demo's scene driven again from a recording — by the recorded joint
//! commands (one control period each, as recorded), or with `--from-operator` by the recorded
//! operator frames run through a fresh control pipeline (retarget → IK → safety), which checks
//! that the recording holds everything needed to redo the teleoperation.

use std::path::{Path, PathBuf};

use nalgebra::Vector3;

use super::reader::EpisodeFile;
use super::topics::{HandMsg, JointCommandMsg, OperatorMsg, Topic};
use super::{Error, RobotInfo};
use crate::msg::{Buttons, HAND_JOINTS, HandInput, HandJoints, OperatorFrame};
use crate::robot::Robot;

#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Re-run the pipeline from the recorded operator frames instead of sending the recorded
    /// joint commands.
    pub from_operator: bool,
    /// Robot profile; default: the one the episode names (`profile_path`).
    pub profile: Option<PathBuf>,
    /// The robot's stereo view: PNG frames and/or a window (which keeps the replay to real
    /// time).
    pub view: crate::demo::View,
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    pub ticks: usize,
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

fn hand(m: &HandMsg) -> HandInput {
    HandInput {
        grip: m.grip.map(|p| p.to_isometry()),
        trigger: m.trigger,
        squeeze: m.squeeze,
        buttons: Buttons {
            primary: m.primary,
            secondary: m.secondary,
            menu: m.menu,
        },
        joints: m.joints.as_ref().and_then(|recorded| {
            let mut joints: HandJoints = [None; HAND_JOINTS];
            (recorded.len() == HAND_JOINTS).then(|| {
                for (joint, pose) in joints.iter_mut().zip(recorded) {
                    *joint = pose.map(|p| p.to_isometry());
                }
                joints
            })
        }),
    }
}

fn frame(m: &OperatorMsg) -> OperatorFrame {
    OperatorFrame {
        time_ns: m.frame_time_ns,
        head: m.head.map(|p| p.to_isometry()),
        left: hand(&m.left),
        right: hand(&m.right),
    }
}

/// Replays the episode at `path` in the demo's scene.
pub fn replay(path: &Path, options: &ReplayOptions) -> Result<ReplaySummary, Error> {
    let episode = EpisodeFile::read(path)?;
    let invalid = |message: String| Error::Invalid {
        path: path.to_path_buf(),
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
    let robot = RobotInfo::from_profile(&profile)?;
    let recorded: Vec<String> = episode.metadata_json("joint_names")?;
    if recorded != robot.joint_names {
        return Err(invalid(format!(
            "recorded for joints {recorded:?}, but {} has {:?}",
            profile.display(),
            robot.joint_names
        )));
    }
    let commands: Vec<JointCommandMsg> = episode.decode(Topic::JointCommand)?;
    if commands.is_empty() {
        return Err(invalid("no joint commands recorded".into()));
    }
    let scene = crate::demo::scene(&profile)?;
    let plan = crate::demo::ViewPlan::of(&scene, &options.view)?.paced();
    let crate::demo::Scene {
        mut pipeline,
        mut sim,
        cube,
        objects,
        ..
    } = scene;
    let dt = pipeline.tick_period_s();
    let robot_error = |e: crate::robot::Error| invalid(e.to_string());
    let mut state = crate::robot::RobotState::zeros(sim.dof(), sim.links());
    let from_operator = options.from_operator;
    let ((max_difference, sim), view) = plan.drive(|view| {
        // The view looks once per view period, at the state after that tick.
        let mut look = |k: usize, sim: &mut crate::sim::Sim| -> Result<(), Error> {
            let k = k as u64;
            if view.wants(k) {
                sim.read_state(&mut state).map_err(robot_error)?;
                view.after_tick(k, k * (dt * 1e9) as u64, &state, sim, &objects);
            }
            Ok(())
        };
        if from_operator {
            let operators: Vec<OperatorMsg> = episode.decode(Topic::Operator)?;
            let mut next = 0;
            let mut current: Option<OperatorFrame> = None;
            let mut worst: f64 = 0.0;
            for (k, c) in commands.iter().enumerate() {
                while next < operators.len() && operators[next].mono_ns <= c.mono_ns {
                    current = Some(frame(&operators[next]));
                    next += 1;
                }
                pipeline.tick(current.as_ref(), c.mono_ns);
                for (a, b) in pipeline.command().iter().zip(&c.position) {
                    worst = worst.max((a - b).abs());
                }
                sim.command(pipeline.command()).map_err(robot_error)?;
                sim.advance(dt);
                look(k, &mut sim)?;
            }
            Ok((Some(worst), sim))
        } else {
            for (k, c) in commands.iter().enumerate() {
                if c.position.len() != sim.dof() {
                    return Err(invalid(format!(
                        "a joint command has {} values, the robot {}",
                        c.position.len(),
                        sim.dof()
                    )));
                }
                sim.command(&c.position).map_err(robot_error)?;
                sim.advance(dt);
                look(k, &mut sim)?;
            }
            Ok((None, sim))
        }
    })?;
    let cube_end = sim.object_pose(cube).translation.vector;
    let (distance_to_target_m, success) = crate::demo::layout::judge(&cube_end);
    Ok(ReplaySummary {
        ticks: commands.len(),
        from_operator: options.from_operator,
        damage: episode.damage.clone(),
        cube_end,
        distance_to_target_m,
        success,
        max_command_difference: max_difference,
        view,
    })
}
