//! One JSON line in, one JSON line out: the body of `teleop kin hand`.
//!
//! In: `{"joints": [[x, y, z] × 26 in OpenXR order (null: untracked)], "wrist_R": [[3 × 3, rows]]}`
//! in any one world frame. Out: `{"q": {joint: rad}, "fit_error_m": [per fingertip], "micros": …,
//! "held": bool}`; `q` names every movable joint the model has, mimic joints included.

use std::time::Instant;

use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

use super::Error;
use super::solver::{Retargeter, Solution, Status, XR_JOINTS};
use crate::model::Model;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    joints: Vec<Option<[f64; 3]>>,
    #[serde(rename = "wrist_R")]
    wrist_r: [[f64; 3]; 3],
}

#[derive(Debug, Serialize)]
struct LineOut<'a> {
    q: serde_json::Map<String, serde_json::Value>,
    fit_error_m: &'a [f64],
    micros: f64,
    held: bool,
}

/// The 26 OpenXR joint positions (`None`: untracked) and the wrist joint's orientation.
pub type HandPositions = ([Option<Vector3<f64>>; XR_JOINTS], Matrix3<f64>);

/// Parses one input line into joint positions and the wrist orientation.
pub fn parse_line(line: &str) -> Result<HandPositions, Error> {
    let input: LineIn = serde_json::from_str(line).map_err(|e| Error::Input(e.to_string()))?;
    if input.joints.len() != XR_JOINTS {
        return Err(Error::Input(format!(
            "\"joints\" has {} entries, OpenXR hands have {XR_JOINTS}",
            input.joints.len()
        )));
    }
    let mut joints = [None; XR_JOINTS];
    for (out, j) in joints.iter_mut().zip(&input.joints) {
        *out = j.map(Vector3::from);
    }
    let r = input.wrist_r;
    Ok((joints, Matrix3::from_fn(|i, j| r[i][j])))
}

/// Parses one line, solves, and returns the output line (no trailing newline). `micros` is the
/// solve alone, parsing and printing excluded.
pub fn process_line(
    model: &Model,
    retargeter: &mut Retargeter,
    solution: &mut Solution,
    line: &str,
) -> Result<String, Error> {
    let (joints, wrist) = parse_line(line)?;
    let start = Instant::now();
    retargeter.solve(&joints, &wrist, solution);
    let micros = start.elapsed().as_secs_f64() * 1e6;
    let mut positions = vec![0.0; model.joints.len()];
    model.joint_positions(&solution.q, &mut positions);
    let mut q = serde_json::Map::new();
    for (joint, value) in model.joints.iter().zip(positions) {
        if joint.kind.is_movable() {
            q.insert(joint.name.clone(), value.into());
        }
    }
    let out = LineOut {
        q,
        fit_error_m: &solution.fit_error_m,
        micros,
        held: solution.status == Status::Held,
    };
    serde_json::to_string(&out).map_err(|e| Error::Input(e.to_string()))
}
