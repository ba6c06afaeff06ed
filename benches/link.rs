//! The wire between station and robot over TCP loopback, two Zenoh sessions in one process
//! (their own runtime threads, a real TCP link between them). `cargo bench --bench link` prints
//! markdown tables:
//!
//! 1. Round trip: the station publishes a 20-joint `JointState` command (CDR + rmw_zenoh
//!    attachment, through `link::bus`), the robot side decodes it and answers with a
//!    `JointState`, the station decodes the answer. Beside it, the peer: the same ping-pong with
//!    raw 4-byte Zenoh payloads (express, real-time priority), the protocol of the network
//!    note's measurement. p50/p99/max over `LINK_ROUND_TRIPS` (default 5,000) round trips.
//! 2. Under load: the robot side publishes joint states at 1 kHz and two 640×480-class JPEG-sized
//!    images (60 kB each) at 30 fps for `LINK_LOAD_S` seconds (default 20; the issue's figure is
//!    600); the station counts what arrived by the attachments' sequence numbers.
//!
//! 3. Camera age: a real robot process (`app::robot_process`, the bundled humanoid simulated, its
//!    stereo camera rendered offscreen, one JPEG per eye at 30 fps) and the station's
//!    `app::feed::CameraFeed` in one process over loopback; the station uploads each decoded
//!    frame into a GPU texture and waits for the GPU, then takes the image's age from the
//!    robot's stamp (when the robot state it shows was read): render → JPEG → Zenoh → decode →
//!    texture. At 2×640×480 and 2×1280×720 for `LINK_CAMERA_S` seconds each (default 10).
//!    Rendering is on whatever adapter wgpu finds (here: lavapipe, a CPU rasteriser, which
//!    dominates the figure).
//!
//! Not a test: timings depend on the machine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use teleop_bridge::app::{feed, robot_process};
use teleop_bridge::link::bus::{Bus, Endpoints, Urgency};
use teleop_bridge::link::names::Qos;
use teleop_bridge::link::types::{CompressedImage, JointState};
use zenoh::Wait;
use zenoh::qos::{CongestionControl, Priority};

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn buses(port: u16) -> (Bus, Bus) {
    let robot = Bus::open(
        &Endpoints {
            listen: vec![format!("tcp/127.0.0.1:{port}")],
            ..Endpoints::default()
        },
        "/bench",
        "teleop_robot",
    )
    .expect("robot session");
    let station = Bus::open(
        &Endpoints {
            connect: vec![format!("tcp/127.0.0.1:{port}")],
            ..Endpoints::default()
        },
        "/bench",
        "teleop_station",
    )
    .expect("station session");
    (robot, station)
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((p / 100.0) * (v.len() - 1) as f64).round() as usize];
    (at(50.0), at(99.0), v[v.len() - 1])
}

fn joint_state(n: usize) -> JointState {
    let names: Vec<String> = (0..n).map(|i| format!("joint_{i:02}")).collect();
    let mut js = JointState::default();
    js.set(0, &names, &vec![0.1; n], &vec![0.0; n], &vec![0.0; n])
        .expect("lengths");
    js
}

/// Our path: JointState command → decode → JointState answer → decode.
fn round_trips_ours(n: usize) -> Vec<f64> {
    let (robot, station) = buses(free_port());
    let answers = Arc::new(Mutex::new(
        robot
            .publisher::<JointState>("joint_states", Qos::best_effort(1), Urgency::Control)
            .expect("publisher"),
    ));
    let reply = Arc::clone(&answers);
    let _echo = robot
        .subscribe::<JointState, _>("joint_commands", Qos::best_effort(1), move |got| {
            if let Ok(r) = got {
                let _ = reply.lock().unwrap().put(&r.message);
            }
        })
        .expect("echo");
    let (tx, rx) = sync_channel::<u64>(16);
    let _answers = station
        .subscribe::<JointState, _>("joint_states", Qos::best_effort(1), move |got| {
            if let Ok(r) = got {
                let _ = tx.try_send(r.message.header.stamp.nanosec as u64);
            }
        })
        .expect("answers");
    let mut commands = station
        .publisher::<JointState>("joint_commands", Qos::best_effort(1), Urgency::Control)
        .expect("commands");
    let mut js = joint_state(20);
    std::thread::sleep(Duration::from_millis(500));
    ping_pong(n, &rx, |i| {
        js.header.stamp.nanosec = i as u32;
        commands.put(&js).expect("put");
    })
}

