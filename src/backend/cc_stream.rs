//! Chat Completions reply parsing: SSE `chat.completion.chunk` streams and non-streamed
//! `chat.completion` JSON, both turned into the same [`BackendEvent`] sequence.
//!
//! Responsibilities: reading `delta.content`, `delta.reasoning_content`, `delta.reasoning`,
//! `delta.tool_calls[]`, the legacy `delta.function_call`, `finish_reason`, `usage` and error
//! objects; tolerating explicit `null`s, malformed lines, a missing `[DONE]` or
//! `finish_reason`, a 200 with an empty body or a whole JSON reply where a stream was
//! expected; keeping tool calls that are followed by `finish_reason: "stop"`; estimating usage
//! when the provider reports none (marked `estimated`).
//! Non-responsibilities: HTTP, retries and timeouts (`chat_completions`), SSE framing (`sse`),
//! tool-call assembly rules (`tool_calls`).

use super::http_error::{classify_stream_error, html_summary};
use super::sse::SseParser;
use super::tool_calls::ToolCallAccumulator;
use super::{BackendError, BackendEvent, FinishReason, Usage};
use serde::Deserialize;
use std::borrow::Cow;

/// How much of a body is kept to explain a reply that contained no SSE events.
const RAW_PREFIX_LIMIT: usize = 256 * 1024;

/// Incremental parser for one Chat Completions reply.
#[derive(Debug)]
pub struct StreamParser {
    sse: SseParser,
    state: ParseState,
}

#[derive(Debug)]
struct ParseState {
    calls: ToolCallAccumulator,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    error: Option<BackendError>,
    /// `[DONE]` (or an error) was seen; later data is ignored.
    done: bool,
    /// Number of data events (excluding `[DONE]`).
    data_events: usize,
    /// Number of data events that parsed as JSON chunks.
    valid_chunks: usize,
    first_malformed: Option<String>,
    /// Text, reasoning or tool-call events were produced.
    emitted_content: bool,
    output_chars: usize,
    input_chars: usize,
    /// The beginning of the body, kept while no SSE event has been seen.
    raw_prefix: Vec<u8>,
}

impl Default for StreamParser {
    fn default() -> Self {
        Self::new(ToolCallAccumulator::new())
    }
}

impl StreamParser {
    /// A parser using `calls` to assemble tool calls.
    pub fn new(calls: ToolCallAccumulator) -> Self {
        Self {
            sse: SseParser::new(),
            state: ParseState {
                calls,
                finish_reason: None,
                usage: None,
                error: None,
                done: false,
                data_events: 0,
                valid_chunks: 0,
                first_malformed: None,
                emitted_content: false,
                output_chars: 0,
                input_chars: 0,
                raw_prefix: Vec::new(),
            },
        }
    }

    /// Characters of the prompt, used to estimate usage when the provider reports none.
    pub fn set_input_chars(&mut self, chars: usize) {
        self.state.input_chars = chars;
    }

