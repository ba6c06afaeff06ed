//! The OpenXR session lifecycle as an explicit state machine, apart from any runtime: every
//! session state and the instance-level events, what each one asks of us, and what the robot
//! may do in it. The client feeds it events and performs the [`Action`]s it returns.
//!
//! ```text
//!   Idle ──READY──► Ready ──(we begin)──► Synchronized ◄──► Visible ◄──► Focused
//!                                             │  ▲ the runtime moves us between these
//!   Exiting ◄──(we end)── Stopping ◄──────────┘  (headset off, another app in front…)
//!   LossPending (runtime or device going away) ──► we end and leave
//! ```
//! Only `Focused` delivers input; in every other state the robot holds (deadman), and after
//! focus returns each hand's clutch stays open until its squeeze has been released once
//! ([`ClutchLatch`]).

use openxr as xr;

/// The session's state as the runtime reported it last (`XrSessionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionState {
    /// Created, nothing asked of us yet. Moves on: READY from the runtime.
    #[default]
    Idle,
    /// The runtime wants us to begin. Moves on: we call `xrBeginSession`, then SYNCHRONIZED.
    Ready,
    /// Frames are synchronised with the display, nothing is shown. Moves on: VISIBLE when the
    /// headset is worn and we are shown, STOPPING when the runtime stops us.
    Synchronized,
    /// Our frames are shown but another application (a system menu) has input. Moves on:
    /// FOCUSED or back to SYNCHRONIZED.
    Visible,
    /// Shown and receiving input: the only state in which the robot follows the operator.
    /// Moves on: VISIBLE when input focus is taken away (headset off, overlay).
    Focused,
    /// The runtime is stopping us. Moves on: we call `xrEndSession`, then IDLE or EXITING.
    Stopping,
    /// The runtime or device is going away (unplugged, service stopping). Moves on: we end
    /// and leave; the robot holds.
    LossPending,
    /// The session is over (we asked to exit, or the runtime closed us). We leave.
    Exiting,
}

impl SessionState {
    pub fn from_xr(state: xr::SessionState) -> Option<SessionState> {
        Some(match state {
            xr::SessionState::IDLE => SessionState::Idle,
            xr::SessionState::READY => SessionState::Ready,
            xr::SessionState::SYNCHRONIZED => SessionState::Synchronized,
            xr::SessionState::VISIBLE => SessionState::Visible,
            xr::SessionState::FOCUSED => SessionState::Focused,
            xr::SessionState::STOPPING => SessionState::Stopping,
            xr::SessionState::LOSS_PENDING => SessionState::LossPending,
            xr::SessionState::EXITING => SessionState::Exiting,
            _ => return None,
        })
    }
}

/// What happened, as the client hands it to the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    StateChanged(SessionState),
    /// `XrEventDataInstanceLossPending`: the whole runtime is going away.
    InstanceLossPending,
    /// `XrEventDataInteractionProfileChanged`: controllers were swapped or (dis)connected.
    InteractionProfileChanged,
    /// An OpenXR call reported that the instance or session is lost (the service died).
    RuntimeLost,
    /// We want to stop (Ctrl-C, menu button, end of a test).
    ExitRequested,
}

/// What the client must do in answer to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Call `xrBeginSession`.
    Begin,
    /// Call `xrEndSession`.
    End,
    /// Call `xrRequestExitSession` (the runtime answers with STOPPING).
    RequestExit,
    /// Re-read the current interaction profiles (bindings may have changed).
    ReadProfiles,
    /// Drop the session and leave the loop.
    Leave,
}

/// The session lifecycle: the runtime's state plus whether we have begun it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Machine {
    state: SessionState,
    /// Between our `xrBeginSession` and `xrEndSession`: the frame loop must run.
    running: bool,
    /// The runtime is lost: nothing more may be asked of it.
    lost: bool,
    exit_requested: bool,
}

impl Machine {
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The frame loop must run (begun and not yet ended).
    pub fn running(&self) -> bool {
        self.running
    }

