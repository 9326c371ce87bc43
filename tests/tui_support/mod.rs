//! Shared helpers for the TUI tests: hand-made event sequences with fixed timestamps.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use massgen_tui::protocol::*;
use massgen_tui::tui::model::ViewModel;
use massgen_tui::tui::render::render;
use massgen_tui::tui::ui::{UiState, layout};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, backend::TestBackend};
use serde_json::json;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

/// Builds events of one run with increasing seq and explicit times (ms after t0).
pub struct Script {
    pub run_id: RunId,
    pub seq: u64,
    pub stage: Stage,
    pub events: Vec<Event>,
}

impl Script {
    pub fn new(run: &str) -> Self {
        Self {
            run_id: RunId::new(run),
            seq: 0,
            stage: Stage::Initialization,
            events: vec![],
        }
    }

    pub fn push(&mut self, ms: i64, agent: Option<&str>, call: Option<&str>, msg: EventMsg) {
        if let EventMsg::StageStarted { stage } = &msg {
            self.stage = *stage;
        }
        self.seq += 1;
        self.events.push(Event {
            seq: self.seq,
            run_id: self.run_id.clone(),
            at: t0() + chrono::Duration::milliseconds(ms),
            stage: self.stage,
            agent: agent.map(AgentId::new),
            attempt: agent.map(|_| 1),
            round: agent.map(|_| 1),
            call_id: call.map(CallId::new),
            msg,
        });
    }

    pub fn agent(&mut self, ms: i64, agent: &str, msg: EventMsg) {
        self.push(ms, Some(agent), None, msg);
    }

    pub fn call(&mut self, ms: i64, agent: &str, call: &str, msg: EventMsg) {
        self.push(ms, Some(agent), Some(call), msg);
    }

    pub fn run(&mut self, ms: i64, msg: EventMsg) {
        self.push(ms, None, None, msg);
    }
}

pub fn agents3() -> Vec<AgentInfo> {
    ["alpha", "beta", "gamma"]
        .iter()
        .enumerate()
        .map(|(i, id)| AgentInfo {
            id: AgentId::new(*id),
            provider: ["OpenAI", "Cerebras AI", "Local"][i].into(),
            model: ["gpt-4o-mini", "llama-3.3-70b", "qwen2.5"][i].into(),
            mcp_servers: vec!["weather".into()],
        })
        .collect()
}

