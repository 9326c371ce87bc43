//! The loader: file → text → `serde_json::Value` → validated [`RunPlan`], following MassGen
//! v0.0.18's reading of every key (and fixing the bugs the spec marks).
//!
//! Responsibilities: reading files, YAML/JSON syntax errors with line/column, walking every
//! section with key paths, defaults, type inference, provider resolution, refusals
//! (`claude_code`, `cwd` on backends without filesystem support, duplicate ids, ...).
//! Non-responsibilities: environment lookups (see `RunPlan::resolve_keys`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::error::{ConfigError, ConfigErrorKind};
use super::mcp::parse_servers;
use super::providers::{self, BackendType, KeyPolicy};
use super::walk::{Ctx, index, join, suggest, type_name};
use super::{
    AgentLimits, AgentPlan, ApiKey, BuiltinTools, ConfigFormat, ConfigSource, DisplayType,
    OrchestratorSettings, RunPlan, RunSettings, Secret, TimeoutSettings, UiSettings,
};

/// Largest config file we read (a config is a few KB; this guards against mistakes).
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// MassGen's `--config` lookup: the path itself, else a file of the same name in our
/// `configs/` directory (next to the working directory, then in the source tree).
pub fn find_config(path: &Path) -> Result<PathBuf, ConfigError> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let mut checked = vec![path.display().to_string()];
    if let Some(name) = path.file_name() {
        for dir in [
            PathBuf::from("configs"),
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/configs")),
        ] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
            checked.push(candidate.display().to_string());
        }
    }
    Err(ConfigError::new(
        ConfigErrorKind::NotFound,
        path.display().to_string(),
        "",
        format!(
            "Configuration file not found (checked {})",
            checked.join(", ")
        ),
        "check the path, or run `massgen-tui validate FILE` on the file you meant",
    ))
}

