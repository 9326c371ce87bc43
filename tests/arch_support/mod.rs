//! Shared helpers for the architecture tests (`tests/layering.rs`, `tests/docs_drift.rs`).
//!
//! Responsibilities: reading the crate's source as text (module tree from `src/lib.rs`, every
//! `.rs` file under `src/` with comments and string literals blanked out), finding the
//! crate-internal and external paths each file uses, the layering rules, and keeping
//! generated blocks of markdown files in sync (`UPDATE_DOCS=1` rewrites them).
//! Non-responsibilities: compiling anything. These are text scans, deliberately simple: they
//! read the same source a reviewer reads.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The command that regenerates every generated block of the architecture docs.
pub const UPDATE_CMD: &str = "UPDATE_DOCS=1 cargo test --test docs_drift --test layering";

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Read a file relative to the crate root, failing with the path in the message.
pub fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Layering rules: the single place they are written down. `docs/CONVENTIONS.md` shows them in a
// generated block; `tests/layering.rs` enforces them.
// ---------------------------------------------------------------------------------------------

/// One top-level module, what it may import from the crate, and why it sits where it does.
pub struct Rule {
    /// Module name (`src/<name>.rs` or `src/<name>/`).
    pub module: &'static str,
    /// Top-level modules it may use (`crate::<m>`). Its own module is always allowed.
    pub may_use: &'static [&'static str],
    /// One line for the docs.
    pub why: &'static str,
}

/// The layering of the crate, lowest layer first.
pub const RULES: &[Rule] = &[
    Rule {
        module: "protocol",
        may_use: &[],
        why: "pure data (events, ops, ids): the seam every other module speaks",
    },
    Rule {
        module: "config",
        may_use: &[],
        why: "YAML/JSON → validated `RunPlan`; provider table; knows nothing of the engine",
    },
    Rule {
        module: "backend",
        may_use: &["protocol", "config"],
        why: "LLM wire protocols behind `ChatBackend`",
    },
    Rule {
        module: "mcp",
        may_use: &["protocol", "config"],
        why: "MCP client layer on rmcp; talks to servers, emits events",
    },
    Rule {
        module: "sandbox",
        may_use: &["protocol", "config"],
        why: "code execution under limits (planned)",
    },
    Rule {
        module: "telemetry",
        may_use: &["protocol", "config"],
        why: "tracing log files and run records; consumes events",
    },
    Rule {
        module: "replay",
        may_use: &["protocol", "config"],
        why: "reads recorded `events.jsonl` files and paces them; front ends show them",
    },
    Rule {
        module: "orchestrator",
        may_use: &[
            "protocol",
            "config",
            "backend",
            "mcp",
            "sandbox",
            "telemetry",
        ],
        why: "the coordination engine; reaches tools only through its `ToolProvider` trait",
    },
    Rule {
        module: "tui",
        may_use: &["protocol", "config", "telemetry"],
        why: "front end: a fold of events into a view; never engine internals",
    },
    Rule {
        module: "headless",
        may_use: &["protocol", "config", "telemetry"],
        why: "front end: events → progress lines or JSON lines",
    },
    Rule {
        module: "app",
        may_use: &[
            "protocol",
            "config",
            "backend",
            "mcp",
            "sandbox",
            "telemetry",
            "replay",
            "orchestrator",
            "tui",
            "headless",
        ],
        why: "composition root: wires everything; only `cli` uses it",
    },
    Rule {
        module: "cli",
        may_use: &[
            "protocol",
            "config",
            "backend",
            "mcp",
            "sandbox",
            "telemetry",
            "replay",
            "orchestrator",
            "tui",
            "headless",
            "app",
        ],
        why: "clap parsing, `validate`, debug subcommands; hands runs to `app`",
    },
];

