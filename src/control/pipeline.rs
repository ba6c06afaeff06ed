//! One control tick, allocation-free: latest operator frame → retarget (both hands, head, and
//! the fingers of each robot hand the profile maps) → IK tracking → gripper mapping → safety
//! filter. The caller sends [`Pipeline::command`] to the robot. Deadman: with no clutch engaged
//! nothing moves, fingers included (the filter brakes to a stop and holds).
//!
//! Fingers: with tracked hand joints (`HandInput::joints`) the hand's retargeter fits them; with
//! a controller (a grip pose, no joints) the trigger moves them along the grasp synergy (start
//! posture → the mapping's `closed`); untracked, not finite, or neither: they hold.

use std::time::Instant;

use nalgebra::{Rotation3, Vector3};

use crate::config::{Hand, HandMapping, Profile};
use crate::hands;
use crate::ik::{self, Options, Solver, Target, Task};
use crate::kinematics::{Chain, Pose};
use crate::model::Model;
use crate::msg::{HandInput, OperatorFrame, RobotState, TickOutcome, TickSample};
use crate::retarget::{HandCommand, HandRetargeter, HandSettings, gripper_position};
use crate::safety::{Limits, SafetyFilter};

/// Why a pipeline could not be built from a profile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("profile {key}: {source}")]
    Chain {
        key: String,
        #[source]
        source: crate::kinematics::Error,
    },
    #[error("IK: {0}")]
    Ik(#[from] ik::Error),
    /// A hand-only profile: nothing for the operator's clutch to engage.
    #[error(
        "profile end_effector: a session needs at least one (a hand-only profile serves `teleop kin hand`)"
    )]
    NoEndEffector,
    #[error("profile {key}: {source}")]
    Hand {
        key: String,
        #[source]
        source: hands::Error,
    },
}

/// Wall time each stage of the last tick took (ns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    pub retarget_ns: u64,
    pub ik_ns: u64,
    pub safety_ns: u64,
}

/// What the last tick did and how long its stages took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TickReport {
    pub outcome: TickOutcome,
    /// The IK's report when it ran.
    pub ik: Option<ik::Report>,
    pub times: StageTimes,
}

/// One IK task's chain (an end-effector's or the neck's).
struct ChainSlot {
    task: usize,
    chain: Chain,
    /// For each chain variable, its index in the solver's `q`.
    solver_vars: Vec<usize>,
    q_chain: Vec<f64>,
}

impl ChainSlot {
    fn new(solver: &Solver, task: usize, chain: Chain) -> ChainSlot {
        ChainSlot {
            task,
            solver_vars: solver.task_vars(task).to_vec(),
            q_chain: vec![0.0; chain.dof()],
            chain,
        }
    }

    /// The chain's pose at the model posture `q` (`solver_to_model` maps the solver's `q`).
    fn forward(&mut self, q: &[f64], solver_to_model: &[usize]) -> Pose {
        for (qc, &sv) in self.q_chain.iter_mut().zip(&self.solver_vars) {
            *qc = q[solver_to_model[sv]];
        }
        self.chain.forward(&self.q_chain)
    }
}

/// An end-effector driven by one of the operator's hands.
struct HandSlot {
    hand: Hand,
    chain: ChainSlot,
    retarget: HandRetargeter,
}

/// The operator's `hand` in `frame`.
fn hand_input(frame: &OperatorFrame, hand: Hand) -> &HandInput {
    match hand {
        Hand::Left => &frame.left,
        Hand::Right => &frame.right,
    }
}

/// The gripper joint each trigger moves (index in the model's `q`).
struct GripperSlot {
    hand: Hand,
    model_var: usize,
    open: f64,
    closed: f64,
}

