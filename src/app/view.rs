//! The robot's stereo view as a session output: PNG frames, the recorder's camera frames and a
//! desktop window. Lock-step sessions render at exact view periods of session time ([`Tap`], on
//! the loop's thread); real-time sessions publish every tick's poses to a [`StateCell`] that
//! this side reads at its own pace ([`Publish`], [`Live`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Error;
use super::feed::{self, CameraFeed};
use super::scene::{Scene, layout};
use super::session::{Observer, Tick};
use crate::msg::{CameraFrame, ImageSink, RobotState};
use crate::render::{self, FrameCell, SceneState, StateCell, StereoRig, StereoView};
use crate::robot::Connection;

/// What to show while a session runs (nothing by default: no GPU or display needed).
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Write side-by-side stereo PNGs here.
    pub png_dir: Option<std::path::PathBuf>,
    /// Of the views rendered at [`layout::VIEW_RATE_HZ`], write every Nth (0 or 1: all).
    pub png_every: u32,
    /// Per-eye image size for the PNGs and recorded camera frames; default: the profile's
    /// camera size.
    pub eye_size: Option<(u32, u32)>,
    /// A desktop window mirroring the stereo view.
    pub window: bool,
}

/// The offscreen view of a session, if it renders one.
pub(crate) enum Offscreen {
    Off,
    /// Not rendered, and why (no graphics adapter, no `[camera]`).
    Unavailable(String),
    On(Box<Outputs>),
}

/// The offscreen stereo view and where its images go: PNGs (every `every`-th view period,
/// encoded on a writer thread) and/or the recorder's camera (at the rate it asks for). A frame
/// is rendered only when one of them wants it.
pub(crate) struct Outputs {
    view: StereoView,
    writer: Option<render::FrameWriter>,
    camera: Option<Box<dyn ImageSink>>,
    camera_frames: u64,
    state: SceneState,
    every: u64,
    periods: u64,
}

