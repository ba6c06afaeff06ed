//! `teleop robot`: the robot side of the bridge as its own process. It hosts the simulated robot
//! in the demo's world (a vendor driver would take its place behind `robot::Robot`) and runs
//! `robot::host`'s loop: the newest command of the station holding control → the safety filter
//! → the robot, with its own watchdog, over Zenoh.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Error;
use super::scene::Scene;
use super::view;
use crate::link::bus::{Bus, Endpoints, Publisher, Urgency};
use crate::link::names::{Qos, robot_namespace};
use crate::link::types::CompressedImage;
use crate::model::JointKind;
use crate::msg::{CameraFrame, ImageSink};
use crate::render::StateCell;
use crate::robot::RobotState;
use crate::robot::host::{self, topics};
use crate::safety::Limits;

/// The default endpoint a robot process listens on (loopback: nothing outside this machine
/// reaches it unless asked).
pub const DEFAULT_LISTEN: &str = "tcp/127.0.0.1:7447";

/// How far a station's first command may be from where a joint is for the station to take
/// control: revolute (rad) and prismatic (m) joints.
const TAKEOVER_TOLERANCE_RAD: f64 = 0.05;
const TAKEOVER_TOLERANCE_M: f64 = 0.01;

/// How the robot process runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The robot's name on the network (its namespace); default: the profile's file name.
    pub name: Option<String>,
    pub endpoints: Endpoints,
    pub hold_after: Duration,
    pub damp_after: Duration,
    /// Stop after this long (None: until interrupted).
    pub duration: Option<Duration>,
    pub stop: Arc<AtomicBool>,
    /// The robot's stereo camera, per-eye size, rendered from the simulation and published as
    /// one JPEG per eye at 30 fps; None: no camera.
    pub camera: Option<(u32, u32)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: None,
            endpoints: Endpoints {
                listen: vec![DEFAULT_LISTEN.into()],
                ..Endpoints::default()
            },
            hold_after: Duration::from_millis(100),
            damp_after: Duration::from_millis(500),
            duration: None,
            stop: Arc::default(),
            camera: Some((640, 480)),
        }
    }
}

/// The robot's name when none is given: the profile's file name (`humanoid.toml` → `humanoid`).
pub fn default_name(profile: &Path) -> String {
    profile
        .file_stem()
        .map_or_else(|| "robot".into(), |s| s.to_string_lossy().into_owned())
}

/// A warning for endpoints that let other machines in without TLS, if any.
pub fn listen_warning(endpoints: &Endpoints) -> Option<String> {
    let open: Vec<&str> = endpoints
        .listen
        .iter()
        .map(String::as_str)
        .filter(|e| {
            let host = e.split_once('/').map_or(*e, |(_, rest)| rest);
            !(host.starts_with("127.")
                || host.starts_with("[::1]")
                || host.starts_with("localhost"))
        })
        .filter(|e| e.starts_with("tcp/"))
        .collect();
    (!open.is_empty()).then(|| {
        format!(
            "listening on {} without TLS: anyone who reaches this address can drive the robot (see docs/network.md: --zenoh-config with TLS and a password)",
            open.join(", ")
        )
    })
}

/// What the robot process prints when it starts.
#[derive(Debug, Clone)]
pub struct Started {
    pub namespace: String,
    pub listen: Vec<String>,
    pub rate_hz: f64,
    /// What the camera publishes, or why it does not.
    pub camera: String,
}

/// The camera topics, relative to the robot's namespace.
pub const CAMERA_TOPICS: [&str; 2] = [
    "camera/left/image_raw/compressed",
    "camera/right/image_raw/compressed",
];

/// Publishes each rendered side-by-side stereo frame as two JPEGs, one per eye; a congested link
/// drops them (the next frame supersedes). Runs on the camera's thread.
struct CameraPublisher {
    eyes: [Publisher<CompressedImage>; 2],
    frames: [String; 2],
    msg: CompressedImage,
    rgb: Vec<u8>,
    jpeg: Vec<u8>,
}

impl ImageSink for CameraPublisher {
    fn wants(&self, _time_ns: u64) -> bool {
        true
    }