    /// Input is ours: the robot may follow.
    pub fn focused(&self) -> bool {
        self.running && self.state == SessionState::Focused
    }

    /// The loop is over: the session exited, was lost, or the runtime went away.
    pub fn finished(&self) -> bool {
        self.lost || (self.state == SessionState::Exiting && !self.running)
    }

    pub fn lost(&self) -> bool {
        self.lost
    }

    /// Feeds one event; returns what to do. The client reports back with
    /// [`Machine::begun`] / [`Machine::ended`] after performing `Begin` / `End`.
    pub fn handle(&mut self, event: Event) -> Action {
        match event {
            Event::StateChanged(state) => {
                self.state = state;
                match state {
                    SessionState::Ready if self.exit_requested => Action::Nothing,
                    SessionState::Ready => Action::Begin,
                    SessionState::Stopping if self.running => Action::End,
                    SessionState::LossPending if self.running => Action::End,
                    SessionState::LossPending | SessionState::Exiting => Action::Leave,
                    SessionState::Idle if self.exit_requested => Action::Leave,
                    _ => Action::Nothing,
                }
            }
            Event::InstanceLossPending => {
                self.state = SessionState::LossPending;
                if self.running {
                    Action::End
                } else {
                    Action::Leave
                }
            }
            Event::InteractionProfileChanged => Action::ReadProfiles,
            Event::RuntimeLost => {
                self.lost = true;
                self.running = false;
                Action::Leave
            }
            Event::ExitRequested => {
                self.exit_requested = true;
                if self.running {
                    Action::RequestExit
                } else {
                    Action::Leave
                }
            }
        }
    }

    /// `xrBeginSession` succeeded.
    pub fn begun(&mut self) {
        self.running = true;
    }

    /// `xrEndSession` succeeded (or the session can no longer be ended). What comes next:
    /// leave after LOSS_PENDING or an exit we asked for; otherwise wait for READY again.
    pub fn ended(&mut self) -> Action {
        self.running = false;
        if self.state == SessionState::LossPending || self.exit_requested {
            Action::Leave
        } else {
            Action::Nothing
        }
    }
}

/// The deadman's second half, per hand: after focus or tracking comes back the clutch stays
/// open until the operator has let go of the squeeze once, so a hand that was squeezing when
/// the headset came off does not start the robot by itself when it goes back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClutchLatch {
    /// Set when input was lost; cleared by a released squeeze.
    blocked: bool,
}

impl ClutchLatch {
    /// Input went away (focus lost, tracking lost, runtime gone).
    pub fn interrupt(&mut self) {
        self.blocked = true;
    }

