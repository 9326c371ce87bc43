//! Behaviour of the TUI view model and key handling that users rely on: streamed answers
//! visible before the tool call completes, follow-tail vs. scrolled views, Ctrl-C
//! confirmation, input box sending/newlines/paste, log filtering, replay equality, and no
//! panic at any terminal size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tui_support;

use crossterm::event::{KeyCode, KeyModifiers};
use massgen_tui::protocol::*;
use massgen_tui::tui::model::ViewModel;
use massgen_tui::tui::ui::{Action, Focus, Scroll, UiState};
use proptest::prelude::*;
use tui_support::*;

fn pane_text(vm: &ViewModel, agent: usize) -> String {
    vm.run.as_ref().unwrap().agents[agent]
        .transcript
        .plain_text()
}

#[test]
fn new_answer_streams_from_argument_deltas_before_the_call_completes() {
    let s = busy_run();
    let vm = model_of(&s.events);
    // No ToolCallBegin for beta yet: the text is decoded from partial JSON, escapes included.
    let text = pane_text(&vm, 1);
    assert!(
        text.contains("1. Read the book\n2. Do exercises \"daily\"\n3. Ship 🦀 a project"),
        "{text}"
    );
}

#[test]
fn answer_is_not_duplicated_when_the_call_completes() {
    let s = finished_run();
    let vm = model_of(&s.events);
    let text = pane_text(&vm, 1);
    assert_eq!(text.matches("1. Read the book").count(), 1, "{text}");
    assert!(text.contains("✔ answer accepted as agent2"));
}

#[test]
fn answer_without_deltas_is_shown_on_acceptance() {
    let mut s = Script::new("r");
    s.run(
        0,
        EventMsg::RunStarted {
            format_version: 1,
            question: "q".into(),
            history: vec![],
            agents: agents3(),
            config_path: None,
        },
    );
    s.agent(
        10,
        "alpha",
        EventMsg::AnswerSubmitted {
            label: "agent1".into(),
            content: "plain answer".into(),
        },
    );
    let vm = model_of(&s.events);
    assert!(pane_text(&vm, 0).contains("plain answer"));
}

#[test]
fn scrolled_pane_stays_put_and_counts_new_lines_until_end() {
    let mut s = busy_run();
    for i in 0..100 {
        s.agent(
            5400,
            "alpha",
            EventMsg::TextDelta {
                text: format!("l{i}\n"),
            },
        );
    }
    let mut vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(
        &vm,
        &mut ui,
        80,
        20,
        &[key(KeyCode::Char('z')), key(KeyCode::PageUp)],
    );
    let before = text_rows(&vm, &ui, 6000, 80, 20);
    let mut more = Script {
        seq: s.seq,
        ..Script::new("run-1")
    };
    for i in 0..7 {
        more.agent(
            5500,
            "alpha",
            EventMsg::TextDelta {
                text: format!("new{i}\n"),
            },
        );
    }
    for e in &more.events {
        vm.apply(e);
    }
    let after = text_rows(&vm, &ui, 6000, 80, 20);
    // Body rows unchanged, badge shows 7 new lines.
    assert_eq!(before[4..17], after[4..17]);
    assert!(
        after.iter().any(|r| r.contains("7 new lines")),
        "{after:#?}"
    );
    press(&vm, &mut ui, 80, 20, &[key(KeyCode::End)]);
    assert_eq!(ui.agent_scroll[0], Scroll::Follow);
    let followed = text_rows(&vm, &ui, 6000, 80, 20);
    assert!(followed.iter().any(|r| r.contains("new6")));
}

#[test]
fn jump_between_answers_and_rounds() {
    let mut s = finished_run();
    for i in 0..80 {
        s.agent(
            8000,
            "beta",
            EventMsg::TextDelta {
                text: format!("filler {i}\n"),
            },
        );
    }
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(
        &vm,
        &mut ui,
        80,
        16,
        &[
            key(KeyCode::Esc),
            key(KeyCode::Char('2')),
            key(KeyCode::Char('z')),
            key(KeyCode::Char('[')),
        ],
    );
    let rows = text_rows(&vm, &ui, 9000, 80, 16);
    assert!(rows[4].contains("1. Read the book"), "{rows:#?}");
    press(&vm, &mut ui, 80, 16, &[key(KeyCode::Char('{'))]);
    let rows = text_rows(&vm, &ui, 9000, 80, 16);
    assert!(rows[4].contains("launch 1"), "{rows:#?}");
}

