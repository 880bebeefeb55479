//! An MCP server over one Salesforce org, for assistants an admin can trust.
//!
//! ```no_run
//! # async fn demo(client: forcebridge_client::Client) -> forcebridge_mcp::Result<()> {
//! use forcebridge_mcp::{ConfigFile, Server};
//!
//! let config = ConfigFile::parse("read_only = true\n[objects]\nallow = [\"Account\", \"Contact\"]")?
//!     .into_config(false)?;
//! Server::new(client, config).serve_stdio().await
//! # }
//! ```
//!
//! - **Tools**: `query` (SOQL, checked before it is sent; capped rows and bytes; an opaque
//!   cursor), `get_record`, `describe_object` (from the catalog's model), `search` (SOSL),
//!   `list_objects`, `get_account_info`, `list_contacts`, `create_record`, `update_record`,
//!   `delete_record`, `create_lead`, `update_opportunity` and `bulk_operations`. Each has an
//!   input schema, an output schema, structured content with a text copy, and honest
//!   annotations.
//! - **Safety**: read-only mode (write tools hidden and refused), allow and deny lists of
//!   objects and fields applied to direct reads and to what a query reads, writes checked
//!   against describe, preview then confirm for updates, deletes and bulk operations (through
//!   `input_required` on 2026-07-28 or elicitation on 2025-11-25 when the client offers it,
//!   else a single-use expiring handle), a JSON-lines
//!   audit log, and an API budget for the process.
//! - **Transports**: stdio, and Streamable HTTP (loopback by default, `Origin` and `Host`
//!   checked, a bearer token beyond loopback). Protocol revisions 2026-07-28
//!   (`server/discover`) and 2025-11-25 (`initialize`) on the same server. A confirmed bulk
//!   operation runs as a task where the client declares the tasks extension; a cancelled
//!   call (request cancelled, or task cancelled) aborts its Bulk API 2.0 jobs on the org.
//!
//! The MCP SDK (rmcp, pinned) is used only inside the private `protocol` module: no rmcp type
//! is part of this crate's API. The crate emits `tracing` events and never prints.
//!
//! This crate has no cargo features.

mod audit;
mod config;
mod error;
mod handles;
mod policy;
mod protocol;
mod server;
mod snippet;
mod tools;
mod validate;

pub use audit::Audit;
pub use config::{Config, ConfigFile, DEFAULT_CONFIRM_TTL, Limits};
pub use error::{Error, ErrorKind, Result};
pub use policy::Policy;
pub use protocol::HttpOptions;
pub use server::Server;
pub use snippet::{ClientApp, client_config};

impl Server {
    /// Serves MCP over Streamable HTTP at `/mcp` on `listener` until the process ends. On an
    /// address beyond loopback, `options.bearer_token` is required.
    pub async fn serve_http(
        &self,
        listener: tokio::net::TcpListener,
        options: HttpOptions,
    ) -> Result<()> {
        protocol::serve_http(self.clone(), listener, options).await
    }
}
