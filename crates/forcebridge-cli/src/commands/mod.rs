//! One module per top-level command.

pub(crate) mod bulk;
pub(crate) mod catalog;
pub(crate) mod connect;
pub(crate) mod data;
pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod mcp;
pub(crate) mod soql;
pub(crate) mod sync;
pub(crate) mod web;
