//! The robot across the network: `teleop robot` and `teleop demo --connect` as real processes on
//! 127.0.0.1, watched from outside through Zenoh (this crate's `link::bus`, and Python's
//! `eclipse-zenoh` + `rosbags`, which nobody here wrote). Every loop is bounded; every process
//! is killed when its test ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use teleop_bridge::config::Profile;
use teleop_bridge::link::bus::{Bus, Endpoints, Subscription};
use teleop_bridge::link::names::{Qos, robot_namespace};
use teleop_bridge::link::types::{DiagnosticStatus, JointState};
use teleop_bridge::robot::host::{status_keys, status_value, topics};
use teleop_bridge::safety::Limits;

use super::common::REALTIME;

const TELEOP: &str = env!("CARGO_BIN_EXE_teleop");

fn profile() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml")
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A child process killed when dropped, its stdout lines on a channel.
struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(TELEOP)
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start teleop");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {line}"));
            }
        });
        Proc { child, lines }
    }

    /// The first line containing `needle` within `timeout`, and every line before it.
    fn wait_for(&self, needle: &str, timeout: Duration) -> Result<String, Vec<String>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        Err(seen)
    }

    /// Waits (bounded) for the process to end; its exit code and remaining lines.
    fn finish(mut self, timeout: Duration) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.code(),
                _ if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    break None;
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        // The reader threads end with the pipes.
        std::thread::sleep(Duration::from_millis(100));
        let lines = self.lines.try_iter().collect();
        (code, lines)
    }

    fn signal(&self, signal: i32) {
        // SAFETY-free: libc::kill on our own child's pid.
        let pid = self.child.id() as i32;
        let _ = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `teleop robot` on `port`, without its camera (rendering it takes a core of this machine)
/// unless `camera` gives a per-eye size.
fn start_robot_with(port: u16, name: &str, camera: Option<&str>) -> Proc {
    let listen = format!("tcp/127.0.0.1:{port}");
    let mut args = vec![
        "robot",
        "--listen",
        &listen,
        "--name",
        name,
        "--seconds",
        "120",
    ];
    match camera {
        Some(size) => args.extend(["--camera-size", size]),
        None => args.push("--no-camera"),
    }
    let robot = Proc::start(&args);
    if let Err(seen) = robot.wait_for("listening on", Duration::from_secs(60)) {
        panic!("the robot process did not start: {seen:#?}");
    }
    robot
}

fn start_robot(port: u16, name: &str) -> Proc {
    start_robot_with(port, name, None)
}

fn station(port: u16, name: &str, extra: &[&str]) -> Proc {
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let mut args = vec!["demo", "--connect", &endpoint, "--robot-name", name];
    args.extend_from_slice(extra);
    Proc::start(&args)
}

/// What an observer on the network saw, each with when it arrived.
#[derive(Default)]
struct Seen {
    statuses: Vec<(Instant, DiagnosticStatus)>,
    states: Vec<(Instant, Vec<f64>, Vec<f64>)>,
}

struct Observer {
    seen: Arc<Mutex<Seen>>,
    _subs: Vec<Subscription>,
    _bus: Bus,
}

impl Observer {
    fn connect(port: u16, name: &str) -> Observer {
        let endpoints = Endpoints {
            connect: vec![format!("tcp/127.0.0.1:{port}")],
            ..Endpoints::default()
        };
        let bus = Bus::open(&endpoints, &robot_namespace(name), "test_observer").expect("bus");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s1 = Arc::clone(&seen);
        let statuses = bus
            .subscribe::<DiagnosticStatus, _>(topics::STATUS, Qos::reliable(10), move |got| {
                if let Ok(r) = got {
                    // A failed assertion holding the lock must not take Zenoh's thread with it.
                    let mut seen = s1.lock().unwrap_or_else(|e| e.into_inner());
                    seen.statuses.push((r.at, r.message));
                }
            })
            .expect("status subscriber");
        let s2 = Arc::clone(&seen);
        let states = bus
            .subscribe::<JointState, _>(topics::STATES, Qos::best_effort(1), move |got| {
                if let Ok(r) = got {
                    let mut seen = s2.lock().unwrap_or_else(|e| e.into_inner());
                    seen.states
                        .push((r.at, r.message.position, r.message.velocity));
                }
            })
            .expect("state subscriber");
        Observer {
            seen,
            _subs: vec![statuses, states],
            _bus: bus,
        }
    }

    /// The first status after `since` whose mode is `mode`, within `timeout`.
    fn wait_mode(
        &self,
        mode: &str,
        since: Instant,
        timeout: Duration,
    ) -> Option<(Instant, DiagnosticStatus)> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(found) = self
                .seen
                .lock()
                .unwrap()
                .statuses
                .iter()
                .find(|(at, s)| *at >= since && s.message == mode)
                .cloned()
            {
                return Some(found);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

/// The station's PNGs of the robot's received camera images: one per decoded stereo image,
/// each the two eyes side by side at the robot's size, showing the robot's scene (the red cube
/// in both eyes of some image) with the eyes a stereo pair (alike, not identical).
fn check_received_pngs(dir: &Path, images: u64, view: &str) {
    let mut pngs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pngs.sort();
    assert!(
        pngs.len() as u64 >= images.min(5) && pngs.len() as u64 <= images,
        "{} PNGs for {images} images: {view}",
        pngs.len()
    );
    let mut cube_in_both = false;
    for path in &pngs {
        let image = image::open(path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (640, 240), "{}", path.display());
        let red = |x0: u32| {
            (0..240)
                .flat_map(|y| (x0..x0 + 320).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let [r, g, b] = image.get_pixel(x, y).0.map(i32::from);
                    r > 80 && r > 2 * g && r > 2 * b
                })
                .count()
        };
        cube_in_both |= red(0) > 20 && red(320) > 20;
        let differ = (0..240)
            .flat_map(|y| (0..320).map(move |x| (x, y)))
            .filter(|&(x, y)| image.get_pixel(x, y) != image.get_pixel(x + 320, y))
            .count();
        assert!(
            differ > 100 && differ < 320 * 240 * 9 / 10,
            "{}: {differ} pixels differ between the eyes",
            path.display()
        );
    }
    assert!(cube_in_both, "no image shows the red cube in both eyes");
}

fn age_ms(status: &DiagnosticStatus) -> f64 {
    status_value(status, status_keys::COMMAND_AGE_MS)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `python3` with `eclipse-zenoh` and `rosbags`; a skip (a failure under CI) otherwise.
fn python_zenoh() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import zenoh, rosbags.typesys"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        super::common::skip(
            "network test with Python's zenoh",
            "python3 cannot import zenoh and rosbags (.ci/run installs eclipse-zenoh and rosbags)",
        );
    }
    ok
}

