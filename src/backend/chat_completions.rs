//! The Chat Completions backend (`POST {base_url}/chat/completions`, SSE streaming through
//! reqwest), used by `chatcompletion`, `zai`, `lmstudio`, `grok`, `azure_openai` and every
//! OpenAI-compatible provider.
//!
//! Responsibilities: the backend's configuration ([`ChatCompletionsConfig`], [`WireOptions`],
//! [`HttpOptions`], [`RetryPolicy`], [`AzureOptions`]), sending the request, retries with
//! exponential backoff and jitter (429 honouring `Retry-After`, 5xx, connection failures and
//! timeouts before the first byte; never for auth/bad-request errors, never once part of the
//! answer was streamed; bounded in count and total time; each retry announced with
//! [`BackendEvent::Retrying`]), connect and idle-read timeouts, cancellation (the token or
//! dropping the stream closes the HTTP connection at once), and choosing a non-streamed request
//! for turns with tools when the provider's streamed tool calls are unreliable.
//! Non-responsibilities: request JSON (`cc_request`), reply parsing (`cc_stream`), error
//! classification (`http_error`), reading YAML or provider profiles (`config`; the lead's glue
//! turns a profile into [`WireOptions`]).
//!
//! The same HTTP loop carries the Responses API backend (`responses`): it picks the endpoint
//! and the reply parser by `Protocol`, the caller supplies the body.
//!
//! Secrets: the API key goes only into the `Authorization` (or Azure `api-key`) header, marked
//! sensitive; every `Debug` here redacts it.

use super::cc_request::{BuiltRequest, build_body};
pub use super::cc_stream::{
    StreamParser, estimate_tokens, parse_completion_json, parse_stream_bytes,
};
use super::http_error::{classify_status, html_summary, parse_retry_after};
use super::tool_calls::ToolCallAccumulator;
use super::{BackendError, BackendEvent, BackendStream, ChatBackend, ChatRequest};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Provider capabilities that change the wire format: the provider profile's
/// [`Capabilities`](crate::config::providers::Capabilities), read directly (one definition for
/// the table and the backend).
pub use crate::config::providers::{AssistantContent, Capabilities as WireOptions};

/// Retry policy for transient failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// First backoff delay; doubles each retry (with jitter).
    pub base_delay: Duration,
    /// Largest backoff delay (a server's `Retry-After` may ask for more, within `max_total`).
    pub max_delay: Duration,
    /// Give up when the next wait would end later than this after the first attempt.
    pub max_total: Duration,
}

impl RetryPolicy {
    /// Never retry.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        max_total: Duration::ZERO,
    };

    /// The backoff before retry number `attempt` (1-based): `base * 2^(attempt-1)` capped at
    /// `max_delay`, times a random factor in [0.5, 1.0).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        exp.min(self.max_delay).mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(120),
        }
    }
}

/// Timeouts and retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Longest silence while streaming (also the wait for response headers of a streamed
    /// request). Exceeding it is a network error (retried only before the first byte).
    pub idle_read_timeout: Duration,
    /// Longest wait for a whole non-streamed reply.
    pub non_streaming_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            idle_read_timeout: Duration::from_secs(180),
            non_streaming_timeout: Duration::from_secs(600),
            retry: RetryPolicy::default(),
        }
    }
}

/// Azure OpenAI endpoint shape: `{base_url}/openai/deployments/{deployment}/chat/completions
/// ?api-version={api_version}` with the key in an `api-key` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureOptions {
    /// `api-version` query value (MassGen's default: `2024-12-01-preview`).
    pub api_version: String,
    /// Deployment name; `None` uses the model name (MassGen's behaviour).
    pub deployment: Option<String>,
}

impl Default for AzureOptions {
    fn default() -> Self {
        Self {
            api_version: "2024-12-01-preview".to_owned(),
            deployment: None,
        }
    }
}

