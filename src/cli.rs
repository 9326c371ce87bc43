//! Command-line interface (clap): MassGen-compatible flags plus subcommands.
//!
//! Responsibilities: parsing arguments ([`Cli`], [`Command`]), `validate`, building the
//! [`RunPlan`] for a run (config file or quick setup, CLI overrides, `.env`, key resolution),
//! exit codes (see [`launch`]), `--dry-run`. Non-responsibilities: config semantics (config),
//! running agents (orchestrator, app): [`launch`] is the single hand-off point.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    self, BackendType, ConfigError, DisplayType, Env, KeySource, QuickSetup, ResolvedKeys, RunPlan,
};

const EXAMPLES: &str = "\
Examples:
  # Three local agents (LM Studio / Ollama / vLLM), full-screen TUI
  massgen-tui --config configs/three_agents_local.yaml \"Is 2^31-1 prime?\"

  # A MassGen config, headless, final answer on stdout
  massgen-tui --config ../shared/massgen-configs/v0.0.18/three_agents_opensource.yaml --headless \"Summarise RFC 9110\"

  # Quick single-agent setup without a config file
  massgen-tui --backend chatcompletion --model qwen3:8b --base-url http://localhost:11434/v1 \"Hello\"
  massgen-tui --model gpt-5-nano \"Hello\"          # type inferred from the model (openai)

  # Event stream as JSON lines (for scripts)
  massgen-tui --config configs/single_agent_local.yaml --json \"What is MCP?\"

  # Check configs without running anything (one line per file; exit 1 if any fails)
  massgen-tui validate configs/*.yaml ../shared/massgen-configs/v0.0.18/*.yaml

  # Also check the API keys this machine has, and show what would run
  massgen-tui --config configs/mixed_providers.yaml --dry-run

Environment:
  API keys are read from the environment, overlaid by `.env` in the working directory
  (KEY=VALUE lines; .env wins): OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY / GEMINI_API_KEY,
  XAI_API_KEY, CEREBRAS_API_KEY, TOGETHER_API_KEY, FIREWORKS_API_KEY, GROQ_API_KEY, NEBIUS_API_KEY,
  OPENROUTER_API_KEY, ZAI_API_KEY, MOONSHOT_API_KEY / KIMI_API_KEY, POE_API_KEY,
  QWEN_API_KEY / DASHSCOPE_API_KEY, AZURE_OPENAI_API_KEY (+ AZURE_OPENAI_ENDPOINT,
  AZURE_OPENAI_API_VERSION). Local servers (localhost, 127.0.0.1, ...) need no key.
  See docs/providers.md and docs/configuration.md.

Exit codes: 0 answer (or validate/dry-run ok), 1 configuration error (file, key path, reason
and fix on stderr), 2 usage error or the run failed, 3 timeout without an answer, 4 interrupted.";

/// `massgen-tui`: multi-agent LLM coordination, MassGen v0.0.18 compatible.
#[derive(Parser, Debug, Clone, PartialEq)]
#[command(
    name = "massgen-tui",
    version,
    about = "Multi-agent LLM coordination (MassGen v0.0.18 compatible) with a full-screen terminal UI",
    long_about = "Several agents answer the same question concurrently, see each other's answers \
(anonymised), improve them with `new_answer` or `vote` for the best; the most-voted agent \
presents the final answer. Reads MassGen YAML/JSON configs.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Subcommand; without one, runs a question (or the interactive session).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Run options (used when no subcommand is given).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum Command {
    /// Load config files and report, per file, `ok` with a summary or the error.
    Validate(ValidateArgs),
    /// MCP debugging: list servers and tools, call one tool, run the built-in test server.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Replay a recorded run (a run directory or its events.jsonl) through the same front end
    /// as a live run. Keys in the TUI: space pause/resume, 1/2/0 speed 1×/2×/10×, i instant,
    /// s step one event.
    ///
    /// Examples:
    ///   massgen-tui replay .massgen/runs/20261124-101500-7f3a
    ///   massgen-tui replay .massgen/runs/20261124-101500-7f3a/events.jsonl --headless
    Replay(ReplayArgs),
    /// Replay the bundled demo run (three agents, MCP tool calls, restarts, votes): no API
    /// key and no server needed.
    Demo(DemoArgs),
}

/// `replay` arguments.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ReplayArgs {
    /// A run directory (.massgen/runs/<run id>) or an events.jsonl file.
    #[arg(value_name = "RUN_DIR_OR_EVENTS_FILE")]
    pub target: PathBuf,
    /// Print what the live run printed (progress on stderr, answer on stdout) instead of the TUI.
    #[arg(long, visible_alias = "no-display")]
    pub headless: bool,
    /// Print the recorded events as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Playback speed in the TUI (1 = as recorded).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}

/// `demo` arguments.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct DemoArgs {
    /// Print the demo run's progress and answer instead of the TUI.
    #[arg(long, visible_alias = "no-display")]
    pub headless: bool,
    /// Print the demo's events as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Playback speed in the TUI (1 = as recorded).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}

/// `mcp` subcommands.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum McpCommand {
    /// Start each MCP server (of a config, or one given with --server), list its tools with
    /// their schemas, start-up time and problems, then stop it.
    ///
    /// Examples:
    ///   massgen-tui mcp servers --config configs/two_agents_local_mcp.yaml
    ///   massgen-tui mcp servers --server "massgen-tui mcp test-server"
    ///   massgen-tui mcp servers --server http://127.0.0.1:5173/mcp
    Servers(McpTarget),
    /// Call one tool and print the result and the timing.
    ///
    /// Examples:
    ///   massgen-tui mcp call --server "massgen-tui mcp test-server" mcp_echo '{"text":"hi"}'
    ///   massgen-tui mcp call --config configs/two_agents_local_mcp.yaml test add_numbers '{"a":1,"b":2}'
    Call(McpCallArgs),
    /// Run the built-in MCP test server (MassGen's test tools plus fault tools) on stdio, or
    /// over streamable HTTP at http://127.0.0.1:PORT/mcp with --http PORT.
    TestServer(TestServerArgs),
}

/// Which servers an `mcp` command talks to.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct McpTarget {
    /// Config file whose agents' `mcp_servers` are used.
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    pub config: Option<PathBuf>,
    /// One server given directly: a stdio command line, or an http(s) URL.
    #[arg(long, value_name = "CMD_OR_URL")]
    pub server: Option<String>,
}

/// `mcp call` arguments.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct McpCallArgs {
    /// The servers.
    #[command(flatten)]
    pub target: McpTarget,
    /// With --config: the server name; with --server: the tool name.
    #[arg(value_name = "SERVER_OR_TOOL")]
    pub first: String,
    /// With --config: the tool name; with --server: the JSON arguments.
    #[arg(value_name = "TOOL_OR_JSON")]
    pub second: Option<String>,
    /// With --config: the JSON arguments (a JSON object; default `{}`).
    #[arg(value_name = "JSON")]
    pub third: Option<String>,
}

/// `mcp test-server` arguments.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct TestServerArgs {
    /// Serve streamable HTTP on 127.0.0.1:PORT (path /mcp) instead of stdio.
    #[arg(long, value_name = "PORT")]
    pub http: Option<u16>,
}

/// `validate` arguments.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ValidateArgs {
    /// Config files (.yaml, .yml, .json); a directory stands for the config files in it.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print only the one line per file (no warnings under it).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Options for a run (MassGen's flags).
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct RunArgs {
    /// YAML/JSON config file (MassGen format). If not found, `configs/<name>` is tried.
    #[arg(long, value_name = "FILE", conflicts_with = "backend")]
    pub config: Option<PathBuf>,
    /// Quick single-agent setup: backend type.
    #[arg(long, value_name = "TYPE", value_parser = backend_type_parser())]
    pub backend: Option<String>,
    /// Quick setup model [default: gpt-4o-mini]; without --backend the type is inferred from it.
    #[arg(long, value_name = "MODEL", conflicts_with = "config")]
    pub model: Option<String>,
    /// Quick setup base URL (OpenAI-compatible endpoint).
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    pub base_url: Option<String>,
    /// Quick setup system message [default: "You are a helpful AI assistant."].
    #[arg(long, value_name = "TEXT", conflicts_with = "config")]
    pub system_message: Option<String>,
    /// No full-screen UI: progress on stderr, the final answer on stdout.
    #[arg(long, visible_alias = "no-display")]
    pub headless: bool,
    /// Headless, with every event as one JSON object per line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Do not write run logs (sets ui.logging_enabled = false).
    #[arg(long)]
    pub no_logs: bool,
    /// Verbose diagnostics (sets ui.debug).
    #[arg(long)]
    pub debug: bool,
    /// Global coordination timeout in seconds (overrides timeout_settings.orchestrator_timeout_seconds).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub orchestrator_timeout: Option<u64>,
    /// Load the config, check every API key and print what would run (keys redacted), then stop.
    #[arg(long)]
    pub dry_run: bool,
    /// The question. Without it, an interactive session starts.
    #[arg(value_name = "QUESTION")]
    pub question: Option<String>,
}

fn backend_type_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(BackendType::ALL.map(|t| t.as_str()))
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    dispatch(cli)
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Validate(args)) => validate(&args),
        Some(Command::Mcp(cmd)) => mcp_command(cmd),
        Some(Command::Replay(a)) => crate::app::replay(
            crate::app::ReplaySource::Path(a.target),
            crate::app::ReplayOptions {
                headless: a.headless,
                json: a.json,
                speed: a.speed,
            },
        ),
        Some(Command::Demo(a)) => crate::app::replay(
            crate::app::ReplaySource::Demo,
            crate::app::ReplayOptions {
                headless: a.headless,
                json: a.json,
                speed: a.speed,
            },
        ),
        None => run(&cli.run),
    }
}

/// `validate`: one line per file on stdout (`FILE: ok: <summary>` or `FILE: error: ...`),
/// warnings indented under it unless `--quiet`. Exit 1 if any file fails.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0usize;
    let files = expand_dirs(&args.files);
    for file in &files {
        match config::load(file) {
            Ok(plan) => {
                let _ = writeln!(out, "{}: ok: {}", file.display(), plan.summary());
                if !args.quiet {
                    for w in &plan.warnings {
                        let _ = writeln!(out, "    warning: {w}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                let mut e = e;
                e.file = file.display().to_string();
                let line = e.one_line();
                let rest = line
                    .strip_prefix(&format!("{}: ", file.display()))
                    .unwrap_or(&line)
                    .to_string();
                let _ = writeln!(out, "{}: error: {rest}", file.display());
            }
        }
    }
    let _ = out.flush();
    if failed > 0 {
        eprintln!(
            "{failed} of {} config file(s) failed validation",
            files.len()
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Directories stand for the `.yaml`/`.yml`/`.json` files directly inside them (sorted).
fn expand_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let entries = if p.is_dir() {
            std::fs::read_dir(p).ok()
        } else {
            None
        };
        match entries {
            Some(entries) => {
                let mut inside: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.is_file() && config::ConfigFormat::from_path(f).is_some())
                    .collect();
                inside.sort();
                if inside.is_empty() {
                    // Reported as an error line by `validate`.
                    out.push(p.clone());
                }
                out.extend(inside);
            }
            None => out.push(p.clone()),
        }
    }
    out
}

/// Builds the plan a run would use: the config file (with MassGen's `configs/` fallback) or
/// the quick-setup flags, then applies `--headless`/`--no-logs`/`--debug`/`--orchestrator-timeout`.
pub fn build_plan(args: &RunArgs) -> Result<RunPlan, ConfigError> {
    let mut plan = match &args.config {
        Some(path) => config::load(&config::find_config(path)?)?,
        None => config::quick_setup(&QuickSetup {
            backend: args.backend.clone(),
            model: args.model.clone(),
            base_url: args.base_url.clone(),
            system_message: args.system_message.clone(),
        })?,
    };
    if args.headless || args.json {
        plan.ui.display_type = DisplayType::Simple;
    }
    if args.no_logs {
        plan.ui.logging_enabled = false;
    }
    if args.debug {
        plan.ui.debug = true;
        plan.ui.logging_enabled = true;
    }
    if let Some(t) = args.orchestrator_timeout {
        plan.timeouts.orchestrator_timeout_seconds = t;
    }
    Ok(plan)
}

/// Everything a run needs, handed to [`launch`].
#[derive(Debug)]
pub struct LaunchContext {
    /// The validated plan (CLI overrides applied).
    pub plan: RunPlan,
    /// API keys / endpoints per agent.
    pub keys: ResolvedKeys,
    /// Process environment overlaid by `.env` (for MCP `${VAR}` expansion and child processes).
    pub env: Env,
    /// The command-line options.
    pub args: RunArgs,
}

/// A run: plan → `.env` → keys → [`launch`]. Configuration problems exit with 1.
pub fn run(args: &RunArgs) -> ExitCode {
    let plan = match build_plan(args) {
        Ok(p) => p,
        Err(e) => return config_error(&e),
    };
    for w in &plan.warnings {
        eprintln!("warning: {}: {w}", plan.source.name());
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = match Env::load(&cwd) {
        Ok((env, issues)) => {
            for i in issues {
                eprintln!(
                    "warning: .env line {}: {} (line ignored)",
                    i.line, i.message
                );
            }
            env
        }
        Err(e) => return config_error(&e),
    };
    let keys = match plan.resolve_keys(&env) {
        Ok(k) => k,
        Err(e) => return config_error(&e),
    };
    if args.dry_run {
        print_dry_run(&plan, &keys);
        return ExitCode::SUCCESS;
    }
    launch(LaunchContext {
        plan,
        keys,
        env,
        args: args.clone(),
    })
}

/// `--dry-run` output: the plan summary and, per agent, provider, endpoint and key source.
fn print_dry_run(plan: &RunPlan, keys: &ResolvedKeys) {
    println!("{}: ok: {}", plan.source.name(), plan.summary());
    for a in &plan.agents {
        let key = match keys.get(&a.id).map(|k| &k.source) {
            Some(KeySource::Config) => "key from the config".to_string(),
            Some(KeySource::EnvVar(v)) => format!("key from {v}"),
            _ => "no key".to_string(),
        };
        let url = keys
            .get(&a.id)
            .and_then(|k| k.base_url.clone())
            .or_else(|| a.base_url.clone())
            .unwrap_or_else(|| "-".to_string());
        println!(
            "  {}: {} ({} API) model {} at {url}; {key}; {} MCP server(s)",
            a.id,
            a.provider_display_name(),
            a.provider.api.as_str(),
            a.model,
            a.mcp_servers.len()
        );
    }
    println!(
        "  ui: {}; orchestrator timeout: {} s",
        plan.ui.display_type.as_str(),
        plan.timeouts.orchestrator_timeout_seconds
    );
}

fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("Configuration error: {e}");
    ExitCode::from(1)
}

/// The hand-off to the coordination engine (`app`): headless or full-screen, one question or
/// a conversation. Exit codes: 0 answer, 1 configuration error, 2 run failed, 3 timeout without
/// an answer, 4 interrupted.
pub fn launch(ctx: LaunchContext) -> ExitCode {
    let opts = crate::app::AppOptions {
        question: ctx.args.question.clone(),
        headless: ctx.args.headless,
        json: ctx.args.json,
        no_logs: ctx.args.no_logs,
        debug: ctx.args.debug,
        orchestrator_timeout: ctx.args.orchestrator_timeout,
        run_dir: None,
    };
    crate::app::run(ctx.plan, ctx.keys, ctx.env, opts)
}

fn mcp_specs(target: &McpTarget) -> Result<Vec<crate::mcp::ServerSpec>, String> {
    match (&target.config, &target.server) {
        (_, Some(server)) => crate::mcp::ServerSpec::from_command_line(server, None)
            .map(|s| vec![s])
            .map_err(|e| e.to_string()),
        (Some(path), None) => {
            let plan = config::find_config(path)
                .and_then(|p| config::load(&p))
                .map_err(|e| e.to_string())?;
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let env = Env::load(&cwd).map(|(e, _)| e).map_err(|e| e.to_string())?;
            let mut specs: Vec<crate::mcp::ServerSpec> = Vec::new();
            for a in &plan.agents {
                for spec in crate::app::agent_specs(a, &env)? {
                    if !specs.iter().any(|s| s.name == spec.name) {
                        specs.push(spec);
                    }
                }
            }
            if specs.is_empty() {
                return Err(format!("{}: no agent has `mcp_servers`", path.display()));
            }
            Ok(specs)
        }
        (None, None) => Err("give --config FILE or --server CMD_OR_URL".to_owned()),
    }
}

fn mcp_command(cmd: McpCommand) -> ExitCode {
    let runtime = match crate::app::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        match cmd {
            McpCommand::TestServer(args) => match crate::mcp::run_test_server(args.http).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            },
            McpCommand::Servers(target) => {
                let specs = match mcp_specs(&target) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                };
                let report = crate::mcp::cli::list_servers(specs).await;
                print!("{report}");
                if report.servers.iter().any(|s| s.error.is_some()) {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                }
            }
            McpCommand::Call(args) => {
                let specs = match mcp_specs(&args.target) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                };
                let (spec, tool, json) = if args.target.server.is_some() {
                    (
                        specs.into_iter().next(),
                        args.first.clone(),
                        args.second.clone(),
                    )
                } else {
                    let found = specs.into_iter().find(|s| s.name == args.first);
                    if found.is_none() {
                        eprintln!("error: no MCP server named `{}` in the config", args.first);
                        return ExitCode::from(1);
                    }
                    match args.second.clone() {
                        Some(tool) => (found, tool, args.third.clone()),
                        None => {
                            eprintln!(
                                "error: name the tool: mcp call --config FILE SERVER TOOL [JSON]"
                            );
                            return ExitCode::from(1);
                        }
                    }
                };
                let Some(spec) = spec else {
                    eprintln!("error: no server");
                    return ExitCode::from(1);
                };
                match crate::mcp::cli::call_tool(spec, &tool, json.as_deref().unwrap_or("")).await {
                    Ok(report) => {
                        print!("{report}");
                        if report.outcome.status == crate::protocol::ToolStatus::Ok {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::from(2)
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::from(2)
                    }
                }
            }
        }
    })
}
