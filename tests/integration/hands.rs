//! Hand retargeting on the shared synthetic hand (tests/fixtures/hands/frames.json, 500 frames at
//! 90 Hz) with the Allegro right hand, against dex-retargeting's figures on the same frames
//! (tests/fixtures/hands/dex_baseline.json).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nalgebra::{Matrix3, Vector3};
use teleop_bridge::hands::{
    HandMapping, Options, Retargeter, Scale, Solution, Status, XR_JOINTS, process_line,
};
use teleop_bridge::kinematics::Chain;
use teleop_bridge::model::{LoadOptions, Model};

use super::alloc_count::allocations_during;

type Joints = [Option<Vector3<f64>>; XR_JOINTS];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn urdf_path() -> PathBuf {
    root().join("assets/robots/allegro_right/allegro_right_hand.urdf")
}

fn allegro() -> Model {
    Model::from_urdf_file(urdf_path()).expect("Allegro URDF loads")
}

fn mapping() -> HandMapping {
    HandMapping::from_toml_file(root().join("tests/fixtures/hands/allegro_right.toml"))
        .expect("Allegro mapping parses")
}

struct Frames {
    clean: Vec<(Joints, Matrix3<f64>)>,
    noisy: Vec<(Joints, Matrix3<f64>)>,
}

fn frames() -> &'static Frames {
    static FRAMES: OnceLock<Frames> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("tests/fixtures/hands/frames.json"))
            .expect("frames fixture");
        let v: serde_json::Value = serde_json::from_str(&text).expect("frames json");
        let read = |joints: &str, rot: &str| -> Vec<(Joints, Matrix3<f64>)> {
            let js = v[joints].as_array().expect("joints array");
            let rs = v[rot].as_array().expect("rotation array");
            js.iter()
                .zip(rs)
                .map(|(j, r)| {
                    let mut out = [None; XR_JOINTS];
                    for (o, p) in out.iter_mut().zip(j.as_array().expect("26 joints")) {
                        let p: Vec<f64> = serde_json::from_value(p.clone()).expect("xyz");
                        *o = Some(Vector3::new(p[0], p[1], p[2]));
                    }
                    let r: Vec<Vec<f64>> = serde_json::from_value(r.clone()).expect("3x3");
                    (out, Matrix3::from_fn(|a, b| r[a][b]))
                })
                .collect()
        };
        Frames {
            clean: read("xr26", "wrist_R"),
            noisy: read("noisy_xr26", "noisy_wrist_R"),
        }
    })
}

fn dex() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/hands/dex_baseline.json"))
        .expect("dex baseline fixture");
    serde_json::from_str(&text).expect("dex baseline json")
}

fn retargeter(model: &Model, scale: f64, options: Options) -> Retargeter {
    let mut m = mapping();
    m.scale = Scale::Fixed(scale);
    Retargeter::new(model, &m, options).expect("retargeter builds")
}

/// Every solution of a run over `frames`.
fn run(r: &mut Retargeter, frames: &[(Joints, Matrix3<f64>)]) -> Vec<Solution> {
    let mut s = r.new_solution();
    frames
        .iter()
        .map(|(j, w)| {
            r.solve(j, w, &mut s);
            s.clone()
        })
        .collect()
}

/// numpy's default (linear) percentile.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let x = p / 100.0 * (v.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    if i + 1 < v.len() {
        v[i] * (1.0 - f) + v[i + 1] * f
    } else {
        v[i]
    }
}

fn fit_mm(solutions: &[Solution]) -> Vec<f64> {
    solutions
        .iter()
        .flat_map(|s| s.fit_error_m.iter().map(|e| e * 1e3))
        .collect()
}

/// Same objective as dex-retargeting's vector mode (no pinch term), same frames, same scale.
fn fit_against_dex(scale: f64, dex_key: &str) {
    let model = allegro();
    let options = Options {
        pinch: false,
        ..Options::default()
    };
    let mut r = retargeter(&model, scale, options);
    let errors = fit_mm(&run(&mut r, &frames().clean));
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let p99 = percentile(&errors, 99.0);
    let d = dex();
    let dex_mean = d[dex_key]["tip_vector_error_mm_raw"]["mean"]
        .as_f64()
        .expect("mean");
    let dex_p99 = d[dex_key]["tip_vector_error_mm_raw"]["p99"]
        .as_f64()
        .expect("p99");
    eprintln!(
        "scale {scale}: fit mean {mean:.3} mm p99 {p99:.3} mm; dex {dex_mean:.3} / {dex_p99:.3}"
    );
    assert_eq!(errors.len(), 2000, "4 vectors × 500 frames");
    assert!(
        mean <= dex_mean,
        "mean fit {mean:.3} mm > dex-retargeting's {dex_mean:.3} mm"
    );
    assert!(
        p99 <= dex_p99 + 0.5,
        "p99 fit {p99:.3} mm > dex-retargeting's {dex_p99:.3} + 0.5 mm"
    );
}

