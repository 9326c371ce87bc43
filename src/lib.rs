//! massgen-tui: multi-agent LLM coordination, MassGen v0.0.18 compatible.
//!
//! Responsibilities: the module tree and the public surface used by `main.rs` and `tests/`.
//! Non-responsibilities: no logic lives here.
//!
//! Layering (enforced by `tests/layering.rs`): `protocol` and `config` depend on nothing else
//! in the crate; `backend`, `mcp` and `sandbox` depend only on `protocol` and `config`;
//! `orchestrator` on those; `tui` and `headless` only on `protocol`, `config` and `telemetry`.

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod headless;
pub mod mcp;
pub mod orchestrator;
pub mod protocol;
pub mod replay;
pub mod sandbox;
pub mod telemetry;
pub mod tui;