/// Loads and validates a config file (`.yaml`, `.yml` or `.json`).
pub fn load(path: &Path) -> Result<RunPlan, ConfigError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ConfigErrorKind::NotFound
        } else {
            ConfigErrorKind::Unreadable
        };
        ConfigError::new(
            kind,
            &name,
            "",
            format!("cannot open the config file: {e}"),
            "check the path and its permissions",
        )
    })?;
    if meta.is_dir() {
        return Err(ConfigError::new(
            ConfigErrorKind::Unreadable,
            &name,
            "",
            "is a directory, not a config file",
            "pass a .yaml, .yml or .json file",
        ));
    }
    let Some(format) = ConfigFormat::from_path(path) else {
        return Err(ConfigError::new(
            ConfigErrorKind::UnsupportedFormat,
            &name,
            "",
            "unsupported config file suffix",
            "use a .yaml, .yml or .json file",
        ));
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            ConfigErrorKind::Unreadable,
            &name,
            "",
            format!(
                "file is {} bytes; configs larger than {MAX_CONFIG_BYTES} bytes are refused",
                meta.len()
            ),
            "check that this is the config file you meant",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigError::new(
            ConfigErrorKind::Unreadable,
            &name,
            "",
            format!("cannot read the config file: {e}"),
            "check the file's permissions",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ConfigError::new(
            ConfigErrorKind::Unreadable,
            &name,
            "",
            format!(
                "the file is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        )
    })?;
    let mut plan = load_str(&text, format, &name)?;
    plan.source = ConfigSource::File(path.to_path_buf());
    Ok(plan)
}

/// Loads and validates config text; `source_name` is used in messages.
pub fn load_str(
    text: &str,
    format: ConfigFormat,
    source_name: &str,
) -> Result<RunPlan, ConfigError> {
    let raw = parse_text(text, format, source_name)?;
    let mut ctx = Ctx::new(source_name);
    let mut plan = build_plan(&mut ctx, &raw)?;
    plan.source = ConfigSource::Text(source_name.to_string());
    Ok(plan)
}

/// CLI quick setup (`--backend`/`--model` without `--config`), MassGen's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuickSetup {
    /// `--backend` (inferred from the model when absent).
    pub backend: Option<String>,
    /// `--model` (default `gpt-4o-mini`).
    pub model: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--system-message` (default `You are a helpful AI assistant.`).
    pub system_message: Option<String>,
}

/// Builds a one-agent plan from CLI flags, exactly as MassGen synthesises its quick-setup config.
pub fn quick_setup(q: &QuickSetup) -> Result<RunPlan, ConfigError> {
    let mut backend = Map::new();
    if let Some(b) = &q.backend {
        backend.insert("type".into(), Value::String(b.clone()));
    }
    backend.insert(
        "model".into(),
        Value::String(q.model.clone().unwrap_or_else(|| "gpt-4o-mini".to_string())),
    );
    if let Some(u) = &q.base_url {
        backend.insert("base_url".into(), Value::String(u.clone()));
    }
    let raw = json!({
        "agent": {
            "id": "agent1",
            "backend": Value::Object(backend),
            "system_message": q.system_message.clone().unwrap_or_else(|| "You are a helpful AI assistant.".to_string()),
        },
        "ui": {"display_type": "rich_terminal", "logging_enabled": true},
    });
    let mut ctx = Ctx::new("<command line>");
    let mut plan = build_plan(&mut ctx, &raw).map_err(|mut e| {
        e.path = e
            .path
            .replace("agent.backend.type", "--backend")
            .replace("agent.backend.model", "--model")
            .replace("agent.backend.base_url", "--base-url");
        if e.path == "--backend" {
            e.fix = format!(
                "pass --backend ({}); for an OpenAI-compatible server use --backend chatcompletion --base-url URL",
                BackendType::ALL
                    .iter()
                    .filter(|t| **t != BackendType::ClaudeCode)
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        e
    })?;
    plan.source = ConfigSource::CommandLine;
    Ok(plan)
}

fn parse_text(text: &str, format: ConfigFormat, name: &str) -> Result<Value, ConfigError> {
    let value = match format {
        ConfigFormat::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            let line = e.line() as u64;
            let col = e.column() as u64;
            let err = ConfigError::new(
                ConfigErrorKind::Syntax,
                name,
                "",
                format!("invalid JSON: {}", clean_parser_message(&e.to_string())),
                "fix the JSON syntax at the position shown",
            );
            if line > 0 { err.at(line, col) } else { err }
        })?,
        ConfigFormat::Yaml => {
            if text.trim().is_empty() {
                Value::Null
            } else {
                serde_saphyr::from_str::<Value>(text).map_err(|e| {
                    let msg = e.without_snippet().to_string();
                    let msg = clean_parser_message(msg.lines().next().unwrap_or("syntax error"));
                    let fix = yaml_fix(&msg);
                    let err = ConfigError::new(
                        ConfigErrorKind::Syntax,
                        name,
                        "",
                        format!("invalid YAML: {msg}"),
                        fix,
                    );
                    match e.location() {
                        Some(loc) if loc.line() > 0 => err.at(loc.line(), loc.column()),
                        _ => err,
                    }
                })?
            }
        }
    };
    Ok(value)
}

/// What to do about a YAML parse error, by kind.
fn yaml_fix(msg: &str) -> &'static str {
    if msg.starts_with("duplicate key") {
        "remove or rename one of the duplicate keys"
    } else if msg.starts_with("the file holds several") {
        "keep one document: remove the extra `---` sections"
    } else if msg.starts_with("recursive alias") {
        "make the anchor refer to something other than itself"
    } else if msg.contains("non-finite") {
        "use an ordinary number"
    } else if msg.contains("budget") || msg.contains("Budget") {
        "the document is too deeply nested or uses too many aliases; simplify it"
    } else {
        "fix the YAML syntax at the position shown (check indentation, `:` after keys and quoting)"
    }
}

/// Drops the parser's own " at line L, column C" suffix (we add the location ourselves) and
/// rewords messages that talk about parser options.
fn clean_parser_message(msg: &str) -> String {
    let mut m = msg.trim().to_string();
    if let Some(i) = m.rfind(" at line ") {
        let tail = &m[i + 9..];
        if tail
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == ' ' || c.is_ascii_alphabetic())
            && tail.contains("column")
        {
            m.truncate(i);
        }
    }
    if let Some(rest) = m.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!(
            "duplicate key `{key}` in the same map (MassGen would silently keep the last one)"
        );
    }
    if m.starts_with("multiple YAML documents") {
        return "the file holds several YAML documents (separated by `---`); a config is one document".to_string();
    }
    if m.contains("recursive references") {
        return "recursive alias (an anchor that refers to itself)".to_string();
    }
    m
}

const TOP_KEYS: &[&str] = &[
    "agent",
    "agents",
    "ui",
    "orchestrator",
    "timeout_settings",
    "display",
    "massgen_tui",
];

fn build_plan(ctx: &mut Ctx, raw: &Value) -> Result<RunPlan, ConfigError> {
    let top = match raw {
        Value::Object(m) => m,
        Value::Null => {
            return Err(ctx.err(
                ConfigErrorKind::NoAgents,
                "",
                "the config is empty",
                "add an `agents:` list (see configs/README.md for examples)",
            ));
        }
        other => {
            return Err(ctx.invalid(
                "",
                format!(
                    "the config must be a map of sections, found {}",
                    type_name(other)
                ),
                "start the file with `agents:` (see configs/README.md for examples)",
            ));
        }
    };
    ctx.unknown_keys(
        top,
        "",
        TOP_KEYS,
        "ignored (MassGen ignores unknown top-level keys too)",
    );
    if top.contains_key("display") {
        ctx.warn(
            "display",
            "legacy `display:` section is ignored (as in MassGen v0.0.18); rename it to `ui:` and `type` to `display_type`",
        );
    }
    let ui = parse_ui(ctx, top.get("ui"))?;
    let orchestrator = parse_orchestrator(ctx, top.get("orchestrator"))?;
    let timeouts = parse_timeouts(ctx, top.get("timeout_settings"))?;
    let run = parse_run_settings(ctx, top.get("massgen_tui"))?;

    let entries: Vec<(String, &Value)> =
        match (top.get("agent").filter(|v| !v.is_null()), top.get("agents")) {
            (Some(agent), agents) => {
                if agents.is_some_and(|a| !a.is_null()) {
                    ctx.warn(
                        "agents",
                        "ignored because `agent` is also present (MassGen uses `agent`)",
                    );
                }
                match agent {
                    Value::Object(_) => vec![("agent".to_string(), agent)],
                    Value::Array(_) => {
                        return Err(ctx.invalid(
                            "agent",
                            "`agent` must be a single agent map, found a list",
                            "rename `agent:` to `agents:` for several agents",
                        ));
                    }
                    other => return Err(ctx.wrong_type("agent", "a map", other)),
                }
            }
            (None, Some(Value::Array(items))) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (index("agents", i), v))
                .collect(),
            (None, Some(Value::Object(_))) => {
                return Err(ctx.invalid(
                "agents",
                "`agents` must be a list; a map of agents is not supported (MassGen crashes on it)",
                "write each agent as a list item: `- id: name` followed by its `backend:`",
            ));
            }
            (None, Some(Value::Null) | None) => Vec::new(),
            (None, Some(other)) => return Err(ctx.wrong_type("agents", "a list of agents", other)),
        };
    if entries.is_empty() {
        return Err(ctx.err(
            ConfigErrorKind::NoAgents,
            if top.contains_key("agents") { "agents" } else { "" },
            "Configuration must contain either 'agent' or 'agents' section (with at least one agent)",
            "add `agents:` with at least one `- id: ...` entry that has a `backend:`",
        ));
    }
    let mut agents: Vec<AgentPlan> = Vec::new();
    for (i, (path, v)) in entries.into_iter().enumerate() {
        let agent = parse_agent(ctx, v, &path, i)?;
        if let Some(prev) = agents.iter().find(|a| a.id == agent.id) {
            return Err(ctx.err(
                ConfigErrorKind::DuplicateAgentId,
                &join(&path, "id"),
                format!(
                    "duplicate agent id `{}` (also used by {})",
                    agent.id, prev.config_path
                ),
                "give every agent a different `id` (MassGen would silently drop one of them)",
            ));
        }
        agents.push(agent);
    }
    Ok(RunPlan {
        source: ConfigSource::Text(ctx.file.clone()),
        agents,
        ui,
        orchestrator,
        timeouts,
        run,
        warnings: std::mem::take(&mut ctx.warnings),
        raw: raw.clone(),
    })
}

fn section<'v>(
    ctx: &Ctx,
    v: Option<&'v Value>,
    path: &str,
) -> Result<Option<&'v Map<String, Value>>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => ctx.map(v, path).map(Some),
    }
}

fn parse_ui(ctx: &mut Ctx, v: Option<&Value>) -> Result<UiSettings, ConfigError> {
    let mut ui = UiSettings::default();
    let Some(m) = section(ctx, v, "ui")? else {
        return Ok(ui);
    };
    ctx.unknown_keys(
        m,
        "ui",
        &[
            "display_type",
            "logging_enabled",
            "type",
            "use_orchestrator_for_single_agent",
            "debug",
        ],
        "ignored",
    );
    if m.contains_key("type") {
        ctx.warn(
            "ui.type",
            "ignored (MassGen reads `display_type`; `type` is a typo there too); rename it to `display_type` to choose the display",
        );
    }
    if let Some(d) = ctx.opt_str(m, "display_type", "ui")? {
        ui.display_type = match d.as_str() {
            "rich_terminal" => DisplayType::RichTerminal,
            "simple" => DisplayType::Simple,
            "terminal" => DisplayType::Terminal,
            other => {
                return Err(ctx.invalid(
                    "ui.display_type",
                    format!("Unknown display type: {other}"),
                    "use `rich_terminal`, `simple` or `terminal`",
                ));
            }
        };
    }
    if let Some(b) = ctx.opt_bool(m, "logging_enabled", "ui")? {
        ui.logging_enabled = b;
    }
    if let Some(b) = ctx.opt_bool(m, "use_orchestrator_for_single_agent", "ui")? {
        ui.use_orchestrator_for_single_agent = b;
    }
    if let Some(b) = ctx.opt_bool(m, "debug", "ui")? {
        ui.debug = b;
    }
    Ok(ui)
}

fn parse_orchestrator(
    ctx: &mut Ctx,
    v: Option<&Value>,
) -> Result<OrchestratorSettings, ConfigError> {
    let mut o = OrchestratorSettings::default();
    let Some(m) = section(ctx, v, "orchestrator")? else {
        return Ok(o);
    };
    ctx.unknown_keys(
        m,
        "orchestrator",
        &["snapshot_storage", "agent_temporary_workspace"],
        "ignored (MassGen v0.0.18 reads only snapshot_storage and agent_temporary_workspace here)",
    );
    o.snapshot_storage = ctx
        .opt_str(m, "snapshot_storage", "orchestrator")?
        .map(PathBuf::from);
    o.agent_temporary_workspace = ctx
        .opt_str(m, "agent_temporary_workspace", "orchestrator")?
        .map(PathBuf::from);
    Ok(o)
}

fn parse_timeouts(ctx: &mut Ctx, v: Option<&Value>) -> Result<TimeoutSettings, ConfigError> {
    let mut t = TimeoutSettings::default();
    let Some(m) = section(ctx, v, "timeout_settings")? else {
        return Ok(t);
    };
    for k in m.keys() {
        if k != "orchestrator_timeout_seconds" {
            return Err(ctx.invalid(
                &join("timeout_settings", k),
                format!("unknown timeout setting `{k}` (MassGen v0.0.18 fails on it too)"),
                "remove it: only `orchestrator_timeout_seconds` exists here (per-agent timeouts: `massgen_tui.agent_timeout_seconds`)",
            ));
        }
    }
    if let Some(s) = ctx.opt_pos_f64(m, "orchestrator_timeout_seconds", "timeout_settings")? {
        t.orchestrator_timeout_seconds = s.ceil() as u64;
    }
    Ok(t)
}

fn opt_u32(
    ctx: &Ctx,
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<u32>, ConfigError> {
    match ctx.opt_pos_u64(m, key, path)? {
        Some(v) => u32::try_from(v).map(Some).map_err(|_| {
            ctx.invalid(
                &join(path, key),
                format!("{v} is too large"),
                format!("use a smaller `{key}`"),
            )
        }),
        None => Ok(None),
    }
}

fn parse_run_settings(ctx: &mut Ctx, v: Option<&Value>) -> Result<RunSettings, ConfigError> {
    let mut r = RunSettings::default();
    let p = "massgen_tui";
    let Some(m) = section(ctx, v, p)? else {
        return Ok(r);
    };
    ctx.unknown_keys(
        m,
        p,
        &[
            "run_dir",
            "final_presentation",
            "max_agent_failures",
            "max_answers_per_agent",
            "agent_timeout_seconds",
            "mcp_max_tool_iterations",
            "mcp_result_max_chars",
        ],
        "ignored (see docs/configuration.md for the keys massgen-tui reads)",
    );
    r.run_dir = ctx.opt_str(m, "run_dir", p)?.map(PathBuf::from);
    if let Some(b) = ctx.opt_bool(m, "final_presentation", p)? {
        r.final_presentation = b;
    }
    if let Some(n) = opt_u32(ctx, m, "max_agent_failures", p)? {
        r.max_agent_failures = n;
    }
    r.max_answers_per_agent = opt_u32(ctx, m, "max_answers_per_agent", p)?;
    r.agent_timeout_seconds = ctx.opt_pos_u64(m, "agent_timeout_seconds", p)?;
    if let Some(n) = opt_u32(ctx, m, "mcp_max_tool_iterations", p)? {
        r.mcp_max_tool_iterations = n;
    }
    if let Some(n) = ctx.opt_pos_u64(m, "mcp_result_max_chars", p)? {
        r.mcp_result_max_chars = usize::try_from(n).unwrap_or(usize::MAX);
    }
    Ok(r)
}

const AGENT_KEYS: &[&str] = &["id", "backend", "system_message", "massgen_tui"];

fn parse_agent(ctx: &mut Ctx, v: &Value, path: &str, i: usize) -> Result<AgentPlan, ConfigError> {
    let m = ctx.map(v, path)?;
    ctx.unknown_keys(
        m,
        path,
        AGENT_KEYS,
        "ignored (MassGen reads only id, backend and system_message)",
    );
    let id = match m.get("id") {
        None | Some(Value::Null) => format!("agent{}", i + 1),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ctx.invalid(
                &join(path, "id"),
                format!("agent id must be a string, found {}", type_name(other)),
                "quote the id, e.g. `id: \"agent1\"`",
            ));
        }
    };
    let id_path = join(path, "id");
    if id.trim().is_empty() {
        return Err(ctx.invalid(
            &id_path,
            "agent id is empty",
            "give the agent a name, e.g. `id: researcher`",
        ));
    }
    if id == "." || id == ".." || id.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Err(ctx.invalid(
            &id_path,
            format!(
                "agent id {id:?} cannot be used: ids name the agent's log and workspace directories"
            ),
            "use letters, digits, `-`, `_` or `.` (no slashes)",
        ));
    }
    let system_message = ctx.opt_str(m, "system_message", path)?;
    let limits = match section(ctx, m.get("massgen_tui"), &join(path, "massgen_tui"))? {
        None => AgentLimits::default(),
        Some(x) => {
            let p = join(path, "massgen_tui");
            ctx.unknown_keys(x, &p, &["max_answers", "timeout_seconds"], "ignored");
            AgentLimits {
                max_answers: opt_u32(ctx, x, "max_answers", &p)?,
                timeout_seconds: ctx.opt_pos_u64(x, "timeout_seconds", &p)?,
            }
        }
    };
    let bpath = join(path, "backend");
    let empty = Map::new();
    let backend = section(ctx, m.get("backend"), &bpath)?.unwrap_or(&empty);
    parse_backend(ctx, backend, &bpath, path, id, i, system_message, limits)
}

