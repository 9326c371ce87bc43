//! A scripted OpenAI-compatible provider: a REAL HTTP server on `127.0.0.1:0` that answers
//! Chat Completions requests from a script, for tests of the backend, the engine, MCP, the TUI
//! and end-to-end runs of the real binary. No network beyond loopback, no real LLM.
//!
//! # Quick start
//!
//! ```ignore
//! mod support;
//! use support::scripted_provider::{Chunk, Reply, ScriptedProvider};
//!
//! let server = ScriptedProvider::start().await;
//! server.push(
//!     Reply::stream([
//!         Chunk::text("Hel"),
//!         Chunk::text("lo"),
//!         Chunk::tool_call(0, "new_answer", r#"{"content":"x"}"#),
//!     ])
//!     .finish("tool_calls"),
//! );
//! // point a backend at server.base_url()  (== "http://127.0.0.1:PORT/v1")
//! let sent = server.requests();            // everything the client sent
//! assert_eq!(sent[0].model(), Some("my-model"));
//! ```
//!
//! # Endpoints
//!
//! * `POST /v1/chat/completions`, `POST /chat/completions` and Azure's
//!   `POST /openai/deployments/{deployment}/chat/completions?api-version=…`: answered from the
//!   script (below).
//! * `POST /v1/responses` and `POST /responses` (the OpenAI Responses API): answered from the
//!   same script; build those replies with [`Reply::responses_stream`] and [`RChunk`] (typed
//!   `event:` + `data:` events; `response.created` first and `response.completed` with the
//!   [`Reply::usage`] last are added for you).
//! * `GET /v1/models` and `GET /models`: `{"object":"list","data":[{"id":…}]}` from
//!   [`ScriptedProvider::set_models`] (default `["scripted-model"]`).
//! * Anything else: 404 with a JSON error. Every request (any path) is recorded.
//!
//! # Choosing the reply for a request
//!
//! 1. The first queued *routed* reply whose matcher accepts the request
//!    ([`ScriptedProvider::push_for_model`], [`ScriptedProvider::push_matching`]) — FIFO per
//!    insertion order. Use this to script several agents (keyed by their `model`) independently.
//! 2. A *sticky* route ([`ScriptedProvider::always_for_model`], [`ScriptedProvider::always_matching`]):
//!    answers every matching request, never used up.
//! 3. The global FIFO queue ([`ScriptedProvider::push`]).
//! 4. The fallback ([`ScriptedProvider::set_fallback`]); by default a 500 JSON error saying
//!    "scripted provider: the script ran out of replies …" so a missing script line is obvious.
//!
//! # Replies
//!
//! [`Reply::stream`] sends `text/event-stream` chunks ([`Chunk`]): text, reasoning (either
//! `reasoning_content` or `reasoning`), tool calls whole or fragmented (ids/names once or
//! repeated, missing ids), the legacy `function_call`, usage, error objects, comments, malformed
//! lines, raw bytes (also non-UTF-8), pauses. Builders add `finish_reason` ([`Reply::finish`]),
//! omit `[DONE]` ([`Reply::without_done`]), delay each chunk ([`Reply::delay`]) or the headers
//! ([`Reply::initial_delay`]), use CRLF line ends ([`Reply::crlf`]), break the connection after
//! n chunks ([`Reply::disconnect_after`]), set status and headers ([`Reply::status`],
//! [`Reply::header`], [`Reply::retry_after`]). Error and odd replies: [`Reply::error`] (OpenAI
//! style JSON), [`Reply::html`], [`Reply::plain`], [`Reply::empty`], [`Reply::json`] (any JSON,
//! e.g. a non-streamed completion), [`Reply::raw`].
//!
//! If the request says `"stream": false` and the reply is a stream, the server answers with the
//! equivalent non-streamed `chat.completion` JSON (text, reasoning, tool calls and usage
//! aggregated), so scripts work for both modes.
//!
//! # Observing the client
//!
//! [`ScriptedProvider::requests`] returns every [`RecordedRequest`] (method, path, query,
//! headers, JSON body). Connection counters ([`ScriptedProvider::connections_opened`],
//! [`ScriptedProvider::connections_closed`]) and stream counters
//! ([`ScriptedProvider::streams_aborted`]: the client went away before the stream finished)
//! support cancellation tests; the `wait_for_*` helpers poll with a timeout instead of sleeping.
//!
//! Robustness: handlers never panic (a poisoned lock is recovered), bodies up to 32 MiB are
//! accepted, and the server shuts down when the `ScriptedProvider` is dropped.

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// Chunks
// ---------------------------------------------------------------------------------------------

