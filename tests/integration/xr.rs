//! The OpenXR client against a real runtime (Monado 25, headless, remote driver): see
//! `xr_support` for how each test gets its own service inside the chroot.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
use teleop_bridge::app::{Clock, Observer, Scene, Session, Tick};
use teleop_bridge::msg::{OperatorFrame, TickOutcome};
use teleop_bridge::operator::{Input, Source};
use teleop_bridge::render;
use teleop_bridge::robot::{Robot, state_for};
use teleop_bridge::xr::remote::{Injector, RemoteState, Streamer};
use teleop_bridge::xr::{
    Client, Error as XrError, EyeRenderer, EyeView, HeadlessClient, RobotView, Sample,
    SessionState, Step, VulkanClient,
};

use super::xr_support::{Devices, inside};

/// Steps `client` until `done` says so, feeding every sample to it; panics after `timeout`.
fn step_until(
    client: &mut HeadlessClient,
    timeout: Duration,
    mut done: impl FnMut(&HeadlessClient, Option<&Sample>) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let step = client.step().unwrap_or_else(|e| panic!("{e}"));
        let sample = match &step {
            Step::Sample(s) => Some(&**s),
            _ => None,
        };
        if done(client, sample) {
            return;
        }
        assert!(step != Step::Finished, "session finished early");
        assert!(
            Instant::now() < deadline,
            "timed out in state {:?}",
            client.state()
        );
    }
}

fn close(a: &Isometry3<f64>, b: &Isometry3<f64>, metres: f64, radians: f64) -> bool {
    (a.translation.vector - b.translation.vector).norm() < metres
        && a.rotation.angle_to(&b.rotation) < radians
}

#[test]
fn headless_session_reaches_focused_reads_head_and_controllers_and_exits() {
    if !inside(
        "xr::headless_session_reaches_focused_reads_head_and_controllers_and_exits",
        Devices::Remote,
    ) {
        return;
    }
    let mut pose = RemoteState::standing();
    pose.head = Isometry3::from_parts(
        Translation3::new(0.05, 1.62, 0.1),
        UnitQuaternion::from_euler_angles(-0.2, 0.3, 0.0),
    );
    pose.left.pose = Isometry3::from_parts(
        Translation3::new(-0.25, 1.1, -0.35),
        UnitQuaternion::from_euler_angles(0.4, 0.0, 0.1),
    );
    pose.right.pose = Isometry3::translation(0.3, 1.25, -0.4);
    pose.right.trigger = 0.8;
    pose.right.squeeze = 0.5;
    let streamer = Streamer::start(
        Injector::connect(Duration::from_secs(10)).expect("remote driver port"),
        pose,
        200.0,
    );
    let epoch = Instant::now();
    let mut client = HeadlessClient::new(epoch, 90.0).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("runtime: {}", client.runtime().name);
    step_until(&mut client, Duration::from_secs(15), |c, _| c.focused());
    assert_eq!(client.state(), SessionState::Focused);
    let mut seen = None;
    step_until(&mut client, Duration::from_secs(5), |_, s| {
        let Some(s) = s else { return false };
        let f = &s.frame;
        let ok = [
            (f.head, pose.head),
            (f.left.grip, pose.left.pose),
            (f.right.grip, pose.right.pose),
        ]
        .iter()
        .all(|(got, want)| got.is_some_and(|g| close(&g, want, 1e-3, 1e-3)));
        seen = Some(*s);
        ok
    });
    let s = seen.unwrap();
    eprintln!(
        "profiles: {:?}, hand tracking: {}",
        client.profiles(),
        client.hand_tracking()
    );
    assert!((s.frame.right.trigger - 0.8).abs() < 1e-3, "{s:?}");
    assert!((s.right.squeeze - 0.5).abs() < 1e-3, "{s:?}");
    // Squeezed (above the release threshold) since before focus: the clutch stays open until
    // the squeeze is released once.
    assert_eq!(s.frame.right.squeeze, 0.0, "{s:?}");
    assert_eq!(s.frame.left.trigger, 0.0);
    assert!(s.right.aim.is_some() && s.left.aim.is_some());
    assert!(
        client.profiles()[0].contains("index_controller"),
        "{:?}",
        client.profiles()
    );
    // The frame's time is the pipeline's clock: since the epoch, close to now.
    let now_ns = epoch.elapsed().as_nanos() as i64;
    assert!(
        (s.frame.time_ns as i64 - now_ns).abs() < 200_000_000,
        "{} vs {now_ns}",
        s.frame.time_ns
    );
    // A tracked hand where the runtime offers one: the remote driver builds it from curls.
    if client.hand_tracking() {
        streamer.update(|s| s.left.hand_curl = Some([0.2; 5]));
        let mut joints = None;
        step_until(&mut client, Duration::from_secs(5), |_, s| {
            joints = s.and_then(|s| s.left.joints);
            joints.is_some()
        });
        let joints = joints.unwrap();
        let palm = joints[0].expect("palm tracked");
        let from_grip = (palm.translation.vector - pose.left.pose.translation.vector).norm();
        eprintln!(
            "left palm {from_grip:.3} m from the grip; {} of 26 joints tracked",
            joints.iter().flatten().count()
        );
        assert!(from_grip < 0.2, "palm {from_grip} m from the controller");
    }
    client.request_exit().unwrap();
    finish(&mut client);
    drop(streamer);
}

