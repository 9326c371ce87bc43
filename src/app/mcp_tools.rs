//! Glue between the config's MCP server entries and the `mcp` layer, and the orchestrator's
//! [`ToolProvider`]: one [`McpTools`] per agent, started once per session during the first
//! run's initialization stage, events forwarded to whichever run is current.
//!
//! Responsibilities: translating config types into `mcp::ServerSpec`s (including the
//! filesystem server MassGen injects for agents with `cwd`), lazy start, and the adapter.
//! Non-responsibilities: MCP itself (`mcp`), deciding when tools run (orchestrator).

use crate::backend::ToolSpec;
use crate::config::mcp::{McpServerConfig, McpTransport};
use crate::config::{AgentPlan, Env};
use crate::mcp::{McpManager, McpOptions, SchemaPolicy, ServerSpec, ToolFilter, Transport};
use crate::orchestrator::{ToolProvider, ToolReply};
use crate::protocol::{EventMsg, EventScope, EventSink, ToolStatus};
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Forwards events to the run that is current; events between runs go to the log only.
#[derive(Default)]
pub struct SessionSink {
    current: Mutex<Option<Arc<dyn EventSink>>>,
}

impl SessionSink {
    /// Route events to `sink` (or nowhere with `None`).
    pub fn set(&self, sink: Option<Arc<dyn EventSink>>) {
        if let Ok(mut c) = self.current.lock() {
            *c = sink;
        }
    }
}

impl EventSink for SessionSink {
    fn emit(&self, scope: &EventScope, msg: EventMsg) {
        let sink = self.current.lock().ok().and_then(|c| c.clone());
        match sink {
            Some(s) => s.emit(scope, msg),
            None => tracing::info!(target: "mcp::session", "{} (between runs)", msg.kind()),
        }
    }
}

/// Convert one config entry.
pub fn server_spec(cfg: &McpServerConfig, env: &Env) -> Result<ServerSpec, String> {
    let transport = match &cfg.transport {
        McpTransport::Stdio(s) => {
            let mut parts = s.command.iter();
            let command = parts
                .next()
                .cloned()
                .ok_or_else(|| format!("{}.command: empty command", cfg.config_path))?;
            let mut args: Vec<String> = parts.cloned().collect();
            args.extend(s.args.iter().cloned());
            let expanded = s
                .expanded_env(env, &cfg.config_path)
                .map_err(|e| e.to_string())?;
            let env: BTreeMap<String, String> = expanded
                .into_iter()
                .map(|(k, v)| (k, v.expose().to_owned()))
                .collect();
            Transport::Stdio {
                // The config already split the command; quote the program so the MCP layer's
                // own split keeps a path with spaces whole.
                command: crate::mcp::spec::quote_word(&command),
                args,
                env,
                cwd: s.cwd.as_ref().map(Into::into),
            }
        }
        McpTransport::StreamableHttp(h) => Transport::StreamableHttp {
            url: h.url.clone(),
            headers: h
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_owned()))
                .collect(),
            bearer_token_env: None,
        },
    };
    let mut spec = ServerSpec::new(cfg.name.clone(), transport);
    spec.required = cfg.required;
    if let Some(t) = cfg.tool_timeout_seconds.filter(|t| *t > 0.0) {
        spec.call_timeout = Duration::from_secs_f64(t);
        spec.max_call_timeout = spec.max_call_timeout.max(spec.call_timeout);
    }
    if let McpTransport::StreamableHttp(h) = &cfg.transport
        && let Some(t) = h.timeout_seconds
    {
        spec.call_timeout = Duration::from_secs(t.max(1));
    }
    spec.security =
        crate::mcp::SecurityLevel::parse(cfg.security.level.as_str()).unwrap_or_default();
    Ok(spec)
}