#[test]
fn hands_fit_at_scale_1_6_matches_dex_retargeting() {
    fit_against_dex(1.6, "vector");
}

#[test]
fn hands_fit_at_scale_1_25_matches_dex_retargeting() {
    fit_against_dex(1.25, "vector_scale_1.25");
}

/// Joint limits (mimic joints' included) and velocity × dt, checked on every joint's position
/// as the model computes it (mimic = m · leader + o).
fn check_limits_and_steps(model: &Model, solutions: &[Solution], dt: f64) -> (usize, usize) {
    let mut positions = vec![0.0; model.joints.len()];
    let mut previous: Option<Vec<f64>> = None;
    let (mut limit_violations, mut step_violations) = (0, 0);
    for s in solutions {
        assert!(s.q.iter().all(|v| v.is_finite()), "q is finite");
        model.joint_positions(&s.q, &mut positions);
        for (joint, &x) in model.joints.iter().zip(&positions) {
            if let Some((lo, hi)) = joint.limits.position
                && (x < lo || x > hi)
            {
                limit_violations += 1;
            }
        }
        if let Some(prev) = &previous {
            for ((joint, &x), &p) in model.joints.iter().zip(&positions).zip(prev) {
                if let Some(v) = joint.limits.velocity
                    && (x - p).abs() > v * dt
                {
                    step_violations += 1;
                }
            }
        }
        previous = Some(positions.clone());
    }
    (limit_violations, step_violations)
}

#[test]
fn hands_no_limit_or_velocity_violation_clean_and_noisy() {
    let model = allegro();
    for scale in [1.25, 1.6] {
        for (label, frames) in [("clean", &frames().clean), ("noisy", &frames().noisy)] {
            let mut r = retargeter(&model, scale, Options::default());
            let solutions = run(&mut r, frames);
            let (limits, steps) = check_limits_and_steps(&model, &solutions, 1.0 / 90.0);
            assert_eq!(limits, 0, "{label} scale {scale}: joint-limit violations");
            assert_eq!(
                steps, 0,
                "{label} scale {scale}: steps over the URDF velocity"
            );
            // Failable: the hand does reach its limits and its velocity limit.
            let touches = solutions.iter().any(|s| {
                s.q.iter()
                    .enumerate()
                    .any(|(v, &x)| x == r.bounds(v).0 || x == r.bounds(v).1)
            });
            assert!(touches, "{label} scale {scale}: no joint ever at a limit");
        }
    }
}

/// The Allegro with joint_3.0 and joint_7.0 (distal) turned into mimics of joint_2.0 / joint_6.0
/// whose own limits are tighter than their leader's range maps to.
fn allegro_with_mimics() -> Model {
    let text = std::fs::read_to_string(urdf_path()).expect("urdf");
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        for (joint, leader) in [("joint_3.0", "joint_2.0"), ("joint_7.0", "joint_6.0")] {
            if line.contains(&format!("<joint name=\"{joint}\" type=\"revolute\">")) {
                out.push_str(&format!(
                    "    <mimic joint=\"{leader}\" multiplier=\"1.3\" offset=\"-0.1\"/>\n"
                ));
            }
        }
    }
    let path = urdf_path();
    Model::from_urdf_str(
        &out,
        &path,
        path.parent().expect("dir"),
        &LoadOptions::default(),
    )
    .expect("mimic Allegro loads")
}

