//! The solver: tasks over a shared set of joints, tracking and global modes.

use std::f64::consts::{PI, TAU};
use std::time::Instant;

use nalgebra::{Matrix6xX, Rotation3, UnitQuaternion, Vector3};

use super::Error;
use super::options::Options;
use super::qp::{BoxQp, cholesky_factor, cholesky_solve, cholesky_substitute};
use super::rng::SplitMix64;
use crate::kinematics::{Chain, Pose};
use crate::model::Model;

mod margin;

/// Where a task's tip should be, in its chain's base frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Pose(Pose),
    Position(Vector3<f64>),
    Orientation(Rotation3<f64>),
}

impl Target {
    fn is_finite(&self) -> bool {
        match self {
            Target::Pose(p) => p.to_homogeneous().iter().all(|v| v.is_finite()),
            Target::Position(p) => p.iter().all(|v| v.is_finite()),
            Target::Orientation(r) => r.matrix().iter().all(|v| v.is_finite()),
        }
    }
}

/// One chain whose tip should reach a target.
#[derive(Debug, Clone)]
pub struct Task {
    pub chain: Chain,
    pub target: Target,
    /// Weight of 1 m of position error.
    pub position_weight: f64,
    /// Weight of 1 rad of orientation error.
    pub rotation_weight: f64,
}

impl Task {
    /// A full-pose task with unit weights, target at the chain's zero pose until set.
    pub fn new(chain: Chain) -> Task {
        let target = Target::Pose(chain.forward(&vec![0.0; chain.dof()]));
        Task {
            chain,
            target,
            position_weight: 1.0,
            rotation_weight: 1.0,
        }
    }
}

/// What a solve did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Every task within tolerance, joints within limits.
    pub ok: bool,
    /// Largest task position error (m); infinite when a target was not finite.
    pub position_error_m: f64,
    /// Largest task orientation error (rad); infinite when a target was not finite.
    pub rotation_error_rad: f64,
    /// FK + Jacobian evaluations.
    pub iterations: usize,
    /// Random restarts (global mode).
    pub restarts: usize,
}

impl Report {
    /// Before any evaluation, and what a hold on bad input reports.
    const NOTHING_SOLVED: Report = Report {
        ok: false,
        position_error_m: f64::INFINITY,
        rotation_error_rad: f64::INFINITY,
        iterations: 0,
        restarts: 0,
    };
}

struct TaskState {
    task: Task,
    /// For each chain variable, its index in the solver's `q`.
    solver_var: Vec<usize>,
    q_chain: Vec<f64>,
    jacobian: Matrix6xX<f64>,
    /// Weighted error, 6 rows.
    error: [f64; 6],
    /// The last accepted step's, while a trial step is evaluated (global mode).
    saved_jacobian: Matrix6xX<f64>,
    saved_error: [f64; 6],
    /// The target at the last tracking tick, and the weighted twist from it to this tick's.
    last_tracked: Option<Target>,
    twist: [f64; 6],
}

impl TaskState {
    /// The task weight of error row `r` (0–2 position, 3–5 orientation).
    fn row_weight(&self, r: usize) -> f64 {
        if r < 3 {
            self.task.position_weight
        } else {
            self.task.rotation_weight
        }
    }

    /// Sets `twist` to the target's velocity since the last tick (weighted), zero on the first
    /// tick, and remembers this tick's target.
    fn update_twist(&mut self, dt: f64) {
        let target = self.task.target;
        let (linear, angular) = match (self.last_tracked, target) {
            (Some(Target::Pose(a)), Target::Pose(b)) => (
                b.translation.vector - a.translation.vector,
                rotation_between(&a.rotation, &b.rotation),
            ),
            (Some(Target::Position(a)), Target::Position(b)) => (b - a, Vector3::zeros()),
            (Some(Target::Orientation(a)), Target::Orientation(b)) => {
                (Vector3::zeros(), rotation_between(&a, &b))
            }
            _ => (Vector3::zeros(), Vector3::zeros()),
        };
        for k in 0..3 {
            self.twist[k] = self.task.position_weight * linear[k] / dt;
            self.twist[k + 3] = self.task.rotation_weight * angular[k] / dt;
        }
        if !self.twist.iter().all(|v| v.is_finite()) {
            self.twist = [0.0; 6];
        }
        self.last_tracked = Some(target);
    }
}

