//! The log ring (every event and log record, bounded) and the filtered view over it.
//!
//! Responsibilities: turning events into one-line records (consecutive streamed deltas of one
//! agent are coalesced into one record), dropping the oldest past a cap, and the live filter
//! (level, agent, stage, category, substring or regex) whose matches are maintained
//! incrementally on append and recomputed in bounded chunks when the filter changes, so a
//! filter change over 100,000 records never freezes the UI.
//! Non-responsibilities: drawing (`render`) and key handling (`ui`).

use crate::protocol::{AgentId, Category, Event, EventMsg, Level, Stage, ToolStatus};
use chrono::{DateTime, Utc};
use regex::Regex;
use std::collections::VecDeque;

/// One record of the log pane.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// Event sequence number (of the first event, for coalesced deltas).
    pub seq: u64,
    /// Time.
    pub at: DateTime<Utc>,
    /// Severity.
    pub level: Level,
    /// Category.
    pub category: Category,
    /// Pipeline stage.
    pub stage: Stage,
    /// Agent, if any.
    pub agent: Option<AgentId>,
    /// Event type tag.
    pub kind: &'static str,
    /// Message.
    pub text: String,
}

/// Default number of records kept.
pub const DEFAULT_LOG_CAP: usize = 100_000;
const COALESCE_MAX: usize = 2_000;

/// Bounded ring of log records with stable ids.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRing {
    records: VecDeque<LogRecord>,
    first_id: u64,
    cap: usize,
    /// Bumped whenever the last record is extended in place.
    tail_rev: u64,
}

impl Default for LogRing {
    fn default() -> Self {
        Self::new(DEFAULT_LOG_CAP)
    }
}

impl LogRing {
    /// A ring keeping at most `cap` records.
    pub fn new(cap: usize) -> Self {
        Self {
            records: VecDeque::new(),
            first_id: 0,
            cap: cap.max(1),
            tail_rev: 0,
        }
    }
    /// Id of the oldest kept record.
    pub fn first_id(&self) -> u64 {
        self.first_id
    }
    /// One past the newest id.
    pub fn end_id(&self) -> u64 {
        self.first_id + self.records.len() as u64
    }
    /// Records kept.
    pub fn len(&self) -> usize {
        self.records.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// Revision of in-place extensions of the newest record.
    pub fn tail_rev(&self) -> u64 {
        self.tail_rev
    }
    /// A record by id.
    pub fn get(&self, id: u64) -> Option<&LogRecord> {
        let i = id.checked_sub(self.first_id)?;
        self.records.get(usize::try_from(i).ok()?)
    }

    /// Append a record; streamed deltas extend the previous record of the same agent and kind.
    pub fn push(&mut self, rec: LogRecord, coalesce: bool) {
        if coalesce
            && let Some(last) = self.records.back_mut()
            && last.kind == rec.kind
            && last.agent == rec.agent
            && last.text.len() < COALESCE_MAX
        {
            last.text.push_str(&rec.text);
            self.tail_rev += 1;
            return;
        }
        if self.records.len() >= self.cap {
            self.records.pop_front();
            self.first_id += 1;
        }
        self.records.push_back(rec);
    }

    /// Append the record(s) for one event.
    pub fn push_event(&mut self, ev: &Event) {
        // Fast path for streamed deltas: extend the newest record without building a new one.
        let delta_text = match &ev.msg {
            EventMsg::TextDelta { text }
            | EventMsg::ReasoningDelta { text }
            | EventMsg::FinalPresentationDelta { text } => Some(text.as_str()),
            EventMsg::ToolArgsDelta { delta } => Some(delta.as_str()),
            _ => None,
        };
        if let Some(text) = delta_text
            && let Some(last) = self.records.back_mut()
            && last.kind == ev.msg.kind()
            && last.agent == ev.agent
            && last.text.len() < COALESCE_MAX
        {
            last.text.push_str(text);
            self.tail_rev += 1;
            return;
        }
        let coalesce = matches!(
            ev.msg,
            EventMsg::TextDelta { .. }
                | EventMsg::ReasoningDelta { .. }
                | EventMsg::ToolArgsDelta { .. }
                | EventMsg::FinalPresentationDelta { .. }
        );
        self.push(
            LogRecord {
                seq: ev.seq,
                at: ev.at,
                level: ev.msg.level(),
                category: ev.msg.category(),
                stage: ev.stage,
                agent: ev.agent.clone(),
                kind: ev.msg.kind(),
                text: describe(&ev.msg),
            },
            coalesce,
        );
    }
}

fn status_label(s: ToolStatus) -> &'static str {
    match s {
        ToolStatus::Ok => "ok",
        ToolStatus::Error => "error",
        ToolStatus::TimedOut => "timed out",
        ToolStatus::Cancelled => "cancelled",
    }
}

