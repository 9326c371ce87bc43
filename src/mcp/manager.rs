//! The MCP manager: all servers of a run behind one cheap-to-clone handle.
//!
//! Responsibilities: starting every server concurrently with a start-up timeout and
//! connection-level retries; reporting failures (with the stderr tail) and going on without
//! optional servers; exposing tools under provider-safe names with filters and schema
//! normalisation; running calls with timeouts (extended by progress up to a cap),
//! cancellation, a per-server circuit breaker and restarts of crashed servers; emitting an
//! event for every MCP operation; clean shutdown.
//! Non-responsibilities: the model's tool loop (the orchestrator calls [`McpManager::call`]),
//! parsing configs, rendering events.

use super::breaker::{Admission, Breaker, BreakerConfig};
use super::naming::{DEFAULT_MAX_NAME_LEN, NameMap};
use super::result::{DEFAULT_MAX_RESULT_CHARS, cap, convert};
use super::schema::{SchemaPolicy, normalise};
use super::server::{Connected, Handler, Live, Redactor, Shared, connect};
use super::spec::{EnvLookup, McpConfigError, Resolved, ServerSpec, Transport, resolve, validate};
use crate::protocol::ToolSpec;
use crate::protocol::{
    BreakerState, CallId, Category, EventMsg, EventScope, EventSink, Level, ToolKind, ToolStatus,
};
use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientRequest, ErrorCode,
    ServerResult, Tool,
};
use rmcp::service::{PeerRequestOptions, RunningService, ServiceError};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Run-wide MCP settings.
#[derive(Clone, Debug)]
pub struct McpOptions {
    /// Circuit-breaker settings (per server).
    pub breaker: BreakerConfig,
    /// How many times a crashed server is restarted (reconnected, for HTTP) before it is
    /// given up on.
    pub max_restarts: u32,
    /// Cap on the text returned to the model per call, in characters.
    pub max_result_chars: usize,
    /// Time allowed for a graceful shutdown of each server before it is killed.
    pub shutdown_timeout: Duration,
    /// Scope of server-level events (connect, restarts, breaker, schema reports), e.g. the
    /// agent whose servers these are. Call events use the scope passed to `call`.
    pub server_event_scope: EventScope,
}

impl Default for McpOptions {
    fn default() -> Self {
        Self {
            breaker: BreakerConfig::default(),
            max_restarts: 3,
            max_result_chars: DEFAULT_MAX_RESULT_CHARS,
            shutdown_timeout: Duration::from_secs(5),
            server_event_scope: EventScope::run(),
        }
    }
}

/// Backend-level tool filter (MassGen's `allowed_tools` / `exclude_tools`): names are raw
/// MCP tool names (or exposed `mcp__server__tool` names) and apply to every server. Exclusion
/// is checked first; then, if `allowed_tools` is set, only listed tools are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolFilter {
    /// If set, only these tools are exposed.
    pub allowed_tools: Option<Vec<String>>,
    /// Never exposed.
    pub exclude_tools: Vec<String>,
}

impl ToolFilter {
    /// No filtering.
    pub fn all() -> Self {
        Self::default()
    }
}

fn listed(list: &[String], server: &str, tool: &str) -> bool {
    list.iter().any(|n| {
        n == tool
            || n.strip_prefix(super::naming::PREFIX)
                .and_then(|rest| rest.split_once("__"))
                .is_some_and(|(s, t)| s == server && t == tool)
    })
}

fn admitted(filter: &ToolFilter, spec: &ServerSpec, tool: &str) -> bool {
    let server = spec.name.as_str();
    if listed(&spec.exclude_tools, server, tool) || listed(&filter.exclude_tools, server, tool) {
        return false;
    }
    if let Some(allowed) = &spec.allowed_tools
        && !listed(allowed, server, tool)
    {
        return false;
    }
    if let Some(allowed) = &filter.allowed_tools
        && !listed(allowed, server, tool)
    {
        return false;
    }
    true
}

