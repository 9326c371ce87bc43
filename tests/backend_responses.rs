//! The OpenAI Responses API backend (`type: openai`) against the scripted provider: request
//! conversion of every message role, tools and pass-through parameters; the typed SSE events
//! (text, reasoning, fragmented and parallel function calls, usage, finish reasons); errors in
//! the stream and over HTTP; a stream that ends early.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::StreamExt;
use massgen_tui::backend::{
    BackendError, BackendEvent, ChatBackend, ChatCompletionsConfig, ChatMessage, ChatRequest,
    FinishReason, HttpOptions, ResponsesBackend, RetryPolicy, ToolCall, ToolChoice, ToolSpec,
    Usage, WireOptions,
};
use serde_json::{Value, json};
use std::time::Duration;
use support::scripted_provider::RChunk;
use support::{Reply, ScriptedProvider};
use tokio_util::sync::CancellationToken;

fn responses_backend(server: &ScriptedProvider, params: Value) -> ResponsesBackend {
    let mut config = ChatCompletionsConfig::new("OpenAI", server.base_url(), "gpt-5-mini")
        .with_api_key("sk-resp-SECRET")
        .with_wire(WireOptions::CONSERVATIVE)
        .with_http(HttpOptions {
            connect_timeout: Duration::from_secs(2),
            idle_read_timeout: Duration::from_secs(5),
            non_streaming_timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_retries: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(20),
                max_total: Duration::from_secs(5),
            },
        });
    if let Value::Object(map) = params {
        config.params = map;
    }
    ResponsesBackend::new(config).unwrap()
}

fn answer_tool(name: &str) -> ToolSpec {
    ToolSpec {
        name: name.to_owned(),
        description: format!("{name} it"),
        parameters: json!({ "type": "object", "properties": { "content": { "type": "string" } } }),
    }
}

fn question(tools: &[&str]) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::system("You are agent one."),
            ChatMessage::user("What is 2+2?"),
        ],
        tools: tools.iter().map(|n| answer_tool(n)).collect(),
        tool_choice: ToolChoice::Auto,
    }
}

/// The events of one call and the error that ended it, if any.
async fn collect(
    b: &ResponsesBackend,
    request: ChatRequest,
) -> (Vec<BackendEvent>, Option<BackendError>) {
    let work = async {
        let mut stream = b.stream(request, CancellationToken::new());
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => events.push(event),
                Err(error) => {
                    assert!(stream.next().await.is_none(), "nothing after an error");
                    return (events, Some(error));
                }
            }
        }
        (events, None)
    };
    tokio::time::timeout(Duration::from_secs(20), work)
        .await
        .expect("the call hung")
}

fn joined(events: &[BackendEvent], reasoning: bool) -> String {
    let mut out = String::new();
    for event in events {
        match event {
            BackendEvent::TextDelta(t) if !reasoning => out.push_str(t),
            BackendEvent::ReasoningDelta(t) if reasoning => out.push_str(t),
            _ => {}
        }
    }
    out
}

fn tool_calls(events: &[BackendEvent]) -> Vec<ToolCall> {
    let mut out = Vec::new();
    for event in events {
        if let BackendEvent::ToolCall(call) = event {
            out.push(call.clone());
        }
    }
    out
}

fn done_reason(events: &[BackendEvent]) -> FinishReason {
    let Some(BackendEvent::Done { finish_reason }) = events.last() else {
        panic!("the reply must end with Done: {events:?}");
    };
    finish_reason.clone()
}

fn reported_usage(events: &[BackendEvent]) -> Usage {
    for event in events {
        if let BackendEvent::Usage(u) = event {
            return *u;
        }
    }
    panic!("no Usage in {events:?}")
}

#[tokio::test]
async fn text_and_reasoning_deltas_stream_with_usage_and_stop() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([
            RChunk::reasoning_summary("Adding "),
            RChunk::reasoning("two and two."),
            RChunk::text("The answer "),
            RChunk::text("is 4."),
            RChunk::event(
                "response.output_text.done",
                json!({ "text": "The answer is 4." }),
            ),
            RChunk::event("response.some_future_event", json!({ "x": 1 })),
        ])
        .usage(31, 7),
    );
    let b = responses_backend(&server, json!({}));
    assert!(
        !format!("{b:?}").contains("SECRET"),
        "Debug must redact the key"
    );
    let (events, error) = collect(&b, question(&[])).await;
    assert_eq!(error, None);
    assert_eq!(joined(&events, false), "The answer is 4.");
    assert_eq!(joined(&events, true), "Adding two and two.");
    assert_eq!(
        reported_usage(&events),
        Usage {
            input_tokens: 31,
            output_tokens: 7,
            estimated: false
        }
    );
    assert_eq!(done_reason(&events), FinishReason::Stop);
    let sent = server.responses_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/v1/responses");
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer sk-resp-SECRET")
    );
    assert_eq!(sent[0].body["stream"], json!(true));
    assert_eq!(sent[0].model(), Some("gpt-5-mini"));
}

