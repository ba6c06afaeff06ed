//! The [`Source`] trait and the sources that need no device: a script, an operator published
//! from another thread (a headset's frame loop), and a recorded episode.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::Script;
use crate::msg::OperatorFrame;

/// What a source gives the control tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input<'a> {
    /// The operator's newest frame (it may be old: the tick judges staleness by its time).
    Frame(&'a OperatorFrame),
    /// Joint positions to follow, in the model's `q` order (a recording's commands): only the
    /// safety filter stands between them and the robot.
    Joints(&'a [f64]),
    /// Nothing yet: the robot holds.
    Nothing,
    /// The source is done: the session ends.
    Ended,
}

/// Where a session's operator input comes from. Polled once per control tick with the
/// session's clock (ns since the session started); must neither block nor allocate.
pub trait Source: Send {
    fn poll(&mut self, now_ns: u64) -> Input<'_>;
}

/// A [`Script`] played from the session's start, holding its last keyframe for `settle_s`
/// after it ends.
#[derive(Debug, Clone)]
pub struct Scripted {
    script: Script,
    end_ns: u64,
    frame: OperatorFrame,
}

impl Scripted {
    pub fn new(script: Script, settle_s: f64) -> Scripted {
        let end_s = script.duration() + settle_s.max(0.0);
        Scripted {
            end_ns: (end_s * 1e9).min(u64::MAX as f64) as u64,
            frame: script.frame_at(0.0, 0),
            script,
        }
    }
}

impl Source for Scripted {
    fn poll(&mut self, now_ns: u64) -> Input<'_> {
        if now_ns >= self.end_ns {
            return Input::Ended;
        }
        self.frame = self.script.frame_at(now_ns as f64 / 1e9, now_ns);
        Input::Frame(&self.frame)
    }
}

/// The newest operator frame, published by a thread that owns the device (a headset's frame
/// loop must stay on its own thread) and read by the control tick. Both sides only copy.
#[derive(Debug, Default)]
pub struct Published {
    newest: Mutex<Option<OperatorFrame>>,
    ended: AtomicBool,
}

impl Published {
    pub fn new() -> Arc<Published> {
        Arc::new(Published::default())
    }

    pub fn publish(&self, frame: OperatorFrame) {
        // A poisoned lock only means a writer panicked mid-copy of a Copy value: take it over.
        *self.newest.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame);
    }

    /// No more frames: the session ends at its next tick.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
    }

    pub fn latest(&self) -> Option<OperatorFrame> {
        *self.newest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The source a session polls.
    pub fn subscribe(self: &Arc<Self>) -> Subscriber {
        Subscriber {
            published: Arc::clone(self),
            frame: None,
        }
    }
}

/// The control tick's side of [`Published`]: it keeps the frame it last copied out.
pub struct Subscriber {
    published: Arc<Published>,
    frame: Option<OperatorFrame>,
}

impl Source for Subscriber {
    fn poll(&mut self, _now_ns: u64) -> Input<'_> {
        if self.published.ended.load(Ordering::Relaxed) {
            return Input::Ended;
        }
        self.frame = self.published.latest();
        self.frame.as_ref().map_or(Input::Nothing, Input::Frame)
    }
}

/// A recorded episode played again on the session's clock (its first command at 0): either its
/// operator frames (the control pipeline recomputes the commands) or its joint commands.
#[derive(Debug, Clone)]
pub struct Replay {
    /// (recorded time, frame), in order; frame times shifted onto the session's clock.
    operator: Vec<(u64, OperatorFrame)>,
    commands: Vec<(u64, Vec<f64>)>,
    from_operator: bool,
    next: usize,
    /// The recorded time of the session's start.
    start_ns: u64,
    end_ns: u64,
}

impl Replay {
    /// From a recording's operator frames and joint commands (each with its recorded time, in
    /// order); plays the frames when `from_operator`, else the commands. Ends after the last
    /// recorded command. `None` when there are no commands.
    pub fn new(
        operator: Vec<(u64, OperatorFrame)>,
        commands: Vec<(u64, Vec<f64>)>,
        from_operator: bool,
    ) -> Option<Replay> {
        let start_ns = commands.first()?.0;
        let end_ns = commands.last()?.0;
        let operator = operator
            .into_iter()
            .map(|(t, mut frame)| {
                frame.time_ns = frame.time_ns.saturating_sub(start_ns);
                (t, frame)
            })
            .collect();
        Some(Replay {
            operator,
            commands,
            from_operator,
            next: 0,
            start_ns,
            end_ns,
        })
    }

    /// The recorded joint command in force at session time `now_ns`.
    pub fn command_at(&self, now_ns: u64) -> Option<&[f64]> {
        let t = self.start_ns.saturating_add(now_ns);
        let after = self.commands.partition_point(|(at, _)| *at <= t);
        after.checked_sub(1).map(|i| self.commands[i].1.as_slice())
    }
}

impl Source for Replay {
    fn poll(&mut self, now_ns: u64) -> Input<'_> {
        let t = self.start_ns.saturating_add(now_ns);
        if t > self.end_ns {
            return Input::Ended;
        }
        if !self.from_operator {
            return self
                .command_at(now_ns)
                .map_or(Input::Nothing, Input::Joints);
        }
        while self.next < self.operator.len() && self.operator[self.next].0 <= t {
            self.next += 1;
        }
        self.next
            .checked_sub(1)
            .map_or(Input::Nothing, |i| Input::Frame(&self.operator[i].1))
    }
}
