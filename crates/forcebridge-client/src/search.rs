//! SOSL search (`/search?q=`) and parameterized search (`POST /parameterizedSearch`).
//!
//! SOSL is parsed before it is sent (see `statement`); a parameterized search carries plain
//! text, never a statement, so there is nothing to parse.

use forcebridge_wire::query::SearchResult;
use reqwest::Method;
use serde::Serialize;

use crate::client::Client;
use crate::error::Result;
use crate::http::Call;
use crate::record::Record;
use crate::statement::{self, Check, Language};

/// A parameterized search: the search text is a plain value (never parsed as SOSL), and the
/// objects and fields to return are listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterizedSearch {
    /// The text to search for.
    pub q: String,
    /// Which fields to search: `ALL`, `NAME`, `EMAIL`, `PHONE` or `SIDEBAR` (default `ALL`).
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The objects to return, with their fields and limits; empty searches every object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sobjects: Vec<SearchObject>,
    /// Fields returned for objects that list none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The most records to return across all objects (`overallLimit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall_limit: Option<u32>,
    /// The most records to return for each object that sets no limit of its own
    /// (`defaultLimit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_limit: Option<u32>,
}

/// One object of a [`ParameterizedSearch`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchObject {
    /// The object's API name (`Account`, `Contact`, ...).
    pub name: String,
    /// The fields to return for it; empty uses [`ParameterizedSearch::fields`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The most records to return for it; `None` uses [`ParameterizedSearch::default_limit`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl ParameterizedSearch {
    /// A search for `text` over every searchable field of every object.
    pub fn new(text: impl Into<String>) -> ParameterizedSearch {
        ParameterizedSearch {
            q: text.into(),
            scope: None,
            sobjects: Vec::new(),
            fields: Vec::new(),
            overall_limit: None,
            default_limit: None,
        }
    }

    /// Also return `object` with `fields`.
    pub fn returning(mut self, object: &str, fields: &[&str]) -> ParameterizedSearch {
        self.sobjects.push(SearchObject {
            name: object.to_string(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            limit: None,
        });
        self
    }
}

impl Client {
    /// Runs a SOSL search (`FIND {...} RETURNING ...`). Records of every returned object come
    /// in one list; [`Record::sobject_type`] tells them apart. Build SOSL from user input with
    /// `forcebridge_soql::builder::SearchBuilder`, or use [`Client::parameterized_search`].
    ///
    /// The statement is parsed first: an invalid one (or one over Salesforce's 100,000
    /// characters) fails with [`ErrorKind::InvalidQuery`](crate::ErrorKind::InvalidQuery) and
    /// nothing is sent. Salesforce has no body-carried form of a search, so one whose URL would
    /// pass the org's 16,384 bytes is refused before sending too.
    pub async fn search(&self, sosl: &str) -> Result<Vec<Record>> {
        self.run_search(sosl, Check::Parse).await
    }

    /// [`Client::search`] without parsing the statement first, for SOSL the org accepts but
    /// `forcebridge-soql` does not. The length limit still applies.
    pub async fn search_unchecked(&self, sosl: &str) -> Result<Vec<Record>> {
        self.run_search(sosl, Check::LengthOnly).await
    }

    async fn run_search(&self, sosl: &str, check: Check) -> Result<Vec<Record>> {
        statement::check(sosl, Language::Sosl, check)?;
        let call = Call::data(Method::GET, ["search", ""]).query("q", sosl);
        let result: SearchResult<Record> = self.execute_json(call).await?;
        Ok(result.search_records)
    }

    /// Runs a parameterized search.
    pub async fn parameterized_search(&self, search: &ParameterizedSearch) -> Result<Vec<Record>> {
        let call = Call::data(Method::POST, ["parameterizedSearch"])
            .json(search)?
            .reads_only()
            .idempotent(true);
        let result: SearchResult<Record> = self.execute_json(call).await?;
        Ok(result.search_records)
    }
}