/// Steps until the session is over (after an exit request).
fn finish(client: &mut HeadlessClient) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.step() {
            Ok(Step::Finished) => return,
            Ok(_) => {}
            Err(e) => panic!("exiting: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "exit stuck in {:?}",
            client.state()
        );
    }
}

/// The demo's scene driven through the runtime by the session's own loop, in lock-step: the
/// test scripts the injected poses against session time, and every third tick the source steps
/// the OpenXR client once (debug builds simulate slower than real time; the script follows the
/// session's clock). Each tick is traced for the assertions afterwards.
struct Rig {
    scene: Scene,
    tcp: usize,
    gripper: usize,
}

/// An OpenXR client as a lock-step [`Source`]: every `TICKS_PER_SAMPLE` polls it asks the
/// thread that owns the client (OpenXR wants one thread) to inject the script at the session's
/// time and step the client once, and waits for the answer; it hands out the newest sample,
/// stamped with the session's time (it is the newest there is, however slowly a loaded machine
/// runs). After a client error it has nothing more to give: the robot's input goes stale.
struct Stepped {
    ask: std::sync::mpsc::SyncSender<f64>,
    answer: std::sync::mpsc::Receiver<Result<Option<OperatorFrame>, ()>>,
    frame: Option<OperatorFrame>,
    polls: u64,
    until_ns: u64,
    failed: bool,
}

impl Source for Stepped {
    fn poll(&mut self, now_ns: u64) -> Input<'_> {
        if now_ns >= self.until_ns {
            return Input::Ended;
        }
        if self.failed {
            return Input::Nothing;
        }
        if self.polls % TICKS_PER_SAMPLE == 0 {
            self.ask.send(now_ns as f64 / 1e9).expect("client thread");
            match self.answer.recv().expect("client thread") {
                Ok(Some(frame)) => self.frame = Some(frame),
                Ok(None) => {}
                Err(_) => {
                    self.failed = true;
                    return Input::Nothing;
                }
            }
        }
        self.polls += 1;
        match &mut self.frame {
            Some(f) => {
                f.time_ns = now_ns;
                Input::Frame(f)
            }
            None => Input::Nothing,
        }
    }
}

/// One traced tick: session time (s), what it did, the simulated left tool (world frame; the
/// pelvis is not rotated, so these are also the robot base's axes), the left gripper.
#[derive(Debug, Clone, Copy)]
struct Traced {
    t: f64,
    outcome: TickOutcome,
    tool: Vector3<f64>,
    gripper: f64,
}

struct Trace {
    tcp: usize,
    gripper: usize,
    ticks: Vec<Traced>,
}

impl Observer for Trace {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        self.ticks.push(Traced {
            t: tick.now_ns as f64 / 1e9,
            outcome: tick.outcome,
            tool: tick.state.link_poses[self.tcp].translation.vector,
            gripper: tick.state.positions[self.gripper],
        });
    }
}

impl Trace {
    /// The last tick at or before `t`.
    fn at(&self, t: f64) -> Traced {
        *self
            .ticks
            .iter()
            .rev()
            .find(|k| k.t <= t)
            .unwrap_or_else(|| panic!("no tick before {t} s"))
    }
}

const TICKS_PER_SAMPLE: u64 = 3;

