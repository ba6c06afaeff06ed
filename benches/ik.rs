//! IK on a fixed protocol (below), with the `k` crate's solver on the same targets in the same
//! run. `cargo bench --bench ik` prints a markdown table.
//!
//! Per chain: 2,000 targets = FK of uniform random joints within the solver's limits (fixed
//! seed). Success = position error < 1e-4 m, orientation error < 1e-3 rad (checked here with FK,
//! not taken from the solver) and joints within limits. `random_seed`: each solve starts from a
//! fresh uniform random seed, 5 ms budget. `tracking`: a smooth 90 Hz joint-space sinusoid at
//! ≤ 60 % of each joint's velocity limit, each tick seeded with the last result. Times are wall
//! time of one call, failures included.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use k::InverseKinematicsSolver;
use teleop_bridge::ik::{Options, Solver, Target, Task};
use teleop_bridge::kinematics::{Chain, Pose};
use teleop_bridge::model::Model;

const TARGETS: usize = 2000;
const DT: f64 = 1.0 / 90.0;

/// The bundled robots (assets/robots), or the folder `TELEOP_ROBOTS_DIR` names.
fn robots_dir() -> PathBuf {
    std::env::var_os("TELEOP_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/robots"))
}

struct Lcg(u64);
impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn bounds(solver: &Solver, i: usize) -> (f64, f64) {
    let (lo, hi) = solver.limits();
    if lo[i].is_finite() {
        (lo[i], hi[i])
    } else {
        (-std::f64::consts::PI, std::f64::consts::PI)
    }
}

fn random_q(solver: &Solver, rng: &mut Lcg) -> Vec<f64> {
    (0..solver.dof())
        .map(|i| {
            let (l, h) = bounds(solver, i);
            l + (h - l) * rng.unit()
        })
        .collect()
}

fn pose_errors(chain: &Chain, q: &[f64], target: &Pose) -> (f64, f64) {
    let pose = chain.forward(q);
    let relative = pose.rotation.inverse() * target.rotation;
    let angle = nalgebra::UnitQuaternion::from_rotation_matrix(&relative).angle();
    (
        (pose.translation.vector - target.translation.vector).norm(),
        angle,
    )
}

#[derive(Default)]
struct Stats {
    micros: Vec<f64>,
    successes: usize,
    longest_failure_streak: usize,
    largest_step: f64,
    steps_over_velocity: usize,
    /// Failed ticks in a row so far (tracking).
    current_streak: usize,
    /// Largest position error of any tick (tracking): how far a lag goes.
    worst_position_error_m: f64,
}

impl Stats {
    /// One tracking tick: its joint steps against the velocity limits, and whether it succeeded.
    fn record_tick(
        &mut self,
        before: &[f64],
        after: &[f64],
        vmax: &[f64],
        position_error_m: f64,
        success: bool,
    ) {
        self.worst_position_error_m = self.worst_position_error_m.max(position_error_m);
        for ((a, b), v) in after.iter().zip(before).zip(vmax) {
            let step = (a - b).abs();
            self.largest_step = self.largest_step.max(step);
            if step > v * DT * (1.0 + 1e-9) {
                self.steps_over_velocity += 1;
            }
        }
        if success {
            self.successes += 1;
            self.current_streak = 0;
        } else {
            self.current_streak += 1;
            self.longest_failure_streak = self.longest_failure_streak.max(self.current_streak);
        }
    }

    fn row(&mut self, chain: &str, mode: &str, solver: &str, tracking: bool) -> String {
        self.micros.sort_by(f64::total_cmp);
        let n = self.micros.len();
        let tracking_cols = if tracking {
            format!(
                "{} / {:.3} / {} / {:.1e}",
                self.longest_failure_streak,
                self.largest_step,
                self.steps_over_velocity,
                self.worst_position_error_m
            )
        } else {
            "-".into()
        };
        format!(
            "| {chain} | {mode} | {solver} | {n} | {:.2} | {:.1} | {:.1} | {tracking_cols} |",
            100.0 * self.successes as f64 / n as f64,
            self.micros[n / 2],
            self.micros[(n * 99) / 100],
        )
    }
}

struct Arm {
    name: &'static str,
    chain: Chain,
    solver: Solver,
    /// k's chain, where k's Jacobian is right (chains rooted at the URDF root).
    peer: Option<k::SerialChain<f64>>,
}

