//! The composition root: turns a validated [`RunPlan`] into running parts (backends, MCP
//! managers, the event bus, run records, a front end) and runs questions through the engine.
//!
//! Responsibilities: wiring, the session loop (one run per question, with history), signal
//! handling and exit codes. Non-responsibilities: coordination logic (orchestrator), config
//! semantics (config), rendering (tui, headless). This is the only module that may depend on
//! every other one; only `cli` depends on it.

use crate::backend::{ChatBackend, ResponsesBackend};
mod mcp_tools;

pub use mcp_tools::{McpTools, SessionSink, agent_specs, server_spec};

use crate::backend::chat_completions::{
    AzureOptions, ChatCompletionsBackend, ChatCompletionsConfig,
};
use crate::config::providers::{BackendType, WireApi};
use crate::config::{AgentPlan, Env, ResolvedAgentKey, ResolvedKeys, RunPlan};
use crate::headless;
use crate::orchestrator::{self, AgentRuntime, EventBus, LadderCaps, RunInput, RunReport};
use crate::protocol::{AgentId, AgentInfo, Event, Op, RunId, RunOutcome};
use crate::telemetry::run_record::RunRecorder;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Exit codes (documented in the README and `--help`).
pub mod exit {
    /// A final answer was produced.
    pub const OK: u8 = 0;
    /// The config (or the command line) is wrong.
    pub const CONFIG: u8 = 1;
    /// The run failed (every agent failed, or the engine could not start).
    pub const RUN_FAILED: u8 = 2;
    /// The orchestrator timeout passed without any answer.
    pub const TIMEOUT: u8 = 3;
    /// Interrupted (Ctrl-C / SIGTERM); the run record is complete.
    pub const INTERRUPTED: u8 = 4;
}

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// The question; `None` asks interactively.
    pub question: Option<String>,
    /// Headless (progress on stderr, answer on stdout). Forced when stdout is not a terminal.
    pub headless: bool,
    /// Headless with the event stream as JSON lines on stdout.
    pub json: bool,
    /// No run records and no log files.
    pub no_logs: bool,
    /// Debug logging.
    pub debug: bool,
    /// Overrides `timeout_settings.orchestrator_timeout_seconds`.
    pub orchestrator_timeout: Option<u64>,
    /// Overrides the run-record directory.
    pub run_dir: Option<PathBuf>,
}