#[test]
fn hands_mimic_limits_bound_their_leader() {
    let model = allegro_with_mimics();
    assert_eq!(model.dof(), 14, "two joints became mimics");
    let leader = model.joint_id("joint_2.0").expect("joint_2.0");
    let var = model.dof_of_joint[leader].expect("independent");
    for (label, frames) in [("clean", &frames().clean), ("noisy", &frames().noisy)] {
        let mut r = retargeter(&model, 1.25, Options::default());
        // joint_3.0 ≤ 1.618 ⇒ joint_2.0 ≤ (1.618 + 0.1) / 1.3 = 1.3215, below its own 1.709.
        assert!(
            (r.bounds(var).1 - 1.718 / 1.3).abs() < 1e-9,
            "leader bound from the mimic"
        );
        let solutions = run(&mut r, frames);
        let (limits, steps) = check_limits_and_steps(&model, &solutions, 1.0 / 90.0);
        assert_eq!(limits, 0, "{label}: limit violations with mimic joints");
        assert_eq!(steps, 0, "{label}: velocity violations with mimic joints");
        let max = solutions.iter().map(|s| s.q[var]).fold(f64::MIN, f64::max);
        assert!(
            max > 1.2,
            "{label}: the leader goes near its mimic-bounded limit ({max})"
        );
    }
}

/// Robot tip-to-tip distances (m) for the pinch pairs thumb–index, thumb–middle, thumb–ring.
fn robot_gaps(model: &Model, q: &[f64]) -> [f64; 3] {
    let tip = |link: &str| {
        let c = Chain::new(model, "palm_link", link).expect("chain");
        let qc: Vec<f64> = c.model_vars().iter().map(|&v| q[v]).collect();
        c.forward(&qc).translation.vector
    };
    let thumb = tip("link_15.0_tip");
    ["link_3.0_tip", "link_7.0_tip", "link_11.0_tip"].map(|l| (tip(l) - thumb).norm())
}

fn human_gaps(joints: &Joints) -> [f64; 3] {
    let p = |i: usize| joints[i].expect("tracked");
    [10, 15, 20].map(|i| (p(i) - p(5)).norm())
}

#[test]
fn hands_pinch_closes_and_never_falsely() {
    let model = allegro();
    for scale in [1.25, 1.6] {
        for (label, frames) in [("clean", &frames().clean), ("noisy", &frames().noisy)] {
            let mut r = retargeter(&model, scale, Options::default());
            let solutions = run(&mut r, frames);
            let (mut pinched, mut worst_close, mut worst_open) = (0, 0.0f64, f64::INFINITY);
            for ((joints, _), s) in frames.iter().zip(&solutions) {
                let (h, rb) = (human_gaps(joints), robot_gaps(&model, &s.q));
                for k in 0..3 {
                    if h[k] < 0.02 {
                        pinched += 1;
                        worst_close = worst_close.max(rb[k]);
                    }
                    if h[k] > 0.05 {
                        worst_open = worst_open.min(rb[k]);
                    }
                }
            }
            eprintln!(
                "pinch {label} scale {scale}: {pinched} pinch samples, robot gap max {:.2} mm; \
                 open: robot gap min {:.2} mm",
                worst_close * 1e3,
                worst_open * 1e3
            );
            assert!(pinched >= 60, "{label}: the frames pinch ({pinched})");
            assert!(
                worst_close <= 0.003,
                "{label} scale {scale}: robot gap {worst_close} m while pinching"
            );
            assert!(
                worst_open >= 0.010,
                "{label} scale {scale}: false pinch, robot gap {worst_open} m"
            );
        }
    }
}

#[test]
fn hands_untracked_or_nan_holds_the_last_posture() {
    let model = allegro();
    let mut r = retargeter(&model, 1.25, Options::default());
    let mut s = r.new_solution();
    let f = &frames().clean;
    for (j, w) in &f[..100] {
        r.solve(j, w, &mut s);
    }
    let held = s.q.clone();
    let mut untracked = f[100].0;
    untracked[10] = None;
    let mut nan = f[101].0;
    nan[5] = Some(Vector3::new(f64::NAN, 0.0, 0.0));
    let bad_wrist = Matrix3::from_element(f64::INFINITY);
    for (j, w) in [
        (&untracked, &f[100].1),
        (&nan, &f[101].1),
        (&f[102].0, &bad_wrist),
    ] {
        r.solve(j, w, &mut s);
        assert_eq!(s.status, Status::Held);
        assert_eq!(s.q, held, "bit-identical hold");
    }
    // A joint no fingertip uses (the palm) may be missing.
    let mut no_palm = f[103].0;
    no_palm[0] = None;
    r.solve(&no_palm, &f[103].1, &mut s);
    assert_eq!(s.status, Status::Solved);
    assert!(s.q.iter().all(|v| v.is_finite()));
    // Resuming after a hold is still rate limited from the held posture.
    for (v, (&a, &b)) in s.q.iter().zip(&held).enumerate() {
        assert!((a - b).abs() <= 7.0 / 90.0, "joint {v} jumped after a hold");
    }
}