/// Errors of all tasks at one configuration.
#[derive(Debug, Clone, Copy)]
struct Residual {
    /// Σ ½‖W e‖².
    cost: f64,
    position_m: f64,
    rotation_rad: f64,
}

/// An IK solver over fixed tasks; targets change per call through [`Solver::set_target`].
/// All buffers are allocated here, once.
pub struct Solver {
    tasks: Vec<TaskState>,
    model_vars: Vec<usize>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    continuous: Vec<bool>,
    max_velocity: Vec<f64>,
    rest: Vec<f64>,
    options: Options,
    rng: SplitMix64,
    h: Vec<f64>,
    h_damped: Vec<f64>,
    h_factor: Vec<f64>,
    qp: BoxQp,
    b: Vec<f64>,
    dq: Vec<f64>,
    box_lo: Vec<f64>,
    box_hi: Vec<f64>,
    q_try: Vec<f64>,
    q_best: Vec<f64>,
    q_start: Vec<f64>,
    /// ε·W·(JᵀJ + εW)⁻¹·W: ≈ W along directions the tasks leave free, ≈ 0 along those they use.
    nullspace: Vec<f64>,
    /// Posture step wanted this iteration, and `nullspace` times it.
    posture_step: Vec<f64>,
    projected_posture: Vec<f64>,
    unit: Vec<f64>,
    column: Vec<f64>,
    /// Per-joint cost of motion in tracking (1 by default).
    joint_weight: Vec<f64>,
    /// Velocity-margin work buffers (see `margin`): right-hand sides, joint rates, A⁻¹w, ∂L/∂q.
    margin_rhs: Vec<f64>,
    margin_qd: Vec<f64>,
    margin_y: Vec<f64>,
    margin_gradient: Vec<f64>,
    /// More joints than weighted task rows: there is a self-motion to steer.
    redundant: bool,
}

/// Regularisation of the null-space projector: task directions with σ² ≫ ε get ≈ ε/σ² of the
/// posture pull (which the task-only iterations after it remove), the true null space all of it.
const NULLSPACE_EPSILON: f64 = 1e-8;

/// The velocity margin's null-space step is capped at this many velocity-limited steps per joint.
/// More than one: far from rest the posture's pull alone can exceed a step, and where the two
/// disagree (Panda leaving its joint-1/3 alignment) the margin must be able to outweigh it.
/// The QP's box still bounds the motion itself.
const MARGIN_STEP_CAP: f64 = 4.0;

/// The rotation vector of `to · from⁻¹`, the turn that takes `from` to `to`.
fn rotation_between(from: &Rotation3<f64>, to: &Rotation3<f64>) -> Vector3<f64> {
    let rotation = to.matrix() * from.matrix().transpose();
    // Through the quaternion: exact near 0 and near π, where the skew part of R vanishes.
    let q = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(rotation));
    let (w, v) = if q.w < 0.0 {
        (-q.w, -q.imag())
    } else {
        (q.w, q.imag())
    };
    let s = v.norm();
    if s < 1e-12 {
        v * 2.0
    } else {
        v * (2.0 * s.atan2(w) / s)
    }
}

