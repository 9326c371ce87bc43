//! Chat Completions request bodies: provider-neutral [`ChatRequest`]s to OpenAI wire JSON,
//! shaped by the provider's [`WireOptions`].
//!
//! Responsibilities: message conversion (assistant `content` as `""`/`null`/omitted next to
//! `tool_calls`, `tool` results), sanitising the history like MassGen (assistant tool calls
//! without a matching later tool result are dropped, and so are tool results without a
//! preceding call, which providers reject with a 400), tool definitions (schema clean-up,
//! `strict`, names shortened to the provider's limit and mapped back), `tool_choice` only as
//! supported (degrading `required`/named choices with a warning), `parallel_tool_calls`,
//! `stream_options`, and pass-through parameters minus the rejected and body-owned keys.
//! Non-responsibilities: sending, parsing replies.

use super::chat_completions::{AssistantContent, WireOptions};
use super::{ChatMessage, ChatRequest, Role, ToolChoice, ToolSpec};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// Keys the request body owns: never taken from pass-through parameters.
pub const BODY_OWNED_KEYS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "n",
];

/// Framework keys that may reach the backend parameters but are never provider parameters
/// (MassGen's exclusion list plus naming/connection keys it leaked).
pub const FRAMEWORK_KEYS: &[&str] = &[
    "type",
    "api_key",
    "base_url",
    "api_version",
    "azure_endpoint",
    "provider",
    "provider_name",
    "enable_web_search",
    "enable_code_interpreter",
    "enable_code_execution",
    "agent_id",
    "session_id",
    "mcp_servers",
    "allowed_tools",
    "exclude_tools",
    "cwd",
    "agent_temporary_workspace",
    "max_mcp_message_history",
    "use_multi_mcp",
    "mcp_sdk_auto",
    "permission_mode",
];

/// A built request body plus what is needed to read the reply.
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    /// The JSON body.
    pub body: Value,
    /// Wire tool name → the name the engine knows (only for shortened names).
    pub tool_names_back: HashMap<String, String>,
    /// Human-readable notes about degraded options (also logged).
    pub notes: Vec<String>,
    /// Characters of the prompt (usage estimation).
    pub input_chars: usize,
}

/// Build the body for `request`.
pub fn build_body(
    model: &str,
    params: &Map<String, Value>,
    wire: &WireOptions,
    request: &ChatRequest,
    streaming: bool,
) -> BuiltRequest {
    let mut notes = Vec::new();
    let names = ToolNames::new(&request.tools, wire.max_tool_name_len);
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.to_owned()));
    body.insert(
        "messages".into(),
        Value::Array(wire_messages(&request.messages, wire, &names, &mut notes)),
    );
    let mut extra_body = None;
    let mut parallel = None;
    for (key, value) in params {
        if value.is_null() || is_excluded(key, wire) {
            continue;
        }
        match key.as_str() {
            "extra_body" => extra_body = Some(value),
            "parallel_tool_calls" => parallel = Some(value.clone()),
            _ => {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    body.insert("stream".into(), Value::Bool(streaming));
    if streaming && wire.stream_usage {
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| wire_tool(t, wire, &names))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = wire_tool_choice(&request.tool_choice, wire, &names, &mut notes) {
            body.insert("tool_choice".into(), choice);
        }
        if let Some(p) = parallel {
            if wire.parallel_tool_calls_param {
                body.insert("parallel_tool_calls".into(), p);
            } else {
                notes.push(
                    "this provider does not accept `parallel_tool_calls`; it was not sent".into(),
                );
            }
        }
    }
    if let Some(Value::Object(extra)) = extra_body {
        // Like the OpenAI SDK: extra_body keys are merged into the top level of the body.
        for (key, value) in extra {
            if BODY_OWNED_KEYS.contains(&key.as_str())
                || wire.rejected_params.contains(&key.as_str())
            {
                notes.push(format!("extra_body.{key} is owned by the request or rejected by this provider; it was not sent"));
                continue;
            }
            body.insert(key.clone(), value.clone());
        }
    }
    for note in &notes {
        tracing::warn!(model, "{note}");
    }
    BuiltRequest {
        body: Value::Object(body),
        tool_names_back: names.back,
        notes,
        input_chars: input_chars(request),
    }
}

/// Characters of the prompt (messages, call arguments, tool definitions), for usage
/// estimation when the provider reports none.
pub(crate) fn input_chars(request: &ChatRequest) -> usize {
    request
        .messages
        .iter()
        .map(|m| {
            m.content.len()
                + m.tool_calls
                    .iter()
                    .map(|c| c.name.len() + c.raw_arguments.len())
                    .sum::<usize>()
        })
        .sum::<usize>()
        + request
            .tools
            .iter()
            .map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len())
            .sum::<usize>()
}

