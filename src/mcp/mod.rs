//! MCP client layer (on `rmcp`): connecting the servers a config names, tool discovery,
//! naming (`mcp__<server>__<tool>`), calls with timeouts, retries and a circuit breaker.
//!
//! Responsibilities: everything that talks to MCP servers.
//! Non-responsibilities: deciding when a tool is called (the orchestrator's agent loop does),
//! parsing configs (the `config` module does), showing anything (front ends do).
//!
//! Entry points: [`ServerSpec`] + [`validate`] (config checks), [`McpManager::start`] (one per
//! run), [`McpManager::tool_specs`] / [`McpManager::call`] (the agent loop),
//! [`McpManager::shutdown`], [`cli`] (debug commands) and [`run_test_server`] (the built-in
//! test server). See `docs/mcp.md`.

pub mod breaker;
pub mod cli;
mod manager;
pub mod naming;
pub mod result;
pub mod schema;
mod server;
pub mod spec;
mod test_server;

pub use breaker::BreakerConfig;
pub use manager::{McpManager, McpOptions, McpStartError, ServerStatus, ToolFilter, ToolOutcome};
pub use naming::DEFAULT_MAX_NAME_LEN;
pub use schema::SchemaPolicy;
pub use spec::{
    McpConfigError, SecurityLevel, ServerSpec, Transport, Warning, process_env, validate,
    validate_all,
};
pub use test_server::{TestServer, run_test_server, serve_test_server_http};
