//! SSE parse + tool-call assembly throughput on a recorded stream of 100,000 chunks (a mix of
//! text deltas, reasoning deltas and fragmented tool-call arguments, with keep-alive comments).
//! Target: at least 500,000 chunks per second on one core.
//!
//! Run: `cargo bench --bench sse_parse`. It measures `parse_stream_bytes`, the backend's real
//! parsing path (SSE framing, chunk JSON, tool-call accumulator), without the network.

use massgen_tui::backend::chat_completions::parse_stream_bytes;

const CHUNKS: usize = 100_000;

fn main() {
    divan::main();
}

/// Build the recorded stream: per 10 chunks, 5 text deltas, 2 reasoning deltas and 3 argument
/// fragments of one of 4 parallel tool calls; a `: ping` every 1000 chunks.
fn recorded_stream() -> Vec<u8> {
    let mut s = String::with_capacity(CHUNKS * 160);
    let mut started = [false; 4];
    for i in 0..CHUNKS {
        if i % 1000 == 0 {
            s.push_str(": ping\n\n");
        }
        match i % 10 {
            0..=4 => s.push_str(&format!(
                "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{i} and \\\"more\\\" \"}},\"finish_reason\":null}}]}}\n\n"
            )),
            5 | 6 => s.push_str(&format!(
                "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"reasoning_content\":\"step {i}, so \"}},\"finish_reason\":null}}]}}\n\n"
            )),
            _ => {
                let call = (i / 10) % 4;
                if !started[call] {
                    started[call] = true;
                    s.push_str(&format!(
                        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{call},\"id\":\"call_{call}\",\"type\":\"function\",\"function\":{{\"name\":\"new_answer\",\"arguments\":\"{{\\\"content\\\": \\\"\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
                    ));
                } else {
                    s.push_str(&format!(
                        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{call},\"function\":{{\"arguments\":\"frag {i} \\\\n\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
                    ));
                }
            }
        }
    }
    s.push_str(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    );
    s.push_str(
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20}}\n\n",
    );
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

/// The whole recorded stream fed at once.
#[divan::bench(sample_count = 20)]
fn parse_100k_chunks(bencher: divan::Bencher) {
    let body = recorded_stream();
    bencher
        .counter(divan::counter::ItemsCount::new(CHUNKS))
        .bench(|| parse_stream_bytes(divan::black_box(&body)).map(|events| events.len()));
}

/// The same stream fed in 1,400-byte network-sized pieces (the realistic path).
#[divan::bench(sample_count = 20)]
fn parse_100k_chunks_in_network_pieces(bencher: divan::Bencher) {
    use massgen_tui::backend::chat_completions::StreamParser;
    use massgen_tui::backend::tool_calls::ToolCallAccumulator;
    let body = recorded_stream();
    bencher
        .counter(divan::counter::ItemsCount::new(CHUNKS))
        .bench(|| {
            let mut parser = StreamParser::new(ToolCallAccumulator::with_id_prefix("b"));
            let mut events = Vec::new();
            for piece in divan::black_box(&body).chunks(1400) {
                let _ = parser.feed(piece, &mut events);
            }
            let _ = parser.finish(&mut events);
            events.len()
        });
}
