//! Retargeter settings, each with the reason for its default.

/// How the hand retargeter works; `Options::default()` suits 90 Hz hand tracking on 4–5-finger
/// hands of 6–20 joints.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between two solves (s): each step is limited to the URDF velocity × this. 90 Hz is
    /// the usual hand-tracking rate.
    pub dt_s: f64,
    /// Share of the velocity limit a step may use; below 1 so rounding never crosses it.
    pub velocity_margin: f64,
    /// Step limit (rad/s or m/s) for joints whose URDF gives no velocity; infinite: none.
    pub default_velocity: f64,
    /// Gauss–Newton / Levenberg–Marquardt iterations per finger group and solve. Warm-started,
    /// a solve converges in 2–5; the cap bounds the time of the rare hard frame.
    pub max_iterations: usize,
    /// Stop when no joint moved more than this in an iteration (rad): 1e-5 rad moves a 0.1 m
    /// finger 1 µm.
    pub step_tolerance: f64,
    /// Stop when an iteration lowered the cost by less than this share of it. Where a finger
    /// cannot reach its target the Huber cost is flat along the valley of equal error, and
    /// further steps trade joint motion for micrometres.
    pub cost_tolerance: f64,
    /// Huber threshold on a fingertip vector's error (m): quadratic below, linear above, so an
    /// unreachable finger does not drag the others (dex-retargeting's 0.02).
    pub huber_delta_m: f64,
    /// Weight of ‖q − q_previous‖² (m²/rad²) in value and gradient: a 0.1 rad step costs as much
    /// as a 0.1·√(this) m fit error. Damps tracking noise; too high and the hand lags.
    pub smoothness: f64,
    /// Close the robot's thumb on a finger when the trainer pinches (pairs from the mapping).
    pub pinch: bool,
    /// Pinch activation `a` (0 … 1) follows the trainer's thumb–finger tip distance `d`, with
    /// hysteresis, continuously (no jump when a pair switches). Closing: `a` rises from 0 at this
    /// distance (m) …
    pub pinch_engage_m: f64,
    /// … to 1 at this one, where the pair latches engaged.
    pub pinch_full_m: f64,
    /// Opening, once engaged: `a` stays 1 up to this distance (m) …
    pub pinch_release_m: f64,
    /// … and falls to 0 at this one, where the pair unlatches. The engaged robot gap is
    /// `(1 − a) · scale · d`.
    pub pinch_open_m: f64,
    /// Smallest robot thumb–finger gap (m) while a pair is not pinching (scaled by `1 − a`):
    /// an out-of-reach fit must not squeeze the tips together when the trainer's are apart.
    pub pinch_min_gap_m: f64,
    /// Weight of the robot thumb–finger gap (relative to a fingertip vector's 1) once engaged.
    pub pinch_weight: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dt_s: 1.0 / 90.0,
            velocity_margin: 0.999,
            default_velocity: f64::INFINITY,
            max_iterations: 12,
            step_tolerance: 1e-5,
            cost_tolerance: 1e-4,
            huber_delta_m: 0.02,
            smoothness: 2e-5,
            pinch: true,
            pinch_engage_m: 0.05,
            pinch_full_m: 0.025,
            pinch_release_m: 0.04,
            pinch_open_m: 0.055,
            pinch_min_gap_m: 0.015,
            pinch_weight: 100.0,
        }
    }
}
