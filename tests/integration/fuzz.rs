//! A mutation fuzzer for every parser of user input, on stable Rust with no extra dependency:
//! real inputs (the bundled URDF and the broken ones, the profiles, the scripts, an episode
//! recorded by the demo, `kin` request lines) are mutated — bit flips, interesting bytes and
//! little-endian lengths, deleted, duplicated and spliced ranges, numbers replaced by extreme
//! ones, names by empty, huge or control-character ones, lines deleted or repeated, elements
//! nested — and handed to the library's parsers in-process. Each input runs on a worker thread
//! with the command line's 8 MiB stack under a time limit; a panic, an input over the limit, or
//! an error message that is not one short line is a finding. Findings are written to
//! `target/fuzz-findings/PARSER/` and fail the run; each one found so far is kept in
//! `tests/fuzz_regressions/PARSER/` and replayed first on every run.
//!
//! - `cargo test --test integration fuzz::bounded` (CI): 2,000 inputs per parser, seconds.
//! - The long run, ≥ 1,000,000 inputs per parser (release build recommended):
//!   `FUZZ_INPUTS=1000000 cargo test --release --test integration fuzz::long -- --ignored
//!   --nocapture`. `FUZZ_PARSERS=urdf,episode` picks parsers, `FUZZ_SEED` the seed,
//!   `FUZZ_FROM` the first input index (inputs are a pure function of seed and index, so a
//!   run that died can be resumed or a finding regenerated), `FUZZ_LIMIT_MS` the time limit.

use std::collections::HashMap;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use teleop_bridge::config::Profile;
use teleop_bridge::ik::{Options, Solver, Target, Task};
use teleop_bridge::kinematics::lines::{Fk, FkRequest, IkRequest, parse_line, pose_from_rows};
use teleop_bridge::kinematics::{Chain, Tree};
use teleop_bridge::model::{LoadOptions, Model};
use teleop_bridge::operator::Script;
use teleop_bridge::record::{EpisodeFile, Topic};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The longest error message accepted (bytes): one line that a terminal shows whole.
const MAX_MESSAGE: usize = 2_000;

/// Checks an error message: one line, short.
fn one_short_line(message: &str) -> Result<(), String> {
    if message.contains('\n') || message.contains('\r') {
        return Err(format!("message spans lines: {:?}", truncate(message, 300)));
    }
    if message.len() > MAX_MESSAGE {
        return Err(format!(
            "message of {} bytes: {:?}",
            message.len(),
            truncate(message, 300)
        ));
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

// ---------------------------------------------------------------------------------------------
// The parsers under test. Each returns Err only for a finding (not for a refused input).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parser {
    Urdf,
    Profile,
    Script,
    Episode,
    Kin,
}

impl Parser {
    pub const ALL: [Parser; 5] = [
        Parser::Urdf,
        Parser::Profile,
        Parser::Script,
        Parser::Episode,
        Parser::Kin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Parser::Urdf => "urdf",
            Parser::Profile => "profile",
            Parser::Script => "script",
            Parser::Episode => "episode",
            Parser::Kin => "kin",
        }
    }

    fn is_text(self) -> bool {
        self != Parser::Episode
    }

    /// Runs the parser (and what consumes its output) on `input`.
    fn run(self, input: &[u8]) -> Result<(), String> {
        match self {
            Parser::Urdf => urdf(input),
            Parser::Profile => profile(input),
            Parser::Script => script(input),
            Parser::Episode => episode(input),
            Parser::Kin => kin(input),
        }
    }
}

