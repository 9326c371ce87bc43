//! Turning MCP tool results into what the model and the user see.
//!
//! Responsibilities: text parts as text; images, audio, embedded resources, resource links
//! and structured content summarised for the model and shown whole in the full text; capping
//! the model's copy at a configurable size with a note saying so.
//! Non-responsibilities: the call itself and its events (`manager.rs`).

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// Default cap on the text sent back to the model, in characters.
pub const DEFAULT_MAX_RESULT_CHARS: usize = 20_000;

/// A converted result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// What the model gets (before the size cap).
    pub for_model: String,
    /// Everything, for the UI and the log.
    pub full: String,
    /// Non-text parts that were summarised for the model (for the `result` event).
    pub summarised: Vec<String>,
}

fn human_bytes(n: usize) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// Approximate decoded size of base64 data.
fn b64_len(data: &str) -> usize {
    data.len() / 4 * 3
}

/// Convert a tool result.
pub fn convert(result: &CallToolResult) -> Converted {
    let mut model_parts: Vec<String> = Vec::new();
    let mut full_parts: Vec<String> = Vec::new();
    let mut summarised = Vec::new();
    for block in &result.content {
        match block {
            ContentBlock::Text(t) => {
                model_parts.push(t.text.clone());
                full_parts.push(t.text.clone());
            }
            ContentBlock::Image(img) => {
                let s = format!(
                    "[image: {}, {}]",
                    img.mime_type,
                    human_bytes(b64_len(&img.data))
                );
                full_parts.push(format!("{s}\ndata:{};base64,{}", img.mime_type, img.data));
                summarised.push(s.clone());
                model_parts.push(s);
            }
            ContentBlock::Audio(a) => {
                let s = format!(
                    "[audio: {}, {}]",
                    a.mime_type,
                    human_bytes(b64_len(&a.data))
                );
                full_parts.push(format!("{s}\ndata:{};base64,{}", a.mime_type, a.data));
                summarised.push(s.clone());
                model_parts.push(s);
            }
            ContentBlock::Resource(r) => match &r.resource {
                ResourceContents::TextResourceContents {
                    uri,
                    mime_type,
                    text,
                    ..
                } => {
                    let head = format!(
                        "[resource {uri}{}]",
                        mime_type
                            .as_deref()
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    );
                    model_parts.push(format!("{head}\n{text}"));
                    full_parts.push(format!("{head}\n{text}"));
                }
                ResourceContents::BlobResourceContents {
                    uri,
                    mime_type,
                    blob,
                    ..
                } => {
                    let s = format!(
                        "[binary resource {uri}: {}, {}]",
                        mime_type.as_deref().unwrap_or("unknown type"),
                        human_bytes(b64_len(blob))
                    );
                    full_parts.push(format!("{s}\nbase64:{blob}"));
                    summarised.push(s.clone());
                    model_parts.push(s);
                }
                other => {
                    let json = serde_json::to_string(other).unwrap_or_default();
                    let s = "[resource of an unknown kind]".to_owned();
                    full_parts.push(format!("{s}\n{json}"));
                    summarised.push(s.clone());
                    model_parts.push(s);
                }
            },
            ContentBlock::ResourceLink(link) => {
                let s = format!(
                    "[resource link: {} <{}>{}]",
                    link.name,
                    link.uri,
                    link.description
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                );
                full_parts.push(s.clone());
                model_parts.push(s);
            }
            other => {
                let json = serde_json::to_string(other).unwrap_or_default();
                let s = "[content of an unknown kind]".to_owned();
                full_parts.push(format!("{s}\n{json}"));
                summarised.push(s.clone());
                model_parts.push(s);
            }
        }
    }
    if let Some(structured) = &result.structured_content {
        let pretty = serde_json::to_string_pretty(structured).unwrap_or_default();
        full_parts.push(format!("structured content:\n{pretty}"));
        if model_parts.is_empty() {
            // No text fallback was given: the model needs the data itself.
            model_parts.push(serde_json::to_string(structured).unwrap_or_default());
        } else {
            summarised.push("structured content (a text version was also sent)".to_owned());
        }
    }
    Converted {
        for_model: model_parts.join("\n"),
        full: full_parts.join("\n"),
        summarised,
    }
}

/// Cap `text` at `max_chars` characters, appending a note when it was cut.
/// Returns the text and whether it was truncated.
pub fn cap(text: String, max_chars: usize) -> (String, bool) {
    let total = text.chars().count();
    if total <= max_chars {
        return (text, false);
    }
    let cut: String = text.chars().take(max_chars).collect();
    (
        format!(
            "{cut}\n[… result truncated: showing the first {max_chars} of {total} characters; the full result is in the log]"
        ),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;

    #[test]
    fn text_is_joined_and_images_summarised() {
        let r = CallToolResult::success(vec![
            ContentBlock::text("hello"),
            ContentBlock::image("aGVsbG8gd29ybGQh", "image/png"),
        ]);
        let c = convert(&r);
        assert_eq!(c.for_model, "hello\n[image: image/png, 12 B]");
        assert!(c.full.contains("data:image/png;base64,aGVsbG8gd29ybGQh"));
        assert_eq!(c.summarised.len(), 1);
    }

    #[test]
    fn cap_marks_truncation() {
        let (t, cut) = cap("é".repeat(10), 4);
        assert!(cut);
        assert!(t.starts_with("éééé\n[… result truncated"));
        assert_eq!(cap("abc".into(), 3), ("abc".into(), false));
    }
}
