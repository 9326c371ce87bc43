//! The Chat Completions backend against the scripted provider: every wire shape, request
//! option, error, retry, timeout and cancellation behaviour of issue 3.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::StreamExt;
use massgen_tui::backend::{
    AssistantContent, AzureOptions, BackendError, BackendEvent, ChatBackend,
    ChatCompletionsBackend, ChatCompletionsConfig, ChatMessage, ChatRequest, FinishReason,
    HttpOptions, RetryPolicy, ToolCall, ToolChoice, ToolSpec, Usage, WireOptions,
};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Chunk, Reply, ScriptedProvider};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn fast_http() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        idle_read_timeout: Duration::from_secs(5),
        non_streaming_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_total: Duration::from_secs(10),
        },
    }
}

fn config(server: &ScriptedProvider, wire: WireOptions) -> ChatCompletionsConfig {
    ChatCompletionsConfig::new("Scripted", server.base_url(), "test-model")
        .with_api_key("sk-test-SECRET-123")
        .with_wire(wire)
        .with_http(fast_http())
}

fn backend(server: &ScriptedProvider, wire: WireOptions) -> ChatCompletionsBackend {
    ChatCompletionsBackend::new(config(server, wire)).unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage::system("be brief"), ChatMessage::user(text)],
        ..ChatRequest::default()
    }
}

fn tool(name: &str) -> ToolSpec {
    ToolSpec {
        name: name.to_owned(),
        description: format!("the {name} tool"),
        parameters: json!({
            "type": "object",
            "properties": { "content": { "type": "string" } },
            "required": ["content"],
        }),
    }
}

fn ask_with_tools(text: &str) -> ChatRequest {
    ChatRequest {
        tools: vec![tool("new_answer"), tool("vote")],
        ..ask(text)
    }
}

/// Run one call to completion: the events and the error that ended it, if any.
async fn run(
    b: &ChatCompletionsBackend,
    request: ChatRequest,
) -> (Vec<BackendEvent>, Option<BackendError>) {
    let fut = async {
        let mut stream = b.stream(request, CancellationToken::new());
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(e) => events.push(e),
                Err(e) => {
                    assert!(
                        stream.next().await.is_none(),
                        "the stream must end after an error"
                    );
                    return (events, Some(e));
                }
            }
        }
        (events, None)
    };
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("backend call hung")
}

async fn run_ok(b: &ChatCompletionsBackend, request: ChatRequest) -> Vec<BackendEvent> {
    let (events, err) = run(b, request).await;
    assert!(err.is_none(), "unexpected error {err:?} after {events:?}");
    events
}

async fn run_err(b: &ChatCompletionsBackend, request: ChatRequest) -> BackendError {
    let (events, err) = run(b, request).await;
    err.unwrap_or_else(|| panic!("expected an error, got {events:?}"))
}

fn text(events: &[BackendEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn reasoning(events: &[BackendEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::ReasoningDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn calls(events: &[BackendEvent]) -> Vec<ToolCall> {
    events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn finish(events: &[BackendEvent]) -> FinishReason {
    match events.last() {
        Some(BackendEvent::Done { finish_reason }) => finish_reason.clone(),
        other => panic!("the last event must be Done, got {other:?}"),
    }
}

fn usage(events: &[BackendEvent]) -> Usage {
    events
        .iter()
        .find_map(|e| match e {
            BackendEvent::Usage(u) => Some(*u),
            _ => None,
        })
        .expect("a Usage event")
}

fn retries(events: &[BackendEvent]) -> Vec<(u32, Duration, BackendError)> {
    events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::Retrying {
                attempt,
                delay,
                error,
            } => Some((*attempt, *delay, error.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SSE framing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn streams_text_with_lf_framing() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([Chunk::text("Hel"), Chunk::text("lo")]).finish("stop"));
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(events[0], BackendEvent::TextDelta("Hel".into()));
    assert_eq!(text(&events), "Hello");
    assert_eq!(finish(&events), FinishReason::Stop);
}

#[tokio::test]
async fn streams_text_with_crlf_framing() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::text("a"), Chunk::text("b")])
            .finish("stop")
            .crlf(),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "ab");
    assert_eq!(finish(&events), FinishReason::Stop);
}

#[tokio::test]
async fn keepalive_comments_and_multiline_data_are_handled() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::comment("ping"),
            Chunk::raw(": OPENROUTER PROCESSING\r\n\r\n"),
            Chunk::raw(
                "data: {\"choices\":[{\"index\":0,\n\
                 data: \"delta\":{\"content\":\"multi\"}}]}\n\n",
            ),
            Chunk::comment("ping"),
            Chunk::text("-line"),
        ])
        .finish("stop"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "multi-line");
}

#[tokio::test]
async fn stream_without_done_but_with_finish_reason_completes() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::text("ok")])
            .finish("length")
            .without_done(),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "ok");
    assert_eq!(finish(&events), FinishReason::Length);
}

#[tokio::test]
async fn stream_without_done_or_finish_reason_flushes_tool_calls_and_reports_unknown() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::text("x"),
            Chunk::tool_call(0, "vote", r#"{"agent_id":"agent1"}"#),
        ])
        .without_done(),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(calls(&events).len(), 1);
    assert_eq!(calls(&events)[0].name, "vote");
    assert_eq!(finish(&events), FinishReason::Unknown);
}

#[tokio::test]
async fn empty_200_body_is_a_malformed_response_with_a_hint() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::empty());
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    match &err {
        BackendError::MalformedResponse(msg) => {
            assert!(msg.contains("empty body"), "{msg}");
            assert!(msg.contains("base_url"), "{msg}");
        }
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(server.chat_requests().len(), 1, "not retried");
}