fn urdf(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let name = Path::new("fuzz.urdf");
    match Model::from_urdf_str(
        &text,
        name,
        Path::new("/nonexistent"),
        &LoadOptions::default(),
    ) {
        Ok(model) => {
            // What every command does next with a model.
            let tree = Tree::new(&model);
            let mut poses = vec![teleop_bridge::kinematics::Pose::identity(); tree.link_count()];
            tree.forward(&vec![0.0; model.dof()], &mut poses);
            // A short IK solve on the first suggested chain, towards where its tip is at zero.
            let chains = model.suggested_chains();
            if let Some(c) = chains.first().filter(|c| c.dof <= 64) {
                let (base, tip) = (&model.links[c.base].name, &model.links[c.tip].name);
                let chain = Chain::new(&model, base, tip).map_err(|e| e.to_string())?;
                let options = Options {
                    solve_timeout_s: 2e-4,
                    ..Options::default()
                };
                let mut solver = Solver::new(&model, vec![Task::new(chain)], options)
                    .map_err(|e| e.to_string())?;
                let target = poses[c.base].inverse() * poses[c.tip];
                solver.set_target(0, Target::Pose(target));
                let mut q = vec![0.0; solver.model_vars().len()];
                let _ = solver.solve(&mut q);
                if q.iter().any(|v| !v.is_finite()) {
                    return Err(format!("solve gave a non-finite q: {q:?}"));
                }
            }
            Ok(())
        }
        Err(e) => {
            let message = e.to_string();
            one_short_line(&message)?;
            let names_line = message
                .strip_prefix("fuzz.urdf:")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            if !names_line {
                return Err(format!(
                    "message does not name the file and line: {message}"
                ));
            }
            Ok(())
        }
    }
}

fn humanoid() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::from_urdf_file(root().join("urdf/teleop_humanoid.urdf")).expect("bundled URDF")
    })
}

fn profile(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let path = Path::new("fuzz.toml");
    let checked = Profile::parse(&text, path).and_then(|p| {
        p.check(humanoid(), path)?;
        Ok(p)
    });
    match checked {
        Ok(p) => {
            let _ = p.start_posture(humanoid());
            Ok(())
        }
        Err(e) => one_short_line(&e.to_string()),
    }
}

fn script(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    match Script::parse(&text, Path::new("fuzz.toml")) {
        Ok(s) => {
            let d = s.duration();
            for t in [-1.0, 0.0, d * 0.37, d * 0.5, d, d + 1.0] {
                let _ = s.frame_at(t, 0);
            }
            Ok(())
        }
        Err(e) => one_short_line(&e.to_string()),
    }
}

fn episode(input: &[u8]) -> Result<(), String> {
    match EpisodeFile::parse(input, Path::new("fuzz.mcap")) {
        Ok(e) => {
            let _ = e.counts();
            for topic in Topic::ALL {
                if let Err(err) = e.decode::<serde_json::Value>(topic) {
                    one_short_line(&err.to_string())?;
                }
            }
            if let Some(d) = &e.damage {
                one_short_line(d)?;
            }
            Ok(())
        }
        Err(e) => one_short_line(&e.to_string()),
    }
}

struct KinState {
    fk: Fk<'static>,
    solver: Solver,
}

fn kin(input: &[u8]) -> Result<(), String> {
    thread_local! {
        static STATE: std::cell::RefCell<Option<KinState>> = const { std::cell::RefCell::new(None) };
    }
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        let state = state.get_or_insert_with(|| {
            let model = humanoid();
            let chain = Chain::new(model, "pelvis", "left_tcp_link").expect("chain");
            KinState {
                fk: Fk::new(model),
                solver: Solver::new(model, vec![Task::new(chain)], Options::default())
                    .expect("solver"),
            }
        });
        for line in input.split(|&b| b == b'\n') {
            match parse_line::<FkRequest>(line, "fk") {
                Ok(Some(request)) => {
                    if let Err(e) = state.fk.answer(&request) {
                        one_short_line(&e)?;
                    }
                }
                Ok(None) => {}
                Err(e) => one_short_line(&e)?,
            }
            match parse_line::<IkRequest>(line, "ik") {
                Ok(Some(request)) => match pose_from_rows(&request.target) {
                    Ok(target) => {
                        state.solver.set_target(0, Target::Pose(target));
                        let mut q = vec![0.0; state.solver.model_vars().len()];
                        let _ = state.solver.track(&mut q, 1.0 / 90.0);
                        if q.iter().any(|v| !v.is_finite()) {
                            return Err(format!("track gave a non-finite q: {q:?}"));
                        }
                    }
                    Err(e) => one_short_line(&e)?,
                },
                Ok(None) => {}
                Err(e) => one_short_line(&e)?,
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Seeds.

fn read_dir_files(dir: &Path, ext: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == ext));
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read(p).expect("seed"))
        .collect()
}

