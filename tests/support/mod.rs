//! Shared test support. Include from an integration test with `mod support;`.
//!
//! * [`scripted_provider`]: a real loopback HTTP server that plays an OpenAI-compatible
//!   provider from a script (see the docs at the top of that file).

#![allow(dead_code, unused_imports)]

pub mod scripted_provider;

pub use scripted_provider::{Chunk, RecordedRequest, Reply, ScriptedProvider};

/// Run the real `massgen-tui` binary in `dir`, with extra environment variables and the given
/// arguments, and collect its output. Fails the test if it runs longer than 90 s.
pub async fn run_cli(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_massgen-tui"));
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(std::time::Duration::from_secs(90), cmd.output())
        .await
        .expect("massgen-tui did not finish in 90 s")
        .expect("massgen-tui could not be started")
}
