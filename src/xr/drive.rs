//! The headset's frame loop feeding a session: runs on the thread that owns the OpenXR session
//! and publishes each sample's operator frame for the control tick to take (see
//! [`crate::operator::Published`]), until the session ends, a duration passes, or the runtime
//! goes away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::{Client, Step};
use super::error::Error;
use crate::operator::Published;

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Stop after this long (s); `None`: until the session ends.
    pub duration_s: Option<f64>,
    /// The menu button ends the session (not while recording: it is the recorder's "discard").
    pub menu_quits: bool,
}

/// How the frame loop ended.
#[derive(Debug)]
pub enum Ended {
    /// The session ended (we asked, or the runtime closed it).
    SessionEnded,
    /// The session failed mid-run (the runtime went away, or a call failed); the robot holds.
    Failed(Error),
}

/// What the frame loop saw.
#[derive(Debug)]
pub struct Pumped {
    pub samples: u64,
    /// Samples with at least one hand tracked (the session had input focus).
    pub focused_samples: u64,
    pub ended: Ended,
}

/// How long the runtime gets to close the session after we ask (then we leave anyway).
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Steps `client` and publishes its frames into `published` until the session ends (see the
/// module docs). Tells `published` the input ended before returning.
/// `stop` set from outside (an interrupt) ends the session as if asked to.
pub fn run(
    client: &mut dyn Client,
    published: &Published,
    options: Options,
    stop: &AtomicBool,
) -> Pumped {
    let started = Instant::now();
    let mut exit_asked: Option<Instant> = None;
    let (mut samples, mut focused_samples) = (0, 0);
    let ask_exit = |client: &mut dyn Client, exit_asked: &mut Option<Instant>| {
        if exit_asked.is_none() {
            *exit_asked = Some(Instant::now());
            client.request_exit()
        } else {
            Ok(())
        }
    };
    let ended = loop {
        let over = stop.load(Ordering::Relaxed)
            || options
                .duration_s
                .is_some_and(|d| started.elapsed().as_secs_f64() >= d);
        if over && let Err(e) = ask_exit(client, &mut exit_asked) {
            break Ended::Failed(e);
        }
        if exit_asked.is_some_and(|t| t.elapsed() > EXIT_GRACE) {
            break Ended::SessionEnded;
        }
        match client.step() {
            Ok(Step::Finished) => break Ended::SessionEnded,
            Ok(Step::Waiting) => {}
            Ok(Step::Sample(sample)) => {
                samples += 1;
                if sample.frame.left.grip.is_some() || sample.frame.right.grip.is_some() {
                    focused_samples += 1;
                }
                published.publish(sample.frame);
                let menu = sample.left.menu || sample.right.menu;
                if options.menu_quits
                    && menu
                    && let Err(e) = ask_exit(client, &mut exit_asked)
                {
                    break Ended::Failed(e);
                }
            }
            Err(e) => break Ended::Failed(e),
        }
    };
    if matches!(ended, Ended::Failed(_)) {
        // No more frames: the control tick sees them go stale and brakes to a hold; let it.
        std::thread::sleep(Duration::from_millis(300));
    }
    published.end();
    Pumped {
        samples,
        focused_samples,
        ended,
    }
}
