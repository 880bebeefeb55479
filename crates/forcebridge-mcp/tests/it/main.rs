//! The MCP server, driven in-process over an in-memory pipe with raw JSON-RPC against the
//! local org: every tool, read-only mode, the policy, the confirm flow, caps and cursors,
//! progress, the audit log and the API budget; and the HTTP endpoint's guards.

mod harness;
mod http;
mod reads;
mod safety;
mod writes;
