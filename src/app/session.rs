//! The session: one operator [`Source`], the control [`Pipeline`], one [`Robot`] backend, the
//! recorder and whatever else looks at each tick ([`Observer`]), driven by the one tick loop
//! every mode runs (headless, real time, headset, replay).
//!
//! ```text
//!  source.poll ─► pipeline.tick | follow ─► robot.command ─► (robot.step) ─► robot.read_state
//!                                                                  └─► recorder, observer
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Error;
use crate::control::Pipeline;
use crate::msg::{OperatorFrame, RobotState, TickOutcome, TickSink};
use crate::operator::{Input, Source};
use crate::robot::{Robot, state_for};
use crate::rt::Histogram;
use crate::rt::priority::Granted;

/// How the session's time runs.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// As fast as the CPU allows: the robot is stepped one control period per tick, so a run
    /// is deterministic. Needs a lock-step robot (the simulator).
    LockStep,
    /// Lock-step, slowed to real time (someone watches a replay).
    Paced,
    /// Real time at the profile's rate on a control thread of raised priority, times measured
    /// from `epoch` (a headset's frames carry times on the same clock); the robot runs on its
    /// own clock.
    RealTime { epoch: Instant },
}

/// One tick as an [`Observer`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// Ticks since the session started, and the session's time (ns).
    pub index: u64,
    pub now_ns: u64,
    pub outcome: TickOutcome,
    /// The joint command sent this tick (after the safety filter).
    pub command: &'a [f64],
    /// The robot's state read after the command.
    pub state: &'a RobotState,
}

/// What looks at every tick after the robot's state is read (the view, a run's summary).
/// Called on the control thread: must neither block nor allocate.
pub trait Observer: Send {
    fn after_tick(&mut self, tick: &Tick<'_>);
}

impl Observer for () {
    fn after_tick(&mut self, _tick: &Tick<'_>) {}
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        self.0.after_tick(tick);
        self.1.after_tick(tick);
    }
}

impl<A: Observer> Observer for Option<A> {
    fn after_tick(&mut self, tick: &Tick<'_>) {
        if let Some(a) = self {
            a.after_tick(tick);
        }
    }
}

/// The most frame-to-command latencies kept (preallocated: the loop never allocates).
const LATENCY_CAPACITY: usize = 1 << 17;

/// What the loop measured.
#[derive(Debug, Clone, Default)]
pub struct LoopStats {
    pub ticks: u64,
    /// Real time: ticks that ended after the next tick was due.
    pub deadline_misses: u64,
    /// The session times (s) of the first misses, to tell a start-up hiccup from a periodic
    /// one.
    pub first_misses_s: [f64; FIRST_MISSES],
    /// Ticks held because no clutch was engaged, or the input was stale.
    pub held_no_clutch: u64,
    pub held_stale: u64,
    pub retarget: Histogram,
    pub ik: Histogram,
    pub safety: Histogram,
    /// Sending the command, stepping a lock-step robot, reading the state.
    pub robot: Histogram,
    /// The whole tick.
    pub tick: Histogram,
    /// Real time: how late each tick started after it was due.
    pub start_late: Histogram,
    /// Real time: the control thread's scheduling.
    pub priority: Option<Granted>,
    /// For each new operator frame that moved the robot: the command's time minus the frame's
    /// (ns; negative when the command was ready before a headset's predicted display time).
    pub frame_to_command_ns: Vec<i64>,
    /// The session's time at its end (s) and the wall time it took.
    pub session_s: f64,
    pub wall_s: f64,
}

/// How many miss times [`LoopStats`] keeps.
pub const FIRST_MISSES: usize = 4;

impl LoopStats {
    /// The session times (s) of the first misses.
    pub fn miss_times_s(&self) -> &[f64] {
        &self.first_misses_s[..(self.deadline_misses as usize).min(FIRST_MISSES)]
    }

    /// How many ticks followed the operator or a recording.
    pub fn moving_ticks(&self) -> u64 {
        self.ticks - self.held_no_clutch - self.held_stale
    }
}

/// What a session left when it ended.
pub struct Ended<O> {
    pub stats: LoopStats,
    pub pipeline: Pipeline,
    pub robot: Box<dyn Robot>,
    pub observer: O,
    /// The robot's last state.
    pub state: RobotState,
}

impl<A, B> Ended<(A, B)> {
    /// The session with the first observer, and the second.
    pub fn split(self) -> (Ended<A>, B) {
        let (observer, second) = self.observer;
        let ended = Ended {
            observer,
            stats: self.stats,
            pipeline: self.pipeline,
            robot: self.robot,
            state: self.state,
        };
        (ended, second)
    }
}

/// Everything one session runs (see the module docs).
pub struct Session<O> {
    pub pipeline: Pipeline,
    pub robot: Box<dyn Robot>,
    pub source: Box<dyn Source>,
    /// Every tick goes to the recorder, when there is one.
    pub recorder: Option<Box<dyn TickSink>>,
    pub observer: O,
}

impl<O: Observer> Session<O> {
    /// Runs the loop on this thread until the source ends or `stop` is set.
    pub fn run(self, clock: Clock, stop: &AtomicBool) -> Result<Ended<O>, Error> {
        if !matches!(clock, Clock::RealTime { .. }) && !self.robot.is_lock_step() {
            return Err(Error::Usage(
                "this robot runs on its own clock: only a real-time session can drive it".into(),
            ));
        }
        self.tick_loop(clock, stop)
    }

