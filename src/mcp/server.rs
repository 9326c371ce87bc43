//! One MCP server connection: spawning or connecting, the rmcp client handler, stderr
//! forwarding, process-group cleanup and reconnects.
//!
//! Responsibilities: turning a resolved [`ServerSpec`] into a live rmcp client (stdio child with
//! piped stderr in its own process group, or streamable HTTP with headers and a bearer token),
//! listing its tools (with pagination), reacting to `tools/list_changed`, routing progress
//! notifications to the call waiting for them, and killing the whole process group on shutdown
//! or drop so no server outlives the run.
//! Non-responsibilities: timeouts, retries, the circuit breaker, naming and events about calls
//! (the manager does those).

use super::spec::{Resolved, ServerSpec};
use crate::protocol::{Category, EventMsg, EventScope, EventSink, Level};
use rmcp::model::{ClientConfig, Implementation, ProgressNotificationParam, ProgressToken, Tool};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, Peer, RoleClient, ServiceExt};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// Lines of a server's stderr kept for failure reports.
const STDERR_TAIL_LINES: usize = 20;
/// Longest stderr line kept in the tail (characters).
const STDERR_LINE_MAX: usize = 400;

/// Removes secrets (expanded `${VAR}` values, env values, header values, tokens) from text
/// before it reaches an event or the log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn for_spec(spec: &ServerSpec, resolved: &Resolved) -> Self {
        let mut secrets = Vec::new();
        match (resolved, &spec.transport) {
            (Resolved::Stdio { env, .. }, super::spec::Transport::Stdio { env: extra, .. }) => {
                for k in extra.keys() {
                    if let Some(v) = env.get(k) {
                        secrets.push(v.clone());
                    }
                }
            }
            (
                Resolved::Http {
                    headers, bearer, ..
                },
                _,
            ) => {
                secrets.extend(headers.iter().map(|(_, v)| v.clone()));
                secrets.extend(bearer.iter().cloned());
            }
            _ => {}
        }
        // Short values (e.g. "1", "true") would shred ordinary text and are not secrets.
        secrets.retain(|s| s.len() >= 6);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// State shared between a server's connection, its rmcp handler and the manager.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) sink: Arc<dyn EventSink>,
    pub(crate) redactor: Redactor,
    /// Current tool list (replaced wholesale on re-list).
    pub(crate) tools: std::sync::RwLock<Arc<Vec<Tool>>>,
    /// Manager-wide tools version, bumped whenever any server's list changes.
    pub(crate) tools_version: Arc<AtomicU64>,
    /// Progress token → the call waiting for its notifications.
    pub(crate) progress_routes:
        Mutex<HashMap<ProgressToken, mpsc::UnboundedSender<ProgressNotificationParam>>>,
    /// Last lines of stderr (stdio servers).
    pub(crate) stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Timeout for re-listing tools after `list_changed`.
    pub(crate) list_timeout: Duration,
    /// Scope of server-level events.
    pub(crate) scope: EventScope,
}

impl Shared {
    pub(crate) fn emit(&self, level: Level, category: Category, message: String) {
        self.sink.emit(
            &self.scope,
            EventMsg::McpServer {
                server: self.name.clone(),
                category,
                level,
                message: self.redactor.apply(&message),
            },
        );
    }

    pub(crate) fn stderr_tail(&self) -> String {
        match self.stderr_tail.lock() {
            Ok(t) => t.iter().cloned().collect::<Vec<_>>().join("\n"),
            Err(_) => String::new(),
        }
    }

