//! Every MassGen v0.0.18 config in the shared corpus loads into a validated plan, or is refused
//! with the expected precise error; mutated corpus files never make the loader panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use massgen_tui::config::{self, BackendType, ConfigErrorKind, ConfigFormat};
use proptest::prelude::*;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/massgen-configs/v0.0.18"
);

/// Files refused at load, with the key path of the refusal. Every refusal is a `claude_code`
/// agent (MassGen drives Anthropic's Claude Code Python SDK; no equivalent here).
const REFUSED: &[(&str, &str)] = &[
    ("claude_code_context_sharing.yaml", "agents[0].backend.type"),
    ("claude_code_discord_mcp_example.yaml", "agent.backend.type"),
    ("claude_code_flash2.5.yaml", "agents[0].backend.type"),
    ("claude_code_flash2.5_gptoss.yaml", "agents[0].backend.type"),
    ("claude_code_gpt5nano.yaml", "agents[0].backend.type"),
    ("claude_code_simple_mcp.yaml", "agent.backend.type"),
    ("claude_code_single.yaml", "agents[0].backend.type"),
    ("claude_code_twitter_mcp_example.yaml", "agent.backend.type"),
    (
        "gemini_mcp_filesystem_test_with_claude_code.yaml",
        "agents[1].backend.type",
    ),
    (
        "gpt5mini_claude_code_discord_mcp_example.yaml",
        "agents[0].backend.type",
    ),
    (
        "multi_agent_playwright_automation.yaml",
        "agents[0].backend.type",
    ),
];

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus directory ../shared/massgen-configs/v0.0.18")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

#[test]
fn corpus_has_61_files() {
    assert_eq!(corpus_files().len(), 61);
}

#[test]
fn every_corpus_file_loads_or_is_refused_as_expected() {
    let mut loaded = 0;
    for path in corpus_files() {
        let file = name(&path);
        let result = config::load(&path);
        match REFUSED.iter().find(|(f, _)| *f == file) {
            Some((_, key_path)) => {
                let err = result.expect_err(file);
                assert_eq!(
                    err.kind,
                    ConfigErrorKind::UnsupportedBackend,
                    "{file}: {err}"
                );
                assert_eq!(err.path, *key_path, "{file}");
                assert!(
                    err.file.ends_with(file),
                    "{file}: error names the file: {err}"
                );
                assert!(err.reason.contains("claude_code"), "{file}: {err}");
                assert!(err.fix.contains("type: claude"), "{file}: {err}");
            }
            None => {
                let plan = result.unwrap_or_else(|e| panic!("{file} should load: {e}"));
                assert!(!plan.agents.is_empty(), "{file}");
                for a in &plan.agents {
                    assert!(!a.model.is_empty(), "{file}: {}", a.id);
                    assert!(a.provider.is_supported(), "{file}: {}", a.id);
                    for k in [
                        "type",
                        "cwd",
                        "mcp_servers",
                        "enable_web_search",
                        "api_key",
                        "base_url",
                        "model",
                    ] {
                        assert!(
                            !a.params.contains_key(k),
                            "{file}: `{k}` must not be forwarded"
                        );
                    }
                }
                loaded += 1;
            }
        }
    }
    assert_eq!(loaded, 61 - REFUSED.len());
    assert_eq!(loaded, 50);
}

fn load(file: &str) -> config::RunPlan {
    config::load(&Path::new(CORPUS).join(file)).unwrap()
}

#[test]
fn fixed_key_lookups_for_fireworks_and_nebius() {
    let plan = load("three_agents_opensource.yaml");
    let ids: Vec<_> = plan.agents.iter().map(|a| a.provider.id).collect();
    assert_eq!(ids, ["cerebras", "nebius", "fireworks"]);
    let env = config::Env::from_pairs([
        ("CEREBRAS_API_KEY", "c-key"),
        ("NEBIUS_API_KEY", "n-key"),
        ("FIREWORKS_API_KEY", "f-key"),
    ]);
    let keys = plan.resolve_keys(&env).unwrap();
    assert_eq!(
        keys.get("qwen").unwrap().api_key.as_ref().unwrap().expose(),
        "n-key"
    );
    assert_eq!(
        keys.get("gpt-oss-2")
            .unwrap()
            .api_key
            .as_ref()
            .unwrap()
            .expose(),
        "f-key"
    );
    // Missing: names the agent and the variable, before any request.
    let err = plan
        .resolve_keys(&config::Env::from_pairs([("CEREBRAS_API_KEY", "c")]))
        .unwrap_err();
    assert_eq!(err.kind, ConfigErrorKind::MissingApiKey);
    assert!(
        err.reason.contains("`qwen`") && err.reason.contains("NEBIUS_API_KEY"),
        "{err}"
    );
    assert!(
        err.reason.contains("`gpt-oss-2`") && err.reason.contains("FIREWORKS_API_KEY"),
        "{err}"
    );
    assert_eq!(err.path, "agents[1].backend.api_key");
}

