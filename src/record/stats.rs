//! Feature statistics as LeRobot writes them (`compute_stats.py`): per dimension `min`, `max`,
//! `mean`, `std`, `count` and the quantiles `q01`, `q10`, `q50`, `q90`, `q99`; images per
//! channel on a sample of frames, scaled to 0..1; a dataset's stats aggregated from its
//! episodes' (count-weighted mean, pooled variance, count-weighted quantiles).
//!
//! Quantiles here are exact (NumPy's default, linear between the two nearest ranks), where
//! LeRobot estimates them from a 5,000-bin histogram per dimension; the two agree to within a
//! bin (a 5,000th of the range). Like LeRobot, a feature with fewer than two rows takes its
//! mean as every quantile.

use serde_json::{Map, Value, json};

/// The quantiles LeRobot computes, and their keys.
pub const QUANTILES: [(f64, &str); 5] = [
    (0.01, "q01"),
    (0.10, "q10"),
    (0.50, "q50"),
    (0.90, "q90"),
    (0.99, "q99"),
];

/// One feature's statistics: one value per dimension (per channel for an image) each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub count: u64,
    /// In [`QUANTILES`] order.
    pub quantiles: [Vec<f64>; 5],
    /// An image feature's: written as `[c][1][1]` as LeRobot's `(3, 1, 1)` arrays.
    pub image: bool,
}

/// Linear-interpolated quantile `q` of sorted `v` (NumPy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Stats {
    /// Per-dimension statistics of `rows` (all of one length).
    pub fn of_rows<R: AsRef<[f32]>>(rows: &[R]) -> Stats {
        let n = rows.first().map_or(0, |r| r.as_ref().len());
        let columns: Vec<Vec<f64>> = (0..n)
            .map(|j| rows.iter().map(|r| f64::from(r.as_ref()[j])).collect())
            .collect();
        Self::of_columns(columns, rows.len() as u64, false)
    }

    /// Statistics of one value a row.
    pub fn of_scalars(values: impl Iterator<Item = f64>) -> Stats {
        let column: Vec<f64> = values.collect();
        let count = column.len() as u64;
        Self::of_columns(vec![column], count, false)
    }

    fn of_columns(columns: Vec<Vec<f64>>, count: u64, image: bool) -> Stats {
        let mut s = Stats {
            count,
            image,
            ..Stats::default()
        };
        for mut c in columns {
            let len = c.len().max(1) as f64;
            let mean = c.iter().sum::<f64>() / len;
            let var = c.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len;
            c.sort_by(f64::total_cmp);
            s.min.push(c.first().copied().unwrap_or(0.0));
            s.max.push(c.last().copied().unwrap_or(0.0));
            s.mean.push(mean);
            s.std.push(var.sqrt());
            for (k, &(q, _)) in QUANTILES.iter().enumerate() {
                s.quantiles[k].push(if c.len() < 2 { mean } else { quantile(&c, q) });
            }
        }
        s
    }

    /// Aggregates episodes' statistics into the dataset's, as LeRobot's
    /// `aggregate_feature_stats`.
    pub fn aggregate(parts: &[&Stats]) -> Stats {
        let Some(first) = parts.first() else {
            return Stats::default();
        };
        let n = first.mean.len();
        let total: u64 = parts.iter().map(|s| s.count).sum();
        let weight = |s: &Stats| s.count as f64 / total.max(1) as f64;
        let mut out = Stats {
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
            mean: vec![0.0; n],
            std: vec![0.0; n],
            count: total,
            quantiles: std::array::from_fn(|_| vec![0.0; n]),
            image: first.image,
        };
        for s in parts {
            for j in 0..n {
                out.min[j] = out.min[j].min(s.min[j]);
                out.max[j] = out.max[j].max(s.max[j]);
                out.mean[j] += s.mean[j] * weight(s);
                for k in 0..QUANTILES.len() {
                    out.quantiles[k][j] += s.quantiles[k][j] * weight(s);
                }
            }
        }
        for s in parts {
            for j in 0..n {
                let d = s.mean[j] - out.mean[j];
                out.std[j] += (s.std[j] * s.std[j] + d * d) * weight(s);
            }
        }
        for v in &mut out.std {
            *v = v.sqrt();
        }
        out
    }

    /// `(key, values)` per statistic but `count`, in LeRobot's order.
    pub fn values(&self) -> Vec<(&'static str, &[f64])> {
        let mut v = vec![
            ("min", self.min.as_slice()),
            ("max", self.max.as_slice()),
            ("mean", self.mean.as_slice()),
            ("std", self.std.as_slice()),
        ];
        for (k, &(_, key)) in QUANTILES.iter().enumerate() {
            v.push((key, self.quantiles[k].as_slice()));
        }
        v
    }

    /// As `meta/stats.json` has it (images as `[c][1][1]`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (key, values) in self.values() {
            let value = if self.image {
                json!(values.iter().map(|v| [[*v]]).collect::<Vec<_>>())
            } else {
                json!(values)
            };
            m.insert(key.to_string(), value);
            if key == "std" {
                m.insert("count".into(), json!([self.count]));
            }
        }
        Value::Object(m)
    }
}

/// Per-channel statistics of RGB images, gathered frame by frame: exact, through a histogram
/// of each channel's 256 levels.
#[derive(Debug, Clone)]
pub struct ImageStats {
    histogram: [[u64; 256]; 3],
    frames: u64,
}

