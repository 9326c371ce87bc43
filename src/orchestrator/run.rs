//! One coordination run: launches agents, accepts answers and votes, restarts agents when a
//! new answer arrives, bounds failures and time, chooses the winner and has it present the
//! final answer.
//!
//! Responsibilities: the run's domain state (answers, votes, epochs, failures, deadlines) —
//! owned here and nowhere else. Non-responsibilities: what happens inside a launch
//! (`agent.rs`), how events are delivered (`bus.rs`).

use super::agent::{AgentRuntime, Counters, Launch, LaunchOutcome, SeenAnswer, same_answer};
use super::prompts;
use crate::backend::ChatMessage;
use crate::protocol::{
    AgentId, AgentState, EventMsg, EventScope, EventSink, LaunchReason, Level, RunOutcome,
    RunTotals, Stage, TieBreak,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::bus::EventBus;

/// Run-level settings.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// The orchestrator timeout (MassGen `orchestrator_timeout_seconds`, default 1800 s).
    pub orchestrator_timeout: Duration,
    /// How long before the deadline agents are warned.
    pub deadline_warning: Duration,
    /// Whether the winner re-presents the final answer through its LLM.
    pub final_presentation: bool,
    /// Consecutive failed launches before an agent is marked failed.
    pub max_agent_failures: u32,
    /// First retry delay after a failed launch (doubles each time, capped at 30 s).
    pub retry_base_delay: Duration,
    /// Maximum MCP tool rounds per launch.
    pub max_tool_iterations: u32,
    /// With exactly one agent: no coordination, the agent answers directly (MassGen's
    /// `use_orchestrator_for_single_agent: false`).
    pub direct_single_agent: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            orchestrator_timeout: Duration::from_secs(1800),
            deadline_warning: Duration::from_secs(60),
            final_presentation: true,
            max_agent_failures: 3,
            retry_base_delay: Duration::from_secs(1),
            max_tool_iterations: 10,
            direct_single_agent: false,
        }
    }
}

/// The question of a run and the conversation so far.
#[derive(Clone, Debug, Default)]
pub struct RunInput {
    /// The question.
    pub question: String,
    /// Earlier turns as (user, assistant) pairs.
    pub history: Vec<(String, String)>,
    /// The config file, for the record.
    pub config_path: Option<String>,
    /// Setup warnings to report at the start of the run (after `run_started`).
    pub warnings: Vec<String>,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// How it ended.
    pub outcome: RunOutcome,
    /// The presenting agent.
    pub winner: Option<AgentId>,
    /// The final answer.
    pub final_answer: Option<String>,
    /// Totals.
    pub totals: RunTotals,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

struct Running {
    restart: CancellationToken,
    cancel: CancellationToken,
    epoch: u32,
    /// Other agents' answers this launch could see.
    seen_others: usize,
    handle: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Terminal {
    Failed,
    TimedOut,
}

struct Slot {
    rt: Arc<AgentRuntime>,
    answer: Option<String>,
    /// Other agents' answers in view when the current answer was written.
    answer_informed: usize,
    answers_given: u32,
    /// The current vote (voted-for id, reason). Every accepted answer clears all votes, so a
    /// vote held here is always valid for the current answer set.
    vote: Option<(AgentId, String)>,
    running: Option<Running>,
    launches: u32,
    failures: u32,
    retry_at: Option<Instant>,
    terminal: Option<Terminal>,
    relaunch_reason: LaunchReason,
}

struct Finished {
    slot: usize,
    number: u32,
    outcome: LaunchOutcome,
}

/// Work done in the initialization stage (starting MCP servers); an error ends the run.
pub type InitFuture = futures::future::BoxFuture<'static, Result<(), String>>;

/// Run one question to its end. `init` runs inside the initialization stage. Never panics;
/// every ending is a [`RunReport`] and a `RunFinished` event.
pub async fn run(
    agents: Vec<Arc<AgentRuntime>>,
    settings: RunSettings,
    input: RunInput,
    bus: Arc<EventBus>,
    cancel: CancellationToken,
    init: Option<InitFuture>,
) -> RunReport {
    let mut coordinator = Coordinator::new(agents, settings, input, bus, cancel);
    coordinator.run(init).await
}

struct Coordinator {
    slots: Vec<Slot>,
    settings: RunSettings,
    input: RunInput,
    history: Arc<Vec<(String, String)>>,
    bus: Arc<EventBus>,
    cancel: CancellationToken,
    epoch: u32,
    counters: Arc<Counters>,
    started: Instant,
    votes_cast: u32,
    restarts: u32,
}

enum LoopEnd {
    Consensus,
    AllStopped,
    Timeout,
    Cancelled,
}

impl Coordinator {
    fn new(
        agents: Vec<Arc<AgentRuntime>>,
        settings: RunSettings,
        input: RunInput,
        bus: Arc<EventBus>,
        cancel: CancellationToken,
    ) -> Self {
        let slots = agents
            .into_iter()
            .map(|rt| Slot {
                rt,
                answer: None,
                answer_informed: 0,
                answers_given: 0,
                vote: None,
                running: None,
                launches: 0,
                failures: 0,
                retry_at: None,
                terminal: None,
                relaunch_reason: LaunchReason::Initial,
            })
            .collect();
        let history = Arc::new(input.history.clone());
        Self {
            slots,
            settings,
            input,
            history,
            bus,
            cancel,
            epoch: 0,
            counters: Arc::new(Counters::default()),
            started: Instant::now(),
            votes_cast: 0,
            restarts: 0,
        }
    }

