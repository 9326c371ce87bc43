//! End to end: the real binary in a pseudo-terminal (util-linux `script` provides the PTY),
//! replaying the bundled demo run through the TUI, driven by keys (instant playback, close the
//! final view, open the timeline and logs, filter the logs, help, quit). Checks the screen
//! output and that the terminal is restored on exit (alternate screen left, cursor shown,
//! bracketed paste and mouse capture off, raw mode gone).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A minimal terminal emulator for what ratatui's crossterm backend writes (cursor moves,
/// clears, text; colours ignored): the screen as it would look after `raw`, drawn from the last
/// switch to the alternate screen.
fn screen_of(raw: &str, rows: usize, cols: usize) -> String {
    let start = raw.rfind("\u{1b}[?1049h").map_or(0, |i| i + 8);
    let mut grid = vec![vec![' '; cols]; rows];
    let (mut r, mut c) = (0usize, 0usize);
    let mut it = raw[start..].chars().peekable();
    while let Some(ch) = it.next() {
        match ch {
            '\u{1b}' => match it.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut fin = ' ';
                    for d in it.by_ref() {
                        if ('@'..='~').contains(&d) {
                            fin = d;
                            break;
                        }
                        params.push(d);
                    }
                    let nums: Vec<usize> = params
                        .trim_start_matches('?')
                        .split(';')
                        .map(|x| x.parse().unwrap_or(0))
                        .collect();
                    match fin {
                        'H' => {
                            r = nums.first().copied().unwrap_or(1).max(1) - 1;
                            c = nums.get(1).copied().unwrap_or(1).max(1) - 1;
                        }
                        'J' if params == "2" => grid = vec![vec![' '; cols]; rows],
                        'K' => {
                            if let Some(row) = grid.get_mut(r) {
                                for cell in row.iter_mut().skip(c) {
                                    *cell = ' ';
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Some(']') => {
                    // OSC: skip to BEL or ST.
                    while let Some(d) = it.next() {
                        if d == '\u{7}' || (d == '\u{1b}' && it.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => c = 0,
            '\n' => r += 1,
            ch if ch.is_control() => {}
            ch => {
                let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                if w == 0 {
                    continue;
                }
                if let Some(row) = grid.get_mut(r)
                    && c < row.len()
                {
                    // Overwriting half of a wide char blanks its other half, as terminals do.
                    if row[c] == '\u{0}' && c > 0 {
                        row[c - 1] = ' ';
                    }
                    if row.get(c + 1) == Some(&'\u{0}') {
                        row[c + 1] = ' ';
                    }
                    row[c] = ch;
                    // A wide char covers the next cell too.
                    if w == 2 && c + 1 < row.len() {
                        if row.get(c + 2) == Some(&'\u{0}') {
                            row[c + 2] = ' ';
                        }
                        row[c + 1] = '\u{0}';
                    }
                }
                c += w;
            }
        }
    }
    grid.into_iter()
        .map(|row| {
            row.into_iter()
                .filter(|c| *c != '\u{0}')
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn demo_replay_in_a_pty_is_navigable_and_restores_the_terminal() {
    if !script_available() {
        eprintln!("skipping: util-linux `script` is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_massgen-tui");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pty.out");
    let cmd = format!("stty rows 40 cols 140; exec '{bin}' demo");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &cmd])
        .arg(&log)
        .env("TERM", "xterm-256color")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut send = |keys: &[u8], wait_ms: u64| {
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
    };
    let screen = |log: &std::path::Path| {
        let raw = String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned();
        screen_of(&raw, 40, 140)
    };
    // TUI_CAPTURE_DIR=assets writes text captures of the screens (for the README).
    let capture = |name: &str, text: &str| {
        if let Some(dir) = std::env::var_os("TUI_CAPTURE_DIR") {
            let trimmed: Vec<&str> = text.lines().map(str::trim_end).collect();
            std::fs::write(
                std::path::Path::new(&dir).join(name),
                trimmed.join("\n") + "\n",
            )
            .unwrap();
        }
    };
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !screen(&log).contains(needle) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}:\n{}",
                screen(&log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // A lone Esc must be read before the next key, or the terminal parser sees Alt+key.
    let wait_gone = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while screen(&log).contains(needle) {
            assert!(Instant::now() < deadline, "{needle:?} did not go away");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("REPLAY");
    send(b"i", 300); // replay: release every event at once
    wait_for("Final answer"); // the final-answer view opens by itself
    std::thread::sleep(Duration::from_millis(300));
    capture("tui-demo-final-answer.txt", &screen(&log));
    std::thread::sleep(Duration::from_millis(500));
    send(b"\x1b", 300); // close it
    wait_gone("Final answer");
    send(b"t", 500); // tool timeline
    wait_for("Tool timeline");
    send(b"l", 500); // log pane (focused)
    wait_for("Logs");
    send(b"/", 300);
    send(b"answer\r", 800); // text filter on the log pane
    wait_for("\"answer\"] ");
    send(b"\x1b[5~", 300); // PgUp
    send(b"?", 300); // help
    wait_for("Keys (Esc closes)");
    send(b"\x1b", 300);
    wait_gone("Keys (Esc closes)");
    send(b"q", 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the TUI did not exit after q");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let raw = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(status.success(), "exit status {status:?}");
    // The last screen before quitting: agent panes, timeline and the filtered log pane.
    let last = screen_of(
        &raw[..raw.rfind("\u{1b}[?1049l").unwrap_or(raw.len())],
        40,
        140,
    );
    capture("tui-demo-panes-logs-timeline.txt", &last);
    for needle in [
        "REPLAY",
        "alice",
        "Tool timeline",
        "· \"answer\"]",
        "1-14 of 26",
        "answer accepted",
    ] {
        assert!(
            last.contains(needle),
            "missing {needle:?} on the last screen:\n{last}"
        );
    }
    // Restored: the last alternate-screen switch is "leave", the cursor is shown again, and
    // bracketed paste and mouse capture are switched off.
    let enter = raw
        .rfind("\u{1b}[?1049h")
        .expect("entered the alternate screen");
    let leave = raw
        .rfind("\u{1b}[?1049l")
        .expect("left the alternate screen");
    assert!(leave > enter);
    let tail = &raw[enter..];
    assert!(tail.contains("\u{1b}[?25h"), "cursor shown again");
    assert!(tail.contains("\u{1b}[?2004l"), "bracketed paste off");
    assert!(tail.contains("\u{1b}[?1000l"), "mouse capture off");
}

#[test]
fn sigterm_restores_the_terminal() {
    if !script_available() || !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipping: needs util-linux `script` and /proc");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_massgen-tui");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pty.out");
    let cmd = format!("stty rows 30 cols 100; exec '{bin}' demo");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &cmd])
        .arg(&log)
        .env("TERM", "xterm-256color")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let raw = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
        if screen_of(&raw, 30, 100).contains("REPLAY") {
            break;
        }
        assert!(Instant::now() < deadline, "the TUI did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The shell exec'd into the binary: it is the direct child of `script`.
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let pid = children.split_whitespace().next().expect("the TUI process");
    let killed = Command::new("kill").args(["-TERM", pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the TUI did not exit on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let raw = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let enter = raw
        .rfind("\u{1b}[?1049h")
        .expect("entered the alternate screen");
    let leave = raw
        .rfind("\u{1b}[?1049l")
        .expect("left the alternate screen");
    assert!(leave > enter);
    assert!(raw[enter..].contains("\u{1b}[?25h"), "cursor shown again");
    assert!(raw[enter..].contains("\u{1b}[?1000l"), "mouse capture off");
}
