//! Assembly of streamed tool calls (Chat Completions `delta.tool_calls[]` and the legacy
//! `delta.function_call`) into complete [`ToolCall`]s.
//!
//! Responsibilities: keying fragments by `index`; setting (not appending) the name; appending
//! argument fragments; tolerating `id`/`type`/`name` repeated in every fragment or sent once;
//! synthesising a stable id when the provider sends none; emitting
//! [`BackendEvent::ToolCallStarted`] / [`BackendEvent::ToolCallArgsDelta`] while fragments
//! arrive and the finished calls in index order at the end.
//! Non-responsibilities: SSE framing and JSON chunk parsing (`sse`, `chat_completions`);
//! validating arguments (that is [`ToolCall::arguments`], used by the engine, so invalid JSON
//! becomes a tool error the model sees instead of a crash here).
//!
//! Cumulative arguments: a few servers resend the whole argument text so far in every fragment
//! instead of the new part. This is detected safely: while every fragment starts with the
//! previous fragment the UI is sent only the new suffix, and at the end the plain concatenation
//! is used unless it is not valid JSON while the last fragment alone is (which is exactly
//! what a cumulative stream looks like). A provider that resends the complete arguments once
//! more at the end of a fragmented stream is handled by the same rule.

use super::{BackendEvent, ToolCall};

/// One call being assembled.
#[derive(Debug, Default, Clone)]
struct Slot {
    index: usize,
    id: Option<String>,
    name: String,
    /// Concatenation of every argument fragment.
    args: String,
    /// Byte offset in `args` where the last fragment starts.
    last_start: usize,
    /// Number of non-empty argument fragments.
    fragments: usize,
    /// Every fragment so far started with the previous one (cumulative-looking).
    chain: bool,
    /// `ToolCallStarted` was emitted.
    started: bool,
}

impl Slot {
    fn final_arguments(&self) -> String {
        if self.fragments >= 2 {
            let last = &self.args[self.last_start..];
            let before = &self.args[..self.last_start];
            let cumulative_looking = self.chain || last.starts_with(before);
            if cumulative_looking && !is_json(&self.args) && is_json(last) {
                return last.to_owned();
            }
        }
        self.args.clone()
    }
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Assembles tool calls of one reply. Create one per stream.
#[derive(Debug)]
pub struct ToolCallAccumulator {
    /// Slots in order of first appearance (usually index order; sorted at the end).
    slots: Vec<Slot>,
    /// Prefix for synthesised ids, unique per stream (`call_<prefix>_<index>`).
    id_prefix: String,
    /// A `tool_calls` delta was seen: the legacy `function_call` is then a duplicate.
    saw_tool_calls: bool,
}

impl Default for ToolCallAccumulator {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolCallAccumulator {
    /// A new accumulator with a random id prefix for synthesised ids.
    pub fn new() -> Self {
        let prefix: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(8)
            .collect();
        Self::with_id_prefix(prefix)
    }

    /// A new accumulator whose synthesised ids are `call_<prefix>_<index>` (deterministic; for
    /// tests and benchmarks).
    pub fn with_id_prefix(prefix: impl Into<String>) -> Self {
        Self {
            slots: Vec::new(),
            id_prefix: prefix.into(),
            saw_tool_calls: false,
        }
    }

    /// Whether any call has been seen.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Apply one `delta.tool_calls[]` entry. `index` may be missing (some servers, e.g. the
    /// Gemini compatibility layer, omit it): then a new id starts a new call and a fragment
    /// without id continues the last call.
    pub fn apply_tool_call_delta(
        &mut self,
        index: Option<usize>,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
        out: &mut Vec<BackendEvent>,
    ) {
        self.saw_tool_calls = true;
        let index = match index {
            Some(i) => i,
            None => self.infer_index(id),
        };
        self.apply(index, id, name, arguments, out);
    }

    /// Apply a legacy `delta.function_call`. Ignored when the stream also carries
    /// `tool_calls` (servers that send both send the same call twice); otherwise it is call 0.
    pub fn apply_function_call_delta(
        &mut self,
        name: Option<&str>,
        arguments: Option<&str>,
        out: &mut Vec<BackendEvent>,
    ) {
        if self.saw_tool_calls {
            return;
        }
        self.apply(0, None, name, arguments, out);
    }

    /// Note that the current chunk carries `tool_calls`, before its `function_call` is applied.
    pub fn mark_tool_calls_seen(&mut self) {
        self.saw_tool_calls = true;
    }

    fn infer_index(&self, id: Option<&str>) -> usize {
        let Some(last) = self.slots.last() else {
            return 0;
        };
        match id {
            Some(id) if !id.is_empty() && last.id.as_deref() != Some(id) => {
                // A different id: look for an existing slot with it, else a new call.
                self.slots
                    .iter()
                    .find(|s| s.id.as_deref() == Some(id))
                    .map(|s| s.index)
                    .unwrap_or_else(|| self.slots.iter().map(|s| s.index).max().unwrap_or(0) + 1)
            }
            _ => last.index,
        }
    }