/// The model mirrored through its root's x–z plane: a left Allegro.
fn mirrored(model: &Model) -> Model {
    let s = Matrix3::from_diagonal(&Vector3::new(1.0, -1.0, 1.0));
    let mut m = model.clone();
    for joint in &mut m.joints {
        let r = s * joint.parent_from_joint.rotation.matrix() * s;
        joint.parent_from_joint.rotation = nalgebra::Rotation3::from_matrix_unchecked(r);
        joint.parent_from_joint.translation.vector = s * joint.parent_from_joint.translation.vector;
        joint.axis = nalgebra::Unit::new_normalize(-(s * joint.axis.into_inner()));
    }
    m
}

#[test]
fn hands_mirrored_left_hand_goes_through_the_same_code() {
    let right = allegro();
    let left = mirrored(&right);
    // The trainer's left hand: the right hand mirrored in world x; its OpenXR wrist frame keeps
    // the convention (+Z proximal, +Y dorsal, X = Y × Z), so X flips.
    let sw = Matrix3::from_diagonal(&Vector3::new(-1.0, 1.0, 1.0));
    let left_frames: Vec<(Joints, Matrix3<f64>)> = frames()
        .clean
        .iter()
        .map(|(j, w)| (j.map(|p| p.map(|p| sw * p)), sw * w * sw))
        .collect();
    let mut rr = retargeter(&right, 1.25, Options::default());
    let mut rl = retargeter(&left, 1.25, Options::default());
    let a = run(&mut rr, &frames().clean);
    let b = run(&mut rl, &left_frames);
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(&b) {
        for (p, q) in x.q.iter().zip(&y.q) {
            worst = worst.max((p - q).abs());
        }
    }
    assert!(
        worst < 1e-6,
        "left hand posture differs from the mirrored right's by {worst} rad"
    );
    // Failable: the left hand fed into the right robot does not fit.
    let mut wrong = retargeter(&right, 1.25, Options::default());
    let c = run(&mut wrong, &left_frames);
    let mean = |s: &[Solution]| fit_mm(s).iter().sum::<f64>() / 2000.0;
    assert!(
        mean(&c) > mean(&b) + 5.0,
        "a left hand on the right robot fits as well?"
    );
}

#[test]
fn hands_solve_allocates_nothing_and_is_deterministic() {
    let model = allegro();
    let mut r = retargeter(&model, 1.25, Options::default());
    let mut s = r.new_solution();
    let f = &frames().noisy;
    let mut sum = 0.0;
    let n = allocations_during(|| {
        for (j, w) in f {
            r.solve(j, w, &mut s);
            sum += s.q[3];
        }
    });
    assert_eq!(n, 0, "allocations in 500 solves");
    let mut again = retargeter(&model, 1.25, Options::default());
    let mut t = again.new_solution();
    let mut sum2 = 0.0;
    for (j, w) in f {
        again.solve(j, w, &mut t);
        sum2 += t.q[3];
    }
    assert_eq!(s.q, t.q, "bit-identical across runs");
    assert_eq!(sum.to_bits(), sum2.to_bits());
}

#[test]
fn hands_fingers_without_shared_joints_are_separate_problems() {
    let model = allegro();
    let off = Options {
        pinch: false,
        ..Options::default()
    };
    assert_eq!(retargeter(&model, 1.25, off).group_count(), 4);
    // Pinch pairs couple the thumb with the fingers.
    assert_eq!(
        retargeter(&model, 1.25, Options::default()).group_count(),
        1
    );
}

#[test]
fn hands_mapping_rejects_unknown_keys_and_bad_joints() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/hands/allegro_right.toml"))
        .expect("mapping");
    let bad = text.replace(
        "scale = { fixed = 1.25 }",
        "scale = { fixed = 1.25 }\nscaling = 2",
    );
    let e = HandMapping::from_toml_str(&bad).expect_err("unknown key");
    assert!(e.to_string().contains("scaling"), "{e}");
    let mut m = mapping();
    m.joints = vec!["joint_3.0_tip".into()];
    let e = Retargeter::new(&allegro(), &m, Options::default()).expect_err("fixed joint");
    assert!(e.to_string().contains("joint_3.0_tip"), "{e}");
    let mut m = mapping();
    m.root_from_wrist = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]];
    assert!(
        Retargeter::new(&allegro(), &m, Options::default()).is_err(),
        "reflection"
    );
    let mut m = mapping();
    m.fingertips[0].tip.link = "nope".into();
    assert!(Retargeter::new(&allegro(), &m, Options::default()).is_err());
}