/// Small episodes from the recorded fixture: its first chunks cut off mid-file (a crash), the
/// same repaired (complete, with a summary), and the whole recording's last chunks.
fn episode_seeds() -> Vec<Vec<u8>> {
    let full = super::episode_damage::fixture_bytes();
    let records = super::episode_damage::records(&full);
    let chunk_ends: Vec<usize> = records
        .iter()
        .filter(|s| s.opcode == 0x06)
        .map(|s| s.end)
        .collect();
    // Up to the end of the 3rd chunk (the metadata record after the first included).
    let cut = full[..chunk_ends[2]].to_vec();
    let dir = std::env::temp_dir().join(format!("teleop-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("seed folder");
    let path = dir.join("episode-0000.mcap");
    std::fs::write(&path, &cut).expect("seed");
    teleop_bridge::record::repair(&path).expect("repair the cut seed");
    let repaired = std::fs::read(&path).expect("repaired seed");
    let _ = std::fs::remove_dir_all(&dir);
    vec![cut, repaired]
}

fn kin_seeds() -> Vec<Vec<u8>> {
    let identity = "[[1,0,0,0.3],[0,1,0,0.2],[0,0,1,0.1],[0,0,0,1]]";
    [
        r#"{"q": {"left_elbow_joint": 1.0, "waist_yaw_joint": -0.2}}"#.to_string(),
        r#"{"q": {}}"#.to_string(),
        format!(r#"{{"target": {identity}}}"#),
        format!(r#"{{"target": {identity}, "seed": {{"left_elbow_joint": 0.5}}}}"#),
        format!("{{\"q\": {{\"left_gripper_finger_joint\": 0.02}}}}\n{{\"target\": {identity}}}\n"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn seeds(parser: Parser) -> Vec<Vec<u8>> {
    match parser {
        Parser::Urdf => {
            let mut out = vec![std::fs::read(root().join("urdf/teleop_humanoid.urdf")).unwrap()];
            out.extend(read_dir_files(&root().join("tests/broken_urdf"), "urdf"));
            out.extend(read_dir_files(
                &root().join("tests/fixtures/urdf_quirks"),
                "urdf",
            ));
            out
        }
        Parser::Profile => read_dir_files(&root().join("profiles"), "toml"),
        Parser::Script => {
            let mut out = read_dir_files(&root().join("scripts"), "toml");
            out.extend(read_dir_files(&root().join("tests/fixtures"), "toml"));
            out
        }
        Parser::Episode => episode_seeds(),
        Parser::Kin => kin_seeds(),
    }
}

/// Inputs that once failed, replayed first on every run.
fn regressions(parser: Parser) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("tests/fuzz_regressions").join(parser.name());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.file_name().is_some_and(|n| n != "README.md"));
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("regression input");
            (p, bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Mutation.

/// SplitMix64: small, fast, and every input a pure function of (seed, index).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const INTERESTING_BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'<', b'>', b'/', b'"', b'\'', b'=', b'[', b']', b'{', b'}', b'\n',
    b'-', b'.', b'e', b',', b':', b'&', b'#', 0x1b,
];

const INTERESTING_U64: &[u64] = &[
    0,
    1,
    u64::MAX,
    u64::MAX / 2,
    1 << 63,
    1 << 32,
    (1 << 32) - 1,
    1 << 31,
    3_615_880_517_254_395_193,
    0x7fff,
    0x1_0000,
];

const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "1e-300",
    "5e-324",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e9",
    "1e15",
    "99999999999999999999",
    "4294967296",
    "18446744073709551616",
    "1.0.0",
    "",
    "0x10",
    "1e400",
    "-9223372036854775808",
    "3.4028236e38",
];

fn interesting_strings(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    match rng.below(8) {
        0 => Vec::new(),
        1 => vec![b'a'; 1 << rng.below(17)],
        2 => b"a\nb".to_vec(),
        3 => b"a\x1b[2Jb".to_vec(),
        4 => "ünï\u{202e}cødé".as_bytes().to_vec(),
        5 => b"\\\"".to_vec(),
        // A name that occurs elsewhere in the input: duplicates, cycles, wrong references.
        _ => {
            let strings = quoted_ranges(seed);
            if strings.is_empty() {
                b"x".to_vec()
            } else {
                let (a, b) = *rng.pick(&strings);
                seed[a..b].to_vec()
            }
        }
    }
}

/// Byte ranges of the insides of "…" strings.
fn quoted_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            match start.take() {
                Some(s) => out.push((s, i)),
                None => start = Some(i + 1),
            }
        } else if b == b'\n' {
            start = None;
        }
    }
    out
}

/// Byte ranges of numbers (`-1.5e3`).
fn number_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let mut start = i;
            if start > 0 && matches!(bytes[start - 1], b'-' | b'+') {
                start -= 1;
            }
            while i < bytes.len()
                && (bytes[i].is_ascii_digit() || matches!(bytes[i], b'.' | b'e' | b'E'))
            {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

fn line_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push((start, bytes.len()));
    }
    out
}

fn replace(data: &mut Vec<u8>, (a, b): (usize, usize), with: &[u8]) {
    data.splice(a..b, with.iter().copied());
}

/// One mutation of `data` (`seed` is the unmutated input, `others` the corpus for splicing).
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, text: bool, others: &[Vec<u8>]) {
    let len = data.len();
    let kinds = if text { 14 } else { 9 };
    match rng.below(kinds) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(INTERESTING_BYTES);
        }
        2 if len > 0 => {
            let a = rng.below(len);
            let n = if rng.chance(8) {
                rng.below(len / 4 + 1)
            } else {
                1 + rng.below(16)
            };
            data.drain(a..(a + n).min(len));
        }
        3 if len > 0 => {
            let a = rng.below(len);
            let n = 1 + rng.below(64.min(len - a));
            let copy = data[a..a + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, copy);
        }
        4 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        5 if len >= 8 => {
            let at = rng.below(len - 7);
            let v = rng.pick(INTERESTING_U64).to_le_bytes();
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            data[at..at + width].copy_from_slice(&v[..width]);
        }
        6 if len > 0 => data.truncate(rng.below(len)),
        7 if len > 0 => {
            // Zeroed bytes (a lost disk block).
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(4096));
            data[at..at + n].fill(0);
        }
        8 => {
            let other = rng.pick(others);
            if !other.is_empty() {
                let from = rng.below(other.len());
                let at = rng.below(len + 1);
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
        }
        // Text-aware mutations.
        9 => {
            let numbers = number_ranges(data);
            if !numbers.is_empty() {
                let r = *rng.pick(&numbers);
                let with = rng.pick(INTERESTING_NUMBERS).as_bytes().to_vec();
                replace(data, r, &with);
            }
        }
        10 => {
            let strings = quoted_ranges(data);
            if !strings.is_empty() {
                let r = *rng.pick(&strings);
                let with = interesting_strings(rng, data);
                replace(data, r, &with);
            }
        }
        11 => {
            let lines = line_ranges(data);
            if !lines.is_empty() {
                let (a, b) = *rng.pick(&lines);
                if rng.chance(2) {
                    data.drain(a..b);
                } else {
                    let most = if rng.chance(8) { 500 } else { 3 };
                    let copy = data[a..b].repeat(1 + rng.below(most));
                    data.splice(b..b, copy);
                }
            }
        }
        12 => {
            // Nest a line in elements or brackets, sometimes far too deep.
            let lines = line_ranges(data);
            if !lines.is_empty() {
                let (a, b) = *rng.pick(&lines);
                let depth = if rng.chance(4) {
                    30_000
                } else {
                    1 + rng.below(80)
                };
                let (open, close): (&[u8], &[u8]) = match rng.below(3) {
                    0 => (b"<x>", b"</x>"),
                    1 => (b"[", b"]"),
                    _ => (b"{\"a\":", b"}"),
                };
                data.splice(b..b, close.repeat(depth));
                data.splice(a..a, open.repeat(depth));
            }
        }
        _ => {
            // One more element in an array.
            let closes: Vec<usize> = data
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b']')
                .map(|(i, _)| i)
                .collect();
            if !closes.is_empty() {
                let at = *rng.pick(&closes);
                let with = format!(", {}", rng.pick(INTERESTING_NUMBERS));
                data.splice(at..at, with.into_bytes());
            }
        }
    }
}