    fn emit_run(&self, msg: EventMsg) {
        self.bus.emit(&EventScope::run(), msg);
    }

    fn emit_agent(&self, slot: usize, msg: EventMsg) {
        let s = &self.slots[slot];
        self.bus.emit(
            &EventScope::agent(s.rt.id().clone(), s.launches.max(1)),
            msg,
        );
    }

    fn set_state(&self, slot: usize, state: AgentState) {
        self.emit_agent(slot, EventMsg::AgentStateChanged { state });
    }

    fn stage(&self, stage: Stage, started: &mut Option<(Stage, Instant)>) {
        if let Some((prev, at)) = started.take() {
            self.emit_run(EventMsg::StageFinished {
                stage: prev,
                duration_ms: ms(at.elapsed()),
            });
        }
        self.bus.set_stage(stage);
        self.emit_run(EventMsg::StageStarted { stage });
        *started = Some((stage, Instant::now()));
    }

    async fn run(&mut self, init: Option<InitFuture>) -> RunReport {
        self.emit_run(EventMsg::RunStarted {
            format_version: crate::protocol::EVENT_FORMAT_VERSION,
            question: self.input.question.clone(),
            history: self.input.history.clone(),
            agents: self.slots.iter().map(|s| s.rt.info.clone()).collect(),
            config_path: self.input.config_path.clone(),
        });
        let mut stage = None;
        self.stage(Stage::Initialization, &mut stage);
        for message in self.input.warnings.clone() {
            self.emit_run(EventMsg::Log {
                level: Level::Warn,
                category: crate::protocol::Category::Orchestrator,
                message,
            });
        }
        for i in 0..self.slots.len() {
            self.set_state(i, AgentState::Waiting);
        }
        let init_error = match init {
            Some(f) => tokio::select! {
                r = f => r.err(),
                _ = self.cancel.cancelled() => Some("cancelled during initialization".to_owned()),
            },
            None => None,
        };
        if let Some(error) = init_error {
            if let Some((prev, at)) = stage.take() {
                self.emit_run(EventMsg::StageFinished {
                    stage: prev,
                    duration_ms: ms(at.elapsed()),
                });
            }
            let outcome = if self.cancel.is_cancelled() {
                RunOutcome::Cancelled
            } else {
                RunOutcome::Failed
            };
            let totals = self.totals();
            self.emit_run(EventMsg::RunFinished {
                outcome,
                winner: None,
                final_answer: None,
                totals: totals.clone(),
                error: Some(error.clone()),
            });
            return RunReport {
                outcome,
                winner: None,
                final_answer: None,
                totals,
                error: Some(error),
            };
        }
        if self.settings.direct_single_agent && self.slots.len() == 1 {
            return self.run_direct(stage).await;
        }
        self.stage(Stage::Coordination, &mut stage);

        let end = self.coordinate().await;
        self.stop_all().await;

        self.stage(Stage::Evaluation, &mut stage);
        let (outcome, winner, error) = match end {
            LoopEnd::Cancelled => (RunOutcome::Cancelled, None, None),
            LoopEnd::Timeout => {
                let w = self.pick_winner(true);
                if w.is_some() {
                    (RunOutcome::TimedOutWithAnswer, w, None)
                } else {
                    (
                        RunOutcome::TimedOutWithoutAnswer,
                        None,
                        Some(format!(
                            "the orchestrator timeout ({}s) passed before any agent answered",
                            self.settings.orchestrator_timeout.as_secs()
                        )),
                    )
                }
            }
            LoopEnd::Consensus => (RunOutcome::Completed, self.pick_winner(false), None),
            LoopEnd::AllStopped => {
                let w = self.pick_winner(true);
                if w.is_some() {
                    self.emit_run(EventMsg::Log {
                        level: Level::Warn,
                        category: crate::protocol::Category::Orchestrator,
                        message: "every agent stopped before a consensus; presenting the best available answer".into(),
                    });
                    (RunOutcome::Completed, w, None)
                } else {
                    let reasons: Vec<String> = self
                        .slots
                        .iter()
                        .map(|s| {
                            let why = match s.terminal {
                                Some(Terminal::TimedOut) => "timed out",
                                _ => "failed",
                            };
                            format!("{} {why}", s.rt.id())
                        })
                        .collect();
                    (
                        RunOutcome::Failed,
                        None,
                        Some(format!(
                            "every agent stopped before giving an answer ({}); see the errors above",
                            reasons.join(", ")
                        )),
                    )
                }
            }
        };

        let mut final_answer = None;
        if let Some(w) = winner {
            let stored = self.slots[w].answer.clone().unwrap_or_default();
            let present = self.settings.final_presentation
                && matches!(outcome, RunOutcome::Completed)
                && self.slots[w].terminal.is_none()
                && !self.cancel.is_cancelled();
            let (text, presented) = if present {
                self.stage(Stage::FinalPresentation, &mut stage);
                match self.present(w).await {
                    Some(t) => (t, true),
                    None => (stored, false),
                }
            } else {
                (stored, false)
            };
            self.emit_agent(
                w,
                EventMsg::FinalAnswer {
                    text: text.clone(),
                    presented,
                },
            );
            final_answer = Some(text);
        }
        if let Some((prev, at)) = stage.take() {
            self.emit_run(EventMsg::StageFinished {
                stage: prev,
                duration_ms: ms(at.elapsed()),
            });
        }
        for i in 0..self.slots.len() {
            if self.slots[i].terminal.is_none() {
                self.set_state(i, AgentState::Done);
            }
        }
        let totals = self.totals();
        let winner_id = winner.map(|w| self.slots[w].rt.id().clone());
        self.emit_run(EventMsg::RunFinished {
            outcome,
            winner: winner_id.clone(),
            final_answer: final_answer.clone(),
            totals: totals.clone(),
            error: error.clone(),
        });
        RunReport {
            outcome,
            winner: winner_id,
            final_answer,
            totals,
            error,
        }
    }

