//! The typed event protocol: the only seam between the engine (config, backends, MCP,
//! orchestrator, sandbox) and its front ends (TUI, headless printer, log sinks, replay).
//!
//! Responsibilities: pure data types with serde (de)serialisation; the JSON shape of
//! `events.jsonl` (documented in `docs/events.md`).
//! Non-responsibilities: no I/O, no tokio, no ratatui. Nothing here knows how events are
//! produced or shown.

mod event;
mod ids;

pub use event::*;
pub use ids::*;

/// Version of the `events.jsonl` format. Bump when a change would make old readers misread
/// new files; readers accept every version in [`SUPPORTED_FORMAT_VERSIONS`].
pub const EVENT_FORMAT_VERSION: u32 = 1;
/// Event-file format versions this build can read.
pub const SUPPORTED_FORMAT_VERSIONS: std::ops::RangeInclusive<u32> = 1..=1;
