//! Replay is exact: a run against the scripted provider (with MCP tool calls over stdio) is
//! watched live by a TUI view model while the run recorder writes `events.jsonl`; replaying the
//! file into a fresh view model gives an equal model, and an equal rendered screen.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use massgen_tui::app::{AppOptions, Session};
use massgen_tui::config::{self, ConfigFormat, Env};
use massgen_tui::tui::model::ViewModel;
use serde_json::json;
use std::time::Duration;
use support::{Chunk, RecordedRequest, Reply, ScriptedProvider};
use tokio_util::sync::CancellationToken;

fn answers_seen(r: &RecordedRequest) -> usize {
    r.last_content("user")
        .map(|u| u.matches("<end of agent").count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_recorded_run_replays_to_the_same_view_model() {
    let server = ScriptedProvider::start().await;
    // Agent a: one MCP call, then an answer; b: answers; then both vote; a presents.
    server.push_matching(
        |r: &RecordedRequest| {
            r.model() == Some("ma") && !r.tool_names().contains(&"new_answer".to_owned())
        },
        Reply::stream([Chunk::text("Presenting: "), Chunk::text("5.")]).finish("stop"),
    );
    server.push_matching(
        |r: &RecordedRequest| {
            r.model() == Some("ma")
                && answers_seen(r) == 0
                && !r.messages().iter().any(|m| m["role"] == "tool")
        },
        Reply::stream([
            Chunk::reasoning_content("Use the tool. "),
            Chunk::tool_call(0, "mcp__calc__add_numbers", r#"{"a":2,"b":3}"#),
        ])
        .finish("tool_calls"),
    );
    server.push_for_model(
        "ma",
        Reply::stream([
            Chunk::tool_call_start(0, Some("c1"), "new_answer"),
            Chunk::tool_args(0, r#"{"content":"2 + 3 "#),
            Chunk::tool_args(0, r#"= 5 \u00e9\ud83d\ude00"}"#),
        ])
        .finish("tool_calls")
        .delay(Duration::from_millis(5)),
    );
    server.push_for_model(
        "mb",
        Reply::stream([
            Chunk::text("Five, "),
            Chunk::tool_call(0, "new_answer", &json!({"content": "five"}).to_string()),
        ])
        .finish("tool_calls")
        .initial_delay(Duration::from_millis(150)),
    );
    for m in ["ma", "mb"] {
        server.always_for_model(
            m,
            Reply::stream([Chunk::tool_call(
                0,
                "vote",
                &json!({"agent_id": "agent1", "reason": "tool-checked"}).to_string(),
            )])
            .finish("tool_calls"),
        );
    }
    let yaml = format!(
        r#"agents:
  - id: a
    backend:
      type: chatcompletion
      model: ma
      base_url: "{u}"
      mcp_servers:
        - name: calc
          type: stdio
          command: "{bin}"
          args: ["mcp", "test-server"]
  - id: b
    backend: {{type: chatcompletion, model: mb, base_url: "{u}"}}
"#,
        u = server.base_url(),
        bin = env!("CARGO_BIN_EXE_massgen-tui"),
    );
    let plan = config::load_str(&yaml, ConfigFormat::Yaml, "replay-test.yaml").unwrap();
    let env = Env::from_pairs(Vec::<(String, String)>::new());
    let keys = plan.resolve_keys(&env).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let opts = AppOptions {
        run_dir: Some(runs.path().to_path_buf()),
        ..AppOptions::default()
    };
    let mut session = Session::new(plan, &keys, &env, &opts).unwrap();

    // Live: a view model fed from the event channel as the run goes.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let live = tokio::spawn(async move {
        let mut vm = ViewModel::default();
        while let Some(e) = rx.recv().await {
            vm.apply(&e);
        }
        vm
    });
    let (report, dir) = tokio::time::timeout(
        Duration::from_secs(60),
        session.ask("What is 2 + 3?", vec![tx], CancellationToken::new()),
    )
    .await
    .unwrap();
    session.shutdown().await;
    assert_eq!(
        report.outcome,
        massgen_tui::protocol::RunOutcome::Completed,
        "{:?}",
        report.error
    );
    let live = live.await.unwrap();

    // Replay: the recorded file into a fresh model.
    let recording = massgen_tui::replay::read_recording(&dir.unwrap()).unwrap();
    assert!(recording.damage.is_none());
    assert!(recording.events.iter().any(|e| matches!(
        &e.msg,
        massgen_tui::protocol::EventMsg::ToolCallEnd { tool, .. } if tool == "mcp__calc__add_numbers"
    )));
    let mut replayed = ViewModel::default();
    for e in &recording.events {
        replayed.apply(e);
    }
    assert_eq!(
        live, replayed,
        "the replayed view model differs from the live one"
    );
}
