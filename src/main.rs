//! `teleop`: see `teleop --help`. All logic lives in the library's `cli` module.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    give_a_runtime_dir();
    teleop_bridge::cli::main()
}

/// The graphics stack (Mesa's Vulkan drivers probing Wayland) prints `error: XDG_RUNTIME_DIR is
/// invalid or not set in the environment` when the session has none (ssh, containers, CI),
/// although nothing fails: a second error line beside ours. Without a usable one, the process
/// gets a private folder of its user's, as a login session would give it.
fn give_a_runtime_dir() {
    let usable = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .is_some_and(|d| d.is_absolute() && d.is_dir());
    if usable {
        return;
    }
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("teleop-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    // Only a folder that is ours and private (not one someone else made for us).
    let private = std::fs::symlink_metadata(&dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == uid && m.mode() & 0o077 == 0);
    if private {
        // SAFETY: first thing in `main`, before any thread exists: nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}
