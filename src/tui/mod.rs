//! The full-screen terminal front end.
//!
//! Responsibilities: view state built from `protocol::Event`s, rendering, keys and mouse.
//! Non-responsibilities: it never reads engine state directly; everything arrives as events.
