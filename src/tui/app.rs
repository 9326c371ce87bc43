//! The app loop: terminal setup and guaranteed restore, event intake, input dispatch,
//! coalesced drawing, signals, and the effects of UI actions (ops, saves, mouse mode).
//!
//! Responsibilities: owning the terminal (raw mode, alternate screen, bracketed paste, mouse,
//! keyboard enhancement) behind an RAII guard plus a restore-first panic hook; a `select!`
//! over engine events, terminal events, signals, and a frame timer that draws at most ~60
//! times a second and only when something changed; chunked log-filter recomputation.
//! Non-responsibilities: what is drawn (`render`), how keys change the view (`ui`), and how
//! events change the model (`model`).

use super::model::ViewModel;
use super::render::render;
use super::ui::{Action, SaveTarget, UiState, layout};
use super::{ExitReason, TuiExit, TuiOptions};
use crate::protocol::{Event, Op};
use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent, EventStream, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, Write, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Minimum time between two frames (~60 per second).
const FRAME: Duration = Duration::from_millis(16);
/// Events applied before the loop yields to draw and read keys.
const EVENT_BATCH: usize = 20_000;
/// Log records re-filtered per loop pass.
const FILTER_BUDGET: usize = 20_000;

static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
static KEYBOARD_FLAGS: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Put the terminal back the way we found it. Safe to call more than once.
pub fn restore_terminal() {
    if !TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = stdout();
    if KEYBOARD_FLAGS.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, PopKeyboardEnhancementFlags);
    }
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal when dropped (normal exit, `?` errors, unwinding panics).
struct TerminalGuard;

impl TerminalGuard {
    fn enter(mouse: bool) -> anyhow::Result<Self> {
        PANIC_HOOK.call_once(|| {
            let prev = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_terminal();
                prev(info);
            }));
        });
        enable_raw_mode()
            .context("cannot switch the terminal to raw mode (is stdout a terminal?)")?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard;
        let mut out = stdout();
        execute!(
            out,
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        )
        .context("cannot enter the alternate screen")?;
        if mouse {
            execute!(out, EnableMouseCapture).context("cannot enable mouse capture")?;
        }
        if matches!(
            crossterm::terminal::supports_keyboard_enhancement(),
            Ok(true)
        ) && execute!(
            out,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )
        .is_ok()
        {
            KEYBOARD_FLAGS.store(true, Ordering::SeqCst);
        }
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

enum Internal {
    Saved(Result<String, String>),
}

struct App {
    vm: ViewModel,
    ui: UiState,
    ops: UnboundedSender<Op>,
    save_dir: std::path::PathBuf,
    internal: UnboundedSender<Internal>,
    dirty: bool,
    quit: Option<ExitReason>,
    questions: u32,
}

impl App {
    fn send(&mut self, op: Op) {
        if matches!(op, Op::Ask { .. }) {
            self.questions += 1;
        }
        if self.ops.send(op).is_err() {
            self.vm
                .engine_stopped("the engine is no longer accepting requests");
        }
    }