impl Rig {
    /// The bundled humanoid with the left hand's motion scale set to `scale`.
    fn new(scale: f64) -> Rig {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("profiles/teleop_humanoid.toml")).unwrap();
        let urdf = root.join("urdf/teleop_humanoid.urdf");
        let text = text
            .replace(
                "\"../urdf/teleop_humanoid.urdf\"",
                &format!("{:?}", urdf.display().to_string()),
            )
            .replacen(
                "motion_scale = 1.0",
                &format!("motion_scale = {scale:?}"),
                1,
            );
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("scaled.toml");
        std::fs::write(&profile, text).unwrap();
        let scene = Scene::load(&profile).unwrap_or_else(|e| panic!("{e}"));
        let tcp = scene.model.link_id("left_tcp_link").unwrap();
        let joint = scene.model.joint_id("left_gripper_finger_joint").unwrap();
        let gripper = scene.model.dof_of_joint[joint].unwrap();
        Rig {
            scene,
            tcp,
            gripper,
        }
    }

    /// A bundled profile as it is, tracing the tool link `tcp` and the joint `finger`.
    fn bundled(profile: &str, tcp: &str, finger: &str) -> Rig {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(profile);
        let scene = Scene::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let tcp = scene.model.link_id(tcp).unwrap();
        let joint = scene.model.joint_id(finger).unwrap();
        let gripper = scene.model.dof_of_joint[joint].unwrap();
        Rig {
            scene,
            tcp,
            gripper,
        }
    }

    /// Runs one session until session time `until_s`, injecting `script(t)` as it goes; the
    /// trace of every tick, the client (to end it), and the client's error if it failed (with
    /// its session time).
    fn run(
        &self,
        until_s: f64,
        mut script: impl FnMut(f64, &mut RemoteState),
    ) -> (Trace, HeadlessClient, Option<(XrError, f64)>) {
        let streamer = Streamer::start(
            Injector::connect(Duration::from_secs(10)).expect("remote driver port"),
            RemoteState::standing(),
            200.0,
        );
        let mut client =
            HeadlessClient::new(Instant::now(), 90.0).unwrap_or_else(|e| panic!("{e}"));
        step_until(&mut client, Duration::from_secs(15), |c, _| c.focused());
        let (ask, asked) = std::sync::mpsc::sync_channel(0);
        let (reply, answer) = std::sync::mpsc::sync_channel(0);
        let source = Stepped {
            ask,
            answer,
            frame: None,
            polls: 0,
            until_ns: (until_s * 1e9) as u64,
            failed: false,
        };
        let session = Session {
            pipeline: self.scene.pipeline().unwrap(),
            robot: Box::new(self.scene.sim().unwrap()),
            source: Box::new(source),
            recorder: None,
            observer: Trace {
                tcp: self.tcp,
                gripper: self.gripper,
                ticks: Vec::new(),
            },
        };
        let mut error = None;
        let ended = std::thread::scope(|scope| {
            let run = scope.spawn(move || {
                session.run(Clock::LockStep, &std::sync::atomic::AtomicBool::new(false))
            });
            // This thread owns the client: one step per request, until the session ends.
            while let Ok(t) = asked.recv() {
                streamer.update(|s| script(t, s));
                let stepped = match client.step() {
                    Ok(Step::Sample(sample)) => Ok(Some(sample.frame)),
                    Ok(_) => Ok(None),
                    Err(e) => {
                        error = Some((e, t));
                        Err(())
                    }
                };
                if reply.send(stepped).is_err() {
                    break;
                }
            }
            run.join().expect("session thread")
        })
        .unwrap_or_else(|e| panic!("{e}"));
        (ended.observer, client, error)
    }
}

/// The left hand's injected position over the test: 0.2 m forward (stage −Z) from 1 to 2 s
/// with the squeeze held; released at 3 s and moved back from 3.2 to 4.2 s; squeezed again at
/// 4.5 s and the trigger pulled at 5 s.
fn left_hand_script(t: f64, s: &mut RemoteState) {
    let start = Vector3::new(-0.2, 1.2, -0.3);
    let ramp = |a: f64, b: f64| ((t - a) / (b - a)).clamp(0.0, 1.0);
    let forward = 0.2 * (ramp(1.0, 2.0) - ramp(3.2, 4.2));
    s.left.pose = Isometry3::translation(start.x, start.y, start.z - forward);
    let squeezed = (0.5..3.0).contains(&t) || t >= 4.5;
    s.left.squeeze = if squeezed { 1.0 } else { 0.0 };
    s.left.trigger = if t >= 5.0 { 1.0 } else { 0.0 };
}

