//! Snapshot tests of every pane and state, rendered with ratatui's TestBackend at fixed sizes
//! from hand-made event sequences with fixed timestamps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tui_support;

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use massgen_tui::protocol::*;
use tui_support::*;

#[test]
fn running_three_agents_side_by_side() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let ui = ui_for(&vm);
    assert_snapshot!(draw(&vm, &ui, 6000, 140, 24).backend());
}

#[test]
fn narrow_terminal_uses_tabs() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(&vm, &mut ui, 70, 18, &[key(KeyCode::Char('2'))]);
    assert_snapshot!(draw(&vm, &ui, 6000, 70, 18).backend());
}

#[test]
fn scrolled_pane_shows_new_lines_and_page() {
    let mut s = busy_run();
    for i in 0..120 {
        s.agent(
            5400,
            "alpha",
            EventMsg::TextDelta {
                text: format!("line {i}: some streamed output\n"),
            },
        );
    }
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(
        &vm,
        &mut ui,
        80,
        20,
        &[
            key(KeyCode::Char('z')),
            key(KeyCode::PageUp),
            key(KeyCode::PageUp),
        ],
    );
    // More output arrives while the user is scrolled up.
    for i in 120..135 {
        s.agent(
            5500,
            "alpha",
            EventMsg::TextDelta {
                text: format!("line {i}: some streamed output\n"),
            },
        );
    }
    let vm = model_of(&s.events);
    assert_snapshot!(draw(&vm, &ui, 6000, 80, 20).backend());
}

#[test]
fn search_highlights_and_jumps() {
    let mut s = busy_run();
    for i in 0..60 {
        let word = if i % 20 == 7 { "needle" } else { "hay" };
        s.agent(
            5400,
            "alpha",
            EventMsg::TextDelta {
                text: format!("row {i} {word}\n"),
            },
        );
    }
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    let mut keys = vec![
        key(KeyCode::Char('z')),
        key(KeyCode::Home),
        key(KeyCode::Char('/')),
    ];
    keys.extend(chars("NEEDLE"));
    keys.push(key(KeyCode::Enter));
    keys.push(key(KeyCode::Char('n')));
    press(&vm, &mut ui, 80, 16, &keys);
    assert_snapshot!(draw(&vm, &ui, 6000, 80, 16).backend());
}

#[test]
fn filtered_log_pane() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    // Show logs, raise the level to warn.
    press(
        &vm,
        &mut ui,
        120,
        30,
        &[
            key(KeyCode::Char('l')),
            key(KeyCode::Char('v')),
            key(KeyCode::Char('v')),
            key(KeyCode::Char('v')),
        ],
    );
    while ui.logs.sync(&vm.logs, 1000) {}
    assert_snapshot!(draw(&vm, &ui, 6000, 120, 30).backend());
}

#[test]
fn timeline_with_running_and_failed_calls() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(&vm, &mut ui, 130, 30, &[key(KeyCode::Char('t'))]);
    assert_snapshot!(draw(&vm, &ui, 6000, 130, 30).backend());
}

#[test]
fn timeline_detail_view() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(
        &vm,
        &mut ui,
        100,
        24,
        &[
            key(KeyCode::Char('t')),
            key(KeyCode::Up),
            key(KeyCode::Up),
            key(KeyCode::Enter),
        ],
    );
    assert_snapshot!(draw(&vm, &ui, 6000, 100, 24).backend());
}

#[test]
fn final_answer_view_opens_when_the_winner_presents() {
    let s = finished_run();
    let vm = model_of(&s.events);
    let ui = ui_for(&vm);
    assert_snapshot!(draw(&vm, &ui, 9000, 100, 24).backend());
}

#[test]
fn finished_run_panes_and_input_box() {
    let s = finished_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(&vm, &mut ui, 140, 30, &[key(KeyCode::Esc)]);
    assert_snapshot!(draw(&vm, &ui, 9000, 140, 30).backend());
}

#[test]
fn help_overlay() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let mut ui = ui_for(&vm);
    press(&vm, &mut ui, 100, 34, &[key(KeyCode::Char('?'))]);
    assert_snapshot!(draw(&vm, &ui, 6000, 100, 34).backend());
}

#[test]
fn tiny_terminals() {
    let s = busy_run();
    let vm = model_of(&s.events);
    let ui = ui_for(&vm);
    assert_snapshot!("tiny_20x6", draw(&vm, &ui, 6000, 20, 6).backend());
    assert_snapshot!("tiny_12x4", draw(&vm, &ui, 6000, 12, 4).backend());
}

#[test]
fn first_question_input_box() {
    let vm = massgen_tui::tui::model::ViewModel::default();
    let mut ui = massgen_tui::tui::ui::UiState::new("three_agents.yaml", true, false);
    ui.input_focused = true;
    ui.handle_paste("Compare A\r\nand B", &vm);
    assert_snapshot!(draw(&vm, &ui, 0, 80, 12).backend());
}

#[test]
fn engine_crash_shows_error_screen() {
    let s = busy_run();
    let mut vm = model_of(&s.events);
    vm.engine_stopped("its event stream closed in the middle of a run");
    let ui = ui_for(&vm);
    assert_snapshot!(draw(&vm, &ui, 6000, 100, 24).backend());
}
