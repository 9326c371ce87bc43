//! Command-line interface (clap): MassGen-compatible flags plus subcommands.
//!
//! Responsibilities: parsing arguments, dispatching to validate / run / tools, exit codes.
//! Non-responsibilities: config semantics (config), running agents (orchestrator).

/// Entry point used by `main.rs`.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
