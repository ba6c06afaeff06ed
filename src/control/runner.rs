//! The control thread: runs [`Pipeline`] ticks at a fixed rate against a [`Robot`], takes the
//! newest operator frame from a [`FrameCell`] each tick, and keeps per-stage latency histograms
//! and deadline misses. Nothing is allocated per tick; no lock is held across a tick.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::pipeline::{Pipeline, TickOutcome};
use crate::msg::{OperatorFrame, TickSink};
use crate::robot::{self, Robot, RobotState};

/// The newest operator frame, written by a source thread and read by the control thread.
#[derive(Debug, Default)]
pub struct FrameCell(Mutex<Option<OperatorFrame>>);

impl FrameCell {
    pub fn publish(&self, frame: OperatorFrame) {
        // A poisoned lock only means a writer panicked mid-copy of a Copy value: take it over.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame);
    }

    pub fn latest(&self) -> Option<OperatorFrame> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Durations on a log scale: 4 buckets per octave from 64 ns to ~1 s. Percentiles are read as
/// the upper edge of their bucket (at most 19 % high).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: [u64; Histogram::BUCKETS],
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: [0; Histogram::BUCKETS],
            total: 0,
        }
    }
}

impl Histogram {
    const BUCKETS: usize = 4 * 24;
    const FIRST_OCTAVE: u32 = 6;

    fn bucket(ns: u64) -> usize {
        let ns = ns.max(1 << Self::FIRST_OCTAVE);
        let octave = 63 - ns.leading_zeros();
        let quarter = ((ns >> (octave - 2)) & 3) as usize;
        (((octave - Self::FIRST_OCTAVE) as usize) * 4 + quarter).min(Self::BUCKETS - 1)
    }

    fn upper_edge(bucket: usize) -> u64 {
        let octave = Self::FIRST_OCTAVE + (bucket / 4) as u32;
        let quarter = (bucket % 4) as u64;
        (1u64 << octave) + ((quarter + 1) << (octave - 2))
    }

    pub fn record(&mut self, ns: u64) {
        self.counts[Self::bucket(ns)] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `p`-th percentile (0–100) in ns; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::upper_edge(bucket);
            }
        }
        Self::upper_edge(Self::BUCKETS - 1)
    }
}

/// What the control thread measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub ticks: u64,
    /// Ticks that ended after the next tick's deadline.
    pub deadline_misses: u64,
    /// Ticks held because no clutch was engaged, or the input was stale.
    pub held_no_clutch: u64,
    pub held_stale: u64,
    pub retarget: Histogram,
    pub ik: Histogram,
    pub safety: Histogram,
    /// Sending the command and reading the state.
    pub robot: Histogram,
    /// The whole tick.
    pub tick: Histogram,
    /// How late each tick started after its due time (the OS waking the thread late, or the
    /// tick before it running long).
    pub start_late: Histogram,
    /// The scheduling the control thread was granted (see [`super::priority`]).
    pub priority: Option<super::priority::Granted>,
}

/// A running control thread; [`ControlThread::stop`] ends it and returns its statistics.
pub struct ControlThread {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<(LoopStats, Pipeline), robot::Error>>,
}

impl ControlThread {
    /// Starts ticking `pipeline` at its profile's rate against `robot`. Times are measured from
    /// `epoch` (operator frames carry nanoseconds since the same instant).
    pub fn spawn(
        pipeline: Pipeline,
        robot: Box<dyn Robot>,
        frames: Arc<FrameCell>,
        epoch: Instant,
    ) -> ControlThread {
        Self::spawn_with_sink(pipeline, robot, frames, epoch, None)
    }

    /// Like [`ControlThread::spawn`], also handing each tick's sample to `sink` (the recorder),
    /// which must not block; its cost is part of the measured tick.
    pub fn spawn_with_sink(
        mut pipeline: Pipeline,
        mut robot: Box<dyn Robot>,
        frames: Arc<FrameCell>,
        epoch: Instant,
        mut sink: Option<Box<dyn TickSink>>,
    ) -> ControlThread {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let period = Duration::from_secs_f64(pipeline.tick_period_s());
            let mut stats = LoopStats {
                priority: Some(super::priority::raise_for_control()),
                ..LoopStats::default()
            };
            let mut state = RobotState::zeros(robot.dof(), robot.links());
            let mut sample = sink.as_ref().map(|s| s.new_sample());
            let mut due = Instant::now();
            let mut deadline = due + period;
            while !stop_flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                stats
                    .start_late
                    .record(started.saturating_duration_since(due).as_nanos() as u64);
                let now_ns = started.saturating_duration_since(epoch).as_nanos() as u64;
                let frame = frames.latest();
                let report = pipeline.tick(frame.as_ref(), now_ns);
                let sent = Instant::now();
                robot.command(pipeline.command())?;
                robot.read_state(&mut state)?;
                let robot_done = Instant::now();
                let mut done = robot_done;
                if let (Some(sink), Some(sample)) = (&mut sink, &mut sample) {
                    pipeline.fill_sample(now_ns, frame, &report, &state, sample);
                    sample.robot_ns = robot_done.saturating_duration_since(sent).as_nanos() as u64;
                    sample.tick_ns =
                        robot_done.saturating_duration_since(started).as_nanos() as u64;
                    sink.tick(sample);
                    done = Instant::now();
                }
                stats.ticks += 1;
                match report.outcome {
                    TickOutcome::Tracking => {}
                    TickOutcome::NoClutch => stats.held_no_clutch += 1,
                    TickOutcome::Stale => stats.held_stale += 1,
                }
                stats.retarget.record(report.times.retarget_ns);
                stats.ik.record(report.times.ik_ns);
                stats.safety.record(report.times.safety_ns);
                stats
                    .robot
                    .record(robot_done.saturating_duration_since(sent).as_nanos() as u64);
                stats
                    .tick
                    .record(done.saturating_duration_since(started).as_nanos() as u64);
                if done > deadline {
                    stats.deadline_misses += 1;
                    // Late: start the next period now rather than bursting to catch up.
                    due = done;
                    deadline = done + period;
                } else {
                    std::thread::sleep(deadline - done);
                    due = deadline;
                    deadline += period;
                }
            }
            Ok((stats, pipeline))
        });
        ControlThread { stop, handle }
    }

    /// Stops the thread after its current tick; returns its statistics and the pipeline.
    pub fn stop(self) -> Result<(LoopStats, Pipeline), robot::Error> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
