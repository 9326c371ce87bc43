//! The OpenAI Responses API backend (`type: openai`; MassGen's `ResponseBackend`):
//! `POST {base_url}/responses` with `stream: true`, the reply read as typed SSE events.
//!
//! Responsibilities: the request body (conversation → `input` items: system/user/assistant
//! text as `{"role", "content"}` messages, assistant tool calls as `function_call` items and
//! tool results as `function_call_output` items; tools in the flat function format with an
//! explicit `strict`; `tool_choice`; pass-through parameters with `max_tokens` renamed
//! `max_output_tokens` and `reasoning_effort` folded into `reasoning.effort`), and the reply
//! parser ([`ResponsesParser`]: text, reasoning and reasoning-summary deltas, function calls
//! assembled per `output_index`, usage, finish reason, in-stream `error` /
//! `response.failed` events as typed errors).
//! Non-responsibilities: HTTP, retries, timeouts, cancellation and the API key (the shared
//! loop in `chat_completions`, via [`Protocol::Responses`]), error classification
//! (`http_error`), SSE framing (`sse`), provider built-in tools (`web_search`,
//! `code_interpreter`: not offered by this build).
//!
//! System prompts are sent as `{"role": "system"}` input items (what MassGen sends; the API
//! accepts `system` and `developer` roles in `input`), not as `instructions`, so several
//! system messages keep their place in the conversation.

use super::cc_request::{
    BuiltRequest, ToolNames, answered_tool_calls, clean_schema, input_chars, is_excluded,
    is_strict_compatible,
};
use super::cc_stream::estimate_tokens;
use super::chat_completions::{
    BackendConfigError, ChatCompletionsBackend, ChatCompletionsConfig, Protocol, ReplyParser,
    WireOptions,
};
use super::http_error::{classify_stream_error, html_summary};
use super::sse::SseParser;
use super::{
    BackendError, BackendEvent, BackendStream, ChatBackend, ChatMessage, ChatRequest, FinishReason,
    Role, ToolCall, ToolChoice, ToolSpec, Usage,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};
use tokio_util::sync::CancellationToken;

/// Keys the Responses request body owns: never taken from pass-through parameters.
pub const RESPONSES_BODY_OWNED_KEYS: &[&str] = &["input", "messages", "stream", "tools"];

/// The URL Responses requests go to: `{base_url}/responses` (a URL already ending in
/// `/responses` is used as is).
pub fn responses_endpoint(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if base.ends_with("/responses") {
        base.to_owned()
    } else {
        format!("{base}/responses")
    }
}

/// The Responses API backend. Configured with a [`ChatCompletionsConfig`] (`base_url`, key,
/// model, pass-through `params`, the profile's wire capabilities for tool-name limits and
/// schema clean-up, headers, HTTP options); `azure` is ignored. Cheap to clone and share.
#[derive(Clone, Debug)]
pub struct ResponsesBackend {
    http: ChatCompletionsBackend,
}

