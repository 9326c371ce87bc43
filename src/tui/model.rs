//! The pure view model: everything the screen shows, built only from `protocol::Event`s.
//!
//! Responsibilities: `ViewModel::apply(&Event)` folds events into per-run state (agents with
//! transcripts, states, votes, tokens, stage timings, tally, tool timeline, final answer), the
//! conversation history of finished runs, and the log ring. No I/O, no clocks: every time
//! comes from event timestamps, so a live run and its replay produce equal models.
//! Non-responsibilities: scroll positions, focus, filters (that is `ui::UiState`) and drawing.

use super::jsonstr::FieldStreamDecoder;
use super::logs::LogRing;
use super::transcript::{LineKind, MarkKind, Transcript};
use crate::protocol::{
    AgentId, AgentInfo, AgentState, BreakerState, CallId, Category, Event, EventMsg, LaunchReason,
    Level, RunId, RunOutcome, RunTotals, Stage, TieBreak, ToolKind, ToolStatus,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// Memory bounds of the view model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Lines kept per agent pane (older ones are counted and marked).
    pub max_pane_lines: usize,
    /// Records kept in the log ring.
    pub max_log_records: usize,
    /// Rows kept in the tool timeline.
    pub max_timeline_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pane_lines: super::transcript::DEFAULT_MAX_LINES,
            max_log_records: super::logs::DEFAULT_LOG_CAP,
            max_timeline_rows: 20_000,
        }
    }
}

/// Timing of one pipeline stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageTiming {
    /// The stage.
    pub stage: Stage,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended, if it did.
    pub ended: Option<DateTime<Utc>>,
}

/// One agent as shown in its pane.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentView {
    /// Real id.
    pub id: AgentId,
    /// Provider display name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Lifecycle state.
    pub state: AgentState,
    /// Launch number.
    pub attempt: u32,
    /// Coordination round of its latest event.
    pub round: u32,
    /// Anonymous label of its current answer (`agentN`).
    pub label: Option<String>,
    /// Whom it voted for (real id, label), while the vote is valid.
    pub voted_for: Option<(AgentId, String)>,
    /// First launch.
    pub started_at: Option<DateTime<Utc>>,
    /// Last error (retry, failure).
    pub last_error: Option<String>,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// True if any count is an estimate.
    pub tokens_estimated: bool,
    /// The pane's text.
    pub transcript: Transcript,
    /// `new_answer` calls whose arguments are streaming, by call id.
    streams: BTreeMap<CallId, FieldStreamDecoder>,
    /// Line where the answer being written starts.
    answer_start: Option<u64>,
    /// True if the current answer's text has already been shown (streamed or from arguments).
    answer_shown: bool,
}

impl AgentView {
    fn new(info: &AgentInfo, limits: &Limits) -> Self {
        Self {
            id: info.id.clone(),
            provider: info.provider.clone(),
            model: info.model.clone(),
            state: AgentState::Waiting,
            attempt: 0,
            round: 1,
            label: None,
            voted_for: None,
            started_at: None,
            last_error: None,
            input_tokens: 0,
            output_tokens: 0,
            tokens_estimated: false,
            transcript: Transcript::new(limits.max_pane_lines),
            streams: BTreeMap::new(),
            answer_start: None,
            answer_shown: false,
        }
    }

    /// Short status text for the pane header.
    pub fn status_text(&self) -> String {
        match self.state {
            AgentState::Waiting => "waiting".into(),
            AgentState::Streaming => "streaming".into(),
            AgentState::Answered => match &self.label {
                Some(l) => format!("answered as {l}"),
                None => "answered".into(),
            },
            AgentState::Voted => match &self.voted_for {
                Some((id, l)) => format!("voted for {l} ({id})"),
                None => "voted".into(),
            },
            AgentState::Restarting => "restarting".into(),
            AgentState::Retrying => "retrying".into(),
            AgentState::Failed => "failed".into(),
            AgentState::TimedOut => "timed out".into(),
            AgentState::Presenting => "presenting".into(),
            AgentState::Done => "done".into(),
        }
    }
}

