//! Configuration errors and warnings: where (file, key path, line/column), what went wrong and
//! what the user can do about it.
//!
//! Responsibilities: the [`ConfigError`] / [`ConfigWarning`] types and their rendering.
//! Non-responsibilities: deciding what is an error (the loader does).

use std::fmt;

/// What kind of problem a [`ConfigError`] is (for tests and for callers that branch on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file does not exist.
    NotFound,
    /// The file exists but could not be read (permissions, not UTF-8, a directory, ...).
    Unreadable,
    /// The file name suffix is not `.yaml`, `.yml` or `.json`.
    UnsupportedFormat,
    /// YAML / JSON syntax error.
    Syntax,
    /// A value has the wrong type or an invalid value.
    InvalidValue,
    /// No `agent` / `agents`, or an empty list.
    NoAgents,
    /// Two agents share an id.
    DuplicateAgentId,
    /// A backend type this build refuses (`claude_code`) or does not know.
    UnsupportedBackend,
    /// An MCP server entry is invalid or fails the security rules.
    McpServer,
    /// A required API key (or Azure endpoint) is missing from the environment.
    MissingApiKey,
    /// A `${VAR}` reference names an unset variable.
    MissingEnvVar,
}

/// A configuration problem that stops the run. Renders as
/// `file: key.path: reason (line L, column C)` followed by a `fix:` line.
/// Boxed so `Result<_, ConfigError>` stays small; fields are reached through `Deref`
/// (`err.path`, `err.kind`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(Box<ConfigErrorData>);

/// The fields of a [`ConfigError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrorData {
    /// Config file (or `<command line>` for quick setup).
    pub file: String,
    /// Key path such as `agents[2].backend.type`; empty for whole-file problems.
    pub path: String,
    /// 1-based line and column when the parser knows them.
    pub location: Option<(u64, u64)>,
    /// What is wrong.
    pub reason: String,
    /// What the user can do.
    pub fix: String,
    /// Classification.
    pub kind: ConfigErrorKind,
}

impl std::ops::Deref for ConfigError {
    type Target = ConfigErrorData;
    fn deref(&self) -> &ConfigErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for ConfigError {
    fn deref_mut(&mut self) -> &mut ConfigErrorData {
        &mut self.0
    }
}

impl ConfigError {
    /// Builds an error.
    pub fn new(
        kind: ConfigErrorKind,
        file: impl Into<String>,
        path: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError(Box::new(ConfigErrorData {
            file: file.into(),
            path: path.into(),
            location: None,
            reason: reason.into(),
            fix: fix.into(),
            kind,
        }))
    }

    /// Attaches a 1-based line and column.
    pub fn at(mut self, line: u64, column: u64) -> ConfigError {
        self.location = Some((line, column));
        self
    }

    /// One line: `file: path: reason (line L, column C) — fix: ...`. Used by `validate`.
    pub fn one_line(&self) -> String {
        let mut s = self.head();
        if !self.fix.is_empty() {
            s.push_str(" — fix: ");
            s.push_str(&self.fix);
        }
        s.replace('\n', " ")
    }

    fn head(&self) -> String {
        let mut s = self.file.clone();
        if !self.path.is_empty() {
            s.push_str(": ");
            s.push_str(&self.path);
        }
        s.push_str(": ");
        s.push_str(&self.reason);
        if let Some((l, c)) = self.location {
            s.push_str(&format!(" (line {l}, column {c})"));
        }
        s
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.head())?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A problem that does not stop the run (unknown key, ignored legacy section, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Key path such as `ui.type`.
    pub path: String,
    /// What happens and what to do.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}
