//! `teleop profile check PROFILE`: an integrator's report on a robot profile. For each arm: its
//! chain, where the hand rests (inside its workspace box or not), how much of that box the
//! hand can reach (joint space sampled at random), how well conditioned the rest posture is
//! (manipulability against the sampled median), which joints rest near a limit, and whether the
//! camera sees the hand at rest. Exits 1 (after the report) when the profile cannot be driven:
//! a hand resting outside its box, a box the hand barely reaches, or a singular rest posture.
//! `--png` draws the robot at rest from three sides with the volume each hand reaches.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nalgebra::{Matrix6xX, Point3, Vector3};
use serde::Serialize;

use crate::config::{EndEffector, Profile};
use crate::ik::rng::SplitMix64;
use crate::kinematics::{Chain, Pose, Tree};
use crate::model::Model;
use crate::render::StereoRig;
use crate::sim::{ServoGains, Sim, driven_dofs};

#[derive(Debug, clap::Subcommand)]
pub enum ProfileCommand {
    /// Report on a profile: chains, reach, rest posture, camera; exit 1 if it cannot be driven.
    Check(CheckArgs),
    /// Draft a profile from a URDF alone: arms, grippers, neck, camera, rest posture, each
    /// guess commented.
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    urdf: PathBuf,
    /// Write the profile here (default: standard output, naming the URDF relative to the
    /// working directory).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Seed of the rest posture's sampling (the draft is the same for the same seed).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    profile: PathBuf,
    /// Random joint configurations sampled per arm.
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Seed of the sampling (the report is the same for the same seed).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Machine-readable JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also draw the robot at rest from the front, the side and above, with the volume each
    /// hand reaches (5 cm cells; left hand magenta, right cyan), into this PNG.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
}

/// Workspace cells are this big (m).
const CELL_M: f64 = 0.05;
/// A box the hand reaches less of than this cannot be worked in.
const MIN_REACHABLE: f64 = 0.05;
/// A rest posture whose manipulability is under this fraction of the sampled median is
/// (nearly) singular: the first motions would be slow or jumpy.
const MIN_RELATIVE_MANIPULABILITY: f64 = 0.05;
/// A joint resting within this fraction of its range from a limit is flagged.
const NEAR_LIMIT: f64 = 0.05;

#[derive(Debug, Serialize)]
struct Report {
    profile: String,
    robot: String,
    dof: usize,
    arms: Vec<Arm>,
    /// Links more than two joints apart whose collision geometry touches at the rest posture:
    /// they would collide at once, so the simulator never collides them (`self_collision`).
    touching_at_rest: Vec<[String; 2]>,
    /// Why the profile cannot be driven; empty: it can.
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Arm {
    name: String,
    base: String,
    tip: String,
    joints: Vec<String>,
    /// The hand at rest in the base frame (m).
    rest: [f64; 3],
    /// Whether the rest position is inside the workspace box (None: no box).
    rest_in_box: Option<bool>,
    /// Fraction of the box's 5 cm cells the sampled hand positions fall in (None: no box).
    reachable_fraction: Option<f64>,
    /// The farthest sampled hand position from the chain's base (m).
    reach_m: f64,
    /// `sqrt(det(J Jᵀ))` of the position Jacobian at rest, and its median over the samples.
    manipulability_rest: f64,
    manipulability_median: f64,
    /// Joints resting within 5 % of their range from a limit.
    near_limits: Vec<String>,
    /// Whether each eye of the camera sees the hand at rest (None: no camera).
    in_view: Option<[bool; 2]>,
    /// Centres of the 5 cm cells the sampled hand positions fall in (base frame).
    #[serde(skip)]
    reached: Vec<Vector3<f64>>,
}

pub fn run(command: ProfileCommand) -> anyhow::Result<()> {
    match command {
        ProfileCommand::Check(args) => check(&args),
        ProfileCommand::New(args) => new(&args),
    }
}

fn new(args: &NewArgs) -> anyhow::Result<()> {
    let model = Model::from_urdf_file(&args.urdf)?;
    let profile = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("profile.toml"));
    let urdf = super::draft::path_from(&profile, &args.urdf);
    let script = super::draft::path_from(
        &profile,
        &crate::app::bundled("scripts/pick_cube_palm_down.toml"),
    );
    let text = super::draft::draft(&model, &urdf, &script, args.seed)?;
    // The draft must load: a guess that breaks the profile's own checks is a bug here.
    let folder = profile.parent().unwrap_or(Path::new("."));
    let mut parsed = Profile::parse(&text, &profile)?;
    parsed.urdf = folder.join(&parsed.urdf);
    parsed.check(&model, &profile)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
            eprintln!(
                "profile new: wrote {}; next: teleop profile check {}",
                path.display(),
                path.display()
            );
        }
        None => super::say(text.trim_end())?,
    }
    Ok(())
}

fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let (profile, model) = Profile::load(&args.profile)?;
    let report = report(
        &args.profile,
        &profile,
        &model,
        args.samples.max(1),
        args.seed,
    )?;
    if args.json {
        super::say(serde_json::to_string_pretty(&report)?)?;
    } else {
        super::say(text(&report).trim_end())?;
    }
    if let Some(png) = &args.png {
        picture(&profile, &model, &report, png)?;
        if !args.json {
            super::say(format!("picture: {}", png.display()))?;
        }
    }
    match report.problems.len() {
        0 => Ok(()),
        n => anyhow::bail!(
            "{} cannot be driven: {n} problem{} (see the report)",
            args.profile.display(),
            if n == 1 { "" } else { "s" }
        ),
    }
}

fn report(
    path: &Path,
    profile: &Profile,
    model: &Model,
    samples: usize,
    seed: u64,
) -> anyhow::Result<Report> {
    let rest = profile.start_posture(model);
    let mut poses = vec![Default::default(); model.links.len()];
    Tree::new(model).forward(&rest, &mut poses);
    let rig = profile
        .camera
        .as_ref()
        .and_then(|camera| StereoRig::new(model, camera));
    let mut problems = Vec::new();
    if profile.end_effectors.is_empty() {
        problems.push("no [[end_effector]]: nothing follows the trainer's hands".to_string());
    }
    let mut arms = Vec::new();
    for effector in &profile.end_effectors {
        let arm = arm(model, effector, &rest, &poses, rig.as_ref(), samples, seed)?;
        if arm.rest_in_box == Some(false) {
            problems.push(format!(
                "{}: the hand rests at {} in {}, outside its workspace box",
                arm.name,
                vector(&arm.rest),
                arm.base
            ));
        }
        if let Some(f) = arm.reachable_fraction.filter(|&f| f < MIN_REACHABLE) {
            problems.push(format!(
                "{}: the hand reaches {:.1} % of its workspace box (less than {:.0} %)",
                arm.name,
                100.0 * f,
                100.0 * MIN_REACHABLE
            ));
        }
        if arm.manipulability_rest < MIN_RELATIVE_MANIPULABILITY * arm.manipulability_median {
            problems.push(format!(
                "{}: the rest posture is (nearly) singular: manipulability {:.2e} against a median of {:.2e}",
                arm.name, arm.manipulability_rest, arm.manipulability_median
            ));
        }
        arms.push(arm);
    }
    let sim = Sim::new(
        model,
        &rest,
        &Pose::identity(),
        ServoGains::default(),
        &driven_dofs(model, profile),
    )?;
    let touching_at_rest = sim
        .resting_contacts()
        .iter()
        .map(|&(a, b)| [model.links[a].name.clone(), model.links[b].name.clone()])
        .collect();
    Ok(Report {
        profile: path.display().to_string(),
        robot: profile.name.clone(),
        dof: model.dofs.len(),
        arms,
        touching_at_rest,
        problems,
    })
}