/// One tool call in the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolEntry {
    /// Call id.
    pub call_id: CallId,
    /// Calling agent.
    pub agent: Option<AgentId>,
    /// MCP server, for MCP tools.
    pub server: Option<String>,
    /// Tool name.
    pub tool: String,
    /// Kind.
    pub kind: ToolKind,
    /// Execution start.
    pub started: DateTime<Utc>,
    /// End, once finished.
    pub ended: Option<DateTime<Utc>>,
    /// Outcome, once finished.
    pub status: Option<ToolStatus>,
    /// Duration reported by the engine.
    pub duration_ms: Option<u64>,
    /// Full arguments.
    pub arguments: Value,
    /// Full result.
    pub result: Option<String>,
    /// True if the model got a truncated result.
    pub truncated: bool,
    /// Latest progress (progress, total, message).
    pub progress: Option<(f64, Option<f64>, Option<String>)>,
}

/// A row of the tool timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineRow {
    /// A tool call.
    Call(Box<ToolEntry>),
    /// A server health or circuit-breaker change.
    Marker {
        /// When.
        at: DateTime<Utc>,
        /// Server.
        server: String,
        /// Severity.
        level: Level,
        /// What happened.
        text: String,
    },
}

/// The tool timeline of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Rows in arrival order.
    pub rows: Vec<TimelineRow>,
    /// Rows dropped to bound memory.
    pub dropped: usize,
    index: BTreeMap<CallId, usize>,
}

impl Timeline {
    fn push(&mut self, row: TimelineRow, cap: usize) {
        if self.rows.len() >= cap {
            let n = (cap / 10).max(1);
            self.rows.drain(..n);
            self.dropped += n;
            self.index = self
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r {
                    TimelineRow::Call(e) => Some((e.call_id.clone(), i)),
                    TimelineRow::Marker { .. } => None,
                })
                .collect();
        }
        if let TimelineRow::Call(e) = &row {
            self.index.insert(e.call_id.clone(), self.rows.len());
        }
        self.rows.push(row);
    }

    fn get_mut(&mut self, id: &CallId) -> Option<&mut ToolEntry> {
        let i = *self.index.get(id)?;
        match self.rows.get_mut(i) {
            Some(TimelineRow::Call(e)) => Some(e),
            _ => None,
        }
    }

    /// Earliest start of any row (the time axis origin).
    pub fn origin(&self) -> Option<DateTime<Utc>> {
        self.rows
            .iter()
            .map(|r| match r {
                TimelineRow::Call(e) => e.started,
                TimelineRow::Marker { at, .. } => *at,
            })
            .min()
    }
}

/// One question/answer turn (finished runs, for history).
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// Run id.
    pub run_id: RunId,
    /// Question.
    pub question: String,
    /// Final answer, if any.
    pub answer: Option<String>,
    /// Winner.
    pub winner: Option<AgentId>,
    /// Outcome.
    pub outcome: RunOutcome,
}

/// One run as shown on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct RunView {
    /// Run id.
    pub run_id: RunId,
    /// The question.
    pub question: String,
    /// Config path, if any.
    pub config_path: Option<String>,
    /// First event time.
    pub started_at: DateTime<Utc>,
    /// `RunFinished` time.
    pub finished_at: Option<DateTime<Utc>>,
    /// Time of the latest event.
    pub last_at: DateTime<Utc>,
    /// Current stage.
    pub stage: Stage,
    /// Stage timings in order.
    pub stages: Vec<StageTiming>,
    /// Agents in config order.
    pub agents: Vec<AgentView>,
    /// Valid votes: voter → voted for.
    pub votes: BTreeMap<AgentId, AgentId>,
    /// Tally from `WinnerSelected` (authoritative once present).
    pub final_tally: Option<Vec<(AgentId, u32)>>,
    /// Winner.
    pub winner: Option<AgentId>,
    /// Tie-break used.
    pub tie_break: Option<TieBreak>,
    /// The final presentation / answer.
    pub final_text: Transcript,
    /// True once `FinalAnswer` arrived.
    pub final_done: bool,
    /// Outcome, once finished.
    pub outcome: Option<RunOutcome>,
    /// Totals, once finished.
    pub totals: Option<RunTotals>,
    /// Error, if the run failed.
    pub error: Option<String>,
    /// Tool timeline.
    pub timeline: Timeline,
    /// Highest round seen.
    pub round: u32,
}

