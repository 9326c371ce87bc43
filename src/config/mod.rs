//! Configuration: MassGen-compatible YAML/JSON loading, validation into a run plan, provider
//! profiles and `.env` handling.
//!
//! Responsibilities: turning a config file (or CLI quick-setup flags) into an immutable,
//! validated [`RunPlan`], with precise errors (file, key path, reason, fix) and warnings for
//! unknown keys; resolving API keys from an [`Env`] before any request is made; a redacted copy
//! of the config for run records. Non-responsibilities: talking to providers or MCP servers.
//!
//! Public API in one glance:
//! - [`load`] / [`load_str`] / [`quick_setup`] → [`RunPlan`] (or [`ConfigError`]);
//! - [`RunPlan::resolve_keys`] with an [`Env`] ([`Env::load`] reads `.env`) → [`ResolvedKeys`];
//! - [`RunPlan::redacted_json`] / [`RunPlan::redacted_yaml`] for run records;
//! - [`providers`]: the provider table ([`ProviderProfile`], [`Capabilities`]).

mod env;
mod error;
mod load;
pub mod mcp;
pub mod providers;
mod walk;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use env::{DotenvIssue, Env, Secret, env_references, expand_env_refs, parse_dotenv};
pub use error::{ConfigError, ConfigErrorData, ConfigErrorKind, ConfigWarning};
pub use load::{QuickSetup, find_config, load, load_str, quick_setup};
pub use mcp::{HttpServer, McpSecurity, McpServerConfig, McpTransport, SecurityLevel, StdioServer};
pub use providers::{
    AssistantContent, BackendType, Capabilities, KeyPolicy, PROVIDERS, ProviderProfile, WireApi,
    providers_markdown,
};

/// Default `timeout_settings.orchestrator_timeout_seconds` (MassGen: 30 minutes).
pub const DEFAULT_ORCHESTRATOR_TIMEOUT_SECONDS: u64 = 1800;

/// Syntax of a config text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFormat {
    /// `.yaml` / `.yml`.
    Yaml,
    /// `.json`.
    Json,
}

impl ConfigFormat {
    /// The format for a file name suffix (`None` for anything else).
    pub fn from_path(path: &Path) -> Option<ConfigFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => Some(ConfigFormat::Yaml),
            Some("json") => Some(ConfigFormat::Json),
            _ => None,
        }
    }
}

/// Where a plan came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// A config file.
    File(PathBuf),
    /// `--backend` / `--model` quick setup.
    CommandLine,
    /// Text given to [`load_str`] under a name.
    Text(String),
}

impl ConfigSource {
    /// Human name used in messages.
    pub fn name(&self) -> String {
        match self {
            ConfigSource::File(p) => p.display().to_string(),
            ConfigSource::CommandLine => "<command line>".to_string(),
            ConfigSource::Text(n) => n.clone(),
        }
    }
}

/// `ui.display_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayType {
    /// `rich_terminal` (default): the full-screen TUI.
    RichTerminal,
    /// `simple` (also `--no-display`): plain text.
    Simple,
    /// `terminal`: plain text with agent columns in MassGen; plain text here.
    Terminal,
}

impl DisplayType {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DisplayType::RichTerminal => "rich_terminal",
            DisplayType::Simple => "simple",
            DisplayType::Terminal => "terminal",
        }
    }
}

/// The `ui:` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiSettings {
    /// Display kind.
    pub display_type: DisplayType,
    /// `logging_enabled` (default true; `--no-logs` sets false).
    pub logging_enabled: bool,
    /// With exactly one agent and `false`: stream the agent directly, without coordination.
    pub use_orchestrator_for_single_agent: bool,
    /// `--debug`.
    pub debug: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            display_type: DisplayType::RichTerminal,
            logging_enabled: true,
            use_orchestrator_for_single_agent: true,
            debug: false,
        }
    }
}

/// The `orchestrator:` section (context sharing between agents with `cwd`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrchestratorSettings {
    /// Latest-workspace snapshot store (wiped at start).
    pub snapshot_storage: Option<PathBuf>,
    /// Parent of per-agent temporary context workspaces.
    pub agent_temporary_workspace: Option<PathBuf>,
}

/// The `timeout_settings:` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutSettings {
    /// Global coordination timeout (default 1800; `--orchestrator-timeout` overrides).
    pub orchestrator_timeout_seconds: u64,
}

impl Default for TimeoutSettings {
    fn default() -> Self {
        TimeoutSettings {
            orchestrator_timeout_seconds: DEFAULT_ORCHESTRATOR_TIMEOUT_SECONDS,
        }
    }
}

