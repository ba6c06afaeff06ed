//! `teleop inspect URDF [--json]`: what a robot description holds, for integrators.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{JointKind, Model, Shape};

#[derive(Serialize)]
struct Report {
    name: String,
    urdf: PathBuf,
    root: String,
    links: usize,
    joints: usize,
    dof: usize,
    mimic_joints: usize,
    tree: Vec<TreeLine>,
    joint_table: Vec<JointRow>,
    chains: Vec<ChainRow>,
    /// Suggested chains left out so the listed ones name at most [`MAX_CHAIN_JOINTS`] joints.
    chains_omitted: usize,
    meshes: MeshStatus,
}

/// The text tree indents at most this deep; deeper links say their depth instead, so the
/// output grows linearly with the number of links, not with the square of a chain's length.
const MAX_INDENT: usize = 32;

/// The most joint names the suggested chains list in all (JSON), for the same reason.
const MAX_CHAIN_JOINTS: usize = 100_000;

#[derive(Serialize)]
struct TreeLine {
    depth: usize,
    link: String,
    /// The joint from the parent, absent for the root.
    joint: Option<String>,
    joint_type: Option<&'static str>,
}

#[derive(Serialize)]
struct JointRow {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    parent: String,
    child: String,
    axis: [f64; 3],
    lower: Option<f64>,
    upper: Option<f64>,
    velocity: Option<f64>,
    effort: Option<f64>,
    soft_lower: Option<f64>,
    soft_upper: Option<f64>,
    mimic: Option<MimicRow>,
}

#[derive(Serialize)]
struct MimicRow {
    leader: String,
    multiplier: f64,
    offset: f64,
}

#[derive(Serialize)]
struct ChainRow {
    base: String,
    tip: String,
    dof: usize,
    joints: Vec<String>,
}

#[derive(Default, Serialize)]
struct MeshStatus {
    referenced: usize,
    resolved: usize,
    unresolved: Vec<UnresolvedMesh>,
}

#[derive(Serialize)]
struct UnresolvedMesh {
    link: String,
    uri: String,
    tried: Vec<PathBuf>,
}

pub fn run(urdf: &Path, json: bool) -> anyhow::Result<()> {
    let model = Model::from_urdf_file(urdf)?;
    let report = report(&model, urdf);
    if json {
        super::say(serde_json::to_string_pretty(&report)?)
    } else {
        super::say(text(&report).trim_end_matches('\n'))
    }
}

fn report(model: &Model, urdf: &Path) -> Report {
    let name_of_link = |l: usize| model.links[l].name.clone();
    let mut tree = Vec::new();
    let mut stack = vec![(Model::ROOT, 0)];
    while let Some((link, depth)) = stack.pop() {
        let joint = model.links[link].parent_joint.map(|j| &model.joints[j]);
        tree.push(TreeLine {
            depth,
            link: name_of_link(link),
            joint: joint.map(|j| j.name.clone()),
            joint_type: joint.map(|j| j.kind.name()),
        });
        for &j in model.links[link].child_joints.iter().rev() {
            stack.push((model.joints[j].child, depth + 1));
        }
    }
    let joint_table = model
        .joints
        .iter()
        .map(|j| JointRow {
            name: j.name.clone(),
            kind: j.kind.name(),
            parent: name_of_link(j.parent),
            child: name_of_link(j.child),
            axis: j.axis.into_inner().into(),
            lower: j.limits.position.map(|p| p.0),
            upper: j.limits.position.map(|p| p.1),
            velocity: j.limits.velocity,
            effort: j.limits.effort,
            soft_lower: j.limits.soft_position.map(|p| p.0),
            soft_upper: j.limits.soft_position.map(|p| p.1),
            mimic: j.mimic.map(|m| MimicRow {
                leader: model.joints[m.leader].name.clone(),
                multiplier: m.multiplier,
                offset: m.offset,
            }),
        })
        .collect();
    let suggested = model.suggested_chains();
    let mut chains = Vec::new();
    let mut listed = 0;
    for c in &suggested {
        listed += c.dof;
        if listed > MAX_CHAIN_JOINTS {
            break;
        }
        chains.push(ChainRow {
            base: name_of_link(c.base),
            tip: name_of_link(c.tip),
            dof: c.dof,
            joints: model
                .dofs_between(c.base, c.tip)
                .unwrap_or_default()
                .into_iter()
                .map(|j| model.joints[j].name.clone())
                .collect(),
        });
    }
    let chains_omitted = suggested.len() - chains.len();
    let mut meshes = MeshStatus::default();
    for link in &model.links {
        let shapes = link
            .visuals
            .iter()
            .map(|v| &v.shape)
            .chain(link.collisions.iter().map(|c| &c.shape));
        for shape in shapes {
            let Shape::Mesh(mesh) = shape else { continue };
            meshes.referenced += 1;
            if mesh.path.is_some() {
                meshes.resolved += 1;
            } else {
                meshes.unresolved.push(UnresolvedMesh {
                    link: link.name.clone(),
                    uri: mesh.uri.clone(),
                    tried: mesh.tried.clone(),
                });
            }
        }
    }
    Report {
        name: model.name.clone(),
        urdf: urdf.to_owned(),
        root: model.root().name.clone(),
        links: model.links.len(),
        joints: model.joints.len(),
        dof: model.dof(),
        mimic_joints: model.joints.iter().filter(|j| j.mimic.is_some()).count(),
        tree,
        joint_table,
        chains,
        chains_omitted,
        meshes,
    }
}

