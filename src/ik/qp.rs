//! The small dense linear algebra of one solver step, on caller-owned buffers (no allocation):
//! minimise ½ xᵀHx − bᵀx subject to lo ≤ x ≤ hi, H symmetric positive definite, n ≤ ~40.

/// Cholesky solve of `h · x = b` in place (`h` n×n row-major, overwritten by its factor).
/// Returns false if `h` is not positive definite.
pub(crate) fn cholesky_solve(h: &mut [f64], n: usize, b: &[f64], x: &mut [f64]) -> bool {
    if !cholesky_factor(h, n) {
        return false;
    }
    cholesky_substitute(h, n, b, x);
    true
}

/// Overwrites the lower triangle of `h` (n×n row-major, symmetric) with L, h = L·Lᵀ.
/// Returns false if `h` is not positive definite.
pub(crate) fn cholesky_factor(h: &mut [f64], n: usize) -> bool {
    // Row-wise dot products over slices: no bounds checks in the inner loops, and they vectorise.
    for j in 0..n {
        let (_, rest) = h.split_at_mut(j * n);
        let (row_j, below) = rest.split_at_mut(n);
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if d.is_nan() || d <= 0.0 || d.is_infinite() {
            return false;
        }
        let d = d.sqrt();
        row_j[j] = d;
        let inverse = 1.0 / d;
        for row_i in below.chunks_exact_mut(n) {
            let s = row_i[j] - dot(&row_i[..j], &row_j[..j]);
            row_i[j] = s * inverse;
        }
    }
    true
}

#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves L·Lᵀ·x = b with the factor from [`cholesky_factor`].
pub(crate) fn cholesky_substitute(factor: &[f64], n: usize, b: &[f64], x: &mut [f64]) {
    for i in 0..n {
        let row = &factor[i * n..i * n + i];
        x[i] = (b[i] - dot(row, &x[..i])) / factor[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= factor[k * n + i] * x[k];
        }
        x[i] = s / factor[i * n + i];
    }
}

/// Buffers for [`BoxQp::solve`], sized once for `n` variables (every solve is over all `n`).
#[derive(Debug, Clone)]
pub(crate) struct BoxQp {
    /// 0 free, −1 at its lower bound, +1 at its upper bound.
    state: Vec<i8>,
    free: Vec<usize>,
    reduced_h: Vec<f64>,
    reduced_b: Vec<f64>,
    reduced_x: Vec<f64>,
}

impl BoxQp {
    pub fn new(n: usize) -> Self {
        Self {
            state: vec![0; n],
            free: Vec::with_capacity(n),
            reduced_h: vec![0.0; n * n],
            reduced_b: vec![0.0; n],
            reduced_x: vec![0.0; n],
        }
    }

    /// Minimises ½ xᵀHx − bᵀx subject to lo ≤ x ≤ hi (lo ≤ 0 ≤ hi) by a primal active set:
    /// solve on the free variables with Cholesky, pin any that leave the box to the bound they
    /// crossed, release pinned ones whose gradient points inside, repeat. Exact, unlike
    /// projected Gauss–Seidel, whose sweeps crawl on an arm's ill-conditioned JᵀJ.
    /// Returns false if a reduced system was not positive definite (x is then left feasible).
    pub fn solve(&mut self, h: &[f64], b: &[f64], lo: &[f64], hi: &[f64], x: &mut [f64]) -> bool {
        self.state.fill(0);
        self.active_set_loop(h, b, lo, hi, x)
    }

    /// [`BoxQp::solve`] when `x` already holds the unconstrained minimiser (the caller tried it
    /// first): the variables it puts outside the box start pinned, which saves the all-free
    /// solve and usually every release after it.
    pub fn solve_from_unconstrained(
        &mut self,
        h: &[f64],
        b: &[f64],
        lo: &[f64],
        hi: &[f64],
        x: &mut [f64],
    ) -> bool {
        for i in 0..self.state.len() {
            self.state[i] = if x[i] < lo[i] {
                -1
            } else if x[i] > hi[i] {
                1
            } else {
                0
            };
        }
        self.active_set_loop(h, b, lo, hi, x)
    }

