//! `POST /composite`: dependent subrequests with references, optionally all or none.

use std::collections::{BTreeMap, HashSet};

use forcebridge_wire::composite::{CompositeRequest, CompositeResponse, CompositeSubrequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Subrequest, envelope_call, rest_errors, valid_reference_id};
use crate::client::Client;
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};

/// Most subrequests in one composite or batch request.
pub(super) const MAX_SUBREQUESTS: usize = 25;

/// A composite request being built: up to 25 subrequests run in order in one call, each able
/// to use an earlier one's result through `@{referenceId.path}` (`@{acct.id}`,
/// `@{q.records[0].Id}`) in its URL or body.
///
/// Nothing is checked or sent until [`Composite::send`]. The whole request counts as one API
/// call. It is retried after a transient failure only when none of its subrequests is a POST
/// (a retried create could create twice); it is refused by a read-only client unless every
/// subrequest is a GET.
///
/// ```no_run
/// # async fn demo(client: forcebridge_client::Client) -> forcebridge_client::Result<()> {
/// use serde_json::json;
/// let results = client
///     .composite()
///     .all_or_none(true)
///     .create("acct", "Account", &json!({"Name": "Acme"}))
///     .create("ct", "Contact", &json!({"LastName": "Ng", "AccountId": "@{acct.id}"}))
///     .send()
///     .await?;
/// assert!(results.is_success());
/// let contact_id = results.result("ct").and_then(|r| r.id());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Composite {
    client: Client,
    all_or_none: bool,
    collate_subrequests: Option<bool>,
    subrequests: Vec<(String, Subrequest)>,
}

impl Client {
    /// Starts a composite request (`POST /composite`).
    pub fn composite(&self) -> Composite {
        Composite {
            client: self.clone(),
            all_or_none: false,
            collate_subrequests: None,
            subrequests: Vec::new(),
        }
    }
}

impl Composite {
    /// When `true`, the first failing subrequest rolls back everything the request did; it
    /// reports its own error and every other subrequest reports `PROCESSING_HALTED`. When
    /// `false` (the default), each subrequest stands alone, except that one using a failed
    /// subrequest's result fails with `PROCESSING_HALTED` too.
    pub fn all_or_none(mut self, all_or_none: bool) -> Composite {
        self.all_or_none = all_or_none;
        self
    }

    /// Lets the org run independent subrequests in parallel (`collateSubrequests`). Left
    /// unset, the org's default for the version applies.
    pub fn collate_subrequests(mut self, collate: bool) -> Composite {
        self.collate_subrequests = Some(collate);
        self
    }

    /// Adds any subrequest under `reference_id` (letters, digits and underscores, starting
    /// with a letter, unique in the request).
    pub fn subrequest(mut self, reference_id: impl Into<String>, sub: Subrequest) -> Composite {
        self.subrequests.push((reference_id.into(), sub));
        self
    }

    /// Creates a record of `object` (`POST sobjects/{object}`); its result's body holds `id`.
    pub fn create(
        self,
        reference_id: impl Into<String>,
        object: &str,
        record: &impl Serialize,
    ) -> Composite {
        self.subrequest(reference_id, Subrequest::create(object, record))
    }

    /// Updates the fields in `record` on the record `id` (which may be a reference such as
    /// `@{acct.id}`).
    pub fn update(
        self,
        reference_id: impl Into<String>,
        object: &str,
        id: &str,
        record: &impl Serialize,
    ) -> Composite {
        self.subrequest(reference_id, Subrequest::update(object, id, record))
    }

    /// Creates or updates the record whose external id `field` is `value`.
    pub fn upsert(
        self,
        reference_id: impl Into<String>,
        object: &str,
        field: &str,
        value: &str,
        record: &impl Serialize,
    ) -> Composite {
        self.subrequest(
            reference_id,
            Subrequest::upsert(object, field, value, record),
        )
    }

    /// Reads the record `id`, with only `fields` (every field when empty).
    pub fn get(
        self,
        reference_id: impl Into<String>,
        object: &str,
        id: &str,
        fields: &[&str],
    ) -> Composite {
        self.subrequest(reference_id, Subrequest::get(object, id, fields))
    }

    /// Deletes the record `id`.
    pub fn delete(self, reference_id: impl Into<String>, object: &str, id: &str) -> Composite {
        self.subrequest(reference_id, Subrequest::delete(object, id))
    }

    /// Runs a SOQL query (first page only; its body holds `records`, `totalSize`, `done`).
    /// The text may hold references (`WHERE Id = '@{ct.id}'`).
    pub fn query(self, reference_id: impl Into<String>, soql: &str) -> Composite {
        self.subrequest(reference_id, Subrequest::query(soql))
    }

    /// How many subrequests have been added.
    pub fn len(&self) -> usize {
        self.subrequests.len()
    }

    /// Whether no subrequest has been added.
    pub fn is_empty(&self) -> bool {
        self.subrequests.is_empty()
    }

