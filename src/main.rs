//! `teleop`: see `teleop --help`. All logic lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    teleop_bridge::cli::main()
}
