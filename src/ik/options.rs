//! Solver settings, each with the reason for its default.

/// How the solver works; `Options::default()` suits 6–7-DoF arms and humanoid upper bodies.
#[derive(Debug, Clone)]
pub struct Options {
    /// Success when every task's position error is below this (m). 1e-4 m is the benchmark
    /// protocol's tolerance; the solver iterates a little past it.
    pub position_tolerance_m: f64,
    /// Success when every task's orientation error is below this (rad).
    pub rotation_tolerance_rad: f64,
    /// Levenberg–Marquardt damping at the start of a solve; adapted ×/÷ per step.
    pub initial_damping: f64,
    /// Smallest damping: keeps steps bounded at singularities even when everything converges.
    pub min_damping: f64,
    /// Global mode: total wall-clock budget (s). The benchmark protocol's 5 ms.
    pub solve_timeout_s: f64,
    /// Global mode: random restarts at most. With an unbounded time budget the answer then
    /// depends only on the inputs, not on how busy the machine is (`profile new` needs that).
    pub max_restarts: usize,
    /// Global mode: restart from a random seed after this many iterations without a 1 %
    /// improvement; convergence from a good seed takes 5–20.
    pub stall_iterations: usize,
    /// Global mode: a hard cap on iterations per seed.
    pub max_iterations_per_seed: usize,
    /// Tracking mode: iterations per call (each one a small box-constrained QP).
    pub track_iterations: usize,
    /// Tracking mode: the share of the distance to the rest posture closed per second, in the
    /// tasks' null space only. Without it a redundant arm drifts along its self-motion manifold
    /// tick by tick until a joint limit or a singularity stalls tracking. 0 disables (and the
    /// velocity margin with it). At 2/s the humanoid and Kinova drift further towards their
    /// limits; above 3/s it starts to fight the velocity margin.
    pub posture_gain_per_s: f64,
    /// Tracking mode: how fast (per second, in units of the gradient) a redundant robot moves
    /// in its null space down the velocity load — the joint speed the targets' current motion
    /// needs, relative to the limits (see `margin`). Where the path ahead needs a joint near its
    /// limit, the robot changes to a configuration that can follow before it falls behind.
    /// Needs `posture_gain_per_s` > 0 (it shares the null-space step); 0 disables.
    pub velocity_margin_gain_per_s: f64,
    /// Honour `<safety_controller>` soft limits where the URDF gives them.
    pub use_soft_limits: bool,
    /// Seed of the restart generator: the same inputs give the same answer.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            position_tolerance_m: 1e-4,
            rotation_tolerance_rad: 1e-3,
            initial_damping: 1e-2,
            min_damping: 1e-9,
            solve_timeout_s: 5e-3,
            max_restarts: usize::MAX,
            stall_iterations: 3,
            max_iterations_per_seed: 40,
            track_iterations: 4,
            posture_gain_per_s: 3.0,
            velocity_margin_gain_per_s: 6.0,
            use_soft_limits: true,
            seed: 0x07e1_e0bb_1d6e,
        }
    }
}
