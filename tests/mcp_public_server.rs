//! The MCP layer against a public MCP server from npm: `@modelcontextprotocol/server-filesystem`
//! over stdio (it offers no HTTP transport), started through `npx -y` like MassGen's
//! filesystem injection does. Skips with a clear reason when Node.js/npx is not installed.
//! CI pre-installs the package (`npm install -g @modelcontextprotocol/server-filesystem`) so
//! `npx -y` finds it without a download.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mcp_support;

use massgen_tui::mcp::{McpOptions, SchemaPolicy, ServerSpec, ToolFilter};
use massgen_tui::protocol::{EventScope, ToolStatus};
use mcp_support::*;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn npx_available() -> bool {
    std::process::Command::new("npx")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn filesystem_server_from_npm_over_stdio() {
    if !npx_available() {
        eprintln!(
            "SKIPPED filesystem_server_from_npm_over_stdio: `npx` (Node.js) is not installed; \
             install Node.js to run the public MCP server test"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().canonicalize().unwrap();
    std::fs::write(root_path.join("hello.txt"), "hello from massgen-tui\n").unwrap();
    let mut spec = ServerSpec::stdio(
        "filesystem",
        "npx",
        vec![
            "-y".into(),
            "@modelcontextprotocol/server-filesystem".into(),
            root_path.to_string_lossy().into_owned(),
        ],
    );
    // First use may download the package.
    spec.startup_timeout = Duration::from_secs(180);
    let (m, sink) = start(vec![spec], McpOptions::default()).await;
    if m.server_names().is_empty() {
        let why = server_messages(&sink, "filesystem").join("\n");
        let lower = why.to_lowercase();
        let fetch_failed = [
            "npm err",
            "npm error",
            "enotfound",
            "eai_again",
            "etimedout",
            "econnrefused",
            "econnreset",
            "network",
            "404",
        ]
        .iter()
        .any(|p| lower.contains(p));
        if fetch_failed {
            eprintln!(
                "SKIPPED filesystem_server_from_npm_over_stdio: npm could not fetch \
                 @modelcontextprotocol/server-filesystem (offline?); install it with \
                 `npm install -g @modelcontextprotocol/server-filesystem`. Details:\n{why}"
            );
            return;
        }
        panic!("the filesystem server did not start: {why}");
    }
    let names: Vec<String> = m
        .tool_specs(&ToolFilter::all(), &SchemaPolicy::restrictive(), 64)
        .into_iter()
        .map(|s| s.name)
        .collect();
    for t in ["write_file", "list_directory", "list_allowed_directories"] {
        assert!(
            names.contains(&format!("mcp__filesystem__{t}")),
            "{t} missing: {names:?}; events: {:?}",
            server_messages(&sink, "filesystem")
        );
    }
    let read = if names.contains(&"mcp__filesystem__read_text_file".to_owned()) {
        "mcp__filesystem__read_text_file"
    } else {
        "mcp__filesystem__read_file"
    };
    let call = |tool: &'static str, args: serde_json::Value| {
        let m = m.clone();
        async move {
            within(
                60,
                m.call(&EventScope::run(), tool, args, CancellationToken::new()),
            )
            .await
        }
    };
    let p = |f: &str| root_path.join(f).to_string_lossy().into_owned();

    let out = call(read, serde_json::json!({"path": p("hello.txt")})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    assert!(out.text_for_model.contains("hello from massgen-tui"));

    let out = call(
        "mcp__filesystem__write_file",
        serde_json::json!({"path": p("out.txt"), "content": "written by an agent"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    assert_eq!(
        std::fs::read_to_string(root_path.join("out.txt")).unwrap(),
        "written by an agent"
    );

    let out = call(
        "mcp__filesystem__list_directory",
        serde_json::json!({"path": root_path.to_string_lossy()}),
    )
    .await;
    assert!(out.text_for_model.contains("out.txt") && out.text_for_model.contains("hello.txt"));

    // Outside the allowed directory: an error the model can act on, not a crash.
    let out = call(read, serde_json::json!({"path": "/etc/hostname"})).await;
    assert_eq!(out.status, ToolStatus::Error, "{}", out.text_for_model);
    assert!(
        out.text_for_model.to_lowercase().contains("denied")
            || out.text_for_model.contains("outside"),
        "{}",
        out.text_for_model
    );

    // npx → node: the whole process group goes away on shutdown.
    let pgid = m.server_pid("filesystem").unwrap();
    within(20, m.shutdown()).await;
    assert_eq!(wait_group_gone(pgid, 5).await, Vec::<u32>::new());
}