/// Our run-level extensions (top-level `massgen_tui:` map). See docs/configuration.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSettings {
    /// Where run records go (default chosen by the telemetry layer).
    pub run_dir: Option<PathBuf>,
    /// Whether the winner presents a final answer (MassGen: always). Default true.
    pub final_presentation: bool,
    /// Agents that may fail before the run gives up. Default 3.
    pub max_agent_failures: u32,
    /// Cap on `new_answer` calls per agent (none in MassGen).
    pub max_answers_per_agent: Option<u32>,
    /// Per-agent timeout for one turn, seconds (none in MassGen v0.0.18).
    pub agent_timeout_seconds: Option<u64>,
    /// Max MCP tool-call iterations per agent turn. Default 10.
    pub mcp_max_tool_iterations: u32,
    /// MCP tool results longer than this are truncated before they reach the model. Default 20000.
    pub mcp_result_max_chars: usize,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            run_dir: None,
            final_presentation: true,
            max_agent_failures: 3,
            max_answers_per_agent: None,
            agent_timeout_seconds: None,
            mcp_max_tool_iterations: 10,
            mcp_result_max_chars: 20_000,
        }
    }
}

/// Per-agent extensions (`massgen_tui:` beside `backend:`); override the run-level values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentLimits {
    /// Cap on this agent's `new_answer` calls.
    pub max_answers: Option<u32>,
    /// Timeout for one turn of this agent, seconds.
    pub timeout_seconds: Option<u64>,
}

/// Provider built-in tools switched on in the backend config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuiltinTools {
    /// `enable_web_search`.
    pub web_search: bool,
    /// `enable_code_interpreter`.
    pub code_interpreter: bool,
    /// `enable_code_execution`.
    pub code_execution: bool,
}

/// Where an agent's API key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiKey {
    /// `backend.api_key` in the config.
    Explicit(Secret),
    /// The first non-empty of these environment variables.
    FromEnv {
        /// Variables, in lookup order.
        vars: &'static [&'static str],
        /// Missing = error (otherwise no key is sent).
        required: bool,
    },
    /// Local server: no key.
    NotRequired,
}

/// One agent, fully resolved. Agents keep config order (= tie-break order). `Debug` redacts
/// credential-like keys inside `params`.
#[derive(Clone, PartialEq)]
pub struct AgentPlan {
    /// Real id (`id:` or `agent<i>`).
    pub id: String,
    /// 0-based position in the config.
    pub index: usize,
    /// Key path of the entry (`agents[2]` or `agent`).
    pub config_path: String,
    /// Backend type (given or inferred from the model).
    pub backend_type: BackendType,
    /// Provider profile (from type + base URL).
    pub provider: &'static ProviderProfile,
    /// Model (or Azure deployment).
    pub model: String,
    /// Endpoint: explicit, else the profile default. `None` only for Azure without a configured
    /// endpoint (then `AZURE_OPENAI_ENDPOINT`, see [`ResolvedAgentKey::base_url`]).
    pub base_url: Option<String>,
    /// Key source.
    pub api_key: ApiKey,
    /// Role / extra instructions.
    pub system_message: Option<String>,
    /// Every other backend key, forwarded to the provider request (file order).
    pub params: Map<String, Value>,
    /// Provider built-in tools.
    pub builtin_tools: BuiltinTools,
    /// MCP servers of this agent.
    pub mcp_servers: Vec<McpServerConfig>,
    /// Allow-list of raw MCP tool names (`None` = all).
    pub allowed_tools: Option<Vec<String>>,
    /// Deny-list of raw MCP tool names (applied first).
    pub exclude_tools: Vec<String>,
    /// Working directory for the filesystem layer (relative to the process working directory).
    pub cwd: Option<PathBuf>,
    /// `provider` / `provider_name` display override.
    pub provider_name: Option<String>,
    /// Azure API version (`api_version`), if given in the config.
    pub api_version: Option<String>,
    /// `max_mcp_message_history` (MassGen default 200).
    pub max_mcp_message_history: Option<u64>,
    /// Our per-agent limits.
    pub limits: AgentLimits,
}