    fn offer(&mut self, frame: CameraFrame) -> bool {
        let (w, h) = (frame.width as usize / 2, frame.height as usize);
        if w == 0 || frame.rgba.len() != 2 * w * h * 4 {
            return false;
        }
        // When the state it shows was the robot's (its cameras' exposure time, so the
        // station's age covers render, JPEG, network and decoding).
        let stamp = frame.time_ns;
        for eye in 0..2 {
            self.rgb.clear();
            for row in frame.rgba.chunks_exact(2 * w * 4) {
                let half = &row[eye * w * 4..(eye + 1) * w * 4];
                self.rgb
                    .extend(half.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
            }
            self.jpeg.clear();
            let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut self.jpeg, 80)
                .encode(
                    &self.rgb,
                    w as u32,
                    h as u32,
                    image::ExtendedColorType::Rgb8,
                );
            if let Err(e) = encoded {
                tracing::warn!("camera: frame not encoded: {e}");
                return false;
            }
            self.msg.set_jpeg(stamp, &self.frames[eye], &self.jpeg);
            if let Err(e) = self.eyes[eye].put(&self.msg) {
                tracing::debug!("camera: {e}");
            }
        }
        true
    }
}

/// Runs the robot process for the robot `profile` until interrupted or `options.duration`
/// ends; `on_start` is called once its topics are up.
pub fn run(
    profile: &Path,
    options: &Options,
    on_start: impl FnOnce(&Started),
) -> Result<host::Report, Error> {
    let scene = Scene::load(profile)?;
    let sim = scene.sim()?;
    let model = &scene.model;
    let limits = Limits::from_profile(model, &scene.profile, 1.0);
    let names: Vec<String> = model.dof_names().map(str::to_string).collect();
    let takeover_tolerance = model
        .dofs
        .iter()
        .map(|&j| match model.joints[j].kind {
            JointKind::Prismatic => TAKEOVER_TOLERANCE_M,
            _ => TAKEOVER_TOLERANCE_RAD,
        })
        .collect();
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| default_name(profile));
    let namespace = robot_namespace(&name);
    let bus = Bus::open(&options.endpoints, &namespace, topics::ROBOT_NODE)?;
    let host_options = host::Options {
        rate_hz: scene.profile.control_rate_hz,
        hold_after: options.hold_after,
        damp_after: options.damp_after,
        takeover_tolerance,
        duration: options.duration,
    };
    // The camera renders the newest poses on its own thread, at background priority.
    let cell = Arc::new(StateCell::new(scene.view_state()));
    let done = Arc::new(AtomicBool::new(false));
    let (camera, camera_line) = match (options.camera, &scene.profile.camera) {
        (Some(size), Some(rig)) => {
            let eyes = [
                bus.publisher(CAMERA_TOPICS[0], Qos::best_effort(1), Urgency::Bulk)?,
                bus.publisher(CAMERA_TOPICS[1], Qos::best_effort(1), Urgency::Bulk)?,
            ];
            let publisher = CameraPublisher {
                eyes,
                frames: rig.eye_links().map(str::to_string),
                msg: CompressedImage::default(),
                rgb: Vec::new(),
                jpeg: Vec::new(),
            };
            let thread = view::spawn_camera(
                &scene,
                Some(size),
                Box::new(publisher),
                Arc::clone(&cell),
                Arc::clone(&done),
            )?;
            (
                Some(thread),
                format!(
                    "camera {}×{} per eye as JPEG at 30 fps on camera/{{left,right}}/image_raw/compressed",
                    size.0, size.1
                ),
            )
        }
        (Some(_), None) => (None, "no camera: the profile names no [camera]".into()),
        (None, _) => (None, "no camera (--no-camera)".into()),
    };
    on_start(&Started {
        namespace,
        listen: options.endpoints.listen.clone(),
        rate_hz: host_options.rate_hz,
        camera: camera_line,
    });
    let hosted = host::Hosted {
        robot: Box::new(sim),
        limits,
        names,
        object_names: scene.object_names(),
    };
    // Stamped by the wall clock: the camera's images carry it to the station.
    let mut publish = |state: &RobotState| {
        cell.try_publish(
            crate::rt::wall_clock_ns(),
            &state.link_poses,
            &state.object_poses,
        );
    };
    let report = host::run(hosted, &bus, &host_options, &options.stop, &mut publish);
    done.store(true, Ordering::Relaxed);
    if let Some(thread) = camera {
        match thread.join() {
            Ok(Ok(Some(what))) => tracing::info!("camera: {what}"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!("camera: {e}"),
            Err(_) => tracing::warn!("camera: its thread panicked"),
        }
    }
    Ok(report?)
}