    /// Checks the request (1 to 25 subrequests, valid and unique reference ids, bodies that
    /// serialize), sends it, and returns each subrequest's result in request order.
    ///
    /// A request the client refuses fails with [`ErrorKind::NotSent`] before anything is
    /// sent; a request the org refuses as a whole is an [`ErrorKind::Api`] error. Failed
    /// subrequests are not errors: they are results with `is_success() == false`.
    pub async fn send(self) -> Result<CompositeResults> {
        let Composite {
            client,
            all_or_none,
            collate_subrequests,
            subrequests,
        } = self;
        let mut seen = HashSet::new();
        let mut wire = Vec::with_capacity(subrequests.len());
        for (reference_id, sub) in &subrequests {
            if !valid_reference_id(reference_id) {
                return Err(Error::not_sent(format!(
                    "invalid composite reference id {reference_id:?}: use letters, digits and underscores, starting with a letter"
                )));
            }
            if !seen.insert(reference_id.as_str()) {
                return Err(Error::not_sent(format!(
                    "the composite reference id {reference_id:?} is used twice"
                )));
            }
            wire.push(CompositeSubrequest {
                method: sub.method.to_string(),
                url: sub.absolute_url(&client),
                reference_id: reference_id.clone(),
                body: sub.json_body(&format!("composite subrequest {reference_id:?}"))?,
                http_headers: (!sub.headers.is_empty()).then(|| sub.headers.clone()),
            });
        }
        let call = envelope_call(
            "composite",
            &["composite"],
            &CompositeRequest {
                all_or_none,
                collate_subrequests,
                composite_request: wire,
            },
            subrequests.iter().map(|(_, sub)| sub),
        )?;
        tracing::debug!(
            subrequests = subrequests.len(),
            all_or_none,
            "sending composite request"
        );
        let response: CompositeResponse = client.execute_json(call).await?;
        let results = response
            .composite_response
            .into_iter()
            .map(|r| SubrequestResult {
                reference_id: r.reference_id,
                status: r.http_status_code,
                headers: r.http_headers,
                body: r.body,
            })
            .collect();
        Ok(CompositeResults { results })
    }
}

/// The answers of a composite request's subrequests, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeResults {
    results: Vec<SubrequestResult>,
}

impl CompositeResults {
    /// The result of the subrequest with this reference id.
    pub fn result(&self, reference_id: &str) -> Option<&SubrequestResult> {
        self.results.iter().find(|r| r.reference_id == reference_id)
    }

    /// Whether every subrequest succeeded (answered 2xx).
    pub fn is_success(&self) -> bool {
        self.results.iter().all(SubrequestResult::is_success)
    }

    /// Every result, in request order.
    pub fn results(&self) -> &[SubrequestResult] {
        &self.results
    }

    /// The results, owned, in request order.
    pub fn into_results(self) -> Vec<SubrequestResult> {
        self.results
    }

    /// The first failed subrequest as an [`ErrorKind::Api`] error naming it, or `Ok` when
    /// all succeeded: for callers that treat any failure as a failure of the whole.
    pub fn check(&self) -> Result<()> {
        match self.results.iter().find(|r| !r.is_success()) {
            None => Ok(()),
            Some(failed) => Err(failed.error()),
        }
    }
}

/// One subrequest's answer: its status, headers and JSON body (`null` when it had none).
#[derive(Debug, Clone, PartialEq)]
pub struct SubrequestResult {
    /// The reference id the subrequest was given.
    pub reference_id: String,
    /// Its HTTP status (`201` for a create, `204` for an update, `400` for a failure, ...).
    pub status: u16,
    /// The headers the org reports for it (`Location` after a create).
    pub headers: BTreeMap<String, String>,
    /// Its body: a record, a save result, a query page, or an error array.
    pub body: Value,
}

impl SubrequestResult {
    /// Whether the subrequest succeeded (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `id` of a create or upsert answer (`{"id": "001...", "success": true}`), or the
    /// `Id` of a record.
    pub fn id(&self) -> Option<&str> {
        let object = self.body.as_object()?;
        object
            .get("id")
            .or_else(|| object.get("Id"))
            .and_then(Value::as_str)
    }

    /// The errors of a failed subrequest, as Salesforce reported them (`PROCESSING_HALTED`
    /// for one undone or skipped because another failed). Empty for a success.
    pub fn errors(&self) -> Vec<ApiErrorDetail> {
        if self.is_success() {
            return Vec::new();
        }
        rest_errors(&self.body)
    }

    /// The body read as `T` (a typed record, a query page, ...).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(&self.body).map_err(|e| {
            Error::decode(
                format!(
                    "composite subrequest {:?}: unexpected body",
                    self.reference_id
                ),
                e,
            )
        })
    }

    fn error(&self) -> Error {
        let details = self.errors();
        let summary = details
            .first()
            .map(|d| format!("{}: {}", d.error_code, d.message))
            .unwrap_or_else(|| format!("HTTP {}", self.status));
        Error::new(
            ErrorKind::Api,
            format!("composite subrequest {:?}: {summary}", self.reference_id),
        )
        .with_status(self.status)
        .with_api_errors(details)
    }
}
