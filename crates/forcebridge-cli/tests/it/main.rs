//! Integration tests of the `forcebridge` binary, one module per command.

mod bulk;
mod catalog;
mod connect;
mod data;
mod emulator;
mod input;
mod pipes;
mod push;
mod soql;
mod support;
mod sync;
mod tooling;
