//! Event and operation types.
//!
//! Responsibilities: the envelope ([`Event`]) every event travels in, the payloads
//! ([`EventMsg`]), the enums they use, and the operations front ends send to the engine
//! ([`Op`]). Non-responsibilities: numbering and fan-out (the orchestrator's event bus does).

use super::{AgentId, CallId, RunId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The pipeline stages of a run, in order. Every event is tagged with the stage it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Config resolved, backends built, MCP servers started.
    Initialization,
    /// Agents answer and vote.
    Coordination,
    /// Votes are tallied and the winner is chosen.
    Evaluation,
    /// The winner presents the final answer.
    FinalPresentation,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 4] = [
        Stage::Initialization,
        Stage::Coordination,
        Stage::Evaluation,
        Stage::FinalPresentation,
    ];

    /// Human label, e.g. "final presentation".
    pub fn label(self) -> &'static str {
        match self {
            Stage::Initialization => "initialization",
            Stage::Coordination => "coordination",
            Stage::Evaluation => "evaluation",
            Stage::FinalPresentation => "final presentation",
        }
    }
}

/// One event: the envelope that ties a payload to its run, stage, agent, attempt and call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Strictly increasing within a run, starting at 1. Gaps mean lost events (there are none).
    pub seq: u64,
    /// The run this event belongs to.
    pub run_id: RunId,
    /// When the engine emitted it.
    pub at: DateTime<Utc>,
    /// Pipeline stage at emission.
    pub stage: Stage,
    /// The agent concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    /// Launch number of that agent within the run (1-based), if relevant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Coordination round: the number of accepted answers so far plus one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// The tool call concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
    /// The payload.
    pub msg: EventMsg,
}

/// Static information about one agent, carried by [`EventMsg::RunStarted`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Real agent id.
    pub id: AgentId,
    /// Provider display name, e.g. "Cerebras AI".
    pub provider: String,
    /// Model name.
    pub model: String,
    /// MCP servers configured for the agent (names).
    #[serde(default)]
    pub mcp_servers: Vec<String>,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// A final answer was produced by consensus.
    Completed,
    /// The orchestrator timeout fired; the best available answer was presented.
    TimedOutWithAnswer,
    /// The orchestrator timeout fired before any answer existed.
    TimedOutWithoutAnswer,
    /// Every agent failed.
    Failed,
    /// The user cancelled.
    Cancelled,
}

/// Totals reported at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTotals {
    /// Wall time of the run in milliseconds.
    pub duration_ms: u64,
    /// Accepted answers.
    pub answers: u32,
    /// Votes cast (accepted, including later-invalidated ones).
    pub votes: u32,
    /// Agent restarts.
    pub restarts: u32,
    /// Tool calls (workflow and MCP).
    pub tool_calls: u32,
    /// Input tokens over all LLM calls (reported or estimated).
    pub input_tokens: u64,
    /// Output tokens over all LLM calls (reported or estimated).
    pub output_tokens: u64,
    /// True if any token count above is an estimate.
    pub tokens_estimated: bool,
}

/// Lifecycle state of an agent as the engine sees it. Front ends mirror it from events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Configured, not launched yet (or waiting to be relaunched after a restart).
    Waiting,
    /// An LLM call is in flight.
    Streaming,
    /// Gave an answer that is still current; will be relaunched to evaluate.
    Answered,
    /// Holds a valid vote.
    Voted,
    /// Abandoning its launch because a new answer arrived.
    Restarting,
    /// Waiting before retrying after a backend error.
    Retrying,
    /// Gave up after the bounded number of retries; takes no further part.
    Failed,
    /// Its per-agent time limit ran out.
    TimedOut,
    /// Presenting the final answer.
    Presenting,
    /// Finished (run over).
    Done,
}

impl AgentState {
    /// Every state, for docs and drift tests.
    pub const ALL: [AgentState; 10] = [
        AgentState::Waiting,
        AgentState::Streaming,
        AgentState::Answered,
        AgentState::Voted,
        AgentState::Restarting,
        AgentState::Retrying,
        AgentState::Failed,
        AgentState::TimedOut,
        AgentState::Presenting,
        AgentState::Done,
    ];
}

