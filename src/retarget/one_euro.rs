//! The One Euro filter (Casiez, Roussel, Vogel, CHI 2012) on a pose: strong smoothing while the
//! hand is nearly still (tracking jitter), little lag when it moves fast. The cutoff frequency
//! rises with the filtered speed: f = min_cutoff + beta·|speed|.

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};

/// Filter settings; the defaults suit VR controllers sampled at 72–120 Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneEuroSettings {
    /// Cutoff at rest (Hz): lower removes more jitter, adds lag to slow motion.
    pub min_cutoff_hz: f64,
    /// How fast the cutoff rises with speed (per m/s for position, per rad/s for rotation).
    pub beta: f64,
    /// Cutoff of the speed estimate itself (Hz).
    pub derivative_cutoff_hz: f64,
}

impl Default for OneEuroSettings {
    fn default() -> Self {
        Self {
            min_cutoff_hz: 1.0,
            beta: 5.0,
            derivative_cutoff_hz: 1.0,
        }
    }
}

fn smoothing(cutoff_hz: f64, dt: f64) -> f64 {
    let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff_hz);
    1.0 / (1.0 + tau / dt)
}

/// A One Euro filter over position and orientation (each with its own speed).
#[derive(Debug, Clone)]
pub struct OneEuroPose {
    settings: OneEuroSettings,
    state: Option<State>,
}

#[derive(Debug, Clone, Copy)]
struct State {
    position: Vector3<f64>,
    rotation: UnitQuaternion<f64>,
    linear_speed: f64,
    angular_speed: f64,
}

impl OneEuroPose {
    pub fn new(settings: OneEuroSettings) -> OneEuroPose {
        OneEuroPose {
            settings,
            state: None,
        }
    }

    /// Forgets the past: the next sample passes unfiltered.
    pub fn reset(&mut self) {
        self.state = None;
    }

    /// The filtered pose for `sample`, `dt` seconds after the previous one.
    pub fn filter(&mut self, sample: &Isometry3<f64>, dt: f64) -> Isometry3<f64> {
        let s = self.settings;
        let (position, rotation) = (sample.translation.vector, sample.rotation);
        let state = match self.state {
            Some(state) if dt.is_finite() && dt > 0.0 => state,
            _ => {
                self.state = Some(State {
                    position,
                    rotation,
                    linear_speed: 0.0,
                    angular_speed: 0.0,
                });
                return *sample;
            }
        };
        let derivative = smoothing(s.derivative_cutoff_hz, dt);
        let linear_speed = state.linear_speed
            + derivative * ((position - state.position).norm() / dt - state.linear_speed);
        let angular_speed = state.angular_speed
            + derivative * (rotation.angle_to(&state.rotation) / dt - state.angular_speed);
        let a = smoothing(s.min_cutoff_hz + s.beta * linear_speed, dt);
        let b = smoothing(s.min_cutoff_hz + s.beta * angular_speed, dt);
        let position = state.position + a * (position - state.position);
        let rotation = state
            .rotation
            .try_slerp(&rotation, b, 1e-9)
            .unwrap_or(rotation);
        self.state = Some(State {
            position,
            rotation,
            linear_speed,
            angular_speed,
        });
        Isometry3::from_parts(Translation3::from(position), rotation)
    }
}