fn arm(name: &'static str, urdf: &str, base: &str, tip: &str, first_joint: &str) -> Arm {
    let path = robots_dir().join(urdf);
    let model = Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let chain = Chain::new(&model, base, tip).unwrap_or_else(|e| panic!("{e}"));
    let solver =
        Solver::new(&model, vec![Task::new(chain.clone())], Options::default()).expect("solver");
    let peer = (model.link_id(base) == Some(0)).then(|| {
        let tree = k::Chain::<f64>::from_urdf_file(&path).expect("k loads");
        let end = tree.find_link(tip).expect("tip");
        let root = tree.find(first_joint).expect("first joint");
        tree.update_transforms();
        k::SerialChain::from_end_to_root(end, root)
    });
    Arm {
        name,
        chain,
        solver,
        peer,
    }
}

fn to_k(pose: &Pose) -> k::Isometry3<f64> {
    let q = nalgebra::UnitQuaternion::from_rotation_matrix(&pose.rotation);
    let t = pose.translation.vector;
    k::Isometry3::from_parts(
        k::Translation3::new(t.x, t.y, t.z),
        k::UnitQuaternion::from_quaternion(k::nalgebra::Quaternion::new(q.w, q.i, q.j, q.k)),
    )
}

fn random_seed_mode(arm: &mut Arm, rows: &mut Vec<String>) {
    let mut rng = Lcg(1242);
    let cases: Vec<(Pose, Vec<f64>)> = (0..TARGETS)
        .map(|_| {
            let target = arm.chain.forward(&random_q(&arm.solver, &mut rng));
            (target, random_q(&arm.solver, &mut rng))
        })
        .collect();
    let mut ours = Stats::default();
    for (target, seed) in &cases {
        arm.solver.set_target(0, Target::Pose(*target));
        let mut q = seed.clone();
        let start = Instant::now();
        black_box(arm.solver.solve(&mut q));
        ours.micros.push(start.elapsed().as_secs_f64() * 1e6);
        let (p, r) = pose_errors(&arm.chain, &q, target);
        if p < 1e-4 && r < 1e-3 && arm.solver.within_limits(&q) {
            ours.successes += 1;
        }
    }
    rows.push(ours.row(arm.name, "random_seed", "teleop-bridge", false));
    if let Some(peer) = &arm.peer {
        let k_solver = k::JacobianIkSolver::new(1e-4, 1e-3, 0.5, 100);
        let mut theirs = Stats::default();
        for (target, seed) in &cases {
            peer.set_joint_positions_clamped(seed);
            let start = Instant::now();
            let _ = black_box(k_solver.solve(peer, &to_k(target)));
            theirs.micros.push(start.elapsed().as_secs_f64() * 1e6);
            let q = peer.joint_positions();
            let (p, r) = pose_errors(&arm.chain, &q, target);
            if p < 1e-4 && r < 1e-3 && arm.solver.within_limits(&q) {
                theirs.successes += 1;
            }
        }
        rows.push(theirs.row(arm.name, "random_seed", "k 0.32 (JacobianIkSolver)", false));
    }
}

fn tracking_mode(arm: &mut Arm, rows: &mut Vec<String>) {
    let n = arm.solver.dof();
    let vmax = arm.solver.velocity_limits().to_vec();
    let path = |solver: &Solver, t: f64| -> Vec<f64> {
        (0..n)
            .map(|i| {
                let (l, h) = bounds(solver, i);
                let amplitude = 0.35 * (h - l).min(2.0);
                let w = 0.6 * vmax[i].min(3.0) / amplitude;
                0.5 * (l + h) + amplitude * (w * t + 1.3 * i as f64).sin()
            })
            .collect()
    };
    let mut ours = Stats::default();
    let mut q = path(&arm.solver, 0.0);
    for step in 1..=TARGETS {
        let target = arm.chain.forward(&path(&arm.solver, step as f64 * DT));
        arm.solver.set_target(0, Target::Pose(target));
        let before = q.clone();
        let start = Instant::now();
        black_box(arm.solver.track(&mut q, DT));
        ours.micros.push(start.elapsed().as_secs_f64() * 1e6);
        let (p, r) = pose_errors(&arm.chain, &q, &target);
        let success = p < 1e-4 && r < 1e-3 && arm.solver.within_limits(&q);
        ours.record_tick(&before, &q, &vmax, p, success);
    }
    rows.push(ours.row(arm.name, "tracking", "teleop-bridge", true));
    if let Some(peer) = &arm.peer {
        let k_solver = k::JacobianIkSolver::new(1e-4, 1e-3, 0.5, 100);
        let mut theirs = Stats::default();
        peer.set_joint_positions_clamped(&path(&arm.solver, 0.0));
        for step in 1..=TARGETS {
            let target = arm.chain.forward(&path(&arm.solver, step as f64 * DT));
            let before = peer.joint_positions();
            let start = Instant::now();
            let _ = black_box(k_solver.solve(peer, &to_k(&target)));
            theirs.micros.push(start.elapsed().as_secs_f64() * 1e6);
            let q = peer.joint_positions();
            let (p, r) = pose_errors(&arm.chain, &q, &target);
            let success = p < 1e-4 && r < 1e-3 && arm.solver.within_limits(&q);
            theirs.record_tick(&before, &q, &vmax, p, success);
        }
        rows.push(theirs.row(arm.name, "tracking", "k 0.32 (JacobianIkSolver)", true));
    }
}

