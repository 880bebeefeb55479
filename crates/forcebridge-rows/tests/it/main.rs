//! forcebridge-rows: each format on records as the org writes them, the CSV's promises, and
//! real query pages from the local org.

mod csv;
mod formats;
mod org;
mod support;
