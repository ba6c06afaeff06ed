//! `teleop robot`: the robot process; and the flags a station uses to reach one.

use std::path::PathBuf;
use std::time::Duration;

use super::say;
use crate::app::bundled;
use crate::app::robot_process::{self, DEFAULT_LISTEN};
use crate::link::bus::Endpoints;
use crate::robot::Connection;

#[derive(Debug, Clone, clap::Args)]
pub struct RobotArgs {
    /// Robot profile (TOML); default: the bundled humanoid.
    #[arg(long)]
    robot: Option<PathBuf>,
    /// The robot's name on the network: its topics live under /NAME (default: the profile's
    /// file name).
    #[arg(long)]
    name: Option<String>,
    /// Zenoh endpoint to listen on; repeat for several. Loopback unless you say otherwise.
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_LISTEN)]
    listen: Vec<String>,
    /// Zenoh endpoint to connect to as well (a ROS 2 system's rmw_zenohd router).
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// Zenoh configuration file (JSON5): TLS, user/password authentication (docs/network.md).
    #[arg(long, value_name = "FILE")]
    zenoh_config: Option<PathBuf>,
    /// ROS_DOMAIN_ID of the topics.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=232))]
    domain: u32,
    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "S", value_parser = super::demo::parse_seconds)]
    seconds: Option<f64>,
    /// Per-eye size of the published camera images, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", value_parser = super::demo::parse_size, default_value = "640x480")]
    camera_size: (u32, u32),
    /// Publish no camera images.
    #[arg(long)]
    no_camera: bool,
}

pub fn run(args: RobotArgs) -> anyhow::Result<()> {
    let profile = args
        .robot
        .unwrap_or_else(|| bundled("profiles/teleop_humanoid.toml"));
    let options = robot_process::Options {
        name: args.name,
        endpoints: Endpoints {
            listen: args.listen,
            connect: args.connect,
            config_file: args.zenoh_config,
            domain: args.domain,
        },
        duration: args.seconds.map(Duration::from_secs_f64),
        stop: crate::rt::interrupt_flag(),
        camera: (!args.no_camera).then_some(args.camera_size),
        ..robot_process::Options::default()
    };
    if let Some(warning) = robot_process::listen_warning(&options.endpoints) {
        eprintln!("warning: {warning}");
    }
    let mut started_line = Ok(());
    let report = robot_process::run(&profile, &options, |s| {
        started_line = say(format_args!(
            "robot {}: listening on {}, {:.0} Hz, {}; holding until a station takes control",
            s.namespace,
            s.listen.join(", "),
            s.rate_hz,
            s.camera
        ));
    })?;
    started_line?;
    say(format_args!(
        "robot: {} ticks ({} late), {} commands, {} takeovers, {} holds, {} damps, {} sequence gaps, {} old dropped, {} refused, {} bad",
        report.ticks,
        report.late_ticks,
        report.commands,
        report.takeovers,
        report.holds,
        report.damps,
        report.sequence_gaps,
        report.dropped_old,
        report.refused,
        report.bad
    ))?;
    Ok(())
}

/// How a station reaches a robot process (`teleop demo --connect`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// Drive a robot process (`teleop robot`) at this Zenoh endpoint instead of the built-in
    /// simulator (real time).
    #[arg(long, value_name = "ENDPOINT")]
    connect: Option<String>,
    /// With --connect: the robot's name on the network (default: the profile's file name).
    #[arg(long, value_name = "NAME", requires = "connect")]
    robot_name: Option<String>,
    /// With --connect: Zenoh configuration file (JSON5; TLS, authentication).
    #[arg(long, value_name = "FILE", requires = "connect")]
    zenoh_config: Option<PathBuf>,
    /// With --connect: ROS_DOMAIN_ID of the topics.
    #[arg(long, default_value_t = 0, requires = "connect", value_parser = clap::value_parser!(u32).range(0..=232))]
    domain: u32,
}

impl ConnectArgs {
    pub fn endpoint(&self) -> Option<&str> {
        self.connect.as_deref()
    }

    /// The connection for `profile`'s robot, if `--connect` was given.
    pub fn into_connection(self, profile: &std::path::Path) -> Option<Connection> {
        let endpoint = self.connect?;
        Some(Connection {
            endpoints: Endpoints {
                listen: Vec::new(),
                connect: vec![endpoint],
                config_file: self.zenoh_config,
                domain: self.domain,
            },
            robot: self
                .robot_name
                .unwrap_or_else(|| robot_process::default_name(profile)),
            station: station_name(),
            connect_timeout: Duration::from_secs(10),
            silence_timeout: Duration::from_millis(500),
        })
    }
}

/// How this station names itself to robots: `station@HOST:PID`.
fn station_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("station@{host}:{}", std::process::id())
}
