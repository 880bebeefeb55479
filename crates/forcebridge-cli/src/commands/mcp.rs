//! `forcebridge mcp`: serves the org to AI assistants through `forcebridge-mcp`, over stdio or
//! Streamable HTTP, and prints the snippet MCP clients need (`--print-config`). The server's
//! behaviour is the MCP crate's; this module only reads options and the config file's path.

use anyhow::Context;
use forcebridge_client::SecretString;
use forcebridge_mcp::{ClientApp, ConfigFile, HttpOptions, Server, client_config};

use crate::cli::{GlobalArgs, McpArgs, McpClient};
use crate::org::Org;
use crate::output::{self, Exit, Outcome, usage};

pub(crate) async fn run(global: &GlobalArgs, args: McpArgs) -> anyhow::Result<Outcome> {
    if args.print_config {
        return print_config(global, &args);
    }
    let file = match &args.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    let config = file.into_config(args.read_only)?;
    let org = Org::open(global).await?;
    let server = Server::new(org.client.clone(), config);
    match args.http {
        None => server.serve_stdio().await?,
        Some(addr) => {
            let bearer_token = std::env::var(&args.token_env)
                .ok()
                .filter(|t| !t.is_empty())
                .map(SecretString::from);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let bound = listener.local_addr()?;
            output::stderr(&format!(
                "serving MCP for {} at http://{bound}/mcp{}{}\n",
                org.label,
                if server.is_read_only() {
                    " (read-only)"
                } else {
                    ""
                },
                if bearer_token.is_some() {
                    ", bearer token required"
                } else {
                    ""
                }
            ));
            server
                .serve_http(
                    listener,
                    HttpOptions {
                        bearer_token,
                        allowed_origins: args.allow_origin.clone(),
                        allowed_hosts: args.allow_host.clone(),
                    },
                )
                .await?;
        }
    }
    Ok(Exit::Success)
}

fn print_config(global: &GlobalArgs, args: &McpArgs) -> anyhow::Result<Outcome> {
    let Some(connection) = &global.connection else {
        return Err(usage(
            "--print-config needs the connection: forcebridge mcp -c NAME --print-config",
        ));
    };
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "forcebridge".to_string());
    let config_file = args
        .config
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .map(|p| p.display().to_string());
    let app = match args.client {
        McpClient::Vscode => ClientApp::VsCode,
        McpClient::ClaudeDesktop | McpClient::ClaudeCode | McpClient::Cursor => {
            ClientApp::McpServers
        }
    };
    let snippet = client_config(
        app,
        &program,
        connection,
        args.read_only,
        config_file.as_deref(),
    );
    output::json(&snippet)?;
    Ok(Exit::Success)
}
