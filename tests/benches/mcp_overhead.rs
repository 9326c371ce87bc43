//! Per-call overhead of the MCP manager over a bare rmcp call: `mcp_echo` on the built-in
//! test server, over stdio (this bench binary re-executes itself as the server) and over
//! streamable HTTP (served in-process on 127.0.0.1:0). Target: the manager adds < 50 µs at p50.
//!
//! Run: `cargo bench --bench mcp_overhead`. divan prints its table; a percentile report
//! (p50/p99 of bare vs managed calls and their difference) follows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use massgen_tui::mcp::{McpManager, McpOptions, ServerSpec, Transport};
use massgen_tui::protocol::{EventMsg, EventScope, EventSink};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SERVE_ENV: &str = "MASSGEN_MCP_BENCH_SERVE";

struct NullSink;
impl EventSink for NullSink {
    fn emit(&self, _scope: &EventScope, _msg: EventMsg) {}
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    bare_stdio: RunningService<RoleClient, ()>,
    bare_http: RunningService<RoleClient, ()>,
    manager: McpManager,
    _shutdown: CancellationToken,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let exe = std::env::current_exe().unwrap();
        let shutdown = CancellationToken::new();
        let (bare_stdio, bare_http, manager) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/mcp", listener.local_addr().unwrap());
            tokio::spawn(massgen_tui::mcp::serve_test_server_http(
                listener,
                shutdown.clone(),
            ));
            let mut cmd = tokio::process::Command::new(&exe);
            cmd.env(SERVE_ENV, "1");
            let (t, _stderr) = TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let bare_stdio = ().serve(t).await.unwrap();
            let bare_http =
                ().serve(StreamableHttpClientTransport::from_uri(url.as_str()))
                    .await
                    .unwrap();
            let mut stdio = ServerSpec::stdio("st", exe.to_string_lossy(), vec![]);
            if let Transport::Stdio { env, .. } = &mut stdio.transport {
                env.insert(SERVE_ENV.into(), "1".into());
            }
            let http = ServerSpec::http("ht", url);
            let manager = McpManager::start(
                vec![stdio, http],
                &massgen_tui::mcp::process_env,
                Arc::new(NullSink),
                McpOptions::default(),
            )
            .await
            .unwrap();
            assert_eq!(manager.server_names().len(), 2, "both servers must start");
            (bare_stdio, bare_http, manager)
        });
        Fixture {
            rt,
            bare_stdio,
            bare_http,
            manager,
            _shutdown: shutdown,
        }
    })
}

fn echo_params() -> CallToolRequestParams {
    CallToolRequestParams::new("mcp_echo").with_arguments(
        serde_json::json!({"text": "hello"})
            .as_object()
            .cloned()
            .unwrap(),
    )
}

fn bare(service: &RunningService<RoleClient, ()>) {
    let f = fixture();
    let r =
        f.rt.block_on(service.peer().call_tool(echo_params()))
            .unwrap();
    assert!(r.is_error != Some(true));
}

fn managed(tool: &str) {
    let f = fixture();
    let out = f.rt.block_on(f.manager.call(
        &EventScope::run(),
        tool,
        serde_json::json!({"text": "hello"}),
        CancellationToken::new(),
    ));
    assert_eq!(out.text_for_model, "Echo: hello");
}

#[divan::bench(sample_count = 300)]
fn stdio_bare_rmcp() {
    bare(&fixture().bare_stdio);
}

#[divan::bench(sample_count = 300)]
fn stdio_manager() {
    managed("mcp__st__mcp_echo");
}

#[divan::bench(sample_count = 300)]
fn http_bare_rmcp() {
    bare(&fixture().bare_http);
}

#[divan::bench(sample_count = 300)]
fn http_manager() {
    managed("mcp__ht__mcp_echo");
}

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (p(0.50), p(0.99))
}

fn sample(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..50 {
        f();
    }
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn report() {
    let f = fixture();
    let n = 2000;
    for (label, bare_svc, tool) in [
        ("stdio", &f.bare_stdio, "mcp__st__mcp_echo"),
        ("http", &f.bare_http, "mcp__ht__mcp_echo"),
    ] {
        // Interleave to share any drift in machine load.
        let mut b = Vec::with_capacity(n);
        let mut m = Vec::with_capacity(n);
        for _ in 0..4 {
            b.extend(sample(n / 4, || bare(bare_svc)));
            m.extend(sample(n / 4, || managed(tool)));
        }
        let (b50, b99) = percentiles(b);
        let (m50, m99) = percentiles(m);
        println!(
            "{label:5}  bare p50 {:>8.1} µs  p99 {:>8.1} µs | manager p50 {:>8.1} µs  p99 {:>8.1} µs | overhead p50 {:>+7.1} µs  p99 {:>+7.1} µs",
            b50.as_secs_f64() * 1e6,
            b99.as_secs_f64() * 1e6,
            m50.as_secs_f64() * 1e6,
            m99.as_secs_f64() * 1e6,
            (m50.as_secs_f64() - b50.as_secs_f64()) * 1e6,
            (m99.as_secs_f64() - b99.as_secs_f64()) * 1e6,
        );
    }
}

fn main() {
    if std::env::var_os(SERVE_ENV).is_some() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(massgen_tui::mcp::run_test_server(None))
            .unwrap();
        return;
    }
    divan::main();
    println!("\nMCP manager overhead over bare rmcp (mcp_echo, 2000 calls each):");
    report();
    fixture().rt.block_on(fixture().manager.shutdown());
}
