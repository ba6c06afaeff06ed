//! A robot in another process, over Zenoh ([`host`](super::host) on the other side): commands
//! go out as `sensor_msgs/JointState` on `joint_commands`, states come back on `joint_states`,
//! the robot's `status` says who holds control, and its liveliness token says whether it is
//! there at all. Runs on its own clock (never lock-step).
//!
//! The station never trusts the robot either: a robot that is gone, silent, or held by another
//! station ends the session with one line saying which, and the station sends nothing more.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::host::{status_keys, status_value, topics};
use super::{Error, LinkPoses, Robot, RobotState};
use crate::kinematics::Pose;
use crate::link::bus::{Bus, Endpoints, Publisher, Subscription, Urgency, unix_ns};
use crate::link::names::{Qos, robot_namespace};
use crate::link::types::{DiagnosticStatus, JointState, TFMessage};
use crate::model::Model;
use crate::rt::lock;

/// How a station reaches a robot.
#[derive(Debug, Clone)]
pub struct Connection {
    pub endpoints: Endpoints,
    /// The robot's name (its namespace: `/<name>`).
    pub robot: String,
    /// How this station names itself to the robot (shown to whoever is refused).
    pub station: String,
    /// How long to wait for the robot's first state.
    pub connect_timeout: Duration,
    /// A robot whose states stop for this long is lost.
    pub silence_timeout: Duration,
}

/// The newest of what the robot sent.
struct Latest {
    at: Option<Instant>,
    stamp_ns: u64,
    positions: Vec<f64>,
    velocities: Vec<f64>,
    efforts: Vec<f64>,
    object_poses: Vec<Pose>,
    objects_seen: bool,
    /// Set once the robot's status says it refused this station (why).
    refused: Option<String>,
}

/// Liveliness of the robot's node.
const UNSEEN: u8 = 0;
const ALIVE: u8 = 1;
const GONE: u8 = 2;

/// The robot over the network (see the module docs).
pub struct Remote {
    commands: Publisher<JointState>,
    command: JointState,
    names: Vec<String>,
    station: String,
    robot: String,
    latest: Arc<Mutex<Latest>>,
    alive: Arc<AtomicU8>,
    silence_timeout: Duration,
    link_poses: LinkPoses,
    objects: usize,
    _subscriptions: Vec<Subscription>,
    // Last: the session outlives its publishers and subscriptions.
    _bus: Bus,
}