#[test]
fn hands_driven_joints_subset_holds_the_others() {
    let model = allegro();
    let mut m = mapping();
    m.joints = ["joint_0.0", "joint_1.0", "joint_2.0", "joint_3.0"]
        .map(String::from)
        .to_vec();
    let mut r = Retargeter::new(&model, &m, Options::default()).expect("builds");
    let solutions = run(&mut r, &frames().clean[..50]);
    let index_vars: Vec<usize> = m
        .joints
        .iter()
        .map(|n| model.dof_of_joint[model.joint_id(n).expect("joint")].expect("dof"))
        .collect();
    for s in &solutions {
        for v in 0..model.dof() {
            if !index_vars.contains(&v) {
                assert_eq!(
                    s.q[v],
                    r.bounds(v).0.max(0.0).min(r.bounds(v).1),
                    "undriven joint moved"
                );
            }
        }
    }
    assert!(
        solutions.iter().any(|s| s.q[index_vars[1]] > 0.1),
        "the index moves"
    );
}

#[test]
fn hands_calibrated_scale_from_an_open_hand() {
    let model = allegro();
    let mut m = mapping();
    m.scale = Scale::Calibrate;
    let mut r = Retargeter::new(&model, &m, Options::default()).expect("builds");
    assert!(r.needs_calibration());
    // The most open frame: largest summed wrist → tip length.
    let f = &frames().clean;
    let open = f
        .iter()
        .max_by(|a, b| {
            let len = |j: &Joints| {
                [5, 10, 15, 20]
                    .iter()
                    .map(|&i| (j[i].unwrap() - j[1].unwrap()).norm())
                    .sum::<f64>()
            };
            len(&a.0).total_cmp(&len(&b.0))
        })
        .expect("frames");
    let s = r.calibrate_scale(&open.0, &open.1).expect("calibrates");
    // The Allegro's wrist → middle tip (0.231 m) over the synthetic hand's (0.193 m): ≈ 1.2.
    assert!((1.1..1.4).contains(&s), "calibrated scale {s}");
    assert_eq!(r.scale(), s);
    let mut missing = open.0;
    missing[1] = None;
    assert_eq!(r.calibrate_scale(&missing, &open.1), None);
}

#[test]
fn hands_json_line_in_and_out() {
    let model = allegro();
    let mut r = retargeter(&model, 1.25, Options::default());
    let mut s = r.new_solution();
    let (j, w) = &frames().clean[10];
    let joints: Vec<[f64; 3]> = j.iter().map(|p| p.expect("tracked").into()).collect();
    let rows: Vec<[f64; 3]> = (0..3).map(|i| [w[(i, 0)], w[(i, 1)], w[(i, 2)]]).collect();
    let line = serde_json::json!({"joints": joints, "wrist_R": rows}).to_string();
    let out = process_line(&model, &mut r, &mut s, &line).expect("solves");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json out");
    assert_eq!(v["q"].as_object().expect("q").len(), 16);
    assert!(v["q"]["joint_13.0"].as_f64().is_some());
    assert_eq!(v["fit_error_m"].as_array().expect("fit").len(), 4);
    assert!(v["micros"].as_f64().expect("micros") >= 0.0);
    assert_eq!(v["held"], false);
    // An untracked joint: null in, held out.
    let mut joints: Vec<Option<[f64; 3]>> = joints.into_iter().map(Some).collect();
    joints[5] = None;
    let line = serde_json::json!({"joints": joints, "wrist_R": rows}).to_string();
    let out = process_line(&model, &mut r, &mut s, &line).expect("solves");
    assert!(out.contains("\"held\":true"), "{out}");
    // Malformed lines are errors, not panics.
    assert!(process_line(&model, &mut r, &mut s, "{\"joints\": []}").is_err());
    assert!(
        process_line(
            &model,
            &mut r,
            &mut s,
            "{\"joints\": [], \"wrist_R\": [[1,0,0],[0,1,0],[0,0,1]], \"x\": 1}"
        )
        .is_err()
    );
}
