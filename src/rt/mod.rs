//! Real-time support shared by every layer: thread priorities, the wall clock, latency
//! histograms. No knowledge of robots or operators.

mod histogram;
pub mod priority;

pub use histogram::Histogram;

/// A flag the first SIGINT or SIGTERM sets, so a session stops and closes its episode rather
/// than being cut off; a second signal ends the process at once (what a user pressing Ctrl-C
/// twice wants). Registered once per process; every call returns the same flag.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::{Arc, OnceLock, atomic::AtomicBool};
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Order matters: the shutdown check sees the flag as it was before this signal.
            let registered =
                signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
                    .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)));
            if let Err(e) = registered {
                tracing::warn!("signal {signal}: {e}; it will cut the run off");
            }
        }
        flag
    }))
}

/// The mutex's value, even if a thread panicked holding it: the cells shared between threads
/// hold plain values written in one copy, still usable after such a panic.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Nanoseconds since the Unix epoch by the wall clock (0 if the clock is before 1970).
pub fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
