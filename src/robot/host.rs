//! The robot process's own loop: at a fixed rate, the newest command of the station that holds
//! control → the safety filter → the backend; joint states out every tick. It never trusts the
//! link:
//!
//! - **Watchdog.** A command's age is the robot's wall clock minus the command's source
//!   timestamp (its attachment), so a late command counts as old as a missing one (station and
//!   robot clocks kept within a few ms by NTP). No command younger than `hold_after` (100 ms) →
//!   HOLD: the filter brakes within the limits and holds. For `damp_after` (500 ms) → DAMP: the
//!   backend's safe mode (the simulator's servos off, damping only), and control is released.
//! - **Order.** A command whose sequence number is not newer than the last one taken from its
//!   station is dropped; skipped numbers are counted as gaps (lost samples).
//! - **One station at a time.** Commands from any other station while one holds control are
//!   refused, and the status names the holder and the refused station.
//! - **Nothing moves on connect.** A station takes control only with a command that holds the
//!   robot where it is (within `takeover_tolerance` per joint): what a station sends while its
//!   clutch is released. Anything else is refused.
//!
//! Until a station first takes control the robot holds its posture (HOLD), rather than going
//! limp at power-on.
//!
//! Topics, under the robot's namespace: `joint_commands` in, `joint_states` and `status` out,
//! and, for a simulator, `objects` (`tf2_msgs/TFMessage`, `world` → each object) at 50 Hz.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Error, Robot, RobotState, state_for};
use crate::link::Gid;
use crate::link::bus::{Bus, Publisher, Received, Subscription, Urgency, unix_ns};
use crate::link::names::Qos;
use crate::link::types::{
    DiagnosticStatus, JointState, KeyValue, TFMessage, Transform, TransformStamped,
};
use crate::rt::lock;
use crate::safety::{Limits, SafetyFilter};

/// The robot process's topics, relative to its namespace.
pub mod topics {
    pub const COMMANDS: &str = "joint_commands";
    pub const STATES: &str = "joint_states";
    pub const STATUS: &str = "status";
    pub const OBJECTS: &str = "objects";
    /// The node names of the two sides.
    pub const ROBOT_NODE: &str = "teleop_robot";
    pub const STATION_NODE: &str = "teleop_station";
}

/// Keys of the status message's values.
pub mod status_keys {
    /// The holder's name and GID (empty when none).
    pub const HOLDER: &str = "holder";
    pub const HOLDER_GID: &str = "holder_gid";
    /// Milliseconds since the holder's last command (empty when none).
    pub const COMMAND_AGE_MS: &str = "command_age_ms";
    pub const SEQUENCE_GAPS: &str = "sequence_gaps";
    pub const DROPPED_OLD: &str = "dropped_old";
    pub const REFUSED: &str = "refused";
    /// The last refused station's GID and why.
    pub const REFUSED_GID: &str = "refused_gid";
    pub const REFUSED_WHY: &str = "refused_why";
    pub const LATE_TICKS: &str = "late_ticks";
}

/// What the robot is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Holding its posture (no holder yet, or the holder's commands are late).
    Hold,
    /// Following the holder's commands.
    Active,
    /// Safe mode: commands stopped for good.
    Damp,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hold => "HOLD",
            Mode::Active => "ACTIVE",
            Mode::Damp => "DAMP",
        }
    }
}

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub rate_hz: f64,
    pub hold_after: Duration,
    pub damp_after: Duration,
    /// Per joint (`q` order): how far a new station's first command may be from the measured
    /// position for it to take control.
    pub takeover_tolerance: Vec<f64>,
    /// Stop after this long (None: until stopped).
    pub duration: Option<Duration>,
}

/// The robot the loop drives, as the network names it.
pub struct Hosted {
    /// A lock-step backend.
    pub robot: Box<dyn Robot>,
    pub limits: Limits,
    /// Its joints (`q` order), as `joint_states` and commands name them.
    pub names: Vec<String>,
    /// Its objects, as `objects` names them (none for a real robot).
    pub object_names: Vec<String>,
}