/// External crates that only some modules may use (the rest of the crate must not).
pub const EXCLUSIVE_CRATES: &[(&str, &[&str], &str)] = &[
    ("ratatui", &["tui"], "only the TUI draws"),
    ("crossterm", &["tui"], "only the TUI owns the terminal"),
    ("ratatui_textarea", &["tui"], "only the TUI draws"),
    ("ansi_to_tui", &["tui"], "only the TUI draws"),
    ("rmcp", &["mcp"], "MCP stays behind the `mcp` module"),
    (
        "axum",
        &["mcp"],
        "HTTP serving exists only for the MCP test server",
    ),
    (
        "reqwest",
        &["backend", "mcp"],
        "HTTP clients live in backends and MCP transports",
    ),
    (
        "tracing_subscriber",
        &["telemetry"],
        "subscribers are installed in one place",
    ),
    (
        "tracing_appender",
        &["telemetry"],
        "log files are written in one place",
    ),
    ("serde_saphyr", &["config"], "YAML is parsed in one place"),
];

/// External crates `protocol` must not use: it is pure data (no I/O, no async runtime).
pub const PROTOCOL_FORBIDDEN: &[&str] = &["tokio", "tokio_util", "futures", "tracing"];

/// Where `print!`/`println!`/`eprint!`/`eprintln!` may appear: modules that run before the TUI
/// takes the terminal or instead of it, and files whose output is their purpose. Everything else
/// reports through events or `tracing`, so nothing writes over the TUI.
pub const PRINT_ALLOWED: &[&str] = &[
    "main",
    "cli",
    "app",
    "headless",
    // The test server is its own process; its stderr is the server's log (stdout is the
    // protocol channel and is never printed to).
    "src/mcp/test_server.rs",
];

/// A known violation of [`RULES`] that the code has today, with the reason it is tolerated.
pub struct KnownException {
    /// File (relative to the crate root).
    pub file: &'static str,
    /// The module it imports against the rules.
    pub target: &'static str,
    /// Why, and what would remove it.
    pub why: &'static str,
}

/// Known exceptions. Each one is reported to the lead; remove the entry when the code is fixed
/// (the layering test fails on a stale entry so the list stays honest).
pub const KNOWN_EXCEPTIONS: &[KnownException] = &[];

/// The rule for `module`.
pub fn rule(module: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.module == module)
}

// ---------------------------------------------------------------------------------------------
// Source scanning.
// ---------------------------------------------------------------------------------------------

/// The top-level modules declared in `src/lib.rs` (`pub mod x;` / `mod x;`), in file order.
pub fn lib_modules() -> Vec<String> {
    let lib = strip_comments_and_strings(&read("src/lib.rs"));
    let mut out = Vec::new();
    for line in lib.lines() {
        let l = line.trim();
        let rest = l
            .strip_prefix("pub mod ")
            .or_else(|| l.strip_prefix("pub(crate) mod "))
            .or_else(|| l.strip_prefix("mod "));
        if let Some(rest) = rest
            && let Some(name) = rest.strip_suffix(';')
        {
            out.push(name.trim().to_owned());
        }
    }
    out
}

/// One source file.
pub struct SourceFile {
    /// Path relative to the crate root, with `/` separators (`src/tui/model.rs`).
    pub rel: String,
    /// Top-level module (`tui`), or `lib` / `main` for the crate roots.
    pub module: String,
    /// Module path of the file (`["tui", "model"]`; `[]` for the crate roots).
    pub mod_path: Vec<String>,
    /// The text.
    pub text: String,
    /// The text with comments and string/char literal contents blanked (same line numbers).
    pub code: String,
}