impl Remote {
    /// Connects to the robot `connection.robot` (whose joints are `model`'s and whose base
    /// stands at `world_from_base`), and waits for its first state. `object_names`: the
    /// objects whose poses a simulated robot reports, in the order wanted.
    pub fn connect(
        connection: &Connection,
        model: &Model,
        world_from_base: Pose,
        object_names: &[String],
    ) -> Result<Remote, Error> {
        let namespace = robot_namespace(&connection.robot);
        let bus = Bus::open(&connection.endpoints, &namespace, topics::STATION_NODE)?;
        let names: Vec<String> = model.dof_names().map(str::to_string).collect();
        let dof = names.len();
        let latest = Arc::new(Mutex::new(Latest {
            at: None,
            stamp_ns: 0,
            positions: vec![0.0; dof],
            velocities: vec![0.0; dof],
            efforts: vec![0.0; dof],
            object_poses: vec![Pose::identity(); object_names.len()],
            objects_seen: false,
            refused: None,
        }));
        let alive = Arc::new(AtomicU8::new(UNSEEN));
        let commands: Publisher<JointState> =
            bus.publisher(topics::COMMANDS, Qos::best_effort(1), Urgency::Control)?;
        let own_gid = commands.gid().to_string();
        let mut subscriptions = Vec::new();
        {
            let latest = Arc::clone(&latest);
            let names = names.clone();
            let scratch = Mutex::new(vec![0.0; dof]);
            subscriptions.push(bus.subscribe::<JointState, _>(
                topics::STATES,
                Qos::best_effort(1),
                move |got| {
                    let Ok(r) = got else { return };
                    let m = &r.message;
                    let mut q = lock(&scratch);
                    let ok = m.positions_in_order(&names, &mut q).is_ok()
                        && m.velocity.len() == m.position.len();
                    if !ok {
                        return;
                    }
                    let mut l = lock(&latest);
                    l.positions.copy_from_slice(&q);
                    // Velocities and efforts in the same order when the robot sends ours.
                    if m.name.iter().zip(&names).all(|(a, b)| a == b) && m.name.len() == names.len()
                    {
                        l.velocities.copy_from_slice(&m.velocity);
                        if m.effort.len() == names.len() {
                            l.efforts.copy_from_slice(&m.effort);
                        }
                    }
                    l.stamp_ns = m.header.stamp.to_ns();
                    l.at = Some(r.at);
                },
            )?);
        }
        if !object_names.is_empty() {
            let latest = Arc::clone(&latest);
            let object_names = object_names.to_vec();
            subscriptions.push(bus.subscribe::<TFMessage, _>(
                topics::OBJECTS,
                Qos::best_effort(1),
                move |got| {
                    let Ok(r) = got else { return };
                    let mut l = lock(&latest);
                    for t in &r.message.transforms {
                        if let Some(i) = object_names.iter().position(|n| *n == t.child_frame_id) {
                            l.object_poses[i] = t.transform.to_isometry();
                        }
                    }
                    l.objects_seen = true;
                },
            )?);
        }
        {
            let latest = Arc::clone(&latest);
            subscriptions.push(bus.subscribe::<DiagnosticStatus, _>(
                topics::STATUS,
                Qos::reliable(10),
                move |got| {
                    let Ok(r) = got else { return };
                    let status = &r.message;
                    if status_value(status, status_keys::REFUSED_GID) == Some(own_gid.as_str()) {
                        let why = status_value(status, status_keys::REFUSED_WHY).unwrap_or("");
                        let holder = status_value(status, status_keys::HOLDER).unwrap_or("");
                        lock(&latest).refused = Some(if holder.is_empty() {
                            format!("refused control: {why}")
                        } else {
                            format!("refused control: held by {holder}")
                        });
                    }
                },
            )?);
        }
        {
            let alive = Arc::clone(&alive);
            subscriptions.push(bus.watch_node(&namespace, topics::ROBOT_NODE, move |up| {
                alive.store(if up { ALIVE } else { GONE }, Ordering::Relaxed);
            })?);
        }
        let mut command = JointState::default();
        command.set(0, &names, &vec![0.0; dof], &[], &[])?;
        let remote = Remote {
            commands,
            command,
            names,
            station: connection.station.clone(),
            robot: namespace,
            latest,
            alive,
            silence_timeout: connection.silence_timeout,
            link_poses: LinkPoses::new(model, world_from_base),
            objects: object_names.len(),
            _subscriptions: subscriptions,
            _bus: bus,
        };
        let endpoints = connection.endpoints.connect.join(", ");
        let deadline = Instant::now() + connection.connect_timeout;
        // The first state, and the objects' first poses when the robot has objects.
        while {
            let l = lock(&remote.latest);
            l.at.is_none() || (remote.objects > 0 && !l.objects_seen)
        } {
            if Instant::now() > deadline {
                return Err(Error::Backend(format!(
                    "no state from robot {} at {} within {:.1} s (is `teleop robot --name {}` running there, and does its --zenoh-config admit this station?)",
                    remote.robot,
                    if endpoints.is_empty() {
                        "(no endpoint)"
                    } else {
                        &endpoints
                    },
                    connection.connect_timeout.as_secs_f64(),
                    connection.robot
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(remote)
    }

    fn check(&self, latest: &Latest) -> Result<(), Error> {
        if self.alive.load(Ordering::Relaxed) == GONE {
            return Err(Error::Backend(format!(
                "robot {} is gone (its process ended or the link dropped); holding",
                self.robot
            )));
        }
        if let Some(why) = &latest.refused {
            return Err(Error::Backend(format!("robot {}: {why}", self.robot)));
        }
        if let Some(silent) = latest.at.map(|at| at.elapsed())
            && silent > self.silence_timeout
        {
            return Err(Error::Backend(format!(
                "robot {} silent for {:.0} ms; holding",
                self.robot,
                silent.as_secs_f64() * 1e3
            )));
        }
        Ok(())
    }
}

impl Robot for Remote {
    fn dof(&self) -> usize {
        self.names.len()
    }

    fn links(&self) -> usize {
        self.link_poses.links()
    }

    fn objects(&self) -> usize {
        self.objects
    }

    fn command(&mut self, positions: &[f64]) -> Result<(), Error> {
        self.check(&lock(&self.latest))?;
        if positions.len() != self.names.len() {
            return Err(Error::WrongLength {
                expected: self.names.len(),
                got: positions.len(),
            });
        }
        self.command.header.set(unix_ns() as u64, &self.station);
        self.command.position.copy_from_slice(positions);
        self.commands.put(&self.command).map_err(Error::from)
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), Error> {
        {
            let latest = lock(&self.latest);
            self.check(&latest)?;
            out.time_ns = latest.stamp_ns;
            out.positions.copy_from_slice(&latest.positions);
            out.velocities.copy_from_slice(&latest.velocities);
            out.efforts.copy_from_slice(&latest.efforts);
            out.object_poses.copy_from_slice(&latest.object_poses);
        }
        self.link_poses.fill(out);
        out.contact_forces.fill(0.0);
        Ok(())
    }
}
