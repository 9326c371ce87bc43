//! The MCP layer against the real test server as a stdio child process: discovery, naming,
//! calls, errors, timeouts, progress, cancellation, crashes and restarts, garbage on the
//! protocol channel, the circuit breaker, list_changed, start-up failures and orphan cleanup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mcp_support;

use massgen_tui::mcp::{
    BreakerConfig, McpManager, McpOptions, McpStartError, SchemaPolicy, ServerSpec, ToolFilter,
    Transport,
};
use massgen_tui::protocol::{
    AgentId, BreakerState, CallId, Category, EventMsg, EventScope, Level, ToolStatus,
};
use mcp_support::*;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn scope(call: &str) -> EventScope {
    EventScope::agent(AgentId::new("agent_a"), 1).with_call(CallId::new(call))
}

async fn call(
    m: &McpManager,
    tool: &str,
    args: serde_json::Value,
) -> massgen_tui::mcp::ToolOutcome {
    within(
        30,
        m.call(&scope("c"), tool, args, CancellationToken::new()),
    )
    .await
}

#[tokio::test]
async fn discovers_all_pages_and_calls_massgen_test_tools() {
    let (m, sink) = start(vec![stdio_spec("test_server")], McpOptions::default()).await;
    let specs = m.tool_specs(&ToolFilter::all(), &SchemaPolicy::standard(), 64);
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    // The server pages 4 tools at a time: more than 4 means pagination was followed.
    assert!(names.len() > 8, "{names:?}");
    for t in [
        "mcp_echo",
        "add_numbers",
        "get_current_time",
        "slow",
        "crash",
    ] {
        assert!(
            names.contains(&format!("mcp__test_server__{t}").as_str()),
            "{t} missing: {names:?}"
        );
    }
    // Stdio does not offer the HTTP-only tools, and late_tool is hidden.
    assert!(!names.contains(&"mcp__test_server__get_events"));
    assert!(!names.contains(&"mcp__test_server__late_tool"));

    let out = call(
        &m,
        "mcp__test_server__mcp_echo",
        serde_json::json!({"text": "Hello massgen"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert_eq!(out.text_for_model, "Echo: Hello massgen");
    let out = call(
        &m,
        "mcp__test_server__add_numbers",
        serde_json::json!({"a": 46, "b": 52}),
    )
    .await;
    assert_eq!(out.text_for_model, "Result: 46 + 52 = 98");
    assert_eq!(out.server.as_deref(), Some("test_server"));

    // Events: connected (discovery), begin/end with the call id and MCP categories.
    let evs = events(&sink);
    assert!(evs.iter().any(|(_, e)| matches!(e, EventMsg::McpServer { category: Category::McpDiscovery, message, .. } if message.starts_with("connected in"))));
    let begin = evs.iter().find(|(_, e)| matches!(e, EventMsg::ToolCallBegin { tool, .. } if tool == "mcp__test_server__add_numbers")).unwrap();
    assert_eq!(begin.0.call_id, Some(CallId::new("c")));
    assert_eq!(begin.0.agent, Some(AgentId::new("agent_a")));
    assert_eq!(begin.1.category(), Category::McpExecution);
    let end = evs
        .iter()
        .rev()
        .find(|(_, e)| matches!(e, EventMsg::ToolCallEnd { .. }))
        .unwrap();
    assert_eq!(end.1.category(), Category::McpResult);
    match &end.1 {
        EventMsg::ToolCallEnd { status, result, .. } => {
            assert_eq!(*status, ToolStatus::Ok);
            assert_eq!(result, "Result: 46 + 52 = 98");
        }
        _ => unreachable!(),
    }
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn tool_errors_become_actionable_error_outcomes() {
    let (m, sink) = start(vec![stdio_spec("t")], McpOptions::default()).await;
    let out = call(
        &m,
        "mcp__t__error_result",
        serde_json::json!({"message": "disk full"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.text_for_model.contains("disk full"),
        "{}",
        out.text_for_model
    );

    let out = call(&m, "mcp__t__protocol_error", serde_json::json!({})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.text_for_model.contains("deliberate protocol error"),
        "{}",
        out.text_for_model
    );

    // Arguments that do not match the schema.
    let out = call(&m, "mcp__t__add_numbers", serde_json::json!({"a": "x"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(!out.text_for_model.is_empty());

    // Arguments that are not an object.
    let out = call(&m, "mcp__t__mcp_echo", serde_json::json!([1, 2])).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(out.text_for_model.contains("must be a JSON object"));

    // Unknown tool: the model is told what exists.
    let out = call(&m, "mcp__t__nope", serde_json::json!({})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.text_for_model.contains("mcp__t__mcp_echo"),
        "{}",
        out.text_for_model
    );

    // Errors are also reported in the result category.
    assert!(events(&sink).iter().any(|(_, e)| matches!(
        e,
        EventMsg::Log {
            category: Category::McpResult,
            level: Level::Warn,
            ..
        }
    )));
    // And none of these tripped the breaker: the server answered each time.
    let out = call(
        &m,
        "mcp__t__mcp_echo",
        serde_json::json!({"text": "still fine"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok);
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn timeouts_are_reported_and_progress_extends_them_up_to_the_cap() {
    let mut spec = stdio_spec("t");
    spec.call_timeout = Duration::from_millis(1000);
    spec.max_call_timeout = Duration::from_millis(3000);
    let (m, sink) = start(vec![spec], McpOptions::default()).await;

    let out = call(&m, "mcp__t__slow", serde_json::json!({"ms": 5000})).await;
    assert_eq!(out.status, ToolStatus::TimedOut);
    assert!(out.duration < Duration::from_secs(4), "{:?}", out.duration);
    assert!(
        out.text_for_model.contains("did not finish"),
        "{}",
        out.text_for_model
    );

    // 8 steps × 250 ms = 2 s > 1 s timeout, but each progress resets it.
    let out = call(
        &m,
        "mcp__t__progress",
        serde_json::json!({"steps": 8, "interval_ms": 250}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    let progress: Vec<f64> = events(&sink)
        .into_iter()
        .filter_map(|(_, e)| match e {
            EventMsg::ToolCallProgress {
                progress, total, ..
            } => {
                assert_eq!(total, Some(8.0));
                Some(progress)
            }
            _ => None,
        })
        .collect();
    assert!(progress.len() >= 7, "{progress:?}");

    // Progress cannot extend past the cap: 20 × 250 ms = 5 s > 3 s cap.
    let out = call(
        &m,
        "mcp__t__progress",
        serde_json::json!({"steps": 20, "interval_ms": 250}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::TimedOut);
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn cancellation_reaches_the_server() {
    let (m, _sink) = start(vec![stdio_spec("t")], McpOptions::default()).await;
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c2.cancel();
    });
    let out = within(
        10,
        m.call(
            &scope("c1"),
            "mcp__t__slow",
            serde_json::json!({"ms": 20000}),
            cancel,
        ),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Cancelled);
    assert!(out.duration < Duration::from_secs(5));
    // The server saw notifications/cancelled (its counter went up).
    let mut seen = false;
    for _ in 0..40 {
        let stats = call(&m, "mcp__t__stats", serde_json::json!({})).await;
        let v: serde_json::Value = serde_json::from_str(&stats.text_for_model).unwrap();
        if v["cancelled"].as_u64() == Some(1) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "server never saw the cancellation");
    // A call whose agent was already cancelled does not start at all.
    let done = CancellationToken::new();
    done.cancel();
    let out = within(
        10,
        m.call(
            &scope("c2"),
            "mcp__t__slow",
            serde_json::json!({"ms": 20000}),
            done,
        ),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Cancelled);
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn huge_results_are_capped_for_the_model_but_kept_whole() {
    let opts = McpOptions {
        max_result_chars: 1000,
        ..McpOptions::default()
    };
    let (m, sink) = start(vec![stdio_spec("t")], opts).await;
    let out = call(
        &m,
        "mcp__t__huge_output",
        serde_json::json!({"bytes": 2_000_000}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert!(out.truncated);
    assert_eq!(out.full_text.len(), 2_000_000);
    assert!(out.text_for_model.len() < 1200);
    assert!(out.text_for_model.contains("truncated"));
    assert!(events(&sink).iter().any(|(_, e)| matches!(
        e,
        EventMsg::ToolCallEnd {
            truncated: true,
            ..
        }
    )));

    let out = call(&m, "mcp__t__image_result", serde_json::json!({})).await;
    assert_eq!(out.status, ToolStatus::Ok);
    assert!(
        out.text_for_model.contains("[image: image/png"),
        "{}",
        out.text_for_model
    );
    assert!(out.full_text.contains("base64,"));
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn a_crashed_server_is_restarted_a_bounded_number_of_times() {
    let opts = McpOptions {
        max_restarts: 2,
        // Keep the breaker out of the way for this test.
        breaker: BreakerConfig {
            failure_threshold: 100,
            ..BreakerConfig::default()
        },
        ..McpOptions::default()
    };
    let (m, sink) = start(vec![stdio_spec("t")], opts).await;
    let pid1 = m.server_pid("t").unwrap();
    let out = call(&m, "mcp__t__crash", serde_json::json!({})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.text_for_model.contains("stopped while running"),
        "{}",
        out.text_for_model
    );
    assert!(
        out.text_for_model.contains("crash: exiting on request"),
        "stderr tail missing: {}",
        out.text_for_model
    );

    // The next call finds it restarted.
    let out = call(&m, "mcp__t__mcp_echo", serde_json::json!({"text": "back"})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    let pid2 = m.server_pid("t").unwrap();
    assert_ne!(pid1, pid2);
    assert!(
        server_messages(&sink, "t")
            .iter()
            .any(|s| s.contains("restart 1 of 2"))
    );
    assert!(events(&sink).iter().any(|(_, e)| matches!(
        e,
        EventMsg::McpServer {
            category: Category::McpHealth,
            ..
        }
    )));

    // Crash twice more: the second restart is the last one.
    call(&m, "mcp__t__crash", serde_json::json!({})).await;
    let out = call(&m, "mcp__t__mcp_echo", serde_json::json!({"text": "again"})).await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    call(&m, "mcp__t__crash", serde_json::json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = call(&m, "mcp__t__mcp_echo", serde_json::json!({"text": "gone"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.text_for_model.contains("will not be restarted again"),
        "{}",
        out.text_for_model
    );
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn garbage_on_the_protocol_channel_does_not_break_the_client() {
    let (m, _sink) = start(vec![stdio_spec("t")], McpOptions::default()).await;
    let out = call(&m, "mcp__t__garbage", serde_json::json!({})).await;
    // Whatever rmcp makes of the garbage lines, the outcome is defined and later calls work
    // (on the same connection or after a restart).
    assert!(
        matches!(out.status, ToolStatus::Ok | ToolStatus::Error),
        "{out:?}"
    );
    let out = call(
        &m,
        "mcp__t__mcp_echo",
        serde_json::json!({"text": "after garbage"}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn circuit_breaker_opens_probes_and_closes() {
    let mut spec = stdio_spec("t");
    spec.call_timeout = Duration::from_millis(200);
    let opts = McpOptions {
        breaker: BreakerConfig {
            failure_threshold: 2,
            cooldown: Duration::from_millis(600),
            max_cooldown: Duration::from_secs(5),
        },
        ..McpOptions::default()
    };
    let (m, sink) = start(vec![spec], opts).await;
    for _ in 0..2 {
        let out = call(&m, "mcp__t__slow", serde_json::json!({"ms": 3000})).await;
        assert_eq!(out.status, ToolStatus::TimedOut);
    }
    // Open: refused at once, without reaching the server.
    let out = call(&m, "mcp__t__mcp_echo", serde_json::json!({"text": "x"})).await;
    assert_eq!(out.status, ToolStatus::Error);
    assert!(
        out.text_for_model.contains("circuit breaker open"),
        "{}",
        out.text_for_model
    );
    assert!(out.duration < Duration::from_millis(500));
    // After the cool-down one probe goes through; it succeeds, so the breaker closes.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let out = call(&m, "mcp__t__mcp_echo", serde_json::json!({"text": "probe"})).await;
    assert_eq!(out.status, ToolStatus::Ok);
    let states: Vec<BreakerState> = events(&sink)
        .into_iter()
        .filter_map(|(_, e)| match e {
            EventMsg::CircuitBreaker { state, .. } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            BreakerState::Open,
            BreakerState::HalfOpen,
            BreakerState::Closed
        ]
    );
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn list_changed_bumps_the_tools_version_and_relists() {
    let (m, sink) = start(vec![stdio_spec("t")], McpOptions::default()).await;
    let v0 = m.tools_version();
    assert!(m.resolve("mcp__t__late_tool").is_none());
    let out = call(&m, "mcp__t__enable_late_tool", serde_json::json!({})).await;
    assert_eq!(out.status, ToolStatus::Ok);
    let mut ok = false;
    for _ in 0..100 {
        if m.tools_version() != v0 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "tools version never changed");
    let specs = m.tool_specs(&ToolFilter::all(), &SchemaPolicy::standard(), 64);
    assert!(specs.iter().any(|s| s.name == "mcp__t__late_tool"));
    let out = call(&m, "mcp__t__late_tool", serde_json::json!({})).await;
    assert_eq!(out.text_for_model, "late tool says hi");
    assert!(
        server_messages(&sink, "t")
            .iter()
            .any(|s| s.contains("tool list changed") && s.contains("late_tool"))
    );
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn filters_follow_massgen_semantics_and_names_fit_the_limit() {
    let mut spec = stdio_spec("a_server_with_a_rather_long_name_indeed");
    spec.exclude_tools = vec!["crash".into()];
    let (m, _sink) = start(vec![spec], McpOptions::default()).await;
    let server = "a_server_with_a_rather_long_name_indeed";
    let filter = ToolFilter {
        allowed_tools: Some(vec![
            "mcp_echo".into(),
            "crash".into(),
            "get_current_time".into(),
        ]),
        exclude_tools: vec!["get_current_time".into()],
    };
    let specs = m.tool_specs(&filter, &SchemaPolicy::standard(), 40);
    // Allowed ∩ not excluded (backend- and server-level): only mcp_echo.
    assert_eq!(specs.len(), 1, "{specs:?}");
    let name = &specs[0].name;
    assert!(
        name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "{name}"
    );
    assert_eq!(
        m.resolve(name),
        Some((server.to_owned(), "mcp_echo".to_owned()))
    );
    let out = call(&m, name, serde_json::json!({"text": "short"})).await;
    assert_eq!(out.text_for_model, "Echo: short");
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn failing_servers_are_reported_with_stderr_and_the_run_goes_on() {
    let boom = ServerSpec::stdio(
        "boom",
        "sh",
        vec![
            "-c".into(),
            "echo 'fatal: missing API key' >&2; exit 1".into(),
        ],
    );
    let mut hang = ServerSpec::stdio("hang", "sleep", vec!["30".into()]);
    hang.startup_timeout = Duration::from_millis(800);
    let garbage = ServerSpec::stdio(
        "garbage",
        "sh",
        vec!["-c".into(), "echo not-json; sleep 30".into()],
    );
    let mut garbage = garbage;
    garbage.startup_timeout = Duration::from_millis(1500);
    let missing = ServerSpec::stdio("missing", "no-such-mcp-server-binary", vec![]);
    let t0 = std::time::Instant::now();
    let (m, sink) = start(
        vec![stdio_spec("good"), boom, hang, garbage, missing],
        McpOptions::default(),
    )
    .await;
    // Concurrent start: bounded by the slowest timeout, not the sum.
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(m.server_names(), vec!["good".to_owned()]);
    let boom_msgs = server_messages(&sink, "boom").join("\n");
    assert!(boom_msgs.contains("fatal: missing API key"), "{boom_msgs}");
    assert!(
        server_messages(&sink, "hang")
            .join("\n")
            .contains("did not start within")
    );
    assert!(
        server_messages(&sink, "missing")
            .join("\n")
            .contains("`no-such-mcp-server-binary` not found")
    );
    let statuses = m.statuses();
    assert_eq!(statuses.len(), 5);
    assert!(statuses.iter().filter(|s| s.error.is_some()).count() == 4);
    let out = call(&m, "mcp__good__mcp_echo", serde_json::json!({"text": "ok"})).await;
    assert_eq!(out.status, ToolStatus::Ok);
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn a_required_server_that_fails_fails_the_start() {
    let mut boom = ServerSpec::stdio("boom", "sh", vec!["-c".into(), "exit 2".into()]);
    boom.required = true;
    let sink = CollectingSink::new();
    let r = within(
        30,
        McpManager::start(
            vec![stdio_spec("good"), boom],
            &massgen_tui::mcp::process_env,
            sink,
            McpOptions::default(),
        ),
    )
    .await;
    match r {
        Err(McpStartError::RequiredServerFailed { server, .. }) => assert_eq!(server, "boom"),
        other => panic!("expected RequiredServerFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn no_orphans_after_shutdown_or_drop() {
    // A server that spawns a grandchild: the whole process group must go.
    let wrapper = ServerSpec::stdio(
        "wrapped",
        "sh",
        vec![
            "-c".into(),
            format!("sleep 300 & exec {}", test_server_command_line()),
        ],
    );
    let (m, _sink) = start(vec![wrapper, stdio_spec("plain")], McpOptions::default()).await;
    let g1 = m.server_pid("wrapped").unwrap();
    let g2 = m.server_pid("plain").unwrap();
    assert!(
        live_group_members(g1).len() >= 2,
        "expected server + sleep in the group"
    );
    within(20, m.shutdown()).await;
    assert_eq!(wait_group_gone(g1, 5).await, Vec::<u32>::new());
    assert_eq!(wait_group_gone(g2, 5).await, Vec::<u32>::new());

    // Dropping the manager without shutdown() also leaves nothing behind.
    let (m, _sink) = start(vec![stdio_spec("dropped")], McpOptions::default()).await;
    let g3 = m.server_pid("dropped").unwrap();
    assert!(!live_group_members(g3).is_empty());
    drop(m);
    assert_eq!(wait_group_gone(g3, 5).await, Vec::<u32>::new());
}

#[tokio::test]
async fn secrets_never_reach_events() {
    // A server that prints its secret to stderr and dies: the failure report carries the
    // stderr tail, with the secret redacted.
    let mut spec = ServerSpec::stdio(
        "leaky",
        "sh",
        vec![
            "-c".into(),
            "echo \"token=$SECRET_TOKEN\" >&2; exit 1".into(),
        ],
    );
    if let Transport::Stdio { env, .. } = &mut spec.transport {
        env.insert("SECRET_TOKEN".into(), "sk-live-abcdef123456".into());
    }
    let (m, sink) = start(vec![spec], McpOptions::default()).await;
    let msgs = server_messages(&sink, "leaky").join("\n");
    assert!(msgs.contains("token=***"), "{msgs}");
    let dump = format!("{:?}{:?}", events(&sink), m.statuses());
    assert!(!dump.contains("sk-live-abcdef123456"));
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn concurrent_calls_run_in_parallel() {
    let (m, _sink) = start(vec![stdio_spec("t")], McpOptions::default()).await;
    let t0 = std::time::Instant::now();
    let calls = (0..5).map(|i| {
        let m = m.clone();
        async move {
            m.call(
                &scope(&format!("p{i}")),
                "mcp__t__slow",
                serde_json::json!({"ms": 600}),
                CancellationToken::new(),
            )
            .await
        }
    });
    let outs = within(20, futures::future::join_all(calls)).await;
    assert!(outs.iter().all(|o| o.status == ToolStatus::Ok));
    assert!(
        t0.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t0.elapsed()
    );
    within(20, m.shutdown()).await;
}

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn server_stderr_goes_to_the_mcp_log_target() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target() == "mcp::server"
            })),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let spec = ServerSpec::stdio(
        "noisy",
        "sh",
        vec![
            "-c".into(),
            format!(
                "echo 'hello from stderr' >&2; exec {}",
                test_server_command_line()
            ),
        ],
    );
    let (m, _sink) = start(vec![spec], McpOptions::default()).await;
    let mut found = String::new();
    for _ in 0..50 {
        found = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        if found.contains("hello from stderr") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(found.contains("hello from stderr"), "{found}");
    assert!(
        found.contains("mcp::server") && found.contains("noisy"),
        "{found}"
    );
    within(20, m.shutdown()).await;
}