    /// Single-agent direct mode: the agent answers the question itself (with its MCP tools),
    /// no workflow tools, no votes.
    async fn run_direct(&mut self, mut stage: Option<(Stage, Instant)>) -> RunReport {
        self.stage(Stage::FinalPresentation, &mut stage);
        let rt = self.slots[0].rt.clone();
        self.slots[0].launches = 1;
        let system = rt
            .system_message
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "You are a helpful AI assistant.".to_owned());
        let mut messages = vec![ChatMessage::system(system)];
        for (user, assistant) in self.history.iter() {
            messages.push(ChatMessage::user(user.clone()));
            messages.push(ChatMessage::assistant(assistant.clone(), Vec::new()));
        }
        messages.push(ChatMessage::user(self.input.question.clone()));
        let launch = self.presenter(rt.clone(), 1);
        let result = tokio::select! {
            r = launch.converse(messages) => r,
            _ = tokio::time::sleep(self.settings.orchestrator_timeout) => Err(crate::backend::BackendError::Network(
                "the orchestrator timeout passed before the agent finished".into(),
            )),
        };
        let (outcome, final_answer, error) = match result {
            Ok(text) if !text.trim().is_empty() => {
                let text = text.trim().to_owned();
                self.emit_agent(
                    0,
                    EventMsg::FinalAnswer {
                        text: text.clone(),
                        presented: true,
                    },
                );
                (RunOutcome::Completed, Some(text), None)
            }
            Ok(_) => (
                RunOutcome::Failed,
                None,
                Some("the agent returned an empty reply".to_owned()),
            ),
            Err(crate::backend::BackendError::Cancelled) => (RunOutcome::Cancelled, None, None),
            Err(e) => {
                self.emit_agent(
                    0,
                    EventMsg::BackendError {
                        kind: e.kind().to_owned(),
                        message: e.to_string(),
                    },
                );
                (RunOutcome::Failed, None, Some(e.to_string()))
            }
        };
        if let Some((prev, at)) = stage.take() {
            self.emit_run(EventMsg::StageFinished {
                stage: prev,
                duration_ms: ms(at.elapsed()),
            });
        }
        self.set_state(
            0,
            if outcome == RunOutcome::Completed {
                AgentState::Done
            } else {
                AgentState::Failed
            },
        );
        let totals = self.totals();
        let winner = final_answer.as_ref().map(|_| rt.id().clone());
        self.emit_run(EventMsg::RunFinished {
            outcome,
            winner: winner.clone(),
            final_answer: final_answer.clone(),
            totals: totals.clone(),
            error: error.clone(),
        });
        RunReport {
            outcome,
            winner,
            final_answer,
            totals,
            error,
        }
    }