/// Backend keys with a meaning to MassGen that are never forwarded to the provider request.
const FRAMEWORK_KEYS: &[&str] = &[
    "type",
    "model",
    "base_url",
    "api_key",
    "mcp_servers",
    "allowed_tools",
    "exclude_tools",
    "cwd",
    "enable_web_search",
    "enable_code_interpreter",
    "enable_code_execution",
    "agent_temporary_workspace",
    "provider",
    "provider_name",
    "max_mcp_message_history",
];

/// Recognised but unused by this build (warned, not forwarded).
const IGNORED_KEYS: &[(&str, &str)] = &[
    ("agent_id", "set by the orchestrator; ignored"),
    ("session_id", "set by the orchestrator; ignored"),
    ("use_multi_mcp", "MassGen-internal Gemini switch; ignored"),
    ("mcp_sdk_auto", "MassGen-internal Gemini switch; ignored"),
    (
        "circuit_breaker_enabled",
        "MassGen's Gemini MCP circuit breaker; massgen-tui has its own MCP failure handling, ignored",
    ),
];

/// Request parameters MassGen configs use or document; others are forwarded with a warning.
const KNOWN_PARAMS: &[&str] = &[
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "reasoning",
    "reasoning_effort",
    "text",
    "extra_body",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "n",
    "user",
    "parallel_tool_calls",
    "thinking",
    "safety_settings",
    "service_tier",
    "store",
    "metadata",
    "verbosity",
];

