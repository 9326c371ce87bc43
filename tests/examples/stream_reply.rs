//! Streams one reply from the scripted provider through the public backend API and prints it.
//!
//! Run: `cargo run --example stream_reply`

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/scripted_provider.rs"]
mod scripted_provider;

use futures::StreamExt;
use massgen_tui::backend::{
    BackendEvent, ChatBackend, ChatCompletionsBackend, ChatCompletionsConfig, ChatMessage,
    ChatRequest, ToolSpec, WireOptions,
};
use scripted_provider::{Chunk, Reply, ScriptedProvider};
use std::io::Write;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ScriptedProvider::start().await;
    server.push(
        Reply::stream([
            Chunk::reasoning_content("The user greets me; answer and submit."),
            Chunk::comment("ping"),
            Chunk::text("Hel"),
            Chunk::text("lo, "),
            Chunk::text("world!"),
            Chunk::tool_call_start(0, None, "new_answer"),
            Chunk::tool_args(0, "{\"content\": "),
            Chunk::tool_args(0, "\"Hello, world!\"}"),
        ])
        .finish("tool_calls")
        .usage(42, 17)
        .delay(Duration::from_millis(40)),
    );

    let config = ChatCompletionsConfig::new("Scripted", server.base_url(), "scripted-model")
        .with_api_key("sk-example")
        .with_wire(WireOptions::OPENAI);
    let backend = ChatCompletionsBackend::new(config)?;
    let request = ChatRequest {
        messages: vec![
            ChatMessage::system("You are agent1."),
            ChatMessage::user("Say hello."),
        ],
        tools: vec![ToolSpec {
            name: "new_answer".into(),
            description: "Submit a new answer".into(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {"content": {"type": "string"}},
                "required": ["content"]
            }),
        }],
        ..ChatRequest::default()
    };

    println!(
        "{} / {} at {}",
        backend.provider_name(),
        backend.model(),
        server.base_url()
    );
    let mut stream = backend.stream(request, CancellationToken::new());
    let mut out = std::io::stdout();
    while let Some(event) = stream.next().await {
        match event? {
            BackendEvent::ReasoningDelta(t) => println!("[reasoning] {t}"),
            BackendEvent::TextDelta(t) => {
                print!("{t}");
                out.flush()?;
            }
            BackendEvent::ToolCallStarted { name, id, .. } => {
                println!("\n[tool call {name} ({id})]")
            }
            BackendEvent::ToolCallArgsDelta { delta, .. } => println!("  args += {delta}"),
            BackendEvent::ToolCall(call) => {
                println!("[tool call complete] {} {:?}", call.name, call.arguments())
            }
            BackendEvent::Usage(u) => println!(
                "[usage] in {} out {} (estimated: {})",
                u.input_tokens, u.output_tokens, u.estimated
            ),
            BackendEvent::Retrying {
                attempt,
                delay,
                error,
            } => println!("[retry {attempt} in {delay:?}: {error}]"),
            BackendEvent::Done { finish_reason } => println!("[done: {finish_reason:?}]"),
        }
    }
    Ok(())
}