/// Python, with nothing of ours: subscribes to the robot's joint states on the key it builds
/// from rosbags' own type hash, decodes every sample with rosbags, reads the attachment, and
/// lists the rmw_zenoh liveliness tokens it sees.
const PY_SUBSCRIBER: &str = r#"
import json, sys, threading, time
import zenoh
from rosbags.typesys import Stores, get_typestore
port, ns, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
ts = get_typestore(Stores.ROS2_JAZZY)
t = 'sensor_msgs/msg/JointState'
key = f"0/{ns}/joint_states/sensor_msgs::msg::dds_::JointState_/{ts.hash_rihs01(t)}"
conf = zenoh.Config()
conf.insert_json5("mode", '"peer"')
conf.insert_json5("scouting/multicast/enabled", "false")
conf.insert_json5("listen/endpoints", "[]")
conf.insert_json5("connect/endpoints", json.dumps([f"tcp/127.0.0.1:{port}"]))
s = zenoh.open(conf)
lock = threading.Lock()
out = {"count": 0, "errors": [], "names": None, "attachment_lengths": [], "sequence_increasing": True,
       "last_seq": 0, "positions_finite": True, "gids": []}
def on(sample):
    with lock:
        try:
            msg = ts.deserialize_cdr(bytes(sample.payload.to_bytes()), t)
            att = sample.attachment
            a = bytes(att.to_bytes()) if att is not None else b""
            if len(a) not in out["attachment_lengths"]:
                out["attachment_lengths"].append(len(a))
            if len(a) == 33:
                seq = int.from_bytes(a[0:8], "little", signed=True)
                if seq <= out["last_seq"]:
                    out["sequence_increasing"] = False
                out["last_seq"] = seq
                gid = a[17:33].hex()
                if gid not in out["gids"]:
                    out["gids"].append(gid)
            out["names"] = list(msg.name)
            out["positions_finite"] &= all(abs(p) < 1e6 for p in msg.position)
            out["count"] += 1
        except Exception as e:
            if len(out["errors"]) < 5:
                out["errors"].append(repr(e))
sub = s.declare_subscriber(key, on)
ci = 'sensor_msgs/msg/CompressedImage'
out["images"] = {}
def on_image(sample):
    with lock:
        try:
            m = ts.deserialize_cdr(bytes(sample.payload.to_bytes()), ci)
            ok = m.format == "jpeg" and bytes(m.data[:2]) == b"\xff\xd8" and bytes(m.data[-2:]) == b"\xff\xd9"
            eye = m.header.frame_id
            seen = out["images"].setdefault(eye, {"count": 0, "jpeg": True})
            seen["count"] += 1
            seen["jpeg"] &= ok
        except Exception as e:
            if len(out["errors"]) < 5:
                out["errors"].append(repr(e))
images = s.declare_subscriber(f"0/{ns}/camera/*/image_raw/compressed/sensor_msgs::msg::dds_::CompressedImage_/{ts.hash_rihs01(ci)}", on_image)
time.sleep(seconds)
tokens = [str(r.ok.key_expr) for r in s.liveliness().get("@ros2_lv/0/**") if r.ok is not None]
with lock:
    out["tokens"] = tokens
    print(json.dumps(out))
s.close()
"#;