impl std::fmt::Debug for AgentPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentPlan")
            .field("id", &self.id)
            .field("index", &self.index)
            .field("config_path", &self.config_path)
            .field("backend_type", &self.backend_type)
            .field("provider", &self.provider.id)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("system_message", &self.system_message)
            .field(
                "params",
                &redact(&Value::Object(self.params.clone()), false),
            )
            .field("builtin_tools", &self.builtin_tools)
            .field("mcp_servers", &self.mcp_servers)
            .field("allowed_tools", &self.allowed_tools)
            .field("exclude_tools", &self.exclude_tools)
            .field("cwd", &self.cwd)
            .field("provider_name", &self.provider_name)
            .field("api_version", &self.api_version)
            .field("max_mcp_message_history", &self.max_mcp_message_history)
            .field("limits", &self.limits)
            .finish()
    }
}

impl AgentPlan {
    /// The provider name to show (override, else the profile's display name).
    pub fn provider_display_name(&self) -> &str {
        self.provider_name
            .as_deref()
            .unwrap_or(self.provider.display_name)
    }
}

/// A validated run: everything the engine needs except secrets from the environment.
/// Build it with [`load`], [`load_str`] or [`quick_setup`]; nothing changes it afterwards
/// except CLI overrides applied by the caller before the run starts. `Debug` shows the raw
/// config redacted.
#[derive(Clone, PartialEq)]
pub struct RunPlan {
    /// Where it came from.
    pub source: ConfigSource,
    /// Agents in config order.
    pub agents: Vec<AgentPlan>,
    /// `ui:`.
    pub ui: UiSettings,
    /// `orchestrator:`.
    pub orchestrator: OrchestratorSettings,
    /// `timeout_settings:`.
    pub timeouts: TimeoutSettings,
    /// `massgen_tui:`.
    pub run: RunSettings,
    /// Non-fatal findings, in document order.
    pub warnings: Vec<ConfigWarning>,
    raw: Value,
}

impl std::fmt::Debug for RunPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunPlan")
            .field("source", &self.source)
            .field("agents", &self.agents)
            .field("ui", &self.ui)
            .field("orchestrator", &self.orchestrator)
            .field("timeouts", &self.timeouts)
            .field("run", &self.run)
            .field("warnings", &self.warnings)
            .field("raw", &self.redacted_json())
            .finish()
    }
}

/// Where a resolved key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `backend.api_key`.
    Config,
    /// This environment variable.
    EnvVar(&'static str),
    /// No key needed or none found for an optional provider.
    None,
}

/// One agent's credentials and endpoint after reading the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedAgentKey {
    /// Agent id.
    pub agent_id: String,
    /// The key to send (`None`: send no key).
    pub api_key: Option<Secret>,
    /// Where it came from.
    pub source: KeySource,
    /// Effective endpoint (for Azure this includes `AZURE_OPENAI_ENDPOINT`).
    pub base_url: Option<String>,
    /// Azure: effective API version.
    pub api_version: Option<String>,
}

/// Credentials for every agent of a plan, in agent order. `Debug` never shows key values.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ResolvedKeys {
    /// One entry per agent.
    pub agents: Vec<ResolvedAgentKey>,
}

impl ResolvedKeys {
    /// The entry for an agent id.
    pub fn get(&self, agent_id: &str) -> Option<&ResolvedAgentKey> {
        self.agents.iter().find(|a| a.agent_id == agent_id)
    }
}

/// Default Azure OpenAI API version (MassGen's).
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-12-01-preview";

impl RunPlan {
    /// The agent with this id.
    pub fn agent(&self, id: &str) -> Option<&AgentPlan> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// Total MCP servers over all agents.
    pub fn mcp_server_count(&self) -> usize {
        self.agents.iter().map(|a| a.mcp_servers.len()).sum()
    }

    /// One line: `3 agents [a: chatcompletion/Cerebras/gpt-oss-120b, ...]; 2 MCP servers; 1 warning`.
    pub fn summary(&self) -> String {
        let n = self.agents.len();
        let agents: Vec<String> = self
            .agents
            .iter()
            .map(|a| {
                format!(
                    "{}: {}/{}/{}",
                    a.id,
                    a.backend_type,
                    a.provider_display_name(),
                    a.model
                )
            })
            .collect();
        let m = self.mcp_server_count();
        let w = self.warnings.len();
        format!(
            "{n} agent{} [{}]; {m} MCP server{}; {w} warning{}",
            if n == 1 { "" } else { "s" },
            agents.join(", "),
            if m == 1 { "" } else { "s" },
            if w == 1 { "" } else { "s" },
        )
    }

