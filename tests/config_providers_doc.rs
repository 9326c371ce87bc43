//! docs/providers.md is generated from the provider table in src/config/providers.rs.
//! Run `UPDATE_DOCS=1 cargo test --test config_providers_doc` after changing the table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use massgen_tui::config::providers_markdown;

#[test]
fn providers_doc_matches_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/providers.md");
    let generated = providers_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/providers.md is out of date with src/config/providers.rs; regenerate it with:\n    UPDATE_DOCS=1 cargo test --test config_providers_doc"
    );
}

#[test]
fn every_provider_is_documented_with_its_key_variables() {
    let md = providers_markdown();
    for var in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "XAI_API_KEY",
        "CEREBRAS_API_KEY",
        "TOGETHER_API_KEY",
        "FIREWORKS_API_KEY",
        "GROQ_API_KEY",
        "NEBIUS_API_KEY",
        "OPENROUTER_API_KEY",
        "ZAI_API_KEY",
        "MOONSHOT_API_KEY",
        "KIMI_API_KEY",
        "POE_API_KEY",
        "QWEN_API_KEY",
        "DASHSCOPE_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
    ] {
        assert!(
            md.contains(&format!("`{var}`")),
            "{var} missing from docs/providers.md"
        );
    }
    for name in [
        "LM Studio",
        "Ollama",
        "vLLM",
        "SGLang",
        "llama.cpp",
        "Claude Code",
    ] {
        assert!(md.contains(name), "{name}");
    }
}
