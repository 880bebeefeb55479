//! One module per top-level command.

pub(crate) mod emulator;
pub(crate) mod soql;