/// Kind of tool being called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// `new_answer` or `vote`.
    Workflow,
    /// A tool served by an MCP server.
    Mcp,
    /// A tool the model invented or the engine does not serve.
    Unknown,
}

/// Outcome of a tool call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// Succeeded.
    Ok,
    /// Returned an error (the model was told).
    Error,
    /// Exceeded its time limit.
    TimedOut,
    /// Cancelled (restart or user).
    Cancelled,
}

/// Why an agent was launched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaunchReason {
    /// First launch of the run.
    Initial,
    /// A new answer arrived; the agent starts over with the new answer set.
    NewAnswers,
    /// After a backend failure.
    Retry,
}

/// Steps of the ladder for models that do not call the workflow tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStep {
    /// MassGen's enforcement re-prompt ("Finish your work above by making a tool call…").
    EnforcementPrompt,
    /// `tool_choice: "required"`.
    ToolChoiceRequired,
    /// `tool_choice` forcing one named function.
    ForcedFunction,
    /// The documented text protocol, parsed from the reply.
    TextProtocol,
}

/// How the winner was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// One agent had strictly the most votes.
    None,
    /// Several agents tied; the first in config order won.
    ConfigOrder,
    /// No valid votes (timeout or failures): the answer written with the most other answers
    /// in view won (it could improve on them); ties by config order.
    NoVotesBestInformed,
}

/// Severity of a log record or diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Verbose detail.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected that the run survived.
    Warn,
    /// A failure.
    Error,
}

/// Category of an event, for filtering in the log pane and the MCP log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Coordination: launches, answers, votes, winner, stages.
    Orchestrator,
    /// LLM backend traffic, retries and errors.
    Backend,
    /// MCP connect, initialize, list tools, schema fixes.
    McpDiscovery,
    /// MCP call begin, progress, end.
    McpExecution,
    /// MCP result conversion, truncation, errors returned to the model.
    McpResult,
    /// MCP circuit breaker and restarts.
    McpHealth,
}

/// Circuit-breaker states of an MCP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// One probe call is allowed.
    HalfOpen,
}

