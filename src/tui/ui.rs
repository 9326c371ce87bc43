//! View state that is not derived from events: focus, zoom, visible panes, overlays, scroll
//! positions, searches, the log filter, the input box, and the key/mouse handling that
//! changes them.
//!
//! Responsibilities: `UiState` and `layout()` (shared by drawing and mouse hit-testing), and
//! `UiState::handle_*` which turn terminal input into view changes and [`Action`]s.
//! Non-responsibilities: terminal I/O, file I/O and talking to the engine (the app loop does
//! that with the returned actions); drawing (`render`).

use super::logs::{LogFilter, LogView};
use super::model::{RunView, TimelineRow, ViewModel};
use super::transcript::{LineKind, MarkKind, Transcript};
use crate::protocol::{Category, Level, Op, ReplayControl, RunId, Stage};
use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui_textarea::TextArea;

/// Minimum width of one agent column before panes switch to tabs.
pub const MIN_AGENT_COL: u16 = 36;

/// Scroll position of a transcript view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scroll {
    /// Show the newest rows and keep following them.
    #[default]
    Follow,
    /// Stay at this line (absolute) and row within it.
    Anchored {
        /// Absolute line at the top.
        line: u64,
        /// Row within that line.
        sub: u32,
        /// `total_lines` when the view stopped following (for "N new lines").
        seen_total: u64,
    },
}

impl Scroll {
    /// The top visual row for a viewport of `height` rows at `width`.
    pub fn top(&self, t: &Transcript, width: usize, height: usize) -> u64 {
        let total = t.visual_rows(width);
        let max_top = total.saturating_sub(height as u64);
        match *self {
            Scroll::Follow => max_top,
            Scroll::Anchored { line, sub, .. } => {
                let line = line.max(t.first_line());
                (t.row_of_line(line, width) + u64::from(sub)).min(max_top)
            }
        }
    }

    /// Lines that arrived since the view stopped following.
    pub fn new_lines(&self, t: &Transcript) -> u64 {
        match *self {
            Scroll::Follow => 0,
            Scroll::Anchored { seen_total, .. } => t.total_lines().saturating_sub(seen_total),
        }
    }

    /// Move the top to visual row `row` (snaps back to following at the bottom).
    pub fn set_top(&mut self, t: &Transcript, width: usize, height: usize, row: i64) {
        let total = t.visual_rows(width);
        let max_top = total.saturating_sub(height as u64) as i64;
        let row = row.clamp(0, max_top.max(0));
        if row >= max_top {
            *self = Scroll::Follow;
            return;
        }
        let seen_total = match *self {
            Scroll::Follow => t.total_lines(),
            Scroll::Anchored { seen_total, .. } => seen_total,
        };
        let (line, sub) = t.line_at_row(row as u64, width);
        *self = Scroll::Anchored {
            line,
            sub,
            seen_total,
        };
    }

    /// Scroll by `delta` rows.
    pub fn scroll_by(&mut self, t: &Transcript, width: usize, height: usize, delta: i64) {
        let top = self.top(t, width, height) as i64;
        self.set_top(t, width, height, top + delta);
    }

    /// Put absolute line `line` at the top.
    pub fn goto_line(&mut self, t: &Transcript, width: usize, height: usize, line: u64) {
        let row = t.row_of_line(line, width) as i64;
        self.set_top(t, width, height, row);
    }
}

/// A search within one transcript.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Search {
    /// The query.
    pub query: String,
    /// Matching absolute lines.
    pub matches: Vec<u64>,
    /// Lines scanned so far (absolute end).
    pub scanned_to: u64,
    /// Index of the current match.
    pub current: Option<usize>,
}

impl Search {
    /// Extend matches to lines appended since the last scan.
    pub fn refresh(&mut self, t: &Transcript) {
        if self.scanned_to < t.total_lines() {
            // The last scanned line may have grown; rescan it.
            let from = self.scanned_to.saturating_sub(1);
            if self.matches.last() == Some(&from) {
                self.matches.pop();
            }
            self.matches.extend(t.search(&self.query, from));
            self.scanned_to = t.total_lines();
        }
        let first = t.first_line();
        let before = self.matches.len();
        self.matches.retain(|&l| l >= first);
        if let Some(c) = self.current.as_mut() {
            *c = c.saturating_sub(before - self.matches.len());
        }
    }
}

/// What has the keyboard focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Agent pane by index.
    Agent(usize),
    /// The log pane.
    Logs,
    /// The tool timeline.
    Timeline,
}

/// Full-screen views drawn over the panes.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    /// Key help.
    Help,
    /// The final answer.
    Final,
    /// Previous turns.
    History,
    /// Details of one timeline row.
    ToolDetail {
        /// Row index in the timeline.
        row: usize,
    },
}

/// One-line prompt in the bottom bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Search the focused transcript.
    Search(String),
    /// Text filter of the log pane.
    LogText(String),
}

