//! The real binary: `validate` on the MassGen corpus, our configs and broken files; `--help`;
//! `--dry-run` and key checks before any request (config errors exit 1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/massgen-configs/v0.0.18"
);
const CONFIGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/configs");

fn bin() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("massgen-tui"));
    c.env_remove("OPENAI_API_KEY");
    c
}

fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    v.sort();
    v
}

#[test]
fn validate_prints_one_line_per_corpus_file() {
    let files = yaml_files(CORPUS);
    assert_eq!(files.len(), 61);
    let out = bin()
        .arg("validate")
        .arg("--quiet")
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "11 files are refused, so the exit code is 1"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 61, "{stdout}");
    for (line, file) in lines.iter().zip(&files) {
        assert!(line.starts_with(&format!("{}: ", file.display())), "{line}");
    }
    assert_eq!(lines.iter().filter(|l| l.contains(": ok: ")).count(), 50);
    let refused: Vec<_> = lines.iter().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(refused.len(), 11);
    for l in refused {
        assert!(
            l.contains("backend.type: backend type `claude_code` is not supported"),
            "{l}"
        );
        assert!(l.contains("fix: use `type: claude`"), "{l}");
    }
    assert!(String::from_utf8(out.stderr).unwrap().contains("11 of 61"));
    // The summary names agents, backend/provider/model and MCP servers.
    assert!(stdout.contains(
        "three_agents_opensource.yaml: ok: 3 agents [gpt-oss-1: chatcompletion/Cerebras/gpt-oss-120b, qwen: chatcompletion/Nebius AI Studio/Qwen/Qwen3-4B-fast, gpt-oss-2: chatcompletion/Fireworks AI/accounts/fireworks/models/gpt-oss-20b]; 0 MCP servers; 0 warnings"
    ), "{stdout}");
}

#[test]
fn validate_accepts_a_directory() {
    let out = bin().args(["validate", "-q", CORPUS]).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 61);
}

#[test]
fn validate_lists_warnings_under_the_file_line() {
    bin()
        .args(["validate", &format!("{CORPUS}/single_flash2.5.yaml")])
        .assert()
        .success()
        .stdout(predicate::str::contains("single_flash2.5.yaml: ok: 1 agent [gemini_agent: gemini/Google Gemini/gemini-2.5-flash]; 0 MCP servers; 1 warning\n    warning: display: legacy `display:` section is ignored"));
}

#[test]
fn our_example_configs_are_valid() {
    let files = yaml_files(CONFIGS);
    assert!(files.len() >= 3);
    let out = bin().arg("validate").args(&files).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        !stdout.contains("warning:"),
        "example configs should be warning-free:\n{stdout}"
    );
}

#[test]
fn validate_reports_broken_files_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "agents:\n  - id: a\n    backend:\n      type: \"openai\n",
    )
    .unwrap();
    let dup = dir.path().join("dup.yaml");
    std::fs::write(&dup, "agents:\n  - {id: a, backend: {type: openai, model: gpt-5}}\n  - {id: a, backend: {type: openai, model: gpt-5}}\n").unwrap();
    let good = format!("{CONFIGS}/single_agent_local.yaml");
    let missing = dir.path().join("missing.yaml");
    let out = bin()
        .arg("validate")
        .args([
            bad.as_os_str(),
            dup.as_os_str(),
            good.as_ref(),
            missing.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].contains("bad.yaml: error: invalid YAML") && lines[0].contains("(line 4, column"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("dup.yaml: error: agents[1].id: duplicate agent id `a`"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("single_agent_local.yaml: ok: 1 agent"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains("missing.yaml: error:"), "{}", lines[3]);
}

#[test]
fn help_is_complete() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--backend",
        "--model",
        "--base-url",
        "--system-message",
        "--headless",
        "--no-display",
        "--json",
        "--no-logs",
        "--debug",
        "--orchestrator-timeout",
        "validate",
        "Examples:",
        "CEREBRAS_API_KEY",
        "Exit codes",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    bin()
        .args(["validate", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--quiet"));
}

#[test]
fn usage_errors_and_config_errors_exit_1() {
    bin()
        .args(["--config", "a.yaml", "--backend", "openai", "q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    bin().args(["--backend", "nope", "q"]).assert().code(2);
    let dir = tempfile::tempdir().unwrap();
    bin()
        .current_dir(dir.path())
        .args(["--config", "/nonexistent/x.yaml", "q"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Configuration file not found"));
}

#[test]
fn run_checks_keys_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    // Missing key: exit 1, names the agent and the variable.
    bin()
        .current_dir(dir.path())
        .env_remove("CEREBRAS_API_KEY")
        .args([
            "--config",
            &format!("{CORPUS}/single_gptoss120b.yaml"),
            "--headless",
            "hi",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "agent `gpt-oss-120b` (Cerebras) needs CEREBRAS_API_KEY",
        ));
    // A key from .env in the working directory is enough; --dry-run shows where it came from.
    std::fs::write(
        dir.path().join(".env"),
        "CEREBRAS_API_KEY=\"from-dotenv\"\n",
    )
    .unwrap();
    let out = bin()
        .current_dir(dir.path())
        .env_remove("CEREBRAS_API_KEY")
        .args([
            "--config",
            &format!("{CORPUS}/single_gptoss120b.yaml"),
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("gpt-oss-120b: Cerebras (Chat Completions API) model gpt-oss-120b at https://api.cerebras.ai/v1; key from CEREBRAS_API_KEY"), "{stdout}");
    assert!(
        !stdout.contains("from-dotenv"),
        "the key must never be printed: {stdout}"
    );
}

#[test]
fn dry_run_quick_setup_with_cli_overrides() {
    bin()
        .args(["--backend", "chatcompletion", "--model", "qwen3:8b", "--base-url", "http://localhost:11434/v1", "--orchestrator-timeout", "60", "--headless", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("agent1: Ollama (Chat Completions API) model qwen3:8b at http://localhost:11434/v1; no key"))
        .stdout(predicate::str::contains("ui: simple; orchestrator timeout: 60 s"));
}