/// One-line human description of an event for the log pane.
pub fn describe(msg: &EventMsg) -> String {
    match msg {
        EventMsg::RunStarted {
            question, agents, ..
        } => format!(
            "run started with {} agents: {}",
            agents.len(),
            question.replace('\n', " ")
        ),
        EventMsg::RunFinished {
            outcome,
            winner,
            totals,
            error,
            ..
        } => {
            let mut s = format!("run finished: {outcome}");
            if let Some(w) = winner {
                s.push_str(&format!(", winner {w}"));
            }
            s.push_str(&format!(
                " ({} ms, {} answers, {} votes, {} restarts)",
                totals.duration_ms, totals.answers, totals.votes, totals.restarts
            ));
            if let Some(e) = error {
                s.push_str(&format!(": {e}"));
            }
            s
        }
        EventMsg::StageStarted { stage } => format!("stage {} started", stage.label()),
        EventMsg::StageFinished { stage, duration_ms } => {
            format!("stage {} finished in {duration_ms} ms", stage.label())
        }
        EventMsg::AgentLaunched {
            reason,
            answers_seen,
        } => format!("launched ({reason}), sees [{}]", answers_seen.join(", ")),
        EventMsg::AgentRestarted { caused_by } => match caused_by {
            Some(a) => format!("restarting: new answer from {a}"),
            None => "restarting".into(),
        },
        EventMsg::AgentRetried {
            error,
            failures,
            max_failures,
            delay_ms,
        } => format!("retry {failures}/{max_failures} in {delay_ms} ms: {error}"),
        EventMsg::AgentFailed { error } => format!("failed: {error}"),
        EventMsg::AgentTimedOut { limit_secs } => format!("timed out after {limit_secs} s"),
        EventMsg::AgentStateChanged { state } => format!("state {state}"),
        EventMsg::TextDelta { text }
        | EventMsg::ReasoningDelta { text }
        | EventMsg::FinalPresentationDelta { text } => text.clone(),
        EventMsg::AgentNotice { text, .. } => text.clone(),
        EventMsg::Escalated { step, reason } => format!("escalated to {step}: {reason}"),
        EventMsg::ToolCallStarted { tool, kind } => format!("tool call {tool} ({kind}) started"),
        EventMsg::ToolArgsDelta { delta } => delta.clone(),
        EventMsg::ToolCallBegin {
            tool,
            server,
            arguments,
            ..
        } => {
            let args = arguments.to_string();
            let args: String = args.chars().take(300).collect();
            match server {
                Some(s) => format!("call {s}/{tool} {args}"),
                None => format!("call {tool} {args}"),
            }
        }
        EventMsg::ToolCallProgress {
            progress,
            total,
            message,
        } => {
            let mut s = match total {
                Some(t) => format!("progress {progress}/{t}"),
                None => format!("progress {progress}"),
            };
            if let Some(m) = message {
                s.push_str(&format!(": {m}"));
            }
            s
        }
        EventMsg::ToolCallEnd {
            tool,
            status,
            duration_ms,
            result,
            truncated,
        } => {
            let r: String = result.chars().take(300).collect();
            format!(
                "{tool} {} in {duration_ms} ms{}: {r}",
                status_label(*status),
                if *truncated { " (truncated)" } else { "" }
            )
        }
        EventMsg::AnswerSubmitted { label, content } => {
            format!("answer accepted as {label} ({} chars)", content.len())
        }
        EventMsg::AnswerRejected { reason } => format!("answer rejected: {reason}"),
        EventMsg::VoteCast {
            voted_for,
            label,
            reason,
        } => format!("voted for {label} ({voted_for}): {reason}"),
        EventMsg::VoteIgnored { reason } => format!("vote ignored: {reason}"),
        EventMsg::VotesInvalidated { by, count } => {
            format!("{count} votes invalidated by a new answer from {by}")
        }
        EventMsg::WinnerSelected {
            winner,
            tally,
            tie_break,
        } => {
            let t: Vec<String> = tally.iter().map(|(a, n)| format!("{a}: {n}")).collect();
            format!("winner {winner} ({}) tie-break {tie_break}", t.join(", "))
        }
        EventMsg::FinalAnswer { text, presented } => format!(
            "final answer ({} chars, {})",
            text.len(),
            if *presented { "presented" } else { "stored" }
        ),
        EventMsg::BackendRetry {
            retry,
            delay_ms,
            error,
        } => format!("backend retry {retry} in {delay_ms} ms: {error}"),
        EventMsg::BackendError { kind, message } => format!("backend error {kind}: {message}"),
        EventMsg::Usage {
            input_tokens,
            output_tokens,
            estimated,
        } => format!(
            "usage in={input_tokens} out={output_tokens}{}",
            if *estimated { " (estimated)" } else { "" }
        ),
        EventMsg::McpServer {
            server, message, ..
        } => format!("[{server}] {message}"),
        EventMsg::CircuitBreaker { server, state } => {
            format!("[{server}] circuit breaker {state}")
        }
        EventMsg::Log { message, .. } => message.clone(),
    }
}

