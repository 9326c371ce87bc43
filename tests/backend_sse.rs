//! SSE framing and stream parsing without the network: any split of a body gives the same
//! events, every line-ending style, comments, multi-line data, invalid UTF-8; and the public
//! `parse_stream_bytes` path the benchmark measures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use massgen_tui::backend::chat_completions::{StreamParser, parse_stream_bytes};
use massgen_tui::backend::sse::{SseParser, parse_all};
use massgen_tui::backend::tool_calls::ToolCallAccumulator;
use massgen_tui::backend::{BackendError, BackendEvent, FinishReason};
use proptest::prelude::*;

fn feed_split(body: &[u8], cuts: &[usize]) -> Vec<(String, String)> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut push = |e: &str, d: &str| out.push((e.to_owned(), d.to_owned()));
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut start = 0;
    for cut in cuts {
        parser.feed(&body[start..cut], &mut push);
        start = cut;
    }
    parser.feed(&body[start..], &mut push);
    parser.finish(&mut push);
    out
}

const MIXED_BODY: &[u8] =
    b": ping\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: line1\ndata: line2\n\n\
data:no-space\r\rdata: \xf0\x9f\x98\x80 \xff tail\n\n: comment\ndata: [DONE]\n\n";

#[test]
fn all_framing_rules_on_one_body() {
    assert_eq!(
        parse_all(MIXED_BODY),
        vec![
            (String::new(), "{\"a\":1}".to_owned()),
            ("error".to_owned(), "line1\nline2".to_owned()),
            (String::new(), "no-space".to_owned()),
            (String::new(), "😀 \u{FFFD} tail".to_owned()),
            (String::new(), "[DONE]".to_owned()),
        ]
    );
}

#[test]
fn unterminated_last_event_is_still_delivered() {
    assert_eq!(
        parse_all(b"data: last"),
        vec![(String::new(), "last".to_owned())]
    );
}

fn line_ending() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
}

proptest! {
    #[test]
    fn generated_events_with_any_line_endings_and_splits(
        events in proptest::collection::vec(("[a-z{}\":, ]{0,20}", line_ending(), any::<bool>(), any::<bool>()), 1..20),
        cuts in proptest::collection::vec(0usize..4000, 0..10),
    ) {
        let mut body = String::new();
        let mut expected = Vec::new();
        for (data, eol, comment, two_lines) in &events {
            if *comment {
                body.push_str(&format!(": ping{eol}"));
            }
            body.push_str(&format!("data: {data}{eol}"));
            let mut value = data.clone();
            if *two_lines {
                body.push_str(&format!("data: {data}{eol}"));
                value = format!("{data}\n{data}");
            }
            body.push_str(eol);
            expected.push((String::new(), value));
        }
        prop_assert_eq!(feed_split(body.as_bytes(), &cuts), expected.clone());
        prop_assert_eq!(parse_all(body.as_bytes()), expected);
    }

    #[test]
    fn any_split_of_a_body_gives_the_same_events(cuts in proptest::collection::vec(0usize..10_000, 0..12)) {
        prop_assert_eq!(feed_split(MIXED_BODY, &cuts), parse_all(MIXED_BODY));
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512),
                                   cuts in proptest::collection::vec(0usize..1000, 0..6)) {
        let whole = parse_all(&body);
        prop_assert_eq!(feed_split(&body, &cuts), whole);
        let _ = parse_stream_bytes(&body);
    }

    #[test]
    fn any_split_of_a_chat_stream_gives_the_same_backend_events(
        cuts in proptest::collection::vec(0usize..10_000, 0..16)
    ) {
        let body = recorded_stream();
        let whole = parse_stream_bytes(&body).unwrap();
        let mut parser = StreamParser::new(ToolCallAccumulator::with_id_prefix("stream"));
        let mut events = Vec::new();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for cut in cuts {
            parser.feed(&body[start..cut], &mut events).unwrap();
            start = cut;
        }
        parser.feed(&body[start..], &mut events).unwrap();
        parser.finish(&mut events).unwrap();
        prop_assert_eq!(events, whole);
    }
}