fn arm(
    model: &Model,
    effector: &EndEffector,
    rest: &[f64],
    poses: &[Pose],
    rig: Option<&StereoRig>,
    samples: usize,
    seed: u64,
) -> anyhow::Result<Arm> {
    let tool = effector.tool();
    let chain = Chain::new(model, &effector.base, &effector.tip)?.with_tool(&tool);
    let vars = chain.model_vars().to_vec();
    let ranges: Vec<(f64, f64)> = chain
        .dofs()
        .iter()
        .map(|&j| {
            model.joints[j]
                .limits
                .position
                .unwrap_or((-std::f64::consts::PI, std::f64::consts::PI))
        })
        .collect();
    let q_rest: Vec<f64> = vars.iter().map(|&v| rest[v]).collect();
    let mut jacobian = Matrix6xX::zeros(chain.dof());
    let rest_pose = chain.forward_with_jacobian(&q_rest, &mut jacobian);
    let manipulability = |j: &Matrix6xX<f64>| {
        let linear = j.rows(0, 3);
        (linear * linear.transpose()).determinant().max(0.0).sqrt()
    };
    let manipulability_rest = manipulability(&jacobian);
    let box_ = effector.workspace_min.zip(effector.workspace_max);
    let mut cells = box_.map(|(lo, hi)| {
        let n: [usize; 3] =
            std::array::from_fn(|k| (((hi[k] - lo[k]) / CELL_M).ceil() as usize).clamp(1, 60));
        (lo, hi, n, vec![false; n[0] * n[1] * n[2]])
    });
    let mut noise = SplitMix64::new(seed ^ 0x5eed);
    let mut q = q_rest.clone();
    let mut measures = Vec::with_capacity(samples);
    let mut reach_m: f64 = 0.0;
    let mut reached = std::collections::BTreeSet::new();
    for _ in 0..samples {
        for (value, (lo, hi)) in q.iter_mut().zip(&ranges) {
            *value = lo + (hi - lo) * noise.unit();
        }
        let pose = chain.forward_with_jacobian(&q, &mut jacobian);
        measures.push(manipulability(&jacobian));
        let p = pose.translation.vector;
        reach_m = reach_m.max(p.norm());
        reached.insert(p.map(|c| (c / CELL_M).floor() as i64).data.0[0]);
        if let Some((lo, hi, n, hit)) = &mut cells {
            let index: Option<Vec<usize>> = (0..3)
                .map(|k| {
                    let cell = ((p[k] - lo[k]) / (hi[k] - lo[k]) * n[k] as f64).floor();
                    (cell >= 0.0 && cell < n[k] as f64).then_some(cell as usize)
                })
                .collect();
            if let Some(i) = index {
                hit[(i[0] * n[1] + i[1]) * n[2] + i[2]] = true;
            }
        }
    }
    measures.sort_by(f64::total_cmp);
    let manipulability_median = measures[measures.len() / 2];
    let rest_at = rest_pose.translation.vector;
    let near_limits = chain
        .dofs()
        .iter()
        .zip(&q_rest)
        .filter(|&(&j, &value)| {
            model.joints[j].limits.position.is_some_and(|(lo, hi)| {
                let margin = NEAR_LIMIT * (hi - lo);
                value < lo + margin || value > hi - margin
            })
        })
        .map(|(&j, _)| model.joints[j].name.clone())
        .collect();
    let in_view = rig.map(|rig| {
        let hand = poses[chain.tip()] * Point3::from(tool);
        rig.eyes(poses).map(|eye| {
            eye.project(&hand, rig.width, rig.height)
                .is_some_and(|[x, y]| {
                    (0.0..f64::from(rig.width)).contains(&x)
                        && (0.0..f64::from(rig.height)).contains(&y)
                })
        })
    });
    Ok(Arm {
        name: effector.name.clone(),
        base: effector.base.clone(),
        tip: effector.tip.clone(),
        joints: chain
            .dofs()
            .iter()
            .map(|&j| model.joints[j].name.clone())
            .collect(),
        rest: [rest_at.x, rest_at.y, rest_at.z],
        rest_in_box: box_.map(|(lo, hi)| (0..3).all(|k| (lo[k]..=hi[k]).contains(&rest_at[k]))),
        reachable_fraction: cells
            .map(|(_, _, _, hit)| hit.iter().filter(|&&h| h).count() as f64 / hit.len() as f64),
        reach_m,
        manipulability_rest,
        manipulability_median,
        near_limits,
        in_view,
        reached: reached
            .into_iter()
            .map(|[x, y, z]| Vector3::new(x as f64 + 0.5, y as f64 + 0.5, z as f64 + 0.5) * CELL_M)
            .collect(),
    })
}

