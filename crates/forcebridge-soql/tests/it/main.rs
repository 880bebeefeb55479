//! Integration tests of the SOQL crate, one module per area.

mod builder;
mod corpus;
mod golden;
mod roundtrip;