/// What a run of the loop counted.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub ticks: u64,
    pub late_ticks: u64,
    pub commands: u64,
    pub sequence_gaps: u64,
    pub dropped_old: u64,
    pub refused: u64,
    pub takeovers: u64,
    pub holds: u64,
    pub damps: u64,
    /// Samples that could not be decoded (wrong type, joints, no attachment).
    pub bad: u64,
}

/// A command as the subscriber left it for the loop.
struct Command {
    gid: Gid,
    station: String,
    sequence: i64,
    positions: Vec<f64>,
    /// The source timestamp (ns since the Unix epoch, the station's clock).
    stamp_ns: i64,
}

/// What the command subscriber shares with the loop (each lock held for one copy).
#[derive(Default)]
struct Inbox {
    holder: Option<(Gid, String)>,
    last_sequence: i64,
    /// The holder's newest command, or a would-be holder's first one.
    newest: Option<Command>,
    fresh: bool,
    /// The source timestamp of the holder's newest command (Unix ns).
    last_command_ns: Option<i64>,
    sequence_gaps: u64,
    dropped_old: u64,
    refused: u64,
    refused_last: Option<(Gid, String)>,
    commands: u64,
    bad: u64,
}

/// The subscriber's side: order and arbitration; the posture check needs the robot's state,
/// so a would-be holder's command waits for the loop.
fn receive(
    inbox: &Mutex<Inbox>,
    names: &[String],
    got: Result<Received<JointState>, crate::link::LinkError>,
) {
    let mut inbox = lock(inbox);
    let received = match got {
        Ok(r) => r,
        Err(e) => {
            inbox.bad += 1;
            tracing::debug!("command dropped: {e}");
            return;
        }
    };
    let mut positions = vec![0.0; names.len()];
    if received
        .message
        .positions_in_order(names, &mut positions)
        .is_err()
        || positions.iter().any(|p| !p.is_finite())
    {
        inbox.bad += 1;
        return;
    }
    let gid = received.attachment.gid;
    let sequence = received.attachment.sequence_number;
    let station = received.message.header.frame_id.clone();
    match &inbox.holder {
        Some((holder, _)) if *holder != gid => {
            inbox.refused += 1;
            inbox.refused_last = Some((gid, format!("{station} (held by another station)")));
            return;
        }
        Some(_) => {
            if sequence <= inbox.last_sequence {
                inbox.dropped_old += 1;
                return;
            }
            inbox.sequence_gaps += (sequence - inbox.last_sequence - 1) as u64;
            inbox.last_sequence = sequence;
            inbox.last_command_ns = Some(received.attachment.source_timestamp_ns);
        }
        None => {}
    }
    inbox.commands += 1;
    inbox.newest = Some(Command {
        gid,
        station,
        sequence,
        positions,
        stamp_ns: received.attachment.source_timestamp_ns,
    });
    inbox.fresh = true;
}