#[test]
fn ctrl_c_asks_while_running_and_second_press_quits() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    let ctrl_c = key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(press(&vm, &mut ui, 100, 30, &[ctrl_c]).is_empty());
    assert!(ui.confirm_quit);
    assert!(
        text_rows(&vm, &ui, 6000, 100, 30)
            .last()
            .unwrap()
            .contains("Ctrl-C again")
    );
    assert_eq!(press(&vm, &mut ui, 100, 30, &[ctrl_c]), vec![Action::Quit]);
    // Any other key keeps the run going.
    let mut ui = ui_for(&vm);
    press(&vm, &mut ui, 100, 30, &[ctrl_c, key(KeyCode::Char('j'))]);
    assert!(!ui.confirm_quit);
}

#[test]
fn ctrl_c_quits_at_once_when_idle() {
    let vm = ViewModel::default();
    let mut ui = UiState::new("x", true, false);
    let ctrl_c = key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(press(&vm, &mut ui, 80, 20, &[ctrl_c]), vec![Action::Quit]);
}

#[test]
fn input_box_enter_sends_alt_enter_newlines_and_paste_never_sends() {
    let vm = ViewModel::default();
    let mut ui = UiState::new("x", true, false);
    ui.input_focused = true;
    ui.handle_paste("line one\r\nline two\n", &vm);
    assert_eq!(ui.input.lines(), ["line one", "line two", ""]);
    let mut keys = chars("x");
    keys.push(key_mod(KeyCode::Enter, KeyModifiers::ALT));
    keys.extend(chars("y"));
    keys.push(key_mod(KeyCode::Enter, KeyModifiers::SHIFT));
    assert!(press(&vm, &mut ui, 80, 20, &keys).is_empty());
    let actions = press(&vm, &mut ui, 80, 20, &[key(KeyCode::Enter)]);
    assert_eq!(
        actions,
        vec![Action::Op(Op::Ask {
            question: "line one\nline two\nx\ny".into()
        })]
    );
    assert!(ui.awaiting_run);
    assert!(ui.input.is_empty());
}

#[test]
fn follow_up_questions_after_a_run_and_history_is_kept() {
    let s = finished_run();
    let mut vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    assert!(ui.input_visible(&vm));
    let mut keys = vec![key(KeyCode::Esc), key(KeyCode::Char('i'))];
    keys.extend(chars("and then?"));
    keys.push(key(KeyCode::Enter));
    let actions = press(&vm, &mut ui, 100, 30, &keys);
    assert_eq!(
        actions,
        vec![Action::Op(Op::Ask {
            question: "and then?".into()
        })]
    );
    // The second run resets the panes; the first turn stays in history.
    let mut s2 = Script::new("run-2");
    s2.run(
        10_000,
        EventMsg::RunStarted {
            format_version: 1,
            question: "and then?".into(),
            history: vec![],
            agents: agents3(),
            config_path: None,
        },
    );
    vm.apply(&s2.events[0]);
    ui.sync_with(&vm);
    assert!(!ui.awaiting_run);
    assert_eq!(vm.history.len(), 1);
    assert_eq!(
        vm.history[0].question,
        "What is the best way to learn Rust?"
    );
    assert!(!pane_text(&vm, 1).contains("Read the book"));
    press(&vm, &mut ui, 100, 30, &[key(KeyCode::Char('H'))]);
    let rows = text_rows(&vm, &ui, 11_000, 100, 30).join("\n");
    assert!(rows.contains("Learning Rust"), "{rows}");
}

#[test]
fn log_filters_by_agent_and_text() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    let mut keys = vec![
        key(KeyCode::Char('l')),
        key(KeyCode::Char('a')),
        key(KeyCode::Char('a')),
        key(KeyCode::Char('a')),
        key(KeyCode::Char('/')),
    ];
    keys.extend(chars("alerts"));
    keys.push(key(KeyCode::Enter));
    press(&vm, &mut ui, 120, 30, &keys);
    assert_eq!(ui.focus, Focus::Logs);
    while ui.logs.sync(&vm.logs, 3) {}
    let f = ui.logs.filter();
    assert_eq!(f.agent.as_ref().map(|a| a.as_str()), Some("gamma"));
    assert_eq!(ui.logs.match_count(), 2, "begin and end of get_alerts");
    // Regex mode.
    press(
        &vm,
        &mut ui,
        120,
        30,
        &[
            key(KeyCode::Char('x')),
            key(KeyCode::Char('r')),
            key(KeyCode::Char('/')),
            key(KeyCode::Backspace),
        ],
    );
    let mut keys = chars("^get_(forecast|alerts) (ok|error)");
    keys.push(key(KeyCode::Enter));
    // Clear the pre-filled text first.
    let mut clear = vec![key_mod(KeyCode::Char('u'), KeyModifiers::CONTROL)];
    clear.extend(keys);
    press(&vm, &mut ui, 120, 30, &clear);
    while ui.logs.sync(&vm.logs, 1000) {}
    assert_eq!(ui.logs.match_count(), 2);
}