#[tokio::test]
async fn error_object_inside_the_stream_is_a_typed_error() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([
        Chunk::text("partial "),
        Chunk::error(json!(502), "Provider returned error"),
        Chunk::text("never shown"),
    ]));
    let (events, err) = run(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "partial ");
    match err {
        Some(BackendError::Server {
            status: 502,
            message,
        }) => {
            assert!(message.contains("Provider returned error"), "{message}")
        }
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(
        server.chat_requests().len(),
        1,
        "no retry after text was streamed"
    );
}

#[tokio::test]
async fn context_error_inside_the_stream_is_context_too_long() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([Chunk::data(
        r#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#,
    )]));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        matches!(err, BackendError::ContextTooLong { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn event_error_frames_are_typed_errors() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([Chunk::raw(
        "event: error\ndata: {\"message\":\"Invalid API key\",\"code\":401}\n\n",
    )]));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        matches!(err, BackendError::Auth { status: 401, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn html_error_body_gives_a_short_clean_message() {
    let server = ScriptedProvider::start().await;
    let page = format!(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>{}</style></head>\
         <body><h1>Bad Gateway</h1><p>nginx</p></body></html>",
        "body{color:red}".repeat(200)
    );
    server.set_fallback(Reply::html(502, &page));
    let b =
        ChatCompletionsBackend::new(config(&server, WireOptions::OPENAI).with_http(HttpOptions {
            retry: RetryPolicy::NONE,
            ..fast_http()
        }))
        .unwrap();
    let err = run_err(&b, ask("hi")).await;
    match &err {
        BackendError::Server {
            status: 502,
            message,
        } => {
            assert!(message.contains("502 Bad Gateway"), "{message}");
            assert!(!message.contains('<'), "no markup: {message}");
            assert!(message.len() < 200, "short: {message}");
        }
        other => panic!("wrong error {other:?}"),
    }
}

#[tokio::test]
async fn plain_text_error_body_is_kept_short() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::plain(
        400,
        &format!("bad things happened {}", "x ".repeat(2000)),
    ));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    match &err {
        BackendError::BadRequest {
            status: 400,
            message,
        } => {
            assert!(message.starts_with("bad things happened"), "{message}");
            assert!(message.chars().count() <= 301, "{}", message.len());
        }
        other => panic!("wrong error {other:?}"),
    }
}

#[tokio::test]
async fn html_page_with_status_200_is_malformed_and_points_at_base_url() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::html(
        200,
        "<html><head><title>Welcome to nginx!</title></head></html>",
    ));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    match &err {
        BackendError::MalformedResponse(m) => {
            assert!(
                m.contains("Welcome to nginx!") && m.contains("base_url"),
                "{m}"
            )
        }
        other => panic!("wrong error {other:?}"),
    }
}

#[tokio::test]
async fn non_utf8_bytes_are_replaced_not_fatal() {
    let server = ScriptedProvider::start().await;
    let mut raw = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe]);
    raw.extend_from_slice(b" ok\"}}]}\n\n");
    server.push(Reply::stream([Chunk::bytes(&raw), Chunk::text("!")]).finish("stop"));
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "caf\u{FFFD}\u{FFFD} ok!");
}

#[tokio::test]
async fn malformed_lines_are_skipped() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::text("a"), Chunk::malformed(), Chunk::text("b")]).finish("stop"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "ab");
}

#[tokio::test]
async fn a_stream_of_only_garbage_is_malformed() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([
        Chunk::malformed(),
        Chunk::data("hello there"),
    ]));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        matches!(err, BackendError::MalformedResponse(ref m) if m.contains("valid JSON")),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_that_ignores_stream_true_and_sends_json_still_works() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::json(json!({
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1}
    })));
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "whole");
    assert_eq!(
        usage(&events),
        Usage {
            input_tokens: 3,
            output_tokens: 1,
            estimated: false
        }
    );
}

// ---------------------------------------------------------------------------------------------
// deltas
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn explicit_nulls_are_ignored() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::delta(json!({"role": "assistant", "content": null})),
            Chunk::delta(json!({"role": null, "content": null, "tool_calls": null, "function_call": null, "reasoning_content": null})),
            Chunk::text("fine"),
            Chunk::Object(json!({"choices": [{"index": 0, "delta": {"content": null}, "finish_reason": "stop"}], "usage": null})),
        ]),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "fine");
    assert_eq!(finish(&events), FinishReason::Stop);
}

#[tokio::test]
async fn reasoning_content_and_reasoning_fields_are_both_read() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::reasoning_content("think "),
            Chunk::reasoning("more"),
            Chunk::text("answer"),
        ])
        .finish("stop"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(reasoning(&events), "think more");
    assert_eq!(text(&events), "answer");
    let first_text = events
        .iter()
        .position(|e| matches!(e, BackendEvent::TextDelta(_)))
        .unwrap();
    let last_reasoning = events
        .iter()
        .rposition(|e| matches!(e, BackendEvent::ReasoningDelta(_)))
        .unwrap();
    assert!(last_reasoning < first_text, "order preserved");
}

#[tokio::test]
async fn json_escapes_and_surrogate_pairs_decode() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::data(r#"{"choices":[{"index":0,"delta":{"content":"\ud83d\ude00 caf\u00e9 \"q\"\n"}}]}"#),
            Chunk::data(
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"new_answer","arguments":"{\"content\":\"\\ud83d\\ude80 \ud83c\udf89 tab\\t\"}"}}]}}]}"#,
            ),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    assert_eq!(text(&events), "😀 café \"q\"\n");
    let call = &calls(&events)[0];
    assert_eq!(call.arguments().unwrap()["content"], json!("🚀 🎉 tab\t"));
}

