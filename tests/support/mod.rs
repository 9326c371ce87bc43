//! Shared test support. Include from an integration test with `mod support;`.
//!
//! * [`scripted_provider`]: a real loopback HTTP server that plays an OpenAI-compatible
//!   provider from a script (see the docs at the top of that file).

#![allow(dead_code, unused_imports)]

pub mod scripted_provider;

pub use scripted_provider::{Chunk, RecordedRequest, Reply, ScriptedProvider};
