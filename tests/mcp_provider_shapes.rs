//! The MCP tool loop for every Chat Completions provider profile, in every tool-call shape the
//! provider families stream: each profile's capability flags shape the requests (content `""`
//! vs `null`, schema keywords, name limits), each shape is how some family sends tool calls, and
//! in every case the model's MCP call runs on the real test server (`massgen-tui mcp
//! test-server`) and its result goes back to the model as a `tool` message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use massgen_tui::app::{AppOptions, Session};
use massgen_tui::config::providers::{PROVIDERS, WireApi};
use massgen_tui::config::{self, ConfigFormat, Env};
use massgen_tui::protocol::RunOutcome;
use serde_json::json;
use std::time::Duration;
use support::{Chunk, RecordedRequest, Reply, ScriptedProvider};
use tokio_util::sync::CancellationToken;

const ARGS: &str = r#"{"a": 20, "b": 22}"#;
const TOOL: &str = "mcp__calc__add_numbers";

/// How a provider family streams one tool call.
fn shapes() -> Vec<(&'static str, Vec<Chunk>, &'static str)> {
    let (a1, a2) = ARGS.split_at(9);
    vec![
        // OpenAI, Azure, most hosted APIs: id and name once, arguments in fragments.
        (
            "fragmented",
            vec![
                Chunk::tool_call_start(0, Some("call_f"), TOOL),
                Chunk::tool_args(0, a1),
                Chunk::tool_args(0, a2),
            ],
            "tool_calls",
        ),
        // vLLM / SGLang / llama.cpp: the whole call in one chunk.
        ("whole", vec![Chunk::tool_call(0, TOOL, ARGS)], "tool_calls"),
        // Some gateways repeat id, type and name in every fragment.
        (
            "repeated-ids",
            vec![
                Chunk::tool_call_fragment(Some(0), Some("call_r"), Some(TOOL), Some(a1)),
                Chunk::tool_call_fragment(Some(0), Some("call_r"), Some(TOOL), Some(a2)),
            ],
            "tool_calls",
        ),
        // Servers that send no id at all.
        (
            "no-id",
            vec![Chunk::tool_call_fragment(
                Some(0),
                None,
                Some(TOOL),
                Some(ARGS),
            )],
            "tool_calls",
        ),
        // Ollama and some local parsers: finish_reason "stop" after the tool call.
        (
            "stop-after-call",
            vec![Chunk::tool_call(0, TOOL, ARGS)],
            "stop",
        ),
        // Gemini's compatibility layer: no `index` on the call.
        (
            "no-index",
            vec![Chunk::tool_call_fragment(
                None,
                Some("call_g"),
                Some(TOOL),
                Some(ARGS),
            )],
            "tool_calls",
        ),
        // Legacy `function_call` deltas (old OpenAI-compatible servers).
        (
            "legacy-function-call",
            vec![
                Chunk::function_call(Some(TOOL), Some(a1)),
                Chunk::function_call(None, Some(a2)),
            ],
            "function_call",
        ),
    ]
}

fn tool_result(r: &RecordedRequest) -> Option<String> {
    r.messages()
        .iter()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
async fn every_profile_runs_the_mcp_loop_in_every_tool_call_shape() {
    let server = ScriptedProvider::start().await;
    let bin = env!("CARGO_BIN_EXE_massgen-tui");
    let profiles: Vec<_> = PROVIDERS
        .iter()
        .filter(|p| p.api == WireApi::ChatCompletions)
        .collect();
    assert!(
        profiles.len() >= 15,
        "expected every OpenAI-compatible profile"
    );
    let shapes = shapes();
    let mut checked = 0;
    for (pi, profile) in profiles.iter().enumerate() {
        // One shape per profile, cycling, plus every shape on the first profile.
        let picks: Vec<usize> = if pi == 0 {
            (0..shapes.len()).collect()
        } else {
            vec![pi % shapes.len()]
        };
        for si in picks {
            let (shape, chunks, finish) = &shapes[si];
            let model = format!("m-{}-{shape}", profile.id);
            let m1 = model.clone();
            server.push_matching(
                move |r: &RecordedRequest| {
                    r.model() == Some(m1.as_str()) && tool_result(r).is_none()
                },
                Reply::stream(chunks.clone()).finish(finish),
            );
            let m2 = model.clone();
            server.push_matching(
                move |r: &RecordedRequest| {
                    r.model() == Some(m2.as_str()) && tool_result(r).is_some()
                },
                Reply::stream([Chunk::tool_call(
                    0,
                    "new_answer",
                    &json!({"content": "20 + 22 = 42"}).to_string(),
                )])
                .finish("tool_calls"),
            );
            let m3 = model.clone();
            server.always_matching(
                move |r: &RecordedRequest| r.model() == Some(m3.as_str()),
                Reply::stream([Chunk::tool_call(
                    0,
                    "vote",
                    &json!({"agent_id": "agent1", "reason": "checked"}).to_string(),
                )])
                .finish("tool_calls"),
            );
            let yaml = format!(
                r#"agent:
  id: solo
  backend:
    type: chatcompletion
    model: "{model}"
    base_url: "{u}"
    mcp_servers:
      - name: calc
        type: stdio
        command: "{bin}"
        args: ["mcp", "test-server"]
massgen_tui:
  final_presentation: false
"#,
                u = server.base_url(),
            );
            let mut plan = config::load_str(&yaml, ConfigFormat::Yaml, "shapes.yaml").unwrap();
            plan.agents[0].provider = profile;
            plan.agents[0].api_key = config::ApiKey::NotRequired;
            let env = Env::from_pairs(Vec::<(String, String)>::new());
            let keys = plan.resolve_keys(&env).unwrap();
            let opts = AppOptions {
                no_logs: true,
                ..AppOptions::default()
            };
            let mut session = Session::new(plan, &keys, &env, &opts).unwrap();
            let (report, _) = tokio::time::timeout(
                Duration::from_secs(60),
                session.ask("What is 20 + 22?", vec![], CancellationToken::new()),
            )
            .await
            .unwrap_or_else(|_| panic!("{} / {shape}: timed out", profile.id));
            session.shutdown().await;
            assert_eq!(
                report.outcome,
                RunOutcome::Completed,
                "{} / {shape}: {:?}",
                profile.id,
                report.error
            );
            assert_eq!(report.final_answer.as_deref(), Some("20 + 22 = 42"));
            let reqs: Vec<RecordedRequest> = server
                .chat_requests()
                .into_iter()
                .filter(|r| r.model() == Some(model.as_str()))
                .collect();
            // The tool was offered under its exposed name, within the profile's name limit.
            assert!(
                reqs[0].tool_names().iter().any(|n| n == TOOL),
                "{} / {shape}: {:?}",
                profile.id,
                reqs[0].tool_names()
            );
            // The result went back to the model, after the assistant turn that called it.
            let second = reqs
                .iter()
                .find(|r| tool_result(r).is_some())
                .unwrap_or_else(|| panic!("{} / {shape}: no tool result sent", profile.id));
            assert!(
                tool_result(second).unwrap().contains("42"),
                "{} / {shape}: {:?}",
                profile.id,
                tool_result(second)
            );
            let assistant = second
                .messages()
                .iter()
                .find(|m| m["role"] == "assistant")
                .unwrap();
            assert_eq!(assistant["tool_calls"][0]["function"]["name"], TOOL);
            checked += 1;
        }
    }
    assert!(checked >= profiles.len() + shapes.len() - 1);
}
