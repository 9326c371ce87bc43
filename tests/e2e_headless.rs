//! End-to-end tests of the real `massgen-tui` binary in headless mode against the scripted
//! provider server: exit codes, stdout/stderr contract, `--json`, run records, secrets,
//! interactive follow-ups and Ctrl-C.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::{Chunk, RecordedRequest, Reply, ScriptedProvider, run_cli};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const SECRET: &str = "sk-test-DO-NOT-LEAK-4f9a2c";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_massgen-tui")
}

fn answer(text: &str) -> Reply {
    Reply::stream([
        Chunk::text("Let me think. "),
        Chunk::tool_call(0, "new_answer", &json!({ "content": text }).to_string()),
    ])
    .finish("tool_calls")
}

fn vote(label: &str) -> Reply {
    Reply::stream([Chunk::tool_call(
        0,
        "vote",
        &json!({ "agent_id": label, "reason": "best" }).to_string(),
    )])
    .finish("tool_calls")
}

fn no_tools(model: &'static str) -> impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static {
    move |r: &RecordedRequest| r.model() == Some(model) && r.tools().is_empty()
}

/// A temp dir holding a 3-agent config pointing at `server`.
fn workspace(server: &ScriptedProvider, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"agents:
  - id: "alpha"
    backend:
      type: "chatcompletion"
      model: "ma"
      base_url: "{url}"
      api_key: "{SECRET}"
      temperature: 0.2
  - id: "beta"
    backend:
      type: "chatcompletion"
      model: "mb"
      base_url: "{url}"
  - id: "gamma"
    backend:
      type: "chatcompletion"
      model: "mc"
      base_url: "{url}"
{extra}ui:
  display_type: "rich_terminal"
  logging_enabled: true
"#,
        url = server.base_url()
    );
    let path = dir.path().join("three.yaml");
    std::fs::write(&path, cfg).unwrap();
    (dir, path)
}

fn script_converge(server: &ScriptedProvider) {
    server.push_matching(
        no_tools("ma"),
        Reply::text("The capital of France is Paris."),
    );
    server.push_for_model("ma", answer("Paris."));
    server.push_for_model(
        "mb",
        answer("Paris, France.").initial_delay(Duration::from_millis(100)),
    );
    server.push_for_model(
        "mc",
        answer("It is Paris.").initial_delay(Duration::from_millis(200)),
    );
    for m in ["ma", "mb", "mc"] {
        server.always_for_model(m, vote("agent1"));
    }
}

fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    let root = dir.join(".massgen/runs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn all_text_under(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn headless_run_prints_the_answer_and_writes_a_complete_record_without_secrets() {
    let server = ScriptedProvider::start().await;
    script_converge(&server);
    let (dir, cfg) = workspace(&server, "");
    let out = run_cli(
        dir.path(),
        &[],
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--headless",
            "What is the capital of France?",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(
        stdout, "The capital of France is Paris.\n",
        "stdout is the answer alone"
    );
    assert!(stderr.contains("answered (shown as"), "{stderr}");
    assert!(stderr.contains("winner: alpha"), "{stderr}");
    assert!(stderr.contains("coordination done in"), "{stderr}");

    // The key was used on the wire…
    let auth = server.chat_requests()[0..]
        .iter()
        .find(|r| r.model() == Some("ma"))
        .and_then(|r| r.header("authorization").map(str::to_owned))
        .unwrap();
    assert_eq!(auth, format!("Bearer {SECRET}"));
    // …and pass-through params reached the request body.
    let first_a = server
        .chat_requests()
        .into_iter()
        .find(|r| r.model() == Some("ma"))
        .unwrap();
    assert_eq!(first_a.pointer("/temperature"), Some(&json!(0.2)));

    // The run record.
    let runs = run_dirs(dir.path());
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    for f in [
        "events.jsonl",
        "status.json",
        "final_answer.md",
        "config.redacted.yaml",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    for a in ["alpha", "beta", "gamma"] {
        let p = run.join("agents").join(format!("{a}.md"));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("## Answer 1"), "{a}: {text}");
    }
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["outcome"], "completed");
    assert_eq!(status["winner"], "alpha");
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let parsed: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed[0]["msg"]["type"], "run_started");
    assert_eq!(parsed.last().unwrap()["msg"]["type"], "run_finished");
    for (i, e) in parsed.iter().enumerate() {
        assert_eq!(e["seq"], json!(i + 1));
    }
    // Nothing secret in any file of the record, or in the logs.
    let all = all_text_under(&dir.path().join(".massgen"));
    assert!(!all.contains(SECRET), "the API key leaked into .massgen/");
    assert!(!stderr.contains(SECRET) && !stdout.contains(SECRET));
    let cfg_copy = std::fs::read_to_string(run.join("config.redacted.yaml")).unwrap();
    assert!(cfg_copy.contains("***"), "{cfg_copy}");
}

