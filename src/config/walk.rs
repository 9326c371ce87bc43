//! Small helpers for walking a parsed config (`serde_json::Value`) with key paths: typed getters
//! that produce precise [`ConfigError`]s and a warning sink.
//!
//! Responsibilities: key-path formatting, type checks, unknown-key warnings.
//! Non-responsibilities: config semantics (see `parse` and `mcp`).

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning};

/// Loader context: the file name for errors and the collected warnings.
pub(crate) struct Ctx {
    pub file: String,
    pub warnings: Vec<ConfigWarning>,
}

/// `path.key` (or `key` at the top level).
pub(crate) fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if simple {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A short name for a value's type, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl Ctx {
    pub(crate) fn new(file: impl Into<String>) -> Ctx {
        Ctx {
            file: file.into(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn err(
        &self,
        kind: ConfigErrorKind,
        path: &str,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError::new(kind, self.file.clone(), path, reason, fix)
    }

    pub(crate) fn invalid(
        &self,
        path: &str,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        self.err(ConfigErrorKind::InvalidValue, path, reason, fix)
    }

    pub(crate) fn wrong_type(&self, path: &str, expected: &str, got: &Value) -> ConfigError {
        self.invalid(
            path,
            format!("expected {expected}, found {}", type_name(got)),
            format!("write `{}` as {expected}", fix_subject(path)),
        )
    }

    pub(crate) fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub(crate) fn map<'v>(
        &self,
        v: &'v Value,
        path: &str,
    ) -> Result<&'v Map<String, Value>, ConfigError> {
        v.as_object()
            .ok_or_else(|| self.wrong_type(path, "a map", v))
    }

    /// Optional string (null = absent).
    pub(crate) fn opt_str(
        &self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<String>, ConfigError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(&join(path, key), "a string", other)),
        }
    }

    /// Optional scalar rendered as a string (strings, numbers, booleans), for values such as
    /// command arguments where YAML may have typed `8000` as an integer.
    pub(crate) fn scalar_string(&self, v: &Value, path: &str) -> Result<String, ConfigError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.wrong_type(path, "a string", other)),
        }
    }

    pub(crate) fn opt_bool(
        &self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<bool>, ConfigError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(&join(path, key), "true or false", other)),
        }
    }

    /// Optional positive integer.
    pub(crate) fn opt_pos_u64(
        &self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<u64>, ConfigError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v > 0 => Ok(Some(v)),
                _ => Err(self.invalid(
                    &join(path, key),
                    format!("expected a positive whole number, found {n}"),
                    format!("set `{key}` to a whole number of at least 1"),
                )),
            },
            Some(other) => Err(self.wrong_type(&join(path, key), "a positive whole number", other)),
        }
    }

    /// Optional positive number of seconds (integers or decimals).
    pub(crate) fn opt_pos_f64(
        &self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<f64>, ConfigError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v > 0.0 && v.is_finite() => Ok(Some(v)),
                _ => Err(self.invalid(
                    &join(path, key),
                    format!("expected a positive number, found {n}"),
                    format!("set `{key}` to a number greater than 0"),
                )),
            },
            Some(other) => Err(self.wrong_type(&join(path, key), "a positive number", other)),
        }
    }

    /// Optional list of strings.
    pub(crate) fn opt_str_list(
        &self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<Vec<String>>, ConfigError> {
        let p = join(path, key);
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.wrong_type(&index(&p, i), "a string", other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong_type(&p, "a list of strings", other)),
        }
    }

    /// Warns about every key of `m` not in `known`; `consequence` says what happens to it.
    pub(crate) fn unknown_keys(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        known: &[&str],
        consequence: &str,
    ) {
        for k in m.keys() {
            if !known.contains(&k.as_str()) {
                let hint = suggest(k, known)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.warn(&join(path, k), format!("unknown key{hint}; {consequence}"));
            }
        }
    }
}

/// The name to use in a fix: the last key, or the whole path when it ends with an index.
fn fix_subject(path: &str) -> &str {
    if path.ends_with(']') {
        return path;
    }
    path.rsplit('.').next().unwrap_or(path)
}

/// The closest known key by edit distance (≤ 2), for "did you mean" hints.
pub(crate) fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= (key.chars().count() / 3).clamp(1, 2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