#[test]
fn replaying_the_same_events_gives_an_equal_view_model() {
    let s = finished_run();
    let live = model_of(&s.events);
    // Through JSON, as a replay from events.jsonl would.
    let replayed: Vec<Event> = s
        .events
        .iter()
        .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
        .collect();
    let replay = model_of(&replayed);
    assert_eq!(live, replay);
    // Rendering (which fills wrap caches) does not change equality.
    let ui = ui_for(&live);
    let _ = text_rows(&live, &ui, 9000, 100, 30);
    assert_eq!(live, replay);
}

#[test]
fn memory_per_pane_is_bounded_with_a_marker() {
    let mut s = Script::new("r");
    s.run(
        0,
        EventMsg::RunStarted {
            format_version: 1,
            question: "q".into(),
            history: vec![],
            agents: agents3(),
            config_path: None,
        },
    );
    for i in 0..3000 {
        s.agent(
            1,
            "alpha",
            EventMsg::TextDelta {
                text: format!("line {i}\n"),
            },
        );
    }
    let mut vm = ViewModel::new(massgen_tui::tui::model::Limits {
        max_pane_lines: 1000,
        ..Default::default()
    });
    for e in &s.events {
        vm.apply(e);
    }
    let t = &vm.run.as_ref().unwrap().agents[0].transcript;
    assert!(t.len() <= 1000);
    assert!(t.dropped() > 0);
    let mut ui = ui_for(&vm);
    press(
        &vm,
        &mut ui,
        80,
        20,
        &[key(KeyCode::Char('z')), key(KeyCode::Home)],
    );
    let rows = text_rows(&vm, &ui, 100, 80, 20);
    assert!(rows[4].contains("earlier lines dropped"), "{rows:#?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn rendering_never_panics_at_any_size(w in 1u16..=250, h in 1u16..=80, overlay in 0u8..6, logs: bool, timeline: bool, zoom: bool) {
        let s = finished_run();
        let vm = model_of(&s.events);
        let mut ui = ui_for(&vm);
        ui.overlay = None;
        ui.show_logs = logs;
        ui.show_timeline = timeline;
        ui.zoom = zoom;
        let k = match overlay {
            0 => Some('?'),
            1 => Some('f'),
            2 => Some('H'),
            3 => Some('/'),
            _ => None,
        };
        if let Some(c) = k {
            press(&vm, &mut ui, w, h, &[key(KeyCode::Char(c))]);
        }
        press(&vm, &mut ui, w, h, &[key(KeyCode::PageUp), key(KeyCode::Tab), key(KeyCode::Up)]);
        let _ = text_rows(&vm, &ui, 9000, w, h);
        let mut vm2 = vm.clone();
        vm2.engine_stopped("boom");
        let _ = text_rows(&vm2, &ui, 9000, w, h);
    }
}

#[test]
fn replay_keys_send_playback_controls_and_quit_without_asking() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = UiState::new("replay", true, true);
    ui.sync_with(&vm);
    let got = press(
        &vm,
        &mut ui,
        120,
        30,
        &[
            key(KeyCode::Char(' ')),
            key(KeyCode::Char('s')),
            key(KeyCode::Char('2')),
            key(KeyCode::Char('i')),
        ],
    );
    assert_eq!(
        got,
        vec![
            Action::Op(Op::Replay(ReplayControl::Pause)),
            Action::Op(Op::Replay(ReplayControl::Step)),
            Action::Op(Op::Replay(ReplayControl::Speed { factor: 2.0 })),
            Action::Op(Op::Replay(ReplayControl::Instant)),
        ]
    );
    assert!(!ui.input_visible(&vm), "no questions in replay");
    assert!(text_rows(&vm, &ui, 6000, 120, 30)[0].contains("REPLAY instant"));
    assert_eq!(
        press(&vm, &mut ui, 120, 30, &[key(KeyCode::Char('q'))]),
        vec![Action::Quit]
    );
}

#[test]
fn failed_run_says_why_and_i_types_a_follow_up_from_the_final_view() {
    let mut s = busy_run();
    s.run(
        9000,
        EventMsg::RunFinished {
            outcome: RunOutcome::Failed,
            winner: None,
            final_answer: None,
            totals: RunTotals::default(),
            error: Some("every agent failed: 401 invalid API key".into()),
        },
    );
    let vm = model_of(&s.events);
    let ui = ui_for(&vm);
    let rows = text_rows(&vm, &ui, 9500, 120, 30);
    assert!(
        rows.last().unwrap().contains("401 invalid API key"),
        "{rows:#?}"
    );

    let s = finished_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    assert_eq!(ui.overlay, Some(massgen_tui::tui::ui::Overlay::Final));
    press(&vm, &mut ui, 120, 30, &[key(KeyCode::Char('i'))]);
    assert!(ui.overlay.is_none() && ui.input_focused);
}