impl Solver {
    /// A solver for `tasks` on `model`. Its `q` holds every joint any chain moves, in the order
    /// of [`Solver::model_vars`].
    pub fn new(model: &Model, tasks: Vec<Task>, options: Options) -> Result<Solver, Error> {
        if tasks.is_empty() {
            return Err(Error::NoTasks);
        }
        let mut model_vars: Vec<usize> = Vec::new();
        let mut states = Vec::with_capacity(tasks.len());
        for (i, task) in tasks.into_iter().enumerate() {
            if task.chain.dof() == 0 {
                return Err(Error::NoJoints {
                    task: i,
                    base: model.links[task.chain.base()].name.clone(),
                    tip: model.links[task.chain.tip()].name.clone(),
                });
            }
            let solver_var = task
                .chain
                .model_vars()
                .iter()
                .map(|&mv| {
                    model_vars.iter().position(|&v| v == mv).unwrap_or_else(|| {
                        model_vars.push(mv);
                        model_vars.len() - 1
                    })
                })
                .collect();
            let n = task.chain.dof();
            states.push(TaskState {
                task,
                solver_var,
                q_chain: vec![0.0; n],
                jacobian: Matrix6xX::zeros(n),
                error: [0.0; 6],
                saved_jacobian: Matrix6xX::zeros(n),
                saved_error: [0.0; 6],
                last_tracked: None,
                twist: [0.0; 6],
            });
        }
        let n = model_vars.len();
        let task_rows: usize = states
            .iter()
            .map(|t| {
                3 * usize::from(t.task.position_weight > 0.0)
                    + 3 * usize::from(t.task.rotation_weight > 0.0)
            })
            .sum();
        let mut lower = vec![f64::NEG_INFINITY; n];
        let mut upper = vec![f64::INFINITY; n];
        let mut continuous = vec![false; n];
        let mut max_velocity = vec![f64::INFINITY; n];
        // Rest mid-range: as far from every limit as the joint allows, where tracking has the
        // most room to move in any direction (0 for continuous joints).
        let mut rest = vec![0.0; n];
        for (i, &mv) in model_vars.iter().enumerate() {
            let limits = &model.joints[model.dofs[mv]].limits;
            let position = if options.use_soft_limits {
                limits.soft_position.or(limits.position)
            } else {
                limits.position
            };
            match position {
                Some((lo, hi)) => {
                    (lower[i], upper[i]) = (lo, hi);
                    // Halves first: exact, and no overflow for limits near ±f64::MAX.
                    rest[i] = 0.5 * lo + 0.5 * hi;
                }
                None => continuous[i] = true,
            }
            if let Some(v) = limits.velocity {
                max_velocity[i] = v;
            }
        }
        Ok(Solver {
            tasks: states,
            model_vars,
            lower,
            upper,
            continuous,
            max_velocity,
            rest,
            rng: SplitMix64::new(options.seed),
            options,
            h: vec![0.0; n * n],
            h_damped: vec![0.0; n * n],
            qp: BoxQp::new(n),
            h_factor: vec![0.0; n * n],
            b: vec![0.0; n],
            dq: vec![0.0; n],
            box_lo: vec![0.0; n],
            box_hi: vec![0.0; n],
            q_try: vec![0.0; n],
            q_best: vec![0.0; n],
            q_start: vec![0.0; n],
            nullspace: vec![0.0; n * n],
            posture_step: vec![0.0; n],
            projected_posture: vec![0.0; n],
            unit: vec![0.0; n],
            column: vec![0.0; n],
            joint_weight: vec![1.0; n],
            margin_rhs: vec![0.0; n],
            margin_qd: vec![0.0; n],
            margin_y: vec![0.0; n],
            margin_gradient: vec![0.0; n],
            redundant: n > task_rows,
        })
    }

    /// Number of entries in the solver's `q`.
    pub fn dof(&self) -> usize {
        self.model_vars.len()
    }

    /// For each entry of the solver's `q`, its index in the model's `q`.
    pub fn model_vars(&self) -> &[usize] {
        &self.model_vars
    }

    /// Position limits per entry of `q` (±∞ for continuous joints).
    pub fn limits(&self) -> (&[f64], &[f64]) {
        (&self.lower, &self.upper)
    }

    /// Velocity limit per entry of `q` (∞ where the URDF gives none).
    pub fn velocity_limits(&self) -> &[f64] {
        &self.max_velocity
    }

    /// Overrides the URDF's velocity limits (for example from a robot profile).
    pub fn set_velocity_limits(&mut self, limits: &[f64]) {
        self.max_velocity.copy_from_slice(limits);
    }

    /// The posture the null space is pulled towards in tracking.
    pub fn rest(&self) -> &[f64] {
        &self.rest
    }

    /// The posture the null space is pulled towards in tracking (default: the middle of each
    /// joint's range, 0 for continuous joints).
    pub fn set_rest(&mut self, rest: &[f64]) {
        self.rest.copy_from_slice(rest);
    }

