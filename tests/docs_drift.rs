//! Keeps `docs/architecture/` (and the lists in `docs/events.md`) true to the code.
//!
//! Two kinds of blocks live in the markdown:
//! - **generated** blocks (`<!-- BEGIN GENERATED: name (…) -->` … `<!-- END GENERATED: name -->`)
//!   are rendered from the code here; `UPDATE_DOCS=1 cargo test --test docs_drift --test layering`
//!   rewrites them, a plain `cargo test` fails when they differ;
//! - **checked** blocks (`<!-- BEGIN CHECKED: name -->` … `<!-- END CHECKED: name -->`) are
//!   hand-written (diagrams with transitions, tables with prose) and the test checks that they
//!   name exactly the modules / states / stages the code has.
//!
//! What mirrors what: the module list (`src/lib.rs`) and the observed module graph (imports);
//! every source file and its `//!` header; event types (`EventMsg` and `kind()` in
//! `src/protocol/event.rs`); agent states (`AgentState::ALL`); pipeline stages (`Stage::ALL`);
//! provider profiles (`config::providers::PROVIDERS`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod arch_support;

use arch_support::{
    Failures, SourceFile, UPDATE_CMD, doc_header, first_sentence, lib_modules, observed_edges,
    read, root, source_files, sync_block,
};
use massgen_tui::config::providers::{BackendType, PROVIDERS, WireApi};
use massgen_tui::protocol::{AgentState, Stage};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const README: &str = "docs/architecture/README.md";
const COORDINATION: &str = "docs/architecture/coordination.md";
const MESSAGES: &str = "docs/architecture/message-passing.md";
const BACKENDS: &str = "docs/architecture/backends.md";
const PIPELINE: &str = "docs/architecture/pipeline.md";
const SOURCE_MAP: &str = "docs/architecture/source-map.md";
const EVENTS_DOC: &str = "docs/events.md";
const EVENT_SRC: &str = "src/protocol/event.rs";

// ---------------------------------------------------------------------------------------------
// Reading the code.
// ---------------------------------------------------------------------------------------------

/// The variants of `pub enum <name>` in `src`, with the first line of each variant's doc
/// comment, in declaration order. Only variants at the enum's top level count (field docs of
/// struct variants are skipped).
fn enum_variants(src: &str, name: &str) -> Vec<(String, String)> {
    let start = src
        .find(&format!("pub enum {name} {{"))
        .unwrap_or_else(|| panic!("`pub enum {name}` not found in {EVENT_SRC}"));
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut doc = String::new();
    for line in src[start..].lines() {
        let t = line.trim();
        if depth == 1 {
            if let Some(d) = t.strip_prefix("///") {
                if doc.is_empty() {
                    doc = d.trim().to_owned();
                }
            } else if !t.is_empty() && !t.starts_with("#[") && !t.starts_with("//") {
                let ident: String = t
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    out.push((ident, std::mem::take(&mut doc)));
                }
            }
        }
        let code = arch_support::strip_comments_and_strings(line);
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        if depth == 0 && line.contains('}') {
            break;
        }
    }
    out
}

/// `EventMsg::Variant { .. } => "kind"` arms of `kind()`, in order.
fn kind_arms(src: &str) -> Vec<(String, String)> {
    let start = src
        .find("pub fn kind(&self)")
        .unwrap_or_else(|| panic!("`EventMsg::kind` not found in {EVENT_SRC}"));
    let body = &src[start..];
    let end = body.find("\n    }\n").unwrap_or(body.len());
    body[..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("EventMsg::")?;
            let variant: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let q = l.find("=> \"")? + 4;
            let kind: String = l[q..].chars().take_while(|c| *c != '"').collect();
            Some((variant, kind))
        })
        .collect()
}

fn snake_case(camel: &str) -> String {
    let mut s = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.extend(ch.to_lowercase());
        } else {
            s.push(ch);
        }
    }
    s
}

fn serde_name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// The code of a file without its `#[cfg(test)]` module (by convention, at the end).
fn non_test_code(f: &SourceFile) -> &str {
    match f.code.find("#[cfg(test)]") {
        Some(p) => &f.code[..p],
        None => &f.code,
    }
}