    /// Feed body bytes; events are appended to `out`. Returns the first error object found in
    /// the stream (the reply is over then).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        let state = &mut self.state;
        if state.data_events == 0 && state.raw_prefix.len() < RAW_PREFIX_LIMIT {
            let room = RAW_PREFIX_LIMIT - state.raw_prefix.len();
            state
                .raw_prefix
                .extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        self.sse.feed(bytes, &mut |event, data| {
            state.handle_event(event, data, out)
        });
        match state.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `[DONE]` or an in-stream error was seen: nothing more will be read.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// Whether text, reasoning or tool-call events were produced (then a failure must not be
    /// retried: part of the answer was already shown).
    pub fn emitted_content(&self) -> bool {
        self.state.emitted_content
    }

    /// The body ended: flush tool calls (index order), usage (reported or estimated) and
    /// `Done`. Fails for a body with no events (empty, HTML, garbage) or an error object.
    pub fn finish(&mut self, out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        let state = &mut self.state;
        self.sse
            .finish(&mut |event, data| state.handle_event(event, data, out));
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        if state.data_events == 0 && !state.done {
            return state.finish_without_events(out);
        }
        if state.valid_chunks == 0 && state.data_events > 0 {
            return Err(BackendError::MalformedResponse(format!(
                "none of the {} stream events was a valid JSON chunk; the first was: {}",
                state.data_events,
                state.first_malformed.clone().unwrap_or_default()
            )));
        }
        state.finish_reply(out);
        Ok(())
    }
}

impl ParseState {
    fn handle_event(&mut self, event: &str, data: &str, out: &mut Vec<BackendEvent>) {
        if self.done {
            return;
        }
        let trimmed = data.trim();
        if trimmed.is_empty() {
            return;
        }
        if trimmed == "[DONE]" {
            self.done = true;
            return;
        }
        self.data_events += 1;
        if event == "error" {
            let payload = serde_json::from_str::<serde_json::Value>(trimmed)
                .unwrap_or_else(|_| serde_json::json!({ "message": trimmed }));
            self.valid_chunks += 1;
            self.fail(classify_stream_error(&payload));
            return;
        }
        match serde_json::from_str::<WireChunk<'_>>(trimmed) {
            Ok(chunk) => {
                self.valid_chunks += 1;
                self.apply_chunk(chunk, false, out);
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipping a malformed chat completion chunk");
                if self.first_malformed.is_none() {
                    self.first_malformed = Some(snippet(trimmed));
                }
            }
        }
    }

    fn fail(&mut self, error: BackendError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.done = true;
    }