/// One element of a streamed reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Chunk {
    /// A `chat.completion.chunk` whose `choices[0].delta` is this value (`finish_reason: null`).
    Delta(Value),
    /// A chunk with an empty delta and this `finish_reason`.
    Finish(String),
    /// A usage-only chunk (`choices: []`), as sent with `stream_options.include_usage`.
    Usage {
        /// Prompt tokens.
        prompt: u64,
        /// Completion tokens.
        completion: u64,
    },
    /// A whole `chat.completion.chunk` object of your own, sent as one `data:` event.
    Object(Value),
    /// `data: <text>` followed by a blank line, the text verbatim (malformed JSON, error
    /// objects, `[DONE]`…).
    Data(String),
    /// Text written verbatim to the body (comments, odd framing, multi-line `data:`).
    Raw(String),
    /// Bytes written verbatim (e.g. invalid UTF-8).
    Bytes(Vec<u8>),
    /// Wait this long before the next chunk (in addition to the reply's per-chunk delay).
    Pause(Duration),
}

impl Chunk {
    /// Visible text (`delta.content`).
    pub fn text(text: &str) -> Self {
        Chunk::Delta(json!({ "content": text }))
    }
    /// Reasoning via `delta.reasoning_content` (DeepSeek, Qwen, GLM, vLLM).
    pub fn reasoning_content(text: &str) -> Self {
        Chunk::Delta(json!({ "reasoning_content": text }))
    }
    /// Reasoning via `delta.reasoning` (OpenRouter, Groq, gpt-oss servers).
    pub fn reasoning(text: &str) -> Self {
        Chunk::Delta(json!({ "reasoning": text }))
    }
    /// A complete tool call in one fragment: index, id `call_scripted_<index>`, type, name and
    /// the whole arguments.
    pub fn tool_call(index: usize, name: &str, arguments: &str) -> Self {
        Self::tool_call_fragment(
            Some(index),
            Some(&format!("call_scripted_{index}")),
            Some(name),
            Some(arguments),
        )
    }
    /// The first fragment of a tool call: index, id (if any), type and name, empty arguments.
    pub fn tool_call_start(index: usize, id: Option<&str>, name: &str) -> Self {
        Self::tool_call_fragment(Some(index), id, Some(name), Some(""))
    }
    /// A later fragment carrying only `index` and an argument piece.
    pub fn tool_args(index: usize, fragment: &str) -> Self {
        Self::tool_call_fragment(Some(index), None, None, Some(fragment))
    }
    /// A fully controlled `delta.tool_calls[0]` entry; `None` fields are left out (`index`
    /// too, to imitate servers that omit it).
    pub fn tool_call_fragment(
        index: Option<usize>,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
    ) -> Self {
        let mut call = serde_json::Map::new();
        if let Some(i) = index {
            call.insert("index".into(), json!(i));
        }
        if let Some(id) = id {
            call.insert("id".into(), json!(id));
            call.insert("type".into(), json!("function"));
        }
        let mut function = serde_json::Map::new();
        if let Some(n) = name {
            function.insert("name".into(), json!(n));
        }
        if let Some(a) = arguments {
            function.insert("arguments".into(), json!(a));
        }
        call.insert("function".into(), Value::Object(function));
        Chunk::Delta(json!({ "tool_calls": [Value::Object(call)] }))
    }
    /// The legacy `delta.function_call` (name and/or arguments).
    pub fn function_call(name: Option<&str>, arguments: Option<&str>) -> Self {
        let mut f = serde_json::Map::new();
        if let Some(n) = name {
            f.insert("name".into(), json!(n));
        }
        if let Some(a) = arguments {
            f.insert("arguments".into(), json!(a));
        }
        Chunk::Delta(json!({ "function_call": Value::Object(f) }))
    }
    /// A delta of your own (e.g. explicit nulls: `json!({"role": null, "content": null})`).
    pub fn delta(delta: Value) -> Self {
        Chunk::Delta(delta)
    }
    /// A chunk with `finish_reason`.
    pub fn finish(reason: &str) -> Self {
        Chunk::Finish(reason.to_owned())
    }
    /// A usage-only chunk.
    pub fn usage(prompt: u64, completion: u64) -> Self {
        Chunk::Usage { prompt, completion }
    }
    /// An OpenAI-style error object inside the stream: `data: {"error": {...}}`.
    pub fn error(code: Value, message: &str) -> Self {
        Chunk::Data(
            json!({ "error": { "message": message, "type": "server_error", "code": code } })
                .to_string(),
        )
    }
    /// A keep-alive comment line (`: <text>`).
    pub fn comment(text: &str) -> Self {
        Chunk::Raw(format!(": {text}\n\n"))
    }
    /// A `data:` event that is not valid JSON.
    pub fn malformed() -> Self {
        Chunk::Data("{\"choices\": [ this is not json".to_owned())
    }
    /// A `data:` event with arbitrary text.
    pub fn data(text: &str) -> Self {
        Chunk::Data(text.to_owned())
    }
    /// Verbatim body text.
    pub fn raw(text: &str) -> Self {
        Chunk::Raw(text.to_owned())
    }
    /// Verbatim body bytes.
    pub fn bytes(bytes: &[u8]) -> Self {
        Chunk::Bytes(bytes.to_vec())
    }
    /// An extra pause before the next chunk.
    pub fn pause(d: Duration) -> Self {
        Chunk::Pause(d)
    }
}