pub(crate) fn is_excluded(key: &str, wire: &WireOptions) -> bool {
    BODY_OWNED_KEYS.contains(&key)
        || FRAMEWORK_KEYS.contains(&key)
        || wire.rejected_params.contains(&key)
}

/// Tool-name shortening for providers with a name-length limit.
pub(crate) struct ToolNames {
    forward: HashMap<String, String>,
    pub(crate) back: HashMap<String, String>,
    max: usize,
}

impl ToolNames {
    pub(crate) fn new(tools: &[ToolSpec], max: usize) -> Self {
        let mut names = Self {
            forward: HashMap::new(),
            back: HashMap::new(),
            max,
        };
        for tool in tools {
            names.wire(&tool.name);
        }
        names
    }

    /// The wire name for `name` (shortened with a stable hash suffix when too long).
    fn wire(&mut self, name: &str) -> String {
        if self.max == 0 || name.len() <= self.max {
            return name.to_owned();
        }
        if let Some(short) = self.forward.get(name) {
            return short.clone();
        }
        let suffix = format!("_{:08x}", fnv1a(name) as u32);
        let keep = self.max.saturating_sub(suffix.len());
        let mut cut = keep.min(name.len());
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let short = format!("{}{}", &name[..cut], suffix);
        self.forward.insert(name.to_owned(), short.clone());
        self.back.insert(short.clone(), name.to_owned());
        short
    }

    pub(crate) fn lookup(&self, name: &str) -> String {
        self.forward.get(name).cloned().unwrap_or_else(|| {
            if self.max == 0 || name.len() <= self.max {
                name.to_owned()
            } else {
                // A name in the history that is not among the offered tools: shorten it the
                // same deterministic way.
                let mut tmp = ToolNames {
                    forward: HashMap::new(),
                    back: HashMap::new(),
                    max: self.max,
                };
                tmp.wire(name)
            }
        })
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// For each message, the indices of its tool calls that a later tool message answers (a
/// backwards pass; calls without an answer are dropped from the history because providers
/// reject them with a 400).
pub(crate) fn answered_tool_calls(messages: &[ChatMessage]) -> Vec<Vec<usize>> {
    let mut answered_later: HashSet<&str> = HashSet::new();
    let mut kept_calls: Vec<Vec<usize>> = vec![Vec::new(); messages.len()];
    for (i, m) in messages.iter().enumerate().rev() {
        match m.role {
            Role::Tool => {
                if let Some(id) = m.tool_call_id.as_deref() {
                    answered_later.insert(id);
                }
            }
            Role::Assistant => {
                kept_calls[i] = m
                    .tool_calls
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.id.is_empty() && answered_later.contains(c.id.as_str()))
                    .map(|(k, _)| k)
                    .collect();
            }
            _ => {}
        }
    }
    kept_calls
}

fn wire_messages(
    messages: &[ChatMessage],
    wire: &WireOptions,
    names: &ToolNames,
    notes: &mut Vec<String>,
) -> Vec<Value> {
    let kept_calls = answered_tool_calls(messages);
    let mut open_calls: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        match m.role {
            Role::System | Role::User => {
                out.push(json!({ "role": role_name(m.role), "content": m.content }));
            }
            Role::Assistant => {
                let calls: Vec<Value> = kept_calls[i]
                    .iter()
                    .map(|&k| {
                        let c = &m.tool_calls[k];
                        open_calls.insert(c.id.as_str());
                        let args = if c.raw_arguments.trim().is_empty() {
                            "{}".to_owned()
                        } else {
                            c.raw_arguments.clone()
                        };
                        json!({
                            "id": c.id,
                            "type": "function",
                            "function": { "name": names.lookup(&c.name), "arguments": args },
                        })
                    })
                    .collect();
                if calls.len() < m.tool_calls.len() {
                    notes.push(format!(
                        "dropped {} assistant tool call(s) without a matching tool result",
                        m.tool_calls.len() - calls.len()
                    ));
                }
                if calls.is_empty() {
                    if m.content.is_empty() && !m.tool_calls.is_empty() {
                        continue; // nothing left of this message
                    }
                    out.push(json!({ "role": "assistant", "content": m.content }));
                    continue;
                }
                let mut msg = Map::new();
                msg.insert("role".into(), "assistant".into());
                if !m.content.is_empty() {
                    msg.insert("content".into(), m.content.clone().into());
                } else {
                    match wire.assistant_content_with_tool_calls {
                        AssistantContent::EmptyString => {
                            msg.insert("content".into(), "".into());
                        }
                        AssistantContent::Null => {
                            msg.insert("content".into(), Value::Null);
                        }
                        AssistantContent::Omit => {}
                    }
                }
                msg.insert("tool_calls".into(), Value::Array(calls));
                out.push(Value::Object(msg));
            }
            Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or_default();
                if !open_calls.contains(id) {
                    notes.push(format!(
                        "dropped a tool result for `{id}`: no earlier assistant message calls it"
                    ));
                    continue;
                }
                out.push(json!({ "role": "tool", "tool_call_id": id, "content": m.content }));
            }
        }
    }
    out
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn wire_tool(tool: &ToolSpec, wire: &WireOptions, names: &ToolNames) -> Value {
    let mut parameters = match &tool.parameters {
        Value::Object(o) if !o.is_empty() => Value::Object(o.clone()),
        _ => json!({ "type": "object", "properties": {} }),
    };
    clean_schema(&mut parameters, wire);
    let mut function = Map::new();
    function.insert("name".into(), names.lookup(&tool.name).into());
    function.insert("description".into(), tool.description.clone().into());
    let strict = wire.strict_schemas && is_strict_compatible(&parameters);
    function.insert("parameters".into(), parameters);
    if strict {
        function.insert("strict".into(), Value::Bool(true));
    }
    json!({ "type": "function", "function": function })
}

