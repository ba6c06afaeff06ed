//! Velocity margin: which way along the self-motion manifold a redundant robot should drift so
//! that the targets' current motion stays within its joints' velocity limits.
//!
//! A velocity-bounded tracker can fall behind where the targets' velocity needs more joint
//! speed than the limits allow at the current configuration, although another configuration
//! reaching the same poses could follow easily (Panda near joint 2 = 0, where joints 1 and 3
//! align and how far apart they are decides how hard joint 5 must work). The posture alone
//! cannot see this: it knows where the rest pose is, not where the targets are going.
//!
//! The load L(q) = Σ uᵢ⁴ measures it: u are the joint rates, each divided by its velocity limit,
//! that produce the targets' twist ẋ at q (damped least squares, qd = A⁻¹·J̃ᵀx̃ with
//! A = J̃ᵀJ̃ + λ·V⁻², uᵢ = qdᵢ / vᵢ; J̃ and x̃ carry the task weights). The fourth power lets
//! the most loaded joint dominate. Its gradient, added to the posture step and projected into
//! the null space with it, moves the robot away from configurations where a joint would have to
//! run near its limit, before it must.
//!
//! The gradient in closed form, with y = A⁻¹w, wᵢ = 4uᵢ³/vᵢ and r̃ = x̃ − J̃·qd:
//! ∂L/∂q_k = (∂_kJ̃·y)ᵀ r̃ − (J̃·y)ᵀ (∂_kJ̃·qd). The products ∂_kJ·v come from the Jacobian's own
//! columns (lᵢ linear, aᵢ angular): rotating joint k turns everything after it, and moves the
//! tip for everything before it, so ∂_kJ·v = [a_k × Σ_{i≥k} lᵢvᵢ + (Σ_{i<k} aᵢvᵢ) × l_k;
//! a_k × Σ_{i≥k} aᵢvᵢ], O(n) for all k with running sums. Where mimic joints share a column the
//! column is a sum of screws and the formula is approximate; it only steers the redundancy.

use super::{Solver, TaskState};
use crate::ik::qp::{cholesky_factor, cholesky_substitute};
use nalgebra::Vector3;

/// Damping of the load's least squares, in velocity-normalised units (σ² of a well-conditioned
/// arm is 0.1–10): keeps u finite where a task direction is lost.
const LOAD_DAMPING: f64 = 1e-3;
/// The most loaded joint's u is capped here before the gradient is taken: a target that jumps
/// (a clutch re-anchoring, a lost frame) would otherwise give a gradient ∝ u⁴ that means nothing.
const LOAD_CAP: f64 = 1.5;

/// A velocity limit usable as a scale: joints without one count as very fast.
fn velocity_scale(limit: f64) -> f64 {
    if limit.is_finite() {
        limit.clamp(1e-6, 1e3)
    } else {
        1e3
    }
}

impl Solver {
    /// Writes ∂L/∂q into `margin_gradient` for the tasks' current Jacobians (the last
    /// `evaluate` with Jacobians), `h` = J̃ᵀJ̃ (as `build_normal_equations` leaves it) and twists.
    /// Returns false, gradient zero, when the targets are still or the system is degenerate.
    pub(super) fn velocity_margin_gradient(&mut self) -> bool {
        let n = self.dof();
        self.margin_gradient.iter_mut().for_each(|v| *v = 0.0);
        if self.tasks.iter().all(|t| t.twist.iter().all(|&v| v == 0.0)) {
            return false;
        }
        self.h_factor.copy_from_slice(&self.h);
        for i in 0..n {
            let v = velocity_scale(self.max_velocity[i]);
            self.h_factor[i * n + i] += LOAD_DAMPING / (v * v);
        }
        if !cholesky_factor(&mut self.h_factor, n) {
            return false;
        }
        // g = J̃ᵀ x̃
        self.margin_rhs.iter_mut().for_each(|v| *v = 0.0);
        for t in &self.tasks {
            for (c, &var) in t.solver_var.iter().enumerate() {
                let column = t.jacobian.column(c);
                self.margin_rhs[var] += (0..6)
                    .map(|r| column[r] * t.row_weight(r) * t.twist[r])
                    .sum::<f64>();
            }
        }
        cholesky_substitute(&self.h_factor, n, &self.margin_rhs, &mut self.margin_qd);
        let most_loaded = (0..n)
            .map(|i| (self.margin_qd[i] / velocity_scale(self.max_velocity[i])).abs())
            .fold(0.0, f64::max);
        if !most_loaded.is_finite() || most_loaded < 1e-12 {
            return false;
        }
        // Scaling the twist scales qd alike (linear), so capping is a scale on both.
        let twist_scale = if most_loaded > LOAD_CAP {
            LOAD_CAP / most_loaded
        } else {
            1.0
        };
        for i in 0..n {
            self.margin_qd[i] *= twist_scale;
            let v = velocity_scale(self.max_velocity[i]);
            let u = self.margin_qd[i] / v;
            self.margin_rhs[i] = 4.0 * u * u * u / v;
        }
        cholesky_substitute(&self.h_factor, n, &self.margin_rhs, &mut self.margin_y);
        let (qd, y) = (&self.margin_qd, &self.margin_y);
        for t in &self.tasks {
            add_task_gradient(t, twist_scale, qd, y, &mut self.margin_gradient);
        }
        self.margin_gradient.iter().all(|v| v.is_finite())
    }
}