/// A robot hand whose fingers follow one of the operator's hands.
struct FingerSlot {
    hand: Hand,
    retargeter: hands::Retargeter,
    solution: hands::Solution,
    /// Model vars the fingers move: the retargeter's and the synergy's.
    vars: Vec<usize>,
    /// Per var: the synergy's ends (trigger released, pressed); equal where `closed` names none.
    open: Vec<f64>,
    closed: Vec<f64>,
    /// Per var: what the fingers were last asked for (held while tracking is lost).
    wanted: Vec<f64>,
    /// Whether the last finger input was tracked joints (switching back restarts the retargeter
    /// from the command, so its first step is rate limited from where the fingers are).
    tracking: bool,
}

impl FingerSlot {
    fn new(
        model: &Model,
        profile: &Profile,
        hand: Hand,
        mapping: &HandMapping,
        q: &[f64],
    ) -> Result<FingerSlot, hands::Error> {
        let options = hands::Options {
            dt_s: 1.0 / profile.control_rate_hz,
            ..hands::Options::default()
        };
        let mut retargeter = hands::Retargeter::new(model, mapping, options)?;
        retargeter.reset_to(q);
        let mut vars: Vec<usize> = (0..model.dof())
            .filter(|&v| retargeter.is_driven(v))
            .collect();
        let start = profile.start_posture(model);
        let (mut open_of, mut closed_of) = (vec![None; model.dof()], vec![None; model.dof()]);
        for (ends, of) in [
            (&mapping.open, &mut open_of),
            (&mapping.closed, &mut closed_of),
        ] {
            for (name, &value) in ends {
                let var = model
                    .joint_id(name)
                    .and_then(|j| model.dof_of_joint[j])
                    .ok_or_else(|| hands::Error::UnknownJoint(name.clone()))?;
                of[var] = Some(value);
                if !vars.contains(&var) {
                    vars.push(var);
                }
            }
        }
        vars.sort_unstable();
        Ok(FingerSlot {
            hand,
            solution: retargeter.new_solution(),
            retargeter,
            open: vars
                .iter()
                .map(|&v| open_of[v].unwrap_or(start[v]))
                .collect(),
            closed: vars
                .iter()
                .map(|&v| closed_of[v].unwrap_or(start[v]))
                .collect(),
            wanted: vars.iter().map(|&v| q[v]).collect(),
            vars,
            tracking: false,
        })
    }

    /// This tick's finger targets from the operator's hand; `command` is the robot's (model q).
    fn update(&mut self, input: &HandInput, command: &[f64]) {
        match &input.joints {
            Some(joints) => {
                if !self.tracking {
                    self.retargeter.reset_to(command);
                    self.tracking = true;
                }
                self.retargeter
                    .solve_hand_joints(joints, &mut self.solution);
                if self.solution.status == hands::Status::Solved {
                    for (w, &v) in self.wanted.iter_mut().zip(&self.vars) {
                        if self.retargeter.is_driven(v) {
                            *w = self.solution.q[v];
                        }
                    }
                }
            }
            None if input.finite_grip().is_some() => {
                self.tracking = false;
                for ((w, &open), &closed) in
                    self.wanted.iter_mut().zip(&self.open).zip(&self.closed)
                {
                    *w = gripper_position(input.trigger, open, closed);
                }
            }
            // Neither fingers nor a controller: hold, and retarget afresh when they return.
            None => self.tracking = false,
        }
    }
}

/// Everything between the operator's frame and the robot's command.
pub struct Pipeline {
    solver: Solver,
    /// For each entry of the solver's `q`, its index in the model's `q`.
    solver_to_model: Vec<usize>,
    hands: Vec<HandSlot>,
    neck: Option<ChainSlot>,
    grippers: Vec<GripperSlot>,
    fingers: Vec<FingerSlot>,
    safety: SafetyFilter,
    solver_q: Vec<f64>,
    wanted: Vec<f64>,
    dt: f64,
    stale_after_ns: u64,
    axes: Rotation3<f64>,
    /// Each hand's IK target of the last tick (`base_from_tool`), for the recorder.
    targets: Vec<Pose>,
}