    fn active_set_loop(
        &mut self,
        h: &[f64],
        b: &[f64],
        lo: &[f64],
        hi: &[f64],
        x: &mut [f64],
    ) -> bool {
        let n = self.state.len();
        for _ in 0..(2 * n + 2) {
            self.free.clear();
            self.free.extend((0..n).filter(|&i| self.state[i] == 0));
            for i in 0..n {
                match self.state[i] {
                    -1 => x[i] = lo[i],
                    1 => x[i] = hi[i],
                    _ => {}
                }
            }
            let m = self.free.len();
            for (r, &i) in self.free.iter().enumerate() {
                let mut rhs = b[i];
                for k in 0..n {
                    if self.state[k] != 0 {
                        rhs -= h[i * n + k] * x[k];
                    }
                }
                self.reduced_b[r] = rhs;
                for (c, &j) in self.free.iter().enumerate() {
                    self.reduced_h[r * m + c] = h[i * n + j];
                }
            }
            if !cholesky_solve(
                &mut self.reduced_h[..m * m],
                m,
                &self.reduced_b[..m],
                &mut self.reduced_x[..m],
            ) {
                for i in 0..n {
                    x[i] = x[i].clamp(lo[i], hi[i]);
                }
                return false;
            }
            let mut changed = false;
            for (r, &i) in self.free.iter().enumerate() {
                let v = self.reduced_x[r];
                if v < lo[i] {
                    self.state[i] = -1;
                    changed = true;
                } else if v > hi[i] {
                    self.state[i] = 1;
                    changed = true;
                } else {
                    x[i] = v;
                }
            }
            if changed {
                continue;
            }
            // All free variables inside: release a pinned one whose descent direction is inward.
            for i in 0..n {
                if self.state[i] == 0 {
                    continue;
                }
                let mut gradient = -b[i];
                for k in 0..n {
                    gradient += h[i * n + k] * x[k];
                }
                if (self.state[i] == -1 && gradient < -1e-12)
                    || (self.state[i] == 1 && gradient > 1e-12)
                {
                    self.state[i] = 0;
                    changed = true;
                }
            }
            if !changed {
                return true;
            }
        }
        for i in 0..n {
            x[i] = x[i].clamp(lo[i], hi[i]);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_spd_system() {
        let mut h = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let original = h;
        let b = [1.0, 2.0, 3.0];
        let mut x = [0.0; 3];
        assert!(cholesky_solve(&mut h, 3, &b, &mut x));
        for i in 0..3 {
            let hx: f64 = (0..3).map(|k| original[i * 3 + k] * x[k]).sum();
            assert!((hx - b[i]).abs() < 1e-12);
        }
        let mut not_pd = [1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky_solve(&mut not_pd, 2, &[1.0, 1.0], &mut [0.0; 2]));
    }

    #[test]
    fn box_qp_matches_unconstrained_inside_and_clamps_outside() {
        let h = [2.0, 0.5, 0.5, 1.0];
        let b = [1.0, 1.0];
        let mut qp = BoxQp::new(2);
        let mut x = [0.0; 2];
        assert!(qp.solve(&h, &b, &[-10.0; 2], &[10.0; 2], &mut x));
        // Unconstrained optimum of 2x+0.5y=1, 0.5x+y=1.
        assert!(
            (x[0] - 2.0 / 7.0).abs() < 1e-9 && (x[1] - 6.0 / 7.0).abs() < 1e-9,
            "{x:?}"
        );
        let mut x = [0.0; 2];
        assert!(qp.solve(&h, &b, &[-10.0, -10.0], &[10.0, 0.5], &mut x));
        // With y ≤ 0.5 active, x minimises 2x + 0.25 = 1 → x = 0.375.
        assert!(
            (x[1] - 0.5).abs() < 1e-12 && (x[0] - 0.375).abs() < 1e-9,
            "{x:?}"
        );
    }
}
