//! A ROS 2 robot reached through its own ros2_control controllers over rmw_zenoh, with no
//! `teleop robot` on its side: commands to the controller's topic (`std_msgs/Float64MultiArray`
//! for a forward position controller, a one-point `trajectory_msgs/JointTrajectory` for a joint
//! trajectory controller), state from its `sensor_msgs/JointState` topic.
//!
//! The robot's own controllers are its last safety line here (their limits, their command
//! timeouts); the station's safety filter still bounds every command it sends. A robot whose
//! joint states stop for the silence timeout ends the session with one line.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Connection, Error, LinkPoses, Robot, RobotState};
use crate::config::{Ros2Control, Ros2Interface};
use crate::kinematics::Pose;
use crate::link::bus::{Bus, Publisher, Subscription, Urgency};
use crate::link::names::Qos;
use crate::link::types::{self, Float64MultiArray, JointState, JointTrajectory};
use crate::model::Model;
use crate::rt::lock;

/// The newest joint state.
struct Latest {
    at: Option<Instant>,
    stamp_ns: u64,
    positions: Vec<f64>,
    velocities: Vec<f64>,
}

enum Commands {
    Forward(Publisher<Float64MultiArray>, Float64MultiArray),
    Trajectory(Publisher<JointTrajectory>, JointTrajectory),
}

/// A ROS 2 robot's controllers as a [`Robot`] (see the module docs).
pub struct Ros2Robot {
    commands: Commands,
    /// Model `q` index of each controller joint, in the controller's order.
    controller_q: Vec<usize>,
    controller_names: Vec<String>,
    values: Vec<f64>,
    latest: Arc<Mutex<Latest>>,
    silence_timeout: Duration,
    point_time: types::Duration,
    dof: usize,
    link_poses: LinkPoses,
    state_topic: String,
    _subscription: Subscription,
    _bus: Bus,
}

impl Ros2Robot {
    /// Connects to the robot's topics as `settings` name them and waits for its first joint
    /// state. Joints of `model` that the robot's state does not list stay at `start`.
    pub fn connect(
        connection: &Connection,
        settings: &Ros2Control,
        model: &Model,
        start: &[f64],
        world_from_base: Pose,
        control_rate_hz: f64,
    ) -> Result<Ros2Robot, Error> {
        let bus = Bus::open(
            &connection.endpoints,
            "/",
            super::host::topics::STATION_NODE,
        )?;
        let names: Vec<String> = model.dof_names().map(str::to_string).collect();
        let controller_q = settings
            .joints
            .iter()
            .map(|j| {
                names.iter().position(|n| n == j).ok_or_else(|| {
                    Error::Backend(format!(
                        "ros2_control joint {j:?} is not a joint of the model"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let latest = Arc::new(Mutex::new(Latest {
            at: None,
            stamp_ns: 0,
            positions: start.to_vec(),
            velocities: vec![0.0; names.len()],
        }));
        let subscription = {
            let latest = Arc::clone(&latest);
            let names = names.clone();
            let required = settings.joints.clone();
            bus.subscribe::<JointState, _>(
                &settings.state_topic,
                Qos::best_effort(1),
                move |got| {
                    let Ok(r) = got else { return };
                    let m = &r.message;
                    let complete = m.position.len() == m.name.len()
                        && required.iter().all(|j| m.name.contains(j));
                    if !complete {
                        return;
                    }
                    let mut l = lock(&latest);
                    for (i, name) in m.name.iter().enumerate() {
                        if let Some(q) = names.iter().position(|n| n == name) {
                            if m.position[i].is_finite() {
                                l.positions[q] = m.position[i];
                            }
                            l.velocities[q] = m.velocity.get(i).copied().unwrap_or(0.0);
                        }
                    }
                    l.stamp_ns = m.header.stamp.to_ns();
                    l.at = Some(r.at);
                },
            )?
        };
        let commands = match settings.interface {
            Ros2Interface::ForwardPosition => Commands::Forward(
                bus.publisher(&settings.command_topic, Qos::reliable(1), Urgency::Control)?,
                Float64MultiArray::default(),
            ),
            Ros2Interface::JointTrajectory => Commands::Trajectory(
                bus.publisher(&settings.command_topic, Qos::reliable(1), Urgency::Control)?,
                JointTrajectory::default(),
            ),
        };
        // Two control periods ahead: the controller interpolates to each point as the next
        // one arrives.
        let point_ns = (2e9 / control_rate_hz).round() as u32;
        let robot = Ros2Robot {
            commands,
            values: vec![0.0; controller_q.len()],
            controller_q,
            controller_names: settings.joints.clone(),
            latest,
            silence_timeout: connection.silence_timeout,
            point_time: types::Duration {
                sec: 0,
                nanosec: point_ns,
            },
            dof: names.len(),
            link_poses: LinkPoses::new(model, world_from_base),
            state_topic: settings.state_topic.clone(),
            _subscription: subscription,
            _bus: bus,
        };
        let deadline = Instant::now() + connection.connect_timeout;
        while lock(&robot.latest).at.is_none() {
            if Instant::now() > deadline {
                return Err(Error::Backend(format!(
                    "no joint state on {} at {} within {:.1} s (is the robot's ros2_control running and reachable?)",
                    settings.state_topic,
                    connection.endpoints.connect.join(", "),
                    connection.connect_timeout.as_secs_f64()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(robot)
    }
}

impl Robot for Ros2Robot {
    fn dof(&self) -> usize {
        self.dof
    }

    fn links(&self) -> usize {
        self.link_poses.links()
    }

    fn command(&mut self, positions: &[f64]) -> Result<(), Error> {
        if positions.len() != self.dof {
            return Err(Error::WrongLength {
                expected: self.dof,
                got: positions.len(),
            });
        }
        for (v, &q) in self.values.iter_mut().zip(&self.controller_q) {
            *v = positions[q];
        }
        let sent = match &mut self.commands {
            Commands::Forward(publisher, msg) => {
                msg.set_data(&self.values);
                publisher.put(msg)
            }
            Commands::Trajectory(publisher, msg) => msg
                .set_single_point(
                    0,
                    &self.controller_names,
                    &self.values,
                    &[],
                    self.point_time,
                )
                .and_then(|()| publisher.put(msg)),
        };
        sent.map_err(Error::from)
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), Error> {
        {
            let l = lock(&self.latest);
            if let Some(at) = l.at
                && at.elapsed() > self.silence_timeout
            {
                return Err(Error::Backend(format!(
                    "no joint state on {} for {:.0} ms; holding",
                    self.state_topic,
                    at.elapsed().as_secs_f64() * 1e3
                )));
            }
            out.time_ns = l.stamp_ns;
            out.positions.copy_from_slice(&l.positions);
            out.velocities.copy_from_slice(&l.velocities);
        }
        out.efforts.fill(0.0);
        out.contact_forces.fill(0.0);
        self.link_poses.fill(out);
        Ok(())
    }
}