/// Builders of OpenAI Responses API stream events for [`Reply::responses_stream`]. Each is one
/// [`Chunk`] written as `event: <type>` + `data: <json with "type">`.
pub struct RChunk;

impl RChunk {
    /// Any event: `data` gets `"type": kind` added.
    pub fn event(kind: &str, data: Value) -> Chunk {
        let mut data = match data {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        data.insert("type".into(), Value::String(kind.to_owned()));
        let data = Value::Object(data);
        Chunk::Raw(format!("event: {kind}\ndata: {data}\n\n"))
    }
    /// `response.output_text.delta` (message at output index 0).
    pub fn text(delta: &str) -> Chunk {
        Self::event(
            "response.output_text.delta",
            json!({ "item_id": "msg_0", "output_index": 0, "content_index": 0, "delta": delta }),
        )
    }
    /// `response.reasoning_text.delta`.
    pub fn reasoning(delta: &str) -> Chunk {
        Self::event(
            "response.reasoning_text.delta",
            json!({ "item_id": "rs_0", "output_index": 0, "content_index": 0, "delta": delta }),
        )
    }
    /// `response.reasoning_summary_text.delta`.
    pub fn reasoning_summary(delta: &str) -> Chunk {
        Self::event(
            "response.reasoning_summary_text.delta",
            json!({ "item_id": "rs_0", "output_index": 0, "summary_index": 0, "delta": delta }),
        )
    }
    fn call_item(call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
        json!({
            "type": "function_call",
            "id": format!("fc_{call_id}"),
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "status": status,
        })
    }
    /// `response.output_item.added` for a function call (empty arguments).
    pub fn call_added(output_index: usize, call_id: &str, name: &str) -> Chunk {
        Self::event(
            "response.output_item.added",
            json!({ "output_index": output_index, "item": Self::call_item(call_id, name, "", "in_progress") }),
        )
    }
    /// `response.function_call_arguments.delta`.
    pub fn call_args(output_index: usize, delta: &str) -> Chunk {
        Self::event(
            "response.function_call_arguments.delta",
            json!({ "output_index": output_index, "item_id": format!("fc_{output_index}"), "delta": delta }),
        )
    }
    /// `response.function_call_arguments.done`.
    pub fn call_args_done(output_index: usize, arguments: &str) -> Chunk {
        Self::event(
            "response.function_call_arguments.done",
            json!({ "output_index": output_index, "item_id": format!("fc_{output_index}"), "arguments": arguments }),
        )
    }
    /// `response.output_item.done` for a function call.
    pub fn call_done(output_index: usize, call_id: &str, name: &str, arguments: &str) -> Chunk {
        Self::event(
            "response.output_item.done",
            json!({ "output_index": output_index, "item": Self::call_item(call_id, name, arguments, "completed") }),
        )
    }
    /// A whole function call the way OpenAI streams it: added, one arguments delta, arguments
    /// done, item done.
    pub fn function_call(
        output_index: usize,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) -> Vec<Chunk> {
        vec![
            Self::call_added(output_index, call_id, name),
            Self::call_args(output_index, arguments),
            Self::call_args_done(output_index, arguments),
            Self::call_done(output_index, call_id, name, arguments),
        ]
    }
    /// `response.incomplete` with `incomplete_details.reason` (use with
    /// [`Reply::without_completed`]).
    pub fn incomplete(reason: &str) -> Chunk {
        Self::event(
            "response.incomplete",
            json!({ "response": { "id": "resp_scripted", "status": "incomplete", "incomplete_details": { "reason": reason }, "output": [] } }),
        )
    }
    /// `response.failed` with `response.error {code, message}`.
    pub fn failed(code: &str, message: &str) -> Chunk {
        Self::event(
            "response.failed",
            json!({ "response": { "id": "resp_scripted", "status": "failed", "error": { "code": code, "message": message } } }),
        )
    }
    /// A top-level `error` event.
    pub fn error(code: &str, message: &str) -> Chunk {
        Self::event(
            "error",
            json!({ "code": code, "message": message, "param": Value::Null }),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum ReplyBody {
    Stream(Vec<Chunk>),
    Json(Value),
    Raw { content_type: String, body: Vec<u8> },
}

/// What the server answers to one request. Build with the constructors, adjust with the
/// builder methods.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    body: ReplyBody,
    status: u16,
    headers: Vec<(String, String)>,
    chunk_delay: Duration,
    initial_delay: Duration,
    crlf: bool,
    send_done: bool,
    finish: Option<String>,
    usage: Option<(u64, u64)>,
    disconnect_after: Option<usize>,
    linger: Duration,
    model: String,
    /// `Some(completed)`: a Responses API stream (with `response.completed` at the end when
    /// true) instead of Chat Completions chunks.
    responses: Option<bool>,
}

impl Reply {
    fn base(body: ReplyBody, status: u16) -> Self {
        Self {
            body,
            status,
            headers: Vec::new(),
            chunk_delay: Duration::ZERO,
            initial_delay: Duration::ZERO,
            crlf: false,
            send_done: true,
            finish: None,
            usage: None,
            disconnect_after: None,
            linger: Duration::ZERO,
            model: "scripted-model".to_owned(),
            responses: None,
        }
    }

    /// A 200 Responses API stream: `response.created`, the events (build them with
    /// [`RChunk`]), then `response.completed` (its `usage` from [`Reply::usage`], default 0/0).
    /// No `[DONE]`.
    pub fn responses_stream(chunks: impl IntoIterator<Item = Chunk>) -> Self {
        let mut reply = Self::stream(chunks);
        reply.responses = Some(true);
        reply.send_done = false;
        reply
    }

    /// A Responses stream with just this text.
    pub fn responses_text(text: &str) -> Self {
        Self::responses_stream([RChunk::text(text)])
    }

    /// A Responses stream with one whole function call (call id `call_1`).
    pub fn responses_tool_call(name: &str, arguments: &str) -> Self {
        Self::responses_stream(RChunk::function_call(0, "call_1", name, arguments))
    }

    /// Responses streams only: do not send `response.completed` at the end.
    pub fn without_completed(mut self) -> Self {
        if self.responses.is_some() {
            self.responses = Some(false);
        }
        self
    }

    /// A 200 SSE stream of `chunks`, then `data: [DONE]`. Add [`Reply::finish`] for a
    /// `finish_reason` chunk.
    pub fn stream(chunks: impl IntoIterator<Item = Chunk>) -> Self {
        Self::base(ReplyBody::Stream(chunks.into_iter().collect()), 200)
    }

    /// A streamed text answer finishing with "stop".
    pub fn text(text: &str) -> Self {
        Self::stream([Chunk::text(text)]).finish("stop")
    }

    /// A streamed single tool call (whole arguments) finishing with "tool_calls".
    pub fn tool_call(name: &str, arguments: &str) -> Self {
        Self::stream([Chunk::tool_call(0, name, arguments)]).finish("tool_calls")
    }

    /// An OpenAI-style JSON error: `{"error": {"message", "type", "code"}}` with `status`.
    pub fn error(status: u16, message: &str) -> Self {
        let kind = match status {
            401 | 403 => "authentication_error",
            429 => "rate_limit_error",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        };
        Self::json_status(
            status,
            json!({ "error": { "message": message, "type": kind, "code": Value::Null } }),
        )
    }

    /// Any JSON body with status 200 (e.g. a non-streamed `chat.completion`).
    pub fn json(body: Value) -> Self {
        Self::json_status(200, body)
    }

    /// Any JSON body with a status.
    pub fn json_status(status: u16, body: Value) -> Self {
        Self::base(ReplyBody::Json(body), status)
    }

    /// An HTML page (e.g. a proxy's 502 page).
    pub fn html(status: u16, html: &str) -> Self {
        Self::raw(status, "text/html; charset=utf-8", html.as_bytes())
    }

    /// A plain-text body.
    pub fn plain(status: u16, text: &str) -> Self {
        Self::raw(status, "text/plain; charset=utf-8", text.as_bytes())
    }

    /// 200 with an empty body (content type `text/event-stream`).
    pub fn empty() -> Self {
        Self::raw(200, "text/event-stream", b"")
    }

    /// Any body with any content type.
    pub fn raw(status: u16, content_type: &str, body: &[u8]) -> Self {
        Self::base(
            ReplyBody::Raw {
                content_type: content_type.to_owned(),
                body: body.to_vec(),
            },
            status,
        )
    }

    /// Append a `finish_reason` chunk after the chunks.
    pub fn finish(mut self, reason: &str) -> Self {
        self.finish = Some(reason.to_owned());
        self
    }

    /// Append a usage chunk (after the finish chunk).
    pub fn usage(mut self, prompt: u64, completion: u64) -> Self {
        self.usage = Some((prompt, completion));
        self
    }

    /// Do not send `data: [DONE]`.
    pub fn without_done(mut self) -> Self {
        self.send_done = false;
        self
    }

    /// Wait this long before each chunk.
    pub fn delay(mut self, per_chunk: Duration) -> Self {
        self.chunk_delay = per_chunk;
        self
    }

    /// Keep the body open this long after the last chunk (after `[DONE]`) before ending it,
    /// like servers whose final chunk-terminator arrives in a later packet.
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }

    /// Wait this long before sending the response headers.
    pub fn initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Use CRLF line ends for generated events.
    pub fn crlf(mut self) -> Self {
        self.crlf = true;
        self
    }

    /// Break the connection (no clean end of the chunked body) after `n` chunks.
    pub fn disconnect_after(mut self, n: usize) -> Self {
        self.disconnect_after = Some(n);
        self
    }

    /// Set the HTTP status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Add a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add `Retry-After` (seconds like `"2"` or an HTTP-date).
    pub fn retry_after(self, value: &str) -> Self {
        self.header("retry-after", value)
    }

    /// The `model` reported in generated chunks.
    pub fn model(mut self, model: &str) -> Self {
        model.clone_into(&mut self.model);
        self
    }

    fn chunk_object(&self, choices: Value, usage: Option<Value>) -> Value {
        let mut obj = json!({
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": choices,
        });
        if let (Some(u), Some(map)) = (usage, obj.as_object_mut()) {
            map.insert("usage".into(), u);
        }
        obj
    }

    fn event(&self, data: &str) -> Vec<u8> {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        format!("data: {data}{nl}{nl}").into_bytes()
    }

    /// The body pieces of a stream reply, in order (pauses separate).
    fn render_stream(&self, chunks: &[Chunk]) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut all: Vec<Chunk> = chunks.to_vec();
        if let Some(completed) = self.responses {
            let response = json!({ "id": "resp_scripted", "object": "response", "model": self.model, "status": "in_progress", "output": [] });
            all.insert(
                0,
                RChunk::event("response.created", json!({ "response": response })),
            );
            if completed {
                let (input, output) = self.usage.unwrap_or((0, 0));
                let response = json!({
                    "id": "resp_scripted",
                    "object": "response",
                    "model": self.model,
                    "status": "completed",
                    "usage": { "input_tokens": input, "output_tokens": output, "total_tokens": input + output },
                });
                all.push(RChunk::event(
                    "response.completed",
                    json!({ "response": response }),
                ));
            }
        } else {
            if let Some(f) = &self.finish {
                all.push(Chunk::Finish(f.clone()));
            }
            if let Some((p, c)) = self.usage {
                all.push(Chunk::usage(p, c));
            }
        }
        for chunk in &all {
            let bytes = match chunk {
                Chunk::Delta(delta) => self.event(
                    &self
                        .chunk_object(
                            json!([{ "index": 0, "delta": delta, "finish_reason": null }]),
                            None,
                        )
                        .to_string(),
                ),
                Chunk::Finish(reason) => self.event(
                    &self
                        .chunk_object(
                            json!([{ "index": 0, "delta": {}, "finish_reason": reason }]),
                            None,
                        )
                        .to_string(),
                ),
                Chunk::Usage { prompt, completion } => self.event(
                    &self
                        .chunk_object(
                            json!([]),
                            Some(json!({
                                "prompt_tokens": prompt,
                                "completion_tokens": completion,
                                "total_tokens": prompt + completion,
                            })),
                        )
                        .to_string(),
                ),
                Chunk::Object(v) => self.event(&v.to_string()),
                Chunk::Data(text) => self.event(text),
                Chunk::Raw(text) => text.clone().into_bytes(),
                Chunk::Bytes(b) => b.clone(),
                Chunk::Pause(d) => {
                    out.push(Piece::Pause(*d));
                    continue;
                }
            };
            out.push(Piece::Bytes(bytes));
        }
        if self.send_done {
            out.push(Piece::Bytes(self.event("[DONE]")));
        }
        if !self.linger.is_zero() {
            out.push(Piece::Pause(self.linger));
        }
        out
    }

    /// The equivalent non-streamed `chat.completion` of a stream reply.
    fn aggregate(&self, chunks: &[Chunk]) -> Value {
        let mut content = String::new();
        let mut reasoning = String::new();
        let mut calls: Vec<(usize, Value)> = Vec::new();
        let mut finish = self.finish.clone();
        let mut usage = self.usage;
        for chunk in chunks {
            match chunk {
                Chunk::Delta(d) => {
                    if let Some(t) = d.get("content").and_then(Value::as_str) {
                        content.push_str(t);
                    }
                    for key in ["reasoning_content", "reasoning"] {
                        if let Some(t) = d.get(key).and_then(Value::as_str) {
                            reasoning.push_str(t);
                        }
                    }
                    let fragments = d
                        .get("tool_calls")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for frag in fragments {
                        let index = frag
                            .get("index")
                            .and_then(Value::as_u64)
                            .map(|i| i as usize)
                            .unwrap_or(calls.len().saturating_sub(1));
                        let pos = match calls.iter().position(|(i, _)| *i == index) {
                            Some(p) => p,
                            None => {
                                calls.push((
                                    index,
                                    json!({"id": format!("call_scripted_{index}"), "type": "function",
                                           "function": {"name": "", "arguments": ""}}),
                                ));
                                calls.len() - 1
                            }
                        };
                        let call = &mut calls[pos].1;
                        if let Some(id) = frag.get("id").and_then(Value::as_str) {
                            call["id"] = json!(id);
                        }
                        if let Some(f) = frag.get("function") {
                            if let Some(n) = f.get("name").and_then(Value::as_str) {
                                call["function"]["name"] = json!(n);
                            }
                            if let Some(a) = f.get("arguments").and_then(Value::as_str) {
                                let joined = format!(
                                    "{}{a}",
                                    call["function"]["arguments"].as_str().unwrap_or_default()
                                );
                                call["function"]["arguments"] = json!(joined);
                            }
                        }
                    }
                }
                Chunk::Finish(r) => finish = Some(r.clone()),
                Chunk::Usage { prompt, completion } => usage = Some((*prompt, *completion)),
                _ => {}
            }
        }
        calls.sort_by_key(|(i, _)| *i);
        let mut message = serde_json::Map::new();
        message.insert("role".into(), json!("assistant"));
        message.insert(
            "content".into(),
            if content.is_empty() && !calls.is_empty() {
                Value::Null
            } else {
                json!(content)
            },
        );
        if !reasoning.is_empty() {
            message.insert("reasoning_content".into(), json!(reasoning));
        }
        if !calls.is_empty() {
            message.insert(
                "tool_calls".into(),
                Value::Array(calls.into_iter().map(|(_, c)| c).collect()),
            );
        }
        let mut obj = json!({
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [{ "index": 0, "message": Value::Object(message),
                          "finish_reason": finish.unwrap_or_else(|| "stop".to_owned()) }],
        });
        if let (Some((p, c)), Some(map)) = (usage, obj.as_object_mut()) {
            map.insert(
                "usage".into(),
                json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}),
            );
        }
        obj
    }
}