    pub(crate) fn tools(&self) -> Arc<Vec<Tool>> {
        match self.tools.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replace the tool list; returns a description of the change, if any.
    pub(crate) fn set_tools(&self, tools: Vec<Tool>) -> Option<String> {
        let old = self.tools();
        let changed = old.len() != tools.len()
            || old.iter().zip(tools.iter()).any(|(a, b)| {
                a.name != b.name
                    || a.input_schema != b.input_schema
                    || a.description != b.description
            });
        if !changed {
            return None;
        }
        let old_names: std::collections::HashSet<&str> = old.iter().map(|t| &*t.name).collect();
        let new_names: std::collections::HashSet<&str> = tools.iter().map(|t| &*t.name).collect();
        let mut added: Vec<&str> = new_names.difference(&old_names).copied().collect();
        let mut removed: Vec<&str> = old_names.difference(&new_names).copied().collect();
        added.sort_unstable();
        removed.sort_unstable();
        let mut desc = format!("{} tools", tools.len());
        if !added.is_empty() {
            desc.push_str(&format!("; added: {}", added.join(", ")));
        }
        if !removed.is_empty() {
            desc.push_str(&format!("; removed: {}", removed.join(", ")));
        }
        let arc = Arc::new(tools);
        match self.tools.write() {
            Ok(mut t) => *t = arc,
            Err(p) => *p.into_inner() = arc,
        }
        self.tools_version.fetch_add(1, Ordering::SeqCst);
        Some(desc)
    }
}

/// The rmcp client handler of one server.
#[derive(Clone)]
pub(crate) struct Handler {
    pub(crate) shared: Arc<Shared>,
}

impl ClientHandler for Handler {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let tx = match self.shared.progress_routes.lock() {
            Ok(routes) => routes.get(&params.progress_token).cloned(),
            Err(_) => None,
        };
        if let Some(tx) = tx {
            let _ = tx.send(params);
        }
    }

    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        let shared = self.shared.clone();
        let peer = context.peer.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(shared.list_timeout, peer.list_all_tools()).await {
                Ok(Ok(tools)) => {
                    if let Some(desc) = shared.set_tools(tools) {
                        shared.emit(
                            Level::Info,
                            Category::McpDiscovery,
                            format!("tool list changed: now {desc}"),
                        );
                    }
                }
                Ok(Err(e)) => shared.emit(
                    Level::Warn,
                    Category::McpDiscovery,
                    format!("tool list changed, but re-listing failed: {e}"),
                ),
                Err(_) => shared.emit(
                    Level::Warn,
                    Category::McpDiscovery,
                    "tool list changed, but re-listing timed out".to_owned(),
                ),
            }
        });
    }

    #[allow(deprecated)] // MCP logging is deprecated by SEP-2577 but servers still send it.
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let text = match &params.data {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        tracing::info!(
            target: "mcp::server",
            server = %self.shared.name,
            level = ?params.level,
            "{}",
            self.shared.redactor.apply(&text)
        );
    }

    fn get_info(&self) -> ClientConfig {
        let mut c = ClientConfig::default();
        c.client_info = Implementation::new("massgen-tui", env!("CARGO_PKG_VERSION"));
        c
    }
}

/// Kills a stdio server's whole process group when dropped (the server and anything it
/// spawned, e.g. `npx` → `node`).
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pub(crate) pgid: Option<u32>,
}

impl ProcessGroup {
    /// Send `SIGKILL` to the group now.
    pub(crate) fn kill(&self) {
        #[cfg(target_os = "linux")]
        if let Some(pgid) = self.pgid
            && let Ok(pgid) = i32::try_from(pgid)
            && pgid > 1
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A live connection.
pub(crate) struct Live {
    pub(crate) peer: Peer<RoleClient>,
    /// Process group of a stdio server (its pid).
    pub(crate) group: Option<Arc<ProcessGroup>>,
}

/// What a successful connect yields.
pub(crate) struct Connected {
    pub(crate) service: RunningService<RoleClient, Handler>,
    pub(crate) live: Arc<Live>,
    pub(crate) tools: Vec<Tool>,
    pub(crate) server_info: String,
}

/// Why a connect failed.
#[derive(Debug)]
pub(crate) struct ConnectError {
    pub(crate) message: String,
    /// True if retrying cannot help (missing executable, permission denied, bad URL).
    pub(crate) permanent: bool,
}

fn forward_stderr(shared: Arc<Shared>, stderr: tokio::process::ChildStderr) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = shared.redactor.apply(&line);
            tracing::info!(target: "mcp::server", server = %shared.name, "{line}");
            if let Ok(mut tail) = shared.stderr_tail.lock() {
                if tail.len() >= STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line.chars().take(STDERR_LINE_MAX).collect());
            }
        }
    });
}

