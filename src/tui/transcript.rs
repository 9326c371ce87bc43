//! A scrollable transcript: logical lines (width-agnostic), lazily wrapped with a cache
//! keyed by width, bounded in memory, with marks for answers, votes and rounds.
//!
//! Responsibilities: appending streamed text (split on newlines, sanitised, ANSI colours
//! converted once per committed line via `ansi-to-tui`), dropping the oldest lines past a cap
//! (counted, so the pane can show a marker), mapping visual rows to line slices for a width,
//! and plain-text search.
//! Non-responsibilities: scroll state (that is per view, in `ui`) and drawing (`render`).

use super::wrap;
use ansi_to_tui::IntoText;
use ratatui::style::Style;
use std::cell::RefCell;
use std::collections::VecDeque;

/// What a line is, which decides its style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// Streamed model text.
    Text,
    /// Streamed reasoning (dimmed).
    Reasoning,
    /// Answer text (from `new_answer`, streamed from its arguments).
    Answer,
    /// A compact tool-call cell.
    Tool,
    /// A tool result line.
    ToolResult,
    /// A vote.
    Vote,
    /// "answer accepted", winner and similar highlights.
    Marker,
    /// Launch / restart separators.
    Separator,
    /// Informational notice.
    Notice,
    /// Warning.
    Warn,
    /// Error.
    Error,
    /// The user's question.
    Question,
}

/// Kinds of jump targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// An answer starts here.
    Answer,
    /// A vote was cast here.
    Vote,
    /// A launch (round) starts here.
    Round,
}

/// A style run from ANSI escapes, as byte offsets into the line's visible text.
#[derive(Clone, Debug, PartialEq)]
pub struct AnsiRun {
    /// Start byte.
    pub start: u32,
    /// End byte.
    pub end: u32,
    /// Style of that run.
    pub style: Style,
}

/// One logical line.
#[derive(Clone, Debug, PartialEq)]
pub struct TLine {
    /// Kind.
    pub kind: LineKind,
    /// Visible text (escape sequences removed once committed).
    pub text: String,
    /// Colour runs, if the line had ANSI escapes.
    pub ansi: Option<Box<[AnsiRun]>>,
}

/// One visual row: a slice of a logical line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowRef {
    /// Absolute line number (counting dropped lines).
    pub line: u64,
    /// Row within the line.
    pub sub: u32,
    /// Byte range in the line's text.
    pub start: usize,
    /// End byte.
    pub end: usize,
}

#[derive(Clone, Debug, Default)]
struct WrapCache {
    width: usize,
    first_abs: u64,
    /// `cum[i]` = visual rows before closed line `i` (relative to `first_abs`).
    cum: Vec<u64>,
}

/// Default cap on lines kept per transcript.
pub const DEFAULT_MAX_LINES: usize = 200_000;

/// A bounded transcript of logical lines.
#[derive(Debug)]
pub struct Transcript {
    lines: VecDeque<TLine>,
    dropped: u64,
    open: bool,
    max_lines: usize,
    marks: Vec<(u64, MarkKind)>,
    revision: u64,
    /// Raw text (with escapes) of the open line, kept only when it contains ANSI escapes so
    /// each appended chunk re-derives that one line's visible text and colours.
    raw_tail: Option<String>,
    cache: RefCell<WrapCache>,
}

impl Clone for Transcript {
    fn clone(&self) -> Self {
        Self {
            lines: self.lines.clone(),
            dropped: self.dropped,
            open: self.open,
            max_lines: self.max_lines,
            marks: self.marks.clone(),
            revision: self.revision,
            raw_tail: self.raw_tail.clone(),
            cache: RefCell::new(WrapCache::default()),
        }
    }
}

impl PartialEq for Transcript {
    fn eq(&self, other: &Self) -> bool {
        // The wrap cache is derived data and never part of equality.
        self.dropped == other.dropped
            && self.open == other.open
            && self.marks == other.marks
            && self.raw_tail == other.raw_tail
            && self.lines == other.lines
    }
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINES)
    }
}