#[test]
fn network_two_processes_complete_the_cube_task_and_python_decodes_joint_states() {
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    let python = python_zenoh();
    let port = free_port();
    let name = "net_demo";
    let robot = start_robot_with(port, name, Some("320x240"));
    let subscriber = python.then(|| {
        Command::new("python3")
            .args(["-c", PY_SUBSCRIBER, &port.to_string(), name, "6"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3")
    });
    let frames = tempfile::tempdir().unwrap();
    let frames_arg = frames.path().to_str().unwrap();
    let station = station(port, name, &["--frames", frames_arg]);
    let (code, lines) = station.finish(Duration::from_secs(90));
    assert_eq!(code, Some(0), "the station failed: {lines:#?}");
    let success = lines.iter().find(|l| l.starts_with("task:"));
    assert!(
        success.is_some_and(|l| l.contains("SUCCESS")),
        "cube task over the network: {lines:#?}"
    );
    // The station shows the robot's own camera images: decoded, with their age, written as
    // the PNG frames (nothing rendered on the station for them).
    let view = lines
        .iter()
        .find(|l| l.starts_with("view:"))
        .unwrap_or_else(|| panic!("no view line: {lines:#?}"));
    let images: u64 = view
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        images >= 5
            && view.contains("stereo images from the robot's camera (320×240 per eye)")
            && view.contains("age when decoded p50"),
        "{view}"
    );
    check_received_pngs(frames.path(), images, view);
    robot.signal(2);
    let (code, robot_lines) = robot.finish(Duration::from_secs(10));
    assert_eq!(code, Some(0), "robot process: {robot_lines:#?}");
    let summary = robot_lines
        .iter()
        .find(|l| l.starts_with("robot:"))
        .unwrap_or_else(|| panic!("no summary: {robot_lines:#?}"));
    assert!(
        summary.contains(" 1 takeovers")
            && summary.contains(" 0 refused")
            && summary.contains(" 0 bad"),
        "{summary}"
    );
    if let Some(py) = subscriber {
        let out = py.wait_with_output().expect("python");
        assert!(
            out.status.success(),
            "python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python JSON");
        assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
        // 500 Hz for most of 6 s (the station's start takes some of it).
        assert!(v["count"].as_u64().unwrap() > 500, "{v}");
        assert_eq!(v["attachment_lengths"], serde_json::json!([33]), "{v}");
        assert_eq!(v["sequence_increasing"], true, "{v}");
        assert_eq!(v["gids"].as_array().unwrap().len(), 1, "{v}");
        let (_, model) = Profile::load(&profile()).unwrap();
        let names: Vec<&str> = model.dof_names().collect();
        assert_eq!(v["names"], serde_json::json!(names), "{v}");
        // Both eyes of the robot's camera, as JPEGs (a rate this machine's software renderer
        // allows beside two real-time processes: at least a few per second).
        for eye in ["left_camera_link", "right_camera_link"] {
            let seen = &v["images"][eye];
            assert!(seen["count"].as_u64().unwrap_or(0) >= 5, "{eye}: {v}");
            assert_eq!(seen["jpeg"], true, "{eye}: {v}");
        }
        let tokens: Vec<String> = v["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        let ns = format!("%{name}");
        assert!(
            tokens
                .iter()
                .any(|t| t.contains("/NN/") && t.ends_with(&format!("{ns}/teleop_robot"))),
            "a node token for the robot: {tokens:#?}"
        );
        assert!(
            tokens.iter().any(|t| t.contains("/MP/")
                && t.contains(&format!(
                    "{ns}%joint_states/sensor_msgs::msg::dds_::JointState_"
                ))),
            "a publisher token for its joint states: {tokens:#?}"
        );
    }
}

/// With a window, the station shows the robot's own camera images as they arrive: the window
/// counts the frames that showed them, and a screenshot shows the red cube in both eyes.
#[test]
fn network_the_station_window_shows_the_robots_camera_images() {
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some((mut server, display, xwd)) = super::render::start_xvfb("the station window test")
    else {
        return;
    };
    let port = free_port();
    let name = "net_window";
    let robot = start_robot_with(port, name, Some("320x240"));
    let runtime = tempfile::tempdir().unwrap();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let mut demo = Command::new(TELEOP)
        .args([
            "demo",
            "--connect",
            &endpoint,
            "--robot-name",
            name,
            "--window",
        ])
        .env("DISPLAY", &display)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run teleop");
    let mut best = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(90);
    while demo.try_wait().expect("demo status").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(screen) = super::render::screenshot(&xwd, &display) {
            let (left, right) = super::render::red_halves(&screen);
            if left.min(right) > best.0.min(best.1) {
                best = (left, right);
            }
        }
    }
    let _ = demo.kill();
    let output = demo.wait_with_output().expect("demo ends");
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
    robot.signal(2);
    let (code, robot_lines) = robot.finish(Duration::from_secs(10));
    assert_eq!(code, Some(0), "robot process: {robot_lines:#?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("view:"))
        .unwrap_or_else(|| panic!("no view line:\n{stdout}\n{stderr}"));
    let shown: u64 = line
        .split(" frames (")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of the robot's images: {line}"));
    // The software renderer shares two cores with the robot process's own camera renderer.
    assert!(shown >= 5, "{line}");
    assert!(
        best.0 > 20 && best.1 > 20,
        "red cube pixels in the best screenshot: left {}, right {}",
        best.0,
        best.1
    );
}

/// `teleop robot` listening on `listen` with the Zenoh configuration `config`, no camera.
fn start_robot_configured(listen: &str, name: &str, config: &Path) -> Proc {
    let robot = Proc::start(&[
        "robot",
        "--listen",
        listen,
        "--name",
        name,
        "--seconds",
        "60",
        "--no-camera",
        "--zenoh-config",
        config.to_str().unwrap(),
    ]);
    if let Err(seen) = robot.wait_for("listening on", Duration::from_secs(60)) {
        panic!("the robot process did not start: {seen:#?}");
    }
    robot
}

/// How many of robot `name`'s joint states a station reaching `endpoint` with the Zenoh
/// configuration `config` receives in 3 s.
fn states_received(endpoint: &str, name: &str, config: Option<&Path>) -> u64 {
    let endpoints = Endpoints {
        connect: vec![endpoint.to_string()],
        config_file: config.map(Path::to_path_buf),
        ..Endpoints::default()
    };
    let bus = Bus::open(&endpoints, &robot_namespace(name), "test_station").expect("bus");
    let count = Arc::new(Mutex::new(0u64));
    let c = Arc::clone(&count);
    let _sub = bus
        .subscribe::<JointState, _>(topics::STATES, Qos::best_effort(1), move |got| {
            if got.is_ok() {
                *c.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            }
        })
        .expect("subscriber");
    std::thread::sleep(Duration::from_secs(3));
    *count.lock().unwrap()
}

/// The example user/password files in `examples/zenoh` work: a robot process started with
/// `robot-usrpwd.json5` sends its joint states to a station with `station-usrpwd.json5`, and to
/// none with a wrong password or no credentials.
#[test]
fn network_user_password_authentication_admits_only_listed_stations() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/zenoh");
    let dir = tempfile::tempdir().unwrap();
    // The dictionary path is relative to the robot's working folder: made absolute here.
    let robot_config = dir.path().join("robot.json5");
    let text = std::fs::read_to_string(examples.join("robot-usrpwd.json5")).unwrap();
    let dictionary = examples.join("stations.txt");
    assert!(text.contains("\"stations.txt\""), "{text}");
    std::fs::write(
        &robot_config,
        text.replace(
            "\"stations.txt\"",
            &format!("{:?}", dictionary.display().to_string()),
        ),
    )
    .unwrap();
    let station_config = examples.join("station-usrpwd.json5");
    let wrong_config = dir.path().join("wrong.json5");
    std::fs::write(
        &wrong_config,
        std::fs::read_to_string(&station_config)
            .unwrap()
            .replace("change-me-station01", "not-the-password"),
    )
    .unwrap();
    let port = free_port();
    let name = "net_auth";
    let listen = format!("tcp/127.0.0.1:{port}");
    let robot = start_robot_configured(&listen, name, &robot_config);
    let admitted = states_received(&listen, name, Some(&station_config));
    let wrong = states_received(&listen, name, Some(&wrong_config));
    let none = states_received(&listen, name, None);
    drop(robot);
    assert!(admitted > 100, "the listed station got {admitted} states");
    assert_eq!(wrong, 0, "a wrong password got states");
    assert_eq!(none, 0, "a station without credentials got states");
}

/// The TLS example in `examples/zenoh` works: certificates from its `make-certs.sh`, a robot
/// process listening on `tls/` with `robot-tls.json5` (mutual TLS and user/password) sends its
/// joint states to a station with `station-tls.json5`, and to none that connects without TLS
/// or without a certificate.
#[test]
fn network_tls_admits_a_station_with_the_centres_certificate_only() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/zenoh");
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("sh")
        .arg(examples.join("make-certs.sh"))
        .arg(dir.path())
        .arg("127.0.0.1")
        .output()
        .expect("sh");
    if !made.status.success() {
        let why = String::from_utf8_lossy(&made.stderr).to_string();
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            return super::common::skip("the TLS test", "openssl not installed");
        }
        panic!("make-certs.sh: {why}");
    }
    // Paths in the examples are relative to the process's folder: made absolute here.
    let rewrite = |example: &str, out: &str| {
        let mut text = std::fs::read_to_string(examples.join(example)).unwrap();
        for file in [
            "centre-ca.pem",
            "robot-key.pem",
            "robot-cert.pem",
            "station-key.pem",
            "station-cert.pem",
        ] {
            text = text.replace(
                &format!("\"{file}\""),
                &format!("{:?}", dir.path().join(file).display().to_string()),
            );
        }
        text = text.replace(
            "\"stations.txt\"",
            &format!("{:?}", examples.join("stations.txt").display().to_string()),
        );
        let path = dir.path().join(out);
        std::fs::write(&path, text).unwrap();
        path
    };
    let robot_config = rewrite("robot-tls.json5", "robot.json5");
    let station_config = rewrite("station-tls.json5", "station.json5");
    let port = free_port();
    let name = "net_tls";
    let listen = format!("tls/127.0.0.1:{port}");
    let robot = start_robot_configured(&listen, name, &robot_config);
    let admitted = states_received(&listen, name, Some(&station_config));
    let plain = states_received(&format!("tcp/127.0.0.1:{port}"), name, None);
    // TLS to the right address, but no certificate to show and no credentials.
    let anonymous = dir.path().join("anonymous.json5");
    std::fs::write(
        &anonymous,
        format!(
            "{{ mode: \"peer\", scouting: {{ multicast: {{ enabled: false }} }}, transport: {{ link: {{ tls: {{ root_ca_certificate: {:?} }} }} }} }}",
            dir.path().join("centre-ca.pem").display().to_string()
        ),
    )
    .unwrap();
    let uncertified = states_received(&listen, name, Some(&anonymous));
    drop(robot);
    assert!(
        admitted > 100,
        "the certified station got {admitted} states"
    );
    assert_eq!(plain, 0, "a plain TCP station got states");
    assert_eq!(uncertified, 0, "a station without a certificate got states");
}

