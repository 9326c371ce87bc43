//! Server-Sent Events framing over an arbitrary byte stream.
//!
//! Responsibilities: splitting bytes into SSE events exactly as the WHATWG event-stream
//! grammar says: lines end in LF, CRLF or a lone CR; `:` lines are comments (keep-alive
//! `: ping`); several `data:` lines of one event are joined with `\n`; one optional space after
//! the colon is removed; a blank line dispatches the event. Bytes may be split at any offset
//! between calls to [`SseParser::feed`]; invalid UTF-8 is replaced (lossy), never a panic.
//! Non-responsibilities: the meaning of `data` (JSON chunks, `[DONE]`) belongs to the caller
//! (`chat_completions`).
//!
//! The hot path allocates nothing per event: the callback receives borrowed `&str`s and the
//! internal buffers are reused.

/// Incremental SSE parser. Feed it bytes in any split; it calls back once per event.
#[derive(Debug, Default)]
pub struct SseParser {
    /// An incomplete line carried over from the previous `feed`.
    line: Vec<u8>,
    /// `data` of the event being built.
    data: String,
    /// `event` field of the event being built (empty = "message").
    event: String,
    /// Whether any `data` line was seen for the current event.
    has_data: bool,
    /// The previous feed ended with CR: a leading LF in the next feed belongs to it.
    pending_cr: bool,
}

impl SseParser {
    /// A fresh parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next bytes. `on_event(event_type, data)` is called for every complete event;
    /// `event_type` is `""` when the event had no `event:` field.
    pub fn feed(&mut self, mut bytes: &[u8], on_event: &mut impl FnMut(&str, &str)) {
        if bytes.is_empty() {
            return; // an empty read must not forget a pending CR
        }
        if self.pending_cr {
            self.pending_cr = false;
            if let [b'\n', rest @ ..] = bytes {
                bytes = rest;
            }
        }
        let mut start = 0;
        while let Some(offset) = memchr::memchr2(b'\n', b'\r', &bytes[start..]) {
            let end = start + offset;
            if self.line.is_empty() {
                // Fast path: a lone `data:` line followed at once by the blank line that ends
                // the event (the usual shape) is dispatched without copying it.
                if !self.has_data
                    && let Some(value) = bytes[start..end].strip_prefix(b"data:")
                    && let Some(next) = blank_line_after(bytes, end)
                {
                    let value = value.strip_prefix(b" ").unwrap_or(value);
                    on_event(&self.event, &String::from_utf8_lossy(value));
                    self.event.clear();
                    start = next;
                    if bytes[next - 1] == b'\r' && next == bytes.len() {
                        self.pending_cr = true;
                    }
                    continue;
                }
                self.process_line(&bytes[start..end], on_event);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[start..end]);
                self.process_line(&line, on_event);
                line.clear();
                self.line = line;
            }
            start = end + 1;
            if bytes[end] == b'\r' {
                match bytes.get(start) {
                    Some(b'\n') => start += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
        }
        self.line.extend_from_slice(&bytes[start..]);
    }

    /// The byte stream ended: process an unterminated last line and dispatch a pending event
    /// (lenient: many servers omit the final blank line).
    pub fn finish(&mut self, on_event: &mut impl FnMut(&str, &str)) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, on_event);
        }
        self.dispatch(on_event);
        self.pending_cr = false;
    }

    fn process_line(&mut self, line: &[u8], on_event: &mut impl FnMut(&str, &str)) {
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (&line[..colon], value)
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.has_data = true;
                self.data.push_str(&String::from_utf8_lossy(value));
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            _ => {} // `id`, `retry` and unknown fields do not matter here
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(&str, &str)) {
        if self.has_data {
            on_event(&self.event, &self.data);
        }
        self.data.clear();
        self.event.clear();
        self.has_data = false;
    }
}

/// If the line terminator at `end` is followed by a complete blank line, the offset just
/// past that blank line. `None` when the bytes end too early to be sure.
fn blank_line_after(bytes: &[u8], end: usize) -> Option<usize> {
    let mut i = end + 1;
    if bytes[end] == b'\r' {
        match bytes.get(i) {
            Some(b'\n') => i += 1,
            Some(_) => {}
            None => return None,
        }
    }
    match bytes.get(i) {
        Some(b'\n') => Some(i + 1),
        Some(b'\r') => match bytes.get(i + 1) {
            Some(b'\n') => Some(i + 2),
            Some(_) => Some(i + 1),
            // A CR at the very end: the blank line is complete; a following LF (next feed)
            // belongs to it.
            None => Some(i + 1),
        },
        _ => None,
    }
}

/// Parse a whole body at once (tests, tools): `(event_type, data)` pairs.
pub fn parse_all(bytes: &[u8]) -> Vec<(String, String)> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut push = |event: &str, data: &str| out.push((event.to_owned(), data.to_owned()));
    parser.feed(bytes, &mut push);
    parser.finish(&mut push);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_multiline_data_and_skips_comments() {
        let body = b": ping\r\ndata: a\r\ndata:b\r\n\r\nevent: error\rdata: {}\r\r";
        assert_eq!(
            parse_all(body),
            vec![
                (String::new(), "a\nb".to_owned()),
                ("error".to_owned(), "{}".to_owned())
            ]
        );
    }

    #[test]
    fn empty_feed_keeps_a_pending_cr() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut push = |_: &str, d: &str| out.push(d.to_owned());
        p.feed(b"data: x\r", &mut push);
        p.feed(b"", &mut push);
        p.feed(b"\ndata: y\n\n", &mut push);
        assert_eq!(out, vec!["x\ny"]);
    }

    #[test]
    fn crlf_split_between_feeds() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        let mut push = |_: &str, d: &str| out.push(d.to_owned());
        p.feed(b"data: x\r", &mut push);
        p.feed(b"\n\r", &mut push);
        p.feed(b"\ndata: y\n\n", &mut push);
        assert_eq!(out, vec!["x", "y"]);
    }
}