impl Offscreen {
    /// The offscreen view for `view`'s PNGs and `camera` (the recorder), if either wants one.
    /// [`Offscreen::Unavailable`] when there is no graphics adapter (said once, as a warning;
    /// the run goes on without rendering or recording camera frames).
    pub(crate) fn start(
        rig: Option<StereoRig>,
        drawn: render::Scene,
        view: &View,
        camera: Option<Box<dyn ImageSink>>,
    ) -> Result<Offscreen, Error> {
        if view.png_dir.is_none() && camera.is_none() {
            return Ok(Offscreen::Off);
        }
        let Some(mut rig) = rig else {
            if view.png_dir.is_some() {
                return Err(render::Error::NoCamera.into());
            }
            return Ok(Offscreen::Unavailable(
                "no camera frames recorded (the profile has no [camera])".into(),
            ));
        };
        if let Some((w, h)) = view.eye_size {
            rig = rig.with_size(w, h);
        }
        let writer = match &view.png_dir {
            Some(dir) => Some(render::FrameWriter::new(dir)?),
            None => None,
        };
        let state = drawn.state();
        match StereoView::headless(drawn, rig) {
            Ok(stereo) => Ok(Offscreen::On(Box::new(Outputs {
                view: stereo,
                writer,
                camera,
                camera_frames: 0,
                state,
                every: u64::from(view.png_every.max(1)),
                periods: 0,
            }))),
            Err(e @ render::Error::NoAdapter(_)) => {
                tracing::warn!("{e}; going on without rendering");
                Ok(Offscreen::Unavailable(format!("not rendered ({e})")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Renders one frame for no one: the first render compiles the shaders.
    fn warm_up(&mut self) {
        if let Offscreen::On(outputs) = self
            && let Err(e) = outputs.view.render_image(&outputs.state)
        {
            tracing::warn!("view warm-up: {e}");
        }
    }

    /// Once per view period: renders `state` if a PNG or the camera wants it.
    fn offer(&mut self, state: &SceneState) {
        if let Offscreen::On(outputs) = self {
            outputs.offer(state);
        }
    }

    /// Drains the PNG writer; what was written, or why nothing was.
    pub(crate) fn finish(self) -> Result<Option<String>, Error> {
        Ok(match self {
            Offscreen::On(outputs) => Some(outputs.finish()?),
            Offscreen::Unavailable(why) => Some(why),
            Offscreen::Off => None,
        })
    }
}

impl Outputs {
    fn offer(&mut self, state: &SceneState) {
        let period = self.periods;
        self.periods += 1;
        let to_png = self.writer.is_some() && period % self.every == 0;
        let to_camera = self.camera.as_ref().is_some_and(|c| c.wants(state.time_ns));
        if !(to_png || to_camera) {
            return;
        }
        self.state.copy_from(state);
        let mut image = match self.view.render_image(&self.state) {
            Ok(image) => image,
            Err(e) => {
                tracing::warn!("view at {} ns: {e}", self.state.time_ns);
                return;
            }
        };
        if let Some(camera) = self.camera.as_mut().filter(|_| to_camera) {
            // The PNG writer and the recorder each own their copy.
            let rgba = if to_png {
                image.rgba.clone()
            } else {
                std::mem::take(&mut image.rgba)
            };
            let frame = CameraFrame {
                time_ns: state.time_ns,
                width: image.width,
                height: image.height,
                rgba,
            };
            if camera.offer(frame) {
                self.camera_frames += 1;
            }
        }
        if let (true, Some(writer)) = (to_png, &mut self.writer) {
            writer.push(period / self.every, image);
        }
    }

    fn finish(self) -> Result<String, Error> {
        let adapter = self.view.gpu.describe();
        let (w, h) = (self.view.rig.width, self.view.rig.height);
        let mut parts = Vec::new();
        if let Some(writer) = self.writer {
            let dir = writer.dir().to_owned();
            let dropped = writer.dropped;
            let written = writer.finish()?;
            let dropped = if dropped > 0 {
                format!(", {dropped} dropped (writer busy)")
            } else {
                String::new()
            };
            parts.push(format!(
                "{written} stereo PNGs in {}{dropped}",
                dir.display()
            ));
        }
        if self.camera.is_some() {
            parts.push(format!(
                "{} camera frames to the recorder",
                self.camera_frames
            ));
        }
        Ok(format!(
            "{} ({w}×{h} per eye) on {adapter}",
            parts.join(", ")
        ))
    }
}

/// Copies the poses of a robot state into a view state (no allocation).
fn to_scene_state(time_ns: u64, state: &RobotState, out: &mut SceneState) {
    out.time_ns = time_ns;
    out.link_poses.copy_from_slice(&state.link_poses);
    out.object_poses.copy_from_slice(&state.object_poses);
}

/// A lock-step session's view: once per view period of session time it renders offscreen and
/// offers the poses to the window's cell.
pub struct Tap {
    offscreen: Offscreen,
    window: Option<Arc<StateCell>>,
    ticks_per_view: u64,
    state: SceneState,
}

impl Observer for Tap {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        if tick.index % self.ticks_per_view != 0 {
            return;
        }
        to_scene_state(tick.now_ns, tick.state, &mut self.state);
        self.offscreen.offer(&self.state);
        if let Some(cell) = &self.window {
            cell.try_publish(
                tick.now_ns,
                &tick.state.link_poses,
                &tick.state.object_poses,
            );
        }
    }
}

/// Runs `body` (a lock-step session) with the [`Tap`] for `view` and the recorder's `camera`:
/// on this thread, or — with a window — on a worker thread while this one shows the window.
/// `body` hands the tap back; returns its result and what the view did.
pub fn with_tap<T: Send>(
    scene: &Scene,
    view: &View,
    camera: Option<Box<dyn ImageSink>>,
    tick_period_s: f64,
    body: impl FnOnce(Tap) -> Result<(T, Tap), Error> + Send,
) -> Result<(T, Option<String>), Error> {
    let drawn = scene.render_scene();
    let window = match (view.window, &scene.rig) {
        (true, Some(rig)) => Some((scene.render_scene(), rig.clone())),
        _ => None,
    };
    let state = drawn.state();
    let tap = Tap {
        offscreen: Offscreen::start(scene.rig.clone(), drawn, view, camera)?,
        window: window
            .as_ref()
            .map(|(drawn, _)| Arc::new(StateCell::new(drawn.state()))),
        ticks_per_view: ((1.0 / layout::VIEW_RATE_HZ) / tick_period_s)
            .round()
            .max(1.0) as u64,
        state,
    };
    let Some((drawn, rig)) = window else {
        let (result, tap) = body(tap)?;
        return Ok((result, tap.offscreen.finish()?));
    };
    let cell = tap
        .window
        .clone()
        .ok_or_else(|| Error::Thread("window cell".into()))?;
    let done = Arc::new(AtomicBool::new(false));
    let world_from_base = scene.world_from_base();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("simulation".into())
            .spawn_scoped(scope, || {
                let result = body(tap);
                done.store(true, Ordering::Relaxed);
                result.and_then(|(result, tap)| Ok((result, tap.offscreen.finish()?)))
            })
            .map_err(|e| Error::Thread(format!("simulation thread: {e}")))?;
        let shown = show_window(
            drawn,
            rig,
            world_from_base,
            Arc::clone(&cell),
            None,
            Arc::clone(&done),
        );
        let (result, offscreen) = worker
            .join()
            .map_err(|_| Error::Thread("the simulation thread panicked".into()))??;
        Ok((result, join_lines([offscreen, Some(shown)])))
    })
}

fn join_lines(lines: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    let lines: Vec<String> = lines.into_iter().flatten().collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// A real-time session's view: every tick's poses offered to `0` (never waiting on it).
pub struct Publish(pub Arc<StateCell>);

impl Observer for Publish {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        self.0.try_publish(
            tick.now_ns,
            &tick.state.link_poses,
            &tick.state.object_poses,
        );
    }
}

/// A real-time session's view, made ready before the session starts: the graphics device
/// created and its shaders compiled by one discarded render (a software renderer compiles
/// them on its first frame, with every core), so none of that runs beside the control loop.
pub struct Live {
    window: Option<render::Scene>,
    offscreen: Offscreen,
    state: SceneState,
}

/// Prepares the view of a real-time session (see [`Live`]); None when there is nothing to show.
/// The device is created on a thread at background priority, so a CPU renderer's worker
/// threads inherit it, while this thread keeps its own priority for the control thread it
/// starts next.
pub fn prepare_live(
    scene: &Scene,
    view: &View,
    camera: Option<Box<dyn ImageSink>>,
) -> Result<Option<Live>, Error> {
    let window = (view.window && scene.rig.is_some()).then(|| scene.render_scene());
    if window.is_none() && view.png_dir.is_none() && camera.is_none() {
        return Ok(None);
    }
    let drawn = scene.render_scene();
    let state = drawn.state();
    let rig = scene.rig.clone();
    let view = view.clone();
    let offscreen = std::thread::Builder::new()
        .name("view-setup".into())
        .spawn(move || {
            crate::rt::priority::lower_for_background();
            let mut offscreen = Offscreen::start(rig, drawn, &view, camera)?;
            offscreen.warm_up();
            Ok::<_, Error>(offscreen)
        })
        .map_err(|e| Error::Thread(format!("view setup thread: {e}")))?
        .join()
        .map_err(|_| Error::Thread("the view setup thread panicked".into()))??;
    Ok(Some(Live {
        window,
        offscreen,
        state,
    }))
}

impl Live {
    /// Shows the session's view on this (the main) thread until `done`: the window, or else the
    /// offscreen outputs; with both, the offscreen view gets a thread of its own. Threads here
    /// run at background priority: a busy machine shows fewer frames rather than moving the
    /// robot late. What the view did.
    pub fn show(
        self,
        scene: &Scene,
        cell: &Arc<StateCell>,
        done: &Arc<AtomicBool>,
    ) -> Result<Option<String>, Error> {
        let Live {
            window,
            mut offscreen,
            state,
        } = self;
        crate::rt::priority::lower_for_background();
        let shown = std::thread::scope(|scope| match (window, scene.rig.clone()) {
            (Some(drawn), Some(rig)) => {
                let offscreen = &mut offscreen;
                scope.spawn(move || offscreen_loop(offscreen, cell, done, state));
                Some(show_window(
                    drawn,
                    rig,
                    scene.world_from_base(),
                    Arc::clone(cell),
                    None,
                    Arc::clone(done),
                ))
            }
            _ => {
                offscreen_loop(&mut offscreen, cell, done, state);
                None
            }
        });
        Ok(join_lines([offscreen.finish()?, shown]))
    }
}

/// The recorder's camera on a thread of its own, for a session whose own view goes elsewhere (a
/// headset's swapchain): renders the newest state in `cell` at the view rate (per-eye `size`,
/// default the profile's camera) into `camera` until `done`, at background priority. Its result
/// says what it recorded, or why nothing (no adapter, no `[camera]`).
pub fn spawn_camera(
    scene: &Scene,
    size: Option<(u32, u32)>,
    camera: Box<dyn ImageSink>,
    cell: Arc<StateCell>,
    done: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<Result<Option<String>, Error>>, Error> {
    let rig = scene.rig.clone();
    let drawn = scene.render_scene();
    let view = View {
        eye_size: size,
        ..View::default()
    };
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || {
            // Before the device exists, so a CPU renderer's threads inherit it.
            crate::rt::priority::lower_for_background();
            let state = drawn.state();
            let mut offscreen = Offscreen::start(rig, drawn, &view, Some(camera))?;
            offscreen_loop(&mut offscreen, &cell, &done, state);
            offscreen.finish()
        })
        .map_err(|e| Error::Thread(format!("camera thread: {e}")))
}

/// Renders the newest published state at the view rate until `done`.
fn offscreen_loop(
    offscreen: &mut Offscreen,
    cell: &StateCell,
    done: &AtomicBool,
    mut state: SceneState,
) {
    if !matches!(offscreen, Offscreen::On(_)) {
        return;
    }
    let period = Duration::from_secs_f64(1.0 / layout::VIEW_RATE_HZ);
    let mut seen = 0;
    while !done.load(Ordering::Relaxed) {
        let started = Instant::now();
        let newer = cell.read_newer(seen, &mut state);
        if newer != seen {
            seen = newer;
            offscreen.offer(&state);
        }
        std::thread::sleep(period.saturating_sub(started.elapsed()));
    }
}

/// Runs the window on this thread until `done` (or the user closes it); what it showed, or why
/// there was none (said once, as a warning).
fn show_window(
    drawn: render::Scene,
    rig: StereoRig,
    world_from_base: crate::kinematics::Pose,
    cell: Arc<StateCell>,
    feed: Option<Arc<FrameCell>>,
    done: Arc<AtomicBool>,
) -> String {
    let has_feed = feed.is_some();
    let options = render::WindowOptions {
        world_from_base,
        feed,
        ..Default::default()
    };
    match render::run_window(drawn, rig, cell, done, options) {
        Ok(report) if has_feed => format!(
            "window showed {} frames ({} of the robot's camera images, {} of them stale) on {}",
            report.frames_presented, report.feed_frames, report.stale_frames, report.adapter
        ),
        Ok(report) => format!(
            "window showed {} frames on {}",
            report.frames_presented, report.adapter
        ),
        Err(e) => {
            tracing::warn!("{e}; going on without a window");
            format!("no window ({e})")
        }
    }
}

/// The view of a session driving a robot across the network, on this thread until `done`: the
/// robot's own camera images, as they arrive ([`CameraFeed`]), go to the window (the robot's
/// state, rendered here, until the first arrives), the PNGs and the recorder's `camera`, whose
/// frames carry session time (`epoch_wall_ns`: the wall clock at the session's start). Nothing
/// is rendered for them here. What the view did.
pub fn show_remote(
    scene: &Scene,
    view: &View,
    camera: Option<Box<dyn ImageSink>>,
    connection: &Connection,
    epoch_wall_ns: u64,
    cell: &Arc<StateCell>,
    done: &Arc<AtomicBool>,
) -> Result<Option<String>, Error> {
    let window = (view.window && scene.rig.is_some()).then(|| scene.render_scene());
    if window.is_none() && view.png_dir.is_none() && camera.is_none() {
        return Ok(None);
    }
    crate::rt::priority::lower_for_background();
    let png = match &view.png_dir {
        Some(dir) => Some(render::FrameWriter::new(dir)?),
        None => None,
    };
    let received = CameraFeed::start(
        connection,
        feed::Outputs {
            png,
            recorder: camera.map(|c| (c, epoch_wall_ns)),
        },
    )?;
    let shown = match (window, scene.rig.clone()) {
        (Some(drawn), Some(rig)) => Some(show_window(
            drawn,
            rig,
            scene.world_from_base(),
            Arc::clone(cell),
            Some(received.cell()),
            Arc::clone(done),
        )),
        _ => {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        }
    };
    Ok(join_lines([Some(received.finish()?), shown]))
}
