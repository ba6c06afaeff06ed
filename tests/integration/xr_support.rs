//! Running XR tests against a real runtime: Monado 25 in the trixie chroot that
//! `scripts/xr-runtime.sh setup` builds. Each XR test runs twice: on the host it starts a fresh
//! `monado-service`, then re-runs itself (this same test binary, this one test) inside the
//! chroot, where the OpenXR client can talk to the service; inside, the test body runs.
//! Without the runtime the tests skip with a message, except under CI, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One service at a time: it owns TCP 4242 and the IPC socket.
static RUNTIME: Mutex<()> = Mutex::new(());

const INSIDE: &str = "TELEOP_XR_INSIDE";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/xr-runtime.sh")
}

/// Inside the chroot: the service's PID, from the script's PID file.
pub fn service_pid() -> u32 {
    let text = std::fs::read_to_string("/run/xr/monado.pid").expect("monado PID file");
    text.trim().parse().expect("a PID")
}

/// Which device the service runs with.
#[derive(Debug, Clone, Copy)]
pub enum Devices {
    /// Poses from our injector over TCP 4242.
    Remote,
    /// No service running: the runtime is installed but not there.
    NoService,
}

/// `true` when the test body should run now (we are inside the chroot). On the host: runs
/// `test` (its path below `integration::`) inside the chroot against a fresh service, asserts
/// it passed, and returns `false`.
pub fn inside(test: &str, devices: Devices) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let ready = Command::new(script())
        .arg("status")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !ready || !root {
        let why = if root {
            "no OpenXR test runtime (run scripts/xr-runtime.sh setup)"
        } else {
            "the XR tests need root (chroot)"
        };
        super::common::skip(test, why);
        return false;
    }
    let _one_at_a_time = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    let mode = match devices {
        Devices::Remote => Some("remote"),
        Devices::NoService => None,
    };
    if let Some(mode) = mode {
        let started = niced()
            .arg(script())
            .args(["start", mode])
            .output()
            .unwrap();
        assert!(
            started.status.success(),
            "starting monado-service: {}",
            String::from_utf8_lossy(&started.stderr)
        );
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = niced()
        .arg(script())
        .arg("exec")
        .arg(&exe)
        .args([
            "--exact",
            &format!("integration::{test}"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INSIDE, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    // A hung runtime must not hang the suite.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let stopped = Command::new(script()).arg("stop").output();
    let log = std::fs::read_to_string("/var/cache/teleop-xr/trixie/run/xr/monado.log")
        .unwrap_or_default();
    let ran_one = out.contains("1 passed") || out.contains("test result: ok. 1 passed");
    assert!(
        status.is_some_and(|s| s.success()) && ran_one,
        "{test} inside the chroot: {status:?}\n--- stdout\n{out}\n--- stderr\n{err}\n--- monado-service log (tail)\n{}",
        tail(&log, 40)
    );
    assert!(
        stopped.is_ok_and(|s| s.status.success()),
        "stopping monado-service"
    );
    print!("{out}");
    eprint!("{err}");
    false
}

/// The runtime and the client at a lower priority: they are built to tolerate a slow machine
/// (simulated-time scripts, generous timeouts), the timing-sensitive tests beside them are not.
fn niced() -> Command {
    let mut command = Command::new("nice");
    command.args(["-n", "10"]);
    command
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
