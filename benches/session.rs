//! The session on every robot: how fast the simulator runs headless (the real-time factor) and
//! how well a real-time session keeps its deadlines, for the bundled humanoid, the bundled G1
//! and every arm robot of the corpus in assets/robots (or `TELEOP_ROBOTS_DIR`; profiles written
//! on the fly: its natural arm chains, nothing else). Each robot runs the bundled pick-and-place
//! script (the cube task itself is laid out for the bundled humanoid; what is measured here is
//! the session).
//! A long run per robot, so a plain `main` rather than criterion.
//!
//! `cargo bench --bench session` prints a table: DoF, links, headless real-time factor, and for
//! the real-time session the tick p99, deadline misses and the simulator thread's late steps.
//! Under `cargo test` it is a smoke run (the bundled humanoid, headless).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use teleop_bridge::app::demo::{self, Options};
use teleop_bridge::config::Profile;

/// An arm: (hand, base link, tip link).
type Arm = (&'static str, &'static str, &'static str);

/// (corpus folder, URDF, arm chains).
const CORPUS: &[(&str, &str, &[Arm])] = &[
    (
        "panda",
        "panda.urdf",
        &[("right", "panda_link0", "panda_hand_tcp")],
    ),
    ("ur5", "ur5_robot.urdf", &[("right", "base_link", "tool0")]),
    (
        "kinova_j2s6s200",
        "kinova.urdf",
        &[("right", "j2s6s200_link_base", "j2s6s200_end_effector")],
    ),
    (
        "so101",
        "so101.urdf",
        &[("right", "base_link", "gripper_link")],
    ),
    (
        "pr2",
        "pr2.urdf",
        &[
            ("left", "torso_lift_link", "l_gripper_tool_frame"),
            ("right", "torso_lift_link", "r_gripper_tool_frame"),
        ],
    ),
    ("xarm7", "xarm7.urdf", &[("right", "link_base", "link_eef")]),
];

fn corpus_profile(dir: &Path, out: &Path, entry: &(&str, &str, &[Arm])) -> PathBuf {
    let (folder, urdf, arms) = entry;
    let urdf = dir.join(folder).join(urdf);
    let mut text = format!(
        "name = {folder:?}\nurdf = {:?}\n",
        urdf.display().to_string()
    );
    for (hand, base, tip) in *arms {
        let _ = write!(
            text,
            "\n[[end_effector]]\nname = \"{hand} arm\"\nhand = {hand:?}\nbase = {base:?}\ntip = {tip:?}\n"
        );
    }
    let path = out.join(format!("{folder}.toml"));
    std::fs::write(&path, text).expect("write a profile");
    path
}

struct Row {
    name: String,
    dof: usize,
    links: usize,
    headless_factor: f64,
    realtime: Option<demo::Summary>,
}

fn measure(name: &str, profile: &Path, script: &Path, realtime: bool) -> Option<Row> {
    let (_, model) = match Profile::load(profile) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{name}: {e}");
            return None;
        }
    };
    let run = |realtime| {
        demo::run(
            profile,
            script,
            &Options {
                realtime,
                ..Options::default()
            },
        )
    };
    let headless = match run(false) {
        Ok(run) => run.summary,
        Err(e) => {
            eprintln!("{name}: {e}");
            return None;
        }
    };
    eprintln!("{name} headless: {headless}");
    let realtime = realtime.then(|| run(true)).and_then(|r| match r {
        Ok(run) => Some(run.summary),
        Err(e) => {
            eprintln!("{name} real time: {e}");
            None
        }
    });
    Some(Row {
        name: name.to_string(),
        dof: model.dof(),
        links: model.links.len(),
        headless_factor: headless.simulated_s / headless.wall_s,
        realtime,
    })
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/pick_cube.toml");
    if !bench {
        let row = measure(
            "teleop humanoid",
            &root.join("profiles/teleop_humanoid.toml"),
            &script,
            false,
        )
        .expect("the bundled humanoid runs");
        assert!(row.headless_factor > 0.0);
        return;
    }
    let mut robots: Vec<(String, PathBuf)> = vec![
        (
            "teleop humanoid (bundled)".into(),
            root.join("profiles/teleop_humanoid.toml"),
        ),
        (
            "Unitree G1 (bundled)".into(),
            root.join("profiles/unitree_g1.toml"),
        ),
    ];
    let corpus = std::env::var_os("TELEOP_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("assets/robots"));
    let scratch = std::env::temp_dir().join(format!("teleop-session-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    if corpus.is_dir() {
        for entry in CORPUS {
            robots.push((
                entry.0.to_string(),
                corpus_profile(&corpus, &scratch, entry),
            ));
        }
    } else {
        eprintln!(
            "robot corpus not found at {}: bundled robots only",
            corpus.display()
        );
    }
    let rows: Vec<Row> = robots
        .iter()
        .filter_map(|(name, profile)| measure(name, profile, &script, true))
        .collect();
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "| robot | DoF | links | headless real-time factor | real time: tick p99 | deadline misses | simulator steps late |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let rt = match &row.realtime {
            Some(s) => format!(
                "{:.0} µs | {} of {} | {}",
                s.tick.percentile(99.0) as f64 / 1e3,
                s.deadline_misses.unwrap_or(0),
                s.ticks,
                s.robot_loop.as_ref().map_or_else(
                    || "?".into(),
                    |r| format!("{} of {}", r.late_steps, r.steps)
                )
            ),
            None => "— | — | —".into(),
        };
        println!(
            "| {} | {} | {} | {:.1}× | {rt} |",
            row.name, row.dof, row.links, row.headless_factor
        );
    }
}
