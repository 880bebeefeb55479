//! An async Salesforce client.
//!
//! - **Every login flow**: username-password, client credentials, refresh token (rotation
//!   handed back to you), JWT bearer, the web-server flow with PKCE (in two steps for a web
//!   service, or with a local callback listener for a CLI), the SOAP login, or an access token
//!   you already have. Sessions are refreshed once, for all requests at once, when the org
//!   stops accepting them.
//! - **Queries as lazy streams** with `fetch_all`, `fetch_one`, `fetch_optional`, a page
//!   stream, and raw pages (the org's JSON text, each record's place found but nothing built);
//!   memory stays bounded by three pages whatever the result size. Every SOQL and SOSL
//!   statement is parsed before it is sent: an invalid one fails with
//!   [`ErrorKind::InvalidQuery`] (diagnostics and a code frame included) and nothing leaves. A
//!   query too long for a URL goes through `/composite`.
//! - **sObjects, describe (cached), search, composite, collections of any size.**
//! - **Bulk API 2.0** ([`Client::bulk`]): ingest from CSV files, readers or records, split into
//!   jobs under the upload limit, with per-row results and resume by job id; bulk queries
//!   downloaded page by page into any `AsyncWrite`, resumable from a saved locator, or
//!   exported to a file that survives a crash and resumes where it stopped.
//! - **Reliability**: retries with backoff and jitter for what is safe to repeat, `Retry-After`,
//!   a concurrency cap, timeouts, API usage from every response and an optional budget.
//!
//! ```no_run
//! # async fn demo() -> forcebridge_client::Result<()> {
//! use forcebridge_client::{Client, ClientCredentials, LoginUrl};
//! use futures_util::TryStreamExt;
//!
//! let client = Client::builder(ClientCredentials {
//!     login_url: LoginUrl::my_domain("acme")?,
//!     client_id: "3MVG9...".into(),
//!     client_secret: "secret".into(),
//! })
//! .build()?;
//!
//! let mut contacts = client.query("SELECT Id, Name, Account.Name FROM Contact").stream();
//! while let Some(contact) = contacts.try_next().await? {
//!     println!("{:?} at {:?}", contact.get_str("Name"), contact.get_str("Account.Name"));
//! }
//! # Ok(()) }
//! ```
//!
//! The crate emits `tracing` events (requests, retries, logins) and never prints; secrets never
//! appear in `Debug` output, errors or events.
//!
//! # Features
//!
//! | feature    | default | what it adds |
//! |------------|---------|--------------|
//! | `loopback` | no      | `WebServerFlow::start` and `PendingWebLogin`: the web-server flow with a one-shot callback listener on this machine, for command-line tools (brings in axum) |

// Every public item says what it is for.
#![warn(missing_docs)]

pub mod auth;
pub mod bulk;
mod client;
mod composite;
mod error;
mod http;
mod org;
mod page_scan;
mod query;
pub mod record;
mod retry;
mod search;
mod sobject;
mod statement;
mod types;
mod usage;

#[cfg(feature = "loopback")]
pub use auth::PendingWebLogin;
pub use auth::{
    AccessTokenCredentials, ClientCredentials, Credentials, JwtCredentials, LoginUrl,
    PasswordCredentials, RefreshTokenCredentials, Session, SoapLoginCredentials, TokenSource,
    WebLogin, WebServerFlow,
};
pub use client::{Access, Client, ClientBuilder};
pub use composite::{
    Batch, BatchResult, BatchResults, Collection, Composite, CompositeResults, RecordResult,
    Subrequest, SubrequestResult, TreeFailure, TreeOutcome, TreeRecord,
};
pub use error::{ApiErrorDetail, Error, ErrorKind, Result};
pub use org::{RawRequest, RawResponse};
pub use query::{Page, PageStream, Query, RawPage, RawPageStream, RecordStream};
pub use record::Record;
pub use reqwest::Method;
pub use retry::RetryPolicy;
pub use search::{ParameterizedSearch, SearchObject};
pub use secrecy::{ExposeSecret, SecretString};
pub use sobject::{Deleted, SObject, Updated, UpsertOutcome};
pub use types::ApiVersion;
pub use usage::{ApiBudget, ApiUsage};

/// The Salesforce wire types this crate returns (describe, limits, job info, ...).
pub use forcebridge_wire as wire;

/// The SOQL and SOSL crate every statement is checked with before it is sent (the diagnostics
/// of [`ErrorKind::InvalidQuery`] errors are its [`soql::Diagnostic`]s).
pub use forcebridge_soql as soql;
