//! One agent launch: a fresh conversation with the current answers, streamed from the
//! backend, with the MCP tool loop, workflow-tool validation and the escalation ladder for
//! models that do not call tools.
//!
//! Responsibilities: everything between "launch agent A with answers X" and "A answered /
//! voted / must restart / failed". Emits the agent's streaming events.
//! Non-responsibilities: accepting answers and votes (the coordinator in `run.rs` decides),
//! wire formats (backends), MCP transport (`ToolProvider` implementations).

use super::prompts;
use crate::backend::{
    BackendError, BackendEvent, ChatBackend, ChatMessage, ChatRequest, FinishReason, ToolCall,
    ToolChoice, ToolSpec,
};
use crate::protocol::{
    AgentId, AgentInfo, AgentState, CallId, EscalationStep, EventMsg, EventScope, EventSink, Level,
    ToolKind, ToolStatus,
};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The result of one tool call, as it goes back to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolReply {
    /// Text for the model (already capped).
    pub text: String,
    /// True if the call failed; the model is told.
    pub is_error: bool,
}

/// Tools (MCP or built-in) an agent may call besides the workflow tools. Implementations emit
/// their own `ToolCallBegin`/`ToolCallEnd` events under the scope they are given.
pub trait ToolProvider: Send + Sync {
    /// The tools offered to the model, within the provider's limits.
    fn tool_specs(&self) -> Vec<ToolSpec>;
    /// Whether `name` is one of this provider's tools.
    fn has_tool(&self, name: &str) -> bool;
    /// Run one call. Never panics; failures come back as `is_error` replies.
    fn call<'a>(
        &'a self,
        scope: &'a EventScope,
        name: &'a str,
        arguments: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, ToolReply>;
}

/// What the escalation ladder may use, from the provider profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LadderCaps {
    /// `tool_choice: "required"` is honoured.
    pub tool_choice_required: bool,
    /// `tool_choice` naming one function is honoured.
    pub tool_choice_named: bool,
}

/// Everything the engine needs to run one agent.
pub struct AgentRuntime {
    /// Static info (id, provider, model, MCP servers).
    pub info: AgentInfo,
    /// The LLM backend.
    pub backend: Arc<dyn ChatBackend>,
    /// Escalation capabilities.
    pub caps: LadderCaps,
    /// The agent's custom system message.
    pub system_message: Option<String>,
    /// MCP (and other) tools.
    pub tools: Option<Arc<dyn ToolProvider>>,
    /// Maximum accepted answers for this agent.
    pub max_answers: Option<u32>,
    /// Wall-time limit for this agent within a run.
    pub timeout: Option<Duration>,
}

impl AgentRuntime {
    /// The agent id.
    pub fn id(&self) -> &AgentId {
        &self.info.id
    }
}

/// Run-wide counters shared by every launch.
#[derive(Debug, Default)]
pub struct Counters {
    /// Tool calls.
    pub tool_calls: AtomicU64,
    /// Input tokens.
    pub input_tokens: AtomicU64,
    /// Output tokens.
    pub output_tokens: AtomicU64,
    /// Set to 1 if any usage was estimated.
    pub estimated: AtomicU64,
}

/// An answer the launching agent sees.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenAnswer {
    /// Anonymous label.
    pub label: String,
    /// Real id.
    pub agent: AgentId,
    /// Text.
    pub text: String,
}

/// Input of one launch.
pub struct Launch {
    /// The agent.
    pub agent: Arc<AgentRuntime>,
    /// Launch number (1-based).
    pub number: u32,
    /// The question.
    pub task: String,
    /// Earlier turns.
    pub history: Arc<Vec<(String, String)>>,
    /// Answers at launch time, in label order.
    pub answers: Vec<SeenAnswer>,
    /// Whether `new_answer` is offered.
    pub allow_answer: bool,
    /// Extra text appended to the user message (deadline warning).
    pub note: Option<String>,
    /// Maximum MCP tool rounds per launch.
    pub max_tool_iterations: u32,
    /// Fires when new answers arrived: finish the current LLM call, then restart.
    pub restart: CancellationToken,
    /// Fires when the run ends or the agent timed out: stop at once.
    pub cancel: CancellationToken,
    /// Where events go.
    pub sink: Arc<dyn EventSink>,
    /// Run-wide counters.
    pub counters: Arc<Counters>,
    /// Streamed text is the final presentation (emitted as `FinalPresentationDelta`).
    pub presenting: bool,
    /// Call ids given to tool calls when they started streaming, by provider call id, so the
    /// execution events of a call carry the same id as its streaming events.
    pub call_ids: std::sync::Mutex<std::collections::HashMap<String, CallId>>,
}