#[test]
fn injected_hand_motion_moves_the_simulated_hand_and_the_trigger_closes_the_gripper() {
    if !inside(
        "xr::injected_hand_motion_moves_the_simulated_hand_and_the_trigger_closes_the_gripper",
        Devices::Remote,
    ) {
        return;
    }
    let rig = Rig::new(0.5);
    let scale = rig.scene.profile.end_effectors[0].motion_scale;
    assert_eq!(scale, 0.5);
    let open = rig.scene.profile.grippers[0].open;
    let closed = rig.scene.profile.grippers[0].closed;
    let (trace, mut client, error) = rig.run(6.0, left_hand_script);
    assert!(error.is_none(), "{error:?}");
    assert!(
        trace
            .ticks
            .iter()
            .filter(|k| k.t < 0.45)
            .all(|k| k.outcome != TickOutcome::Tracking),
        "nothing moves before the squeeze"
    );
    let p0 = trace.at(1.0).tool;
    let p1 = trace.at(3.0).tool;
    let moved = p1 - p0;
    let expected = Vector3::new(0.2 * scale, 0.0, 0.0);
    eprintln!("tool moved {moved:?} (expected {expected:?})");
    assert!(
        (moved - expected).norm() < TRACKING_TOLERANCE_M,
        "hand 0.2 m forward with the clutch held: tool moved {moved:?}, expected {expected:?}"
    );
    // Clutch released: the hand goes back, the robot stays.
    let released = trace.at(4.4);
    let p2 = released.tool;
    eprintln!("after release and moving back: {:?}", p2 - p1);
    assert!((p2 - p1).norm() < HOLD_TOLERANCE_M, "held: {:?}", p2 - p1);
    assert!(
        (released.gripper - open).abs() < 0.005,
        "open: {}",
        released.gripper
    );
    // Clutch again, trigger: the gripper closes (the robot does not jump on re-engaging).
    let last = trace.at(6.0);
    let p3 = last.tool;
    assert!(
        (p3 - p2).norm() < HOLD_TOLERANCE_M,
        "re-anchored: {:?}",
        p3 - p2
    );
    eprintln!("gripper {} (open {open}, closed {closed})", last.gripper);
    assert!(
        (last.gripper - closed).abs() < 0.005,
        "trigger → gripper closes: {}",
        last.gripper
    );
    client.request_exit().unwrap();
    finish(&mut client);
}

/// Monado's tracked hand (the remote driver's hand built from finger curls) drives the G1's
/// Dex3 fingers through the headset: the clutch held, the trainer makes a fist and the robot's
/// index closes; they open their hand again and it reopens.
#[test]
fn a_tracked_fist_closes_the_robots_fingers_and_an_open_hand_reopens_them() {
    // The Dex3's left index closes towards negative angles (the profile's `closed`: −1.2).
    fist_closes_and_open_hand_reopens(
        "xr::a_tracked_fist_closes_the_robots_fingers_and_an_open_hand_reopens_them",
        "profiles/unitree_g1.toml",
        "left_hand_palm_link",
        "left_hand_index_1_joint",
        -1.0,
    );
}

/// The same with the bundled humanoid's three-finger hand: its left index curls (positive).
#[test]
fn a_tracked_fist_closes_the_humanoids_fingers_and_an_open_hand_reopens_them() {
    fist_closes_and_open_hand_reopens(
        "xr::a_tracked_fist_closes_the_humanoids_fingers_and_an_open_hand_reopens_them",
        "profiles/teleop_humanoid_hands.toml",
        "left_tcp_link",
        "left_index_distal_joint",
        1.0,
    );
}

/// Clutch at 0.5 s, a fist from 1.5 to 2.5 s, open again from 3.5 to 4.5 s: `joint` moves by
/// more than 0.3 rad in its `closing` direction (±1) and comes back.
fn fist_closes_and_open_hand_reopens(
    test: &str,
    profile: &str,
    tcp: &str,
    joint: &str,
    closing: f64,
) {
    if !inside(test, Devices::Remote) {
        return;
    }
    let rig = Rig::bundled(profile, tcp, joint);
    let (trace, mut client, error) = rig.run(6.0, |t, s| {
        let ramp = |a: f64, b: f64| ((t - a) / (b - a)).clamp(0.0, 1.0);
        let curl = (ramp(1.5, 2.5) - ramp(3.5, 4.5)) as f32;
        s.left.pose = Isometry3::translation(-0.2, 1.2, -0.3);
        s.left.squeeze = if t >= 0.5 { 1.0 } else { 0.0 };
        s.left.hand_curl = Some([curl; 5]);
    });
    assert!(error.is_none(), "{error:?}");
    let open = trace.at(1.4).gripper;
    let fist = trace.at(3.4).gripper;
    let reopened = trace.at(6.0).gripper;
    eprintln!("{joint}: open {open:.3}, fist {fist:.3}, reopened {reopened:.3} rad");
    assert!(
        (fist - open) * closing > 0.3,
        "the fist closed it: {open} → {fist}"
    );
    assert!(
        (reopened - open).abs() < 0.15,
        "the open hand reopened it: {open} → {fist} → {reopened}"
    );
    client.request_exit().unwrap();
    finish(&mut client);
}

/// How close the simulated tool must follow the scaled hand motion (m): the servos' steady
/// tracking error after a second of settling, plus the One Euro filter's lag.
const TRACKING_TOLERANCE_M: f64 = 0.01;
/// How still a held tool must stay (m).
const HOLD_TOLERANCE_M: f64 = 0.003;

/// Kills the service by its PID (SIGKILL: no goodbye to its clients).
fn kill_service() {
    let pid = super::xr_support::service_pid();
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -KILL {pid}")])
        .status()
        .unwrap();
    assert!(status.success(), "kill {pid}");
}

