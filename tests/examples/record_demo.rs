//! Records `assets/demo.jsonl`, the run `massgen-tui demo` replays.
//!
//! It is a real run of the real binary: three agents against the scripted provider server (no
//! model server can be reached from here, so the replies are scripted, written to read
//! naturally), with the built-in MCP test server doing the arithmetic over stdio. The story has
//! an early, flawed answer, restarts, a tool-checked better answer, a vote that arrives too
//! late and is ignored, and a unanimous vote.
//!
//! Run: `cargo build && cargo run --example record_demo` (uses target/debug/massgen-tui, or the
//! binary given as the first argument). It overwrites assets/demo.jsonl.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/scripted_provider.rs"]
mod scripted_provider;

use scripted_provider::{Chunk, RecordedRequest, Reply, ScriptedProvider};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

const QUESTION: &str = "My trip has two train legs, 2 h 35 min and 1 h 50 min, with a 25 min change in between. If I leave at 09:40, when do I arrive?";

fn words(text: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, w) in text.split_inclusive(' ').enumerate() {
        cur.push_str(w);
        if i % 3 == 2 {
            out.push(Chunk::text(&cur));
            cur.clear();
        }
    }
    if !cur.is_empty() {
        out.push(Chunk::text(&cur));
    }
    out
}

fn reasoning(text: &str) -> Vec<Chunk> {
    text.split_inclusive(' ')
        .collect::<Vec<_>>()
        .chunks(3)
        .map(|c| Chunk::reasoning_content(&c.concat()))
        .collect()
}

/// A `new_answer` call whose arguments stream in small fragments, as real models send them.
fn answer_chunks(content: &str) -> Vec<Chunk> {
    let args = json!({ "content": content }).to_string();
    let mut out = vec![Chunk::tool_call_start(0, Some("call_answer"), "new_answer")];
    let chars: Vec<char> = args.chars().collect();
    for piece in chars.chunks(12) {
        out.push(Chunk::tool_args(0, &piece.iter().collect::<String>()));
    }
    out
}

fn vote_chunks(label: &str, reason: &str) -> Vec<Chunk> {
    vec![Chunk::tool_call(
        0,
        "vote",
        &json!({ "agent_id": label, "reason": reason }).to_string(),
    )]
}

fn answers_seen(r: &RecordedRequest) -> usize {
    r.messages()
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .next_back()
        .map(|u| u.matches("<end of agent").count())
        .unwrap_or(0)
}

fn tool_results(r: &RecordedRequest) -> usize {
    r.messages().iter().filter(|m| m["role"] == "tool").count()
}

fn is(
    model: &'static str,
    answers: usize,
    tools: usize,
) -> impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static {
    move |r: &RecordedRequest| {
        r.model() == Some(model)
            && !r.tools().is_empty()
            && answers_seen(r) == answers
            && tool_results(r) == tools
    }
}