    /// The squeeze to hand on: the reading, or 0 while blocked. `release_below` is the
    /// retargeter's release threshold.
    pub fn filter(&mut self, squeeze: f64, release_below: f64) -> f64 {
        if self.blocked && squeeze <= release_below {
            self.blocked = false;
        }
        if self.blocked { 0.0 } else { squeeze }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(machine: &mut Machine, state: SessionState) -> Action {
        machine.handle(Event::StateChanged(state))
    }

    #[test]
    fn a_session_from_idle_to_focused_and_out_on_request() {
        let mut m = Machine::default();
        assert_eq!(drive(&mut m, SessionState::Idle), Action::Nothing);
        assert_eq!(drive(&mut m, SessionState::Ready), Action::Begin);
        assert!(!m.running());
        m.begun();
        assert!(m.running() && !m.focused());
        for s in [SessionState::Synchronized, SessionState::Visible] {
            assert_eq!(drive(&mut m, s), Action::Nothing);
            assert!(!m.focused());
        }
        assert_eq!(drive(&mut m, SessionState::Focused), Action::Nothing);
        assert!(m.focused());
        // Headset taken off: focus goes, the robot must hold.
        drive(&mut m, SessionState::Visible);
        assert!(!m.focused());
        drive(&mut m, SessionState::Focused);
        assert_eq!(m.handle(Event::ExitRequested), Action::RequestExit);
        drive(&mut m, SessionState::Visible);
        drive(&mut m, SessionState::Synchronized);
        assert_eq!(drive(&mut m, SessionState::Stopping), Action::End);
        assert_eq!(m.ended(), Action::Leave);
        assert_eq!(drive(&mut m, SessionState::Idle), Action::Leave);
        assert_eq!(drive(&mut m, SessionState::Exiting), Action::Leave);
        assert!(m.finished());
    }

    #[test]
    fn the_runtime_stopping_us_then_readying_again_begins_again() {
        let mut m = Machine::default();
        drive(&mut m, SessionState::Ready);
        m.begun();
        drive(&mut m, SessionState::Focused);
        assert_eq!(drive(&mut m, SessionState::Stopping), Action::End);
        assert_eq!(m.ended(), Action::Nothing);
        assert_eq!(drive(&mut m, SessionState::Idle), Action::Nothing);
        assert!(!m.finished());
        assert_eq!(drive(&mut m, SessionState::Ready), Action::Begin);
    }

    #[test]
    fn loss_and_instance_loss_end_and_leave() {
        let mut m = Machine::default();
        drive(&mut m, SessionState::Ready);
        m.begun();
        assert_eq!(drive(&mut m, SessionState::LossPending), Action::End);
        assert_eq!(m.ended(), Action::Leave);

        let mut m = Machine::default();
        drive(&mut m, SessionState::Ready);
        m.begun();
        assert_eq!(m.handle(Event::InstanceLossPending), Action::End);
        assert_eq!(m.ended(), Action::Leave);

        let mut m = Machine::default();
        assert_eq!(m.handle(Event::InstanceLossPending), Action::Leave);

        // A call that found the service dead: nothing more may be asked of it.
        let mut m = Machine::default();
        drive(&mut m, SessionState::Ready);
        m.begun();
        drive(&mut m, SessionState::Focused);
        assert_eq!(m.handle(Event::RuntimeLost), Action::Leave);
        assert!(m.finished() && m.lost() && !m.focused() && !m.running());
    }

    #[test]
    fn exit_before_running_leaves_at_once_and_profile_changes_are_reread() {
        let mut m = Machine::default();
        assert_eq!(m.handle(Event::ExitRequested), Action::Leave);
        assert_eq!(drive(&mut m, SessionState::Ready), Action::Nothing);
        let mut m = Machine::default();
        assert_eq!(
            m.handle(Event::InteractionProfileChanged),
            Action::ReadProfiles
        );
    }

    #[test]
    fn every_xr_state_has_a_variant() {
        for (raw, ours) in [
            (xr::SessionState::IDLE, SessionState::Idle),
            (xr::SessionState::READY, SessionState::Ready),
            (xr::SessionState::SYNCHRONIZED, SessionState::Synchronized),
            (xr::SessionState::VISIBLE, SessionState::Visible),
            (xr::SessionState::FOCUSED, SessionState::Focused),
            (xr::SessionState::STOPPING, SessionState::Stopping),
            (xr::SessionState::LOSS_PENDING, SessionState::LossPending),
            (xr::SessionState::EXITING, SessionState::Exiting),
        ] {
            assert_eq!(SessionState::from_xr(raw), Some(ours));
        }
        assert_eq!(SessionState::from_xr(xr::SessionState::UNKNOWN), None);
    }

    #[test]
    fn the_clutch_stays_open_after_an_interruption_until_the_squeeze_is_released() {
        let mut latch = ClutchLatch::default();
        assert_eq!(latch.filter(1.0, 0.4), 1.0);
        latch.interrupt();
        // Still squeezing when input comes back: no clutch.
        assert_eq!(latch.filter(1.0, 0.4), 0.0);
        assert_eq!(latch.filter(0.7, 0.4), 0.0);
        // Let go, then squeeze again: the clutch works.
        assert_eq!(latch.filter(0.1, 0.4), 0.1);
        assert_eq!(latch.filter(1.0, 0.4), 1.0);
    }
}
