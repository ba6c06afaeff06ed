//! The centre's catalogue: the skills and scenarios a demonstration may be labelled with
//! (`--skill`, `--scenario`). Centres work from a fixed list (the bundled `catalogue.toml`:
//! 45 core skills, 16 scenarios), so a misspelt label is refused before anything is recorded
//! rather than splitting a dataset into near-duplicate classes.
//!
//! ```toml
//! [[skill]]
//! name = "pick_and_place"
//! description = "Pick an object up and put it down somewhere else."
//!
//! [[scenario]]
//! name = "tabletop"
//! description = "Objects on a table in front of the robot."
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::toml_file::{self, FileError};

/// The longest name or description the catalogue takes (characters).
pub const MAX_NAME: usize = 64;
/// See [`MAX_NAME`].
pub const MAX_DESCRIPTION: usize = 500;

/// A skill or a scenario: its name (lowercase letters, digits and `_`) and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    skill: Vec<Entry>,
    scenario: Vec<Entry>,
}

/// A loaded catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    path: PathBuf,
    pub skills: Vec<Entry>,
    pub scenarios: Vec<Entry>,
}

/// Which list a label belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Skill,
    Scenario,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Skill => "skill",
            Kind::Scenario => "scenario",
        }
    }
}

impl Catalogue {
    pub fn load(path: &Path) -> Result<Catalogue, FileError> {
        Catalogue::parse(&toml_file::read(path)?, path)
    }

    /// Parses TOML text; `path` names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Catalogue, FileError> {
        let file: File = toml_file::parse(text, path)?;
        for (list, entries) in [("skill", &file.skill), ("scenario", &file.scenario)] {
            if entries.is_empty() {
                return Err(FileError::invalid(path, list, "the list is empty"));
            }
            for (i, e) in entries.iter().enumerate() {
                let key = |field: &str| format!("{list}[{i}].{field}");
                let well_formed = !e.name.is_empty()
                    && e.name.len() <= MAX_NAME
                    && e.name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !well_formed {
                    return Err(FileError::invalid(
                        path,
                        key("name"),
                        format!(
                            "{:?}: 1 to {MAX_NAME} lowercase letters, digits and '_'",
                            e.name
                        ),
                    ));
                }
                if e.description.trim().is_empty() || e.description.len() > MAX_DESCRIPTION {
                    return Err(FileError::invalid(
                        path,
                        key("description"),
                        format!("1 to {MAX_DESCRIPTION} characters"),
                    ));
                }
                if entries[..i].iter().any(|other| other.name == e.name) {
                    return Err(FileError::invalid(
                        path,
                        key("name"),
                        format!("{:?} is listed twice", e.name),
                    ));
                }
            }
        }
        Ok(Catalogue {
            path: path.to_path_buf(),
            skills: file.skill,
            scenarios: file.scenario,
        })
    }

    /// The file the catalogue came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn entries(&self, kind: Kind) -> &[Entry] {
        match kind {
            Kind::Skill => &self.skills,
            Kind::Scenario => &self.scenarios,
        }
    }

    /// `name` if the catalogue lists it as a `kind`; else why not, naming the catalogue and
    /// what it does list.
    pub fn check(&self, kind: Kind, name: &str) -> Result<(), String> {
        let entries = self.entries(kind);
        if entries.iter().any(|e| e.name == name) {
            return Ok(());
        }
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        Err(format!(
            "{} {:?} is not in the catalogue {} ({} {}s: {}); add it there, or name another \
             catalogue with --catalogue",
            kind.name(),
            crate::model::shown_at_most(name, MAX_NAME),
            crate::model::shown_path(&self.path),
            names.len(),
            kind.name(),
            names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Catalogue {
        Catalogue::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue.toml"))
            .expect("the bundled catalogue")
    }

    #[test]
    fn the_bundled_catalogue_lists_the_core_skills_and_scenarios() {
        let c = bundled();
        assert_eq!((c.skills.len(), c.scenarios.len()), (45, 16));
        assert!(c.check(Kind::Skill, "pick_and_place").is_ok());
        assert!(c.check(Kind::Scenario, "tabletop").is_ok());
    }

    #[test]
    fn an_unknown_label_is_refused_naming_the_catalogue_and_its_entries() {
        let c = bundled();
        let e = c.check(Kind::Skill, "pick_and_plaec").unwrap_err();
        assert!(
            e.contains("skill \"pick_and_plaec\" is not in the catalogue"),
            "{e}"
        );
        assert!(
            e.contains("catalogue.toml") && e.contains("pick_and_place"),
            "{e}"
        );
        let e = c.check(Kind::Scenario, "pick_and_place").unwrap_err();
        assert!(e.starts_with("scenario "), "a skill is not a scenario: {e}");
    }

    #[test]
    fn malformed_catalogues_are_refused_naming_the_key() {
        let path = Path::new("c.toml");
        let entry = |name: &str| format!("name = \"{name}\"\ndescription = \"d\"\n");
        let both = |skills: &str| format!("{skills}[[scenario]]\n{}", entry("s"));
        let cases = [
            (
                both(&format!("[[skill]]\n{}", entry("Pick"))),
                "skill[0].name",
            ),
            (
                both(&format!(
                    "[[skill]]\n{}[[skill]]\n{}",
                    entry("a"),
                    entry("a")
                )),
                "listed twice",
            ),
            (
                format!("skill = []\n[[scenario]]\n{}", entry("s")),
                "skill: the list is empty",
            ),
            (
                both(&format!("[[skill]]\n{}colour = 1\n", entry("a"))),
                "colour",
            ),
        ];
        for (text, expected) in cases {
            let e = Catalogue::parse(&text, path).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}\n→ {e}");
        }
    }
}
