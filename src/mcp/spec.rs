//! MCP server specifications and their validation.
//!
//! Responsibilities: the typed description of one MCP server ([`ServerSpec`]) that the rest of
//! the `mcp` module consumes, `${VAR}` expansion, and the checks run before anything starts
//! ([`validate`]): shell metacharacters in a command run without a shell, missing executables,
//! malformed URLs and headers, unset variables, plain HTTP to non-local hosts.
//! Non-responsibilities: parsing YAML (the `config` module maps its types onto these), starting
//! servers (`server.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default start-up timeout of one server (spawn/connect + initialize + first tools/list).
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default per-call timeout.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap up to which progress notifications may extend a call.
pub const DEFAULT_MAX_CALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Default number of connection-level retries (start-up, tools/list).
pub const DEFAULT_RETRIES: u32 = 2;

/// How strictly a server's command is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityLevel {
    /// Moderate checks plus MassGen's executable allow-list (interpreters and package runners
    /// such as `python`, `node`, `npx`, `uvx`, plus `massgen-tui` itself).
    Strict,
    /// No allow-list; shell metacharacters, `..` in the executable path, missing executables
    /// and unset variables are rejected. The default.
    #[default]
    Moderate,
    /// Like moderate, but plain HTTP to non-local hosts is not warned about.
    Permissive,
}

impl SecurityLevel {
    /// Parse MassGen's `security.level` (`strict`, `moderate`, `permissive`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" => Some(Self::Strict),
            "moderate" => Some(Self::Moderate),
            "permissive" => Some(Self::Permissive),
            _ => None,
        }
    }
}

/// How to reach a server.
#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        /// Executable, optionally followed by arguments (split like a POSIX shell would, but
        /// no shell runs it). May contain `${VAR}`.
        command: String,
        /// Further arguments (passed verbatim after `${VAR}` expansion).
        args: Vec<String>,
        /// Environment on top of a minimal default (HOME, PATH, USER …). Values may contain
        /// `${VAR}`; they are secrets and never logged.
        env: BTreeMap<String, String>,
        /// Working directory.
        cwd: Option<PathBuf>,
    },
    /// Streamable HTTP.
    StreamableHttp {
        /// Endpoint, e.g. `http://127.0.0.1:5173/mcp`. May contain `${VAR}`.
        url: String,
        /// Extra headers. Values may contain `${VAR}`; they are secrets and never logged.
        headers: BTreeMap<String, String>,
        /// Environment variable holding a bearer token for `Authorization`.
        bearer_token_env: Option<String>,
    },
}

impl fmt::Debug for Transport {
    // Hand-written so env values and header values (secrets) never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Stdio {
                command,
                args,
                env,
                cwd,
            } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", args)
                .field("env_keys", &env.keys().collect::<Vec<_>>())
                .field("cwd", cwd)
                .finish(),
            Transport::StreamableHttp {
                url,
                headers,
                bearer_token_env,
            } => f
                .debug_struct("StreamableHttp")
                .field("url", url)
                .field("header_names", &headers.keys().collect::<Vec<_>>())
                .field("bearer_token_env", bearer_token_env)
                .finish(),
        }
    }
}

impl Transport {
    /// `stdio` or `streamable-http`.
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Stdio { .. } => "stdio",
            Transport::StreamableHttp { .. } => "streamable-http",
        }
    }
}

/// One MCP server, as the `mcp` module needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// Name (`[A-Za-z0-9_-]+`), used in exposed tool names and events.
    pub name: String,
    /// How to reach it.
    pub transport: Transport,
    /// If true, a failure to start fails the run instead of being reported and skipped.
    pub required: bool,
    /// Time allowed for spawn/connect, initialize and the first tools/list.
    pub startup_timeout: Duration,
    /// Per-call timeout without progress.
    pub call_timeout: Duration,
    /// Cap up to which progress notifications may extend a call.
    pub max_call_timeout: Duration,
    /// Connection-level retries (start-up, tools/list); never re-sends a tool call.
    pub retries: u32,
    /// Command checks.
    pub security: SecurityLevel,
    /// If set, only these tools of this server are exposed (raw names, or exposed names).
    pub allowed_tools: Option<Vec<String>>,
    /// Tools of this server never exposed (raw names, or exposed names).
    pub exclude_tools: Vec<String>,
}