    fn apply(
        &mut self,
        index: usize,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
        out: &mut Vec<BackendEvent>,
    ) {
        let pos = match self.slots.iter().rposition(|s| s.index == index) {
            Some(pos) => pos,
            None => {
                self.slots.push(Slot {
                    index,
                    chain: true,
                    ..Slot::default()
                });
                self.slots.len() - 1
            }
        };
        let id_prefix = &self.id_prefix;
        let slot = &mut self.slots[pos];
        if let Some(id) = id.filter(|id| !id.is_empty())
            && slot.id.is_none()
        {
            slot.id = Some(id.to_owned());
        }
        if let Some(name) = name.filter(|n| !n.is_empty())
            && slot.name != name
        {
            // Set, not appended: providers repeat the name in every fragment.
            name.clone_into(&mut slot.name);
        }
        let mut delta: Option<&str> = None;
        if let Some(fragment) = arguments.filter(|a| !a.is_empty()) {
            let previous = &slot.args[slot.last_start..];
            let extends_previous = slot.fragments >= 1 && fragment.starts_with(previous);
            slot.chain = slot.chain && (slot.fragments == 0 || extends_previous);
            let new_part = if slot.chain && slot.fragments >= 1 {
                &fragment[previous.len()..]
            } else {
                fragment
            };
            slot.last_start = slot.args.len();
            slot.args.push_str(fragment);
            slot.fragments += 1;
            delta = Some(new_part);
        }
        if !slot.started && !slot.name.is_empty() {
            slot.started = true;
            let id = slot
                .id
                .clone()
                .unwrap_or_else(|| synth_id(id_prefix, slot.index));
            out.push(BackendEvent::ToolCallStarted {
                index: slot.index,
                id,
                name: slot.name.clone(),
            });
            // Arguments that arrived before the name (rare) are sent now in one piece.
            if slot.args.len() > delta.map_or(0, str::len) {
                let pending = slot.args.len() - delta.map_or(0, str::len);
                out.push(BackendEvent::ToolCallArgsDelta {
                    index: slot.index,
                    delta: slot.args[..pending].to_owned(),
                });
            }
        }
        if slot.started
            && let Some(d) = delta.filter(|d| !d.is_empty())
        {
            out.push(BackendEvent::ToolCallArgsDelta {
                index: slot.index,
                delta: d.to_owned(),
            });
        }
    }

    /// Finish the reply: emit a `ToolCallStarted` for calls that never got a name, then every
    /// call as [`BackendEvent::ToolCall`] in index order. Returns how many calls were emitted.
    pub fn finish(&mut self, out: &mut Vec<BackendEvent>) -> usize {
        let mut slots = std::mem::take(&mut self.slots);
        slots.sort_by_key(|s| s.index);
        let count = slots.len();
        for slot in slots {
            let id = slot
                .id
                .clone()
                .unwrap_or_else(|| synth_id(&self.id_prefix, slot.index));
            if !slot.started {
                out.push(BackendEvent::ToolCallStarted {
                    index: slot.index,
                    id: id.clone(),
                    name: slot.name.clone(),
                });
            }
            out.push(BackendEvent::ToolCall(ToolCall {
                id,
                name: slot.name.clone(),
                raw_arguments: slot.final_arguments(),
            }));
        }
        count
    }
}

fn synth_id(prefix: &str, index: usize) -> String {
    format!("call_{prefix}_{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(events: &[BackendEvent]) -> Vec<ToolCall> {
        events
            .iter()
            .filter_map(|e| match e {
                BackendEvent::ToolCall(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn cumulative_arguments_are_detected() {
        let mut acc = ToolCallAccumulator::with_id_prefix("t");
        let mut out = Vec::new();
        for frag in [r#"{"a"#, r#"{"a":1"#, r#"{"a":1}"#] {
            acc.apply_tool_call_delta(Some(0), None, Some("f"), Some(frag), &mut out);
        }
        acc.finish(&mut out);
        assert_eq!(calls(&out)[0].raw_arguments, r#"{"a":1}"#);
        let streamed: String = out
            .iter()
            .filter_map(|e| match e {
                BackendEvent::ToolCallArgsDelta { delta, .. } => Some(delta.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(streamed, r#"{"a":1}"#);
    }

    #[test]
    fn full_resend_at_end_is_deduplicated() {
        let mut acc = ToolCallAccumulator::with_id_prefix("t");
        let mut out = Vec::new();
        for frag in [r#"{"a":"#, "1}", r#"{"a":1}"#] {
            acc.apply_tool_call_delta(Some(0), Some("c"), Some("f"), Some(frag), &mut out);
        }
        acc.finish(&mut out);
        assert_eq!(calls(&out)[0].raw_arguments, r#"{"a":1}"#);
    }

    #[test]
    fn genuine_fragments_are_concatenated() {
        let mut acc = ToolCallAccumulator::with_id_prefix("t");
        let mut out = Vec::new();
        for frag in [r#"{"x":""#, "a", "ab", r#""}"#] {
            acc.apply_tool_call_delta(Some(0), None, Some("f"), Some(frag), &mut out);
        }
        acc.finish(&mut out);
        assert_eq!(calls(&out)[0].raw_arguments, r#"{"x":"aab"}"#);
        assert_eq!(calls(&out)[0].id, "call_t_0");
    }
}