/// Everything a [`ChatCompletionsBackend`] needs. Build with [`ChatCompletionsConfig::new`] and
/// the `with_*` methods, or fill the public fields.
#[derive(Clone)]
pub struct ChatCompletionsConfig {
    /// Display name ("OpenAI", "Groq", "ZAI", …).
    pub provider_name: String,
    /// Base URL, e.g. `https://api.openai.com/v1` (`/chat/completions` is appended; a URL
    /// already ending in `/chat/completions` is used as is). For Azure: the resource endpoint.
    pub base_url: String,
    /// API key (`None`: no auth header, e.g. local servers).
    pub api_key: Option<String>,
    /// Model (Azure: the deployment unless [`AzureOptions::deployment`] is set).
    pub model: String,
    /// Pass-through body parameters from the YAML (`temperature`, `top_p`, `max_tokens`,
    /// `reasoning_effort`, `parallel_tool_calls`, `extra_body` (merged into the top level) …).
    /// Body-owned and framework keys and [`WireOptions::rejected_params`] are dropped.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Wire capabilities of the provider.
    pub wire: WireOptions,
    /// Extra HTTP headers (e.g. OpenRouter's `HTTP-Referer`). Values are redacted in `Debug`.
    pub extra_headers: Vec<(String, String)>,
    /// Azure endpoint shape and auth, when talking to Azure OpenAI.
    pub azure: Option<AzureOptions>,
    /// Timeouts and retries.
    pub http: HttpOptions,
}

impl ChatCompletionsConfig {
    /// A config with conservative wire options, default HTTP options and no key.
    pub fn new(
        provider_name: impl Into<String>,
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            provider_name: provider_name.into(),
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            params: serde_json::Map::new(),
            wire: WireOptions::CONSERVATIVE,
            extra_headers: Vec::new(),
            azure: None,
            http: HttpOptions::default(),
        }
    }

    /// Set the API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Set the wire options.
    pub fn with_wire(mut self, wire: WireOptions) -> Self {
        self.wire = wire;
        self
    }

    /// Set the HTTP options.
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Set one pass-through parameter.
    pub fn with_param(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.params.insert(key.into(), value);
        self
    }

    /// Add an HTTP header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    /// Use the Azure OpenAI endpoint shape.
    pub fn with_azure(mut self, azure: AzureOptions) -> Self {
        self.azure = Some(azure);
        self
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        if let Some(azure) = &self.azure {
            let deployment = azure.deployment.as_deref().unwrap_or(&self.model);
            let base = base.strip_suffix("/openai").unwrap_or(base);
            return format!(
                "{base}/openai/deployments/{deployment}/chat/completions?api-version={}",
                azure.api_version
            );
        }
        if base.ends_with("/chat/completions") {
            base.to_owned()
        } else {
            format!("{base}/chat/completions")
        }
    }
}

impl fmt::Debug for ChatCompletionsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .extra_headers
            .iter()
            .map(|(k, _)| (k.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("ChatCompletionsConfig")
            .field("provider_name", &self.provider_name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .field("wire", &self.wire)
            .field("extra_headers", &headers)
            .field("azure", &self.azure)
            .field("http", &self.http)
            .finish()
    }
}

/// The configuration cannot make a working backend.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendConfigError(pub String);

/// Chat Completions backend. Cheap to clone and share.
#[derive(Clone)]
pub struct ChatCompletionsBackend {
    inner: Arc<Inner>,
}

struct Inner {
    config: ChatCompletionsConfig,
    protocol: Protocol,
    client: reqwest::Client,
    endpoint: reqwest::Url,
    headers: reqwest::header::HeaderMap,
}

/// The wire protocol the shared HTTP loop speaks: it picks the endpoint path and the reply
/// parser. The request body is built by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `POST …/chat/completions`.
    ChatCompletions,
    /// `POST …/responses` (the OpenAI Responses API, see `responses`).
    Responses,
}

/// An incremental parser of one streamed reply body; one per protocol.
pub(crate) trait ReplyParser: Send {
    /// Feed body bytes; events are appended to `out`. An error ends the reply.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<BackendEvent>) -> Result<(), BackendError>;
    /// The protocol's end marker (or an in-stream error) was seen: nothing more is read.
    fn is_done(&self) -> bool;
    /// Whether part of the answer was already produced (then failures are not retried).
    fn emitted_content(&self) -> bool;
    /// The body ended: flush pending tool calls, usage and `Done`.
    fn finish(&mut self, out: &mut Vec<BackendEvent>) -> Result<(), BackendError>;
}