/// The bundled humanoid's solver: both hands (full pose) and the head (orientation only).
fn humanoid_solver() -> Solver {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/teleop_humanoid.urdf");
    let model = Model::from_urdf_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let chain = |tip: &str| Chain::new(&model, "pelvis", tip).expect("chain");
    let tasks = vec![
        Task::new(chain("left_tcp_link")),
        Task::new(chain("right_tcp_link")),
        Task {
            position_weight: 0.0,
            ..Task::new(chain("head_link"))
        },
    ];
    Solver::new(&model, tasks, Options::default()).expect("solver")
}

/// Each task's chain and, for each of its variables, the index in the solver's `q`.
fn task_chains(solver: &Solver) -> Vec<(Chain, Vec<usize>)> {
    (0..3)
        .map(|t| (solver.task(t).chain.clone(), solver.task_vars(t).to_vec()))
        .collect()
}

/// FK of each task's chain at the solver's `q`.
fn task_poses(chains: &[(Chain, Vec<usize>)], q: &[f64]) -> Vec<Pose> {
    chains
        .iter()
        .map(|(c, vars)| c.forward(&vars.iter().map(|&v| q[v]).collect::<Vec<_>>()))
        .collect()
}

/// Tracks `targets_at(t)` (one pose per task) for `TARGETS` ticks from `q`.
fn track_humanoid(
    solver: &mut Solver,
    mut q: Vec<f64>,
    targets_at: impl Fn(f64) -> Vec<Pose>,
) -> Stats {
    let vmax = solver.velocity_limits().to_vec();
    let mut stats = Stats::default();
    for step in 1..=TARGETS {
        for (t, target) in targets_at(step as f64 * DT).iter().enumerate() {
            solver.set_target(t, Target::Pose(*target));
        }
        let before = q.clone();
        let start = Instant::now();
        let report = black_box(solver.track(&mut q, DT));
        stats.micros.push(start.elapsed().as_secs_f64() * 1e6);
        stats.record_tick(&before, &q, &vmax, report.position_error_m, report.ok);
    }
    stats
}

/// What a trainer does: from a relaxed pose (elbows bent 1.6 rad), both hands trace independent smooth loops in front
/// of the chest (±10–15 cm, up to ~0.5 m/s, wrists turning up to ~1.5 rad/s) while the head looks
/// around (yaw ±0.6 rad, pitch ±0.3 rad). Targets are Cartesian, as a headset sends them.
fn humanoid_teleop_tracking(rows: &mut Vec<String>) {
    let mut solver = humanoid_solver();
    // waist yaw, pitch; left arm (7); right arm (7); neck yaw, pitch — the solver's order.
    let q: Vec<f64> = vec![
        0.0, 0.0, -0.6, 0.3, 0.0, 1.6, 0.0, 0.3, 0.0, -0.6, -0.3, 0.0, 1.6, 0.0, 0.3, 0.0, 0.0, 0.2,
    ];
    assert_eq!(q.len(), solver.dof());
    let home = task_poses(&task_chains(&solver), &q);
    let tau = std::f64::consts::TAU;
    let targets_at = |t: f64| -> Vec<Pose> {
        // Each term is 0 at t = 0, so the loops start at the home pose.
        let wave = |amplitude: f64, hz: f64, phase: f64| {
            amplitude * ((tau * hz * t + phase).sin() - phase.sin())
        };
        let hand = |home: &Pose, phase: f64, side: f64| {
            let offset = nalgebra::Vector3::new(
                wave(0.10, 0.35, phase),
                side * wave(0.12, 0.25, 2.0 * phase),
                wave(0.15, 0.4, 0.5 * phase),
            );
            let turn = nalgebra::Rotation3::from_euler_angles(
                wave(0.4, 0.3, phase),
                wave(0.3, 0.45, 0.0),
                wave(0.5, 0.2, phase),
            );
            Pose::from_parts(
                nalgebra::Translation3::from(home.translation.vector + offset),
                turn * home.rotation,
            )
        };
        let look =
            nalgebra::Rotation3::from_euler_angles(0.0, wave(0.3, 0.3, 0.0), wave(0.6, 0.2, 0.0));
        vec![
            hand(&home[0], 0.0, 1.0),
            hand(&home[1], 1.7, -1.0),
            Pose::from_parts(home[2].translation, look * home[2].rotation),
        ]
    };
    rows.push(track_humanoid(&mut solver, q, targets_at).row(
        "humanoid 2 hands + head (18), trainer-like Cartesian loops",
        "tracking",
        "teleop-bridge",
        true,
    ));
}