/// How a launch ended.
#[derive(Clone, Debug, PartialEq)]
pub enum LaunchOutcome {
    /// The agent proposed this answer.
    Answer(String),
    /// The agent voted.
    Vote {
        /// Real id voted for.
        voted_for: AgentId,
        /// Label used.
        label: String,
        /// Reason.
        reason: String,
    },
    /// New answers arrived; the agent must be relaunched.
    Restarted,
    /// The launch failed (backend error, no usable decision).
    Failed(String),
    /// The run was cancelled.
    Cancelled,
}

/// Maximum re-prompts after workflow-tool validation errors (MassGen: 3 attempts in all).
const MAX_VALIDATION_RETRIES: u32 = 2;

struct ModelReply {
    text: String,
    tool_calls: Vec<ToolCall>,
}

enum Decision {
    Answer(String),
    Vote { label: String, reason: String },
}

impl Launch {
    fn scope(&self) -> EventScope {
        EventScope::agent(self.agent.id().clone(), self.number)
    }

    fn emit(&self, msg: EventMsg) {
        self.sink.emit(&self.scope(), msg);
    }

    fn notice(&self, level: Level, text: impl Into<String>) {
        self.emit(EventMsg::AgentNotice {
            level,
            text: text.into(),
        });
    }

    fn labels(&self) -> Vec<String> {
        self.answers.iter().map(|a| a.label.clone()).collect()
    }

    fn workflow_tools(&self) -> Vec<ToolSpec> {
        prompts::workflow_tools(&self.labels(), self.allow_answer)
    }

    fn all_tools(&self) -> Vec<ToolSpec> {
        let mut tools = self.workflow_tools();
        if let Some(p) = &self.agent.tools {
            tools.extend(p.tool_specs());
        }
        tools
    }

    fn initial_messages(&self) -> Vec<ChatMessage> {
        let system = prompts::coordination_system_message(
            self.agent.system_message.as_deref(),
            !self.history.is_empty(),
            chrono::Local::now(),
        );
        let answers: Vec<(String, String)> = self
            .answers
            .iter()
            .map(|a| (a.label.clone(), a.text.clone()))
            .collect();
        let mut user = prompts::coordination_user_message(&self.task, &self.history, &answers);
        if let Some(note) = &self.note {
            user.push_str("\n\n");
            user.push_str(note);
        }
        vec![ChatMessage::system(system), ChatMessage::user(user)]
    }