#[allow(clippy::too_many_arguments)]
fn parse_backend(
    ctx: &mut Ctx,
    b: &Map<String, Value>,
    bpath: &str,
    agent_path: &str,
    id: String,
    i: usize,
    system_message: Option<String>,
    limits: AgentLimits,
) -> Result<AgentPlan, ConfigError> {
    let type_path = join(bpath, "type");
    let model_given = ctx
        .opt_str(b, "model", bpath)?
        .filter(|m| !m.trim().is_empty());
    let type_list = BackendType::ALL.map(|t| t.as_str()).join(", ");
    let backend_type = match ctx.opt_str(b, "type", bpath)? {
        Some(t) => BackendType::parse(&t).ok_or_else(|| {
            ctx.err(
                ConfigErrorKind::UnsupportedBackend,
                &type_path,
                format!("Unsupported backend type: {t}"),
                format!("use one of: {type_list}"),
            )
        })?,
        None => match &model_given {
            Some(m) => providers::infer_backend_type(m).ok_or_else(|| {
                ctx.err(
                    ConfigErrorKind::UnsupportedBackend,
                    &type_path,
                    format!("no backend `type`, and model `{m}` is not in MassGen's model table (Unknown model)"),
                    format!("add `type:` ({type_list}); for OpenAI-compatible servers use `type: chatcompletion` with `base_url`"),
                )
            })?,
            None => {
                return Err(ctx.err(
                    ConfigErrorKind::UnsupportedBackend,
                    &type_path,
                    "Backend type must be specified or inferrable from model",
                    format!("add `type:` ({type_list}) and `model:` to the agent's backend"),
                ));
            }
        },
    };
    if backend_type == BackendType::ClaudeCode {
        return Err(ctx.err(
            ConfigErrorKind::UnsupportedBackend,
            &type_path,
            "backend type `claude_code` is not supported: MassGen drives Anthropic's Claude Code agent through its Python SDK (claude-code-sdk), which has no equivalent in massgen-tui",
            "use `type: claude` with a `model` (Anthropic Messages API, needs ANTHROPIC_API_KEY) and give the agent tools with `mcp_servers`",
        ));
    }
    for (k, why) in IGNORED_KEYS {
        if b.contains_key(*k) {
            ctx.warn(&join(bpath, k), *why);
        }
    }
    // base URL (Azure also accepts `azure_endpoint`).
    let mut base_url = ctx
        .opt_str(b, "base_url", bpath)?
        .filter(|u| !u.trim().is_empty());
    let mut base_path = join(bpath, "base_url");
    if backend_type == BackendType::AzureOpenAi && base_url.is_none() {
        base_url = ctx
            .opt_str(b, "azure_endpoint", bpath)?
            .filter(|u| !u.trim().is_empty());
        base_path = join(bpath, "azure_endpoint");
    }
    if let Some(u) = &base_url {
        let lower = u.trim().to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || providers::url_host_port(u).is_none()
        {
            return Err(ctx.invalid(
                &base_path,
                format!("`{u}` is not an http(s) URL with a host"),
                "write the full endpoint, e.g. `https://api.example.com/v1` or `http://localhost:1234/v1`",
            ));
        }
    }
    let provider = providers::resolve(backend_type, base_url.as_deref());
    let model = match model_given {
        Some(m) => m,
        None => {
            let default = match backend_type {
                BackendType::ChatCompletion => provider
                    .default_model
                    .or(backend_type.massgen_default_model()),
                _ => backend_type.massgen_default_model(),
            };
            let Some(d) =
                default.filter(|_| !provider.local || backend_type == BackendType::LmStudio)
            else {
                return Err(ctx.invalid(
                    &join(bpath, "model"),
                    format!(
                        "no `model` given and {} has no default model",
                        provider.display_name
                    ),
                    if backend_type == BackendType::AzureOpenAi {
                        "set `model` to your Azure deployment name".to_string()
                    } else {
                        "set `model` to the model name the server expects".to_string()
                    },
                ));
            };
            let note = if backend_type == BackendType::Claude {
                " (retired by Anthropic: set `model` explicitly)"
            } else {
                ""
            };
            ctx.warn(
                &join(bpath, "model"),
                format!("not set; using MassGen's default `{d}`{note}"),
            );
            d.to_string()
        }
    };
    let base_url = base_url.or_else(|| provider.default_base_url.map(str::to_string));
    let api_key = match ctx
        .opt_str(b, "api_key", bpath)?
        .filter(|k| !k.trim().is_empty())
    {
        Some(k) => ApiKey::Explicit(Secret::new(k.trim())),
        None => match provider.key_policy {
            KeyPolicy::Required => ApiKey::FromEnv {
                vars: provider.api_key_env,
                required: true,
            },
            KeyPolicy::Optional if !provider.api_key_env.is_empty() => ApiKey::FromEnv {
                vars: provider.api_key_env,
                required: false,
            },
            KeyPolicy::Optional | KeyPolicy::None => ApiKey::NotRequired,
        },
    };
    let cwd = ctx.opt_str(b, "cwd", bpath)?;
    if cwd.is_some() && !backend_type.supports_filesystem() {
        return Err(ctx.invalid(
            &join(bpath, "cwd"),
            format!(
                "Backend {} does not support filesystem operations. Remove 'cwd' from configuration.",
                provider.display_name
            ),
            "remove `cwd`, or use a backend with filesystem support (openai, gemini, grok, chatcompletion, zai, lmstudio)",
        ));
    }
    if let Some(c) = &cwd
        && c.trim().is_empty()
    {
        return Err(ctx.invalid(
            &join(bpath, "cwd"),
            "`cwd` is empty",
            "set `cwd` to a directory name, or remove it",
        ));
    }
    let builtin_tools = BuiltinTools {
        web_search: ctx
            .opt_bool(b, "enable_web_search", bpath)?
            .unwrap_or(false),
        code_interpreter: ctx
            .opt_bool(b, "enable_code_interpreter", bpath)?
            .unwrap_or(false),
        code_execution: ctx
            .opt_bool(b, "enable_code_execution", bpath)?
            .unwrap_or(false),
    };
    let mcp_servers = match b.get("mcp_servers") {
        Some(v) => parse_servers(ctx, v, &join(bpath, "mcp_servers"))?,
        None => Vec::new(),
    };
    let allowed_tools = ctx.opt_str_list(b, "allowed_tools", bpath)?;
    let exclude_tools = ctx
        .opt_str_list(b, "exclude_tools", bpath)?
        .unwrap_or_default();
    let provider_name = match ctx.opt_str(b, "provider_name", bpath)? {
        Some(n) => Some(n),
        None => ctx.opt_str(b, "provider", bpath)?,
    };
    let max_mcp_message_history = ctx.opt_pos_u64(b, "max_mcp_message_history", bpath)?;
    if b.contains_key("agent_temporary_workspace") {
        ctx.warn(
            &join(bpath, "agent_temporary_workspace"),
            "set by the `orchestrator:` section (MassGen overwrites it there); this value is ignored",
        );
    }
    let mut api_version = None;
    let mut params = Map::new();
    for (k, v) in b {
        let kp = join(bpath, k);
        if FRAMEWORK_KEYS.contains(&k.as_str()) || IGNORED_KEYS.iter().any(|(x, _)| x == k) {
            continue;
        }
        if backend_type == BackendType::AzureOpenAi {
            match k.as_str() {
                "api_version" => {
                    api_version = ctx.opt_str(b, "api_version", bpath)?;
                    continue;
                }
                "azure_endpoint" => continue,
                _ => {}
            }
        }
        check_param(ctx, k, v, &kp)?;
        if !KNOWN_PARAMS.contains(&k.as_str()) {
            let mut known: Vec<&str> = KNOWN_PARAMS.to_vec();
            known.extend_from_slice(FRAMEWORK_KEYS);
            let hint = suggest(k, &known)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            ctx.warn(
                &kp,
                format!("not a backend key MassGen documents{hint}; forwarded to the provider request as-is"),
            );
        } else if provider.caps.rejected_params.contains(&k.as_str()) {
            ctx.warn(
                &kp,
                format!(
                    "{} does not accept `{k}`; it is dropped from requests",
                    provider.display_name
                ),
            );
        }
        params.insert(k.clone(), v.clone());
    }
    Ok(AgentPlan {
        id,
        index: i,
        config_path: agent_path.to_string(),
        backend_type,
        provider,
        model,
        base_url,
        api_key,
        system_message,
        params,
        builtin_tools,
        mcp_servers,
        allowed_tools,
        exclude_tools,
        cwd: cwd.map(PathBuf::from),
        provider_name,
        api_version,
        max_mcp_message_history,
        limits,
    })
}

