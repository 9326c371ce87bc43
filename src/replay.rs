//! Reading recorded runs (`events.jsonl`) and playing them back at recorded speed.
//!
//! Responsibilities: parsing an events file into [`Event`]s, checking its format version,
//! stopping at the first damage (truncated line, corrupt JSON, missing events) and saying where
//! and why; pacing events by their recorded timestamps under [`ReplayControl`]s.
//! Non-responsibilities: showing anything (the TUI and the headless printer do, exactly as for
//! a live run).

use crate::protocol::{Event, EventMsg, ReplayControl, SUPPORTED_FORMAT_VERSIONS};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// Where and why reading stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// 1-based line number of the first unusable line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// A recorded run (or several, for a session).
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// The file read.
    pub path: PathBuf,
    /// The events up to the damage, if any.
    pub events: Vec<Event>,
    /// Set when the file is damaged: replay shows what came before and then this.
    pub damage: Option<Damage>,
}

/// The file cannot be replayed at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Missing or unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Empty file.
    #[error("{0}: the events file is empty; nothing to replay")]
    Empty(String),
    /// A format version this build does not read.
    #[error("{path}: events format version {found}; this build of massgen-tui reads versions {}..={} — {hint}", SUPPORTED_FORMAT_VERSIONS.start(), SUPPORTED_FORMAT_VERSIONS.end())]
    Version {
        /// The path.
        path: String,
        /// Version found.
        found: u32,
        /// What to do.
        hint: &'static str,
    },
    /// The first line is not the start of a run.
    #[error(
        "{path}: line 1 is not a `run_started` event ({detail}); is this an events.jsonl file from massgen-tui?"
    )]
    NotARecording {
        /// The path.
        path: String,
        /// What was found.
        detail: String,
    },
}

/// `RUN_DIR` (containing `events.jsonl`) or the file itself.
pub fn events_path(target: &Path) -> PathBuf {
    if target.is_dir() {
        target.join("events.jsonl")
    } else {
        target.to_path_buf()
    }
}

/// Read a recording. Damage after a valid start is reported in [`Recording::damage`], not as
/// an error, so everything before it can still be replayed.
pub fn read_recording(target: &Path) -> Result<Recording, ReplayError> {
    let path = events_path(target);
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|source| ReplayError::Io {
        path: shown.clone(),
        source,
    })?;
    parse_recording(&bytes, &path)
}

/// Parse the bytes of an events file (see [`read_recording`]).
pub fn parse_recording(bytes: &[u8], path: &Path) -> Result<Recording, ReplayError> {
    let shown = path.display().to_string();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReplayError::Empty(shown));
    }
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut events: Vec<Event> = Vec::new();
    let mut damage = None;
    let mut last_seq: Option<(u64, String)> = None;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let is_last = i + 1 == lines.len();
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(e) => {
                if events.is_empty() {
                    let detail = format!("{e}");
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                        && let Some(found) = v
                            .pointer("/msg/format_version")
                            .and_then(serde_json::Value::as_u64)
                        && !SUPPORTED_FORMAT_VERSIONS.contains(&(found as u32))
                    {
                        return Err(version_error(shown, found as u32));
                    }
                    return Err(ReplayError::NotARecording {
                        path: shown,
                        detail,
                    });
                }
                let reason = if is_last && !ends_with_newline {
                    "the file ends in the middle of an event (truncated: the run was still being written, or the file was cut)".to_owned()
                } else {
                    format!("not a valid event ({e})")
                };
                damage = Some(Damage { line: n, reason });
                break;
            }
        };
        if events.is_empty() {
            match &event.msg {
                EventMsg::RunStarted { format_version, .. } => {
                    if !SUPPORTED_FORMAT_VERSIONS.contains(format_version) {
                        return Err(version_error(shown, *format_version));
                    }
                }
                other => {
                    return Err(ReplayError::NotARecording {
                        path: shown,
                        detail: format!("found `{}`", other.kind()),
                    });
                }
            }
        }
        // Sequence numbers restart with each run of a session.
        if let EventMsg::RunStarted { format_version, .. } = &event.msg
            && !SUPPORTED_FORMAT_VERSIONS.contains(format_version)
        {
            damage = Some(Damage {
                line: n,
                reason: format!(
                    "a run in format version {format_version}, which this build does not read"
                ),
            });
            break;
        }
        if let Some((prev, run)) = &last_seq
            && *run == event.run_id.0
            && event.seq != prev + 1
        {
            damage = Some(Damage {
                line: n,
                reason: format!(
                    "events are missing: sequence jumps from {prev} to {}",
                    event.seq
                ),
            });
            break;
        }
        last_seq = Some((event.seq, event.run_id.0.clone()));
        events.push(event);
    }
    if damage.is_none()
        && let Some(last) = events.last()
        && !matches!(last.msg, EventMsg::RunFinished { .. })
    {
        damage = Some(Damage {
            line: lines.len(),
            reason: "the recording ends before the run finished (no `run_finished` event)"
                .to_owned(),
        });
    }
    Ok(Recording {
        path: path.to_path_buf(),
        events,
        damage,
    })
}