/// A busy coordination in progress: streaming text and reasoning, a `new_answer` streamed
/// from argument deltas, MCP calls (ok, failed, running), a vote, a circuit breaker change.
pub fn busy_run() -> Script {
    let mut s = Script::new("run-1");
    s.run(
        0,
        EventMsg::RunStarted {
            format_version: 1,
            question: "What is the best way to learn Rust?".into(),
            history: vec![],
            agents: agents3(),
            config_path: Some("configs/three_agents.yaml".into()),
        },
    );
    s.run(
        0,
        EventMsg::StageStarted {
            stage: Stage::Initialization,
        },
    );
    s.run(
        400,
        EventMsg::StageFinished {
            stage: Stage::Initialization,
            duration_ms: 400,
        },
    );
    s.run(
        400,
        EventMsg::StageStarted {
            stage: Stage::Coordination,
        },
    );
    for (i, a) in ["alpha", "beta", "gamma"].iter().enumerate() {
        s.agent(
            500 + i as i64,
            a,
            EventMsg::AgentLaunched {
                reason: LaunchReason::Initial,
                answers_seen: vec![],
            },
        );
    }
    s.agent(
        600,
        "alpha",
        EventMsg::ReasoningDelta {
            text: "The user wants a learning path. ".into(),
        },
    );
    s.agent(
        700,
        "alpha",
        EventMsg::ReasoningDelta {
            text: "Consider the book first.\n".into(),
        },
    );
    for chunk in [
        "Start with ",
        "**The Rust Book**",
        ", then do\nRustlings exercises.\n",
        "Build a small CLI project; 日本語 and emoji 🦀 wrap fine.\n",
    ] {
        s.agent(800, "alpha", EventMsg::TextDelta { text: chunk.into() });
    }
    s.agent(
        900,
        "alpha",
        EventMsg::Usage {
            input_tokens: 1200,
            output_tokens: 340,
            estimated: false,
        },
    );
    // beta streams its answer inside the new_answer arguments.
    s.call(
        1000,
        "beta",
        "c-b1",
        EventMsg::ToolCallStarted {
            tool: "new_answer".into(),
            kind: ToolKind::Workflow,
        },
    );
    for d in [
        r#"{"con"#,
        r#"tent": "1. Read the book\n2. Do "#,
        r#"exercises \"daily\"\n3. Ship \ud83e"#,
        r#"\udd80 a project"#,
    ] {
        s.call(
            1100,
            "beta",
            "c-b1",
            EventMsg::ToolArgsDelta { delta: d.into() },
        );
    }
    // gamma calls MCP tools.
    s.call(
        1200,
        "gamma",
        "c-g1",
        EventMsg::ToolCallBegin {
            tool: "get_forecast".into(),
            kind: ToolKind::Mcp,
            server: Some("weather".into()),
            arguments: json!({"city": "Paris"}),
        },
    );
    s.call(
        2400,
        "gamma",
        "c-g1",
        EventMsg::ToolCallEnd {
            tool: "get_forecast".into(),
            status: ToolStatus::Ok,
            duration_ms: 1200,
            result: "Sunny, 21°C\nwind 5 km/h".into(),
            truncated: false,
        },
    );
    s.call(
        2500,
        "gamma",
        "c-g2",
        EventMsg::ToolCallBegin {
            tool: "get_alerts".into(),
            kind: ToolKind::Mcp,
            server: Some("weather".into()),
            arguments: json!({"state": "CA"}),
        },
    );
    s.call(
        4500,
        "gamma",
        "c-g2",
        EventMsg::ToolCallEnd {
            tool: "get_alerts".into(),
            status: ToolStatus::Error,
            duration_ms: 2000,
            result: "upstream returned 503".into(),
            truncated: false,
        },
    );
    s.run(
        4600,
        EventMsg::CircuitBreaker {
            server: "weather".into(),
            state: BreakerState::Open,
        },
    );
    s.call(
        5000,
        "gamma",
        "c-g3",
        EventMsg::ToolCallBegin {
            tool: "get_forecast".into(),
            kind: ToolKind::Mcp,
            server: Some("weather".into()),
            arguments: json!({"city": "Oslo"}),
        },
    );
    s.agent(
        5200,
        "gamma",
        EventMsg::BackendRetry {
            retry: 1,
            delay_ms: 1500,
            error: "429 rate limited".into(),
        },
    );
    s.run(
        5300,
        EventMsg::Log {
            level: Level::Warn,
            category: Category::Backend,
            message: "provider slow: 4.2 s to first token".into(),
        },
    );
    s
}