impl RunView {
    /// Votes per agent in config order (live tally, or the final one).
    pub fn tally(&self) -> Vec<(AgentId, u32)> {
        if let Some(t) = &self.final_tally {
            return t.clone();
        }
        self.agents
            .iter()
            .map(|a| {
                let n = self.votes.values().filter(|v| **v == a.id).count() as u32;
                (a.id.clone(), n)
            })
            .collect()
    }

    /// Votes received by `id`.
    pub fn votes_for(&self, id: &AgentId) -> u32 {
        self.tally()
            .iter()
            .find(|(a, _)| a == id)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Index of an agent.
    pub fn agent_index(&self, id: &AgentId) -> Option<usize> {
        self.agents.iter().position(|a| &a.id == id)
    }

    /// True while the run is in progress.
    pub fn is_running(&self) -> bool {
        self.finished_at.is_none()
    }

    /// Reference time for elapsed clocks: `now`, frozen at the end of a finished run.
    pub fn clock(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.finished_at {
            Some(f) => f,
            None => now.max(self.last_at),
        }
    }
}

/// The whole view model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewModel {
    /// The current (or last) run.
    pub run: Option<RunView>,
    /// Finished turns, oldest first.
    pub history: Vec<Turn>,
    /// Every event and log record.
    pub logs: LogRing,
    /// Memory limits.
    pub limits: Limits,
    /// Runs started so far.
    pub runs_started: u32,
    /// Set when the engine stopped without finishing the run.
    pub engine_error: Option<String>,
}

/// `server/tool` for display, without the `mcp__<server>__` prefix models see.
pub fn tool_label(server: Option<&str>, tool: &str) -> String {
    match server {
        Some(s) => {
            let short = tool
                .strip_prefix("mcp__")
                .and_then(|t| t.strip_prefix(s))
                .and_then(|t| t.strip_prefix("__"))
                .unwrap_or(tool);
            format!("{s}/{short}")
        }
        None => tool.to_owned(),
    }
}

/// A tool name without its `mcp__<server>__` qualification.
fn short_tool(tool: &str) -> &str {
    match tool.strip_prefix("mcp__").and_then(|t| t.split_once("__")) {
        Some((_, name)) if !name.is_empty() => name,
        _ => tool,
    }
}

fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    super::wrap::truncate(line.trim(), max)
}

fn args_preview(v: &Value) -> String {
    let s = match v {
        Value::Object(m) if m.len() == 1 => m
            .values()
            .next()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default(),
        other => other.to_string(),
    };
    first_line(&s, 120)
}

