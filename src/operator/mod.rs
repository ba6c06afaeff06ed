//! Sources of operator input for a session: the [`Source`] trait, a keyframed [`Script`] (the
//! demo's trainer, also a test driver), frames [`Published`] by a device's own thread (the
//! headset), and a recorded episode ([`Replay`]). A script's hand can be a tracked hand
//! ([`tracked_hand`]) as well as a controller.

mod script;
mod source;
mod tracked_hand;

pub use script::{Error, Script};
pub use source::{Input, Published, Replay, Scripted, Source, Subscriber};
pub use tracked_hand::tracked_hand;