impl ServerSpec {
    /// A spec with defaults for everything but the name and transport.
    pub fn new(name: impl Into<String>, transport: Transport) -> Self {
        Self {
            name: name.into(),
            transport,
            required: false,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_call_timeout: DEFAULT_MAX_CALL_TIMEOUT,
            retries: DEFAULT_RETRIES,
            security: SecurityLevel::default(),
            allowed_tools: None,
            exclude_tools: Vec::new(),
        }
    }

    /// A stdio server with no extra args/env.
    pub fn stdio(name: impl Into<String>, command: impl Into<String>, args: Vec<String>) -> Self {
        Self::new(
            name,
            Transport::Stdio {
                command: command.into(),
                args,
                env: BTreeMap::new(),
                cwd: None,
            },
        )
    }

    /// A stdio server from an already split command line (`argv[0]` is the program). The
    /// program is quoted so it is not split again.
    pub fn stdio_argv(name: impl Into<String>, program: &str, args: Vec<String>) -> Self {
        Self::stdio(name, quote_word(program), args)
    }

    /// A streamable-HTTP server with no headers.
    pub fn http(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self::new(
            name,
            Transport::StreamableHttp {
                url: url.into(),
                headers: BTreeMap::new(),
                bearer_token_env: None,
            },
        )
    }

    /// A server given on the command line: an `http://` / `https://` URL is a streamable-HTTP
    /// server, anything else a stdio command line (split like a shell would, no shell runs
    /// it). The name is derived from the executable or host unless given.
    pub fn from_command_line(target: &str, name: Option<&str>) -> Result<Self, McpConfigError> {
        let target = target.trim();
        let lower = target.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let derived = reqwest::Url::parse(target)
                .ok()
                .and_then(|u| u.host_str().map(sanitize_server_name))
                .unwrap_or_else(|| "server".to_owned());
            return Ok(Self::http(name.map_or(derived, str::to_owned), target));
        }
        let parts = split_command(target).map_err(|reason| McpConfigError::InvalidCommand {
            server: name.unwrap_or("cli").to_owned(),
            reason,
        })?;
        let Some((exe, rest)) = parts.split_first() else {
            return Err(McpConfigError::EmptyCommand {
                server: name.unwrap_or("cli").to_owned(),
            });
        };
        let derived = Path::new(exe)
            .file_stem()
            .map(|s| sanitize_server_name(&s.to_string_lossy()))
            .unwrap_or_else(|| "server".to_owned());
        Ok(Self::stdio(
            name.map_or(derived, str::to_owned),
            exe.clone(),
            rest.to_vec(),
        ))
    }
}

/// Quote one word for [`split_command`] (single quotes unless it is plain).
pub fn quote_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Replace characters not allowed in server names with `_`.
fn sanitize_server_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "server".to_owned()
    } else {
        out
    }
}

/// A problem that does not stop a server from starting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Server concerned.
    pub server: String,
    /// What to know.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MCP server `{}`: {}", self.server, self.message)
    }
}