enum Piece {
    Bytes(Vec<u8>),
    Pause(Duration),
}

// ---------------------------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------------------------

/// A request the server received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers (names lower-case), in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Value::Null` if empty or not JSON).
    pub body: Value,
    /// The body as text (lossy).
    pub raw_body: String,
}

impl RecordedRequest {
    /// A header value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// `body.model`.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }
    /// `body.messages` (empty if absent).
    pub fn messages(&self) -> &[Value] {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    /// `body.tools` (empty if absent).
    pub fn tools(&self) -> &[Value] {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    /// `body.input` of a Responses request (empty if absent).
    pub fn input(&self) -> &[Value] {
        self.body
            .get("input")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    /// Names of the offered tools (Chat Completions `function.name` or the Responses flat
    /// `name`).
    pub fn tool_names(&self) -> Vec<String> {
        self.tools()
            .iter()
            .filter_map(|t| {
                t.pointer("/function/name")
                    .or_else(|| t.get("name"))
                    .and_then(Value::as_str)
            })
            .map(str::to_owned)
            .collect()
    }
    /// `body.stream` (false if absent).
    pub fn is_streaming(&self) -> bool {
        self.body
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    /// Text content of the last message with `role`.
    pub fn last_content(&self, role: &str) -> Option<&str> {
        self.messages()
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some(role))
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
    }
    /// A value by JSON pointer into the body (e.g. `"/stream_options/include_usage"`).
    pub fn pointer(&self, ptr: &str) -> Option<&Value> {
        self.body.pointer(ptr)
    }
    /// Whether this is a chat completion request.
    pub fn is_chat_completion(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/chat/completions")
    }
    /// Whether this is a Responses API request (`POST …/responses`).
    pub fn is_responses(&self) -> bool {
        self.method == "POST" && self.path.trim_end_matches('/').ends_with("/responses")
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

type Matcher = Arc<dyn Fn(&RecordedRequest) -> bool + Send + Sync>;

struct Route {
    matcher: Matcher,
    reply: Reply,
    sticky: bool,
}

struct Script {
    routes: Vec<Route>,
    queue: VecDeque<Reply>,
    fallback: Reply,
    models: Vec<String>,
}

struct Shared {
    script: Mutex<Script>,
    requests: Mutex<Vec<RecordedRequest>>,
    connections_opened: AtomicUsize,
    connections_closed: AtomicUsize,
    streams_completed: AtomicUsize,
    streams_aborted: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn default_fallback() -> Reply {
    Reply::error(
        500,
        "scripted provider: the script ran out of replies for this request (push more replies \
         or set a fallback)",
    )
}

/// The running server. Dropping it shuts it down.
pub struct ScriptedProvider {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ScriptedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedProvider")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for ScriptedProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedProvider {
    /// Start a server on `127.0.0.1:<free port>`. Panics only if loopback cannot be bound
    /// (then no test could run anyway).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("scripted provider: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("scripted provider: no local address");
        let shared = Arc::new(Shared {
            script: Mutex::new(Script {
                routes: Vec::new(),
                queue: VecDeque::new(),
                fallback: default_fallback(),
                models: vec!["scripted-model".to_owned()],
            }),
            requests: Mutex::new(Vec::new()),
            connections_opened: AtomicUsize::new(0),
            connections_closed: AtomicUsize::new(0),
            streams_completed: AtomicUsize::new(0),
            streams_aborted: AtomicUsize::new(0),
        });
        let handler_shared = shared.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let shared = handler_shared.clone();
            async move { handle(shared, req).await }
        });
        let counting = CountingListener {
            inner: listener,
            shared: shared.clone(),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(counting, app).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/v1`: what a backend's `base_url` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT` (no `/v1`; for Azure-style endpoints).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Queue a reply for the next request that no route claims (global FIFO).
    pub fn push(&self, reply: Reply) -> &Self {
        lock(&self.shared.script).queue.push_back(reply);
        self
    }

    /// Queue several replies.
    pub fn push_all(&self, replies: impl IntoIterator<Item = Reply>) -> &Self {
        lock(&self.shared.script).queue.extend(replies);
        self
    }

    /// Queue a reply for the next request whose body has `"model": model` (FIFO per model).
    pub fn push_for_model(&self, model: &str, reply: Reply) -> &Self {
        let model = model.to_owned();
        self.route(
            Arc::new(move |r: &RecordedRequest| r.model() == Some(model.as_str())),
            reply,
            false,
        )
    }

    /// Queue a reply for the next request the matcher accepts.
    pub fn push_matching(
        &self,
        matcher: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
        reply: Reply,
    ) -> &Self {
        self.route(Arc::new(matcher), reply, false)
    }

    /// Answer every request for `model` with `reply` (after queued routed replies are used up).
    pub fn always_for_model(&self, model: &str, reply: Reply) -> &Self {
        let model = model.to_owned();
        self.route(
            Arc::new(move |r: &RecordedRequest| r.model() == Some(model.as_str())),
            reply,
            true,
        )
    }

    /// Answer every request the matcher accepts with `reply`.
    pub fn always_matching(
        &self,
        matcher: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
        reply: Reply,
    ) -> &Self {
        self.route(Arc::new(matcher), reply, true)
    }

    fn route(&self, matcher: Matcher, reply: Reply, sticky: bool) -> &Self {
        lock(&self.shared.script).routes.push(Route {
            matcher,
            reply,
            sticky,
        });
        self
    }

    /// The reply when nothing else matches (default: a 500 "script ran out").
    pub fn set_fallback(&self, reply: Reply) -> &Self {
        lock(&self.shared.script).fallback = reply;
        self
    }

    /// Model ids listed by `GET /v1/models`.
    pub fn set_models(&self, models: &[&str]) -> &Self {
        lock(&self.shared.script).models = models.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// Replies still queued (global + routed, sticky routes excluded).
    pub fn pending_replies(&self) -> usize {
        let s = lock(&self.shared.script);
        s.queue.len() + s.routes.iter().filter(|r| !r.sticky).count()
    }

    /// Every request received so far (all paths), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Chat completion requests received so far.
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_chat_completion)
            .collect()
    }

    /// Responses API requests received so far.
    pub fn responses_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_responses)
            .collect()
    }

    /// Number of requests received.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// TCP connections accepted.
    pub fn connections_opened(&self) -> usize {
        self.shared.connections_opened.load(Ordering::SeqCst)
    }

    /// TCP connections closed (by either side).
    pub fn connections_closed(&self) -> usize {
        self.shared.connections_closed.load(Ordering::SeqCst)
    }

    /// Streamed replies sent to the end.
    pub fn streams_completed(&self) -> usize {
        self.shared.streams_completed.load(Ordering::SeqCst)
    }

    /// Streamed replies abandoned because the client went away (or `disconnect_after`).
    pub fn streams_aborted(&self) -> usize {
        self.shared.streams_aborted.load(Ordering::SeqCst)
    }

    /// Wait until `cond(self)` holds; false on timeout.
    pub async fn wait_until(&self, timeout: Duration, cond: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Wait until at least `n` requests arrived; false on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.request_count() >= n).await
    }

    /// Wait until every accepted connection is closed; false on timeout.
    pub async fn wait_for_all_connections_closed(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| {
            s.connections_opened() > 0 && s.connections_closed() >= s.connections_opened()
        })
        .await
    }
}