impl ResponsesBackend {
    /// Build the backend. Fails with a message that says what to fix for an invalid URL,
    /// header or key.
    pub fn new(mut config: ChatCompletionsConfig) -> Result<Self, BackendConfigError> {
        config.azure = None;
        Ok(Self {
            http: ChatCompletionsBackend::with_protocol(config, Protocol::Responses)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ChatCompletionsConfig {
        self.http.config()
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> String {
        responses_endpoint(&self.config().base_url)
    }

    /// The JSON body that would be sent for `request` (no secrets in it).
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let c = self.config();
        build_responses_body(&c.model, &c.params, &c.wire, request).body
    }
}

impl ChatBackend for ResponsesBackend {
    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> BackendStream {
        let c = self.config();
        let built = build_responses_body(&c.model, &c.params, &c.wire, &request);
        self.http.stream_built(built, true, cancel)
    }

    fn provider_name(&self) -> &str {
        &self.config().provider_name
    }

    fn model(&self) -> &str {
        &self.config().model
    }
}

/// Build the streamed Responses body for `request`.
pub fn build_responses_body(
    model: &str,
    params: &Map<String, Value>,
    wire: &WireOptions,
    request: &ChatRequest,
) -> BuiltRequest {
    let mut notes = Vec::new();
    let names = ToolNames::new(&request.tools, wire.max_tool_name_len);
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert(
        "input".into(),
        Value::Array(input_items(&request.messages, &names, &mut notes)),
    );
    let mut extra_body = None;
    let mut parallel = None;
    let mut max_tokens = None;
    let mut effort = None;
    for (key, value) in params {
        if value.is_null()
            || is_excluded(key, wire)
            || RESPONSES_BODY_OWNED_KEYS.contains(&key.as_str())
        {
            continue;
        }
        match key.as_str() {
            "extra_body" => extra_body = Some(value),
            "parallel_tool_calls" => parallel = Some(value.clone()),
            "max_tokens" | "max_completion_tokens" => max_tokens = Some(value.clone()),
            "reasoning_effort" => effort = Some(value.clone()),
            _ => {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some(limit) = max_tokens
        && !body.contains_key("max_output_tokens")
    {
        body.insert("max_output_tokens".into(), limit);
    }
    if let Some(effort) = effort {
        // The Chat Completions spelling; the Responses API wants `reasoning.effort`.
        match body.get_mut("reasoning") {
            Some(Value::Object(reasoning)) => {
                reasoning.entry("effort").or_insert(effort);
            }
            _ => {
                body.insert("reasoning".into(), json!({ "effort": effort }));
            }
        }
    }
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| wire_tool(t, wire, &names))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(p) = parallel {
            body.insert("parallel_tool_calls".into(), p);
        }
        match &request.tool_choice {
            ToolChoice::Auto => {}
            ToolChoice::None => {
                body.insert("tool_choice".into(), "none".into());
            }
            ToolChoice::Required => {
                body.insert("tool_choice".into(), "required".into());
            }
            ToolChoice::Function(name) => {
                body.insert(
                    "tool_choice".into(),
                    json!({ "type": "function", "name": names.lookup(name) }),
                );
            }
        }
    }
    if let Some(Value::Object(extra)) = extra_body {
        // Like the OpenAI SDK: extra_body keys are merged into the top level of the body.
        for (key, value) in extra {
            if key == "model"
                || key == "stream"
                || RESPONSES_BODY_OWNED_KEYS.contains(&key.as_str())
                || wire.rejected_params.contains(&key.as_str())
            {
                notes.push(format!(
                    "extra_body.{key} is owned by the request or rejected by this provider; it was not sent"
                ));
                continue;
            }
            body.insert(key.clone(), value.clone());
        }
    }
    body.insert("stream".into(), Value::Bool(true));
    for note in &notes {
        tracing::warn!(model, "{note}");
    }
    BuiltRequest {
        body: Value::Object(body),
        tool_names_back: names.back,
        notes,
        input_chars: input_chars(request),
    }
}

fn input_items(messages: &[ChatMessage], names: &ToolNames, notes: &mut Vec<String>) -> Vec<Value> {
    let kept_calls = answered_tool_calls(messages);
    let mut open_calls: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        match m.role {
            Role::System => out.push(json!({ "role": "system", "content": m.content })),
            Role::User => out.push(json!({ "role": "user", "content": m.content })),
            Role::Assistant => {
                if !m.content.is_empty() || m.tool_calls.is_empty() {
                    out.push(json!({ "role": "assistant", "content": m.content }));
                }
                for &k in &kept_calls[i] {
                    let c = &m.tool_calls[k];
                    open_calls.insert(c.id.as_str());
                    let args = if c.raw_arguments.trim().is_empty() {
                        "{}".to_owned()
                    } else {
                        c.raw_arguments.clone()
                    };
                    out.push(json!({
                        "type": "function_call",
                        "call_id": c.id,
                        "name": names.lookup(&c.name),
                        "arguments": args,
                    }));
                }
                if kept_calls[i].len() < m.tool_calls.len() {
                    notes.push(format!(
                        "dropped {} assistant tool call(s) without a matching tool result",
                        m.tool_calls.len() - kept_calls[i].len()
                    ));
                }
            }
            Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or_default();
                if !open_calls.contains(id) {
                    notes.push(format!(
                        "dropped a tool result for `{id}`: no earlier assistant message calls it"
                    ));
                    continue;
                }
                out.push(
                    json!({ "type": "function_call_output", "call_id": id, "output": m.content }),
                );
            }
        }
    }
    out
}

fn wire_tool(tool: &ToolSpec, wire: &WireOptions, names: &ToolNames) -> Value {
    let mut parameters = match &tool.parameters {
        Value::Object(o) if !o.is_empty() => Value::Object(o.clone()),
        _ => json!({ "type": "object", "properties": {} }),
    };
    clean_schema(&mut parameters, wire);
    // The Responses API defaults `strict` to true and then rejects schemas that do not list
    // every property as required, so it is always sent explicitly.
    let strict = wire.strict_schemas && is_strict_compatible(&parameters);
    json!({
        "type": "function",
        "name": names.lookup(&tool.name),
        "description": tool.description,
        "parameters": parameters,
        "strict": strict,
    })
}

/// A function call being assembled.
#[derive(Debug, Default)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
    /// Final arguments from a `.done` event (preferred over the concatenated deltas).
    final_arguments: Option<String>,
    started: bool,
}

/// Incremental parser of one streamed Responses reply.
#[derive(Debug, Default)]
pub struct ResponsesParser {
    sse: SseParser,
    state: State,
}

#[derive(Debug, Default)]
struct State {
    /// Function calls by `output_index`.
    calls: BTreeMap<usize, PendingCall>,
    usage: Option<Usage>,
    error: Option<BackendError>,
    done: bool,
    data_events: usize,
    valid_events: usize,
    first_malformed: Option<String>,
    emitted_content: bool,
    output_chars: usize,
    input_chars: usize,
    /// The beginning of the body, kept while no event has been seen (to explain garbage).
    raw_prefix: Vec<u8>,
}

impl ResponsesParser {
    /// A parser; `input_chars` estimates usage when the provider reports none.
    pub fn new(input_chars: usize) -> Self {
        Self {
            sse: SseParser::new(),
            state: State {
                input_chars,
                ..State::default()
            },
        }
    }