    /// A launch that only converses (final presentation, direct mode): MCP tools, no workflow
    /// tools, text streamed as the final presentation.
    fn presenter(&self, agent: Arc<AgentRuntime>, number: u32) -> Launch {
        Launch {
            agent,
            number,
            task: self.input.question.clone(),
            history: self.history.clone(),
            answers: Vec::new(),
            allow_answer: false,
            note: None,
            max_tool_iterations: self.settings.max_tool_iterations,
            restart: CancellationToken::new(),
            cancel: self.cancel.child_token(),
            sink: self.bus.clone(),
            counters: self.counters.clone(),
            presenting: true,
            call_ids: Default::default(),
        }
    }

    fn totals(&self) -> RunTotals {
        RunTotals {
            duration_ms: ms(self.started.elapsed()),
            answers: self.epoch,
            votes: self.votes_cast,
            restarts: self.restarts,
            tool_calls: self.counters.tool_calls.load(Ordering::Relaxed) as u32,
            input_tokens: self.counters.input_tokens.load(Ordering::Relaxed),
            output_tokens: self.counters.output_tokens.load(Ordering::Relaxed),
            tokens_estimated: self.counters.estimated.load(Ordering::Relaxed) != 0,
        }
    }

    /// Labels: sorted real ids of agents with answers → agent1..K (MassGen's mapping).
    fn seen_answers(&self) -> Vec<SeenAnswer> {
        let mut with: Vec<&Slot> = self.slots.iter().filter(|s| s.answer.is_some()).collect();
        with.sort_by(|a, b| a.rt.id().cmp(b.rt.id()));
        with.iter()
            .enumerate()
            .map(|(i, s)| SeenAnswer {
                label: format!("agent{}", i + 1),
                agent: s.rt.id().clone(),
                text: s.answer.clone().unwrap_or_default(),
            })
            .collect()
    }

    fn has_valid_vote(&self, s: &Slot) -> bool {
        s.vote.is_some()
    }

    /// Votes received per agent, in config order.
    fn tally(&self) -> Vec<u32> {
        let mut tally = vec![0u32; self.slots.len()];
        for (who, _) in self.slots.iter().filter_map(|s| s.vote.as_ref()) {
            if let Some(j) = self.slots.iter().position(|x| x.rt.id() == who) {
                tally[j] += 1;
            }
        }
        tally
    }