#[test]
fn mixed_file_details() {
    let plan = load("gpt5nano_glm_qwen.yaml");
    let a = &plan.agents;
    assert_eq!(a[0].backend_type, BackendType::ChatCompletion);
    assert_eq!(a[1].backend_type, BackendType::Zai);
    assert_eq!(a[1].params.get("temperature").unwrap(), 0.7);
    assert_eq!(a[2].provider.id, "lmstudio");
    assert!(a[2].provider.local);
    assert_eq!(a[2].base_url.as_deref(), Some("http://localhost:1234/v1"));
    // Local servers need no key.
    let keys = plan
        .resolve_keys(&config::Env::from_pairs([
            ("CEREBRAS_API_KEY", "c"),
            ("ZAI_API_KEY", "z"),
        ]))
        .unwrap();
    assert!(keys.get("Qwen3-4b").unwrap().api_key.is_none());
}

#[test]
fn map_form_mcp_servers_and_env_refs() {
    let plan = load("gemini_notion_mcp.yaml");
    let s = &plan.agents[0].mcp_servers[0];
    assert_eq!(s.name, "notionApi");
    assert_eq!(plan.agents[0].exclude_tools, ["post_search"]);
    let config::McpTransport::Stdio(stdio) = &s.transport else {
        panic!()
    };
    assert_eq!(stdio.command, ["npx"]);
    assert_eq!(stdio.referenced_vars(), ["NOTION_TOKEN_ONE"]);
    // Kept unexpanded in the plan; expanded on demand, naming a missing variable.
    assert_eq!(stdio.env["NOTION_TOKEN"].expose(), "${NOTION_TOKEN_ONE}");
    let err = stdio
        .expanded_env(&config::Env::default(), &s.config_path)
        .unwrap_err();
    assert!(err.reason.contains("NOTION_TOKEN_ONE"));
    let env = config::Env::from_pairs([("NOTION_TOKEN_ONE", "secret-1")]);
    assert_eq!(
        stdio.expanded_env(&env, "x").unwrap()["NOTION_TOKEN"].expose(),
        "secret-1"
    );
}

#[test]
fn list_form_streamable_http() {
    let plan = load("qwen_api_streamable_http_test.yaml");
    let s = &plan.agents[0].mcp_servers[0];
    assert_eq!(s.name, "streamable_http_server");
    assert!(s.security.allow_localhost);
    let config::McpTransport::StreamableHttp(h) = &s.transport else {
        panic!()
    };
    assert_eq!(h.url, "http://localhost:8000/mcp");
}

#[test]
fn legacy_display_and_ui_type_are_warned() {
    let plan = load("single_flash2.5.yaml");
    assert!(
        plan.warnings.iter().any(|w| w.path == "display"),
        "{:?}",
        plan.warnings
    );
    let plan = load("two_agents_gemini.yaml");
    assert!(
        plan.warnings.iter().any(|w| w.path == "ui.type"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn timeout_and_orchestrator_sections() {
    assert_eq!(
        load("fast_timeout_example.yaml")
            .timeouts
            .orchestrator_timeout_seconds,
        30
    );
    assert_eq!(
        load("gpt5.yaml").timeouts.orchestrator_timeout_seconds,
        1800
    );
    let plan = load("gemini_mcp_filesystem_test_single_agent.yaml");
    assert_eq!(
        plan.orchestrator.agent_temporary_workspace.as_deref(),
        Some(Path::new("workspaces"))
    );
    assert_eq!(plan.agents[0].cwd.as_deref(), Some(Path::new("workspace1")));
}

fn mutate(text: &str, op: u8, a: usize, b: usize) -> String {
    let bytes = text.as_bytes();
    match op % 5 {
        0 => {
            // byte flip
            let mut v = bytes.to_vec();
            if !v.is_empty() {
                let i = a % v.len();
                v[i] ^= (b as u8) | 1;
            }
            String::from_utf8_lossy(&v).into_owned()
        }
        1 => String::from_utf8_lossy(&bytes[..a % (bytes.len() + 1)]).into_owned(),
        2 => {
            let lines: Vec<&str> = text.lines().collect();
            let skip = if lines.is_empty() { 0 } else { a % lines.len() };
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        }
        3 => {
            // type swaps: turn a scalar value into a list / map / number / bool / null
            let repl = ["[1, 2]", "{x: 1}", "42", "true", "~", "\"\"", "-3.5"][b % 7];
            let mut out = Vec::new();
            for (i, l) in text.lines().enumerate() {
                if i % 7 == a % 7
                    && let Some((k, _)) = l.split_once(": ")
                {
                    out.push(format!("{k}: {repl}"));
                    continue;
                }
                out.push(l.to_string());
            }
            out.join("\n")
        }
        _ => {
            // indentation damage
            text.lines()
                .enumerate()
                .map(|(i, l)| {
                    if i % 5 == a % 5 {
                        format!("{}{l}", " ".repeat(b % 4))
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]
    #[test]
    fn mutated_corpus_never_panics(file in 0usize..61, op in 0u8..5, a in 0usize..100_000, b in 0usize..256) {
        let files = corpus_files();
        let text = std::fs::read_to_string(&files[file % files.len()]).unwrap();
        let mutated = mutate(&text, op, a, b);
        let result = config::load_str(&mutated, ConfigFormat::Yaml, "mutated.yaml");
        if let Err(e) = result {
            prop_assert!(!e.reason.is_empty());
            prop_assert!(!e.one_line().contains('\n'));
        }
        let _ = config::load_str(&mutated, ConfigFormat::Json, "mutated.json");
    }
}