/// Which engine files construct which `EventMsg` variants (front ends only read them).
fn producers(files: &[SourceFile]) -> BTreeMap<String, BTreeSet<String>> {
    let consumers = ["protocol", "tui", "headless", "telemetry", "lib", "main"];
    let mut by_variant: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files
        .iter()
        .filter(|f| !consumers.contains(&f.module.as_str()))
    {
        let code = non_test_code(f);
        let mut rest = code;
        while let Some(p) = rest.find("EventMsg::") {
            rest = &rest[p + "EventMsg::".len()..];
            let v: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = rest[v.len()..].trim_start();
            // A construction is `EventMsg::X { field: … }`; a pattern ends in `.. }`.
            if !after.starts_with('{') {
                continue;
            }
            let close = after.find('}').unwrap_or(after.len());
            let then = after.get(close + 1..).unwrap_or("").trim_start();
            if after[..close].trim_end().ends_with("..") || then.starts_with("=>") {
                continue;
            }
            by_variant
                .entry(v)
                .or_default()
                .insert(f.rel.trim_start_matches("src/").to_owned());
        }
    }
    by_variant
}

// ---------------------------------------------------------------------------------------------
// Checked (hand-written) blocks.
// ---------------------------------------------------------------------------------------------

fn checked_block(doc: &str, name: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(root().join(doc))
        .map_err(|e| format!("{doc}: cannot read it ({e})"))?;
    let begin = format!("<!-- BEGIN CHECKED: {name} -->");
    let end = format!("<!-- END CHECKED: {name} -->");
    let s = text.find(&begin).ok_or_else(|| {
        format!("{doc}: the hand-written block `{name}` is missing (markers `{begin}` … `{end}`)")
    })? + begin.len();
    let e = s + text[s..]
        .find(&end)
        .ok_or_else(|| format!("{doc}: block `{name}` has no end marker `{end}`"))?;
    Ok(text[s..e].to_owned())
}

/// Names in backticks at the start of table rows ("| `name` |"), header rows excluded.
fn table_names(block: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = block.lines().collect();
    let mut out = BTreeSet::new();
    for (i, l) in lines.iter().enumerate() {
        let is_header = lines
            .get(i + 1)
            .is_some_and(|n| n.trim_start().starts_with("|-"));
        if is_header {
            continue;
        }
        if let Some(rest) = l.trim().strip_prefix("| `")
            && let Some(end) = rest.find('`')
        {
            out.insert(rest[..end].to_owned());
        }
    }
    out
}

