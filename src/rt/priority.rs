//! Thread priorities: the control loop first, everything that can wait (JPEG and PNG encoders,
//! episode writers, a CPU renderer such as lavapipe) after it, so that a busy machine delays the
//! view or the recording, never a joint command.
//!
//! The control thread asks for `SCHED_FIFO` (what ros2_control does); where the process may not
//! (no `CAP_SYS_NICE`, `ulimit -r` 0) it asks for a negative nice value, and failing that it
//! stays as it is and says so once. Lowering a thread needs no privilege, so background threads
//! always get nice 10. `TELEOP_THREAD_PRIORITIES=off` leaves every thread as the OS made it (to
//! measure what the priorities buy, or where a supervisor already set them).

use std::sync::OnceLock;

/// The `SCHED_FIFO` priority the control thread asks for: above every normal thread, below the
/// kernel's threaded interrupt handlers (50), so the robot's network and the disk stay served.
pub const CONTROL_FIFO_PRIORITY: i32 = 40;
/// The nice value asked for when `SCHED_FIFO` is refused.
pub const CONTROL_NICE: i32 = -10;
/// The nice value of threads whose work can wait a few milliseconds.
pub const BACKGROUND_NICE: i32 = 10;

/// What the control thread was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    /// `SCHED_FIFO` at this priority.
    RealTime(i32),
    /// The normal scheduler at this nice value.
    Nice(i32),
    /// Nothing changed, and why.
    Unchanged(String),
}

impl std::fmt::Display for Granted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Granted::RealTime(p) => write!(f, "SCHED_FIFO priority {p}"),
            Granted::Nice(n) => write!(f, "nice {n}"),
            Granted::Unchanged(why) => write!(f, "default priority ({why})"),
        }
    }
}

/// Whether priorities are managed at all (`TELEOP_THREAD_PRIORITIES=off` turns it off).
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        !std::env::var("TELEOP_THREAD_PRIORITIES")
            .is_ok_and(|v| matches!(v.trim(), "off" | "0" | "false" | "no"))
    })
}

/// Raises the calling thread to the control loop's priority, as far as the process may. Tells
/// the user once per process when it could not, with what to change.
pub fn raise_for_control() -> Granted {
    let granted = if enabled() {
        os::raise()
    } else {
        Granted::Unchanged("TELEOP_THREAD_PRIORITIES=off".into())
    };
    static TOLD: OnceLock<()> = OnceLock::new();
    TOLD.get_or_init(|| match &granted {
        Granted::RealTime(_) => tracing::debug!("control thread: {granted}"),
        Granted::Nice(_) => tracing::info!(
            "control thread: {granted} (SCHED_FIFO refused; `ulimit -r {CONTROL_FIFO_PRIORITY}` or \
             CAP_SYS_NICE allows it)"
        ),
        Granted::Unchanged(_) => tracing::warn!(
            "control thread: {granted}; a busy machine can delay joint commands \
             (`ulimit -r {CONTROL_FIFO_PRIORITY}` or CAP_SYS_NICE allows real-time priority)"
        ),
    });
    granted
}

/// Lowers the calling thread to background priority (threads it starts later inherit it); true
/// if it took effect.
pub fn lower_for_background() -> bool {
    enabled() && os::lower()
}

/// The calling thread's scheduling policy and nice value, as the OS reports them (for tests and
/// diagnostics); `None` where not supported.
pub use os::current;

/// A thread's scheduling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Normal,
    Fifo(i32),
    Other(i32),
}

// The crate's only `unsafe` outside `xr::handshake`: three libc calls on the calling thread
// itself, no pointers kept.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod os {
    use super::{BACKGROUND_NICE, CONTROL_FIFO_PRIORITY, CONTROL_NICE, Granted, Policy};

    fn set_nice(nice: i32) -> Result<(), std::io::Error> {
        // On Linux, PRIO_PROCESS with a thread id sets that one thread's nice value.
        // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
        };
        if result == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    pub fn raise() -> Granted {
        let param = libc::sched_param {
            sched_priority: CONTROL_FIFO_PRIORITY,
        };
        // SAFETY: `param` is a valid sched_param for the duration of the call; the thread
        // handle is the calling thread's own.
        let fifo =
            unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
        if fifo == 0 {
            return Granted::RealTime(CONTROL_FIFO_PRIORITY);
        }
        match set_nice(CONTROL_NICE) {
            Ok(()) => Granted::Nice(CONTROL_NICE),
            Err(e) => Granted::Unchanged(format!(
                "SCHED_FIFO: {}; nice {CONTROL_NICE}: {e}",
                std::io::Error::from_raw_os_error(fifo)
            )),
        }
    }

    pub fn lower() -> bool {
        set_nice(BACKGROUND_NICE).is_ok()
    }

    pub fn current() -> Option<(Policy, i32)> {
        let mut policy = 0;
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: both out-pointers are valid for the call; the thread is the caller itself.
        let nice = unsafe {
            if libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) != 0 {
                return None;
            }
            // getpriority can return -1 legitimately; errno tells, but a nice of -1 is only
            // ambiguous for threads this module never creates.
            libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
        };
        let policy = match policy {
            libc::SCHED_OTHER => Policy::Normal,
            libc::SCHED_FIFO => Policy::Fifo(param.sched_priority),
            other => Policy::Other(other),
        };
        Some((policy, nice))
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use super::{Granted, Policy};

    pub fn raise() -> Granted {
        Granted::Unchanged("thread priorities are only managed on Linux".into())
    }

    pub fn lower() -> bool {
        false
    }

    pub fn current() -> Option<(Policy, i32)> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_background_thread_ends_up_at_nice_10_and_its_children_inherit_it() {
        let (own, child) = std::thread::spawn(|| {
            assert!(lower_for_background() || !enabled());
            let own = current().expect("linux reports it");
            let child = std::thread::spawn(|| current().expect("linux reports it"))
                .join()
                .expect("child");
            (own, child)
        })
        .join()
        .expect("thread");
        if enabled() {
            assert_eq!(own, (Policy::Normal, BACKGROUND_NICE));
            assert_eq!(
                child, own,
                "threads started later inherit the lowered priority"
            );
        }
        // The test thread itself was left alone.
        assert_eq!(current().map(|(p, _)| p), Some(Policy::Normal));
    }

    #[test]
    fn the_control_thread_reports_what_it_was_granted_and_gets_it() {
        let (granted, now) = std::thread::spawn(|| (raise_for_control(), current()))
            .join()
            .expect("thread");
        let (policy, nice) = now.expect("linux reports it");
        match granted {
            Granted::RealTime(p) => assert_eq!(policy, Policy::Fifo(p)),
            Granted::Nice(n) => assert_eq!((policy, nice), (Policy::Normal, n)),
            Granted::Unchanged(why) => {
                assert_eq!(policy, Policy::Normal, "{why}");
                assert!(!why.is_empty());
            }
        }
    }
}