/// Every `.rs` file under `src/`, sorted by path.
pub fn source_files() -> Vec<SourceFile> {
    let mut paths = Vec::new();
    collect_rs(&root().join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root())
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let code = strip_comments_and_strings(&text);
            let parts: Vec<&str> = rel.trim_start_matches("src/").split('/').collect();
            let mut mod_path: Vec<String> = parts
                .iter()
                .map(|s| s.trim_end_matches(".rs").to_owned())
                .collect();
            if mod_path.last().is_some_and(|s| s == "mod") {
                mod_path.pop();
            }
            let module = mod_path.first().cloned().unwrap_or_default();
            if parts.len() == 1 && (module == "lib" || module == "main") {
                mod_path.clear();
            }
            SourceFile {
                rel,
                module,
                mod_path,
                text,
                code,
            }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Blank out comments (line, block, doc) and the contents of string and char literals,
/// keeping line breaks so line numbers still match.
pub fn strip_comments_and_strings(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            continue;
        }
        // Raw strings: r"..", r#".."#, br#".."#.
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if ch == 'r' && !prev_ident || (ch == 'b' && next == Some('r') && !prev_ident) {
            let start = if ch == 'b' { i + 2 } else { i + 1 };
            let mut j = start;
            while j < c.len() && c[j] == '#' {
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                let hashes = j - start;
                for k in &c[i..=j] {
                    out.push(*k);
                }
                i = j + 1;
                while i < c.len() {
                    if c[i] == '"' && (0..hashes).all(|h| c.get(i + 1 + h) == Some(&'#')) {
                        out.push('"');
                        for _ in 0..hashes {
                            out.push('#');
                        }
                        i += 1 + hashes;
                        break;
                    }
                    out.push(blank(c[i]));
                    i += 1;
                }
                continue;
            }
        }
        if ch == '"' {
            out.push('"');
            i += 1;
            while i < c.len() {
                if c[i] == '\\' {
                    out.push(' ');
                    if let Some(&n) = c.get(i + 1) {
                        out.push(blank(n));
                    }
                    i += 2;
                    continue;
                }
                if c[i] == '"' {
                    out.push('"');
                    i += 1;
                    break;
                }
                out.push(blank(c[i]));
                i += 1;
            }
            continue;
        }
        if ch == '\'' {
            // Char literal ('x', '\n', '\u{..}') or a lifetime/label ('a).
            if next == Some('\\') {
                // '\n', '\'', '\\', '\u{1F600}': skip the escaped char, then up to the quote.
                out.push_str("'  ");
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    out.push(' ');
                    i += 1;
                }
                out.push('\'');
                i += 1;
                continue;
            }
            if c.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
                continue;
            }
        }
        out.push(ch);
        i += 1;
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Dollar,
    Other,
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[s..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((
                match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    '$' => Tok::Dollar,
                    _ => Tok::Other,
                },
                line,
            ));
            i += 1;
        }
    }
    out
}

/// A path in a file that reaches another top-level module of the crate or an external crate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathUse {
    /// 1-based line.
    pub line: usize,
    /// The first segment after the crate root (`backend` in `crate::backend::ToolSpec`), or the
    /// external crate's name.
    pub target: String,
    /// The path as written, up to the first non-path token (`crate::backend::ToolSpec`).
    pub path: String,
}

fn path_text(toks: &[(Tok, usize)], from: usize) -> String {
    let mut s = String::new();
    let mut depth = 0;
    for (t, _) in &toks[from..] {
        match t {
            Tok::Ident(x) => s.push_str(x),
            Tok::PathSep => s.push_str("::"),
            Tok::Open => {
                depth += 1;
                s.push('{');
            }
            Tok::Close if depth > 0 => {
                depth -= 1;
                s.push('}');
                if depth == 0 {
                    break;
                }
            }
            Tok::Comma if depth > 0 => s.push_str(", "),
            _ if depth > 0 => {}
            _ => break,
        }
        if s.len() > 160 {
            s.push('…');
            break;
        }
    }
    s
}

/// First identifiers of the items of a `{ .. }` group starting at `open`.
fn group_heads(toks: &[(Tok, usize)], open: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for (t, line) in &toks[open..] {
        match t {
            Tok::Open => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
            }
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Comma if depth == 1 => expect_head = true,
            Tok::Ident(x) if depth == 1 && expect_head => {
                out.push((x.clone(), *line));
                expect_head = false;
            }
            _ => {
                if depth == 1 {
                    expect_head = false;
                }
            }
        }
    }
    out
}

