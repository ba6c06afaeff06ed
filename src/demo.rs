//! The bundled demo: the humanoid at a table in the rapier simulation, driven by a scripted
//! trainer through the whole control pipeline (retarget → IK → safety → servos), run faster than
//! real time. The trainer picks up a cube and carries it to a marked spot; the summary says
//! whether it got there (by physics: the fingers hold it by friction, nothing teleports it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nalgebra::{Translation3, Vector3};

use crate::config::Profile;
use crate::control::{ControlThread, FrameCell, Histogram, Pipeline, TickOutcome};
use crate::kinematics::Pose;
use crate::model::Model;
use crate::msg::{CameraFrame, ImageSink, TickSink};
use crate::operator::Script;
use crate::render::{self, SceneObject, SceneState, StateCell, StereoRig, StereoView};
use crate::robot::{Robot, RobotState};
use crate::sim::{ServoGains, Sim};

/// Where things stand, in the world frame (m). Laid out for the bundled humanoid and script:
/// at the rest posture the left tool centre is at (0.498, 0.292, 0.43) from the pelvis; the
/// script moves the hand 0.05 m forward and 0.25 m down to grasp, then 0.2 m to the right.
pub mod layout {
    /// The pelvis (the robot's fixed base).
    pub const PELVIS: [f64; 3] = [0.0, 0.0, 0.75];
    /// Cube edge (m) and mass (kg).
    pub const CUBE_SIZE: f64 = 0.04;
    pub const CUBE_MASS: f64 = 0.1;
    /// The cube's centre at the start: where the tool centre arrives to grasp.
    pub const CUBE: [f64; 3] = [0.548, 0.292, 0.93];
    /// A tray on the table, out of the way (its centre).
    pub const TRAY: [f64; 3] = [0.72, -0.15, TABLE_TOP + 0.01];
    /// Where the cube should end up (the marked spot), its centre.
    pub const TARGET: [f64; 3] = [0.548, 0.092, 0.93];
    /// The table: top just under the cube, from x = 0.42 to 0.82, y = −0.3 to 0.5.
    pub const TABLE_TOP: f64 = CUBE[2] - CUBE_SIZE / 2.0;
    pub const TABLE_CENTER_XY: [f64; 2] = [0.62, 0.1];
    pub const TABLE_SIZE_XY: [f64; 2] = [0.4, 0.8];
    /// Colours (linear RGBA), chosen apart from the robot's greys and orange so that a picture
    /// can be checked by colour: a green table, a red cube, a blue tray.
    pub const TABLE_COLOR: [f64; 4] = [0.18, 0.45, 0.22, 1.0];
    pub const CUBE_COLOR: [f64; 4] = [0.8, 0.05, 0.04, 1.0];
    pub const TRAY_COLOR: [f64; 4] = [0.08, 0.2, 0.75, 1.0];
    /// How often the view is rendered, in simulated time (Hz).
    pub const VIEW_RATE_HZ: f64 = 30.0;

    /// For the cube's final centre: its horizontal distance to the spot (m), and success
    /// (within 3 cm of the spot, resting on the table).
    pub fn judge(cube_end: &nalgebra::Vector3<f64>) -> (f64, bool) {
        let distance = (cube_end - nalgebra::Vector3::from(TARGET)).xy().norm();
        let resting = (cube_end.z - CUBE[2]).abs() < 0.01;
        (distance, distance < 0.03 && resting)
    }
}

/// What to show while the demo runs (nothing by default: no GPU or display needed).
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Write side-by-side stereo PNGs here.
    pub frames: Option<PathBuf>,
    /// Of the views rendered at [`layout::VIEW_RATE_HZ`], write every Nth (0 or 1: all).
    pub frame_every: u32,
    /// Per-eye image size for the PNGs and recorded camera frames; default: the profile's
    /// camera size.
    pub frame_size: Option<(u32, u32)>,
    /// A desktop window mirroring the stereo view (real-time runs only).
    pub window: bool,
}

