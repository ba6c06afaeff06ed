//! `teleop kin …`: kinematics as a JSON-lines filter.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use std::time::Instant;

use crate::ik::{Options, Solver, Target, Task};
use crate::kinematics::lines::{
    Fk, FkRequest, IkRequest, MAX_LINE_BYTES, parse_line, pose_from_rows,
};
use crate::kinematics::{Chain, q_from_named};
use crate::model::{Model, shown};

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
        /// `solve`: the time budget per target (more than 0, at most 60000 ms).
        #[arg(long, default_value_t = 5.0)]
        timeout_ms: f64,
        /// `track`: the tick rate the velocity limits are applied at (10 to 10000 Hz).
        #[arg(long, default_value_t = 90.0)]
        rate_hz: f64,
    },
    /// Finger retargeting with a profile's hand mapping: `{"joints": [[x, y, z] × 26 in OpenXR
    /// order, null where untracked], "wrist_R": [[3 × 3 rows: the wrist joint's axes as
    /// columns]]}` per line in (any one world frame; `"orientations": [[x, y, z, w] × 26]` may
    /// give the wrist's instead of `wrist_R`), `{"q": {"joint": rad, …}, "fit_error_m": [per
    /// fingertip], "micros", "held"}` per line out. Each line is one tracking frame, its step
    /// bounded by the velocity limits at `--rate-hz`; an untracked or non-finite joint holds.
    Hand {
        /// A robot profile with a `[hands.left]` or `[hands.right]` mapping.
        profile: PathBuf,
        #[arg(long, value_enum)]
        side: Side,
        /// The hand-tracking rate the velocity limits are applied at (10 to 10000 Hz).
        #[arg(long, default_value_t = 90.0)]
        rate_hz: f64,
        /// Leave out the pinch term (fit the fingertip vectors only).
        #[arg(long)]
        no_pinch: bool,
    },
}

/// Which of the profile's hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IkMode {
    /// Global: restarts from random seeds until within tolerance or out of time.
    Solve,
    /// The control loop's step: warm start, bounded by joint velocity limits.
    Track,
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

/// `--timeout-ms`: more than 0, at most a minute per target.
pub const TIMEOUT_MS_RANGE: (f64, f64) = (0.0, 60_000.0);
/// `--rate-hz`: the control rates a profile may have.
pub const RATE_HZ_RANGE: (f64, f64) = crate::config::ranges::CONTROL_RATE_HZ;

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
        KinCommand::Hand {
            profile,
            side,
            rate_hz,
            no_pinch,
        } => hand(&profile, side, rate_hz, !no_pinch),
    }
}

/// Runs a JSON-lines filter: each non-blank stdin line parsed as `Req` (errors name the line and
/// `expected`; lines must be UTF-8 and at most [`MAX_LINE_BYTES`] long), answered by `answer` as
/// one line of JSON, flushed at once — callers drive these interactively through a pipe.
fn json_lines<Req: serde::de::DeserializeOwned, Resp: Serialize>(
    expected: &str,
    mut answer: impl FnMut(usize, Req) -> anyhow::Result<Resp>,
) -> anyhow::Result<()> {
    text_lines(|line_no, line| {
        let Some(request) = parse_line::<Req>(line, expected)
            .map_err(|e| anyhow::anyhow!("stdin line {line_no}: {e}"))?
        else {
            return Ok(None);
        };
        Ok(Some(serde_json::to_string(&answer(line_no, request)?)?))
    })
}

/// The filter's loop: each stdin line (at most [`MAX_LINE_BYTES`]) to `answer`, its answer line
/// (if any) written and flushed at once.
fn text_lines(
    mut answer: impl FnMut(usize, &[u8]) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::new();
    for line_no in 1.. {
        line.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut stdin)
            .take(limit)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading stdin line {line_no}"))?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_LINE_BYTES {
            anyhow::bail!("stdin line {line_no}: longer than {MAX_LINE_BYTES} bytes");
        }
        if let Some(response) = answer(line_no, &line)? {
            out.write_all(response.as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
    }
    Ok(())
}

fn fk(urdf: &std::path::Path) -> anyhow::Result<()> {
    let model = Model::from_urdf_file(urdf)?;
    let mut fk = Fk::new(&model);
    json_lines(
        r#"{"q": {"joint": radians, …}}"#,
        |line_no, request: FkRequest| {
            fk.answer(&request)
                .map_err(|e| anyhow::anyhow!("stdin line {line_no}: {e}"))
        },
    )
}

fn ik(
    urdf: &std::path::Path,
    base: &str,
    tip: &str,
    mode: IkMode,
    timeout_ms: f64,
    rate_hz: f64,
) -> anyhow::Result<()> {
    let (lo, hi) = TIMEOUT_MS_RANGE;
    if !(timeout_ms > lo && timeout_ms <= hi) {
        anyhow::bail!(
            "--timeout-ms must be more than {lo} and at most {hi} milliseconds, not {timeout_ms}"
        );
    }
    let (lo, hi) = RATE_HZ_RANGE;
    if !(rate_hz >= lo && rate_hz <= hi) {
        anyhow::bail!("--rate-hz must be from {lo} to {hi} Hz, not {rate_hz}");
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
        .map(|(&l, &h)| {
            if l.is_finite() {
                0.5 * l + 0.5 * h
            } else {
                0.0
            }
        })
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
                        "stdin line {line_no}: seed joint '{}' does not move {} → {}",
                        shown(outside),
                        shown(base),
                        shown(tip)
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

fn hand(
    profile_path: &std::path::Path,
    side: Side,
    rate_hz: f64,
    pinch: bool,
) -> anyhow::Result<()> {
    let (lo, hi) = RATE_HZ_RANGE;
    if !(rate_hz >= lo && rate_hz <= hi) {
        anyhow::bail!("--rate-hz must be from {lo} to {hi} Hz, not {rate_hz}");
    }
    let (profile, model) = crate::config::Profile::load(profile_path)?;
    let (key, mapping) = match side {
        Side::Left => ("hands.left", &profile.hands.left),
        Side::Right => ("hands.right", &profile.hands.right),
    };
    let Some(mapping) = mapping else {
        anyhow::bail!(
            "{}: no [{key}] mapping",
            crate::model::shown_path(profile_path)
        );
    };
    let options = crate::hands::Options {
        dt_s: 1.0 / rate_hz,
        pinch,
        ..crate::hands::Options::default()
    };
    let mut retargeter = crate::hands::Retargeter::new(&model, mapping, options)
        .with_context(|| format!("{}: {key}", crate::model::shown_path(profile_path)))?;
    retargeter.reset_to(&profile.start_posture(&model));
    let mut solution = retargeter.new_solution();
    let mut calibrated = !retargeter.needs_calibration();
    text_lines(|line_no, line| {
        let text = std::str::from_utf8(line).map_err(|e| {
            anyhow::anyhow!(
                "stdin line {line_no}: not UTF-8 text (byte {} is not part of a character)",
                e.valid_up_to() + 1
            )
        })?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        if !calibrated {
            // `scale = "calibrate"`: the first fully tracked line is taken as the open hand.
            let (joints, wrist) = crate::hands::parse_line(text)
                .map_err(|e| anyhow::anyhow!("stdin line {line_no}: {e}"))?;
            calibrated = retargeter.calibrate_scale(&joints, &wrist).is_some();
        }
        crate::hands::process_line(&model, &mut retargeter, &mut solution, text)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("stdin line {line_no}: {e}"))
    })
}