    /// Apply a chunk (streamed) or a whole completion (`whole = true`: `message` instead of
    /// `delta`, and tool calls without `index` are numbered by position).
    fn apply_chunk(&mut self, chunk: WireChunk<'_>, whole: bool, out: &mut Vec<BackendEvent>) {
        if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
            self.fail(classify_stream_error(
                &serde_json::json!({ "error": error }),
            ));
            return;
        }
        if let Some(u) = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage)) {
            self.usage = Some(Usage {
                input_tokens: u.prompt_tokens.unwrap_or(0),
                output_tokens: u.completion_tokens.unwrap_or(0),
                estimated: false,
            });
        }
        // Only the first choice (`n` is never set > 1 by us).
        let Some(FirstChoice(Some(choice))) = chunk.choices else {
            return;
        };
        if let Some(delta) = choice.delta {
            self.apply_delta(delta, whole, out);
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
            self.finish_reason = Some(map_finish_reason(&reason));
        }
    }

    fn apply_delta(&mut self, delta: WireDelta<'_>, whole: bool, out: &mut Vec<BackendEvent>) {
        let reasoning_content = delta.reasoning_content.and_then(WireText::into_text);
        let reasoning = delta.reasoning.and_then(WireText::into_text);
        // Some servers send the same text in both fields; show it once.
        let reasoning = match (reasoning_content, reasoning) {
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(a), Some(b)) => Some(Cow::Owned(format!("{a}{b}"))),
            (a, b) => a.or(b),
        };
        if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
            self.output_chars += text.len();
            self.emitted_content = true;
            out.push(BackendEvent::ReasoningDelta(text.into_owned()));
        }
        if let Some(text) = delta
            .content
            .and_then(WireText::into_text)
            .filter(|t| !t.is_empty())
        {
            self.output_chars += text.len();
            self.emitted_content = true;
            out.push(BackendEvent::TextDelta(text.into_owned()));
        }
        if let Some(calls) = delta.tool_calls.filter(|c| !c.is_empty()) {
            self.calls.mark_tool_calls_seen();
            self.emitted_content = true;
            for (position, call) in calls.into_iter().enumerate() {
                let index = call.index.or(whole.then_some(position));
                let (name, args) = match call.function {
                    Some(f) => (f.name, f.arguments.map(WireText::into_arguments)),
                    None => (None, None),
                };
                if let Some(a) = &args {
                    self.output_chars += a.len();
                }
                self.calls.apply_tool_call_delta(
                    index,
                    call.id.as_deref(),
                    name.as_deref(),
                    args.as_deref(),
                    out,
                );
            }
        }
        if let Some(f) = delta.function_call {
            let args = f.arguments.map(WireText::into_arguments);
            if let Some(a) = &args {
                self.output_chars += a.len();
            }
            self.emitted_content = true;
            self.calls
                .apply_function_call_delta(f.name.as_deref(), args.as_deref(), out);
        }
    }

    fn finish_reply(&mut self, out: &mut Vec<BackendEvent>) {
        let calls = self.calls.finish(out);
        let usage = self.usage.unwrap_or(Usage {
            input_tokens: estimate_tokens(self.input_chars),
            output_tokens: estimate_tokens(self.output_chars),
            estimated: true,
        });
        out.push(BackendEvent::Usage(usage));
        let finish_reason = match self.finish_reason.take() {
            // Tool calls followed by "stop" (some local servers): the calls are kept and the
            // reply is reported as a tool-call reply.
            Some(FinishReason::Stop) if calls > 0 => FinishReason::ToolCalls,
            Some(reason) => reason,
            None => FinishReason::Unknown,
        };
        out.push(BackendEvent::Done { finish_reason });
    }

    /// The body had no SSE event at all: an empty body, a whole JSON reply (server ignored
    /// `stream: true`), an HTML page or garbage.
    fn finish_without_events(&mut self, out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        let raw = String::from_utf8_lossy(&self.raw_prefix).into_owned();
        let text = raw.trim();
        if text.is_empty() {
            return Err(BackendError::MalformedResponse(
                "the provider answered 200 with an empty body instead of a stream of `data:` \
                 events; check that `base_url` points at an OpenAI-compatible endpoint (usually \
                 ending in /v1) and that the model is loaded"
                    .to_owned(),
            ));
        }
        if text.starts_with('{') {
            return self.apply_whole_json(text, out);
        }
        if text.starts_with('<') || text.to_ascii_lowercase().contains("<html") {
            return Err(BackendError::MalformedResponse(format!(
                "expected an event stream but got an HTML page ({}); check `base_url`",
                html_summary(text)
            )));
        }
        Err(BackendError::MalformedResponse(format!(
            "expected an event stream of `data:` lines but the body starts with: {}",
            snippet(text)
        )))
    }

    fn apply_whole_json(
        &mut self,
        text: &str,
        out: &mut Vec<BackendEvent>,
    ) -> Result<(), BackendError> {
        match serde_json::from_str::<WireChunk<'_>>(text) {
            Ok(chunk) => {
                self.apply_chunk(chunk, true, out);
                if let Some(e) = self.error.take() {
                    return Err(e);
                }
                self.finish_reply(out);
                Ok(())
            }
            Err(e) => Err(BackendError::MalformedResponse(format!(
                "the reply is not a valid chat completion ({e}); it starts with: {}",
                snippet(text)
            ))),
        }
    }
}

/// Parse a complete non-streamed `chat.completion` JSON body into events (ends with `Done`).
pub fn parse_completion_json(
    body: &[u8],
    calls: ToolCallAccumulator,
    input_chars: usize,
) -> Result<Vec<BackendEvent>, BackendError> {
    let mut parser = StreamParser::new(calls);
    parser.set_input_chars(input_chars);
    parser.state.raw_prefix = body.to_vec();
    let mut out = Vec::new();
    parser.state.finish_without_events(&mut out)?;
    Ok(out)
}

/// Parse a complete recorded SSE body into the events the backend would stream, ending with
/// `Done` (or the error it would report). This is the real code path of the backend (SSE
/// framing, chunk parsing, tool-call assembly) minus the network; the benchmark measures it.
pub fn parse_stream_bytes(bytes: &[u8]) -> Result<Vec<BackendEvent>, BackendError> {
    let mut parser = StreamParser::new(ToolCallAccumulator::with_id_prefix("stream"));
    let mut out = Vec::with_capacity(bytes.len() / 64);
    parser.feed(bytes, &mut out)?;
    parser.finish(&mut out)?;
    Ok(out)
}

