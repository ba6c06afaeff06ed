//! FK against Pinocchio's, for every link of every corpus robot in 101 configurations.

use std::collections::HashMap;

use serde::Deserialize;
use teleop_bridge::kinematics::{Pose, Tree, pose_to_rows, q_from_named};
use teleop_bridge::model::Model;

use super::common::{robot_folders, robots_dir, urdf_in};

#[derive(Deserialize)]
struct Reference {
    joint_names: Vec<String>,
    mimic: HashMap<String, serde_json::Value>,
    samples: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    q: Vec<f64>,
    poses: HashMap<String, [[f64; 4]; 4]>,
}

const TOLERANCE: f64 = 1e-9;

#[test]
fn fk_matches_pinocchio_for_every_link_of_every_robot() {
    let dir = robots_dir();
    let folders = robot_folders(&dir);
    assert!(
        folders.len() >= 8,
        "the corpus has 8 robots, found {}",
        folders.len()
    );
    for folder in folders {
        let model = Model::from_urdf_file(urdf_in(&folder)).unwrap_or_else(|e| panic!("{e}"));
        let text =
            std::fs::read_to_string(folder.join("fk_reference.json")).expect("reference readable");
        let reference: Reference = serde_json::from_str(&text).expect("reference parses");
        assert_eq!(reference.samples.len(), 101);
        let tree = Tree::new(&model);
        let mut poses = vec![Pose::identity(); tree.link_count()];
        let mut worst = 0.0_f64;
        for sample in &reference.samples {
            // Mimic followers are derived by our FK; give only the leaders.
            let named = reference
                .joint_names
                .iter()
                .zip(&sample.q)
                .filter(|(name, _)| !reference.mimic.contains_key(*name))
                .map(|(name, &v)| (name.clone(), v))
                .collect();
            let q = q_from_named(&model, &named)
                .unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
            tree.forward(&q, &mut poses);
            for (link, expected) in &sample.poses {
                let id = model
                    .link_id(link)
                    .unwrap_or_else(|| panic!("{}: no link {link}", folder.display()));
                let ours = pose_to_rows(&poses[id]);
                for r in 0..3 {
                    for c in 0..4 {
                        let diff = (ours[r][c] - expected[r][c]).abs();
                        worst = worst.max(diff);
                        assert!(
                            diff <= TOLERANCE,
                            "{}: link {link} entry ({r},{c}): ours {} pinocchio {} (q = {:?})",
                            folder.display(),
                            ours[r][c],
                            expected[r][c],
                            sample.q
                        );
                    }
                }
            }
            assert_eq!(sample.poses.len(), model.links.len(), "every link compared");
        }
        eprintln!("{}: worst |Δ| = {worst:.2e}", folder.display());
    }
}
