//! The built-in MCP test server (`massgen-tui mcp test-server [--http PORT]`).
//!
//! Responsibilities: MassGen's test tools (`mcp_echo`, `add_numbers`, `get_current_time`;
//! over HTTP also `get_events`, `get_birthdays`, `random_data`, `server_status`) plus tools
//! for faults (`slow`, `crash`, `huge_output`, `error_result`, `progress`, `garbage`, …) so MCP
//! can be tried and tested without any external server. Tool lists are paginated (4 per page)
//! to exercise client pagination.
//! Non-responsibilities: anything the client does. In stdio mode stdout is the protocol
//! channel: this module writes diagnostics to stderr only.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_router};
use serde::Deserialize;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Tools per `tools/list` page.
const PAGE_SIZE: usize = 4;
/// Tools offered only over HTTP (MassGen's `test_http_mcp_server.py`).
const HTTP_ONLY: &[&str] = &[
    "get_events",
    "get_birthdays",
    "random_data",
    "server_status",
];
/// Tools offered only over stdio (they would take an in-process HTTP server down).
const STDIO_ONLY: &[&str] = &["crash", "garbage"];
/// Hidden until `enable_late_tool` is called.
const LATE_TOOL: &str = "late_tool";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// Text to echo back.
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// First number.
    a: f64,
    /// Second number.
    b: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct DayArgs {
    /// Day of the week, e.g. "wednesday".
    day: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CountArgs {
    /// How many items (default 3).
    #[serde(default = "default_count")]
    count: u32,
}

fn default_count() -> u32 {
    3
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SlowArgs {
    /// Milliseconds to sleep before answering.
    ms: u64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CrashArgs {
    /// Exit code (default 3).
    #[serde(default)]
    code: Option<i32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct HugeArgs {
    /// Size of the result in bytes.
    bytes: usize,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ErrorArgs {
    /// The error message.
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ProgressArgs {
    /// Number of progress notifications.
    steps: u32,
    /// Milliseconds between them.
    interval_ms: u64,
}

/// Counters shared by every session of one server process.
#[derive(Debug, Default)]
struct Stats {
    calls: AtomicU64,
    cancelled: AtomicU64,
    late_enabled: AtomicBool,
}

/// The test server. `http` selects the HTTP tool set.
#[derive(Clone)]
pub struct TestServer {
    http: bool,
    stats: Arc<Stats>,
    tool_router: ToolRouter<TestServer>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("http", &self.http)
            .finish()
    }
}

fn text(s: impl Into<String>) -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(s)]))
}

/// Python-like number formatting: integral values without a fraction.
fn py_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn string_root_schema() -> Arc<JsonObject> {
    let mut m = JsonObject::new();
    m.insert("type".into(), serde_json::Value::String("string".into()));
    Arc::new(m)
}

fn fancy_schema() -> Arc<JsonObject> {
    match serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "when": {"type": "string", "format": "date-time", "description": "A timestamp"},
            "options": {"type": "object"},
            "format": {"type": "string", "description": "A property named like a keyword"}
        },
        "required": ["when"]
    }) {
        serde_json::Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

#[tool_router]
impl TestServer {
    #[tool(description = "Echo back the input text")]
    async fn mcp_echo(
        &self,
        Parameters(a): Parameters<EchoArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        text(format!("Echo: {}", a.text))
    }

    #[tool(description = "Add two numbers together")]
    async fn add_numbers(
        &self,
        Parameters(a): Parameters<AddArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        text(format!(
            "Result: {} + {} = {}",
            py_num(a.a),
            py_num(a.b),
            py_num(a.a + a.b)
        ))
    }

    #[tool(description = "Get the current timestamp")]
    async fn get_current_time(&self) -> Result<CallToolResult, ErrorData> {
        text(format!(
            "Current time: {}",
            chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.6f")
        ))
    }

    #[tool(
        description = "Retrieves calendar events for a specific day (e.g. \"wednesday\", \"friday\")"
    )]
    async fn get_events(
        &self,
        Parameters(a): Parameters<DayArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let day = a.day.to_lowercase();
        text(match day.as_str() {
            "wednesday" => "Team meeting at 10 AM".to_owned(),
            "friday" => "Previews at 10 AM, Deploy at 4 PM".to_owned(),
            _ => format!("No events for {day}"),
        })
    }

    #[tool(description = "Retrieves a list of upcoming birthdays for the current week")]
    async fn get_birthdays(&self) -> Result<CallToolResult, ErrorData> {
        text("Mom's birthday tomorrow, Sis's birthday Friday")
    }

    #[tool(description = "Generates a specified number of random test data items")]
    async fn random_data(
        &self,
        Parameters(a): Parameters<CountArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let lines: Vec<String> = (1..=a.count.min(10_000))
            .map(|i| format!("Item {i}: {}", fastrand::u32(1..=100)))
            .collect();
        text(lines.join("\n"))
    }

    #[tool(description = "Performs a server health check and returns the current status and time")]
    async fn server_status(&self) -> Result<CallToolResult, ErrorData> {
        text(format!(
            "✅ Healthy - {}",
            chrono::Local::now().format("%H:%M:%S")
        ))
    }

    #[tool(
        description = "Fault injection: sleep for `ms` milliseconds, then answer. Honours cancellation"
    )]
    async fn slow(
        &self,
        Parameters(a): Parameters<SlowArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(a.ms)) => text(format!("slept {} ms", a.ms)),
            () = ctx.ct.cancelled() => {
                self.stats.cancelled.fetch_add(1, Ordering::SeqCst);
                eprintln!("slow: cancelled by the client");
                text("cancelled")
            }
        }
    }

    #[tool(description = "Fault injection: exit the server process immediately (stdio only)")]
    async fn crash(
        &self,
        Parameters(a): Parameters<CrashArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        eprintln!("crash: exiting on request");
        std::process::exit(a.code.unwrap_or(3));
    }

    #[tool(description = "Fault injection: return a text result of `bytes` bytes")]
    async fn huge_output(
        &self,
        Parameters(a): Parameters<HugeArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let bytes = a.bytes.min(64 * 1024 * 1024);
        let mut s = String::with_capacity(bytes);
        let mut i = 0u64;
        while s.len() < bytes {
            s.push_str(&format!(
                "line {i}: the quick brown fox jumps over the lazy dog\n"
            ));
            i += 1;
        }
        s.truncate(bytes);
        text(s)
    }

    #[tool(description = "Fault injection: return a tool error (isError: true)")]
    async fn error_result(
        &self,
        Parameters(a): Parameters<ErrorArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::error(vec![ContentBlock::text(
            a.message
                .unwrap_or_else(|| "something went wrong on purpose".to_owned()),
        )]))
    }

    #[tool(
        description = "Fault injection: answer with a JSON-RPC protocol error instead of a result"
    )]
    async fn protocol_error(&self) -> Result<CallToolResult, ErrorData> {
        Err(ErrorData::internal_error("deliberate protocol error", None))
    }

    #[tool(
        description = "Send `steps` progress notifications, `interval_ms` apart, then answer. Honours cancellation"
    )]
    async fn progress(
        &self,
        Parameters(a): Parameters<ProgressArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let token = ctx.meta.get_progress_token();
        for i in 1..=a.steps {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(a.interval_ms)) => {}
                () = ctx.ct.cancelled() => {
                    self.stats.cancelled.fetch_add(1, Ordering::SeqCst);
                    return text("cancelled");
                }
            }
            if let Some(t) = &token {
                let _ = ctx
                    .peer
                    .notify_progress(
                        ProgressNotificationParam::new(t.clone(), f64::from(i))
                            .with_total(f64::from(a.steps))
                            .with_message(format!("step {i}/{}", a.steps)),
                    )
                    .await;
            }
        }
        text(format!("done after {} steps", a.steps))
    }

    #[tool(
        description = "Fault injection: write non-JSON lines to the protocol channel (stdout), then answer (stdio only)"
    )]
    async fn garbage(&self) -> Result<CallToolResult, ErrorData> {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"this is not JSON-RPC {{{\n\x00\x01 garbage\n");
        let _ = out.flush();
        drop(out);
        text("wrote garbage to stdout")
    }

    #[tool(description = "Return a small PNG image")]
    async fn image_result(&self) -> Result<CallToolResult, ErrorData> {
        const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        Ok(CallToolResult::success(vec![
            ContentBlock::text("a 1x1 pixel"),
            ContentBlock::image(PNG_1X1, "image/png"),
        ]))
    }

    #[tool(description = "A tool whose input schema uses keywords some providers reject", input_schema = fancy_schema())]
    async fn fancy_schema(&self) -> Result<CallToolResult, ErrorData> {
        text("ok")
    }

    #[tool(description = "A tool whose input schema is not an object (no provider can accept it)", input_schema = string_root_schema())]
    async fn bad_schema(&self) -> Result<CallToolResult, ErrorData> {
        text("unreachable for well-behaved clients")
    }

    #[tool(description = "Make `late_tool` appear and send notifications/tools/list_changed")]
    async fn enable_late_tool(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.stats.late_enabled.store(true, Ordering::SeqCst);
        let _ = ctx.peer.notify_tool_list_changed().await;
        text("late_tool enabled")
    }

    #[tool(description = "Appears only after enable_late_tool")]
    async fn late_tool(&self) -> Result<CallToolResult, ErrorData> {
        text("late tool says hi")
    }

    #[tool(description = "Counters of this server process as JSON: calls, cancelled")]
    async fn stats(&self) -> Result<CallToolResult, ErrorData> {
        text(
            serde_json::json!({
                "calls": self.stats.calls.load(Ordering::SeqCst),
                "cancelled": self.stats.cancelled.load(Ordering::SeqCst),
            })
            .to_string(),
        )
    }
}