/// The log pane's filter.
#[derive(Clone, Debug, PartialEq)]
pub struct LogFilter {
    /// Minimum level shown.
    pub min_level: Level,
    /// Only this agent.
    pub agent: Option<AgentId>,
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this category.
    pub category: Option<Category>,
    /// Text to find (empty: no text filter).
    pub text: String,
    /// Treat `text` as a regular expression.
    pub regex: bool,
}

impl Default for LogFilter {
    fn default() -> Self {
        Self {
            min_level: Level::Trace,
            agent: None,
            stage: None,
            category: None,
            text: String::new(),
            regex: false,
        }
    }
}

#[derive(Clone, Debug)]
enum Matcher {
    All,
    Sub(String),
    Re(Regex),
}

/// Matches of a [`LogFilter`] over a [`LogRing`], maintained incrementally.
#[derive(Clone, Debug)]
pub struct LogView {
    filter: LogFilter,
    matcher: Matcher,
    /// Error of an invalid regex (then nothing matches).
    pub regex_error: Option<String>,
    matches: VecDeque<u64>,
    scanned_to: u64,
    tail_rev_seen: u64,
    /// Id of the record at the top when scrolled; `None` follows the tail.
    pub anchor: Option<u64>,
    /// New matching records since the user scrolled.
    pub seen_matches: u64,
    total_matched: u64,
}

impl Default for LogView {
    fn default() -> Self {
        Self::new(LogFilter::default())
    }
}

impl LogView {
    /// A view with `filter`.
    pub fn new(filter: LogFilter) -> Self {
        let mut v = Self {
            filter: LogFilter::default(),
            matcher: Matcher::All,
            regex_error: None,
            matches: VecDeque::new(),
            scanned_to: 0,
            tail_rev_seen: 0,
            anchor: None,
            seen_matches: 0,
            total_matched: 0,
        };
        v.set_filter(filter);
        v
    }

    /// The current filter.
    pub fn filter(&self) -> &LogFilter {
        &self.filter
    }

    /// Replace the filter; matching restarts from the oldest record (in chunks, see `sync`).
    pub fn set_filter(&mut self, filter: LogFilter) {
        self.regex_error = None;
        self.matcher = if filter.text.is_empty() {
            Matcher::All
        } else if filter.regex {
            match regex::RegexBuilder::new(&filter.text)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
            {
                Ok(r) => Matcher::Re(r),
                Err(e) => {
                    self.regex_error = Some(e.to_string());
                    Matcher::Sub("\u{0}never\u{0}".into())
                }
            }
        } else {
            Matcher::Sub(filter.text.to_lowercase())
        };
        self.filter = filter;
        self.matches.clear();
        self.scanned_to = 0;
        self.total_matched = 0;
        self.seen_matches = 0;
        self.anchor = None;
    }

    fn accepts(&self, r: &LogRecord) -> bool {
        let f = &self.filter;
        if r.level < f.min_level {
            return false;
        }
        if let Some(a) = &f.agent
            && r.agent.as_ref() != Some(a)
        {
            return false;
        }
        if f.stage.is_some_and(|s| s != r.stage) {
            return false;
        }
        if f.category.is_some_and(|c| c != r.category) {
            return false;
        }
        match &self.matcher {
            Matcher::All => true,
            Matcher::Sub(q) => {
                super::transcript::contains_ci(&r.text, q)
                    || super::transcript::contains_ci(r.kind, q)
                    || r.agent
                        .as_ref()
                        .is_some_and(|a| super::transcript::contains_ci(a.as_str(), q))
            }
            Matcher::Re(re) => re.is_match(&r.text) || re.is_match(r.kind),
        }
    }

    /// Catch up with `ring`, examining at most `budget` records. Returns true if more work
    /// remains (the caller schedules another pass instead of blocking).
    pub fn sync(&mut self, ring: &LogRing, budget: usize) -> bool {
        let first = ring.first_id();
        while self.matches.front().is_some_and(|&id| id < first) {
            self.matches.pop_front();
        }
        if self.scanned_to < first {
            self.scanned_to = first;
        }
        if ring.tail_rev() != self.tail_rev_seen {
            self.tail_rev_seen = ring.tail_rev();
            // The newest record grew in place: re-evaluate it if it was already scanned.
            let last = ring.end_id().saturating_sub(1);
            if self.scanned_to > last
                && let Some(r) = ring.get(last)
            {
                let had = self.matches.back() == Some(&last);
                let has = self.accepts(r);
                if had && !has {
                    self.matches.pop_back();
                } else if has && !had {
                    self.matches.push_back(last);
                    self.total_matched += 1;
                }
            }
        }
        let end = ring.end_id();
        let stop = end.min(self.scanned_to.saturating_add(budget as u64));
        while self.scanned_to < stop {
            let id = self.scanned_to;
            if let Some(r) = ring.get(id)
                && self.accepts(r)
            {
                self.matches.push_back(id);
                self.total_matched += 1;
            }
            self.scanned_to += 1;
        }
        self.scanned_to < end
    }

