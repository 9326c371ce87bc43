//! Headless front end: human progress lines on stderr and the final answer on stdout, or
//! the event stream as JSON lines (`--json`).
//!
//! Responsibilities: turning `protocol::Event`s into text for scripts and CI.
//! Non-responsibilities: running anything; it only consumes events.