#[tokio::test]
async fn fragmented_function_call_arguments_are_assembled() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::responses_stream([
        RChunk::call_added(0, "call_abc", "new_answer"),
        RChunk::call_args(0, "{\"con"),
        RChunk::call_args(0, "tent\": \"fo"),
        RChunk::call_args(0, "ur\"}"),
        RChunk::call_done(0, "call_abc", "new_answer", "{\"content\": \"four\"}"),
    ]));
    let b = responses_backend(&server, json!({}));
    let (events, error) = collect(&b, question(&["new_answer", "vote"])).await;
    assert_eq!(error, None);
    assert_eq!(
        events[0],
        BackendEvent::ToolCallStarted {
            index: 0,
            id: "call_abc".into(),
            name: "new_answer".into()
        }
    );
    let fragments: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::ToolCallArgsDelta { index: 0, delta } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(fragments, ["{\"con", "tent\": \"fo", "ur\"}"]);
    let calls = tool_calls(&events);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_abc");
    assert_eq!(calls[0].arguments().unwrap()["content"], "four");
    assert_eq!(done_reason(&events), FinishReason::ToolCalls);
}

#[tokio::test]
async fn parallel_calls_come_out_in_output_order_before_usage_and_done() {
    let server = ScriptedProvider::start().await;
    // Interleaved: item 2 starts before item 1's arguments finish; output 0 is a message.
    server.push(
        Reply::responses_stream([
            RChunk::text("Checking."),
            RChunk::call_added(2, "call_b", "vote"),
            RChunk::call_added(1, "call_a", "new_answer"),
            RChunk::call_args(2, "{\"agent_id\":"),
            RChunk::call_args(1, "{\"content\":\"x\"}"),
            RChunk::call_args(2, "\"agent1\"}"),
            RChunk::call_args_done(2, "{\"agent_id\":\"agent1\"}"),
            RChunk::call_done(2, "call_b", "vote", "{\"agent_id\":\"agent1\"}"),
            RChunk::call_done(1, "call_a", "new_answer", "{\"content\":\"x\"}"),
        ])
        .usage(10, 5),
    );
    let b = responses_backend(&server, json!({}));
    let (events, error) = collect(&b, question(&["new_answer", "vote"])).await;
    assert_eq!(error, None);
    let calls = tool_calls(&events);
    let ids: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_a", "call_b"]);
    assert_eq!(calls[1].raw_arguments, "{\"agent_id\":\"agent1\"}");
    let tail: Vec<&BackendEvent> = events.iter().rev().take(4).collect();
    assert!(matches!(
        tail[0],
        BackendEvent::Done {
            finish_reason: FinishReason::ToolCalls
        }
    ));
    assert!(matches!(tail[1], BackendEvent::Usage(_)));
    assert!(matches!(tail[2], BackendEvent::ToolCall(c) if c.id == "call_b"));
    assert!(matches!(tail[3], BackendEvent::ToolCall(c) if c.id == "call_a"));
}

#[tokio::test]
async fn a_stream_without_response_completed_flushes_calls_and_ends_unknown() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([
            RChunk::text("partial"),
            RChunk::call_added(1, "call_z", "vote"),
            RChunk::call_args(1, "{\"agent_id\":\"agent2\"}"),
        ])
        .without_completed(),
    );
    let b = responses_backend(&server, json!({}));
    let (events, error) = collect(&b, question(&["vote"])).await;
    assert_eq!(error, None);
    assert_eq!(joined(&events, false), "partial");
    let calls = tool_calls(&events);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].raw_arguments, "{\"agent_id\":\"agent2\"}");
    assert!(reported_usage(&events).estimated);
    assert_eq!(done_reason(&events), FinishReason::Unknown);
}

#[tokio::test]
async fn response_incomplete_for_max_output_tokens_is_length() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([RChunk::text("cut"), RChunk::incomplete("max_output_tokens")])
            .without_completed(),
    );
    let b = responses_backend(&server, json!({}));
    let (events, error) = collect(&b, question(&[])).await;
    assert_eq!(error, None);
    assert_eq!(done_reason(&events), FinishReason::Length);
}