fn version_error(path: String, found: u32) -> ReplayError {
    let hint = if found > *SUPPORTED_FORMAT_VERSIONS.end() {
        "it was written by a newer massgen-tui; upgrade to replay it"
    } else {
        "it was written by an older massgen-tui whose format is no longer read"
    };
    ReplayError::Version { path, found, hint }
}

/// Send `events` to `tx` paced by their recorded timestamps (times `speed`), obeying controls
/// from `controls`. Returns when everything was sent, or when `tx` is closed.
pub async fn play(
    events: Vec<Event>,
    tx: UnboundedSender<Event>,
    mut controls: UnboundedReceiver<ReplayControl>,
    mut speed: f64,
) {
    let mut paused = false;
    let mut instant = speed.is_infinite();
    let mut steps = 0u32;
    let mut prev_at: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut iter = events.into_iter().peekable();
    while let Some(event) = iter.peek() {
        let gap = match prev_at {
            Some(p) => (event.at - p).to_std().unwrap_or_default(),
            None => Duration::ZERO,
        }
        // Long silences (an LLM thinking for minutes) are capped at 2 s of replay time.
        .min(Duration::from_secs(2));
        let wait = if instant || steps > 0 {
            Duration::ZERO
        } else {
            gap.div_f64(speed.max(0.01))
        };
        let ready = if paused && steps == 0 {
            false
        } else if wait.is_zero() {
            true
        } else {
            tokio::select! {
                _ = tokio::time::sleep(wait) => true,
                c = controls.recv() => {
                    if let Some(c) = c {
                        apply(c, &mut paused, &mut speed, &mut instant, &mut steps);
                    }
                    false
                }
            }
        };
        if !ready {
            if paused && steps == 0 {
                match controls.recv().await {
                    Some(c) => apply(c, &mut paused, &mut speed, &mut instant, &mut steps),
                    None => paused = false,
                }
            }
            continue;
        }
        // Drain controls that arrived meanwhile.
        while let Ok(c) = controls.try_recv() {
            apply(c, &mut paused, &mut speed, &mut instant, &mut steps);
        }
        if paused && steps == 0 {
            continue;
        }
        let Some(event) = iter.next() else { break };
        prev_at = Some(event.at);
        steps = steps.saturating_sub(1);
        if tx.send(event).is_err() {
            return;
        }
    }
}

