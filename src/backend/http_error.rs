//! Turning HTTP failures and provider error payloads into typed [`BackendError`]s.
//!
//! Responsibilities: status → error kind, extracting a short clean provider message from JSON,
//! HTML or plain-text bodies, detecting "context too long" from 400-class bodies, parsing
//! `Retry-After` (seconds or HTTP-date) and `retry-after-ms`, classifying error objects that
//! arrive inside an SSE stream.
//! Non-responsibilities: deciding whether and when to retry (`chat_completions`).

use super::BackendError;
use std::time::Duration;

/// Longest provider message kept in an error (characters).
const MAX_MESSAGE_CHARS: usize = 300;

/// Phrases providers use when the prompt does not fit the context window.
const CONTEXT_MARKERS: &[&str] = &[
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "context_window",
    "prompt is too long",
    "too many tokens",
    "reduce the length",
    "input is too long",
    "exceeds the maximum number of tokens",
    "tokens exceed",
    "prompt too long",
];

/// Build the typed error for an HTTP error response.
pub fn classify_status(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    retry_after: Option<Duration>,
) -> BackendError {
    let text = String::from_utf8_lossy(body);
    let message = extract_message(&text, content_type, status);
    let lower = text.to_ascii_lowercase();
    match status {
        401 | 403 => BackendError::Auth { status, message },
        429 if lower.contains("insufficient_quota")
            || lower.contains("exceeded your current quota") =>
        {
            BackendError::BadRequest {
                status,
                message: format!(
                    "{message} (the account's quota is exhausted: check the plan and billing; retrying will not help)"
                ),
            }
        }
        429 => BackendError::RateLimited {
            retry_after,
            message,
        },
        408 => BackendError::Network(format!(
            "request timed out at the provider (408): {message}"
        )),
        400..=499 if CONTEXT_MARKERS.iter().any(|m| lower.contains(m)) => {
            BackendError::ContextTooLong { message }
        }
        404 => BackendError::BadRequest {
            status,
            message: format!("{message} (check `base_url` (it usually ends in /v1) and `model`)"),
        },
        400..=499 => BackendError::BadRequest { status, message },
        500..=599 => BackendError::Server { status, message },
        _ => BackendError::MalformedResponse(format!("unexpected HTTP status {status}: {message}")),
    }
}

/// Classify an error object that arrived inside a 200 stream (`{"error": {...}}` or an
/// `event: error` event). `payload` is the value of `error` (or the whole data if it is not
/// an object with `error`).
pub fn classify_stream_error(payload: &serde_json::Value) -> BackendError {
    let err = payload.get("error").unwrap_or(payload);
    let code = err.get("code").or_else(|| err.get("status"));
    let numeric = code.and_then(|c| {
        c.as_u64()
            .or_else(|| c.as_str().and_then(|s| s.trim().parse::<u64>().ok()))
    });
    let words = format!(
        "{} {} {}",
        code.and_then(|c| c.as_str()).unwrap_or_default(),
        err.get("type").and_then(|t| t.as_str()).unwrap_or_default(),
        err.get("message")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
    )
    .to_ascii_lowercase();
    let status = match numeric {
        Some(n) if (100..=599).contains(&n) => n as u16,
        _ if words.contains("rate_limit") || words.contains("rate limit") => 429,
        _ if words.contains("auth") || words.contains("api_key") || words.contains("api key") => {
            401
        }
        _ if words.contains("invalid_request") || words.contains("bad_request") => 400,
        _ if CONTEXT_MARKERS.iter().any(|m| words.contains(m)) => 400,
        _ => 500,
    };
    let body = serde_json::json!({ "error": err }).to_string();
    let mut error = classify_status(status, Some("application/json"), body.as_bytes(), None);
    if let BackendError::Server { message, .. } = &mut error {
        message.push_str(" (reported inside the response stream)");
    }
    error
}

/// A short, clean, human-readable message from an error body.
pub fn extract_message(body: &str, content_type: Option<&str>, status: u16) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return format!("HTTP {status} with an empty body");
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        if let Some(msg) = json_message(&value) {
            return truncate(&collapse_whitespace(&msg));
        }
        return truncate(&collapse_whitespace(trimmed));
    }
    let is_html = content_type.is_some_and(|c| c.contains("html"))
        || trimmed.starts_with('<')
        || trimmed.to_ascii_lowercase().contains("<html");
    if is_html {
        return format!("HTTP {status}, HTML page: {}", html_summary(trimmed));
    }
    truncate(&collapse_whitespace(trimmed))
}

/// The title (or the first text) of an HTML page, short.
pub fn html_summary(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if let Some(start) = lower.find("<title")
        && let Some(open_end) = lower[start..].find('>')
    {
        let from = start + open_end + 1;
        if let Some(len) = lower[from..].find("</title") {
            let title = collapse_whitespace(&html[from..from + len]);
            if !title.is_empty() {
                return truncate(&title);
            }
        }
    }
    // No title: strip tags, scripts and styles are rare in error pages; keep it simple.
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    truncate(&collapse_whitespace(&text))
}

fn json_message(value: &serde_json::Value) -> Option<String> {
    let err = value.get("error");
    let candidates = [
        err.and_then(|e| e.get("message")),
        err.filter(|e| e.is_string()),
        value.get("message"),
        value.get("detail"),
        value.get("error_message"),
    ];
    let mut message = candidates.into_iter().flatten().find_map(|v| match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    })?;
    // OpenRouter puts the upstream provider's own message in error.metadata.raw.
    if let Some(raw) = err
        .and_then(|e| e.get("metadata"))
        .and_then(|m| m.get("raw"))
        .and_then(|r| r.as_str())
        .filter(|r| !r.trim().is_empty())
    {
        message = format!("{message}: {raw}");
    }
    Some(message)
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
    out.push('…');
    out
}

/// Parse `Retry-After` (delay-seconds, possibly fractional, or an HTTP-date) or
/// `retry-after-ms` (OpenAI sends both; the millisecond one wins).
pub fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    parse_retry_after_value(value, chrono::Utc::now())
}

/// Parse one `Retry-After` value relative to `now`.
pub fn parse_retry_after_value(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_retry_after() {
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after_value("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after_value("2.5", now),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_retry_after_value("soon", now), None);
    }

    #[test]
    fn html_title_is_used() {
        let m = extract_message(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>...</body></html>",
            Some("text/html"),
            502,
        );
        assert_eq!(m, "HTTP 502, HTML page: 502 Bad Gateway");
    }
}