/// An error before any run started, with its exit code.
#[derive(Debug)]
pub struct SetupError {
    /// Exit code.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

impl SetupError {
    fn config(message: impl Into<String>) -> Self {
        Self {
            code: exit::CONFIG,
            message: message.into(),
        }
    }
}

/// Build the backend of one agent.
pub fn build_backend(
    agent: &AgentPlan,
    key: Option<&ResolvedAgentKey>,
) -> Result<Arc<dyn ChatBackend>, SetupError> {
    let profile = agent.provider;
    if !matches!(profile.api, WireApi::ChatCompletions | WireApi::Responses) {
        let hint = match profile.api {
            WireApi::AnthropicMessages => {
                "use an OpenAI-compatible endpoint for Claude (for example OpenRouter: `type: chatcompletion`, `base_url: https://openrouter.ai/api/v1`)"
            }
            WireApi::Gemini => {
                "use Gemini's OpenAI-compatible endpoint: `type: chatcompletion`, `base_url: https://generativelanguage.googleapis.com/v1beta/openai/`"
            }
            _ => "choose a backend type this build supports",
        };
        return Err(SetupError::config(format!(
            "{}.backend.type: agent `{}` uses the {} API ({}), which this build does not speak yet; {hint}",
            agent.config_path,
            agent.id,
            profile.api.as_str(),
            profile.display_name
        )));
    }
    let base_url = key
        .and_then(|k| k.base_url.clone())
        .or_else(|| agent.base_url.clone())
        .ok_or_else(|| {
            SetupError::config(format!(
                "{}.backend.base_url: agent `{}` has no endpoint; set `base_url`",
                agent.config_path, agent.id
            ))
        })?;
    let mut cfg = ChatCompletionsConfig::new(agent.provider_display_name(), base_url, &agent.model);
    cfg.params = agent.params.clone();
    cfg.wire = profile.caps;
    if let Some(secret) = key.and_then(|k| k.api_key.as_ref()) {
        cfg.api_key = Some(secret.expose().to_owned());
    }
    if agent.backend_type == BackendType::AzureOpenAi {
        cfg.azure = Some(AzureOptions {
            api_version: key
                .and_then(|k| k.api_version.clone())
                .unwrap_or_else(|| crate::config::DEFAULT_AZURE_API_VERSION.to_owned()),
            deployment: None,
        });
    }
    let built: Result<Arc<dyn ChatBackend>, _> = if profile.api == WireApi::Responses {
        ResponsesBackend::new(cfg).map(|b| Arc::new(b) as Arc<dyn ChatBackend>)
    } else {
        ChatCompletionsBackend::new(cfg).map(|b| Arc::new(b) as Arc<dyn ChatBackend>)
    };
    built.map_err(|e| {
        SetupError::config(format!(
            "{}.backend: agent `{}`: {e}",
            agent.config_path, agent.id
        ))
    })
}

/// Everything one session (one or more questions) needs.
pub struct Session {
    plan: RunPlan,
    /// Setup warnings repeated at the start of every run.
    warnings: Vec<String>,
    agents: Vec<Arc<AgentRuntime>>,
    mcp: Vec<Arc<McpTools>>,
    sink: Arc<SessionSink>,
    settings: orchestrator::RunSettings,
    run_root: Option<PathBuf>,
    redacted_config: String,
    history: Vec<(String, String)>,
}

impl Session {
    /// Build backends (and MCP tools) for every agent. Fails before any request.
    pub fn new(
        plan: RunPlan,
        keys: &ResolvedKeys,
        env: &Env,
        opts: &AppOptions,
    ) -> Result<Self, SetupError> {
        let mut agents = Vec::new();
        let mut mcp = Vec::new();
        let sink = Arc::new(SessionSink::default());
        let shared_env = Arc::new(env.clone());
        for a in &plan.agents {
            // Every setup error names the config file first, as config errors do.
            let in_file = |m: String| SetupError::config(format!("{}: {m}", plan.source.name()));
            let backend = build_backend(a, keys.get(&a.id)).map_err(|e| in_file(e.message))?;
            let specs = agent_specs(a, env).map_err(in_file)?;
            let tools = if specs.is_empty() {
                None
            } else {
                let t = Arc::new(McpTools::new(
                    a,
                    specs,
                    shared_env.clone(),
                    sink.clone(),
                    plan.run.mcp_result_max_chars,
                ));
                mcp.push(t.clone());
                Some(t)
            };
            let limits_timeout = a
                .limits
                .timeout_seconds
                .or(plan.run.agent_timeout_seconds)
                .map(Duration::from_secs);
            agents.push(Arc::new(AgentRuntime {
                info: AgentInfo {
                    id: AgentId::new(&a.id),
                    provider: a.provider_display_name().to_owned(),
                    model: a.model.clone(),
                    mcp_servers: a.mcp_servers.iter().map(|s| s.name.clone()).collect(),
                },
                backend,
                caps: LadderCaps {
                    tool_choice_required: a.provider.caps.tool_choice_required,
                    tool_choice_named: a.provider.caps.tool_choice_named,
                },
                system_message: a.system_message.clone(),
                tools: tools.map(|t| t as Arc<dyn orchestrator::ToolProvider>),
                max_answers: a.limits.max_answers.or(plan.run.max_answers_per_agent),
                timeout: limits_timeout,
            }));
        }
        let timeout_secs = opts
            .orchestrator_timeout
            .unwrap_or(plan.timeouts.orchestrator_timeout_seconds);
        let orchestrator_timeout = Duration::from_secs(timeout_secs.max(1));
        let settings = orchestrator::RunSettings {
            orchestrator_timeout,
            deadline_warning: (orchestrator_timeout / 5).min(Duration::from_secs(60)),
            final_presentation: plan.run.final_presentation,
            max_agent_failures: plan.run.max_agent_failures.max(1),
            retry_base_delay: Duration::from_secs(1),
            max_tool_iterations: plan.run.mcp_max_tool_iterations,
            direct_single_agent: !plan.ui.use_orchestrator_for_single_agent,
        };
        let run_root = if opts.no_logs || !plan.ui.logging_enabled {
            None
        } else {
            Some(
                opts.run_dir
                    .clone()
                    .or_else(|| plan.run.run_dir.clone())
                    .unwrap_or_else(|| PathBuf::from(".massgen/runs")),
            )
        };
        let redacted_config = plan.redacted_yaml();
        // Provider built-in tools (MassGen sends them for openai, claude and gemini): not sent
        // here yet. Say so instead of dropping the keys silently.
        let mut warnings = Vec::new();
        for a in &plan.agents {
            let b = a.builtin_tools;
            for (on, key) in [
                (b.web_search, "enable_web_search"),
                (b.code_interpreter, "enable_code_interpreter"),
                (b.code_execution, "enable_code_execution"),
            ] {
                if on {
                    warnings.push(format!(
                        "{}.backend.{key}: provider built-in tools are not sent by massgen-tui yet; agent `{}` runs without it (give it MCP tools instead)",
                        a.config_path, a.id
                    ));
                }
            }
        }
        Ok(Self {
            plan,
            warnings,
            agents,
            mcp,
            sink,
            settings,
            run_root,
            redacted_config,
            history: Vec::new(),
        })
    }

