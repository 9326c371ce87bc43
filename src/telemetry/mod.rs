//! Telemetry: tracing subscribers, the JSON-lines application log, the separate rotated MCP
//! log, and log search/summary.
//!
//! Responsibilities: where diagnostic records go. Non-responsibilities: the event protocol
//! (that is `protocol`); run records (the orchestrator's run recorder writes those).

pub mod run_record;

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter};

/// Keeps the log writers alive; drop it last (at exit) so the tail of the logs is written.
#[derive(Debug)]
pub struct LogGuards {
    _guards: Vec<WorkerGuard>,
}

/// Whether a tracing target belongs to the MCP log.
fn is_mcp_target(target: &str) -> bool {
    target.starts_with("rmcp")
        || target.starts_with("mcp")
        || target.starts_with("massgen_tui::mcp")
}

/// Install the tracing subscribers: a JSON-lines application log (`massgen-tui.jsonl`) and a
/// separate MCP log (`mcp.jsonl`, including MCP servers' stderr), both rotated daily with
/// the last 7 files kept, under `dir`. Nothing is ever written to the terminal, so this is
/// safe while the TUI owns it. Filters: `MASSGEN_LOG` or `RUST_LOG`, default `info`
/// (`debug` with `--debug`).
pub fn init(dir: &Path, debug: bool) -> std::io::Result<LogGuards> {
    // tracing-appender prints to stderr if the directory is missing: create it first.
    std::fs::create_dir_all(dir)?;
    let build = |prefix: &str| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix(prefix)
            .filename_suffix("jsonl")
            .max_log_files(7)
            .build(dir)
            .map_err(std::io::Error::other)
    };
    let (app_writer, app_guard) = tracing_appender::non_blocking(build("massgen-tui")?);
    let (mcp_writer, mcp_guard) = tracing_appender::non_blocking(build("mcp")?);
    let default = if debug { "debug" } else { "info" };
    let env_filter = || {
        std::env::var("MASSGEN_LOG")
            .ok()
            .and_then(|v| EnvFilter::try_new(v).ok())
            .or_else(|| EnvFilter::try_from_default_env().ok())
            .unwrap_or_else(|| EnvFilter::new(default))
    };
    let app = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(app_writer)
        .with_filter(env_filter())
        .with_filter(filter::filter_fn(|m| !is_mcp_target(m.target())));
    let mcp = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(mcp_writer)
        .with_filter(env_filter())
        .with_filter(filter::filter_fn(|m| is_mcp_target(m.target())));
    // A second init (tests, follow-up runs) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(app)
        .with(mcp)
        .try_init();
    Ok(LogGuards {
        _guards: vec![app_guard, mcp_guard],
    })
}
