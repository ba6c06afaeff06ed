//! `teleop robot`: the robot side of the bridge as its own process. It hosts the simulated robot
//! in the demo's world (a vendor driver would take its place behind `robot::Robot`) and runs
//! `robot::host`'s loop: the newest command of the station holding control → the safety filter
//! → the robot, with its own watchdog, over Zenoh.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::Error;
use super::scene::Scene;
use crate::link::bus::{Bus, Endpoints};
use crate::link::names::robot_namespace;
use crate::model::JointKind;
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
    on_start(&Started {
        namespace,
        listen: options.endpoints.listen.clone(),
        rate_hz: host_options.rate_hz,
    });
    Ok(host::run(
        Box::new(sim),
        limits,
        names,
        scene.object_names(),
        &bus,
        &host_options,
        &options.stop,
    )?)
}