    fn apply_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Op(op) => self.send(op),
                Action::Quit => {
                    if self.vm.running() {
                        self.send(Op::Cancel);
                    }
                    self.quit = Some(ExitReason::User);
                }
                Action::Save(target) => self.save(target),
                Action::SetMouse(on) => {
                    let mut out = stdout();
                    let _ = if on {
                        execute!(out, EnableMouseCapture)
                    } else {
                        execute!(out, DisableMouseCapture)
                    };
                }
            }
        }
    }

    fn save(&mut self, target: SaveTarget) {
        let run_id = self
            .vm
            .run
            .as_ref()
            .map_or_else(|| "norun".to_owned(), |r| r.run_id.to_string());
        let (name, text) = match &target {
            SaveTarget::Final => (
                format!("massgen-{run_id}-final-answer.md"),
                self.vm.run.as_ref().map(|r| r.final_text.plain_text()),
            ),
            SaveTarget::Agent(i) => {
                let a = self.vm.run.as_ref().and_then(|r| r.agents.get(*i));
                (
                    format!(
                        "massgen-{run_id}-{}.txt",
                        a.map_or("agent", |a| a.id.as_str())
                    ),
                    a.map(|a| a.transcript.plain_text()),
                )
            }
            SaveTarget::Logs => {
                let mut s = String::new();
                for id in self.ui.logs.matches() {
                    if let Some(r) = self.vm.logs.get(*id) {
                        s.push_str(&format!(
                            "{} {} {} {} {}\n",
                            r.at.to_rfc3339(),
                            r.level,
                            r.agent.as_ref().map_or("-", |a| a.as_str()),
                            r.kind,
                            r.text
                        ));
                    }
                }
                (format!("massgen-{run_id}-log.txt"), Some(s))
            }
        };
        let Some(text) = text else {
            self.ui.toast = Some("nothing to save".into());
            return;
        };
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.save_dir.join(safe);
        let tx = self.internal.clone();
        self.ui.toast = Some(format!("saving {}…", path.display()));
        tokio::task::spawn_blocking(move || {
            let res = std::fs::write(&path, text)
                .map(|_| path.display().to_string())
                .map_err(|e| format!("cannot write {}: {e}", path.display()));
            let _ = tx.send(Internal::Saved(res));
        });
    }
}

/// Run the TUI until the user quits (see [`super::run`]).
pub(super) async fn run_app(
    opts: TuiOptions,
    mut events: UnboundedReceiver<Event>,
    ops: UnboundedSender<Op>,
) -> anyhow::Result<TuiExit> {
    let guard = TerminalGuard::enter(opts.mouse)?;
    let backend = CrosstermBackend::new(stdout());
    let mut terminal: Terminal<CrosstermBackend<Stdout>> =
        Terminal::new(backend).context("cannot initialise the terminal")?;
    terminal.clear().ok();
    let (itx, mut irx) = unbounded_channel::<Internal>();
    let mut app = App {
        vm: ViewModel::new(opts.limits.unwrap_or_default()),
        ui: UiState::new(&opts.config_label, opts.mouse, opts.replay),
        ops,
        save_dir: opts
            .save_dir
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(".")),
        internal: itx,
        dirty: true,
        quit: None,
        questions: 0,
    };
    if opts.run_starting {
        app.ui.awaiting_run = true;
    } else if let Some(q) = opts.question.clone().filter(|q| !q.trim().is_empty()) {
        app.send(Op::Ask { question: q });
        app.ui.awaiting_run = true;
    } else if !opts.replay {
        app.ui.input_focused = true;
    }
    let result = event_loop(&mut app, &mut terminal, &mut events, &mut irx).await;
    if !app.vm.running() || app.quit.is_some() {
        let _ = app.ops.send(Op::Shutdown);
    }
    drop(terminal);
    drop(guard);
    let reason = result?;
    Ok(TuiExit {
        reason,
        questions_asked: app.questions,
        runs_seen: app.vm.runs_started,
        history: app.vm.history.clone(),
    })
}

