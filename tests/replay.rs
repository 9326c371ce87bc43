//! Replay: recorded runs play back through the same front ends as live runs. Headless replay
//! prints what the live run printed; damaged files replay up to the damage and say where and
//! why they stopped; other format versions are refused; the bundled demo is a complete run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use massgen_tui::protocol::EventMsg;
use serde_json::json;
use std::path::{Path, PathBuf};
use support::{Chunk, RecordedRequest, Reply, ScriptedProvider, run_cli};

async fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    run_cli(dir, &[], args).await
}

/// A live headless run; returns (dir, run dir, stdout, stderr).
async fn live_run() -> (tempfile::TempDir, PathBuf, String, String) {
    let server = ScriptedProvider::start().await;
    server.push_matching(
        |r: &RecordedRequest| r.model() == Some("ma") && r.tools().is_empty(),
        Reply::text("Final: forty-two."),
    );
    for m in ["ma", "mb"] {
        server.always_matching(
            move |r: &RecordedRequest| {
                r.model() == Some(m)
                    && r.last_content("user")
                        .is_some_and(|u| u.contains("(no answers available yet)"))
            },
            Reply::stream([
                Chunk::reasoning_content("Thinking. "),
                Chunk::text("Here goes. "),
                Chunk::tool_call(
                    0,
                    "new_answer",
                    &json!({"content": format!("{m}: 42")}).to_string(),
                ),
            ])
            .finish("tool_calls"),
        );
        server.always_for_model(
            m,
            Reply::stream([Chunk::tool_call(
                0,
                "vote",
                &json!({"agent_id": "agent1", "reason": "right"}).to_string(),
            )])
            .finish("tool_calls"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "agents:\n  - id: a\n    backend: {{type: chatcompletion, model: ma, base_url: \"{u}\"}}\n  - id: b\n    backend: {{type: chatcompletion, model: mb, base_url: \"{u}\"}}\n",
        u = server.base_url()
    );
    std::fs::write(dir.path().join("c.yaml"), cfg).unwrap();
    let out = run(dir.path(), &["--config", "c.yaml", "--headless", "Answer?"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.path().join(".massgen/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let run_dir = runs[0].clone();
    (
        dir,
        run_dir,
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn without_record_line(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with("run record:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn headless_replay_prints_what_the_live_run_printed() {
    let (dir, run_dir, live_out, live_err) = live_run().await;
    let out = run(
        dir.path(),
        &["replay", run_dir.to_str().unwrap(), "--headless"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), live_out);
    assert_eq!(
        without_record_line(&String::from_utf8(out.stderr).unwrap()),
        without_record_line(&live_err)
    );
    // --json replays the recorded events verbatim.
    let out = run(
        dir.path(),
        &[
            "replay",
            run_dir.join("events.jsonl").to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap()
    );
}

#[tokio::test]
async fn a_truncated_file_replays_up_to_the_damage_and_says_where() {
    let (dir, run_dir, _, _) = live_run().await;
    let full = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    let keep = lines.len() / 2;
    let mut cut = lines[..keep].join("\n");
    cut.push('\n');
    cut.push_str(&lines[keep][..lines[keep].len() / 2]);
    let file = dir.path().join("cut.jsonl");
    std::fs::write(&file, cut).unwrap();
    let out = run(dir.path(), &["replay", "cut.jsonl", "--headless"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("line {}", keep + 1)), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert!(
        err.contains("── coordination ──"),
        "what came before is replayed: {err}"
    );

    // Corrupt JSON in the middle.
    let mut bad: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    bad[3] = "{\"seq\": \"not a number\"}".to_owned();
    std::fs::write(dir.path().join("bad.jsonl"), bad.join("\n") + "\n").unwrap();
    let out = run(dir.path(), &["replay", "bad.jsonl", "--headless"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("line 4: not a valid event"), "{err}");
}

#[tokio::test]
async fn other_format_versions_are_refused_clearly() {
    let (dir, run_dir, _, _) = live_run().await;
    let full = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let newer = full.replacen("\"format_version\":1", "\"format_version\":7", 1);
    std::fs::write(dir.path().join("v7.jsonl"), newer).unwrap();
    let out = run(dir.path(), &["replay", "v7.jsonl", "--headless"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("format version 7") && err.contains("upgrade"),
        "{err}"
    );
    let out = run(dir.path(), &["replay", "missing.jsonl", "--headless"]).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn the_bundled_demo_is_a_complete_run_with_mcp_restarts_and_votes() {
    let rec = massgen_tui::replay::parse_recording(
        massgen_tui::app::DEMO_RECORDING,
        Path::new("assets/demo.jsonl"),
    )
    .unwrap();
    assert!(rec.damage.is_none(), "{:?}", rec.damage);
    let has = |f: &dyn Fn(&EventMsg) -> bool| rec.events.iter().any(|e| f(&e.msg));
    assert!(has(
        &|m| matches!(m, EventMsg::RunStarted { agents, .. } if agents.len() >= 3)
    ));
    assert!(has(
        &|m| matches!(m, EventMsg::ToolCallEnd { tool, .. } if tool.starts_with("mcp__"))
    ));
    assert!(has(&|m| matches!(m, EventMsg::AgentRestarted { .. })));
    assert!(has(&|m| matches!(m, EventMsg::VoteCast { .. })));
    assert!(has(&|m| matches!(
        m,
        EventMsg::FinalAnswer {
            presented: true,
            ..
        }
    )));
    assert!(has(&|m| matches!(
        m,
        EventMsg::RunFinished {
            outcome: massgen_tui::protocol::RunOutcome::Completed,
            ..
        }
    )));
    // And the binary replays it headless with the final answer on stdout.
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo", "--headless"]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("14:30"));
}
