//! Identifier newtypes that tie every event to its run, agent and tool call.
//!
//! Responsibilities: distinct types for distinct ids so they cannot be mixed up.
//! Non-responsibilities: generating ids for backends (they generate tool-call ids themselves).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wrap a string.
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

id_type!(
    /// One coordination run (one question), e.g. `20261124-101500-7f3a`.
    RunId
);
id_type!(
    /// A real agent id from the config (`agents[].id`, or `agent<i>` by position).
    AgentId
);
id_type!(
    /// One tool call (workflow or MCP), unique within a run.
    CallId
);

impl RunId {
    /// A fresh run id: UTC timestamp plus four random hex digits, sortable by start time.
    pub fn generate() -> Self {
        let now = chrono::Utc::now();
        Self(format!(
            "{}-{:04x}",
            now.format("%Y%m%d-%H%M%S"),
            fastrand::u16(..)
        ))
    }
}