    /// Run the launch to its end.
    pub async fn run(self) -> LaunchOutcome {
        let mut messages = self.initial_messages();
        let mut tool_choice = ToolChoice::Auto;
        let mut ladder = 0u32;
        let mut validation_retries = 0u32;
        let mut tool_rounds = 0u32;
        let mut call_seq = 0u32;
        let mut text_protocol = false;
        // The first prose reply of the launch, before any re-prompt: for a model that cannot
        // use tools, its most natural answer (later replies tend to echo our instructions).
        let mut first_prose: Option<String> = None;

        loop {
            if self.cancel.is_cancelled() {
                return LaunchOutcome::Cancelled;
            }
            if self.restart.is_cancelled() {
                return LaunchOutcome::Restarted;
            }
            let tools = if text_protocol {
                Vec::new()
            } else {
                self.all_tools()
            };
            let request = ChatRequest {
                messages: messages.clone(),
                tools,
                tool_choice: tool_choice.clone(),
            };
            let reply = match self.call_model(request, &mut call_seq, false).await {
                Ok(r) => r,
                Err(BackendError::Cancelled) => return LaunchOutcome::Cancelled,
                Err(e) => return LaunchOutcome::Failed(e.to_string()),
            };

            if text_protocol {
                // An "answer" that repeats our template placeholders is not one.
                let parsed = parse_text_protocol(&reply.text, self.allow_answer)
                    .filter(|d| !matches!(d, Decision::Answer(c) if echoes_instructions(c)));
                return match parsed {
                    Some(decision) => match self.check_decision(decision) {
                        Ok(outcome) => outcome,
                        Err(e) => LaunchOutcome::Failed(format!(
                            "the text-protocol reply was not usable: {e}"
                        )),
                    },
                    None if self.answers.is_empty() && self.allow_answer => {
                        // Nothing to vote for and the model only writes prose: its first
                        // prose reply is its answer (unless it merely echoes our prompts).
                        let prose = [first_prose.as_deref(), Some(reply.text.as_str())]
                            .into_iter()
                            .flatten()
                            .map(str::trim)
                            .find(|t| !t.is_empty() && !echoes_instructions(t));
                        match prose {
                            Some(text) => {
                                self.notice(
                                    Level::Warn,
                                    "no structured reply; taking the model's prose reply as its answer",
                                );
                                LaunchOutcome::Answer(text.to_owned())
                            }
                            None => LaunchOutcome::Failed(
                                "the model did not use the workflow tools, even in the text protocol"
                                    .to_owned(),
                            ),
                        }
                    }
                    None => LaunchOutcome::Failed(
                        "the model did not use the workflow tools, even in the text protocol"
                            .to_owned(),
                    ),
                };
            }

            // Split the calls.
            let mut workflow = Vec::new();
            let mut others = Vec::new();
            for call in reply.tool_calls.iter().cloned() {
                if call.name == prompts::NEW_ANSWER || call.name == prompts::VOTE {
                    workflow.push(call);
                } else {
                    others.push(call);
                }
            }

            // MCP / other tools run first (their side effects were asked for), concurrently.
            let mut tool_results = Vec::new();
            if !others.is_empty() {
                let results = self.run_tools(&others, &mut call_seq).await;
                if self.cancel.is_cancelled() {
                    return LaunchOutcome::Cancelled;
                }
                tool_results = results;
            }

            if workflow.is_empty() && !others.is_empty() {
                tool_rounds += 1;
                messages.push(ChatMessage::assistant(
                    reply.text.clone(),
                    reply.tool_calls.clone(),
                ));
                messages.extend(tool_results);
                if tool_rounds > self.max_tool_iterations {
                    return LaunchOutcome::Failed(format!(
                        "the model kept calling tools for {} rounds without answering or voting",
                        self.max_tool_iterations
                    ));
                }
                continue;
            }

            if workflow.is_empty() {
                // Prose only: climb the escalation ladder.
                if self.restart.is_cancelled() {
                    return LaunchOutcome::Restarted;
                }
                if first_prose.is_none() && !reply.text.trim().is_empty() {
                    first_prose = Some(reply.text.clone());
                }
                messages.push(ChatMessage::assistant(reply.text.clone(), Vec::new()));
                match self
                    .next_rung(&mut ladder, &mut messages, &mut call_seq)
                    .await
                {
                    Rung::Retry(choice) => {
                        tool_choice = choice;
                        continue;
                    }
                    Rung::TextProtocol => {
                        text_protocol = true;
                        tool_choice = ToolChoice::Auto;
                        continue;
                    }
                    Rung::Done(outcome) => return outcome,
                }
            }

            // Workflow calls present. A vote cast after new answers arrived still goes to the
            // coordinator, which reports it as ignored (it knows the answer epochs).
            match self.validate(&workflow, &reply.text) {
                Ok(decision) => match self.check_decision(decision) {
                    Ok(outcome) => {
                        self.end_workflow_calls(&workflow, &mut call_seq, Ok("submitted"));
                        return outcome;
                    }
                    Err(msg) => {
                        self.end_workflow_calls(&workflow, &mut call_seq, Err(&msg));
                        if validation_retries >= MAX_VALIDATION_RETRIES {
                            return LaunchOutcome::Failed(format!(
                                "{msg} (after {} attempts)",
                                MAX_VALIDATION_RETRIES + 1
                            ));
                        }
                        validation_retries += 1;
                        self.retry_with_errors(
                            &mut messages,
                            &reply,
                            &tool_results,
                            &workflow,
                            &msg,
                        );
                    }
                },
                Err(msg) => {
                    self.end_workflow_calls(&workflow, &mut call_seq, Err(&msg));
                    if validation_retries >= MAX_VALIDATION_RETRIES {
                        return LaunchOutcome::Failed(format!(
                            "{msg} (after {} attempts)",
                            MAX_VALIDATION_RETRIES + 1
                        ));
                    }
                    validation_retries += 1;
                    self.retry_with_errors(&mut messages, &reply, &tool_results, &workflow, &msg);
                }
            }
        }
    }

