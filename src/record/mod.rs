//! Demonstration recording: episodes as ROS 2 bags on their own threads without ever stalling
//! the control loop, reading them back (cut-off files and old JSON episodes included), repair,
//! playback (the recorded frames and commands a replay session runs), conversion of old JSON
//! episodes, and export to LeRobotDataset v3.0 (video through FFmpeg, statistics, end-effector
//! poses by FK of the recorded joints).
//!
//! A [`Recorder`] session writes one rosbag2 folder per episode, `DIR/episode-NNNN/`, holding
//! `episode-NNNN.mcap` (profile `ros2`, CDR messages, `ros2msg` schemas), rosbag2's
//! `metadata.yaml` and a JSON sidecar `episode-NNNN.json` (the metadata without the long texts).
//! The control loop hands each tick to the session's [`Tap`] (a
//! [`TickSink`](crate::msg::TickSink)): a copy into a buffer from a fixed pool and a non-blocking
//! send; with no free buffer the tick is dropped and counted per channel. Camera frames go
//! through a [`CameraSink`] (rate-limited, JPEG-encoded per eye on the encoder thread). Episodes
//! start and stop from the CLI ([`Recorder::start_episode`]) or from controller buttons (see
//! [`Tap`]).
//!
//! Channels, see [`Topic`]: `/operator`, `/clutch`, `/ik`, `/joint_command`, `/joint_state`,
//! `/contact`, `/tf`, `/camera/left/image/compressed`, `/camera/right/image/compressed`,
//! `/latency`, `/annotations`; standard ROS 2 types where one fits (`sensor_msgs/JointState`,
//! `CompressedImage`, `tf2_msgs/TFMessage`), else `teleop_msgs` ([`ros2`]). Every header stamp
//! is the MCAP log time: the wall clock at the episode's first tick plus monotonic time since
//! (it never jumps with the wall clock). Old JSON episodes (`DIR/episode-NNNN.mcap`, JSON
//! messages, `/camera/stereo`) read as before; [`convert_json`] rewrites one in today's format.
//!
//! Crash safety: every flush interval (default 50 ms) the current chunk is ended, written and
//! the file synced, so a file cut off by SIGKILL or power loss holds everything older than
//! that; [`EpisodeFile`] reads such a file up to its last whole chunk and [`repair`] rewrites it
//! complete. On a write error (disk full, folder gone) the recorder stops, says why once
//! ([`Recorder::error`]), and the control loop runs on.
//!
//! ## Limitations
//! - Readers load a whole episode into memory (fine for minutes of state; long camera
//!   recordings need a streaming reader).
//! - The LeRobot export writes one data file, one episodes file and one MP4 per camera (no
//!   splitting at LeRobot's 100 MB / 200 MB); video needs the `ffmpeg` program.
//! - Replay (in `app`) rebuilds the bundled demo's scene (table, cube, tray) only.
//! - Episode times are the control loop's: a recording made with a robot whose clock differs
//!   keeps the robot's own reading time in `/joint_state.state_ns`.

mod base64;
mod convert;
mod ee_pose;
mod episode;
mod error;
pub mod lerobot;
mod parquet_out;
mod playback;
mod reader;
mod robot_info;
pub mod ros2;
mod session;
pub mod stats;
pub mod topics;
mod video;

pub use convert::{Converted, convert_json, converted_folder};
pub use episode::{EncodedImage, EpisodeReport, Labels, Outcome, rfc3339};
pub use error::Error;
pub use lerobot::{ExportOptions, ExportReport, ImageStorage, export as export_lerobot};
pub use playback::Playback;
pub use reader::{
    EpisodeFile, Repair, StoredChannel, StoredMessage, StoredSchema, mcap_in, repair,
};
pub use robot_info::{RobotInfo, sha256_hex};
pub use session::{CameraSink, Recorder, RecorderConfig, Tap};
pub use topics::Topic;