fn sanitize(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.bytes().any(|b| b < 0x20 && b != b'\n' && b != 0x1b) && !s.contains('\u{7f}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\n' | '\u{1b}' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Split ANSI-coloured text into visible text plus style runs.
pub fn parse_ansi(raw: &str) -> (String, Option<Box<[AnsiRun]>>) {
    if !raw.contains('\u{1b}') {
        return (raw.to_owned(), None);
    }
    match raw.as_bytes().into_text() {
        Ok(text) => {
            let mut plain = String::with_capacity(raw.len());
            let mut runs = Vec::new();
            for line in text.lines {
                for span in line.spans {
                    let start = plain.len() as u32;
                    plain.push_str(span.content.as_ref());
                    let style = line.style.patch(span.style);
                    runs.push(AnsiRun {
                        start,
                        end: plain.len() as u32,
                        style,
                    });
                }
            }
            (plain, Some(runs.into_boxed_slice()))
        }
        Err(_) => (raw.replace('\u{1b}', "␛"), None),
    }
}

impl Transcript {
    /// An empty transcript keeping at most `max_lines` lines.
    pub fn new(max_lines: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            dropped: 0,
            open: false,
            max_lines: max_lines.max(16),
            marks: Vec::new(),
            revision: 0,
            raw_tail: None,
            cache: RefCell::new(WrapCache::default()),
        }
    }

    /// Lines dropped from the front to bound memory.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Absolute number of the first kept line.
    pub fn first_line(&self) -> u64 {
        self.dropped
    }

    /// Absolute line count (kept plus dropped).
    pub fn total_lines(&self) -> u64 {
        self.dropped + self.lines.len() as u64
    }

    /// Kept lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when nothing was ever appended.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.dropped == 0
    }

    /// Bumped on every change.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// A line by absolute number.
    pub fn line(&self, abs: u64) -> Option<&TLine> {
        let i = abs.checked_sub(self.dropped)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    /// Jump marks (absolute line, kind), in order.
    pub fn marks(&self) -> &[(u64, MarkKind)] {
        &self.marks
    }

    /// All kept lines' text joined with newlines (for saving).
    pub fn plain_text(&self) -> String {
        let mut s = String::new();
        if self.dropped > 0 {
            s.push_str(&format!(
                "[{} earlier lines were dropped from memory]\n",
                self.dropped
            ));
        }
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(&l.text);
        }
        s
    }

    /// Add a jump mark at the next line that will be written.
    pub fn mark_next(&mut self, kind: MarkKind) {
        self.close_open();
        let at = self.total_lines();
        self.marks.push((at, kind));
    }

    /// Add a jump mark at an absolute line.
    pub fn mark_at(&mut self, line: u64, kind: MarkKind) {
        let pos = self.marks.partition_point(|(l, _)| *l <= line);
        self.marks.insert(pos, (line, kind));
    }

    fn close_open(&mut self) {
        self.open = false;
        self.raw_tail = None;
    }

    fn append_open(&mut self, piece: &str) {
        let Some(last) = self.lines.back_mut() else {
            return;
        };
        if self.raw_tail.is_none() && !piece.contains('\u{1b}') {
            last.text.push_str(piece);
            return;
        }
        let raw = self.raw_tail.get_or_insert_with(|| last.text.clone());
        raw.push_str(piece);
        let (plain, runs) = parse_ansi(raw);
        last.text = plain;
        last.ansi = runs;
        if raw.len() > 16 * 1024 {
            // Bound the per-chunk re-parse cost of one endless coloured line.
            self.close_open();
        }
    }

    /// End the current streamed line, if any.
    pub fn finish_line(&mut self) {
        if self.open {
            self.close_open();
            self.revision += 1;
        }
    }

    fn push_new(&mut self, kind: LineKind, text: &str, open: bool) {
        self.lines.push_back(TLine {
            kind,
            text: String::new(),
            ansi: None,
        });
        self.open = true;
        self.raw_tail = None;
        self.append_open(text);
        if !open {
            self.close_open();
        }
    }

    /// Append streamed text of `kind`: continues the open line of the same kind, and every
    /// `\n` ends a line.
    pub fn push_text(&mut self, kind: LineKind, text: &str) {
        if text.is_empty() {
            return;
        }
        let text = sanitize(text);
        if self.open && self.lines.back().is_some_and(|l| l.kind != kind) {
            self.close_open();
        }
        for (i, piece) in text.split('\n').enumerate() {
            if i > 0 {
                if self.open {
                    self.close_open();
                } else {
                    self.push_new(kind, "", false);
                }
            }
            if !piece.is_empty() {
                if self.open {
                    self.append_open(piece);
                } else {
                    self.push_new(kind, piece, true);
                }
            }
        }
        self.revision += 1;
        self.enforce_cap();
    }

    /// Append complete lines of `kind` (ends any open line first).
    pub fn push_line(&mut self, kind: LineKind, text: &str) {
        self.close_open();
        let text = sanitize(text);
        for piece in text.split('\n') {
            self.push_new(kind, piece, false);
        }
        self.revision += 1;
        self.enforce_cap();
    }

    fn enforce_cap(&mut self) {
        if self.lines.len() <= self.max_lines {
            return;
        }
        // Drop in batches of 10% so the wrap cache is rebuilt rarely.
        let target = self.max_lines - self.max_lines / 10;
        let n = self.lines.len() - target;
        self.lines.drain(..n);
        self.dropped += n as u64;
        let first = self.dropped;
        self.marks.retain(|(l, _)| *l >= first);
    }

    fn closed_len(&self) -> usize {
        if self.open {
            self.lines.len().saturating_sub(1)
        } else {
            self.lines.len()
        }
    }

    fn rows_of(line: &TLine, width: usize) -> u64 {
        wrap::count_rows(&line.text, width) as u64
    }

    /// Make sure the wrap cache covers every closed line at `width`.
    fn ensure_cache(&self, width: usize) {
        let mut c = self.cache.borrow_mut();
        if c.width == width && c.first_abs < self.dropped && !c.cum.is_empty() {
            // Lines were dropped from the front: shift the prefix sums instead of re-wrapping.
            let k = usize::try_from(self.dropped - c.first_abs).unwrap_or(usize::MAX);
            if k < c.cum.len() {
                let base = c.cum[k];
                c.cum.drain(..k);
                for v in c.cum.iter_mut() {
                    *v -= base;
                }
                c.first_abs = self.dropped;
            }
        }
        if c.width != width || c.first_abs != self.dropped || c.cum.is_empty() {
            c.width = width;
            c.first_abs = self.dropped;
            c.cum.clear();
            c.cum.push(0);
        }
        let closed = self.closed_len();
        if c.cum.len() > closed + 1 {
            // Cannot happen with append-only lines; rebuild defensively.
            c.cum.truncate(1);
        }
        let mut acc = c.cum.last().copied().unwrap_or(0);
        let from = c.cum.len() - 1;
        c.cum.reserve(closed.saturating_sub(from));
        for line in self.lines.iter().take(closed).skip(from) {
            acc += Self::rows_of(line, width);
            c.cum.push(acc);
        }
    }

    /// Total visual rows at `width`.
    pub fn visual_rows(&self, width: usize) -> u64 {
        let width = width.max(1);
        self.ensure_cache(width);
        let c = self.cache.borrow();
        let closed = self.closed_len();
        let mut total = c.cum.get(closed).copied().unwrap_or(0);
        if self.open
            && let Some(last) = self.lines.back()
        {
            total += Self::rows_of(last, width);
        }
        total
    }

    /// First visual row of absolute line `abs` at `width` (clamped to the kept range).
    pub fn row_of_line(&self, abs: u64, width: usize) -> u64 {
        let width = width.max(1);
        self.ensure_cache(width);
        let c = self.cache.borrow();
        let rel = abs.saturating_sub(self.dropped) as usize;
        let closed = self.closed_len();
        if rel <= closed {
            c.cum.get(rel).copied().unwrap_or(0)
        } else {
            c.cum.get(closed).copied().unwrap_or(0)
        }
    }

    /// The (absolute line, row within line) at visual row `row`.
    pub fn line_at_row(&self, row: u64, width: usize) -> (u64, u32) {
        let width = width.max(1);
        self.ensure_cache(width);
        let c = self.cache.borrow();
        let closed = self.closed_len();
        let closed_rows = c.cum.get(closed).copied().unwrap_or(0);
        if row >= closed_rows {
            if self.open {
                return (
                    self.dropped + closed as u64,
                    u32::try_from(row - closed_rows).unwrap_or(u32::MAX),
                );
            }
            return (self.total_lines().saturating_sub(1), 0);
        }
        // Last i with cum[i] <= row.
        let i = c.cum[..=closed]
            .partition_point(|&x| x <= row)
            .saturating_sub(1);
        let sub = row - c.cum[i];
        (
            self.dropped + i as u64,
            u32::try_from(sub).unwrap_or(u32::MAX),
        )
    }

    /// The visual rows `top .. top + height` at `width`.
    pub fn rows(&self, top: u64, height: usize, width: usize) -> Vec<RowRef> {
        let width = width.max(1);
        let mut out = Vec::with_capacity(height);
        if height == 0 || self.lines.is_empty() {
            return out;
        }
        let (mut abs, mut sub) = self.line_at_row(top, width);
        while out.len() < height {
            let Some(line) = self.line(abs) else { break };
            let mut k = 0u32;
            wrap::wrap_with(&line.text, width, |a, b| {
                if k >= sub && out.len() < height {
                    out.push(RowRef {
                        line: abs,
                        sub: k,
                        start: a,
                        end: b,
                    });
                }
                k += 1;
            });
            abs += 1;
            sub = 0;
        }
        out
    }

    /// Absolute numbers of lines containing `query` (case-insensitive), from `from` on.
    pub fn search(&self, query: &str, from: u64) -> Vec<u64> {
        let q = query.to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let start = from.max(self.dropped);
        let mut out = Vec::new();
        for abs in start..self.total_lines() {
            if let Some(l) = self.line(abs)
                && contains_ci(&l.text, &q)
            {
                out.push(abs);
            }
        }
        out
    }
}