impl Pipeline {
    /// A pipeline for `model` as `profile` describes it, starting at rest at `q` (model order).
    /// Inputs older than `stale_after_s` hold the robot.
    pub fn new(
        model: &Model,
        profile: &Profile,
        q: &[f64],
        stale_after_s: f64,
    ) -> Result<Pipeline, Error> {
        if profile.end_effectors.is_empty() {
            return Err(Error::NoEndEffector);
        }
        let chain = |key: String, base: &str, tip: &str| {
            Chain::new(model, base, tip).map_err(|source| Error::Chain { key, source })
        };
        let mut tasks = Vec::new();
        let mut hand_chains = Vec::new();
        for (i, e) in profile.end_effectors.iter().enumerate() {
            let c = chain(format!("end_effector[{i}]"), &e.base, &e.tip)?.with_tool(&e.tool());
            tasks.push(Task {
                position_weight: e.position_weight,
                rotation_weight: e.rotation_weight,
                ..Task::new(c.clone())
            });
            let settings = HandSettings {
                motion_scale: e.motion_scale,
                workspace_min: Vector3::from(e.workspace_min.unwrap_or([f64::NEG_INFINITY; 3])),
                workspace_max: Vector3::from(e.workspace_max.unwrap_or([f64::INFINITY; 3])),
                ..HandSettings::default()
            };
            hand_chains.push((e.hand, tasks.len() - 1, c, settings));
        }
        let neck_chain = match &profile.neck {
            Some(n) => {
                let c = chain("neck".into(), &n.base, &n.tip)?;
                tasks.push(Task {
                    position_weight: 0.0,
                    ..Task::new(c.clone())
                });
                Some((tasks.len() - 1, c))
            }
            None => None,
        };
        let mut solver = Solver::new(model, tasks, Options::default())?;
        let solver_to_model = solver.model_vars().to_vec();
        let joint_of = |mv: usize| &model.joints[model.dofs[mv]];
        // Profile settings for the solver's joints: rest, weights, velocity overrides.
        let mut rest = solver.rest().to_vec();
        let mut weights = vec![1.0; solver_to_model.len()];
        let mut velocities = solver.velocity_limits().to_vec();
        for (i, &mv) in solver_to_model.iter().enumerate() {
            let name = &joint_of(mv).name;
            if let Some(&r) = profile.rest.get(name) {
                rest[i] = r;
            }
            let settings = profile.joint_settings(name);
            weights[i] = settings.weight.unwrap_or(1.0);
            if let Some(v) = settings.velocity {
                velocities[i] = v;
            }
        }
        solver.set_rest(&rest);
        solver.set_joint_weights(&weights);
        solver.set_velocity_limits(&velocities);
        let hands: Vec<HandSlot> = hand_chains
            .into_iter()
            .map(|(hand, task, chain, settings)| HandSlot {
                hand,
                chain: ChainSlot::new(&solver, task, chain),
                retarget: HandRetargeter::new(settings),
            })
            .collect();
        let neck = neck_chain.map(|(task, chain)| ChainSlot::new(&solver, task, chain));
        let grippers = profile
            .grippers
            .iter()
            .filter_map(|g| {
                let joint = model.joint_id(&g.joint)?;
                Some(GripperSlot {
                    hand: g.hand,
                    model_var: model.dof_of_joint[joint]?,
                    open: g.open,
                    closed: g.closed,
                })
            })
            .collect();
        let mut fingers = Vec::new();
        for (hand, key, mapping) in [
            (Hand::Left, "hands.left", &profile.hands.left),
            (Hand::Right, "hands.right", &profile.hands.right),
        ] {
            if let Some(mapping) = mapping {
                fingers.push(FingerSlot::new(model, profile, hand, mapping, q).map_err(
                    |source| Error::Hand {
                        key: key.into(),
                        source,
                    },
                )?);
            }
        }
        let limits = Limits::from_profile(model, profile, 1.0);
        let axes = crate::msg::robot_from_stage_axes()
            .rotation
            .to_rotation_matrix();
        Ok(Pipeline {
            targets: vec![Pose::identity(); hands.len()],
            solver_q: vec![0.0; solver_to_model.len()],
            wanted: vec![0.0; model.dof()],
            safety: SafetyFilter::new(limits, q),
            solver,
            solver_to_model,
            hands,
            neck,
            grippers,
            fingers,
            dt: 1.0 / profile.control_rate_hz,
            stale_after_ns: (stale_after_s * 1e9) as u64,
            axes,
        })
    }