    /// Reads every agent's API key (and Azure endpoint) from `env`. Fails before any request
    /// when a required key is missing, naming the agent(s) and the variable(s).
    pub fn resolve_keys(&self, env: &Env) -> Result<ResolvedKeys, ConfigError> {
        let mut out = Vec::new();
        let mut missing: Vec<(String, String)> = Vec::new();
        for a in &self.agents {
            let (api_key, source) = match &a.api_key {
                ApiKey::Explicit(s) => (Some(s.clone()), KeySource::Config),
                ApiKey::NotRequired => (None, KeySource::None),
                ApiKey::FromEnv { vars, required } => {
                    match vars
                        .iter()
                        .find_map(|v| env.non_empty(v).map(|val| (*v, val)))
                    {
                        Some((var, val)) => (Some(Secret::new(val.trim())), KeySource::EnvVar(var)),
                        None if *required => {
                            missing.push((
                                a.config_path.clone(),
                                format!(
                                    "agent `{}` ({}) needs {}",
                                    a.id,
                                    a.provider_display_name(),
                                    vars.join(" or ")
                                ),
                            ));
                            (None, KeySource::None)
                        }
                        None => (None, KeySource::None),
                    }
                }
            };
            let mut base_url = a.base_url.clone();
            let mut api_version = None;
            if a.backend_type == BackendType::AzureOpenAi {
                if base_url.is_none() {
                    base_url = env.non_empty("AZURE_OPENAI_ENDPOINT").map(str::to_string);
                    if base_url.is_none() {
                        missing.push((
                            a.config_path.clone(),
                            format!(
                                "agent `{}` (Azure OpenAI) needs an endpoint: AZURE_OPENAI_ENDPOINT or backend.base_url",
                                a.id
                            ),
                        ));
                    }
                }
                api_version = Some(
                    a.api_version
                        .clone()
                        .or_else(|| {
                            env.non_empty("AZURE_OPENAI_API_VERSION")
                                .map(str::to_string)
                        })
                        .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_string()),
                );
            }
            out.push(ResolvedAgentKey {
                agent_id: a.id.clone(),
                api_key,
                source,
                base_url,
                api_version,
            });
        }
        if let Some((first_path, _)) = missing.first() {
            let reasons: Vec<&str> = missing.iter().map(|(_, r)| r.as_str()).collect();
            return Err(ConfigError::new(
                ConfigErrorKind::MissingApiKey,
                self.source.name(),
                format!("{first_path}.backend.api_key"),
                format!("missing API key: {}", reasons.join("; ")),
                "export the variable, put `NAME=value` in .env in the working directory, or set `backend.api_key` in the config",
            ));
        }
        Ok(ResolvedKeys { agents: out })
    }

    /// The config as written (after quick-setup synthesis), with every secret replaced by
    /// `"***"`: `api_key`, MCP `env` and `headers` values (except pure `${VAR}` references) and
    /// any key whose name looks like a credential (`token`, `secret`, `password`, ...).
    pub fn redacted_json(&self) -> Value {
        redact(&self.raw, false)
    }

    /// [`RunPlan::redacted_json`] as YAML.
    pub fn redacted_yaml(&self) -> String {
        serde_saphyr::to_string(&self.redacted_json()).unwrap_or_else(|_| {
            serde_json::to_string_pretty(&self.redacted_json()).unwrap_or_default()
        })
    }
}

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.contains("token") && !k.contains("tokens") && !k.starts_with("max") {
        return true;
    }
    [
        "api_key",
        "apikey",
        "api-key",
        "secret",
        "password",
        "passwd",
        "authorization",
        "credential",
        "private_key",
        "cookie",
    ]
    .iter()
    .any(|p| k.contains(p))
}

fn is_pure_reference(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("${") && t.ends_with('}') && env::is_simple_var_name(&t[2..t.len() - 1])
}

fn redact(v: &Value, all: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let everything = all || matches!(k.as_str(), "env" | "headers");
                    let nv = if is_secret_key(k) {
                        redact_leaf(x)
                    } else {
                        redact(x, everything)
                    };
                    (k.clone(), nv)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|x| redact(x, all)).collect()),
        Value::String(s) if all && !is_pure_reference(s) => Value::String("***".into()),
        Value::Number(_) | Value::Bool(_) if all => Value::String("***".into()),
        other => other.clone(),
    }
}

fn redact_leaf(v: &Value) -> Value {
    match v {
        Value::String(s) if is_pure_reference(s) => v.clone(),
        Value::Null => Value::Null,
        Value::Object(_) | Value::Array(_) => redact(v, true),
        _ => Value::String("***".into()),
    }
}
