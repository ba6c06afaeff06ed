//! `teleop demo --record DIR`: the scripted demo recorded as one episode, labelled success or
//! failure by the demo's own verdict.

use std::path::{Path, PathBuf};

use super::{EpisodeReport, Error, Outcome, Recorder, RecorderConfig, RobotInfo};
use crate::demo::{Options, Summary};
use crate::msg::ImageSink;

/// The task the bundled demo performs, as written into its episodes.
pub const DEMO_TASK: &str = "Pick up the cube and put it on the marked spot.";

/// How the demo is recorded.
#[derive(Debug, Clone)]
pub struct DemoRecording {
    pub dir: PathBuf,
    /// Operator id; default `$USER`.
    pub operator: Option<String>,
    /// Task description; default [`DEMO_TASK`].
    pub task: Option<String>,
    /// Real time (the control thread at the profile's rate, lossy queue) or headless (as fast
    /// as possible, every tick and camera frame kept).
    pub realtime: bool,
    /// Record the robot's rendered stereo view (JPEG, at the recorder's camera rate) where a
    /// graphics adapter exists; the per-eye size is the view's (`Options::view.frame_size`).
    pub camera: bool,
}

/// What a recorded demo run produced.
#[derive(Debug)]
pub struct RecordedDemo {
    pub summary: Summary,
    /// The closed episode, or why recording stopped (the demo itself ran on).
    pub episode: Result<EpisodeReport, Error>,
}

/// Runs the demo and records it. Errors from the demo itself are returned; a recording that
/// cannot start or stops on the way (unwritable folder, full disk) is reported in
/// [`RecordedDemo::episode`] while teleoperation runs to its end.
pub fn record_demo(
    profile: &Path,
    script: &Path,
    options: &Options,
    recording: &DemoRecording,
) -> Result<RecordedDemo, Error> {
    let robot = RobotInfo::from_profile(profile)?;
    let mut config = RecorderConfig::new(&recording.dir, robot);
    if let Some(o) = &recording.operator {
        config.operator = o.clone();
    }
    config.task = recording.task.clone().unwrap_or_else(|| DEMO_TASK.into());
    config.lossless = !recording.realtime;
    let started = Recorder::start(config).and_then(|r| {
        r.start_episode()?;
        Ok(r)
    });
    let (mut recorder, start_error) = match started {
        Ok(r) => (Some(r), None),
        Err(e) => {
            tracing::error!("{e}; the demo runs without recording");
            (None, Some(e))
        }
    };
    let tap = recorder.as_mut().and_then(Recorder::take_tap);
    let camera = recorder
        .as_mut()
        .filter(|_| recording.camera)
        .and_then(Recorder::take_camera)
        .map(|c| Box::new(c) as Box<dyn ImageSink>);
    let summary = match (tap, recording.realtime) {
        (Some(tap), true) => {
            crate::demo::run_realtime_recorded(profile, script, options, Box::new(tap), camera)?
        }
        (Some(mut tap), false) => {
            crate::demo::run_recorded(profile, script, options, &mut tap, camera)?
        }
        (None, true) => crate::demo::run_realtime_with(profile, script, options)?,
        (None, false) => crate::demo::run_with(profile, script, options)?,
    };
    let episode = match (recorder, start_error) {
        (_, Some(e)) => Err(e),
        (Some(recorder), None) => {
            let outcome = if summary.success {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            let stopped = recorder.stop_episode(outcome);
            let finished = recorder.finish();
            match (stopped, finished) {
                (Ok(report), Ok(_)) => Ok(report),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        (None, None) => Err(Error::Stopped("no recorder".into())),
    };
    Ok(RecordedDemo { summary, episode })
}