fn apply(
    c: ReplayControl,
    paused: &mut bool,
    speed: &mut f64,
    instant: &mut bool,
    steps: &mut u32,
) {
    match c {
        ReplayControl::Pause => *paused = true,
        ReplayControl::Resume => {
            *paused = false;
            *instant = false;
        }
        ReplayControl::Speed { factor } => {
            *speed = factor.clamp(0.01, 1_000.0);
            *instant = false;
            *paused = false;
        }
        ReplayControl::Instant => {
            *instant = true;
            *paused = false;
        }
        ReplayControl::Step => {
            *paused = true;
            *steps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{RunId, RunOutcome, RunTotals, Stage};

    fn ev(seq: u64, msg: EventMsg) -> Event {
        Event {
            seq,
            run_id: RunId::new("r"),
            at: chrono::Utc::now(),
            stage: Stage::Coordination,
            agent: None,
            attempt: None,
            round: None,
            call_id: None,
            msg,
        }
    }

    fn started(v: u32) -> EventMsg {
        EventMsg::RunStarted {
            format_version: v,
            question: "q".into(),
            history: vec![],
            agents: vec![],
            config_path: None,
        }
    }

    fn finished() -> EventMsg {
        EventMsg::RunFinished {
            outcome: RunOutcome::Completed,
            winner: None,
            final_answer: None,
            totals: RunTotals::default(),
            error: None,
        }
    }

    fn file(events: &[Event]) -> String {
        events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect()
    }

    #[test]
    fn a_whole_recording_reads_without_damage() {
        let text = file(&[
            ev(1, started(1)),
            ev(2, EventMsg::TextDelta { text: "hi".into() }),
            ev(3, finished()),
        ]);
        let r = parse_recording(text.as_bytes(), Path::new("e.jsonl")).unwrap();
        assert_eq!(r.events.len(), 3);
        assert!(r.damage.is_none());
    }

    #[test]
    fn truncation_and_corruption_say_where_and_why() {
        let mut text = file(&[
            ev(1, started(1)),
            ev(2, EventMsg::TextDelta { text: "hi".into() }),
        ]);
        text.push_str("{\"seq\":3,\"run_id\":\"r\",\"at\":\"2026");
        let r = parse_recording(text.as_bytes(), Path::new("e.jsonl")).unwrap();
        assert_eq!(r.events.len(), 2);
        let d = r.damage.unwrap();
        assert_eq!(d.line, 3);
        assert!(d.reason.contains("truncated"), "{}", d.reason);

        let mut text = file(&[ev(1, started(1))]);
        text.push_str("garbage\n");
        text.push_str(&file(&[ev(3, finished())]));
        let r = parse_recording(text.as_bytes(), Path::new("e.jsonl")).unwrap();
        assert_eq!(r.events.len(), 1);
        assert!(r.damage.unwrap().reason.contains("not a valid event"));

        let text = file(&[ev(1, started(1)), ev(3, finished())]);
        let r = parse_recording(text.as_bytes(), Path::new("e.jsonl")).unwrap();
        assert!(r.damage.unwrap().reason.contains("missing"));
    }

    #[test]
    fn other_format_versions_are_refused_with_a_clear_message() {
        let text = file(&[ev(1, started(99)), ev(2, finished())]);
        let e = parse_recording(text.as_bytes(), Path::new("e.jsonl")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("version 99") && msg.contains("newer"), "{msg}");
        let e = parse_recording(b"{\"not\":\"an event\"}\n", Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("run_started"));
    }

    #[tokio::test]
    async fn play_releases_everything_in_order_and_obeys_step() {
        let events: Vec<Event> = (1..=5)
            .map(|i| {
                ev(
                    i,
                    EventMsg::TextDelta {
                        text: i.to_string(),
                    },
                )
            })
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (ctx, crx) = tokio::sync::mpsc::unbounded_channel();
        ctx.send(ReplayControl::Pause).unwrap();
        let h = tokio::spawn(play(events, tx, crx, 1.0));
        // Paused before the first event: nothing arrives until a step.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "nothing may arrive while paused");
        ctx.send(ReplayControl::Step).unwrap();
        ctx.send(ReplayControl::Instant).unwrap();
        h.await.unwrap();
        let got: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.seq)
            .collect();
        assert_eq!(got, vec![1, 2, 3, 4, 5]);
    }
}
