//! The MCP test server as a standalone example binary, so integration tests can spawn it as a
//! child process before the `massgen-tui mcp test-server` subcommand exists.
//! Usage: `mcp_test_server [--http PORT]`.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [] => None,
        [flag, port] if flag == "--http" => Some(
            port.parse::<u16>()
                .map_err(|e| anyhow::anyhow!("invalid port `{port}`: {e}"))?,
        ),
        _ => anyhow::bail!("usage: mcp_test_server [--http PORT]"),
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(massgen_tui::mcp::run_test_server(port))
}
