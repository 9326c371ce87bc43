//! MCP server entries of a backend (`backend.mcp_servers`): parsing both MassGen shapes (list
//! or name-keyed map) into typed [`McpServerConfig`]s, and MassGen's static security rules
//! (server names, command allow-list, URL rules, env value patterns, timeouts).
//!
//! Responsibilities: the typed server config and load-time validation with key paths; the
//! reusable checks [`check_command`] and [`check_url`]. Non-responsibilities: connecting,
//! spawning, DNS resolution or tool-name sanitising (the `mcp` module does those).

use std::net::IpAddr;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::env::{Env, Secret, env_references, expand_env_refs, is_simple_var_name};
use super::error::{ConfigError, ConfigErrorKind};
use super::walk::{Ctx, index, join};

/// MassGen security level for one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SecurityLevel {
    /// The default (also for unknown values).
    #[default]
    Strict,
    /// Adds `git`, `nodejs` to the executable allow-list.
    Moderate,
    /// Adds `git`, `curl`, `wget`, `nodejs`.
    Permissive,
}

impl SecurityLevel {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Strict => "strict",
            SecurityLevel::Moderate => "moderate",
            SecurityLevel::Permissive => "permissive",
        }
    }
}

/// `security.env` policy (accepted for compatibility; MassGen's defaults deny nothing in practice).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EnvPolicy {
    /// `denylist` (default) or `allowlist`.
    pub mode: Option<String>,
    /// Variables allowed in allowlist mode.
    pub allowed_vars: Vec<String>,
    /// Variables denied.
    pub denied_vars: Vec<String>,
}

/// `security:` of one server.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct McpSecurity {
    /// Strictness of the executable allow-list.
    pub level: SecurityLevel,
    /// HTTP: allow `localhost` / loopback URLs.
    pub allow_localhost: bool,
    /// HTTP: allow private / link-local IP literals.
    pub allow_private_ips: bool,
    /// HTTP: resolve the host and check every address (done by the MCP layer at connect).
    pub resolve_dns: bool,
    /// Replaces the executable allow-list when set.
    pub allowed_executables: Option<Vec<String>>,
    /// Hosts that skip the host/IP checks.
    pub allowed_hostnames: Vec<String>,
    /// Env policy.
    pub env: EnvPolicy,
}

/// A stdio server: a child process speaking MCP on stdin/stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StdioServer {
    /// Executable and leading arguments (a string `command` is split like a shell would).
    pub command: Vec<String>,
    /// Further arguments.
    pub args: Vec<String>,
    /// Extra environment, values **unexpanded** (may contain `${VAR}`); see
    /// [`StdioServer::expanded_env`].
    pub env: IndexMap<String, Secret>,
    /// Working directory (relative to the process working directory).
    pub cwd: Option<String>,
}

impl StdioServer {
    /// The env values with `${VAR}` replaced from `env` (MassGen does this at connect time).
    /// A missing variable is an error naming it and the key path.
    pub fn expanded_env(
        &self,
        env: &Env,
        server_path: &str,
    ) -> Result<IndexMap<String, Secret>, ConfigError> {
        self.env
            .iter()
            .map(|(k, v)| {
                let what = format!("{server_path}.env.{k}");
                expand_env_refs(v.expose(), env, &what).map(|x| (k.clone(), Secret::new(x)))
            })
            .collect()
    }

    /// Every `${VAR}` the env values reference.
    pub fn referenced_vars(&self) -> Vec<String> {
        self.env
            .values()
            .flat_map(|v| env_references(v.expose()))
            .collect()
    }
}

/// A streamable-HTTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpServer {
    /// Endpoint URL.
    pub url: String,
    /// Extra request headers (values are secrets: often bearer tokens).
    pub headers: IndexMap<String, Secret>,
    /// HTTP timeout in seconds (≤ 300).
    pub timeout_seconds: Option<u64>,
    /// SSE read timeout in seconds (≤ 300, MassGen default 300).
    pub http_read_timeout_seconds: Option<u64>,
}