/// How a demo run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds simulated after the script ends.
    pub settle_s: f64,
    pub view: View,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settle_s: 1.0,
            view: View::default(),
        }
    }
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Profile(#[from] crate::config::Error),
    #[error(transparent)]
    Script(#[from] crate::operator::Error),
    #[error(transparent)]
    Pipeline(#[from] crate::control::Error),
    #[error(transparent)]
    Sim(#[from] crate::sim::Error),
    #[error(transparent)]
    Robot(#[from] crate::robot::Error),
    #[error(transparent)]
    Render(#[from] crate::render::Error),
}

/// What happened in a demo run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub simulated_s: f64,
    pub wall_s: f64,
    pub ticks: u64,
    pub cube_start: Vector3<f64>,
    pub cube_end: Vector3<f64>,
    pub target: Vector3<f64>,
    /// Horizontal distance from the cube's final centre to the marked spot (m).
    pub distance_to_target_m: f64,
    /// How high the cube was lifted above its start (m): proof it was carried, not pushed.
    pub highest_lift_m: f64,
    /// The largest contact force on a left finger while the cube was in the air (N).
    pub grip_force_n: f64,
    /// The cube is within 3 cm of the spot and resting on the table.
    pub success: bool,
    pub ik: Histogram,
    pub tick: Histogram,
    /// Largest difference between a commanded and a simulated joint position (rad or m).
    pub max_tracking_error: f64,
    /// Control ticks that ended after their deadline (real-time runs only).
    pub deadline_misses: Option<u64>,
    /// How late control ticks started (real-time runs only).
    pub start_late: Option<Histogram>,
    /// The control thread's scheduling (real-time runs only).
    pub priority: Option<crate::control::priority::Granted>,
    pub held_no_clutch: u64,
    pub held_stale: u64,
    /// What the view did: PNGs written, window frames shown, or why nothing was rendered.
    pub view: Option<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |h: &Histogram, p: f64| h.percentile(p) as f64 / 1e3;
        writeln!(
            f,
            "task: {} — cube {:.1} cm from the spot (goal < 3 cm), lifted {:.1} cm on the way, gripped with up to {:.0} N per finger",
            if self.success { "SUCCESS" } else { "FAILED" },
            self.distance_to_target_m * 100.0,
            self.highest_lift_m * 100.0,
            self.grip_force_n
        )?;
        writeln!(
            f,
            "cube: start ({:.3}, {:.3}, {:.3}) m, end ({:.3}, {:.3}, {:.3}) m, spot ({:.3}, {:.3}) m",
            self.cube_start.x,
            self.cube_start.y,
            self.cube_start.z,
            self.cube_end.x,
            self.cube_end.y,
            self.cube_end.z,
            self.target.x,
            self.target.y
        )?;
        writeln!(
            f,
            "time: {:.1} s simulated in {:.1} s wall ({:.1}× real time), {} control ticks",
            self.simulated_s,
            self.wall_s,
            self.simulated_s / self.wall_s.max(1e-9),
            self.ticks
        )?;
        writeln!(
            f,
            "latency: IK p50 {:.1} µs, p99 {:.1} µs; whole tick p50 {:.1} µs, p99 {:.1} µs; {}",
            us(&self.ik, 50.0),
            us(&self.ik, 99.0),
            us(&self.tick, 50.0),
            us(&self.tick, 99.0),
            match self.deadline_misses {
                Some(n) => format!("{n} deadline misses"),
                None => "headless, faster than real time: no deadlines".to_string(),
            }
        )?;
        if let Some(late) = &self.start_late {
            writeln!(
                f,
                "timing: ticks started late by p50 {:.1} µs, p99 {:.1} µs, max ≤ {:.1} µs; control thread at {}",
                us(late, 50.0),
                us(late, 99.0),
                us(late, 100.0),
                self.priority
                    .as_ref()
                    .map_or_else(|| "?".to_string(), ToString::to_string)
            )?;
        }
        write!(
            f,
            "tracking: largest commanded-vs-simulated joint difference {:.4}; held {} ticks without a clutch, {} stale",
            self.max_tracking_error, self.held_no_clutch, self.held_stale
        )?;
        if let Some(view) = &self.view {
            write!(f, "\nview: {view}")?;
        }
        Ok(())
    }
}

fn at(p: [f64; 3]) -> Pose {
    Pose::from_parts(Translation3::new(p[0], p[1], p[2]), Default::default())
}

/// The demo's world for any operator source (script, replay, headset), built from a robot
/// profile: the pipeline at the start posture, the simulation with the table, cube and tray (see
/// [`layout`]), and what the view needs to draw them.
pub struct Scene {
    pub profile: Profile,
    pub model: Model,
    pub pipeline: Pipeline,
    pub sim: Sim,
    /// The cube's object index in `sim`.
    pub cube: usize,
    /// The left fingers' link indices.
    pub fingers: Vec<usize>,
    /// Simulation ids of the scene's objects, in the order of `scene_objects`.
    pub objects: Vec<usize>,
    pub scene_objects: Vec<SceneObject>,
    /// The robot's eyes, if the profile names camera links.
    pub rig: Option<StereoRig>,
}

/// Builds the demo's [`Scene`] for the robot `profile`.
pub fn scene(profile: &Path) -> Result<Scene, Error> {
    let (profile, model) = Profile::load(profile)?;
    let q = profile.start_posture(&model);
    let pipeline = Pipeline::new(&model, &profile, &q, 0.1)?;
    let mut sim = Sim::new(&model, &q, &at(layout::PELVIS), ServoGains::default())?;
    let [tx, ty] = layout::TABLE_CENTER_XY;
    let [sx, sy] = layout::TABLE_SIZE_XY;
    // (name, centre, size, mass (None: fixed), colour). The tray, off to the side, is a
    // second, flat object that must stay where it is.
    let boxes = [
        (
            "table",
            [tx, ty, layout::TABLE_TOP / 2.0],
            Vector3::new(sx, sy, layout::TABLE_TOP),
            None,
            layout::TABLE_COLOR,
        ),
        (
            "cube",
            layout::CUBE,
            Vector3::repeat(layout::CUBE_SIZE),
            Some(layout::CUBE_MASS),
            layout::CUBE_COLOR,
        ),
        (
            "tray",
            layout::TRAY,
            Vector3::new(0.2, 0.15, 0.02),
            Some(0.3),
            layout::TRAY_COLOR,
        ),
    ];
    let mut objects = Vec::new();
    let mut scene_objects = Vec::new();
    for (name, centre, size, mass, color) in boxes {
        objects.push(sim.add_box(name, &at(centre), size, mass));
        scene_objects.push(render::box_object(name, size, color));
    }
    let cube = objects[1];
    let fingers: Vec<usize> = ["left_finger_a_link", "left_finger_b_link"]
        .iter()
        .filter_map(|name| model.link_id(name))
        .collect();
    let rig = profile
        .camera
        .as_ref()
        .and_then(|camera| StereoRig::new(&model, camera));
    Ok(Scene {
        profile,
        model,
        pipeline,
        sim,
        cube,
        fingers,
        objects,
        scene_objects,
        rig,
    })
}

impl Scene {
    /// What the renderer draws: the robot and the objects.
    pub fn render_scene(&self) -> render::Scene {
        let scene = render::Scene::new(&self.model, &self.scene_objects);
        for skipped in &scene.skipped {
            tracing::warn!("view: not drawn: {skipped}");
        }
        scene
    }

    /// A view state for this scene (every pose at identity until the robot side publishes).
    pub fn view_state(&self) -> SceneState {
        SceneState {
            time_ns: 0,
            link_poses: vec![Pose::identity(); self.model.links.len()],
            object_poses: vec![Pose::identity(); self.scene_objects.len()],
        }
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
) -> std::io::Result<std::thread::JoinHandle<Result<Option<String>, Error>>> {
    let rig = scene.rig.clone();
    let drawn = scene.render_scene();
    let view = View {
        frame_size: size,
        ..View::default()
    };
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || {
            // Before the device exists, so a CPU renderer's threads inherit it.
            crate::control::priority::lower_for_background();
            let mut frames = ViewOutputs::start_drawn(rig, drawn, &view, Some(camera))?;
            if let Frames::On(outputs) = &mut frames {
                let state = outputs.state.clone();
                offscreen_loop(outputs, &cell, &done, state);
            }
            frames.finish()
        })
}

/// Everything a scripted run needs, built from the files: the demo's world and the script.
struct Setup {
    script: Script,
    scene: Scene,
}

fn setup(profile: &Path, script: &Path) -> Result<Setup, Error> {
    let scene = scene(profile)?;
    Ok(Setup {
        script: Script::load(script)?,
        scene,
    })
}

/// Writes each object's `world_from_object` into `out` (no allocation).
fn object_poses(sim: &Sim, objects: &[usize], out: &mut [Pose]) {
    for (pose, &id) in out.iter_mut().zip(objects) {
        *pose = sim.object_pose(id);
    }
}

/// Whether a run renders its view offscreen (PNG frames, recorded camera frames).
enum Frames {
    Off,
    Unavailable(String),
    On(Box<ViewOutputs>),
}

/// The offscreen stereo view of a run and where its images go: PNGs (every `every`-th view
/// period, encoded on a writer thread) and/or the recorder's camera (at the rate it asks for).
/// A frame is rendered only when one of them wants it.
struct ViewOutputs {
    view: StereoView,
    writer: Option<render::FrameWriter>,
    camera: Option<Box<dyn ImageSink>>,
    camera_frames: u64,
    state: SceneState,
    every: u64,
    periods: u64,
}

impl ViewOutputs {
    /// [`Frames::Unavailable`] when there is no graphics adapter (said once, as a warning; the
    /// run goes on without rendering or recording camera frames).
    fn start(
        scene: &Scene,
        view: &View,
        camera: Option<Box<dyn ImageSink>>,
    ) -> Result<Frames, Error> {
        if !Self::needed(view, camera.is_some()) {
            return Ok(Frames::Off);
        }
        Self::start_drawn(scene.rig.clone(), scene.render_scene(), view, camera)
    }

    /// Whether anything is rendered offscreen.
    fn needed(view: &View, camera: bool) -> bool {
        view.frames.is_some() || camera
    }

    /// [`ViewOutputs::start`] from the scene's camera rig and its drawable scene.
    fn start_drawn(
        rig: Option<StereoRig>,
        drawn: render::Scene,
        view: &View,
        camera: Option<Box<dyn ImageSink>>,
    ) -> Result<Frames, Error> {
        let Some(mut rig) = rig else {
            if view.frames.is_some() {
                return Err(render::Error::NoCamera.into());
            }
            return Ok(Frames::Unavailable(
                "no camera frames recorded (the profile has no [camera])".into(),
            ));
        };
        if let Some((w, h)) = view.frame_size {
            rig = rig.with_size(w, h);
        }
        let writer = match &view.frames {
            Some(dir) => Some(render::FrameWriter::new(dir)?),
            None => None,
        };
        let state = drawn.state();
        match StereoView::headless(drawn, rig) {
            Ok(stereo) => Ok(Frames::On(Box::new(ViewOutputs {
                view: stereo,
                writer,
                camera,
                camera_frames: 0,
                state,
                every: u64::from(view.frame_every.max(1)),
                periods: 0,
            }))),
            Err(e @ render::Error::NoAdapter(_)) => {
                tracing::warn!("{e}; going on without rendering");
                Ok(Frames::Unavailable(format!("not rendered ({e})")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Called once per view period of a headless run.
    fn offer(&mut self, time_ns: u64, state: &RobotState, sim: &Sim, objects: &[usize]) {
        let period = self.periods;
        self.periods += 1;
        if !self.wanted(period, time_ns) {
            return;
        }
        self.state.time_ns = time_ns;
        self.state.link_poses.copy_from_slice(&state.link_poses);
        object_poses(sim, objects, &mut self.state.object_poses);
        self.render(period);
    }

    /// Called with every state a real-time view loop picks up.
    fn offer_state(&mut self, state: &SceneState) {
        let period = self.periods;
        self.periods += 1;
        if self.wanted(period, state.time_ns) {
            self.state.copy_from(state);
            self.render(period);
        }
    }

    fn wants_png(&self, period: u64) -> bool {
        self.writer.is_some() && period % self.every == 0
    }

    fn wanted(&self, period: u64, time_ns: u64) -> bool {
        self.wants_png(period) || self.camera.as_ref().is_some_and(|c| c.wants(time_ns))
    }

    fn render(&mut self, period: u64) {
        let mut image = match self.view.render_image(&self.state) {
            Ok(image) => image,
            Err(e) => {
                tracing::warn!("view at {} ns: {e}", self.state.time_ns);
                return;
            }
        };
        let time_ns = self.state.time_ns;
        let to_png = self.wants_png(period);
        if let Some(camera) = self.camera.as_mut().filter(|c| c.wants(time_ns)) {
            // The PNG writer and the recorder each own their copy.
            let rgba = if to_png {
                image.rgba.clone()
            } else {
                std::mem::take(&mut image.rgba)
            };
            let frame = CameraFrame {
                time_ns,
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
            parts.push(format!(
                "{written} stereo PNGs in {}{}",
                dir.display(),
                if dropped > 0 {
                    format!(", {dropped} dropped (writer busy)")
                } else {
                    String::new()
                }
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

/// What the robot side watches while the demo runs.
#[derive(Debug, Default)]
struct Watch {
    highest_lift_m: f64,
    grip_force_n: f64,
    max_tracking_error: f64,
}

impl Watch {
    fn observe(
        &mut self,
        sim: &Sim,
        state: &RobotState,
        command: &[f64],
        cube: usize,
        fingers: &[usize],
        cube_start_z: f64,
    ) {
        for (a, b) in state.positions.iter().zip(command) {
            self.max_tracking_error = self.max_tracking_error.max((a - b).abs());
        }
        let lift = sim.object_pose(cube).translation.z - cube_start_z;
        self.highest_lift_m = self.highest_lift_m.max(lift);
        if lift > 0.01 {
            for &finger in fingers {
                self.grip_force_n = self.grip_force_n.max(state.contact_forces[finger]);
            }
        }
    }
}

/// Runs the demo with the robot `profile` and operator `script`, plus `settle_s` seconds after
/// the script ends, headless and as fast as the CPU allows (deterministic).
pub fn run(profile: &Path, script: &Path, settle_s: f64) -> Result<Summary, Error> {
    run_with(
        profile,
        script,
        &Options {
            settle_s,
            ..Options::default()
        },
    )
}

/// [`run_with`], handing every tick to `ticks` and the rendered stereo view (at the view rate,
/// when a graphics adapter exists) to `camera`: the recorder's two inputs.
pub fn run_recorded(
    profile: &Path,
    script: &Path,
    options: &Options,
    ticks: &mut dyn TickSink,
    camera: Option<Box<dyn ImageSink>>,
) -> Result<Summary, Error> {
    let setup = setup(profile, script)?;
    let outputs = ViewOutputs::start(&setup.scene, &options.view, camera)?;
    headless(setup, outputs, options, Some(ticks))
}

/// [`run`] with a view: PNG frames rendered at [`layout::VIEW_RATE_HZ`] of simulated time,
/// and/or a window. With a window the simulation runs on a worker thread (still deterministic,
/// as fast as it goes) and this, the main thread, shows its newest state.
pub fn run_with(profile: &Path, script: &Path, options: &Options) -> Result<Summary, Error> {
    let setup = setup(profile, script)?;
    let outputs = ViewOutputs::start(&setup.scene, &options.view, None)?;
    headless(setup, outputs, options, None)
}

fn headless(
    setup: Setup,
    outputs: Frames,
    options: &Options,
    sink: Option<&mut dyn TickSink>,
) -> Result<Summary, Error> {
    let plan = ViewPlan::new(&setup.scene, &options.view, outputs);
    let settle_s = options.settle_s;
    let (mut summary, view) = plan.drive(move |view| simulate(setup, view, settle_s, sink))?;
    summary.add_view(view);
    Ok(summary)
}

/// What a loop that steps a scene tick by tick shows (the headless demo, replay), before it
/// starts: the offscreen outputs, and the window's scene when one is asked for.
pub(crate) struct ViewPlan {
    frames: Frames,
    window: Option<(render::Scene, StereoRig)>,
    objects: usize,
    ticks_per_view: u64,
    pace: bool,
}

impl ViewPlan {
    fn new(scene: &Scene, view: &View, frames: Frames) -> ViewPlan {
        let window = match (view.window, &scene.rig) {
            (true, Some(rig)) => Some((scene.render_scene(), rig.clone())),
            _ => None,
        };
        let dt = scene.pipeline.tick_period_s();
        ViewPlan {
            frames,
            window,
            objects: scene.objects.len(),
            ticks_per_view: ((1.0 / layout::VIEW_RATE_HZ) / dt).round().max(1.0) as u64,
            pace: false,
        }
    }

    /// The offscreen outputs of `scene` for `view` (PNG frames), and its window.
    pub(crate) fn of(scene: &Scene, view: &View) -> Result<ViewPlan, Error> {
        Ok(Self::new(
            scene,
            view,
            ViewOutputs::start(scene, view, None)?,
        ))
    }

    /// With a window, the loop keeps to real time (watching a replay), instead of running as
    /// fast as it goes.
    pub(crate) fn paced(mut self) -> ViewPlan {
        self.pace = self.window.is_some();
        self
    }

    /// Runs `drive` with the view: on this thread, or — with a window — on a worker thread
    /// while this one shows the window. `drive`'s result, and what the view did.
    pub(crate) fn drive<T: Send, E: From<Error> + Send>(
        self,
        drive: impl FnOnce(&mut ViewTap<'_>) -> Result<T, E> + Send,
    ) -> Result<(T, Option<String>), E> {
        let ViewPlan {
            frames,
            window,
            objects,
            ticks_per_view,
            pace,
        } = self;
        let tap = |frames, window| ViewTap {
            frames,
            window,
            poses: vec![Pose::identity(); objects],
            ticks_per_view,
            started: pace.then(Instant::now),
        };
        let Some((drawn, rig)) = window else {
            let mut view = tap(frames, None);
            let result = drive(&mut view)?;
            return Ok((result, view.frames.finish().map_err(E::from)?));
        };
        let cell = Arc::new(StateCell::new(drawn.state()));
        let done = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("simulation".into())
                .spawn_scoped(scope, || {
                    let mut view = tap(frames, Some(&cell));
                    let result = drive(&mut view);
                    done.store(true, Ordering::Relaxed);
                    (result, view.frames.finish())
                })
                .map_err(|e| {
                    E::from(Error::Robot(crate::robot::Error::Backend(format!(
                        "simulation thread: {e}"
                    ))))
                })?;
            let shown = show_window(drawn, rig, Arc::clone(&cell), Arc::clone(&done));
            let (result, offscreen) = worker.join().map_err(|_| {
                E::from(Error::Robot(crate::robot::Error::Backend(
                    "the simulation thread panicked".into(),
                )))
            })?;
            let lines: Vec<String> = [offscreen.map_err(E::from)?, shown]
                .into_iter()
                .flatten()
                .collect();
            Ok((result?, (!lines.is_empty()).then(|| lines.join("; "))))
        })
    }
}

/// A tick-by-tick loop's handle on its view (see [`ViewPlan::drive`]).
pub(crate) struct ViewTap<'a> {
    frames: Frames,
    window: Option<&'a StateCell>,
    poses: Vec<Pose>,
    ticks_per_view: u64,
    /// Real-time pacing from this instant (a watched replay).
    started: Option<Instant>,
}

impl ViewTap<'_> {
    /// Whether the view looks after control tick `k` (the loop must then pass the state).
    pub(crate) fn wants(&self, k: u64) -> bool {
        k % self.ticks_per_view == 0
    }

    /// After control tick `k` at `time_ns` of simulated time, `state` being the state after it.
    pub(crate) fn after_tick(
        &mut self,
        k: u64,
        time_ns: u64,
        state: &RobotState,
        sim: &Sim,
        objects: &[usize],
    ) {
        if !self.wants(k) {
            return;
        }
        if let Frames::On(outputs) = &mut self.frames {
            outputs.offer(time_ns, state, sim, objects);
        }
        if let Some(cell) = self.window {
            object_poses(sim, objects, &mut self.poses);
            cell.try_publish(time_ns, &state.link_poses, &self.poses);
        }
        if let Some(started) = self.started {
            let due = Duration::from_nanos(time_ns);
            std::thread::sleep(due.saturating_sub(started.elapsed()));
        }
    }
}

/// The headless loop: script → pipeline → simulation, tick by tick; the view looks once per view
/// period; every tick handed to `sink`.
fn simulate(
    setup: Setup,
    view: &mut ViewTap<'_>,
    settle_s: f64,
    mut sink: Option<&mut dyn TickSink>,
) -> Result<Summary, Error> {
    let Setup {
        script,
        scene:
            Scene {
                mut pipeline,
                mut sim,
                cube,
                fingers,
                objects,
                ..
            },
    } = setup;
    let dt = pipeline.tick_period_s();
    let duration = script.duration() + settle_s;
    let ticks = (duration / dt).ceil() as u64;
    let mut state = RobotState::zeros(sim.dof(), sim.links());
    let mut summary = Summary::new(&sim, cube, ticks);
    let mut watch = Watch::default();
    let mut sample = sink.as_ref().map(|s| s.new_sample());
    let started = Instant::now();
    for k in 0..ticks {
        let t = k as f64 * dt;
        let now_ns = (t * 1e9) as u64;
        let frame = script.frame_at(t, now_ns);
        let tick_started = Instant::now();
        let report = pipeline.tick(Some(&frame), now_ns);
        sim.command(pipeline.command())?;
        summary
            .tick
            .record(tick_started.elapsed().as_nanos() as u64);
        summary.ik.record(report.times.ik_ns);
        match report.outcome {
            TickOutcome::Tracking => {}
            TickOutcome::NoClutch => summary.held_no_clutch += 1,
            TickOutcome::Stale => summary.held_stale += 1,
        }
        sim.advance(dt);
        sim.read_state(&mut state)?;
        if let (Some(sink), Some(sample)) = (&mut sink, &mut sample) {
            pipeline.fill_sample(now_ns, Some(frame), &report, &state, sample);
            sample.tick_ns = tick_started.elapsed().as_nanos() as u64;
            sink.tick(sample);
        }
        watch.observe(
            &sim,
            &state,
            pipeline.command(),
            cube,
            &fingers,
            summary.cube_start.z,
        );
        view.after_tick(k, now_ns, &state, &sim, &objects);
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    summary.finish(&sim, cube, watch);
    Ok(summary)
}

/// Runs the window on this thread until `done` (or the user closes it); what it showed, or why
/// there was none (said once, as a warning).
fn show_window(
    scene: render::Scene,
    rig: StereoRig,
    cell: Arc<StateCell>,
    done: Arc<AtomicBool>,
) -> Option<String> {
    let options = render::WindowOptions {
        world_from_base: at(layout::PELVIS),
        ..Default::default()
    };
    Some(match render::run_window(scene, rig, cell, done, options) {
        Ok(report) => format!(
            "window showed {} frames on {}",
            report.frames_presented, report.adapter
        ),
        Err(e) => {
            tracing::warn!("{e}; going on without a window");
            format!("no window ({e})")
        }
    })
}

/// Renders the newest published state at the view rate until `done`.
fn offscreen_loop(
    outputs: &mut ViewOutputs,
    cell: &StateCell,
    done: &AtomicBool,
    mut state: SceneState,
) {
    let period = Duration::from_secs_f64(1.0 / layout::VIEW_RATE_HZ);
    let mut seen = 0;
    while !done.load(Ordering::Relaxed) {
        let started = Instant::now();
        let newer = cell.read_newer(seen, &mut state);
        if newer != seen {
            seen = newer;
            outputs.offer_state(&state);
        }
        std::thread::sleep(period.saturating_sub(started.elapsed()));
    }
}

impl Frames {
    /// Drains the PNG writer; what was written, or why nothing was.
    fn finish(self) -> Result<Option<String>, Error> {
        Ok(match self {
            Frames::On(sink) => Some(sink.finish()?),
            Frames::Unavailable(why) => Some(why),
            Frames::Off => None,
        })
    }
}

impl Summary {
    fn new(sim: &Sim, cube: usize, ticks: u64) -> Summary {
        Summary {
            simulated_s: 0.0,
            wall_s: 0.0,
            ticks,
            cube_start: sim.object_pose(cube).translation.vector,
            cube_end: Vector3::zeros(),
            target: Vector3::from(layout::TARGET),
            distance_to_target_m: f64::INFINITY,
            highest_lift_m: 0.0,
            grip_force_n: 0.0,
            success: false,
            ik: Histogram::default(),
            tick: Histogram::default(),
            deadline_misses: None,
            start_late: None,
            priority: None,
            max_tracking_error: 0.0,
            held_no_clutch: 0,
            held_stale: 0,
            view: None,
        }
    }

    /// Adds a line about the view (frames, window) to the summary.
    fn add_view(&mut self, line: Option<String>) {
        if let Some(line) = line {
            self.view = Some(match self.view.take() {
                Some(before) => format!("{before}; {line}"),
                None => line,
            });
        }
    }

    fn finish(&mut self, sim: &Sim, cube: usize, watch: Watch) {
        self.simulated_s = sim.time_s();
        self.cube_end = sim.object_pose(cube).translation.vector;
        (self.distance_to_target_m, self.success) = layout::judge(&self.cube_end);
        self.highest_lift_m = watch.highest_lift_m;
        self.grip_force_n = watch.grip_force_n;
        self.max_tracking_error = watch.max_tracking_error;
    }
}

/// The robot side of a real-time run: each command advances the simulation by one control
/// period, so the control thread's clock is the simulation's. After each step it offers the
/// poses to the view's [`StateCell`] (never waiting on it).
struct SteppedSim {
    shared: Arc<Mutex<(Sim, Watch)>>,
    dt: f64,
    state: RobotState,
    command: Vec<f64>,
    cube: usize,
    cube_start_z: f64,
    fingers: Vec<usize>,
    objects: Vec<usize>,
    object_poses: Vec<Pose>,
    view: Arc<StateCell>,
    epoch: Instant,
}

impl Robot for SteppedSim {
    fn dof(&self) -> usize {
        self.state.positions.len()
    }

    fn links(&self) -> usize {
        self.state.contact_forces.len()
    }

    fn command(&mut self, positions: &[f64]) -> Result<(), crate::robot::Error> {
        let mut guard = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let (sim, watch) = &mut *guard;
        sim.command(positions)?;
        self.command.copy_from_slice(positions);
        sim.advance(self.dt);
        sim.read_state(&mut self.state)?;
        watch.observe(
            sim,
            &self.state,
            &self.command,
            self.cube,
            &self.fingers,
            self.cube_start_z,
        );
        object_poses(sim, &self.objects, &mut self.object_poses);
        drop(guard);
        // Stamped on the control loop's clock, like the ticks it is recorded with.
        self.view.try_publish(
            self.epoch.elapsed().as_nanos() as u64,
            &self.state.link_poses,
            &self.object_poses,
        );
        Ok(())
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), crate::robot::Error> {
        out.copy_from(&self.state);
        Ok(())
    }
}

/// The demo in real time: the control loop on its own thread at the profile's rate (each tick
/// also steps the simulation), the script publishing operator frames at 90 Hz from another
/// thread as a headset would, and this (the main) thread drawing the view — a window, PNG
/// frames, or nothing. Reports the loop's deadline misses.
pub fn run_realtime(profile: &Path, script: &Path, settle_s: f64) -> Result<Summary, Error> {
    run_realtime_with(
        profile,
        script,
        &Options {
            settle_s,
            ..Options::default()
        },
    )
}

/// [`run_realtime_with`], the control thread handing every tick to `ticks` and the view loop
/// the rendered stereo view to `camera` (when a graphics adapter exists): the recorder's two
/// inputs.
pub fn run_realtime_recorded(
    profile: &Path,
    script: &Path,
    options: &Options,
    ticks: Box<dyn TickSink>,
    camera: Option<Box<dyn ImageSink>>,
) -> Result<Summary, Error> {
    realtime(profile, script, options, Some(ticks), camera)
}

/// [`run_realtime`] with a view.
pub fn run_realtime_with(
    profile: &Path,
    script: &Path,
    options: &Options,
) -> Result<Summary, Error> {
    realtime(profile, script, options, None, None)
}

fn realtime(
    profile: &Path,
    script: &Path,
    options: &Options,
    sink: Option<Box<dyn TickSink>>,
    camera: Option<Box<dyn ImageSink>>,
) -> Result<Summary, Error> {
    let setup = setup(profile, script)?;
    let window_scene =
        (options.view.window && setup.scene.rig.is_some()).then(|| setup.scene.render_scene());
    let rig = setup.scene.rig.clone();
    let view_state = setup.scene.view_state();
    let offscreen = ViewOutputs::needed(&options.view, camera.is_some())
        .then(|| (setup.scene.rig.clone(), setup.scene.render_scene()));
    let Setup {
        script,
        scene:
            Scene {
                pipeline,
                sim,
                cube,
                fingers,
                objects,
                ..
            },
    } = setup;
    let dt = pipeline.tick_period_s();
    let mut summary = Summary::new(&sim, cube, 0);
    let state = RobotState::zeros(sim.dof(), sim.links());
    let cell = Arc::new(StateCell::new(view_state.clone()));
    let shared = Arc::new(Mutex::new((sim, Watch::default())));
    let frames_cell = Arc::new(FrameCell::default());
    let epoch = Instant::now();
    let robot = SteppedSim {
        shared: Arc::clone(&shared),
        dt,
        command: vec![0.0; state.positions.len()],
        state,
        cube,
        cube_start_z: summary.cube_start.z,
        fingers,
        object_poses: vec![Pose::identity(); objects.len()],
        objects,
        view: Arc::clone(&cell),
        epoch,
    };
    // The control and operator threads start before anything renders: the view's threads
    // (this one, and a CPU renderer's workers) are then lowered without touching them.
    let thread = ControlThread::spawn_with_sink(
        pipeline,
        Box::new(robot),
        Arc::clone(&frames_cell),
        epoch,
        sink,
    );
    let duration = script.duration() + options.settle_s;
    let done = Arc::new(AtomicBool::new(false));
    let operator = {
        let done = Arc::clone(&done);
        std::thread::Builder::new()
            .name("operator".into())
            .spawn(move || {
                loop {
                    let t = epoch.elapsed().as_secs_f64();
                    if t > duration || done.load(Ordering::Relaxed) {
                        break;
                    }
                    frames_cell.publish(script.frame_at(t, (t * 1e9) as u64));
                    std::thread::sleep(Duration::from_secs_f64(1.0 / 90.0));
                }
                done.store(true, Ordering::Relaxed);
            })
            .map_err(|e| crate::robot::Error::Backend(format!("operator thread: {e}")))?
    };
    let viewing = window_scene.is_some() || options.view.frames.is_some() || camera.is_some();
    if viewing {
        // The view (and a CPU renderer's worker threads, which inherit this) yields to the
        // control loop: a busy machine shows fewer frames rather than moving the robot late.
        crate::control::priority::lower_for_background();
    }
    let started = match offscreen {
        Some((rig, drawn)) => ViewOutputs::start_drawn(rig, drawn, &options.view, camera),
        None => Ok(Frames::Off),
    };
    let mut frames = match started {
        Ok(frames) => frames,
        Err(e) => {
            done.store(true, Ordering::Relaxed);
            let _ = operator.join();
            let _ = thread.stop();
            return Err(e);
        }
    };
    // The main thread: the window, or else the offscreen view; with both, the offscreen view
    // gets a thread of its own (inheriting this one's lowered priority).
    let window = std::thread::scope(|scope| {
        let offscreen = |frames: &mut Frames| {
            if let Frames::On(outputs) = frames {
                offscreen_loop(outputs, &cell, &done, view_state);
            }
        };
        match (window_scene, rig) {
            (Some(scene), Some(rig)) => {
                let frames = &mut frames;
                scope.spawn(move || offscreen(frames));
                show_window(scene, rig, Arc::clone(&cell), Arc::clone(&done))
            }
            _ => {
                offscreen(&mut frames);
                None
            }
        }
    });
    // A panicked operator thread only stops publishing; the control loop then holds (stale).
    let _ = operator.join();
    let (stats, _) = thread.stop()?;
    summary.wall_s = epoch.elapsed().as_secs_f64();
    summary.ticks = stats.ticks;
    summary.ik = stats.ik.clone();
    summary.tick = stats.tick.clone();
    summary.deadline_misses = Some(stats.deadline_misses);
    summary.start_late = Some(stats.start_late.clone());
    summary.priority = stats.priority.clone();
    summary.held_no_clutch = stats.held_no_clutch;
    summary.held_stale = stats.held_stale;
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let (sim, watch) = &mut *guard;
    summary.finish(sim, cube, std::mem::take(watch));
    summary.add_view(frames.finish()?);
    summary.add_view(window);
    Ok(summary)
}