// ---------------------------------------------------------------------------------------------
// tool calls
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fragmented_arguments_with_id_and_name_sent_once() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::text("Let me answer."),
            Chunk::tool_call_start(0, Some("call_abc"), "new_answer"),
            Chunk::tool_args(0, "{\"con"),
            Chunk::tool_args(0, "tent\": \"the "),
            Chunk::tool_args(0, "answer\"}"),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let started = events
        .iter()
        .position(|e| matches!(e, BackendEvent::ToolCallStarted { index: 0, id, name } if id == "call_abc" && name == "new_answer"))
        .expect("ToolCallStarted");
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::ToolCallArgsDelta { index: 0, delta } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        deltas,
        vec!["{\"con", "tent\": \"the ", "answer\"}"],
        "streamed live"
    );
    let first_delta = events
        .iter()
        .position(|e| matches!(e, BackendEvent::ToolCallArgsDelta { .. }))
        .unwrap();
    assert!(started < first_delta);
    let c = calls(&events);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id, "call_abc");
    assert_eq!(c[0].name, "new_answer");
    assert_eq!(c[0].arguments().unwrap()["content"], json!("the answer"));
    assert_eq!(finish(&events), FinishReason::ToolCalls);
}

#[tokio::test]
async fn id_type_and_name_repeated_in_every_fragment_are_not_appended() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::tool_call_fragment(
                Some(0),
                Some("call_1"),
                Some("vote"),
                Some("{\"agent_id\":"),
            ),
            Chunk::tool_call_fragment(Some(0), Some("call_1"), Some("vote"), Some("\"agent2\"}")),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let c = calls(&events);
    assert_eq!(
        c,
        vec![ToolCall {
            id: "call_1".into(),
            name: "vote".into(),
            raw_arguments: "{\"agent_id\":\"agent2\"}".into()
        }]
    );
    let starts = events
        .iter()
        .filter(|e| matches!(e, BackendEvent::ToolCallStarted { .. }))
        .count();
    assert_eq!(starts, 1);
}

#[tokio::test]
async fn missing_ids_are_synthesised_and_stable_within_the_stream() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::tool_call_fragment(Some(0), None, Some("new_answer"), Some("{}")),
            Chunk::tool_call_fragment(Some(1), None, Some("vote"), Some("{}")),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let started: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::ToolCallStarted { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    let c = calls(&events);
    assert_eq!(c.len(), 2);
    assert!(
        c.iter()
            .all(|c| c.id.starts_with("call_") && c.id.len() > 6)
    );
    assert_ne!(c[0].id, c[1].id);
    assert_eq!(
        started,
        vec![c[0].id.clone(), c[1].id.clone()],
        "same id in Started and ToolCall"
    );
}

#[tokio::test]
async fn parallel_tool_calls_are_assembled_by_index_and_emitted_in_index_order() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::tool_call_start(1, Some("call_b"), "vote"),
            Chunk::tool_call_start(0, Some("call_a"), "new_answer"),
            Chunk::tool_args(1, "{\"agent_id\":"),
            Chunk::tool_args(0, "{\"content\":"),
            Chunk::tool_args(0, "\"A\"}"),
            Chunk::tool_args(1, "\"agent1\"}"),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let c = calls(&events);
    assert_eq!(c.len(), 2);
    assert_eq!(
        (
            c[0].id.as_str(),
            c[0].name.as_str(),
            c[0].raw_arguments.as_str()
        ),
        ("call_a", "new_answer", "{\"content\":\"A\"}")
    );
    assert_eq!(
        (
            c[1].id.as_str(),
            c[1].name.as_str(),
            c[1].raw_arguments.as_str()
        ),
        ("call_b", "vote", "{\"agent_id\":\"agent1\"}")
    );
}

#[tokio::test]
async fn tool_calls_without_index_are_told_apart_by_id() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::tool_call_fragment(
                None,
                Some("g1"),
                Some("new_answer"),
                Some("{\"content\":\"x\"}"),
            ),
            Chunk::tool_call_fragment(
                None,
                Some("g2"),
                Some("vote"),
                Some("{\"agent_id\":\"agent1\"}"),
            ),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let c = calls(&events);
    assert_eq!(
        c.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec!["g1", "g2"]
    );
    assert!(c.iter().all(|c| c.arguments().is_ok()));
}

#[tokio::test]
async fn legacy_function_call_alone_becomes_a_tool_call() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::function_call(Some("new_answer"), Some("{\"content\":")),
            Chunk::function_call(None, Some("\"legacy\"}")),
        ])
        .finish("function_call"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let c = calls(&events);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].name, "new_answer");
    assert_eq!(c[0].arguments().unwrap()["content"], json!("legacy"));
    assert!(c[0].id.starts_with("call_"));
    assert_eq!(finish(&events), FinishReason::ToolCalls);
}

#[tokio::test]
async fn legacy_function_call_alongside_tool_calls_is_not_duplicated() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::delta(json!({
            "tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "vote", "arguments": "{\"agent_id\":\"agent1\"}"}}],
            "function_call": {"name": "vote", "arguments": "{\"agent_id\":\"agent1\"}"},
        }))])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let c = calls(&events);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].raw_arguments, "{\"agent_id\":\"agent1\"}");
}

#[tokio::test]
async fn tool_calls_followed_by_finish_reason_stop_are_kept() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::tool_call(0, "vote", "{\"agent_id\":\"agent1\"}")]).finish("stop"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    assert_eq!(calls(&events).len(), 1);
    assert_eq!(finish(&events), FinishReason::ToolCalls);
}

