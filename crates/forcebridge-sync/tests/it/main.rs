//! The sync engine against the in-process local org, on SQLite and PostgreSQL: every case ends
//! with the destination compared to the org row by row, column by column.

mod cases;
mod support;