/// Paths in `file` that name another top-level module of the crate (`crate::x`, `super::…`
/// reaching the crate root, `massgen_tui::x` in the binary).
pub fn crate_uses(file: &SourceFile) -> Vec<PathUse> {
    let toks = tokens(&file.code);
    let mut out = Vec::new();
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(x), _)) => Some(x.as_str()),
        _ => None,
    };
    let is_sep = |k: usize| matches!(toks.get(k), Some((Tok::PathSep, _)));
    for k in 0..toks.len() {
        let starts_path = k == 0 || !matches!(toks[k - 1].0, Tok::PathSep | Tok::Dollar);
        if !starts_path {
            continue;
        }
        let (after_root, root_ok) = match ident(k) {
            Some("crate") | Some("massgen_tui") if is_sep(k + 1) => (k + 2, true),
            Some("super") if is_sep(k + 1) => {
                // Resolve super::super::… against the file's module path.
                let mut depth = file.mod_path.len();
                let mut j = k;
                while ident(j) == Some("super") && is_sep(j + 1) {
                    depth = depth.saturating_sub(1);
                    j += 2;
                }
                (j, depth == 0)
            }
            _ => continue,
        };
        if !root_ok {
            continue;
        }
        let line = toks[k].1;
        let path = path_text(&toks, k);
        match toks.get(after_root) {
            Some((Tok::Ident(m), _)) => out.push(PathUse {
                line,
                target: m.clone(),
                path,
            }),
            Some((Tok::Open, _)) => {
                for (m, l) in group_heads(&toks, after_root) {
                    out.push(PathUse {
                        line: l,
                        target: m,
                        path: path.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    out.retain(|u| u.target != "self" && u.target != file.module);
    out
}

/// Paths in `file` that start with one of `crates` (`ratatui::…`, `use rmcp::{…}`).
pub fn external_uses(file: &SourceFile, crates: &[&str]) -> Vec<PathUse> {
    let toks = tokens(&file.code);
    let mut out = Vec::new();
    for k in 0..toks.len() {
        let starts_path = k == 0 || !matches!(toks[k - 1].0, Tok::PathSep | Tok::Dollar);
        if let (true, Some((Tok::Ident(x), line)), Some((Tok::PathSep, _))) =
            (starts_path, toks.get(k), toks.get(k + 1))
            && crates.contains(&x.as_str())
        {
            out.push(PathUse {
                line: *line,
                target: x.clone(),
                path: path_text(&toks, k),
            });
        }
    }
    out
}

/// Observed dependencies between top-level modules: (from, to) pairs over all files, with
/// the code of `#[cfg(test)]` modules included (tests must respect the layering too).
pub fn observed_edges(files: &[SourceFile]) -> BTreeSet<(String, String)> {
    let modules: BTreeSet<String> = lib_modules().into_iter().collect();
    let mut edges = BTreeSet::new();
    for f in files {
        if f.module == "lib" {
            continue;
        }
        for u in crate_uses(f) {
            if modules.contains(&u.target) {
                edges.insert((f.module.clone(), u.target));
            }
        }
    }
    edges
}

/// The `//!` header of a file, joined into one paragraph per blank `//!` line.
pub fn doc_header(text: &str) -> String {
    let mut s = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("//!") {
            s.push_str(rest.trim());
            s.push('\n');
        } else if t.starts_with("#![") || t.is_empty() && s.is_empty() {
            continue;
        } else {
            break;
        }
    }
    s
}

/// The first sentence of a doc header (up to the first `. ` / `.\n`, or the first paragraph).
pub fn first_sentence(header: &str) -> String {
    let para = header.split("\n\n").next().unwrap_or("");
    let flat = para.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut end = flat.len();
    let bytes = flat.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'.' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            // Skip abbreviations such as "e.g." and "i.e.".
            let before = &flat[..i];
            if before.ends_with("e.g") || before.ends_with("i.e") || before.ends_with("etc") {
                continue;
            }
            end = i + 1;
            break;
        }
    }
    flat[..end].to_owned()
}

// ---------------------------------------------------------------------------------------------
// Generated blocks in markdown.
// ---------------------------------------------------------------------------------------------

/// Whether this test run should rewrite generated blocks.
pub fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1")
}

fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- BEGIN GENERATED: {name} ({UPDATE_CMD}) -->"),
        format!("<!-- END GENERATED: {name} -->"),
    )
}