#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("cannot install a SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("cannot install a SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("cannot install a SIGHUP handler")?,
        })
    }
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Self)
    }
    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn event_loop(
    app: &mut App,
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    events: &mut UnboundedReceiver<Event>,
    internal: &mut UnboundedReceiver<Internal>,
) -> anyhow::Result<ExitReason> {
    let mut term_events = EventStream::new();
    let mut signals = Signals::new()?;
    let mut events_open = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut clock = tokio::time::interval(Duration::from_millis(500));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Background work: chunked log filtering (only while the pane is visible).
        let mut work_pending = false;
        if app.ui.show_logs && app.ui.logs.pending(&app.vm.logs) {
            app.ui.logs.sync(&app.vm.logs, FILTER_BUDGET);
            work_pending = app.ui.logs.pending(&app.vm.logs);
            app.dirty = true;
        }
        if app.dirty && last_draw.elapsed() >= FRAME {
            // In replay the clocks follow the recorded event times, not the wall clock.
            let now = match (&app.vm.run, app.ui.replay) {
                (Some(run), true) => run.last_at,
                _ => chrono::Utc::now(),
            };
            let (vm, ui) = (&app.vm, &app.ui);
            // DEC 2026 synchronized output: terminals that support it never show half a frame.
            let _ = execute!(terminal.backend_mut(), BeginSynchronizedUpdate);
            let drawn = terminal
                .draw(|f| {
                    let area = f.area();
                    render(vm, ui, now, area, f.buffer_mut());
                    if let Some(r) = layout(area, vm, ui).input
                        && ui.input_focused
                        && ui.overlay.is_none()
                    {
                        let c = ui.input.screen_cursor();
                        f.set_cursor_position((r.x + 1 + c.col as u16, r.y + 1 + c.row as u16));
                    }
                })
                .map(|_| ());
            let _ = execute!(terminal.backend_mut(), EndSynchronizedUpdate);
            drawn.context("cannot draw to the terminal")?;
            last_draw = Instant::now();
            app.dirty = false;
        }
        if let Some(r) = app.quit {
            return Ok(r);
        }
        let frame_wait = if app.dirty {
            FRAME.saturating_sub(last_draw.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        tokio::select! {
            ev = events.recv(), if events_open => match ev {
                Some(ev) => {
                    app.vm.apply(&ev);
                    let mut n = 1;
                    while n < EVENT_BATCH {
                        match events.try_recv() {
                            Ok(ev) => { app.vm.apply(&ev); n += 1; }
                            Err(_) => break,
                        }
                    }
                    app.ui.sync_with(&app.vm);
                    app.dirty = true;
                }
                None => {
                    events_open = false;
                    if app.vm.running() || app.ui.awaiting_run {
                        app.vm.engine_stopped("its event stream closed in the middle of a run");
                        app.ui.awaiting_run = false;
                    } else if app.ui.replay {
                        app.ui.toast = Some("replay finished".into());
                    }
                    app.dirty = true;
                }
            },
            te = term_events.next() => match te {
                Some(Ok(te)) => {
                    let size = terminal.size().unwrap_or_default();
                    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                    let areas = layout(area, &app.vm, &app.ui);
                    match te {
                        TermEvent::Key(k) => {
                            let actions = app.ui.handle_key(k, &app.vm, &areas);
                            app.apply_actions(actions);
                            if app.vm.engine_error.is_some()
                                && matches!(k.code, crossterm::event::KeyCode::Char('q'))
                            {
                                app.quit = Some(ExitReason::User);
                            }
                        }
                        TermEvent::Paste(p) => app.ui.handle_paste(&p, &app.vm),
                        TermEvent::Mouse(m) => app.ui.handle_mouse(m, &app.vm, &areas),
                        TermEvent::Resize(_, _) => terminal.autoresize().unwrap_or(()),
                        _ => {}
                    }
                    app.dirty = true;
                }
                Some(Err(e)) => return Err(anyhow::anyhow!("terminal input failed: {e}")),
                None => return Ok(ExitReason::TerminalClosed),
            },
            msg = internal.recv() => {
                if let Some(Internal::Saved(res)) = msg {
                    app.ui.toast = Some(match res {
                        Ok(p) => format!("saved to {p}"),
                        Err(e) => e,
                    });
                    app.dirty = true;
                }
            }
            _ = signals.recv() => {
                if app.vm.running() {
                    let _ = app.ops.send(Op::Cancel);
                }
                return Ok(ExitReason::Signal);
            }
            _ = clock.tick() => {
                // Elapsed clocks and running tool bars move once per tick.
                if app.vm.running() {
                    app.dirty = true;
                }
            }
            _ = tokio::time::sleep(frame_wait), if app.dirty => {}
            _ = tokio::task::yield_now(), if work_pending => {}
        }
    }
}
