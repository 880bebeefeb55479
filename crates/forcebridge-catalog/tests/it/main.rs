//! Integration tests of the catalog against the local org, one module per area.

mod diff;
mod extract;
mod org_files;
mod outputs;
mod support;
mod tables;
