//! `teleop kin …`: kinematics as a JSON-lines filter.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::kinematics::{Pose, Tree, pose_to_rows, q_from_named};
use crate::model::Model;

#[derive(Debug, Subcommand)]
pub enum KinCommand {
    /// Forward kinematics: `{"q": {"joint": value, …}}` per line in (missing joints at 0),
    /// `{"links": {"link": 4×4 row-major pose in the root frame, …}}` per line out.
    Fk { urdf: PathBuf },
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
    }
}

fn fk(urdf: &std::path::Path) -> anyhow::Result<()> {
    let model = Model::from_urdf_file(urdf)?;
    let tree = Tree::new(&model);
    let mut poses = vec![Pose::identity(); tree.link_count()];
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, line) in std::io::stdin().lock().lines().enumerate() {
        let line_no = index + 1;
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let request: FkRequest = serde_json::from_str(&line).with_context(|| {
            format!("stdin line {line_no}: expected {{\"q\": {{\"joint\": radians, …}}}}")
        })?;
        let q =
            q_from_named(&model, &request.q).with_context(|| format!("stdin line {line_no}"))?;
        tree.forward(&q, &mut poses);
        let links = model
            .links
            .iter()
            .zip(&poses)
            .map(|(link, pose)| (link.name.clone(), pose_to_rows(pose)))
            .collect();
        serde_json::to_writer(&mut out, &FkResponse { links })?;
        out.write_all(b"\n")?;
        // One answer per line, at once: callers drive this interactively through a pipe.
        out.flush()?;
    }
    Ok(())
}