/// The event payloads. Serialised with a `type` tag in snake_case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventMsg {
    /// First event of every run.
    RunStarted {
        /// Event-file format version ([`super::EVENT_FORMAT_VERSION`]).
        format_version: u32,
        /// The question asked.
        question: String,
        /// Earlier turns of the conversation, as (user, assistant) pairs.
        #[serde(default)]
        history: Vec<(String, String)>,
        /// The agents in config order.
        agents: Vec<AgentInfo>,
        /// Path of the config file, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config_path: Option<String>,
    },
    /// Last event of every run.
    RunFinished {
        /// How it ended.
        outcome: RunOutcome,
        /// The agent whose answer was presented, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        winner: Option<AgentId>,
        /// The final answer text, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_answer: Option<String>,
        /// Totals.
        totals: RunTotals,
        /// Why the run failed, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A pipeline stage began.
    StageStarted {
        /// The stage.
        stage: Stage,
    },
    /// A pipeline stage ended.
    StageFinished {
        /// The stage.
        stage: Stage,
        /// How long it took.
        duration_ms: u64,
    },
    /// An agent's launch began (a fresh conversation with the current answers).
    AgentLaunched {
        /// Why.
        reason: LaunchReason,
        /// Anonymous labels of the answers it sees, in the order shown to it.
        #[serde(default)]
        answers_seen: Vec<String>,
    },
    /// An agent abandons its launch because new answers arrived.
    AgentRestarted {
        /// The agent whose answer caused the restart.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caused_by: Option<AgentId>,
    },
    /// An agent's launch failed and will be retried.
    AgentRetried {
        /// What went wrong.
        error: String,
        /// Failures so far.
        failures: u32,
        /// Maximum failures before the agent is marked failed.
        max_failures: u32,
        /// Delay before the retry.
        delay_ms: u64,
    },
    /// An agent gave up; the run continues without it.
    AgentFailed {
        /// Why.
        error: String,
    },
    /// An agent ran out of time.
    AgentTimedOut {
        /// Its limit.
        limit_secs: u64,
    },
    /// An agent's state changed.
    AgentStateChanged {
        /// The new state.
        state: AgentState,
    },
    /// Streamed text from an agent.
    TextDelta {
        /// The text.
        text: String,
    },
    /// Streamed reasoning from an agent.
    ReasoningDelta {
        /// The text.
        text: String,
    },
    /// A notice for the agent's pane (enforcement re-prompts, validation errors …).
    AgentNotice {
        /// Severity.
        level: Level,
        /// Text.
        text: String,
    },
    /// The engine escalated how it asks a model for a workflow decision.
    Escalated {
        /// The step taken.
        step: EscalationStep,
        /// Why.
        reason: String,
    },
    /// A tool call started streaming from the model (arguments may follow as deltas).
    ToolCallStarted {
        /// Tool name as the model sees it.
        tool: String,
        /// Kind.
        kind: ToolKind,
    },
    /// A fragment of a tool call's arguments as the model generates it.
    ToolArgsDelta {
        /// The JSON fragment.
        delta: String,
    },
    /// A tool call is about to execute with complete arguments.
    ToolCallBegin {
        /// Tool name as the model sees it.
        tool: String,
        /// Kind.
        kind: ToolKind,
        /// MCP server, for MCP tools.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// Arguments.
        arguments: Value,
    },
    /// Progress notification from a running tool.
    ToolCallProgress {
        /// Progress so far.
        progress: f64,
        /// Total, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<f64>,
        /// Message, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A tool call finished.
    ToolCallEnd {
        /// Tool name as the model sees it.
        tool: String,
        /// Status.
        status: ToolStatus,
        /// Duration.
        duration_ms: u64,
        /// The full result as text (shown whole in the UI and logs).
        result: String,
        /// True if what went back to the model was truncated.
        #[serde(default)]
        truncated: bool,
    },
    /// An answer was accepted.
    AnswerSubmitted {
        /// Anonymous label (`agentK`) under which other agents see it.
        label: String,
        /// The answer.
        content: String,
    },
    /// An answer was rejected (duplicate, limit reached …).
    AnswerRejected {
        /// Why.
        reason: String,
    },
    /// A vote was accepted.
    VoteCast {
        /// The real id voted for.
        voted_for: AgentId,
        /// The anonymous label the voter used.
        label: String,
        /// The voter's reason.
        reason: String,
    },
    /// A vote was ignored.
    VoteIgnored {
        /// Why.
        reason: String,
    },
    /// A new answer invalidated all votes.
    VotesInvalidated {
        /// The agent whose answer did it.
        by: AgentId,
        /// How many votes were dropped.
        count: u32,
    },
    /// The winner was chosen.
    WinnerSelected {
        /// The winner.
        winner: AgentId,
        /// Votes per agent, in config order.
        tally: Vec<(AgentId, u32)>,
        /// Tie-break rule used.
        tie_break: TieBreak,
    },
    /// Streamed text of the final presentation.
    FinalPresentationDelta {
        /// The text.
        text: String,
    },
    /// The final answer is complete.
    FinalAnswer {
        /// The answer.
        text: String,
        /// True if it came from the LLM presentation, false if it is the stored answer.
        presented: bool,
    },
    /// A backend call is retried after a transient error.
    BackendRetry {
        /// Retry number (1-based).
        retry: u32,
        /// Delay before it.
        delay_ms: u64,
        /// The error.
        error: String,
    },
    /// A backend call failed.
    BackendError {
        /// Error kind, e.g. `rate_limited`.
        kind: String,
        /// Message.
        message: String,
    },
    /// Token usage of one LLM call.
    Usage {
        /// Input tokens.
        input_tokens: u64,
        /// Output tokens.
        output_tokens: u64,
        /// True if estimated rather than reported by the provider.
        estimated: bool,
    },
    /// An MCP server changed state or reported something.
    McpServer {
        /// Server name.
        server: String,
        /// Category (discovery or health).
        category: Category,
        /// Severity.
        level: Level,
        /// What happened.
        message: String,
    },
    /// An MCP server's circuit breaker changed state.
    CircuitBreaker {
        /// Server name.
        server: String,
        /// New state.
        state: BreakerState,
    },
    /// A log record that belongs in the event stream (warnings, diagnostics).
    Log {
        /// Severity.
        level: Level,
        /// Category.
        category: Category,
        /// Message.
        message: String,
    },
}

impl EventMsg {
    /// The variant's `type` tag, e.g. `text_delta`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventMsg::RunStarted { .. } => "run_started",
            EventMsg::RunFinished { .. } => "run_finished",
            EventMsg::StageStarted { .. } => "stage_started",
            EventMsg::StageFinished { .. } => "stage_finished",
            EventMsg::AgentLaunched { .. } => "agent_launched",
            EventMsg::AgentRestarted { .. } => "agent_restarted",
            EventMsg::AgentRetried { .. } => "agent_retried",
            EventMsg::AgentFailed { .. } => "agent_failed",
            EventMsg::AgentTimedOut { .. } => "agent_timed_out",
            EventMsg::AgentStateChanged { .. } => "agent_state_changed",
            EventMsg::TextDelta { .. } => "text_delta",
            EventMsg::ReasoningDelta { .. } => "reasoning_delta",
            EventMsg::AgentNotice { .. } => "agent_notice",
            EventMsg::Escalated { .. } => "escalated",
            EventMsg::ToolCallStarted { .. } => "tool_call_started",
            EventMsg::ToolArgsDelta { .. } => "tool_args_delta",
            EventMsg::ToolCallBegin { .. } => "tool_call_begin",
            EventMsg::ToolCallProgress { .. } => "tool_call_progress",
            EventMsg::ToolCallEnd { .. } => "tool_call_end",
            EventMsg::AnswerSubmitted { .. } => "answer_submitted",
            EventMsg::AnswerRejected { .. } => "answer_rejected",
            EventMsg::VoteCast { .. } => "vote_cast",
            EventMsg::VoteIgnored { .. } => "vote_ignored",
            EventMsg::VotesInvalidated { .. } => "votes_invalidated",
            EventMsg::WinnerSelected { .. } => "winner_selected",
            EventMsg::FinalPresentationDelta { .. } => "final_presentation_delta",
            EventMsg::FinalAnswer { .. } => "final_answer",
            EventMsg::BackendRetry { .. } => "backend_retry",
            EventMsg::BackendError { .. } => "backend_error",
            EventMsg::Usage { .. } => "usage",
            EventMsg::McpServer { .. } => "mcp_server",
            EventMsg::CircuitBreaker { .. } => "circuit_breaker",
            EventMsg::Log { .. } => "log",
        }
    }

    /// The filter category of this event.
    pub fn category(&self) -> Category {
        match self {
            EventMsg::BackendRetry { .. }
            | EventMsg::BackendError { .. }
            | EventMsg::Usage { .. }
            | EventMsg::TextDelta { .. }
            | EventMsg::ReasoningDelta { .. } => Category::Backend,
            EventMsg::ToolCallBegin {
                kind: ToolKind::Mcp,
                ..
            }
            | EventMsg::ToolCallProgress { .. } => Category::McpExecution,
            EventMsg::ToolCallEnd { .. } => Category::McpResult,
            EventMsg::McpServer { category, .. } | EventMsg::Log { category, .. } => *category,
            EventMsg::CircuitBreaker { .. } => Category::McpHealth,
            _ => Category::Orchestrator,
        }
    }

    /// The severity of this event for log filtering.
    pub fn level(&self) -> Level {
        match self {
            EventMsg::TextDelta { .. }
            | EventMsg::ReasoningDelta { .. }
            | EventMsg::ToolArgsDelta { .. }
            | EventMsg::FinalPresentationDelta { .. } => Level::Trace,
            EventMsg::Usage { .. } | EventMsg::ToolCallProgress { .. } => Level::Debug,
            EventMsg::AgentRetried { .. }
            | EventMsg::BackendRetry { .. }
            | EventMsg::AnswerRejected { .. }
            | EventMsg::VoteIgnored { .. }
            | EventMsg::AgentTimedOut { .. }
            | EventMsg::Escalated { .. } => Level::Warn,
            EventMsg::AgentFailed { .. } | EventMsg::BackendError { .. } => Level::Error,
            EventMsg::ToolCallEnd { status, .. } => match status {
                ToolStatus::Ok => Level::Info,
                _ => Level::Warn,
            },
            EventMsg::AgentNotice { level, .. }
            | EventMsg::McpServer { level, .. }
            | EventMsg::Log { level, .. } => *level,
            EventMsg::RunFinished { outcome, .. } => match outcome {
                RunOutcome::Completed => Level::Info,
                RunOutcome::Failed => Level::Error,
                _ => Level::Warn,
            },
            _ => Level::Info,
        }
    }
}

