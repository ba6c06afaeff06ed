use std::path::PathBuf;

/// Why the view could not be rendered or saved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No GPU or software adapter (install `mesa-vulkan-drivers` for lavapipe).
    #[error("render: no graphics adapter: {0}")]
    NoAdapter(String),
    #[error("render: could not open the graphics device: {0}")]
    Device(String),
    #[error("render: reading the image back from the GPU failed: {0}")]
    Readback(String),
    #[error("render: cannot write {path}: {message}")]
    Png { path: PathBuf, message: String },
    // Not a `#[source]`: the message already says it, and `{:#}` would say it twice.
    #[error("render: cannot create the frames folder {path}: {error}")]
    Folder {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("render: the profile has no [camera] section, so there is no robot view to draw")]
    NoCamera,
    #[error("render: window: {0}")]
    Window(String),
}
