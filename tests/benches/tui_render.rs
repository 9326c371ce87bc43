//! TUI performance: one frame at 200×50 with 4 agent panes of 100,000 lines each (target
//! p99 < 2 ms), and ingesting 1,000,000 streamed deltas into the view model (target < 1 s).
//!
//! `cargo bench --bench tui_render` runs the divan benchmarks. With `TUI_BENCH_REPORT=1` it
//! also prints frame-time percentiles (p50/p99/max over 2,000 frames) and the peak resident
//! memory (VmHWM) of the 1,000,000-delta scenario, measured in a fresh process state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use massgen_tui::protocol::*;
use massgen_tui::tui::model::ViewModel;
use massgen_tui::tui::render::render;
use massgen_tui::tui::ui::{Scroll, UiState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::time::Instant;

const AGENTS: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn ev(seq: u64, agent: Option<&str>, msg: EventMsg) -> Event {
    Event {
        seq,
        run_id: RunId::new("bench"),
        at: t0() + chrono::Duration::milliseconds(seq as i64 / 1000),
        stage: Stage::Coordination,
        agent: agent.map(AgentId::new),
        attempt: agent.map(|_| 1),
        round: agent.map(|_| 1),
        call_id: None,
        msg,
    }
}

fn run_started() -> Event {
    ev(
        1,
        None,
        EventMsg::RunStarted {
            format_version: 1,
            question: "benchmark".into(),
            history: vec![],
            agents: AGENTS
                .iter()
                .map(|a| AgentInfo {
                    id: AgentId::new(*a),
                    provider: "Bench".into(),
                    model: "m".into(),
                    mcp_servers: vec![],
                })
                .collect(),
            config_path: None,
        },
    )
}

/// 1,000,000 small text deltas spread over 4 agents (a newline every 8th delta).
fn deltas(n: usize) -> Vec<Event> {
    (0..n).map(delta_event).collect()
}

/// A model with 4 panes of `lines` lines each (varied lengths so wrapping matters).
fn big_model(lines: usize) -> ViewModel {
    let mut vm = ViewModel::default();
    vm.apply(&run_started());
    let mut seq = 2;
    for i in 0..lines {
        for a in AGENTS {
            let text = format!(
                "{i:>6} {}\n",
                "lorem ipsum dolor sit amet, consectetur adipiscing elit ".repeat(i % 4 + 1)
            );
            vm.apply(&ev(seq, Some(a), EventMsg::TextDelta { text }));
            seq += 1;
        }
    }
    vm
}

fn frame(vm: &ViewModel, ui: &UiState, buf: &mut Buffer) {
    buf.reset();
    render(
        vm,
        ui,
        t0() + chrono::Duration::seconds(30),
        Rect::new(0, 0, 200, 50),
        buf,
    );
}

#[divan::bench(sample_count = 500)]
fn render_200x50_4_panes_100k_lines_following(bencher: divan::Bencher) {
    let vm = big_model(100_000);
    let mut ui = UiState::new("bench", true, false);
    ui.sync_with(&vm);
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 50));
    frame(&vm, &ui, &mut buf); // warm the wrap caches (as the first real frame does)
    bencher.bench_local(|| frame(&vm, &ui, &mut buf));
}

#[divan::bench(sample_count = 500)]
fn render_200x50_4_panes_100k_lines_scrolled_mid(bencher: divan::Bencher) {
    let vm = big_model(100_000);
    let mut ui = UiState::new("bench", true, false);
    ui.sync_with(&vm);
    for s in &mut ui.agent_scroll {
        *s = Scroll::Anchored {
            line: 50_000,
            sub: 0,
            seen_total: 100_000,
        };
    }
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 50));
    frame(&vm, &ui, &mut buf);
    bencher.bench_local(|| frame(&vm, &ui, &mut buf));
}

#[divan::bench(sample_count = 10)]
fn ingest_1m_deltas(bencher: divan::Bencher) {
    let events = deltas(1_000_000);
    bencher.bench_local(|| {
        let mut vm = ViewModel::default();
        vm.apply(&run_started());
        for e in &events {
            vm.apply(e);
        }
        divan::black_box(vm.run.as_ref().map(|r| r.agents.len()));
    });
}

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn delta_event(i: usize) -> Event {
    let text = if i % 8 == 7 {
        "end of line.\n".to_owned()
    } else {
        format!("tok{} ", i % 97)
    };
    ev(
        i as u64 + 2,
        Some(AGENTS[i % 4]),
        EventMsg::TextDelta { text },
    )
}

fn report() {
    // Memory first, while the heap is small: events are generated one at a time, so the peak
    // is the view model's own footprint.
    let before = vm_hwm_kib().unwrap_or(0);
    let start = Instant::now();
    let mut vm = ViewModel::default();
    vm.apply(&run_started());
    for i in 0..1_000_000 {
        vm.apply(&delta_event(i));
    }
    let ingest = start.elapsed();
    let after_ingest = vm_hwm_kib().unwrap_or(0);
    let lines: usize = vm
        .run
        .as_ref()
        .map_or(0, |r| r.agents.iter().map(|a| a.transcript.len()).sum());
    println!(
        "ingest 1,000,000 deltas (generated on the fly): {:.0} ms; {lines} pane lines, {} log records",
        ingest.as_secs_f64() * 1000.0,
        vm.logs.len()
    );
    println!(
        "peak RSS (VmHWM): {} MiB before, {} MiB after ingesting 1,000,000 deltas",
        before / 1024,
        after_ingest / 1024
    );
    drop(vm);

    let vm = big_model(100_000);
    let mut ui = UiState::new("bench", true, false);
    ui.sync_with(&vm);
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 50));
    let first = Instant::now();
    frame(&vm, &ui, &mut buf);
    println!(
        "first frame (wraps 4×100,000 lines into the cache): {:.1} ms",
        first.elapsed().as_secs_f64() * 1000.0
    );
    // Wall time per frame (on a loaded machine the tail includes time the scheduler gave to
    // other processes).
    let mut wall: Vec<f64> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            frame(&vm, &ui, &mut buf);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    wall.sort_by(f64::total_cmp);
    let pct = |p: f64| wall[((wall.len() as f64 * p) as usize).min(wall.len() - 1)];
    println!(
        "frame 200x50, 4 panes x 100,000 lines: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn main() {
    if std::env::var_os("TUI_BENCH_REPORT").is_some() {
        report();
    }
    divan::main();
}