#[test]
fn runtime_killed_mid_session_is_reported_and_the_robot_holds() {
    if !inside(
        "xr::runtime_killed_mid_session_is_reported_and_the_robot_holds",
        Devices::Remote,
    ) {
        return;
    }
    let rig = Rig::new(1.0);
    // The robot is following a moving hand when the runtime dies at 1.5 s.
    const KILL_S: f64 = 1.5;
    let mut killed = false;
    let (trace, mut client, error) = rig.run(KILL_S + 6.0, move |t, s| {
        if t >= KILL_S && !killed {
            killed = true;
            kill_service();
        }
        left_hand_script(t, s);
    });
    assert_eq!(trace.at(KILL_S - 0.01).outcome, TickOutcome::Tracking);
    let (error, failed_s) = error.expect("the client reports the dead runtime");
    eprintln!("reported at {failed_s:.2} s: {error}");
    assert!(
        failed_s < KILL_S + 5.0,
        "no error 5 s after the runtime died"
    );
    assert!(error.is_runtime_lost(), "{error:?}");
    assert!(error.to_string().contains("runtime went away"), "{error}");
    // Nothing new arrives: the pipeline's input is stale and the robot brakes, then holds.
    let after: Vec<&Traced> = trace.ticks.iter().filter(|k| k.t > failed_s).collect();
    assert!(after.len() > 500, "{} ticks after the error", after.len());
    assert!(after.iter().all(|k| k.outcome == TickOutcome::Stale));
    let braked = trace.at(failed_s + 0.5).tool;
    let end = trace.ticks.last().expect("ticks").tool;
    assert!(
        (end - braked).norm() < HOLD_TOLERANCE_M,
        "holds: {:?}",
        end - braked
    );
    // The session is over; nothing more is asked of the dead runtime.
    assert_eq!(client.step().ok(), Some(Step::Finished));
}