#[tokio::test]
async fn invalid_json_arguments_reach_the_engine_as_a_clear_tool_error() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::tool_call(
            0,
            "new_answer",
            "{\"content\": \"unterminated",
        )])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    let c = &calls(&events)[0];
    assert_eq!(c.raw_arguments, "{\"content\": \"unterminated");
    let err = c.arguments().unwrap_err();
    assert!(
        err.contains("new_answer") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[tokio::test]
async fn cumulative_argument_resends_are_tolerated() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::tool_call_start(0, Some("c"), "new_answer"),
            Chunk::tool_args(0, "{\"content\":"),
            Chunk::tool_args(0, "{\"content\":\"abc"),
            Chunk::tool_args(0, "{\"content\":\"abc\"}"),
        ])
        .finish("tool_calls"),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask_with_tools("hi")).await;
    assert_eq!(calls(&events)[0].raw_arguments, "{\"content\":\"abc\"}");
}

// ---------------------------------------------------------------------------------------------
// usage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn trailing_usage_chunk_is_read_when_requested() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([Chunk::text("hi")])
            .finish("stop")
            .usage(12, 5),
    );
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(
        usage(&events),
        Usage {
            input_tokens: 12,
            output_tokens: 5,
            estimated: false
        }
    );
    let req = &server.chat_requests()[0];
    assert_eq!(
        req.pointer("/stream_options/include_usage"),
        Some(&json!(true))
    );
    // Usage comes before Done.
    assert!(matches!(events[events.len() - 2], BackendEvent::Usage(_)));
}

#[tokio::test]
async fn usage_is_estimated_and_marked_when_not_reported() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([Chunk::text(&"word ".repeat(40))]).finish("stop"));
    let events = run_ok(
        &backend(&server, WireOptions::CONSERVATIVE),
        ask(&"question ".repeat(20)),
    )
    .await;
    let u = usage(&events);
    assert!(u.estimated);
    assert_eq!(u.output_tokens, 50, "200 chars / 4");
    assert!(u.input_tokens >= 45, "{u:?}");
    assert!(
        server.chat_requests()[0]
            .pointer("/stream_options")
            .is_none(),
        "not sent when unsupported"
    );
}

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------

fn history_with_tool_round() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::system("sys"),
            ChatMessage::user("q"),
            ChatMessage::assistant(
                "",
                vec![ToolCall {
                    id: "call_1".into(),
                    name: "new_answer".into(),
                    raw_arguments: "{\"content\":\"a\"}".into(),
                }],
            ),
            ChatMessage::tool_result("call_1", "recorded"),
            ChatMessage::user("again"),
        ],
        tools: vec![tool("new_answer")],
        tool_choice: ToolChoice::Auto,
    }
}

async fn sent_body(wire: WireOptions, request: ChatRequest) -> Value {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("ok"));
    run_ok(&backend(&server, wire), request).await;
    server.chat_requests()[0].body.clone()
}

#[tokio::test]
async fn request_body_has_openai_message_and_tool_format() {
    let body = sent_body(WireOptions::OPENAI, history_with_tool_round()).await;
    assert_eq!(body["model"], json!("test-model"));
    assert_eq!(body["stream"], json!(true));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[0], json!({"role": "system", "content": "sys"}));
    assert_eq!(
        messages[2]["tool_calls"],
        json!([{"id": "call_1", "type": "function", "function": {"name": "new_answer", "arguments": "{\"content\":\"a\"}"}}])
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "recorded"})
    );
    assert_eq!(body["tools"][0]["type"], json!("function"));
    assert_eq!(body["tools"][0]["function"]["name"], json!("new_answer"));
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["content"])
    );
    assert!(
        body.get("tool_choice").is_none(),
        "auto is the default and not sent"
    );
}

#[tokio::test]
async fn assistant_content_next_to_tool_calls_follows_the_wire_option() {
    for (mode, expected) in [
        (AssistantContent::EmptyString, Some(json!(""))),
        (AssistantContent::Null, Some(Value::Null)),
        (AssistantContent::Omit, None),
    ] {
        let wire = WireOptions {
            assistant_content_with_tool_calls: mode,
            ..WireOptions::OPENAI
        };
        let body = sent_body(wire, history_with_tool_round()).await;
        let assistant = body["messages"][2].as_object().unwrap();
        assert_eq!(assistant.get("content").cloned(), expected, "{mode:?}");
    }
}

#[tokio::test]
async fn history_is_sanitised_like_massgen() {
    let request = ChatRequest {
        messages: vec![
            ChatMessage::user("q"),
            // a call that was never answered: dropped, and the message with it (no content)
            ChatMessage::assistant(
                "",
                vec![ToolCall {
                    id: "lost".into(),
                    name: "vote".into(),
                    raw_arguments: "{}".into(),
                }],
            ),
            // text plus an unanswered call: the text stays
            ChatMessage::assistant(
                "thinking",
                vec![ToolCall {
                    id: "".into(),
                    name: "vote".into(),
                    raw_arguments: "{}".into(),
                }],
            ),
            // a tool result whose call is unknown: dropped
            ChatMessage::tool_result("nobody", "orphan"),
            ChatMessage::user("next"),
        ],
        ..ChatRequest::default()
    };
    let body = sent_body(WireOptions::OPENAI, request).await;
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "thinking"},
            {"role": "user", "content": "next"},
        ])
    );
}

#[tokio::test]
async fn tool_choice_is_sent_only_as_supported_and_degraded_otherwise() {
    let mut req = ask_with_tools("hi");
    req.tool_choice = ToolChoice::Required;
    assert_eq!(
        sent_body(WireOptions::OPENAI, req.clone()).await["tool_choice"],
        json!("required")
    );
    assert!(
        sent_body(WireOptions::CONSERVATIVE, req.clone())
            .await
            .get("tool_choice")
            .is_none(),
        "required → auto"
    );

    req.tool_choice = ToolChoice::Function("vote".into());
    assert_eq!(
        sent_body(WireOptions::OPENAI, req.clone()).await["tool_choice"],
        json!({"type": "function", "function": {"name": "vote"}})
    );
    let only_required = WireOptions {
        tool_choice_named: false,
        ..WireOptions::OPENAI
    };
    assert_eq!(
        sent_body(only_required, req.clone()).await["tool_choice"],
        json!("required")
    );
    assert!(
        sent_body(WireOptions::CONSERVATIVE, req.clone())
            .await
            .get("tool_choice")
            .is_none()
    );

    req.tool_choice = ToolChoice::None;
    assert_eq!(
        sent_body(WireOptions::CONSERVATIVE, req.clone()).await["tool_choice"],
        json!("none")
    );

    // No tools: never a tool_choice (providers reject it).
    let mut plain = ask("hi");
    plain.tool_choice = ToolChoice::Required;
    assert!(
        sent_body(WireOptions::OPENAI, plain)
            .await
            .get("tool_choice")
            .is_none()
    );
}