#[tokio::test]
async fn json_mode_streams_every_event_as_one_json_object_per_line() {
    let server = ScriptedProvider::start().await;
    script_converge(&server);
    let (dir, cfg) = workspace(&server, "");
    let out = run_cli(
        dir.path(),
        &[],
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--json",
            "--no-logs",
            "Q?",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    assert!(events.len() > 10);
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["msg"]["type"].as_str().unwrap())
        .collect();
    for t in [
        "run_started",
        "stage_started",
        "agent_launched",
        "text_delta",
        "tool_call_started",
        "tool_args_delta",
        "answer_submitted",
        "vote_cast",
        "winner_selected",
        "final_presentation_delta",
        "final_answer",
        "run_finished",
    ] {
        assert!(types.contains(&t), "missing {t}");
    }
    // --no-logs: no record.
    assert!(run_dirs(dir.path()).is_empty());
}

#[tokio::test]
async fn exit_codes_for_config_errors_failures_and_timeouts() {
    // 1: configuration error, with file, key path and reason.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "agents:\n  - id: a\n    backend:\n      type: warp_drive\n",
    )
    .unwrap();
    let out = run_cli(
        dir.path(),
        &[],
        &["--config", bad.to_str().unwrap(), "--headless", "Q"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agents[0].backend.type"), "{err}");

    // 1 as well: a wire API this build does not speak, refused before any request, naming
    // the file, the key path and what to use instead.
    let gem = dir.path().join("gemini.yaml");
    std::fs::write(
        &gem,
        "agents:\n  - id: g\n    backend:\n      type: gemini\n      model: gemini-2.5-flash\n",
    )
    .unwrap();
    let out = run_cli(
        dir.path(),
        &[("GEMINI_API_KEY", "test-key")],
        &["--config", gem.to_str().unwrap(), "--headless", "Q"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gemini.yaml: agents[0].backend.type")
            && err.contains("OpenAI-compatible endpoint"),
        "{err}"
    );

    // 2: every agent failed.
    let server = ScriptedProvider::start().await;
    for m in ["ma", "mb", "mc"] {
        server.always_for_model(m, Reply::error(400, "model not found"));
    }
    let (dir, cfg) = workspace(&server, "massgen_tui:\n  max_agent_failures: 1\n");
    let out = run_cli(
        dir.path(),
        &[],
        &["--config", cfg.to_str().unwrap(), "--headless", "Q"],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("model not found"), "{err}");
    assert!(out.stdout.is_empty());

    // 3: timeout without any answer.
    let server = ScriptedProvider::start().await;
    for m in ["ma", "mb", "mc"] {
        server.always_for_model(m, Reply::text("hmm").initial_delay(Duration::from_secs(30)));
    }
    let (dir, cfg) = workspace(&server, "");
    let out = run_cli(
        dir.path(),
        &[],
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--headless",
            "--orchestrator-timeout",
            "1",
            "Q",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_cancels_cleanly_exits_4_and_keeps_a_complete_record() {
    let server = ScriptedProvider::start().await;
    server.push_for_model("ma", answer("Early answer."));
    for m in ["ma", "mb", "mc"] {
        server.always_for_model(
            m,
            Reply::text("slow").initial_delay(Duration::from_secs(30)),
        );
    }
    let (dir, cfg) = workspace(&server, "");
    let child = Command::new(bin())
        .current_dir(dir.path())
        .arg("--config")
        .arg(&cfg)
        .args(["--headless", "Q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the early answer is in the record, then interrupt.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done = run_dirs(dir.path()).first().is_some_and(|r| {
            std::fs::read_to_string(r.join("events.jsonl"))
                .is_ok_and(|t| t.contains("answer_submitted"))
        });
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no answer recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let run = &run_dirs(dir.path())[0];
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let last: Value = serde_json::from_str(events.lines().last().unwrap()).unwrap();
    assert_eq!(last["msg"]["type"], "run_finished");
    assert_eq!(last["msg"]["outcome"], "cancelled");
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["outcome"], "cancelled");
    // The answer given before the interrupt is kept.
    let alpha = std::fs::read_to_string(run.join("agents/alpha.md")).unwrap();
    assert!(alpha.contains("Early answer."));
}

#[tokio::test]
async fn interactive_headless_session_carries_history_into_follow_ups() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Four."));
    server.push_matching(no_tools("ma"), Reply::text("Twelve."));
    // For both questions: answer when nothing can be voted for yet, otherwise vote.
    for m in ["ma", "mb", "mc"] {
        server.always_matching(
            move |r: &RecordedRequest| {
                r.model() == Some(m)
                    && r.last_content("user")
                        .is_some_and(|u| u.contains("(no answers available yet)"))
            },
            answer(&format!("{m} has an answer")),
        );
        server.always_for_model(m, vote("agent1"));
    }
    let (dir, cfg) = workspace(&server, "");
    let mut child = Command::new(bin())
        .current_dir(dir.path())
        .arg("--config")
        .arg(&cfg)
        .args(["--headless", "--no-logs"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"What is 2+2?\n/status\nAnd times 3?\n/quit\n")
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "Four.\nTwelve.\n");
    assert!(stderr.contains("History: 1 exchanges"), "{stderr}");
    let follow_up = server
        .chat_requests()
        .into_iter()
        .find(|r| {
            r.last_content("user")
                .is_some_and(|u| u.contains("And times 3?"))
        })
        .unwrap();
    let user = follow_up.last_content("user").unwrap();
    assert!(
        user.starts_with("<CONVERSATION_HISTORY>\nUser: What is 2+2?\nAssistant: Four.\n<END OF CONVERSATION_HISTORY>"),
        "{user}"
    );
}

#[tokio::test]
async fn provider_built_in_tools_are_reported_not_silently_dropped() {
    let server = ScriptedProvider::start().await;
    server.push_matching(
        |r: &RecordedRequest| r.tools().is_empty(),
        Reply::text("Done."),
    );
    server.push_for_model("ma", answer("An answer."));
    server.always_for_model("ma", vote("agent1"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "agents:\n  - id: solo\n    backend:\n      type: chatcompletion\n      model: ma\n      base_url: \"{}\"\n      enable_web_search: true\n",
        server.base_url()
    );
    std::fs::write(dir.path().join("ws.yaml"), cfg).unwrap();
    let out = run_cli(
        dir.path(),
        &[],
        &["--config", "ws.yaml", "--headless", "--no-logs", "Q"],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("agents[0].backend.enable_web_search: provider built-in tools are not sent"),
        "{err}"
    );
    // And nothing fake was offered to the model in its place (MassGen sends a dummy function).
    assert!(
        server
            .chat_requests()
            .iter()
            .all(|r| !r.tool_names().contains(&"web_search".to_owned()))
    );
}