/// A realistic recorded stream (CRLF, keep-alives, reasoning, text, a fragmented tool call
/// without id, a surrogate pair split by the network anywhere).
fn recorded_stream() -> Vec<u8> {
    let mut s = String::new();
    s.push_str(": OPENROUTER PROCESSING\r\n\r\n");
    s.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"Let me think\"}}]}\r\n\r\n");
    s.push_str(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\ud83d\\ude00 Hi\"}}]}\r\n\r\n",
    );
    s.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"new_answer\",\"arguments\":\"\"}}]}}]}\r\n\r\n");
    for frag in ["{\\\"con", "tent\\\": \\\"caf\\u00e9", "\\\"}"] {
        s.push_str(&format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":\"{frag}\"}}}}]}}}}]}}\r\n\r\n"));
    }
    s.push_str(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\r\n\r\n",
    );
    s.push_str("data: [DONE]\r\n\r\n");
    s.into_bytes()
}

#[test]
fn parse_stream_bytes_assembles_the_recorded_stream() {
    let events = parse_stream_bytes(&recorded_stream()).unwrap();
    assert_eq!(
        events[0],
        BackendEvent::ReasoningDelta("Let me think".into())
    );
    assert_eq!(events[1], BackendEvent::TextDelta("😀 Hi".into()));
    assert_eq!(
        events[2],
        BackendEvent::ToolCallStarted {
            index: 0,
            id: "call_stream_0".into(),
            name: "new_answer".into()
        }
    );
    let call = events
        .iter()
        .find_map(|e| match e {
            BackendEvent::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(call.id, "call_stream_0");
    assert_eq!(call.arguments().unwrap()["content"], "café");
    assert_eq!(
        events.last(),
        Some(&BackendEvent::Done {
            finish_reason: FinishReason::ToolCalls
        })
    );
}

#[test]
fn parse_stream_bytes_reports_typed_errors() {
    assert!(matches!(
        parse_stream_bytes(b""),
        Err(BackendError::MalformedResponse(_))
    ));
    assert!(matches!(
        parse_stream_bytes(b"data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_exceeded\"}}\n\n"),
        Err(BackendError::RateLimited { .. })
    ));
}

#[test]
fn groq_usage_reported_under_x_groq_is_read() {
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}],\"x_groq\":{\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}}\n\ndata: [DONE]\n\n";
    let events = parse_stream_bytes(body).unwrap();
    assert!(
        events.contains(&BackendEvent::Usage(massgen_tui::backend::Usage {
            input_tokens: 9,
            output_tokens: 2,
            estimated: false
        }))
    );
}

#[test]
fn azure_prompt_filter_chunk_with_empty_choices_is_ignored() {
    let body = b"data: {\"choices\":[],\"prompt_filter_results\":[{\"prompt_index\":0}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let events = parse_stream_bytes(body).unwrap();
    assert_eq!(events[0], BackendEvent::TextDelta("ok".into()));
}

#[test]
fn whole_completion_with_object_arguments_and_content_parts() {
    use massgen_tui::backend::chat_completions::parse_completion_json;
    let body = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}],"tool_calls":[{"id":"a","type":"function","function":{"name":"vote","arguments":{"agent_id":"agent1"}}},{"type":"function","function":{"name":"new_answer","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#;
    let events = parse_completion_json(body, ToolCallAccumulator::with_id_prefix("t"), 0).unwrap();
    assert_eq!(events[0], BackendEvent::TextDelta("hi there".into()));
    let calls: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            BackendEvent::ToolCall(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls.len(),
        2,
        "calls without index are numbered by position"
    );
    assert_eq!(calls[0].arguments().unwrap()["agent_id"], "agent1");
    assert_eq!(calls[1].id, "call_t_1");
}