#[tokio::test]
async fn pass_through_params_minus_rejected_and_owned_keys() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("ok"));
    let wire = WireOptions {
        rejected_params: &["logprobs"],
        ..WireOptions::OPENAI
    };
    let cfg = config(&server, wire)
        .with_param("temperature", json!(0.2))
        .with_param("max_tokens", json!(100))
        .with_param("reasoning_effort", json!("low"))
        .with_param("logprobs", json!(true))
        .with_param("model", json!("hijack"))
        .with_param("stream", json!(false))
        .with_param("messages", json!([]))
        .with_param("agent_id", json!("agent_a"))
        .with_param("cwd", json!("/tmp"))
        .with_param("enable_web_search", json!(true))
        .with_param("top_p", Value::Null)
        .with_param(
            "extra_body",
            json!({"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}, "model": "no"}),
        );
    let b = ChatCompletionsBackend::new(cfg).unwrap();
    run_ok(&b, ask("hi")).await;
    let body = &server.chat_requests()[0].body;
    assert_eq!(body["temperature"], json!(0.2));
    assert_eq!(body["max_tokens"], json!(100));
    assert_eq!(body["reasoning_effort"], json!("low"));
    assert_eq!(
        body["top_k"],
        json!(20),
        "extra_body merged at the top level"
    );
    assert_eq!(
        body["chat_template_kwargs"]["enable_thinking"],
        json!(false)
    );
    assert_eq!(body["model"], json!("test-model"));
    assert_eq!(body["stream"], json!(true));
    for absent in [
        "logprobs",
        "agent_id",
        "cwd",
        "enable_web_search",
        "top_p",
        "extra_body",
    ] {
        assert!(
            body.get(absent).is_none(),
            "{absent} must not be sent: {body}"
        );
    }
    assert_eq!(body["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn parallel_tool_calls_only_when_supported_and_with_tools() {
    async fn body_for(wire: WireOptions, request: ChatRequest) -> Value {
        let server = ScriptedProvider::start().await;
        server.push(Reply::text("ok"));
        let b = ChatCompletionsBackend::new(
            config(&server, wire).with_param("parallel_tool_calls", json!(false)),
        )
        .unwrap();
        run_ok(&b, request).await;
        server.chat_requests()[0].body.clone()
    }
    assert_eq!(
        body_for(WireOptions::OPENAI, ask_with_tools("x")).await["parallel_tool_calls"],
        json!(false)
    );
    assert!(
        body_for(WireOptions::CONSERVATIVE, ask_with_tools("x"))
            .await
            .get("parallel_tool_calls")
            .is_none()
    );
    assert!(
        body_for(WireOptions::OPENAI, ask("x"))
            .await
            .get("parallel_tool_calls")
            .is_none()
    );
}

#[tokio::test]
async fn strict_is_sent_only_for_qualifying_schemas_when_supported() {
    let strict_tool = ToolSpec {
        name: "vote".into(),
        description: "vote".into(),
        parameters: json!({"type": "object", "properties": {"agent_id": {"type": "string"}}, "required": ["agent_id"], "additionalProperties": false}),
    };
    let loose_tool = tool("new_answer"); // no additionalProperties: false
    let req = ChatRequest {
        tools: vec![strict_tool, loose_tool],
        ..ask("x")
    };
    let body = sent_body(WireOptions::OPENAI, req.clone()).await;
    assert_eq!(body["tools"][0]["function"]["strict"], json!(true));
    assert!(body["tools"][1]["function"].get("strict").is_none());
    let body = sent_body(WireOptions::CONSERVATIVE, req).await;
    assert!(body["tools"][0]["function"].get("strict").is_none());
}

#[tokio::test]
async fn schema_keywords_are_cleaned_for_picky_providers() {
    let wire = WireOptions {
        schema_unsupported_keywords: &["$schema", "format", "default"],
        schema_needs_properties: true,
        ..WireOptions::CONSERVATIVE
    };
    let req = ChatRequest {
        tools: vec![
            ToolSpec {
                name: "t".into(),
                description: "d".into(),
                parameters: json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                    "properties": {"when": {"type": "string", "format": "date-time", "default": "now"},
                                   "opts": {"type": "object"}}}),
            },
            ToolSpec {
                name: "u".into(),
                description: "no params".into(),
                parameters: Value::Null,
            },
        ],
        ..ask("x")
    };
    let body = sent_body(wire, req).await;
    let p = &body["tools"][0]["function"]["parameters"];
    assert!(p.get("$schema").is_none());
    assert_eq!(p["properties"]["when"], json!({"type": "string"}));
    assert_eq!(
        p["properties"]["opts"],
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(
        body["tools"][1]["function"]["parameters"],
        json!({"type": "object", "properties": {}})
    );
}

#[tokio::test]
async fn long_tool_names_are_shortened_on_the_wire_and_restored_in_calls() {
    let long = "mcp__filesystem_server__read_multiple_files_with_a_really_long_suffix_name";
    let server = ScriptedProvider::start().await;
    let wire = WireOptions {
        max_tool_name_len: 40,
        ..WireOptions::OPENAI
    };
    let b = backend(&server, wire);
    let req = ChatRequest {
        tools: vec![tool(long)],
        ..ask("x")
    };
    let wire_name = b.request_body(&req)["tools"][0]["function"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(wire_name.len() <= 40, "{wire_name}");
    server.push(Reply::stream([Chunk::tool_call(0, &wire_name, "{}")]).finish("tool_calls"));
    let events = run_ok(&b, req).await;
    assert_eq!(server.chat_requests()[0].tool_names(), vec![wire_name]);
    assert_eq!(calls(&events)[0].name, long);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, BackendEvent::ToolCallStarted { name, .. } if name == long))
    );
}