/// Input number `index` of a run: a seed with 1–4 mutations, a pure function of its arguments.
fn input(parser: Parser, seeds: &[Vec<u8>], run_seed: u64, index: u64) -> Vec<u8> {
    let mut rng = Rng(run_seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ parser as u64);
    let mut data = rng.pick(seeds).clone();
    for _ in 0..1 + rng.below(4) {
        mutate_once(&mut rng, &mut data, parser.is_text(), seeds);
    }
    data
}

// ---------------------------------------------------------------------------------------------
// Running.

type Job = (Parser, Vec<u8>);
type Outcome = Result<(), String>;

/// A worker thread with the command line's main-thread stack (8 MiB).
struct Worker {
    jobs: Sender<Job>,
    results: Receiver<Outcome>,
}

/// Panics on fuzz workers are findings, reported once by the harness: the default hook's
/// message and backtrace are left out for them (other threads keep the hook they had).
fn quiet_worker_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some("fuzz-worker") {
                previous(info);
            }
        }));
    });
}

impl Worker {
    fn start() -> Worker {
        quiet_worker_panics();
        let (jobs, job_rx) = channel::<Job>();
        let (result_tx, results) = channel();
        std::thread::Builder::new()
            .name("fuzz-worker".into())
            .stack_size(8 << 20)
            .spawn(move || {
                for (parser, input) in job_rx {
                    let outcome = catch_unwind(AssertUnwindSafe(|| parser.run(&input)))
                        .unwrap_or_else(|panic| {
                            let message = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            Err(format!("panic: {message}"))
                        });
                    if result_tx.send(outcome).is_err() {
                        break;
                    }
                }
            })
            .expect("worker thread");
        Worker { jobs, results }
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Counts {
    pub inputs: u64,
    pub panics: u64,
    pub hangs: u64,
    pub bad_messages: u64,
    pub slowest: Duration,
    /// The index of the slowest input (to regenerate it: same seed, `FUZZ_FROM` = index).
    pub slowest_index: u64,
    pub findings: Vec<PathBuf>,
}

fn findings_dir(parser: Parser) -> PathBuf {
    root().join("target/fuzz-findings").join(parser.name())
}

fn save(parser: Parser, kind: &str, index: u64, input: &[u8], why: &str) -> PathBuf {
    let dir = findings_dir(parser);
    std::fs::create_dir_all(&dir).expect("findings folder");
    let path = dir.join(format!("{kind}-{index}"));
    std::fs::write(&path, input).expect("save finding");
    let _ = std::fs::write(path.with_extension("txt"), why);
    path
}

/// Runs `count` mutated inputs (after the regressions) through `parser`.
pub fn run(parser: Parser, count: u64, run_seed: u64, from: u64, limit: Duration) -> Counts {
    let seeds = seeds(parser);
    let mut worker = Worker::start();
    let mut counts = Counts::default();
    let regressions = regressions(parser);
    let progress = count / 20;
    let started = Instant::now();
    let check = |worker: &mut Worker, index: u64, input: Vec<u8>, counts: &mut Counts| {
        let t = Instant::now();
        worker
            .jobs
            .send((parser, input.clone()))
            .expect("worker alive");
        counts.inputs += 1;
        match worker.results.recv_timeout(limit) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                let kind = if why.starts_with("panic") {
                    counts.panics += 1;
                    "panic"
                } else {
                    counts.bad_messages += 1;
                    "message"
                };
                eprintln!("fuzz {}: input {index}: {why}", parser.name());
                counts
                    .findings
                    .push(save(parser, kind, index, &input, &why));
            }
            Err(RecvTimeoutError::Timeout) => {
                counts.hangs += 1;
                let why = format!("over {limit:?}");
                eprintln!("fuzz {}: input {index}: {why}", parser.name());
                counts
                    .findings
                    .push(save(parser, "hang", index, &input, &why));
                // The stuck worker is abandoned; a fresh one goes on.
                *worker = Worker::start();
            }
            Err(RecvTimeoutError::Disconnected) => {
                counts.panics += 1;
                counts
                    .findings
                    .push(save(parser, "crash", index, &input, "worker died"));
                *worker = Worker::start();
            }
        }
        if t.elapsed() > counts.slowest {
            counts.slowest = t.elapsed();
            counts.slowest_index = index;
        }
    };
    for (path, input) in regressions {
        let before = counts.findings.len();
        check(&mut worker, u64::MAX, input, &mut counts);
        assert_eq!(
            counts.findings.len(),
            before,
            "regression {} fails again",
            path.display()
        );
    }
    for index in from..from + count {
        let data = input(parser, &seeds, run_seed, index);
        check(&mut worker, index, data, &mut counts);
        if progress > 0 && (index - from + 1) % progress == 0 {
            eprintln!(
                "fuzz {}: {} inputs, {} panics, {} hangs, {} bad messages, {:.0?}",
                parser.name(),
                index - from + 1,
                counts.panics,
                counts.hangs,
                counts.bad_messages,
                started.elapsed()
            );
        }
    }
    counts
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_all(count: u64, limit_ms: u64) -> HashMap<&'static str, Counts> {
    let run_seed = env_u64("FUZZ_SEED", 0x7e1e_0b0f_f022);
    let from = env_u64("FUZZ_FROM", 0);
    let limit = Duration::from_millis(env_u64("FUZZ_LIMIT_MS", limit_ms));
    let chosen = std::env::var("FUZZ_PARSERS").unwrap_or_default();
    let mut out = HashMap::new();
    for parser in Parser::ALL {
        if !chosen.is_empty() && !chosen.split(',').any(|c| c == parser.name()) {
            continue;
        }
        let started = Instant::now();
        let counts = run(parser, count, run_seed, from, limit);
        let line = format!(
            "fuzz {}: {} inputs, {} panics, {} hangs, {} bad messages, slowest {:.1?} (input {}), {:.1?} in all",
            parser.name(),
            counts.inputs,
            counts.panics,
            counts.hangs,
            counts.bad_messages,
            counts.slowest,
            counts.slowest_index,
            started.elapsed()
        );
        eprintln!("{line}");
        let _ = writeln!(std::io::stderr());
        out.insert(parser.name(), counts);
    }
    out
}