/// The servers of one agent, plus MassGen's filesystem server for agents with `cwd`
/// (unless a server named `filesystem` is configured).
pub fn agent_specs(agent: &AgentPlan, env: &Env) -> Result<Vec<ServerSpec>, String> {
    let mut specs = agent
        .mcp_servers
        .iter()
        .map(|c| server_spec(c, env))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(cwd) = &agent.cwd
        && !specs.iter().any(|s| s.name == "filesystem")
    {
        let dir = std::env::current_dir()
            .map(|d| d.join(cwd))
            .unwrap_or_else(|_| cwd.clone());
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "{}.backend.cwd: cannot create the workspace {}: {e}",
                agent.config_path,
                dir.display()
            )
        })?;
        specs.push(ServerSpec::stdio_argv(
            "filesystem",
            "npx",
            vec![
                "-y".into(),
                "@modelcontextprotocol/server-filesystem".into(),
                dir.display().to_string(),
            ],
        ));
    }
    Ok(specs)
}

/// One agent's MCP tools, started lazily (once) and shared by all its launches.
pub struct McpTools {
    agent: String,
    specs: Vec<ServerSpec>,
    env: Arc<Env>,
    sink: Arc<SessionSink>,
    opts: McpOptions,
    filter: ToolFilter,
    policy: SchemaPolicy,
    max_name_len: usize,
    manager: OnceLock<McpManager>,
}

impl McpTools {
    /// Tools for `agent` (not started yet).
    pub fn new(
        agent: &AgentPlan,
        specs: Vec<ServerSpec>,
        env: Arc<Env>,
        sink: Arc<SessionSink>,
        max_result_chars: usize,
    ) -> Self {
        let caps = &agent.provider.caps;
        let policy = SchemaPolicy {
            name: agent.provider.id.to_owned(),
            unsupported_keywords: caps
                .schema_unsupported_keywords
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            needs_properties: caps.schema_needs_properties,
        };
        Self {
            agent: agent.id.clone(),
            specs,
            env,
            sink,
            opts: McpOptions {
                max_result_chars,
                // Connect, restart and breaker events carry the agent they belong to.
                server_event_scope: crate::protocol::EventScope {
                    agent: Some(crate::protocol::AgentId::new(&agent.id)),
                    ..crate::protocol::EventScope::default()
                },
                ..McpOptions::default()
            },
            filter: ToolFilter {
                allowed_tools: agent.allowed_tools.clone(),
                exclude_tools: agent.exclude_tools.clone(),
            },
            policy,
            max_name_len: caps.max_tool_name_len.clamp(8, 64),
            manager: OnceLock::new(),
        }
    }

    /// Start the servers (first call only). A required server that fails is an error.
    pub async fn start(&self) -> Result<(), String> {
        if self.manager.get().is_some() {
            return Ok(());
        }
        let env = self.env.clone();
        let lookup = move |k: &str| env.get(k).map(str::to_owned);
        let sink: Arc<dyn EventSink> = self.sink.clone();
        let manager = McpManager::start(self.specs.clone(), &lookup, sink, self.opts.clone())
            .await
            .map_err(|e| format!("agent `{}`: {e}", self.agent))?;
        let _ = self.manager.set(manager);
        Ok(())
    }

    /// Stop every server.
    pub async fn shutdown(&self) {
        if let Some(m) = self.manager.get() {
            m.shutdown().await;
        }
    }
}

impl ToolProvider for McpTools {
    fn tool_specs(&self) -> Vec<ToolSpec> {
        self.manager
            .get()
            .map(|m| m.tool_specs(&self.filter, &self.policy, self.max_name_len))
            .unwrap_or_default()
    }

    fn has_tool(&self, name: &str) -> bool {
        self.manager
            .get()
            .is_some_and(|m| m.resolve(name).is_some())
    }

    fn call<'a>(
        &'a self,
        scope: &'a EventScope,
        name: &'a str,
        arguments: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, ToolReply> {
        Box::pin(async move {
            let Some(m) = self.manager.get() else {
                return ToolReply {
                    text: "MCP tools are not available (the servers did not start)".into(),
                    is_error: true,
                };
            };
            let out = m.call(scope, name, arguments, cancel).await;
            ToolReply {
                text: out.text_for_model,
                is_error: out.status != ToolStatus::Ok,
            }
        })
    }
}
