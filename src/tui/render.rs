//! Drawing: a pure function of (`ViewModel`, `UiState`, now, area) into a ratatui buffer.
//!
//! Responsibilities: status bar, agent panes (header, body rows, scroll badges), tabs, log
//! pane, tool timeline, input box, hint line, overlays (help, final answer, history, tool
//! details, engine error) and the tiny-terminal fallback. Only visible rows are produced; all
//! writes are clipped to the buffer, so no terminal size can panic.
//! Non-responsibilities: state changes (the only mutation is the transcripts' internal wrap
//! cache, which never changes what is drawn).

use super::logs::LogRecord;
use super::model::{AgentView, RunView, TimelineRow, ToolEntry, ViewModel};
use super::transcript::{LineKind, TLine, Transcript};
use super::ui::{self, Areas, Focus, Overlay, Prompt, Scroll, Search, UiState};
use super::wrap::{str_width, truncate};
use crate::protocol::{AgentState, Level, RunOutcome, Stage, ToolStatus};
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Widget};

/// Draw the whole screen.
pub fn render(vm: &ViewModel, ui: &UiState, now: DateTime<Utc>, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.width == 0 || area.height == 0 {
        return;
    }
    let areas = ui::layout(area, vm, ui);
    if areas.tiny {
        render_tiny(vm, now, area, buf);
        return;
    }
    render_status(vm, ui, now, areas.status, buf);
    if let Some(tabs) = areas.tabs {
        render_tabs(vm, ui, tabs, buf);
    }
    match &vm.run {
        Some(run) => {
            for (i, rect) in &areas.agents {
                if let Some(a) = run.agents.get(*i) {
                    render_agent(run, a, *i, ui, now, *rect, buf);
                }
            }
        }
        None => render_welcome(vm, ui, areas.overlay, &areas, buf),
    }
    if let Some(r) = areas.logs {
        render_logs(vm, ui, r, buf);
    }
    if let Some(r) = areas.timeline {
        render_timeline(vm, ui, now, r, buf);
    }
    if let Some(r) = areas.input {
        render_input(ui, r, buf);
    }
    render_hints(vm, ui, &areas, buf);
    match &ui.overlay {
        Some(Overlay::Help) => render_help(areas.overlay, buf),
        Some(Overlay::Final) => render_final(vm, ui, areas.overlay, buf),
        Some(Overlay::History) => render_text_overlay(
            " History (previous turns) ",
            &ui.overlay_text,
            &ui.overlay_scroll,
            None,
            areas.overlay,
            buf,
        ),
        Some(Overlay::ToolDetail { .. }) => render_text_overlay(
            " Tool call details ",
            &ui.overlay_text,
            &ui.overlay_scroll,
            None,
            areas.overlay,
            buf,
        ),
        None => {}
    }
    if let Some(err) = &vm.engine_error {
        render_engine_error(err, areas.overlay, buf);
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers

fn put(buf: &mut Buffer, x: u16, y: u16, s: &str, max: usize, style: Style) -> u16 {
    let a = buf.area;
    if y < a.top() || y >= a.bottom() || x < a.left() || x >= a.right() {
        return x;
    }
    buf.set_stringn(x, y, s, max, style).0
}

fn put_wrapped(buf: &mut Buffer, area: Rect, msg: &str, style: Style) {
    let ranges = super::wrap::wrap_ranges(msg, area.width as usize);
    for (y, (a, b)) in (area.y..area.bottom()).zip(ranges) {
        put(buf, area.x, y, &msg[a..b], area.width as usize, style);
    }
}

fn put_line(buf: &mut Buffer, x: u16, y: u16, line: &Line<'_>, width: u16) {
    let a = buf.area;
    if y < a.top() || y >= a.bottom() || x >= a.right() || width == 0 {
        return;
    }
    buf.set_line(x, y, line, width.min(a.right() - x));
}

fn fmt_dur_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

fn fmt_clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

fn fmt_tokens(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 10_000 {
        format!("{}k", n / 1000)
    } else if n >= 1000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}

fn state_style(s: AgentState) -> Style {
    match s {
        AgentState::Waiting => Style::new().fg(Color::DarkGray),
        AgentState::Streaming => Style::new().fg(Color::Yellow),
        AgentState::Answered => Style::new().fg(Color::Green),
        AgentState::Voted => Style::new().fg(Color::Magenta),
        AgentState::Restarting | AgentState::Retrying => Style::new().fg(Color::Yellow),
        AgentState::Failed | AgentState::TimedOut => Style::new().fg(Color::Red),
        AgentState::Presenting => Style::new().fg(Color::Cyan),
        AgentState::Done => Style::new().fg(Color::Green),
    }
}

fn state_icon(s: AgentState) -> &'static str {
    match s {
        AgentState::Waiting => "⏳",
        AgentState::Streaming => "●",
        AgentState::Answered => "✔",
        AgentState::Voted => "☑",
        AgentState::Restarting => "↻",
        AgentState::Retrying => "⟳",
        AgentState::Failed => "✖",
        AgentState::TimedOut => "⌛",
        AgentState::Presenting => "🎤",
        AgentState::Done => "✔",
    }
}

fn kind_style(k: LineKind) -> Style {
    match k {
        LineKind::Text | LineKind::Answer => Style::new(),
        LineKind::Reasoning => Style::new()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::ITALIC),
        LineKind::Tool => Style::new().fg(Color::Cyan),
        LineKind::ToolResult => Style::new().fg(Color::DarkGray),
        LineKind::Vote => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        LineKind::Marker => Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        LineKind::Separator => Style::new().fg(Color::Blue),
        LineKind::Notice => Style::new().fg(Color::Cyan),
        LineKind::Warn => Style::new().fg(Color::Yellow),
        LineKind::Error => Style::new().fg(Color::Red),
        LineKind::Question => Style::new().add_modifier(Modifier::BOLD),
    }
}