/// Transport of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum McpTransport {
    /// `type: stdio`.
    Stdio(StdioServer),
    /// `type: streamable-http`.
    StreamableHttp(HttpServer),
}

/// One MCP server of an agent, normalised from either MassGen shape.
#[derive(Clone, Debug, PartialEq)]
pub struct McpServerConfig {
    /// Server name (tool prefix `mcp__<name>__<tool>`).
    pub name: String,
    /// Transport and its settings.
    pub transport: McpTransport,
    /// Security settings.
    pub security: McpSecurity,
    /// Our extension: the run fails if this server cannot be connected (default false: the agent
    /// continues without its tools, as MassGen does).
    pub required: bool,
    /// Our extension: per-call timeout for this server's tools.
    pub tool_timeout_seconds: Option<f64>,
    /// Key path of the entry in the config (for messages).
    pub config_path: String,
}

const SERVER_KEYS: &[&str] = &[
    "name",
    "type",
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "timeout",
    "http_read_timeout",
    "security",
    "required",
    "tool_timeout_seconds",
];
const SECURITY_KEYS: &[&str] = &[
    "level",
    "allow_localhost",
    "allow_private_ips",
    "resolve_dns",
    "allowed_executables",
    "allowed_hostnames",
    "env",
];

/// Parses `backend.mcp_servers` (list or name-keyed map) at `path`.
pub(crate) fn parse_servers(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
) -> Result<Vec<McpServerConfig>, ConfigError> {
    let entries: Vec<(Option<String>, String, &Value)> = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (None, index(path, i), item))
            .collect(),
        Value::Object(m) => m
            .iter()
            .map(|(name, item)| (Some(name.clone()), join(path, name), item))
            .collect(),
        other => {
            return Err(ctx.wrong_type(path, "a list of servers or a map of name → server", other));
        }
    };
    let mut out: Vec<McpServerConfig> = Vec::new();
    for (i, (map_name, p, item)) in entries.into_iter().enumerate() {
        let server = parse_server(ctx, item, &p, map_name, i)?;
        if let Some(prev) = out.iter().find(|s| s.name == server.name) {
            return Err(ctx.err(
                ConfigErrorKind::McpServer,
                &p,
                format!(
                    "duplicate MCP server name `{}` (also at {})",
                    server.name, prev.config_path
                ),
                "give every server of an agent a different `name`",
            ));
        }
        out.push(server);
    }
    Ok(out)
}

fn mcp_err(
    ctx: &Ctx,
    path: &str,
    reason: impl Into<String>,
    fix: impl Into<String>,
) -> ConfigError {
    ctx.err(ConfigErrorKind::McpServer, path, reason, fix)
}

