//! A tiny deterministic generator (SplitMix64): the IK's restart seeds, the demo's seeded
//! scenes and the profile tools' samples, the same numbers on every machine, without a
//! dependency.

#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi), finite for any finite bounds (`hi − lo` may overflow: ±1e308).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = self.unit();
        let span = hi - lo;
        if span.is_finite() {
            lo + span * u
        } else {
            lo * (1.0 - u) + hi * u
        }
    }
}