/// Compare names the code has with names a doc has; report missing and stale ones.
fn compare(
    f: &mut Failures,
    what: &str,
    doc: &str,
    how: &str,
    code: &BTreeSet<String>,
    documented: &BTreeSet<String>,
) {
    let missing: Vec<_> = code.difference(documented).cloned().collect();
    let stale: Vec<_> = documented.difference(code).cloned().collect();
    if !missing.is_empty() {
        f.push(format!(
            "{doc}: {what} missing from the docs: {}. {how}",
            missing.join(", ")
        ));
    }
    if !stale.is_empty() {
        f.push(format!(
            "{doc}: documents {what} the code no longer has: {}. Remove them.",
            stale.join(", ")
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn modules_are_documented() {
    let mut f = Failures::default();
    let modules: BTreeSet<String> = lib_modules().into_iter().collect();
    match checked_block(README, "modules") {
        Ok(b) => compare(
            &mut f,
            "modules",
            README,
            "Add a row `| `name` | … |` to the module table saying what the module owns and what it does not, and give it a layering rule in tests/arch_support/mod.rs.",
            &modules,
            &table_names(&b),
        ),
        Err(e) => f.push(e),
    }
    // The observed module graph (imports between top-level modules).
    let files = source_files();
    let edges = observed_edges(&files);
    let mut g = String::new();
    let _ = writeln!(g, "```mermaid");
    let _ = writeln!(g, "flowchart BT");
    for m in lib_modules() {
        let _ = writeln!(g, "    {m}");
    }
    for (a, b) in &edges {
        let _ = writeln!(g, "    {a} --> {b}");
    }
    let _ = writeln!(g, "```");
    f.check(sync_block(README, "module-graph", &g));
    f.finish("module docs");
}

#[test]
fn every_source_file_is_in_the_source_map() {
    let mut f = Failures::default();
    let mut s = String::new();
    let _ = writeln!(s, "| file | what it is |");
    let _ = writeln!(s, "|---|---|");
    for file in source_files() {
        let header = doc_header(&file.text);
        if header.trim().is_empty() {
            f.push(format!(
                "{}: has no `//!` header. Every file under src/ opens with a short `//!` doc: what it \
                 is responsible for, and what it is not (docs/CONVENTIONS.md).",
                file.rel
            ));
            continue;
        }
        let first = first_sentence(&header).replace('|', "\\|");
        let _ = writeln!(s, "| [`{}`](../../{}) | {first} |", file.rel, file.rel);
    }
    f.check(sync_block(SOURCE_MAP, "source-map", &s));
    f.finish("source map");
}

#[test]
fn event_types_are_documented() {
    let mut f = Failures::default();
    let src = read(EVENT_SRC);
    let variants = enum_variants(&src, "EventMsg");
    let arms = kind_arms(&src);
    assert!(
        variants.len() > 10 && arms.len() == variants.len(),
        "could not parse EventMsg ({} variants) and kind() ({} arms) in {EVENT_SRC}",
        variants.len(),
        arms.len()
    );
    for ((v, _), (av, kind)) in variants.iter().zip(arms.iter()) {
        if snake_case(v) != *kind || v != av {
            f.push(format!(
                "{EVENT_SRC}: `EventMsg::{av}` has kind() `{kind}`, but serde tags `{v}` as `{}`; \
                 keep kind() in variant order and equal to the serde tag",
                snake_case(v)
            ));
        }
    }
    let kinds: BTreeSet<String> = arms.iter().map(|(_, k)| k.clone()).collect();
    // docs/events.md: one table row per type.
    let events_doc = read(EVENTS_DOC);
    compare(
        &mut f,
        "event types",
        EVENTS_DOC,
        "Add a row `| `type` | fields | emitted when |` to the payload table for each.",
        &kinds,
        &table_names(&events_doc[events_doc.find("## Payload types").unwrap_or(0)..]),
    );
    // The generated table of event types and their producers.
    let files = source_files();
    let prod = producers(&files);
    let mut s = String::new();
    let _ = writeln!(s, "| `type` | meaning | emitted by |");
    let _ = writeln!(s, "|---|---|---|");
    for (v, doc) in &variants {
        let by = prod
            .get(v)
            .map(|fs| {
                fs.iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "–".to_owned());
        let _ = writeln!(
            s,
            "| `{}` | {} | {by} |",
            snake_case(v),
            doc.replace('|', "\\|")
        );
    }
    f.check(sync_block(MESSAGES, "event-types", &s));
    // Operations front ends send back.
    let ops = enum_variants(&src, "Op");
    let mut s = String::new();
    let _ = writeln!(s, "| `op` | meaning |");
    let _ = writeln!(s, "|---|---|");
    for (v, doc) in &ops {
        let _ = writeln!(s, "| `{}` | {} |", snake_case(v), doc.replace('|', "\\|"));
    }
    f.check(sync_block(MESSAGES, "ops", &s));
    f.finish("event types");
}

#[test]
fn agent_states_are_documented() {
    let mut f = Failures::default();
    let src = read(EVENT_SRC);
    let variants = enum_variants(&src, "AgentState");
    if variants.len() != AgentState::ALL.len() {
        f.push(format!(
            "{EVENT_SRC}: `AgentState` has {} variants but `AgentState::ALL` lists {}: add the new \
             state to `ALL`",
            variants.len(),
            AgentState::ALL.len()
        ));
    }
    let names: BTreeSet<String> = AgentState::ALL.iter().map(serde_name).collect();
    // The hand-written state diagram must use exactly these states.
    match checked_block(COORDINATION, "agent-states") {
        Ok(b) => {
            let mut used = BTreeSet::new();
            for line in b.lines().filter(|l| l.contains("-->")) {
                let line = line.split(':').next().unwrap_or("");
                for side in line.split("-->") {
                    let s = side.trim();
                    if !s.is_empty() && s != "[*]" {
                        used.insert(s.to_owned());
                    }
                }
            }
            compare(
                &mut f,
                "agent states",
                COORDINATION,
                "Add each state with its transitions (who emits it and when) to the stateDiagram.",
                &names,
                &used,
            );
        }
        Err(e) => f.push(e),
    }
    // The generated list of states with their meaning.
    let mut s = String::new();
    let _ = writeln!(s, "| state | meaning |");
    let _ = writeln!(s, "|---|---|");
    for (v, doc) in &variants {
        let _ = writeln!(s, "| `{}` | {doc} |", snake_case(v));
    }
    f.check(sync_block(COORDINATION, "agent-state-list", &s));
    f.finish("agent states");
}

#[test]
fn pipeline_stages_are_documented() {
    let mut f = Failures::default();
    let src = read(EVENT_SRC);
    let variants = enum_variants(&src, "Stage");
    if variants.len() != Stage::ALL.len() {
        f.push(format!(
            "{EVENT_SRC}: `Stage` has {} variants but `Stage::ALL` lists {}: add the new stage to `ALL`",
            variants.len(),
            Stage::ALL.len()
        ));
    }
    let names: BTreeSet<String> = Stage::ALL.iter().map(serde_name).collect();
    match checked_block(PIPELINE, "stage-table") {
        Ok(b) => compare(
            &mut f,
            "pipeline stages",
            PIPELINE,
            "Add a row per stage saying what runs in it, what is timed and what is logged.",
            &names,
            &table_names(&b),
        ),
        Err(e) => f.push(e),
    }
    let docs: BTreeMap<String, String> = variants
        .iter()
        .map(|(v, d)| (snake_case(v), d.clone()))
        .collect();
    let mut s = String::new();
    let _ = writeln!(s, "```mermaid");
    let _ = writeln!(s, "flowchart LR");
    let _ = writeln!(s, "    start((question)) --> {}", serde_name(Stage::ALL[0]));
    for w in Stage::ALL.windows(2) {
        let _ = writeln!(s, "    {} --> {}", serde_name(w[0]), serde_name(w[1]));
    }
    for st in Stage::ALL {
        let n = serde_name(st);
        let doc = docs.get(&n).cloned().unwrap_or_default().replace('"', "'");
        let _ = writeln!(s, "    {n}[\"<b>{}</b><br/>{doc}\"]", st.label());
    }
    let last = serde_name(Stage::ALL[Stage::ALL.len() - 1]);
    let _ = writeln!(s, "    {last} --> done((run_finished))");
    let _ = writeln!(s, "```");
    f.check(sync_block(PIPELINE, "stages", &s));
    f.finish("pipeline stages");
}

fn mermaid_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}

#[test]
fn provider_profiles_are_documented() {
    let mut f = Failures::default();
    let mut s = String::new();
    let _ = writeln!(s, "```mermaid");
    let _ = writeln!(s, "flowchart LR");
    let _ = writeln!(s, "    subgraph types[\"backend.type\"]");
    for t in BackendType::ALL {
        let _ = writeln!(
            s,
            "        bt_{}[\"{}\"]",
            mermaid_id(t.as_str()),
            t.as_str()
        );
    }
    let _ = writeln!(s, "    end");
    let apis = [
        WireApi::ChatCompletions,
        WireApi::Responses,
        WireApi::AnthropicMessages,
        WireApi::Gemini,
        WireApi::Unsupported,
    ];
    for api in apis {
        let members: Vec<_> = PROVIDERS.iter().filter(|p| p.api == api).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "    subgraph api_{}[\"wire API: {}\"]",
            mermaid_id(api.as_str()),
            api.as_str()
        );
        for p in members {
            let _ = writeln!(
                s,
                "        p_{}[\"{}<br/><code>{}</code>\"]",
                mermaid_id(p.id),
                p.display_name,
                p.id
            );
        }
        let _ = writeln!(s, "    end");
    }
    for p in PROVIDERS {
        for t in p.backend_types {
            let _ = writeln!(
                s,
                "    bt_{} --> p_{}",
                mermaid_id(t.as_str()),
                mermaid_id(p.id)
            );
        }
    }
    let _ = writeln!(s, "```");
    let covered: usize = apis
        .iter()
        .map(|a| PROVIDERS.iter().filter(|p| p.api == *a).count())
        .sum();
    if covered != PROVIDERS.len() {
        f.push(format!(
            "tests/docs_drift.rs: a provider uses a wire API this test does not draw; add the new \
             `WireApi` variant to `apis` in `provider_profiles_are_documented`, then run `{UPDATE_CMD}`"
        ));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{} profiles. Per-provider details (hosts, key variables, dialect flags, quirks) are in \
         [docs/providers.md](../providers.md), generated from the same table.",
        PROVIDERS.len()
    );
    f.check(sync_block(BACKENDS, "providers", &s));
    f.finish("provider profiles");
}

#[test]
fn architecture_docs_link_to_each_other() {
    // The README is the entry point: every page of docs/architecture/ must be reachable from it,
    // and relative links must point at files that exist.
    let mut f = Failures::default();
    let dir = root().join("docs/architecture");
    let readme = read(README);
    let mut pages = Vec::new();
    for sub in ["", "decisions"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "md") {
                pages.push(p);
            }
        }
    }
    pages.sort();
    for p in &pages {
        let rel = p
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // Top-level pages are linked from the README, ADRs from decisions/README.md.
        let (index, index_text, link) = match rel.strip_prefix("decisions/") {
            Some(adr) if adr != "README.md" => (
                "docs/architecture/decisions/README.md",
                read("docs/architecture/decisions/README.md"),
                adr.to_owned(),
            ),
            _ => (README, readme.clone(), rel.clone()),
        };
        if rel != "README.md" && !index_text.contains(&format!("]({link}")) {
            f.push(format!(
                "{index}: does not link to docs/architecture/{rel}; add it to the list there"
            ));
        }
        let text = std::fs::read_to_string(p).unwrap();
        let base = p.parent().unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let target: String = rest.chars().take_while(|c| *c != ')').collect();
            let path = target.split('#').next().unwrap_or("");
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            if !base.join(path).exists() {
                f.push(format!(
                    "docs/architecture/{rel}: broken link `{target}` (no such file)"
                ));
            }
        }
    }
    f.finish("architecture doc links");
}