#[tokio::test]
async fn unreliable_streamed_tool_calls_use_a_non_streamed_request_for_tool_turns() {
    let server = ScriptedProvider::start().await;
    let wire = WireOptions {
        streamed_tool_calls_unreliable: true,
        ..WireOptions::CONSERVATIVE
    };
    let b = backend(&server, wire);
    server.push(
        Reply::stream([
            Chunk::reasoning_content("hmm"),
            Chunk::text("Here."),
            Chunk::tool_call(0, "new_answer", "{\"content\":\"A\"}"),
        ])
        .finish("tool_calls")
        .usage(7, 3),
    );
    let events = run_ok(&b, ask_with_tools("x")).await;
    let req = &server.chat_requests()[0];
    assert_eq!(req.body["stream"], json!(false));
    assert!(req.pointer("/stream_options").is_none());
    assert_eq!(reasoning(&events), "hmm");
    assert_eq!(text(&events), "Here.");
    assert_eq!(
        calls(&events)[0].arguments().unwrap()["content"],
        json!("A")
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, BackendEvent::ToolCallStarted { .. }))
    );
    assert_eq!(
        usage(&events),
        Usage {
            input_tokens: 7,
            output_tokens: 3,
            estimated: false
        }
    );
    assert_eq!(finish(&events), FinishReason::ToolCalls);

    // Turns without tools still stream.
    server.push(Reply::text("streamed"));
    let events = run_ok(&b, ask("x")).await;
    assert_eq!(text(&events), "streamed");
    assert_eq!(server.chat_requests()[1].body["stream"], json!(true));
}

#[tokio::test]
async fn bearer_auth_header_and_extra_headers_are_sent() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("ok"));
    let b = ChatCompletionsBackend::new(
        config(&server, WireOptions::OPENAI).with_header("HTTP-Referer", "https://example.org"),
    )
    .unwrap();
    run_ok(&b, ask("hi")).await;
    let req = &server.chat_requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-test-SECRET-123")
    );
    assert_eq!(req.header("http-referer"), Some("https://example.org"));
    assert_eq!(req.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn azure_uses_the_deployments_path_api_version_and_api_key_header() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("azure ok"));
    let cfg = ChatCompletionsConfig::new("Azure OpenAI", server.root_url(), "gpt-4o-deploy")
        .with_api_key("azure-SECRET")
        .with_http(fast_http())
        .with_azure(AzureOptions {
            api_version: "2024-12-01-preview".into(),
            deployment: None,
        });
    let b = ChatCompletionsBackend::new(cfg).unwrap();
    let events = run_ok(&b, ask("hi")).await;
    assert_eq!(text(&events), "azure ok");
    let req = &server.chat_requests()[0];
    assert_eq!(
        req.path,
        "/openai/deployments/gpt-4o-deploy/chat/completions"
    );
    assert_eq!(req.query.as_deref(), Some("api-version=2024-12-01-preview"));
    assert_eq!(req.header("api-key"), Some("azure-SECRET"));
    assert!(req.header("authorization").is_none());
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let server = ScriptedProvider::start().await;
    let cfg = config(&server, WireOptions::OPENAI).with_header("X-Api-Token", "hdr-SECRET");
    let b = ChatCompletionsBackend::new(cfg.clone()).unwrap();
    for dbg in [format!("{cfg:?}"), format!("{b:?}"), format!("{cfg:#?}")] {
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("redacted"), "{dbg}");
    }
}

#[tokio::test]
async fn invalid_config_gives_an_actionable_error() {
    let err =
        ChatCompletionsBackend::new(ChatCompletionsConfig::new("X", "not a url", "m")).unwrap_err();
    assert!(err.to_string().contains("base_url"), "{err}");
    let err = ChatCompletionsBackend::new(
        ChatCompletionsConfig::new("X", "http://h/v1", "m").with_api_key("bad\nkey"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("API key"), "{err}");
    assert!(!err.to_string().contains("bad\nkey"));
}

// ---------------------------------------------------------------------------------------------
// errors and retries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn auth_errors_are_typed_and_not_retried() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::error(401, "Incorrect API key provided"));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(
        err,
        BackendError::Auth {
            status: 401,
            message: "Incorrect API key provided".into()
        }
    );
    assert!(err.to_string().contains("Check the API key"));
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn context_too_long_is_detected_from_400_bodies() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::json_status(400, json!({"error": {"message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}})));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        matches!(&err, BackendError::ContextTooLong { message } if message.contains("128000")),
        "{err:?}"
    );
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn bad_request_carries_the_provider_message_and_is_not_retried() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::error(
        400,
        "Unrecognized request argument supplied: foo",
    ));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(
        err,
        BackendError::BadRequest {
            status: 400,
            message: "Unrecognized request argument supplied: foo".into()
        }
    );
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn not_found_hints_at_base_url_and_model() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::error(404, "The model `gpt-9` does not exist"));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        matches!(&err, BackendError::BadRequest { status: 404, message } if message.contains("gpt-9") && message.contains("base_url")),
        "{err:?}"
    );
}

