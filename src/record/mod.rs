//! Demonstration recording: episodes to MCAP on their own threads without ever stalling the
//! control loop, reading them back (cut-off files included), repair, playback (the recorded
//! frames and commands a replay session runs), and export to LeRobotDataset v3.0.
//!
//! A [`Recorder`] session writes one file per episode, `DIR/episode-NNNN.mcap`, with a JSON
//! sidecar `episode-NNNN.json` (the metadata without the long texts). The control loop hands
//! each tick to the session's [`Tap`] (a [`TickSink`](crate::msg::TickSink)): a copy into a
//! buffer from a fixed pool and a non-blocking send; with no free buffer the tick is dropped and
//! counted per channel. Camera frames go through a [`CameraSink`] (rate-limited, JPEG-encoded
//! on the encoder thread). Episodes start and stop from the CLI ([`Recorder::start_episode`]) or
//! from controller buttons (see [`Tap`]).
//!
//! Channels (JSON messages, a JSON Schema each; Foxglove's schemas for `/tf` and
//! `/camera/stereo`), see [`Topic`]: `/operator`, `/clutch`, `/ik`, `/joint_command`,
//! `/joint_state`, `/contact`, `/tf`, `/camera/stereo`, `/latency`, `/annotations`. Every
//! message has `mono_ns` and `wall_ns`; MCAP log times are the wall clock at the episode's first
//! tick plus monotonic time since (they never jump with the wall clock).
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
//! - Images are exported as JPEG in the data parquet (`image` features); no video encoding.
//! - The export writes one data file and one episodes file (no splitting at 100 MB).
//! - Replay (in `app`) rebuilds the bundled demo's scene (table, cube, tray) only.
//! - Episode times are the control loop's: a recording made with a robot whose clock differs
//!   keeps the robot's own reading time in `/joint_state.state_ns`.

mod base64;
mod episode;
mod error;
pub mod lerobot;
mod parquet_out;
mod playback;
mod reader;
mod robot_info;
pub mod ros2;
mod session;
pub mod topics;

pub use episode::{EncodedImage, EpisodeReport, Outcome, rfc3339};
pub use error::Error;
pub use lerobot::{ExportOptions, ExportReport, export as export_lerobot};
pub use playback::Playback;
pub use reader::{
    EpisodeFile, Repair, StoredChannel, StoredMessage, StoredSchema, mcap_in, repair,
};
pub use robot_info::{RobotInfo, sha256_hex};
pub use session::{CameraSink, Recorder, RecorderConfig, Tap};
pub use topics::Topic;
