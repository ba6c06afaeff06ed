//! A recording session: the recorder thread (writes episodes), the camera encoder thread (JPEG),
//! the control-side [`Tap`] (never blocks, never allocates per tick) and the [`CameraSink`].
//!
//! ```text
//!  control thread ── Tap::tick ──try_send──►┐  (buffers from a fixed pool: when it is empty the
//!  render thread ─ CameraSink::offer ─► encoder thread (JPEG) ─►│   tick is dropped and counted)
//!  CLI / buttons ── start, stop, marks ────►└─► recorder thread ─► episode-NNNN/ (a rosbag2 bag)
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;

use super::Error;
use super::episode::{EncodedImage, EpisodeReport, EpisodeWriter, Labels, Outcome};
use super::robot_info::RobotInfo;
use super::topics::Topic;
use crate::msg::{Buttons, CameraFrame, ImageSink, TickSample, TickSink};
use crate::rt::lock;

/// How a session records.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Where episode files go (created if missing).
    pub dir: PathBuf,
    pub robot: RobotInfo,
    /// Who teleoperated, what they were asked to do, the skill and scenario (written into every
    /// episode).
    pub labels: Labels,
    /// Camera frames recorded per second (the rest are skipped before encoding). Default 30.
    pub camera_fps: f64,
    /// JPEG quality, 1–100. Default 85.
    pub jpeg_quality: u8,
    /// Ticks that may wait for the recorder thread (default 1024, 2 s at 500 Hz): beyond that
    /// ticks are dropped and counted, the control loop never waits.
    pub queue_ticks: usize,
    /// Camera frames that may wait for the encoder (default 4).
    pub queue_frames: usize,
    /// A chunk is ended, written and synced at least this often (default 50 ms).
    pub flush_interval: Duration,
    /// Wait for queue space instead of dropping. Only for runs that are not real time (the
    /// headless demo), where waiting costs nothing and every tick should be kept.
    pub lossless: bool,
}

impl RecorderConfig {
    pub fn new(dir: impl Into<PathBuf>, robot: RobotInfo) -> RecorderConfig {
        RecorderConfig {
            dir: dir.into(),
            robot,
            labels: Labels {
                operator: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
                ..Labels::default()
            },
            camera_fps: 30.0,
            jpeg_quality: 85,
            queue_ticks: 1024,
            queue_frames: 4,
            flush_interval: Duration::from_millis(50),
            lossless: false,
        }
    }
}

enum Control {
    Start {
        reply: Option<SyncSender<Result<PathBuf, String>>>,
    },
    Stop {
        outcome: Outcome,
        reply: Option<SyncSender<Result<EpisodeReport, String>>>,
    },
    Annotate {
        mono_ns: u64,
        wall_ns: u64,
        label: &'static str,
    },
    Shutdown,
}

enum Item {
    Tick(Box<TickSample>),
    Image(EncodedImage),
    Control(Control),
}

/// State shared by the session's threads.
#[derive(Default)]
struct Shared {
    /// Per topic: messages the control or render side could not queue.
    drops: [AtomicU64; Topic::ALL.len()],
    /// An episode is open.
    recording: AtomicBool,
    /// The session is ending (the encoder stops even while a camera sink lives on).
    shutdown: AtomicBool,
    /// The recorder's first error; it stopped there.
    error: Mutex<Option<String>>,
    episodes: Mutex<Vec<EpisodeReport>>,
}

impl Shared {
    fn drops(&self) -> [u64; Topic::ALL.len()] {
        std::array::from_fn(|i| self.drops[i].load(Ordering::Relaxed))
    }

