//! End-to-end: two `type: openai` agents (the Responses API) run headless through the real
//! binary against the scripted provider's `/v1/responses`, one of them calling the built-in
//! MCP test server, to a final answer; the request bodies are checked for the Responses shape
//! (input items with the function_call / function_call_output round trip, flat tools,
//! `max_output_tokens`, `reasoning` and `text` passed through).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::scripted_provider::RChunk;
use support::{RecordedRequest, Reply, ScriptedProvider, run_cli};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_massgen-tui")
}

fn function_call(call_id: &str, name: &str, args: Value) -> Reply {
    let mut chunks = vec![RChunk::reasoning_summary("I should use a tool.")];
    chunks.extend(RChunk::function_call(1, call_id, name, &args.to_string()));
    Reply::responses_stream(chunks).usage(120, 30)
}

fn has_output_item(r: &RecordedRequest) -> bool {
    r.input()
        .iter()
        .any(|item| item["type"] == "function_call_output")
}

#[tokio::test]
async fn openai_responses_agents_use_an_mcp_tool_to_a_final_answer() {
    let server = ScriptedProvider::start().await;
    // Agent "calc": add_numbers through MCP, then new_answer, then votes; presents at the end.
    server.push_matching(
        |r: &RecordedRequest| {
            r.model() == Some("gpt-calc") && !r.tool_names().contains(&"new_answer".to_owned())
        },
        Reply::responses_stream([
            RChunk::text("2 + 3 = 5, "),
            RChunk::text("computed with the MCP tool."),
        ]),
    );
    server.push_matching(
        |r: &RecordedRequest| r.model() == Some("gpt-calc") && !has_output_item(r),
        function_call(
            "call_add",
            "mcp__tools__add_numbers",
            json!({ "a": 2, "b": 3 }),
        ),
    );
    server.push_for_model(
        "gpt-calc",
        function_call("call_ans", "new_answer", json!({ "content": "2 + 3 = 5" })),
    );
    server.always_for_model(
        "gpt-calc",
        function_call(
            "call_vote",
            "vote",
            json!({ "agent_id": "agent1", "reason": "it used the tool" }),
        ),
    );
    // Agent "plain": answers, then votes for agent1.
    server.push_for_model(
        "gpt-plain",
        function_call("call_p", "new_answer", json!({ "content": "5" }))
            .initial_delay(Duration::from_millis(100)),
    );
    server.always_for_model(
        "gpt-plain",
        function_call(
            "call_pv",
            "vote",
            json!({ "agent_id": "agent1", "reason": "shows the work" }),
        ),
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"agents:
  - id: "calc"
    backend:
      type: "openai"
      model: "gpt-calc"
      base_url: "{url}"
      max_tokens: 777
      reasoning:
        effort: "low"
        summary: "auto"
      text:
        verbosity: "low"
      mcp_servers:
        - name: "tools"
          type: "stdio"
          command: "{bin}"
          args: ["mcp", "test-server"]
  - id: "plain"
    backend:
      type: "openai"
      model: "gpt-plain"
      base_url: "{url}"
ui:
  display_type: "simple"
"#,
        url = server.base_url(),
        bin = bin(),
    );
    let path = dir.path().join("responses.yaml");
    std::fs::write(&path, cfg).unwrap();

    let out = run_cli(
        dir.path(),
        &[("OPENAI_API_KEY", "sk-openai-test")],
        &[
            "--config",
            path.to_str().unwrap(),
            "--json",
            "What is 2 + 3?",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(
        !stderr.contains("sk-openai-test"),
        "the key leaked:\n{stderr}"
    );

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
    let add_end = events
        .iter()
        .find(|e| {
            e["msg"]["type"] == "tool_call_end" && e["msg"]["tool"] == "mcp__tools__add_numbers"
        })
        .expect("add_numbers ran");
    assert_eq!(add_end["msg"]["status"], "ok");

    // Every model request went to /v1/responses, none to Chat Completions.
    assert!(server.chat_requests().is_empty());
    let reqs = server.responses_requests();
    assert!(reqs.iter().all(|r| r.path == "/v1/responses"
        && r.header("authorization") == Some("Bearer sk-openai-test")
        && r.is_streaming()));

    let first = reqs.iter().find(|r| r.model() == Some("gpt-calc")).unwrap();
    assert_eq!(first.body["max_output_tokens"], json!(777));
    assert!(first.body.get("max_tokens").is_none());
    assert_eq!(
        first.body["reasoning"],
        json!({ "effort": "low", "summary": "auto" })
    );
    assert_eq!(first.body["text"], json!({ "verbosity": "low" }));
    assert!(first.body.get("messages").is_none());
    for tool in first.tools() {
        assert_eq!(tool["type"], "function", "{tool}");
        assert!(
            tool["name"].is_string() && tool.get("function").is_none(),
            "{tool}"
        );
        assert!(tool["parameters"].is_object(), "{tool}");
    }
    let names = first.tool_names();
    assert!(names.contains(&"new_answer".to_owned()), "{names:?}");
    assert!(
        names.contains(&"mcp__tools__add_numbers".to_owned()),
        "{names:?}"
    );
    assert_eq!(first.input()[0]["role"], "system");
    assert!(first.input().iter().any(|i| i["role"] == "user"));

    // The round trip: the call and its result come back as input items.
    let second = reqs
        .iter()
        .find(|r| r.model() == Some("gpt-calc") && has_output_item(r))
        .unwrap();
    let call = second
        .input()
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap();
    assert_eq!(call["call_id"], "call_add");
    assert_eq!(call["name"], "mcp__tools__add_numbers");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({ "a": 2, "b": 3 })
    );
    let output = second
        .input()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap();
    assert_eq!(output["call_id"], "call_add");
    assert!(output["output"].as_str().unwrap().contains('5'), "{output}");

    // The second agent has no pass-through keys and no MCP tools.
    let plain = reqs
        .iter()
        .find(|r| r.model() == Some("gpt-plain"))
        .unwrap();
    assert!(plain.body.get("max_output_tokens").is_none());
    assert!(!plain.tool_names().iter().any(|n| n.starts_with("mcp__")),);
}