#[tokio::test]
async fn exhausted_quota_429_is_not_retried() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::json_status(429, json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}})));
    let err = run_err(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        matches!(&err, BackendError::BadRequest { status: 429, message } if message.contains("billing")),
        "{err:?}"
    );
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_honours_retry_after_seconds() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::error(429, "slow down").retry_after("1"));
    server.push(Reply::text("after wait"));
    let started = std::time::Instant::now();
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 1);
    assert_eq!(r[0].1, Duration::from_secs(1));
    assert_eq!(
        r[0].2,
        BackendError::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
            message: "slow down".into()
        }
    );
    assert!(
        matches!(events[0], BackendEvent::Retrying { .. }),
        "the retry is announced before waiting"
    );
    assert_eq!(text(&events), "after wait");
    assert_eq!(server.chat_requests().len(), 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after_http_date_and_ms() {
    let server = ScriptedProvider::start().await;
    let date = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc2822()
        .replace("+0000", "GMT");
    server.push(Reply::error(429, "later").retry_after(&date));
    server.push(Reply::error(429, "ms").header("retry-after-ms", "120"));
    server.push(Reply::text("done"));
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    let r = retries(&events);
    assert_eq!(r.len(), 2);
    assert!(
        r[0].1 <= Duration::from_secs(2) && r[0].1 >= Duration::from_millis(900),
        "{:?}",
        r[0].1
    );
    assert_eq!(r[1].1, Duration::from_millis(120));
    assert_eq!(text(&events), "done");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::error(503, "overloaded"));
    server.push(Reply::html(502, "<html><title>Bad Gateway</title></html>"));
    server.push(Reply::text("third time lucky"));
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    let r = retries(&events);
    assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2]);
    assert!(matches!(r[0].2, BackendError::Server { status: 503, .. }));
    assert!(matches!(r[1].2, BackendError::Server { status: 502, .. }));
    for (_, delay, _) in &r {
        assert!(
            *delay <= Duration::from_millis(40),
            "capped by max_delay: {delay:?}"
        );
    }
    assert_eq!(text(&events), "third time lucky");
    assert_eq!(server.chat_requests().len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::error(500, "always broken"));
    let (events, err) = run(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(retries(&events).len(), 3, "max_retries");
    assert!(matches!(
        err,
        Some(BackendError::Server { status: 500, .. })
    ));
    assert_eq!(server.chat_requests().len(), 4);
}

#[tokio::test]
async fn retries_stop_at_the_total_time_budget() {
    let server = ScriptedProvider::start().await;
    server.set_fallback(Reply::error(429, "busy").retry_after("30"));
    let cfg = config(&server, WireOptions::OPENAI).with_http(HttpOptions {
        retry: RetryPolicy {
            max_total: Duration::from_secs(5),
            ..fast_http().retry
        },
        ..fast_http()
    });
    let (events, err) = run(&ChatCompletionsBackend::new(cfg).unwrap(), ask("hi")).await;
    assert!(
        retries(&events).is_empty(),
        "a 30 s wait does not fit a 5 s budget"
    );
    assert!(matches!(err, Some(BackendError::RateLimited { .. })));
}

#[tokio::test]
async fn broken_connection_after_streamed_text_is_not_retried() {
    let server = ScriptedProvider::start().await;
    server
        .push(Reply::stream([Chunk::text("half an ans"), Chunk::text("wer")]).disconnect_after(1));
    server.push(Reply::text("must not be requested"));
    let (events, err) = run(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    assert_eq!(text(&events), "half an ans");
    match err {
        Some(BackendError::Network(m)) => assert!(m.contains("not retried"), "{m}"),
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn connection_reset_before_the_first_byte_is_retried() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([Chunk::text("x")]).disconnect_after(0));
    server.push(Reply::text("second"));
    let events = run_ok(&backend(&server, WireOptions::OPENAI), ask("hi")).await;
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert!(matches!(r[0].2, BackendError::Network(_)));
    assert_eq!(text(&events), "second");
}

#[tokio::test]
async fn connection_refused_is_a_network_error_after_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = ChatCompletionsConfig::new("Nowhere", format!("http://127.0.0.1:{port}/v1"), "m")
        .with_http(fast_http());
    let (events, err) = run(&ChatCompletionsBackend::new(cfg).unwrap(), ask("hi")).await;
    assert_eq!(retries(&events).len(), 3);
    match err {
        Some(BackendError::Network(m)) => assert!(m.contains("127.0.0.1"), "{m}"),
        other => panic!("wrong error {other:?}"),
    }
}

#[tokio::test]
async fn timeout_before_the_first_byte_is_retried() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("too late").initial_delay(Duration::from_secs(3)));
    server.push(Reply::text("on time"));
    let cfg = config(&server, WireOptions::OPENAI).with_http(HttpOptions {
        idle_read_timeout: Duration::from_millis(300),
        ..fast_http()
    });
    let events = run_ok(&ChatCompletionsBackend::new(cfg).unwrap(), ask("hi")).await;
    let r = retries(&events);
    assert_eq!(r.len(), 1);
    assert!(
        matches!(&r[0].2, BackendError::Network(m) if m.contains("timeout")),
        "{:?}",
        r[0].2
    );
    assert_eq!(text(&events), "on time");
}

