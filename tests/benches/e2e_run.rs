//! Benchmark: the whole process, question to exit. Three agents against a zero-delay scripted
//! provider (each answers, then votes; the winner presents), headless, no logs. Measures the
//! child's CPU time (user + system) and peak RSS with `getrusage(RUSAGE_CHILDREN)` deltas.
//!
//! Targets (issue 4): under 50 ms CPU time and under 30 MB peak RSS per run.
//! Run: `cargo bench --bench e2e_run` (uses the release binary that cargo builds for benches).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/scripted_provider.rs"]
mod scripted_provider;

use scripted_provider::{Chunk, RecordedRequest, Reply, ScriptedProvider};
use serde_json::json;
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn answer(text: &str) -> Reply {
    Reply::stream([
        Chunk::text("Thinking about it. "),
        Chunk::tool_call(0, "new_answer", &json!({ "content": text }).to_string()),
    ])
    .finish("tool_calls")
    .usage(120, 30)
}

fn vote() -> Reply {
    Reply::stream([Chunk::tool_call(
        0,
        "vote",
        &json!({ "agent_id": "agent1", "reason": "complete" }).to_string(),
    )])
    .finish("tool_calls")
    .usage(200, 10)
}

#[cfg(unix)]
fn children_usage() -> (Duration, i64) {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    (tv(u.user_time()) + tv(u.system_time()), u.max_rss())
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(ScriptedProvider::start());
    for m in ["ma", "mb", "mc"] {
        server.always_matching(
            move |r: &RecordedRequest| r.model() == Some(m) && r.tools().is_empty(),
            Reply::text("Final answer: 42.").usage(400, 5),
        );
        server.always_matching(
            move |r: &RecordedRequest| {
                r.model() == Some(m)
                    && r.last_content("user")
                        .is_some_and(|u| u.contains("(no answers available yet)"))
            },
            answer(&format!("{m}: the answer is 42")),
        );
        server.always_for_model(m, vote());
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "agents:\n{}",
        ["ma", "mb", "mc"]
            .iter()
            .enumerate()
            .map(|(i, m)| format!(
                "  - id: agent_{i}\n    backend:\n      type: chatcompletion\n      model: {m}\n      base_url: {}\n",
                server.base_url()
            ))
            .collect::<String>()
    );
    let path = dir.path().join("bench.yaml");
    std::fs::write(&path, cfg).unwrap();
    let bin = env!("CARGO_BIN_EXE_massgen-tui");

    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    let mut peak_rss_kb = 0i64;
    for _ in 0..RUNS {
        let (cpu0, _) = children_usage();
        let t0 = Instant::now();
        let out = rt.block_on(async {
            tokio::process::Command::new(bin)
                .current_dir(dir.path())
                .arg("--config")
                .arg(&path)
                .args(["--headless", "--no-logs", "What is six times seven?"])
                .output()
                .await
        });
        let out = out.unwrap();
        wall.push(t0.elapsed());
        assert!(
            out.status.success(),
            "run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Final answer: 42.\n");
        let (cpu1, rss) = children_usage();
        cpu.push(cpu1 - cpu0);
        peak_rss_kb = peak_rss_kb.max(rss);
    }
    cpu.sort();
    wall.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = cpu[RUNS / 2];
    let max = cpu[RUNS - 1];
    let rss_mb = peak_rss_kb as f64 / 1024.0;
    println!("e2e_run: 3 agents, zero-delay scripted provider, {RUNS} runs of the real binary");
    println!(
        "  CPU time (user+sys) per run: p50 {:.1} ms, max {:.1} ms   (target < 50 ms)  {}",
        ms(p50),
        ms(max),
        if ms(p50) < 50.0 { "OK" } else { "MISSED" }
    );
    println!(
        "  peak RSS: {rss_mb:.1} MB   (target < 30 MB)  {}",
        if rss_mb < 30.0 { "OK" } else { "MISSED" }
    );
    println!(
        "  wall time per run: p50 {:.1} ms, max {:.1} ms",
        ms(wall[RUNS / 2]),
        ms(wall[RUNS - 1])
    );
    println!(
        "  requests served: {} ({} per run)",
        server.request_count(),
        server.request_count() / RUNS
    );
}