/// Each arm's reached cells drawn: at most this many (evenly thinned beyond).
const MAX_CELLS_DRAWN: usize = 1500;
const ARM_COLORS: [[f64; 4]; 2] = [[0.85, 0.1, 0.75, 1.0], [0.05, 0.7, 0.85, 1.0]];
/// Each view's size (px).
const VIEW_PX: u32 = 480;

/// The robot at rest from the front, the side and above, with each arm's reached cells, as one
/// PNG (three views side by side).
fn picture(profile: &Profile, model: &Model, report: &Report, path: &Path) -> anyhow::Result<()> {
    use crate::render::{self, EYE_FORMAT, EyeCamera, SceneRenderer, StereoTarget};
    use nalgebra::{Rotation3, Translation3};
    let rest = profile.start_posture(model);
    let mut poses = vec![Pose::identity(); model.links.len()];
    Tree::new(model).forward(&rest, &mut poses);
    // Lift the robot so its lowest link stands on the floor (world z = 0).
    let lowest = poses
        .iter()
        .map(|p| p.translation.z)
        .fold(f64::INFINITY, f64::min);
    let world_from_root = Pose::from_parts(
        Translation3::new(0.0, 0.0, 0.05 - lowest),
        Rotation3::identity(),
    );
    for pose in &mut poses {
        *pose = world_from_root * *pose;
    }
    let mut objects = Vec::new();
    let mut object_poses = Vec::new();
    for (i, (arm, effector)) in report.arms.iter().zip(&profile.end_effectors).enumerate() {
        let Some(base) = model.link_id(&effector.base) else {
            continue;
        };
        let step = arm.reached.len().div_ceil(MAX_CELLS_DRAWN).max(1);
        for centre in arm.reached.iter().step_by(step) {
            objects.push(render::box_object(
                "cell",
                Vector3::repeat(CELL_M * 0.35),
                ARM_COLORS[i % 2],
            ));
            object_poses.push(
                poses[base] * Pose::from_parts(Translation3::from(*centre), Rotation3::identity()),
            );
        }
    }
    let scene = render::Scene::new(model, &objects);
    let mut state = scene.state();
    state.link_poses.copy_from_slice(&poses);
    state.object_poses.copy_from_slice(&object_poses);
    // Look at the middle of the robot and its reach, from 3 m.
    let points: Vec<Vector3<f64>> = poses
        .iter()
        .map(|p| p.translation.vector)
        .chain(object_poses.iter().map(|p| p.translation.vector))
        .collect();
    let (lo, hi) = points.iter().fold(
        (
            Vector3::repeat(f64::INFINITY),
            Vector3::repeat(f64::NEG_INFINITY),
        ),
        |(lo, hi), p| (lo.inf(p), hi.sup(p)),
    );
    let centre = (lo + hi) / 2.0;
    let distance = 1.2 * (hi - lo).norm().max(0.5) / (2.0 * (20f64.to_radians()).tan());
    // Body-convention cameras (+X forward, +Z up): from the front (looking along −X), from the
    // robot's left (looking along −Y) and from above (looking down, the robot's front at the
    // top of the picture).
    let camera = |forward: Vector3<f64>, up: Vector3<f64>| {
        let left = up.cross(&forward);
        let rotation =
            Rotation3::from_matrix_unchecked(nalgebra::Matrix3::from_columns(&[forward, left, up]));
        EyeCamera {
            world_from_camera: Pose::from_parts(
                Translation3::from(centre - forward * distance),
                rotation,
            ),
            fov_y_rad: 40f64.to_radians(),
            aspect: 1.0,
        }
    };
    let front = camera(-Vector3::x(), Vector3::z());
    let side = camera(-Vector3::y(), Vector3::z());
    let top = camera(-Vector3::z(), Vector3::x());
    let gpu = render::Gpu::headless()?;
    let samples = gpu.sample_count(EYE_FORMAT);
    let mut renderer = SceneRenderer::new(&gpu, scene, EYE_FORMAT, samples);
    let target = StereoTarget::new(&gpu, VIEW_PX, VIEW_PX, samples);
    let pair = target.render_to_image(&gpu, &mut renderer, &state, &[front, side])?;
    let single = target.render_to_image(&gpu, &mut renderer, &state, &[top, top])?;
    let (w, h) = (VIEW_PX as usize, VIEW_PX as usize);
    let mut rgba = Vec::with_capacity(3 * w * h * 4);
    for y in 0..h {
        rgba.extend_from_slice(&pair.rgba[y * 2 * w * 4..(y + 1) * 2 * w * 4]);
        rgba.extend_from_slice(&single.rgba[y * 2 * w * 4..y * 2 * w * 4 + w * 4]);
    }
    image::save_buffer(
        path,
        &rgba,
        3 * VIEW_PX,
        VIEW_PX,
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(())
}

fn vector([x, y, z]: &[f64; 3]) -> String {
    format!("({x:.3}, {y:.3}, {z:.3}) m")
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {} DoF, {} arm{}",
        report.robot,
        report.profile,
        report.dof,
        report.arms.len(),
        if report.arms.len() == 1 { "" } else { "s" }
    );
    for arm in &report.arms {
        let _ = writeln!(
            out,
            "\n{}: {} → {}, {} DoF ({})",
            arm.name,
            arm.base,
            arm.tip,
            arm.joints.len(),
            arm.joints.join(", ")
        );
        let inside = match arm.rest_in_box {
            Some(true) => ", inside its workspace box",
            Some(false) => ", OUTSIDE its workspace box",
            None => " (no workspace box)",
        };
        let _ = writeln!(out, "  rest: hand at {}{inside}", vector(&arm.rest));
        let reachable = arm.reachable_fraction.map_or_else(
            || "no box to measure".to_string(),
            |f| format!("{:.0} % of the box's 5 cm cells", 100.0 * f),
        );
        let _ = writeln!(
            out,
            "  reach: {:.2} m from {}; {reachable}",
            arm.reach_m, arm.base
        );
        let _ = writeln!(
            out,
            "  rest posture: manipulability {:.2e} ({:.0} % of the sampled median)",
            arm.manipulability_rest,
            100.0 * arm.manipulability_rest / arm.manipulability_median.max(f64::MIN_POSITIVE)
        );
        if !arm.near_limits.is_empty() {
            let _ = writeln!(
                out,
                "  near a limit at rest: {}",
                arm.near_limits.join(", ")
            );
        }
        let view = match arm.in_view {
            Some([true, true]) => "both eyes see the hand at rest",
            Some([false, false]) => "the camera does not see the hand at rest",
            Some(_) => "one eye sees the hand at rest",
            None => "no [camera]",
        };
        let _ = writeln!(out, "  camera: {view}");
    }
    if report.touching_at_rest.is_empty() {
        let _ = writeln!(out, "\nat rest: no links more than two joints apart touch");
    } else {
        let pairs: Vec<String> = report
            .touching_at_rest
            .iter()
            .map(|[a, b]| format!("{a} – {b}"))
            .collect();
        let _ = writeln!(
            out,
            "\nat rest, links more than two joints apart touch (they never collide in the simulator): {}",
            pairs.join(", ")
        );
    }
    if report.problems.is_empty() {
        let _ = writeln!(out, "\nok: the profile can be driven");
    } else {
        let _ = writeln!(out, "\nproblems:");
        for problem in &report.problems {
            let _ = writeln!(out, "  - {problem}");
        }
    }
    out
}