fn assert_clean(results: &HashMap<&'static str, Counts>) {
    let findings: Vec<&PathBuf> = results.values().flat_map(|c| &c.findings).collect();
    assert!(
        findings.is_empty(),
        "{} findings (inputs saved): {findings:?}",
        findings.len()
    );
}

/// The CI run: a few thousand inputs per parser.
#[test]
fn bounded() {
    let results = run_all(env_u64("FUZZ_INPUTS", 2_000), 5_000);
    assert_clean(&results);
}

/// The long run: `FUZZ_INPUTS` (default 1,000,000) inputs per parser; see the module's docs.
#[test]
#[ignore = "long: run with --ignored (release build recommended)"]
fn long() {
    let results = run_all(env_u64("FUZZ_INPUTS", 1_000_000), 10_000);
    assert_clean(&results);
}

/// Every input the fuzzer ever found failing (`tests/fuzz_regressions/`) passes now:
/// - `urdf/unterminated-tag-after-depth-scan`: the depth scan sliced one past the end after an
///   unterminated start tag (panic);
/// - `profile/multibyte-before-key`, `script/multibyte-in-key`: the one-line TOML error sliced
///   inside a multi-byte character before the key name (panic).
#[test]
fn regressions_pass() {
    let mut replayed = 0;
    for parser in Parser::ALL {
        for (path, input) in regressions(parser) {
            let outcome = catch_unwind(AssertUnwindSafe(|| parser.run(&input)));
            assert!(
                matches!(outcome, Ok(Ok(()))),
                "{}: {outcome:?}",
                path.display()
            );
            replayed += 1;
        }
    }
    assert!(replayed >= 3, "{replayed} regression inputs");
}