    /// The plan.
    pub fn plan(&self) -> &RunPlan {
        &self.plan
    }

    /// Conversation history (question, final answer) pairs.
    pub fn history(&self) -> &[(String, String)] {
        &self.history
    }

    /// Forget the conversation.
    pub fn reset_history(&mut self) {
        self.history.clear();
    }

    /// Stop every MCP server (no orphan processes).
    pub async fn shutdown(&self) {
        futures::future::join_all(self.mcp.iter().map(|t| t.shutdown())).await;
    }

    /// Run one question. Every event also goes to `extra` subscribers (front ends).
    pub async fn ask(
        &mut self,
        question: &str,
        extra: Vec<mpsc::UnboundedSender<Event>>,
        cancel: CancellationToken,
    ) -> (RunReport, Option<PathBuf>) {
        let run_id = RunId::generate();
        let bus = Arc::new(EventBus::new(run_id.clone()));
        for tx in extra {
            bus.add_subscriber(tx);
        }
        let recorder = match &self.run_root {
            Some(root) => {
                match RunRecorder::create(root, run_id.as_str(), Some(&self.redacted_config)) {
                    Ok(rec) => {
                        let rx = bus.subscribe();
                        Some(tokio::spawn(rec.drain(rx)))
                    }
                    Err(e) => {
                        tracing::error!("cannot create the run record: {e}");
                        None
                    }
                }
            }
            None => None,
        };
        let input = RunInput {
            question: question.to_owned(),
            history: self.history.clone(),
            config_path: match &self.plan.source {
                crate::config::ConfigSource::File(p) => Some(p.display().to_string()),
                _ => None,
            },
            warnings: self.warnings.clone(),
        };
        self.sink
            .set(Some(bus.clone() as Arc<dyn crate::protocol::EventSink>));
        let init: Option<orchestrator::InitFuture> = if self.mcp.is_empty() {
            None
        } else {
            let tools = self.mcp.clone();
            Some(Box::pin(async move {
                let starts = tools.iter().map(|t| t.start());
                for r in futures::future::join_all(starts).await {
                    r?;
                }
                Ok(())
            }))
        };
        let report = orchestrator::run(
            self.agents.clone(),
            self.settings.clone(),
            input,
            bus.clone(),
            cancel,
            init,
        )
        .await;
        self.sink.set(None);
        drop(bus);
        let mut dir = None;
        if let Some(handle) = recorder {
            match handle.await {
                Ok(Ok(d)) => dir = Some(d),
                Ok(Err(e)) => tracing::error!("run record incomplete: {e}"),
                Err(e) => tracing::error!("run recorder task failed: {e}"),
            }
        }
        if let Some(answer) = &report.final_answer {
            self.history.push((question.to_owned(), answer.clone()));
        }
        (report, dir)
    }
}

/// The exit code for a run's outcome.
pub fn exit_code(outcome: RunOutcome) -> u8 {
    match outcome {
        RunOutcome::Completed | RunOutcome::TimedOutWithAnswer => exit::OK,
        RunOutcome::TimedOutWithoutAnswer => exit::TIMEOUT,
        RunOutcome::Failed => exit::RUN_FAILED,
        RunOutcome::Cancelled => exit::INTERRUPTED,
    }
}

/// The async runtime, or the exit code after saying why it could not start.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(exit::RUN_FAILED)
        })
}

