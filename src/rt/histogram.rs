//! Latency histograms that never allocate.

/// Durations on a log scale: 4 buckets per octave from 64 ns to ~1 s. Percentiles are read as
/// the upper edge of their bucket (at most 19 % high).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: [u64; Histogram::BUCKETS],
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: [0; Histogram::BUCKETS],
            total: 0,
        }
    }
}

impl Histogram {
    const BUCKETS: usize = 4 * 24;
    const FIRST_OCTAVE: u32 = 6;

    fn bucket(ns: u64) -> usize {
        let ns = ns.max(1 << Self::FIRST_OCTAVE);
        let octave = 63 - ns.leading_zeros();
        let quarter = ((ns >> (octave - 2)) & 3) as usize;
        (((octave - Self::FIRST_OCTAVE) as usize) * 4 + quarter).min(Self::BUCKETS - 1)
    }

    fn upper_edge(bucket: usize) -> u64 {
        let octave = Self::FIRST_OCTAVE + (bucket / 4) as u32;
        let quarter = (bucket % 4) as u64;
        (1u64 << octave) + ((quarter + 1) << (octave - 2))
    }

    pub fn record(&mut self, ns: u64) {
        self.counts[Self::bucket(ns)] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `p`-th percentile (0–100) in ns; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::upper_edge(bucket);
            }
        }
        Self::upper_edge(Self::BUCKETS - 1)
    }
}
