//! Integration tests of the `forcebridge` binary, one module per command.

mod emulator;
mod soql;