/// Remove keywords the provider rejects and add `properties` to object schemas when the
/// provider needs it, recursively through sub-schemas.
pub(crate) fn clean_schema(schema: &mut Value, wire: &WireOptions) {
    let Value::Object(obj) = schema else {
        return;
    };
    for keyword in wire.schema_unsupported_keywords {
        obj.remove(*keyword);
    }
    if wire.schema_needs_properties
        && obj.get("type").and_then(Value::as_str) == Some("object")
        && !obj.contains_key("properties")
    {
        obj.insert("properties".into(), json!({}));
    }
    for key in ["properties", "$defs", "definitions", "patternProperties"] {
        if let Some(Value::Object(map)) = obj.get_mut(key) {
            for sub in map.values_mut() {
                clean_schema(sub, wire);
            }
        }
    }
    for key in ["items", "additionalProperties", "not", "contains"] {
        if let Some(sub) = obj.get_mut(key) {
            clean_schema(sub, wire);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            for sub in subs {
                clean_schema(sub, wire);
            }
        }
    }
}

/// OpenAI strict mode needs every object to list all properties as required and to forbid
/// additional ones. Schemas that do not are sent without `strict` instead of being rejected.
pub(crate) fn is_strict_compatible(schema: &Value) -> bool {
    let Value::Object(obj) = schema else {
        return true;
    };
    if let Some(Value::Object(props)) = obj.get("properties") {
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            return false;
        }
        let required: HashSet<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !props.keys().all(|k| required.contains(k.as_str())) {
            return false;
        }
        if !props.values().all(is_strict_compatible) {
            return false;
        }
    } else if obj.get("type").and_then(Value::as_str) == Some("object") {
        return false;
    }
    if let Some(items) = obj.get("items")
        && !is_strict_compatible(items)
    {
        return false;
    }
    ["anyOf", "oneOf", "allOf"].iter().all(|k| {
        obj.get(*k)
            .and_then(Value::as_array)
            .is_none_or(|subs| subs.iter().all(is_strict_compatible))
    })
}

fn wire_tool_choice(
    choice: &ToolChoice,
    wire: &WireOptions,
    names: &ToolNames,
    notes: &mut Vec<String>,
) -> Option<Value> {
    match choice {
        ToolChoice::Auto => None,
        ToolChoice::None => Some("none".into()),
        ToolChoice::Required if wire.tool_choice_required => Some("required".into()),
        ToolChoice::Required => {
            notes.push("this provider does not support tool_choice \"required\"; sent as auto (the prompt still asks for a tool call)".into());
            None
        }
        ToolChoice::Function(name) if wire.tool_choice_named => Some(json!({
            "type": "function",
            "function": { "name": names.lookup(name) },
        })),
        ToolChoice::Function(name) if wire.tool_choice_required => {
            notes.push(format!("this provider does not support a named tool_choice; `{name}` was requested, sent as \"required\""));
            Some("required".into())
        }
        ToolChoice::Function(name) => {
            notes.push(format!("this provider does not support a named tool_choice; `{name}` was requested, sent as auto"));
            None
        }
    }
}
