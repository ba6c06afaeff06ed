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

// ---- Hand mappings in robot profiles, `teleop kin hand`, fingers in the control loop ----

use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use teleop_bridge::config::Profile;
use teleop_bridge::control::Pipeline;
use teleop_bridge::msg::{HandInput, HandJoints, OperatorFrame, RobotState, TickSample};

fn load_profile(relative: &str) -> (Profile, Model) {
    Profile::load(&root().join(relative)).unwrap_or_else(|e| panic!("{e}"))
}

/// A frame's joints as the XR source gives them: poses in the stage, the wrist's orientation
/// set (the retargeter reads only positions and the wrist's axes).
fn hand_joints(joints: &Joints, wrist: &Matrix3<f64>) -> HandJoints {
    let rotation = UnitQuaternion::from_matrix(wrist);
    let mut out = [None; XR_JOINTS];
    for (i, (o, p)) in out.iter_mut().zip(joints).enumerate() {
        *o = p.map(|p| {
            let r = if i == 1 {
                rotation
            } else {
                UnitQuaternion::identity()
            };
            Isometry3::from_parts(Translation3::from(p), r)
        });
    }
    out
}

/// The trainer's left hand: the right mirrored in world x (the wrist frame keeps OpenXR's
/// convention, so its X flips).
fn mirror(joints: &Joints, wrist: &Matrix3<f64>) -> (Joints, Matrix3<f64>) {
    let s = Matrix3::from_diagonal(&Vector3::new(-1.0, 1.0, 1.0));
    (joints.map(|p| p.map(|p| s * p)), s * wrist * s)
}

#[test]
fn hands_profile_allegro_is_the_fixture_mapping() {
    let (profile, _) = load_profile("profiles/allegro_right.toml");
    assert_eq!(profile.hands.right.as_ref(), Some(&mapping()));
    assert!(profile.hands.left.is_none());
    assert!(profile.end_effectors.is_empty());
}

#[test]
fn hands_profile_g1_maps_both_dex3_hands() {
    let (profile, model) = load_profile("profiles/unitree_g1.toml");
    for (mapping, side) in [
        (&profile.hands.left, "left"),
        (&profile.hands.right, "right"),
    ] {
        let mapping = mapping.as_ref().expect("a Dex3 mapping");
        let r = Retargeter::new(&model, mapping, Options::default()).expect("builds");
        let driven: Vec<&str> = (0..model.dof())
            .filter(|&v| r.is_driven(v))
            .map(|v| model.joints[model.dofs[v]].name.as_str())
            .collect();
        assert_eq!(driven.len(), 7, "{side}: {driven:?}");
        assert!(
            driven
                .iter()
                .all(|n| n.starts_with(&format!("{side}_hand_"))),
            "{side}: only its fingers, never the arm: {driven:?}"
        );
    }
}