impl ReplyParser for StreamParser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        StreamParser::feed(self, bytes, out)
    }
    fn is_done(&self) -> bool {
        StreamParser::is_done(self)
    }
    fn emitted_content(&self) -> bool {
        StreamParser::emitted_content(self)
    }
    fn finish(&mut self, out: &mut Vec<BackendEvent>) -> Result<(), BackendError> {
        StreamParser::finish(self, out)
    }
}

impl fmt::Debug for ChatCompletionsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatCompletionsBackend")
            .field("config", &self.inner.config)
            .field("endpoint", &self.inner.endpoint.as_str())
            .finish()
    }
}

impl ChatCompletionsBackend {
    /// Build the backend (HTTP client, endpoint URL, headers). Fails with a message that says
    /// what to fix for an invalid URL, header or key.
    pub fn new(config: ChatCompletionsConfig) -> Result<Self, BackendConfigError> {
        Self::with_protocol(config, Protocol::ChatCompletions)
    }

    /// Build the shared HTTP machinery for `protocol` (the Responses backend uses this).
    pub(crate) fn with_protocol(
        config: ChatCompletionsConfig,
        protocol: Protocol,
    ) -> Result<Self, BackendConfigError> {
        use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
        let endpoint_text = match protocol {
            Protocol::ChatCompletions => config.endpoint(),
            Protocol::Responses => super::responses::responses_endpoint(&config.base_url),
        };
        let endpoint = reqwest::Url::parse(&endpoint_text).map_err(|e| {
            BackendConfigError(format!(
                "invalid base_url `{}` for {} ({e}); it should look like https://host/v1",
                config.base_url, config.provider_name
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(BackendConfigError(format!(
                "base_url `{}` must start with http:// or https://",
                config.base_url
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &config.extra_headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                BackendConfigError(format!("invalid HTTP header name `{name}` in the config"))
            })?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                BackendConfigError(format!(
                    "the value of HTTP header `{name}` contains characters not allowed in a header"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if let Some(key) = config.api_key.as_deref().filter(|k| !k.is_empty()) {
            let (name, text) = if config.azure.is_some() {
                (HeaderName::from_static("api-key"), key.to_owned())
            } else {
                (reqwest::header::AUTHORIZATION, format!("Bearer {key}"))
            };
            let mut value = HeaderValue::from_str(&text).map_err(|_| {
                BackendConfigError(format!(
                    "the API key for {} contains characters not allowed in an HTTP header \
                     (a stray newline or quote?)",
                    config.provider_name
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.http.connect_timeout)
            .build()
            .map_err(|e| BackendConfigError(format!("cannot create the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                protocol,
                client,
                endpoint,
                headers,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ChatCompletionsConfig {
        &self.inner.config
    }

    /// Whether `request` would be sent as a non-streamed request.
    pub fn uses_non_streaming(&self, request: &ChatRequest) -> bool {
        self.inner.config.wire.streamed_tool_calls_unreliable && !request.tools.is_empty()
    }

    /// The JSON body that would be sent for `request` (for diagnostics and `--dry-run`-style
    /// tooling; it contains no secrets).
    pub fn request_body(&self, request: &ChatRequest) -> serde_json::Value {
        let c = &self.inner.config;
        build_body(
            &c.model,
            &c.params,
            &c.wire,
            request,
            !self.uses_non_streaming(request),
        )
        .body
    }
}

impl ChatCompletionsBackend {
    /// Send an already built body and stream the reply (retries, timeouts, cancellation).
    pub(crate) fn stream_built(
        &self,
        built: BuiltRequest,
        streaming: bool,
        cancel: CancellationToken,
    ) -> BackendStream {
        let call = Call::new(self.inner.clone(), built, streaming, cancel);
        Box::pin(futures::stream::unfold(call, |mut call| async move {
            call.next().await.map(|item| (item, call))
        }))
    }
}

impl ChatBackend for ChatCompletionsBackend {
    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> BackendStream {
        let c = &self.inner.config;
        let streaming = !self.uses_non_streaming(&request);
        let built = build_body(&c.model, &c.params, &c.wire, &request, streaming);
        self.stream_built(built, streaming, cancel)
    }

    fn provider_name(&self) -> &str {
        &self.inner.config.provider_name
    }

    fn model(&self) -> &str {
        &self.inner.config.model
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

enum Phase {
    /// Send (or re-send) the request.
    Connect,
    /// Wait before the next attempt.
    Sleeping(Duration),
    /// Reading the reply body.
    Reading {
        body: ByteStream,
        mode: ReplyMode,
        bytes_received: usize,
    },
    /// Nothing more to yield.
    Finished,
}

enum ReplyMode {
    Sse(Box<dyn ReplyParser>),
    Json(Vec<u8>),
}

/// State of one streamed call.
struct Call {
    inner: Arc<Inner>,
    body: Bytes,
    streaming: bool,
    cancel: CancellationToken,
    names_back: HashMap<String, String>,
    input_chars: usize,
    /// Synthesised tool-call ids are stable across retries of the same call.
    id_prefix: String,
    queue: VecDeque<Result<BackendEvent, BackendError>>,
    phase: Phase,
    retries: u32,
    started: Option<Instant>,
}

impl Call {
    fn new(
        inner: Arc<Inner>,
        built: BuiltRequest,
        streaming: bool,
        cancel: CancellationToken,
    ) -> Self {
        let body = Bytes::from(serde_json::to_vec(&built.body).unwrap_or_default());
        Self {
            inner,
            body,
            streaming,
            cancel,
            names_back: built.tool_names_back,
            input_chars: built.input_chars,
            id_prefix: std::iter::repeat_with(fastrand::alphanumeric)
                .take(8)
                .collect(),
            queue: VecDeque::new(),
            phase: Phase::Connect,
            retries: 0,
            started: None,
        }
    }

    async fn next(&mut self) -> Option<Result<BackendEvent, BackendError>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.cancel.is_cancelled() && !matches!(self.phase, Phase::Finished) {
                self.fail(BackendError::Cancelled);
                continue;
            }
            match std::mem::replace(&mut self.phase, Phase::Finished) {
                Phase::Finished => return None,
                Phase::Sleeping(delay) => {
                    tokio::select! {
                        _ = self.cancel.cancelled() => self.fail(BackendError::Cancelled),
                        _ = tokio::time::sleep(delay) => self.phase = Phase::Connect,
                    }
                }
                Phase::Connect => self.connect().await,
                Phase::Reading {
                    body,
                    mode,
                    bytes_received,
                } => self.read(body, mode, bytes_received).await,
            }
        }
    }

    fn fail(&mut self, error: BackendError) {
        self.queue.push_back(Err(error));
        self.phase = Phase::Finished;
    }

    /// Retry `error` if it is transient and the budget allows; otherwise fail with it.
    fn retry_or_fail(&mut self, error: BackendError) {
        let policy = self.inner.config.http.retry;
        if !error.is_transient() || self.retries >= policy.max_retries {
            return self.fail(error);
        }
        let delay = match &error {
            BackendError::RateLimited {
                retry_after: Some(after),
                ..
            } => *after,
            _ => policy.backoff(self.retries + 1),
        };
        let elapsed = self.started.map(|s| s.elapsed()).unwrap_or_default();
        if elapsed + delay > policy.max_total {
            tracing::warn!(
                provider = %self.inner.config.provider_name,
                "giving up: the next retry would exceed the total retry budget of {:?}",
                policy.max_total
            );
            return self.fail(error);
        }
        self.retries += 1;
        tracing::warn!(
            provider = %self.inner.config.provider_name,
            model = %self.inner.config.model,
            attempt = self.retries,
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "transient backend error; retrying"
        );
        self.queue.push_back(Ok(BackendEvent::Retrying {
            attempt: self.retries,
            delay,
            error,
        }));
        self.phase = Phase::Sleeping(delay);
    }

    async fn connect(&mut self) {
        self.started.get_or_insert_with(Instant::now);
        let inner = &self.inner;
        let http = &inner.config.http;
        let wait = if self.streaming {
            http.idle_read_timeout
        } else {
            http.non_streaming_timeout
        };
        let accept = if self.streaming {
            "text/event-stream"
        } else {
            "application/json"
        };
        tracing::debug!(
            provider = %inner.config.provider_name,
            model = %inner.config.model,
            url = %inner.endpoint,
            streaming = self.streaming,
            attempt = self.retries + 1,
            protocol = ?inner.protocol,
            "sending model request"
        );
        let request = inner
            .client
            .post(inner.endpoint.clone())
            .headers(inner.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, accept)
            .body(self.body.clone())
            .send();
        let response = tokio::select! {
            _ = self.cancel.cancelled() => return self.fail(BackendError::Cancelled),
            r = tokio::time::timeout(wait, request) => r,
        };
        let response = match response {
            Err(_) => {
                return self.retry_or_fail(BackendError::Network(format!(
                    "no response from {} within {}s (timeout before the first byte)",
                    host(&inner.endpoint),
                    wait.as_secs()
                )));
            }
            Ok(Err(e)) => return self.retry_or_fail(network_error(&e, &inner.endpoint)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        if !status.is_success() {
            let retry_after = parse_retry_after(response.headers());
            let body = tokio::select! {
                _ = self.cancel.cancelled() => return self.fail(BackendError::Cancelled),
                b = read_limited(response, 64 * 1024, http.idle_read_timeout) => b,
            };
            let error =
                classify_status(status.as_u16(), content_type.as_deref(), &body, retry_after);
            return self.retry_or_fail(error);
        }
        let is_json = content_type
            .as_deref()
            .is_some_and(|c| c.contains("json") && !c.contains("event-stream"));
        let is_html = content_type
            .as_deref()
            .is_some_and(|c| c.contains("text/html"));
        if is_html {
            let body = read_limited(response, 64 * 1024, http.idle_read_timeout).await;
            return self.fail(BackendError::MalformedResponse(format!(
                "expected an event stream but {} answered with an HTML page ({}); check `base_url`",
                host(&inner.endpoint),
                html_summary(&String::from_utf8_lossy(&body))
            )));
        }
        let mode = if !self.streaming || is_json {
            ReplyMode::Json(Vec::new())
        } else {
            ReplyMode::Sse(match inner.protocol {
                Protocol::ChatCompletions => {
                    let mut parser = StreamParser::new(ToolCallAccumulator::with_id_prefix(
                        self.id_prefix.clone(),
                    ));
                    parser.set_input_chars(self.input_chars);
                    Box::new(parser)
                }
                Protocol::Responses => {
                    Box::new(super::responses::ResponsesParser::new(self.input_chars))
                }
            })
        };
        self.phase = Phase::Reading {
            body: Box::pin(response.bytes_stream()),
            mode,
            bytes_received: 0,
        };
    }

    async fn read(&mut self, mut body: ByteStream, mut mode: ReplyMode, mut bytes_received: usize) {
        let idle = match mode {
            ReplyMode::Sse(_) => self.inner.config.http.idle_read_timeout,
            ReplyMode::Json(_) => self.inner.config.http.non_streaming_timeout,
        };
        let next = tokio::select! {
            _ = self.cancel.cancelled() => return self.fail(BackendError::Cancelled),
            n = tokio::time::timeout(idle, body.next()) => n,
        };
        let mut events = Vec::new();
        match next {
            Err(_) => {
                let error = BackendError::Network(format!(
                    "no data from {} for {}s (idle read timeout)",
                    host(&self.inner.endpoint),
                    idle.as_secs()
                ));
                self.fail_reading(error, bytes_received, &mode);
            }
            Ok(Some(Err(e))) => {
                let error = network_error(&e, &self.inner.endpoint);
                self.fail_reading(error, bytes_received, &mode);
            }
            Ok(Some(Ok(chunk))) => {
                bytes_received += chunk.len();
                let result = match &mut mode {
                    ReplyMode::Sse(parser) => parser.feed(&chunk, &mut events),
                    ReplyMode::Json(buf) => {
                        buf.extend_from_slice(&chunk);
                        Ok(())
                    }
                };
                self.push_events(events);
                if let Err(error) = result {
                    let emitted = matches!(&mode, ReplyMode::Sse(p) if p.emitted_content());
                    return if emitted {
                        self.fail(error)
                    } else {
                        self.retry_or_fail(error)
                    };
                }
                if let ReplyMode::Sse(parser) = &mut mode
                    && parser.is_done()
                {
                    // `[DONE]`: finish now, without waiting for the server to close.
                    let mut events = Vec::new();
                    let result = parser.finish(&mut events);
                    self.push_events(events);
                    match result {
                        Ok(()) => self.phase = Phase::Finished,
                        Err(e) => self.fail(e),
                    }
                    drain_in_background(body);
                    return;
                }
                self.phase = Phase::Reading {
                    body,
                    mode,
                    bytes_received,
                };
            }
            Ok(None) => {
                let result = match &mut mode {
                    ReplyMode::Sse(parser) => parser.finish(&mut events),
                    ReplyMode::Json(buf) => match self.inner.protocol {
                        Protocol::ChatCompletions => parse_completion_json(
                            buf,
                            ToolCallAccumulator::with_id_prefix(self.id_prefix.clone()),
                            self.input_chars,
                        ),
                        Protocol::Responses => {
                            super::responses::parse_response_json(buf, self.input_chars)
                        }
                    }
                    .map(|e| events = e),
                };
                self.push_events(events);
                match result {
                    Ok(()) => self.phase = Phase::Finished,
                    Err(e) => {
                        let emitted = matches!(&mode, ReplyMode::Sse(p) if p.emitted_content());
                        if emitted {
                            self.fail(e)
                        } else {
                            self.retry_or_fail(e)
                        }
                    }
                }
            }
        }
    }

    /// A read failed: retry only if nothing of the reply has arrived yet.
    fn fail_reading(&mut self, error: BackendError, bytes_received: usize, mode: &ReplyMode) {
        let emitted = matches!(mode, ReplyMode::Sse(p) if p.emitted_content());
        if bytes_received == 0 && !emitted {
            return self.retry_or_fail(error);
        }
        let error = match error {
            BackendError::Network(msg) => BackendError::Network(format!(
                "{msg}; the connection broke after {bytes_received} bytes of the reply, so it is \
                 not retried (part of the answer was already streamed)"
            )),
            other => other,
        };
        self.fail(error);
    }

    fn push_events(&mut self, events: Vec<BackendEvent>) {
        for mut event in events {
            if !self.names_back.is_empty() {
                match &mut event {
                    BackendEvent::ToolCallStarted { name, .. } => {
                        restore_name(name, &self.names_back)
                    }
                    BackendEvent::ToolCall(call) => restore_name(&mut call.name, &self.names_back),
                    _ => {}
                }
            }
            self.queue.push_back(Ok(event));
        }
    }
}

/// Read the rest of a finished reply (normally just the end of the chunked body) off the
/// caller's path, so the connection goes back to the pool instead of being closed (a new TLS
/// handshake per turn is slow). Bounded: at most 2 s and 64 KiB.
fn drain_in_background(mut body: ByteStream) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let drain = async {
                let mut seen = 0usize;
                while let Some(Ok(chunk)) = body.next().await {
                    seen += chunk.len();
                    if seen > 64 * 1024 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        });
    }
}

fn restore_name(name: &mut String, back: &HashMap<String, String>) {
    if let Some(original) = back.get(name.as_str()) {
        original.clone_into(name);
    }
}

fn host(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.as_str().to_owned(),
    }
}

fn network_error(e: &reqwest::Error, url: &reqwest::Url) -> BackendError {
    let what = if e.is_connect() {
        "cannot connect to"
    } else if e.is_timeout() {
        "timed out talking to"
    } else if e.is_body() || e.is_decode() {
        "the reply body broke from"
    } else {
        "request failed for"
    };
    // `reqwest::Error`'s Display includes the URL (no secrets: keys are never in URLs here);
    // the source chain says why (reset, refused, DNS…).
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        BackendError::Network(format!("{what} {}", host(url)))
    } else {
        BackendError::Network(format!("{what} {}: {cause}", host(url)))
    }
}

/// Read at most `limit` bytes of an error body (with an idle timeout; never hangs).
async fn read_limited(response: reqwest::Response, limit: usize, idle: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stream = response.bytes_stream();
    while out.len() < limit {
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(chunk))) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(limit);
    out
}