/// The outcome of one tool call, ready for the model and the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolOutcome {
    /// Status.
    pub status: ToolStatus,
    /// What goes back to the model (capped, with a note when truncated; errors explained).
    pub text_for_model: String,
    /// The whole result (also in the `ToolCallEnd` event).
    pub full_text: String,
    /// True if `text_for_model` was truncated.
    pub truncated: bool,
    /// Wall time of the call.
    pub duration: Duration,
    /// The server that ran it, if the name resolved.
    pub server: Option<String>,
}

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum McpStartError {
    /// A config problem (duplicate names, or a required server's invalid config).
    #[error(transparent)]
    Config(#[from] McpConfigError),
    /// A server marked `required` did not start.
    #[error("required MCP server `{server}` failed to start: {reason}")]
    RequiredServerFailed {
        /// Server.
        server: String,
        /// Why (with its stderr tail).
        reason: String,
    },
}

/// Status of one configured server, for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerStatus {
    /// Name.
    pub name: String,
    /// `stdio` or `streamable-http`.
    pub transport: &'static str,
    /// Connected (at least once) and not given up on.
    pub connected: bool,
    /// Server name/version from `initialize`.
    pub server_info: Option<String>,
    /// Start-up time.
    pub startup: Option<Duration>,
    /// Tool count.
    pub tools: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Breaker state.
    pub breaker: BreakerState,
    /// Restarts so far.
    pub restarts: u32,
}

struct ServerConn {
    spec: ServerSpec,
    resolved: Resolved,
    shared: Arc<Shared>,
    live: std::sync::RwLock<Option<Arc<Live>>>,
    running: tokio::sync::Mutex<Option<RunningService<RoleClient, Handler>>>,
    reconnect: tokio::sync::Mutex<()>,
    breaker: Mutex<Breaker>,
    restarts: AtomicU32,
    shut: AtomicBool,
    server_info: Mutex<Option<String>>,
    startup: Mutex<Option<Duration>>,
    error: Mutex<Option<String>>,
}

