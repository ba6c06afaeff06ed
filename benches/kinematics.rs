//! FK of the tip, and FK + Jacobian, for 7-DoF arms: ours against the `k` crate, same run.
//!
//! `cargo bench --bench kinematics` prints criterion's statistics, then a summary table
//! (median ns per call, and k's time over ours) for the README.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::Criterion;
use nalgebra::Matrix6xX;
use teleop_bridge::kinematics::Chain;
use teleop_bridge::model::Model;

struct Case {
    name: &'static str,
    ours: Chain,
    theirs: k::SerialChain<f64>,
    q: Vec<f64>,
}

/// The bundled robots (assets/robots), or the folder `TELEOP_ROBOTS_DIR` names.
fn robots_dir() -> PathBuf {
    std::env::var_os("TELEOP_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/robots"))
}

/// `first_joint` is where k's sub-chain starts (k chains are made of joint nodes).
fn case(name: &'static str, urdf: &str, base: &str, tip: &str, first_joint: &str) -> Case {
    let path = robots_dir().join(urdf);
    let model = Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let ours = Chain::new(&model, base, tip).unwrap_or_else(|e| panic!("{e}"));
    let tree = k::Chain::<f64>::from_urdf_file(&path).expect("k loads the URDF");
    let end = tree.find_link(tip).expect("k finds the tip");
    let root = tree.find(first_joint).expect("k finds the first joint");
    let theirs = k::SerialChain::from_end_to_root(end, root);
    // k's Jacobian reads the cached world pose of the sub-chain's parent.
    tree.update_transforms();
    assert_eq!(theirs.dof(), ours.dof(), "{name}: same DoF");
    let q: Vec<f64> = (0..ours.dof()).map(|i| 0.3 - 0.1 * i as f64).collect();
    // Same answer before racing: FK agrees with k.
    theirs.set_joint_positions_unchecked(&q);
    let k_pose = theirs.end_transform().to_homogeneous();
    let our_pose = ours.forward(&q).to_homogeneous();
    // k is on nalgebra 0.30, we are on 0.34: compare entries (both column-major).
    assert!(
        max_diff(k_pose.iter(), our_pose.iter()) < 1e-9,
        "{name}: FK differs from k"
    );
    let mut jacobian = Matrix6xX::zeros(ours.dof());
    ours.forward_with_jacobian(&q, &mut jacobian);
    // k's Jacobian takes joint positions in the URDF root's frame but the tip's in the
    // sub-chain's, so its linear rows are off for a chain not rooted at the URDF root (G1's
    // torso): compare all rows where the chain starts at the root, the angular rows elsewhere.
    let k_jacobian = k::jacobian(&theirs);
    assert_eq!(k_jacobian.ncols(), jacobian.ncols());
    let rows = if model.link_id(base) == Some(0) {
        0..6
    } else {
        3..6
    };
    for c in 0..jacobian.ncols() {
        for r in rows.clone() {
            let diff = (k_jacobian[(r, c)] - jacobian[(r, c)]).abs();
            assert!(
                diff < 1e-9,
                "{name}: Jacobian ({r},{c}) differs from k by {diff}"
            );
        }
    }
    Case {
        name,
        ours,
        theirs,
        q,
    }
}

fn max_diff<'a>(a: impl Iterator<Item = &'a f64>, b: impl Iterator<Item = &'a f64>) -> f64 {
    a.zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "panda",
            "panda/panda.urdf",
            "panda_link0",
            "panda_link8",
            "panda_joint1",
        ),
        case(
            "g1_left_arm",
            "unitree_g1/g1_29dof_with_hand_rev_1_0.urdf",
            "torso_link",
            "left_hand_palm_link",
            "left_shoulder_pitch_joint",
        ),
    ]
}

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.name);
        let mut jacobian = Matrix6xX::zeros(case.ours.dof());
        group.bench_function("ours/fk", |b| {
            b.iter(|| black_box(case.ours.forward(black_box(&case.q))))
        });
        group.bench_function("ours/fk+jacobian", |b| {
            b.iter(|| {
                black_box(
                    case.ours
                        .forward_with_jacobian(black_box(&case.q), &mut jacobian),
                )
            })
        });
        group.bench_function("k/fk", |b| {
            b.iter(|| {
                case.theirs
                    .set_joint_positions_unchecked(black_box(&case.q));
                black_box(case.theirs.end_transform())
            })
        });
        group.bench_function("k/fk+jacobian", |b| {
            b.iter(|| {
                case.theirs
                    .set_joint_positions_unchecked(black_box(&case.q));
                black_box(k::jacobian(&case.theirs))
            })
        });
        group.finish();
    }
}

/// Median ns per call over 21 batches.
fn median_ns(mut f: impl FnMut()) -> f64 {
    let calls = 20_000;
    for _ in 0..calls {
        f();
    }
    let mut batches: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(calls)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[batches.len() / 2]
}

fn summary(cases: &[Case]) {
    println!(
        "\n| chain (DoF) | ours FK ns | k FK ns | k/ours | ours FK+J ns | k FK+J ns | k/ours |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let mut jacobian = Matrix6xX::zeros(case.ours.dof());
        let ours_fk = median_ns(|| {
            black_box(case.ours.forward(black_box(&case.q)));
        });
        let ours_j = median_ns(|| {
            black_box(
                case.ours
                    .forward_with_jacobian(black_box(&case.q), &mut jacobian),
            );
        });
        let k_fk = median_ns(|| {
            case.theirs
                .set_joint_positions_unchecked(black_box(&case.q));
            black_box(case.theirs.end_transform());
        });
        let k_j = median_ns(|| {
            case.theirs
                .set_joint_positions_unchecked(black_box(&case.q));
            black_box(k::jacobian(&case.theirs));
        });
        println!(
            "| {} ({}) | {ours_fk:.0} | {k_fk:.0} | {:.1}× | {ours_j:.0} | {k_j:.0} | {:.1}× |",
            case.name,
            case.ours.dof(),
            k_fk / ours_fk,
            k_j / ours_j
        );
    }
}

fn main() {
    if !robots_dir().join("INDEX.md").is_file() {
        eprintln!("robot corpus not found at {}", robots_dir().display());
        std::process::exit(1);
    }
    let cases = cases();
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion, &cases);
    criterion.final_summary();
    // `cargo test --benches` runs this once as a smoke test; the table is for `cargo bench`.
    if std::env::args().any(|a| a == "--bench") {
        summary(&cases);
    }
}