/// A server config that cannot be used. Every message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum McpConfigError {
    /// Bad server name.
    #[error(
        "MCP server name `{server}` is invalid: {reason}. Use letters, digits, `_` and `-` only"
    )]
    InvalidName {
        /// Server.
        server: String,
        /// Why.
        reason: String,
    },
    /// Two servers share a name.
    #[error("MCP server name `{server}` is used twice; server names must be unique")]
    DuplicateName {
        /// Server.
        server: String,
    },
    /// No command.
    #[error("MCP server `{server}`: `command` is empty; give the executable to run")]
    EmptyCommand {
        /// Server.
        server: String,
    },
    /// The command line cannot be split.
    #[error("MCP server `{server}`: invalid command line: {reason}")]
    InvalidCommand {
        /// Server.
        server: String,
        /// Why.
        reason: String,
    },
    /// Shell syntax in a command that runs without a shell.
    #[error(
        "MCP server `{server}`: the command contains the shell metacharacter `{ch}`, but MCP commands run without a shell, so it would be passed literally. Put pipelines or redirections in a script, or run `sh -c '…'` explicitly"
    )]
    ShellMetacharacter {
        /// Server.
        server: String,
        /// The offending character(s).
        ch: String,
    },
    /// `..` in the executable path.
    #[error(
        "MCP server `{server}`: the executable path `{path}` contains `..`; use an absolute path or a name found on PATH"
    )]
    ParentDirInPath {
        /// Server.
        server: String,
        /// The path.
        path: String,
    },
    /// The executable does not exist.
    #[error("MCP server `{server}`: executable `{executable}` not found ({detail})")]
    ExecutableNotFound {
        /// Server.
        server: String,
        /// Executable as written.
        executable: String,
        /// Where we looked and what to do.
        detail: String,
    },
    /// Strict level: executable not in the allow-list.
    #[error(
        "MCP server `{server}`: executable `{executable}` is not allowed at security level strict (allowed: {allowed}); lower `security.level` or use an allowed launcher"
    )]
    ExecutableNotAllowed {
        /// Server.
        server: String,
        /// Executable.
        executable: String,
        /// The allow-list.
        allowed: String,
    },
    /// `${VAR}` whose variable is unset or empty.
    #[error(
        "MCP server `{server}`: environment variable `{var}` (used in {field}) is not set; export it or remove the `${{{var}}}` placeholder"
    )]
    UnsetVariable {
        /// Server.
        server: String,
        /// Where it was used, e.g. `env.API_KEY`.
        field: String,
        /// The variable.
        var: String,
    },
    /// `${` without a valid name and closing brace.
    #[error(
        "MCP server `{server}`: malformed placeholder in {field}: `{text}`; write `${{NAME}}` with NAME made of letters, digits and `_`"
    )]
    MalformedPlaceholder {
        /// Server.
        server: String,
        /// Where.
        field: String,
        /// The offending text.
        text: String,
    },
    /// Bad URL.
    #[error("MCP server `{server}`: invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// Server.
        server: String,
        /// URL (placeholders unexpanded).
        url: String,
        /// Why.
        reason: String,
    },
    /// Bad header name or value.
    #[error("MCP server `{server}`: invalid header `{name}`: {reason}")]
    InvalidHeader {
        /// Server.
        server: String,
        /// Header name.
        name: String,
        /// Why (never contains the value).
        reason: String,
    },
    /// Bad working directory.
    #[error("MCP server `{server}`: working directory `{path}` {reason}")]
    InvalidCwd {
        /// Server.
        server: String,
        /// Path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Bad timeout.
    #[error("MCP server `{server}`: {reason}")]
    InvalidTimeout {
        /// Server.
        server: String,
        /// Why.
        reason: String,
    },
}

impl McpConfigError {
    /// The server concerned.
    pub fn server(&self) -> &str {
        match self {
            McpConfigError::InvalidName { server, .. }
            | McpConfigError::DuplicateName { server }
            | McpConfigError::EmptyCommand { server }
            | McpConfigError::InvalidCommand { server, .. }
            | McpConfigError::ShellMetacharacter { server, .. }
            | McpConfigError::ParentDirInPath { server, .. }
            | McpConfigError::ExecutableNotFound { server, .. }
            | McpConfigError::ExecutableNotAllowed { server, .. }
            | McpConfigError::UnsetVariable { server, .. }
            | McpConfigError::MalformedPlaceholder { server, .. }
            | McpConfigError::InvalidUrl { server, .. }
            | McpConfigError::InvalidHeader { server, .. }
            | McpConfigError::InvalidCwd { server, .. }
            | McpConfigError::InvalidTimeout { server, .. } => server,
        }
    }
}