/// What a save request refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveTarget {
    /// The final answer.
    Final,
    /// An agent's transcript.
    Agent(usize),
    /// The filtered log.
    Logs,
}

/// Effects the app loop must carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send an op to the engine.
    Op(Op),
    /// Leave the TUI (after sending `Op::Cancel` if a run is active).
    Quit,
    /// Write something to a file.
    Save(SaveTarget),
    /// Toggle mouse capture (copy mode).
    SetMouse(bool),
}

/// Screen areas, computed identically for drawing and for mouse hit-testing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// Top status bar.
    pub status: Rect,
    /// Tab line when agents are shown one at a time.
    pub tabs: Option<Rect>,
    /// Agent panes (index, area).
    pub agents: Vec<(usize, Rect)>,
    /// Log pane.
    pub logs: Option<Rect>,
    /// Timeline pane.
    pub timeline: Option<Rect>,
    /// Input box.
    pub input: Option<Rect>,
    /// Bottom hint / prompt line.
    pub hints: Rect,
    /// Where overlays draw.
    pub overlay: Rect,
    /// True when the terminal is too small for the normal layout.
    pub tiny: bool,
}

/// All view state that does not come from events.
#[derive(Clone, Debug)]
pub struct UiState {
    /// Focused pane.
    pub focus: Focus,
    /// Show only the focused agent.
    pub zoom: bool,
    /// Log pane visible.
    pub show_logs: bool,
    /// Timeline pane visible.
    pub show_timeline: bool,
    /// Open overlay.
    pub overlay: Option<Overlay>,
    /// Scroll per agent pane.
    pub agent_scroll: Vec<Scroll>,
    /// Search per agent pane.
    pub agent_search: Vec<Option<Search>>,
    /// Scroll of the final-answer view.
    pub final_scroll: Scroll,
    /// Search of the final-answer view.
    pub final_search: Option<Search>,
    /// Scroll of the history / detail overlays.
    pub overlay_scroll: Scroll,
    /// Content of the history / detail overlays (built when opened).
    pub overlay_text: Transcript,
    /// Bottom-bar prompt.
    pub prompt: Option<Prompt>,
    /// Log pane filter and matches.
    pub logs: LogView,
    /// Selected timeline row (None: follow the newest).
    pub timeline_sel: Option<usize>,
    /// Hide `new_answer`/`vote` rows in the timeline.
    pub timeline_hide_workflow: bool,
    /// The input box.
    pub input: TextArea<'static>,
    /// Input box has the keyboard.
    pub input_focused: bool,
    /// A question was sent and its run has not started yet.
    pub awaiting_run: bool,
    /// First Ctrl-C pressed during a run.
    pub confirm_quit: bool,
    /// Transient message for the bottom bar.
    pub toast: Option<String>,
    /// Mouse capture enabled.
    pub mouse: bool,
    /// Replay mode (no questions can be asked).
    pub replay: bool,
    /// Config label for the status bar.
    pub config_label: String,
    /// Run for which the final view was opened automatically.
    pub final_opened_for: Option<RunId>,
    /// Run the per-pane state belongs to.
    pub run_seen: Option<RunId>,
    /// The agent shown in tab mode while another pane has the focus.
    pub last_agent: usize,
    /// Replay: playback paused.
    pub replay_paused: bool,
    /// Replay: speed factor (`None`: instant).
    pub replay_speed: Option<f64>,
}

fn new_input() -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text("Type a question…");
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

impl UiState {
    /// Initial state.
    pub fn new(config_label: &str, mouse: bool, replay: bool) -> Self {
        Self {
            focus: Focus::Agent(0),
            zoom: false,
            show_logs: false,
            show_timeline: false,
            overlay: None,
            agent_scroll: Vec::new(),
            agent_search: Vec::new(),
            final_scroll: Scroll::Follow,
            final_search: None,
            overlay_scroll: Scroll::Follow,
            overlay_text: Transcript::new(1_000_000),
            prompt: None,
            logs: LogView::default(),
            timeline_sel: None,
            timeline_hide_workflow: false,
            input: new_input(),
            input_focused: false,
            awaiting_run: false,
            confirm_quit: false,
            toast: None,
            mouse,
            replay,
            config_label: config_label.to_owned(),
            final_opened_for: None,
            run_seen: None,
            last_agent: 0,
            replay_paused: false,
            replay_speed: Some(1.0),
        }
    }

    /// True when the input box is shown.
    pub fn input_visible(&self, vm: &ViewModel) -> bool {
        !self.replay && !self.awaiting_run && !vm.running()
    }

