//! Input-schema normalisation per provider profile.
//!
//! Responsibilities: rewriting an MCP tool's JSON Schema into a shape a provider accepts,
//! as described by a [`SchemaPolicy`]: stripping unsupported keywords at every schema node
//! (never property *names*), inlining `$ref`s when refs are unsupported, adding
//! `properties: {}` to object schemas when required, and making the root an object schema.
//! Reports what changed, or why the schema cannot be made acceptable.
//! Non-responsibilities: knowing which provider needs what (provider profiles build policies),
//! reporting events (the manager does, once per tool).

use serde_json::{Map, Value};

/// What a provider accepts in function parameter schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaPolicy {
    /// Short name for events, e.g. the provider profile (`openai`, `gemini-compat`).
    pub name: String,
    /// Keywords removed from every schema node. `$ref` here means "inline references".
    pub unsupported_keywords: Vec<String>,
    /// Add `properties: {}` to every object schema without one.
    pub needs_properties: bool,
}

impl SchemaPolicy {
    /// Accepts standard JSON Schema (OpenAI and most compatible servers). Only `$schema`
    /// and `$id` are removed; the root is still made an object schema.
    pub fn standard() -> Self {
        Self {
            name: "standard".to_owned(),
            unsupported_keywords: vec!["$schema".into(), "$id".into()],
            needs_properties: false,
        }
    }

    /// For strict OpenAI-compatible servers (e.g. Gemini's and some local servers'
    /// compatibility layers): removes `$schema`, `$id`, `additionalProperties`, `format`,
    /// `default`, `examples`, `$comment`, `title`, inlines `$ref`, and requires `properties`.
    pub fn restrictive() -> Self {
        Self {
            name: "restrictive".to_owned(),
            unsupported_keywords: [
                "$schema",
                "$id",
                "$comment",
                "additionalProperties",
                "format",
                "default",
                "examples",
                "title",
                "$ref",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
            needs_properties: true,
        }
    }

    fn strips(&self, key: &str) -> bool {
        self.unsupported_keywords.iter().any(|k| k == key)
    }
}

/// The result of normalising one schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalised {
    /// The acceptable schema.
    pub schema: Value,
    /// What was changed, for the discovery event (empty if nothing).
    pub changes: Vec<String>,
}

const MAX_DEPTH: usize = 64;

/// Keys whose value is a map of name → schema.
const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Keys whose value is a schema (or, for `items`, possibly an array of schemas).
const SCHEMA_VALUES: &[&str] = &[
    "additionalProperties",
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
];
/// Keys whose value is an array of schemas.
const SCHEMA_ARRAYS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];

/// Normalise `schema` under `policy`. Errors say why the schema cannot be made acceptable.
pub fn normalise(schema: &Map<String, Value>, policy: &SchemaPolicy) -> Result<Normalised, String> {
    let mut changes = Vec::new();
    let mut root = Value::Object(schema.clone());
    if policy.strips("$ref") {
        let defs = collect_defs(schema);
        inline_refs(&mut root, &defs, 0, &mut changes)?;
        if let Value::Object(m) = &mut root {
            for k in ["$defs", "definitions"] {
                if m.remove(k).is_some() {
                    changes.push(format!("removed `{k}` after inlining"));
                }
            }
        }
    }
    walk(&mut root, policy, 0, &mut changes)?;
    let Value::Object(m) = &mut root else {
        return Err("the input schema is not a JSON object".to_owned());
    };
    match m.get("type") {
        None => {
            if m.contains_key("anyOf") || m.contains_key("oneOf") {
                return Err(
                    "the input schema's root is a union (anyOf/oneOf), not an object schema"
                        .to_owned(),
                );
            }
            m.insert("type".into(), Value::String("object".into()));
            changes.push("added `type: object` at the root".to_owned());
        }
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => {
            return Err(format!(
                "the input schema's root type is {other}, but tool arguments must be an object"
            ));
        }
    }
    if !m.contains_key("properties") && policy.needs_properties {
        m.insert("properties".into(), Value::Object(Map::new()));
        changes.push("added `properties: {}` at the root".to_owned());
    }
    changes.sort();
    changes.dedup();
    Ok(Normalised {
        schema: root,
        changes,
    })
}

fn collect_defs(schema: &Map<String, Value>) -> Map<String, Value> {
    let mut defs = Map::new();
    for k in ["$defs", "definitions"] {
        if let Some(Value::Object(d)) = schema.get(k) {
            for (name, s) in d {
                defs.insert(format!("#/{k}/{name}"), s.clone());
            }
        }
    }
    defs
}

