//! The full-screen terminal front end.
//!
//! Responsibilities: view state built from `protocol::Event`s, rendering, keys and mouse.
//! Non-responsibilities: it never reads engine state directly; everything arrives as events.
//!
//! # Public surface (the contract with the engine and the CLI)
//!
//! - [`run`]`(opts, events, ops)`: takes over the terminal until the user quits. The engine
//!   sends every [`Event`](crate::protocol::Event) on `events` (unbounded, never lossy); the
//!   TUI sends [`Op`](crate::protocol::Op)s: `Ask` (the first question when
//!   [`TuiOptions::question`] is set and `run_starting` is false, or typed in the input box;
//!   follow-ups after a run), `Cancel` (Ctrl-X, or quitting during a run), `ResetHistory`
//!   (Ctrl-R) and `Shutdown` (on exit). A closed `events` channel during a run shows an
//!   engine-error screen instead of a broken terminal.
//! - [`model::ViewModel`]: a pure fold of events (`apply(&Event)`), `PartialEq`/`Debug`, so a
//!   live run and its replay can be compared. [`render::render`] draws
//!   `(&ViewModel, &ui::UiState, now, area, &mut Buffer)`; time is a parameter.
//! - Runs: a `RunStarted` resets the agent panes, timeline and final view for the new run;
//!   earlier turns (question + final answer) stay in the history overlay (`H`); the log pane
//!   keeps records across runs.
//! - Replay (issue 8): set [`TuiOptions::replay`] and feed recorded events into `events` at
//!   their recorded pace; the TUI treats them exactly like live events (the status bar shows
//!   REPLAY and the input box is disabled).
//!
//! Module map: `model` (view model), `transcript` + `wrap` (pane text, lazy wrapping),
//! `jsonstr` (streaming `new_answer` arguments), `logs` (log ring + filter), `ui` (view state,
//! layout, keys), `render` (drawing), `app` (terminal, loop).

mod app;
pub mod jsonstr;
pub mod logs;
pub mod model;
pub mod render;
pub mod transcript;
pub mod ui;
pub mod wrap;

use crate::protocol::{Event, Op};
pub use app::restore_terminal;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// How the TUI starts.
#[derive(Clone, Debug, Default)]
pub struct TuiOptions {
    /// The first question, if given on the command line. With `run_starting == false` the
    /// TUI sends it as `Op::Ask` itself; without it the input box asks for one.
    pub question: Option<String>,
    /// Label for the status bar (usually the config file name).
    pub config_label: String,
    /// The engine already started a run (the TUI sends no first `Ask`).
    pub run_starting: bool,
    /// Capture the mouse (wheel scrolling). `m` toggles it at run time.
    pub mouse: bool,
    /// Replay mode: events come from a recording; no questions can be asked.
    pub replay: bool,
    /// Directory for saved answers and transcripts (default: current directory).
    pub save_dir: Option<std::path::PathBuf>,
    /// Memory limits (default: [`model::Limits::default`]).
    pub limits: Option<model::Limits>,
}

/// Why the TUI ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// The user quit.
    User,
    /// SIGTERM, SIGINT or SIGHUP.
    Signal,
    /// The terminal input stream ended.
    TerminalClosed,
}

/// What the TUI reports when it returns.
#[derive(Clone, Debug, PartialEq)]
pub struct TuiExit {
    /// Why it ended.
    pub reason: ExitReason,
    /// Questions sent with `Op::Ask`.
    pub questions_asked: u32,
    /// Runs seen (`RunStarted` events).
    pub runs_seen: u32,
    /// Finished turns (question and final answer).
    pub history: Vec<model::Turn>,
}

/// Run the full-screen TUI until the user quits. The terminal is restored on every exit path
/// (return, error, panic, signal).
pub async fn run(
    opts: TuiOptions,
    events: UnboundedReceiver<Event>,
    ops: UnboundedSender<Op>,
) -> anyhow::Result<TuiExit> {
    app::run_app(opts, events, ops).await
}