    /// Bring per-run state in line with the model after events were applied.
    pub fn sync_with(&mut self, vm: &ViewModel) {
        let Some(run) = &vm.run else {
            return;
        };
        if self.run_seen.as_ref() != Some(&run.run_id) {
            // New run: panes start fresh (previous answers stay in the history view).
            self.run_seen = Some(run.run_id.clone());
            self.agent_scroll = vec![Scroll::Follow; run.agents.len()];
            self.agent_search = vec![None; run.agents.len()];
            self.final_scroll = Scroll::Follow;
            self.final_search = None;
            self.timeline_sel = None;
            self.awaiting_run = false;
            self.input_focused = false;
            if matches!(
                self.overlay,
                Some(Overlay::Final | Overlay::ToolDetail { .. })
            ) {
                self.overlay = None;
            }
            if let Focus::Agent(i) = self.focus
                && i >= run.agents.len()
            {
                self.focus = Focus::Agent(0);
            }
            if self.last_agent >= run.agents.len() {
                self.last_agent = 0;
            }
        }
        if !run.final_text.is_empty() && self.final_opened_for.as_ref() != Some(&run.run_id) {
            self.final_opened_for = Some(run.run_id.clone());
            if self.overlay.is_none() || self.overlay == Some(Overlay::Final) {
                self.overlay = Some(Overlay::Final);
                self.final_scroll = Scroll::Follow;
            }
        }
        if run.final_text.is_empty()
            && let Some(outcome) = run.outcome
            && self.final_opened_for.as_ref() != Some(&run.run_id)
        {
            // A run that ended without an answer says why in the bottom bar.
            self.final_opened_for = Some(run.run_id.clone());
            self.toast = Some(match &run.error {
                Some(e) => format!("run ended ({outcome}): {e}"),
                None => format!("run ended without an answer ({outcome})"),
            });
        }
        if !run.is_running() && self.confirm_quit {
            self.confirm_quit = false;
        }
    }

    /// The focus ring in order.
    fn focus_ring(&self, vm: &ViewModel) -> Vec<Focus> {
        let n = vm.run.as_ref().map_or(0, |r| r.agents.len());
        let mut v: Vec<Focus> = (0..n).map(Focus::Agent).collect();
        if self.show_logs {
            v.push(Focus::Logs);
        }
        if self.show_timeline {
            v.push(Focus::Timeline);
        }
        if v.is_empty() {
            v.push(Focus::Agent(0));
        }
        v
    }

    fn cycle_focus(&mut self, vm: &ViewModel, dir: i64) {
        let ring = self.focus_ring(vm);
        let i = ring.iter().position(|f| *f == self.focus).unwrap_or(0) as i64;
        let n = ring.len() as i64;
        self.focus = ring[((i + dir).rem_euclid(n)) as usize];
    }

    fn ensure_focus_valid(&mut self, vm: &ViewModel) {
        if !self.focus_ring(vm).contains(&self.focus) {
            self.focus = Focus::Agent(0);
            self.last_agent = 0;
        }
    }
}

/// Compute the screen areas.
pub fn layout(area: Rect, vm: &ViewModel, ui: &UiState) -> Areas {
    let mut a = Areas {
        overlay: area,
        ..Areas::default()
    };
    if area.width < 20 || area.height < 6 {
        a.tiny = true;
        a.status = area;
        return a;
    }
    let input_h = if ui.input_visible(vm) {
        let lines = ui.input.lines().len().clamp(1, 6) as u16;
        (lines + 2).min(area.height.saturating_sub(4))
    } else {
        0
    };
    let [status, main, input, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(input_h),
        Constraint::Length(1),
    ])
    .areas(area);
    a.status = status;
    a.hints = hints;
    a.overlay = main;
    if input_h > 0 {
        a.input = Some(input);
    }
    // Bottom panes (logs / timeline) take about 40% of the main area.
    let bottom_wanted = ui.show_logs || ui.show_timeline;
    let (agents_area, bottom) = if bottom_wanted && main.height >= 8 {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
        (top, Some(bottom))
    } else if bottom_wanted {
        (Rect::new(main.x, main.y, main.width, 0), Some(main))
    } else {
        (main, None)
    };
    if let Some(b) = bottom {
        match (ui.show_logs, ui.show_timeline) {
            (true, true) if b.width >= 100 => {
                let [l, t] =
                    Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                        .areas(b);
                a.logs = Some(l);
                a.timeline = Some(t);
            }
            (true, true) => {
                let [l, t] =
                    Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                        .areas(b);
                a.logs = Some(l);
                a.timeline = Some(t);
            }
            (true, false) => a.logs = Some(b),
            (false, true) => a.timeline = Some(b),
            (false, false) => {}
        }
    }
    let n = vm.run.as_ref().map_or(0, |r| r.agents.len());
    if agents_area.height == 0 || n == 0 {
        if n == 0 {
            a.agents = vec![];
        }
        return a;
    }
    let focused = match ui.focus {
        Focus::Agent(i) if i < n => i,
        _ => ui.last_agent.min(n - 1),
    };
    let side_by_side = !ui.zoom && n > 1 && agents_area.width / n as u16 >= MIN_AGENT_COL;
    if side_by_side {
        let cols = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(agents_area);
        a.agents = cols.iter().copied().enumerate().collect();
    } else if n > 1 && agents_area.height >= 4 {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(agents_area);
        a.tabs = Some(tabs);
        a.agents = vec![(focused, pane)];
    } else {
        a.agents = vec![(focused, agents_area)];
    }
    a
}

