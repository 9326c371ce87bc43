//! The coordination engine: agents run concurrently, answer with `new_answer` or `vote`,
//! the most-voted agent presents the final answer (MassGen v0.0.18 semantics, with the
//! defects listed in `docs/behaviour-vs-massgen.md` fixed).
//!
//! Responsibilities: run state, prompts, the workflow-tool protocol, the event bus, run
//! records. Non-responsibilities: wire formats (backends), tool transport (mcp), display.

mod agent;
mod bus;
pub mod prompts;
mod run;

pub use agent::{AgentRuntime, LadderCaps, LaunchOutcome, ToolProvider, ToolReply, same_answer};
pub use bus::EventBus;
pub use run::{InitFuture, RunInput, RunReport, RunSettings, run};
