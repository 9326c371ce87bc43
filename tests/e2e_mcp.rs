//! End-to-end: two agents on different provider profiles (ZAI and LM Studio), each with the
//! built-in MCP test server (one over stdio, one over streamable HTTP), run headless through
//! the real binary against the scripted provider, to a final answer, with the MCP calls
//! visible as events and their results sent back to the models.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Chunk, RecordedRequest, Reply, ScriptedProvider, run_cli};
use tokio_util::sync::CancellationToken;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_massgen-tui")
}

fn call(name: &str, args: Value) -> Reply {
    Reply::stream([
        Chunk::text("Let me use a tool. "),
        Chunk::tool_call(0, name, &args.to_string()),
    ])
    .finish("tool_calls")
}

fn answer(text: &str) -> Reply {
    Reply::stream([Chunk::tool_call(
        0,
        "new_answer",
        &json!({ "content": text }).to_string(),
    )])
    .finish("tool_calls")
}

fn vote(label: &str) -> Reply {
    Reply::stream([Chunk::tool_call(
        0,
        "vote",
        &json!({ "agent_id": label, "reason": "uses the tool result" }).to_string(),
    )])
    .finish("tool_calls")
}

fn has_tool_result(r: &RecordedRequest) -> bool {
    r.messages().iter().any(|m| m["role"] == "tool")
}

#[tokio::test]
async fn two_providers_use_mcp_tools_over_stdio_and_http_to_a_final_answer() {
    // The test server over streamable HTTP, in-process on a free port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mcp_port = listener.local_addr().unwrap().port();
    let shutdown = CancellationToken::new();
    let http_server = tokio::spawn(massgen_tui::mcp::serve_test_server_http(
        listener,
        shutdown.clone(),
    ));

    let server = ScriptedProvider::start().await;
    // Agent "calc" (ZAI profile): calls add_numbers over stdio, answers with the result.
    server.push_matching(
        // The presentation: MCP tools are offered, the workflow tools are not.
        |r: &RecordedRequest| {
            r.model() == Some("glm-test") && !r.tool_names().contains(&"new_answer".to_owned())
        },
        Reply::text("2 + 3 = 5, computed with the MCP tool."),
    );
    server.push_matching(
        |r: &RecordedRequest| r.model() == Some("glm-test") && !has_tool_result(r),
        call("mcp__tools__add_numbers", json!({"a": 2, "b": 3})),
    );
    server.push_for_model("glm-test", answer("2 + 3 = 5"));
    server.always_for_model("glm-test", vote("agent1"));
    // Agent "clock" (LM Studio profile): asks the HTTP server for the time, then answers.
    server.push_matching(
        |r: &RecordedRequest| r.model() == Some("local-test") && !has_tool_result(r),
        call("mcp__web__get_current_time", json!({})),
    );
    server.push_for_model(
        "local-test",
        answer("5 (and I checked the clock)").initial_delay(Duration::from_millis(100)),
    );
    server.always_for_model("local-test", vote("agent1"));

    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"agents:
  - id: "calc"
    backend:
      type: "zai"
      model: "glm-test"
      base_url: "{url}"
      mcp_servers:
        - name: "tools"
          type: "stdio"
          command: "{bin}"
          args: ["mcp", "test-server"]
  - id: "clock"
    backend:
      type: "lmstudio"
      model: "local-test"
      base_url: "{url}"
      mcp_servers:
        web:
          type: "streamable-http"
          url: "http://127.0.0.1:{mcp_port}/mcp"
          security:
            allow_localhost: true
ui:
  display_type: "simple"
"#,
        url = server.base_url(),
        bin = bin(),
    );
    let path = dir.path().join("mcp.yaml");
    std::fs::write(&path, cfg).unwrap();

    let out = run_cli(
        dir.path(),
        &[("ZAI_API_KEY", "zai-test-key")],
        &[
            "--config",
            path.to_str().unwrap(),
            "--json",
            "What is 2 + 3?",
        ],
    )
    .await;
    shutdown.cancel();
    let _ = http_server.await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");

    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finished = events.last().unwrap();
    assert_eq!(finished["msg"]["type"], "run_finished");
    assert_eq!(finished["msg"]["outcome"], "completed");
    assert_eq!(
        finished["msg"]["final_answer"],
        "2 + 3 = 5, computed with the MCP tool."
    );

    // Both MCP calls are events, on the right servers, and succeeded.
    let begins: Vec<&Value> = events
        .iter()
        .filter(|e| e["msg"]["type"] == "tool_call_begin" && e["msg"]["kind"] == "mcp")
        .collect();
    let servers: Vec<&str> = begins
        .iter()
        .map(|e| e["msg"]["server"].as_str().unwrap_or_default())
        .collect();
    assert!(servers.contains(&"tools"), "{servers:?}");
    assert!(servers.contains(&"web"), "{servers:?}");
    let add_end = events
        .iter()
        .find(|e| {
            e["msg"]["type"] == "tool_call_end" && e["msg"]["tool"] == "mcp__tools__add_numbers"
        })
        .expect("add_numbers ended");
    assert_eq!(add_end["msg"]["status"], "ok");
    assert!(add_end["msg"]["result"].as_str().unwrap().contains('5'));
    assert!(add_end["call_id"].is_string() && add_end["agent"] == "calc");

    // The models got the MCP tools (alongside new_answer) and the results as tool messages.
    let reqs = server.chat_requests();
    let first_calc = reqs.iter().find(|r| r.model() == Some("glm-test")).unwrap();
    let names = first_calc.tool_names();
    assert!(names.contains(&"new_answer".to_owned()), "{names:?}");
    assert!(
        names.contains(&"mcp__tools__add_numbers".to_owned()),
        "{names:?}"
    );
    let second_calc = reqs
        .iter()
        .find(|r| r.model() == Some("glm-test") && has_tool_result(r))
        .unwrap();
    let tool_msg = second_calc
        .messages()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert!(tool_msg["content"].as_str().unwrap().contains('5'));
    assert!(
        reqs.iter()
            .filter(|r| r.model() == Some("local-test"))
            .any(|r| r
                .tool_names()
                .contains(&"mcp__web__get_current_time".to_owned()))
    );
}