fn parse_server(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
    map_name: Option<String>,
    i: usize,
) -> Result<McpServerConfig, ConfigError> {
    let m = ctx.map(v, path)?;
    ctx.unknown_keys(m, path, SERVER_KEYS, "ignored");
    let inner_name = ctx.opt_str(m, "name", path)?;
    let name = match (map_name, inner_name) {
        (Some(key), Some(inner)) if inner != key => {
            ctx.warn(
                &join(path, "name"),
                format!("differs from the map key `{key}`; the map key is used"),
            );
            key
        }
        (Some(key), _) => key,
        (None, Some(n)) => n,
        (None, None) => {
            let n = format!("server_{i}");
            ctx.warn(
                path,
                format!(
                    "server has no `name`; named `{n}` (add `name:` to choose the tool prefix)"
                ),
            );
            n
        }
    };
    let name_path = join(path, "name");
    if name.is_empty()
        || name.len() > 50
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(mcp_err(
            ctx,
            &name_path,
            format!("invalid MCP server name `{name}`: use 1-50 letters, digits, `_` or `-`"),
            "rename the server (it becomes the tool prefix `mcp__<name>__<tool>`)",
        ));
    }
    let security = parse_security(ctx, m, path)?;
    let type_path = join(path, "type");
    let transport_type = match m.get("type") {
        None | Some(Value::Null) => {
            return Err(mcp_err(
                ctx,
                &type_path,
                "MCP server has no `type` (MassGen silently skips such servers)",
                "add `type: stdio` (with `command`) or `type: streamable-http` (with `url`)",
            ));
        }
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(other) => return Err(ctx.wrong_type(&type_path, "a string", other)),
    };
    let required = ctx.opt_bool(m, "required", path)?.unwrap_or(false);
    let tool_timeout_seconds = ctx.opt_pos_f64(m, "tool_timeout_seconds", path)?;
    let transport = match transport_type.as_str() {
        "stdio" => {
            for k in ["url", "headers", "timeout", "http_read_timeout"] {
                if m.contains_key(k) {
                    ctx.warn(
                        &join(path, k),
                        "only used by streamable-http servers; ignored for stdio",
                    );
                }
            }
            McpTransport::Stdio(parse_stdio(ctx, m, path, &security)?)
        }
        "streamable-http" => {
            for k in ["command", "args", "env", "cwd"] {
                if m.contains_key(k) {
                    ctx.warn(
                        &join(path, k),
                        "only used by stdio servers; ignored for streamable-http",
                    );
                }
            }
            McpTransport::StreamableHttp(parse_http(ctx, m, path, &security)?)
        }
        "http" => {
            return Err(mcp_err(
                ctx,
                &type_path,
                "HTTP MCP transport type is not supported",
                "use `type: streamable-http`",
            ));
        }
        "sse" => {
            return Err(mcp_err(
                ctx,
                &type_path,
                "Unsupported transport type 'sse': the 'sse' transport was deprecated in MCP v2025-03-26",
                "use `type: streamable-http`",
            ));
        }
        other => {
            return Err(mcp_err(
                ctx,
                &type_path,
                format!("Unsupported transport type '{other}'"),
                "use `type: stdio` or `type: streamable-http`",
            ));
        }
    };
    Ok(McpServerConfig {
        name,
        transport,
        security,
        required,
        tool_timeout_seconds,
        config_path: path.to_string(),
    })
}

fn parse_security(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    path: &str,
) -> Result<McpSecurity, ConfigError> {
    let mut sec = McpSecurity::default();
    let p = join(path, "security");
    let Some(v) = m.get("security").filter(|v| !v.is_null()) else {
        return Ok(sec);
    };
    let s = ctx.map(v, &p)?;
    ctx.unknown_keys(s, &p, SECURITY_KEYS, "ignored");
    if let Some(level) = ctx.opt_str(s, "level", &p)? {
        sec.level = match level.to_ascii_lowercase().as_str() {
            "strict" => SecurityLevel::Strict,
            "moderate" => SecurityLevel::Moderate,
            "permissive" => SecurityLevel::Permissive,
            other => {
                ctx.warn(
                    &join(&p, "level"),
                    format!("unknown security level `{other}`; using `strict` (as MassGen)"),
                );
                SecurityLevel::Strict
            }
        };
    }
    sec.allow_localhost = ctx.opt_bool(s, "allow_localhost", &p)?.unwrap_or(false);
    sec.allow_private_ips = ctx.opt_bool(s, "allow_private_ips", &p)?.unwrap_or(false);
    sec.resolve_dns = ctx.opt_bool(s, "resolve_dns", &p)?.unwrap_or(false);
    sec.allowed_executables = ctx.opt_str_list(s, "allowed_executables", &p)?;
    sec.allowed_hostnames = ctx
        .opt_str_list(s, "allowed_hostnames", &p)?
        .unwrap_or_default();
    if let Some(ev) = s.get("env").filter(|v| !v.is_null()) {
        let ep = join(&p, "env");
        let e = ctx.map(ev, &ep)?;
        ctx.unknown_keys(
            e,
            &ep,
            &["level", "mode", "allowed_vars", "denied_vars"],
            "ignored",
        );
        sec.env = EnvPolicy {
            mode: ctx.opt_str(e, "mode", &ep)?,
            allowed_vars: ctx
                .opt_str_list(e, "allowed_vars", &ep)?
                .unwrap_or_default(),
            denied_vars: ctx.opt_str_list(e, "denied_vars", &ep)?.unwrap_or_default(),
        };
    }
    Ok(sec)
}

