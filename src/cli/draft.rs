//! `teleop profile new URDF`: a first profile drafted from the URDF alone, every guess written
//! as a comment beside the key it set, for the integrator to read and tune.
//!
//! What it infers:
//! - **Arms**: links named like a tool (tcp, tool, ee, palm, hand, gripper base, flange) at the
//!   end of a chain with at least four joints, one per side (left/right from the name, else
//!   from which side of the robot the link lies); the base is the lowest link both arms share
//!   (a torso), or the link above the arm's first joint for a single arm, which the trainer's
//!   left hand drives (the bundled script's hand).
//! - **Grippers**: below an arm's tool, one independent finger joint (its mimics follow): open
//!   at the limit where the fingers stand farther apart. Several independent finger joints are
//!   a hand: a `[hands.*]` mapping with a grasp synergy (see `draft_hand`).
//! - **Neck**: movable joints between the arms' base and a link named like a head.
//! - **Camera**: a left/right pair of camera links (body convention, +X forward; optical frames,
//!   +Z forward, are passed over); else a virtual stereo pair (`camera.link`, `baseline_m`) on
//!   the one camera link or the head, moved forward out of the robot's own mesh; else, with no
//!   head, a virtual pair behind and above the arms' base looking down at the tools' rest.
//! - **Rest**: each arm's joints sampled at random (a fixed seed), keeping the posture whose
//!   tool is nearest a point in front of the chest (forward 0.55 and down 0.35 of the arm's
//!   length from the shoulder, 0.15 m out to its side) with joints away from their limits;
//!   that bends the elbow as a trainer's is.
//! - **Motion scale**: the arm's length over 0.55 m (the bundled humanoid's reach), at most 1,
//!   so the demo's task shrinks with the robot.

use std::fmt::Write as _;
use std::path::Path;

use nalgebra::{Point3, Vector3};

use crate::config::StereoCamera;
use crate::ik::rng::SplitMix64;
use crate::kinematics::{Chain, Pose, Tree};
use crate::model::{JointKind, LinkId, Model, Shape};

/// Names that mark a link as an arm's tool, strongest first.
const TOOL_WORDS: [(&str, u32); 10] = [
    ("tcp", 9),
    ("tool", 8),
    ("end_effector", 7),
    ("ee", 7),
    ("eef", 7),
    ("palm", 6),
    ("hand", 5),
    ("gripper", 4),
    ("flange", 3),
    ("wrist", 1),
];
/// Names that mark a link as part of a finger (never an arm's tool).
const FINGER_WORDS: [&str; 9] = [
    "finger", "thumb", "index", "middle", "ring", "pinky", "little", "knuckle", "jaw",
];
/// Finger names a hand's links carry: (word, finger name, the OpenXR joint its tip follows).
const FINGER_NAMES: [(&str, &str, &str); 6] = [
    ("thumb", "thumb", "thumb_tip"),
    ("index", "index", "index_tip"),
    ("middle", "middle", "middle_tip"),
    ("ring", "ring", "ring_tip"),
    ("little", "little", "little_tip"),
    ("pinky", "little", "little_tip"),
];
/// The fewest joints an arm has.
const MIN_ARM_DOF: usize = 4;
/// The bundled humanoid's arm length (m): the reach its script was written for.
const SCRIPT_REACH_M: f64 = 0.55;
/// Random postures tried per arm for the rest posture.
const REST_SAMPLES: usize = 40_000;
/// The least room along the fingers between a thumb's base and the knuckles for a hand to
/// grasp palm down, the object between them (m).
const PALM_DOWN_GAP_M: f64 = 0.03;

