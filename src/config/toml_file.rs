//! Reading our TOML files (robot profiles, operator scripts): one error type that names the file
//! and, where it can, the key; toml's multi-line diagnostics folded into one line.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::model::{shown, shown_at_most, shown_path};

/// The most characters of a message (which may quote values) an error shows.
const MAX_MESSAGE: usize = 400;

/// Why a TOML file could not be used. Every variant names the file; `Invalid` names the key.
/// Keys, paths and messages are shown with control characters escaped and cut short
/// ([`shown`]), so a key holding a newline or megabytes cannot break or flood the line.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: cannot read: {source}", shown_path(.path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{}: {}", shown_path(.path), shown_at_most(.message, MAX_MESSAGE))]
    Parse { path: PathBuf, message: String },
    /// A value that parsed but is not acceptable.
    #[error(
        "{}: {}: {}",
        shown_path(.path), shown(.key), shown_at_most(.message, MAX_MESSAGE)
    )]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl FileError {
    /// A value at `key` in `path` refused for `message`.
    pub fn invalid(path: &Path, key: impl Into<String>, message: impl Into<String>) -> FileError {
        FileError::Invalid {
            path: path.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The file's text.
pub fn read(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `text` deserialised; `path` only names the source in errors.
pub fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, FileError> {
    toml::from_str(text).map_err(|e: toml::de::Error| FileError::Parse {
        path: path.to_path_buf(),
        message: one_line_toml_error(text, &e),
    })
}

/// toml's error as one line, `line L, column C: key: message` (its own rendering spans several
/// lines with a source excerpt; the command line promises one line per error). The key is the
/// last `name =` before the error on its line, when there is one.
fn one_line_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else {
        return message;
    };
    // On a character boundary (toml may point inside a multi-byte character).
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..start].matches('\n').count() + 1;
    let column = start - line_start + 1;
    let key = text[line_start..start].rfind('=').and_then(|eq| {
        let name = text[line_start..line_start + eq].trim_end();
        // Just after the last character that cannot be in a key (which may be multi-byte).
        let from = name
            .char_indices()
            .rfind(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        Some(&name[from..]).filter(|k| !k.is_empty())
    });
    match key {
        Some(key) => format!("line {line}, column {column}: {key}: {message}"),
        None => format!("line {line}, column {column}: {message}"),
    }
}