fn main() {
    let bin = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("massgen-tui")
        });
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(ScriptedProvider::start());
    let tick = Duration::from_millis(45);

    // --- bob: quick, and wrong (forgets the change time) ---
    let mut c = reasoning(
        "Two legs: 2:35 and 1:50. Adding them gives 4:25. Start 09:40 plus 4:25 is 14:05.",
    );
    c.extend(words(
        "Adding the two legs: 2 h 35 min + 1 h 50 min = 4 h 25 min. ",
    ));
    c.extend(answer_chunks("You arrive at **14:05**: the two legs take 2 h 35 min + 1 h 50 min = 4 h 25 min, and 09:40 + 4 h 25 min = 14:05."));
    server.push_matching(
        is("demo-bob", 0, 0),
        Reply::stream(c).delay(tick).finish("tool_calls"),
    );

    // --- alice: slow start (restarted by bob's answer), then checks with the MCP tool ---
    let mut c = reasoning(
        "This is a duration sum. I should convert everything to minutes before adding, and not forget the change between the trains.",
    );
    c.extend(words("Let me convert everything to minutes first: 2 h 35 min is 155 min, 1 h 50 min is 110 min, and the change adds 25 min."));
    server.push_matching(
        is("demo-alice", 0, 0),
        Reply::stream(c)
            .delay(Duration::from_millis(150))
            .finish("stop"),
    );
    let call = |a: u32, b: u32| {
        vec![
            Chunk::text("I'll add the durations with the calculator tool. "),
            Chunk::tool_call(
                0,
                "mcp__calc__add_numbers",
                &json!({ "a": a, "b": b }).to_string(),
            ),
        ]
    };
    server.push_matching(
        is("demo-alice", 1, 0),
        Reply::stream(call(155, 110))
            .delay(tick)
            .finish("tool_calls"),
    );
    server.push_matching(
        is("demo-alice", 1, 1),
        Reply::stream(call(265, 25))
            .delay(tick)
            .finish("tool_calls"),
    );
    let mut c = words(
        "The existing answer leaves out the 25 minute change. With it, the total is 290 minutes. ",
    );
    c.extend(answer_chunks("You arrive at **14:30**.\n\n- Leg 1: 2 h 35 min (155 min)\n- Change: 25 min\n- Leg 2: 1 h 50 min (110 min)\n\nTotal 155 + 25 + 110 = 290 min = 4 h 50 min, and 09:40 + 4 h 50 min = 14:30."));
    server.push_matching(
        is("demo-alice", 1, 2),
        Reply::stream(c).delay(tick).finish("tool_calls"),
    );

    // --- carol: thorough; her first vote arrives after alice's answer and is ignored ---
    let mut c = reasoning(
        "Let me restate the problem: departure 09:40, first leg, a change, second leg. I want to be careful with the minutes.",
    );
    c.extend(words(
        "Working through it step by step before I commit to anything.",
    ));
    server.push_matching(
        is("demo-carol", 0, 0),
        Reply::stream(c)
            .delay(Duration::from_millis(160))
            .finish("stop"),
    );
    let mut c = reasoning(
        "One answer so far, 14:05. Adding 2:35 and 1:50 does give 4:25, and 09:40 + 4:25 is 14:05. The arithmetic looks right to me.",
    );
    c.extend(vote_chunks("agent1", "The arithmetic is correct."));
    server.push_matching(
        is("demo-carol", 1, 0),
        Reply::stream(c)
            .delay(Duration::from_millis(110))
            .finish("tool_calls"),
    );

    // bob, relaunched with only his own answer to look at, backs it.
    let mut c = reasoning("Only my answer so far. 2:35 + 1:50 = 4:25, 09:40 + 4:25 = 14:05.");
    c.extend(vote_chunks("agent1", "The sum of the two legs is right."));
    server.push_matching(
        is("demo-bob", 1, 0),
        Reply::stream(c).delay(tick).finish("tool_calls"),
    );

    // --- everyone, once both answers exist: vote for alice (agent1) ---
    let votes = [
        (
            "demo-alice",
            "Checked with the tool: 155 + 25 + 110 = 290 min, so 14:30.",
        ),
        (
            "demo-bob",
            "I forgot the 25 minute change; agent1 includes it and gets 14:30.",
        ),
        (
            "demo-carol",
            "agent1 includes the change time that agent2 missed; 14:30 is right.",
        ),
    ];
    for (m, reason) in votes {
        let mut c = reasoning(
            "Two answers now: 14:30 (with the change) and 14:05 (without it). The change time has to count.",
        );
        c.extend(vote_chunks("agent1", reason));
        server.always_matching(
            move |r: &RecordedRequest| {
                r.model() == Some(m) && !r.tools().is_empty() && answers_seen(r) == 2
            },
            Reply::stream(c).delay(tick).finish("tool_calls"),
        );
    }
    // --- alice presents ---
    let c = words(
        "**You arrive at 14:30.**\n\nAll three of us checked the arithmetic; the first answer (14:05) left out the change between trains.\n\n| Part | Duration |\n|---|---|\n| Leg 1 | 2 h 35 min (155 min) |\n| Change | 25 min |\n| Leg 2 | 1 h 50 min (110 min) |\n| **Total** | **4 h 50 min (290 min)** |\n\n09:40 + 4 h 50 min = **14:30**.",
    );
    server.push_matching(
        |r: &RecordedRequest| {
            r.model() == Some("demo-alice")
                && r.tools()
                    .iter()
                    .all(|t| t["function"]["name"] != "new_answer")
        },
        Reply::stream(c)
            .delay(Duration::from_millis(35))
            .finish("stop"),
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"# The demo run: three agents, MCP arithmetic over stdio.
agents:
  - id: "alice"
    backend:
      type: "chatcompletion"
      model: "demo-alice"
      base_url: "{url}"
      provider_name: "Scripted demo server"
      allowed_tools: ["add_numbers"]
      mcp_servers:
        - name: "calc"
          type: "stdio"
          command: "massgen-tui"
          args: ["mcp", "test-server"]
  - id: "bob"
    backend:
      type: "chatcompletion"
      model: "demo-bob"
      base_url: "{url}"
      provider_name: "Scripted demo server"
  - id: "carol"
    backend:
      type: "chatcompletion"
      model: "demo-carol"
      base_url: "{url}"
      provider_name: "Scripted demo server"
ui:
  display_type: "rich_terminal"
"#,
        url = server.base_url()
    );
    std::fs::write(dir.path().join("demo.yaml"), cfg).unwrap();
    let path_var = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = rt
        .block_on(async {
            tokio::process::Command::new(&bin)
                .current_dir(dir.path())
                .env("PATH", path_var)
                .args(["--config", "demo.yaml", "--headless", QUESTION])
                .output()
                .await
        })
        .unwrap();
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the demo run failed");
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.path().join(".massgen/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let events = runs[0].join("events.jsonl");
    let dest = repo.join("assets/demo.jsonl");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(&events, &dest).unwrap();
    println!(
        "answer:\n{}\nrecorded {} events to {}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&dest).unwrap().lines().count(),
        dest.display()
    );
}
