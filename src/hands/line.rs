//! One JSON line in, one JSON line out: the body of `teleop kin hand`.
//!
//! In: `{"joints": [[x, y, z] × 26 in OpenXR order (null: untracked)], "wrist_R": [[3 × 3, rows]]}`
//! in any one world frame; instead of `wrist_R`, `"orientations": [[x, y, z, w] × 26]` (OpenXR
//! quaternions, null: untracked) gives the wrist's. Out: `{"q": {joint: rad}, "fit_error_m":
//! [per fingertip], "micros": …, "held": bool}`; `q` names the joints the retargeter drives and
//! their mimic joints.

use std::time::Instant;

use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

use super::Error;
use super::solver::{Retargeter, Solution, Status, XR_JOINTS, XR_WRIST};
use crate::model::Model;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    joints: Vec<Option<[f64; 3]>>,
    #[serde(rename = "wrist_R")]
    wrist_r: Option<[[f64; 3]; 3]>,
    orientations: Option<Vec<Option<[f64; 4]>>>,
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

/// Parses one input line into joint positions and the wrist orientation. An untracked or
/// degenerate wrist orientation comes back as NaN, which the solver holds on.
pub fn parse_line(line: &str) -> Result<HandPositions, Error> {
    let input: LineIn = serde_json::from_str(line).map_err(|e| Error::Input(e.to_string()))?;
    if input.joints.len() != XR_JOINTS {
        return Err(Error::Input(format!(
            "\"joints\" has {} entries, OpenXR hands have {XR_JOINTS}",
            input.joints.len()
        )));
    }
    let joints = std::array::from_fn(|i| input.joints[i].map(Vector3::from));
    let wrist = match (input.wrist_r, &input.orientations) {
        (Some(r), _) => Matrix3::from_fn(|i, j| r[i][j]),
        (None, Some(orientations)) => {
            if orientations.len() != XR_JOINTS {
                return Err(Error::Input(format!(
                    "\"orientations\" has {} entries, OpenXR hands have {XR_JOINTS}",
                    orientations.len()
                )));
            }
            orientations[XR_WRIST]
                .map(|[x, y, z, w]| Quaternion::new(w, x, y, z))
                .filter(|q| q.coords.iter().all(|v| v.is_finite()) && q.norm() > 1e-6)
                .map(|q| {
                    *UnitQuaternion::from_quaternion(q)
                        .to_rotation_matrix()
                        .matrix()
                })
                .unwrap_or(Matrix3::from_element(f64::NAN))
        }
        (None, None) => {
            return Err(Error::Input(
                "needs \"wrist_R\" (3 × 3 rows) or \"orientations\" (26 × [x, y, z, w])".into(),
            ));
        }
    };
    Ok((joints, wrist))
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
    for ((joint, &dof), value) in model.joints.iter().zip(&model.dof_of_joint).zip(positions) {
        let leader = dof.or_else(|| joint.mimic.and_then(|m| model.dof_of_joint[m.leader]));
        if joint.kind.is_movable() && leader.is_some_and(|v| retargeter.is_driven(v)) {
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
