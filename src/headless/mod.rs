//! Headless front end: human progress lines on stderr and the final answer alone on stdout,
//! or the whole event stream as JSON lines on stdout (`--json`, schema in `docs/events.md`).
//!
//! Responsibilities: turning `protocol::Event`s into text for scripts and CI.
//! Non-responsibilities: running anything; it only consumes events.

use crate::protocol::{Event, EventMsg, RunOutcome, ToolKind, ToolStatus};
use std::io::Write;
use tokio::sync::mpsc::UnboundedReceiver;

/// Output style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Progress on stderr, the final answer on stdout.
    Human,
    /// Every event as one JSON object per line on stdout.
    Json,
}

/// What the printer saw of the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Printed {
    /// The run's outcome, if it finished.
    pub outcome: Option<RunOutcome>,
    /// The final answer, if any.
    pub final_answer: Option<String>,
}

/// One progress line for an event, or `None` for events not worth a line.
pub fn progress_line(event: &Event) -> Option<String> {
    let who = event
        .agent
        .as_ref()
        .map(|a| format!("[{a}] "))
        .unwrap_or_default();
    let line = match &event.msg {
        EventMsg::RunStarted {
            question, agents, ..
        } => {
            let ids: Vec<String> = agents
                .iter()
                .map(|a| format!("{} ({} {})", a.id, a.provider, a.model))
                .collect();
            format!(
                "▶ run {}: {} agent(s): {}\n  question: {}",
                event.run_id,
                agents.len(),
                ids.join(", "),
                first_line(question, 200)
            )
        }
        EventMsg::StageStarted { stage } => format!("── {} ──", stage.label()),
        EventMsg::StageFinished { stage, duration_ms } => {
            format!("   {} done in {}", stage.label(), fmt_ms(*duration_ms))
        }
        EventMsg::AnswerSubmitted { label, content } => format!(
            "{who}✅ answered (shown as {label}): {}",
            first_line(content, 100)
        ),
        EventMsg::AnswerRejected { reason } => format!("{who}answer rejected: {reason}"),
        EventMsg::VoteCast {
            voted_for,
            label,
            reason,
        } => format!(
            "{who}🗳  voted for {label} ({voted_for}): {}",
            first_line(reason, 100)
        ),
        EventMsg::VoteIgnored { reason } => format!("{who}vote ignored: {reason}"),
        EventMsg::VotesInvalidated { by, count } => {
            format!("   {count} vote(s) invalidated by a new answer from {by}")
        }
        EventMsg::AgentRestarted { .. } => format!("{who}🔁 restarting with the new answers"),
        EventMsg::AgentRetried {
            error,
            failures,
            max_failures,
            delay_ms,
        } => format!(
            "{who}⚠ launch failed ({failures}/{max_failures}), retrying in {}: {error}",
            fmt_ms(*delay_ms)
        ),
        EventMsg::AgentFailed { error } => format!("{who}❌ failed: {error}"),
        EventMsg::AgentTimedOut { limit_secs } => {
            format!("{who}⏱ timed out after {limit_secs}s")
        }
        EventMsg::Escalated { step, reason } => {
            format!("{who}↗ escalation {step}: {reason}")
        }
        EventMsg::BackendRetry {
            retry,
            delay_ms,
            error,
        } => format!(
            "{who}backend retry {retry} in {}: {error}",
            fmt_ms(*delay_ms)
        ),
        EventMsg::BackendError { kind, message } => {
            format!("{who}backend error ({kind}): {message}")
        }
        EventMsg::ToolCallBegin {
            tool,
            kind: ToolKind::Mcp,
            ..
        } => format!("{who}🔧 {tool} …"),
        EventMsg::ToolCallEnd {
            tool,
            status,
            duration_ms,
            ..
        } if !matches!(tool.as_str(), "new_answer" | "vote") => {
            let s = match status {
                ToolStatus::Ok => "ok",
                ToolStatus::Error => "error",
                ToolStatus::TimedOut => "timed out",
                ToolStatus::Cancelled => "cancelled",
            };
            format!("{who}🔧 {tool}: {s} in {}", fmt_ms(*duration_ms))
        }
        EventMsg::McpServer {
            server,
            message,
            level,
            ..
        } if *level >= crate::protocol::Level::Info => format!("   MCP {server}: {message}"),
        EventMsg::CircuitBreaker { server, state } => {
            format!("   MCP {server}: circuit breaker {state}")
        }
        EventMsg::WinnerSelected {
            winner,
            tally,
            tie_break,
        } => {
            let t: Vec<String> = tally.iter().map(|(a, n)| format!("{a}={n}")).collect();
            format!(
                "🏆 winner: {winner} (votes: {}; tie-break: {tie_break})",
                t.join(", ")
            )
        }
        EventMsg::Log { level, message, .. } if *level >= crate::protocol::Level::Warn => {
            format!("   {message}")
        }
        EventMsg::RunFinished {
            outcome,
            totals,
            error,
            ..
        } => {
            let mut s = format!(
                "■ {outcome} in {}: {} answer(s), {} vote(s), {} restart(s), {} tool call(s), tokens in/out {}/{}{}",
                fmt_ms(totals.duration_ms),
                totals.answers,
                totals.votes,
                totals.restarts,
                totals.tool_calls,
                totals.input_tokens,
                totals.output_tokens,
                if totals.tokens_estimated {
                    " (partly estimated)"
                } else {
                    ""
                }
            );
            if let Some(e) = error {
                s.push_str(&format!("\n  error: {e}"));
            }
            s
        }
        _ => return None,
    };
    Some(line)
}

fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max || s.lines().filter(|l| !l.trim().is_empty()).count() > 1 {
        out.push('…');
    }
    out
}

fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// Print events until the run finishes or the channel closes.
pub async fn print_events(
    mut rx: UnboundedReceiver<Event>,
    mode: Mode,
    mut out: impl Write,
    mut err: impl Write,
) -> Printed {
    let mut printed = Printed::default();
    while let Some(event) = rx.recv().await {
        match mode {
            Mode::Json => {
                if serde_json::to_writer(&mut out, &event).is_ok() {
                    let _ = out.write_all(b"\n");
                }
                if !matches!(
                    event.msg,
                    EventMsg::TextDelta { .. }
                        | EventMsg::ReasoningDelta { .. }
                        | EventMsg::ToolArgsDelta { .. }
                        | EventMsg::FinalPresentationDelta { .. }
                ) {
                    let _ = out.flush();
                }
            }
            Mode::Human => {
                if let Some(line) = progress_line(&event) {
                    let _ = writeln!(err, "{line}");
                }
            }
        }
        match &event.msg {
            EventMsg::FinalAnswer { text, .. } => printed.final_answer = Some(text.clone()),
            EventMsg::RunFinished { outcome, .. } => {
                printed.outcome = Some(*outcome);
                break;
            }
            _ => {}
        }
    }
    if mode == Mode::Human
        && let Some(answer) = &printed.final_answer
    {
        let _ = writeln!(out, "{answer}");
    }
    let _ = out.flush();
    let _ = err.flush();
    printed
}