    /// The command to send to the robot after the last tick (model `q` order).
    pub fn command(&self) -> &[f64] {
        self.safety.position()
    }

    /// The commanded velocities after the last tick.
    pub fn command_velocity(&self) -> &[f64] {
        self.safety.velocity()
    }

    pub fn tick_period_s(&self) -> f64 {
        self.dt
    }

    /// `base_from_tool` of end-effector `index` at the current command.
    pub fn tool_pose(&mut self, index: usize) -> Pose {
        self.hands[index]
            .chain
            .forward(self.safety.position(), &self.solver_to_model)
    }

    /// One tick at monotonic time `now_ns` with the newest operator frame, if any.
    pub fn tick(&mut self, frame: Option<&OperatorFrame>, now_ns: u64) -> TickReport {
        let started = Instant::now();
        let fresh = frame.filter(|f| now_ns.saturating_sub(f.time_ns) <= self.stale_after_ns);
        let mut engaged = false;
        for index in 0..self.hands.len() {
            // Stale: as if tracking were lost, so the clutch re-anchors when it returns.
            let input = fresh.map_or(HandInput::IDLE, |f| *hand_input(f, self.hands[index].hand));
            let tool = self.tool_pose(index);
            let slot = &mut self.hands[index];
            let target = match slot.retarget.update(&input, self.dt, &tool) {
                HandCommand::Track(target) => {
                    engaged = true;
                    target
                }
                HandCommand::Hold => tool,
            };
            self.solver
                .set_target(slot.chain.task, Target::Pose(target));
            self.targets[index] = target;
        }
        if let Some(neck) = &mut self.neck {
            let current = neck
                .forward(self.safety.position(), &self.solver_to_model)
                .rotation;
            let head = fresh
                .and_then(|f| f.head)
                .filter(|h| h.rotation.coords.iter().all(|v| v.is_finite()) && engaged);
            // The operator looking along stage −Z with +Y up means the head at its zero pose.
            let target = match head {
                Some(h) => self.axes * h.rotation.to_rotation_matrix() * self.axes.inverse(),
                None => current,
            };
            self.solver
                .set_target(neck.task, Target::Orientation(target));
        }
        if let (Some(f), true) = (fresh, engaged) {
            let command = self.safety.position();
            for slot in &mut self.fingers {
                slot.update(hand_input(f, slot.hand), command);
            }
        }
        let retargeted = Instant::now();
        let mut report = TickReport {
            outcome: TickOutcome::Tracking,
            ik: None,
            times: StageTimes::default(),
        };
        if fresh.is_none() || !engaged {
            // The command brakes without them: retarget afresh from it on re-engaging.
            for slot in &mut self.fingers {
                slot.tracking = false;
            }
            report.outcome = if fresh.is_none() {
                TickOutcome::Stale
            } else {
                TickOutcome::NoClutch
            };
            let solved = Instant::now();
            let _ = self.safety.step(None, self.dt);
            report.times = stage_times(started, retargeted, solved, Instant::now());
            return report;
        }
        let q = self.safety.position();
        for (v, &mv) in self.solver_q.iter_mut().zip(&self.solver_to_model) {
            *v = q[mv];
        }
        report.ik = Some(self.solver.track(&mut self.solver_q, self.dt));
        self.wanted.copy_from_slice(q);
        for (&v, &mv) in self.solver_q.iter().zip(&self.solver_to_model) {
            self.wanted[mv] = v;
        }
        if let Some(f) = fresh {
            for g in &self.grippers {
                let trigger = hand_input(f, g.hand).trigger;
                self.wanted[g.model_var] = gripper_position(trigger, g.open, g.closed);
            }
        }
        for slot in &self.fingers {
            for (&w, &v) in slot.wanted.iter().zip(&slot.vars) {
                self.wanted[v] = w;
            }
        }
        let solved = Instant::now();
        let _ = self.safety.step(Some(&self.wanted), self.dt);
        report.times = stage_times(started, retargeted, solved, Instant::now());
        report
    }

