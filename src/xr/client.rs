//! The headless client: an OpenXR session with no graphics (`XR_MND_headless`) that follows
//! the session state machine and samples the operator's input once per frame. Used for
//! input-only runs and the tests against Monado.

use std::time::{Duration, Instant};

use openxr as xr;

use super::error::{Error, check};
use super::handshake;
use super::input::{Input, Sample};
use super::instance::{Runtime, SessionKind};
use super::session::{Action, Event, Machine, SessionState};

/// How frames are timed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pacing {
    /// `xrWaitFrame` / `xrBeginFrame` / `xrEndFrame`, as the spec wants.
    Runtime,
    /// Monado 25.0's headless sessions refuse `xrBeginFrame` with CALL_ORDER_INVALID (and
    /// `xrWaitFrame` returns garbage times; fixed upstream after 25.0). Only after that error:
    /// no frame calls, times from `xrConvertTimespecTimeToTimeKHR`, our own pace.
    SelfPaced { next: Instant },
}

/// What one [`HeadlessClient::step`] produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The session is not running yet (or between runs): nothing to sample.
    Waiting,
    /// One sample; hands idle (robot holds) unless the session is focused.
    Sample(Box<Sample>),
    /// The session is over; the client can be dropped.
    Finished,
}

/// What every session kind shares: the runtime, the session, its input and its state machine.
/// Fields drop in order: input (spaces, actions), session, then the instance.
pub(crate) struct Core<G: xr::Graphics> {
    pub(crate) input: Input,
    pub(crate) session: xr::Session<G>,
    pub(crate) machine: Machine,
    events: xr::EventDataBuffer,
    epoch: Instant,
    pub(crate) runtime: Runtime,
}

impl<G: xr::Graphics> Core<G> {
    pub(crate) fn new(
        runtime: Runtime,
        session: xr::Session<G>,
        epoch: Instant,
    ) -> Result<Self, Error> {
        let input = Input::new(&runtime.instance, &session, runtime.enabled.hand_tracking)?;
        Ok(Core {
            input,
            session,
            machine: Machine::default(),
            events: xr::EventDataBuffer::new(),
            epoch,
            runtime,
        })
    }

    /// Handles the runtime's events; `Some(step)` when there is no frame to run now.
    pub(crate) fn begin_step(&mut self) -> Result<Option<Step>, Error> {
        if self.machine.lost() {
            return Ok(Some(Step::Finished));
        }
        self.poll_events()?;
        if self.machine.finished() {
            return Ok(Some(Step::Finished));
        }
        if !self.machine.running() {
            std::thread::sleep(Duration::from_millis(10));
            return Ok(Some(Step::Waiting));
        }
        Ok(None)
    }

    /// The operator's input at `time` (idle unless focused).
    pub(crate) fn sample(&mut self, time: xr::Time) -> Result<Step, Error> {
        let time_ns = self
            .runtime
            .epoch_ns(time)
            .unwrap_or_else(|| self.epoch.elapsed().as_nanos() as u64);
        let sample = if self.machine.focused() {
            self.input.read(&self.session, time, time_ns)?
        } else {
            self.input.idle(time_ns, time.as_nanos())
        };
        Ok(Step::Sample(Box::new(sample)))
    }

    /// Marks the runtime lost when `result` says it is gone.
    pub(crate) fn note<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(e) = &result
            && e.is_runtime_lost()
        {
            self.machine.handle(Event::RuntimeLost);
        }
        result
    }

    pub(crate) fn request_exit(&mut self) -> Result<(), Error> {
        let action = self.machine.handle(Event::ExitRequested);
        let result = self.perform(action);
        self.note(result)
    }

    fn poll_events(&mut self) -> Result<(), Error> {
        loop {
            let event = match check(
                "xrPollEvent",
                self.runtime.instance.poll_event(&mut self.events),
            )? {
                None => return Ok(()),
                Some(xr::Event::SessionStateChanged(e)) => match SessionState::from_xr(e.state()) {
                    Some(state) => {
                        tracing::info!(?state, "session state");
                        Event::StateChanged(state)
                    }
                    None => continue,
                },
                Some(xr::Event::InstanceLossPending(_)) => Event::InstanceLossPending,
                Some(xr::Event::InteractionProfileChanged(_)) => Event::InteractionProfileChanged,
                Some(xr::Event::EventsLost(e)) => {
                    tracing::warn!(lost = e.lost_event_count(), "OpenXR events lost");
                    continue;
                }
                Some(_) => continue,
            };
            if !matches!(event, Event::StateChanged(SessionState::Focused)) {
                self.input.interrupt();
            }
            let action = self.machine.handle(event);
            self.perform(action)?;
        }
    }

    fn perform(&mut self, action: Action) -> Result<(), Error> {
        match action {
            Action::Nothing | Action::Leave => {}
            Action::Begin => {
                check(
                    "xrBeginSession",
                    self.session
                        .begin(xr::ViewConfigurationType::PRIMARY_STEREO),
                )?;
                self.machine.begun();
                self.input
                    .read_profiles(&self.runtime.instance, &self.session)?;
            }
            Action::End => {
                check("xrEndSession", self.session.end())?;
                let next = self.machine.ended();
                self.perform(next)?;
            }
            Action::RequestExit => match self.session.request_exit() {
                // Already stopping: the state events finish the job.
                Ok(()) | Err(xr::sys::Result::ERROR_SESSION_NOT_RUNNING) => {}
                Err(result) => return Err(Error::from_call("xrRequestExitSession", result)),
            },
            Action::ReadProfiles => {
                self.input
                    .read_profiles(&self.runtime.instance, &self.session)?;
            }
        }
        Ok(())
    }
}