/// Type checks for the well-known request parameters.
fn check_param(ctx: &Ctx, key: &str, v: &Value, path: &str) -> Result<(), ConfigError> {
    if v.is_null() {
        return Ok(());
    }
    let ok = match key {
        "temperature" | "top_p" | "frequency_penalty" | "presence_penalty" => v.is_number(),
        "max_tokens" | "max_completion_tokens" | "max_output_tokens" | "top_k" | "seed" | "n" => {
            v.as_u64().is_some() || v.as_i64().is_some()
        }
        "reasoning" | "text" | "extra_body" | "thinking" | "metadata" => v.is_object(),
        "parallel_tool_calls" | "logprobs" | "store" => v.is_boolean(),
        _ => true,
    };
    if ok {
        if matches!(
            key,
            "max_tokens" | "max_completion_tokens" | "max_output_tokens"
        ) && v.as_u64().is_none_or(|n| n == 0)
        {
            return Err(ctx.invalid(
                path,
                format!("`{key}` must be at least 1"),
                format!("set `{key}` to a positive whole number"),
            ));
        }
        return Ok(());
    }
    let expected = match key {
        "temperature" | "top_p" | "frequency_penalty" | "presence_penalty" => "a number",
        "reasoning" | "text" | "extra_body" | "thinking" | "metadata" => "a map",
        "parallel_tool_calls" | "logprobs" | "store" => "true or false",
        _ => "a whole number",
    };
    Err(ctx.wrong_type(path, expected, v))
}