#[tokio::test]
async fn idle_timeout_between_chunks_is_a_network_error() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::stream([
        Chunk::text("start"),
        Chunk::pause(Duration::from_secs(3)),
        Chunk::text("never"),
    ]));
    let cfg = config(&server, WireOptions::OPENAI).with_http(HttpOptions {
        idle_read_timeout: Duration::from_millis(300),
        ..fast_http()
    });
    let started = std::time::Instant::now();
    let (events, err) = run(&ChatCompletionsBackend::new(cfg).unwrap(), ask("hi")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(text(&events), "start");
    assert!(
        matches!(&err, Some(BackendError::Network(m)) if m.contains("idle")),
        "{err:?}"
    );
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn retry_announcements_come_before_the_wait() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::error(429, "wait").retry_after("2"));
    server.push(Reply::text("ok"));
    let b = backend(&server, WireOptions::OPENAI);
    let mut stream = b.stream(ask("hi"), CancellationToken::new());
    let first = tokio::time::timeout(Duration::from_millis(1500), stream.next())
        .await
        .expect("announced at once");
    assert!(
        matches!(first, Some(Ok(BackendEvent::Retrying { attempt: 1, .. }))),
        "{first:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// cancellation
// ---------------------------------------------------------------------------------------------

fn endless_reply() -> Reply {
    Reply::stream((0..400).map(|i| Chunk::text(&format!("w{i} ")))).delay(Duration::from_millis(25))
}

#[tokio::test]
async fn cancellation_token_stops_the_http_request_at_once() {
    let server = ScriptedProvider::start().await;
    server.push(endless_reply());
    let b = backend(&server, WireOptions::OPENAI);
    let cancel = CancellationToken::new();
    let mut stream = b.stream(ask("hi"), cancel.clone());
    let first = stream.next().await;
    assert!(
        matches!(first, Some(Ok(BackendEvent::TextDelta(_)))),
        "{first:?}"
    );
    cancel.cancel();
    let next = tokio::time::timeout(Duration::from_millis(200), stream.next())
        .await
        .expect("cancel is immediate");
    assert_eq!(next, Some(Err(BackendError::Cancelled)));
    assert!(stream.next().await.is_none());
    assert!(
        server
            .wait_until(Duration::from_secs(3), |s| s.streams_aborted() == 1
                && s.connections_closed() >= 1)
            .await,
        "the server saw the connection close (aborted {}, closed {}/{})",
        server.streams_aborted(),
        server.connections_closed(),
        server.connections_opened()
    );
    assert_eq!(server.streams_completed(), 0);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let server = ScriptedProvider::start().await;
    server.push(endless_reply());
    let b = backend(&server, WireOptions::OPENAI);
    let mut stream = b.stream(ask("hi"), CancellationToken::new());
    assert!(matches!(
        stream.next().await,
        Some(Ok(BackendEvent::TextDelta(_)))
    ));
    drop(stream);
    assert!(
        server
            .wait_until(Duration::from_secs(3), |s| s.streams_aborted() == 1
                && s.connections_closed() >= 1)
            .await,
        "the server saw the connection close"
    );
}

#[tokio::test]
async fn cancellation_during_a_retry_wait_is_immediate() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::error(429, "wait").retry_after("5"));
    let b = backend(&server, WireOptions::OPENAI);
    let cancel = CancellationToken::new();
    let mut stream = b.stream(ask("hi"), cancel.clone());
    assert!(matches!(
        stream.next().await,
        Some(Ok(BackendEvent::Retrying { .. }))
    ));
    cancel.cancel();
    let next = tokio::time::timeout(Duration::from_millis(200), stream.next())
        .await
        .unwrap();
    assert_eq!(next, Some(Err(BackendError::Cancelled)));
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn nothing_is_sent_until_the_stream_is_polled() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("x"));
    let b = backend(&server, WireOptions::OPENAI);
    let stream = b.stream(ask("hi"), CancellationToken::new());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.request_count(), 0);
    drop(stream);
}

// ---------------------------------------------------------------------------------------------
// the scripted provider itself (other suites rely on it)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn scripted_provider_routes_replies_per_model_and_falls_back_clearly() {
    let server = ScriptedProvider::start().await;
    server.push_for_model("model-a", Reply::text("A1"));
    server.push_for_model("model-a", Reply::text("A2"));
    server.always_for_model("model-b", Reply::text("B"));
    server.push(Reply::text("global"));
    let mk = |model: &str| {
        ChatCompletionsBackend::new(
            ChatCompletionsConfig::new("S", server.base_url(), model).with_http(HttpOptions {
                retry: RetryPolicy::NONE,
                ..fast_http()
            }),
        )
        .unwrap()
    };
    let (a, bb, c) = (mk("model-a"), mk("model-b"), mk("model-c"));
    assert_eq!(text(&run_ok(&bb, ask("x")).await), "B");
    assert_eq!(text(&run_ok(&a, ask("x")).await), "A1");
    assert_eq!(text(&run_ok(&bb, ask("x")).await), "B");
    assert_eq!(text(&run_ok(&a, ask("x")).await), "A2");
    assert_eq!(text(&run_ok(&c, ask("x")).await), "global");
    let err = run_err(&c, ask("x")).await;
    assert!(
        matches!(&err, BackendError::Server { status: 500, message } if message.contains("script ran out")),
        "{err:?}"
    );
    assert_eq!(server.pending_replies(), 0);
    assert_eq!(server.chat_requests().len(), 6);
}

#[tokio::test]
async fn scripted_provider_lists_models() {
    let server = ScriptedProvider::start().await;
    server.set_models(&["m1", "m2"]);
    let body: Value = reqwest::get(format!("{}/models", server.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"][1]["id"], json!("m2"));
    assert_eq!(server.requests()[0].path, "/v1/models");
}

#[tokio::test]
async fn finished_replies_leave_the_connection_reusable() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::text("one").linger(Duration::from_millis(100)));
    server.push(Reply::text("two"));
    let b = backend(&server, WireOptions::OPENAI);
    assert_eq!(text(&run_ok(&b, ask("1")).await), "one");
    // The reply is complete at `[DONE]`; the body ends 100 ms later and is drained meanwhile.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(text(&run_ok(&b, ask("2")).await), "two");
    assert_eq!(
        server.connections_opened(),
        1,
        "one pooled connection, no new handshake per turn"
    );
    assert_eq!(server.streams_completed(), 2);
}
