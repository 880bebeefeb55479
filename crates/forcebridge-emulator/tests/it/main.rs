//! Integration tests of the local org, driven over HTTP on a real listener (port 0).

mod auth;
mod bulk;
mod composite;
mod control;
mod custom_schema;
mod duplicates;
mod organization;
mod persist;
mod query;
mod rest;
mod search;
mod server;
mod support;
mod tls;
mod wire;