    async fn coordinate(&mut self) -> LoopEnd {
        let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
        let deadline = self.started + self.settings.orchestrator_timeout;
        let warn_at = deadline
            .checked_sub(self.settings.deadline_warning)
            .filter(|w| *w > self.started);
        let mut warned = false;
        loop {
            let active: Vec<usize> = (0..self.slots.len())
                .filter(|&i| self.slots[i].terminal.is_none())
                .collect();
            if active.is_empty() {
                return LoopEnd::AllStopped;
            }
            if active.iter().all(|&i| self.has_valid_vote(&self.slots[i])) {
                return LoopEnd::Consensus;
            }
            let now = Instant::now();
            if !warned && warn_at.is_some_and(|w| now >= w) {
                warned = true;
                self.emit_run(EventMsg::Log {
                    level: Level::Warn,
                    category: crate::protocol::Category::Orchestrator,
                    message: format!(
                        "the orchestrator deadline is in {}s; agents launched from now on are told to finish",
                        deadline.saturating_duration_since(now).as_secs()
                    ),
                });
            }
            for i in active.iter().copied() {
                let s = &self.slots[i];
                if s.running.is_none()
                    && !self.has_valid_vote(s)
                    && s.retry_at.is_none_or(|t| t <= now)
                {
                    let note = warned.then(|| {
                        prompts::deadline_warning(deadline.saturating_duration_since(now).as_secs())
                    });
                    self.launch(i, note, tx.clone());
                }
            }
            if self.slots.iter().all(|s| s.running.is_none()) {
                // Nothing running: wait for the earliest retry, if any.
                if self
                    .slots
                    .iter()
                    .all(|s| s.retry_at.is_none() || s.terminal.is_some())
                {
                    return LoopEnd::AllStopped;
                }
            }
            // The next timer: a retry or an agent deadline.
            let mut next = deadline;
            if let Some(w) = warn_at.filter(|_| !warned) {
                next = next.min(w);
            }
            for s in &self.slots {
                if let Some(t) = s
                    .retry_at
                    .filter(|_| s.running.is_none() && s.terminal.is_none())
                {
                    next = next.min(t);
                }
                if let (Some(limit), None) = (s.rt.timeout, s.terminal) {
                    next = next.min(self.started + limit);
                }
            }
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return LoopEnd::Cancelled,
                _ = tokio::time::sleep_until(deadline) => {
                    self.emit_run(EventMsg::Log {
                        level: Level::Warn,
                        category: crate::protocol::Category::Orchestrator,
                        message: format!(
                            "Orchestrator timeout: time limit exceeded ({:.1}s/{}s)",
                            self.started.elapsed().as_secs_f64(),
                            self.settings.orchestrator_timeout.as_secs()
                        ),
                    });
                    return LoopEnd::Timeout;
                }
                Some(done) = rx.recv() => self.handle(done),
                _ = tokio::time::sleep_until(next) => {}
            }
            self.check_agent_timeouts();
        }
    }

