//! Module layering, enforced.
//!
//! The rules live in `tests/arch_support/mod.rs` (`RULES`, `EXCLUSIVE_CRATES`,
//! `KNOWN_EXCEPTIONS`) and are explained in `docs/CONVENTIONS.md`, whose `layering` block is
//! generated from them. Each test scans the source as text: every `crate::…` path (and
//! `super::…` paths that climb to the crate root, and `massgen_tui::…` in the binary) in every
//! file under `src/<module>/` must name a module that `<module>` may use.
//!
//! When a test fails it names the file, the line and the import. Fix the code (usually: move
//! the type to a lower layer, or pass it in through a trait defined in the lower layer), or —
//! if the architecture really changes — change `RULES` and run
//! `UPDATE_DOCS=1 cargo test --test docs_drift --test layering`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod arch_support;

use arch_support::{
    EXCLUSIVE_CRATES, Failures, KNOWN_EXCEPTIONS, PRINT_ALLOWED, PROTOCOL_FORBIDDEN, RULES,
    crate_uses, external_uses, lib_modules, rule, source_files, strip_comments_and_strings,
    sync_block,
};
use std::collections::BTreeSet;
use std::fmt::Write as _;

#[test]
fn every_module_has_a_layering_rule() {
    let mut f = Failures::default();
    let modules = lib_modules();
    assert!(
        modules.len() >= 5,
        "could not read the module list from src/lib.rs"
    );
    for m in &modules {
        if rule(m).is_none() {
            f.push(format!(
                "module `{m}` (declared in src/lib.rs) has no layering rule: add a `Rule` for it to \
                 `RULES` in tests/arch_support/mod.rs (which modules it may use and why), describe it \
                 in docs/architecture/README.md, then run `UPDATE_DOCS=1 cargo test --test docs_drift --test layering`"
            ));
        }
    }
    for r in RULES {
        if !modules.iter().any(|m| m == r.module) {
            f.push(format!(
                "`RULES` in tests/arch_support/mod.rs has a rule for `{}`, which src/lib.rs no longer declares: remove it",
                r.module
            ));
        }
        for dep in r.may_use {
            if rule(dep).is_none() {
                f.push(format!(
                    "the rule for `{}` allows `{dep}`, which has no rule itself",
                    r.module
                ));
            }
        }
    }
    f.finish("module list vs layering rules");
}

#[test]
fn the_rules_are_transitively_closed_and_acyclic() {
    // A layer may use everything its dependencies may use; and no two layers use each other.
    let mut f = Failures::default();
    for a in RULES {
        for b in a.may_use {
            if *b == a.module {
                f.push(format!("`{}` lists itself", a.module));
            }
            let Some(rb) = rule(b) else { continue };
            if rb.may_use.contains(&a.module) {
                f.push(format!(
                    "`{}` and `{b}` may use each other: a cycle",
                    a.module
                ));
            }
            for c in rb.may_use {
                if *c != a.module && !a.may_use.contains(c) {
                    f.push(format!(
                        "`{}` may use `{b}`, which may use `{c}`, but `{}` may not use `{c}`: add it",
                        a.module, a.module
                    ));
                }
            }
        }
    }
    f.finish("layering rules");
}

#[test]
fn modules_only_import_what_their_layer_allows() {
    let modules: BTreeSet<String> = lib_modules().into_iter().collect();
    let mut f = Failures::default();
    let mut seen_exceptions = BTreeSet::new();
    let files = source_files();
    assert!(files.len() > 10, "no source files found under src/");
    for file in &files {
        let allowed: Vec<&str> = match file.module.as_str() {
            "lib" => continue,
            "main" => vec!["cli"],
            m => match rule(m) {
                Some(r) => r.may_use.to_vec(),
                // Reported by `every_module_has_a_layering_rule`.
                None => continue,
            },
        };
        for u in crate_uses(file) {
            if !modules.contains(&u.target) || allowed.contains(&u.target.as_str()) {
                continue;
            }
            if let Some(k) = KNOWN_EXCEPTIONS
                .iter()
                .position(|k| k.file == file.rel && k.target == u.target)
            {
                seen_exceptions.insert(k);
                continue;
            }
            f.push(format!(
                "{}:{}: `{}`: module `{}` may not use `{}` (it may use: {}). Move the item to a lower \
                 layer or hand it in through a trait or plain data; see docs/CONVENTIONS.md#layering",
                file.rel,
                u.line,
                u.path,
                file.module,
                u.target,
                if allowed.is_empty() {
                    "nothing else in the crate".to_owned()
                } else {
                    allowed.join(", ")
                }
            ));
        }
    }
    for (k, e) in KNOWN_EXCEPTIONS.iter().enumerate() {
        if !seen_exceptions.contains(&k) {
            f.push(format!(
                "the known layering exception `{}` → `{}` no longer occurs: remove it from \
                 `KNOWN_EXCEPTIONS` in tests/arch_support/mod.rs (and from docs/CONVENTIONS.md)",
                e.file, e.target
            ));
        }
    }
    f.finish("layering violations");
}

