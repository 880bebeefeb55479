//! The configuration snippets MCP clients need to start this server over stdio.

use serde_json::{Value, json};

/// An MCP client application, for [`client_config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientApp {
    /// Claude Desktop (`claude_desktop_config.json`), Claude Code (`.mcp.json`) and Cursor
    /// (`.cursor/mcp.json`): `{"mcpServers": {...}}`.
    McpServers,
    /// VS Code (`.vscode/mcp.json`): `{"servers": {... "type": "stdio"}}`.
    VsCode,
}

/// The JSON snippet that makes `app` start `forcebridge mcp` for `connection`.
pub fn client_config(
    app: ClientApp,
    program: &str,
    connection: &str,
    read_only: bool,
    config_file: Option<&str>,
) -> Value {
    let mut args = vec!["mcp".to_string(), "-c".into(), connection.into()];
    if read_only {
        args.push("--read-only".into());
    }
    if let Some(file) = config_file {
        args.push("--config".into());
        args.push(file.into());
    }
    let name = format!("salesforce-{connection}");
    match app {
        ClientApp::McpServers => json!({
            "mcpServers": { name: { "command": program, "args": args } }
        }),
        ClientApp::VsCode => json!({
            "servers": { name: { "type": "stdio", "command": program, "args": args } }
        }),
    }
}