    /// Relative cost of moving each joint in tracking (default 1). Where the tasks leave a
    /// choice, the step minimises Σ weight·Δq², so a heavy joint (a humanoid's waist, which
    /// swings both hands and the head at once) moves only when the lighter ones cannot do it.
    /// Weights must be positive and finite; others are taken as 1.
    pub fn set_joint_weights(&mut self, weights: &[f64]) {
        for (w, &v) in self.joint_weight.iter_mut().zip(weights) {
            *w = if v.is_finite() && v > 0.0 { v } else { 1.0 };
        }
    }

    pub fn task(&self, index: usize) -> &Task {
        &self.tasks[index].task
    }

    /// For each variable of task `index`'s chain, its index in the solver's `q`.
    pub fn task_vars(&self, index: usize) -> &[usize] {
        &self.tasks[index].solver_var
    }

    pub fn set_target(&mut self, task: usize, target: Target) {
        self.tasks[task].task.target = target;
    }

    /// Joints within position limits (1e-9 slack)?
    pub fn within_limits(&self, q: &[f64]) -> bool {
        q.iter()
            .zip(self.lower.iter().zip(&self.upper))
            .all(|(&v, (&lo, &hi))| v >= lo - 1e-9 && v <= hi + 1e-9)
    }

    fn targets_finite(&self) -> bool {
        self.tasks.iter().all(|t| t.task.target.is_finite())
    }

    /// Task errors at `q`; with `jacobians`, each task's Jacobian too.
    fn evaluate(&mut self, q: &[f64], jacobians: bool) -> Residual {
        let mut residual = Residual {
            cost: 0.0,
            position_m: 0.0,
            rotation_rad: 0.0,
        };
        for t in &mut self.tasks {
            for (qc, &sv) in t.q_chain.iter_mut().zip(&t.solver_var) {
                *qc = q[sv];
            }
            let chain = &t.task.chain;
            let pose = if jacobians {
                chain.forward_with_jacobian(&t.q_chain, &mut t.jacobian)
            } else {
                chain.forward(&t.q_chain)
            };
            let (dp, dr) = match &t.task.target {
                Target::Pose(target) => (
                    target.translation.vector - pose.translation.vector,
                    rotation_between(&pose.rotation, &target.rotation),
                ),
                Target::Position(p) => (p - pose.translation.vector, Vector3::zeros()),
                Target::Orientation(r) => (Vector3::zeros(), rotation_between(&pose.rotation, r)),
            };
            let (wp, wr) = (t.task.position_weight, t.task.rotation_weight);
            for k in 0..3 {
                t.error[k] = wp * dp[k];
                t.error[k + 3] = wr * dr[k];
            }
            residual.cost += 0.5 * t.error.iter().map(|e| e * e).sum::<f64>();
            if wp > 0.0 {
                residual.position_m = residual.position_m.max(dp.norm());
            }
            if wr > 0.0 {
                residual.rotation_rad = residual.rotation_rad.max(dr.norm());
            }
        }
        residual
    }

    fn converged(&self, r: &Residual) -> bool {
        r.position_m < self.options.position_tolerance_m
            && r.rotation_rad < self.options.rotation_tolerance_rad
    }

    /// H = Σ Jᵀ W² J and b = Σ Jᵀ W² e (W folded into e already, so b = Σ Jᵀ·W·(W e)).
    fn build_normal_equations(&mut self) {
        let n = self.dof();
        self.h.iter_mut().for_each(|v| *v = 0.0);
        self.b.iter_mut().for_each(|v| *v = 0.0);
        for t in &self.tasks {
            let (wp, wr) = (t.task.position_weight, t.task.rotation_weight);
            let w = [wp, wp, wp, wr, wr, wr];
            let m = t.solver_var.len();
            for a in 0..m {
                let ja = t.jacobian.column(a);
                let va = t.solver_var[a];
                let mut bsum = 0.0;
                for r in 0..6 {
                    bsum += ja[r] * w[r] * t.error[r];
                }
                self.b[va] += bsum;
                for c in a..m {
                    let jc = t.jacobian.column(c);
                    let mut s = 0.0;
                    for r in 0..6 {
                        s += ja[r] * w[r] * w[r] * jc[r];
                    }
                    let vc = t.solver_var[c];
                    self.h[va * n + vc] += s;
                    if va != vc {
                        self.h[vc * n + va] += s;
                    }
                }
            }
        }
    }

