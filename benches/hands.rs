//! Hand retargeting per frame on the shared synthetic hand (tests/fixtures/hands/frames.json, 500
//! frames at 90 Hz) with the Allegro right hand, printed beside dex-retargeting's figures on the
//! same frames (tests/fixtures/hands/dex_baseline.json). `cargo bench --bench hands` prints a
//! markdown table: wall time of each `solve` call (first frame included, warm start after it),
//! p50/p99/max, single thread; then the same for the hands the profiles map (G1 Dex3-1 left and
//! right, the Inspire-style test hand), then criterion's per-frame mean over the whole sequence.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Matrix3, Vector3};
use teleop_bridge::config::Profile;
use teleop_bridge::hands::{HandMapping, Options, Retargeter, Scale, XR_JOINTS};
use teleop_bridge::model::Model;

type Joints = [Option<Vector3<f64>>; XR_JOINTS];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn frames(key: &str, rot: &str) -> Vec<(Joints, Matrix3<f64>)> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/hands/frames.json"))
        .expect("frames fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let js: Vec<Vec<[f64; 3]>> = serde_json::from_value(v[key].clone()).expect("joints");
    let rs: Vec<[[f64; 3]; 3]> = serde_json::from_value(v[rot].clone()).expect("rotations");
    js.iter()
        .zip(&rs)
        .map(|(j, r)| {
            let mut out = [None; XR_JOINTS];
            for (o, p) in out.iter_mut().zip(j) {
                *o = Some(Vector3::from(*p));
            }
            (out, Matrix3::from_fn(|a, b| r[a][b]))
        })
        .collect()
}

fn retargeter(scale: f64, pinch: bool) -> Retargeter {
    let model =
        Model::from_urdf_file(root().join("assets/robots/allegro_right/allegro_right_hand.urdf"))
            .expect("urdf");
    let mut mapping =
        HandMapping::from_toml_file(root().join("tests/fixtures/hands/allegro_right.toml"))
            .expect("mapping");
    mapping.scale = Scale::Fixed(scale);
    Retargeter::new(
        &model,
        &mapping,
        Options {
            pinch,
            ..Options::default()
        },
    )
    .expect("retargeter")
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let x = p / 100.0 * (v.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    if i + 1 < v.len() {
        v[i] * (1.0 - f) + v[i + 1] * f
    } else {
        v[i]
    }
}

/// This thread's CPU time (µs): unlike wall time, robust to other processes on a shared machine.
fn thread_cpu_us() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 * 1e-3
}

/// Per-frame wall and thread-CPU times (µs) of one pass from a fresh retargeter, and the mean
/// iterations.
fn pass(r: &mut Retargeter, frames: &[(Joints, Matrix3<f64>)]) -> (Vec<f64>, Vec<f64>, f64) {
    r.reset();
    let mut s = r.new_solution();
    let mut iterations = 0;
    let mut cpu = Vec::with_capacity(frames.len());
    let wall = frames
        .iter()
        .map(|(j, w)| {
            let c = thread_cpu_us();
            let t = Instant::now();
            r.solve(black_box(j), black_box(w), &mut s);
            let us = t.elapsed().as_secs_f64() * 1e6;
            cpu.push(thread_cpu_us() - c);
            iterations += s.iterations;
            black_box(&s);
            us
        })
        .collect();
    (wall, cpu, iterations as f64 / frames.len() as f64)
}