#[tokio::test]
async fn error_events_become_typed_errors() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([
            RChunk::text("hi"),
            RChunk::error("rate_limit_exceeded", "slow down"),
        ])
        .without_completed(),
    );
    let b = responses_backend(&server, json!({}));
    let (events, error) = collect(&b, question(&[])).await;
    assert_eq!(joined(&events, false), "hi");
    assert!(
        matches!(error, Some(BackendError::RateLimited { ref message, .. }) if message.contains("slow down")),
        "{error:?}"
    );
    assert_eq!(
        server.responses_requests().len(),
        1,
        "part of the answer was shown: no retry"
    );

    // `response.failed` before any content: a transient server error, retried.
    server.push(
        Reply::responses_stream([RChunk::failed("server_error", "the model crashed")])
            .without_completed(),
    );
    server.push(Reply::responses_text("second try"));
    let (events, error) = collect(&b, question(&[])).await;
    assert_eq!(error, None);
    let retried: Vec<&BackendError> = events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::Retrying { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert!(
        matches!(retried[..], [BackendError::Server { message, .. }] if message.contains("the model crashed")),
        "{retried:?}"
    );
    assert_eq!(joined(&events, false), "second try");
}

#[tokio::test]
async fn invalid_prompt_failures_are_bad_requests_and_not_retried() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([RChunk::failed("invalid_prompt", "flagged prompt")])
            .without_completed(),
    );
    let b = responses_backend(&server, json!({}));
    let (_, error) = collect(&b, question(&[])).await;
    assert!(
        matches!(error, Some(BackendError::BadRequest { ref message, .. }) if message.contains("flagged prompt")),
        "{error:?}"
    );
    assert_eq!(server.responses_requests().len(), 1);
}

#[tokio::test]
async fn reasoning_summary_parts_are_separated() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::responses_stream([
        RChunk::event(
            "response.reasoning_summary_part.added",
            json!({ "output_index": 0, "summary_index": 0 }),
        ),
        RChunk::reasoning_summary("First."),
        RChunk::event(
            "response.reasoning_summary_part.added",
            json!({ "output_index": 0, "summary_index": 1 }),
        ),
        RChunk::reasoning_summary("Second."),
        RChunk::text("done"),
    ]));
    let b = responses_backend(&server, json!({}));
    let (events, error) = collect(&b, question(&[])).await;
    assert_eq!(error, None);
    assert_eq!(joined(&events, true), "First.\n\nSecond.");
}

#[tokio::test]
async fn cancelling_closes_the_stream_at_once() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([RChunk::text("a"), RChunk::text("b"), RChunk::text("c")])
            .delay(Duration::from_secs(2)),
    );
    let b = responses_backend(&server, json!({}));
    let cancel = CancellationToken::new();
    let mut stream = b.stream(question(&[]), cancel.clone());
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        canceller.cancel();
    });
    let started = std::time::Instant::now();
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    assert!(
        matches!(last, Some(Err(BackendError::Cancelled))),
        "{last:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        server
            .wait_until(Duration::from_secs(5), |s| s.streams_aborted() == 1)
            .await
    );
}

#[tokio::test]
async fn context_errors_in_the_stream_are_not_retried() {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::responses_stream([RChunk::error(
            "context_length_exceeded",
            "Your input exceeds the context window of this model.",
        )])
        .without_completed(),
    );
    let b = responses_backend(&server, json!({}));
    let (_, error) = collect(&b, question(&[])).await;
    assert!(
        matches!(error, Some(BackendError::ContextTooLong { .. })),
        "{error:?}"
    );
    assert_eq!(server.responses_requests().len(), 1);
}

#[tokio::test]
async fn http_errors_are_classified_and_transient_ones_retried() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::error(401, "Incorrect API key provided"));
    let b = responses_backend(&server, json!({}));
    let (_, error) = collect(&b, question(&[])).await;
    assert!(
        matches!(error, Some(BackendError::Auth { status: 401, .. })),
        "{error:?}"
    );
    assert_eq!(
        server.responses_requests().len(),
        1,
        "auth errors are not retried"
    );

    server.push(Reply::error(429, "Rate limit reached").retry_after("0"));
    server.push(Reply::error(500, "upstream exploded"));
    server.push(Reply::responses_text("recovered"));
    let (events, error) = collect(&b, question(&[])).await;
    assert_eq!(error, None);
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::Retrying { error, .. } => Some(error.kind()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["rate_limited", "server"]);
    assert_eq!(joined(&events, false), "recovered");

    server.push(Reply::error(500, "down"));
    server.push(Reply::error(500, "down"));
    server.push(Reply::error(500, "still down"));
    let (_, error) = collect(&b, question(&[])).await;
    assert!(
        matches!(error, Some(BackendError::Server { status: 500, ref message }) if message.contains("still down")),
        "{error:?}"
    );
}