#[test]
fn the_parsers_catch_an_undocumented_event_type() {
    // Guards the text parsers themselves: a variant added to EventMsg (with its kind() arm)
    // but not to docs/events.md must be reported by name.
    let src = r#"
pub enum EventMsg {
    /// First event.
    RunStarted {
        /// A field doc, not a variant.
        question: String,
    },
    /// A brand-new event.
    BrandNew { x: u32 },
}
impl EventMsg {
    pub fn kind(&self) -> &'static str {
        match self {
            EventMsg::RunStarted { .. } => "run_started",
            EventMsg::BrandNew { .. } => "brand_new",
        }
    }
}
"#;
    assert_eq!(
        enum_variants(src, "EventMsg"),
        vec![
            ("RunStarted".to_owned(), "First event.".to_owned()),
            ("BrandNew".to_owned(), "A brand-new event.".to_owned())
        ]
    );
    let arms = kind_arms(src);
    assert_eq!(arms.len(), 2);
    assert_eq!(arms[1], ("BrandNew".to_owned(), "brand_new".to_owned()));
    let code: BTreeSet<String> = arms.into_iter().map(|(_, k)| k).collect();
    let doc = table_names("| `type` | fields |\n|---|---|\n| `run_started` | `question` |\n");
    let mut f = Failures::default();
    compare(&mut f, "event types", EVENTS_DOC, "Add a row.", &code, &doc);
    assert_eq!(f.messages().len(), 1, "{:?}", f.messages());
    assert!(
        f.messages()[0].contains("docs/events.md: event types missing from the docs: brand_new")
    );
}