/// Stress: all 18 upper-body joints on independent sinusoids at 60 % of their velocity limits
/// (waist yaw at 1.8 rad/s), targets by FK. The 3-D null space lets the tracker's configuration
/// part from the path's, after which the path can ask for more joint speed than the limits give.
fn humanoid_joint_space_stress(rows: &mut Vec<String>) {
    let mut solver = humanoid_solver();
    let n = solver.dof();
    let vmax = solver.velocity_limits().to_vec();
    let ranges: Vec<(f64, f64)> = (0..n).map(|i| bounds(&solver, i)).collect();
    let at = |t: f64| -> Vec<f64> {
        (0..n)
            .map(|i| {
                let (l, h) = ranges[i];
                let amplitude = 0.25 * (h - l).min(2.0);
                let w = 0.6 * vmax[i].min(3.0) / amplitude;
                (0.5 * (l + h) + amplitude * (w * t + 0.7 * i as f64).sin()).clamp(l, h)
            })
            .collect()
    };
    let chains = task_chains(&solver);
    let mut stats = track_humanoid(&mut solver, at(0.0), |t| task_poses(&chains, &at(t)));
    rows.push(stats.row(
        "humanoid 2 hands + head (18), joint-space stress",
        "tracking",
        "teleop-bridge",
        true,
    ));
}

fn main() {
    if !robots_dir().join("INDEX.md").is_file() {
        eprintln!("robot corpus not found at {}", robots_dir().display());
        std::process::exit(1);
    }
    let quick = !std::env::args().any(|a| a == "--bench");
    let mut arms = vec![
        arm(
            "panda (7)",
            "panda/panda.urdf",
            "panda_link0",
            "panda_link8",
            "panda_joint1",
        ),
        arm(
            "ur5 (6)",
            "ur5/ur5_robot.urdf",
            "base_link",
            "tool0",
            "shoulder_pan_joint",
        ),
        arm(
            "xarm7 (7)",
            "xarm7/xarm7.urdf",
            "link_base",
            "link_eef",
            "joint1",
        ),
        arm(
            "g1_left_arm (7)",
            "unitree_g1/g1_29dof_with_hand_rev_1_0.urdf",
            "torso_link",
            "left_hand_palm_link",
            "left_shoulder_pitch_joint",
        ),
        arm(
            "pr2_left_arm (7)",
            "pr2/pr2.urdf",
            "torso_lift_link",
            "l_gripper_tool_frame",
            "l_shoulder_pan_joint",
        ),
    ];
    if quick {
        // `cargo test --benches`: build and set up only.
        println!(
            "ik bench: {} chains set up; run `cargo bench --bench ik` for the table",
            arms.len()
        );
        return;
    }
    let mut rows = Vec::new();
    for arm in &mut arms {
        random_seed_mode(arm, &mut rows);
        tracking_mode(arm, &mut rows);
    }
    humanoid_teleop_tracking(&mut rows);
    humanoid_joint_space_stress(&mut rows);
    println!(
        "| chain (DoF) | mode | solver | n | success % | median µs | p99 µs | tracking: longest failure streak / largest joint step rad / steps over velocity limit / worst position error m |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---|");
    for row in rows {
        println!("{row}");
    }
}