/// Operations a front end sends to the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Ask a question (a new run; follow-ups carry the conversation history).
    Ask {
        /// The question.
        question: String,
    },
    /// Cancel the current run.
    Cancel,
    /// Forget the conversation history.
    ResetHistory,
    /// Shut the engine down.
    Shutdown,
    /// Replay only: control the playback of a recorded run.
    Replay(ReplayControl),
}

/// Playback controls of a replayed run (sent by the TUI in replay mode).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum ReplayControl {
    /// Stop releasing events.
    Pause,
    /// Continue at the current speed.
    Resume,
    /// Play at this multiple of the recorded speed (1.0 = as recorded).
    Speed {
        /// The multiple.
        factor: f64,
    },
    /// Release everything that is left at once.
    Instant,
    /// Release exactly one more event (and stay paused).
    Step,
}

/// A function a model may call: the provider-neutral tool definition that MCP produces and
/// backends put on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name (already within the provider's limits).
    pub name: String,
    /// Description.
    pub description: String,
    /// JSON Schema of the arguments (an object schema).
    pub parameters: Value,
}

/// Who an event is about, as known by the code that emits it. The event bus adds the run id,
/// sequence number, timestamp, stage and round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventScope {
    /// The agent concerned.
    pub agent: Option<AgentId>,
    /// Its launch number.
    pub attempt: Option<u32>,
    /// The tool call concerned.
    pub call_id: Option<CallId>,
}