#[test]
fn teleop_run_with_xr_input_exits_cleanly_with_a_clear_message_when_the_runtime_dies() {
    if !inside(
        "xr::teleop_run_with_xr_input_exits_cleanly_with_a_clear_message_when_the_runtime_dies",
        Devices::Remote,
    ) {
        return;
    }
    let streamer = Streamer::start(
        Injector::connect(Duration::from_secs(10)).expect("remote driver port"),
        RemoteState::standing(),
        200.0,
    );
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["run", "--input", "xr", "--headless", "--seconds", "120"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Squeeze after a moment (the clutch opens only after a release), then move the hand.
    while started.elapsed() < Duration::from_secs(4) {
        let t = started.elapsed().as_secs_f64();
        streamer.update(|s| left_hand_script(t, s));
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_service();
    let killed = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "still running 15 s after the runtime died"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("--- stdout\n{stdout}--- stderr (teleop lines)");
    for line in stderr
        .lines()
        .filter(|l| l.starts_with("xr:") || l.starts_with("error:"))
    {
        eprintln!("{line}");
    }
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains("runtime went away"), "{error}");
    // The run's report came first: it had the headset's input and drove the robot.
    assert!(stdout.contains("valve/index_controller"), "{stdout}");
    assert!(
        stdout.contains("latency, predicted display time"),
        "{stdout}"
    );
}

/// The robot's stereo view of the demo scene at its start posture, its state published.
fn robot_view_at_start() -> RobotView {
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml");
    let scene = Scene::load(&profile).unwrap_or_else(|e| panic!("{e}"));
    let drawn = scene.render_scene();
    let cell = Arc::new(render::StateCell::new(drawn.state()));
    let mut sim = scene.sim().unwrap();
    let mut state = state_for(&sim);
    sim.read_state(&mut state).unwrap();
    assert!(cell.try_publish(1, &state.link_poses, &state.object_poses));
    RobotView::new(drawn, scene.rig.clone().expect("camera rig"), cell)
}

#[test]
fn vulkan_session_on_lavapipe_submits_over_a_hundred_frames_of_the_robots_stereo_view() {
    if !inside(
        "xr::vulkan_session_on_lavapipe_submits_over_a_hundred_frames_of_the_robots_stereo_view",
        Devices::Remote,
    ) {
        return;
    }
    let streamer = Streamer::start(
        Injector::connect(Duration::from_secs(10)).expect("remote driver port"),
        RemoteState::standing(),
        200.0,
    );
    let view = robot_view_at_start();
    let epoch = Instant::now();
    let mut client = VulkanClient::new(epoch, Box::new(view)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "runtime {}, adapter {}",
        client.runtime().name,
        client.adapter_name()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut focused_samples = 0;
    while client.frames_submitted < 110 {
        match client
            .step()
            .unwrap_or_else(|e| panic!("after {} frames: {e}", client.frames_submitted))
        {
            Step::Sample(s) => {
                if s.frame
                    .head
                    .is_some_and(|h| close(&h, &RemoteState::standing().head, 1e-3, 1e-3))
                {
                    focused_samples += 1;
                }
            }
            Step::Waiting => {}
            Step::Finished => panic!("session ended after {} frames", client.frames_submitted),
        }
        assert!(
            Instant::now() < deadline,
            "{} frames in 60 s, state {:?}",
            client.frames_submitted,
            client.state()
        );
    }
    assert!(client.focused(), "{:?}", client.state());
    assert!(
        focused_samples > 50,
        "{focused_samples} samples saw the head"
    );
    client.request_exit().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.step() {
            Ok(Step::Finished) => break,
            Ok(_) => {}
            Err(e) => panic!("exiting: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "exit stuck in {:?}",
            client.state()
        );
    }
    drop(streamer);
}

/// `teleop run --input xr --headless`'s one-line error.
fn teleop_xr_error() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["run", "--input", "xr", "--headless", "--seconds", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{stderr}"))
        .to_string()
}

#[test]
fn without_a_running_runtime_teleop_says_so_in_one_line() {
    if !inside(
        "xr::without_a_running_runtime_teleop_says_so_in_one_line",
        Devices::NoService,
    ) {
        return;
    }
    let error = teleop_xr_error();
    assert!(error.contains("no OpenXR runtime available"), "{error}");
}

#[test]
fn without_an_openxr_loader_teleop_says_so_in_one_line() {
    // On the host: Debian 12 without libopenxr-loader1 (the chroot has it).
    if std::env::var_os("TELEOP_XR_INSIDE").is_some() {
        return; // a host-side test; inside the chroot only the test asked for runs
    }
    if Path::new("/usr/lib/x86_64-linux-gnu/libopenxr_loader.so.1").exists() {
        super::common::skip("the no-loader test", "an OpenXR loader is installed here");
        return;
    }
    let error = teleop_xr_error();
    assert!(error.contains("OpenXR loader not found"), "{error}");
}

/// The headset's view without a runtime: the robot view draws the scene into a swapchain-like
/// 2-layer sRGB texture and places both images at the trainer's eyes, looking where the robot's
/// cameras look (at the start posture: straight ahead, level, so the layer's views face −Z).
/// Draws both eyes of `view` (`w` × `h`, the head at `head`) into a 2-layer sRGB target and
/// reads them back: the bytes (rows padded to `row` bytes, eye 1 after eye 0), `row`, and where
/// each eye was shown.
fn draw_both_eyes(
    gpu: &render::Gpu,
    view: &mut RobotView,
    w: u32,
    h: u32,
    head: Isometry3<f64>,
) -> (Vec<u8>, u32, Vec<teleop_bridge::xr::Rendered>) {
    let format = wgpu::TextureFormat::Rgba8UnormSrgb;
    let target = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 2,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let mut rendered = Vec::new();
    for eye in 0..2 {
        let layer = target.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2),
            base_array_layer: eye as u32,
            array_layer_count: Some(1),
            ..Default::default()
        });
        let eye_view = EyeView {
            eye,
            stage_from_eye: Some(head),
            fov: [-0.8, 0.8, 0.8, -0.8],
            width: w,
            height: h,
        };
        let r = view.draw_eye(gpu, &mut encoder, &layer, format, &eye_view);
        rendered.push(r.expect("rendered from the robot's cameras"));
    }
    // Read both layers back.
    let row = (w * 4).div_ceil(256) * 256;
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(row * h * 2),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: Some(h),
            },
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 2,
        },
    );
    gpu.queue.submit([encoder.finish()]);
    buffer
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let bytes = buffer.slice(..).get_mapped_range().unwrap().to_vec();
    (bytes, row, rendered)
}