/// Words of a link's name, split at `_`, `-` and `.`, lowercase.
fn words(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(['_', '-', '.', '/'])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn has_word(name: &str, word: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    words(name).iter().any(|w| w == word) || (word.len() > 3 && lower.contains(word))
}

/// Which side a name says: `Some(true)` left, `Some(false)` right.
fn side_of_name(name: &str) -> Option<bool> {
    let w = words(name);
    let any = |keys: &[&str]| w.iter().any(|x| keys.contains(&x.as_str()));
    match (
        any(&["left", "l", "lh", "lft"]),
        any(&["right", "r", "rh", "rgt"]),
    ) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

fn is_finger(model: &Model, link: LinkId) -> bool {
    let name = &model.links[link].name;
    FINGER_WORDS.iter().any(|w| has_word(name, w))
}

fn tool_score(name: &str) -> u32 {
    TOOL_WORDS
        .iter()
        .filter(|(w, _)| has_word(name, w))
        .map(|&(_, s)| s)
        .max()
        .unwrap_or(0)
}

/// One arm the draft drives.
struct Arm {
    left: bool,
    base: LinkId,
    tip: LinkId,
    dof: usize,
    why: String,
    /// The finger joints below the tool ([`finger_joints`]): independent ones, then mimics.
    fingers: (Vec<usize>, Vec<usize>),
}

/// The lowest link both `a` and `b` hang from.
fn common_ancestor(model: &Model, a: LinkId, b: LinkId) -> LinkId {
    let above_a: Vec<LinkId> = model.ancestors(a).collect();
    model
        .ancestors(b)
        .find(|l| above_a.contains(l))
        .unwrap_or(Model::ROOT)
}

/// The link above the first movable joint on the path from the root to `tip`.
fn first_moving_parent(model: &Model, tip: LinkId) -> LinkId {
    let path: Vec<LinkId> = model.ancestors(tip).collect();
    path.iter()
        .rev()
        .filter_map(|&link| model.links[link].parent_joint)
        .find(|&j| model.joints[j].kind.is_movable() || model.joints[j].mimic.is_some())
        .map_or(Model::ROOT, |j| model.joints[j].parent)
}

/// The arms: per side the best tool-named link with enough joints.
fn find_arms(model: &Model, root_from: &[Pose]) -> Vec<Arm> {
    type Rank = (u32, bool, std::cmp::Reverse<usize>);
    let mut best: [Option<(Rank, LinkId, String)>; 2] = [None, None];
    for (link, l) in model.links.iter().enumerate() {
        let score = tool_score(&l.name);
        if score == 0 || is_finger(model, link) {
            continue;
        }
        let dof = model.dofs_between(Model::ROOT, link).map_or(0, |d| d.len());
        if dof < MIN_ARM_DOF {
            continue;
        }
        let y = root_from[link].translation.vector.y;
        let (left, by) = match side_of_name(&l.name) {
            Some(left) => (left, "its name"),
            None => (
                y >= 0.0,
                "its side of the robot at zero posture (+y is left)",
            ),
        };
        let why = format!(
            "\"{}\": named like a tool (score {score}), {dof} joints from the root, {} by {by}",
            l.name,
            if left { "left" } else { "right" }
        );
        let slot = &mut best[usize::from(!left)];
        // The better name wins; on a tie, a bare frame named so (no geometry: a tool centre
        // point, as SO-101's `gripper_frame_link` between its jaws), else the link nearer the
        // root (a palm over its fingertip frame, a tool frame over a sensor below it).
        let depth = model.ancestors(link).count();
        let bare_frame = has_word(&l.name, "frame") && l.visuals.is_empty();
        let rank = (score, bare_frame, std::cmp::Reverse(depth));
        if slot.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            *slot = Some((rank, link, why));
        }
    }
    let found: Vec<(bool, LinkId, String)> = best
        .into_iter()
        .enumerate()
        .filter_map(|(i, b)| b.map(|(_, link, why)| (i == 0, link, why)))
        .collect();
    let base = match found.as_slice() {
        [(_, a, _), (_, b, _)] => common_ancestor(model, *a, *b),
        [(_, a, _)] => first_moving_parent(model, *a),
        _ => return Vec::new(),
    };
    let single = found.len() == 1;
    found
        .into_iter()
        .map(|(left, tip, why)| Arm {
            // A single arm is driven by the left hand: the one the bundled script moves.
            left: left || single,
            base,
            tip,
            dof: model.dofs_between(base, tip).map_or(0, |d| d.len()),
            why,
            fingers: finger_joints(model, tip),
        })
        .filter(|a| a.dof >= MIN_ARM_DOF)
        .collect()
}

/// Movable joints hanging below the body `tip` is fixed to (its fingers; a tool frame is often
/// a sibling of the fingers, fixed to the hand), as (independent, mimics).
fn finger_joints(model: &Model, tip: LinkId) -> (Vec<usize>, Vec<usize>) {
    let body = model
        .ancestors(tip)
        .find(|&l| {
            model.links[l].parent_joint.is_none_or(|j| {
                model.joints[j].kind.is_movable() || model.joints[j].mimic.is_some()
            })
        })
        .unwrap_or(tip);
    let on_arm = |j: usize| {
        model
            .ancestors(tip)
            .any(|l| model.links[l].parent_joint == Some(j))
    };
    let below = |j: usize| !on_arm(j) && model.ancestors(model.joints[j].parent).any(|l| l == body);
    let (mut independent, mut mimics) = (Vec::new(), Vec::new());
    for (j, joint) in model.joints.iter().enumerate() {
        if !below(j) {
            continue;
        }
        if joint.mimic.is_some() {
            mimics.push(j);
        } else if joint.kind.is_movable() {
            independent.push(j);
        }
    }
    (independent, mimics)
}

/// A gripper's open and closed positions: the limit where the finger links stand farther
/// apart is open. Fingers that cannot be told apart: open at the limit farther from zero.
fn gripper_open_closed(
    model: &Model,
    tree: &Tree,
    leader: usize,
    fingers: &[usize],
) -> Option<(f64, f64, &'static str)> {
    let (lo, hi) = model.joints[leader].limits.position?;
    let dof = model.dof_of_joint[leader]?;
    let spread = |value: f64| -> Option<f64> {
        let mut q = vec![0.0; model.dof()];
        q[dof] = value;
        let mut poses = vec![Pose::identity(); model.links.len()];
        tree.forward(&q, &mut poses);
        let points: Vec<Vector3<f64>> = fingers
            .iter()
            .map(|&j| poses[model.joints[j].child].translation.vector)
            .collect();
        (points.len() >= 2).then(|| (points[0] - points[1]).norm())
    };
    let (open_at_hi, why) = match (spread(lo), spread(hi)) {
        (Some(a), Some(b)) if (a - b).abs() > 1e-4 => {
            (b > a, "the fingers stand farther apart at `open`")
        }
        _ => (
            hi.abs() >= lo.abs(),
            "one finger: `open` is the limit farther from 0 (check it)",
        ),
    };
    let (open, closed) = if open_at_hi { (hi, lo) } else { (lo, hi) };
    Some((open, closed, why))
}

/// The rest posture of one arm (model `q`, changed only on the arm's joints): random postures,
/// the one whose tool is nearest a point in front of the chest with joints off their limits.
/// Also the arm's reach: the farthest the sampled tool got from the shoulder (m).
fn rest_posture(
    model: &Model,
    root_from_zero: &[Pose],
    arm: &Arm,
    palmar: Option<&Vector3<f64>>,
    q: &mut [f64],
    seed: u64,
) -> Option<(String, f64)> {
    let chain = Chain::new(
        model,
        &model.links[arm.base].name,
        &model.links[arm.tip].name,
    )
    .ok()?;
    let vars = chain.model_vars().to_vec();
    let ranges: Vec<(f64, f64)> = chain
        .dofs()
        .iter()
        .map(|&j| {
            let (lo, hi) = model.joints[j].limits.position.unwrap_or((-3.0, 3.0));
            // Continuous joints and huge ranges: within ±π of 0.
            (lo.max(-std::f64::consts::PI), hi.min(std::f64::consts::PI))
        })
        .collect();
    // The shoulder: where the arm's first joint sits (in the base frame, at zero posture).
    let first = chain.dofs()[0];
    let mut zero = vec![0.0; chain.dof()];
    let shoulder = {
        let base = root_from_zero[arm.base];
        (base.inverse() * root_from_zero[model.joints[first].child])
            .translation
            .vector
    };
    let side = if arm.left { 1.0 } else { -1.0 };
    let mut noise = SplitMix64::new(seed);
    let samples: Vec<(Vec<f64>, Vector3<f64>)> = (0..REST_SAMPLES)
        .map(|_| {
            for (v, (lo, hi)) in zero.iter_mut().zip(&ranges) {
                *v = lo + (hi - lo) * noise.unit();
            }
            (zero.clone(), chain.forward(&zero).translation.vector)
        })
        .collect();
    let l = samples
        .iter()
        .map(|(_, p)| (p - shoulder).norm())
        .fold(0.05, f64::max);
    let target = shoulder + Vector3::new(0.55 * l, 0.15 * side * (l / 0.55).min(1.0), -0.35 * l);
    let approach = approach_axis(model, root_from_zero, arm);
    let cost = |q: &[f64]| -> (f64, Vector3<f64>) {
        let pose = chain.forward(q);
        let p = pose.translation.vector;
        let off_mid: f64 = q
            .iter()
            .zip(&ranges)
            .map(|(v, (lo, hi))| {
                let u = 2.0 * (v - (lo + hi) / 2.0) / (hi - lo).max(1e-9);
                u.powi(4)
            })
            .sum::<f64>()
            / ranges.len() as f64;
        // The tool pointing forward: the bundled script then pitches it down to grasp from
        // above. A hand that grasps palm down faces the other hand: the palm-down script's
        // turn about the forward axis then turns its palm to the table.
        let pointing = approach.map_or(0.0, |a| 1.0 - (pose.rotation * a).x);
        let facing = palmar.map_or(0.0, |n| 1.0 + side * (pose.rotation * n).y);
        (
            (p - target).norm_squared() / (l * l) + 0.02 * off_mid + 0.3 * pointing + 0.3 * facing,
            p,
        )
    };
    let mut best = (f64::INFINITY, zero.clone());
    for (q, _) in &samples {
        let (c, _) = cost(q);
        if c < best.0 {
            best = (c, q.clone());
        }
    }
    // Refined joint by joint: random samples land near, not on, a good posture.
    for step in [0.1, 0.03, 0.01, 0.003] {
        for _ in 0..30 {
            let mut moved = false;
            for k in 0..best.1.len() {
                for sign in [1.0, -1.0] {
                    let mut q = best.1.clone();
                    q[k] = (q[k] + sign * step).clamp(ranges[k].0, ranges[k].1);
                    let (c, _) = cost(&q);
                    if c < best.0 {
                        best = (c, q);
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    let (_, p) = cost(&best.1);
    for (&var, &value) in vars.iter().zip(&best.1) {
        q[var] = value;
    }
    let why = format!(
        "the tool {:.2} m forward, {:.2} m {}, {:.2} m {} the base (aimed at {:.2}, {:.2}, {:.2})",
        p.x,
        p.y.abs(),
        if p.y >= 0.0 { "left" } else { "right" },
        p.z.abs(),
        if p.z >= 0.0 { "above" } else { "below" },
        target.x,
        target.y,
        target.z
    );
    Some((why, l))
}

/// The tool's approach axis in its own frame: for a tool frame (tcp, tool0, ee… links) ROS's
/// convention, +Z, unless its fingers sit on its +Z side (a frame turned the other way: the
/// bundled humanoid's grasp centre hangs below its fingers' base along −Z), then the nearest
/// axis from the fingers to it; for another link the nearest axis towards its fingers; else
/// none.
fn approach_axis(model: &Model, root_from_zero: &[Pose], arm: &Arm) -> Option<Vector3<f64>> {
    let name = &model.links[arm.tip].name;
    let tool_frame = ["tcp", "tool", "ee", "eef", "end_effector", "flange"]
        .iter()
        .any(|w| has_word(name, w));
    let (independent, mimics) = &arm.fingers;
    let tool = root_from_zero[arm.tip];
    let towards: Vector3<f64> = independent
        .iter()
        .chain(mimics)
        .map(|&j| {
            (tool.inverse() * root_from_zero[model.joints[j].child])
                .translation
                .vector
        })
        .sum();
    let nearest = |v: Vector3<f64>| {
        let k = v.iamax();
        let mut axis = Vector3::zeros();
        axis[k] = v[k].signum();
        axis
    };
    let fingers = towards.norm() > 1e-6;
    match (fingers, tool_frame) {
        (true, true) if towards.z > 0.5 * towards.norm() => Some(nearest(-towards)),
        (_, true) => Some(Vector3::z()),
        (true, false) => Some(nearest(towards)),
        (false, false) => None,
    }
}

/// The largest motion scale, from `most` down in steps of 0.05 to 0.3, at which the bundled
/// script's grasp, lifted and carried poses are all within the arm's reach (a global IK solve
/// to 2 mm and 0.05 rad each), the tool turned as the script turns the trainer's hand: palm
/// down about the forward axis for a palm-down hand, else fingers down about the side axis;
/// one step lower where `most` had to be lowered. The tool rests at posture `q` with its centre
/// `tool` in the tip's frame. `most` where no scale passes or the arm cannot be solved: the
/// reach alone then decides.
fn fitted_scale(
    model: &Model,
    root_from_zero: &[Pose],
    arm: &Arm,
    tool: &Vector3<f64>,
    palm_down: bool,
    q: &[f64],
    most: f64,
) -> f64 {
    use crate::app::layout::{GRASP_FROM_REST, SPOT_FROM_GRASP};
    use crate::ik::{Options, Solver, Target, Task};
    use nalgebra::{Rotation3, Translation3};
    let Ok(chain) = Chain::new(
        model,
        &model.links[arm.base].name,
        &model.links[arm.tip].name,
    ) else {
        return most;
    };
    let chain = chain.with_tool(tool);
    let q_chain: Vec<f64> = chain.model_vars().iter().map(|&v| q[v]).collect();
    let rest = chain.forward(&q_chain);
    let options = Options {
        position_tolerance_m: 0.002,
        rotation_tolerance_rad: 0.05,
        // Restarts, not time, bound the search: the same URDF drafts the same on a busy machine.
        solve_timeout_s: f64::INFINITY,
        max_restarts: 200,
        ..Options::default()
    };
    let Ok(mut solver) = Solver::new(model, vec![Task::new(chain)], options) else {
        return most;
    };
    // The script's moves are in the robot's root axes; the base may be turned from them.
    let base_from_root = root_from_zero[arm.base].rotation.inverse();
    let side = if arm.left { 1.0 } else { -1.0 };
    let turn = if palm_down {
        Rotation3::from_axis_angle(&Vector3::x_axis(), side * std::f64::consts::FRAC_PI_2)
    } else {
        Rotation3::from_axis_angle(&Vector3::y_axis(), std::f64::consts::FRAC_PI_2)
    };
    let turned = base_from_root * turn * base_from_root.inverse() * rest.rotation;
    let grasp = Vector3::from(GRASP_FROM_REST);
    let carry = Vector3::new(
        SPOT_FROM_GRASP[0],
        side * SPOT_FROM_GRASP[1],
        SPOT_FROM_GRASP[2],
    );
    let lift = Vector3::new(0.0, 0.0, 0.1);
    let mut scale = most;
    while scale > 0.3 - 1e-9 {
        let reached = [grasp, grasp + lift, grasp + carry + lift, grasp + carry]
            .iter()
            .all(|&moved| {
                let at = rest.translation.vector + base_from_root * (moved * scale);
                solver.set_target(
                    0,
                    Target::Pose(Pose::from_parts(Translation3::from(at), turned)),
                );
                let mut q = q_chain.clone();
                solver.solve(&mut q).ok
            });
        if reached {
            // Lowered to the edge of the reach: one step more keeps the far poses off it.
            return if scale < most { scale - 0.05 } else { scale };
        }
        scale -= 0.05;
    }
    most
}

/// Links named like a camera, optical frames (+Z forward), depth and infrared ones passed over.
fn camera_links(model: &Model) -> Vec<&str> {
    model
        .links
        .iter()
        .map(|l| l.name.as_str())
        .filter(|n| {
            let lower = n.to_ascii_lowercase();
            (lower.contains("camera") || words(n).iter().any(|w| w == "cam" || w == "eye"))
                && !lower.contains("optical")
                && !lower.contains("depth")
                && !lower.contains("infra")
        })
        .collect()
}

/// The drafted `[camera]`: a left/right pair of camera links as they are; else a virtual pair
/// on one camera link, or on the head, moved forward out of the head's own mesh; else, for a
/// robot with no head, a virtual pair behind and above the arms' base looking down at where the
/// tools rest (where a trainer standing behind the robot would look from). Key lines, then
/// the comment saying why.
fn draft_camera(
    model: &Model,
    root_from_zero: &[Pose],
    root_from_rest: &[Pose],
    arms: &[Arm],
    reach: f64,
    head: Option<LinkId>,
) -> (Vec<String>, String) {
    let cameras = camera_links(model);
    let left = cameras.iter().find(|n| side_of_name(n) == Some(true));
    let right = cameras.iter().find(|n| side_of_name(n) == Some(false));
    if let (Some(l), Some(r)) = (left, right) {
        return (
            vec![
                format!("left_link = {}", toml_string(l)),
                format!("right_link = {}", toml_string(r)),
            ],
            "a left/right pair of camera links".into(),
        );
    }
    let baseline = StereoCamera::DEFAULT_BASELINE_M;
    let camera = cameras.first().and_then(|name| model.link_id(name));
    let head = head.or_else(|| model.links.iter().position(|l| has_word(&l.name, "head")));
    let mounted = camera
        .map(|l| (l, "one camera link", 0.0))
        .or(head.map(|h| {
            // A head link's origin is often its neck joint, below the face: the eyes go halfway
            // up the head's own mesh.
            // A head without a mesh keeps the fold's start, (MAX, MIN), whose midpoint is exactly 0.
            let (lo, hi) = visual_points(model, h)
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), p| {
                    (lo.min(p.z), hi.max(p.z))
                });
            (h, "no camera link; the head", (lo + hi) / 2.0)
        }));
    let tools_in = |link: LinkId| {
        let link_from_root = root_from_rest[link].inverse();
        arms.iter()
            .map(|a| (link_from_root * root_from_rest[a.tip]).translation.vector)
            .sum::<Vector3<f64>>()
            / arms.len() as f64
    };
    if let Some((link, what, height)) = mounted {
        // The whole head's shell (20 cm across) around the eyes, not just their line of sight:
        // with a 60° view, a shell above or beside them still fills the picture.
        let ahead = mesh_ahead_m(model, root_from_zero, link, height, 0.1, 0.1);
        let forward = ahead.map_or(0.0, |x| x + 0.01);
        // Tilted down to the hands at rest, as a trainer looks at their work.
        let tools = tools_in(link) - Vector3::new(forward, 0.0, height);
        let pitch = (-tools.z)
            .atan2(tools.x.max(0.05))
            .to_degrees()
            .clamp(0.0, 60.0);
        let name = &model.links[link].name;
        let why = match ahead {
            Some(x) => format!(
                "{what}, \"{name}\", carries a virtual pair {baseline} m apart, moved {forward:.3} m forward along its +X out of the robot's own mesh (which reaches {x:.3} m ahead of the link), looking down {pitch:.0}° at the hands at rest; check that +X looks forward"
            ),
            None => format!(
                "{what}, \"{name}\", carries a virtual pair {baseline} m apart (no mesh of the robot's in front of it), looking down {pitch:.0}° at the hands at rest; check that +X looks forward"
            ),
        };
        return (
            vec![
                format!("link = {}", toml_string(name)),
                format!("baseline_m = {baseline}"),
                format!("offset_m = [{forward:.3}, 0.0, {height:.3}]"),
                format!("pitch_deg = {pitch:.1}"),
            ],
            why,
        );
    }
    // No head: look at the tools' rest points from behind and above, at a distance that grows
    // with the arm (a 0.85 m Panda is watched from farther than a 0.4 m desk arm).
    let base = arms[0].base;
    let target = tools_in(base);
    // Steeply from above, so an elbow that rises between the base and the tool does not hide it;
    // at least 0.5 m away, so a small arm is not seen cross-eyed.
    let (back, up) = (0.5 * reach.max(0.45), 1.0 * reach.max(0.45));
    let eye = target + Vector3::new(-back, 0.0, up);
    let pitch = up.atan2(back).to_degrees();
    (
        vec![
            format!("link = {}", toml_string(&model.links[base].name)),
            format!("baseline_m = {baseline}"),
            format!("offset_m = [{:.3}, {:.3}, {:.3}]", eye.x, eye.y, eye.z),
            format!("pitch_deg = {pitch:.1}"),
        ],
        format!(
            "no camera link and no head: a virtual pair {baseline} m apart on \"{}\", {back:.2} m behind and {up:.2} m above where the tools rest, looking down {pitch:.0}° at them (a trainer's view from behind the robot)",
            model.links[base].name
        ),
    )
}

/// How far ahead of `link`'s origin (along its +X) the robot's own visual geometry reaches,
/// counting only what lies within `half_width` sideways and `half_height` up or down of the
/// line at `height` above the origin (where the eyes look through): `None` if nothing does.
/// Geometry of the links rigidly fixed to `link` counts, at the zero posture; a mesh that cannot
/// be read is skipped.
fn mesh_ahead_m(
    model: &Model,
    root_from_zero: &[Pose],
    link: LinkId,
    height: f64,
    half_width: f64,
    half_height: f64,
) -> Option<f64> {
    let link_from_root = root_from_zero[link].inverse();
    let mut ahead: Option<f64> = None;
    for other in rigid_group(model, link) {
        let link_from_other = link_from_root * root_from_zero[other];
        for p in visual_points(model, other) {
            let p = link_from_other * p;
            if p.y.abs() <= half_width && (p.z - height).abs() <= half_height && p.x > 0.0 {
                ahead = Some(ahead.map_or(p.x, |a: f64| a.max(p.x)));
            }
        }
    }
    ahead
}

/// `link` and every link joined to it by fixed joints, up and down.
fn rigid_group(model: &Model, link: LinkId) -> Vec<LinkId> {
    let mut group = vec![link];
    let mut i = 0;
    while i < group.len() {
        let l = group[i];
        let node = &model.links[l];
        let up = node
            .parent_joint
            .filter(|&j| model.joints[j].kind == JointKind::Fixed)
            .map(|j| model.joints[j].parent);
        let down = node
            .child_joints
            .iter()
            .filter(|&&j| model.joints[j].kind == JointKind::Fixed)
            .map(|&j| model.joints[j].child);
        for n in up.into_iter().chain(down) {
            if !group.contains(&n) {
                group.push(n);
            }
        }
        i += 1;
    }
    group
}

/// Points bounding `link`'s visual geometry, in the link's frame.
fn visual_points(model: &Model, link: LinkId) -> Vec<Point3<f64>> {
    model.links[link]
        .visuals
        .iter()
        .flat_map(|v| {
            shape_points(&v.shape)
                .into_iter()
                .map(move |p| v.link_from_shape * Point3::from(p))
        })
        .collect()
}

/// Points of a shape in its own frame that bound it: a mesh's vertices, else the corners of
/// the primitive's box.
fn shape_points(shape: &Shape) -> Vec<Vector3<f64>> {
    let corners = |h: Vector3<f64>| {
        (0..8)
            .map(|k| {
                let s = |bit: usize| if k & bit == 0 { -1.0 } else { 1.0 };
                Vector3::new(s(1) * h.x, s(2) * h.y, s(4) * h.z)
            })
            .collect()
    };
    match shape {
        Shape::Box { size } => corners(size / 2.0),
        Shape::Cylinder { radius, length } => corners(Vector3::new(*radius, *radius, length / 2.0)),
        Shape::Capsule { radius, length } => {
            corners(Vector3::new(*radius, *radius, length / 2.0 + radius))
        }
        Shape::Sphere { radius } => corners(Vector3::repeat(*radius)),
        Shape::Mesh(mesh) => mesh.load().map_or_else(
            |_| Vec::new(),
            |m| {
                m.positions
                    .iter()
                    .map(|p| Vector3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2])))
                    .collect()
            },
        ),
    }
}

/// A neck: movable joints from the arms' base up to a link named like a head.
fn find_neck(model: &Model, base: LinkId) -> Option<(LinkId, usize)> {
    model
        .links
        .iter()
        .enumerate()
        .filter(|(_, l)| has_word(&l.name, "head") || has_word(&l.name, "neck"))
        .filter_map(|(link, _)| Some((link, model.dofs_between(base, link)?.len())))
        .filter(|&(_, dof)| (1..=3).contains(&dof))
        .max_by_key(|&(link, dof)| (dof, model.ancestors(link).count()))
}

/// One finger of a drafted hand: the joints that move its tip (independent ones), and its tip.
struct Finger {
    name: &'static str,
    follows: &'static str,
    joints: Vec<usize>,
    tip: LinkId,
    /// The tip in `tip`'s frame: the farthest point of the last phalanx's mesh (URDF hands
    /// rarely have a fingertip link).
    offset: Vector3<f64>,
}

/// A drafted `[hands.*]` mapping, as TOML lines and the comment saying why, for a hand of
/// several independent finger `joints` below an arm's tool; `None` if its fingers cannot be
/// told apart. What it infers, from the geometry at the rest posture `q` (fingers open):
/// - each finger: a last phalanx (a moving link with no moving link below it), its tip a fixed
///   child named like a tip or else the farthest point of its mesh, named from the link's
///   words (thumb, index, …) or in order;
/// - the grasp synergy `closed`: each finger joint 70 % of the way to the limit that brings its
///   tip nearer the wrist (the thumb's: nearer the other fingers' closed tips);
/// - `root_from_wrist`: the fingers point along the trainer's wrist −Z and close towards −Y;
/// - with a thumb standing out of the palm at least [`PALM_DOWN_GAP_M`] short of the knuckles,
///   a palm-down grasp ([`Grasp`]): the object between the thumb and the fingers, which close
///   onto it from a hand held ready (`open`), and the synergy below instead of 70 %.
fn draft_hand(
    model: &Model,
    tree: &Tree,
    arm: &Arm,
    joints: &[usize],
    q: &[f64],
) -> Option<DraftedHand> {
    let below = |l: LinkId, top: LinkId| model.ancestors(l).any(|a| a == top);
    let root = if joints
        .iter()
        .all(|&j| below(model.joints[j].parent, arm.tip))
    {
        arm.tip
    } else {
        model.joints[joints[0]].parent
    };
    let moving = |l: LinkId| {
        model.links[l]
            .parent_joint
            .is_some_and(|j| model.joints[j].kind.is_movable())
    };
    let wrist = model
        .ancestors(root)
        .find(|&l| moving(l) || model.links[l].parent_joint.is_none())
        .unwrap_or(root);
    let mut fingers: Vec<Finger> = Vec::new();
    for (link, node) in model.links.iter().enumerate() {
        if link == root || !moving(link) || !below(link, root) {
            continue;
        }
        if (0..model.links.len()).any(|c| c != link && moving(c) && below(c, link)) {
            continue;
        }
        let chain: Vec<usize> = joints
            .iter()
            .copied()
            .filter(|&j| below(link, model.joints[j].child))
            .collect();
        if chain.is_empty() {
            continue;
        }
        let tip_child = node
            .child_joints
            .iter()
            .map(|&j| model.joints[j].child)
            .find(|&c| has_word(&model.links[c].name, "tip"));
        let (tip, offset) = match tip_child {
            Some(c) => (c, Vector3::zeros()),
            None => {
                let far = visual_points(model, link)
                    .into_iter()
                    .map(|p| p.coords)
                    .max_by(|a, b| a.norm().total_cmp(&b.norm()))
                    .unwrap_or_else(Vector3::zeros);
                (link, far)
            }
        };
        let link_words = words(&model.links[link].name);
        let named = FINGER_NAMES
            .iter()
            .find(|(w, _, _)| link_words.iter().any(|x| x == w));
        let (name, follows) = named.map_or(("", ""), |&(_, n, f)| (n, f));
        fingers.push(Finger {
            name,
            follows,
            joints: chain,
            tip,
            offset,
        });
    }
    // Unnamed fingers take the names left, in URDF order.
    for k in 0..fingers.len() {
        if fingers[k].name.is_empty() {
            let &(_, name, follows) = FINGER_NAMES[1..]
                .iter()
                .find(|(_, n, _)| !fingers.iter().any(|f| f.name == *n))?;
            fingers[k].name = name;
            fingers[k].follows = follows;
        }
    }
    let others: Vec<usize> = (0..fingers.len())
        .filter(|&k| fingers[k].name != "thumb")
        .collect();
    if fingers.len() < 2 || others.is_empty() {
        return None;
    }
    let mut poses = vec![Pose::identity(); model.links.len()];
    tree.forward(q, &mut poses);
    let wrist_in_root = Point3::from((poses[root].inverse() * poses[wrist]).translation.vector);
    // Drafting calls this a few dozen times: a fresh buffer each keeps the closures simple.
    let point = |q: &[f64], link: LinkId, offset: &Vector3<f64>| {
        let mut poses = vec![Pose::identity(); model.links.len()];
        tree.forward(q, &mut poses);
        (poses[root].inverse() * poses[link]) * Point3::from(*offset)
    };
    let base = |f: &Finger| f.joints.first().map(|&j| model.joints[j].child);
    let mean = |q: &[f64], at: &dyn Fn(&Finger) -> Option<LinkPoint>| {
        let mut sum = Vector3::zeros();
        for &k in &others {
            let (link, offset) = at(&fingers[k])?;
            sum += point(q, link, &offset).coords / others.len() as f64;
        }
        Some(sum)
    };
    let tip = |f: &Finger| Some((f.tip, f.offset));
    let open_tips = mean(q, &tip)?;
    let distal = (open_tips - wrist_in_root.coords).try_normalize(1e-6)?;
    // A thumb standing out of the palm with room for an object between its base and the
    // knuckles along the fingers (Unitree's Dex3) grasps palm down; one that opposes its
    // fingers across the palm (the bundled humanoid's) does not.
    let knuckles = mean(q, &|f| base(f).map(|b| (b, Vector3::zeros())))?;
    let thumb = fingers
        .iter()
        .position(|f| f.name == "thumb")
        .and_then(|t| Some((t, point(q, base(&fingers[t])?, &Vector3::zeros()).coords)))
        .filter(|(_, thumb_base)| distal.dot(&(knuckles - thumb_base)) >= PALM_DOWN_GAP_M);
    let tip_at = |q: &[f64], f: &Finger| point(q, f.tip, &f.offset);
    // Palm down, the synergy curls each finger's first joint all the way (a wall the thumb
    // presses the object against), the later ones a little, the thumb a quarter; otherwise
    // every joint 70 %, the thumb onto where the fingers closed.
    let fraction = |f: &Finger, j: usize| match (thumb, f.name) {
        (None, _) => 0.7,
        (Some(_), "thumb") => 0.25,
        (Some(_), _) if f.joints.first() == Some(&j) => 1.0,
        (Some(_), _) => 0.15,
    };
    // The fingers first, towards the wrist; then the thumb onto where they closed.
    let thumbs = (0..fingers.len()).filter(|&k| fingers[k].name == "thumb");
    let mut closed_q = q.to_vec();
    let mut closed: Vec<(usize, f64)> = Vec::new();
    // Per joint: the limit that curls it (towards `target`), and the other.
    let mut curls: Vec<(usize, f64, f64)> = Vec::new();
    let mut fingers_closed = Vector3::zeros();
    for k in others.iter().copied().chain(thumbs) {
        let f = &fingers[k];
        let target = if f.name == "thumb" {
            Point3::from(fingers_closed)
        } else {
            wrist_in_root
        };
        for &j in &f.joints {
            let (Some(dof), Some((lo, hi))) =
                (model.dof_of_joint[j], model.joints[j].limits.position)
            else {
                continue;
            };
            let open = closed_q[dof].clamp(lo, hi);
            let mut best: Option<(f64, f64)> = None;
            for limit in [lo, hi] {
                if (limit - open).abs() < 1e-6 {
                    continue;
                }
                closed_q[dof] = open + 0.7 * (limit - open);
                let d = (tip_at(&closed_q, f) - target).norm();
                if best.is_none_or(|(b, _)| d < b) {
                    best = Some((d, limit));
                }
            }
            let Some((_, limit)) = best else {
                closed_q[dof] = open;
                continue;
            };
            closed_q[dof] = open + 0.7 * (limit - open);
            curls.push((j, limit, if limit == hi { lo } else { hi }));
            closed.push((j, open + fraction(f, j) * (limit - open)));
        }
        if f.name != "thumb" {
            fingers_closed += tip_at(&closed_q, f).coords / others.len() as f64;
        }
    }
    // The hand's axes in the root's frame, from where the fingers point and where they close.
    let closed_tips = mean(&closed_q, &tip)?;
    let towards = closed_tips - open_tips;
    let palmar = (towards - distal * towards.dot(&distal)).try_normalize(1e-6)?;
    let (z, y) = (-distal, -palmar);
    let x = y.cross(&z);
    // Six decimals: `profile check` wants a rotation to within its rounding.
    let row = |i: usize| format!("[{:.6}, {:.6}, {:.6}]", x[i], y[i], z[i]);
    let at = |link: LinkId, offset: &Vector3<f64>| {
        format!(
            "{{ link = {}, offset = [{:.4}, {:.4}, {:.4}] }}",
            toml_string(&model.links[link].name),
            offset.x,
            offset.y,
            offset.z
        )
    };
    let mut lines = vec![
        format!("root = {}", toml_string(&model.links[root].name)),
        format!("root_from_wrist = [{}, {}, {}]", row(0), row(1), row(2)),
        "scale = \"calibrate\"".to_string(),
        "fingertips = [".to_string(),
    ];
    for f in &fingers {
        lines.push(format!(
            "    {{ name = \"{}\", tip = {}, origin = {}, follows = \"{}\" }},",
            f.name,
            at(f.tip, &f.offset),
            at(root, &wrist_in_root.coords),
            f.follows
        ));
    }
    lines.push("]".into());
    if fingers.iter().any(|f| f.name == "thumb") {
        let pairs: Vec<String> = others
            .iter()
            .map(|&k| format!("{{ thumb = \"thumb\", finger = \"{}\" }}", fingers[k].name))
            .collect();
        lines.push(format!("pinch = [{}]", pairs.join(", ")));
    }
    let root_from_tip = poses[root].inverse() * poses[arm.tip];
    let grasp = thumb.and_then(|(t, thumb_base)| {
        palm_down_grasp(
            model,
            &point,
            (&fingers, t),
            (&thumb_base, &knuckles),
            &curls,
            q,
            &palmar,
        )
        .map(|g| g.in_frame(&root_from_tip.inverse()))
    });
    // Three decimals, rounded inwards at a limit (the profile's check wants values within).
    let list = |values: &[(usize, f64)]| -> String {
        values
            .iter()
            .map(|&(j, v)| {
                let mut v = (v * 1e3).round() / 1e3;
                if let Some((lo, hi)) = model.joints[j].limits.position {
                    v = v.clamp((lo * 1e3).ceil() / 1e3, (hi * 1e3).floor() / 1e3);
                }
                format!("{} = {v:.3}", toml_key(&model.joints[j].name))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(g) = &grasp {
        lines.push(format!("open = {{ {} }}", list(&g.open)));
    }
    lines.push(format!("closed = {{ {} }}", list(&closed)));
    let names: Vec<&str> = fingers.iter().map(|f| f.name).collect();
    let synergy = if grasp.is_some() {
        "a palm-down grasp: the thumb stands out of the palm with room for an object between it and the knuckles, so the trigger closes the hand from `open` (fingers 40 % curled, the thumb bent back) to `closed` (each finger's first joint all the way, a wall the thumb presses the object against, the later joints 15 %, the thumb 25 %)"
    } else {
        "with controllers the trigger closes them along `closed` (each joint 70 % of the way to the limit that curls it; the thumb onto the others)"
    };
    let why = format!(
        "{} fingers ({}) below \"{}\"; each tip at the far end of its last phalanx, each vector from the wrist \"{}\" (its origin, in the root's frame); {synergy}; root_from_wrist from where the fingers point and close; scale calibrated per trainer from an open hand",
        fingers.len(),
        names.join(", "),
        model.links[root].name,
        model.links[wrist].name
    );
    Some(DraftedHand { lines, why, grasp })
}

/// A point fixed to a link: the link, and the point in its frame.
type LinkPoint = (LinkId, Vector3<f64>);

/// Where a link's point is (in a hand root's frame) at a posture.
type PointAt<'a> = dyn Fn(&[f64], LinkId, &Vector3<f64>) -> Point3<f64> + 'a;

/// A drafted `[hands.*]` mapping: its TOML lines, why, and the palm-down grasp of a hand with a
/// thumb.
struct DraftedHand {
    lines: Vec<String>,
    why: String,
    grasp: Option<Grasp>,
}

/// How a hand with a thumb grasps palm down, as `profiles/unitree_g1.toml` does by hand: the
/// thumb stands out of the palm near the wrist, and the object is held between it and the
/// fingers curled down in front of it.
struct Grasp {
    /// The grasp centre (in the arm's tip frame: the end-effector's `tool_offset`): midway
    /// between the thumb's base and the knuckles, 0.7 of the thumb's reach out of the palm.
    tool: Vector3<f64>,
    /// The direction the palm faces (the fingers close towards it).
    palmar: Vector3<f64>,
    /// The ready hand (`open`): each finger's first joint 40 % of the way to curling, each
    /// thumb joint at the limit that takes its tip farthest from the closed fingers (where that
    /// moves it more than 5 mm).
    open: Vec<(usize, f64)>,
}

impl Grasp {
    /// The same grasp with its points and directions in another frame (`to_from_root`).
    fn in_frame(self, to_from_root: &Pose) -> Grasp {
        Grasp {
            tool: (to_from_root * Point3::from(self.tool)).coords,
            palmar: to_from_root.rotation * self.palmar,
            ..self
        }
    }
}

/// The palm-down grasp (in the hand root's frame) of a hand whose fingers are `fingers`
/// (`fingers[thumb]` its thumb, based at `thumb_base`, the others' knuckles at `knuckles` on
/// average), `curls` each finger joint's (joint, limit that curls it, other limit), at posture
/// `q` (fingers open); `point` finds a link's point in the root's frame at a posture.
fn palm_down_grasp(
    model: &Model,
    point: &PointAt,
    (fingers, thumb): (&[Finger], usize),
    (thumb_base, knuckles): (&Vector3<f64>, &Vector3<f64>),
    curls: &[(usize, f64, f64)],
    q: &[f64],
    palmar: &Vector3<f64>,
) -> Option<Grasp> {
    let others: Vec<&Finger> = (0..fingers.len())
        .filter(|&k| k != thumb)
        .map(|k| &fingers[k])
        .collect();
    let thumb = &fingers[thumb];
    let reach = palmar.dot(&(point(q, thumb.tip, &thumb.offset).coords - thumb_base));
    if reach <= 0.0 {
        return None;
    }
    let middle = (thumb_base + knuckles) / 2.0;
    let centre = middle + palmar * (palmar.dot(&(thumb_base - middle)) + 0.7 * reach);
    // Where the fingers' tips are when the hand is fully curled.
    let mut curled = q.to_vec();
    for &(j, curl, _) in curls {
        if let Some(dof) = model.dof_of_joint[j] {
            curled[dof] = curl;
        }
    }
    let fingers_curled: Vector3<f64> = others
        .iter()
        .map(|f| point(&curled, f.tip, &f.offset).coords / others.len() as f64)
        .sum();
    let mut open = Vec::new();
    for &(j, curl, back) in curls {
        let Some(dof) = model.dof_of_joint[j] else {
            continue;
        };
        if thumb.joints.contains(&j) {
            let mut moved = q.to_vec();
            moved[dof] = back;
            let gain = (point(&moved, thumb.tip, &thumb.offset).coords - fingers_curled).norm()
                - (point(q, thumb.tip, &thumb.offset).coords - fingers_curled).norm();
            if gain > 0.005 {
                open.push((j, back));
            }
        } else if others.iter().any(|f| f.joints.first() == Some(&j)) {
            open.push((j, q[dof] + 0.4 * (curl - q[dof])));
        }
    }
    Some(Grasp {
        tool: centre,
        palmar: *palmar,
        open,
    })
}

/// The arm joint that most falls short of holding its arm still against gravity at posture
/// `root_from` (the root upright, +Z up), as "what gravity puts on it, over its URDF effort
/// limit"; `None` when every limit suffices. A real robot built so is counterbalanced or its
/// controllers feed gravity forward.
fn short_of_gravity(model: &Model, root_from: &[Pose], arms: &[Arm]) -> Option<String> {
    let gravity = Vector3::new(0.0, 0.0, -9.81);
    let mut worst: Option<(f64, String)> = None;
    for arm in arms {
        for link in model.ancestors(arm.tip).take_while(|&l| l != arm.base) {
            let Some(j) = model.links[link].parent_joint else {
                break;
            };
            let joint = &model.joints[j];
            let Some(limit) = joint.limits.effort.filter(|e| *e > 0.0) else {
                continue;
            };
            let frame = &root_from[joint.child];
            let axis = frame.rotation * joint.axis.into_inner();
            let origin = frame.translation.vector;
            // What gravity does to everything below the joint, along (or about) its axis.
            let below = (0..model.links.len())
                .filter(|&l| model.ancestors(l).any(|a| a == joint.child))
                .filter_map(|l| {
                    let inertial = model.links[l].inertial.as_ref()?;
                    let com = (root_from[l] * inertial.link_from_com).translation.vector;
                    Some((com - origin, gravity * inertial.mass_kg))
                });
            let (load, unit) = match joint.kind {
                JointKind::Revolute | JointKind::Continuous => (
                    below.map(|(r, f)| axis.dot(&r.cross(&f))).sum::<f64>(),
                    "N·m",
                ),
                JointKind::Prismatic => (below.map(|(_, f)| axis.dot(&f)).sum::<f64>(), "N"),
                JointKind::Fixed => continue,
            };
            let shortfall = load.abs() / limit;
            if shortfall > 1.0 && worst.as_ref().is_none_or(|(s, _)| shortfall > *s) {
                let what = format!(
                    "{:.1} {unit} on \"{}\", over its URDF effort limit of {limit:.1} {unit}",
                    load.abs(),
                    joint.name
                );
                worst = Some((shortfall, what));
            }
        }
    }
    worst.map(|(_, what)| what)
}

fn toml_string(s: &str) -> String {
    format!("{s:?}")
}

/// The drafted profile's text for `model`, naming its URDF `urdf_in_profile` and, for a hand
/// that grasps palm down, the bundled palm-down script `palm_down_script` (both as the profile
/// will name them: relative to where it is written).
pub fn draft(
    model: &Model,
    urdf_in_profile: &str,
    palm_down_script: &str,
    seed: u64,
) -> anyhow::Result<String> {
    let tree = Tree::new(model);
    let mut poses = vec![Pose::identity(); model.links.len()];
    tree.forward(&vec![0.0; model.dof()], &mut poses);
    let arms = find_arms(model, &poses);
    if arms.is_empty() {
        anyhow::bail!(
            "{}: no arm found: no link named like a tool (tcp, tool, ee, palm, hand, gripper, flange, wrist) with {MIN_ARM_DOF} or more joints above it; a hand-only URDF has no arm to drive",
            model.name
        );
    }
    let mut out = String::new();
    let w = &mut out;
    write!(
        w,
        "# Drafted by `teleop profile new` from {urdf_in_profile}.\n\
         # Every guess is commented; check them, then `teleop profile check` this file.\n\
         name = {}\n\
         urdf = {}\n\
         control_rate_hz = 500\n\
         # Acceleration limit for joints without their own (rad/s²): URDFs give none.\n\
         default_acceleration = 20\n",
        toml_string(&model.name),
        toml_string(urdf_in_profile)
    )?;
    // Top-level keys found after the arms' rest postures go here, before the first table.
    let top_level_end = out.len();
    let mut q = vec![0.0; model.dof()];
    let mut grippers = String::new();
    let mut notes = Vec::new();
    let mut longest_reach_m: f64 = 0.0;
    // Hands of several independent finger joints, drafted first: how they grasp decides the
    // arm's tool centre and rest posture. Their geometry in the hand's frame is the same at any
    // arm posture.
    let hands: Vec<Option<DraftedHand>> = arms
        .iter()
        .map(|arm| match arm.fingers.0.as_slice() {
            [] | [_] => None,
            many => draft_hand(model, &tree, arm, many, &q),
        })
        .collect();
    let grasps: Vec<Option<&Grasp>> = hands
        .iter()
        .map(|h| h.as_ref().and_then(|h| h.grasp.as_ref()))
        .collect();
    if grasps.iter().any(Option::is_some) {
        out.insert_str(
            top_level_end,
            &format!(
                "# The hands grasp palm down (a thumb opposing the fingers): `teleop demo` drives this\n\
                 # robot with the palm-down script.\n\
                 demo_script = {}\n",
                toml_string(palm_down_script)
            ),
        );
    }
    let w = &mut out;
    for (i, arm) in arms.iter().enumerate() {
        let side = if arm.left { "left" } else { "right" };
        let palmar = grasps[i].map(|g| &g.palmar);
        let (reach_m, rest) =
            match rest_posture(model, &poses, arm, palmar, &mut q, seed + i as u64) {
                Some((why, reach)) => (reach, format!("{side} arm at rest: {why}")),
                None => (
                    SCRIPT_REACH_M,
                    format!("{side} arm: no rest posture found (joints at 0)"),
                ),
            };
        notes.push(rest);
        longest_reach_m = longest_reach_m.max(reach_m);
        let by_reach = ((reach_m / SCRIPT_REACH_M).min(1.0) * 20.0).round() / 20.0;
        let tool = grasps[i].map_or_else(Vector3::zeros, |g| g.tool);
        let scale = fitted_scale(model, &poses, arm, &tool, grasps[i].is_some(), &q, by_reach);
        writeln!(w)?;
        writeln!(w, "# Arm {}: tool {}.", i + 1, arm.why)?;
        if arms.len() == 1 {
            writeln!(
                w,
                "# The only arm: the trainer's left hand drives it (the bundled script moves the left hand)."
            )?;
        }
        writeln!(
            w,
            "# {} joints from \"{}\" ({}); the tool reaches {:.2} m from the shoulder.",
            arm.dof,
            model.links[arm.base].name,
            if arms.len() == 2 {
                "the lowest link both arms hang from"
            } else {
                "the link above the arm's first joint"
            },
            reach_m
        )?;
        writeln!(
            w,
            "[[end_effector]]\n\
             name = \"{side} arm\"\n\
             hand = \"{side}\"\n\
             base = {}\n\
             tip = {}",
            toml_string(&model.links[arm.base].name),
            toml_string(&model.links[arm.tip].name)
        )?;
        if let Some(g) = grasps[i] {
            writeln!(
                w,
                "# The grasp centre (tip frame): midway between the thumb's base and the knuckles, 0.7 of the\n\
                 # thumb's reach out of the palm.\n\
                 tool_offset = [{:.3}, {:.3}, {:.3}]",
                g.tool.x, g.tool.y, g.tool.z
            )?;
        }
        writeln!(w, "position_weight = 1.0")?;
        let (independent, mimics) = &arm.fingers;
        let jaws = independent.len() == 1 || (hands[i].is_some() && grasps[i].is_none());
        writeln!(
            w,
            "{}",
            if jaws {
                "# A gripper, or a hand whose thumb closes across the palm as a gripper's jaws do: its position\n\
                 # matters, its exact turn little (the jaws square the object up), so orientation is a hint\n\
                 # that never holds the tool back from where the hand goes.\n\
                 rotation_weight = 0.03"
            } else if grasps[i].is_some() {
                "# A hand that grasps palm down: its turn is the grasp, so orientation counts half as much as\n\
                 # position.\n\
                 rotation_weight = 0.5"
            } else {
                "# Orientation counts half as much as position: a tool's position matters most.\n\
                 rotation_weight = 0.5"
            }
        )?;
        writeln!(
            w,
            "# Tool motion per hand motion: reach {reach_m:.2} m over the bundled humanoid's {SCRIPT_REACH_M} m (at most 1: {by_reach:.2}),\n\
             # lowered until the bundled script's grasp, lift and carry are reachable with the tool turned as it turns.\n\
             motion_scale = {:.2}",
            scale.max(0.05)
        )?;
        match independent.as_slice() {
            [] => notes.push(format!(
                "{side} arm: no finger joints below its tool: no gripper"
            )),
            [leader] => {
                let mut fingers = vec![*leader];
                fingers.extend(
                    mimics
                        .iter()
                        .filter(|&&m| model.joints[m].mimic.is_some_and(|x| x.leader == *leader)),
                );
                if let Some((open, closed, why)) =
                    gripper_open_closed(model, &tree, *leader, &fingers)
                {
                    let name = &model.joints[*leader].name;
                    writeln!(grippers)?;
                    writeln!(
                        grippers,
                        "# The {side} gripper: \"{name}\", the one independent joint below the tool ({} mimic{} follow); {why}.",
                        fingers.len() - 1,
                        if fingers.len() == 2 { "" } else { "s" }
                    )?;
                    writeln!(
                        grippers,
                        "[[gripper]]\nhand = \"{side}\"\njoint = {}\nopen = {open}\nclosed = {closed}",
                        toml_string(name)
                    )?;
                    if let Some(dof) = model.dof_of_joint[*leader] {
                        q[dof] = open;
                    }
                }
            }
            _ => {}
        }
    }
    let neck = find_neck(model, arms[0].base);
    if let Some((head, dof)) = neck {
        writeln!(w)?;
        writeln!(
            w,
            "# A neck: {dof} joint(s) from the arms' base up to \"{}\", named like a head.\n\
             [neck]\n\
             base = {}\n\
             tip = {}",
            model.links[head].name,
            toml_string(&model.links[arms[0].base].name),
            toml_string(&model.links[head].name)
        )?;
    }
    writeln!(w)?;
    let mut root_from_rest = vec![Pose::identity(); model.links.len()];
    tree.forward(&q, &mut root_from_rest);
    if let Some(what) = short_of_gravity(model, &root_from_rest, &arms) {
        out.insert_str(
            top_level_end,
            &format!(
                "# At rest gravity puts {what}:\n\
                 # the real robot must be counterbalanced or feed gravity forward, so the simulator\n\
                 # takes the weight off the robot's own links.\n\
                 gravity_compensation = true\n"
            ),
        );
    }
    let w = &mut out;
    let (keys, why) = draft_camera(
        model,
        &poses,
        &root_from_rest,
        &arms,
        longest_reach_m,
        neck.map(|(h, _)| h),
    );
    writeln!(w, "# The camera: {why}.\n[camera]\n{}", keys.join("\n"))?;
    writeln!(
        w,
        "# Vertical field of view (degrees): a guess; use the real camera's.\nfov_deg = 60.0\n{grippers}\n\
         # Rest posture (the IK's null space and the demo's start): for each arm the sampled posture\n\
         # whose tool is nearest a point in front of the chest, joints off their limits."
    )?;
    for note in &notes {
        writeln!(out, "# - {note}")?;
    }
    writeln!(out, "[rest]")?;
    for (dof, &joint) in model.dofs.iter().enumerate() {
        if q[dof] != 0.0 {
            writeln!(
                out,
                "{} = {:.3}",
                toml_key(&model.joints[joint].name),
                q[dof]
            )?;
        }
    }
    for (arm, hand) in arms.iter().zip(&hands) {
        let side = if arm.left { "left" } else { "right" };
        let joints = &arm.fingers.0;
        if joints.len() < 2 {
            continue;
        }
        writeln!(out)?;
        match hand {
            Some(DraftedHand { lines, why, .. }) => {
                writeln!(
                    out,
                    "# The {side} hand: {why}. Check the axes and tips with `teleop kin hand`.\n\
                     [hands.{side}]\n{}",
                    lines.join("\n")
                )?;
            }
            None => writeln!(
                out,
                "# The {side} hand: {} independent finger joints whose fingers could not be told apart: map it under [hands.{side}] (see docs/hands.md).",
                joints.len()
            )?,
        }
    }
    Ok(out)
}

fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        toml_string(name)
    }
}

/// `file` (a URDF, a script) as the profile at `profile` should name it: relative to the
/// profile's folder where both are under one, else absolute.
pub fn path_from(profile: &Path, file: &Path) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (profile, file) = (absolute(profile), absolute(file));
    let folder = profile.parent().unwrap_or(Path::new("/"));
    let from: Vec<_> = folder.components().collect();
    let to: Vec<_> = file.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return file.display().to_string();
    }
    let mut relative = std::path::PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for c in &to[common..] {
        relative.push(c);
    }
    relative.display().to_string()
}