impl TestServer {
    /// A server offering the stdio (`http == false`) or HTTP tool set.
    pub fn new(http: bool) -> Self {
        Self::with_stats(http, Arc::new(Stats::default()))
    }

    fn with_stats(http: bool, stats: Arc<Stats>) -> Self {
        let mut tool_router = Self::tool_router();
        let drop_list = if http { STDIO_ONLY } else { HTTP_ONLY };
        for name in drop_list {
            tool_router.remove_route(name);
        }
        Self {
            http,
            stats,
            tool_router,
        }
    }

    fn visible_tools(&self) -> Vec<rmcp::model::Tool> {
        let late = self.stats.late_enabled.load(Ordering::SeqCst);
        self.tool_router
            .list_all()
            .into_iter()
            .filter(|t| late || t.name != LATE_TOOL)
            .collect()
    }
}

impl ServerHandler for TestServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.stats.calls.fetch_add(1, Ordering::SeqCst);
        if request.name == LATE_TOOL && !self.stats.late_enabled.load(Ordering::SeqCst) {
            return Err(ErrorData::invalid_params("tool not found: late_tool", None));
        }
        let tcc = ToolCallContext::new(self, request, context);
        self.tool_router.call(tcc).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let all = self.visible_tools();
        let start = match request.and_then(|r| r.cursor) {
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| ErrorData::invalid_params("invalid cursor", None))?,
            None => 0,
        };
        let end = (start + PAGE_SIZE).min(all.len());
        let tools = all.get(start..end).map(<[_]>::to_vec).unwrap_or_default();
        Ok(ListToolsResult {
            result_type: Some(rmcp::model::ResultType::COMPLETE),
            tools,
            meta: None,
            next_cursor: (end < all.len()).then(|| end.to_string()),
            ttl_ms: None,
            cache_scope: None,
        })
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.tool_router.get(name).cloned()
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(
            if self.http {
                "massgen-tui-test-server-http"
            } else {
                "massgen-tui-test-server"
            },
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(
            "massgen-tui's MCP test server: MassGen's test tools plus fault-injection tools",
        )
    }
}