async fn handle(shared: Arc<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 32 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let raw_body = String::from_utf8_lossy(&bytes).into_owned();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        raw_body,
    };
    lock(&shared.requests).push(recorded.clone());

    let path = recorded.path.trim_end_matches('/');
    if recorded.method == "GET" && (path == "/v1/models" || path == "/models") {
        let models = lock(&shared.script).models.clone();
        let data: Vec<Value> = models
            .iter()
            .map(|id| json!({ "id": id, "object": "model", "owned_by": "scripted" }))
            .collect();
        return json_response(200, &json!({ "object": "list", "data": data }), &[]);
    }
    if !recorded.is_chat_completion() && !recorded.is_responses() {
        return json_response(
            404,
            &json!({ "error": { "message": format!("scripted provider: no route for {} {}", recorded.method, recorded.path), "type": "not_found" } }),
            &[],
        );
    }
    let reply = next_reply(&shared, &recorded);
    if !reply.initial_delay.is_zero() {
        tokio::time::sleep(reply.initial_delay).await;
    }
    let headers = reply.headers.clone();
    match &reply.body {
        ReplyBody::Json(v) => json_response(reply.status, v, &headers),
        ReplyBody::Raw { content_type, body } => {
            raw_response(reply.status, content_type, body.clone(), &headers)
        }
        ReplyBody::Stream(chunks) if !recorded.is_streaming() && reply.responses.is_none() => {
            json_response(reply.status, &reply.aggregate(chunks), &headers)
        }
        ReplyBody::Stream(chunks) => {
            let pieces = reply.render_stream(chunks);
            stream_response(shared.clone(), &reply, pieces)
        }
    }
}

