//! Soft wrapping of one logical line by terminal display width.
//!
//! Responsibilities: split text into visual rows (byte ranges) that fit a width, preferring
//! to break after spaces, counting wide CJK and emoji as two columns (`unicode-width`).
//! Non-responsibilities: styling and caching (see `transcript`).

use unicode_width::UnicodeWidthChar;

/// Display width of one char (control chars count as zero).
#[inline]
pub fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Display width of a string.
pub fn str_width(s: &str) -> usize {
    if s.is_ascii() {
        return s.bytes().filter(|b| !b.is_ascii_control()).count();
    }
    s.chars().map(char_width).sum()
}

/// Calls `row(start, end)` for each visual row of `text` at `width` columns. An empty text is
/// one empty row. Returns the number of rows.
pub fn wrap_with(text: &str, width: usize, mut row: impl FnMut(usize, usize)) -> usize {
    let width = width.max(1);
    if text.len() <= width && text.is_ascii() {
        row(0, text.len());
        return 1;
    }
    if text.is_ascii() {
        return wrap_ascii(text.as_bytes(), width, row);
    }
    let mut rows = 0;
    let mut start = 0usize;
    let mut cur_w = 0usize;
    // Byte index just after the last space on this row, and the width up to it.
    let mut brk: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        let w = char_width(c);
        if cur_w + w > width && i > start {
            match brk {
                Some((b, bw)) if b > start && b < i + 1 => {
                    row(start, b);
                    rows += 1;
                    start = b;
                    cur_w -= bw;
                }
                _ => {
                    row(start, i);
                    rows += 1;
                    start = i;
                    cur_w = 0;
                }
            }
            brk = None;
            if cur_w + w > width && i > start {
                // Text after the break plus this char still does not fit.
                row(start, i);
                rows += 1;
                start = i;
                cur_w = 0;
            }
        }
        cur_w += w;
        if c == ' ' {
            brk = Some((i + 1, cur_w));
        }
    }
    row(start, text.len());
    rows + 1
}

/// Byte-level version of [`wrap_with`] for ASCII text (every byte is one column; transcripts
/// never hold control characters). Same rows as the general path.
fn wrap_ascii(b: &[u8], width: usize, mut row: impl FnMut(usize, usize)) -> usize {
    let mut rows = 0;
    let mut start = 0usize;
    while b.len() - start > width {
        let limit = start + width;
        // Break after the last space within the row.
        let brk = b[start..limit]
            .iter()
            .rposition(|&c| c == b' ')
            .map(|p| start + p + 1)
            .filter(|&p| p > start);
        let end = brk.unwrap_or(limit);
        row(start, end);
        rows += 1;
        start = end;
    }
    row(start, b.len());
    rows + 1
}

/// Number of visual rows of `text` at `width`.
pub fn count_rows(text: &str, width: usize) -> usize {
    wrap_with(text, width, |_, _| {})
}

/// Byte ranges of the visual rows of `text` at `width`.
pub fn wrap_ranges(text: &str, width: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    wrap_with(text, width, |a, b| v.push((a, b)));
    v
}

/// Truncate `s` to at most `width` columns, adding `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    if str_width(s) <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > width - 1 {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(s: &str, w: usize) -> Vec<&str> {
        wrap_ranges(s, w)
            .into_iter()
            .map(|(a, b)| &s[a..b])
            .collect()
    }

    #[test]
    fn breaks_after_spaces() {
        assert_eq!(rows("hello world foo", 11), vec!["hello ", "world foo"]);
        assert_eq!(rows("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(rows("", 4), vec![""]);
    }

    #[test]
    fn wide_chars_take_two_columns() {
        assert_eq!(rows("日本語テキスト", 6), vec!["日本語", "テキス", "ト"]);
        assert_eq!(rows("😀😀😀", 5), vec!["😀😀", "😀"]);
        // A wide char in a 1-column pane still makes progress.
        assert_eq!(rows("日本", 1), vec!["日", "本"]);
    }

    #[test]
    fn ascii_fast_path_matches_general_path() {
        let s =
            "lorem ipsum dolor sit amet,  consectetur adipiscing elit averyveryverylongword x y";
        for w in 1..40 {
            let mut general = Vec::new();
            // Force the general path with a trailing non-ASCII char, then compare the prefix.
            let t = format!("{s}é");
            wrap_with(&t, w, |a, b| general.push((a, b)));
            let fast = wrap_ranges(s, w);
            let n = fast.len() - 1;
            assert_eq!(fast[..n], general[..n], "w={w}");
        }
    }

    #[test]
    fn every_row_fits() {
        let s = "The quick brown 狐 jumps over the lazy 🐶 again and again, 長い行";
        for w in 1..30 {
            for (a, b) in wrap_ranges(s, w) {
                let rw = str_width(&s[a..b]);
                assert!(rw <= w.max(2), "w={w} row={:?}", &s[a..b]);
            }
            assert_eq!(count_rows(s, w), wrap_ranges(s, w).len());
        }
    }
}
