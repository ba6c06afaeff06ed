//! The session on every robot: how fast the simulator runs headless (the real-time factor) and
//! how well a real-time session keeps its deadlines, for every bundled profile and the other arm
//! robots of the corpus in assets/robots (or `TELEOP_ROBOTS_DIR`), whose profiles are drafted on
//! the fly by `teleop profile new`. Each robot runs the bundled pick-and-place script (or its
//! profile's `demo_script`) in a scene laid out from its reach; the table says whether the cube
//! task got done.
//! A long run per robot, so a plain `main` rather than criterion.
//!
//! `cargo bench --bench session` prints a table: DoF, links, headless real-time factor, and for
//! the real-time session the tick p99, deadline misses and the simulator thread's late steps.
//! Under `cargo test` it is a smoke run (the bundled humanoid, headless).

use std::path::{Path, PathBuf};

use teleop_bridge::app::demo::{self, Options};
use teleop_bridge::config::Profile;

/// Corpus robots with no bundled profile: (folder, URDF), drafted by `teleop profile new`
/// exactly as an integrator would start.
const DRAFTED: &[(&str, &str)] = &[
    ("ur5", "ur5_robot.urdf"),
    ("kinova_j2s6s200", "kinova.urdf"),
    ("xarm7", "xarm7.urdf"),
];

/// Drafts a profile for `urdf` into `out` with the `teleop` binary.
fn drafted_profile(urdf: &Path, out: &Path) -> Option<PathBuf> {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["profile", "new"])
        .arg(urdf)
        .arg("-o")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| out.to_path_buf())
}

struct Row {
    name: String,
    dof: usize,
    links: usize,
    headless_factor: f64,
    /// The bundled cube task, headless: done, or how far from the spot the cube ended.
    task: String,
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
        task: if headless.success {
            format!("done ({:.1} cm)", headless.distance_to_target_m * 100.0)
        } else if headless.highest_lift_m > 0.05 {
            format!(
                "carried, {:.1} cm off",
                headless.distance_to_target_m * 100.0
            )
        } else {
            "not grasped".into()
        },
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
    let mut robots: Vec<(String, PathBuf)> = [
        ("teleop humanoid", "teleop_humanoid"),
        ("teleop humanoid with hands", "teleop_humanoid_hands"),
        ("Unitree G1", "unitree_g1"),
        ("Franka Panda", "franka_panda"),
        ("SO-101", "so101"),
        ("PR2", "pr2"),
    ]
    .iter()
    .map(|(name, file)| {
        (
            format!("{name} (bundled)"),
            root.join(format!("profiles/{file}.toml")),
        )
    })
    .collect();
    let corpus = std::env::var_os("TELEOP_ROBOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("assets/robots"));
    let scratch = std::env::temp_dir().join(format!("teleop-session-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    for (folder, urdf) in DRAFTED {
        let out = scratch.join(format!("{folder}.toml"));
        match drafted_profile(&corpus.join(folder).join(urdf), &out) {
            Some(path) => robots.push((format!("{folder} (drafted)"), path)),
            None => eprintln!("{folder}: `teleop profile new` failed; left out"),
        }
    }
    let rows: Vec<Row> = robots
        .iter()
        .filter_map(|(name, profile)| {
            // A profile may name its own script (G1's Dex3 grasps palm down).
            let own = teleop_bridge::config::Profile::load(profile)
                .ok()
                .and_then(|(p, _)| p.demo_script);
            measure(name, profile, own.as_deref().unwrap_or(&script), true)
        })
        .collect();
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "| robot | DoF | links | headless real-time factor | cube task | real time: tick p99 | deadline misses | simulator steps late |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|---:|");
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
            "| {} | {} | {} | {:.1}× | {} | {rt} |",
            row.name, row.dof, row.links, row.headless_factor, row.task
        );
    }
}