fn table() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/hands/dex_baseline.json"))
        .expect("dex");
    let dex: serde_json::Value = serde_json::from_str(&text).expect("json");
    let clean = frames("xr26", "wrist_R");
    let noisy = frames("noisy_xr26", "noisy_wrist_R");
    println!(
        "\n| run | ours wall p50 / p99 / max µs | ours CPU p50 / p99 µs | first frame µs | GN iterations/frame | dex CPU p50 / p99 µs | dex wall p50 / p99 µs |"
    );
    println!("|---|---|---|---|---|---|---|");
    let cases = [
        ("vector s=1.6 (pinch off)", 1.6, false, &clean, "vector"),
        ("vector+pinch s=1.6", 1.6, true, &clean, "dexpilot"),
        (
            "vector s=1.25 (pinch off)",
            1.25,
            false,
            &clean,
            "vector_scale_1.25",
        ),
        (
            "vector+pinch s=1.25",
            1.25,
            true,
            &clean,
            "vector_scale_1.25",
        ),
        (
            "vector+pinch s=1.6, 2 mm noise",
            1.6,
            true,
            &noisy,
            "vector_noisy_2mm",
        ),
    ];
    for (label, scale, pinch, frames, key) in cases {
        let mut r = retargeter(scale, pinch);
        // Three passes, per-frame minimum (as the dex baseline's min-of-3), first frame included.
        let mut best: Vec<f64> = vec![f64::INFINITY; frames.len()];
        let mut best_cpu: Vec<f64> = vec![f64::INFINITY; frames.len()];
        let mut iters = 0.0;
        for _ in 0..3 {
            let (t, c, it) = pass(&mut r, frames);
            iters = it;
            for (b, x) in best.iter_mut().zip(t) {
                *b = b.min(x);
            }
            for (b, x) in best_cpu.iter_mut().zip(c) {
                *b = b.min(x);
            }
        }
        let first = best[0];
        let max = best.iter().copied().fold(0.0, f64::max);
        let (p50, p99) = (
            percentile(&mut best.clone(), 50.0),
            percentile(&mut best, 99.0),
        );
        let (c50, c99) = (
            percentile(&mut best_cpu.clone(), 50.0),
            percentile(&mut best_cpu, 99.0),
        );
        let d = &dex[key];
        let (dc50, dc99) = match d.get("solve_time_us_min_of_3_runs") {
            Some(m) => (
                m["cpu_median"].as_f64().unwrap_or(f64::NAN),
                m["cpu_p99"].as_f64().unwrap_or(f64::NAN),
            ),
            None => (
                d["solve_cpu_time_us"]["median"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                d["solve_cpu_time_us"]["p99"].as_f64().unwrap_or(f64::NAN),
            ),
        };
        let (dw50, dw99) = (
            d["solve_time_us"]["median"].as_f64().unwrap_or(f64::NAN),
            d["solve_time_us"]["p99"].as_f64().unwrap_or(f64::NAN),
        );
        println!(
            "| {label} (dex: {key}) | {p50:.1} / {p99:.1} / {max:.1} | {c50:.1} / {c99:.1} | {first:.1} | {iters:.1} | {dc50:.0} / {dc99:.0} | {dw50:.0} / {dw99:.0} |"
        );
    }
    println!();
}

/// The hands mapped in profiles, pinch on: time per solve and mean fit on the same frames (the
/// left hand gets the frames mirrored).
fn profile_hands_table() {
    let clean = frames("xr26", "wrist_R");
    let s = Matrix3::from_diagonal(&Vector3::new(-1.0, 1.0, 1.0));
    let mirrored: Vec<(Joints, Matrix3<f64>)> = clean
        .iter()
        .map(|(j, w)| (j.map(|p| p.map(|p| s * p)), s * w * s))
        .collect();
    println!("| hand (profile) | wall p50 / p99 / max µs | CPU p50 / p99 µs | mean fit mm |");
    println!("|---|---|---|---|");
    for (label, profile, side) in [
        ("G1 Dex3-1 right", "profiles/unitree_g1.toml", "right"),
        ("G1 Dex3-1 left", "profiles/unitree_g1.toml", "left"),
        (
            "Inspire-style (6 + 6 mimic)",
            "tests/fixtures/hands/inspire_like.toml",
            "right",
        ),
    ] {
        let (profile, model) = Profile::load(&root().join(profile)).expect("profile");
        let mapping = if side == "left" {
            profile.hands.left
        } else {
            profile.hands.right
        }
        .expect("mapping");
        let mut r = Retargeter::new(&model, &mapping, Options::default()).expect("retargeter");
        let frames = if side == "left" { &mirrored } else { &clean };
        let mut best = vec![f64::INFINITY; frames.len()];
        let mut best_cpu = vec![f64::INFINITY; frames.len()];
        for _ in 0..3 {
            let (t, c, _) = pass(&mut r, frames);
            for (b, x) in best.iter_mut().zip(t) {
                *b = b.min(x);
            }
            for (b, x) in best_cpu.iter_mut().zip(c) {
                *b = b.min(x);
            }
        }
        r.reset();
        let mut solution = r.new_solution();
        let (mut fit, mut n) = (0.0, 0);
        for (j, w) in frames {
            r.solve(j, w, &mut solution);
            fit += solution.fit_error_m.iter().sum::<f64>() * 1e3;
            n += solution.fit_error_m.len();
        }
        let max = best.iter().copied().fold(0.0, f64::max);
        println!(
            "| {label} | {:.1} / {:.1} / {max:.1} | {:.1} / {:.1} | {:.2} |",
            percentile(&mut best.clone(), 50.0),
            percentile(&mut best, 99.0),
            percentile(&mut best_cpu.clone(), 50.0),
            percentile(&mut best_cpu, 99.0),
            fit / n as f64
        );
    }
    println!();
}

fn bench(c: &mut Criterion) {
    table();
    profile_hands_table();
    let clean = frames("xr26", "wrist_R");
    let mut group = c.benchmark_group("hands");
    for (name, scale, pinch) in [
        ("allegro_s1.25_pinch", 1.25, true),
        ("allegro_s1.25_nopinch", 1.25, false),
    ] {
        let mut r = retargeter(scale, pinch);
        let mut s = r.new_solution();
        group.bench_function(format!("{name}_500_frames"), |b| {
            b.iter(|| {
                r.reset();
                for (j, w) in &clean {
                    r.solve(j, w, &mut s);
                }
                black_box(&s);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