    fn tick_loop(self, clock: Clock, stop: &AtomicBool) -> Result<Ended<O>, Error> {
        let Session {
            mut pipeline,
            mut robot,
            mut source,
            mut recorder,
            mut observer,
        } = self;
        let dt = pipeline.tick_period_s();
        let dt_ns = (dt * 1e9).round() as u64;
        let period = Duration::from_secs_f64(dt);
        let mut stats = LoopStats {
            frame_to_command_ns: Vec::with_capacity(LATENCY_CAPACITY),
            ..LoopStats::default()
        };
        let (real_time, epoch) = match clock {
            Clock::RealTime { epoch } => {
                stats.priority = Some(crate::rt::priority::raise_for_control());
                (true, epoch)
            }
            Clock::LockStep | Clock::Paced => (false, Instant::now()),
        };
        let mut state = state_for(robot.as_ref());
        robot.read_state(&mut state)?;
        let mut sample = recorder.as_ref().map(|r| r.new_sample());
        let mut last_frame_ns = None;
        let started_wall = Instant::now();
        let mut due = started_wall;
        let mut now_ns = 0;
        let mut k: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            now_ns = if real_time {
                stats
                    .start_late
                    .record(started.saturating_duration_since(due).as_nanos() as u64);
                started.saturating_duration_since(epoch).as_nanos() as u64
            } else {
                k * dt_ns
            };
            let mut frame: Option<OperatorFrame> = None;
            let report = match source.poll(now_ns) {
                Input::Ended => break,
                Input::Frame(f) => {
                    frame = Some(*f);
                    pipeline.tick(Some(f), now_ns)
                }
                Input::Nothing => pipeline.tick(None, now_ns),
                Input::Joints(q) => pipeline.follow(q, now_ns),
            };
            let sent = Instant::now();
            robot.command(pipeline.command())?;
            let commanded_ns = sent.saturating_duration_since(epoch).as_nanos() as i64;
            if !real_time {
                robot.step(dt)?;
            }
            robot.read_state(&mut state)?;
            let robot_done = Instant::now();
            if let (Some(recorder), Some(sample)) = (&mut recorder, &mut sample) {
                pipeline.fill_sample(now_ns, frame, &report, &state, sample);
                sample.robot_ns = robot_done.saturating_duration_since(sent).as_nanos() as u64;
                sample.tick_ns = robot_done.saturating_duration_since(started).as_nanos() as u64;
                recorder.tick(sample);
            }
            observer.after_tick(&Tick {
                index: k,
                now_ns,
                outcome: report.outcome,
                command: pipeline.command(),
                state: &state,
            });
            match report.outcome {
                TickOutcome::Tracking => {
                    if let Some(f) = frame
                        && last_frame_ns != Some(f.time_ns)
                        && stats.frame_to_command_ns.len() < LATENCY_CAPACITY
                    {
                        last_frame_ns = Some(f.time_ns);
                        // Lock-step, the command is ready at the tick that used the frame.
                        let latency = if real_time {
                            commanded_ns - f.time_ns as i64
                        } else {
                            0
                        };
                        stats.frame_to_command_ns.push(latency);
                    }
                }
                TickOutcome::Joints => {}
                TickOutcome::NoClutch => stats.held_no_clutch += 1,
                TickOutcome::Stale => stats.held_stale += 1,
            }
            let done = Instant::now();
            stats.ticks += 1;
            stats.retarget.record(report.times.retarget_ns);
            stats.ik.record(report.times.ik_ns);
            stats.safety.record(report.times.safety_ns);
            let ns = |a: Instant, b: Instant| b.saturating_duration_since(a).as_nanos() as u64;
            stats.robot.record(ns(sent, robot_done));
            stats.tick.record(ns(started, done));
            k += 1;
            match clock {
                Clock::LockStep => {}
                Clock::Paced => {
                    let due = started_wall + Duration::from_nanos(k * dt_ns);
                    std::thread::sleep(due.saturating_duration_since(done));
                }
                Clock::RealTime { .. } => {
                    let deadline = due + period;
                    if done > deadline {
                        if let Some(at) =
                            stats.first_misses_s.get_mut(stats.deadline_misses as usize)
                        {
                            *at = now_ns as f64 / 1e9;
                        }
                        stats.deadline_misses += 1;
                        // Late: start the next period now rather than bursting to catch up.
                        due = done;
                    } else {
                        std::thread::sleep(deadline - done);
                        due = deadline;
                    }
                }
            }
        }
        stats.session_s = now_ns as f64 / 1e9;
        stats.wall_s = started_wall.elapsed().as_secs_f64();
        Ok(Ended {
            stats,
            pipeline,
            robot,
            observer,
            state,
        })
    }
}

impl<O: Observer + 'static> Session<O> {
    /// Runs the loop in real time on a new control thread; `epoch` is the clock's zero (see
    /// [`Clock::RealTime`]).
    /// The loop also stops when `stop` is set (an interrupt).
    pub fn spawn(self, epoch: Instant, stop: Arc<AtomicBool>) -> Result<Running<O>, Error> {
        let done = Arc::new(AtomicBool::new(false));
        let (stop_flag, done_flag) = (Arc::clone(&stop), Arc::clone(&done));
        let handle = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                let ended = self.tick_loop(Clock::RealTime { epoch }, &stop_flag);
                done_flag.store(true, Ordering::Relaxed);
                ended
            })
            .map_err(|e| Error::Thread(format!("control thread: {e}")))?;
        Ok(Running { stop, done, handle })
    }
}

/// A session running on its control thread.
pub struct Running<O> {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    handle: JoinHandle<Result<Ended<O>, Error>>,
}

impl<O> Running<O> {
    /// Set once the loop has ended (its source ended, it failed, or it was stopped).
    pub fn done(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.done)
    }

    /// Stops the loop after its current tick (setting the stop flag it was given); what it
    /// left.
    pub fn stop(self) -> Result<Ended<O>, Error> {
        self.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits for the loop to end by itself (its source ended).
    pub fn join(self) -> Result<Ended<O>, Error> {
        self.handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}
