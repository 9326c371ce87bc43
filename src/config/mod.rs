//! Configuration: MassGen-compatible YAML/JSON loading, validation into a run plan, provider
//! profiles and `.env` handling.
//!
//! Responsibilities: turning a config file (or CLI quick-setup flags) into an immutable,
//! validated [`RunPlan`]-style description, with precise errors (file, key path, reason, fix)
//! and warnings for unknown keys. Non-responsibilities: talking to providers or MCP servers.