/// Environment lookup used for `${VAR}` expansion and PATH search.
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Send + Sync);

/// The process environment as an [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A server spec with every `${VAR}` expanded and the command split: what actually starts.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    Stdio {
        program: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    Http {
        url: String,
        headers: Vec<(String, String)>,
        bearer: Option<String>,
    },
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolved::Stdio { program, args, .. } => {
                write!(f, "Stdio({program} {})", args.join(" "))
            }
            Resolved::Http { url, .. } => write!(f, "Http({url})"),
        }
    }
}

/// Expand `${VAR}` in `text`. Errors name the variable and the field.
pub(crate) fn expand(
    server: &str,
    field: &str,
    text: &str,
    env: EnvLookup<'_>,
) -> Result<String, McpConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            return Err(McpConfigError::MalformedPlaceholder {
                server: server.to_owned(),
                field: field.to_owned(),
                text: rest[pos..].chars().take(40).collect(),
            });
        };
        let var = &after[..end];
        let valid = !var.is_empty()
            && var
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(McpConfigError::MalformedPlaceholder {
                server: server.to_owned(),
                field: field.to_owned(),
                text: format!("${{{var}}}"),
            });
        }
        match env(var) {
            Some(v) if !v.is_empty() => out.push_str(&v),
            _ => {
                return Err(McpConfigError::UnsetVariable {
                    server: server.to_owned(),
                    field: field.to_owned(),
                    var: var.to_owned(),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

use crate::config::mcp::split_command;

/// Shell metacharacters outside quotes in a command line (placeholders `${VAR}` excluded).
fn unquoted_metacharacters(s: &str) -> Option<String> {
    let mut chars = s.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                } else if c == '\\' && q == '"' {
                    chars.next();
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '\\' => {
                    chars.next();
                }
                '$' if chars.peek() == Some(&'{') => {
                    // `${VAR}` placeholders are expanded by us, not by a shell.
                    for ch in chars.by_ref() {
                        if ch == '}' {
                            break;
                        }
                    }
                }
                '&' | '|' | ';' | '`' | '$' | '(' | ')' | '<' | '>' => {
                    let mut found = c.to_string();
                    if let Some(&next) = chars.peek()
                        && next == c
                        && matches!(c, '&' | '|' | '>' | '<')
                    {
                        found.push(next);
                    }
                    return Some(found);
                }
                _ => {}
            },
        }
    }
    None
}

/// Environment variables every stdio server inherits (MassGen's minimal default plus locale
/// and temp dir). Everything else, API keys included, must be passed through `env`.
pub const INHERITED_ENV: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "TMPDIR",
];

