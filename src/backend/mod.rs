//! LLM backends: one trait, [`ChatBackend`], with one streaming method, and its
//! implementations (Chat Completions for every OpenAI-compatible provider, and OpenAI's
//! Responses API).
//!
//! Responsibilities: turning a [`ChatRequest`] into provider wire JSON, streaming the reply
//! back as typed [`BackendEvent`]s, retries with backoff, typed actionable errors.
//! Non-responsibilities: coordination, prompts, tool execution (the orchestrator and `mcp`
//! do those). Provider wire JSON never leaves this module.

pub mod cc_request;
pub mod cc_stream;
pub mod chat_completions;
pub mod http_error;
pub mod responses;
pub mod sse;
pub mod tool_calls;

pub use chat_completions::{
    AssistantContent, AzureOptions, BackendConfigError, ChatCompletionsBackend,
    ChatCompletionsConfig, HttpOptions, RetryPolicy, WireOptions,
};
pub use responses::ResponsesBackend;

use futures::Stream;
use serde::{Deserialize, Serialize};
use std::pin::Pin;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System prompt.
    System,
    /// The user (or the orchestrator speaking as the user).
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
}

/// A tool call made by the model, assembled from the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider call id (synthesised as `call_<n>` when the provider sent none).
    pub id: String,
    /// Function name.
    pub name: String,
    /// The raw argument text exactly as the model produced it.
    pub raw_arguments: String,
}

impl ToolCall {
    /// Parse the arguments as a JSON object. An empty string is `{}`. The error says what is
    /// wrong in words the model can act on.
    pub fn arguments(&self) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let text = self.raw_arguments.trim();
        if text.is_empty() {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(other) => Err(format!(
                "arguments for `{}` must be a JSON object, got {}",
                self.name,
                json_type_name(&other)
            )),
            Err(e) => Err(format!(
                "arguments for `{}` are not valid JSON ({e}); send one JSON object",
                self.name
            )),
        }
    }
}

fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// One message of a conversation, in provider-neutral form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text content (may be empty for assistant messages that only call tools).
    pub content: String,
    /// Tool calls (assistant messages only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call this message answers (tool messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::plain(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::plain(Role::User, content)
    }
    /// An assistant message with text and tool calls.
    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
            tool_calls,
            tool_call_id: None,
        }
    }
    /// A tool result for `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }
    fn plain(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A function the model may call (provider-neutral; defined in `protocol` because the MCP
/// layer produces it too).
pub use crate::protocol::ToolSpec;

/// How the model is asked to use tools.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides (the default; nothing is sent unless the profile wants it explicit).
    #[default]
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must call this function.
    Function(String),
    /// The model must not call tools.
    None,
}

/// One request to a backend.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Tools offered.
    pub tools: Vec<ToolSpec>,
    /// Tool choice.
    pub tool_choice: ToolChoice,
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end.
    Stop,
    /// It wants tools run.
    ToolCalls,
    /// Output token limit.
    Length,
    /// Provider content filter.
    ContentFilter,
    /// The stream ended without saying why.
    Unknown,
    /// Anything else the provider said.
    Other(String),
}

/// Token usage of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// True if estimated because the provider did not report usage.
    pub estimated: bool,
}

/// What a backend streams back.
#[derive(Clone, Debug, PartialEq)]
pub enum BackendEvent {
    /// Visible text.
    TextDelta(String),
    /// Reasoning text (`reasoning_content` / `reasoning`).
    ReasoningDelta(String),
    /// A tool call began streaming (its name is known).
    ToolCallStarted {
        /// Position of the call in the reply.
        index: usize,
        /// Call id (may be synthesised).
        id: String,
        /// Function name.
        name: String,
    },
    /// A fragment of a tool call's arguments.
    ToolCallArgsDelta {
        /// Position of the call in the reply.
        index: usize,
        /// The fragment.
        delta: String,
    },
    /// A complete tool call (emitted before [`BackendEvent::Done`], in index order).
    ToolCall(ToolCall),
    /// Usage for the call.
    Usage(Usage),
    /// A transient failure; the backend waits `delay` and retries the request.
    Retrying {
        /// Retry number, 1-based.
        attempt: u32,
        /// Delay before retrying.
        delay: Duration,
        /// The error that caused it.
        error: BackendError,
    },
    /// The reply is complete.
    Done {
        /// Why the model stopped.
        finish_reason: FinishReason,
    },
}

/// Typed, actionable backend errors.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// The key was rejected (401/403).
    #[error("authentication failed ({status}): {message}. Check the API key for this provider")]
    Auth {
        /// HTTP status.
        status: u16,
        /// Provider message.
        message: String,
    },
    /// Too many requests (429).
    #[error("rate limited{}: {message}", retry_after.map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// Server-suggested wait.
        retry_after: Option<Duration>,
        /// Provider message.
        message: String,
    },
    /// The prompt does not fit the model's context.
    #[error(
        "context too long: {message}. Shorten the conversation or pick a model with a larger context"
    )]
    ContextTooLong {
        /// Provider message.
        message: String,
    },
    /// The provider refused the request (4xx).
    #[error("bad request ({status}): {message}")]
    BadRequest {
        /// HTTP status.
        status: u16,
        /// Provider message.
        message: String,
    },
    /// The provider failed (5xx).
    #[error("server error ({status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Provider message.
        message: String,
    },
    /// Connection, DNS, TLS, timeout or a dropped stream.
    #[error("network error: {0}")]
    Network(String),
    /// The provider sent something that cannot be understood.
    #[error("malformed response: {0}")]
    MalformedResponse(String),
    /// The request was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl BackendError {
    /// A short snake_case kind for events and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::Auth { .. } => "auth",
            BackendError::RateLimited { .. } => "rate_limited",
            BackendError::ContextTooLong { .. } => "context_too_long",
            BackendError::BadRequest { .. } => "bad_request",
            BackendError::Server { .. } => "server",
            BackendError::Network(_) => "network",
            BackendError::MalformedResponse(_) => "malformed_response",
            BackendError::Cancelled => "cancelled",
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BackendError::RateLimited { .. }
                | BackendError::Server { .. }
                | BackendError::Network(_)
        )
    }
}

/// The stream a backend returns. It ends after `Done` or after the first `Err`.
pub type BackendStream = Pin<Box<dyn Stream<Item = Result<BackendEvent, BackendError>> + Send>>;

/// An LLM backend. Implementations are cheap to share (`Arc<dyn ChatBackend>`).
pub trait ChatBackend: Send + Sync {
    /// Start one streamed call. Nothing is sent until the stream is polled. Cancelling
    /// `cancel` (or dropping the stream) stops the HTTP request at once.
    fn stream(&self, request: ChatRequest, cancel: CancellationToken) -> BackendStream;

    /// Provider display name, for logs and panes.
    fn provider_name(&self) -> &str;

    /// Model name.
    fn model(&self) -> &str;
}