/// Serve the HTTP tool set on `listener` at `/mcp` until `shutdown` is cancelled.
pub async fn serve_test_server_http(
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    let stats = Arc::new(Stats::default());
    let service = StreamableHttpService::new(
        move || Ok(TestServer::with_stats(true, stats.clone())),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default().with_cancellation_token(shutdown.child_token()),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}

/// Run the test server: over stdio when `http_port` is `None`, otherwise streamable HTTP on
/// `127.0.0.1:PORT/mcp` until Ctrl-C. Diagnostics go to stderr only.
pub async fn run_test_server(http_port: Option<u16>) -> anyhow::Result<()> {
    match http_port {
        None => {
            eprintln!("massgen-tui MCP test server: serving over stdio");
            let service = TestServer::new(false)
                .serve(rmcp::transport::stdio())
                .await
                .map_err(|e| anyhow::anyhow!("MCP initialize failed: {e}"))?;
            service.waiting().await?;
            Ok(())
        }
        Some(port) => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
            let addr = listener.local_addr()?;
            eprintln!("massgen-tui MCP test server: serving at http://{addr}/mcp (Ctrl-C to stop)");
            let shutdown = CancellationToken::new();
            let s = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                s.cancel();
            });
            serve_test_server_http(listener, shutdown).await
        }
    }
}
