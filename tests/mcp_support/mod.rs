//! Shared helpers for the MCP integration tests: locating the test-server binary, a
//! collecting event sink, event queries and process-group inspection.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use massgen_tui::mcp::{McpManager, McpOptions, ServerSpec};
use massgen_tui::protocol::{EventMsg, EventScope};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use massgen_tui::mcp::cli::CollectingSink;

/// The massgen-tui binary (cargo builds it before integration tests).
pub fn test_server_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_massgen-tui"))
}

/// Arguments that make the binary run the MCP test server over stdio.
pub fn test_server_args() -> Vec<String> {
    vec!["mcp".into(), "test-server".into()]
}

/// The test server as one command line (quoted for `sh -c` and `from_command_line`).
pub fn test_server_command_line() -> String {
    format!("'{}' mcp test-server", test_server_exe().display())
}

/// A stdio spec for the test server.
pub fn stdio_spec(name: &str) -> ServerSpec {
    ServerSpec::stdio(
        name,
        massgen_tui::mcp::spec::quote_word(&test_server_exe().to_string_lossy()),
        test_server_args(),
    )
}

/// Fail the test instead of hanging.
pub async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("test step did not finish within {secs} s"))
}

/// Start a manager with the process environment.
pub async fn start(specs: Vec<ServerSpec>, opts: McpOptions) -> (McpManager, Arc<CollectingSink>) {
    let sink = CollectingSink::new();
    let m = within(
        60,
        McpManager::start(specs, &massgen_tui::mcp::process_env, sink.clone(), opts),
    )
    .await
    .expect("manager starts");
    (m, sink)
}

/// Messages of `McpServer` events about `server`.
pub fn server_messages(sink: &CollectingSink, server: &str) -> Vec<String> {
    sink.events()
        .into_iter()
        .filter_map(|(_, m)| match m {
            EventMsg::McpServer {
                server: s, message, ..
            } if s == server => Some(message),
            _ => None,
        })
        .collect()
}

/// All events in order.
pub fn events(sink: &CollectingSink) -> Vec<(EventScope, EventMsg)> {
    sink.events()
}

/// Live (non-zombie) processes whose process group is `pgid` (Linux /proc scan).
pub fn live_group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Format: pid (comm) state ppid pgrp ...; comm may contain spaces.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// Wait until no live process is left in `pgid` (up to `secs`).
pub async fn wait_group_gone(pgid: u32, secs: u64) -> Vec<u32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = live_group_members(pgid);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