#[test]
fn external_crates_stay_in_their_modules() {
    let names: Vec<&str> = EXCLUSIVE_CRATES.iter().map(|(c, _, _)| *c).collect();
    let mut f = Failures::default();
    for file in source_files() {
        for u in external_uses(&file, &names) {
            let Some((_, owners, why)) = EXCLUSIVE_CRATES.iter().find(|(c, _, _)| *c == u.target)
            else {
                continue;
            };
            if !owners.contains(&file.module.as_str()) {
                f.push(format!(
                    "{}:{}: `{}`: `{}` may only be used in {} ({why})",
                    file.rel,
                    u.line,
                    u.path,
                    u.target,
                    owners
                        .iter()
                        .map(|o| format!("src/{o}/"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    f.finish("external crates outside their modules");
}

#[test]
fn protocol_is_pure_data() {
    let mut f = Failures::default();
    for file in source_files()
        .into_iter()
        .filter(|s| s.module == "protocol")
    {
        for u in external_uses(&file, PROTOCOL_FORBIDDEN) {
            f.push(format!(
                "{}:{}: `{}`: the protocol module is pure data (no I/O, no async runtime, no \
                 logging); keep `{}` in the engine or the front ends",
                file.rel, u.line, u.path, u.target
            ));
        }
    }
    f.finish("protocol purity");
}

#[test]
fn only_front_of_house_code_prints_to_the_terminal() {
    // The TUI owns the terminal while it runs: the engine, the TUI itself and the log sinks
    // report through events or `tracing`, never by printing.
    let mut f = Failures::default();
    for file in source_files() {
        if PRINT_ALLOWED.contains(&file.module.as_str())
            || PRINT_ALLOWED.contains(&file.rel.as_str())
        {
            continue;
        }
        for (n, line) in file.code.lines().enumerate() {
            for mac in ["println!", "eprintln!", "print!", "eprint!"] {
                let hit = line.match_indices(mac).any(|(i, _)| {
                    i == 0
                        || !line[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if hit {
                    f.push(format!(
                        "{}:{}: `{mac}` outside {}: emit an event or use `tracing` instead \
                         (printing would corrupt the TUI; docs/CONVENTIONS.md#logging-and-events)",
                        file.rel,
                        n + 1,
                        PRINT_ALLOWED.join(", ")
                    ));
                }
            }
        }
    }
    f.finish("printing to the terminal");
}

#[test]
fn the_scanner_sees_through_comments_strings_and_groups() {
    // Guards the text scan itself, so a passing layering test means something.
    let src = r#"
//! Docs mention crate::tui::Thing, which is not an import.
use crate::{protocol::Event, backend::{ChatBackend, ToolSpec}};
use super::super::mcp::McpManager;
fn f() -> &'static str { let _c = '"'; "crate::app::run is text" }
/* crate::cli in a block comment */
pub(crate) fn g() { crate::orchestrator::run(); }
"#;
    let file = arch_support::SourceFile {
        rel: "src/headless/x.rs".into(),
        module: "headless".into(),
        mod_path: vec!["headless".into(), "x".into()],
        text: src.into(),
        code: strip_comments_and_strings(src),
    };
    let targets: BTreeSet<String> = crate_uses(&file).into_iter().map(|u| u.target).collect();
    let want: BTreeSet<String> = ["protocol", "backend", "mcp", "orchestrator"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(targets, want);
}

/// The `layering` block of docs/CONVENTIONS.md: the rules as a table and as a graph (only the
/// direct edges; the rules are transitively closed, so every path in the graph is allowed).
fn layering_block() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| module | may use (`crate::…`) | why |");
    let _ = writeln!(s, "|---|---|---|");
    for r in RULES {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            r.module,
            if r.may_use.is_empty() {
                "nothing in the crate".to_owned()
            } else {
                r.may_use
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            r.why
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "The binary (`src/main.rs`) uses only `cli`. External crates with a single home:"
    );
    let _ = writeln!(s);
    for (c, owners, why) in EXCLUSIVE_CRATES {
        let _ = writeln!(
            s,
            "- `{c}`: only in {} ({why})",
            owners
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        s,
        "- `protocol` uses none of {}",
        PROTOCOL_FORBIDDEN
            .iter()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "Known exceptions (tolerated, to be removed):");
    let _ = writeln!(s);
    if KNOWN_EXCEPTIONS.is_empty() {
        let _ = writeln!(s, "- none");
    }
    for e in KNOWN_EXCEPTIONS {
        let why = e.why.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(s, "- `{}` uses `{}`: {why}", e.file, e.target);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "```mermaid");
    let _ = writeln!(s, "flowchart BT");
    for r in RULES {
        for b in r.may_use {
            let implied = r
                .may_use
                .iter()
                .any(|c| c != b && rule(c).is_some_and(|rc| rc.may_use.contains(b)));
            if !implied {
                let _ = writeln!(s, "    {} --> {}", r.module, b);
            }
        }
    }
    let _ = writeln!(s, "```");
    s
}

#[test]
fn conventions_doc_shows_the_layering_rules() {
    let mut f = Failures::default();
    f.check(sync_block(
        "docs/CONVENTIONS.md",
        "layering",
        &layering_block(),
    ));
    f.finish("docs/CONVENTIONS.md");
}