    /// Stream a reply to `messages` with the agent's MCP tools (no workflow tools), running
    /// tool calls until the model answers in text: the final presentation, and single-agent
    /// direct mode. Returns the text of the last reply.
    pub async fn converse(self, mut messages: Vec<ChatMessage>) -> Result<String, BackendError> {
        let mut call_seq = 0u32;
        let mut rounds = 0u32;
        loop {
            let tools = self
                .agent
                .tools
                .as_ref()
                .map(|p| p.tool_specs())
                .unwrap_or_default();
            let request = ChatRequest {
                messages: messages.clone(),
                tools,
                tool_choice: ToolChoice::Auto,
            };
            let reply = self.call_model(request, &mut call_seq, false).await?;
            if reply.tool_calls.is_empty() || rounds >= self.max_tool_iterations {
                return Ok(reply.text);
            }
            rounds += 1;
            let results = self.run_tools(&reply.tool_calls, &mut call_seq).await;
            if self.cancel.is_cancelled() {
                return Err(BackendError::Cancelled);
            }
            messages.push(ChatMessage::assistant(reply.text.clone(), reply.tool_calls));
            messages.extend(results);
        }
    }

    fn retry_with_errors(
        &self,
        messages: &mut Vec<ChatMessage>,
        reply: &ModelReply,
        tool_results: &[ChatMessage],
        workflow: &[ToolCall],
        msg: &str,
    ) {
        self.notice(Level::Warn, format!("❌ {msg}"));
        messages.push(ChatMessage::assistant(
            reply.text.clone(),
            reply.tool_calls.clone(),
        ));
        messages.extend(tool_results.iter().cloned());
        for call in workflow {
            messages.push(ChatMessage::tool_result(call.id.clone(), msg.to_owned()));
        }
    }

    /// MassGen's validation order: several votes, vote+answer, then per call.
    fn validate(&self, workflow: &[ToolCall], streamed_text: &str) -> Result<Decision, String> {
        let votes = workflow.iter().filter(|c| c.name == prompts::VOTE).count();
        let answers = workflow
            .iter()
            .filter(|c| c.name == prompts::NEW_ANSWER)
            .count();
        if votes > 1 {
            return Err(format!(
                "Multiple vote calls not allowed. Made {votes} calls but must make exactly 1. Call vote tool once with chosen agent."
            ));
        }
        if votes > 0 && answers > 0 {
            return Err("Cannot use both 'vote' and 'new_answer' in same response. Choose one: vote for existing answer OR provide new answer.".to_owned());
        }
        if answers > 1 {
            return Err(format!(
                "Multiple new_answer calls not allowed. Made {answers} calls but must make exactly 1."
            ));
        }
        let call = &workflow[0];
        let args = call.arguments()?;
        if call.name == prompts::VOTE {
            let label = args
                .get("agent_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let reason = args
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("No reason provided")
                .to_owned();
            Ok(Decision::Vote { label, reason })
        } else {
            let content = match args.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                // MassGen: fall back to the streamed text only if the key is absent.
                None => streamed_text.to_owned(),
            };
            Ok(Decision::Answer(content))
        }
    }

    /// Check a decision against the answers this launch saw.
    fn check_decision(&self, decision: Decision) -> Result<LaunchOutcome, String> {
        match decision {
            Decision::Vote { label, reason } => {
                if self.answers.is_empty() {
                    return Err("Cannot vote when no answers exist. Use new_answer tool.".into());
                }
                let found = self
                    .answers
                    .iter()
                    .find(|a| a.label == label.trim())
                    .or_else(|| {
                        self.answers
                            .iter()
                            .find(|a| a.agent.as_str() == label.trim())
                    });
                match found {
                    Some(a) => Ok(LaunchOutcome::Vote {
                        voted_for: a.agent.clone(),
                        label: a.label.clone(),
                        reason,
                    }),
                    None => Err(format!(
                        "Invalid agent_id '{label}'. Valid agents: {}",
                        self.labels().join(", ")
                    )),
                }
            }
            Decision::Answer(content) => {
                if !self.allow_answer {
                    return Err("You have reached your limit of answers. Vote for the best existing answer with the vote tool.".into());
                }
                if content.trim().is_empty() {
                    return Err(
                        "The answer is empty. Put your complete answer in `content`.".into(),
                    );
                }
                if let Some(dup) = self.answers.iter().find(|a| same_answer(&a.text, &content)) {
                    return Err(format!(
                        "Answer already provided by {}. Provide different answer or vote for existing one.",
                        dup.label
                    ));
                }
                Ok(LaunchOutcome::Answer(content))
            }
        }
    }

