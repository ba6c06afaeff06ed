//! The last stage before any robot (the control tick's, and the robot process's own): whatever the IK asks for, the commands that leave here stay
//! within position, velocity and acceleration limits, and stop smoothly when the input is stale,
//! missing or not finite.
//!
//! Per joint and tick, the next velocity is the one that moves towards the wanted position as
//! fast as allowed, within (in order of precedence):
//! 1. the position limits: never commanded past them, and never moving towards one faster than
//!    the acceleration limit can brake within the distance left (the discrete braking curve,
//!    ≈ √(2·a·d));
//! 2. the velocity limit;
//! 3. the acceleration limit: |v − v_last| ≤ a·dt.
//!
//! Approaching the wanted position it brakes on the same curve, so a far step command becomes a
//! trapezoidal move with no overshoot. The curve is exact in discrete time, so (1) and (3) never
//! conflict for a filter that started at rest within its limits.

use crate::config::Profile;
use crate::model::{Joint, Model};

/// The limits the filter enforces, one entry per joint. Continuous joints: ±∞ position limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub velocity: Vec<f64>,
    pub acceleration: Vec<f64>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Moving towards the wanted positions (possibly slowed by the limits).
    Tracking,
    /// No usable input: braking to a stop, or stopped.
    Holding,
}

/// Why a tick had no usable input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The input is older than the control loop's watchdog allows, or absent.
    Stale,
    /// The input had a NaN or infinite value.
    NotFinite,
}

/// Position, velocity and acceleration limiting with a smooth hold. No allocation per tick.
#[derive(Debug, Clone)]
pub struct SafetyFilter {
    limits: Limits,
    position: Vec<f64>,
    velocity: Vec<f64>,
}

impl SafetyFilter {
    /// A filter at rest at `position` (clamped into the limits; non-finite entries become the
    /// nearest finite limit, or 0). Limits that make no sense are made safe rather than trusted:
    /// a NaN position limit is no limit, an upper limit below the lower one pins the joint at
    /// the lower, and a NaN or negative velocity or acceleration limit holds the joint still.
    /// Panics if the lengths of `limits` and `position` differ — an invariant of the caller's
    /// setup, not of input.
    pub fn new(limits: Limits, position: &[f64]) -> SafetyFilter {
        let n = position.len();
        assert!(
            limits.lower.len() == n
                && limits.upper.len() == n
                && limits.velocity.len() == n
                && limits.acceleration.len() == n,
            "one limit of each kind per joint"
        );
        let mut limits = limits;
        for i in 0..n {
            // `max` and `min` pass over a NaN: a NaN position limit becomes no limit.
            limits.lower[i] = limits.lower[i].max(f64::NEG_INFINITY);
            limits.upper[i] = limits.upper[i].min(f64::INFINITY).max(limits.lower[i]);
            for rate in [&mut limits.velocity[i], &mut limits.acceleration[i]] {
                if rate.is_nan() || *rate < 0.0 {
                    *rate = 0.0;
                }
            }
        }
        let position = position
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let p = if p.is_finite() { p } else { 0.0 };
                p.clamp(limits.lower[i], limits.upper[i])
            })
            .collect();
        SafetyFilter {
            limits,
            position,
            velocity: vec![0.0; n],
        }
    }

    /// At rest at `position` (clamped into the limits; a non-finite or missing entry keeps
    /// the last command): for a robot that moved without the filter (damped, sagging), so that
    /// the next command starts where it is. No allocation.
    pub fn reset(&mut self, position: &[f64]) {
        for (i, q) in self.position.iter_mut().enumerate() {
            if let Some(&p) = position.get(i).filter(|p| p.is_finite()) {
                *q = p.clamp(self.limits.lower[i], self.limits.upper[i]);
            }
        }
        self.velocity.fill(0.0);
    }

    /// The last commanded positions.
    pub fn position(&self) -> &[f64] {
        &self.position
    }

    /// The last commanded velocities.
    pub fn velocity(&self) -> &[f64] {
        &self.velocity
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// One tick of `dt` seconds towards `wanted` (None: stale input, hold). Returns what it
    /// did; the new command is [`SafetyFilter::position`]. A `wanted` with any non-finite entry
    /// is refused whole (holding), so a NaN never reaches the robot. Non-positive or non-finite
    /// `dt` changes nothing.
    pub fn step(&mut self, wanted: Option<&[f64]>, dt: f64) -> Result<Outcome, Hold> {
        if !(dt.is_finite() && dt > 0.0) {
            return Ok(Outcome::Holding);
        }
        let usable = |w: &&[f64]| w.len() == self.position.len() && w.iter().all(|v| v.is_finite());
        let Some(wanted) = wanted.filter(usable) else {
            self.brake(dt);
            return Err(wanted.map_or(Hold::Stale, |_| Hold::NotFinite));
        };
        for (i, &wanted) in wanted.iter().enumerate() {
            let goal = wanted.clamp(self.limits.lower[i], self.limits.upper[i]);
            let v = self.next_velocity(i, goal, dt);
            self.advance(i, v, dt);
        }
        Ok(Outcome::Tracking)
    }

    /// Every joint decelerates at its limit towards zero velocity.
    fn brake(&mut self, dt: f64) {
        for i in 0..self.position.len() {
            let dv = self.limits.acceleration[i] * dt;
            let v = self.velocity[i];
            let v = v - v.signum() * v.abs().min(dv);
            self.advance(i, v, dt);
        }
    }

    fn next_velocity(&self, i: usize, goal: f64, dt: f64) -> f64 {
        let (a, vmax) = (self.limits.acceleration[i], self.limits.velocity[i]);
        let q = self.position[i];
        let error = goal - q;
        let towards_goal = error.signum() * braking_speed(error.abs(), a, dt);
        let v_last = self.velocity[i];
        let v = towards_goal
            .clamp(v_last - a * dt, v_last + a * dt)
            .clamp(-vmax, vmax);
        // Position limits take precedence: brake in time for them, never step past them.
        let up = braking_speed(self.limits.upper[i] - q, a, dt);
        let down = braking_speed(q - self.limits.lower[i], a, dt);
        v.clamp(-down, up)
    }

    fn advance(&mut self, i: usize, v: f64, dt: f64) {
        let q = (self.position[i] + v * dt).clamp(self.limits.lower[i], self.limits.upper[i]);
        self.velocity[i] = (q - self.position[i]) / dt;
        self.position[i] = q;
    }
}

