use std::path::PathBuf;

/// Why recording, reading, replaying or exporting an episode failed. Every variant names the
/// file or folder, and says the underlying reason in its own message (not as a `source`, so
/// an error chain prints it once).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("recording: cannot use folder {path}: {error}")]
    Folder {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Mcap {
        path: PathBuf,
        error: mcap::McapError,
    },
    /// The recorder thread stopped (its first error, already one line).
    #[error("recording stopped: {0}")]
    Stopped(String),
    #[error("{path}: not an episode file: {reason}")]
    NotEpisode { path: PathBuf, reason: String },
    #[error("{path}: message {index} on {topic}: {error}")]
    Decode {
        path: PathBuf,
        topic: String,
        index: usize,
        /// What the JSON or CDR decoder said.
        error: String,
    },
    #[error("{path}: {error}")]
    Parquet {
        path: PathBuf,
        error: parquet::errors::ParquetError,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |error| Error::Io { path, error }
    }

    pub(crate) fn mcap(path: impl Into<PathBuf>) -> impl FnOnce(mcap::McapError) -> Error {
        let path = path.into();
        // An I/O failure says what the system said (disk full, …), not just "I/O error".
        move |error| match error {
            mcap::McapError::Io(error) => Error::Io { path, error },
            error => Error::Mcap { path, error },
        }
    }
}