/// Writes input `FUZZ_FROM` of parser `FUZZ_PARSERS` (seed `FUZZ_SEED`) to `target/fuzz-input`,
/// to look at a finding or a slow input: `FUZZ_PARSERS=profile FUZZ_FROM=1234 cargo test --test
/// integration fuzz::dump -- --ignored`.
#[test]
#[ignore = "a tool, not a test"]
fn dump() {
    let parser = Parser::ALL
        .into_iter()
        .find(|p| std::env::var("FUZZ_PARSERS").is_ok_and(|c| c == p.name()))
        .expect("FUZZ_PARSERS names one parser");
    let data = input(
        parser,
        &seeds(parser),
        env_u64("FUZZ_SEED", 0x7e1e_0b0f_f022),
        env_u64("FUZZ_FROM", 0),
    );
    let started = Instant::now();
    let outcome = parser.run(&data);
    eprintln!("{} bytes, {:?}: {outcome:?}", data.len(), started.elapsed());
    std::fs::write(root().join("target/fuzz-input"), &data).expect("write");
}

/// The mutations themselves are deterministic: the same seed and index give the same input.
#[test]
fn inputs_are_reproducible() {
    let seeds = seeds(Parser::Kin);
    for index in [0, 1, 12345, u64::MAX / 3] {
        assert_eq!(
            input(Parser::Kin, &seeds, 7, index),
            input(Parser::Kin, &seeds, 7, index)
        );
    }
}
