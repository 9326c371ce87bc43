//! MCP debugging commands as library functions (`massgen-tui mcp servers`, `mcp call`).
//!
//! Responsibilities: starting servers outside a run, listing their tools with schemas,
//! start-up times and problems, calling one tool and timing it, with print-ready `Display`
//! output. Also [`CollectingSink`], an event sink that keeps events in memory.
//! Non-responsibilities: argument parsing and reading config files (the CLI does that and
//! passes [`ServerSpec`]s, possibly from [`ServerSpec::from_command_line`]).

use super::manager::{McpManager, McpOptions, ToolFilter, ToolOutcome};
use super::naming::{DEFAULT_MAX_NAME_LEN, NameMap};
use super::spec::{ServerSpec, Transport, process_env};
use crate::protocol::{EventMsg, EventScope, EventSink, Level, ToolStatus};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// An [`EventSink`] that keeps every event (scope and payload) in memory.
#[derive(Debug, Default)]
pub struct CollectingSink {
    events: Mutex<Vec<(EventScope, EventMsg)>>,
}

impl CollectingSink {
    /// A new, empty sink.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A copy of everything emitted so far.
    pub fn events(&self) -> Vec<(EventScope, EventMsg)> {
        match self.events.lock() {
            Ok(e) => e.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl EventSink for CollectingSink {
    fn emit(&self, scope: &EventScope, msg: EventMsg) {
        match self.events.lock() {
            Ok(mut e) => e.push((scope.clone(), msg)),
            Err(p) => p.into_inner().push((scope.clone(), msg)),
        }
    }
}

/// One tool in a report.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolInfo {
    /// Raw MCP name.
    pub name: String,
    /// Name exposed to models (64-character limit).
    pub exposed: String,
    /// Description.
    pub description: String,
    /// Input schema as the server sent it.
    pub schema: serde_json::Value,
}

/// One server in [`ServersReport`].
#[derive(Clone, Debug, PartialEq)]
pub struct ServerReport {
    /// Name.
    pub name: String,
    /// Transport and target (command line or URL; never env values or headers).
    pub target: String,
    /// Server name and version from `initialize`.
    pub server_info: Option<String>,
    /// Start-up time.
    pub startup: Option<Duration>,
    /// Tools.
    pub tools: Vec<ToolInfo>,
    /// Warnings and errors reported while starting.
    pub problems: Vec<String>,
    /// Why it failed to start, if it did.
    pub error: Option<String>,
}

/// Result of [`list_servers`].
#[derive(Clone, Debug, PartialEq)]
pub struct ServersReport {
    /// One entry per server, in the order given.
    pub servers: Vec<ServerReport>,
}

fn target_of(spec: &ServerSpec) -> String {
    match &spec.transport {
        Transport::Stdio { command, args, .. } => {
            let mut s = format!("stdio: {command}");
            for a in args {
                s.push(' ');
                s.push_str(a);
            }
            s
        }
        Transport::StreamableHttp { url, .. } => format!("streamable-http: {url}"),
    }
}

fn problems_of(sink: &CollectingSink, server: &str) -> Vec<String> {
    sink.events()
        .into_iter()
        .filter_map(|(_, m)| match m {
            EventMsg::McpServer {
                server: s,
                level,
                message,
                ..
            } if s == server && level >= Level::Warn => Some(message),
            _ => None,
        })
        .collect()
}

/// Start every server, list its tools (with schemas), then shut everything down.
pub async fn list_servers(specs: Vec<ServerSpec>) -> ServersReport {
    let sink = CollectingSink::new();
    let targets: Vec<(String, String)> = specs
        .iter()
        .map(|s| (s.name.clone(), target_of(s)))
        .collect();
    let specs: Vec<ServerSpec> = specs
        .into_iter()
        .map(|mut s| {
            s.required = false;
            s
        })
        .collect();
    let started = McpManager::start(specs, &process_env, sink.clone(), McpOptions::default()).await;
    let mut servers = Vec::new();
    match started {
        Ok(manager) => {
            let statuses = manager.statuses();
            for (name, target) in targets {
                let status = statuses.iter().find(|s| s.name == name);
                let tools = manager
                    .raw_tools(&name)
                    .map(|ts| {
                        let names = NameMap::build(
                            ts.iter().map(|t| (name.as_str(), &*t.name)),
                            DEFAULT_MAX_NAME_LEN,
                        );
                        ts.iter()
                            .map(|t| ToolInfo {
                                name: t.name.to_string(),
                                exposed: names
                                    .exposed(&name, &t.name)
                                    .unwrap_or_default()
                                    .to_owned(),
                                description: t.description.as_deref().unwrap_or("").to_owned(),
                                schema: serde_json::Value::Object((*t.input_schema).clone()),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                servers.push(ServerReport {
                    problems: problems_of(&sink, &name),
                    name,
                    target,
                    server_info: status.and_then(|s| s.server_info.clone()),
                    startup: status.and_then(|s| s.startup),
                    tools,
                    error: status.and_then(|s| s.error.clone()),
                });
            }
            manager.shutdown().await;
        }
        Err(e) => {
            for (name, target) in targets {
                servers.push(ServerReport {
                    problems: problems_of(&sink, &name),
                    name,
                    target,
                    server_info: None,
                    startup: None,
                    tools: Vec::new(),
                    error: Some(e.to_string()),
                });
            }
        }
    }
    ServersReport { servers }
}

impl fmt::Display for ServersReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.servers.is_empty() {
            return writeln!(f, "No MCP servers configured.");
        }
        for (i, s) in self.servers.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (&s.error, s.startup) {
                (Some(_), _) => writeln!(f, "✗ {} ({})", s.name, s.target)?,
                (None, Some(d)) => writeln!(
                    f,
                    "✓ {} ({}) started in {} ms{}",
                    s.name,
                    s.target,
                    d.as_millis(),
                    s.server_info
                        .as_deref()
                        .map(|i| format!(", server {i}"))
                        .unwrap_or_default()
                )?,
                (None, None) => writeln!(f, "? {} ({})", s.name, s.target)?,
            }
            if let Some(e) = &s.error {
                for line in e.lines() {
                    writeln!(f, "    error: {line}")?;
                }
            }
            for p in &s.problems {
                if s.error.as_deref() != Some(p.as_str()) {
                    writeln!(f, "    problem: {}", p.lines().next().unwrap_or(""))?;
                }
            }
            if s.error.is_none() {
                writeln!(f, "  {} tools:", s.tools.len())?;
            }
            for t in &s.tools {
                writeln!(f, "  • {}  (as {})", t.name, t.exposed)?;
                if !t.description.is_empty() {
                    writeln!(f, "      {}", t.description)?;
                }
                let schema = serde_json::to_string(&t.schema).unwrap_or_default();
                writeln!(f, "      schema: {schema}")?;
            }
        }
        Ok(())
    }
}

/// Result of [`call_tool`].
#[derive(Clone, Debug, PartialEq)]
pub struct CallReport {
    /// Server.
    pub server: String,
    /// Raw tool name.
    pub tool: String,
    /// Arguments sent.
    pub arguments: serde_json::Value,
    /// Start-up time of the server.
    pub startup: Duration,
    /// The outcome (status, text for the model, full text, duration).
    pub outcome: ToolOutcome,
}

impl fmt::Display for CallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.outcome.status {
            ToolStatus::Ok => "ok",
            ToolStatus::Error => "error",
            ToolStatus::TimedOut => "timed out",
            ToolStatus::Cancelled => "cancelled",
        };
        writeln!(
            f,
            "{}/{} {} → {status} in {:.1} ms (server start-up {} ms)",
            self.server,
            self.tool,
            serde_json::to_string(&self.arguments).unwrap_or_default(),
            self.outcome.duration.as_secs_f64() * 1000.0,
            self.startup.as_millis()
        )?;
        writeln!(f, "{}", self.outcome.full_text)
    }
}

/// Start one server, call `tool` (raw or exposed name) with `json_args` (a JSON object; empty
/// means `{}`), print-ready report with timings, then shut the server down.
pub async fn call_tool(
    spec: ServerSpec,
    tool: &str,
    json_args: &str,
) -> anyhow::Result<CallReport> {
    let arguments: serde_json::Value = if json_args.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(json_args)
            .map_err(|e| anyhow::anyhow!("the arguments are not valid JSON ({e}); pass one JSON object, e.g. '{{\"text\": \"hi\"}}'"))?
    };
    if !arguments.is_object() {
        anyhow::bail!("the arguments must be a JSON object, e.g. '{{\"text\": \"hi\"}}'");
    }
    let mut spec = spec;
    spec.required = true;
    let server = spec.name.clone();
    let sink = CollectingSink::new();
    let t0 = Instant::now();
    let manager = McpManager::start(
        vec![spec],
        &process_env,
        sink.clone(),
        McpOptions::default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let startup = t0.elapsed();
    let raw: Vec<String> = manager
        .raw_tools(&server)
        .map(|ts| ts.iter().map(|t| t.name.to_string()).collect())
        .unwrap_or_default();
    let specs = manager.tool_specs(
        &ToolFilter::all(),
        &super::SchemaPolicy::standard(),
        DEFAULT_MAX_NAME_LEN,
    );
    let exposed = if raw.iter().any(|t| t == tool) {
        NameMap::build(
            raw.iter().map(|t| (server.as_str(), t.as_str())),
            DEFAULT_MAX_NAME_LEN,
        )
        .exposed(&server, tool)
        .map(str::to_owned)
    } else if specs.iter().any(|s| s.name == tool) {
        Some(tool.to_owned())
    } else {
        None
    };
    let Some(exposed) = exposed else {
        manager.shutdown().await;
        anyhow::bail!(
            "server `{server}` has no tool `{tool}`; its tools: {}",
            if raw.is_empty() {
                "none".to_owned()
            } else {
                raw.join(", ")
            }
        );
    };
    let raw_name = manager
        .resolve(&exposed)
        .map(|(_, t)| t)
        .unwrap_or_else(|| tool.to_owned());
    let outcome = manager
        .call(
            &EventScope::run(),
            &exposed,
            arguments.clone(),
            CancellationToken::new(),
        )
        .await;
    manager.shutdown().await;
    Ok(CallReport {
        server,
        tool: raw_name,
        arguments,
        startup,
        outcome,
    })
}