/// The peer: raw 4-byte payloads, express, real-time priority.
fn round_trips_raw(n: usize) -> Vec<f64> {
    let port = free_port();
    let open = |listen: bool| {
        let mut c = zenoh::Config::default();
        c.insert_json5("mode", r#""peer""#).unwrap();
        c.insert_json5("scouting/multicast/enabled", "false")
            .unwrap();
        let ep = format!(r#"["tcp/127.0.0.1:{port}"]"#);
        if listen {
            c.insert_json5("listen/endpoints", &ep).unwrap();
        } else {
            c.insert_json5("listen/endpoints", "[]").unwrap();
            c.insert_json5("connect/endpoints", &ep).unwrap();
        }
        zenoh::open(c).wait().expect("session")
    };
    let robot = open(true);
    let station = open(false);
    let declare = |s: &zenoh::Session, key: &'static str| {
        s.declare_publisher(key)
            .express(true)
            .priority(Priority::RealTime)
            .congestion_control(CongestionControl::Drop)
            .wait()
            .expect("publisher")
    };
    let pong = declare(&robot, "bench/pong");
    let _echo = robot
        .declare_subscriber("bench/ping")
        .callback(move |s| {
            let _ = pong.put(s.payload().clone()).wait();
        })
        .wait()
        .expect("echo");
    let (tx, rx) = sync_channel::<u64>(16);
    let _back = station
        .declare_subscriber("bench/pong")
        .callback(move |s| {
            let b = s.payload().to_bytes();
            let _ = tx.try_send(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64);
        })
        .wait()
        .expect("pong subscriber");
    let ping = declare(&station, "bench/ping");
    std::thread::sleep(Duration::from_millis(500));
    ping_pong(n, &rx, |i| {
        ping.put((i as u32).to_le_bytes()).wait().expect("put");
    })
}

/// Sends `n` pings one after the other, each after the previous answer (a lost one is
/// re-sent after 100 ms and not counted); the round trips in µs.
fn ping_pong(n: usize, rx: &Receiver<u64>, mut send: impl FnMut(usize)) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        i += 1;
        let t0 = Instant::now();
        send(i);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(v) if v == i as u64 => {
                    out.push(t0.elapsed().as_secs_f64() * 1e6);
                    break;
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
    }
    out
}