fn level_style(l: Level) -> Style {
    match l {
        Level::Trace => Style::new().fg(Color::DarkGray),
        Level::Debug => Style::new().fg(Color::Blue),
        Level::Info => Style::new(),
        Level::Warn => Style::new().fg(Color::Yellow),
        Level::Error => Style::new().fg(Color::Red),
    }
}

fn level_tag(l: Level) -> &'static str {
    match l {
        Level::Trace => "TRACE",
        Level::Debug => "DEBUG",
        Level::Info => "INFO ",
        Level::Warn => "WARN ",
        Level::Error => "ERROR",
    }
}

fn pane_block<'a>(title: Line<'a>, focused: bool) -> Block<'a> {
    let border = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(border)
        .title(title)
}

/// Byte ranges of case-insensitive occurrences of an ASCII `needle_lower` in `hay`.
fn find_ci(hay: &str, needle_lower: &str) -> Vec<(usize, usize)> {
    let n = needle_lower.as_bytes();
    if n.is_empty() || !needle_lower.is_ascii() || n.len() > hay.len() {
        return vec![];
    }
    let h = hay.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + n.len() <= h.len() {
        if h[i..i + n.len()]
            .iter()
            .zip(n)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
        {
            out.push((i, i + n.len()));
            i += n.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Patch `ranges` (sorted, non-overlapping byte ranges with a style) onto styled segments.
fn overlay_ranges(
    segs: Vec<(usize, usize, Style)>,
    ranges: &[(usize, usize, Style)],
) -> Vec<(usize, usize, Style)> {
    let mut out = Vec::with_capacity(segs.len() + ranges.len() * 2);
    for (a, b, st) in segs {
        let mut pos = a;
        for &(rs, re, rst) in ranges {
            if re <= pos || rs >= b {
                continue;
            }
            let (s2, e2) = (rs.max(pos), re.min(b));
            if s2 > pos {
                out.push((pos, s2, st));
            }
            out.push((s2, e2, st.patch(rst)));
            pos = e2;
        }
        if pos < b {
            out.push((pos, b, st));
        }
    }
    out
}

/// Light Markdown styling that never changes the text (so wrapping stays exact): headings and
/// `**bold**` in bold, `` `code` `` and fence lines in another colour.
fn markdown_spans(text: &str) -> Vec<(usize, usize, Style)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('#') {
        return vec![(
            0,
            text.len(),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )];
    }
    if trimmed.starts_with("```") {
        return vec![(0, text.len(), Style::new().fg(Color::DarkGray))];
    }
    if !text.contains("**") && !text.contains('`') {
        return vec![];
    }
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'*' && b.get(i + 1) == Some(&b'*') {
            if let Some(rel) = text[i + 2..].find("**") {
                let end = i + 2 + rel + 2;
                out.push((i, end, Style::new().add_modifier(Modifier::BOLD)));
                i = end;
                continue;
            }
        } else if b[i] == b'`'
            && let Some(rel) = text[i + 1..].find('`')
        {
            let end = i + 1 + rel + 1;
            out.push((i, end, Style::new().fg(Color::Cyan)));
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

/// Draw one visual row of `line` (bytes `start..end`) at (x, y), `width` columns.
#[allow(clippy::too_many_arguments)]
fn draw_row(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    width: u16,
    line: &TLine,
    start: usize,
    end: usize,
    highlight: Option<(&str, bool)>,
) {
    let base = kind_style(line.kind);
    let text = &line.text;
    let end = end.min(text.len());
    let start = start.min(end);
    // Style segments over start..end.
    let mut segs: Vec<(usize, usize, Style)> = Vec::new();
    match &line.ansi {
        Some(runs) => {
            let mut pos = start;
            for r in runs.iter() {
                let (rs, re) = (r.start as usize, r.end as usize);
                if re <= start || rs >= end {
                    continue;
                }
                let (a, b) = (rs.max(start), re.min(end));
                if a > pos {
                    segs.push((pos, a, base));
                }
                segs.push((a, b, base.patch(r.style)));
                pos = b;
            }
            if pos < end {
                segs.push((pos, end, base));
            }
        }
        None => segs.push((start, end, base)),
    }
    // Bounded so one enormous line cannot make every visible row rescan it.
    if line.ansi.is_none()
        && text.len() <= 4096
        && matches!(line.kind, LineKind::Text | LineKind::Answer)
    {
        let md = markdown_spans(text);
        if !md.is_empty() {
            segs = overlay_ranges(segs, &md);
        }
    }
    if let Some((q, current)) = highlight {
        let hl = if current {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        };
        let hits: Vec<(usize, usize, Style)> = find_ci(&text[start..end], q)
            .into_iter()
            .map(|(a, b)| (a + start, b + start, hl))
            .collect();
        if !hits.is_empty() {
            segs = overlay_ranges(segs, &hits);
        }
    }
    let right = x.saturating_add(width);
    let mut cx = x;
    for (a, b, st) in segs {
        if cx >= right {
            break;
        }
        if !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        cx = put(buf, cx, y, &text[a..b], (right - cx) as usize, st);
    }
}

/// Draw a transcript viewport. Returns (top row, total rows).
fn draw_transcript(
    t: &Transcript,
    scroll: &Scroll,
    search: Option<&Search>,
    area: Rect,
    buf: &mut Buffer,
) -> (u64, u64) {
    if area.width == 0 || area.height == 0 {
        return (0, 0);
    }
    let w = area.width as usize;
    let mut h = area.height as usize;
    let total = t.visual_rows(w);
    let top = scroll.top(t, w, h);
    let mut y = area.y;
    if top == 0 && t.dropped() > 0 {
        put(
            buf,
            area.x,
            y,
            &format!(
                "… {} earlier lines dropped from memory (the run record has them)",
                t.dropped()
            ),
            w,
            Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
        );
        y += 1;
        h -= 1;
    }
    let q = search.map(|s| s.query.to_lowercase());
    let current_line = search.and_then(|s| s.current.and_then(|c| s.matches.get(c).copied()));
    for row in t.rows(top, h, w) {
        if let Some(line) = t.line(row.line) {
            let hl = q.as_deref().map(|q| (q, Some(row.line) == current_line));
            draw_row(buf, area.x, y, area.width, line, row.start, row.end, hl);
        }
        y += 1;
    }
    (top, total)
}

fn scroll_badge(t: &Transcript, scroll: &Scroll, top: u64, total: u64, h: usize) -> Line<'static> {
    let h = h.max(1) as u64;
    let pages = total.div_ceil(h).max(1);
    let page = (top / h + 1).min(pages);
    let mut spans = vec![];
    let new = scroll.new_lines(t);
    if new > 0 {
        spans.push(Span::styled(
            format!(" ⇣ {new} new lines (End) "),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
    }
    let follow = matches!(scroll, Scroll::Follow);
    spans.push(Span::styled(
        format!(
            " page {page}/{pages}{} ",
            if follow { " · following" } else { "" }
        ),
        Style::new().fg(Color::DarkGray),
    ));
    Line::from(spans).right_aligned()
}

// ---------------------------------------------------------------------------------------
// Panes

fn render_tiny(vm: &ViewModel, now: DateTime<Utc>, area: Rect, buf: &mut Buffer) {
    let w = area.width as usize;
    let (stage, elapsed) = match &vm.run {
        Some(r) => (
            r.stage.label(),
            fmt_clock((r.clock(now) - r.started_at).num_seconds()),
        ),
        None => ("idle", String::new()),
    };
    put(
        buf,
        area.x,
        area.y,
        &format!("massgen {stage} {elapsed}"),
        w,
        Style::new().fg(Color::Cyan),
    );
    if area.height > 1 {
        put(
            buf,
            area.x,
            area.y + 1,
            &format!("enlarge ({}x{})", area.width, area.height),
            w,
            Style::new().fg(Color::DarkGray),
        );
    }
    if area.height > 2
        && let Some(r) = &vm.run
    {
        for (y, a) in (area.y + 2..area.bottom()).zip(r.agents.iter()) {
            put(
                buf,
                area.x,
                y,
                &format!("{} {}", state_icon(a.state), a.id),
                w,
                state_style(a.state),
            );
        }
    }
}

fn render_status(vm: &ViewModel, ui: &UiState, now: DateTime<Utc>, area: Rect, buf: &mut Buffer) {
    let bar = Style::new().bg(Color::Blue).fg(Color::Black);
    buf.set_style(area, bar);
    let mut spans: Vec<Span<'static>> =
        vec![Span::styled(" massgen ", bar.add_modifier(Modifier::BOLD))];
    if ui.replay {
        let speed = match ui.replay_speed {
            Some(f) => format!("{f}×"),
            None => "instant".into(),
        };
        let state = if ui.replay_paused { " ⏸ paused" } else { "" };
        spans.push(Span::styled(
            format!(" REPLAY {speed}{state} "),
            bar.bg(Color::Magenta),
        ));
    }
    let Some(run) = &vm.run else {
        spans.push(Span::styled(format!("· {} · idle", ui.config_label), bar));
        put_line(buf, area.x, area.y, &Line::from(spans), area.width);
        return;
    };
    let clock = run.clock(now);
    let total = fmt_clock((clock - run.started_at).num_seconds());
    let outcome = if vm.engine_error.is_some() {
        "engine stopped".to_owned()
    } else {
        match run.outcome {
            None => "running".to_owned(),
            Some(RunOutcome::Completed) => "done".to_owned(),
            Some(o) => o.to_string(),
        }
    };
    spans.push(Span::styled(
        format!("{outcome} {total} │"),
        bar.add_modifier(Modifier::BOLD),
    ));
    let narrow = area.width < 100;
    for (i, st) in Stage::ALL.iter().enumerate() {
        let label = if narrow {
            match st {
                Stage::Initialization => "init",
                Stage::Coordination => "coord",
                Stage::Evaluation => "eval",
                Stage::FinalPresentation => "final",
            }
        } else {
            st.label()
        };
        let sep = if i == 0 { " " } else { " › " };
        spans.push(Span::styled(sep, bar));
        let timing = run.stages.iter().rev().find(|s| s.stage == *st);
        match timing {
            Some(t) => {
                let end = t.ended.unwrap_or(clock);
                let d = fmt_dur_ms((end - t.started).num_milliseconds());
                let active = t.ended.is_none() && run.is_running();
                let style = if active {
                    bar.bg(Color::Cyan).add_modifier(Modifier::BOLD)
                } else {
                    bar
                };
                spans.push(Span::styled(format!("{label} {d}"), style));
            }
            None => spans.push(Span::styled(label.to_owned(), bar.fg(Color::DarkGray))),
        }
    }
    let tally = run.tally();
    if tally.iter().any(|(_, n)| *n > 0) || run.winner.is_some() {
        spans.push(Span::styled(" │ votes ", bar));
        let parts: Vec<String> = tally
            .iter()
            .map(|(a, n)| {
                let star = if run.winner.as_ref() == Some(a) {
                    "🏆"
                } else {
                    ""
                };
                format!("{star}{a}:{n}")
            })
            .collect();
        spans.push(Span::styled(
            parts.join(" "),
            bar.add_modifier(Modifier::BOLD),
        ));
    }
    put_line(buf, area.x, area.y, &Line::from(spans), area.width);
}

fn render_tabs(vm: &ViewModel, ui: &UiState, area: Rect, buf: &mut Buffer) {
    let Some(run) = &vm.run else { return };
    let mut spans = vec![];
    for (i, a) in run.agents.iter().enumerate() {
        let focused = ui.focus == Focus::Agent(i);
        let st = if focused {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            state_style(a.state)
        };
        spans.push(Span::styled(
            format!(" {}:{} {} ", i + 1, a.id, state_icon(a.state)),
            st,
        ));
        spans.push(Span::raw(" "));
    }
    if ui.zoom {
        spans.push(Span::styled(
            "[zoom: z for grid]",
            Style::new().fg(Color::DarkGray),
        ));
    }
    put_line(buf, area.x, area.y, &Line::from(spans), area.width);
}

#[allow(clippy::too_many_arguments)]
fn render_agent(
    run: &RunView,
    a: &AgentView,
    i: usize,
    ui: &UiState,
    now: DateTime<Utc>,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.width < 3 || area.height < 2 {
        return;
    }
    let focused = ui.overlay.is_none() && ui.focus == Focus::Agent(i);
    let winner = run.winner.as_ref() == Some(&a.id);
    let title = Line::from(vec![
        Span::styled(
            format!(" {} ", a.id),
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!("{} {} ", state_icon(a.state), a.status_text()),
            state_style(a.state).add_modifier(Modifier::BOLD),
        ),
        Span::raw(if winner { "🏆 " } else { "" }),
    ]);
    let block = pane_block(title, focused);
    let inner = block.inner(area);
    let body = ui::agent_body(area);
    let scroll = ui.agent_scroll.get(i).copied().unwrap_or_default();
    let search = ui.agent_search.get(i).and_then(|s| s.as_ref());
    let (top, total) = draw_transcript(&a.transcript, &scroll, search, body, buf);
    let badge = scroll_badge(&a.transcript, &scroll, top, total, body.height as usize);
    block.title_bottom(badge).render(area, buf);
    if body.y > inner.y {
        // Header row: provider/model · round · votes · elapsed · tokens.
        let elapsed = a
            .started_at
            .map(|s| fmt_clock((run.clock(now) - s).num_seconds()))
            .unwrap_or_else(|| "--:--".into());
        let tok = format!(
            "{}{} tok",
            if a.tokens_estimated { "~" } else { "" },
            fmt_tokens(a.input_tokens + a.output_tokens)
        );
        let votes = run.votes_for(&a.id);
        let header = Line::from(vec![
            Span::styled(
                format!("{}/{}", a.provider, a.model),
                Style::new().fg(Color::Cyan),
            ),
            Span::styled(
                format!(
                    " · r{} · try {} · ★{votes} · {elapsed} · {tok}",
                    a.round,
                    a.attempt.max(1)
                ),
                Style::new().fg(Color::DarkGray),
            ),
        ]);
        put_line(buf, inner.x, inner.y, &header, inner.width);
    }
    if a.transcript.is_empty() && body.height > 0 {
        put(
            buf,
            body.x,
            body.y,
            "waiting for output…",
            body.width as usize,
            Style::new().fg(Color::DarkGray),
        );
    }
}

fn render_welcome(vm: &ViewModel, ui: &UiState, area: Rect, areas: &Areas, buf: &mut Buffer) {
    let _ = vm;
    let block = pane_block(Line::from(" massgen-tui "), false);
    let inner = block.inner(area);
    block.render(area, buf);
    let msg = if ui.awaiting_run {
        "Starting the run…".to_owned()
    } else if areas.input.is_some() {
        format!(
            "Config: {}. Type your question below and press Enter (Alt+Enter for a new line). ? shows every key.",
            ui.config_label
        )
    } else {
        "Waiting for the engine…".to_owned()
    };
    put_wrapped(buf, inner, &msg, Style::new());
}

fn fmt_record(r: &LogRecord, width: usize) -> Vec<Span<'static>> {
    let text = r.text.replace('\n', "⏎");
    let head = format!(
        "{} {} {:<9} ",
        r.at.format("%H:%M:%S%.3f"),
        level_tag(r.level),
        r.agent.as_ref().map_or("-", |a| a.as_str())
    );
    let kind = format!("{} ", r.kind);
    let rest = width.saturating_sub(str_width(&head) + kind.len());
    vec![
        Span::styled(head, level_style(r.level)),
        Span::styled(kind, Style::new().fg(Color::Cyan)),
        Span::styled(truncate(&text, rest), level_style(r.level)),
    ]
}

fn render_logs(vm: &ViewModel, ui: &UiState, area: Rect, buf: &mut Buffer) {
    let f = ui.logs.filter();
    let mut desc = vec![format!("≥{}", level_tag(f.min_level).trim().to_lowercase())];
    if let Some(a) = &f.agent {
        desc.push(format!("agent {a}"));
    }
    if let Some(s) = f.stage {
        desc.push(format!("stage {}", s.label()));
    }
    if let Some(c) = f.category {
        desc.push(c.to_string());
    }
    if !f.text.is_empty() {
        desc.push(format!(
            "{}\"{}\"",
            if f.regex { "re " } else { "" },
            f.text
        ));
    }
    let mut title = vec![
        Span::styled(" Logs ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(
            format!("[{}] ", desc.join(" · ")),
            Style::new().fg(Color::Cyan),
        ),
        Span::raw(format!("{} of {} ", ui.logs.match_count(), vm.logs.len())),
    ];
    if ui.logs.pending(&vm.logs) {
        title.push(Span::styled(
            format!("filtering {:.0}% ", ui.logs.progress(&vm.logs) * 100.0),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(e) = &ui.logs.regex_error {
        title.push(Span::styled(
            format!("bad regex: {} ", truncate(e, 40)),
            Style::new().fg(Color::Red),
        ));
    }
    let focused = ui.overlay.is_none() && ui.focus == Focus::Logs;
    let mut block = pane_block(Line::from(title), focused);
    let new = ui.logs.new_since_anchor();
    let inner = block.inner(area);
    let h = inner.height as usize;
    let n = ui.logs.match_count();
    let top = ui.logs.top_index(h);
    let bottom = Line::from(vec![
        if new > 0 {
            Span::styled(
                format!(" ⇣ {new} new (End) "),
                Style::new().fg(Color::Black).bg(Color::Yellow),
            )
        } else {
            Span::raw("")
        },
        Span::styled(
            format!(
                " {}-{} of {n}{} ",
                if n == 0 { 0 } else { top + 1 },
                (top + h).min(n),
                if ui.logs.anchor.is_none() {
                    " · following"
                } else {
                    ""
                }
            ),
            Style::new().fg(Color::DarkGray),
        ),
    ])
    .right_aligned();
    block = block.title_bottom(bottom);
    block.render(area, buf);
    let matches = ui.logs.matches();
    for (row, idx) in (top..(top + h).min(n)).enumerate() {
        let Some(id) = matches.get(idx) else { break };
        if let Some(r) = vm.logs.get(*id) {
            let line = Line::from(fmt_record(r, inner.width as usize));
            put_line(buf, inner.x, inner.y + row as u16, &line, inner.width);
        }
    }
    if n == 0 && h > 0 {
        put(
            buf,
            inner.x,
            inner.y,
            "no matching records (x clears the filters)",
            inner.width as usize,
            Style::new().fg(Color::DarkGray),
        );
    }
}

fn status_of(e: &ToolEntry, clock: DateTime<Utc>) -> (String, Style) {
    match e.status {
        None => (
            format!(
                "running {}",
                fmt_dur_ms((clock - e.started).num_milliseconds())
            ),
            Style::new().fg(Color::Yellow),
        ),
        Some(ToolStatus::Ok) => (
            format!("ok {}", fmt_dur_ms(e.duration_ms.unwrap_or(0) as i64)),
            Style::new().fg(Color::Green),
        ),
        Some(ToolStatus::Error) => (
            format!("error {}", fmt_dur_ms(e.duration_ms.unwrap_or(0) as i64)),
            Style::new().fg(Color::Red),
        ),
        Some(ToolStatus::TimedOut) => ("timed out".into(), Style::new().fg(Color::Red)),
        Some(ToolStatus::Cancelled) => ("cancelled".into(), Style::new().fg(Color::DarkGray)),
    }
}

fn render_timeline(vm: &ViewModel, ui: &UiState, now: DateTime<Utc>, area: Rect, buf: &mut Buffer) {
    let focused = ui.overlay.is_none() && ui.focus == Focus::Timeline;
    let rows = ui::visible_timeline_rows(vm, ui);
    let running = vm.run.as_ref().map_or(0, |r| {
        r.timeline
            .rows
            .iter()
            .filter(|x| matches!(x, TimelineRow::Call(e) if e.status.is_none()))
            .count()
    });
    let title = Line::from(vec![
        Span::styled(" Tool timeline ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("{} calls", rows.len())),
        if running > 0 {
            Span::styled(
                format!(" · {running} running "),
                Style::new().fg(Color::Yellow),
            )
        } else {
            Span::raw(" ")
        },
        Span::styled(
            if ui.timeline_hide_workflow {
                "(workflow hidden: w) "
            } else {
                ""
            },
            Style::new().fg(Color::DarkGray),
        ),
    ]);
    let block = pane_block(title, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(run) = &vm.run else { return };
    if inner.height < 2 || inner.width < 10 {
        return;
    }
    let clock = run.clock(now);
    let origin = run.timeline.origin().unwrap_or(run.started_at);
    let span_ms = ((clock - origin).num_milliseconds()).max(1) as f64;
    let w = inner.width as usize;
    // Columns: agent 10, tool 22, start 7, bar, status 14, preview rest.
    let agent_w = 10.min(w / 6);
    let tool_w = 22.min(w / 4);
    let start_w = 8;
    let status_w = 15;
    let fixed = agent_w + tool_w + start_w + status_w + 4;
    let bar_w = (w.saturating_sub(fixed) / 2).clamp(0, 40);
    let prev_w = w.saturating_sub(fixed + bar_w);
    let header = format!(
        "{:<aw$} {:<tw$} {:>sw$} {:<bw$} {:<stw$} {}",
        "agent",
        "server/tool",
        "start",
        "time →",
        "status",
        "args → result",
        aw = agent_w,
        tw = tool_w,
        sw = start_w,
        bw = bar_w,
        stw = status_w
    );
    put(
        buf,
        inner.x,
        inner.y,
        &header,
        w,
        Style::new()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::UNDERLINED),
    );
    let h = (inner.height - 1) as usize;
    let n = rows.len();
    let sel_pos = ui
        .timeline_sel
        .and_then(|s| rows.iter().position(|&r| r == s));
    let top = match sel_pos {
        None => n.saturating_sub(h),
        Some(p) => p
            .saturating_sub(h.saturating_sub(1))
            .min(n.saturating_sub(h))
            .max(if p >= h { p + 1 - h } else { 0 }),
    };
    for (k, &ri) in rows.iter().enumerate().skip(top).take(h) {
        let y = inner.y + 1 + (k - top) as u16;
        let selected = focused && (sel_pos == Some(k) || (sel_pos.is_none() && k + 1 == n));
        let Some(row) = run.timeline.rows.get(ri) else {
            continue;
        };
        match row {
            TimelineRow::Call(e) => {
                let agent = truncate(e.agent.as_ref().map_or("-", |a| a.as_str()), agent_w);
                let name = super::model::tool_label(e.server.as_deref(), &e.tool);
                let start = format!("+{}", fmt_dur_ms((e.started - origin).num_milliseconds()));
                let end = e.ended.unwrap_or(clock);
                let off = (((e.started - origin).num_milliseconds() as f64 / span_ms)
                    * bar_w as f64) as usize;
                let len = (((end - e.started).num_milliseconds() as f64 / span_ms) * bar_w as f64)
                    .ceil()
                    .max(1.0) as usize;
                let off = off.min(bar_w.saturating_sub(1));
                let len = len.min(bar_w - off).max(usize::from(bar_w > 0));
                let (status, sst) = status_of(e, clock);
                let mut bar = " ".repeat(off);
                bar.push_str(&"█".repeat(len));
                bar.push_str(&" ".repeat(bar_w.saturating_sub(off + len)));
                let args = e.arguments.to_string();
                let preview = match &e.result {
                    Some(r) => format!(
                        "{} → {}",
                        truncate(&args, 30),
                        r.lines().next().unwrap_or("")
                    ),
                    None => match &e.progress {
                        Some((p, t, m)) => format!(
                            "{} ⋯ {}{}{}",
                            truncate(&args, 30),
                            p,
                            t.map(|t| format!("/{t}")).unwrap_or_default(),
                            m.as_ref().map(|m| format!(" {m}")).unwrap_or_default()
                        ),
                        None => args,
                    },
                };
                let base = if selected {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else {
                    Style::new()
                };
                let line = Line::from(vec![
                    Span::styled(format!("{agent:<agent_w$} "), base.fg(Color::Magenta)),
                    Span::styled(format!("{:<tool_w$} ", truncate(&name, tool_w)), base),
                    Span::styled(format!("{start:>start_w$} "), base.fg(Color::DarkGray)),
                    Span::styled(format!("{bar} "), sst),
                    Span::styled(
                        format!("{:<status_w$} ", truncate(&status, status_w)),
                        base.patch(sst),
                    ),
                    Span::styled(
                        truncate(&preview.replace('\n', " "), prev_w),
                        base.fg(Color::DarkGray),
                    ),
                ]);
                put_line(buf, inner.x, y, &line, inner.width);
            }
            TimelineRow::Marker {
                at,
                server,
                level,
                text,
            } => {
                let mut st = level_style(*level).add_modifier(Modifier::BOLD);
                if selected {
                    st = st.add_modifier(Modifier::REVERSED);
                }
                let s = format!(
                    "── [{server}] {text} at +{} ──",
                    fmt_dur_ms((*at - origin).num_milliseconds())
                );
                put(buf, inner.x, y, &s, w, st);
            }
        }
    }
    if n == 0 && h > 0 {
        put(
            buf,
            inner.x,
            inner.y + 1,
            "no tool calls yet",
            w,
            Style::new().fg(Color::DarkGray),
        );
    }
}

fn render_input(ui: &UiState, area: Rect, buf: &mut Buffer) {
    let focused = ui.input_focused && ui.overlay.is_none();
    let title = if focused {
        " Ask (Enter send · Alt/Shift+Enter newline · Esc leave) "
    } else {
        " Ask (i or Enter to type) "
    };
    let mut ta = ui.input.clone();
    ta.set_block(pane_block(Line::from(title), focused));
    if !focused {
        ta.set_cursor_style(Style::new());
    }
    (&ta).render(area, buf);
}

fn render_hints(vm: &ViewModel, ui: &UiState, areas: &Areas, buf: &mut Buffer) {
    let area = areas.hints;
    if area.height == 0 {
        return;
    }
    let w = area.width as usize;
    if ui.confirm_quit {
        put(
            buf,
            area.x,
            area.y,
            "Agents are still running. Press Ctrl-C again (or y) to cancel the run and quit; any other key continues.",
            w,
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        );
        return;
    }
    if let Some(p) = &ui.prompt {
        let (label, text) = match p {
            Prompt::Search(s) => ("search: /", s),
            Prompt::LogText(s) => (
                if ui.logs.filter().regex {
                    "log regex: "
                } else {
                    "log filter: "
                },
                s,
            ),
        };
        let x = put(buf, area.x, area.y, label, w, Style::new().fg(Color::Cyan));
        let x = put(
            buf,
            x,
            area.y,
            text,
            w.saturating_sub(label.len()),
            Style::new(),
        );
        put(buf, x, area.y, "█", 1, Style::new().fg(Color::Cyan));
        return;
    }
    if let Some(t) = &ui.toast {
        put(buf, area.x, area.y, t, w, Style::new().fg(Color::Yellow));
        return;
    }
    let hints: &[(&str, &str)] = match (&ui.overlay, ui.focus) {
        (Some(Overlay::Help), _) => &[("Esc/?", "close")],
        (Some(_), _) => &[
            ("Esc", "close"),
            ("PgUp/PgDn", "page"),
            ("Home/End", "top/follow"),
            ("/", "search"),
            ("n/N", "next/prev"),
            ("s", "save"),
        ],
        (None, _) if ui.input_focused && areas.input.is_some() => &[
            ("Enter", "send"),
            ("Alt+Enter", "newline"),
            ("Esc", "browse panes"),
            ("Ctrl-C", "quit"),
        ],
        (None, Focus::Logs) => &[
            ("v", "level"),
            ("a", "agent"),
            ("S", "stage"),
            ("c", "category"),
            ("/", "text"),
            ("r", "regex"),
            ("x", "clear"),
            ("Tab", "pane"),
            ("?", "help"),
        ],
        (None, Focus::Timeline) => &[
            ("↑/↓", "select"),
            ("Enter", "details"),
            ("w", "workflow calls"),
            ("Tab", "pane"),
            ("?", "help"),
        ],
        (None, Focus::Agent(_)) if ui.replay => &[
            ("Space", "pause"),
            ("s", "step"),
            ("1/2/0", "speed"),
            ("i", "instant"),
            ("?", "help"),
            ("Tab", "pane"),
            ("PgUp/PgDn", "page"),
            ("l", "logs"),
            ("t", "timeline"),
            ("f", "final"),
            ("q", "quit"),
        ],
        (None, Focus::Agent(_)) => &[
            ("?", "help"),
            ("Tab", "pane"),
            ("z", "zoom"),
            ("PgUp/PgDn", "page"),
            ("End", "follow"),
            ("/", "search"),
            ("[ ]", "answers"),
            ("l", "logs"),
            ("t", "timeline"),
            ("f", "final"),
            ("q", "quit"),
        ],
    };
    let mut spans = vec![];
    for (k, d) in hints {
        spans.push(Span::styled(
            format!(" {k}"),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(
            format!(" {d} "),
            Style::new().fg(Color::DarkGray),
        ));
    }
    if vm.running() {
        spans.push(Span::styled(
            " Ctrl-C cancel",
            Style::new().fg(Color::DarkGray),
        ));
    }
    put_line(buf, area.x, area.y, &Line::from(spans), area.width);
}

// ---------------------------------------------------------------------------------------
// Overlays

/// Every key, for the help overlay and docs.
pub const HELP: &[(&str, &str)] = &[
    ("?", "show / hide this help"),
    ("q", "close overlay; quit (asks while agents run)"),
    (
        "Ctrl-C",
        "quit; while running asks first, a second Ctrl-C cancels and quits",
    ),
    ("Ctrl-X", "cancel the current run (stay in the TUI)"),
    ("Tab / Shift-Tab, ← / →", "next / previous pane"),
    ("1-9", "focus agent N"),
    ("z", "zoom: one agent full width / back to the grid"),
    ("l / t", "show / hide the log pane / the tool timeline"),
    ("f", "final-answer view"),
    ("H", "history of previous turns"),
    ("↑ ↓ / k j", "scroll one line (timeline: select)"),
    ("PgUp PgDn / Space", "scroll one page"),
    ("Home g / End G", "top / bottom and follow new output"),
    ("/ then n N", "search the pane; next / previous match"),
    ("[ ]", "previous / next answer or vote"),
    ("{ }", "previous / next round (launch)"),
    (
        "s",
        "save the final answer / pane transcript / filtered log to a file",
    ),
    ("i / Enter", "type a question (when no run is active)"),
    (
        "Enter · Alt/Shift+Enter",
        "send · new line (in the input box)",
    ),
    ("Ctrl-R", "forget the conversation history (between runs)"),
    (
        "m",
        "mouse capture on/off (off: select text with the terminal)",
    ),
    ("Esc", "close overlay / prompt / search"),
    (
        "Logs: v a S c",
        "cycle level / agent / stage / category filter",
    ),
    ("Logs: / r x", "text filter / regex on-off / clear filters"),
    ("Timeline: Enter w", "call details / hide workflow calls"),
    (
        "Mouse wheel",
        "scroll the pane under the pointer; click focuses",
    ),
    ("Replay: Space s", "pause / resume · step one event"),
    (
        "Replay: 1 2 0 i",
        "speed 1× / 2× / 10× / release everything at once",
    ),
];

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn render_help(area: Rect, buf: &mut Buffer) {
    let kw = HELP.iter().map(|(k, _)| str_width(k)).max().unwrap_or(0) + 2;
    let dw = HELP.iter().map(|(_, d)| str_width(d)).max().unwrap_or(0);
    let r = centered(area, (kw + dw + 2) as u16, HELP.len() as u16 + 2);
    Clear.render(r, buf);
    let block = pane_block(Line::from(" Keys (Esc closes) "), true);
    let inner = block.inner(r);
    block.render(r, buf);
    for (i, (k, d)) in HELP.iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let line = Line::from(vec![
            Span::styled(
                format!("{k:<kw$}"),
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ),
            Span::raw(*d),
        ]);
        put_line(buf, inner.x, y, &line, inner.width);
    }
}

fn render_text_overlay(
    title: &str,
    t: &Transcript,
    scroll: &Scroll,
    search: Option<&Search>,
    area: Rect,
    buf: &mut Buffer,
) {
    Clear.render(area, buf);
    let block = pane_block(Line::from(title.to_owned()), true);
    block.render(area, buf);
    let body = ui::overlay_body(area);
    let (top, total) = draw_transcript(t, scroll, search, body, buf);
    let badge = scroll_badge(t, scroll, top, total, body.height as usize);
    if area.height >= 2 {
        put_line(
            buf,
            area.x + 1,
            area.bottom() - 1,
            &badge,
            area.width.saturating_sub(2),
        );
    }
}

fn render_final(vm: &ViewModel, ui: &UiState, area: Rect, buf: &mut Buffer) {
    let Some(run) = &vm.run else { return };
    render_text_overlay(
        " Final answer ",
        &run.final_text,
        &ui.final_scroll,
        ui.final_search.as_ref(),
        area,
        buf,
    );
    if area.height < 3 {
        return;
    }
    let tally: Vec<String> = run
        .tally()
        .iter()
        .map(|(a, n)| format!("{a}: {n}"))
        .collect();
    let mut spans = vec![Span::styled(
        match &run.winner {
            Some(w) => format!("🏆 {w} "),
            None => "no winner ".into(),
        },
        Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
    )];
    spans.push(Span::styled(
        format!("· votes {} ", tally.join(", ")),
        Style::new().fg(Color::Magenta),
    ));
    if let Some(tb) = run.tie_break
        && tb != crate::protocol::TieBreak::None
    {
        spans.push(Span::styled(
            format!("· tie broken ({tb}) "),
            Style::new().fg(Color::Yellow),
        ));
    }
    if !run.final_done && run.is_running() {
        spans.push(Span::styled(
            "· presenting… ",
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(e) = &run.error {
        spans.push(Span::styled(
            format!("· error: {e}"),
            Style::new().fg(Color::Red),
        ));
    }
    put_line(
        buf,
        area.x + 1,
        area.y + 1,
        &Line::from(spans),
        area.width.saturating_sub(2),
    );
}

fn render_engine_error(err: &str, area: Rect, buf: &mut Buffer) {
    let r = centered(area, 70, 8);
    Clear.render(r, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::Red))
        .title(" Engine error ");
    let inner = block.inner(r);
    block.render(r, buf);
    let msg = format!(
        "The engine stopped unexpectedly: {err}. The panes keep what arrived; press s to save a pane, q to quit."
    );
    put_wrapped(buf, inner, &msg, Style::new().fg(Color::Red));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_styles_without_changing_text() {
        let spans = markdown_spans("You arrive at **14:30** via `train` ok");
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].0, spans[0].1), (14, 23));
        assert_eq!((spans[1].0, spans[1].1), (28, 35));
        assert_eq!(markdown_spans("## Title").len(), 1);
        assert!(markdown_spans("unbalanced ** bold").is_empty());
    }

    #[test]
    fn bold_is_drawn_bold() {
        let line = TLine {
            kind: LineKind::Text,
            text: "a **b** c".into(),
            ansi: None,
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 1));
        draw_row(&mut buf, 0, 0, 20, &line, 0, line.text.len(), None);
        assert!(buf[(4, 0)].modifier.contains(Modifier::BOLD));
        assert!(!buf[(0, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(4, 0)].symbol(), "b");
    }
}
