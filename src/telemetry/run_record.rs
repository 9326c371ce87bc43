//! Run records: the directory each run leaves behind (default `.massgen/runs/<run id>/`).
//!
//! Files: `events.jsonl` (every event, enough to replay the run), `status.json` (kept current
//! during the run), `final_answer.md`, `agents/<id>.md` (each agent's answers and votes), and
//! `config.redacted.yaml` (the config with every secret replaced by `***`).
//!
//! Responsibilities: writing those files from the event stream, as a log sink.
//! Non-responsibilities: redacting the config (the config module hands over redacted text);
//! producing events.

use crate::protocol::{AgentId, AgentState, Event, EventMsg, RunOutcome, Stage};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::UnboundedReceiver;

/// Status of one agent in `status.json`.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct AgentStatus {
    /// Current state.
    pub state: Option<AgentState>,
    /// Accepted answers.
    pub answers: u32,
    /// Current vote (real id), if valid.
    pub voted_for: Option<AgentId>,
    /// Launches so far.
    pub launches: u32,
    /// Last error, if any.
    pub last_error: Option<String>,
}

/// The content of `status.json`.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct RunStatus {
    /// Run id.
    pub run_id: String,
    /// The question.
    pub question: String,
    /// Current stage.
    pub stage: Option<Stage>,
    /// Per agent, in config order of appearance.
    pub agents: BTreeMap<String, AgentStatus>,
    /// Events recorded.
    pub events: u64,
    /// Set when the run is over.
    pub outcome: Option<RunOutcome>,
    /// The winner, once chosen.
    pub winner: Option<AgentId>,
    /// Last update time.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Writes one run's directory from its events.
pub struct RunRecorder {
    dir: PathBuf,
    events: BufWriter<File>,
    status: RunStatus,
}

fn io_err(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A file name for an agent id: keeps letters, digits, `-`, `_` and `.`.
pub fn safe_file_name(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("agent_{s}")
    } else {
        s
    }
}