/// Expand and split a spec into what actually starts. Does not touch the file system.
pub(crate) fn resolve(spec: &ServerSpec, env: EnvLookup<'_>) -> Result<Resolved, McpConfigError> {
    let server = spec.name.as_str();
    match &spec.transport {
        Transport::Stdio {
            command,
            args,
            env: extra,
            cwd,
        } => {
            if let Some(ch) = unquoted_metacharacters(command) {
                return Err(McpConfigError::ShellMetacharacter {
                    server: server.to_owned(),
                    ch,
                });
            }
            let words =
                split_command(command).map_err(|reason| McpConfigError::InvalidCommand {
                    server: server.to_owned(),
                    reason,
                })?;
            let mut words = words
                .iter()
                .map(|w| expand(server, "command", w, env))
                .collect::<Result<Vec<_>, _>>()?;
            if words.is_empty() || words[0].trim().is_empty() {
                return Err(McpConfigError::EmptyCommand {
                    server: server.to_owned(),
                });
            }
            for (i, a) in args.iter().enumerate() {
                words.push(expand(server, &format!("args[{i}]"), a, env)?);
            }
            let program = words.remove(0);
            let mut full_env = BTreeMap::new();
            for k in INHERITED_ENV {
                if let Some(v) = env(k) {
                    full_env.insert((*k).to_owned(), v);
                }
            }
            for (k, v) in extra {
                full_env.insert(k.clone(), expand(server, &format!("env.{k}"), v, env)?);
            }
            let cwd = match cwd {
                Some(p) => Some(PathBuf::from(expand(
                    server,
                    "cwd",
                    &p.to_string_lossy(),
                    env,
                )?)),
                None => None,
            };
            Ok(Resolved::Stdio {
                program,
                args: words,
                env: full_env,
                cwd,
            })
        }
        Transport::StreamableHttp {
            url,
            headers,
            bearer_token_env,
        } => {
            let expanded_url = expand(server, "url", url, env)?;
            let mut hs = Vec::with_capacity(headers.len());
            for (k, v) in headers {
                hs.push((k.clone(), expand(server, &format!("headers.{k}"), v, env)?));
            }
            let bearer = match bearer_token_env {
                Some(var) => match env(var) {
                    Some(v) if !v.is_empty() => Some(v),
                    _ => {
                        return Err(McpConfigError::UnsetVariable {
                            server: server.to_owned(),
                            field: "bearer_token_env".to_owned(),
                            var: var.clone(),
                        });
                    }
                },
                None => None,
            };
            Ok(Resolved::Http {
                url: expanded_url,
                headers: hs,
                bearer,
            })
        }
    }
}