impl ViewModel {
    /// An empty model with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            logs: LogRing::new(limits.max_log_records),
            limits,
            ..Self::default()
        }
    }

    /// Record that the engine's event stream ended unexpectedly.
    pub fn engine_stopped(&mut self, message: &str) {
        self.engine_error = Some(message.to_owned());
    }

    /// True while a run is in progress.
    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(RunView::is_running)
    }

    /// Fold one event into the model.
    pub fn apply(&mut self, ev: &Event) {
        self.logs.push_event(ev);
        if let EventMsg::RunStarted {
            question,
            agents,
            config_path,
            ..
        } = &ev.msg
        {
            self.start_run(ev, question, agents, config_path.clone());
            return;
        }
        let limits = self.limits;
        let Some(run) = self.run.as_mut() else {
            return;
        };
        if run.run_id != ev.run_id {
            return;
        }
        run.last_at = run.last_at.max(ev.at);
        if let Some(r) = ev.round {
            run.round = run.round.max(r);
        }
        let agent_idx = ev.agent.as_ref().and_then(|a| run.agent_index(a));
        if let Some(i) = agent_idx {
            let a = &mut run.agents[i];
            if let Some(r) = ev.round {
                a.round = r;
            }
            if let Some(at) = ev.attempt {
                a.attempt = a.attempt.max(at);
            }
        }
        match &ev.msg {
            EventMsg::RunStarted { .. } => {}
            EventMsg::RunFinished {
                outcome,
                winner,
                final_answer,
                totals,
                error,
            } => {
                run.finished_at = Some(ev.at);
                run.outcome = Some(*outcome);
                run.totals = Some(totals.clone());
                run.error = error.clone();
                if winner.is_some() {
                    run.winner = winner.clone();
                }
                if run.final_text.is_empty()
                    && let Some(fa) = final_answer
                {
                    run.final_text.push_line(LineKind::Text, fa);
                }
                run.final_text.finish_line();
                for st in &mut run.stages {
                    if st.ended.is_none() {
                        st.ended = Some(ev.at);
                    }
                }
                for a in &mut run.agents {
                    a.transcript.finish_line();
                }
                let answer = final_answer
                    .clone()
                    .or_else(|| (!run.final_text.is_empty()).then(|| run.final_text.plain_text()));
                self.history.push(Turn {
                    run_id: run.run_id.clone(),
                    question: run.question.clone(),
                    answer,
                    winner: run.winner.clone(),
                    outcome: *outcome,
                });
            }
            EventMsg::StageStarted { stage } => {
                run.stage = *stage;
                for st in &mut run.stages {
                    if st.ended.is_none() {
                        st.ended = Some(ev.at);
                    }
                }
                run.stages.push(StageTiming {
                    stage: *stage,
                    started: ev.at,
                    ended: None,
                });
            }
            EventMsg::StageFinished { stage, .. } => {
                if let Some(st) = run
                    .stages
                    .iter_mut()
                    .rev()
                    .find(|s| s.stage == *stage && s.ended.is_none())
                {
                    st.ended = Some(ev.at);
                }
            }
            EventMsg::WinnerSelected {
                winner,
                tally,
                tie_break,
            } => {
                run.winner = Some(winner.clone());
                run.final_tally = Some(tally.clone());
                run.tie_break = Some(*tie_break);
                if let Some(i) = run.agent_index(winner) {
                    let n = run.votes_for(winner);
                    run.agents[i].transcript.push_line(
                        LineKind::Marker,
                        &format!("🏆 selected as the winner with {n} votes"),
                    );
                }
            }
            EventMsg::FinalPresentationDelta { text } => {
                run.final_text.push_text(LineKind::Text, text);
            }
            EventMsg::FinalAnswer { text, .. } => {
                if run.final_text.is_empty() {
                    run.final_text.push_line(LineKind::Text, text);
                }
                run.final_text.finish_line();
                run.final_done = true;
            }
            EventMsg::VotesInvalidated { by, count } => {
                let voters: Vec<AgentId> = run.votes.keys().cloned().collect();
                run.votes.clear();
                for a in &mut run.agents {
                    a.voted_for = None;
                    if voters.contains(&a.id) {
                        a.transcript.push_line(
                            LineKind::Warn,
                            &format!("⚠ vote invalidated: new answer from {by}"),
                        );
                    }
                }
                let _ = count;
            }
            EventMsg::McpServer {
                server,
                category,
                level,
                message,
            } => {
                if *category == Category::McpHealth || *level >= Level::Warn {
                    run.timeline.push(
                        TimelineRow::Marker {
                            at: ev.at,
                            server: server.clone(),
                            level: *level,
                            text: message.clone(),
                        },
                        limits.max_timeline_rows,
                    );
                }
            }
            EventMsg::CircuitBreaker { server, state } => {
                let (level, text) = match state {
                    BreakerState::Open => (Level::Error, "circuit breaker OPEN"),
                    BreakerState::HalfOpen => (Level::Warn, "circuit breaker half-open"),
                    BreakerState::Closed => (Level::Info, "circuit breaker closed"),
                };
                run.timeline.push(
                    TimelineRow::Marker {
                        at: ev.at,
                        server: server.clone(),
                        level,
                        text: text.into(),
                    },
                    limits.max_timeline_rows,
                );
            }
            EventMsg::ToolCallBegin {
                tool,
                kind,
                server,
                arguments,
            } => {
                if let Some(call) = &ev.call_id {
                    run.timeline.push(
                        TimelineRow::Call(Box::new(ToolEntry {
                            call_id: call.clone(),
                            agent: ev.agent.clone(),
                            server: server.clone(),
                            tool: tool.clone(),
                            kind: *kind,
                            started: ev.at,
                            ended: None,
                            status: None,
                            duration_ms: None,
                            arguments: arguments.clone(),
                            result: None,
                            truncated: false,
                            progress: None,
                        })),
                        limits.max_timeline_rows,
                    );
                }
                if let Some(i) = agent_idx {
                    Self::agent_tool_begin(&mut run.agents[i], ev, tool, *kind, server, arguments);
                }
            }
            EventMsg::ToolCallProgress {
                progress,
                total,
                message,
            } => {
                if let Some(e) = ev.call_id.as_ref().and_then(|c| run.timeline.get_mut(c)) {
                    e.progress = Some((*progress, *total, message.clone()));
                }
            }
            EventMsg::ToolCallEnd {
                tool,
                status,
                duration_ms,
                result,
                truncated,
            } => {
                if let Some(e) = ev.call_id.as_ref().and_then(|c| run.timeline.get_mut(c)) {
                    e.ended = Some(ev.at);
                    e.status = Some(*status);
                    e.duration_ms = Some(*duration_ms);
                    e.result = Some(result.clone());
                    e.truncated = *truncated;
                }
                if let Some(i) = agent_idx {
                    let a = &mut run.agents[i];
                    if let Some(c) = &ev.call_id {
                        a.streams.remove(c);
                    }
                    let workflow = tool == "new_answer" || tool == "vote";
                    if !workflow || *status != ToolStatus::Ok {
                        let (kind, word) = match status {
                            ToolStatus::Ok => (LineKind::ToolResult, "ok"),
                            ToolStatus::Error => (LineKind::Warn, "error"),
                            ToolStatus::TimedOut => (LineKind::Warn, "timed out"),
                            ToolStatus::Cancelled => (LineKind::Warn, "cancelled"),
                        };
                        let n = result.lines().count();
                        let more = if n > 1 {
                            format!(" (+{} lines)", n - 1)
                        } else {
                            String::new()
                        };
                        a.transcript.push_line(
                            kind,
                            &format!(
                                "  ↳ {} {word} · {duration_ms} ms · {}{more}",
                                short_tool(tool),
                                first_line(result, 100)
                            ),
                        );
                    }
                }
            }
            _ => {
                if let (EventMsg::VoteCast { voted_for, .. }, Some(voter)) = (&ev.msg, &ev.agent) {
                    run.votes.insert(voter.clone(), voted_for.clone());
                }
                if let Some(i) = agent_idx {
                    Self::apply_agent(&mut run.agents[i], ev);
                }
            }
        }
    }

    fn start_run(
        &mut self,
        ev: &Event,
        question: &str,
        agents: &[AgentInfo],
        config_path: Option<String>,
    ) {
        self.runs_started += 1;
        self.engine_error = None;
        let limits = self.limits;
        let mut views: Vec<AgentView> = agents.iter().map(|i| AgentView::new(i, &limits)).collect();
        for a in &mut views {
            a.transcript
                .push_line(LineKind::Question, &format!("❯ {question}"));
        }
        self.run = Some(RunView {
            run_id: ev.run_id.clone(),
            question: question.to_owned(),
            config_path,
            started_at: ev.at,
            finished_at: None,
            last_at: ev.at,
            stage: ev.stage,
            stages: vec![StageTiming {
                stage: ev.stage,
                started: ev.at,
                ended: None,
            }],
            agents: views,
            votes: BTreeMap::new(),
            final_tally: None,
            winner: None,
            tie_break: None,
            final_text: Transcript::new(limits.max_pane_lines),
            final_done: false,
            outcome: None,
            totals: None,
            error: None,
            timeline: Timeline::default(),
            round: 1,
        });
    }

    fn agent_tool_begin(
        a: &mut AgentView,
        ev: &Event,
        tool: &str,
        kind: ToolKind,
        server: &Option<String>,
        arguments: &Value,
    ) {
        match tool {
            "new_answer" => {
                // Shown already if it streamed from argument deltas (matched by call id, or by
                // launch: engines may number the streamed and the executed call differently).
                let streamed = a.answer_shown
                    || ev
                        .call_id
                        .as_ref()
                        .and_then(|c| a.streams.get(c))
                        .is_some_and(|d| d.emitted() > 0);
                if !streamed {
                    let content = arguments
                        .get("content")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if a.answer_start.is_none() {
                        a.transcript
                            .push_line(LineKind::Separator, "── new_answer ──");
                        a.answer_start = Some(a.transcript.total_lines());
                    }
                    a.transcript.push_line(LineKind::Answer, content);
                    a.answer_shown = true;
                }
                a.transcript.finish_line();
            }
            "vote" => {}
            _ => {
                let name = tool_label(server.as_deref(), tool);
                let tag = match kind {
                    ToolKind::Mcp => "🔧",
                    ToolKind::Workflow => "⚙",
                    ToolKind::Unknown => "❓",
                };
                a.transcript.push_line(
                    LineKind::Tool,
                    &format!("{tag} {name}({})", args_preview(arguments)),
                );
            }
        }
    }

    fn apply_agent(a: &mut AgentView, ev: &Event) {
        let t = &mut a.transcript;
        match &ev.msg {
            EventMsg::AgentLaunched {
                reason,
                answers_seen,
            } => {
                if a.started_at.is_none() {
                    a.started_at = Some(ev.at);
                }
                a.label = None;
                a.answer_start = None;
                a.answer_shown = false;
                a.streams.clear();
                let why = match reason {
                    LaunchReason::Initial => "first launch".to_owned(),
                    LaunchReason::NewAnswers => "new answers".to_owned(),
                    LaunchReason::Retry => "retry".to_owned(),
                };
                let seen = if answers_seen.is_empty() {
                    String::new()
                } else {
                    format!(" · sees {}", answers_seen.join(", "))
                };
                t.mark_next(MarkKind::Round);
                t.push_line(
                    LineKind::Separator,
                    &format!(
                        "── launch {} · round {} · {why}{seen} ──",
                        ev.attempt.unwrap_or(a.attempt.max(1)),
                        ev.round.unwrap_or(a.round)
                    ),
                );
                a.state = AgentState::Streaming;
            }
            EventMsg::AgentRestarted { caused_by } => {
                a.state = AgentState::Restarting;
                let by = caused_by
                    .as_ref()
                    .map(|c| format!(" (new answer from {c})"))
                    .unwrap_or_default();
                t.push_line(LineKind::Separator, &format!("↻ restarting{by}"));
            }
            EventMsg::AgentRetried {
                error,
                failures,
                max_failures,
                delay_ms,
            } => {
                a.state = AgentState::Retrying;
                a.last_error = Some(error.clone());
                t.push_line(
                    LineKind::Warn,
                    &format!(
                        "⟳ retry {failures}/{max_failures} in {:.1} s: {error}",
                        *delay_ms as f64 / 1000.0
                    ),
                );
            }
            EventMsg::AgentFailed { error } => {
                a.state = AgentState::Failed;
                a.last_error = Some(error.clone());
                t.push_line(LineKind::Error, &format!("✖ failed: {error}"));
            }
            EventMsg::AgentTimedOut { limit_secs } => {
                a.state = AgentState::TimedOut;
                t.push_line(
                    LineKind::Error,
                    &format!("⌛ timed out (limit {limit_secs} s)"),
                );
            }
            EventMsg::AgentStateChanged { state } => {
                let was = a.state;
                a.state = *state;
                if *state == AgentState::Presenting && was != AgentState::Presenting {
                    t.push_line(
                        LineKind::Marker,
                        "🎤 presenting the final answer (press f for the final-answer view)",
                    );
                }
            }
            EventMsg::TextDelta { text } => t.push_text(LineKind::Text, text),
            EventMsg::ReasoningDelta { text } => t.push_text(LineKind::Reasoning, text),
            EventMsg::AgentNotice { level, text } => {
                let kind = match level {
                    Level::Warn => LineKind::Warn,
                    Level::Error => LineKind::Error,
                    _ => LineKind::Notice,
                };
                t.push_line(kind, &format!("ℹ {text}"));
            }
            EventMsg::Escalated { step, reason } => {
                t.push_line(LineKind::Warn, &format!("⇪ escalated ({step}): {reason}"));
            }
            EventMsg::ToolCallStarted { tool, .. } => {
                if tool == "new_answer"
                    && let Some(c) = &ev.call_id
                {
                    a.streams
                        .insert(c.clone(), FieldStreamDecoder::new("content"));
                }
            }
            EventMsg::ToolArgsDelta { delta } => {
                if let Some(d) = ev.call_id.as_ref().and_then(|c| a.streams.get_mut(c)) {
                    let out = d.feed(delta);
                    if !out.is_empty() {
                        if a.answer_start.is_none() {
                            t.push_line(LineKind::Separator, "── new_answer ──");
                            a.answer_start = Some(t.total_lines());
                        }
                        t.push_text(LineKind::Answer, &out);
                        a.answer_shown = true;
                    }
                }
            }
            EventMsg::AnswerSubmitted { label, content } => {
                if !a.answer_shown {
                    t.push_line(LineKind::Separator, "── new_answer ──");
                    a.answer_start = Some(t.total_lines());
                    t.push_line(LineKind::Answer, content);
                }
                t.finish_line();
                let start = a.answer_start.take().unwrap_or(t.total_lines());
                t.mark_at(start, MarkKind::Answer);
                t.push_line(LineKind::Marker, &format!("✔ answer accepted as {label}"));
                a.label = Some(label.clone());
                a.answer_shown = false;
                a.state = AgentState::Answered;
            }
            EventMsg::AnswerRejected { reason } => {
                a.answer_start = None;
                a.answer_shown = false;
                t.push_line(LineKind::Warn, &format!("✗ answer rejected: {reason}"));
            }
            EventMsg::VoteCast {
                voted_for,
                label,
                reason,
            } => {
                a.voted_for = Some((voted_for.clone(), label.clone()));
                a.state = AgentState::Voted;
                t.mark_next(MarkKind::Vote);
                t.push_line(
                    LineKind::Vote,
                    &format!("☑ voted for {label} ({voted_for}): {reason}"),
                );
            }
            EventMsg::VoteIgnored { reason } => {
                t.push_line(LineKind::Warn, &format!("✗ vote ignored: {reason}"));
            }
            EventMsg::BackendRetry {
                retry,
                delay_ms,
                error,
            } => {
                t.push_line(
                    LineKind::Warn,
                    &format!(
                        "⟳ backend retry {retry} in {:.1} s: {error}",
                        *delay_ms as f64 / 1000.0
                    ),
                );
            }
            EventMsg::BackendError { kind, message } => {
                a.last_error = Some(message.clone());
                t.push_line(
                    LineKind::Error,
                    &format!("✖ backend error ({kind}): {message}"),
                );
            }
            EventMsg::Usage {
                input_tokens,
                output_tokens,
                estimated,
            } => {
                a.input_tokens += input_tokens;
                a.output_tokens += output_tokens;
                a.tokens_estimated |= estimated;
            }
            _ => {}
        }
    }
}
