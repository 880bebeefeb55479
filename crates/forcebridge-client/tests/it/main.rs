//! The client against the local org, in-process on port 0: one binary, one module per area.

mod auth;
mod bulk;
mod bulk_load;
mod composite;
mod query;
mod reliability;
mod sobjects;
mod support;
mod tls;
mod web;
#[cfg(feature = "loopback")]
mod web_loopback;