#[test]
fn hands_profile_errors_name_the_key() {
    let path = root().join("profiles/unitree_g1.toml");
    let text = std::fs::read_to_string(&path).expect("profile");
    let (_, model) = load_profile("profiles/unitree_g1.toml");
    let cases = [
        (
            text.replace("right_hand_thumb_2_link\", offset", "no_such_link\", offset"),
            "hands.right.fingertips[0].tip.link",
        ),
        (
            text.replace(
                "left_hand_index_0_joint = -1.57,",
                "left_hand_index_0_joint = 1.57,",
            ),
            "hands.left.closed.left_hand_index_0_joint",
        ),
        (
            text.replace(
                "open = { left_hand_index_0_joint = -0.6",
                "open = { left_hand_index_0_joint = 0.6",
            ),
            "hands.left.open.left_hand_index_0_joint",
        ),
        (
            text.replace(
                "[[0, 0, -1], [0, 1, 0], [1, 0, 0]]",
                "[[0, 0, -1], [0, 1, 0], [-1, 0, 0]]",
            ),
            "hands.left.root_from_wrist",
        ),
        (
            text.replace("root = \"right_hand_palm_link\"", "root = \"torso_link\""),
            "hands.right.root",
        ),
        (
            text.replace(
                "pinch = [{ thumb = \"thumb\", finger = \"index\" }, { thumb = \"thumb\", finger = \"middle\" }]\n# With",
                "pinch = [{ thumb = \"thumb\", finger = \"ring\" }]\n# With",
            ),
            "hands.right.pinch[0].finger",
        ),
        (
            text.replace("scale = { fixed = 1.1 }\nfingertips = [\n    { name = \"thumb\", tip = { link = \"left", "scale = { fixed = 0 }\nfingertips = [\n    { name = \"thumb\", tip = { link = \"left"),
            "hands.left.scale",
        ),
        (
            text.replace("[hands.left]\n", "[hands.left]\nscaling = 2\n"),
            "scaling",
        ),
    ];
    for (bad, key) in cases {
        assert_ne!(bad, text, "the case for {key} changed nothing");
        let e = Profile::parse(&bad, &path)
            .and_then(|p| p.check(&model, &path))
            .expect_err(key);
        let message = e.to_string();
        assert!(message.contains(key), "'{message}' should name {key}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}

#[test]
fn hands_inspire_like_mimics_follow_within_their_limits() {
    let (profile, model) = load_profile("tests/fixtures/hands/inspire_like.toml");
    let mapping = profile.hands.right.as_ref().expect("mapping");
    let mut r = Retargeter::new(&model, mapping, Options::default()).expect("builds");
    assert_eq!((0..model.dof()).filter(|&v| r.is_driven(v)).count(), 6);
    let mut s = r.new_solution();
    let mut positions = vec![0.0; model.joints.len()];
    let (mut pitch_max, mut moved) = (0.0f64, 0.0f64);
    for (j, w) in &frames().clean {
        r.solve(j, w, &mut s);
        assert_eq!(s.status, Status::Solved);
        model.joint_positions(&s.q, &mut positions);
        for (joint, &value) in model.joints.iter().zip(&positions) {
            if let Some((lo, hi)) = joint.limits.position {
                assert!(
                    value >= lo && value <= hi,
                    "{} = {value} outside [{lo}, {hi}]",
                    joint.name
                );
            }
            if let Some(m) = joint.mimic {
                let leader = positions[m.leader];
                assert!((value - (m.multiplier * leader + m.offset)).abs() <= 1e-12);
            }
        }
        let pitch = model.joint_id("thumb_proximal_pitch_joint").expect("pitch");
        pitch_max = pitch_max.max(positions[pitch]);
        let index = model.joint_id("index_proximal_joint").expect("index");
        moved = moved.max(positions[index]);
    }
    // The thumb distal's limit (1.0 = 2.4 × pitch) bounds pitch below its own 0.5, and the fit
    // presses against it.
    assert!(
        pitch_max <= 1.0 / 2.4 && pitch_max > 0.41,
        "pitch reached {pitch_max}"
    );
    assert!(moved > 0.5, "the index never curled: {moved}");
}

fn teleop_with(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("teleop runs");
    let mut input = child.stdin.take().expect("stdin");
    // A command that fails early closes its stdin: ignore the broken pipe.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("teleop finishes")
}

fn json_line(joints: &Joints, wrist: &Matrix3<f64>) -> String {
    let joints: Vec<Option<[f64; 3]>> = joints.iter().map(|p| p.map(Into::into)).collect();
    let rows: Vec<[f64; 3]> = (0..3)
        .map(|i| [wrist[(i, 0)], wrist[(i, 1)], wrist[(i, 2)]])
        .collect();
    serde_json::json!({"joints": joints, "wrist_R": rows}).to_string()
}

#[test]
fn hands_kin_hand_answers_each_line_as_the_library_does() {
    let frames = &frames().clean[..60];
    let mut input = String::new();
    for (j, w) in frames {
        input.push_str(&json_line(j, w));
        input.push('\n');
    }
    // The wrist from OpenXR orientations (x, y, z, w) instead of wrist_R.
    let (j, w) = &frames[59];
    let q = UnitQuaternion::from_matrix(w);
    let mut orientations = vec![serde_json::Value::Null; XR_JOINTS];
    orientations[1] = serde_json::json!([q.i, q.j, q.k, q.w]);
    let joints: Vec<[f64; 3]> = j.iter().map(|p| p.expect("tracked").into()).collect();
    input
        .push_str(&serde_json::json!({"joints": joints, "orientations": orientations}).to_string());
    input.push('\n');
    let out = teleop_with(
        &[
            "kin",
            "hand",
            "profiles/allegro_right.toml",
            "--side",
            "right",
        ],
        &input,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 61);

    let (profile, model) = load_profile("profiles/allegro_right.toml");
    let mut r = Retargeter::new(
        &model,
        profile.hands.right.as_ref().expect("mapping"),
        Options::default(),
    )
    .expect("builds");
    r.reset_to(&profile.start_posture(&model));
    let mut s = r.new_solution();
    let mut positions = vec![0.0; model.joints.len()];
    for (k, (line, (j, w))) in lines
        .iter()
        .zip(frames.iter().chain([&frames[59]]))
        .enumerate()
    {
        r.solve(j, w, &mut s);
        model.joint_positions(&s.q, &mut positions);
        let q = line["q"].as_object().expect("q by joint name");
        assert_eq!(q.len(), 16);
        for (joint, &value) in model.joints.iter().zip(&positions) {
            if joint.kind.is_movable() {
                let got = q[&joint.name].as_f64().expect("a number");
                // The orientation quaternion rounds the wrist's axes.
                let tolerance = if k == 60 { 1e-6 } else { 0.0 };
                assert!((got - value).abs() <= tolerance, "line {k}: {}", joint.name);
            }
        }
        let fit = line["fit_error_m"].as_array().expect("fit");
        assert_eq!(fit.len(), 4);
        for (got, want) in fit.iter().zip(&s.fit_error_m) {
            let got = got.as_f64().expect("a number");
            assert!((got - want).abs() <= 1e-6, "line {k}: fit {got} vs {want}");
        }
        assert_eq!(line["held"], false);
        assert!(line["micros"].as_f64().is_some_and(|m| m >= 0.0));
    }
}

#[test]
fn hands_kin_hand_bad_input_is_one_error_line() {
    let (j, w) = &frames().clean[0];
    let good = json_line(j, w);
    let allegro = "profiles/allegro_right.toml";
    let cases: Vec<(Vec<&str>, String, &str)> = vec![
        (
            vec!["kin", "hand", allegro, "--side", "right"],
            format!("{good}\nnot json\n"),
            "stdin line 2",
        ),
        (
            vec!["kin", "hand", allegro, "--side", "right"],
            "{\"joints\": [[0, 0, 0]], \"wrist_R\": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}\n".into(),
            "26",
        ),
        (
            vec!["kin", "hand", allegro, "--side", "right"],
            format!("{}\n", good.replace("\"wrist_R\"", "\"wrist\"")),
            "stdin line 1",
        ),
        (
            vec!["kin", "hand", allegro, "--side", "right"],
            "{\"joints\": [[1e999, 0, 0]]}\n".into(),
            "stdin line 1",
        ),
        (
            vec!["kin", "hand", allegro, "--side", "left"],
            String::new(),
            "hands.left",
        ),
        (
            vec![
                "kin",
                "hand",
                "profiles/teleop_humanoid.toml",
                "--side",
                "right",
            ],
            String::new(),
            "hands.right",
        ),
        (
            vec!["kin", "hand", allegro, "--side", "right", "--rate-hz", "0"],
            String::new(),
            "--rate-hz",
        ),
    ];
    for (args, input, says) in cases {
        let out = teleop_with(&args, &input);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.trim_end().lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(
            err.contains(says),
            "{args:?}: '{err}' should mention {says}"
        );
    }
    // A joint untracked is no error: the hand holds.
    let mut untracked = *j;
    untracked[10] = None;
    let out = teleop_with(
        &["kin", "hand", allegro, "--side", "right"],
        &format!("{good}\n{}\n", json_line(&untracked, w)),
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().nth(1).expect("two answers");
    assert!(last.contains("\"held\":true"), "{last}");
}

const TICK_NS: u64 = 2_000_000;

/// A G1 operator frame: both controllers still at a fixed grip with the clutch held, each hand's
/// tracked joints (if any) and trigger.
fn g1_frame(
    time_ns: u64,
    left: Option<HandJoints>,
    right: Option<HandJoints>,
    trigger: f64,
) -> OperatorFrame {
    let hand = |x: f64, joints| HandInput {
        grip: Some(Isometry3::translation(x, 1.1, -0.3)),
        squeeze: 1.0,
        trigger,
        joints,
        ..HandInput::IDLE
    };
    OperatorFrame {
        time_ns,
        head: None,
        left: hand(-0.2, left),
        right: hand(0.2, right),
    }
}

struct G1Fingers {
    model: Model,
    pipeline: Pipeline,
    clock: u64,
    /// Per side: (var, name without the side prefix).
    left: Vec<(usize, String)>,
    right: Vec<(usize, String)>,
}

impl G1Fingers {
    fn new() -> G1Fingers {
        let (profile, model) = load_profile("profiles/unitree_g1.toml");
        let q = profile.start_posture(&model);
        let pipeline = Pipeline::new(&model, &profile, &q, 0.1).unwrap_or_else(|e| panic!("{e}"));
        let side = |prefix: &str| -> Vec<(usize, String)> {
            model
                .dof_names()
                .enumerate()
                .filter_map(|(v, n)| n.strip_prefix(prefix).map(|rest| (v, rest.to_owned())))
                .filter(|(_, n)| n.starts_with("hand_"))
                .collect()
        };
        let (left, right) = (side("left_"), side("right_"));
        assert_eq!((left.len(), right.len()), (7, 7));
        G1Fingers {
            model,
            pipeline,
            clock: 0,
            left,
            right,
        }
    }

    /// Ticks `seconds` at 500 Hz with `frame`, checking every finger command against the URDF.
    fn run(&mut self, seconds: f64, frame: impl Fn(u64) -> OperatorFrame) {
        for _ in 0..(seconds * 500.0).round() as usize {
            self.clock += TICK_NS;
            let f = frame(self.clock);
            self.pipeline.tick(Some(&f), self.clock);
            for &(v, _) in self.left.iter().chain(&self.right) {
                let q = self.pipeline.command()[v];
                let joint = &self.model.joints[self.model.dofs[v]];
                let (lo, hi) = joint.limits.position.expect("limited");
                assert!(q.is_finite() && q >= lo && q <= hi, "{} = {q}", joint.name);
            }
        }
    }

    fn fingers(&self, side: &[(usize, String)]) -> Vec<f64> {
        side.iter()
            .map(|&(v, _)| self.pipeline.command()[v])
            .collect()
    }
}

#[test]
fn hands_pipeline_tracked_hands_move_the_fingers_mirrored() {
    let mut g1 = G1Fingers::new();
    let start = g1.fingers(&g1.right);
    let frames = &frames().clean;
    let mut moved = vec![0.0f64; 7];
    // 90 Hz tracking into the 500 Hz loop: each frame for 6 ticks.
    for (k, (j, w)) in frames[..180].iter().enumerate() {
        let (lj, lw) = mirror(j, w);
        let (left, right) = (hand_joints(&lj, &lw), hand_joints(j, w));
        g1.run(1.0 / 90.0, |t| g1_frame(t, Some(left), Some(right), 0.0));
        let right_now = g1.fingers(&g1.right);
        for (m, (a, b)) in moved.iter_mut().zip(right_now.iter().zip(&start)) {
            *m = m.max((a - b).abs());
        }
        // The same code, mirrored: joints about Z turn the other way, thumb_0 (about Y) the same.
        for (&(lv, ref ln), &(rv, ref rn)) in g1.left.iter().zip(&g1.right) {
            assert_eq!(ln, rn);
            let sign = if ln == "hand_thumb_0_joint" {
                1.0
            } else {
                -1.0
            };
            let (l, r) = (g1.pipeline.command()[lv], g1.pipeline.command()[rv]);
            assert!(
                (l - sign * r).abs() < 1e-6,
                "frame {k}: {ln}: left {l}, right {r}"
            );
        }
    }
    let curled = moved.iter().filter(|&&m| m > 0.3).count();
    assert!(curled >= 4, "finger joints barely moved: {moved:?}");
    // The recorder's sample carries the finger commands like every other joint's.
    let (dof, links) = (g1.model.dof(), g1.model.links.len());
    let mut sample = TickSample::new(dof, 2, links, Vec::new());
    let state = RobotState::zeros(dof, links, 0);
    g1.clock += TICK_NS;
    let report = g1.pipeline.tick(None, g1.clock);
    g1.pipeline
        .fill_sample(g1.clock, None, &report, &state, &mut sample);
    assert_eq!(sample.command_positions, g1.pipeline.command());
    assert!(
        g1.right
            .iter()
            .any(|&(v, _)| sample.command_positions[v].abs() > 0.3)
    );
}

#[test]
fn hands_pipeline_nan_or_lost_tracking_holds_the_fingers() {
    let mut g1 = G1Fingers::new();
    let (j, w) = &frames().clean[120];
    let right = hand_joints(j, w);
    g1.run(1.5, |t| g1_frame(t, None, Some(right), 0.0));
    let tracked = g1.fingers(&g1.right);
    assert!(tracked.iter().any(|q| q.abs() > 0.3), "{tracked:?}");
    let mut nan = right;
    nan[10] = Some(Isometry3::translation(f64::NAN, 0.0, 0.0));
    let mut lost = right;
    lost[5] = None;
    for bad in [nan, lost] {
        g1.run(0.5, |t| g1_frame(t, None, Some(bad), 0.0));
        let held = g1.fingers(&g1.right);
        for (a, b) in held.iter().zip(&tracked) {
            assert!(
                (a - b).abs() < 1e-3,
                "fingers moved on bad input: {held:?} vs {tracked:?}"
            );
        }
    }
    // Neither tracked fingers nor a controller: hold too (the trigger means nothing).
    g1.run(0.5, |t| {
        let mut f = g1_frame(t, None, None, 1.0);
        f.right.grip = None;
        f
    });
    let held = g1.fingers(&g1.right);
    for (a, b) in held.iter().zip(&tracked) {
        assert!((a - b).abs() < 1e-3, "{held:?} vs {tracked:?}");
    }
}

#[test]
fn hands_pipeline_controller_trigger_closes_the_grasp_synergy() {
    let mut g1 = G1Fingers::new();
    let (profile, _) = load_profile("profiles/unitree_g1.toml");
    let mapping = profile.hands.right.as_ref().expect("mapping");
    let closed = &mapping.closed;
    // Released, each joint is at the mapping's `open` value, else the start posture.
    let open = |name: &str| {
        let name = format!("right_{name}");
        let rest = profile.rest.get(&name).copied().unwrap_or(0.0);
        mapping.open.get(&name).copied().unwrap_or(rest)
    };
    assert!(
        open("hand_index_0_joint") > 0.5,
        "G1's open hand is half curled"
    );
    g1.run(1.5, |t| g1_frame(t, None, None, 1.0));
    for &(v, ref name) in &g1.right {
        let q = g1.pipeline.command()[v];
        let want = closed
            .get(&format!("right_{name}"))
            .copied()
            .unwrap_or(open(name));
        assert!((q - want).abs() < 1e-3, "{name}: {q}, closed {want}");
    }
    g1.run(1.5, |t| g1_frame(t, None, None, 0.0));
    for &(v, ref name) in &g1.right {
        let q = g1.pipeline.command()[v];
        assert!(
            (q - open(name)).abs() < 1e-3,
            "{name}: {q}, open {}",
            open(name)
        );
    }
}

#[test]
fn hands_pipeline_tick_with_tracked_fingers_allocates_nothing() {
    let mut g1 = G1Fingers::new();
    let frames = &frames().clean;
    let at = |k: usize| {
        let (j, w) = &frames[k];
        let (lj, lw) = mirror(j, w);
        (hand_joints(&lj, &lw), hand_joints(j, w))
    };
    let (l, r) = at(0);
    g1.run(0.1, |t| g1_frame(t, Some(l), Some(r), 0.0));
    for k in 1..40 {
        let (l, r) = at(k);
        g1.clock += TICK_NS;
        let f = g1_frame(g1.clock, Some(l), Some(r), 0.0);
        let n = allocations_during(|| {
            g1.pipeline.tick(Some(&f), g1.clock);
        });
        assert_eq!(n, 0, "tick {k} allocated");
    }
}

#[test]
fn hands_g1_dex3_fits_the_synthetic_hand_both_sides_alike() {
    let (profile, model) = load_profile("profiles/unitree_g1.toml");
    let left_frames: Vec<(Joints, Matrix3<f64>)> =
        frames().clean.iter().map(|(j, w)| mirror(j, w)).collect();
    let mut means = Vec::new();
    for pinch in [false, true] {
        let options = Options {
            pinch,
            ..Options::default()
        };
        let mut sides = Vec::new();
        for (mapping, frames) in [
            (&profile.hands.right, &frames().clean),
            (&profile.hands.left, &left_frames),
        ] {
            let mapping = mapping.as_ref().expect("mapping");
            let mut r = Retargeter::new(&model, mapping, options.clone()).expect("builds");
            let solutions = run(&mut r, frames);
            let (limits, steps) = check_limits_and_steps(&model, &solutions, 1.0 / 90.0);
            assert_eq!((limits, steps), (0, 0), "limit and velocity violations");
            let fit = fit_mm(&solutions);
            sides.push(fit.iter().sum::<f64>() / fit.len() as f64);
        }
        assert!(
            (sides[0] - sides[1]).abs() < 1e-6,
            "pinch {pinch}: left {} vs right {}",
            sides[1],
            sides[0]
        );
        means.push(sides[0]);
    }
    // Measured 9.3 mm without the pinch term (xr_teleoperate's Dex3 vector retargeting: 12.7 mm
    // on these frames in Unitree's own axes), 11.8 mm with it (it closes tips the vectors keep
    // apart).
    assert!(means[0] < 10.0, "Dex3 mean fit {} mm", means[0]);
    assert!(means[1] < 12.5, "Dex3 mean fit with pinch {} mm", means[1]);
}

#[test]
fn hands_hand_only_profile_is_refused_by_a_session_in_one_line() {
    let (profile, model) = load_profile("profiles/allegro_right.toml");
    let q = profile.start_posture(&model);
    let e = Pipeline::new(&model, &profile, &q, 0.1)
        .err()
        .expect("no end-effector to clutch");
    assert!(e.to_string().contains("end_effector"), "{e}");
}

/// The humanoid's three-finger hands follow the scripted trainer's tracked hand: open, no
/// finger curls; closed, index and middle curl and the pinch brings the thumb onto
/// their tips (the trainer's thumb is under 2 cm from them: the robot's within 3 mm, across the
/// plane the fingers curl in); the right
/// hand, the left's mirror image, moves its joints exactly as the left.
#[test]
fn hands_humanoid_hand_opens_and_closes_with_a_tracked_hand() {
    use teleop_bridge::config::Hand;
    use teleop_bridge::kinematics::{Pose, Tree};
    use teleop_bridge::operator::tracked_hand;

    let (profile, model) = load_profile("profiles/teleop_humanoid_hands.toml");
    let tree = Tree::new(&model);
    let mut poses = vec![Pose::identity(); model.links.len()];
    let mut finals = Vec::new();
    for (side, mapping, prefix) in [
        (Hand::Left, &profile.hands.left, "left_"),
        (Hand::Right, &profile.hands.right, "right_"),
    ] {
        let mut r = Retargeter::new(
            &model,
            mapping.as_ref().expect("mapped"),
            Options::default(),
        )
        .expect("builds");
        r.reset_to(&vec![0.0; model.dof()]);
        let mut solution = r.new_solution();
        let finger = |q: &[f64], name: &str| {
            let joint = model.joint_id(&format!("{prefix}{name}")).expect("joint");
            q[model.dof_of_joint[joint].expect("an independent joint")]
        };
        let palm = Isometry3::translation(0.0, 1.0, -0.3);
        // Open for half a second, closing over one, closed for one (90 Hz).
        let grasp = |k: usize| ((k as f64 - 45.0) / 90.0).clamp(0.0, 1.0);
        for k in 0..225 {
            r.solve_hand_joints(&tracked_hand(&palm, side, grasp(k)), &mut solution);
            if k == 44 {
                for name in ["thumb", "index", "middle"] {
                    for joint in ["proximal_joint", "distal_joint"] {
                        // Not curled (a thumb held open may spread to its −0.2 rad limit).
                        let q = finger(&solution.q, &format!("{name}_{joint}"));
                        assert!(q < 0.1, "{prefix}{name}_{joint} open: {q}");
                    }
                }
            }
        }
        assert_eq!(solution.status, Status::Solved);
        for name in ["index", "middle"] {
            let curl = finger(&solution.q, &format!("{name}_proximal_joint"))
                + finger(&solution.q, &format!("{name}_distal_joint"));
            assert!(curl > 0.5, "{prefix}{name} closed: {curl}");
        }
        tree.forward(&solution.q, &mut poses);
        let hand_from_world =
            poses[model.link_id(&format!("{prefix}hand_link")).unwrap()].inverse();
        let tip = |name: &str| {
            let link = model.link_id(&format!("{prefix}{name}_tip_link")).unwrap();
            (hand_from_world * poses[link]).translation.vector
        };
        // The thumb stands between the two fingers along the palm's X (1.5 cm from each), so
        // the tips meet in the plane the fingers curl in (the palm's Y–Z).
        for name in ["index", "middle"] {
            let gap = (tip("thumb") - tip(name)).yz().norm();
            assert!(gap <= 0.003, "{prefix}thumb–{name}: {gap} m");
        }
        finals.push(
            ["thumb", "index", "middle"]
                .iter()
                .flat_map(|n| [format!("{n}_proximal_joint"), format!("{n}_distal_joint")])
                .map(|n| finger(&solution.q, &n))
                .collect::<Vec<f64>>(),
        );
    }
    // Mirrored inputs differ in their last bits, so the solves do too (by nanoradians).
    for (l, r) in finals[0].iter().zip(&finals[1]) {
        assert!(
            (l - r).abs() < 1e-6,
            "left {:?} right {:?}",
            finals[0],
            finals[1]
        );
    }
}
