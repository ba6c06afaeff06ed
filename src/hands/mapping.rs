//! Reading a [`HandMapping`] from a file of its own (the same keys as a profile's
//! `[hands.right]`); the types live in `config` so a profile can embed and check them.

pub use crate::config::{Fingertip, HandMapping, LinkPoint, PinchPair, Scale, XrJoint};

use super::Error;

impl HandMapping {
    pub fn from_toml_str(text: &str) -> Result<HandMapping, Error> {
        toml::from_str(text).map_err(|e| Error::Mapping(e.to_string()))
    }

    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<HandMapping, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Mapping(format!("{}: {e}", path.display())))?;
        Self::from_toml_str(&text)
    }
}