/// Find an executable: a path containing `/` is checked as is (relative to `cwd` if given),
/// a bare name is searched on `path_var`.
pub(crate) fn find_executable(
    program: &str,
    path_var: Option<&str>,
    cwd: Option<&Path>,
) -> Result<PathBuf, String> {
    if program.contains('/') {
        let p = Path::new(program);
        let p = match cwd {
            Some(c) if p.is_relative() => c.join(p),
            _ => p.to_path_buf(),
        };
        return if is_executable(&p) {
            Ok(p)
        } else if p.exists() {
            Err(format!("`{}` exists but is not executable", p.display()))
        } else {
            Err(format!("no file at `{}`", p.display()))
        };
    }
    let Some(path_var) = path_var else {
        return Err("PATH is not set".to_owned());
    };
    for dir in std::env::split_paths(path_var) {
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    let hint = match program {
        "npx" | "node" | "npm" => "; install Node.js",
        "uvx" | "uv" => "; install uv (https://docs.astral.sh/uv/)",
        "python" | "python3" => "; install Python 3",
        "docker" => "; install Docker",
        _ => "",
    };
    Err(format!("searched PATH: {path_var}{hint}"))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

fn is_local_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// Check one server spec before anything starts. Returns warnings on success; the error says
/// what to fix. `env` supplies `${VAR}` values and PATH.
pub fn validate(spec: &ServerSpec, env: EnvLookup<'_>) -> Result<Vec<Warning>, McpConfigError> {
    let server = spec.name.as_str();
    let mut warnings = Vec::new();
    if server.is_empty() {
        return Err(McpConfigError::InvalidName {
            server: server.to_owned(),
            reason: "it is empty".to_owned(),
        });
    }
    if let Some(bad) = server
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(McpConfigError::InvalidName {
            server: server.to_owned(),
            reason: format!("it contains `{bad}`"),
        });
    }
    if server.len() > 100 {
        return Err(McpConfigError::InvalidName {
            server: server.to_owned(),
            reason: "it is longer than 100 characters".to_owned(),
        });
    }
    if spec.call_timeout.is_zero() || spec.startup_timeout.is_zero() {
        return Err(McpConfigError::InvalidTimeout {
            server: server.to_owned(),
            reason: "timeouts must be positive".to_owned(),
        });
    }
    if spec.max_call_timeout < spec.call_timeout {
        return Err(McpConfigError::InvalidTimeout {
            server: server.to_owned(),
            reason: format!(
                "max_call_timeout ({}s) is shorter than call_timeout ({}s)",
                spec.max_call_timeout.as_secs_f64(),
                spec.call_timeout.as_secs_f64()
            ),
        });
    }
    match resolve(spec, env)? {
        Resolved::Stdio {
            program,
            env: child_env,
            cwd,
            ..
        } => {
            if Path::new(&program)
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(McpConfigError::ParentDirInPath {
                    server: server.to_owned(),
                    path: program,
                });
            }
            if spec.security == SecurityLevel::Strict {
                // The same verdict the config loader gives (one policy, two gates).
                match crate::config::mcp::executable_verdict(
                    &program,
                    crate::config::mcp::SecurityLevel::Strict,
                    None,
                ) {
                    Err(_) => {
                        return Err(McpConfigError::ExecutableNotAllowed {
                            server: server.to_owned(),
                            executable: program,
                            allowed: crate::config::mcp::allowed_executables(
                                crate::config::mcp::SecurityLevel::Strict,
                            )
                            .join(", "),
                        });
                    }
                    Ok(Some(message)) => warnings.push(Warning {
                        server: server.to_owned(),
                        message,
                    }),
                    Ok(None) => {}
                }
            }
            if let Some(dir) = &cwd
                && !dir.is_dir()
            {
                return Err(McpConfigError::InvalidCwd {
                    server: server.to_owned(),
                    path: dir.display().to_string(),
                    reason: "does not exist or is not a directory".to_owned(),
                });
            }
            let path_var = child_env.get("PATH").cloned().or_else(|| env("PATH"));
            if let Err(detail) = find_executable(&program, path_var.as_deref(), cwd.as_deref()) {
                return Err(McpConfigError::ExecutableNotFound {
                    server: server.to_owned(),
                    executable: program,
                    detail,
                });
            }
        }
        Resolved::Http { url, headers, .. } => {
            let parsed = reqwest::Url::parse(&url).map_err(|e| McpConfigError::InvalidUrl {
                server: server.to_owned(),
                url: url.clone(),
                reason: e.to_string(),
            })?;
            match parsed.scheme() {
                "http" | "https" => {}
                other => {
                    return Err(McpConfigError::InvalidUrl {
                        server: server.to_owned(),
                        url,
                        reason: format!(
                            "scheme `{other}` is not supported; use http:// or https:// (streamable HTTP)"
                        ),
                    });
                }
            }
            let Some(host) = parsed.host_str() else {
                return Err(McpConfigError::InvalidUrl {
                    server: server.to_owned(),
                    url,
                    reason: "it has no host".to_owned(),
                });
            };
            if parsed.scheme() == "http"
                && !is_local_host(host)
                && spec.security != SecurityLevel::Permissive
            {
                warnings.push(Warning {
                    server: server.to_owned(),
                    message: format!(
                        "plain HTTP to non-local host `{host}`: requests and any tokens travel unencrypted; use https://"
                    ),
                });
            }
            for (name, value) in headers {
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(McpConfigError::InvalidHeader {
                        server: server.to_owned(),
                        name,
                        reason: "not a valid HTTP header name".to_owned(),
                    });
                }
                if reqwest::header::HeaderValue::from_str(&value).is_err() {
                    return Err(McpConfigError::InvalidHeader {
                        server: server.to_owned(),
                        name,
                        reason:
                            "the value contains characters not allowed in a header (e.g. a newline)"
                                .to_owned(),
                    });
                }
            }
        }
    }
    Ok(warnings)
}