    fn next_call_id(&self, seq: &mut u32) -> CallId {
        *seq += 1;
        CallId::new(format!("{}:{}:{}", self.agent.id(), self.number, seq))
    }

    /// The scope of a call: the id it got when it started streaming, or a new one.
    fn call_scope(&self, call: &ToolCall, seq: &mut u32) -> EventScope {
        let known = self
            .call_ids
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&call.id));
        self.scope()
            .with_call(known.unwrap_or_else(|| self.next_call_id(seq)))
    }

    fn end_workflow_calls(&self, calls: &[ToolCall], seq: &mut u32, result: Result<&str, &str>) {
        for call in calls {
            let scope = self.call_scope(call, seq);
            let arguments = call
                .arguments()
                .map(Value::Object)
                .unwrap_or_else(|_| Value::String(call.raw_arguments.clone()));
            self.sink.emit(
                &scope,
                EventMsg::ToolCallBegin {
                    tool: call.name.clone(),
                    kind: ToolKind::Workflow,
                    server: None,
                    arguments,
                },
            );
            let (status, text) = match result {
                Ok(t) => (ToolStatus::Ok, t.to_owned()),
                Err(e) => (ToolStatus::Error, e.to_owned()),
            };
            self.sink.emit(
                &scope,
                EventMsg::ToolCallEnd {
                    tool: call.name.clone(),
                    status,
                    duration_ms: 0,
                    result: text,
                    truncated: false,
                },
            );
        }
        self.counters
            .tool_calls
            .fetch_add(calls.len() as u64, Ordering::Relaxed);
    }

    async fn run_tools(&self, calls: &[ToolCall], seq: &mut u32) -> Vec<ChatMessage> {
        let scopes: Vec<EventScope> = calls.iter().map(|c| self.call_scope(c, seq)).collect();
        // Cancel tool calls when the run ends or new answers arrive.
        let tool_cancel = self.cancel.child_token();
        let restart = self.restart.clone();
        let guard = tool_cancel.clone();
        let watcher = tokio::spawn(async move {
            restart.cancelled().await;
            guard.cancel();
        });
        let futures = calls.iter().zip(scopes.iter()).map(|(call, scope)| {
            let cancel = tool_cancel.clone();
            async move {
                let reply = self.run_one_tool(scope, call, cancel).await;
                let text = if reply.is_error {
                    format!("Error: {}", reply.text)
                } else {
                    reply.text
                };
                ChatMessage::tool_result(call.id.clone(), text)
            }
        });
        let results = futures::future::join_all(futures).await;
        watcher.abort();
        self.counters
            .tool_calls
            .fetch_add(calls.len() as u64, Ordering::Relaxed);
        results
    }

    async fn run_one_tool(
        &self,
        scope: &EventScope,
        call: &ToolCall,
        cancel: CancellationToken,
    ) -> ToolReply {
        let provider = self.agent.tools.as_ref().filter(|p| p.has_tool(&call.name));
        let Some(provider) = provider else {
            let available: Vec<String> = self.all_tools().into_iter().map(|t| t.name).collect();
            let text = format!(
                "There is no tool named `{}`. Available tools: {}",
                call.name,
                available.join(", ")
            );
            return self.refuse_call(scope, call, ToolKind::Unknown, text);
        };
        match call.arguments() {
            Ok(args) => {
                provider
                    .call(scope, &call.name, Value::Object(args), cancel)
                    .await
            }
            Err(e) => self.refuse_call(scope, call, ToolKind::Mcp, e),
        }
    }

    /// A call that cannot run (unknown tool, unreadable arguments): its begin and end events,
    /// and the error result the model gets.
    fn refuse_call(
        &self,
        scope: &EventScope,
        call: &ToolCall,
        kind: ToolKind,
        text: String,
    ) -> ToolReply {
        self.sink.emit(
            scope,
            EventMsg::ToolCallBegin {
                tool: call.name.clone(),
                kind,
                server: None,
                arguments: Value::String(call.raw_arguments.clone()),
            },
        );
        self.sink.emit(
            scope,
            EventMsg::ToolCallEnd {
                tool: call.name.clone(),
                status: ToolStatus::Error,
                duration_ms: 0,
                result: text.clone(),
                truncated: false,
            },
        );
        ToolReply {
            text,
            is_error: true,
        }
    }

    /// One rung of the escalation ladder after a prose-only reply.
    async fn next_rung(
        &self,
        ladder: &mut u32,
        messages: &mut Vec<ChatMessage>,
        call_seq: &mut u32,
    ) -> Rung {
        let caps = self.agent.caps;
        loop {
            *ladder += 1;
            match *ladder {
                1 => {
                    self.escalate(
                        EscalationStep::EnforcementPrompt,
                        "the reply did not call `new_answer` or `vote`",
                    );
                    messages.push(ChatMessage::user(prompts::ENFORCEMENT));
                    return Rung::Retry(ToolChoice::Auto);
                }
                2 if caps.tool_choice_required => {
                    self.escalate(
                        EscalationStep::ToolChoiceRequired,
                        "still no tool call after the enforcement prompt",
                    );
                    messages.push(ChatMessage::user(prompts::ENFORCEMENT));
                    return Rung::Retry(ToolChoice::Required);
                }
                3 if caps.tool_choice_named => {
                    let labels = self.labels();
                    let forced = if labels.is_empty() || !self.allow_answer {
                        if labels.is_empty() {
                            prompts::NEW_ANSWER
                        } else {
                            prompts::VOTE
                        }
                    } else {
                        // Ask for the decision in words, then force that function.
                        let mut ask = messages.clone();
                        ask.push(ChatMessage::user(prompts::decision_question(&labels)));
                        let request = ChatRequest {
                            messages: ask,
                            tools: Vec::new(),
                            tool_choice: ToolChoice::Auto,
                        };
                        match self.call_model(request, call_seq, true).await {
                            Ok(r) if r.text.to_lowercase().contains("new_answer") => {
                                prompts::NEW_ANSWER
                            }
                            Ok(r) if r.text.to_lowercase().contains("vote") => prompts::VOTE,
                            Ok(_) => prompts::NEW_ANSWER,
                            Err(BackendError::Cancelled) => {
                                return Rung::Done(LaunchOutcome::Cancelled);
                            }
                            Err(e) => return Rung::Done(LaunchOutcome::Failed(e.to_string())),
                        }
                    };
                    self.escalate(
                        EscalationStep::ForcedFunction,
                        &format!("forcing a call to `{forced}`"),
                    );
                    messages.push(ChatMessage::user(prompts::ENFORCEMENT));
                    return Rung::Retry(ToolChoice::Function(forced.to_owned()));
                }
                4 => {
                    self.escalate(
                        EscalationStep::TextProtocol,
                        "the model does not produce usable tool calls; asking for the text protocol",
                    );
                    messages.push(ChatMessage::user(prompts::text_protocol_instructions(
                        &self.labels(),
                        self.allow_answer,
                    )));
                    return Rung::TextProtocol;
                }
                n if n > 4 => {
                    return Rung::Done(LaunchOutcome::Failed(
                        "Agent failed to use workflow tools".to_owned(),
                    ));
                }
                _ => continue, // a rung the provider cannot do: skip it
            }
        }
    }

    fn escalate(&self, step: EscalationStep, reason: &str) {
        self.emit(EventMsg::Escalated {
            step,
            reason: reason.to_owned(),
        });
    }

    /// Stream one LLM call, emitting deltas. `quiet` suppresses text deltas (internal
    /// decision prompts are still visible as a notice).
    async fn call_model(
        &self,
        request: ChatRequest,
        call_seq: &mut u32,
        quiet: bool,
    ) -> Result<ModelReply, BackendError> {
        let mut stream = self
            .agent
            .backend
            .stream(request, self.cancel.child_token());
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        let mut call_scopes: Vec<(usize, EventScope)> = Vec::new();
        let mut reported_usage = false;
        self.emit(EventMsg::AgentStateChanged {
            state: if self.presenting {
                AgentState::Presenting
            } else {
                AgentState::Streaming
            },
        });
        loop {
            let next = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(BackendError::Cancelled),
                n = stream.next() => n,
            };
            let Some(item) = next else { break };
            match item? {
                BackendEvent::TextDelta(t) => {
                    if self.presenting {
                        self.emit(EventMsg::FinalPresentationDelta { text: t.clone() });
                    } else if !quiet {
                        self.emit(EventMsg::TextDelta { text: t.clone() });
                    }
                    text.push_str(&t);
                }
                BackendEvent::ReasoningDelta(t) => {
                    if !quiet {
                        self.emit(EventMsg::ReasoningDelta { text: t });
                    }
                }
                BackendEvent::ToolCallStarted { index, id, name } => {
                    let call_id = self.next_call_id(call_seq);
                    if let Ok(mut m) = self.call_ids.lock() {
                        m.insert(id, call_id.clone());
                    }
                    let scope = self.scope().with_call(call_id);
                    let kind = if name == prompts::NEW_ANSWER || name == prompts::VOTE {
                        ToolKind::Workflow
                    } else if self.agent.tools.as_ref().is_some_and(|p| p.has_tool(&name)) {
                        ToolKind::Mcp
                    } else {
                        ToolKind::Unknown
                    };
                    self.sink
                        .emit(&scope, EventMsg::ToolCallStarted { tool: name, kind });
                    call_scopes.push((index, scope));
                }
                BackendEvent::ToolCallArgsDelta { index, delta } => {
                    if let Some((_, scope)) = call_scopes.iter().find(|(i, _)| *i == index) {
                        self.sink.emit(scope, EventMsg::ToolArgsDelta { delta });
                    }
                }
                BackendEvent::ToolCall(call) => tool_calls.push(call),
                BackendEvent::Usage(u) => {
                    reported_usage = true;
                    self.record_usage(u.input_tokens, u.output_tokens, u.estimated);
                }
                BackendEvent::Retrying {
                    attempt,
                    delay,
                    error,
                } => {
                    self.emit(EventMsg::BackendRetry {
                        retry: attempt,
                        delay_ms: duration_ms(delay),
                        error: error.to_string(),
                    });
                    self.emit(EventMsg::AgentStateChanged {
                        state: AgentState::Retrying,
                    });
                }
                BackendEvent::Done { finish_reason } => {
                    if finish_reason == FinishReason::Length {
                        self.notice(
                            Level::Warn,
                            "the reply was cut off by the output token limit (finish_reason: length)",
                        );
                    }
                    break;
                }
            }
        }
        if !reported_usage {
            // Rough estimate (MassGen's words × 1.3) so totals are never silently zero.
            let words = text.split_whitespace().count() as f64;
            self.record_usage(0, (words * 1.3).ceil() as u64, true);
        }
        Ok(ModelReply { text, tool_calls })
    }

    fn record_usage(&self, input: u64, output: u64, estimated: bool) {
        self.counters
            .input_tokens
            .fetch_add(input, Ordering::Relaxed);
        self.counters
            .output_tokens
            .fetch_add(output, Ordering::Relaxed);
        if estimated {
            self.counters.estimated.store(1, Ordering::Relaxed);
        }
        self.emit(EventMsg::Usage {
            input_tokens: input,
            output_tokens: output,
            estimated,
        });
    }
}