/// The current content of the generated block `name` in `doc` (relative path), if present.
pub fn block(doc: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(root().join(doc)).ok()?;
    let (begin, end) = markers(name);
    let s = text.find(&begin)? + begin.len();
    let e = s + text[s..].find(&end)?;
    Some(text[s..e].trim_matches('\n').to_owned())
}

/// Keep the generated block `name` of `doc` equal to `generated`: rewrite it when
/// `UPDATE_DOCS=1`, otherwise return an error saying which file to update and how.
pub fn sync_block(doc: &str, name: &str, generated: &str) -> Result<(), String> {
    let path = root().join(doc);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("{doc}: cannot read it ({e}); it must exist and hold the generated block `{name}`")
    })?;
    let (begin, end) = markers(name);
    let Some(bpos) = text.find(&begin) else {
        return Err(format!(
            "{doc}: the generated block `{name}` is missing. Add these two lines where it belongs, then run `{UPDATE_CMD}`:\n{begin}\n{end}"
        ));
    };
    let s = bpos + begin.len();
    let Some(rel_end) = text[s..].find(&end) else {
        return Err(format!(
            "{doc}: the generated block `{name}` has no end marker `{end}`"
        ));
    };
    let e = s + rel_end;
    let current = text[s..e].trim_matches('\n');
    let want = generated.trim_matches('\n');
    if current == want {
        return Ok(());
    }
    if updating() {
        let mut new = String::with_capacity(text.len());
        new.push_str(&text[..s]);
        new.push('\n');
        new.push_str(want);
        new.push('\n');
        new.push_str(&text[e..]);
        std::fs::write(&path, new).map_err(|e| format!("{doc}: cannot write it: {e}"))?;
        return Ok(());
    }
    Err(format!(
        "{doc} is out of date: its generated block `{name}` no longer matches the code.\n\
         Regenerate it with:\n    {UPDATE_CMD}\n\
         then review the diff (and the prose around the block).\n{}",
        first_difference(current, want)
    ))
}

fn first_difference(current: &str, want: &str) -> String {
    let cur: Vec<&str> = current.lines().collect();
    let new: Vec<&str> = want.lines().collect();
    let mut s = String::new();
    for i in 0..cur.len().max(new.len()) {
        let (a, b) = (cur.get(i), new.get(i));
        if a != b {
            let _ = writeln!(s, "first difference at line {} of the block:", i + 1);
            let _ = writeln!(s, "  in the doc:  {}", a.unwrap_or(&"<nothing>"));
            let _ = writeln!(s, "  from code:   {}", b.unwrap_or(&"<nothing>"));
            break;
        }
    }
    s
}

/// Collect failures and report them all at once.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    /// Record a failure.
    pub fn push(&mut self, msg: impl Into<String>) {
        self.0.push(msg.into());
    }
    /// Record the error of a result.
    pub fn check(&mut self, r: Result<(), String>) {
        if let Err(e) = r {
            self.0.push(e);
        }
    }
    /// The failures so far.
    pub fn messages(&self) -> &[String] {
        &self.0
    }
    /// Panic with every failure, numbered.
    pub fn finish(self, what: &str) {
        if self.0.is_empty() {
            return;
        }
        let mut s = format!("{what}: {} problem(s)\n", self.0.len());
        for (i, f) in self.0.iter().enumerate() {
            let _ = writeln!(s, "\n{}. {f}", i + 1);
        }
        panic!("{s}");
    }
}