/// Run the app: headless or full-screen, one question or a conversation.
pub fn run(plan: RunPlan, keys: ResolvedKeys, env: Env, opts: AppOptions) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async_run(plan, keys, env, opts))
}

async fn async_run(plan: RunPlan, keys: ResolvedKeys, env: Env, opts: AppOptions) -> ExitCode {
    let _logs = if opts.no_logs {
        None
    } else {
        crate::telemetry::init(std::path::Path::new(".massgen/logs"), opts.debug).ok()
    };
    let mut session = match Session::new(plan, &keys, &env, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return ExitCode::from(e.code);
        }
    };
    let headless = opts.headless || opts.json || !std::io::stdout().is_terminal();
    if headless {
        let code = run_headless(&mut session, &opts).await;
        session.shutdown().await;
        code
    } else {
        run_tui(session, &opts).await
    }
}

/// Cancel `cancel` on the first Ctrl-C or SIGTERM; exit at once on the second.
fn spawn_signal_watcher(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut count = 0;
        loop {
            wait_for_signal().await;
            count += 1;
            if count == 1 {
                eprintln!("\ninterrupted: cancelling the run (press Ctrl-C again to quit at once)");
                cancel.cancel();
            } else {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        }
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn ask_headless(session: &mut Session, question: &str, mode: headless::Mode) -> u8 {
    let cancel = CancellationToken::new();
    let watcher = spawn_signal_watcher(cancel.clone());
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(headless::print_events(
        rx,
        mode,
        std::io::stdout(),
        std::io::stderr(),
    ));
    let (report, dir) = session.ask(question, vec![tx], cancel).await;
    let _ = printer.await;
    watcher.abort();
    if let (Some(d), headless::Mode::Human) = (&dir, mode) {
        eprintln!("   run record: {}", d.display());
    }
    exit_code(report.outcome)
}

async fn run_headless(session: &mut Session, opts: &AppOptions) -> ExitCode {
    let mode = if opts.json {
        headless::Mode::Json
    } else {
        headless::Mode::Human
    };
    if let Some(q) = &opts.question {
        return ExitCode::from(ask_headless(session, q, mode).await);
    }
    // Interactive REPL on standard input, as MassGen's.
    let agents: Vec<String> = session
        .plan()
        .agents
        .iter()
        .map(|a| format!("   • {}: {} ({})", a.id, a.provider_display_name(), a.model))
        .collect();
    eprintln!(
        "\n🤖 massgen-tui interactive mode\n📋 Configuration:\n   Agents: {}\n{}\n💬 Type your questions below. Commands: /quit, /reset, /status, /help",
        session.plan().agents.len(),
        agents.join("\n")
    );
    let mut last = exit::OK;
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    use tokio::io::AsyncBufReadExt;
    let mut lines = stdin.lines();
    loop {
        eprint!("\n👤 User: ");
        let line = match lines.next_line().await {
            Ok(Some(l)) => l,
            Ok(None) | Err(_) => break,
        };
        let q = line.trim();
        match q {
            "" => {
                eprintln!("Please enter a question or type /help for commands.");
                continue;
            }
            "/quit" | "/exit" | "/q" | "quit" | "exit" | "q" => break,
            "/reset" | "/clear" | "reset" | "clear" => {
                session.reset_history();
                eprintln!("🔄 Conversation history cleared!");
                continue;
            }
            "/help" | "/h" => {
                eprintln!(
                    "/quit, /exit, /q   leave\n/reset, /clear     forget the conversation\n/status            agents and history\n/help              this list\nAnything else is a question for the agents."
                );
                continue;
            }
            "/status" => {
                eprintln!(
                    "Agents: {}\nHistory: {} exchanges",
                    session.plan().summary(),
                    session.history().len()
                );
                continue;
            }
            s if s.starts_with('/') => {
                eprintln!("❓ Unknown command: {s} (type /help)");
                continue;
            }
            _ => {}
        }
        last = ask_headless(session, q, mode).await;
        if last == exit::INTERRUPTED {
            break;
        }
        eprintln!("💭 History: {} exchanges", session.history().len());
    }
    ExitCode::from(last)
}

async fn run_tui(session: Session, opts: &AppOptions) -> ExitCode {
    let (events_tx, events_rx) = mpsc::unbounded_channel::<Event>();
    let (ops_tx, mut ops_rx) = mpsc::unbounded_channel::<Op>();
    let tui_opts = crate::tui::TuiOptions {
        question: opts.question.clone(),
        config_label: session.plan().source.name(),
        run_starting: false,
        mouse: true,
        ..crate::tui::TuiOptions::default()
    };
    let tui = tokio::spawn(crate::tui::run(tui_opts, events_rx, ops_tx));
    let mut last = exit::OK;
    let mut current: Option<CancellationToken> = None;
    // The engine loop: one run at a time; Cancel applies to the current run. If a run's task
    // panics, the session is gone: the events channel is closed so the TUI shows its
    // engine-error screen instead of "running" forever.
    let mut events_tx = Some(events_tx);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<(Session, u8), String>>();
    let mut session_slot = Some(session);
    loop {
        tokio::select! {
            op = ops_rx.recv() => match op {
                Some(Op::Ask { question }) => {
                    if let (Some(mut s), Some(tx)) = (session_slot.take(), events_tx.clone()) {
                        let cancel = CancellationToken::new();
                        current = Some(cancel.clone());
                        let done = done_tx.clone();
                        let task = tokio::spawn(async move {
                            let (report, _) = s.ask(&question, vec![tx], cancel).await;
                            (s, exit_code(report.outcome))
                        });
                        tokio::spawn(async move {
                            let _ = done.send(task.await.map_err(|e| e.to_string()));
                        });
                    }
                }
                Some(Op::Cancel) => {
                    if let Some(c) = &current { c.cancel(); }
                }
                Some(Op::ResetHistory) => {
                    if let Some(s) = session_slot.as_mut() { s.reset_history(); }
                }
                Some(Op::Replay(_)) => {}
                Some(Op::Shutdown) | None => {
                    if let Some(c) = &current { c.cancel(); }
                    break;
                }
            },
            Some(done) = done_rx.recv() => {
                current = None;
                match done {
                    Ok((s, code)) => {
                        last = code;
                        session_slot = Some(s);
                    }
                    Err(e) => {
                        tracing::error!("the engine task failed: {e}");
                        last = exit::RUN_FAILED;
                        events_tx = None;
                    }
                }
            }
        }
    }
    // Wait for a cancelled run to finish its record.
    if session_slot.is_none()
        && events_tx.is_some()
        && let Ok(Some(Ok((s, _)))) =
            tokio::time::timeout(Duration::from_secs(10), done_rx.recv()).await
    {
        session_slot = Some(s);
    }
    if let Some(s) = &session_slot {
        s.shutdown().await;
    }
    drop(events_tx);
    match tui.await {
        Ok(Ok(_)) => ExitCode::from(last),
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::RUN_FAILED)
        }
        Err(e) => {
            eprintln!("error: the terminal UI crashed: {e}");
            ExitCode::from(exit::RUN_FAILED)
        }
    }
}