fn parse_stdio(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    path: &str,
    sec: &McpSecurity,
) -> Result<StdioServer, ConfigError> {
    let cp = join(path, "command");
    let command: Vec<String> = match m.get("command") {
        None | Some(Value::Null) => {
            return Err(mcp_err(
                ctx,
                &cp,
                "stdio server has no `command`",
                "add `command: npx` (or python, uvx, ...) and the arguments in `args`",
            ));
        }
        Some(Value::String(s)) => {
            split_command(s).map_err(|e| mcp_err(ctx, &cp, e, "fix the quoting of `command`"))?
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| ctx.scalar_string(v, &index(&cp, i)))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(ctx.wrong_type(&cp, "a string or a list of strings", other)),
    };
    if command.is_empty() || command.iter().all(|c| c.trim().is_empty()) {
        return Err(mcp_err(
            ctx,
            &cp,
            "MCP command cannot be empty",
            "set `command` to the program to run",
        ));
    }
    let command_warnings = check_command(&command, sec).map_err(|e| {
        mcp_err(
            ctx,
            &cp,
            e,
            "pass arguments in `args` (no shell runs the command), or list the executable in `security.allowed_executables`",
        )
    })?;
    for w in command_warnings {
        ctx.warn(&cp, w);
    }
    let ap = join(path, "args");
    let args: Vec<String> = match m.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| ctx.scalar_string(v, &index(&ap, i)))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(ctx.wrong_type(&ap, "a list of strings", other)),
    };
    for (i, a) in args.iter().enumerate() {
        if a.chars().count() > 500 {
            return Err(mcp_err(
                ctx,
                &index(&ap, i),
                "argument longer than 500 characters",
                "shorten the argument",
            ));
        }
    }
    let ep = join(path, "env");
    let mut env = IndexMap::new();
    match m.get("env") {
        None | Some(Value::Null) => {}
        Some(Value::Object(e)) => {
            for (k, v) in e {
                let kp = join(&ep, k);
                let val = ctx.scalar_string(v, &kp)?;
                check_env_value(k, &val).map_err(|e| {
                    mcp_err(
                        ctx,
                        &kp,
                        e,
                        "use a literal value or a single `${VAR}` reference",
                    )
                })?;
                env.insert(k.clone(), Secret::new(val));
            }
        }
        Some(other) => return Err(ctx.wrong_type(&ep, "a map of NAME: value", other)),
    }
    let cwd = ctx.opt_str(m, "cwd", path)?;
    if let Some(c) = &cwd
        && (c.len() > 500 || c.split(['/', '\\']).any(|seg| seg == ".."))
    {
        return Err(mcp_err(
            ctx,
            &join(path, "cwd"),
            "working directory must not contain `..` and must be at most 500 characters",
            "use a path without parent-directory components",
        ));
    }
    Ok(StdioServer {
        command,
        args,
        env,
        cwd,
    })
}

