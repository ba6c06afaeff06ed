//! The OpenXR client against a real runtime (Monado 25, headless, remote driver): see
//! `xr_support` for how each test gets its own service inside the chroot.

use std::time::{Duration, Instant};

use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use teleop_bridge::xr::remote::{Injector, RemoteState, Streamer};
use teleop_bridge::xr::{HeadlessClient, Sample, SessionState, Step};

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
    assert!(client.profiles()[0].contains("index_controller"), "{:?}", client.profiles());
    // The frame's time is the pipeline's clock: since the epoch, close to now.
    let now_ns = epoch.elapsed().as_nanos() as i64;
    assert!((s.frame.time_ns as i64 - now_ns).abs() < 200_000_000, "{} vs {now_ns}", s.frame.time_ns);
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
        assert!(Instant::now() < deadline, "exit stuck in {:?}", client.state());
    }
}
