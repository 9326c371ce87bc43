//! The MCP debugging commands (library side of `massgen-tui mcp servers` / `mcp call`):
//! print-ready reports for servers given as specs or on the command line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mcp_support;

use massgen_tui::mcp::ServerSpec;
use massgen_tui::mcp::cli::{call_tool, list_servers};
use massgen_tui::protocol::ToolStatus;
use mcp_support::*;

#[tokio::test]
async fn servers_report_lists_tools_schemas_timings_and_problems() {
    let good = ServerSpec::from_command_line(&test_server_command_line(), Some("t")).unwrap();
    let bad = ServerSpec::stdio(
        "bad",
        "sh",
        vec!["-c".into(), "echo 'cannot bind' >&2; exit 1".into()],
    );
    let report = within(60, list_servers(vec![good, bad])).await;
    assert_eq!(report.servers.len(), 2);
    let t = &report.servers[0];
    assert!(t.error.is_none(), "{:?}", t.error);
    assert!(t.startup.is_some());
    assert!(
        t.tools
            .iter()
            .any(|x| x.name == "mcp_echo" && x.exposed == "mcp__t__mcp_echo")
    );
    let b = &report.servers[1];
    assert!(b.error.as_deref().unwrap_or("").contains("cannot bind"));
    let text = report.to_string();
    assert!(text.contains("✓ t (stdio: "), "{text}");
    assert!(text.contains("started in"), "{text}");
    assert!(text.contains("• mcp_echo  (as mcp__t__mcp_echo)"), "{text}");
    assert!(text.contains("schema: {"), "{text}");
    assert!(text.contains("✗ bad"), "{text}");
    assert!(text.contains("cannot bind"), "{text}");
}

#[tokio::test]
async fn call_reports_result_and_timing() {
    let spec = ServerSpec::from_command_line(&test_server_command_line(), None).unwrap();
    let report = within(
        60,
        call_tool(spec.clone(), "add_numbers", r#"{"a": 2, "b": 3.5}"#),
    )
    .await
    .unwrap();
    assert_eq!(report.outcome.status, ToolStatus::Ok);
    assert_eq!(report.outcome.full_text, "Result: 2 + 3.5 = 5.5");
    let text = report.to_string();
    assert!(text.contains("add_numbers"), "{text}");
    assert!(text.contains("→ ok in"), "{text}");
    assert!(text.contains("Result: 2 + 3.5 = 5.5"), "{text}");

    // Exposed names work too, errors are reported, bad input is explained.
    let name = format!("mcp__{}__error_result", spec.name);
    let r = within(60, call_tool(spec.clone(), &name, ""))
        .await
        .unwrap();
    assert_eq!(r.outcome.status, ToolStatus::Error);
    let e = within(60, call_tool(spec.clone(), "mcp_echo", "{not json"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    let e = within(60, call_tool(spec, "no_such_tool", "{}"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("mcp_echo"), "{e}");
}

#[tokio::test]
async fn call_over_http_given_as_a_url() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let ct = tokio_util::sync::CancellationToken::new();
    tokio::spawn(massgen_tui::mcp::serve_test_server_http(
        listener,
        ct.clone(),
    ));
    let spec = ServerSpec::from_command_line(&url, Some("web")).unwrap();
    let r = within(60, call_tool(spec, "get_events", r#"{"day":"friday"}"#))
        .await
        .unwrap();
    assert_eq!(r.outcome.full_text, "Previews at 10 AM, Deploy at 4 PM");
    ct.cancel();
}