fn parse_http(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    path: &str,
    sec: &McpSecurity,
) -> Result<HttpServer, ConfigError> {
    let up = join(path, "url");
    let Some(url) = ctx.opt_str(m, "url", path)? else {
        return Err(mcp_err(
            ctx,
            &up,
            "streamable-http server has no `url`",
            "add `url: http://host:port/mcp`",
        ));
    };
    check_url(&url, sec).map_err(|e| {
        let fix = if e.contains("localhost") || e.contains("IP address") {
            "add `security: {allow_localhost: true, allow_private_ips: true}` if you trust this server"
        } else {
            "use an http(s) URL with a host and an allowed port"
        };
        mcp_err(ctx, &up, e, fix)
    })?;
    let hp = join(path, "headers");
    let mut headers = IndexMap::new();
    match m.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let kp = join(&hp, k);
                let val = ctx.scalar_string(v, &kp)?;
                if k.len() > 100 || val.len() > 1000 {
                    return Err(mcp_err(
                        ctx,
                        &kp,
                        "header name over 100 or value over 1000 characters",
                        "shorten the header",
                    ));
                }
                headers.insert(k.clone(), Secret::new(val));
            }
        }
        Some(other) => return Err(ctx.wrong_type(&hp, "a map of header: value", other)),
    }
    let timeout = |ctx: &Ctx, key: &str| -> Result<Option<u64>, ConfigError> {
        let v = ctx.opt_pos_f64(m, key, path)?;
        match v {
            Some(s) if s > 300.0 => Err(mcp_err(
                ctx,
                &join(path, key),
                format!("Timeout too large: {s} > 300 seconds"),
                format!("set `{key}` to at most 300"),
            )),
            Some(s) => Ok(Some(s.ceil() as u64)),
            None => Ok(None),
        }
    };
    Ok(HttpServer {
        url,
        headers,
        timeout_seconds: timeout(ctx, "timeout")?,
        http_read_timeout_seconds: timeout(ctx, "http_read_timeout")?,
    })
}

/// Splits a command line like a POSIX shell (quotes, backslashes; inside double quotes a
/// backslash escapes only `"`, `\`, `$` and `` ` ``), without expansion or running a shell.
/// Used by the config loader and by the MCP layer for command lines given on the CLI.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => {
                            return Err("Invalid command syntax: unclosed single quote".to_owned());
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => {
                                return Err(
                                    "Invalid command syntax: unclosed double quote".to_owned()
                                );
                            }
                        },
                        Some(ch) => cur.push(ch),
                        None => {
                            return Err("Invalid command syntax: unclosed double quote".to_owned());
                        }
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => cur.push(ch),
                    None => return Err("Invalid command syntax: trailing backslash".to_owned()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

const STRICT_EXECUTABLES: &[&str] = &[
    "python",
    "python3",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "py",
    "uv",
    "uvx",
    "pipx",
    "pip",
    "pip3",
    "node",
    "npm",
    "npx",
    "yarn",
    "pnpm",
    "bun",
    "deno",
    "java",
    "ruby",
    "go",
    "rust",
    "cargo",
    "sh",
    "bash",
    "zsh",
    "fish",
    "powershell",
    "pwsh",
    "cmd",
];

/// System commands that are never MCP servers; refused even though unknown executables are
/// only warned about.
const DESTRUCTIVE_EXECUTABLES: &[&str] = &[
    "rm", "rmdir", "dd", "mkfs", "shred", "shutdown", "reboot", "halt", "poweroff", "sudo", "su",
    "doas", "chmod", "chown", "kill", "killall", "pkill", "mv", "format", "del",
];

/// The executables a level allows (MassGen's lists).
pub fn allowed_executables(level: SecurityLevel) -> Vec<&'static str> {
    let mut v = STRICT_EXECUTABLES.to_vec();
    match level {
        SecurityLevel::Strict => {}
        SecurityLevel::Moderate => v.extend(["git", "nodejs"]),
        SecurityLevel::Permissive => v.extend(["git", "curl", "wget", "nodejs"]),
    }
    v
}

