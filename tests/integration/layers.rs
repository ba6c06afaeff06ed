//! The dependency rule: every `crate::…` path in `src/` is allowed by the layer table in
//! ARCHITECTURE.md (which this test reads, so the page and the code cannot drift apart), and
//! the table itself only points downwards.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

struct Row {
    layer: u32,
    may_import: BTreeSet<String>,
}

fn table() -> BTreeMap<String, Row> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | layer | `module` | job | may import |
        if cells.len() < 6 {
            continue;
        }
        let (Ok(layer), Some(module)) = (
            cells[1].parse::<u32>(),
            cells[2].strip_prefix('`').and_then(|m| m.strip_suffix('`')),
        ) else {
            continue;
        };
        let may_import = cells[4]
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "—")
            .map(str::to_string)
            .collect();
        rows.insert(module.to_string(), Row { layer, may_import });
    }
    rows
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a line of code names through `crate::` (comments skipped).
fn imports(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c}`: each item's first segment (one level of nesting is enough for
            // this codebase; a nested group's inner names are not top-level modules).
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn every_import_in_src_is_allowed_by_the_layer_table() {
    let rows = table();
    assert!(
        rows.len() >= 10,
        "ARCHITECTURE.md's layer table was not found"
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let module = first.strip_suffix(".rs").unwrap_or(first);
        if matches!(module, "lib" | "main") {
            continue;
        }
        let Some(row) = rows.get(module) else {
            violations.push(format!(
                "{}: module `{module}` is not in the table",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            for imported in imports(line) {
                checked += 1;
                if imported != module && !row.may_import.contains(&imported) {
                    violations.push(format!(
                        "{}:{}: `{module}` (layer {}) imports `{imported}`",
                        relative.display(),
                        n + 1,
                        row.layer
                    ));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports found: is the scan broken?"
    );
    assert!(
        violations.is_empty(),
        "imports against the layer table:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_layer_table_only_points_downwards() {
    let rows = table();
    let mut wrong = Vec::new();
    for (module, row) in &rows {
        for imported in &row.may_import {
            match rows.get(imported) {
                None => wrong.push(format!("`{module}` may import unknown `{imported}`")),
                Some(other) if other.layer > row.layer => wrong.push(format!(
                    "`{module}` (layer {}) may import `{imported}` (layer {})",
                    row.layer, other.layer
                )),
                Some(other) if other.layer == row.layer && other.may_import.contains(module) => {
                    wrong.push(format!("`{module}` and `{imported}` may import each other"))
                }
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_grouped_and_plain_imports() {
    assert_eq!(
        imports("use crate::{msg, render::Scene};"),
        ["msg", "render"]
    );
    assert_eq!(
        imports("    let x = crate::rt::wall_clock_ns(); // crate::app"),
        ["rt"]
    );
    assert!(imports("/// see [`crate::sim::Sim`]").is_empty());
}