    /// One tick that follows joint positions `wanted` (model `q` order; a recording's
    /// commands) through the safety filter only: no retargeting, no IK. A wrong length or a
    /// non-finite value holds the robot like stale input.
    pub fn follow(&mut self, wanted: &[f64], _now_ns: u64) -> TickReport {
        let started = Instant::now();
        let usable = wanted.len() == self.wanted.len() && wanted.iter().all(|v| v.is_finite());
        let outcome = if usable {
            self.wanted.copy_from_slice(wanted);
            let _ = self.safety.step(Some(&self.wanted), self.dt);
            TickOutcome::Joints
        } else {
            let _ = self.safety.step(None, self.dt);
            TickOutcome::Stale
        };
        let done = Instant::now();
        TickReport {
            outcome,
            ik: None,
            times: stage_times(started, started, started, done),
        }
    }

    /// Writes the tick at `now_ns` into the recorder's `sample`, without allocating: its time,
    /// the operator `frame` it used, what it did (`report`: clutch, IK targets and residuals, the
    /// command and its tool poses, stage times) and the robot's measured `state` after it. The
    /// caller adds the robot and whole-tick durations.
    pub fn fill_sample(
        &mut self,
        now_ns: u64,
        frame: Option<OperatorFrame>,
        report: &TickReport,
        state: &RobotState,
        sample: &mut TickSample,
    ) {
        sample.time_ns = now_ns;
        sample.wall_ns = crate::rt::wall_clock_ns();
        sample.operator = frame;
        sample.state_time_ns = state.time_ns;
        sample.positions.copy_from_slice(&state.positions);
        sample.velocities.copy_from_slice(&state.velocities);
        sample.efforts.copy_from_slice(&state.efforts);
        sample.contact_forces.copy_from_slice(&state.contact_forces);
        for (pose, &link) in sample.link_poses.iter_mut().zip(&sample.pose_links) {
            *pose = state.link_poses[link];
        }
        sample.outcome = report.outcome;
        for index in 0..self.hands.len().min(sample.engaged.len()) {
            sample.engaged[index] = self.hands[index].retarget.engaged();
            sample.targets[index] = self.targets[index];
            sample.tools[index] = self.tool_pose(index);
        }
        sample.ik_ran = report.ik.is_some();
        if let Some(ik) = &report.ik {
            sample.ik_ok = ik.ok;
            sample.ik_position_error_m = ik.position_error_m;
            sample.ik_rotation_error_rad = ik.rotation_error_rad;
            sample.ik_iterations = ik.iterations as u32;
        }
        sample
            .command_positions
            .copy_from_slice(self.safety.position());
        sample
            .command_velocities
            .copy_from_slice(self.safety.velocity());
        sample.retarget_ns = report.times.retarget_ns;
        sample.ik_ns = report.times.ik_ns;
        sample.safety_ns = report.times.safety_ns;
    }
}

fn stage_times(start: Instant, retargeted: Instant, solved: Instant, done: Instant) -> StageTimes {
    let ns = |a: Instant, b: Instant| b.saturating_duration_since(a).as_nanos() as u64;
    StageTimes {
        retarget_ns: ns(start, retargeted),
        ik_ns: ns(retargeted, solved),
        safety_ns: ns(solved, done),
    }
}