#[test]
fn the_robot_view_draws_the_scene_and_places_it_at_the_eyes() {
    let gpu = match render::Gpu::headless() {
        Ok(gpu) => gpu,
        Err(e) => {
            return super::common::skip(
                "the robot view test",
                &format!("{e} (CI installs lavapipe)"),
            );
        }
    };
    let mut view = robot_view_at_start();
    let (w, h) = (160, 120);
    let head = Isometry3::translation(0.1, 1.6, 0.3);
    let (bytes, row, rendered) = draw_both_eyes(&gpu, &mut view, w, h, head);
    for eye in 0..2 {
        let image = &bytes[(eye * row * h) as usize..((eye + 1) * row * h) as usize];
        let first = &image[..4];
        let differing = (0..h)
            .flat_map(|y| (0..w).map(move |x| (y * row + x * 4) as usize))
            .filter(|&i| &image[i..i + 4] != first)
            .count();
        assert!(
            differing > (w * h / 10) as usize,
            "eye {eye}: only {differing} pixels differ from the corner"
        );
    }
    // Placement: the camera pair's midpoint at the eyes, a stereo baseline apart, facing the
    // stage's −Z (the robot looks along +X at its start posture).
    let [l, r] = [rendered[0].stage_from_view, rendered[1].stage_from_view];
    let middle = (l.translation.vector + r.translation.vector) / 2.0;
    assert!(
        (middle - head.translation.vector).norm() < 1e-9,
        "{middle:?}"
    );
    let baseline = (l.translation.vector - r.translation.vector).norm();
    assert!((0.04..0.1).contains(&baseline), "baseline {baseline}");
    assert!(
        l.translation.x < r.translation.x,
        "left eye to the left (−X)"
    );
    let forward = l.rotation * -Vector3::z();
    assert!(forward.z < -0.9, "looks along −Z: {forward:?}");
    let fov = rendered[0].fov;
    assert!(
        fov[0] < 0.0 && fov[1] > 0.0 && fov[2] > 0.0 && fov[3] < 0.0,
        "{fov:?}"
    );
}

/// Driving a robot across the network, each headset eye shows that eye of the robot's received
/// camera image (not a render of its own); an image gone stale is darkened inside a red frame.
#[test]
fn the_robot_view_shows_the_robots_received_camera_images_and_marks_stale_ones() {
    let gpu = match render::Gpu::headless() {
        Ok(gpu) => gpu,
        Err(e) => {
            return super::common::skip(
                "the received camera view test",
                &format!("{e} (CI installs lavapipe)"),
            );
        }
    };
    let cell = Arc::new(render::FrameCell::default());
    let mut view = robot_view_at_start().with_feed(Arc::clone(&cell));
    let frames = view.feed_frames();
    // A 64×48 stereo image: the left eye green, the right eye blue.
    let (iw, ih) = (64u32, 48u32);
    let image = |time_ns| {
        let mut rgba = Vec::new();
        for _ in 0..ih {
            for x in 0..2 * iw {
                rgba.extend(if x < iw {
                    [0, 200, 0, 255]
                } else {
                    [0, 0, 200, 255]
                });
            }
        }
        teleop_bridge::msg::CameraFrame {
            time_ns,
            width: 2 * iw,
            height: ih,
            rgba,
        }
    };
    let (w, h) = (160, 120);
    let head = Isometry3::translation(0.1, 1.6, 0.3);
    let pixel = |bytes: &[u8], row: u32, eye: u32, x: u32, y: u32| {
        let i = (eye * row * h + y * row + x * 4) as usize;
        [bytes[i], bytes[i + 1], bytes[i + 2]]
    };
    cell.publish(&mut image(teleop_bridge::rt::wall_clock_ns()));
    let (bytes, row, rendered) = draw_both_eyes(&gpu, &mut view, w, h, head);
    assert_eq!(rendered.len(), 2, "both eyes placed");
    for (x, y) in [(2, 2), (80, 60), (150, 110)] {
        assert_eq!(
            pixel(&bytes, row, 0, x, y),
            [0, 200, 0],
            "left eye at {x},{y}"
        );
        assert_eq!(
            pixel(&bytes, row, 1, x, y),
            [0, 0, 200],
            "right eye at {x},{y}"
        );
    }
    assert_eq!(frames.load(std::sync::atomic::Ordering::Relaxed), 1);
    // Five seconds old: a red frame at the edge, the image darkened inside it.
    cell.publish(&mut image(
        teleop_bridge::rt::wall_clock_ns() - 5_000_000_000,
    ));
    let (bytes, row, _) = draw_both_eyes(&gpu, &mut view, w, h, head);
    for eye in 0..2 {
        let [r, g, b] = pixel(&bytes, row, eye, 1, 60);
        assert!(r > 200 && g < 100 && b < 100, "eye {eye} edge: {r},{g},{b}");
        let centre = pixel(&bytes, row, eye, 80, 60);
        assert!(
            centre.iter().all(|&c| c < 150) && centre.iter().any(|&c| c > 40),
            "eye {eye} centre darkened: {centre:?}"
        );
    }
    assert_eq!(frames.load(std::sync::atomic::Ordering::Relaxed), 2);
}

