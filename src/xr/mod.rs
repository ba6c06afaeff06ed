//! The OpenXR client: instance, session state machine, actions and bindings, spaces, hand
//! tracking, and the headset's frames; it turns a headset into [`OperatorFrame`]s for the
//! pipeline.
//!
//! - [`instance`]: loader, runtime, extensions (`XR_KHR_vulkan_enable2`,
//!   `XR_EXT_hand_tracking`, `XR_MND_headless`, `XR_KHR_convert_timespec_time` where offered).
//! - [`session`]: every session state as an explicit machine, plus the clutch latch that makes
//!   the robot resume only through the clutch after focus or tracking was lost.
//! - [`input`]: actions, suggested bindings (Khronos simple, Oculus Touch, Valve Index, HTC
//!   Vive, Microsoft motion controller), STAGE space (LOCAL fallback), head, hand joints.
//! - [`frames`]: the one conversion between OpenXR structs/axes and ours (`robot_from_xr`).
//! - [`client`]: the headless session loop; [`vulkan`]: the Vulkan session (wgpu on the
//!   runtime's device, swapchain, projection layer); [`view`]: the robot's stereo view drawn
//!   into it; [`drive`]: `teleop demo|run --input xr`.
//! - [`remote`]: a pose injector for Monado's remote driver (tests, demos without a headset).
//! - `handshake`: every `unsafe` call (loader, session creation, Vulkan/wgpu handles).
//!
//! ## Limitations
//! - One session per process; a lost runtime ends the session (the robot holds, the caller
//!   decides what next) rather than reconnecting.
//! - Runtime times are mapped onto the pipeline's clock only with
//!   `XR_KHR_convert_timespec_time`; without it operator frames are stamped on arrival.
//! - Tracked hands drive the robot only when no controller grip is tracked for that hand:
//!   palm pose as the grip, thumb–index pinch as the clutch, no trigger (gripper stays open).
//! - The Khronos simple controller has two buttons: select is the clutch, nothing closes the
//!   gripper.
//! - The robot view is single-sampled (no MSAA) in the headset, and the robot's world is
//!   placed in the stage once per session (no recentring).
//! - Profiles needing extensions (HP Reverb, Vive Focus 3, Pico…) get no suggested bindings;
//!   the runtime's own remapping applies.
//!
//! [`OperatorFrame`]: crate::msg::OperatorFrame

pub mod client;
pub mod drive;
mod error;
pub mod frames;
mod handshake;
pub mod input;
pub mod instance;
pub mod remote;
pub mod session;
pub mod view;
pub mod vulkan;

pub use client::{Client, HeadlessClient, Step};
pub use error::Error;
pub use input::{Controller, Sample};
pub use instance::{Runtime, SessionKind};
pub use session::SessionState;
pub use view::RobotView;
pub use vulkan::{ClearEyes, EyeRenderer, EyeView, Rendered, VulkanClient};