/// This task's share of ∂L/∂q (see the module docs).
fn add_task_gradient(t: &TaskState, twist_scale: f64, qd: &[f64], y: &[f64], gradient: &mut [f64]) {
    let m = t.solver_var.len();
    let linear = |c: usize| {
        let col = t.jacobian.column(c);
        Vector3::new(col[0], col[1], col[2])
    };
    let angular = |c: usize| {
        let col = t.jacobian.column(c);
        Vector3::new(col[3], col[4], col[5])
    };
    // r̃ = x̃ − J̃·qd and z̃ = J̃·y, weighted rows.
    let (mut j_qd, mut j_y) = ([0.0; 6], [0.0; 6]);
    for c in 0..m {
        let col = t.jacobian.column(c);
        let (a, b) = (qd[t.solver_var[c]], y[t.solver_var[c]]);
        for r in 0..6 {
            j_qd[r] += col[r] * a;
            j_y[r] += col[r] * b;
        }
    }
    let mut residual = [0.0; 6];
    let mut z = [0.0; 6];
    for r in 0..6 {
        let w = t.row_weight(r);
        residual[r] = twist_scale * t.twist[r] - w * j_qd[r];
        z[r] = w * j_y[r];
    }
    // Total angular sums, then suffix sums from the tip down; prefix = total − suffix.
    let (mut total_qd, mut total_y) = (Vector3::zeros(), Vector3::zeros());
    for c in 0..m {
        total_qd += angular(c) * qd[t.solver_var[c]];
        total_y += angular(c) * y[t.solver_var[c]];
    }
    let (mut lin_qd, mut ang_qd) = (Vector3::zeros(), Vector3::zeros());
    let (mut lin_y, mut ang_y) = (Vector3::zeros(), Vector3::zeros());
    for k in (0..m).rev() {
        let (l, a) = (linear(k), angular(k));
        let var = t.solver_var[k];
        lin_qd += l * qd[var];
        ang_qd += a * qd[var];
        lin_y += l * y[var];
        ang_y += a * y[var];
        let d_qd_lin = a.cross(&lin_qd) + (total_qd - ang_qd).cross(&l);
        let d_qd_ang = a.cross(&ang_qd);
        let d_y_lin = a.cross(&lin_y) + (total_y - ang_y).cross(&l);
        let d_y_ang = a.cross(&ang_y);
        let mut sum = 0.0;
        for r in 0..3 {
            let w = t.row_weight(r);
            sum += w * d_y_lin[r] * residual[r] - z[r] * w * d_qd_lin[r];
            let w = t.row_weight(r + 3);
            sum += w * d_y_ang[r] * residual[r + 3] - z[r + 3] * w * d_qd_ang[r];
        }
        gradient[var] += sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ik::{Options, Target, Task};
    use crate::kinematics::Chain;
    use crate::model::Model;
    use nalgebra::{DMatrix, DVector, Matrix6xX};

    /// L(q) the slow way: dense matrices, the same definition, no shared code with the solver.
    fn load_by_dense_algebra(solver: &Solver, q: &[f64]) -> f64 {
        let n = solver.dof();
        let v: Vec<f64> = solver
            .max_velocity
            .iter()
            .map(|&l| velocity_scale(l))
            .collect();
        let mut a = DMatrix::<f64>::zeros(n, n);
        let mut g = DVector::<f64>::zeros(n);
        for t in &solver.tasks {
            let m = t.solver_var.len();
            let q_chain: Vec<f64> = t.solver_var.iter().map(|&s| q[s]).collect();
            let mut j = Matrix6xX::zeros(m);
            t.task.chain.forward_with_jacobian(&q_chain, &mut j);
            let mut jn = DMatrix::<f64>::zeros(6, n);
            for c in 0..m {
                for r in 0..6 {
                    jn[(r, t.solver_var[c])] = t.row_weight(r) * j[(r, c)];
                }
            }
            a += jn.transpose() * &jn;
            g += jn.transpose() * DVector::from_row_slice(&t.twist);
        }
        for i in 0..n {
            a[(i, i)] += LOAD_DAMPING / (v[i] * v[i]);
        }
        let qd = a.cholesky().expect("positive definite").solve(&g);
        (0..n).map(|i| (qd[i] / v[i]).powi(4)).sum()
    }

    fn check_gradient(solver: &mut Solver, q: &[f64]) {
        let n = solver.dof();
        for t in &mut solver.tasks {
            for (c, qc) in t.q_chain.iter_mut().enumerate() {
                *qc = q[t.solver_var[c]];
            }
            t.task
                .chain
                .forward_with_jacobian(&t.q_chain, &mut t.jacobian);
        }
        solver.build_normal_equations();
        assert!(solver.velocity_margin_gradient());
        let analytic = solver.margin_gradient.clone();
        let scale = analytic.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(scale > 0.0);
        for k in 0..n {
            let h = 1e-6;
            let (mut plus, mut minus) = (q.to_vec(), q.to_vec());
            plus[k] += h;
            minus[k] -= h;
            let numeric = (load_by_dense_algebra(solver, &plus)
                - load_by_dense_algebra(solver, &minus))
                / (2.0 * h);
            assert!(
                (numeric - analytic[k]).abs() < 1e-4 * scale + 1e-9,
                "joint {k}: analytic {} numeric {numeric}",
                analytic[k]
            );
        }
    }

    fn humanoid() -> Model {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/teleop_humanoid.urdf");
        Model::from_urdf_file(&path).unwrap()
    }

    /// Somewhere inside every joint's range, away from zero (where many axes align).
    fn inside(solver: &Solver) -> Vec<f64> {
        (0..solver.dof())
            .map(|i| {
                let (lo, hi) = (solver.lower[i], solver.upper[i]);
                lo + (hi - lo) * (0.3 + 0.2 * ((i as f64 * 0.77).sin() + 1.0))
            })
            .collect()
    }

    #[test]
    fn closed_form_gradient_matches_finite_differences_on_one_chain() {
        let model = humanoid();
        let chain = Chain::new(&model, "pelvis", "left_tcp_link").unwrap();
        let mut solver = Solver::new(&model, vec![Task::new(chain)], Options::default()).unwrap();
        solver.tasks[0].twist = [0.1, -0.2, 0.05, 0.3, 0.1, -0.4];
        let q = inside(&solver);
        check_gradient(&mut solver, &q);
    }

    #[test]
    fn closed_form_gradient_matches_finite_differences_on_shared_waist() {
        let model = humanoid();
        let chain = |tip: &str| Chain::new(&model, "pelvis", tip).unwrap();
        let mut head = Task::new(chain("head_link"));
        head.position_weight = 0.0;
        head.target = Target::Orientation(nalgebra::Rotation3::identity());
        let tasks = vec![
            Task::new(chain("left_tcp_link")),
            Task::new(chain("right_tcp_link")),
            head,
        ];
        let mut solver = Solver::new(&model, tasks, Options::default()).unwrap();
        solver.tasks[0].twist = [0.2, 0.1, -0.1, 0.5, 0.0, 0.2];
        solver.tasks[1].twist = [-0.1, 0.2, 0.1, 0.0, -0.6, 0.1];
        solver.tasks[2].twist = [0.0, 0.0, 0.0, 0.3, 0.2, 0.0];
        let q = inside(&solver);
        check_gradient(&mut solver, &q);
    }
}