/// Connect (spawn or open), initialize and list tools. No timeout here: the caller adds it.
pub(crate) async fn connect(
    resolved: &Resolved,
    shared: &Arc<Shared>,
) -> Result<Connected, ConnectError> {
    let handler = Handler {
        shared: shared.clone(),
    };
    let (service, group) = match resolved {
        Resolved::Stdio {
            program,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args).env_clear().envs(env).kill_on_drop(true);
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            #[cfg(unix)]
            cmd.process_group(0);
            let (transport, stderr) = rmcp::transport::TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| ConnectError {
                    permanent: matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                    ),
                    message: format!("could not start `{program}`: {e}"),
                })?;
            let group = Arc::new(ProcessGroup {
                pgid: transport.id(),
            });
            if let Some(stderr) = stderr {
                forward_stderr(shared.clone(), stderr);
            }
            match handler.serve(transport).await {
                Ok(s) => (s, Some(group)),
                Err(e) => {
                    group.kill();
                    return Err(ConnectError {
                        message: format!("MCP initialize failed: {e}"),
                        permanent: false,
                    });
                }
            }
        }
        Resolved::Http {
            url,
            headers,
            bearer,
        } => {
            let mut map = HashMap::new();
            for (k, v) in headers {
                let name = reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                    ConnectError {
                        message: format!("invalid header name `{k}`"),
                        permanent: true,
                    }
                })?;
                let value =
                    reqwest::header::HeaderValue::from_str(v).map_err(|_| ConnectError {
                        message: format!("invalid value for header `{k}`"),
                        permanent: true,
                    })?;
                map.insert(name, value);
            }
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                .custom_headers(map)
                // Tool results may be large; the manager caps what the model sees.
                .max_json_response_size(64 * 1024 * 1024)
                .reinit_on_expired_session(true);
            if let Some(token) = bearer {
                config = config.auth_header(token.clone());
            }
            // rmcp's default client: no idle pooling (avoids ~40 ms delayed-ACK stalls per
            // call on Linux) and a same-origin-only redirect policy.
            let transport = StreamableHttpClientTransport::from_config(config);
            match handler.serve(transport).await {
                Ok(s) => (s, None),
                Err(e) => {
                    return Err(ConnectError {
                        message: format!("could not connect to {url}: {e}"),
                        permanent: false,
                    });
                }
            }
        }
    };
    let peer = service.peer().clone();
    let server_info = peer
        .peer_info()
        .and_then(|i| {
            i.server_info
                .as_ref()
                .map(|s| format!("{} {}", s.name, s.version))
        })
        .unwrap_or_else(|| "unknown server".to_owned());
    let has_tools = peer
        .peer_info()
        .is_none_or(|i| i.capabilities.tools.is_some());
    let listed = if has_tools {
        peer.list_all_tools().await
    } else {
        Ok(Vec::new())
    };
    let tools = match listed {
        Ok(t) => t,
        // A server without tools support: connected, with no tools.
        Err(rmcp::ServiceError::McpError(e))
            if e.code == rmcp::model::ErrorCode::METHOD_NOT_FOUND =>
        {
            tracing::debug!(target: "mcp", server = %shared.name, "tools/list not supported: {}", e.message);
            Vec::new()
        }
        Err(e) => {
            if let Some(g) = &group {
                g.kill();
            }
            return Err(ConnectError {
                message: format!("tools/list failed: {e}"),
                permanent: false,
            });
        }
    };
    Ok(Connected {
        service,
        live: Arc::new(Live { peer, group }),
        tools,
        server_info,
    })
}