/// Runs the loop on this thread until `stop` is set or the duration ends (see the module docs).
/// `robot` is a lock-step backend (it is stepped here, at `options.rate_hz`); `on_state` sees
/// every state read (a camera's renderer takes the poses; it must not block).
pub fn run(
    hosted: Hosted,
    bus: &Bus,
    options: &Options,
    stop: &AtomicBool,
    on_state: &mut dyn FnMut(&RobotState),
) -> Result<Report, Error> {
    let Hosted {
        mut robot,
        limits,
        names,
        object_names,
    } = hosted;
    let dof = robot.dof();
    if names.len() != dof || options.takeover_tolerance.len() != dof {
        return Err(Error::WrongLength {
            expected: dof,
            got: names.len(),
        });
    }
    let mut state = state_for(robot.as_ref());
    robot.read_state(&mut state)?;
    let mut filter = SafetyFilter::new(limits, &state.positions);
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let mut states: Publisher<JointState> =
        bus.publisher(topics::STATES, Qos::best_effort(1), Urgency::Control)?;
    let mut status_out: Publisher<DiagnosticStatus> =
        bus.publisher(topics::STATUS, Qos::reliable(10), Urgency::Reliable)?;
    let mut objects_out: Option<Publisher<TFMessage>> = (!object_names.is_empty())
        .then(|| bus.publisher(topics::OBJECTS, Qos::best_effort(1), Urgency::Control))
        .transpose()?;
    let _commands: Subscription = {
        let inbox = Arc::clone(&inbox);
        let names = names.clone();
        bus.subscribe(topics::COMMANDS, Qos::best_effort(1), move |got| {
            receive(&inbox, &names, got)
        })?
    };
    let dt = 1.0 / options.rate_hz;
    let period = Duration::from_secs_f64(dt);
    let mut report = Report::default();
    let mut wanted = state.positions.clone();
    let mut js = JointState::default();
    let mut tf = TFMessage {
        transforms: object_names
            .iter()
            .map(|name| TransformStamped {
                child_frame_id: name.clone(),
                ..TransformStamped::default()
            })
            .collect(),
    };
    let mut status = DiagnosticStatus {
        name: format!("{}/{}", bus.node().namespace, topics::ROBOT_NODE),
        hardware_id: bus.node().namespace.trim_start_matches('/').to_string(),
        ..DiagnosticStatus::default()
    };
    let mut mode = Mode::Hold;
    let mut announce = true;
    let mut refusals_seen = 0;
    let started = Instant::now();
    let mut due = started;
    let mut damp_supported = true;
    while !stop.load(Ordering::Relaxed) && options.duration.is_none_or(|d| started.elapsed() < d) {
        let now_ns = unix_ns();
        // The inbox: take over, take the newest command, release a silent holder.
        let (age, holder_changed) = {
            let mut inbox = lock(&inbox);
            let mut changed = false;
            if inbox.holder.is_none()
                && let Some(c) = inbox.newest.take()
            {
                let still = c
                    .positions
                    .iter()
                    .zip(&state.positions)
                    .zip(&options.takeover_tolerance)
                    .all(|((a, b), tol)| (a - b).abs() <= *tol);
                if still {
                    inbox.holder = Some((c.gid, c.station.clone()));
                    inbox.last_sequence = c.sequence;
                    inbox.last_command_ns = Some(c.stamp_ns);
                    wanted.copy_from_slice(&c.positions);
                    filter.reset(&state.positions);
                    report.takeovers += 1;
                    changed = true;
                } else {
                    inbox.refused += 1;
                    inbox.refused_last = Some((
                        c.gid,
                        format!(
                            "{} (its first command would move the robot: release the clutch to take control)",
                            c.station
                        ),
                    ));
                }
                inbox.fresh = false;
            } else if inbox.fresh {
                if let Some(c) = &inbox.newest {
                    wanted.copy_from_slice(&c.positions);
                }
                inbox.fresh = false;
            }
            let age = inbox
                .last_command_ns
                .map(|t| Duration::from_nanos(now_ns.saturating_sub(t).max(0) as u64));
            if inbox.holder.is_some() && age.is_some_and(|a| a > options.damp_after) {
                inbox.holder = None;
                inbox.newest = None;
                changed = true;
            }
            if inbox.refused != refusals_seen {
                refusals_seen = inbox.refused;
                announce = true;
            }
            (age, changed)
        };
        let next = match age {
            None => Mode::Hold,
            Some(a) if a > options.damp_after => Mode::Damp,
            Some(a) if a > options.hold_after => Mode::Hold,
            Some(_) => Mode::Active,
        };
        if next != mode {
            match (mode, next) {
                (_, Mode::Damp) => {
                    report.damps += 1;
                    if let Err(e) = robot.set_damped(true) {
                        damp_supported = false;
                        tracing::warn!("robot: {e}; holding instead");
                    }
                }
                (Mode::Damp, _) => {
                    if damp_supported {
                        robot.set_damped(false)?;
                    }
                    filter.reset(&state.positions);
                }
                _ => {}
            }
            if next == Mode::Hold {
                report.holds += 1;
            }
            mode = next;
            announce = true;
        }
        if mode == Mode::Damp && damp_supported {
            // Whatever the joints do while damped is where position control resumes.
            filter.reset(&state.positions);
        } else {
            let _ = filter.step((mode == Mode::Active).then_some(&wanted[..]), dt);
        }
        robot.command(filter.position())?;
        robot.step(dt)?;
        robot.read_state(&mut state)?;
        on_state(&state);
        let stamp = unix_ns() as u64;
        js.set_from_state(stamp, &names, &state)?;
        if let Err(e) = states.put(&js) {
            tracing::debug!("joint_states: {e}");
        }
        if let Some(out) = &mut objects_out
            && report.ticks % 10 == 0
        {
            for (t, pose) in tf.transforms.iter_mut().zip(&state.object_poses) {
                t.header.set(stamp, "world");
                t.transform = Transform::from_isometry(pose);
            }
            if let Err(e) = out.put(&tf) {
                tracing::debug!("objects: {e}");
            }
        }
        if announce || report.ticks % 50 == 0 || holder_changed {
            fill_status(&mut status, mode, &lock(&inbox), age, &report);
            if let Err(e) = status_out.put(&status) {
                tracing::debug!("status: {e}");
            }
            if announce {
                tracing::info!("robot: {} ({})", mode.name(), status_line(&status));
            }
            announce = false;
        }
        report.ticks += 1;
        let done = Instant::now();
        let deadline = due + period;
        if done > deadline {
            report.late_ticks += 1;
            due = done;
        } else {
            std::thread::sleep(deadline - done);
            due = deadline;
        }
    }
    let inbox = lock(&inbox);
    report.commands = inbox.commands;
    report.sequence_gaps = inbox.sequence_gaps;
    report.dropped_old = inbox.dropped_old;
    report.refused = inbox.refused;
    report.bad = inbox.bad;
    Ok(report)
}