/// Rough token estimate: 4 characters per token, at least 1 for non-empty text.
pub fn estimate_tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

fn map_finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" | "end_turn" | "eos" | "stop_sequence" => FinishReason::Stop,
        "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
        "length" | "max_tokens" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 120 {
        let mut s: String = one_line.chars().take(120).collect();
        s.push('…');
        s
    } else {
        one_line
    }
}

// ---- wire types (private: provider JSON never leaves the backend module) ----

#[derive(Deserialize)]
struct WireChunk<'a> {
    #[serde(default, borrow)]
    choices: Option<FirstChoice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    /// Groq reports streamed usage here instead of `usage`.
    #[serde(default)]
    x_groq: Option<WireXGroq>,
    #[serde(default)]
    error: Option<Box<serde_json::Value>>,
}

#[derive(Deserialize)]
struct WireXGroq {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `choices[]` reduced to the first choice with index 0, without allocating a `Vec`.
struct FirstChoice<'a>(Option<WireChoice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = FirstChoice<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of choices")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut found = None;
                while let Some(choice) = seq.next_element::<WireChoice<'a>>()? {
                    if found.is_none() && choice.index.unwrap_or(0) == 0 {
                        found = Some(choice);
                    }
                }
                Ok(FirstChoice(found))
            }
        }
        deserializer.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct WireChoice<'a> {
    #[serde(default)]
    index: Option<u64>,
    /// `delta` in streamed chunks, `message` in whole completions (never both).
    #[serde(default, borrow, alias = "message")]
    delta: Option<WireDelta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireDelta<'a> {
    #[serde(default, borrow)]
    content: Option<WireText<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<WireText<'a>>,
    #[serde(default, borrow)]
    reasoning: Option<WireText<'a>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<WireToolCall<'a>>>,
    #[serde(default, borrow)]
    function_call: Option<WireFunction<'a>>,
}

#[derive(Deserialize)]
struct WireToolCall<'a> {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<WireFunction<'a>>,
}

#[derive(Deserialize)]
struct WireFunction<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<WireText<'a>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// A field that is normally a string but that some servers send as another JSON value
/// (arguments as an object, content as an array of parts, reasoning as an object).
enum WireText<'a> {
    Str(Cow<'a, str>),
    Other(Box<serde_json::Value>),
}

impl<'a> WireText<'a> {
    /// Text for content/reasoning: a string, or the `text` parts of an array.
    fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            WireText::Str(s) => Some(s),
            WireText::Other(value) if value.is_array() => {
                let parts = value.as_array().map(Vec::as_slice).unwrap_or_default();
                let text: String = parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(|t| t.as_str()).or(p.as_str()))
                    .collect();
                Some(Cow::Owned(text))
            }
            WireText::Other(value) if value.is_object() => value
                .get("text")
                .or_else(|| value.get("content"))
                .and_then(|t| t.as_str())
                .map(|t| Cow::Owned(t.to_owned())),
            WireText::Other(_) => None,
        }
    }

    /// Text for arguments: a string as is, any other JSON value serialised.
    fn into_arguments(self) -> Cow<'a, str> {
        match self {
            WireText::Str(s) => s,
            WireText::Other(v) => Cow::Owned(v.to_string()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = WireText<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(WireText::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(WireText::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(WireText::Str(Cow::Owned(v)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(WireText::Other(Box::new(v.into())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(WireText::Other(Box::new(v.into())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(WireText::Other(Box::new(v.into())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(WireText::Other(Box::new(v.into())))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(WireText::Other(Box::new(serde_json::Value::Null)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(WireText::Other(Box::new(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(WireText::Other(Box::new(v)))
            }
        }
        deserializer.deserialize_any(V(std::marker::PhantomData))
    }
}