    /// Feed body bytes; events are appended to `out`. Returns the error of an `error` or
    /// `response.failed` event (the reply is over then).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        let state = &mut self.state;
        if state.data_events == 0 && state.raw_prefix.len() < 4096 {
            let room = 4096 - state.raw_prefix.len();
            state
                .raw_prefix
                .extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        self.sse
            .feed(bytes, &mut |event, data| state.handle(event, data, out));
        state.error.take().map_or(Ok(()), Err)
    }

    /// `response.completed`/`response.incomplete` or an error was seen.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// Whether text, reasoning or tool-call events were produced.
    pub fn emitted_content(&self) -> bool {
        self.state.emitted_content
    }

    /// The body ended. Without `response.completed`: flush the tool calls, usage (estimated)
    /// and `Done { Unknown }`. Fails for a body with no events (empty, HTML, garbage).
    pub fn finish(&mut self, out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        let state = &mut self.state;
        self.sse
            .finish(&mut |event, data| state.handle(event, data, out));
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        if state.done {
            return Ok(());
        }
        if state.data_events == 0 {
            let text = String::from_utf8_lossy(&state.raw_prefix);
            let text = text.trim();
            return Err(BackendError::MalformedResponse(if text.is_empty() {
                "the server closed the reply without sending any event; check `base_url` and `model`".to_owned()
            } else if text.starts_with('<') {
                format!(
                    "expected an event stream but got an HTML page ({}); check `base_url`",
                    html_summary(text)
                )
            } else {
                format!(
                    "expected Responses API events but got: {}",
                    text.chars().take(300).collect::<String>()
                )
            }));
        }
        if state.valid_events == 0 {
            return Err(BackendError::MalformedResponse(format!(
                "none of the {} stream events was valid JSON; the first was: {}",
                state.data_events,
                state.first_malformed.clone().unwrap_or_default()
            )));
        }
        state.finish_reply(End::Truncated, out);
        Ok(())
    }
}

impl ReplyParser for ResponsesParser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        ResponsesParser::feed(self, bytes, out)
    }
    fn is_done(&self) -> bool {
        ResponsesParser::is_done(self)
    }
    fn emitted_content(&self) -> bool {
        ResponsesParser::emitted_content(self)
    }
    fn finish(&mut self, out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        ResponsesParser::finish(self, out)
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn index_field(v: &Value) -> Option<usize> {
    v.get("output_index")
        .and_then(Value::as_u64)
        .map(|i| i as usize)
}

impl State {
    fn handle(&mut self, event: &str, data: &str, out: &mut Vec<BackendEvent>) {
        if self.done {
            return;
        }
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        self.data_events += 1;
        let value: Value = match serde_json::from_str(data) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                if self.first_malformed.is_none() {
                    self.first_malformed = Some(data.chars().take(200).collect());
                }
                return;
            }
        };
        self.valid_events += 1;
        // The JSON `type` is authoritative; the SSE `event:` name is the fallback.
        let kind = str_field(&value, "type").unwrap_or(event).to_owned();
        match kind.as_str() {
            "response.output_text.delta" | "response.refusal.delta" => {
                if let Some(delta) = str_field(&value, "delta").filter(|d| !d.is_empty()) {
                    self.emitted_content = true;
                    self.output_chars += delta.len();
                    out.push(BackendEvent::TextDelta(delta.to_owned()));
                }
            }
            "response.reasoning_text.delta" | "response.reasoning_summary_text.delta" => {
                if let Some(delta) = str_field(&value, "delta").filter(|d| !d.is_empty()) {
                    self.emitted_content = true;
                    self.output_chars += delta.len();
                    out.push(BackendEvent::ReasoningDelta(delta.to_owned()));
                }
            }
            // Summary parts are paragraphs: keep them apart.
            "response.reasoning_summary_part.added"
                if value.get("summary_index").and_then(Value::as_u64) > Some(0) =>
            {
                out.push(BackendEvent::ReasoningDelta("\n\n".to_owned()));
            }
            "response.output_item.added" | "response.output_item.done" => {
                if let Some(item) = value.get("item")
                    && str_field(item, "type") == Some("function_call")
                {
                    let index = index_field(&value).unwrap_or(self.calls.len());
                    let finished = kind.ends_with(".done");
                    self.function_call_item(index, item, finished, out);
                }
            }
            "response.function_call_arguments.delta" => {
                let index = index_field(&value).unwrap_or(self.calls.len().saturating_sub(1));
                if let Some(delta) = str_field(&value, "delta").filter(|d| !d.is_empty()) {
                    self.emitted_content = true;
                    self.output_chars += delta.len();
                    let call = self.calls.entry(index).or_default();
                    call.arguments.push_str(delta);
                    if call.started {
                        out.push(BackendEvent::ToolCallArgsDelta {
                            index,
                            delta: delta.to_owned(),
                        });
                    }
                }
            }
            "response.function_call_arguments.done" => {
                let index = index_field(&value).unwrap_or(self.calls.len().saturating_sub(1));
                if let Some(args) = str_field(&value, "arguments") {
                    self.calls.entry(index).or_default().final_arguments = Some(args.to_owned());
                }
            }
            "response.completed" | "response.incomplete" => {
                let response = value.get("response").unwrap_or(&Value::Null);
                self.read_response(response, out);
                let end = if kind == "response.incomplete" {
                    End::Incomplete(incomplete_reason(response))
                } else {
                    End::Completed
                };
                self.finish_reply(end, out);
            }
            "response.failed" => {
                let mut error = value
                    .pointer("/response/error")
                    .filter(|e| !e.is_null())
                    .cloned()
                    .unwrap_or_else(|| json!({ "message": "the response failed without details" }));
                // `response.failed` codes such as `invalid_prompt` or `invalid_image` are the
                // request's fault: classify them as bad requests, not (retried) server errors.
                if let Value::Object(map) = &mut error
                    && !map.contains_key("type")
                    && map
                        .get("code")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.starts_with("invalid"))
                {
                    map.insert("type".into(), "invalid_request_error".into());
                }
                self.fail(classify_stream_error(&error));
            }
            "error" => {
                let payload = value.get("error").cloned().unwrap_or(value);
                self.fail(classify_stream_error(&payload));
            }
            _ => {}
        }
    }

    fn fail(&mut self, error: BackendError) {
        self.error = Some(error);
        self.done = true;
    }

    /// A `function_call` output item (`added` starts it, `done` completes it).
    fn function_call_item(
        &mut self,
        index: usize,
        item: &Value,
        finished: bool,
        out: &mut Vec<BackendEvent>,
    ) {
        self.emitted_content = true;
        let call = self.calls.entry(index).or_default();
        if let Some(id) = str_field(item, "call_id")
            .or_else(|| str_field(item, "id"))
            .filter(|s| !s.is_empty())
            && call.id.is_empty()
        {
            id.clone_into(&mut call.id);
        }
        if let Some(name) = str_field(item, "name").filter(|s| !s.is_empty()) {
            name.clone_into(&mut call.name);
        }
        let arguments = str_field(item, "arguments").unwrap_or_default();
        if finished {
            if !arguments.is_empty() {
                call.final_arguments = Some(arguments.to_owned());
            }
            return;
        }
        if !call.started && !call.name.is_empty() {
            call.started = true;
            if call.id.is_empty() {
                call.id = format!("call_resp_{index}");
            }
            out.push(BackendEvent::ToolCallStarted {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            // Arguments sent whole in the item, or fragments that arrived before it (unusual).
            if call.arguments.is_empty() {
                call.arguments.push_str(arguments);
            }
            if !call.arguments.is_empty() {
                out.push(BackendEvent::ToolCallArgsDelta {
                    index,
                    delta: call.arguments.clone(),
                });
            }
        }
    }

    /// Usage and function calls missing from the stream, from a final `response` object.
    fn read_response(&mut self, response: &Value, out: &mut Vec<BackendEvent>) {
        if let Some(usage) = response.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(Usage {
                input_tokens: n("input_tokens"),
                output_tokens: n("output_tokens"),
                estimated: false,
            });
        }
        let known: HashSet<String> = self.calls.values().map(|c| c.id.clone()).collect();
        if let Some(items) = response.get("output").and_then(Value::as_array) {
            for (index, item) in items.iter().enumerate() {
                if str_field(item, "type") != Some("function_call") {
                    continue;
                }
                let id = str_field(item, "call_id").unwrap_or_default();
                if !id.is_empty() && known.contains(id) {
                    continue;
                }
                if self.calls.contains_key(&index) {
                    continue;
                }
                self.function_call_item(index, item, false, out);
                self.function_call_item(index, item, true, out);
            }
        }
    }

    /// Emit the tool calls (output order), usage and `Done`.
    fn finish_reply(&mut self, end: End, out: &mut Vec<BackendEvent>) {
        let calls = std::mem::take(&mut self.calls);
        let had_calls = !calls.is_empty();
        for (index, mut call) in calls {
            if call.id.is_empty() {
                call.id = format!("call_resp_{index}");
            }
            if !call.started {
                out.push(BackendEvent::ToolCallStarted {
                    index,
                    id: call.id.clone(),
                    name: call.name.clone(),
                });
            }
            out.push(BackendEvent::ToolCall(ToolCall {
                id: call.id,
                name: call.name,
                raw_arguments: call.final_arguments.unwrap_or(call.arguments),
            }));
        }
        let usage = self.usage.unwrap_or(Usage {
            input_tokens: estimate_tokens(self.input_chars),
            output_tokens: estimate_tokens(self.output_chars),
            estimated: true,
        });
        out.push(BackendEvent::Usage(usage));
        let finish_reason = match end {
            End::Incomplete(reason) => reason,
            End::Truncated => FinishReason::Unknown,
            End::Completed if had_calls => FinishReason::ToolCalls,
            End::Completed => FinishReason::Stop,
        };
        out.push(BackendEvent::Done { finish_reason });
        self.done = true;
    }
}