/// Writes the status into `status`, reusing its strings (no allocation once they have grown).
fn fill_status(
    status: &mut DiagnosticStatus,
    mode: Mode,
    inbox: &Inbox,
    age: Option<Duration>,
    report: &Report,
) {
    use std::fmt::Write;
    status.level = match mode {
        Mode::Active => DiagnosticStatus::OK,
        Mode::Hold => DiagnosticStatus::WARN,
        Mode::Damp => DiagnosticStatus::ERROR,
    };
    status.message.clear();
    status.message.push_str(mode.name());
    const KEYS: [&str; 9] = [
        status_keys::HOLDER,
        status_keys::HOLDER_GID,
        status_keys::COMMAND_AGE_MS,
        status_keys::SEQUENCE_GAPS,
        status_keys::DROPPED_OLD,
        status_keys::REFUSED,
        status_keys::REFUSED_GID,
        status_keys::REFUSED_WHY,
        status_keys::LATE_TICKS,
    ];
    if status.values.len() != KEYS.len() {
        status.values = KEYS
            .iter()
            .map(|k| KeyValue {
                key: k.to_string(),
                value: String::with_capacity(64),
            })
            .collect();
    }
    for (i, kv) in status.values.iter_mut().enumerate() {
        let v = &mut kv.value;
        v.clear();
        let _ = match i {
            0 => write!(v, "{}", inbox.holder.as_ref().map_or("", |h| h.1.as_str())),
            1 => match &inbox.holder {
                Some((gid, _)) => write!(v, "{gid}"),
                None => Ok(()),
            },
            2 => age.map_or(Ok(()), |a| write!(v, "{:.1}", a.as_secs_f64() * 1e3)),
            3 => write!(v, "{}", inbox.sequence_gaps),
            4 => write!(v, "{}", inbox.dropped_old),
            5 => write!(v, "{}", inbox.refused),
            6 => match &inbox.refused_last {
                Some((gid, _)) => write!(v, "{gid}"),
                None => Ok(()),
            },
            7 => write!(
                v,
                "{}",
                inbox.refused_last.as_ref().map_or("", |r| r.1.as_str())
            ),
            _ => write!(v, "{}", report.late_ticks),
        };
    }
}

/// The status in one line (`holder=… command_age_ms=…`, empty values left out).
pub fn status_line(status: &DiagnosticStatus) -> String {
    let pairs: Vec<String> = status
        .values
        .iter()
        .filter(|kv| !kv.value.is_empty())
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    pairs.join(" ")
}

/// A value of a status message by key.
pub fn status_value<'a>(status: &'a DiagnosticStatus, key: &str) -> Option<&'a str> {
    status
        .values
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_str())
}