    /// Fraction of the ring scanned (1.0 when up to date).
    pub fn progress(&self, ring: &LogRing) -> f64 {
        let len = ring.len().max(1) as f64;
        let done = self.scanned_to.saturating_sub(ring.first_id()) as f64;
        (done / len).min(1.0)
    }

    /// True while a recompute is still in progress.
    pub fn pending(&self, ring: &LogRing) -> bool {
        self.scanned_to < ring.end_id()
    }

    /// Matching record ids, oldest first.
    pub fn matches(&self) -> &VecDeque<u64> {
        &self.matches
    }

    /// Count of matches.
    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    /// Index in `matches` of the top row for a viewport of `height` rows.
    pub fn top_index(&self, height: usize) -> usize {
        let n = self.matches.len();
        match self.anchor {
            None => n.saturating_sub(height),
            Some(id) => self
                .matches
                .partition_point(|&m| m < id)
                .min(n.saturating_sub(1)),
        }
    }

    /// Scroll by `delta` rows (negative: up). Reaching the bottom resumes following.
    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        let n = self.matches.len();
        if n == 0 {
            return;
        }
        let was_following = self.anchor.is_none();
        let top = self.top_index(height) as i64;
        let max_top = n.saturating_sub(height) as i64;
        let new = (top + delta).clamp(0, max_top.max(0));
        if new >= max_top {
            self.anchor = None;
        } else {
            self.anchor = self.matches.get(new as usize).copied();
            if was_following {
                self.seen_matches = self.total_matched;
            }
        }
    }

    /// Matches that arrived since the view stopped following.
    pub fn new_since_anchor(&self) -> u64 {
        if self.anchor.is_some() {
            self.total_matched.saturating_sub(self.seen_matches)
        } else {
            0
        }
    }

    /// Jump to the oldest match.
    pub fn home(&mut self) {
        if self.anchor.is_none() {
            self.seen_matches = self.total_matched;
        }
        self.anchor = self.matches.front().copied();
    }

    /// Follow the newest matches again.
    pub fn end(&mut self) {
        self.anchor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(i: u64, level: Level, agent: &str, text: &str) -> LogRecord {
        LogRecord {
            seq: i,
            at: Utc.timestamp_opt(0, 0).unwrap(),
            level,
            category: Category::Orchestrator,
            stage: Stage::Coordination,
            agent: Some(AgentId::new(agent)),
            kind: "log",
            text: text.into(),
        }
    }

    #[test]
    fn chunked_recompute_equals_full_scan() {
        let mut ring = LogRing::new(1000);
        for i in 0..1500 {
            let lvl = if i % 3 == 0 { Level::Warn } else { Level::Info };
            ring.push(
                rec(
                    i,
                    lvl,
                    if i % 2 == 0 { "a" } else { "b" },
                    &format!("msg {i}"),
                ),
                false,
            );
        }
        let mut v = LogView::default();
        v.set_filter(LogFilter {
            min_level: Level::Warn,
            agent: Some(AgentId::new("a")),
            text: "msg 1".into(),
            ..LogFilter::default()
        });
        let mut passes = 0;
        while v.sync(&ring, 64) {
            passes += 1;
        }
        assert!(passes > 5);
        let expected: Vec<u64> = (ring.first_id()..ring.end_id())
            .filter(|&id| {
                let r = ring.get(id).unwrap();
                r.level >= Level::Warn
                    && r.agent.as_ref().unwrap().as_str() == "a"
                    && r.text.contains("msg 1")
            })
            .collect();
        assert_eq!(v.matches().iter().copied().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn coalesced_tail_is_rematched() {
        let mut ring = LogRing::new(10);
        let mut v = LogView::new(LogFilter {
            text: "hello".into(),
            ..LogFilter::default()
        });
        let mut r = rec(0, Level::Trace, "a", "hel");
        r.kind = "text_delta";
        ring.push(r.clone(), true);
        v.sync(&ring, 100);
        assert_eq!(v.match_count(), 0);
        r.text = "lo".into();
        ring.push(r, true);
        v.sync(&ring, 100);
        assert_eq!(v.match_count(), 1);
    }

    #[test]
    fn bad_regex_reports_error() {
        let v = LogView::new(LogFilter {
            text: "(".into(),
            regex: true,
            ..LogFilter::default()
        });
        assert!(v.regex_error.is_some());
    }
}