impl EventScope {
    /// No agent, no call: run-level events.
    pub fn run() -> Self {
        Self::default()
    }
    /// Events about one agent's launch.
    pub fn agent(agent: AgentId, attempt: u32) -> Self {
        Self {
            agent: Some(agent),
            attempt: Some(attempt),
            call_id: None,
        }
    }
    /// The same scope narrowed to one tool call.
    pub fn with_call(&self, call_id: CallId) -> Self {
        Self {
            call_id: Some(call_id),
            ..self.clone()
        }
    }
}

/// Where engine components send events. Implemented by the orchestrator's event bus, which
/// numbers them and fans them out without ever dropping one. Emitting never blocks.
pub trait EventSink: Send + Sync {
    /// Emit one event.
    fn emit(&self, scope: &EventScope, msg: EventMsg);
}

/// Human wording for the protocol's enums: their serde names with spaces (`timed_out_with_answer`
/// → "timed out with answer"), so front ends never show Rust variant names.
macro_rules! display_as_words {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let name = serde_json::to_value(self)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                f.write_str(&name.replace('_', " "))
            }
        }
    )*};
}

display_as_words!(
    Stage,
    RunOutcome,
    AgentState,
    ToolKind,
    ToolStatus,
    LaunchReason,
    EscalationStep,
    TieBreak,
    Level,
    Category,
    BreakerState
);
