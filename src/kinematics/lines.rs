//! The `teleop kin` protocol, one JSON request per input line and one JSON answer per output
//! line, as library functions (the command line reads and writes the lines; tests and the fuzz
//! harness call these directly). Every refusal is one short line saying what was expected.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Pose, Tree, pose_to_rows, q_from_named};
use crate::model::{Model, shown};

/// The longest input line read (bytes); a longer one is refused, not buffered.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// `kin fk` input: joint values by name (missing joints at 0).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FkRequest {
    pub q: HashMap<String, f64>,
}

/// `kin fk` output: every link's pose in the root frame, 4×4 row-major.
#[derive(Debug, Clone, Serialize)]
pub struct FkAnswer {
    pub links: BTreeMap<String, [[f64; 4]; 4]>,
}

/// `kin ik` input: the tip's target pose in the base frame (4×4 row-major, rigid) and an
/// optional seed by joint name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IkRequest {
    pub target: [[f64; 4]; 4],
    #[serde(default)]
    pub seed: Option<HashMap<String, f64>>,
}

/// One input line as a request: `None` for a blank line; refused when it is not UTF-8 or not
/// `expected` (which the message names).
pub fn parse_line<T: DeserializeOwned>(line: &[u8], expected: &str) -> Result<Option<T>, String> {
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "not UTF-8 text (byte {} is not part of a character)",
            e.valid_up_to() + 1
        )
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("expected {expected}: {}", shown(&e.to_string())))
}

/// Forward kinematics of whole lines: a model's tree and the poses it fills, reused per line.
pub struct Fk<'m> {
    model: &'m Model,
    tree: Tree,
    poses: Vec<Pose>,
}

impl<'m> Fk<'m> {
    pub fn new(model: &'m Model) -> Self {
        let tree = Tree::new(model);
        let poses = vec![Pose::identity(); tree.link_count()];
        Fk { model, tree, poses }
    }

    /// Every link's pose for `request`, or why not: unknown, fixed or mimic joints, non-finite
    /// values, or values so large that a pose overflows (JSON has no infinity).
    pub fn answer(&mut self, request: &FkRequest) -> Result<FkAnswer, String> {
        let q = q_from_named(self.model, &request.q).map_err(|e| e.to_string())?;
        self.tree.forward(&q, &mut self.poses);
        let mut links = BTreeMap::new();
        for (link, pose) in self.model.links.iter().zip(&self.poses) {
            let rows = pose_to_rows(pose);
            if rows.iter().flatten().any(|v| !v.is_finite()) {
                return Err(format!(
                    "the pose of link '{}' is not finite: joint values too large",
                    shown(&link.name)
                ));
            }
            links.insert(link.name.clone(), rows);
        }
        Ok(FkAnswer { links })
    }
}

/// A rigid transform from 4×4 rows, or why not.
pub fn pose_from_rows(rows: &[[f64; 4]; 4]) -> Result<Pose, String> {
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
    if !rows[..3].iter().all(|r| r[3].abs() <= 1e6) {
        return Err("target's translation is beyond 1000 km".into());
    }
    Ok(Pose::from_parts(
        nalgebra::Translation3::new(rows[0][3], rows[1][3], rows[2][3]),
        nalgebra::Rotation3::from_matrix_unchecked(rotation),
    ))
}