/// Joint states at 1 kHz and two images at 30 fps for `seconds`: what arrived.
fn under_load(seconds: f64) -> (u64, u64, u64, u64) {
    let (robot, station) = buses(free_port());
    let got_states = Arc::new(AtomicU64::new(0));
    let got_images = Arc::new(AtomicU64::new(0));
    let (gs, gi) = (Arc::clone(&got_states), Arc::clone(&got_images));
    let _s = station
        .subscribe::<JointState, _>("joint_states", Qos::best_effort(1), move |got| {
            if got.is_ok() {
                gs.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("states");
    let _i = station
        .subscribe::<CompressedImage, _>(
            "camera/image/compressed",
            Qos::best_effort(1),
            move |got| {
                if got.is_ok() {
                    gi.fetch_add(1, Ordering::Relaxed);
                }
            },
        )
        .expect("images");
    let mut states = robot
        .publisher::<JointState>("joint_states", Qos::best_effort(1), Urgency::Control)
        .expect("states");
    let mut images = robot
        .publisher::<CompressedImage>(
            "camera/image/compressed",
            Qos::best_effort(1),
            Urgency::Bulk,
        )
        .expect("images");
    std::thread::sleep(Duration::from_millis(500));
    let js = joint_state(44);
    let mut image = CompressedImage::default();
    let jpeg: Vec<u8> = (0..60_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let start = Instant::now();
    let (mut sent_states, mut sent_images) = (0u64, 0u64);
    let mut k = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        k += 1;
        let due = start + Duration::from_micros(1000 * k);
        states.put(&js).expect("put state");
        sent_states += 1;
        if k % 33 == 0 {
            for eye in ["left", "right"] {
                image.set_jpeg(k, eye, &jpeg);
                images.put(&image).expect("put image");
                sent_images += 1;
            }
        }
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    std::thread::sleep(Duration::from_millis(500));
    (
        sent_states,
        got_states.load(Ordering::Relaxed),
        sent_images,
        got_images.load(Ordering::Relaxed),
    )
}

/// Ages (ms) of the camera images the station put on its GPU during `seconds`, with eyes of
/// `size`; None without a graphics adapter.
fn camera_ages(size: (u32, u32), seconds: f64) -> Option<Vec<f64>> {
    let gpu = match teleop_bridge::render::Gpu::headless() {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("camera age: not measured ({e})");
            return None;
        }
    };
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let profile =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = robot_process::Options {
        name: Some("bench_camera".into()),
        endpoints: Endpoints {
            listen: vec![endpoint.clone()],
            ..Endpoints::default()
        },
        duration: Some(Duration::from_secs_f64(seconds + 5.0)),
        stop: Arc::clone(&stop),
        camera: Some(size),
        ..robot_process::Options::default()
    };
    let (started_tx, started_rx) = sync_channel(1);
    let robot = std::thread::spawn(move || {
        robot_process::run(&profile, &options, |_| {
            let _ = started_tx.send(());
        })
    });
    started_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("robot process started");
    let connection = teleop_bridge::robot::Connection {
        endpoints: Endpoints {
            connect: vec![endpoint],
            ..Endpoints::default()
        },
        robot: "bench_camera".into(),
        station: "bench".into(),
        connect_timeout: Duration::from_secs(10),
        silence_timeout: Duration::from_secs(1),
    };
    let received = feed::CameraFeed::start(
        &connection,
        feed::Outputs {
            png: None,
            recorder: None,
        },
    )
    .expect("camera feed");
    let cell = received.cell();
    let mut frame = teleop_bridge::msg::CameraFrame::default();
    let mut texture: Option<teleop_bridge::render::FeedTexture> = None;
    let (mut seen, mut ages) = (0, Vec::new());
    let start = Instant::now();
    // The first second: connection and the first renders.
    while start.elapsed().as_secs_f64() < seconds + 1.0 {
        let version = cell.read_newer(seen, &mut frame);
        if version == seen {
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        seen = version;
        let t = texture.get_or_insert_with(|| {
            teleop_bridge::render::FeedTexture::new(&gpu, frame.width / 2, frame.height)
        });
        t.upload(&gpu.queue, &frame);
        gpu.queue.submit([]);
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("GPU");
        if start.elapsed().as_secs_f64() > 1.0 {
            let age = teleop_bridge::rt::wall_clock_ns().saturating_sub(frame.time_ns);
            ages.push(age as f64 / 1e6);
        }
    }
    let line = received.finish().expect("camera feed");
    stop.store(true, Ordering::Relaxed);
    let _ = robot.join();
    eprintln!("camera {}×{}: {line}", size.0, size.1);
    Some(ages)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no argument: one
    // quick pass so the bench stays runnable.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick {
        200
    } else {
        env_number("LINK_ROUND_TRIPS", 5000.0) as usize
    };
    let load_s = if quick {
        1.0
    } else {
        env_number("LINK_LOAD_S", 20.0)
    };
    let ours = percentiles(round_trips_ours(n));
    let raw = percentiles(round_trips_raw(n));
    println!("\n| round trip over TCP loopback ({n}) | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|");
    println!(
        "| station JointState (20 joints, CDR + attachment) → robot → JointState back | {:.0} | {:.0} | {:.0} |",
        ours.0, ours.1, ours.2
    );
    println!(
        "| peer: raw Zenoh, 4-byte payload, express, real-time priority | {:.0} | {:.0} | {:.0} |",
        raw.0, raw.1, raw.2
    );
    let (ss, gs, si, gi) = under_load(load_s);
    println!("\n| under load for {load_s:.0} s | sent | received | lost |");
    println!("|---|---|---|---|");
    println!(
        "| joint states, 44 joints, 1 kHz | {ss} | {gs} | {} |",
        ss - gs.min(ss)
    );
    println!(
        "| images, 2 × 60 kB at 30 fps | {si} | {gi} | {} |",
        si - gi.min(si)
    );
    let camera_s = if quick {
        2.0
    } else {
        env_number("LINK_CAMERA_S", 10.0)
    };
    let sizes: &[(u32, u32)] = if quick {
        &[(320, 240)]
    } else {
        &[(640, 480), (1280, 720)]
    };
    let mut rows = Vec::new();
    for &size in sizes {
        if let Some(ages) = camera_ages(size, camera_s).filter(|a| !a.is_empty()) {
            rows.push((size, ages.len(), percentiles(ages)));
        }
    }
    if !rows.is_empty() {
        println!(
            "\n| camera image age, render → JPEG → Zenoh → decode → texture ({camera_s:.0} s) | images | p50 ms | p99 ms | max ms |"
        );
        println!("|---|---|---|---|---|");
        for ((w, h), n, (p50, p99, max)) in rows {
            println!("| 2 × {w}×{h} | {n} | {p50:.1} | {p99:.1} | {max:.1} |");
        }
    }
}