impl ServerConn {
    fn live(&self) -> Option<Arc<Live>> {
        match self.live.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_live(&self, live: Option<Arc<Live>>) {
        match self.live.write() {
            Ok(mut l) => *l = live,
            Err(p) => *p.into_inner() = live,
        }
    }

    fn set_error(&self, e: Option<String>) {
        if let Ok(mut g) = self.error.lock() {
            *g = e;
        }
    }

    fn display_target(&self) -> String {
        match &self.spec.transport {
            Transport::Stdio { command, args, .. } => {
                let mut s = command.clone();
                for a in args {
                    s.push(' ');
                    s.push_str(a);
                }
                format!("stdio: {s}")
            }
            Transport::StreamableHttp { url, .. } => format!("streamable-http: {url}"),
        }
    }

    fn breaker_event(&self, state: Option<BreakerState>) {
        if let Some(state) = state {
            self.shared.sink.emit(
                &self.shared.scope,
                EventMsg::CircuitBreaker {
                    server: self.spec.name.clone(),
                    state,
                },
            );
        }
    }

    fn record_success(&self) {
        let ch = self.breaker.lock().ok().and_then(|mut b| b.on_success());
        self.breaker_event(ch);
    }

    fn record_failure(&self) {
        let ch = self
            .breaker
            .lock()
            .ok()
            .and_then(|mut b| b.on_failure(Instant::now()));
        self.breaker_event(ch);
    }

    /// Connect with retries and backoff, all within the start-up timeout.
    async fn connect_with_retries(&self) -> Result<Connected, String> {
        let deadline = Instant::now() + self.spec.startup_timeout;
        let mut attempt = 0u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let res = tokio::time::timeout(remaining, connect(&self.resolved, &self.shared)).await;
            let (msg, permanent) = match res {
                Ok(Ok(c)) => return Ok(c),
                Ok(Err(e)) => (e.message, e.permanent),
                Err(_) => (
                    format!(
                        "did not start within {:.0} s (spawn/connect, initialize and tools/list)",
                        self.spec.startup_timeout.as_secs_f64()
                    ),
                    true,
                ),
            };
            attempt += 1;
            let delay = Duration::from_millis(250 * (1 << attempt.min(6)))
                .mul_f64(1.0 + fastrand::f64() * 0.2);
            if permanent
                || attempt > self.spec.retries
                || Instant::now() + delay >= deadline
                || self.shut.load(Ordering::SeqCst)
            {
                return Err(msg);
            }
            self.shared.emit(
                Level::Warn,
                Category::McpDiscovery,
                format!(
                    "connection attempt {attempt} failed ({msg}); retrying in {} ms",
                    delay.as_millis()
                ),
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn install(&self, c: Connected) -> usize {
        let n = c.tools.len();
        if let Ok(mut g) = self.server_info.lock() {
            *g = Some(c.server_info.clone());
        }
        self.shared.set_tools(c.tools);
        let old = self.running.lock().await.replace(c.service);
        self.set_live(Some(c.live));
        self.set_error(None);
        if let Some(old) = old {
            tokio::spawn(async move {
                let mut old = old;
                let _ = old.close_with_timeout(Duration::from_secs(2)).await;
            });
        }
        n
    }

    /// A live connection, restarting a crashed server if restarts remain.
    async fn ensure_live(&self, max_restarts: u32) -> Result<Arc<Live>, String> {
        if let Some(l) = self.live()
            && !l.peer.is_transport_closed()
        {
            return Ok(l);
        }
        if self.shut.load(Ordering::SeqCst) {
            return Err(format!(
                "MCP server `{}` has been shut down",
                self.spec.name
            ));
        }
        let _guard = self.reconnect.lock().await;
        if let Some(l) = self.live()
            && !l.peer.is_transport_closed()
        {
            return Ok(l);
        }
        let done = self.restarts.load(Ordering::SeqCst);
        let verb = match self.spec.transport {
            Transport::Stdio { .. } => "restart",
            Transport::StreamableHttp { .. } => "reconnect",
        };
        if done >= max_restarts {
            return Err(format!(
                "MCP server `{}` is down and was already {verb}ed {done} times; it will not be {verb}ed again in this run",
                self.spec.name
            ));
        }
        let n = done + 1;
        self.restarts.store(n, Ordering::SeqCst);
        let tail = self.shared.stderr_tail();
        self.shared.emit(
            Level::Warn,
            Category::McpHealth,
            format!(
                "server is down; {verb} {n} of {max_restarts}{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(". Last stderr lines:\n{tail}")
                }
            ),
        );
        // Drop the dead connection (kills what is left of its process group).
        self.set_live(None);
        if let Some(old) = self.running.lock().await.take() {
            drop(old);
        }
        match self.connect_with_retries().await {
            Ok(c) => {
                let tools = self.install(c).await;
                self.shared.emit(
                    Level::Info,
                    Category::McpHealth,
                    format!("{verb} {n} succeeded: {tools} tools"),
                );
                self.live().ok_or_else(|| "connection vanished".to_owned())
            }
            Err(e) => {
                let msg = format!("{verb} {n} of {max_restarts} failed: {e}");
                self.shared
                    .emit(Level::Error, Category::McpHealth, msg.clone());
                self.set_error(Some(msg.clone()));
                Err(msg)
            }
        }
    }
}

impl Drop for ServerConn {
    fn drop(&mut self) {
        // Kill the process group even if shutdown() was never awaited.
        if let Some(l) = self.live()
            && let Some(g) = &l.group
        {
            g.kill();
        }
    }
}

struct Inner {
    servers: Vec<Arc<ServerConn>>,
    failed: Vec<ServerStatus>,
    sink: Arc<dyn EventSink>,
    opts: McpOptions,
    tools_version: Arc<AtomicU64>,
    names: Mutex<HashMap<usize, (u64, Arc<NameMap>)>>,
    reported: Mutex<HashSet<(String, String, String)>>,
    call_seq: AtomicU64,
}

/// All MCP servers of a run. Clone freely: clones share everything.
#[derive(Clone)]
pub struct McpManager {
    inner: Arc<Inner>,
}

impl fmt::Debug for McpManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpManager")
            .field(
                "servers",
                &self
                    .inner
                    .servers
                    .iter()
                    .map(|s| s.spec.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl McpManager {
    /// A manager with no servers (MCP not configured).
    pub fn empty(sink: Arc<dyn EventSink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                servers: Vec::new(),
                failed: Vec::new(),
                sink,
                opts: McpOptions::default(),
                tools_version: Arc::new(AtomicU64::new(0)),
                names: Mutex::new(HashMap::new()),
                reported: Mutex::new(HashSet::new()),
                call_seq: AtomicU64::new(0),
            }),
        }
    }

    /// Validate and start every server concurrently. A server that fails to start is
    /// reported (event with its stderr tail) and left out, unless it is `required`, in which
    /// case the whole start fails (and the servers already started are shut down).
    pub async fn start(
        specs: Vec<ServerSpec>,
        env: EnvLookup<'_>,
        sink: Arc<dyn EventSink>,
        opts: McpOptions,
    ) -> Result<McpManager, McpStartError> {
        let mut seen = HashSet::new();
        for s in &specs {
            if !seen.insert(s.name.clone()) {
                return Err(McpConfigError::DuplicateName {
                    server: s.name.clone(),
                }
                .into());
            }
        }
        let tools_version = Arc::new(AtomicU64::new(0));
        let mut conns = Vec::new();
        let mut failed = Vec::new();
        for spec in specs {
            let emit = |level: Level, message: String| {
                sink.emit(
                    &opts.server_event_scope,
                    EventMsg::McpServer {
                        server: spec.name.clone(),
                        category: Category::McpDiscovery,
                        level,
                        message,
                    },
                )
            };
            match validate(&spec, env) {
                Ok(warnings) => {
                    for w in warnings {
                        emit(Level::Warn, w.message);
                    }
                }
                Err(e) => {
                    if spec.required {
                        return Err(e.into());
                    }
                    emit(Level::Error, format!("not started: {e}"));
                    failed.push(ServerStatus {
                        name: spec.name.clone(),
                        transport: spec.transport.kind(),
                        connected: false,
                        server_info: None,
                        startup: None,
                        tools: 0,
                        error: Some(e.to_string()),
                        breaker: BreakerState::Closed,
                        restarts: 0,
                    });
                    continue;
                }
            }
            let resolved = resolve(&spec, env)?;
            let shared = Arc::new(Shared {
                name: spec.name.clone(),
                sink: sink.clone(),
                redactor: Redactor::for_spec(&spec, &resolved),
                tools: std::sync::RwLock::new(Arc::new(Vec::new())),
                tools_version: tools_version.clone(),
                progress_routes: Mutex::new(HashMap::new()),
                stderr_tail: Arc::new(Mutex::new(std::collections::VecDeque::new())),
                list_timeout: spec.startup_timeout,
                scope: opts.server_event_scope.clone(),
            });
            conns.push(Arc::new(ServerConn {
                breaker: Mutex::new(Breaker::new(opts.breaker)),
                spec,
                resolved,
                shared,
                live: std::sync::RwLock::new(None),
                running: tokio::sync::Mutex::new(None),
                reconnect: tokio::sync::Mutex::new(()),
                restarts: AtomicU32::new(0),
                shut: AtomicBool::new(false),
                server_info: Mutex::new(None),
                startup: Mutex::new(None),
                error: Mutex::new(None),
            }));
        }

        let results = futures::future::join_all(conns.iter().map(|c| {
            let c = c.clone();
            async move {
                c.shared.emit(
                    Level::Debug,
                    Category::McpDiscovery,
                    format!("connecting ({})", c.display_target()),
                );
                let t0 = Instant::now();
                match c.connect_with_retries().await {
                    Ok(conn) => {
                        let info = conn.server_info.clone();
                        let n = c.install(conn).await;
                        let took = t0.elapsed();
                        if let Ok(mut g) = c.startup.lock() {
                            *g = Some(took);
                        }
                        c.shared.emit(
                            Level::Info,
                            Category::McpDiscovery,
                            format!("connected in {} ms ({info}): {n} tools", took.as_millis()),
                        );
                        Ok(())
                    }
                    Err(e) => {
                        // Give the stderr forwarder a moment to catch the last lines.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        let tail = c.shared.stderr_tail();
                        let reason = if tail.is_empty() {
                            e
                        } else {
                            format!("{e}. Last stderr lines:\n{tail}")
                        };
                        c.shared.emit(
                            Level::Error,
                            Category::McpDiscovery,
                            format!(
                                "failed to start ({}): {reason}{}",
                                c.display_target(),
                                if c.spec.required {
                                    ""
                                } else {
                                    "; continuing without it"
                                }
                            ),
                        );
                        c.set_error(Some(c.shared.redactor.apply(&reason)));
                        Err(c.shared.redactor.apply(&reason))
                    }
                }
            }
        }))
        .await;

        let mut servers = Vec::new();
        let mut required_failure = None;
        for (c, r) in conns.into_iter().zip(results) {
            match r {
                Ok(()) => servers.push(c),
                Err(reason) => {
                    if c.spec.required && required_failure.is_none() {
                        required_failure = Some(McpStartError::RequiredServerFailed {
                            server: c.spec.name.clone(),
                            reason: reason.clone(),
                        });
                    }
                    failed.push(ServerStatus {
                        name: c.spec.name.clone(),
                        transport: c.spec.transport.kind(),
                        connected: false,
                        server_info: None,
                        startup: None,
                        tools: 0,
                        error: Some(reason),
                        breaker: BreakerState::Closed,
                        restarts: 0,
                    });
                }
            }
        }
        let manager = McpManager {
            inner: Arc::new(Inner {
                servers,
                failed,
                sink,
                opts,
                tools_version,
                names: Mutex::new(HashMap::new()),
                reported: Mutex::new(HashSet::new()),
                call_seq: AtomicU64::new(0),
            }),
        };
        if let Some(e) = required_failure {
            manager.shutdown().await;
            return Err(e);
        }
        Ok(manager)
    }

    /// Names of the servers that are running.
    pub fn server_names(&self) -> Vec<String> {
        self.inner
            .servers
            .iter()
            .map(|s| s.spec.name.clone())
            .collect()
    }

    /// Status of every configured server (running ones first, then failed ones).
    pub fn statuses(&self) -> Vec<ServerStatus> {
        let mut out: Vec<ServerStatus> = self
            .inner
            .servers
            .iter()
            .map(|s| ServerStatus {
                name: s.spec.name.clone(),
                transport: s.spec.transport.kind(),
                connected: s.live().is_some(),
                server_info: s.server_info.lock().ok().and_then(|g| g.clone()),
                startup: s.startup.lock().ok().and_then(|g| *g),
                tools: s.shared.tools().len(),
                error: s.error.lock().ok().and_then(|g| g.clone()),
                breaker: s
                    .breaker
                    .lock()
                    .map(|b| b.state())
                    .unwrap_or(BreakerState::Closed),
                restarts: s.restarts.load(Ordering::SeqCst),
            })
            .collect();
        out.extend(self.inner.failed.iter().cloned());
        out
    }

    /// Raw tools of one server (as listed, unfiltered, schemas untouched).
    pub fn raw_tools(&self, server: &str) -> Option<Arc<Vec<Tool>>> {
        self.server(server).map(|s| s.shared.tools())
    }

    /// Process id of a running stdio server (for diagnostics and tests).
    pub fn server_pid(&self, server: &str) -> Option<u32> {
        self.server(server)
            .and_then(|s| s.live())
            .and_then(|l| l.group.as_ref().and_then(|g| g.pgid))
    }

    /// Bumped whenever any server's tool list changes (`tools/list_changed`, restarts).
    /// The agent loop rebuilds its tool list when this differs from the value it used.
    pub fn tools_version(&self) -> u64 {
        self.inner.tools_version.load(Ordering::SeqCst)
    }

    fn server(&self, name: &str) -> Option<&Arc<ServerConn>> {
        self.inner.servers.iter().find(|s| s.spec.name == name)
    }

    /// The name map for `max_len`, rebuilt when tools changed.
    fn names(&self, max_len: usize) -> Arc<NameMap> {
        let version = self.tools_version();
        if let Ok(cache) = self.inner.names.lock()
            && let Some((v, m)) = cache.get(&max_len)
            && *v == version
        {
            return m.clone();
        }
        let all: Vec<(String, Arc<Vec<Tool>>)> = self
            .inner
            .servers
            .iter()
            .map(|s| (s.spec.name.clone(), s.shared.tools()))
            .collect();
        let map = Arc::new(NameMap::build(
            all.iter()
                .flat_map(|(s, ts)| ts.iter().map(move |t| (s.as_str(), &*t.name))),
            max_len,
        ));
        if let Ok(mut cache) = self.inner.names.lock() {
            cache.insert(max_len, (version, map.clone()));
        }
        map
    }

    fn report_once(&self, server: &str, key: (String, String, String), level: Level, msg: String) {
        let fresh = self
            .inner
            .reported
            .lock()
            .map(|mut r| r.insert(key))
            .unwrap_or(true);
        if fresh {
            self.inner.sink.emit(
                &self.inner.opts.server_event_scope,
                EventMsg::McpServer {
                    server: server.to_owned(),
                    category: Category::McpDiscovery,
                    level,
                    message: msg,
                },
            );
        }
    }

    /// The tools to offer a model: filtered, named within `max_name_len` (default 64), with
    /// schemas normalised for `policy`. A tool whose schema cannot be made acceptable is left
    /// out and reported once (by name).
    pub fn tool_specs(
        &self,
        filter: &ToolFilter,
        policy: &SchemaPolicy,
        max_name_len: usize,
    ) -> Vec<ToolSpec> {
        let names = self.names(max_name_len);
        let mut out = Vec::new();
        for s in &self.inner.servers {
            if s.restarts.load(Ordering::SeqCst) > 0 && s.live().is_none() {
                continue;
            }
            let server = s.spec.name.as_str();
            for tool in s.shared.tools().iter() {
                if !admitted(filter, &s.spec, &tool.name) {
                    continue;
                }
                let Some(exposed) = names.exposed(server, &tool.name) else {
                    continue;
                };
                let key = (policy.name.clone(), exposed.to_owned(), String::new());
                match normalise(&tool.input_schema, policy) {
                    Ok(n) => {
                        if !n.changes.is_empty() {
                            self.report_once(
                                server,
                                (key.0, key.1, "fix".into()),
                                Level::Debug,
                                format!(
                                    "schema of `{}` adjusted for the `{}` profile: {}",
                                    tool.name,
                                    policy.name,
                                    n.changes.join("; ")
                                ),
                            );
                        }
                        let description = tool
                            .description
                            .as_deref()
                            .filter(|d| !d.trim().is_empty())
                            .map(str::to_owned)
                            .unwrap_or_else(|| {
                                format!("MCP tool `{}` from server `{server}`", tool.name)
                            });
                        out.push(ToolSpec {
                            name: exposed.to_owned(),
                            description,
                            parameters: n.schema,
                        });
                    }
                    Err(reason) => self.report_once(
                        server,
                        key,
                        Level::Warn,
                        format!(
                            "tool `{}` left out for the `{}` profile: its input schema cannot be made acceptable ({reason})",
                            tool.name, policy.name
                        ),
                    ),
                }
            }
        }
        out
    }

    /// The (server, raw tool) behind an exposed name, under any name limit used so far
    /// (the default limit is always tried).
    pub fn resolve(&self, exposed_name: &str) -> Option<(String, String)> {
        let maps: Vec<Arc<NameMap>> = {
            let version = self.tools_version();
            match self.inner.names.lock() {
                Ok(c) => c
                    .values()
                    .filter(|(v, _)| *v == version)
                    .map(|(_, m)| m.clone())
                    .collect(),
                Err(_) => Vec::new(),
            }
        };
        for m in maps {
            if let Some((s, t)) = m.resolve(exposed_name) {
                return Some((s.to_owned(), t.to_owned()));
            }
        }
        self.names(DEFAULT_MAX_NAME_LEN)
            .resolve(exposed_name)
            .map(|(s, t)| (s.to_owned(), t.to_owned()))
    }

    fn emit(&self, scope: &EventScope, msg: EventMsg) {
        self.inner.sink.emit(scope, msg);
    }

    /// Call a tool by its exposed name. Never panics and never returns an error: every
    /// failure (unknown tool, invalid arguments, `isError` results, JSON-RPC errors,
    /// timeouts, crashes, an open circuit breaker) becomes an outcome the model can act on.
    /// Emits `ToolCallBegin`, `ToolCallProgress` and `ToolCallEnd` under `scope` (a call id is
    /// generated if the scope has none). Cancelling `cancel` sends `notifications/cancelled`.
    pub async fn call(
        &self,
        scope: &EventScope,
        exposed_name: &str,
        args: Value,
        cancel: CancellationToken,
    ) -> ToolOutcome {
        let scope = if scope.call_id.is_some() {
            scope.clone()
        } else {
            let n = self.inner.call_seq.fetch_add(1, Ordering::Relaxed) + 1;
            scope.with_call(CallId::new(format!("mcp-{n}")))
        };
        let t0 = Instant::now();
        let resolved = self.resolve(exposed_name);
        self.emit(
            &scope,
            EventMsg::ToolCallBegin {
                tool: exposed_name.to_owned(),
                kind: if resolved.is_some() {
                    ToolKind::Mcp
                } else {
                    ToolKind::Unknown
                },
                server: resolved.as_ref().map(|(s, _)| s.clone()),
                arguments: args.clone(),
            },
        );
        let (status, for_model, full) = match &resolved {
            None => {
                let names = self.names(DEFAULT_MAX_NAME_LEN);
                let mut available: Vec<String> = Vec::new();
                for s in &self.inner.servers {
                    for t in s.shared.tools().iter() {
                        if let Some(n) = names.exposed(&s.spec.name, &t.name) {
                            available.push(n.to_owned());
                        }
                    }
                }
                available.truncate(20);
                let msg = format!(
                    "Error: there is no MCP tool named `{exposed_name}`. Available MCP tools: {}",
                    if available.is_empty() {
                        "none".to_owned()
                    } else {
                        available.join(", ")
                    }
                );
                (ToolStatus::Error, msg.clone(), msg)
            }
            Some((server, tool)) => match self.server(server) {
                None => {
                    let msg = format!("Error: MCP server `{server}` is not running");
                    (ToolStatus::Error, msg.clone(), msg)
                }
                Some(conn) => self.call_on(&scope, conn, tool, args, cancel).await,
            },
        };
        let (text_for_model, truncated) = cap(for_model, self.inner.opts.max_result_chars);
        if truncated {
            self.emit(
                &scope,
                EventMsg::Log {
                    level: Level::Info,
                    category: Category::McpResult,
                    message: format!(
                        "result of `{exposed_name}` truncated to {} characters for the model ({} characters in full)",
                        self.inner.opts.max_result_chars,
                        full.chars().count()
                    ),
                },
            );
        }
        if status != ToolStatus::Ok {
            self.emit(
                &scope,
                EventMsg::Log {
                    level: Level::Warn,
                    category: Category::McpResult,
                    message: format!(
                        "error returned to the model for `{exposed_name}`: {}",
                        text_for_model.chars().take(300).collect::<String>()
                    ),
                },
            );
        }
        let duration = t0.elapsed();
        self.emit(
            &scope,
            EventMsg::ToolCallEnd {
                tool: exposed_name.to_owned(),
                status,
                duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                result: full.clone(),
                truncated,
            },
        );
        ToolOutcome {
            status,
            text_for_model,
            full_text: full,
            truncated,
            duration,
            server: resolved.map(|(s, _)| s),
        }
    }

    async fn call_on(
        &self,
        scope: &EventScope,
        conn: &Arc<ServerConn>,
        tool: &str,
        args: Value,
        cancel: CancellationToken,
    ) -> (ToolStatus, String, String) {
        let server = conn.spec.name.as_str();
        let err = |status: ToolStatus, msg: String| {
            let msg = conn.shared.redactor.apply(&msg);
            (status, msg.clone(), msg)
        };
        let arguments = match args {
            Value::Object(m) => m,
            Value::Null => serde_json::Map::new(),
            other => {
                return err(
                    ToolStatus::Error,
                    format!(
                        "Error: arguments for `{tool}` must be a JSON object, got {}. Call it again with an object matching its schema",
                        match other {
                            Value::Array(_) => "an array",
                            Value::String(_) => "a string",
                            Value::Number(_) => "a number",
                            _ => "a boolean",
                        }
                    ),
                );
            }
        };
        if cancel.is_cancelled() {
            return err(
                ToolStatus::Cancelled,
                format!("Cancelled: the call to `{tool}` was cancelled before it started"),
            );
        }
        // Circuit breaker.
        let (admission, change) = match conn.breaker.lock() {
            Ok(mut b) => b.admit(Instant::now()),
            Err(_) => (Admission::Allowed, None),
        };
        conn.breaker_event(change);
        let probe = matches!(admission, Admission::Probe);
        if let Admission::Rejected { retry_in } = admission {
            return err(
                ToolStatus::Error,
                format!(
                    "Error: MCP server `{server}` is temporarily unavailable after repeated failures (circuit breaker open; next attempt allowed in {} s). Continue without `{tool}` or try again later",
                    retry_in.as_secs().max(1)
                ),
            );
        }
        let abandon = || {
            if probe && let Ok(mut b) = conn.breaker.lock() {
                b.on_abandoned();
            }
        };

        // Connection (restarting a crashed server), then send. A send that fails before the
        // request left is safe to retry once after reconnecting.
        let mut sent = None;
        for attempt in 0..2 {
            let live = match conn.ensure_live(self.inner.opts.max_restarts).await {
                Ok(l) => l,
                Err(e) => {
                    conn.record_failure();
                    return err(ToolStatus::Error, format!("Error: {e}"));
                }
            };
            let params =
                CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.clone());
            let options = PeerRequestOptions::with_timeout(conn.spec.call_timeout)
                .reset_timeout_on_progress()
                .with_max_total_timeout(conn.spec.max_call_timeout);
            match live
                .peer
                .send_request_with_option(
                    ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                    options,
                )
                .await
            {
                Ok(h) => {
                    sent = Some(h);
                    break;
                }
                Err(e) if attempt == 0 => {
                    tracing::debug!(target: "mcp", server, "send failed before the request left ({e}); reconnecting");
                    continue;
                }
                Err(e) => {
                    conn.record_failure();
                    return err(
                        ToolStatus::Error,
                        format!("Error: could not send the call to MCP server `{server}`: {e}"),
                    );
                }
            }
        }
        let Some(handle) = sent else {
            abandon();
            return err(
                ToolStatus::Error,
                format!("Error: could not send the call to MCP server `{server}`"),
            );
        };

        // Route progress notifications to this call.
        let (ptx, mut prx) = mpsc::unbounded_channel();
        let token = handle.progress_token.clone();
        if let Ok(mut routes) = conn.shared.progress_routes.lock() {
            routes.insert(token.clone(), ptx);
        }
        let request_id = handle.id.clone();
        let peer = handle.peer.clone();
        let response = handle.await_response();
        tokio::pin!(response);
        let result = loop {
            tokio::select! {
                biased;
                r = &mut response => break Some(r),
                () = cancel.cancelled() => break None,
                Some(p) = prx.recv() => {
                    self.emit(scope, EventMsg::ToolCallProgress {
                        progress: p.progress,
                        total: p.total,
                        message: p.message.map(|m| conn.shared.redactor.apply(&m)),
                    });
                }
            }
        };
        if let Ok(mut routes) = conn.shared.progress_routes.lock() {
            routes.remove(&token);
        }
        // Flush progress that arrived just before the response.
        while let Ok(p) = prx.try_recv() {
            self.emit(
                scope,
                EventMsg::ToolCallProgress {
                    progress: p.progress,
                    total: p.total,
                    message: p.message.map(|m| conn.shared.redactor.apply(&m)),
                },
            );
        }
        let Some(result) = result else {
            let _ = peer
                .notify_cancelled(CancelledNotificationParam::new(
                    Some(request_id),
                    Some("cancelled by massgen-tui (agent restarted or user cancelled)".to_owned()),
                ))
                .await;
            abandon();
            return err(
                ToolStatus::Cancelled,
                format!("Cancelled: the call to `{tool}` was cancelled before it finished"),
            );
        };
        match result {
            Ok(ServerResult::CallToolResult(r)) => {
                conn.record_success();
                let c = convert(&r);
                for s in &c.summarised {
                    self.emit(
                        scope,
                        EventMsg::Log {
                            level: Level::Debug,
                            category: Category::McpResult,
                            message: format!("summarised for the model: {s}"),
                        },
                    );
                }
                if r.is_error == Some(true) {
                    let body = if c.for_model.trim().is_empty() {
                        "(no details given)".to_owned()
                    } else {
                        c.for_model
                    };
                    (
                        ToolStatus::Error,
                        format!("Error from tool `{tool}`: {body}"),
                        c.full,
                    )
                } else {
                    (ToolStatus::Ok, c.for_model, c.full)
                }
            }
            Ok(other) => {
                conn.record_failure();
                err(
                    ToolStatus::Error,
                    format!(
                        "Error: MCP server `{server}` sent an unexpected reply to tools/call ({})",
                        serde_json::to_string(&other)
                            .unwrap_or_default()
                            .chars()
                            .take(200)
                            .collect::<String>()
                    ),
                )
            }
            Err(ServiceError::McpError(e)) => {
                // A JSON-RPC error: the server is alive and answered.
                conn.record_success();
                let hint = if e.code == ErrorCode::INVALID_PARAMS {
                    ". The arguments do not match the tool's input schema; fix them and call again"
                } else if e.code == ErrorCode::METHOD_NOT_FOUND {
                    ". The server does not know this tool (its tool list may have changed)"
                } else {
                    ""
                };
                err(
                    ToolStatus::Error,
                    format!(
                        "Error: MCP server `{server}` rejected the call to `{tool}`: {} (JSON-RPC error {}){hint}",
                        e.message, e.code.0
                    ),
                )
            }
            Err(ServiceError::Timeout { timeout }) => {
                conn.record_failure();
                err(
                    ToolStatus::TimedOut,
                    format!(
                        "Error: `{tool}` did not finish within {:.0} s and was cancelled. Try a smaller request or another approach",
                        timeout.as_secs_f64()
                    ),
                )
            }
            Err(e) => {
                conn.record_failure();
                let closed = conn.live().is_none_or(|l| l.peer.is_transport_closed());
                if closed {
                    // Restart in the background so the next call finds it up.
                    let c = conn.clone();
                    let max = self.inner.opts.max_restarts;
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let _ = c.ensure_live(max).await;
                    });
                    let tail = conn.shared.stderr_tail();
                    err(
                        ToolStatus::Error,
                        format!(
                            "Error: MCP server `{server}` stopped while running `{tool}` ({e}); the call may or may not have taken effect. The server is being restarted{}",
                            if tail.is_empty() {
                                String::new()
                            } else {
                                format!(". Its last stderr lines:\n{tail}")
                            }
                        ),
                    )
                } else {
                    err(
                        ToolStatus::Error,
                        format!("Error: the call to `{tool}` on MCP server `{server}` failed: {e}"),
                    )
                }
            }
        }
    }

    /// Shut every server down: close the connection (stdin EOF → wait → SIGTERM → SIGKILL
    /// for stdio), then kill whatever is left of each process group. Idempotent.
    pub async fn shutdown(&self) {
        let timeout = self.inner.opts.shutdown_timeout;
        futures::future::join_all(self.inner.servers.iter().map(|s| async move {
            s.shut.store(true, Ordering::SeqCst);
            let running = s.running.lock().await.take();
            if let Some(mut running) = running {
                let _ = running.close_with_timeout(timeout).await;
            }
            if let Some(l) = s.live()
                && let Some(g) = &l.group
            {
                g.kill();
            }
            s.set_live(None);
            s.shared
                .emit(Level::Debug, Category::McpDiscovery, "stopped".to_owned());
        }))
        .await;
    }
}