/// The busy run carried on to a finished run with a winner and a presented final answer.
pub fn finished_run() -> Script {
    let mut s = busy_run();
    s.call(6000, "beta", "c-b1", EventMsg::ToolCallBegin { tool: "new_answer".into(), kind: ToolKind::Workflow, server: None, arguments: json!({"content": "1. Read the book\n2. Do exercises \"daily\"\n3. Ship 🦀 a project"}) });
    s.agent(
        6100,
        "beta",
        EventMsg::AnswerSubmitted {
            label: "agent2".into(),
            content: "1. Read the book\n2. Do exercises \"daily\"\n3. Ship 🦀 a project".into(),
        },
    );
    s.call(
        6200,
        "beta",
        "c-b1",
        EventMsg::ToolCallEnd {
            tool: "new_answer".into(),
            status: ToolStatus::Ok,
            duration_ms: 1,
            result: "accepted".into(),
            truncated: false,
        },
    );
    s.agent(
        7000,
        "alpha",
        EventMsg::VoteCast {
            voted_for: AgentId::new("beta"),
            label: "agent2".into(),
            reason: "Concise and practical.".into(),
        },
    );
    s.agent(
        7000,
        "alpha",
        EventMsg::AgentStateChanged {
            state: AgentState::Voted,
        },
    );
    s.agent(
        7100,
        "gamma",
        EventMsg::VoteCast {
            voted_for: AgentId::new("beta"),
            label: "agent2".into(),
            reason: "Covers practice.".into(),
        },
    );
    s.run(
        7200,
        EventMsg::StageFinished {
            stage: Stage::Coordination,
            duration_ms: 6800,
        },
    );
    s.run(
        7200,
        EventMsg::StageStarted {
            stage: Stage::Evaluation,
        },
    );
    s.run(
        7300,
        EventMsg::WinnerSelected {
            winner: AgentId::new("beta"),
            tally: vec![
                (AgentId::new("alpha"), 0),
                (AgentId::new("beta"), 2),
                (AgentId::new("gamma"), 0),
            ],
            tie_break: TieBreak::None,
        },
    );
    s.run(
        7300,
        EventMsg::StageStarted {
            stage: Stage::FinalPresentation,
        },
    );
    s.agent(
        7400,
        "beta",
        EventMsg::AgentStateChanged {
            state: AgentState::Presenting,
        },
    );
    for d in [
        "# Learning Rust\n\n",
        "1. Read *The Rust Programming Language*.\n",
        "2. Do the Rustlings exercises daily.\n",
        "3. Ship a small project: a CLI 🦀.\n",
    ] {
        s.run(7500, EventMsg::FinalPresentationDelta { text: d.into() });
    }
    s.run(
        8000,
        EventMsg::FinalAnswer {
            text: "# Learning Rust …".into(),
            presented: true,
        },
    );
    s.run(
        8100,
        EventMsg::RunFinished {
            outcome: RunOutcome::Completed,
            winner: Some(AgentId::new("beta")),
            final_answer: Some("# Learning Rust …".into()),
            totals: RunTotals {
                duration_ms: 8100,
                answers: 1,
                votes: 2,
                ..RunTotals::default()
            },
            error: None,
        },
    );
    s
}

pub fn model_of(events: &[Event]) -> ViewModel {
    let mut vm = ViewModel::default();
    for e in events {
        vm.apply(e);
    }
    vm
}

pub fn ui_for(vm: &ViewModel) -> UiState {
    let mut ui = UiState::new("three_agents.yaml", true, false);
    ui.sync_with(vm);
    ui
}

/// Render into a TestBackend (for insta) at a fixed "now".
pub fn draw(vm: &ViewModel, ui: &UiState, now_ms: i64, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let now = t0() + chrono::Duration::milliseconds(now_ms);
    term.draw(|f| {
        let area = f.area();
        render(vm, ui, now, area, f.buffer_mut());
    })
    .unwrap();
    term
}

/// Render into a plain buffer and return its text rows.
pub fn text_rows(vm: &ViewModel, ui: &UiState, now_ms: i64, w: u16, h: u16) -> Vec<String> {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    render(
        vm,
        ui,
        t0() + chrono::Duration::milliseconds(now_ms),
        area,
        &mut buf,
    );
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

pub fn areas(vm: &ViewModel, ui: &UiState, w: u16, h: u16) -> massgen_tui::tui::ui::Areas {
    layout(Rect::new(0, 0, w, h), vm, ui)
}

pub fn key(c: crossterm::event::KeyCode) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE)
}

pub fn key_mod(
    c: crossterm::event::KeyCode,
    m: crossterm::event::KeyModifiers,
) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(c, m)
}

/// Press keys against (vm, ui) at size w×h; returns all actions.
pub fn press(
    vm: &ViewModel,
    ui: &mut UiState,
    w: u16,
    h: u16,
    keys: &[crossterm::event::KeyEvent],
) -> Vec<massgen_tui::tui::ui::Action> {
    let mut out = vec![];
    for k in keys {
        let a = areas(vm, ui, w, h);
        out.extend(ui.handle_key(*k, vm, &a));
    }
    out
}

pub fn chars(s: &str) -> Vec<crossterm::event::KeyEvent> {
    s.chars()
        .map(|c| key(crossterm::event::KeyCode::Char(c)))
        .collect()
}