    fn drop_one(&self, topic: Topic) {
        self.drops[topic.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// A recording session; see the module docs. Dropping it without [`Recorder::finish`] closes
/// an open episode as unlabelled.
pub struct Recorder {
    tx: SyncSender<Item>,
    shared: Arc<Shared>,
    tap: Option<Tap>,
    camera: Option<CameraSink>,
    writer: Option<JoinHandle<()>>,
    encoder: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Creates the folder (a clear error if it cannot) and starts the threads. No episode is
    /// open yet.
    pub fn start(config: RecorderConfig) -> Result<Recorder, Error> {
        let folder_error = |error| Error::Folder {
            path: config.dir.clone(),
            error,
        };
        std::fs::create_dir_all(&config.dir).map_err(folder_error)?;
        // Probe now, so an unwritable folder is reported before anyone starts teleoperating.
        let probe = config.dir.join(".teleop-write-probe");
        std::fs::write(&probe, b"").map_err(folder_error)?;
        let _ = std::fs::remove_file(&probe);
        let next_index = next_episode_index(&config.dir).map_err(folder_error)?;

        let pool_size = config.queue_ticks.max(1);
        let (tx, rx) = mpsc::sync_channel::<Item>(pool_size + 64);
        let (pool_tx, pool_rx) = mpsc::sync_channel::<Box<TickSample>>(pool_size);
        for _ in 0..pool_size {
            // Cannot fail: the channel holds exactly the pool.
            let _ = pool_tx.try_send(Box::new(config.robot.new_sample()));
        }
        let shared = Arc::new(Shared::default());
        let (frame_tx, frame_rx) = mpsc::sync_channel::<CameraFrame>(config.queue_frames.max(1));
        let robot = Arc::new(config.robot.clone());

        let writer = {
            let shared = Arc::clone(&shared);
            let config = config.clone();
            std::thread::Builder::new()
                .name("recorder".into())
                .spawn(move || writer_main(rx, pool_tx, shared, config, robot, next_index))
        }
        .map_err(Error::io(&config.dir))?;
        let encoder = {
            let shared = Arc::clone(&shared);
            let tx = tx.clone();
            let quality = config.jpeg_quality.clamp(1, 100);
            std::thread::Builder::new()
                .name("recorder-jpeg".into())
                .spawn(move || {
                    // JPEG is the recorder's heavy work and can wait; the control loop cannot.
                    // The writer keeps its priority: its 50 ms flushes are the crash guarantee.
                    crate::rt::priority::lower_for_background();
                    encoder_main(frame_rx, tx, shared, quality)
                })
        }
        .map_err(Error::io(&config.dir))?;
        let tap = Tap {
            tx: tx.clone(),
            pool: pool_rx,
            shared: Arc::clone(&shared),
            template: config.robot.new_sample(),
            lossless: config.lossless,
            closed: false,
            buttons: [Buttons::NONE; 2],
            last_sent_operator_ns: None,
            unsent_operator_ns: None,
        };
        let min_interval_ns = if config.camera_fps > 0.0 {
            (1e9 / config.camera_fps) as u64
        } else {
            u64::MAX
        };
        let camera = CameraSink {
            tx: frame_tx,
            shared: Arc::clone(&shared),
            min_interval_ns,
            next_ns: None,
            lossless: config.lossless,
        };
        Ok(Recorder {
            tx,
            shared,
            tap: Some(tap),
            camera: Some(camera),
            writer: Some(writer),
            encoder: Some(encoder),
        })
    }

    /// The control side's sink (one per session; `None` once taken).
    pub fn take_tap(&mut self) -> Option<Tap> {
        self.tap.take()
    }

    /// The render side's sink for camera frames (one per session; `None` once taken).
    pub fn take_camera(&mut self) -> Option<CameraSink> {
        self.camera.take()
    }

    fn stopped(&self) -> Error {
        Error::Stopped(
            self.error()
                .unwrap_or_else(|| "the recorder thread ended".into()),
        )
    }

    /// Sends the recorder thread `control` with a reply channel and waits for its answer.
    fn request<T>(
        &self,
        control: impl FnOnce(SyncSender<Result<T, String>>) -> Control,
    ) -> Result<T, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Item::Control(control(reply)))
            .map_err(|_| self.stopped())?;
        answer
            .recv()
            .map_err(|_| self.stopped())?
            .map_err(Error::Stopped)
    }

    /// Opens a new episode file; its path.
    pub fn start_episode(&self) -> Result<PathBuf, Error> {
        self.request(|reply| Control::Start { reply: Some(reply) })
    }

    /// Closes the open episode after every tick queued before this call is written.
    pub fn stop_episode(&self, outcome: Outcome) -> Result<EpisodeReport, Error> {
        self.request(|reply| Control::Stop {
            outcome,
            reply: Some(reply),
        })
    }

    /// The error that stopped the recorder, if one did.
    pub fn error(&self) -> Option<String> {
        lock(&self.shared.error).clone()
    }

    pub fn is_recording(&self) -> bool {
        self.shared.recording.load(Ordering::Relaxed)
    }

    /// Messages dropped so far, per topic (queues full).
    pub fn drops(&self) -> Vec<(&'static str, u64)> {
        let d = self.shared.drops();
        Topic::ALL
            .iter()
            .map(|t| (t.name(), d[t.index()]))
            .collect()
    }

    /// Closes an open episode (unlabelled), stops the threads; every episode closed in this
    /// session, or the error that stopped the recorder.
    pub fn finish(mut self) -> Result<Vec<EpisodeReport>, Error> {
        self.shutdown();
        if let Some(e) = self.error() {
            return Err(Error::Stopped(e));
        }
        Ok(std::mem::take(&mut *lock(&self.shared.episodes)))
    }

    fn shutdown(&mut self) {
        let _ = self.tx.send(Item::Control(Control::Shutdown));
        self.shared.shutdown.store(true, Ordering::Relaxed);
        // The encoder ends when its frame sender (the camera sink) is gone.
        self.camera = None;
        self.tap = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some(e) = self.encoder.take() {
            let _ = e.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The smallest episode number not used in `dir` (`episode-NNNN/`, or `episode-NNNN.mcap` as
/// JSON episodes were written).
fn next_episode_index(dir: &Path) -> std::io::Result<u32> {
    let mut next = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("episode-")
            .and_then(|r| r.split('.').next())
            .and_then(|n| n.parse::<u32>().ok())
        {
            next = next.max(n + 1);
        }
    }
    Ok(next)
}

fn writer_main(
    rx: Receiver<Item>,
    pool: SyncSender<Box<TickSample>>,
    shared: Arc<Shared>,
    config: RecorderConfig,
    robot: Arc<RobotInfo>,
    mut next_index: u32,
) {
    let mut episode: Option<(EpisodeWriter, [u64; Topic::ALL.len()])> = None;
    let mut last_flush = Instant::now();
    let wait = (config.flush_interval / 4).max(Duration::from_millis(1));
    loop {
        let item = match rx.recv_timeout(wait) {
            Ok(item) => Some(item),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let result = match item {
            None => Ok(()),
            Some(Item::Tick(sample)) => {
                let r = episode
                    .as_mut()
                    .map_or(Ok(()), |(e, _)| e.write_tick(&sample));
                // Cannot be full: the pool channel holds every buffer there is.
                let _ = pool.try_send(sample);
                r
            }
            Some(Item::Image(image)) => episode
                .as_mut()
                .map_or(Ok(()), |(e, _)| e.write_image(&image)),
            Some(Item::Control(Control::Start { reply })) => {
                let r = if let Some((e, _)) = &episode {
                    Err(format!(
                        "an episode is already being recorded: {}",
                        e.path().display()
                    ))
                } else {
                    let name = format!("episode-{next_index:04}");
                    let path = config.dir.join(&name).join(format!("{name}.mcap"));
                    next_index += 1;
                    let created = std::fs::create_dir(config.dir.join(&name))
                        .map_err(Error::io(config.dir.join(&name)));
                    match created.and_then(|()| {
                        EpisodeWriter::create(
                            &path,
                            Arc::clone(&robot),
                            &config.labels,
                            config.camera_fps,
                            crate::rt::wall_clock_ns(),
                        )
                    }) {
                        Ok(mut e) => {
                            let _ = e.annotate(None, crate::rt::wall_clock_ns(), "start", None);
                            episode = Some((e, shared.drops()));
                            shared.recording.store(true, Ordering::Relaxed);
                            last_flush = Instant::now();
                            Ok(path)
                        }
                        Err(e) => Err(e.to_string()),
                    }
                };
                let failed = r.as_ref().err().cloned();
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
                match failed {
                    // A refused start while recording is not the recorder failing.
                    Some(m) if episode.is_none() => Err(Error::Stopped(m)),
                    _ => Ok(()),
                }
            }
            Some(Item::Control(Control::Stop { outcome, reply })) => {
                let r = close(&mut episode, &shared, outcome);
                let result = match &r {
                    Err(Some(e)) => Err(Error::Stopped(e.clone())),
                    _ => Ok(()),
                };
                if let Some(reply) = reply {
                    let _ =
                        reply.send(r.map_err(|e| {
                            e.unwrap_or_else(|| "no episode is being recorded".into())
                        }));
                }
                result
            }
            Some(Item::Control(Control::Annotate {
                mono_ns,
                wall_ns,
                label,
            })) => episode.as_mut().map_or(Ok(()), |(e, _)| {
                e.annotate(Some(mono_ns), wall_ns, label, None)
            }),
            Some(Item::Control(Control::Shutdown)) => {
                if let Err(Some(e)) = close(&mut episode, &shared, Outcome::Unlabelled) {
                    fail(&shared, &mut episode, e);
                }
                break;
            }
        };
        if let Err(e) = result {
            fail(&shared, &mut episode, e.to_string());
            break;
        }
        if let Some((e, _)) = &mut episode
            && last_flush.elapsed() >= config.flush_interval
        {
            if let Err(err) = e.flush() {
                fail(&shared, &mut episode, err.to_string());
                break;
            }
            last_flush = Instant::now();
        }
    }
    shared.recording.store(false, Ordering::Relaxed);
}

/// Closes the open episode: its report, `Err(None)` if none was open, `Err(Some(why))` if
/// closing failed.
fn close(
    episode: &mut Option<(EpisodeWriter, [u64; Topic::ALL.len()])>,
    shared: &Shared,
    outcome: Outcome,
) -> Result<EpisodeReport, Option<String>> {
    let (e, drops_at_start) = episode.take().ok_or(None)?;
    shared.recording.store(false, Ordering::Relaxed);
    let now = shared.drops();
    let drops = std::array::from_fn(|i| now[i] - drops_at_start[i]);
    match e.finish(outcome, crate::rt::wall_clock_ns(), &drops) {
        Ok(report) => {
            lock(&shared.episodes).push(report.clone());
            Ok(report)
        }
        Err(err) => Err(Some(err.to_string())),
    }
}

/// The recorder stops at its first error: say so once, keep the flushed part of the file.
fn fail(
    shared: &Shared,
    episode: &mut Option<(EpisodeWriter, [u64; Topic::ALL.len()])>,
    error: String,
) {
    tracing::error!("recording stopped: {error}");
    if let Some((e, _)) = episode.take() {
        e.abandon(&error);
    }
    shared.recording.store(false, Ordering::Relaxed);
    lock(&shared.error).get_or_insert(error);
}

/// A camera frame lost: one message on each eye's channel.
fn drop_frame(shared: &Shared) {
    for topic in Topic::CAMERAS {
        shared.drop_one(topic);
    }
}

fn encoder_main(rx: Receiver<CameraFrame>, tx: SyncSender<Item>, shared: Arc<Shared>, quality: u8) {
    let mut rgb = Vec::new();
    loop {
        let frame = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(frame) => frame,
            Err(RecvTimeoutError::Timeout) if !shared.shutdown.load(Ordering::Relaxed) => continue,
            Err(_) => break,
        };
        if !shared.recording.load(Ordering::Relaxed) {
            continue;
        }
        let wall_ns = crate::rt::wall_clock_ns();
        let pixels = frame.width as usize * frame.height as usize;
        if frame.rgba.len() != pixels * 4 || pixels == 0 {
            tracing::warn!(
                "camera frame {}×{} has {} bytes, not {}: skipped",
                frame.width,
                frame.height,
                frame.rgba.len(),
                pixels * 4
            );
            drop_frame(&shared);
            continue;
        }
        // Side by side: each eye is half the width, encoded on its own.
        let eye_width = frame.width / 2;
        let mut encode = |eye: usize| {
            let bytes = eye_width as usize * 4;
            rgb.clear();
            for row in frame.rgba.chunks_exact(frame.width as usize * 4) {
                let half = &row[eye * bytes..(eye + 1) * bytes];
                rgb.extend(half.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
            }
            let mut out = Vec::with_capacity(pixels / 8);
            JpegEncoder::new_with_quality(&mut out, quality)
                .encode(&rgb, eye_width, frame.height, ExtendedColorType::Rgb8)
                .inspect_err(|e| tracing::warn!("camera frame not encoded: {e}"))
                .ok()?;
            Some(out)
        };
        let jpeg = (eye_width > 0).then(|| Some([encode(0)?, encode(1)?]));
        let Some(Some(jpeg)) = jpeg else {
            drop_frame(&shared);
            continue;
        };
        let image = EncodedImage {
            time_ns: frame.time_ns,
            wall_ns,
            width: eye_width,
            height: frame.height,
            jpeg,
        };
        if tx.send(Item::Image(image)).is_err() {
            break;
        }
    }
}

/// The control loop's side of a session: copies each tick into a pooled buffer and queues it
/// (never waits unless the session is lossless, never allocates); reads the lifecycle buttons.
///
/// Buttons (rising edges): right A starts or stops an episode (stop: unlabelled), right B ends
/// it as a success, left Y as a failure, left menu discards it, left X adds a marker.
pub struct Tap {
    tx: SyncSender<Item>,
    pool: Receiver<Box<TickSample>>,
    shared: Arc<Shared>,
    template: TickSample,
    lossless: bool,
    closed: bool,
    buttons: [Buttons; 2],
    last_sent_operator_ns: Option<u64>,
    /// A new operator frame that was in a dropped tick (lost if a newer one replaces it).
    unsent_operator_ns: Option<u64>,
}

impl Tap {
    fn control(&mut self, control: Control) {
        match self.tx.try_send(Item::Control(control)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.shared.drop_one(Topic::Annotations),
            Err(TrySendError::Disconnected(_)) => self.closed = true,
        }
    }

    fn lifecycle(&mut self, sample: &TickSample) {
        let Some(frame) = &sample.operator else {
            return;
        };
        let [left_was, right_was] = self.buttons;
        let (left, right) = (frame.left.buttons, frame.right.buttons);
        self.buttons = [left, right];
        let recording = self.shared.recording.load(Ordering::Relaxed);
        let (t, w) = (sample.time_ns, sample.wall_ns);
        let right_primary = right.primary && !right_was.primary;
        if right_primary && !recording {
            self.control(Control::Start { reply: None });
        }
        for (pressed, outcome) in [
            (right_primary, Outcome::Unlabelled),
            (right.secondary && !right_was.secondary, Outcome::Success),
            (left.secondary && !left_was.secondary, Outcome::Failure),
            (left.menu && !left_was.menu, Outcome::Discarded),
        ] {
            if pressed && recording {
                self.control(Control::Stop {
                    outcome,
                    reply: None,
                });
            }
        }
        if left.primary && !left_was.primary {
            self.control(Control::Annotate {
                mono_ns: t,
                wall_ns: w,
                label: "marker",
            });
        }
    }

    fn count_dropped_tick(&mut self, sample: &TickSample) {
        for topic in Topic::PER_TICK {
            self.shared.drop_one(topic);
        }
        if let Some(f) = &sample.operator
            && Some(f.time_ns) != self.last_sent_operator_ns
        {
            if let Some(lost) = self.unsent_operator_ns
                && lost != f.time_ns
            {
                self.shared.drop_one(Topic::Operator);
            }
            self.unsent_operator_ns = Some(f.time_ns);
        }
    }
}

impl TickSink for Tap {
    fn new_sample(&self) -> TickSample {
        self.template.clone()
    }

    fn tick(&mut self, sample: &TickSample) {
        if self.closed {
            return;
        }
        self.lifecycle(sample);
        let buffer = if self.lossless {
            self.pool.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            self.pool.try_recv()
        };
        let mut buffer = match buffer {
            Ok(b) => b,
            Err(TryRecvError::Empty) => {
                self.count_dropped_tick(sample);
                return;
            }
            Err(TryRecvError::Disconnected) => {
                self.closed = true;
                return;
            }
        };
        buffer.copy_from(sample);
        let sent = if self.lossless {
            self.tx.send(Item::Tick(buffer)).map_err(|_| ())
        } else {
            match self.tx.try_send(Item::Tick(buffer)) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    self.count_dropped_tick(sample);
                    return;
                }
                Err(TrySendError::Disconnected(_)) => Err(()),
            }
        };
        match sent {
            Ok(()) => {
                if let Some(f) = &sample.operator {
                    if let Some(lost) = self.unsent_operator_ns.take()
                        && lost != f.time_ns
                    {
                        self.shared.drop_one(Topic::Operator);
                    }
                    self.last_sent_operator_ns = Some(f.time_ns);
                }
            }
            Err(()) => self.closed = true,
        }
    }
}

/// The render side's way in for camera frames: skips frames that come sooner than the
/// configured rate, queues the rest for JPEG encoding without waiting (full queue: dropped and
/// counted). In a lossless session (headless runs) it waits for room instead.
pub struct CameraSink {
    tx: SyncSender<CameraFrame>,
    shared: Arc<Shared>,
    min_interval_ns: u64,
    next_ns: Option<u64>,
    lossless: bool,
}

impl CameraSink {
    /// Whether a frame at monotonic `time_ns` would be recorded (lets a renderer skip reading
    /// back frames that would be thrown away).
    pub fn wants(&self, time_ns: u64) -> bool {
        self.shared.recording.load(Ordering::Relaxed) && self.next_ns.is_none_or(|n| time_ns >= n)
    }

    /// Offers a frame; true if it was queued.
    pub fn offer(&mut self, frame: CameraFrame) -> bool {
        if !self.wants(frame.time_ns) {
            return false;
        }
        let time_ns = frame.time_ns;
        let queued = if self.lossless {
            self.tx.send(frame).is_ok()
        } else {
            self.tx.try_send(frame).is_ok()
        };
        if !queued {
            drop_frame(&self.shared);
            return false;
        }
        // The next slot on the rate's grid, so the average rate is the configured one.
        let next = self
            .next_ns
            .unwrap_or(time_ns)
            .saturating_add(self.min_interval_ns);
        self.next_ns = Some(if next <= time_ns {
            time_ns.saturating_add(self.min_interval_ns)
        } else {
            next
        });
        true
    }
}

impl ImageSink for CameraSink {
    fn wants(&self, time_ns: u64) -> bool {
        CameraSink::wants(self, time_ns)
    }

    fn offer(&mut self, frame: CameraFrame) -> bool {
        CameraSink::offer(self, frame)
    }
}