/// The restart script: clutch released for 2 s (nothing may move), then engaged and the left
/// hand moved 10 cm (the robot must follow).
const HOLD_THEN_MOVE: &str = r#"
[[key]]
t = 0.0
head = { position = [0.0, 1.6, 0.0] }
left = { position = [-0.2, 1.1, -0.3], squeeze = 0.0 }

[[key]]
t = 2.0
head = { position = [0.0, 1.6, 0.0] }
left = { position = [-0.2, 1.1, -0.3], squeeze = 0.0 }

[[key]]
t = 2.3
head = { position = [0.0, 1.6, 0.0] }
left = { position = [-0.2, 1.1, -0.3], squeeze = 1.0 }

[[key]]
t = 3.5
head = { position = [0.0, 1.6, 0.0] }
left = { position = [-0.2, 1.2, -0.35], squeeze = 1.0 }
"#;

#[test]
fn network_killed_station_robot_holds_then_damps_and_a_new_station_moves_nothing_until_the_clutch()
{
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    let port = free_port();
    let name = "net_faults";
    let _robot = start_robot(port, name);
    let observer = Observer::connect(port, name);
    let (profile_data, model) = Profile::load(&profile()).unwrap();
    let limits = Limits::from_profile(&model, &profile_data, 1.0);

    let first = station(port, name, &[]);
    let active = observer
        .wait_mode(
            "ACTIVE",
            Instant::now() - Duration::from_secs(60),
            Duration::from_secs(30),
        )
        .expect("the station takes control");
    // Mid-motion: the script carries the cube between 2 s and 7 s.
    std::thread::sleep(Duration::from_millis(3000).saturating_sub(active.0.elapsed()));
    let moving = {
        let seen = observer.seen.lock().unwrap();
        seen.states
            .iter()
            .rev()
            .take(50)
            .flat_map(|(_, _, v)| v.iter().map(|x| x.abs()))
            .fold(0.0, f64::max)
    };
    assert!(
        moving > 0.02,
        "the robot moves when the station is killed ({moving} rad/s)"
    );
    first.signal(9);
    let killed = Instant::now();
    drop(first);

    let hold = observer
        .wait_mode("HOLD", killed, Duration::from_secs(3))
        .expect("HOLD after the station died");
    let damp = observer
        .wait_mode("DAMP", killed, Duration::from_secs(3))
        .expect("DAMP after the station died");
    // The robot's own clock: HOLD at 100 ms without a command, DAMP at 500 ms (a tick is 2 ms).
    let (hold_age, damp_age) = (age_ms(&hold.1), age_ms(&damp.1));
    assert!((100.0..=112.0).contains(&hold_age), "HOLD at {hold_age} ms");
    assert!((500.0..=512.0).contains(&damp_age), "DAMP at {damp_age} ms");
    // Seen from outside, allowing for the observer's own scheduling on a loaded machine.
    assert!(hold.0.duration_since(killed) < Duration::from_millis(400));
    assert!(damp.0.duration_since(killed) < Duration::from_millis(900));
    std::thread::sleep(Duration::from_millis(300));
    {
        let seen = observer.seen.lock().unwrap();
        let after: Vec<_> = seen
            .states
            .iter()
            .filter(|(at, _, _)| *at >= killed)
            .collect();
        assert!(
            after.len() > 200,
            "joint states keep coming ({})",
            after.len()
        );
        for (_, _, v) in &after {
            for (i, (v, limit)) in v.iter().zip(&limits.velocity).enumerate() {
                assert!(
                    v.abs() <= limit * 1.1 + 0.02,
                    "joint {i} at {v} rad/s over its limit {limit} after the station died"
                );
            }
        }
    }

    // A new station meets the robot where it stands: nothing moves while its clutch is released.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hold_then_move.toml");
    std::fs::write(&script, HOLD_THEN_MOVE).unwrap();
    let restarted = Instant::now();
    let second = station(port, name, &["--script", script.to_str().unwrap()]);
    let taken = observer
        .wait_mode("ACTIVE", restarted, Duration::from_secs(30))
        .expect("the new station takes control");
    std::thread::sleep(Duration::from_millis(1500).saturating_sub(taken.0.elapsed()));
    let still = {
        let seen = observer.seen.lock().unwrap();
        let window: Vec<_> = seen
            .states
            .iter()
            .filter(|(at, _, _)| *at >= taken.0 + Duration::from_millis(50))
            .collect();
        assert!(window.len() > 100, "states while held ({})", window.len());
        let (t0, first) = (window[0].0, &window[0].1);
        let mut worst = (0.0, 0, Duration::ZERO);
        for (at, q, _) in &window {
            for (i, (a, b)) in q.iter().zip(first).enumerate() {
                if (a - b).abs() > worst.0 {
                    worst = ((a - b).abs(), i, at.duration_since(t0));
                }
            }
        }
        worst
    };
    // Servos that were off settle back against gravity (their integral action): a couple of
    // degrees at a wrist. A station moving the robot would move its arm by tenths of a radian.
    assert!(
        still.0 < 0.05,
        "joint {} moved {} rad before the clutch was engaged ({:?} after the takeover)",
        still.1,
        still.0,
        still.2
    );
    let (code, lines) = second.finish(Duration::from_secs(30));
    // The hand moved away from any cube: the task fails, the station ran to its end.
    assert_eq!(code, Some(1), "{lines:#?}");
    let seen = observer.seen.lock().unwrap();
    let engaged_moves = seen
        .states
        .iter()
        .filter(|(at, _, _)| *at >= taken.0 + Duration::from_millis(2600))
        .flat_map(|(_, _, v)| v.iter().map(|x| x.abs()))
        .fold(0.0, f64::max);
    assert!(
        engaged_moves > 0.02,
        "the clutch engaged moves the robot ({engaged_moves})"
    );
}