/// MassGen's stdio command rules, without its false alarms. Errors: shell metacharacters (no
/// shell runs the command, so they would be passed literally), more than 50 parts or parts
/// over 500 characters, `..` in the executable path, and an executable missing from an
/// explicit `security.allowed_executables` list. MassGen also refuses every executable outside
/// its built-in launcher list (and `../` anywhere in the arguments); here that is a warning
/// (returned), and our own binary (`massgen-tui`) is always accepted.
pub fn check_command(command: &[String], sec: &McpSecurity) -> Result<Vec<String>, String> {
    let joined = command.join(" ");
    if joined.len() > 1000 {
        return Err("MCP command too long".into());
    }
    for part in command {
        if let Some(c) = part.chars().find(|c| "&|;`$()<>".contains(*c)) {
            return Err(format!(
                "MCP command cannot contain shell metacharacters: {c}"
            ));
        }
        if part.chars().count() > 500 {
            return Err("MCP command part longer than 500 characters".into());
        }
    }
    if command.len() > 50 {
        return Err("MCP command has more than 50 parts".into());
    }
    let exe = command.first().map(String::as_str).unwrap_or("");
    if exe.split(['/', '\\']).any(|seg| seg == "..") {
        return Err("MCP command path cannot contain parent directory components ('..')".into());
    }
    executable_verdict(exe, sec.level, sec.allowed_executables.as_deref())
        .map(|w| w.into_iter().collect())
}

/// Whether `program` may run as an MCP server: `Err` refuses it (an explicit allow-list that
/// does not name it, or a destructive system command), `Ok(Some(warning))` runs it with a
/// warning (outside MassGen's launcher list for `level`), `Ok(None)` runs it. Shared by the
/// config loader and the MCP layer so both gates agree.
pub fn executable_verdict(
    program: &str,
    level: SecurityLevel,
    allowed_list: Option<&[String]>,
) -> Result<Option<String>, String> {
    let base = program
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase();
    let base = [".exe", ".bat", ".cmd", ".ps1"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext))
        .unwrap_or(&base)
        .to_string();
    match allowed_list {
        Some(list) => {
            let allowed: Vec<String> = list.iter().map(|s| s.to_ascii_lowercase()).collect();
            if allowed.contains(&base) {
                Ok(None)
            } else {
                Err(format!(
                    "MCP command executable '{base}' is not in `security.allowed_executables` ({})",
                    allowed.join(", ")
                ))
            }
        }
        None if DESTRUCTIVE_EXECUTABLES.contains(&base.as_str()) => Err(format!(
            "MCP command executable '{base}' is a system command, not an MCP server; refusing to run it"
        )),
        None if base == "massgen-tui" || allowed_executables(level).contains(&base.as_str()) => {
            Ok(None)
        }
        None => Ok(Some(format!(
            "MCP command executable '{base}' is not one of MassGen's usual launchers for level={} ({}); MassGen would refuse it, massgen-tui runs it (list it in `security.allowed_executables` to silence this)",
            level.as_str(),
            allowed_executables(level).join(", ")
        ))),
    }
}

const BLOCKED_PORTS: &[u16] = &[
    22, 23, 25, 53, 135, 139, 445, 1433, 1521, 3306, 3389, 5432, 6379,
];

/// MassGen's URL rules for streamable-HTTP servers (without DNS resolution).
pub fn check_url(url: &str, sec: &McpSecurity) -> Result<(), String> {
    if url.trim().is_empty() {
        return Err("URL is empty".into());
    }
    if url.len() > 2048 {
        return Err("URL longer than 2048 characters".into());
    }
    let lower = url.to_ascii_lowercase();
    let default_port = if lower.starts_with("http://") {
        80
    } else if lower.starts_with("https://") {
        443
    } else {
        return Err(format!(
            "Unsupported URL scheme in `{url}` (only http and https)"
        ));
    };
    let Some((host, port)) = super::providers::url_host_port(url) else {
        return Err(format!("URL `{url}` has no host"));
    };
    let port = port.unwrap_or(default_port);
    if port == 0 || BLOCKED_PORTS.contains(&port) {
        return Err(format!("Port {port} is not allowed for security reasons"));
    }
    if sec
        .allowed_hostnames
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host))
    {
        return Ok(());
    }
    if (host == "localhost" || host == "ip6-localhost" || host.ends_with(".localhost"))
        && !sec.allow_localhost
    {
        return Err(format!(
            "URL host `{host}` is localhost, which is not allowed unless `security.allow_localhost` is true"
        ));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        let loopback = ip.is_loopback();
        if loopback {
            if !sec.allow_localhost && !sec.allow_private_ips {
                return Err(format!(
                    "IP address {ip} not allowed for security reasons (loopback; allow_localhost is false)"
                ));
            }
        } else if is_non_public(&ip) && !sec.allow_private_ips {
            return Err(format!(
                "IP address {ip} not allowed for security reasons (private or reserved)"
            ));
        }
    }
    Ok(())
}