    fn wrap_continuous(&self, q: &mut [f64]) {
        for (v, &c) in q.iter_mut().zip(&self.continuous) {
            if c {
                *v = (*v + PI).rem_euclid(TAU) - PI;
            }
        }
    }

    fn random_configuration(&mut self, out: &mut [f64]) {
        for (i, value) in out.iter_mut().enumerate() {
            let (lo, hi) = if self.continuous[i] {
                (-PI, PI)
            } else {
                (self.lower[i], self.upper[i])
            };
            *value = self.rng.uniform(lo, hi);
        }
    }

    /// Global mode: joint values reaching every target from anywhere in the workspace.
    ///
    /// Starts from `q` (the seed; clamped into the limits), then from random seeds whenever
    /// progress stalls, until a solution is within tolerance or the time budget is spent. `q`
    /// receives the best configuration found; it is always within limits.
    pub fn solve(&mut self, q: &mut [f64]) -> Report {
        assert_eq!(q.len(), self.dof(), "q has one entry per solver dof");
        let started = Instant::now();
        let mut report = Report::NOTHING_SOLVED;
        if !self.targets_finite() {
            return report;
        }
        let n = self.dof();
        // Taken out of self for the duration (no allocation) so `evaluate` can borrow self.
        let mut current = std::mem::take(&mut self.q_start);
        let mut candidate = std::mem::take(&mut self.q_try);
        for i in 0..n {
            let v = if q[i].is_finite() { q[i] } else { self.rest[i] };
            current[i] = v.clamp(self.lower[i], self.upper[i]);
        }
        self.wrap_continuous(&mut current);
        let mut best = Residual {
            cost: f64::INFINITY,
            position_m: f64::INFINITY,
            rotation_rad: f64::INFINITY,
        };
        loop {
            // One seed: Levenberg–Marquardt with box constraints.
            let mut damping = self.options.initial_damping;
            let mut residual = self.evaluate(&current, true);
            report.iterations += 1;
            let mut last_progress_cost = residual.cost;
            let mut since_progress = 0;
            for _ in 0..self.options.max_iterations_per_seed {
                if residual.cost < best.cost {
                    best = residual;
                    self.q_best.copy_from_slice(&current);
                }
                if self.converged(&residual)
                    || started.elapsed().as_secs_f64() > self.options.solve_timeout_s
                {
                    break;
                }
                self.build_normal_equations();
                self.h_damped.copy_from_slice(&self.h);
                for (i, &value) in current.iter().enumerate() {
                    // Marquardt scaling plus a floor keeps the step bounded at singularities.
                    self.h_damped[i * n + i] += damping * (self.h[i * n + i] + 1e-3);
                    self.box_lo[i] = self.lower[i] - value;
                    self.box_hi[i] = self.upper[i] - value;
                }
                // Cholesky's step; the active set only when a limit binds.
                self.h_factor.copy_from_slice(&self.h_damped);
                if !cholesky_solve(&mut self.h_factor, n, &self.b, &mut self.dq) {
                    self.dq.iter_mut().for_each(|v| *v = 0.0);
                }
                let inside =
                    (0..n).all(|i| self.dq[i] >= self.box_lo[i] && self.dq[i] <= self.box_hi[i]);
                if !inside {
                    let (h, b, lo, hi) = (&self.h_damped, &self.b, &self.box_lo, &self.box_hi);
                    self.qp.solve_from_unconstrained(h, b, lo, hi, &mut self.dq);
                }
                for t in &mut self.tasks {
                    t.saved_jacobian.copy_from(&t.jacobian);
                    t.saved_error = t.error;
                }
                for i in 0..n {
                    candidate[i] = current[i] + self.dq[i];
                }
                self.wrap_continuous(&mut candidate);
                let trial = self.evaluate(&candidate, true);
                report.iterations += 1;
                if trial.cost < residual.cost {
                    current.copy_from_slice(&candidate);
                    residual = trial;
                    damping = (damping * 0.1).max(self.options.min_damping);
                } else {
                    damping = (damping * 10.0).min(1e6);
                    // Back to this configuration's Jacobians and errors for the next step.
                    for t in &mut self.tasks {
                        t.jacobian.copy_from(&t.saved_jacobian);
                        t.error = t.saved_error;
                    }
                }
                if residual.cost < 0.99 * last_progress_cost {
                    last_progress_cost = residual.cost;
                    since_progress = 0;
                } else {
                    since_progress += 1;
                    if since_progress >= self.options.stall_iterations {
                        break;
                    }
                }
            }
            if self.converged(&best)
                || started.elapsed().as_secs_f64() > self.options.solve_timeout_s
                || report.restarts >= self.options.max_restarts
            {
                break;
            }
            report.restarts += 1;
            self.random_configuration(&mut current);
        }
        self.q_start = current;
        self.q_try = candidate;
        q.copy_from_slice(&self.q_best);
        report.ok = self.converged(&best) && self.within_limits(q);
        report.position_error_m = best.position_m;
        report.rotation_error_rad = best.rotation_rad;
        report
    }