#[test]
fn network_second_station_is_refused_while_one_holds_control() {
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    let port = free_port();
    let name = "net_two";
    let _robot = start_robot(port, name);
    let observer = Observer::connect(port, name);
    let first = station(port, name, &[]);
    observer
        .wait_mode(
            "ACTIVE",
            Instant::now() - Duration::from_secs(60),
            Duration::from_secs(30),
        )
        .expect("the first station takes control");
    let second = station(port, name, &[]);
    let (code, lines) = second.finish(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{lines:#?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {lines:#?}");
    assert!(
        errors[0].contains("refused control: held by station@"),
        "{}",
        errors[0]
    );
    // The first station still drives and finishes the task.
    let (code, lines) = first.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{lines:#?}");
}

#[test]
fn network_killed_robot_is_reported_in_one_line() {
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    let port = free_port();
    let name = "net_gone";
    let robot = start_robot(port, name);
    let observer = Observer::connect(port, name);
    let station = station(port, name, &[]);
    observer
        .wait_mode(
            "ACTIVE",
            Instant::now() - Duration::from_secs(60),
            Duration::from_secs(30),
        )
        .expect("the station takes control");
    robot.signal(9);
    let killed = Instant::now();
    let (code, lines) = station.finish(Duration::from_secs(10));
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "the station noticed at once"
    );
    assert_eq!(code, Some(1), "{lines:#?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {lines:#?}");
    assert!(
        errors[0].contains("robot /net_gone is gone")
            || errors[0].contains("robot /net_gone silent"),
        "{}",
        errors[0]
    );
}

#[test]
fn network_station_without_a_robot_says_so_in_one_line() {
    let port = free_port();
    let station = station(port, "nobody", &[]);
    let (code, lines) = station.finish(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{lines:#?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{lines:#?}");
    assert!(
        errors[0].contains("no state from robot /nobody"),
        "{}",
        errors[0]
    );
}

/// A command held back by the relay: when it is due, its key, payload and attachment.
type Delayed = (Instant, String, Vec<u8>, Vec<u8>);

/// An application-level relay between a station and a robot: two Zenoh sessions, commands
/// forwarded after `delay` with their attachments intact (so the robot sees the station's own
/// sequence numbers and timestamps), every 20th command from sequence 200 on dropped; the
/// robot's topics forwarded at once.
struct Relay {
    dropped: Arc<Mutex<Vec<i64>>>,
    forwarded_max: Arc<std::sync::atomic::AtomicI64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    _sessions: (zenoh::Session, zenoh::Session),
    _subs: Vec<zenoh::pubsub::Subscriber<()>>,
}

impl Relay {
    fn start(station_port: u16, robot_port: u16, name: &str, delay: Duration, lose: bool) -> Relay {
        use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
        use zenoh::Wait;
        let open = |listen: Option<u16>, connect: Option<u16>| {
            let mut c = zenoh::Config::default();
            c.insert_json5("mode", r#""peer""#).unwrap();
            c.insert_json5("scouting/multicast/enabled", "false")
                .unwrap();
            c.insert_json5("scouting/gossip/enabled", "false").unwrap();
            let list = |p: Option<u16>| match p {
                Some(p) => format!(r#"["tcp/127.0.0.1:{p}"]"#),
                None => "[]".into(),
            };
            c.insert_json5("listen/endpoints", &list(listen)).unwrap();
            c.insert_json5("connect/endpoints", &list(connect)).unwrap();
            zenoh::open(c).wait().expect("relay session")
        };
        let station_side = open(Some(station_port), None);
        let robot_side = open(None, Some(robot_port));
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let forwarded_max = Arc::new(AtomicI64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let queue: Arc<Mutex<std::collections::VecDeque<Delayed>>> = Arc::default();
        let mut subs = Vec::new();
        {
            let (queue, dropped) = (Arc::clone(&queue), Arc::clone(&dropped));
            subs.push(
                station_side
                    .declare_subscriber(format!("0/{name}/joint_commands/**"))
                    .callback(move |sample| {
                        let attachment = sample
                            .attachment()
                            .map(|a| a.to_bytes().to_vec())
                            .unwrap_or_default();
                        let seq = attachment
                            .get(0..8)
                            .map_or(0, |b| i64::from_le_bytes(b.try_into().unwrap()));
                        if lose && seq >= 200 && seq % 20 == 0 {
                            dropped.lock().unwrap().push(seq);
                            return;
                        }
                        queue.lock().unwrap().push_back((
                            Instant::now() + delay,
                            sample.key_expr().to_string(),
                            sample.payload().to_bytes().to_vec(),
                            attachment,
                        ));
                    })
                    .wait()
                    .unwrap(),
            );
        }
        for topic in ["joint_states", "status", "objects"] {
            let to = station_side.clone();
            subs.push(
                robot_side
                    .declare_subscriber(format!("0/{name}/{topic}/**"))
                    .callback(move |sample| {
                        let mut put = to.put(sample.key_expr().clone(), sample.payload().clone());
                        if let Some(a) = sample.attachment() {
                            put = put.attachment(a.clone());
                        }
                        let _ = put.wait();
                    })
                    .wait()
                    .unwrap(),
            );
        }
        {
            let (queue, stop, max) = (
                Arc::clone(&queue),
                Arc::clone(&stop),
                Arc::clone(&forwarded_max),
            );
            let to = robot_side.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let next = {
                        let mut q = queue.lock().unwrap();
                        match q.front() {
                            Some((due, ..)) if *due <= Instant::now() => q.pop_front(),
                            _ => None,
                        }
                    };
                    match next {
                        Some((_, key, payload, attachment)) => {
                            let seq = attachment
                                .get(0..8)
                                .map_or(0, |b| i64::from_le_bytes(b.try_into().unwrap()));
                            let _ = to
                                .put(key, payload)
                                .attachment(attachment)
                                .congestion_control(zenoh::qos::CongestionControl::Block)
                                .wait();
                            max.fetch_max(seq, Ordering::Relaxed);
                        }
                        None => std::thread::sleep(Duration::from_micros(200)),
                    }
                }
            });
        }
        Relay {
            dropped,
            forwarded_max,
            stop,
            _sessions: (station_side, robot_side),
            _subs: subs,
        }
    }

    /// Commands dropped before the last one forwarded: the gaps the robot can see.
    fn visible_losses(&self) -> u64 {
        let max = self
            .forwarded_max
            .load(std::sync::atomic::Ordering::Relaxed);
        self.dropped
            .lock()
            .unwrap()
            .iter()
            .filter(|&&s| s < max)
            .count() as u64
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The number after `label` in a summary line (`… 12 sequence gaps, …`).
fn count_before(line: &str, label: &str) -> u64 {
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {line}"));
    line[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count before {label:?} in {line}"))
}

#[test]
fn network_delay_and_loss_hold_at_the_thresholds_and_gaps_count_the_loss() {
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    // 50 ms late and 5 % lost: the robot stays ACTIVE, its gap counter equals the loss.
    {
        let (robot_port, relay_port) = (free_port(), free_port());
        let name = "net_lossy";
        let robot = start_robot(robot_port, name);
        let observer = Observer::connect(robot_port, name);
        let relay = Relay::start(
            relay_port,
            robot_port,
            name,
            Duration::from_millis(50),
            true,
        );
        let station = station(relay_port, name, &[]);
        let (code, lines) = station.finish(Duration::from_secs(90));
        assert!(code.is_some(), "the station ran to its end: {lines:#?}");
        std::thread::sleep(Duration::from_millis(100));
        robot.signal(2);
        let (_, robot_lines) = robot.finish(Duration::from_secs(10));
        let summary = robot_lines
            .iter()
            .find(|l| l.starts_with("robot:"))
            .unwrap_or_else(|| panic!("{robot_lines:#?}"));
        let losses = relay.visible_losses();
        assert!(
            losses > 100,
            "5 % of a demo's commands were dropped ({losses})"
        );
        assert_eq!(count_before(summary, "sequence gaps"), losses, "{summary}");
        let seen = observer.seen.lock().unwrap();
        let active: Vec<f64> = seen
            .statuses
            .iter()
            .filter(|(_, s)| s.message == "ACTIVE")
            .map(|(_, s)| age_ms(s))
            .collect();
        assert!(active.len() > 20, "ACTIVE statuses: {}", active.len());
        // Age = the relay's 50 ms + the 5 % gaps; never the 100 ms of HOLD while commands flow.
        assert!(
            active.iter().all(|a| (49.0..100.0).contains(a)),
            "command ages while active: {active:?}"
        );
        // One HOLD: when the station stopped. Another would be the watchdog tripping on 50 ms
        // of delay and 5 % loss.
        assert_eq!(count_before(summary, "holds"), 1, "{summary}");
    }
    // 150 ms late: every command is too old; the robot holds and does not move.
    {
        let (robot_port, relay_port) = (free_port(), free_port());
        let name = "net_late";
        let _robot = start_robot(robot_port, name);
        let observer = Observer::connect(robot_port, name);
        let _relay = Relay::start(
            relay_port,
            robot_port,
            name,
            Duration::from_millis(150),
            false,
        );
        // The simulated robot settles under gravity for a moment after it starts (its servos'
        // integral action): not what this test is about.
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        let station = station(relay_port, name, &[]);
        let hold = observer
            .wait_mode("HOLD", started, Duration::from_secs(30))
            .expect("HOLD");
        std::thread::sleep(Duration::from_secs(4));
        let seen = observer.seen.lock().unwrap();
        let with_holder: Vec<f64> = seen
            .statuses
            .iter()
            .filter(|(at, s)| *at >= hold.0 && status_value(s, status_keys::HOLDER) != Some(""))
            .map(|(_, s)| age_ms(s))
            .collect();
        assert!(!with_holder.is_empty(), "the station took control");
        assert!(
            seen.statuses.iter().all(|(_, s)| s.message != "ACTIVE"),
            "never ACTIVE on 150 ms old commands"
        );
        assert!(
            with_holder.iter().all(|a| (140.0..200.0).contains(a)),
            "ages {with_holder:?}"
        );
        let window: Vec<_> = seen
            .states
            .iter()
            .filter(|(at, _, _)| *at >= hold.0)
            .collect();
        let first = &window[0].1;
        let moved = window
            .iter()
            .flat_map(|(_, q, _)| q.iter().zip(first).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        assert!(moved < 0.01, "the robot moved {moved} rad on late commands");
        drop(station);
    }
}

#[test]
fn network_headset_drives_a_robot_process() {
    use nalgebra::Isometry3;
    use teleop_bridge::xr::remote::{Injector, RemoteState, Streamer};

    use super::xr_support::{Devices, inside};
    // Held on the host while the test runs inside the runtime's chroot, and inside.
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    if !inside(
        "network::network_headset_drives_a_robot_process",
        Devices::Remote,
    ) {
        return;
    }
    let port = free_port();
    let name = "net_xr";
    let _robot = start_robot(port, name);
    let observer = Observer::connect(port, name);
    let streamer = Streamer::start(
        Injector::connect(Duration::from_secs(10)).expect("remote driver port"),
        RemoteState::standing(),
        200.0,
    );
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let headset = Proc::start(&[
        "run",
        "--input",
        "xr",
        "--headless",
        "--seconds",
        "6",
        "--connect",
        &endpoint,
        "--robot-name",
        name,
    ]);
    // Squeeze, move the left hand 20 cm forward, release.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let t = started.elapsed().as_secs_f64();
        streamer.update(|s| {
            let ramp = ((t - 2.0) / 1.0).clamp(0.0, 1.0);
            s.left.pose = Isometry3::translation(-0.2, 1.2, -0.3 - 0.2 * ramp);
            s.left.squeeze = if (1.5..4.0).contains(&t) { 1.0 } else { 0.0 };
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, lines) = headset.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("valve/index_controller")),
        "the headset's report: {lines:#?}"
    );
    let seen = observer.seen.lock().unwrap();
    assert!(
        seen.statuses.iter().any(|(_, s)| s.message == "ACTIVE"),
        "the headset's station took control"
    );
    let (_, model) = Profile::load(&profile()).unwrap();
    let shoulder = model
        .dof_names()
        .position(|n| n == "left_shoulder_pitch_joint")
        .unwrap();
    let qs: Vec<f64> = seen.states.iter().map(|(_, q, _)| q[shoulder]).collect();
    let moved =
        qs.iter().fold(f64::MIN, |a, &b| a.max(b)) - qs.iter().fold(f64::MAX, |a, &b| a.min(b));
    assert!(
        moved > 0.05,
        "the left shoulder followed the hand ({moved} rad)"
    );
}

/// A stand-in ROS 2 robot with nothing of ours: Python's `eclipse-zenoh` and `rosbags`. It
/// listens where a robot's rmw_zenoh peer would, takes the controller's commands (a forward
/// position controller's `Float64MultiArray`, or a joint trajectory controller's
/// `JointTrajectory`), follows them at once, and publishes `/joint_states` at 250 Hz with
/// rmw_zenoh's attachment. Prints what it received.
const PY_ROS2_ROBOT: &str = r#"
import json, sys, threading, time
import zenoh
from rosbags.typesys import Stores, get_typestore
port, interface, topic, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
joints = json.loads(sys.argv[5])
ts = get_typestore(Stores.ROS2_JAZZY)
JS, FMA, JT = 'sensor_msgs/msg/JointState', 'std_msgs/msg/Float64MultiArray', 'trajectory_msgs/msg/JointTrajectory'
ctype = FMA if interface == 'forward_position' else JT
def key(topic, t):
    pkg, _, name = t.split('/')
    return f"0/{topic.strip('/')}/{pkg}::msg::dds_::{name}_/{ts.hash_rihs01(t)}"
conf = zenoh.Config()
conf.insert_json5("mode", '"peer"')
conf.insert_json5("scouting/multicast/enabled", "false")
conf.insert_json5("listen/endpoints", json.dumps([f"tcp/127.0.0.1:{port}"]))
s = zenoh.open(conf)
lock = threading.Lock()
q = {j: 0.0 for j in joints}
out = {"commands": 0, "errors": [], "min": {}, "max": {}, "attachments_ok": True, "names_ok": True}
def on(sample):
    with lock:
        try:
            m = ts.deserialize_cdr(bytes(sample.payload.to_bytes()), ctype)
            a = sample.attachment
            if a is None or len(bytes(a.to_bytes())) != 33:
                out["attachments_ok"] = False
            if ctype == FMA:
                values = list(m.data)
            else:
                if list(m.joint_names) != joints:
                    out["names_ok"] = False
                values = list(m.points[0].positions)
            for j, v in zip(joints, values):
                q[j] = v
                out["min"][j] = min(out["min"].get(j, v), v)
                out["max"][j] = max(out["max"].get(j, v), v)
            out["commands"] += 1
        except Exception as e:
            if len(out["errors"]) < 5:
                out["errors"].append(repr(e))
sub = s.declare_subscriber(key(topic, ctype), on)
pub = s.declare_publisher(key("/joint_states", JS))
Header = ts.types['std_msgs/msg/Header']; Time = ts.types['builtin_interfaces/msg/Time']
JointState = ts.types[JS]
import numpy as np
seq = 0
gid = bytes(range(16))
end = time.time() + seconds
while time.time() < end:
    with lock:
        names, pos = list(q.keys()), [q[j] for j in q]
    now = time.time_ns()
    msg = JointState(header=Header(stamp=Time(sec=now // 10**9, nanosec=now % 10**9), frame_id=''),
                     name=names, position=np.array(pos, dtype=np.float64),
                     velocity=np.zeros(len(pos)), effort=np.zeros(0))
    seq += 1
    att = seq.to_bytes(8, 'little') + now.to_bytes(8, 'little') + bytes([16]) + gid
    pub.put(bytes(ts.serialize_cdr(msg, JS)), attachment=att)
    time.sleep(0.004)
with lock:
    print(json.dumps(out))
s.close()
"#;

/// The bundled humanoid's profile with a `[ros2_control]` table, written into `dir`.
fn ros2_profile(dir: &Path, interface: &str, topic: &str, joints: &[&str]) -> std::path::PathBuf {
    let text = std::fs::read_to_string(profile()).unwrap();
    let urdf = Path::new(env!("CARGO_MANIFEST_DIR")).join("urdf/teleop_humanoid.urdf");
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("urdf") {
            out.push_str(&format!("urdf = {:?}\n", urdf.to_str().unwrap()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\n[ros2_control]\ninterface = {interface:?}\ncommand_topic = {topic:?}\njoints = {joints:?}\n"
    ));
    let path = dir.join(format!("{interface}.toml"));
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn network_a_ros2_robot_is_driven_through_its_own_controllers() {
    let _one = REALTIME.lock().unwrap_or_else(|e| e.into_inner());
    if !python_zenoh() {
        return;
    }
    let (_, model) = Profile::load(&profile()).unwrap();
    // The left arm's seven joints, as a controller would list them.
    let joints: Vec<&str> = model
        .dof_names()
        .filter(|n| n.starts_with("left_") && !n.contains("gripper"))
        .collect();
    assert_eq!(joints.len(), 7);
    let dir = tempfile::tempdir().unwrap();
    for (interface, topic) in [
        ("forward_position", "/forward_position_controller/commands"),
        (
            "joint_trajectory",
            "/joint_trajectory_controller/joint_trajectory",
        ),
    ] {
        let port = free_port();
        let robot_profile = ros2_profile(dir.path(), interface, topic, &joints);
        let joints_json = serde_json::to_string(&joints).unwrap();
        let robot = Command::new("python3")
            .args([
                "-c",
                PY_ROS2_ROBOT,
                &port.to_string(),
                interface,
                topic,
                "14",
                &joints_json,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        std::thread::sleep(Duration::from_millis(1500));
        let endpoint = format!("tcp/127.0.0.1:{port}");
        let station = Proc::start(&[
            "demo",
            "--connect",
            &endpoint,
            "--robot",
            robot_profile.to_str().unwrap(),
        ]);
        let (code, lines) = station.finish(Duration::from_secs(60));
        // No cube in a ROS robot's world: the demo runs to its end and judges it failed.
        assert_eq!(code, Some(1), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("task:")), "{lines:#?}");
        let out = robot.wait_with_output().expect("python");
        assert!(
            out.status.success(),
            "python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python JSON");
        assert!(
            v["errors"].as_array().unwrap().is_empty(),
            "{interface}: {v}"
        );
        assert_eq!(v["attachments_ok"], true, "{interface}: {v}");
        assert_eq!(v["names_ok"], true, "{interface}: {v}");
        // 11 s of the demo at 500 Hz.
        assert!(v["commands"].as_u64().unwrap() > 4000, "{interface}: {v}");
        let range = |j: &str| v["max"][j].as_f64().unwrap() - v["min"][j].as_f64().unwrap();
        assert!(
            range("left_shoulder_pitch_joint") > 0.1 || range("left_elbow_joint") > 0.1,
            "{interface}: the arm followed the script: {v}"
        );
    }
}