/// Inner text area of a bordered agent pane (below the header row).
pub fn agent_body(area: Rect) -> Rect {
    let inner = Rect::new(
        area.x.saturating_add(1),
        area.y.saturating_add(1),
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    if inner.height >= 3 {
        Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1)
    } else {
        inner
    }
}

/// Body area of an overlay drawn in `area`.
pub fn overlay_body(area: Rect) -> Rect {
    Rect::new(
        area.x.saturating_add(1),
        area.y.saturating_add(2),
        area.width.saturating_sub(2),
        area.height.saturating_sub(3),
    )
}

fn cycle<T: Clone + PartialEq>(cur: &Option<T>, all: &[T]) -> Option<T> {
    match cur {
        None => all.first().cloned(),
        Some(c) => {
            let i = all.iter().position(|x| x == c).unwrap_or(all.len());
            all.get(i + 1).cloned()
        }
    }
}

const LEVELS: [Level; 5] = [
    Level::Trace,
    Level::Debug,
    Level::Info,
    Level::Warn,
    Level::Error,
];
const CATEGORIES: [Category; 6] = [
    Category::Orchestrator,
    Category::Backend,
    Category::McpDiscovery,
    Category::McpExecution,
    Category::McpResult,
    Category::McpHealth,
];

impl UiState {
    /// The transcript and viewport (width, height) that scroll keys act on, with its scroll.
    fn scroll_target<'a>(
        &'a mut self,
        vm: &'a ViewModel,
        areas: &Areas,
    ) -> Option<(&'a Transcript, &'a mut Scroll, usize, usize)> {
        let body = overlay_body(areas.overlay);
        match &self.overlay {
            Some(Overlay::Final) => {
                let run = vm.run.as_ref()?;
                Some((
                    &run.final_text,
                    &mut self.final_scroll,
                    body.width as usize,
                    body.height as usize,
                ))
            }
            Some(Overlay::History | Overlay::ToolDetail { .. }) => Some((
                &self.overlay_text,
                &mut self.overlay_scroll,
                body.width as usize,
                body.height as usize,
            )),
            Some(Overlay::Help) => None,
            None => {
                let Focus::Agent(i) = self.focus else {
                    return None;
                };
                let run = vm.run.as_ref()?;
                let agent = run.agents.get(i)?;
                let rect = areas
                    .agents
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, r)| agent_body(*r))?;
                let scroll = self.agent_scroll.get_mut(i)?;
                Some((
                    &agent.transcript,
                    scroll,
                    rect.width as usize,
                    rect.height as usize,
                ))
            }
        }
    }

    fn search_slot(&mut self) -> Option<&mut Option<Search>> {
        match &self.overlay {
            Some(Overlay::Final) => Some(&mut self.final_search),
            None => match self.focus {
                Focus::Agent(i) => self.agent_search.get_mut(i),
                _ => None,
            },
            _ => None,
        }
    }

    fn scroll_focused(&mut self, vm: &ViewModel, areas: &Areas, delta: ScrollDelta) {
        if self.overlay.is_none() && self.focus == Focus::Logs {
            let h = areas
                .logs
                .map_or(1, |r| r.height.saturating_sub(2) as usize)
                .max(1);
            match delta {
                ScrollDelta::Rows(d) => self.logs.scroll_by(d, h),
                ScrollDelta::Pages(p) => self.logs.scroll_by(p * (h as i64 - 1).max(1), h),
                ScrollDelta::Home => self.logs.home(),
                ScrollDelta::End => self.logs.end(),
            }
            return;
        }
        if self.overlay.is_none() && self.focus == Focus::Timeline {
            let rows = visible_timeline_rows(vm, self);
            let n = rows.len();
            if n == 0 {
                return;
            }
            let h = areas
                .timeline
                .map_or(1, |r| r.height.saturating_sub(3) as usize)
                .max(1) as i64;
            let cur = self
                .timeline_sel
                .and_then(|s| rows.iter().position(|&r| r == s))
                .unwrap_or(n - 1) as i64;
            let new = match delta {
                ScrollDelta::Rows(d) => cur + d,
                ScrollDelta::Pages(p) => cur + p * (h - 1).max(1),
                ScrollDelta::Home => 0,
                ScrollDelta::End => n as i64 - 1,
            }
            .clamp(0, n as i64 - 1) as usize;
            self.timeline_sel = if new == n - 1 && matches!(delta, ScrollDelta::End) {
                None
            } else {
                Some(rows[new])
            };
            return;
        }
        if let Some((t, scroll, w, h)) = self.scroll_target(vm, areas) {
            match delta {
                ScrollDelta::Rows(d) => scroll.scroll_by(t, w, h, d),
                ScrollDelta::Pages(p) => {
                    scroll.scroll_by(t, w, h, p * (h as i64 - 1).max(1));
                }
                ScrollDelta::Home => scroll.set_top(t, w, h, 0),
                ScrollDelta::End => *scroll = Scroll::Follow,
            }
        }
    }

    fn jump_mark(&mut self, vm: &ViewModel, areas: &Areas, kinds: &[MarkKind], forward: bool) {
        if let Some((t, scroll, w, h)) = self.scroll_target(vm, areas) {
            let top = scroll.top(t, w, h);
            let (cur_line, _) = t.line_at_row(top, w);
            let marks = t.marks().iter().filter(|(_, k)| kinds.contains(k));
            let target = if forward {
                marks.map(|(l, _)| *l).find(|l| *l > cur_line)
            } else {
                marks.map(|(l, _)| *l).rev().find(|l| *l < cur_line)
            };
            if let Some(l) = target {
                scroll.goto_line(t, w, h, l);
            }
        }
    }

    fn run_search(&mut self, vm: &ViewModel, areas: &Areas, query: String) {
        if query.is_empty() {
            if let Some(slot) = self.search_slot() {
                *slot = None;
            }
            return;
        }
        let Some((t, scroll, w, h)) = self.scroll_target(vm, areas) else {
            return;
        };
        let mut s = Search {
            query,
            ..Search::default()
        };
        s.refresh(t);
        let top = scroll.top(t, w, h);
        let (cur, _) = t.line_at_row(top, w);
        let count = s.matches.len();
        if let Some(i) =
            s.matches
                .iter()
                .position(|&l| l >= cur)
                .or(if count > 0 { Some(0) } else { None })
        {
            s.current = Some(i);
            scroll.goto_line(t, w, h, s.matches[i]);
        }
        self.toast = Some(if count == 0 {
            format!("no match for \"{}\"", s.query)
        } else {
            format!("{count} matching lines")
        });
        if let Some(slot) = self.search_slot() {
            *slot = Some(s);
        }
    }

    fn search_step(&mut self, vm: &ViewModel, areas: &Areas, forward: bool) {
        let Some(mut s) = self.search_slot().and_then(|s| s.take()) else {
            self.toast = Some("no search: press / to search this pane".into());
            return;
        };
        if let Some((t, scroll, w, h)) = self.scroll_target(vm, areas) {
            s.refresh(t);
            let n = s.matches.len();
            if n > 0 {
                let i = match s.current {
                    None => 0,
                    Some(c) if forward => (c + 1) % n,
                    Some(c) => (c + n - 1) % n,
                };
                s.current = Some(i);
                scroll.goto_line(t, w, h, s.matches[i]);
                self.toast = Some(format!("match {}/{n}", i + 1));
            }
        }
        if let Some(slot) = self.search_slot() {
            *slot = Some(s);
        }
    }

    fn open_detail(&mut self, vm: &ViewModel, row: usize) {
        let Some(run) = &vm.run else { return };
        let Some(r) = run.timeline.rows.get(row) else {
            return;
        };
        let mut t = Transcript::new(1_000_000);
        match r {
            TimelineRow::Call(e) => {
                t.push_line(
                    LineKind::Marker,
                    &format!(
                        "{} · {} · agent {}",
                        e.server
                            .as_ref()
                            .map_or(e.tool.clone(), |s| format!("{s}/{}", e.tool)),
                        e.call_id,
                        e.agent.as_ref().map_or("-", |a| a.as_str())
                    ),
                );
                t.push_line(LineKind::Separator, "── arguments ──");
                let args = serde_json::to_string_pretty(&e.arguments)
                    .unwrap_or_else(|_| e.arguments.to_string());
                t.push_line(LineKind::Text, &args);
                t.push_line(LineKind::Separator, "── result ──");
                match &e.result {
                    Some(res) => {
                        if e.truncated {
                            t.push_line(
                                LineKind::Warn,
                                "(the model received a truncated version of this result)",
                            );
                        }
                        t.push_line(LineKind::Text, res);
                    }
                    None => t.push_line(
                        LineKind::Notice,
                        "(still running: press Enter again later to refresh)",
                    ),
                }
            }
            TimelineRow::Marker {
                server, text, at, ..
            } => {
                t.push_line(
                    LineKind::Marker,
                    &format!("{} [{server}] {text}", at.format("%H:%M:%S%.3f")),
                );
            }
        }
        self.overlay_scroll = Scroll::Anchored {
            line: 0,
            sub: 0,
            seen_total: t.total_lines(),
        };
        self.overlay_text = t;
        self.overlay = Some(Overlay::ToolDetail { row });
    }

    fn open_history(&mut self, vm: &ViewModel) {
        let mut t = Transcript::new(1_000_000);
        if vm.history.is_empty() {
            t.push_line(LineKind::Notice, "No finished turns yet.");
        }
        for (i, turn) in vm.history.iter().enumerate() {
            t.mark_next(MarkKind::Round);
            t.push_line(
                LineKind::Separator,
                &format!(
                    "── turn {} · {}{} ──",
                    i + 1,
                    turn.outcome,
                    turn.winner
                        .as_ref()
                        .map(|w| format!(" · winner {w}"))
                        .unwrap_or_default()
                ),
            );
            t.push_line(LineKind::Question, &format!("❯ {}", turn.question));
            t.mark_next(MarkKind::Answer);
            t.push_line(
                LineKind::Text,
                turn.answer.as_deref().unwrap_or("(no answer)"),
            );
        }
        self.overlay_text = t;
        self.overlay_scroll = Scroll::Follow;
        self.overlay = Some(Overlay::History);
    }

    fn set_log_filter(&mut self, f: LogFilter) {
        self.logs.set_filter(f);
    }

    fn handle_prompt_key(&mut self, key: KeyEvent, vm: &ViewModel, areas: &Areas) {
        let Some(prompt) = self.prompt.as_mut() else {
            return;
        };
        let buf = match prompt {
            Prompt::Search(s) | Prompt::LogText(s) => s,
        };
        match key.code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Enter => {
                let p = self.prompt.take();
                match p {
                    Some(Prompt::Search(q)) => self.run_search(vm, areas, q),
                    Some(Prompt::LogText(q)) => {
                        let mut f = self.logs.filter().clone();
                        f.text = q;
                        self.set_log_filter(f);
                    }
                    None => {}
                }
            }
            KeyCode::Backspace => {
                buf.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => buf.clear(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => buf.push(c),
            _ => {}
        }
    }

    fn handle_input_key(&mut self, key: KeyEvent, vm: &ViewModel) -> Vec<Action> {
        let m = key.modifiers;
        match key.code {
            KeyCode::Enter
                if m.intersects(KeyModifiers::SHIFT | KeyModifiers::ALT)
                    || m.contains(KeyModifiers::CONTROL) =>
            {
                self.input.insert_newline();
            }
            KeyCode::Char('j') if m.contains(KeyModifiers::CONTROL) => {
                self.input.insert_newline();
            }
            KeyCode::Enter => {
                let text = self.input.lines().join("\n");
                let q = text.trim();
                if q.is_empty() {
                    return vec![];
                }
                if vm.running() || self.awaiting_run {
                    self.toast = Some("a run is in progress; wait for it to finish".into());
                    return vec![];
                }
                let op = Op::Ask {
                    question: q.to_owned(),
                };
                self.input = new_input();
                self.input_focused = false;
                self.awaiting_run = true;
                return vec![Action::Op(op)];
            }
            KeyCode::Esc => self.input_focused = false,
            _ => {
                self.input.input(TermEvent::Key(key));
            }
        }
        vec![]
    }

    /// Handle a bracketed paste.
    pub fn handle_paste(&mut self, text: &str, vm: &ViewModel) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if let Some(Prompt::Search(s) | Prompt::LogText(s)) = self.prompt.as_mut() {
            s.push_str(&text.replace('\n', " "));
            return;
        }
        if self.input_visible(vm) {
            self.input_focused = true;
            self.input.insert_str(&text);
        }
    }

    /// Handle one key press. `areas` is the current layout (for page sizes).
    pub fn handle_key(&mut self, key: KeyEvent, vm: &ViewModel, areas: &Areas) -> Vec<Action> {
        let actions = self.handle_key_inner(key, vm, areas);
        if let Focus::Agent(i) = self.focus {
            self.last_agent = i;
        }
        actions
    }

    fn handle_key_inner(&mut self, key: KeyEvent, vm: &ViewModel, areas: &Areas) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return vec![];
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Ctrl-C: confirm while running, second press quits.
        if ctrl && key.code == KeyCode::Char('c') {
            if vm.running() && !self.replay && !self.confirm_quit {
                self.confirm_quit = true;
                return vec![];
            }
            return vec![Action::Quit];
        }
        if self.confirm_quit {
            self.confirm_quit = false;
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('q')) {
                return vec![Action::Quit];
            }
            self.toast = Some("kept running".into());
            return vec![];
        }
        if self.prompt.is_some() {
            self.handle_prompt_key(key, vm, areas);
            return vec![];
        }
        if self.input_focused && self.input_visible(vm) && self.overlay.is_none() {
            return self.handle_input_key(key, vm);
        }
        self.toast = None;
        self.ensure_focus_valid(vm);
        let n_agents = vm.run.as_ref().map_or(0, |r| r.agents.len());
        match key.code {
            KeyCode::Esc => {
                if self.overlay.is_some() {
                    self.overlay = None;
                } else if let Some(slot) = self.search_slot() {
                    *slot = None;
                }
            }
            KeyCode::Char('?') => {
                self.overlay = if self.overlay == Some(Overlay::Help) {
                    None
                } else {
                    Some(Overlay::Help)
                };
            }
            KeyCode::Char('q') => {
                if self.overlay.is_some() {
                    self.overlay = None;
                } else if vm.running() && !self.replay {
                    self.confirm_quit = true;
                } else {
                    return vec![Action::Quit];
                }
            }
            KeyCode::Char('r') if ctrl => {
                if vm.running() || self.replay {
                    self.toast = Some("history can be reset between runs only".into());
                } else {
                    self.toast = Some("conversation history cleared".into());
                    return vec![Action::Op(Op::ResetHistory)];
                }
            }
            KeyCode::Char('x') if ctrl && vm.running() => {
                self.toast = Some("cancelling the run…".into());
                return vec![Action::Op(Op::Cancel)];
            }
            // Replay controls (the keys `massgen-tui replay --help` documents).
            KeyCode::Char(' ') if self.replay => {
                self.replay_paused = !self.replay_paused;
                return vec![Action::Op(Op::Replay(if self.replay_paused {
                    ReplayControl::Pause
                } else {
                    ReplayControl::Resume
                }))];
            }
            KeyCode::Char('s') if self.replay => {
                self.replay_paused = true;
                return vec![Action::Op(Op::Replay(ReplayControl::Step))];
            }
            KeyCode::Char('i') if self.replay => {
                self.replay_speed = None;
                self.replay_paused = false;
                return vec![Action::Op(Op::Replay(ReplayControl::Instant))];
            }
            KeyCode::Char(c @ ('1' | '2' | '0')) if self.replay => {
                let factor = match c {
                    '1' => 1.0,
                    '2' => 2.0,
                    _ => 10.0,
                };
                self.replay_speed = Some(factor);
                self.toast = Some(format!("replay speed {factor}×"));
                return vec![Action::Op(Op::Replay(ReplayControl::Speed { factor }))];
            }
            KeyCode::Tab => self.cycle_focus(vm, 1),
            KeyCode::BackTab => self.cycle_focus(vm, -1),
            KeyCode::Right if self.overlay.is_none() => self.cycle_focus(vm, 1),
            KeyCode::Left if self.overlay.is_none() => self.cycle_focus(vm, -1),
            KeyCode::Char(c @ '1'..='9') if self.overlay.is_none() => {
                let i = (c as usize) - ('1' as usize);
                if i < n_agents {
                    self.focus = Focus::Agent(i);
                }
            }
            KeyCode::Char('z') => {
                self.zoom = !self.zoom;
                if !matches!(self.focus, Focus::Agent(_)) {
                    self.focus = Focus::Agent(self.last_agent);
                }
            }
            KeyCode::Char('l') => {
                self.show_logs = !self.show_logs;
                self.focus = if self.show_logs {
                    Focus::Logs
                } else {
                    Focus::Agent(self.last_agent)
                };
            }
            KeyCode::Char('t') => {
                self.show_timeline = !self.show_timeline;
                self.focus = if self.show_timeline {
                    Focus::Timeline
                } else {
                    Focus::Agent(self.last_agent)
                };
            }
            KeyCode::Char('f') => {
                if self.overlay == Some(Overlay::Final) {
                    self.overlay = None;
                } else if vm.run.as_ref().is_some_and(|r| !r.final_text.is_empty()) {
                    self.overlay = Some(Overlay::Final);
                } else {
                    self.toast = Some("no final answer yet".into());
                }
            }
            KeyCode::Char('H') => {
                if self.overlay == Some(Overlay::History) {
                    self.overlay = None;
                } else {
                    self.open_history(vm);
                }
            }
            KeyCode::Char('m') => {
                self.mouse = !self.mouse;
                self.toast = Some(if self.mouse {
                    "mouse on: wheel scrolls panes".into()
                } else {
                    "mouse off: select text with the terminal".into()
                });
                return vec![Action::SetMouse(self.mouse)];
            }
            KeyCode::Char('s') => {
                let target = match (&self.overlay, self.focus) {
                    (Some(Overlay::Final), _) => SaveTarget::Final,
                    (None, Focus::Agent(i)) => SaveTarget::Agent(i),
                    (None, Focus::Logs) => SaveTarget::Logs,
                    _ => {
                        self.toast = Some("nothing to save here".into());
                        return vec![];
                    }
                };
                return vec![Action::Save(target)];
            }
            KeyCode::Char('i')
                if self.input_visible(vm)
                    && matches!(self.overlay, None | Some(Overlay::Final | Overlay::History)) =>
            {
                self.overlay = None;
                self.input_focused = true;
            }
            KeyCode::Enter
                if self.overlay.is_none()
                    && self.input_visible(vm)
                    && self.focus != Focus::Timeline =>
            {
                self.input_focused = true;
            }
            KeyCode::Enter if self.overlay.is_none() && self.focus == Focus::Timeline => {
                let rows = visible_timeline_rows(vm, self);
                if let Some(r) = self.timeline_sel.or(rows.last().copied()) {
                    self.open_detail(vm, r);
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.scroll_focused(vm, areas, ScrollDelta::Rows(-1))
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll_focused(vm, areas, ScrollDelta::Rows(1))
            }
            KeyCode::PageUp => self.scroll_focused(vm, areas, ScrollDelta::Pages(-1)),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.scroll_focused(vm, areas, ScrollDelta::Pages(1));
            }
            KeyCode::Home | KeyCode::Char('g') => self.scroll_focused(vm, areas, ScrollDelta::Home),
            KeyCode::End | KeyCode::Char('G') => self.scroll_focused(vm, areas, ScrollDelta::End),
            KeyCode::Char('[') => {
                self.jump_mark(vm, areas, &[MarkKind::Answer, MarkKind::Vote], false)
            }
            KeyCode::Char(']') => {
                self.jump_mark(vm, areas, &[MarkKind::Answer, MarkKind::Vote], true)
            }
            KeyCode::Char('{') => self.jump_mark(vm, areas, &[MarkKind::Round], false),
            KeyCode::Char('}') => self.jump_mark(vm, areas, &[MarkKind::Round], true),
            KeyCode::Char('/') => {
                if self.overlay.is_none() && self.focus == Focus::Logs {
                    self.prompt = Some(Prompt::LogText(self.logs.filter().text.clone()));
                } else if self.search_slot().is_some() {
                    self.prompt = Some(Prompt::Search(String::new()));
                }
            }
            KeyCode::Char('n') => self.search_step(vm, areas, true),
            KeyCode::Char('N') => self.search_step(vm, areas, false),
            // Log pane filters.
            KeyCode::Char('v') if self.focus == Focus::Logs => {
                let mut f = self.logs.filter().clone();
                let i = LEVELS.iter().position(|l| *l == f.min_level).unwrap_or(0);
                f.min_level = LEVELS[(i + 1) % LEVELS.len()];
                self.set_log_filter(f);
            }
            KeyCode::Char('a') if self.focus == Focus::Logs => {
                let mut f = self.logs.filter().clone();
                let ids: Vec<_> = vm
                    .run
                    .as_ref()
                    .map(|r| r.agents.iter().map(|a| a.id.clone()).collect())
                    .unwrap_or_default();
                f.agent = cycle(&f.agent, &ids);
                self.set_log_filter(f);
            }
            KeyCode::Char('S') if self.focus == Focus::Logs => {
                let mut f = self.logs.filter().clone();
                f.stage = cycle(&f.stage, &Stage::ALL);
                self.set_log_filter(f);
            }
            KeyCode::Char('c') if self.focus == Focus::Logs => {
                let mut f = self.logs.filter().clone();
                f.category = cycle(&f.category, &CATEGORIES);
                self.set_log_filter(f);
            }
            KeyCode::Char('r') if self.focus == Focus::Logs => {
                let mut f = self.logs.filter().clone();
                f.regex = !f.regex;
                self.set_log_filter(f);
            }
            KeyCode::Char('x') if self.focus == Focus::Logs => {
                self.set_log_filter(LogFilter::default());
            }
            KeyCode::Char('w') if self.focus == Focus::Timeline => {
                self.timeline_hide_workflow = !self.timeline_hide_workflow;
                self.timeline_sel = None;
            }
            _ => {}
        }
        vec![]
    }

    /// Handle a mouse event: the wheel scrolls the pane under the pointer, a click focuses it.
    pub fn handle_mouse(&mut self, ev: MouseEvent, vm: &ViewModel, areas: &Areas) {
        let pos = Position::new(ev.column, ev.row);
        let delta = match ev.kind {
            MouseEventKind::ScrollUp => Some(-3),
            MouseEventKind::ScrollDown => Some(3),
            MouseEventKind::Down(_) => None,
            _ => return,
        };
        if self.overlay.is_none() {
            let hit = areas
                .agents
                .iter()
                .find(|(_, r)| r.contains(pos))
                .map(|(i, _)| Focus::Agent(*i))
                .or_else(|| areas.logs.filter(|r| r.contains(pos)).map(|_| Focus::Logs))
                .or_else(|| {
                    areas
                        .timeline
                        .filter(|r| r.contains(pos))
                        .map(|_| Focus::Timeline)
                });
            if areas.input.is_some_and(|r| r.contains(pos)) {
                self.input_focused = true;
                return;
            }
            let Some(f) = hit else { return };
            self.focus = f;
            if let Focus::Agent(i) = f {
                self.last_agent = i;
            }
            if delta.is_some() {
                self.input_focused = false;
            }
        }
        if let Some(d) = delta {
            self.scroll_focused(vm, areas, ScrollDelta::Rows(d));
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum ScrollDelta {
    Rows(i64),
    Pages(i64),
    Home,
    End,
}

/// Timeline row indices shown with the current settings.
pub fn visible_timeline_rows(vm: &ViewModel, ui: &UiState) -> Vec<usize> {
    let Some(run) = &vm.run else { return vec![] };
    visible_rows_of(run, ui.timeline_hide_workflow)
}

fn visible_rows_of(run: &RunView, hide_workflow: bool) -> Vec<usize> {
    run.timeline
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| match r {
            TimelineRow::Call(e) => {
                !(hide_workflow && (e.tool == "new_answer" || e.tool == "vote"))
            }
            TimelineRow::Marker { .. } => true,
        })
        .map(|(i, _)| i)
        .collect()
}