/// A trainer records a demonstration through the headset: `teleop run --input xr --record` with
/// the controller's buttons starting (right A) and ending (right B: success) the episode. The
/// episode holds the raw headset poses and buttons as the runtime delivered them, the robot's
/// ticks, and the labels.
#[test]
fn a_trainer_records_an_episode_with_the_controller_buttons() {
    if !inside(
        "xr::a_trainer_records_an_episode_with_the_controller_buttons",
        Devices::Remote,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let streamer = Streamer::start(
        Injector::connect(Duration::from_secs(10)).expect("remote driver port"),
        RemoteState::standing(),
        200.0,
    );
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["run", "--input", "xr", "--headless", "--seconds", "12"])
        .args(["--operator", "trainer-7", "--task", "move the hand forward"])
        .args(["--camera-size", "160x120"])
        .arg("--record")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Right A at 4 s (start; the session is focused well before), the left hand squeezed and
    // moved 0.2 m forward and back from 5 to 8 s, right B at 9 s (success).
    while started.elapsed() < Duration::from_secs(11) {
        let t = started.elapsed().as_secs_f64();
        streamer.update(|s| {
            left_hand_script(t - 4.0, s);
            s.left.trigger = 0.0;
            // A tracked hand too (the remote driver builds its joints from curls).
            s.left.hand_curl = Some([0.2; 5]);
            s.right.a = (4.0..4.4).contains(&t);
            s.right.b = (9.0..9.4).contains(&t);
        });
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("outcome success"), "{stdout}");

    let file = dir.path().join("episode-0000/episode-0000.mcap");
    let episode = teleop_bridge::record::EpisodeFile::read(&file).unwrap();
    assert!(episode.is_complete(), "{:?}", episode.damage);
    assert_eq!(episode.outcome(), "success");
    assert_eq!(episode.metadata["operator"], "trainer-7");
    assert_eq!(episode.metadata["task"], "move the hand forward");
    use teleop_bridge::record::{Topic, topics};
    let frames: Vec<topics::OperatorMsg> = episode.decode(Topic::Operator).unwrap();
    let states: Vec<topics::JointStateMsg> = episode.decode(Topic::JointState).unwrap();
    // About 5 s between the presses: 2,500 ticks at 500 Hz (fewer if a loaded machine makes the
    // debug build miss deadlines), and every new headset frame (90 Hz asked for; a loaded
    // machine running the debug build's session loop delivers fewer).
    assert!(
        (1_000..3_000).contains(&states.len()),
        "{} joint states",
        states.len()
    );
    assert!(frames.len() > 100, "{} operator frames", frames.len());
    // Raw headset poses in the runtime's stage frame (+Y up): the injected head height, and the
    // left hand's 0.2 m forward (−Z) motion.
    let head = frames[0].head.as_ref().expect("head pose");
    assert!((head.position[1] - 1.6).abs() < 0.01, "{head:?}");
    let z: Vec<f64> = frames
        .iter()
        .filter_map(|f| f.left.grip.as_ref().map(|p| p.position[2]))
        .collect();
    let (lo, hi) = z
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    assert!(
        (hi - lo - 0.2).abs() < 0.01,
        "left hand z from {hi} to {lo}"
    );
    assert!(frames.iter().any(|f| f.left.squeeze > 0.9));
    // The tracked hand's 26 joints, the palm at the controller (as the runtime puts it).
    let with_joints: Vec<(&topics::PoseMsg, &Vec<Option<topics::PoseMsg>>)> = frames
        .iter()
        .filter_map(|f| Some((f.left.grip.as_ref()?, f.left.joints.as_ref()?)))
        .collect();
    assert!(
        with_joints.len() * 10 >= frames.len() * 9,
        "{} of {} frames carry hand joints",
        with_joints.len(),
        frames.len()
    );
    for (grip, joints) in with_joints {
        assert_eq!(joints.len(), 26);
        let palm = joints[0].as_ref().expect("palm tracked");
        let apart: f64 = (0..3)
            .map(|i| (palm.position[i] - grip.position[i]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(apart < 0.2, "palm {apart} m from the grip");
    }
    // The robot's camera view, rendered offscreen beside the session at up to 30 fps, stamped
    // on the ticks' clock within the episode. How many depends on the CPU lavapipe gets at
    // background priority (≈ 27 fps alone, 3 fps with the whole suite running beside it).
    let images: Vec<topics::CompressedImageMsg> = episode.decode(Topic::CameraLeft).unwrap();
    assert!(
        images.len() >= 5,
        "{} camera frames: {stdout}",
        images.len()
    );
    let (first, last) = (states[0].mono_ns, states.last().unwrap().mono_ns);
    for image in &images {
        assert_eq!(
            (image.width, image.height, image.format.as_str()),
            (160, 120, "jpeg")
        );
        assert!((first..=last + 50_000_000).contains(&image.mono_ns));
    }
    // The press that started it is in it (the one that ended it closes it before its tick).
    assert!(
        frames.iter().take(5).any(|f| f.right.primary),
        "the A press that started it"
    );
    assert!(!frames.iter().any(|f| f.right.secondary));
}
