use std::path::PathBuf;

/// Why recording, reading, replaying or exporting an episode failed. Every variant names the
/// file or folder.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("recording: cannot use folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Mcap {
        path: PathBuf,
        #[source]
        source: mcap::McapError,
    },
    /// The recorder thread stopped (its first error, already one line).
    #[error("recording stopped: {0}")]
    Stopped(String),
    #[error("{path}: not an episode file: {reason}")]
    NotEpisode { path: PathBuf, reason: String },
    #[error("{path}: message {index} on {topic}: {source}")]
    Decode {
        path: PathBuf,
        topic: String,
        index: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error(transparent)]
    Profile(#[from] crate::config::Error),
    #[error(transparent)]
    Demo(#[from] crate::demo::Error),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub(crate) fn mcap(path: impl Into<PathBuf>) -> impl FnOnce(mcap::McapError) -> Error {
        let path = path.into();
        // An I/O failure says what the system said (disk full, …), not just "I/O error".
        move |source| match source {
            mcap::McapError::Io(source) => Error::Io { path, source },
            source => Error::Mcap { path, source },
        }
    }
}