fn is_non_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] >= 240
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// MassGen's env value rules: no `$(`, backtick, `||`, `&&`, `;`, `|`; `${` only as simple
/// `${UPPER_NAME}` references.
pub fn check_env_value(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 100 || value.len() > 1000 {
        return Err(format!(
            "Environment variable '{key}': name must be 1-100 and value at most 1000 characters"
        ));
    }
    for pat in ["$(", "`", "||", "&&", ";", "|"] {
        if value.contains(pat) {
            return Err(format!(
                "Environment variable '{key}' contains dangerous pattern: {pat}"
            ));
        }
    }
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if is_simple_var_name(&after[..end]) => rest = &after[end + 1..],
            _ => {
                return Err(format!(
                    "Environment variable '{key}' contains dangerous pattern: `${{` that is not a simple ${{UPPER_NAME}} reference"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(
            split_command(r#"npx -y "@scope/pkg x" 'a b' c\ d"#).unwrap(),
            vec!["npx", "-y", "@scope/pkg x", "a b", "c d"]
        );
        assert!(split_command("npx 'oops").is_err());
    }

    #[test]
    fn commands() {
        let sec = McpSecurity::default();
        assert!(check_command(&["npx".into(), "-y".into()], &sec).is_ok());
        assert!(check_command(&["/usr/bin/python3".into()], &sec).is_ok());
        // Outside MassGen's launcher list: a warning, not an error.
        assert_eq!(check_command(&["curl".into()], &sec).unwrap().len(), 1);
        assert!(
            check_command(&["/opt/bin/massgen-tui".into()], &sec)
                .unwrap()
                .is_empty()
        );
        let listed = McpSecurity {
            allowed_executables: Some(vec!["node".into()]),
            ..Default::default()
        };
        assert!(check_command(&["curl".into()], &listed).is_err());
        let perm = McpSecurity {
            level: SecurityLevel::Permissive,
            ..Default::default()
        };
        assert!(check_command(&["curl".into()], &perm).unwrap().is_empty());
        assert!(check_command(&["sh".into(), "-c".into(), "a;b".into()], &sec).is_err());
    }

    #[test]
    fn urls() {
        let sec = McpSecurity::default();
        assert!(check_url("https://mcp.example.com/mcp", &sec).is_ok());
        assert!(check_url("http://localhost:8000/mcp", &sec).is_err());
        assert!(check_url("http://10.0.0.1/mcp", &sec).is_err());
        assert!(check_url("ftp://x/mcp", &sec).is_err());
        assert!(check_url("https://mcp.example.com:22/", &sec).is_err());
        let open = McpSecurity {
            allow_localhost: true,
            allow_private_ips: true,
            ..Default::default()
        };
        assert!(check_url("http://localhost:8000/mcp", &open).is_ok());
        assert!(check_url("http://127.0.0.1:8000/mcp", &open).is_ok());
        assert!(check_url("http://192.168.1.2:8000/mcp", &open).is_ok());
    }

    #[test]
    fn env_values() {
        assert!(check_env_value("A", "${TOKEN}").is_ok());
        assert!(check_env_value("A", "plain-value").is_ok());
        assert!(check_env_value("A", "$(whoami)").is_err());
        assert!(check_env_value("A", "${lower}").is_err());
        assert!(check_env_value("A", "a|b").is_err());
    }
}
