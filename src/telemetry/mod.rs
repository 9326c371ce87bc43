//! Telemetry: tracing subscribers, the JSON-lines application log, the separate rotated MCP
//! log, and log search/summary.
//!
//! Responsibilities: where diagnostic records go. Non-responsibilities: the event protocol
//! (that is `protocol`); run records (the orchestrator's run recorder writes those).
