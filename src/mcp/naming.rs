//! Exposed tool names: `mcp__<server>__<tool>` within a provider's limits.
//!
//! Responsibilities: building names that only use `[A-Za-z0-9_-]` and fit a maximum length,
//! with a reversible mapping and no collisions (a short hash of the original pair is appended
//! whenever a name had to be sanitised or truncated, or collided).
//! Non-responsibilities: which tools are exposed (filters live in `manager.rs`).

use std::collections::{HashMap, HashSet};

/// Default maximum function-name length (OpenAI and most compatible providers).
pub const DEFAULT_MAX_NAME_LEN: usize = 64;
/// Smallest maximum length accepted; shorter limits are raised to this.
pub const MIN_MAX_NAME_LEN: usize = 24;
/// Prefix of every exposed MCP tool name.
pub const PREFIX: &str = "mcp__";

/// 64-bit FNV-1a: small, stable across runs and platforms.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The plain exposed name `mcp__<server>__<tool>`, without any limit applied.
pub fn plain_name(server: &str, tool: &str) -> String {
    format!("{PREFIX}{server}__{tool}")
}

fn hashed(plain_sanitized: &str, server: &str, tool: &str, salt: u32, max_len: usize) -> String {
    let salt_s = salt.to_string();
    let h = fnv1a(&[server, tool, if salt == 0 { "" } else { &salt_s }]);
    let suffix = format!("_{:08x}", h as u32);
    let keep = max_len.saturating_sub(suffix.len());
    let mut base: String = plain_sanitized.chars().take(keep).collect();
    base.push_str(&suffix);
    base
}

/// A reversible mapping between (server, raw tool name) pairs and exposed names.
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    forward: HashMap<(String, String), String>,
    reverse: HashMap<String, (String, String)>,
}

impl NameMap {
    /// Build names for `pairs` (server, tool) in order, limited to `max_len` characters.
    /// Earlier pairs keep their plain name when a later one would collide with it.
    pub fn build<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, max_len: usize) -> Self {
        let max_len = max_len.max(MIN_MAX_NAME_LEN);
        let mut map = NameMap::default();
        let mut taken: HashSet<String> = HashSet::new();
        for (server, tool) in pairs {
            let key = (server.to_owned(), tool.to_owned());
            if map.forward.contains_key(&key) {
                continue;
            }
            let plain = plain_name(server, tool);
            let clean = sanitize(&plain);
            let mut name = if clean == plain && clean.len() <= max_len {
                clean.clone()
            } else {
                hashed(&clean, server, tool, 0, max_len)
            };
            let mut salt = 0;
            while taken.contains(&name) {
                salt += 1;
                name = hashed(&clean, server, tool, salt, max_len);
            }
            taken.insert(name.clone());
            map.reverse.insert(name.clone(), key.clone());
            map.forward.insert(key, name);
        }
        map
    }

    /// The exposed name of a pair.
    pub fn exposed(&self, server: &str, tool: &str) -> Option<&str> {
        self.forward
            .get(&(server.to_owned(), tool.to_owned()))
            .map(String::as_str)
    }

    /// The pair behind an exposed name.
    pub fn resolve(&self, exposed: &str) -> Option<(&str, &str)> {
        self.reverse
            .get(exposed)
            .map(|(s, t)| (s.as_str(), t.as_str()))
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.forward.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.forward.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str, max: usize) -> bool {
        name.len() <= max
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }

    #[test]
    fn simple_names_are_kept() {
        let m = NameMap::build([("weather", "get_forecast")], 64);
        assert_eq!(
            m.exposed("weather", "get_forecast"),
            Some("mcp__weather__get_forecast")
        );
        assert_eq!(
            m.resolve("mcp__weather__get_forecast"),
            Some(("weather", "get_forecast"))
        );
    }

    #[test]
    fn long_and_dotted_names_are_hashed_reversibly_without_collisions() {
        let long = "x".repeat(100);
        let pairs = [
            ("fs", "read.file"),
            ("fs", "read_file"),
            ("fs", long.as_str()),
            ("fs", &long[..99]),
        ];
        let m = NameMap::build(pairs.iter().copied(), 64);
        let names: HashSet<_> = pairs
            .iter()
            .map(|(s, t)| m.exposed(s, t).unwrap())
            .collect();
        assert_eq!(names.len(), 4);
        for (s, t) in pairs {
            let n = m.exposed(s, t).unwrap();
            assert!(valid(n, 64), "{n}");
            assert_eq!(m.resolve(n), Some((s, t)));
        }
        assert_eq!(m.exposed("fs", "read_file"), Some("mcp__fs__read_file"));
    }

    proptest::proptest! {
        #[test]
        fn any_pairs_give_valid_unique_reversible_names(
            pairs in proptest::collection::vec(("[a-z_.-]{1,40}", "[ -~]{1,80}"), 1..20),
            max in 24usize..80,
        ) {
            let m = NameMap::build(pairs.iter().map(|(s, t)| (s.as_str(), t.as_str())), max);
            let mut seen = HashSet::new();
            for (s, t) in &pairs {
                let n = m.exposed(s, t).unwrap();
                proptest::prop_assert!(valid(n, max.max(MIN_MAX_NAME_LEN)), "{}", n);
                proptest::prop_assert_eq!(m.resolve(n), Some((s.as_str(), t.as_str())));
                seen.insert((n.to_owned(), s.clone(), t.clone()));
            }
        }
    }
}
