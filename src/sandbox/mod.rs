//! Sandboxed code execution (offered to agents as an MCP tool).
//!
//! Responsibilities: running a command under resource limits, a filesystem allow-list and a
//! network ban, with the user's consent and an audit log.
//! Non-responsibilities: deciding which agent may run code (config and orchestrator do).
//! This is the only module where `unsafe` may ever be allowed, each use justified in place.