fn inline_refs(
    v: &mut Value,
    defs: &Map<String, Value>,
    depth: usize,
    changes: &mut Vec<String>,
) -> Result<(), String> {
    if depth > 16 {
        return Err("`$ref`s nest too deeply (recursive schema?) to be inlined".to_owned());
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref").cloned() {
                let Some(target) = defs.get(&r) else {
                    return Err(format!("`$ref` to `{r}` cannot be resolved for inlining"));
                };
                let mut inlined = target.clone();
                inline_refs(&mut inlined, defs, depth + 1, changes)?;
                m.remove("$ref");
                if let Value::Object(t) = inlined {
                    for (k, val) in t {
                        m.entry(k).or_insert(val);
                    }
                }
                changes.push("inlined `$ref`".to_owned());
            }
            for (k, child) in m.iter_mut() {
                if k == "$defs" || k == "definitions" {
                    continue;
                }
                inline_refs(child, defs, depth, changes)?;
            }
        }
        Value::Array(items) => {
            for child in items {
                inline_refs(child, defs, depth, changes)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn walk(
    node: &mut Value,
    policy: &SchemaPolicy,
    depth: usize,
    changes: &mut Vec<String>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "the input schema nests deeper than {MAX_DEPTH} levels"
        ));
    }
    let Value::Object(m) = node else {
        // `true`/`false` schemas and malformed nodes are left alone.
        return Ok(());
    };
    let strip: Vec<String> = m
        .keys()
        .filter(|k| policy.strips(k) && k.as_str() != "$ref")
        .cloned()
        .collect();
    for k in strip {
        m.remove(&k);
        changes.push(format!("removed `{k}`"));
    }
    for (k, child) in m.iter_mut() {
        if SCHEMA_MAPS.contains(&k.as_str()) {
            if let Value::Object(props) = child {
                for (_, s) in props.iter_mut() {
                    walk(s, policy, depth + 1, changes)?;
                }
            }
        } else if SCHEMA_VALUES.contains(&k.as_str()) {
            match child {
                Value::Array(items) => {
                    for s in items {
                        walk(s, policy, depth + 1, changes)?;
                    }
                }
                other => walk(other, policy, depth + 1, changes)?,
            }
        } else if SCHEMA_ARRAYS.contains(&k.as_str())
            && let Value::Array(items) = child
        {
            for s in items {
                walk(s, policy, depth + 1, changes)?;
            }
        }
    }
    let is_object = match m.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    if is_object && policy.needs_properties && !m.contains_key("properties") {
        m.insert("properties".into(), Value::Object(Map::new()));
        changes.push("added `properties: {}`".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn restrictive_policy_strips_keywords_but_not_property_names() {
        let s = obj(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "format": {"type": "string", "format": "date-time"},
                "opts": {"type": "object"}
            }
        }));
        let n = normalise(&s, &SchemaPolicy::restrictive()).unwrap();
        assert_eq!(
            n.schema,
            json!({
                "type": "object",
                "properties": {
                    "format": {"type": "string"},
                    "opts": {"type": "object", "properties": {}}
                }
            })
        );
        assert!(n.changes.iter().any(|c| c.contains("additionalProperties")));
    }

    #[test]
    fn refs_are_inlined_when_unsupported() {
        let s = obj(json!({
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/P"}},
            "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}}}
        }));
        let n = normalise(&s, &SchemaPolicy::restrictive()).unwrap();
        assert_eq!(
            n.schema,
            json!({"type": "object", "properties": {"p": {"type": "object", "properties": {"x": {"type": "integer"}}}}})
        );
    }

    #[test]
    fn non_object_roots_are_rejected_and_missing_type_added() {
        assert!(normalise(&obj(json!({"type": "string"})), &SchemaPolicy::standard()).is_err());
        let n = normalise(&obj(json!({})), &SchemaPolicy::restrictive()).unwrap();
        assert_eq!(n.schema, json!({"type": "object", "properties": {}}));
        let recursive = obj(json!({
            "type": "object",
            "properties": {"n": {"$ref": "#/$defs/N"}},
            "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}
        }));
        assert!(normalise(&recursive, &SchemaPolicy::restrictive()).is_err());
        assert!(normalise(&recursive, &SchemaPolicy::standard()).is_ok());
    }
}