#[tokio::test]
async fn garbage_and_empty_bodies_are_malformed_not_panics() {
    let server = ScriptedProvider::start().await;
    let b = responses_backend(&server, json!({}));
    for reply in [
        Reply::empty(),
        Reply::raw(200, "text/event-stream", b"event: x\ndata: {not json\n\n"),
        Reply::raw(200, "text/event-stream", &[0xff, 0xfe, b'\n', b'\n']),
        Reply::html(200, "<html><title>Proxy login</title></html>"),
    ] {
        // Retried as transient? No: malformed replies are not transient.
        server.push(reply);
        let (_, error) = collect(&b, question(&[])).await;
        assert!(
            matches!(error, Some(BackendError::MalformedResponse(_))),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn every_role_is_converted_to_input_items() {
    let server = ScriptedProvider::start().await;
    server.push(Reply::responses_text("ok"));
    let b = responses_backend(
        &server,
        json!({
            "max_tokens": 900,
            "reasoning": { "effort": "low", "summary": "auto" },
            "text": { "verbosity": "low" },
            "temperature": 0.2,
            "top_p": 0.9,
            "parallel_tool_calls": false,
            "enable_web_search": true,
            "stream_options": { "include_usage": true },
        }),
    );
    let request = ChatRequest {
        messages: vec![
            ChatMessage::system("system prompt"),
            ChatMessage::user("question"),
            ChatMessage::assistant(
                "let me look",
                vec![
                    ToolCall {
                        id: "call_1".into(),
                        name: "fetch".into(),
                        raw_arguments: "{\"url\":\"x\"}".into(),
                    },
                    ToolCall {
                        id: "call_2".into(),
                        name: "fetch".into(),
                        raw_arguments: String::new(),
                    },
                    ToolCall {
                        id: "call_unanswered".into(),
                        name: "fetch".into(),
                        raw_arguments: "{}".into(),
                    },
                ],
            ),
            ChatMessage::tool_result("call_1", "page one"),
            ChatMessage::tool_result("call_2", "page two"),
            ChatMessage::tool_result("call_orphan", "nobody asked"),
            ChatMessage::assistant("earlier answer", vec![]),
            ChatMessage::user("improve it"),
        ],
        tools: vec![answer_tool("fetch"), answer_tool("new_answer")],
        tool_choice: ToolChoice::Function("new_answer".into()),
    };
    let (_, error) = collect(&b, request.clone()).await;
    assert_eq!(error, None);
    let sent = &server.responses_requests()[0];
    assert_eq!(sent.body, b.request_body(&request));
    assert_eq!(
        sent.input(),
        [
            json!({ "role": "system", "content": "system prompt" }),
            json!({ "role": "user", "content": "question" }),
            json!({ "role": "assistant", "content": "let me look" }),
            json!({ "type": "function_call", "call_id": "call_1", "name": "fetch", "arguments": "{\"url\":\"x\"}" }),
            json!({ "type": "function_call", "call_id": "call_2", "name": "fetch", "arguments": "{}" }),
            json!({ "type": "function_call_output", "call_id": "call_1", "output": "page one" }),
            json!({ "type": "function_call_output", "call_id": "call_2", "output": "page two" }),
            json!({ "role": "assistant", "content": "earlier answer" }),
            json!({ "role": "user", "content": "improve it" }),
        ]
    );
    assert_eq!(sent.body["max_output_tokens"], json!(900));
    assert!(sent.body.get("max_tokens").is_none());
    assert_eq!(
        sent.body["reasoning"],
        json!({ "effort": "low", "summary": "auto" })
    );
    assert_eq!(sent.body["text"], json!({ "verbosity": "low" }));
    assert_eq!(sent.body["temperature"], json!(0.2));
    assert_eq!(sent.body["top_p"], json!(0.9));
    assert_eq!(sent.body["parallel_tool_calls"], json!(false));
    for dropped in ["enable_web_search", "stream_options", "messages"] {
        assert!(
            sent.body.get(dropped).is_none(),
            "{dropped} must not be sent"
        );
    }
    assert_eq!(
        sent.body["tool_choice"],
        json!({ "type": "function", "name": "new_answer" })
    );
    assert_eq!(
        sent.tools()[0],
        json!({
            "type": "function",
            "name": "fetch",
            "description": "fetch it",
            "parameters": { "type": "object", "properties": { "content": { "type": "string" } } },
            "strict": false,
        })
    );
    assert_eq!(sent.tool_names(), ["fetch", "new_answer"]);
}

#[tokio::test]
async fn tool_choice_variants_and_reasoning_effort_spelling() {
    let server = ScriptedProvider::start().await;
    let b = responses_backend(
        &server,
        json!({ "reasoning_effort": "high", "max_output_tokens": 50, "max_tokens": 10 }),
    );
    let mut request = question(&["vote"]);
    request.tool_choice = ToolChoice::Required;
    let body = b.request_body(&request);
    assert_eq!(body["tool_choice"], json!("required"));
    assert_eq!(body["reasoning"], json!({ "effort": "high" }));
    assert!(body.get("reasoning_effort").is_none());
    assert_eq!(
        body["max_output_tokens"],
        json!(50),
        "an explicit max_output_tokens wins"
    );
    request.tool_choice = ToolChoice::Auto;
    assert!(b.request_body(&request).get("tool_choice").is_none());
    request.tool_choice = ToolChoice::None;
    assert_eq!(b.request_body(&request)["tool_choice"], json!("none"));
    assert!(b.request_body(&question(&[])).get("tools").is_none());
}

#[tokio::test]
async fn a_base_url_ending_in_responses_is_used_as_is_and_json_replies_are_read() {
    let server = ScriptedProvider::start().await;
    let mut config =
        ChatCompletionsConfig::new("OpenAI", format!("{}/responses/", server.base_url()), "m");
    config.http.retry = RetryPolicy::NONE;
    let b = ResponsesBackend::new(config).unwrap();
    assert_eq!(b.endpoint(), format!("{}/responses", server.base_url()));
    server.push(Reply::json(json!({
        "id": "resp_1",
        "status": "completed",
        "output": [
            { "type": "reasoning", "summary": [{ "type": "summary_text", "text": "thinking" }] },
            { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "whole" }] },
            { "type": "function_call", "call_id": "call_j", "name": "vote", "arguments": "{}" },
        ],
        "usage": { "input_tokens": 3, "output_tokens": 2 },
    })));
    let (events, error) = collect(&b, question(&["vote"])).await;
    assert_eq!(error, None);
    assert_eq!(joined(&events, true), "thinking");
    assert_eq!(joined(&events, false), "whole");
    assert_eq!(tool_calls(&events)[0].id, "call_j");
    assert_eq!(done_reason(&events), FinishReason::ToolCalls);
    assert!(ResponsesBackend::new(ChatCompletionsConfig::new("OpenAI", "not a url", "m")).is_err());
}

mod garbage {
    use super::*;
    use massgen_tui::backend::responses::ResponsesParser;
    use proptest::prelude::*;

    const KINDS: &[&str] = &[
        "response.output_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_part.added",
        "response.output_item.added",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
    ];

    fn odd_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
            Just(json!({ "type": "function_call", "name": 3, "call_id": null })),
            Just(json!({ "type": "function_call", "name": "f", "arguments": "{\"a\"" })),
            Just(json!([1, 2])),
            Just(json!({ "usage": "lots", "output": { "x": 1 }, "error": 5 })),
        ]
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), split in 0usize..600) {
            let mut parser = ResponsesParser::new(10);
            let mut out = Vec::new();
            let cut = split.min(bytes.len());
            let _ = parser.feed(&bytes[..cut], &mut out);
            let _ = parser.feed(&bytes[cut..], &mut out);
            let _ = parser.finish(&mut out);
        }

        #[test]
        fn odd_event_fields_never_panic_and_end_once(
            events in proptest::collection::vec((0..KINDS.len(), odd_value(), odd_value(), odd_value()), 0..12)
        ) {
            let mut body = String::new();
            for (k, delta, index, item) in events {
                let data = json!({ "type": KINDS[k], "delta": delta, "output_index": index, "item": item, "response": item, "summary_index": index });
                body.push_str(&format!("event: {}\ndata: {data}\n\n", KINDS[k]));
            }
            let mut parser = ResponsesParser::new(10);
            let mut out = Vec::new();
            let fed = parser.feed(body.as_bytes(), &mut out);
            let finished = if fed.is_ok() { parser.finish(&mut out) } else { fed };
            let dones = out.iter().filter(|e| matches!(e, BackendEvent::Done { .. })).count();
            prop_assert!(dones <= 1);
            if finished.is_ok() && !body.is_empty() {
                prop_assert_eq!(dones, 1);
            }
        }
    }
}