fn next_reply(shared: &Shared, request: &RecordedRequest) -> Reply {
    let mut script = lock(&shared.script);
    if let Some(pos) = script
        .routes
        .iter()
        .position(|r| !r.sticky && (r.matcher)(request))
    {
        return script.routes.remove(pos).reply;
    }
    if let Some(route) = script
        .routes
        .iter()
        .find(|r| r.sticky && (r.matcher)(request))
    {
        return route.reply.clone();
    }
    if let Some(reply) = script.queue.pop_front() {
        return reply;
    }
    script.fallback.clone()
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn apply_headers(map: &mut HeaderMap, headers: &[(String, String)]) {
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            map.insert(name, value);
        }
    }
}

fn json_response(status: u16, body: &Value, headers: &[(String, String)]) -> Response {
    raw_response(
        status,
        "application/json",
        body.to_string().into_bytes(),
        headers,
    )
}

fn raw_response(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(String, String)],
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status_code(status);
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
    }
    apply_headers(response.headers_mut(), headers);
    response
}

/// Counts a stream as completed or aborted when the body is dropped.
struct StreamGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl StreamGuard {
    fn complete(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.finished {
            self.shared.streams_completed.fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared.streams_aborted.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct StreamState {
    pieces: VecDeque<Piece>,
    delay: Duration,
    disconnect_after: Option<usize>,
    sent: usize,
    guard: StreamGuard,
}

fn stream_response(shared: Arc<Shared>, reply: &Reply, pieces: Vec<Piece>) -> Response {
    let state = StreamState {
        pieces: pieces.into(),
        delay: reply.chunk_delay,
        disconnect_after: reply.disconnect_after,
        sent: 0,
        guard: StreamGuard {
            shared,
            finished: false,
        },
    };
    let body = futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.disconnect_after.is_some_and(|n| st.sent >= n) {
                if st.sent > 0 {
                    // Let hyper flush what was sent before the connection is broken.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                st.pieces.clear();
                st.disconnect_after = None;
                let err =
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "scripted disconnect");
                return Some((Err(err), st));
            }
            match st.pieces.pop_front() {
                None => {
                    st.guard.complete();
                    return None;
                }
                Some(Piece::Pause(d)) => tokio::time::sleep(d).await,
                Some(Piece::Bytes(b)) => {
                    if !st.delay.is_zero() {
                        tokio::time::sleep(st.delay).await;
                    }
                    st.sent += 1;
                    return Some((Ok::<Bytes, std::io::Error>(Bytes::from(b)), st));
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status_code(reply.status);
    let h = response.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    apply_headers(h, &reply.headers);
    response
}

// ---------------------------------------------------------------------------------------------
// Connection counting
// ---------------------------------------------------------------------------------------------

struct CountingListener {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for CountingListener {
    type Io = CountedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    self.shared
                        .connections_opened
                        .fetch_add(1, Ordering::SeqCst);
                    return (
                        CountedStream {
                            inner: stream,
                            shared: self.shared.clone(),
                        },
                        addr,
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that counts its closing.
struct CountedStream {
    inner: TcpStream,
    shared: Arc<Shared>,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.shared
            .connections_closed
            .fetch_add(1, Ordering::SeqCst);
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