    /// `nullspace` = ε·W·(H + εW)⁻¹·W for the current H = JᵀJ and joint weights W, column by
    /// column from one factor. On the tasks' null space it is W, on directions they use ≈ 0.
    /// If the factorisation fails (non-finite Jacobian), the projector is zero: no posture.
    fn compute_nullspace_projector(&mut self) {
        let n = self.dof();
        self.h_factor.copy_from_slice(&self.h);
        for i in 0..n {
            self.h_factor[i * n + i] += NULLSPACE_EPSILON * self.joint_weight[i];
        }
        if !cholesky_factor(&mut self.h_factor, n) {
            self.nullspace.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        for j in 0..n {
            self.unit.iter_mut().for_each(|v| *v = 0.0);
            self.unit[j] = NULLSPACE_EPSILON * self.joint_weight[j];
            cholesky_substitute(&self.h_factor, n, &self.unit, &mut self.column);
            for i in 0..n {
                self.nullspace[i * n + j] = self.joint_weight[i] * self.column[i];
            }
        }
    }

    /// Adds ½(dq − p)ᵀ·N·(dq − p), N the (weighted) null-space projector, to the step's QP, where p
    /// moves `fraction` of the way to the rest posture and `margin_step` (rad per unit gradient)
    /// down the velocity load's gradient, that part at most one velocity-limited step: the
    /// posture decides only what the tasks leave free, and the box constraints still bound the sum.
    fn add_posture(&mut self, q: &[f64], dt: f64, fraction: f64, margin_step: f64) {
        let n = self.dof();
        let mut margin_scale = margin_step;
        for i in 0..n {
            let wanted = (margin_step * self.margin_gradient[i]).abs();
            let allowed = MARGIN_STEP_CAP * self.max_velocity[i] * dt;
            if wanted > allowed {
                margin_scale = margin_scale.min(allowed / self.margin_gradient[i].abs());
            }
        }
        for (i, &value) in q.iter().enumerate() {
            let mut towards_rest = self.rest[i] - value;
            if self.continuous[i] {
                towards_rest = (towards_rest + PI).rem_euclid(TAU) - PI;
            }
            self.posture_step[i] = fraction * towards_rest - margin_scale * self.margin_gradient[i];
        }
        for i in 0..n {
            let row = &self.nullspace[i * n..(i + 1) * n];
            self.projected_posture[i] =
                row.iter().zip(&self.posture_step).map(|(a, b)| a * b).sum();
        }
        for (h, p) in self.h.iter_mut().zip(&self.nullspace) {
            *h += p;
        }
        for (b, p) in self.b.iter_mut().zip(&self.projected_posture) {
            *b += p;
        }
    }

    /// Box-constrained iterations from `q` (= `q_start`); the posture, if any, in the first.
    fn track_from_start(
        &mut self,
        q: &mut [f64],
        dt: f64,
        posture_fraction: f64,
    ) -> (Residual, usize) {
        let n = self.dof();
        let mut residual = self.evaluate(q, true);
        let mut iterations = 1;
        for iteration in 0..self.options.track_iterations {
            // The first iteration also serves the posture; later ones only the tasks.
            if self.converged(&residual) && (iteration > 0 || posture_fraction == 0.0) {
                break;
            }
            self.build_normal_equations();
            // Damping grows with the error (Sugihara): stable when far or unreachable, fast near.
            let damping = residual.cost + self.options.min_damping.max(1e-6);
            // Posture in the first iteration only: ε·(JᵀJ + εI)⁻¹ leaks a little into weak task
            // directions, and the task-only iterations after it remove that bias exactly while
            // keeping the null-space motion (their minimum-norm steps have none).
            if iteration == 0 && posture_fraction > 0.0 {
                let margin_step = self.options.velocity_margin_gain_per_s * dt;
                if margin_step <= 0.0 || !self.redundant || !self.velocity_margin_gradient() {
                    self.margin_gradient.iter_mut().for_each(|v| *v = 0.0);
                }
                self.compute_nullspace_projector();
                self.add_posture(q, dt, posture_fraction, margin_step);
            }
            for (i, &value) in q.iter().enumerate() {
                self.h[i * n + i] += damping * self.joint_weight[i];
                // The box is relative to the tick's start: all iterations together stay within
                // the velocity limit.
                // A joint that starts outside its limits (the robot's own limits wider than the
                // URDF's soft ones) moves back towards them at full speed: the box never inverts.
                let step = self.max_velocity[i] * dt;
                let (slow, fast) = (self.q_start[i] - step, self.q_start[i] + step);
                self.box_lo[i] = slow.max(self.lower[i].min(fast)) - value;
                self.box_hi[i] = fast.min(self.upper[i].max(slow)) - value;
                self.dq[i] = 0.0;
            }
            let (h, b, lo, hi) = (&self.h, &self.b, &self.box_lo, &self.box_hi);
            self.qp.solve(h, b, lo, hi, &mut self.dq);
            q.iter_mut().zip(&self.dq).for_each(|(v, d)| *v += d);
            residual = self.evaluate(q, true);
            iterations += 1;
        }
        (residual, iterations)
    }

    /// Tracking mode: one control tick. Moves `q` towards the targets by at most
    /// `max_velocity · dt` per joint and never outside the limits; if a target or `q` is not
    /// finite, `q` is left as it is (hold) and the report says so.
    pub fn track(&mut self, q: &mut [f64], dt: f64) -> Report {
        assert_eq!(q.len(), self.dof(), "q has one entry per solver dof");
        let mut report = Report::NOTHING_SOLVED;
        if !self.targets_finite() || !q.iter().all(|v| v.is_finite()) || dt.is_nan() || dt <= 0.0 {
            // After a hold, motion is measured afresh: no twist across the gap.
            self.tasks.iter_mut().for_each(|t| t.last_tracked = None);
            return report;
        }
        self.tasks.iter_mut().for_each(|t| t.update_twist(dt));
        self.q_start.copy_from_slice(q);
        let posture_fraction = (self.options.posture_gain_per_s * dt).min(1.0);
        let (mut residual, iterations) = self.track_from_start(q, dt, posture_fraction);
        report.iterations = iterations;
        if !self.converged(&residual) && posture_fraction > 0.0 {
            // Near a singularity the posture's step can spend velocity the tasks needed: the
            // tick again with the tasks alone, keeping whichever comes closer.
            self.q_best.copy_from_slice(q);
            q.copy_from_slice(&self.q_start);
            let (alone, iterations) = self.track_from_start(q, dt, 0.0);
            report.iterations += iterations;
            if alone.cost <= residual.cost {
                residual = alone;
            } else {
                q.copy_from_slice(&self.q_best);
            }
        }
        report.ok = self.converged(&residual) && self.within_limits(q);
        report.position_error_m = residual.position_m;
        report.rotation_error_rad = residual.rotation_rad;
        report
    }
}