/// The bundled demo recording (`assets/demo.jsonl`), compiled into the binary.
pub const DEMO_RECORDING: &[u8] = include_bytes!("../../assets/demo.jsonl");

/// What to replay.
#[derive(Clone, Debug)]
pub enum ReplaySource {
    /// A run directory or an events file.
    Path(PathBuf),
    /// The bundled demo.
    Demo,
}

/// How to replay.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Headless (progress on stderr, answer on stdout), as the live run printed it.
    pub headless: bool,
    /// Headless, the events as JSON lines.
    pub json: bool,
    /// Playback speed (1.0 = as recorded); headless replays are instant.
    pub speed: f64,
}

/// `massgen-tui replay` / `massgen-tui demo`.
pub fn replay(source: ReplaySource, opts: ReplayOptions) -> ExitCode {
    let recording = match &source {
        ReplaySource::Path(p) => crate::replay::read_recording(p),
        ReplaySource::Demo => crate::replay::parse_recording(
            DEMO_RECORDING,
            std::path::Path::new("assets/demo.jsonl"),
        ),
    };
    let recording = match recording {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let headless = opts.headless || opts.json || !std::io::stdout().is_terminal();
    runtime.block_on(async move {
        let damage = recording.damage.clone();
        let shown = recording.path.display().to_string();
        let code = if headless {
            replay_headless(recording, opts.json).await
        } else {
            replay_tui(recording, opts.speed, &shown).await
        };
        if let Some(d) = damage {
            eprintln!("replay stopped at {shown} {d}");
            return ExitCode::from(exit::RUN_FAILED);
        }
        code
    })
}

async fn replay_headless(recording: crate::replay::Recording, json: bool) -> ExitCode {
    let mode = if json {
        headless::Mode::Json
    } else {
        headless::Mode::Human
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    for e in recording.events {
        let _ = tx.send(e);
    }
    drop(tx);
    let mut last = exit::OK;
    // One printer per recorded run (a session file may hold several).
    loop {
        let (run_tx, run_rx) = mpsc::unbounded_channel();
        let printer = tokio::spawn(headless::print_events(
            run_rx,
            mode,
            std::io::stdout(),
            std::io::stderr(),
        ));
        let mut any = false;
        while let Some(e) = rx.recv().await {
            any = true;
            let end = matches!(e.msg, crate::protocol::EventMsg::RunFinished { .. });
            let _ = run_tx.send(e);
            if end {
                break;
            }
        }
        drop(run_tx);
        if let Ok(printed) = printer.await
            && let Some(o) = printed.outcome
        {
            last = exit_code(o);
        }
        if !any || rx.is_empty() {
            break;
        }
    }
    ExitCode::from(last)
}

async fn replay_tui(recording: crate::replay::Recording, speed: f64, label: &str) -> ExitCode {
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (ops_tx, mut ops_rx) = mpsc::unbounded_channel::<Op>();
    let (controls_tx, controls_rx) = mpsc::unbounded_channel();
    let tui_opts = crate::tui::TuiOptions {
        question: None,
        config_label: format!("replay: {label}"),
        run_starting: true,
        mouse: true,
        replay: true,
        ..crate::tui::TuiOptions::default()
    };
    let tui = tokio::spawn(crate::tui::run(tui_opts, events_rx, ops_tx));
    let player = tokio::spawn(crate::replay::play(
        recording.events,
        events_tx,
        controls_rx,
        speed,
    ));
    while let Some(op) = ops_rx.recv().await {
        match op {
            Op::Replay(c) => {
                let _ = controls_tx.send(c);
            }
            Op::Shutdown => break,
            _ => {}
        }
    }
    player.abort();
    match tui.await {
        Ok(Ok(_)) => ExitCode::from(exit::OK),
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::RUN_FAILED)
        }
        Err(e) => {
            eprintln!("error: the terminal UI crashed: {e}");
            ExitCode::from(exit::RUN_FAILED)
        }
    }
}