/// Case-insensitive substring test; `needle_lower` must already be lowercase.
pub fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_ascii() {
        let n = needle_lower.as_bytes();
        let h = hay.as_bytes();
        if n.len() > h.len() {
            return false;
        }
        return h
            .windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    hay.to_lowercase().contains(needle_lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &Transcript) -> Vec<String> {
        (t.first_line()..t.total_lines())
            .map(|i| t.line(i).map(|l| l.text.clone()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn streaming_splits_on_newlines_and_kind_changes() {
        let mut t = Transcript::default();
        t.push_text(LineKind::Reasoning, "think");
        t.push_text(LineKind::Text, "Hel");
        t.push_text(LineKind::Text, "lo\n\nwor");
        t.push_text(LineKind::Text, "ld\tx");
        assert_eq!(texts(&t), vec!["think", "Hello", "", "world    x"]);
    }

    #[test]
    fn ansi_is_parsed_on_commit() {
        let mut t = Transcript::default();
        t.push_text(LineKind::Text, "\u{1b}[31mred\u{1b}[0m plain\n");
        let l = t.line(0).unwrap();
        assert_eq!(l.text, "red plain");
        assert!(l.ansi.is_some());
    }

    #[test]
    fn cap_drops_oldest_and_keeps_rows_consistent() {
        let mut t = Transcript::new(100);
        for i in 0..250 {
            t.push_line(LineKind::Text, &format!("line {i} with some words"));
        }
        assert!(t.len() <= 100);
        assert_eq!(t.total_lines(), 250);
        let w = 10;
        let total = t.visual_rows(w);
        let rows = t.rows(0, total as usize, w);
        assert_eq!(rows.len() as u64, total);
        assert_eq!(rows[0].line, t.first_line());
        let (l, s) = t.line_at_row(total - 1, w);
        assert_eq!(l, 249);
        assert!(s > 0);
    }
}
