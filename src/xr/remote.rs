//! A pose injector for Monado's remote driver (`P_OVERRIDE_ACTIVE_CONFIG=remote`): streams a
//! scripted head, controllers and buttons to `monado-service` over TCP (127.0.0.1:4242), one
//! fixed-size record per update, so a real OpenXR runtime reports them to our client as if a
//! trainer wore the headset. Tests and headset-less demos use it.
//!
//! The wire format is Monado's `struct r_remote_data` (drivers/remote/r_interface.h, header
//! `"mndrmt3\0"`, 376 bytes, little-endian, C layout): header u64; head: 2 views × {fov 4×f32,
//! pose 7×f32, u32 pad}, centre pose, bool per_view_data_valid + 3 pad; then left and right:
//! pose, linear and angular velocity, hand_curl\[5\], trigger, squeeze, squeeze_force,
//! thumbstick\[2\], trackpad_force, trackpad\[2\], 16 bools. Poses are in the runtime's tracking
//! origin, which Monado reports as STAGE.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nalgebra::Isometry3;

/// Monado's remote driver port.
pub const PORT: u16 = 4242;
/// Size of one record.
pub const RECORD_LEN: usize = 376;
const HEADER: &[u8; 8] = b"mndrmt3\0";

/// One controller as the remote driver takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoteController {
    /// `stage_from_grip`.
    pub pose: Isometry3<f64>,
    /// Connected and tracked; an inactive controller reports no pose.
    pub active: bool,
    pub trigger: f32,
    pub squeeze: f32,
    pub thumbstick: [f32; 2],
    /// A and B buttons (Index profile: primary and secondary).
    pub a: bool,
    pub b: bool,
    pub system: bool,
    /// Finger curls (thumb to little finger, 0 open to 1 closed): the driver then also reports
    /// a tracked hand (`XR_EXT_hand_tracking`) built from them; `None`: no hand tracking.
    pub hand_curl: Option<[f32; 5]>,
}

impl RemoteController {
    /// Active at `pose`, nothing pressed.
    pub fn at(pose: Isometry3<f64>) -> RemoteController {
        RemoteController {
            pose,
            active: true,
            trigger: 0.0,
            squeeze: 0.0,
            thumbstick: [0.0; 2],
            a: false,
            b: false,
            system: false,
            hand_curl: None,
        }
    }
}

/// Head and both controllers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoteState {
    /// `stage_from_head` (the OpenXR VIEW space).
    pub head: Isometry3<f64>,
    pub left: RemoteController,
    pub right: RemoteController,
}

impl RemoteState {
    /// A trainer standing at the stage origin, eyes at 1.6 m, hands in front at chest height.
    pub fn standing() -> RemoteState {
        RemoteState {
            head: Isometry3::translation(0.0, 1.6, 0.0),
            left: RemoteController::at(Isometry3::translation(-0.2, 1.2, -0.3)),
            right: RemoteController::at(Isometry3::translation(0.2, 1.2, -0.3)),
        }
    }

    /// The record `monado-service` reads.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut w = Writer {
            buf: [0; RECORD_LEN],
            len: 0,
        };
        w.bytes(HEADER);
        // Per-view data invalid: the driver derives the eyes from the centre pose.
        for _ in 0..2 {
            w.floats(&[0.0; 4]);
            w.pose(&Isometry3::identity());
            w.bytes(&[0; 4]);
        }
        w.pose(&self.head);
        w.bytes(&[0; 4]);
        for c in [&self.left, &self.right] {
            w.pose(&c.pose);
            w.floats(&[0.0; 6]); // linear and angular velocity
            w.floats(&c.hand_curl.unwrap_or([0.0; 5]));
            w.floats(&[c.trigger, c.squeeze, c.squeeze]); // trigger, squeeze, squeeze force
            w.floats(&c.thumbstick);
            w.floats(&[0.0; 3]); // trackpad force, trackpad
            let touch_trigger = c.trigger > 0.0;
            w.bytes(&[
                c.hand_curl.is_some() as u8,
                c.active as u8,
                c.system as u8,
                c.system as u8,
                c.a as u8,
                c.a as u8,
                c.b as u8,
                c.b as u8,
                (c.trigger >= 0.9) as u8,
                touch_trigger as u8,
                0,
                (c.thumbstick != [0.0; 2]) as u8,
                0,
                0,
                0,
                0,
            ]);
        }
        debug_assert_eq!(w.len, RECORD_LEN);
        w.buf
    }
}

