//! The `massgen-tui` binary: a thin shell around [`massgen_tui::cli::main`].
//!
//! Responsibilities: hand the process arguments to the library and turn its result into an
//! exit code. Non-responsibilities: everything else.

fn main() -> std::process::ExitCode {
    massgen_tui::cli::main()
}