    fn check_agent_timeouts(&mut self) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            if let (Some(limit), None) = (s.rt.timeout, s.terminal)
                && now >= self.started + limit
            {
                if let Some(r) = self.slots[i].running.take() {
                    r.cancel.cancel();
                    r.handle.abort();
                }
                self.slots[i].terminal = Some(Terminal::TimedOut);
                self.emit_agent(
                    i,
                    EventMsg::AgentTimedOut {
                        limit_secs: limit.as_secs(),
                    },
                );
                self.set_state(i, AgentState::TimedOut);
            }
        }
    }

    fn launch(&mut self, i: usize, note: Option<String>, tx: mpsc::UnboundedSender<Finished>) {
        let answers = self.seen_answers();
        let epoch = self.epoch;
        let s = &mut self.slots[i];
        s.launches += 1;
        s.retry_at = None;
        let number = s.launches;
        let reason = s.relaunch_reason;
        let restart = CancellationToken::new();
        let cancel = self.cancel.child_token();
        let allow_answer = s.rt.max_answers.is_none_or(|m| s.answers_given < m);
        let launch = Launch {
            agent: s.rt.clone(),
            number,
            task: self.input.question.clone(),
            history: self.history.clone(),
            answers: answers.clone(),
            allow_answer,
            note,
            max_tool_iterations: self.settings.max_tool_iterations,
            restart: restart.clone(),
            cancel: cancel.clone(),
            sink: self.bus.clone(),
            counters: self.counters.clone(),
            presenting: false,
            call_ids: Default::default(),
        };
        let handle = tokio::spawn(async move {
            let outcome = launch.run().await;
            let _ = tx.send(Finished {
                slot: i,
                number,
                outcome,
            });
        });
        let seen_others = answers.iter().filter(|a| &a.agent != s.rt.id()).count();
        s.running = Some(Running {
            restart,
            cancel,
            epoch,
            seen_others,
            handle,
        });
        self.emit_agent(
            i,
            EventMsg::AgentLaunched {
                reason,
                answers_seen: answers.iter().map(|a| a.label.clone()).collect(),
            },
        );
    }

    fn handle(&mut self, done: Finished) {
        let i = done.slot;
        let Some(running) = self.slots[i].running.take() else {
            return;
        };
        if self.slots[i].launches != done.number || self.slots[i].terminal.is_some() {
            return;
        }
        match done.outcome {
            LaunchOutcome::Answer(text) => {
                self.slots[i].failures = 0;
                if let Some(dup) = self
                    .slots
                    .iter()
                    .find(|s| s.answer.as_deref().is_some_and(|a| same_answer(a, &text)))
                {
                    let who = dup.rt.id().clone();
                    let label = self
                        .seen_answers()
                        .into_iter()
                        .find(|a| a.agent == who)
                        .map(|a| a.label)
                        .unwrap_or_default();
                    self.emit_agent(
                        i,
                        EventMsg::AnswerRejected {
                            reason: format!("duplicate of the answer shown as {label}"),
                        },
                    );
                    self.slots[i].relaunch_reason = LaunchReason::NewAnswers;
                    self.set_state(i, AgentState::Waiting);
                    return;
                }
                self.accept_answer(i, text, running.seen_others);
            }
            LaunchOutcome::Vote {
                voted_for,
                label,
                reason,
            } => {
                self.slots[i].failures = 0;
                if running.epoch != self.epoch {
                    self.emit_agent(
                        i,
                        EventMsg::VoteIgnored {
                            reason: format!(
                                "vote for {label} ({voted_for}) ignored: new answers arrived while it was being cast; restarting"
                            ),
                        },
                    );
                    self.restarted(i, None);
                    return;
                }
                self.votes_cast += 1;
                self.slots[i].vote = Some((voted_for.clone(), reason.clone()));
                self.emit_agent(
                    i,
                    EventMsg::VoteCast {
                        voted_for,
                        label,
                        reason,
                    },
                );
                self.set_state(i, AgentState::Voted);
            }
            LaunchOutcome::Restarted => self.restarted(i, None),
            LaunchOutcome::Cancelled => {}
            LaunchOutcome::Failed(error) => {
                let s = &mut self.slots[i];
                s.failures += 1;
                let failures = s.failures;
                let max = self.settings.max_agent_failures;
                if failures >= max {
                    s.terminal = Some(Terminal::Failed);
                    self.emit_agent(
                        i,
                        EventMsg::AgentFailed {
                            error: format!("{error} ({failures} failed launches in a row)"),
                        },
                    );
                    self.set_state(i, AgentState::Failed);
                } else {
                    let delay = self
                        .settings
                        .retry_base_delay
                        .saturating_mul(1 << (failures - 1).min(5))
                        .min(Duration::from_secs(30));
                    s.retry_at = Some(Instant::now() + delay);
                    s.relaunch_reason = LaunchReason::Retry;
                    self.emit_agent(
                        i,
                        EventMsg::AgentRetried {
                            error,
                            failures,
                            max_failures: max,
                            delay_ms: ms(delay),
                        },
                    );
                    self.set_state(i, AgentState::Retrying);
                }
            }
        }
    }

    fn restarted(&mut self, i: usize, caused_by: Option<AgentId>) {
        self.restarts += 1;
        self.slots[i].relaunch_reason = LaunchReason::NewAnswers;
        self.emit_agent(i, EventMsg::AgentRestarted { caused_by });
        self.set_state(i, AgentState::Waiting);
    }

    fn accept_answer(&mut self, i: usize, text: String, informed: usize) {
        let invalidated = self.slots.iter().filter(|s| s.vote.is_some()).count() as u32;
        self.epoch += 1;
        self.bus.set_round(self.epoch + 1);
        let by = self.slots[i].rt.id().clone();
        {
            let s = &mut self.slots[i];
            s.answer = Some(text.clone());
            s.answer_informed = informed;
            s.answers_given += 1;
            s.relaunch_reason = LaunchReason::NewAnswers;
        }
        let label = self
            .seen_answers()
            .into_iter()
            .find(|a| a.agent == by)
            .map(|a| a.label)
            .unwrap_or_default();
        self.emit_agent(
            i,
            EventMsg::AnswerSubmitted {
                label,
                content: text,
            },
        );
        self.set_state(i, AgentState::Answered);
        if invalidated > 0 {
            self.emit_run(EventMsg::VotesInvalidated {
                by: by.clone(),
                count: invalidated,
            });
        }
        for j in 0..self.slots.len() {
            let s = &mut self.slots[j];
            s.vote = None;
            if s.terminal.is_some() {
                continue;
            }
            s.relaunch_reason = LaunchReason::NewAnswers;
            if let Some(r) = &s.running {
                // Let the LLM call finish; the launch restarts at its next checkpoint.
                r.restart.cancel();
                self.set_state(j, AgentState::Restarting);
            }
        }
    }

    /// Most valid votes wins; ties by config order. Without valid votes (timeout, failures),
    /// when `allow_fallback`, the best-informed answer wins (its author had the chance to improve on the others).
    fn pick_winner(&self, allow_fallback: bool) -> Option<usize> {
        let tally = self.tally();
        let max = tally.iter().copied().max().unwrap_or(0);
        let tally_ids: Vec<(AgentId, u32)> = self
            .slots
            .iter()
            .zip(tally.iter())
            .map(|(s, n)| (s.rt.id().clone(), *n))
            .collect();
        if max > 0 {
            let tied: Vec<usize> = (0..tally.len()).filter(|&j| tally[j] == max).collect();
            let w = tied[0];
            self.emit_agent(
                w,
                EventMsg::WinnerSelected {
                    winner: self.slots[w].rt.id().clone(),
                    tally: tally_ids,
                    tie_break: if tied.len() > 1 {
                        TieBreak::ConfigOrder
                    } else {
                        TieBreak::None
                    },
                },
            );
            return Some(w);
        }
        if !allow_fallback {
            return None;
        }
        // Without votes: the answer written with the most other answers in view (it had the
        // chance to improve on them); ties by config order, as MassGen.
        let best = self
            .slots
            .iter()
            .filter(|s| s.answer.is_some())
            .map(|s| s.answer_informed)
            .max()?;
        let w = self
            .slots
            .iter()
            .position(|s| s.answer.is_some() && s.answer_informed == best)?;
        self.emit_agent(
            w,
            EventMsg::WinnerSelected {
                winner: self.slots[w].rt.id().clone(),
                tally: tally_ids,
                tie_break: TieBreak::NoVotesBestInformed,
            },
        );
        Some(w)
    }

    async fn stop_all(&mut self) {
        let mut handles = Vec::new();
        for s in &mut self.slots {
            if let Some(r) = s.running.take() {
                r.cancel.cancel();
                handles.push(r.handle);
            }
        }
        for h in handles {
            // Launches stop at once on cancel; the bound only guards against a stuck tool.
            if tokio::time::timeout(Duration::from_secs(5), h)
                .await
                .is_err()
            {
                tracing::warn!("an agent launch did not stop within 5s of cancellation");
            }
        }
    }

    /// The winner's LLM presentation. `None` (with a warning) if it failed or was empty.
    async fn present(&mut self, w: usize) -> Option<String> {
        let rt = self.slots[w].rt.clone();
        self.slots[w].launches += 1;
        let scope = EventScope::agent(rt.id().clone(), self.slots[w].launches);
        self.bus.emit(
            &scope,
            EventMsg::AgentStateChanged {
                state: AgentState::Presenting,
            },
        );
        let answers: Vec<(String, String)> = self
            .slots
            .iter()
            .filter_map(|s| s.answer.clone().map(|a| (s.rt.id().to_string(), a)))
            .collect();
        let reasons: Vec<String> = self
            .slots
            .iter()
            .filter_map(|s| match &s.vote {
                Some((who, reason)) if who == rt.id() => Some(reason.clone()),
                _ => None,
            })
            .collect();
        let tally = self.tally();
        let top = tally.iter().copied().max().unwrap_or(0);
        let tie_broken = top > 0 && tally.iter().filter(|&&n| n == top).count() > 1;
        let messages = prompts::final_presentation_messages(
            rt.system_message.as_deref(),
            &self.input.question,
            rt.id().as_str(),
            &answers,
            &reasons,
            tie_broken,
        );
        let launch = self.presenter(rt.clone(), self.slots[w].launches);
        let (text, failed) = match launch.converse(messages).await {
            Ok(t) => (t, None),
            Err(e) => (String::new(), Some(e)),
        };
        if let Some(e) = failed {
            self.bus.emit(
                &scope,
                EventMsg::BackendError {
                    kind: e.kind().to_owned(),
                    message: format!("final presentation failed ({e}); using the stored answer"),
                },
            );
            return None;
        }
        let text = text.trim().to_owned();
        if text.is_empty() {
            self.bus.emit(
                &scope,
                EventMsg::AgentNotice {
                    level: Level::Warn,
                    text: "the final presentation was empty; using the stored answer".into(),
                },
            );
            return None;
        }
        Some(text)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
