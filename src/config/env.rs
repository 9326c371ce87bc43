//! Environment handling: the [`Env`] map (process environment overlaid by `.env`), the
//! [`Secret`] newtype that never prints its value, and `${VAR}` expansion.
//!
//! Responsibilities: reading `.env` as MassGen does (KEY=VALUE, comments, quotes stripped,
//! `.env` wins over the process environment) without mutating the process environment, and
//! expanding `${NAME}` references against an [`Env`]. Non-responsibilities: deciding which
//! variables a provider needs (see `providers`), key resolution (see `RunPlan::resolve_keys`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::error::{ConfigError, ConfigErrorKind};

/// A secret string (API key, token, header value). `Debug`, `Display` and `Serialize` print
/// `***`; use [`Secret::expose`] at the single place the value is sent.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The real value. Call only where it leaves the process (request header, child env).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// The environment the run sees: a plain map, so nothing ever calls `std::env::set_var`.
/// `Debug` lists variable names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
    dotenv: Option<PathBuf>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .field("dotenv", &self.dotenv)
            .finish()
    }
}

/// One line of a `.env` file that could not be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotenvIssue {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl Env {
    /// An environment from explicit pairs (tests, embedding).
    pub fn from_pairs<I, K, V>(pairs: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            dotenv: None,
        }
    }

    /// The process environment (variables whose name or value is not UTF-8 are skipped).
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            dotenv: None,
        }
    }

    /// The process environment overlaid by `dir/.env` if it exists (MassGen reads `.env` in the
    /// working directory at start-up and lets it override). Returns the issues found in `.env`.
    pub fn load(dir: &Path) -> Result<(Env, Vec<DotenvIssue>), ConfigError> {
        let mut env = Env::from_process();
        let path = dir.join(".env");
        if !path.is_file() {
            return Ok((env, Vec::new()));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new(
                ConfigErrorKind::Unreadable,
                path.display().to_string(),
                "",
                format!("cannot read .env: {e}"),
                "fix the file's permissions or encoding (UTF-8), or remove it",
            )
        })?;
        let issues = env.overlay_dotenv(&text);
        env.dotenv = Some(path);
        Ok((env, issues))
    }

    /// Applies `.env` text on top of this environment (`.env` values win).
    pub fn overlay_dotenv(&mut self, text: &str) -> Vec<DotenvIssue> {
        let (pairs, issues) = parse_dotenv(text);
        for (k, v) in pairs {
            self.vars.insert(k, v);
        }
        issues
    }

    /// Sets one variable in this map (never in the process).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// A variable's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// A variable's value if it is set and not blank.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    /// The `.env` file that was applied, if any.
    pub fn dotenv_path(&self) -> Option<&Path> {
        self.dotenv.as_deref()
    }

    /// All pairs (for building a child process environment).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Parses `.env` text: `KEY=VALUE` lines, optional `export ` prefix, `#` comments and blank lines
/// ignored, surrounding single or double quotes stripped (double quotes understand `\n`, `\"`
/// and `\\`), ` #` starts a comment after an unquoted value.
pub fn parse_dotenv(text: &str) -> (Vec<(String, String)>, Vec<DotenvIssue>) {
    let mut pairs = Vec::new();
    let mut issues = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            issues.push(DotenvIssue {
                line: i + 1,
                message: "expected KEY=VALUE".to_string(),
            });
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            issues.push(DotenvIssue {
                line: i + 1,
                message: format!("invalid variable name `{key}`"),
            });
            continue;
        }
        pairs.push((key.to_string(), dotenv_value(value.trim())));
    }
    (pairs, issues)
}

fn dotenv_value(v: &str) -> String {
    if let Some(rest) = v.strip_prefix('"') {
        if let Some(end) = find_closing_double(rest) {
            let mut out = String::new();
            let mut chars = rest[..end].chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some(other) => out.push(other),
                        None => out.push('\\'),
                    }
                } else {
                    out.push(c);
                }
            }
            return out;
        }
    } else if let Some(rest) = v.strip_prefix('\'')
        && let Some(end) = rest.find('\'')
    {
        return rest[..end].to_string();
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}

fn find_closing_double(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// The `${NAME}` references in a value (NAME = `[A-Z_][A-Z0-9_]*`, as MassGen).
pub fn env_references(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if is_simple_var_name(name) {
                    out.push(name.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Whether `name` is a simple upper-case variable name (`[A-Z_][A-Z0-9_]*`).
pub fn is_simple_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Replaces every `${NAME}` in `value` from `env`. An unset or blank variable is an error that
/// names it (MassGen: "Required environment variable 'X' is not set"). `what` says where the
/// value comes from (for the error), e.g. `agents[0].backend.mcp_servers[0].env.TOKEN`.
pub fn expand_env_refs(value: &str, env: &Env, what: &str) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if is_simple_var_name(&after[..end]) => {
                let name = &after[..end];
                let Some(v) = env.non_empty(name) else {
                    return Err(ConfigError::new(
                        ConfigErrorKind::MissingEnvVar,
                        "<environment>",
                        what,
                        format!("Required environment variable '{name}' is not set"),
                        format!(
                            "export {name}=... or add `{name}=...` to .env in the working directory"
                        ),
                    ));
                };
                out.push_str(v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_basics() {
        let (pairs, issues) = parse_dotenv(
            "# comment\n\nA=1\nexport B = \"two words\" \nC='single # not comment'\nD=plain # comment\nbad line\nE=\"x\\ny\"\n",
        );
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "single # not comment".into()),
                ("D".into(), "plain".into()),
                ("E".into(), "x\ny".into()),
            ]
        );
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].line, 7);
    }

    #[test]
    fn expansion() {
        let env = Env::from_pairs([("TOKEN", "abc"), ("BLANK", " ")]);
        assert_eq!(
            expand_env_refs("Bearer ${TOKEN}", &env, "x").unwrap(),
            "Bearer abc"
        );
        assert_eq!(expand_env_refs("${lower}", &env, "x").unwrap(), "${lower}");
        let e = expand_env_refs("${BLANK}", &env, "p").unwrap_err();
        assert!(e.reason.contains("'BLANK'"));
        assert_eq!(e.kind, ConfigErrorKind::MissingEnvVar);
        assert_eq!(env_references("a ${X} ${y} ${Z_1}"), vec!["X", "Z_1"]);
    }

    #[test]
    fn secret_redacts() {
        let s = Secret::new("sk-123");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    }
}