/// The fastest velocity for the coming tick from which the joint can still stop within
/// `distance`, braking at `a` on every tick after it: the inverse of the discrete braking
/// distance B(v) = dt·(v + (v − a·dt) + (v − 2a·dt) + …, positive terms). Exact in discrete time,
/// so it is consistent: whoever respects it this tick can respect it next tick by braking at `a`
/// (B(v − a·dt) = B(v) − v·dt), and the limit never has to win over the acceleration limit.
///
/// Closed form, constant time for any input: no acceleration (0, negative, NaN) allows no speed;
/// an infinite one allows covering the distance in one tick. Where the whole number of braking
/// ticks passes 2⁵⁰ (a tiny acceleration or a huge distance), the discrete curve equals the
/// continuous one v = √(a²dt²/4 + 2ad) − a·dt/2 to far better than its margin.
fn braking_speed(distance: f64, a: f64, dt: f64) -> f64 {
    // NaN (an infinite limit minus an infinite position cannot happen: positions are finite).
    if distance.is_nan() || distance <= 0.0 || a.is_nan() || a <= 0.0 || dt.is_nan() || dt <= 0.0 {
        return 0.0;
    }
    if distance.is_infinite() {
        return f64::INFINITY;
    }
    // The tiny margin absorbs rounding in the caller's q + v·dt.
    const MARGIN: f64 = 1.0 - 1e-12;
    let step = a * dt;
    if step.is_infinite() {
        return distance / dt * MARGIN;
    }
    // With v = (m + f)·a·dt, m whole and f in [0, 1): B(v) = a·dt²·(m + 1)·(m/2 + f).
    let d = distance / (step * dt);
    let m = ((-1.0 + (1.0 + 8.0 * d).sqrt()) / 2.0).floor().max(0.0);
    if m >= (1u64 << 50) as f64 {
        // Continuous braking, computed so nothing overflows: v² + a·dt·v = 2·a·distance.
        let half = 0.5 * step;
        let v = (half.hypot((2.0 * a).sqrt() * distance.sqrt()) - half).max(0.0);
        return if v.is_finite() { v * MARGIN } else { 0.0 };
    }
    // Rounding can put m one or two off; B(m·a·dt) = a·dt²·m(m + 1)/2 must not exceed the
    // distance. m < 2⁵⁰ here, so each step down changes m.
    let mut m = m;
    for _ in 0..4 {
        if m > 0.0 && m * (m + 1.0) / 2.0 > d {
            m -= 1.0;
        }
    }
    let f = (d / (m + 1.0) - m / 2.0).clamp(0.0, 1.0);
    (m + f) * step * MARGIN
}

impl Limits {
    /// Limits for the model's independent joints (its `q` order): positions from the URDF
    /// (±∞ for continuous joints), velocities from the profile where it sets them, else the
    /// URDF's (`fallback_velocity` where neither does), accelerations from the profile.
    pub fn from_profile(model: &Model, profile: &Profile, fallback_velocity: f64) -> Limits {
        let joints = || model.dofs.iter().map(|&j| &model.joints[j]);
        let position = |j: &Joint| {
            j.limits
                .position
                .unwrap_or((f64::NEG_INFINITY, f64::INFINITY))
        };
        Limits {
            lower: joints().map(|j| position(j).0).collect(),
            upper: joints().map(|j| position(j).1).collect(),
            velocity: joints()
                .map(|j| {
                    let own = profile.joint_settings(&j.name).velocity;
                    own.or(j.limits.velocity).unwrap_or(fallback_velocity)
                })
                .collect(),
            acceleration: joints()
                .map(|j| profile.acceleration_limit(&j.name))
                .collect(),
        }
    }
}
