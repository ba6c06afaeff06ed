//! `teleop kin …`: kinematics as a JSON-lines filter.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use std::time::Instant;

use crate::ik::{Options, Solver, Target, Task};
use crate::kinematics::{Chain, Pose, Tree, pose_to_rows, q_from_named};
use crate::model::Model;

#[derive(Debug, Subcommand)]
pub enum KinCommand {
    /// Forward kinematics: `{"q": {"joint": value, …}}` per line in (missing joints at 0),
    /// `{"links": {"link": 4×4 row-major pose in the root frame, …}}` per line out.
    Fk { urdf: PathBuf },
    /// Inverse kinematics of one chain: `{"target": 4×4 row-major pose of TIP in BASE's frame,
    /// "seed": {"joint": value, …}}` per line in (seed optional), `{"ok", "q", "pos_err_m",
    /// "rot_err_rad", "iterations", "micros"}` per line out. In `track` mode each line is one
    /// control tick from the previous answer (a seed resets it), bounded by the velocity limits.
    Ik {
        urdf: PathBuf,
        /// Link the chain starts from; targets are in its frame.
        #[arg(long)]
        base: String,
        /// Link that should reach the target.
        #[arg(long)]
        tip: String,
        #[arg(long, value_enum, default_value_t = IkMode::Solve)]
        mode: IkMode,
        /// `solve`: the time budget per target.
        #[arg(long, default_value_t = 5.0)]
        timeout_ms: f64,
        /// `track`: the tick rate the velocity limits are applied at.
        #[arg(long, default_value_t = 90.0)]
        rate_hz: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IkMode {
    /// Global: restarts from random seeds until within tolerance or out of time.
    Solve,
    /// The control loop's step: warm start, bounded by joint velocity limits.
    Track,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IkRequest {
    target: [[f64; 4]; 4],
    #[serde(default)]
    seed: Option<HashMap<String, f64>>,
}

#[derive(Serialize)]
struct IkResponse {
    ok: bool,
    q: BTreeMap<String, f64>,
    /// `null` when the error is not finite.
    pos_err_m: f64,
    rot_err_rad: f64,
    iterations: usize,
    micros: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FkRequest {
    q: HashMap<String, f64>,
}

#[derive(Serialize)]
struct FkResponse {
    links: BTreeMap<String, [[f64; 4]; 4]>,
}

pub fn run(command: KinCommand) -> anyhow::Result<()> {
    match command {
        KinCommand::Fk { urdf } => fk(&urdf),
        KinCommand::Ik {
            urdf,
            base,
            tip,
            mode,
            timeout_ms,
            rate_hz,
        } => ik(&urdf, &base, &tip, mode, timeout_ms, rate_hz),
    }
}

/// Runs a JSON-lines filter: each non-blank stdin line parsed as `Req` (errors name the line and
/// `expected`), answered by `answer` as one line of JSON, flushed at once — callers drive these
/// interactively through a pipe.
fn json_lines<Req: serde::de::DeserializeOwned, Resp: Serialize>(
    expected: &str,
    mut answer: impl FnMut(usize, Req) -> anyhow::Result<Resp>,
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, line) in std::io::stdin().lock().lines().enumerate() {
        let line_no = index + 1;
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Req = serde_json::from_str(&line)
            .with_context(|| format!("stdin line {line_no}: expected {expected}"))?;
        let response = answer(line_no, request)?;
        serde_json::to_writer(&mut out, &response)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}

fn fk(urdf: &std::path::Path) -> anyhow::Result<()> {
    let model = Model::from_urdf_file(urdf)?;
    let tree = Tree::new(&model);
    let mut poses = vec![Pose::identity(); tree.link_count()];
    json_lines(
        r#"{"q": {"joint": radians, …}}"#,
        |line_no, request: FkRequest| {
            let q = q_from_named(&model, &request.q)
                .with_context(|| format!("stdin line {line_no}"))?;
            tree.forward(&q, &mut poses);
            let links = model
                .links
                .iter()
                .zip(&poses)
                .map(|(link, pose)| (link.name.clone(), pose_to_rows(pose)))
                .collect();
            Ok(FkResponse { links })
        },
    )
}

/// A rigid transform from 4×4 rows, or why not.
fn pose_from_rows(rows: &[[f64; 4]; 4]) -> Result<Pose, String> {
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err("target has a non-finite entry".into());
    }
    if rows[3] != [0.0, 0.0, 0.0, 1.0] {
        return Err(format!(
            "target's last row is {:?}, not [0, 0, 0, 1]",
            rows[3]
        ));
    }
    let rotation = nalgebra::Matrix3::from_fn(|r, c| rows[r][c]);
    let orthonormality = (rotation.transpose() * rotation - nalgebra::Matrix3::identity()).norm();
    if orthonormality > 1e-6 || rotation.determinant() < 0.0 {
        return Err(format!(
            "target's rotation is not a rotation (‖RᵀR − I‖ = {orthonormality:.1e}, det {:.3})",
            rotation.determinant()
        ));
    }
    Ok(Pose::from_parts(
        nalgebra::Translation3::new(rows[0][3], rows[1][3], rows[2][3]),
        nalgebra::Rotation3::from_matrix_unchecked(rotation),
    ))
}

fn ik(
    urdf: &std::path::Path,
    base: &str,
    tip: &str,
    mode: IkMode,
    timeout_ms: f64,
    rate_hz: f64,
) -> anyhow::Result<()> {
    if !(timeout_ms.is_finite() && timeout_ms > 0.0) {
        anyhow::bail!("--timeout-ms must be a positive number of milliseconds, not {timeout_ms}");
    }
    if !(rate_hz.is_finite() && rate_hz > 0.0) {
        anyhow::bail!("--rate-hz must be a positive rate, not {rate_hz}");
    }
    let model = Model::from_urdf_file(urdf)?;
    let chain = Chain::new(&model, base, tip)?;
    let options = Options {
        solve_timeout_s: timeout_ms * 1e-3,
        ..Options::default()
    };
    let mut solver = Solver::new(&model, vec![Task::new(chain)], options)?;
    let names: Vec<String> = solver
        .model_vars()
        .iter()
        .map(|&mv| model.joints[model.dofs[mv]].name.clone())
        .collect();
    let (lower, upper) = solver.limits();
    // Until a seed says otherwise: mid-range (0 for continuous joints).
    let mut q: Vec<f64> = lower
        .iter()
        .zip(upper)
        .map(|(&l, &h)| if l.is_finite() { 0.5 * (l + h) } else { 0.0 })
        .collect();
    json_lines(
        r#"{"target": [[4×4 rows]], "seed": {"joint": radians, …}}"#,
        |line_no, request: IkRequest| {
            let target = pose_from_rows(&request.target)
                .map_err(|e| anyhow::anyhow!("stdin line {line_no}: {e}"))?;
            if let Some(seed) = &request.seed {
                // Names, mimics and finiteness checked once, model-wide.
                let model_q =
                    q_from_named(&model, seed).with_context(|| format!("stdin line {line_no}"))?;
                if let Some(outside) = seed.keys().find(|name| !names.contains(name)) {
                    anyhow::bail!(
                        "stdin line {line_no}: seed joint '{outside}' does not move {base} → {tip}"
                    );
                }
                for (value, &mv) in q.iter_mut().zip(solver.model_vars()) {
                    if seed.contains_key(&model.joints[model.dofs[mv]].name) {
                        *value = model_q[mv];
                    }
                }
            }
            solver.set_target(0, Target::Pose(target));
            let started = Instant::now();
            let report = match mode {
                IkMode::Solve => solver.solve(&mut q),
                IkMode::Track => solver.track(&mut q, 1.0 / rate_hz),
            };
            let micros = started.elapsed().as_secs_f64() * 1e6;
            Ok(IkResponse {
                ok: report.ok,
                q: names.iter().cloned().zip(q.iter().copied()).collect(),
                pos_err_m: report.position_error_m,
                rot_err_rad: report.rotation_error_rad,
                iterations: report.iterations,
                micros,
            })
        },
    )
}