enum Rung {
    Retry(ToolChoice),
    TextProtocol,
    Done(LaunchOutcome),
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whether a reply merely repeats the engine's own prompts (small models do), so it must not
/// be taken as an answer.
fn echoes_instructions(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "action:",
        "content:",
        "exactly one of these formats",
        "to give a new answer",
        "to vote for an existing answer",
        "finish your work above",
        "<original message>",
        "original message",
        "<current answers",
        "current answer",
        "<end of",
        "<one sentence>",
        "<one of ",
        "<your complete answer>",
    ]
    .iter()
    .any(|needle| t.contains(needle))
}

/// Two answers are the same if they match after trimming and collapsing white space.
pub fn same_answer(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    norm(a) == norm(b)
}

/// Parse the documented text protocol, or a JSON decision (`{"tool_name": …, "arguments":
/// …}` as MassGen's Claude Code protocol, or `{"action_type": …}` as its Gemini protocol).
fn parse_text_protocol(text: &str, allow_answer: bool) -> Option<Decision> {
    let lines: Vec<&str> = text.lines().collect();
    if let Some(pos) = lines
        .iter()
        .position(|l| l.trim().to_ascii_uppercase().starts_with("ACTION:"))
    {
        let action = lines[pos]
            .trim()
            .split_once(':')
            .map(|x| x.1)
            .unwrap_or_default()
            .trim()
            .trim_matches('`')
            .to_ascii_lowercase();
        let rest = &lines[pos + 1..];
        if action == "new_answer" && allow_answer {
            let start = rest
                .iter()
                .position(|l| l.trim().to_ascii_uppercase().starts_with("CONTENT:"))?;
            let first = rest[start]
                .trim_start()
                .split_once(':')
                .map(|x| x.1)
                .unwrap_or_default()
                .trim();
            let mut body: Vec<&str> = Vec::new();
            if !first.is_empty() {
                body.push(first);
            }
            body.extend(rest[start + 1..].iter().copied());
            let content = body.join("\n").trim().to_owned();
            return (!content.is_empty()).then_some(Decision::Answer(content));
        }
        if action == "vote" {
            let field = |name: &str| {
                rest.iter().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.trim().eq_ignore_ascii_case(name))
                        .then(|| v.trim().trim_matches('`').to_owned())
                })
            };
            let label = field("AGENT")?;
            let reason = field("REASON").unwrap_or_else(|| "No reason provided".to_owned());
            return Some(Decision::Vote { label, reason });
        }
    }
    parse_json_decision(text, allow_answer)
}