/// Validate several specs: each one, plus unique names. Stops at the first error.
pub fn validate_all(
    specs: &[ServerSpec],
    env: EnvLookup<'_>,
) -> Result<Vec<Warning>, McpConfigError> {
    let mut seen = std::collections::HashSet::new();
    let mut warnings = Vec::new();
    for spec in specs {
        if !seen.insert(spec.name.as_str()) {
            return Err(McpConfigError::DuplicateName {
                server: spec.name.clone(),
            });
        }
        warnings.extend(validate(spec, env)?);
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn metacharacters_outside_quotes_are_rejected_inside_quotes_allowed() {
        assert_eq!(
            unquoted_metacharacters("npx foo | grep x"),
            Some("|".into())
        );
        assert_eq!(unquoted_metacharacters("a && b"), Some("&&".into()));
        assert_eq!(unquoted_metacharacters("echo $(id)"), Some("$".into()));
        assert_eq!(unquoted_metacharacters("python -c 'a;b'"), None);
        assert_eq!(unquoted_metacharacters("run ${HOME}/x"), None);
    }

    #[test]
    fn splitting_follows_shell_quoting() {
        assert_eq!(
            split_command(r#"npx -y "@a/b c" 'd e' f\ g"#).unwrap(),
            vec!["npx", "-y", "@a/b c", "d e", "f g"]
        );
        assert!(split_command("a 'b").is_err());
    }

    #[test]
    fn unset_variable_is_named() {
        let env = env_of(&[("SET", "1")]);
        let err = expand("s", "env.KEY", "x${MISSING}y", &env).unwrap_err();
        assert!(err.to_string().contains("`MISSING`"), "{err}");
        assert_eq!(expand("s", "f", "a${SET}b", &env).unwrap(), "a1b");
        assert!(matches!(
            expand("s", "f", "${1BAD}", &env),
            Err(McpConfigError::MalformedPlaceholder { .. })
        ));
    }

    #[test]
    fn missing_executable_is_reported_by_name() {
        let env = env_of(&[("PATH", "/usr/bin:/bin")]);
        let spec = ServerSpec::stdio("x", "definitely-not-a-real-binary-42", vec![]);
        let err = validate(&spec, &env).unwrap_err();
        assert!(
            err.to_string()
                .contains("`definitely-not-a-real-binary-42` not found"),
            "{err}"
        );
    }

    #[test]
    fn http_urls_are_checked_and_plain_remote_http_warns() {
        let env = env_of(&[]);
        assert!(validate(&ServerSpec::http("a", "not a url"), &env).is_err());
        assert!(validate(&ServerSpec::http("a", "ftp://x/mcp"), &env).is_err());
        assert!(
            validate(&ServerSpec::http("a", "http://127.0.0.1:8000/mcp"), &env)
                .unwrap()
                .is_empty()
        );
        let w = validate(&ServerSpec::http("a", "http://example.com/mcp"), &env).unwrap();
        assert_eq!(w.len(), 1);
        assert!(
            validate(&ServerSpec::http("a", "https://example.com/mcp"), &env)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn debug_output_never_contains_secrets() {
        let mut spec = ServerSpec::stdio("s", "node", vec![]);
        if let Transport::Stdio { env, .. } = &mut spec.transport {
            env.insert("API_KEY".into(), "sk-secret-123".into());
        }
        let dbg = format!("{spec:?}");
        assert!(dbg.contains("API_KEY") && !dbg.contains("sk-secret-123"));
    }

    #[test]
    fn quoted_words_survive_splitting() {
        for w in ["plain", "with space", "it's", "a;b|c", "${HOME}"] {
            assert_eq!(split_command(&quote_word(w)).unwrap(), vec![w.to_owned()]);
        }
        assert_eq!(unquoted_metacharacters(&quote_word("a;b")), None);
    }

    #[test]
    fn command_line_targets() {
        let s = ServerSpec::from_command_line(
            "npx -y @modelcontextprotocol/server-filesystem /tmp",
            None,
        )
        .unwrap();
        assert_eq!(s.name, "npx");
        let h = ServerSpec::from_command_line("http://127.0.0.1:9/mcp", None).unwrap();
        assert_eq!(h.name, "127_0_0_1");
        assert_eq!(h.transport.kind(), "streamable-http");
    }
}