/// A headless OpenXR session (no graphics): input only.
pub struct HeadlessClient {
    stream: xr::FrameStream<xr::Headless>,
    waiter: xr::FrameWaiter,
    core: Core<xr::Headless>,
    pacing: Pacing,
    /// The self-paced period.
    period: Duration,
}

impl HeadlessClient {
    /// Connects to the runtime and creates the session. `epoch` is the pipeline's time zero
    /// (operator frames are stamped in ns since it); `rate_hz` paces a self-paced loop.
    pub fn new(epoch: Instant, rate_hz: f64) -> Result<HeadlessClient, Error> {
        let runtime = Runtime::new(SessionKind::Headless, epoch)?;
        let (session, waiter, stream) =
            handshake::create_headless_session(&runtime.instance, runtime.system)?;
        Ok(HeadlessClient {
            stream,
            waiter,
            core: Core::new(runtime, session, epoch)?,
            pacing: Pacing::Runtime,
            period: Duration::from_secs_f64(1.0 / rate_hz),
        })
    }

    pub fn runtime(&self) -> &Runtime {
        &self.core.runtime
    }

    pub fn state(&self) -> SessionState {
        self.core.machine.state()
    }

    pub fn focused(&self) -> bool {
        self.core.machine.focused()
    }

    /// The interaction profile of each hand (left, right); empty when none.
    pub fn profiles(&self) -> &[String; 2] {
        &self.core.input.profiles
    }

    pub fn hand_tracking(&self) -> bool {
        self.core.input.hand_tracking()
    }

    /// Asks the runtime to end the session; keep stepping until [`Step::Finished`].
    pub fn request_exit(&mut self) -> Result<(), Error> {
        self.core.request_exit()
    }

    /// One iteration: handle the runtime's events, then (while running) time one frame and
    /// sample the input at its display time. An error that means the runtime is gone leaves
    /// the client finished.
    pub fn step(&mut self) -> Result<Step, Error> {
        let result = self.step_inner();
        self.core.note(result)
    }

    fn step_inner(&mut self) -> Result<Step, Error> {
        if let Some(step) = self.core.begin_step()? {
            return Ok(step);
        }
        let time = self.frame()?;
        self.core.sample(time)
    }

    /// Times one frame; returns the time to locate poses at.
    fn frame(&mut self) -> Result<xr::Time, Error> {
        if let Pacing::Runtime = self.pacing {
            let state = check("xrWaitFrame", self.waiter.wait())?;
            match self.stream.begin() {
                Ok(()) => {
                    check(
                        "xrEndFrame",
                        self.stream.end(
                            state.predicted_display_time,
                            xr::EnvironmentBlendMode::OPAQUE,
                            &[],
                        ),
                    )?;
                    return Ok(state.predicted_display_time);
                }
                Err(xr::sys::Result::ERROR_CALL_ORDER_INVALID)
                    if self.core.runtime.enabled.convert_timespec =>
                {
                    tracing::warn!(
                        runtime = %self.core.runtime.name,
                        "headless xrBeginFrame refused (CALL_ORDER_INVALID, Monado 25.0): pacing frames ourselves"
                    );
                    self.pacing = Pacing::SelfPaced {
                        next: Instant::now(),
                    };
                }
                Err(result) => return Err(Error::from_call("xrBeginFrame", result)),
            }
        }
        if let Pacing::SelfPaced { next } = &mut self.pacing {
            let now = Instant::now();
            if *next > now {
                std::thread::sleep(*next - now);
            }
            *next = (*next + self.period).max(Instant::now());
        }
        check(
            "xrConvertTimespecTimeToTimeKHR",
            self.core.runtime.instance.now(),
        )
    }
}

/// An OpenXR session that yields operator samples: headless or with graphics.
pub trait Client {
    /// One iteration of the session loop (see [`HeadlessClient::step`]).
    fn step(&mut self) -> Result<Step, Error>;
    /// Asks the runtime to end the session; keep stepping until [`Step::Finished`].
    fn request_exit(&mut self) -> Result<(), Error>;
    /// The runtime's name and version.
    fn runtime_name(&self) -> String;
    /// The interaction profile of each hand (left, right); empty when none.
    fn profiles(&self) -> [String; 2];
}

impl Client for HeadlessClient {
    fn step(&mut self) -> Result<Step, Error> {
        HeadlessClient::step(self)
    }

    fn request_exit(&mut self) -> Result<(), Error> {
        HeadlessClient::request_exit(self)
    }

    fn runtime_name(&self) -> String {
        self.core.runtime.name.clone()
    }

    fn profiles(&self) -> [String; 2] {
        self.core.input.profiles.clone()
    }
}