fn text(r: &Report) -> String {
    let mut s = String::new();
    let count = |kind: JointKind| {
        r.joint_table
            .iter()
            .filter(|j| j.kind == kind.name())
            .count()
    };
    let _ = writeln!(s, "robot '{}' ({})", r.name, r.urdf.display());
    let _ = writeln!(
        s,
        "{} links, {} joints ({} revolute, {} continuous, {} prismatic, {} fixed), {} DoF, {} mimic",
        r.links,
        r.joints,
        count(JointKind::Revolute),
        count(JointKind::Continuous),
        count(JointKind::Prismatic),
        count(JointKind::Fixed),
        r.dof,
        r.mimic_joints
    );
    let _ = writeln!(s, "\ntree:");
    for line in &r.tree {
        let indent = if line.depth > MAX_INDENT {
            format!("{}[depth {}] ", "  ".repeat(MAX_INDENT), line.depth)
        } else {
            "  ".repeat(line.depth)
        };
        let _ = match (&line.joint, line.joint_type) {
            (Some(joint), Some(kind)) => writeln!(s, "  {indent}{} ← {joint} ({kind})", line.link),
            _ => writeln!(s, "  {indent}{}", line.link),
        };
    }
    let _ = writeln!(s, "\njoints:");
    let _ = writeln!(
        s,
        "  {:<34} {:<10} {:>9} {:>9} {:>8} {:>8}  notes",
        "name", "type", "lower", "upper", "vel", "effort"
    );
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    for j in r.joint_table.iter().filter(|j| j.kind != "fixed") {
        let mut notes = Vec::new();
        if let (Some(lo), Some(hi)) = (j.soft_lower, j.soft_upper) {
            notes.push(format!("soft [{lo:.4}, {hi:.4}]"));
        }
        if let Some(m) = &j.mimic {
            notes.push(format!(
                "mimic {} ×{} {:+}",
                m.leader, m.multiplier, m.offset
            ));
        }
        let _ = writeln!(
            s,
            "  {:<34} {:<10} {:>9} {:>9} {:>8} {:>8}  {}",
            j.name,
            j.kind,
            num(j.lower),
            num(j.upper),
            num(j.velocity),
            num(j.effort),
            notes.join("; ")
        );
    }
    let _ = writeln!(s, "\nsuggested chains (base → tip, DoF):");
    for c in &r.chains {
        let _ = writeln!(s, "  {} → {} ({} DoF)", c.base, c.tip, c.dof);
    }
    if r.chains_omitted > 0 {
        let _ = writeln!(s, "  … and {} more", r.chains_omitted);
    }
    let m = &r.meshes;
    let _ = writeln!(
        s,
        "\nmeshes: {} referenced, {} resolved, {} unresolved",
        m.referenced,
        m.resolved,
        m.unresolved.len()
    );
    for u in &m.unresolved {
        let _ = writeln!(
            s,
            "  unresolved: {} (link {}), tried {} places",
            u.uri,
            u.link,
            u.tried.len()
        );
    }
    s
}
