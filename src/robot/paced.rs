//! A lock-step backend (the simulator) on a thread of its own, stepped at its own fixed step in
//! real time, as a real robot runs on its own computer. The control thread only exchanges the
//! newest command and the newest state with it through two latest-value cells: each lock is
//! held for one copy, never across a step or a tick.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Error, LoopReport, Robot, RobotState, state_for};
use crate::rt::lock;

struct Shared {
    /// The newest command and how many commands came before it.
    command: Mutex<(u64, Vec<f64>)>,
    state: Mutex<RobotState>,
    stop: AtomicBool,
    steps: AtomicU64,
    late_steps: AtomicU64,
    /// The backend's first error: the loop stops, the control thread is told on its next call.
    failed: Mutex<Option<String>>,
}

/// A [`Robot`] whose backend runs on its own thread (see the module docs).
pub struct Paced {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    dof: usize,
    links: usize,
    objects: usize,
}

impl Paced {
    /// Starts `robot`'s loop: every `step_s` of real time it takes the newest command, advances
    /// by `step_s` and publishes its state.
    pub fn spawn(mut robot: Box<dyn Robot>, step_s: f64) -> Result<Paced, Error> {
        let mut state = state_for(robot.as_ref());
        robot.read_state(&mut state)?;
        let (dof, links, objects) = (robot.dof(), robot.links(), robot.objects());
        let shared = Arc::new(Shared {
            command: Mutex::new((0, state.positions.clone())),
            state: Mutex::new(state.clone()),
            stop: AtomicBool::new(false),
            steps: AtomicU64::new(0),
            late_steps: AtomicU64::new(0),
            failed: Mutex::new(None),
        });
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("robot".into())
            .spawn(move || run(robot.as_mut(), &inner, step_s, state))
            .map_err(|e| Error::Backend(format!("robot thread: {e}")))?;
        Ok(Paced {
            shared,
            thread: Some(thread),
            dof,
            links,
            objects,
        })
    }

    fn check(&self) -> Result<(), Error> {
        let failed = lock(&self.shared.failed);
        failed
            .as_ref()
            .map_or(Ok(()), |why| Err(Error::Backend(why.clone())))
    }
}

impl Drop for Paced {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// Normal priority, not the control thread's: a simulator slower than real time never sleeps,
// and a busy `SCHED_FIFO` thread would starve everything else (the recorder among them).
fn run(robot: &mut dyn Robot, shared: &Shared, step_s: f64, mut state: RobotState) {
    let period = Duration::from_secs_f64(step_s);
    let mut command = state.positions.clone();
    let mut seen = 0;
    let mut due = Instant::now() + period;
    while !shared.stop.load(Ordering::Relaxed) {
        {
            let newest = lock(&shared.command);
            if newest.0 != seen {
                seen = newest.0;
                command.copy_from_slice(&newest.1);
            }
        }
        let stepped = robot
            .command(&command)
            .and_then(|()| robot.step(step_s))
            .and_then(|()| robot.read_state(&mut state));
        if let Err(e) = stepped {
            *lock(&shared.failed) = Some(e.to_string());
            break;
        }
        lock(&shared.state).copy_from(&state);
        shared.steps.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        if now > due {
            shared.late_steps.fetch_add(1, Ordering::Relaxed);
            // Behind: carry on from now rather than bursting steps to catch up.
            due = now + period;
        } else {
            std::thread::sleep(due - now);
            due += period;
        }
    }
}

impl Robot for Paced {
    fn dof(&self) -> usize {
        self.dof
    }

    fn links(&self) -> usize {
        self.links
    }

    fn objects(&self) -> usize {
        self.objects
    }

    fn command(&mut self, positions: &[f64]) -> Result<(), Error> {
        self.check()?;
        if positions.len() != self.dof {
            return Err(Error::WrongLength {
                expected: self.dof,
                got: positions.len(),
            });
        }
        let mut newest = lock(&self.shared.command);
        newest.0 += 1;
        newest.1.copy_from_slice(positions);
        Ok(())
    }

    fn read_state(&mut self, out: &mut RobotState) -> Result<(), Error> {
        self.check()?;
        out.copy_from(&lock(&self.shared.state));
        Ok(())
    }

    fn loop_report(&self) -> Option<LoopReport> {
        Some(LoopReport {
            steps: self.shared.steps.load(Ordering::Relaxed),
            late_steps: self.shared.late_steps.load(Ordering::Relaxed),
        })
    }
}