struct Writer {
    buf: [u8; RECORD_LEN],
    len: usize,
}

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn floats(&mut self, v: &[f32]) {
        for x in v {
            self.bytes(&x.to_le_bytes());
        }
    }

    /// `xrt_pose`: orientation (x, y, z, w), then position.
    fn pose(&mut self, p: &Isometry3<f64>) {
        let q = p.rotation.quaternion();
        let t = p.translation.vector;
        self.floats(&[
            q.i as f32, q.j as f32, q.k as f32, q.w as f32, t.x as f32, t.y as f32, t.z as f32,
        ]);
    }
}

/// A connection to the remote driver.
pub struct Injector {
    stream: TcpStream,
}

impl Injector {
    /// Connects to the remote driver on localhost, retrying until `timeout` (the service
    /// opens its port a moment after it starts).
    pub fn connect(timeout: Duration) -> std::io::Result<Injector> {
        let addr = SocketAddr::from(([127, 0, 0, 1], PORT));
        let deadline = Instant::now() + timeout;
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(Injector { stream });
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    pub fn send(&mut self, state: &RemoteState) -> std::io::Result<()> {
        self.stream.write_all(&state.encode())
    }
}

/// Streams the newest [`RemoteState`] from a thread at a fixed rate until stopped (the remote
/// driver keeps the last record, but a steady stream is what a tracker produces).
pub struct Streamer {
    state: Arc<Mutex<RemoteState>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<std::io::Result<u64>>>,
}

impl Streamer {
    pub fn start(mut injector: Injector, initial: RemoteState, rate_hz: f64) -> Streamer {
        let state = Arc::new(Mutex::new(initial));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stop_flag) = (Arc::clone(&state), Arc::clone(&stop));
        let period = Duration::from_secs_f64(1.0 / rate_hz);
        let handle = std::thread::spawn(move || {
            let mut sent = 0;
            while !stop_flag.load(Ordering::Relaxed) {
                let now = *shared.lock().unwrap_or_else(|e| e.into_inner());
                injector.send(&now)?;
                sent += 1;
                std::thread::sleep(period);
            }
            Ok(sent)
        });
        Streamer {
            state,
            stop,
            handle: Some(handle),
        }
    }

    /// Changes what is streamed from now on.
    pub fn update(&self, change: impl FnOnce(&mut RemoteState)) {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Stops streaming; the number of records sent, or the error that stopped it.
    pub fn stop(mut self) -> std::io::Result<u64> {
        self.finish()
    }

    fn finish(&mut self) -> std::io::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(0),
        }
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{Translation3, UnitQuaternion};

    use super::*;

    fn f32_at(b: &[u8], offset: usize) -> f32 {
        f32::from_le_bytes(b[offset..offset + 4].try_into().unwrap())
    }

    #[test]
    fn the_record_has_monados_layout() {
        let mut state = RemoteState::standing();
        state.head = Isometry3::from_parts(
            Translation3::new(0.1, 1.6, -0.2),
            UnitQuaternion::from_euler_angles(0.0, 0.3, 0.0),
        );
        state.right.trigger = 1.0;
        state.right.squeeze = 0.75;
        state.right.b = true;
        let b = state.encode();
        assert_eq!(b.len(), 376);
        assert_eq!(&b[..8], b"mndrmt3\0");
        // Head centre pose after the header and two 48-byte views: orientation then position.
        let centre = 8 + 2 * 48;
        let q = state.head.rotation.quaternion();
        assert_eq!(f32_at(&b, centre + 4), q.j as f32);
        assert_eq!(f32_at(&b, centre + 12), q.w as f32);
        assert_eq!(f32_at(&b, centre + 16), 0.1);
        assert_eq!(f32_at(&b, centre + 20), 1.6);
        assert_eq!(f32_at(&b, centre + 24), -0.2);
        assert_eq!(b[centre + 28], 0, "per-view data not valid");
        // Controllers: 120 bytes each, from byte 136.
        let (left, right) = (136, 136 + 120);
        assert_eq!(f32_at(&b, left + 16), -0.2, "left x");
        assert_eq!(f32_at(&b, right + 20), 1.2, "right y");
        let analog = 28 + 24 + 20;
        assert_eq!(f32_at(&b, right + analog), 1.0, "trigger");
        assert_eq!(f32_at(&b, right + analog + 4), 0.75, "squeeze");
        let bools = right + 120 - 16;
        assert_eq!(b[bools + 1], 1, "active");
        assert_eq!(b[bools + 6], 1, "b click");
        assert_eq!(b[bools + 8], 1, "trigger click");
        assert_eq!(b[left + 120 - 16 + 8], 0, "left trigger not clicked");
    }
}