fn parse_json_decision(text: &str, allow_answer: bool) -> Option<Decision> {
    // Scan every balanced {...} and keep the last one that is a decision.
    let bytes = text.as_bytes();
    let mut found = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let mut de = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
            if let Some(Ok(v)) = de.next() {
                let len = de.byte_offset();
                if let Some(d) = json_decision(&v, allow_answer) {
                    found = Some(d);
                }
                i += len.max(1);
                continue;
            }
        }
        i += 1;
    }
    found
}

fn json_decision(v: &Value, allow_answer: bool) -> Option<Decision> {
    let obj = v.as_object()?;
    let name = obj
        .get("tool_name")
        .or_else(|| obj.get("action_type"))
        .or_else(|| obj.get("action"))
        .and_then(Value::as_str)?;
    let args = obj
        .get("arguments")
        .or_else(|| obj.get("vote_data"))
        .or_else(|| obj.get("answer_data"))
        .unwrap_or(v);
    match name {
        "new_answer" if allow_answer => args
            .get("content")
            .and_then(Value::as_str)
            .map(|c| Decision::Answer(c.to_owned())),
        "vote" => Some(Decision::Vote {
            label: args.get("agent_id").and_then(Value::as_str)?.to_owned(),
            reason: args
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("No reason provided")
                .to_owned(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_protocol_answer_and_vote() {
        match parse_text_protocol(
            "Sure.\nACTION: new_answer\nCONTENT:\nParis is the capital.\nIt is in France.",
            true,
        ) {
            Some(Decision::Answer(c)) => assert_eq!(c, "Paris is the capital.\nIt is in France."),
            _ => panic!("expected answer"),
        }
        match parse_text_protocol("ACTION: vote\nAGENT: agent2\nREASON: best", true) {
            Some(Decision::Vote { label, reason }) => {
                assert_eq!(label, "agent2");
                assert_eq!(reason, "best");
            }
            _ => panic!("expected vote"),
        }
        assert!(parse_text_protocol("just prose", true).is_none());
    }

    #[test]
    fn json_decisions_in_prose() {
        let t = "I think so.\n```json\n{\"tool_name\": \"vote\", \"arguments\": {\"agent_id\": \"agent1\", \"reason\": \"ok\"}}\n```";
        assert!(matches!(
            parse_text_protocol(t, true),
            Some(Decision::Vote { .. })
        ));
        let t = "{\"action_type\":\"new_answer\",\"answer_data\":{\"action\":\"new_answer\",\"content\":\"42\"}}";
        assert!(matches!(parse_text_protocol(t, true), Some(Decision::Answer(c)) if c == "42"));
    }

    #[test]
    fn echoed_instructions_are_not_answers() {
        assert!(echoes_instructions(
            "To give a new answer:\nACTION: new_answer"
        ));
        assert!(echoes_instructions(
            "You can use the EXACTLY one of these formats and nothing else."
        ));
        assert!(!echoes_instructions("The capital of France is Paris."));
    }

    #[test]
    fn duplicate_detection_ignores_whitespace() {
        assert!(same_answer("a  b\n c ", "a b c"));
        assert!(!same_answer("a b", "a c"));
    }
}