impl Default for ImageStats {
    fn default() -> Self {
        Self {
            histogram: [[0; 256]; 3],
            frames: 0,
        }
    }
}

/// Which of an episode's `len` frames image statistics sample (LeRobot's `sample_indices`:
/// `len^0.75` frames, at least 100 (or all, if fewer), at most 10,000, evenly spaced).
pub fn sample_indices(len: usize) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    let min = 100.min(len);
    let n = ((len as f64).powf(0.75) as usize).clamp(min, 10_000.max(min));
    if n == 1 {
        return vec![0];
    }
    (0..n)
        .map(|i| (i as f64 * (len - 1) as f64 / (n - 1) as f64).round() as usize)
        .collect()
}

impl ImageStats {
    /// Adds one RGB frame (`width` pixels a row), downsampled as LeRobot's
    /// `auto_downsample_height_width` (frames of 300 pixels or more on a side: every k-th
    /// pixel, k = the longer side / 150, rounded down).
    pub fn add(&mut self, rgb: &[u8], width: usize, height: usize) {
        let longer = width.max(height);
        let step = if longer < 300 { 1 } else { longer / 150 };
        for y in (0..height).step_by(step) {
            for x in (0..width).step_by(step) {
                let p = (y * width + x) * 3;
                for c in 0..3 {
                    self.histogram[c][usize::from(rgb[p + c])] += 1;
                }
            }
        }
        self.frames += 1;
    }

    /// The statistics, scaled to 0..1; `count` is the number of frames sampled.
    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            count: self.frames,
            image: true,
            ..Stats::default()
        };
        for h in &self.histogram {
            let n: u64 = h.iter().sum();
            let level = |k: usize| k as f64 / 255.0;
            let nz = || h.iter().enumerate().filter(|(_, c)| **c > 0);
            let min = nz().next().map_or(0, |(k, _)| k);
            let max = nz().next_back().map_or(0, |(k, _)| k);
            let mean = h
                .iter()
                .enumerate()
                .map(|(k, c)| level(k) * *c as f64)
                .sum::<f64>()
                / n.max(1) as f64;
            let var = h
                .iter()
                .enumerate()
                .map(|(k, c)| (level(k) - mean).powi(2) * *c as f64)
                .sum::<f64>()
                / n.max(1) as f64;
            s.min.push(level(min));
            s.max.push(level(max));
            s.mean.push(mean);
            s.std.push(var.sqrt());
            // The value at sorted rank r (0-based) of the histogram's values.
            let at = |r: u64| {
                let mut seen = 0;
                for (k, c) in h.iter().enumerate() {
                    seen += c;
                    if seen > r {
                        return level(k);
                    }
                }
                level(max)
            };
            for (k, &(q, _)) in QUANTILES.iter().enumerate() {
                let value = if n < 2 {
                    mean
                } else {
                    let pos = q * (n - 1) as f64;
                    let (lo, hi) = (pos.floor() as u64, pos.ceil() as u64);
                    at(lo) + (at(hi) - at(lo)) * (pos - lo as f64)
                };
                s.quantiles[k].push(value);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        // numpy.quantile([0..=10], [.01,.1,.5,.9,.99]) = 0.1, 1, 5, 9, 9.9
        let s = Stats::of_scalars((0..=10).map(f64::from));
        let q: Vec<f64> = s.quantiles.iter().map(|v| v[0]).collect();
        for (a, b) in q.iter().zip([0.1, 1.0, 5.0, 9.0, 9.9]) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(s.count, 11);
        assert!((s.std[0] - 10f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn image_stats_match_row_stats_of_the_same_values() {
        let mut img = ImageStats::default();
        let rgb: Vec<u8> = (0..64 * 3).map(|i| (i * 7 % 256) as u8).collect();
        img.add(&rgb, 8, 8);
        let rows: Vec<Vec<f32>> = rgb
            .chunks(3)
            .map(|p| p.iter().map(|&v| f32::from(v) / 255.0).collect())
            .collect();
        let a = img.stats();
        let b = Stats::of_rows(&rows);
        for ((_, x), (_, y)) in a.values().into_iter().zip(b.values()) {
            for (x, y) in x.iter().zip(y) {
                assert!((x - y).abs() < 1e-6, "{x} {y}");
            }
        }
        assert_eq!(a.count, 1);
    }

    #[test]
    fn sampling_follows_lerobot() {
        assert_eq!(sample_indices(5), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_indices(330).len(), 100);
        assert_eq!(sample_indices(1000).len(), 177);
        assert_eq!(sample_indices(20_000).len(), 1681);
        assert_eq!(*sample_indices(330).last().unwrap(), 329);
    }

    #[test]
    fn aggregation_pools_mean_and_variance() {
        let a = Stats::of_scalars([0.0, 2.0].into_iter());
        let b = Stats::of_scalars([4.0, 6.0].into_iter());
        let all = Stats::of_scalars([0.0, 2.0, 4.0, 6.0].into_iter());
        let agg = Stats::aggregate(&[&a, &b]);
        assert_eq!(agg.count, 4);
        assert!((agg.mean[0] - all.mean[0]).abs() < 1e-12);
        assert!((agg.std[0] - all.std[0]).abs() < 1e-12);
        assert_eq!((agg.min[0], agg.max[0]), (0.0, 6.0));
    }
}
