//! The sync engine against the in-process local org, on SQLite and PostgreSQL: every case ends
//! with the destination compared to the org row by row, column by column. The push's cases
//! (`push.rs`) read their sources from the same two databases and check the org afterwards;
//! `push_jobs.rs` holds the org's Bulk insert jobs part way to test what a rerun does with them.

mod cases;
mod push;
mod push_dup;
mod push_jobs;
mod support;