impl RunRecorder {
    /// Create `<root>/<run_id>/` with the redacted config in it.
    pub fn create(
        root: &Path,
        run_id: &str,
        redacted_config: Option<&str>,
    ) -> std::io::Result<Self> {
        let dir = root.join(run_id);
        fs::create_dir_all(dir.join("agents")).map_err(|e| io_err(&dir, e))?;
        if let Some(cfg) = redacted_config {
            let p = dir.join("config.redacted.yaml");
            fs::write(&p, cfg).map_err(|e| io_err(&p, e))?;
        }
        let p = dir.join("events.jsonl");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| io_err(&p, e))?;
        Ok(Self {
            dir,
            events: BufWriter::new(file),
            status: RunStatus {
                run_id: run_id.to_owned(),
                ..RunStatus::default()
            },
        })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Record one event.
    pub fn record(&mut self, event: &Event) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.events, event)?;
        self.events.write_all(b"\n")?;
        self.status.events = event.seq;
        self.status.stage = Some(event.stage);
        self.status.updated_at = Some(event.at);
        let agent = event.agent.as_ref().map(|a| a.to_string());
        let mut status_changed = true;
        match &event.msg {
            EventMsg::TextDelta { .. }
            | EventMsg::ReasoningDelta { .. }
            | EventMsg::ToolArgsDelta { .. }
            | EventMsg::FinalPresentationDelta { .. }
            | EventMsg::Usage { .. }
            | EventMsg::ToolCallProgress { .. } => status_changed = false,
            EventMsg::RunStarted {
                question, agents, ..
            } => {
                self.status.question = question.clone();
                for a in agents {
                    self.status.agents.entry(a.id.to_string()).or_default();
                }
            }
            EventMsg::AgentStateChanged { state } => {
                if let Some(a) = &agent {
                    self.status.agents.entry(a.clone()).or_default().state = Some(*state);
                }
            }
            EventMsg::AgentLaunched { .. } => {
                if let Some(a) = &agent {
                    self.status.agents.entry(a.clone()).or_default().launches += 1;
                }
            }
            EventMsg::AgentRetried { error, .. } | EventMsg::AgentFailed { error } => {
                if let Some(a) = &agent {
                    self.status.agents.entry(a.clone()).or_default().last_error =
                        Some(error.clone());
                }
            }
            EventMsg::AnswerSubmitted { label, content } => {
                if let Some(a) = &agent {
                    self.status.agents.entry(a.clone()).or_default().answers += 1;
                    self.append_agent_file(
                        a,
                        &format!(
                            "## Answer {} (shown to others as {label}) — {}\n\n{content}\n\n",
                            self.status.agents.get(a).map_or(0, |s| s.answers),
                            event.at.format("%Y-%m-%d %H:%M:%S UTC")
                        ),
                    )?;
                }
            }
            EventMsg::VoteCast {
                voted_for,
                label,
                reason,
            } => {
                if let Some(a) = &agent {
                    self.status.agents.entry(a.clone()).or_default().voted_for =
                        Some(voted_for.clone());
                    self.append_agent_file(
                        a,
                        &format!(
                            "## Vote — {}\n\nFor {label} ({voted_for}): {reason}\n\n",
                            event.at.format("%Y-%m-%d %H:%M:%S UTC")
                        ),
                    )?;
                }
            }
            EventMsg::VotesInvalidated { .. } => {
                for s in self.status.agents.values_mut() {
                    s.voted_for = None;
                }
            }
            EventMsg::WinnerSelected { winner, .. } => {
                self.status.winner = Some(winner.clone());
            }
            EventMsg::FinalAnswer { text, .. } => {
                let p = self.dir.join("final_answer.md");
                fs::write(&p, format!("{text}\n")).map_err(|e| io_err(&p, e))?;
            }
            EventMsg::RunFinished {
                outcome, winner, ..
            } => {
                self.status.outcome = Some(*outcome);
                if winner.is_some() {
                    self.status.winner = winner.clone();
                }
            }
            _ => {}
        }
        if status_changed {
            self.events.flush()?;
            self.write_status()?;
        }
        Ok(())
    }

    fn append_agent_file(&self, agent: &str, text: &str) -> std::io::Result<()> {
        let p = self
            .dir
            .join("agents")
            .join(format!("{}.md", safe_file_name(agent)));
        let new = !p.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| io_err(&p, e))?;
        if new {
            writeln!(f, "# {agent}\n")?;
        }
        f.write_all(text.as_bytes())
    }

    fn write_status(&self) -> std::io::Result<()> {
        let p = self.dir.join("status.json");
        let tmp = self.dir.join("status.json.tmp");
        let body = serde_json::to_vec_pretty(&self.status)?;
        fs::write(&tmp, body).map_err(|e| io_err(&tmp, e))?;
        fs::rename(&tmp, &p).map_err(|e| io_err(&p, e))
    }

    /// Flush everything (called at the end of a run).
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.events.flush()?;
        self.write_status()
    }

    /// Consume events until the channel closes or the run finishes, then flush.
    pub async fn drain(mut self, mut rx: UnboundedReceiver<Event>) -> std::io::Result<PathBuf> {
        let mut first_error = None;
        while let Some(event) = rx.recv().await {
            let last = matches!(event.msg, EventMsg::RunFinished { .. });
            if let Err(e) = self.record(&event) {
                // Keep consuming so the engine never blocks, but report the first failure.
                tracing::error!(target: "massgen::record", "run record write failed: {e}");
                first_error.get_or_insert(e);
            }
            if last {
                break;
            }
        }
        self.finish()?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(self.dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids_become_safe_file_names() {
        assert_eq!(safe_file_name("gpt-oss-1"), "gpt-oss-1");
        assert_eq!(safe_file_name("../etc/passwd"), "agent_.._etc_passwd");
        assert_eq!(safe_file_name("a b/c"), "a_b_c");
    }
}
