//! The only wiring place: a [`Session`] is one operator source, the control pipeline, one robot
//! backend and its outputs (view, recorder), run by the one tick loop every mode shares. The
//! demo's scene and script, replay and the headset session are sessions wired here; `cli`
//! parses arguments and calls this module, nothing below it imports it.

pub mod demo;
pub mod feed;
pub mod headset;
pub mod recording;
pub mod replay;
pub mod robot_process;
pub mod scene;
pub mod session;
pub mod view;

pub use scene::{Layout, Scene, layout};
pub use session::{Clock, Ended, LoopStats, Observer, Running, Session, Tick};
pub use view::View;

/// A bundled file (`relative` to the source tree, as `catalogue.toml` or a profile): in the
/// source tree this was built from, else in the working directory.
pub fn bundled(relative: &str) -> std::path::PathBuf {
    let in_tree = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if in_tree.exists() {
        in_tree
    } else {
        relative.into()
    }
}

/// Why a session could not run. Each variant says its reason once (no `source` chain), naming
/// the file, key or input at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Profile(#[from] crate::config::Error),
    #[error(transparent)]
    Script(#[from] crate::operator::Error),
    #[error(transparent)]
    Pipeline(#[from] crate::control::Error),
    #[error(transparent)]
    Sim(#[from] crate::sim::Error),
    #[error(transparent)]
    Robot(#[from] crate::robot::Error),
    #[error(transparent)]
    Render(#[from] crate::render::Error),
    #[error(transparent)]
    Record(#[from] crate::record::Error),
    #[error(transparent)]
    Xr(#[from] crate::xr::Error),
    #[error(transparent)]
    Link(#[from] crate::link::LinkError),
    /// Options that do not go together.
    #[error("{0}")]
    Usage(String),
    /// Bad input in a file or stream (`what` names it).
    #[error("{what}: {message}")]
    Input { what: String, message: String },
    #[error("{0}")]
    Thread(String),
}