/// How a reply ended.
enum End {
    /// `response.completed`.
    Completed,
    /// `response.incomplete` with this reason.
    Incomplete(FinishReason),
    /// The body ended without a final event.
    Truncated,
}

fn incomplete_reason(response: &Value) -> FinishReason {
    match response
        .pointer("/incomplete_details/reason")
        .and_then(Value::as_str)
    {
        Some("max_output_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
        None => FinishReason::Other("incomplete".to_owned()),
    }
}

/// Events of a non-streamed Responses reply (a whole `response` object), for servers that
/// answer `stream: true` with JSON anyway.
pub fn parse_response_json(
    bytes: &[u8],
    input_chars: usize,
) -> Result<Vec<BackendEvent>, BackendError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        BackendError::MalformedResponse(format!(
            "the reply is not valid JSON ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        ))
    })?;
    if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
        return Err(classify_stream_error(error));
    }
    let response = value.get("response").unwrap_or(&value);
    let mut out = Vec::new();
    let mut state = State {
        input_chars,
        ..State::default()
    };
    for item in response
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let parts = item.get("content").or_else(|| item.get("summary"));
        for part in parts.and_then(Value::as_array).into_iter().flatten() {
            let Some(text) = str_field(part, "text").filter(|t| !t.is_empty()) else {
                continue;
            };
            state.output_chars += text.len();
            state.emitted_content = true;
            match (str_field(item, "type"), str_field(part, "type")) {
                (Some("reasoning"), _) => out.push(BackendEvent::ReasoningDelta(text.to_owned())),
                (_, Some("output_text" | "refusal")) => {
                    out.push(BackendEvent::TextDelta(text.to_owned()))
                }
                _ => {}
            }
        }
    }
    state.read_response(response, &mut out);
    let end = match str_field(response, "status") {
        Some("incomplete") => End::Incomplete(incomplete_reason(response)),
        _ => End::Completed,
    };
    state.finish_reply(end, &mut out);
    Ok(out)
}
