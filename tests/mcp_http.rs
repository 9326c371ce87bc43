//! The MCP layer over streamable HTTP against the test server served in-process: MassGen's
//! HTTP test tools, headers and bearer tokens, progress, timeouts, schema normalisation per
//! provider policy, and a server that goes away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mcp_support;

use massgen_tui::mcp::{
    McpOptions, SchemaPolicy, ServerSpec, TestServer, ToolFilter, Transport, validate,
};
use massgen_tui::protocol::{EventMsg, EventScope, Level, ToolStatus};
use mcp_support::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn serve() -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let ct = CancellationToken::new();
    tokio::spawn(massgen_tui::mcp::serve_test_server_http(
        listener,
        ct.clone(),
    ));
    (url, ct)
}

async fn call(
    m: &massgen_tui::mcp::McpManager,
    tool: &str,
    args: serde_json::Value,
) -> massgen_tui::mcp::ToolOutcome {
    within(
        30,
        m.call(&EventScope::run(), tool, args, CancellationToken::new()),
    )
    .await
}

#[tokio::test]
async fn massgen_http_test_tools_work_over_streamable_http() {
    let (url, ct) = serve().await;
    let (m, _sink) = start(
        vec![ServerSpec::http("streamable_http_server", url)],
        McpOptions::default(),
    )
    .await;
    let names: Vec<String> = m
        .tool_specs(&ToolFilter::all(), &SchemaPolicy::standard(), 64)
        .into_iter()
        .map(|s| s.name)
        .collect();
    for t in [
        "get_events",
        "get_birthdays",
        "random_data",
        "server_status",
        "mcp_echo",
    ] {
        assert!(
            names.contains(&format!("mcp__streamable_http_server__{t}")),
            "{t}: {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.ends_with("__crash")));
    let p = "mcp__streamable_http_server__";
    let out = call(
        &m,
        &format!("{p}get_events"),
        serde_json::json!({"day": "Wednesday"}),
    )
    .await;
    assert_eq!(out.text_for_model, "Team meeting at 10 AM");
    let out = call(
        &m,
        &format!("{p}get_events"),
        serde_json::json!({"day": "friday"}),
    )
    .await;
    assert_eq!(out.text_for_model, "Previews at 10 AM, Deploy at 4 PM");
    let out = call(&m, &format!("{p}get_birthdays"), serde_json::json!({})).await;
    assert_eq!(
        out.text_for_model,
        "Mom's birthday tomorrow, Sis's birthday Friday"
    );
    let out = call(
        &m,
        &format!("{p}random_data"),
        serde_json::json!({"count": 2}),
    )
    .await;
    assert_eq!(out.text_for_model.lines().count(), 2);
    assert!(out.text_for_model.starts_with("Item 1: "));
    let out = call(&m, &format!("{p}server_status"), serde_json::json!({})).await;
    assert!(out.text_for_model.starts_with("✅ Healthy - "));
    within(20, m.shutdown()).await;
    ct.cancel();
}

#[tokio::test]
async fn progress_and_timeouts_over_http() {
    let (url, ct) = serve().await;
    let mut spec = ServerSpec::http("h", url);
    spec.call_timeout = Duration::from_millis(1000);
    let (m, sink) = start(vec![spec], McpOptions::default()).await;
    let out = call(
        &m,
        "mcp__h__progress",
        serde_json::json!({"steps": 6, "interval_ms": 250}),
    )
    .await;
    assert_eq!(out.status, ToolStatus::Ok, "{}", out.text_for_model);
    let n = events(&sink)
        .iter()
        .filter(|(_, e)| matches!(e, EventMsg::ToolCallProgress { .. }))
        .count();
    assert!(n >= 5, "{n} progress events");
    let out = call(&m, "mcp__h__slow", serde_json::json!({"ms": 5000})).await;
    assert_eq!(out.status, ToolStatus::TimedOut);
    within(20, m.shutdown()).await;
    ct.cancel();
}

#[tokio::test]
async fn headers_and_bearer_token_are_sent_and_never_logged() {
    // A test server behind a layer that records the request headers.
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen2 = seen.clone();
    let service = StreamableHttpService::new(
        || Ok(TestServer::new(true)),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router =
        axum::Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let seen = seen2.clone();
                    async move {
                        for (k, v) in req.headers() {
                            seen.lock()
                                .unwrap()
                                .push((k.to_string(), v.to_str().unwrap_or("").to_owned()));
                        }
                        next.run(req).await
                    }
                },
            ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut spec = ServerSpec::http("auth", url);
    if let Transport::StreamableHttp {
        headers,
        bearer_token_env,
        ..
    } = &mut spec.transport
    {
        headers.insert("X-Api-Key".into(), "${MCP_TEST_API_KEY}".into());
        *bearer_token_env = Some("MCP_TEST_BEARER".into());
    }
    // Unset variables are named before anything starts.
    let none = |_: &str| None::<String>;
    let err = validate(&spec, &none).unwrap_err().to_string();
    assert!(err.contains("MCP_TEST_API_KEY"), "{err}");

    let env = |k: &str| match k {
        "MCP_TEST_API_KEY" => Some("key-0123456789".to_owned()),
        "MCP_TEST_BEARER" => Some("tok-abcdefghij".to_owned()),
        other => std::env::var(other).ok(),
    };
    let sink = CollectingSink::new();
    let m = within(
        30,
        massgen_tui::mcp::McpManager::start(vec![spec], &env, sink.clone(), McpOptions::default()),
    )
    .await
    .unwrap();
    let out = call(&m, "mcp__auth__mcp_echo", serde_json::json!({"text": "hi"})).await;
    assert_eq!(out.text_for_model, "Echo: hi");
    let headers = seen.lock().unwrap().clone();
    assert!(headers.contains(&("x-api-key".into(), "key-0123456789".into())));
    assert!(headers.contains(&("authorization".into(), "Bearer tok-abcdefghij".into())));
    let dump = format!("{:?}", sink.events());
    assert!(!dump.contains("key-0123456789") && !dump.contains("tok-abcdefghij"));
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn schemas_are_normalised_per_policy_and_bad_ones_reported_once() {
    let (url, ct) = serve().await;
    let (m, sink) = start(vec![ServerSpec::http("s", url)], McpOptions::default()).await;
    let policy = SchemaPolicy::restrictive();
    let specs = m.tool_specs(&ToolFilter::all(), &policy, 64);
    let _again = m.tool_specs(&ToolFilter::all(), &policy, 64);
    let fancy = specs
        .iter()
        .find(|s| s.name == "mcp__s__fancy_schema")
        .unwrap();
    let text = fancy.parameters.to_string();
    for banned in ["$schema", "additionalProperties", "date-time"] {
        assert!(!text.contains(banned), "{banned} left in {text}");
    }
    assert_eq!(
        fancy.parameters["properties"]["options"]["properties"],
        serde_json::json!({})
    );
    // The property *named* `format` survives.
    assert!(fancy.parameters["properties"].get("format").is_some());
    // Schemas generated by schemars for the other tools are acceptable too.
    assert!(specs.iter().any(|s| s.name == "mcp__s__add_numbers"));
    // The non-object schema is left out and reported once, by name.
    assert!(!specs.iter().any(|s| s.name == "mcp__s__bad_schema"));
    let reports: Vec<String> = server_messages(&sink, "s")
        .into_iter()
        .filter(|m| m.contains("bad_schema"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("left out"));
    // The standard policy keeps fancy_schema's keywords.
    let std_specs = m.tool_specs(&ToolFilter::all(), &SchemaPolicy::standard(), 64);
    let fancy = std_specs
        .iter()
        .find(|s| s.name == "mcp__s__fancy_schema")
        .unwrap();
    assert!(
        fancy
            .parameters
            .to_string()
            .contains("additionalProperties")
    );
    assert!(events(&sink).iter().any(|(_, e)| matches!(
        e,
        EventMsg::McpServer {
            level: Level::Warn,
            ..
        }
    )));
    within(20, m.shutdown()).await;
    ct.cancel();
}

#[tokio::test]
async fn a_vanished_http_server_gives_error_outcomes_not_hangs() {
    let (url, ct) = serve().await;
    let mut spec = ServerSpec::http("gone", url);
    spec.call_timeout = Duration::from_secs(3);
    spec.startup_timeout = Duration::from_secs(3);
    let (m, sink) = start(vec![spec], McpOptions::default()).await;
    assert_eq!(
        call(&m, "mcp__gone__mcp_echo", serde_json::json!({"text": "a"}))
            .await
            .status,
        ToolStatus::Ok
    );
    ct.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = call(&m, "mcp__gone__mcp_echo", serde_json::json!({"text": "b"})).await;
    assert_ne!(out.status, ToolStatus::Ok);
    assert!(
        out.text_for_model.starts_with("Error"),
        "{}",
        out.text_for_model
    );
    // Nothing panicked; a health or result event explains what happened.
    assert!(!server_messages(&sink, "gone").is_empty());
    within(20, m.shutdown()).await;
}

#[tokio::test]
async fn an_http_server_that_comes_back_is_reconnected() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ct = CancellationToken::new();
    let server = tokio::spawn(massgen_tui::mcp::serve_test_server_http(
        listener,
        ct.clone(),
    ));
    let mut spec = ServerSpec::http("flaky", format!("http://{addr}/mcp"));
    spec.call_timeout = Duration::from_secs(3);
    spec.startup_timeout = Duration::from_secs(3);
    let (m, sink) = start(vec![spec], McpOptions::default()).await;
    let echo = |t: &'static str| {
        let m = m.clone();
        async move { call(&m, "mcp__flaky__mcp_echo", serde_json::json!({"text": t})).await }
    };
    assert_eq!(echo("one").await.status, ToolStatus::Ok);
    // The server restarts on the same port (its sessions are gone).
    ct.cancel();
    let _ = within(10, server).await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let ct2 = CancellationToken::new();
    tokio::spawn(massgen_tui::mcp::serve_test_server_http(
        listener,
        ct2.clone(),
    ));
    let mut ok = false;
    for _ in 0..3 {
        if echo("two").await.status == ToolStatus::Ok {
            ok = true;
            break;
        }
    }
    assert!(
        ok,
        "never reconnected: {:?}",
        server_messages(&sink, "flaky")
    );
    within(20, m.shutdown()).await;
    ct2.cancel();
}
