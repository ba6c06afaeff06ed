//! Sources of operator input for a session: the [`Source`] trait, a keyframed [`Script`] (the
//! demo's trainer, also a test driver), frames [`Published`] by a device's own thread (the
//! headset), and a recorded episode ([`Replay`]).

mod script;
mod source;

pub use script::{Error, Script};
pub use source::{Input, Published, Replay, Scripted, Source, Subscriber};
