//! Incremental decoder for one top-level string field of a JSON object that arrives in
//! fragments (`ToolArgsDelta`), so a `new_answer` can stream into its pane while the model is
//! still generating the tool call.
//!
//! Responsibilities: track just enough JSON structure (nesting, keys, strings, escapes) to
//! emit the decoded characters of the first top-level value of the wanted key, including
//! `\uXXXX` escapes and surrogate pairs split across fragments.
//! Non-responsibilities: validating the JSON (the engine parses the complete arguments) or
//! decoding anything but that one field.

/// State of an escape sequence inside a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    /// Inside `\u`: the hex digits read so far and their value.
    Unicode {
        digits: u8,
        value: u32,
    },
}

/// Streams the decoded value of one top-level string field (e.g. `"content"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldStreamDecoder {
    field: String,
    /// Container stack: `true` for objects, `false` for arrays.
    stack: Vec<bool>,
    in_string: bool,
    string_is_key: bool,
    expect_key: bool,
    key_buf: String,
    last_key_is_target: bool,
    value_is_target: bool,
    capturing: bool,
    escape: Escape,
    pending_high: Option<u32>,
    done: bool,
    emitted: usize,
}

impl FieldStreamDecoder {
    /// A decoder for the top-level field `field`.
    pub fn new(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            stack: Vec::new(),
            in_string: false,
            string_is_key: false,
            expect_key: false,
            key_buf: String::new(),
            last_key_is_target: false,
            value_is_target: false,
            capturing: false,
            escape: Escape::None,
            pending_high: None,
            done: false,
            emitted: 0,
        }
    }

    /// True once the field's closing quote has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Bytes of decoded text emitted so far.
    pub fn emitted(&self) -> usize {
        self.emitted
    }

    /// Feed one fragment; returns the newly decoded characters of the field (maybe empty).
    pub fn feed(&mut self, fragment: &str) -> String {
        let mut out = String::new();
        for c in fragment.chars() {
            self.step(c, &mut out);
        }
        self.emitted += out.len();
        out
    }

    fn emit(&mut self, c: char, out: &mut String) {
        if self.string_is_key {
            if self.key_buf.len() < 256 {
                self.key_buf.push(c);
            }
        } else if self.capturing {
            out.push(c);
        }
    }

    fn flush_lone_high(&mut self, out: &mut String) {
        if self.pending_high.take().is_some() {
            self.emit('\u{FFFD}', out);
        }
    }

    fn step(&mut self, c: char, out: &mut String) {
        if self.in_string {
            match self.escape {
                Escape::Backslash => {
                    self.escape = Escape::None;
                    let decoded = match c {
                        'u' => {
                            self.escape = Escape::Unicode {
                                digits: 0,
                                value: 0,
                            };
                            return;
                        }
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        other => other, // `"`, `\\`, `/` and lenient pass-through
                    };
                    self.flush_lone_high(out);
                    self.emit(decoded, out);
                }
                Escape::Unicode { digits, value } => {
                    let Some(d) = c.to_digit(16) else {
                        self.escape = Escape::None;
                        self.flush_lone_high(out);
                        self.emit('\u{FFFD}', out);
                        return self.step(c, out);
                    };
                    let value = value * 16 + d;
                    if digits < 3 {
                        self.escape = Escape::Unicode {
                            digits: digits + 1,
                            value,
                        };
                        return;
                    }
                    self.escape = Escape::None;
                    if (0xD800..0xDC00).contains(&value) {
                        self.flush_lone_high(out);
                        self.pending_high = Some(value);
                    } else if (0xDC00..0xE000).contains(&value) {
                        let ch = match self.pending_high.take() {
                            Some(high) => {
                                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
                                    .unwrap_or('\u{FFFD}')
                            }
                            None => '\u{FFFD}',
                        };
                        self.emit(ch, out);
                    } else {
                        self.flush_lone_high(out);
                        self.emit(char::from_u32(value).unwrap_or('\u{FFFD}'), out);
                    }
                }
                Escape::None => match c {
                    '\\' => self.escape = Escape::Backslash,
                    '"' => {
                        self.flush_lone_high(out);
                        self.in_string = false;
                        if self.string_is_key {
                            self.last_key_is_target =
                                self.stack.len() == 1 && self.key_buf == self.field;
                        } else if self.capturing {
                            self.capturing = false;
                            self.done = true;
                        }
                        self.string_is_key = false;
                    }
                    other => {
                        self.flush_lone_high(out);
                        self.emit(other, out);
                    }
                },
            }
            return;
        }
        match c {
            '{' => {
                self.stack.push(true);
                self.expect_key = true;
                self.value_is_target = false;
            }
            '[' => {
                self.stack.push(false);
                self.expect_key = false;
                self.value_is_target = false;
            }
            '}' | ']' => {
                self.stack.pop();
                self.expect_key = false;
            }
            ',' => {
                self.expect_key = self.stack.last().copied().unwrap_or(false);
                self.value_is_target = false;
            }
            ':' => {
                self.expect_key = false;
                self.value_is_target = self.last_key_is_target;
                self.last_key_is_target = false;
            }
            '"' => {
                self.in_string = true;
                if self.expect_key && self.stack.last().copied().unwrap_or(false) {
                    self.string_is_key = true;
                    self.key_buf.clear();
                } else {
                    self.string_is_key = false;
                    self.capturing = self.value_is_target && !self.done;
                    self.value_is_target = false;
                }
            }
            c if c.is_whitespace() => {}
            _ => self.value_is_target = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(json: &str, cut: usize) -> String {
        let mut d = FieldStreamDecoder::new("content");
        let chars: Vec<char> = json.chars().collect();
        let mut out = String::new();
        for chunk in chars.chunks(cut.max(1)) {
            out.push_str(&d.feed(&chunk.iter().collect::<String>()));
        }
        out
    }

    #[test]
    fn decodes_content_across_every_split() {
        let json = r#"{"other": {"content": "no"}, "content": "Hi \"there\"\n\u00e9 \ud83d\ude00 end\\", "x": 1}"#;
        let expected = "Hi \"there\"\né 😀 end\\";
        for cut in 1..json.len() {
            assert_eq!(decode_in_pieces(json, cut), expected, "cut {cut}");
        }
    }

    #[test]
    fn lone_surrogates_become_replacement_chars() {
        assert_eq!(
            decode_in_pieces(r#"{"content":"a\ud83db\ude00c"}"#, 3),
            "a\u{FFFD}b\u{FFFD}c"
        );
    }

    #[test]
    fn ignores_content_key_nested_or_as_value() {
        assert_eq!(
            decode_in_pieces(r#"{"a":["content"],"b":{"content":"x"},"content":"y"}"#, 2),
            "y"
        );
    }
}
