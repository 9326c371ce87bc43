//! Every Chat Completions and Responses provider profile has an MCP example config in `configs/mcp/`, named
//! after the profile id, that loads without warnings, resolves to that profile and gives its
//! agent MCP servers. Adding a provider without its example fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use massgen_tui::config::{self, providers::PROVIDERS, providers::WireApi};
use std::path::Path;

#[test]
fn every_profile_we_speak_has_an_mcp_example() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/mcp");
    let mut missing = Vec::new();
    for p in PROVIDERS
        .iter()
        .filter(|p| matches!(p.api, WireApi::ChatCompletions | WireApi::Responses))
    {
        // The two catch-all profiles (any other local port, any other host) have no endpoint
        // of their own to show.
        if matches!(p.id, "local" | "openai-compatible") {
            continue;
        }
        let file = dir.join(format!("{}.yaml", p.id));
        if !file.is_file() {
            missing.push(file.display().to_string());
            continue;
        }
        let plan = config::load(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            plan.warnings.is_empty(),
            "{}: {:?}",
            file.display(),
            plan.warnings
        );
        let agent = &plan.agents[0];
        assert_eq!(
            agent.provider.id,
            p.id,
            "{} resolves to another profile",
            file.display()
        );
        assert!(
            !agent.mcp_servers.is_empty(),
            "{} has no MCP server",
            file.display()
        );
    }
    assert!(
        missing.is_empty(),
        "add an MCP example for each new provider profile (copy one in configs/mcp/): {missing:?}"
    );
}
