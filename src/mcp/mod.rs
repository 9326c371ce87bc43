//! MCP client layer (on `rmcp`): connecting the servers a config names, tool discovery,
//! naming (`mcp__<server>__<tool>`), calls with timeouts, retries and a circuit breaker.
//!
//! Responsibilities: everything that talks to MCP servers.
//! Non-responsibilities: deciding when a tool is called (the orchestrator's agent loop does),
//! parsing configs (the `config` module does), showing anything (front ends do).
