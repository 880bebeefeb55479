//! `POST /composite/batch`: independent subrequests, each committed on its own.

use forcebridge_wire::composite::{BatchRequest, BatchResponse, BatchSubrequest};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Subrequest, envelope_call, rest_errors};
use crate::client::Client;
use crate::error::{ApiErrorDetail, Error, Result};

/// A batch request being built: up to 25 independent subrequests sent in one call. Each
/// commits on its own (there is no rollback and no references between them), and each counts
/// as an API call of its own.
///
/// Retried after a transient failure only when none of its subrequests is a POST; refused by a
/// read-only client unless every subrequest is a GET.
///
/// ```no_run
/// # async fn demo(client: forcebridge_client::Client) -> forcebridge_client::Result<()> {
/// let results = client
///     .batch()
///     .get("sobjects/Account/describe")
///     .query("SELECT Id FROM Account LIMIT 5")
///     .send()
///     .await?;
/// assert!(!results.has_errors());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Batch {
    client: Client,
    halt_on_error: bool,
    subrequests: Vec<Subrequest>,
}

impl Client {
    /// Starts a batch request (`POST /composite/batch`).
    pub fn batch(&self) -> Batch {
        Batch {
            client: self.clone(),
            halt_on_error: false,
            subrequests: Vec::new(),
        }
    }
}

impl Batch {
    /// When `true`, the subrequests after the first failing one are not run; they report 412
    /// `BATCH_PROCESSING_HALTED`. What ran before stays committed.
    pub fn halt_on_error(mut self, halt: bool) -> Batch {
        self.halt_on_error = halt;
        self
    }

    /// Adds any subrequest. Its headers are not sent (batch subrequests have none).
    pub fn subrequest(mut self, sub: Subrequest) -> Batch {
        self.subrequests.push(sub);
        self
    }

    /// A GET of `url` (relative to the version, or absolute).
    pub fn get(self, url: impl Into<String>) -> Batch {
        self.subrequest(Subrequest::new(Method::GET, url))
    }

    /// Creates a record of `object`.
    pub fn create(self, object: &str, record: &impl Serialize) -> Batch {
        self.subrequest(Subrequest::create(object, record))
    }

    /// Updates the fields in `record` on the record `id`.
    pub fn update(self, object: &str, id: &str, record: &impl Serialize) -> Batch {
        self.subrequest(Subrequest::update(object, id, record))
    }

    /// Creates or updates the record whose external id `field` is `value`.
    pub fn upsert(self, object: &str, field: &str, value: &str, record: &impl Serialize) -> Batch {
        self.subrequest(Subrequest::upsert(object, field, value, record))
    }

    /// Deletes the record `id`.
    pub fn delete(self, object: &str, id: &str) -> Batch {
        self.subrequest(Subrequest::delete(object, id))
    }

    /// Runs a SOQL query (first page only).
    pub fn query(self, soql: &str) -> Batch {
        self.subrequest(Subrequest::query(soql))
    }

    /// How many subrequests have been added.
    pub fn len(&self) -> usize {
        self.subrequests.len()
    }

    /// Whether no subrequest has been added.
    pub fn is_empty(&self) -> bool {
        self.subrequests.is_empty()
    }

    /// Checks the request (1 to 25 subrequests, bodies that serialize), sends it, and returns
    /// the results in request order. A request refused before sending fails with
    /// [`ErrorKind::NotSent`](crate::ErrorKind); one the org refuses as a whole is an `Api`
    /// error; failed subrequests are results.
    pub async fn send(self) -> Result<BatchResults> {
        let Batch {
            client,
            halt_on_error,
            subrequests,
        } = self;
        let mut wire = Vec::with_capacity(subrequests.len());
        for (index, sub) in subrequests.iter().enumerate() {
            wire.push(BatchSubrequest {
                method: sub.method.to_string(),
                url: sub.absolute_url(&client),
                rich_input: sub.json_body(&format!("batch subrequest {index}"))?,
            });
        }
        let call = envelope_call(
            "batch",
            &["composite", "batch"],
            &BatchRequest {
                halt_on_error,
                batch_requests: wire,
            },
            subrequests.iter(),
        )?;
        tracing::debug!(
            subrequests = subrequests.len(),
            halt_on_error,
            "sending batch request"
        );
        let response: BatchResponse = client.execute_json(call).await?;
        Ok(BatchResults {
            has_errors: response.has_errors,
            results: response
                .results
                .into_iter()
                .map(|r| BatchResult {
                    status: r.status_code,
                    body: r.result,
                })
                .collect(),
        })
    }
}

/// The answers of a batch request, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResults {
    has_errors: bool,
    results: Vec<BatchResult>,
}

impl BatchResults {
    /// Whether any subrequest failed (the org's `hasErrors`).
    pub fn has_errors(&self) -> bool {
        self.has_errors
    }

    /// Every result, in request order.
    pub fn results(&self) -> &[BatchResult] {
        &self.results
    }

    /// The results, owned, in request order.
    pub fn into_results(self) -> Vec<BatchResult> {
        self.results
    }
}

/// One batch subrequest's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    /// Its HTTP status; `412` for one skipped by `halt_on_error`.
    pub status: u16,
    /// Its body (`null` when it had none).
    pub body: Value,
}

impl BatchResult {
    /// Whether the subrequest succeeded (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The errors of a failed subrequest, as Salesforce reported them. Empty for a success.
    pub fn errors(&self) -> Vec<ApiErrorDetail> {
        if self.is_success() {
            return Vec::new();
        }
        rest_errors(&self.body)
    }

    /// The body read as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(&self.body)
            .map_err(|e| Error::decode("batch subrequest: unexpected body".to_string(), e))
    }
}
