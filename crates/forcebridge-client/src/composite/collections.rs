//! sObject Collections (`/composite/sobjects`): many records of one object per call, any
//! number of records per method, results in input order.

use std::ops::Range;

use forcebridge_wire::composite::{CollectionRequest, CollectionRetrieveRequest};
use forcebridge_wire::records::{SaveResult, UpsertResult};
use futures_util::{StreamExt, stream};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{record_error, with_type};
use crate::client::{Access, Client};
use crate::error::{ApiErrorDetail, Error, ErrorKind, Result};
use crate::http::{Call, Reply};

/// Most records in one create, update, upsert or delete call.
const WRITE_CHUNK: usize = 200;
/// Most ids in one retrieve call (the documented cap of the POST form).
const RETRIEVE_CHUNK: usize = 2000;

/// sObject Collections for one object: `client.collection("Account")`.
///
/// Each method takes any number of records and sends them in calls of 200 (retrieve: 2000
/// ids), one call at a time unless [`Collection::concurrency`] allows more (the client's
/// concurrency cap still applies). Results come back **one per input record, in input order**.
///
/// **`all_or_none` applies to each call, not to the whole method**: with 450 records and
/// `all_or_none(true)`, a bad record at index 225 rolls back records 200 to 399 only; the
/// calls for 0 to 199 and 400 to 449 commit on their own. For all-or-nothing across more than
/// 200 records use a [`crate::Composite`] with `all_or_none`, or Bulk API 2.0.
///
/// A record's failure is data in its [`RecordResult`], never an error of the whole method. If
/// a whole call fails (the org refuses it, or the connection fails after any retries), each of
/// its records reports that failure, and the other calls go ahead. Input that cannot be sent
/// (a record that is not a JSON object, a read-only client) fails the method with
/// [`ErrorKind::NotSent`] before anything is sent.
///
/// Records are anything [`Serialize`] that writes a JSON object: typed structs,
/// [`crate::Record`]s or `serde_json::Value`s. `attributes.type` is added when missing.
///
/// Retries: create calls are not retried after a failure that may have reached the org (they
/// could create twice); update, upsert, delete and retrieve calls are.
#[derive(Debug, Clone)]
#[must_use]
pub struct Collection {
    client: Client,
    object: String,
    all_or_none: bool,
    concurrency: usize,
    allow_save_on_duplicates: bool,
}

/// The header that lets a save through the org's duplicate rules (API 52.0 and later).
const DUPLICATE_RULE_HEADER: &str = "sforce-duplicate-rule-header";

/// What happened to one record of a collection call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordResult {
    /// The record's id: the new one after a create, the given one after an update or delete.
    /// `None` when the record failed.
    pub id: Option<String>,
    /// Whether the record was saved (or deleted). Under `all_or_none` a record that was fine
    /// but rolled back because another failed is `false`, with
    /// `ALL_OR_NONE_OPERATION_ROLLED_BACK`.
    pub success: bool,
    /// For upserts: whether the record was created (`true`) or updated (`false`). `None` for
    /// the other operations and for a record that failed.
    pub created: Option<bool>,
    /// Why the record failed (`REQUIRED_FIELD_MISSING`, `ALL_OR_NONE_OPERATION_ROLLED_BACK`,
    /// ...); empty on success.
    pub errors: Vec<ApiErrorDetail>,
}

impl Client {
    /// sObject Collections for records of `object`.
    pub fn collection(&self, object: impl Into<String>) -> Collection {
        Collection {
            client: self.clone(),
            object: object.into(),
            all_or_none: false,
            concurrency: 1,
            allow_save_on_duplicates: false,
        }
    }
}

impl Collection {
    /// Rolls back every record of a call when one of them fails (default `false`). Applies
    /// per call of 200 records; see the type's documentation.
    pub fn all_or_none(mut self, all_or_none: bool) -> Collection {
        self.all_or_none = all_or_none;
        self
    }

    /// How many calls may be in flight at once (default 1: one after the other). Values
    /// below 1 count as 1. Results stay in input order either way.
    pub fn concurrency(mut self, calls: usize) -> Collection {
        self.concurrency = calls.max(1);
        self
    }

    /// Sends `Sforce-Duplicate-Rule-Header: allowSave=true` with every create, update and
    /// upsert call (default `false`), so records that only match a duplicate rule whose action
    /// is an alert are saved instead of failing with `DUPLICATES_DETECTED`; a rule that blocks
    /// still blocks.
    pub fn allow_save_on_duplicates(mut self, allow: bool) -> Collection {
        self.allow_save_on_duplicates = allow;
        self
    }

    /// The object's name.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Creates the records (`POST /composite/sobjects`). Each result holds the new id.
    pub async fn create<T: Serialize>(&self, records: &[T]) -> Result<Vec<RecordResult>> {
        let calls = self.record_calls(records, || {
            Call::data(Method::POST, ["composite", "sobjects"])
        })?;
        Ok(self.write(calls, save_results).await)
    }

    /// Updates the records (`PATCH /composite/sobjects`); each names itself with an `Id` (or
    /// `id`) field, and only the fields it holds change.
    pub async fn update<T: Serialize>(&self, records: &[T]) -> Result<Vec<RecordResult>> {
        let calls = self.record_calls(records, || {
            Call::data(Method::PATCH, ["composite", "sobjects"])
        })?;
        Ok(self.write(calls, save_results).await)
    }

    /// Creates or updates each record by its external id `field`
    /// (`PATCH /composite/sobjects/{object}/{field}`, API 46.0 or later). Each result says
    /// whether the record was created. Two records with the same external id in one call
    /// both fail (`DUPLICATE_EXTERNAL_ID`).
    pub async fn upsert<T: Serialize>(
        &self,
        field: &str,
        records: &[T],
    ) -> Result<Vec<RecordResult>> {
        let calls = self.record_calls(records, || {
            Call::data(
                Method::PATCH,
                ["composite", "sobjects", self.object.as_str(), field],
            )
        })?;
        Ok(self.write(calls, upsert_results).await)
    }

    /// Deletes the records with these ids (`DELETE /composite/sobjects?ids=...`), to the
    /// recycle bin. The ids may name records of any object. A delete retried after a cut connection may report
    /// `ENTITY_IS_DELETED` for records the first attempt removed.
    pub async fn delete<S: AsRef<str>>(&self, ids: &[S]) -> Result<Vec<RecordResult>> {
        self.check_writable()?;
        let calls = chunks(ids.len(), WRITE_CHUNK)
            .map(|range| {
                let joined = ids[range.clone()]
                    .iter()
                    .map(AsRef::as_ref)
                    .collect::<Vec<_>>()
                    .join(",");
                let call = Call::data(Method::DELETE, ["composite", "sobjects"])
                    .query("ids", joined)
                    .query("allOrNone", self.all_or_none.to_string());
                (range, call)
            })
            .collect();
        Ok(self.write(calls, save_results).await)
    }

    /// The records with these ids, each with `fields` (and `Id`), in the order of `ids`;
    /// `None` for an id that names no live record of this object. Sent as
    /// `POST /composite/sobjects/{object}` in calls of up to 2000 ids; a read, so allowed on a
    /// read-only client and retried. Unlike writes, a failed call fails the whole method.
    pub async fn retrieve<T: DeserializeOwned, S: AsRef<str>>(
        &self,
        ids: &[S],
        fields: &[&str],
    ) -> Result<Vec<Option<T>>> {
        if fields.is_empty() {
            return Err(Error::not_sent(format!(
                "retrieving {} records needs at least one field",
                self.object
            )));
        }
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let calls = chunks(ids.len(), RETRIEVE_CHUNK)
            .map(|range| {
                let call = Call::data(Method::POST, ["composite", "sobjects", &self.object])
                    .json(&CollectionRetrieveRequest {
                        ids: ids[range.clone()]
                            .iter()
                            .map(|id| id.as_ref().to_string())
                            .collect(),
                        fields: fields.clone(),
                    })?
                    .idempotent(true)
                    .reads_only();
                Ok((range, call))
            })
            .collect::<Result<Vec<_>>>()?;
        let answers: Vec<Result<Vec<Option<T>>>> = stream::iter(calls)
            .map(|(range, call)| {
                let client = self.client.clone();
                async move {
                    let reply = client.execute(call).await?;
                    let values: Vec<Value> = reply.json()?;
                    check_count(&reply, values.len(), range.len())?;
                    values
                        .into_iter()
                        .map(|value| match value {
                            Value::Null => Ok(None),
                            value => T::deserialize(value).map(Some).map_err(|e| {
                                Error::decode(format!("{}: unexpected record", reply.request), e)
                            }),
                        })
                        .collect()
                }
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut out = Vec::with_capacity(ids.len());
        for answer in answers {
            out.extend(answer?);
        }
        Ok(out)
    }

    fn check_writable(&self) -> Result<()> {
        if self.client.access() == Access::ReadOnly {
            return Err(Error::not_sent(format!(
                "writing {} records: refused, because this connection is read-only",
                self.object
            )));
        }
        Ok(())
    }

    /// The calls that write `records` in chunks of 200: every record as a JSON object with
    /// its type, or the first one that cannot be, before anything is sent.
    fn record_calls<T: Serialize>(
        &self,
        records: &[T],
        call: impl Fn() -> Call,
    ) -> Result<Vec<(Range<usize>, Call)>> {
        self.check_writable()?;
        let mut records = records
            .iter()
            .enumerate()
            .map(|(position, record)| with_type(record, &self.object, position))
            .collect::<Result<Vec<_>>>()?
            .into_iter();
        chunks(records.len(), WRITE_CHUNK)
            .map(|range| {
                let chunk = records.by_ref().take(range.len()).collect();
                let mut call = call().json(&CollectionRequest {
                    all_or_none: self.all_or_none,
                    records: chunk,
                })?;
                if self.allow_save_on_duplicates {
                    call = call.header(
                        reqwest::header::HeaderName::from_static(DUPLICATE_RULE_HEADER),
                        "allowSave=true",
                    )?;
                }
                Ok((range, call))
            })
            .collect()
    }

    /// Sends the calls (up to `concurrency` at once) and returns one result per record, in
    /// input order; a failed call reports its failure on each of its records.
    async fn write(
        &self,
        calls: Vec<(Range<usize>, Call)>,
        parse: fn(&Reply) -> Result<Vec<RecordResult>>,
    ) -> Vec<RecordResult> {
        let total: usize = calls.iter().map(|(range, _)| range.len()).sum();
        tracing::debug!(
            object = %self.object,
            records = total,
            calls = calls.len(),
            all_or_none = self.all_or_none,
            "sending collection calls"
        );
        let answers: Vec<(Range<usize>, Result<Vec<RecordResult>>)> = stream::iter(calls)
            .map(|(range, call)| {
                let client = self.client.clone();
                async move {
                    let results = match client.execute(call).await {
                        Ok(reply) => parse(&reply).and_then(|results| {
                            check_count(&reply, results.len(), range.len()).map(|()| results)
                        }),
                        Err(error) => Err(error),
                    };
                    (range, results)
                }
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut out = Vec::with_capacity(total);
        for (range, answer) in answers {
            match answer {
                Ok(results) => out.extend(results),
                Err(error) => {
                    tracing::warn!(
                        object = %self.object,
                        first = range.start,
                        last = range.end - 1,
                        %error,
                        "a collection call failed as a whole"
                    );
                    let detail = call_failure(&error, &range);
                    out.extend(range.map(|_| RecordResult {
                        id: None,
                        success: false,
                        created: None,
                        errors: vec![detail.clone()],
                    }));
                }
            }
        }
        out
    }
}

/// `0..n` in consecutive ranges of at most `size`.
fn chunks(n: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    (0..n)
        .step_by(size)
        .map(move |start| start..(start + size).min(n))
}

fn save_results(reply: &Reply) -> Result<Vec<RecordResult>> {
    let results: Vec<SaveResult> = reply.json()?;
    Ok(results
        .into_iter()
        .map(|r| RecordResult {
            id: r.id,
            success: r.success,
            created: None,
            errors: r.errors.into_iter().map(record_error).collect(),
        })
        .collect())
}

fn upsert_results(reply: &Reply) -> Result<Vec<RecordResult>> {
    let results: Vec<UpsertResult> = reply.json()?;
    Ok(results
        .into_iter()
        .map(|r| RecordResult {
            id: r.id,
            success: r.success,
            created: r.success.then_some(r.created),
            errors: r.errors.into_iter().map(record_error).collect(),
        })
        .collect())
}

/// One result per record sent, or the answer cannot be matched to the records.
fn check_count(reply: &Reply, got: usize, sent: usize) -> Result<()> {
    if got != sent {
        return Err(Error::new(
            ErrorKind::Decode,
            format!(
                "{}: the org answered {got} results for {sent} records",
                reply.request
            ),
        ));
    }
    Ok(())
}

/// The failure of a whole call, as the error of each of its records: the org's code when it
/// gave one, otherwise one naming the kind of failure.
fn call_failure(error: &Error, range: &Range<usize>) -> ApiErrorDetail {
    let code = match (error.error_code(), error.kind()) {
        (Some(code), _) => code.to_string(),
        (None, ErrorKind::Transport) => "TRANSPORT_FAILURE".into(),
        (None, ErrorKind::Decode) => "UNREADABLE_RESPONSE".into(),
        (None, ErrorKind::Auth) => "AUTH_FAILURE".into(),
        (None, ErrorKind::Limit) => "REQUEST_LIMIT_EXCEEDED".into(),
        (None, ErrorKind::NotSent) => "NOT_SENT".into(),
        (None, _) => "CALL_FAILED".into(),
    };
    ApiErrorDetail {
        error_code: code,
        message: format!(
            "the call for records {} to {} failed as a whole: {error}",
            range.start,
            range.end - 1
        ),
        fields: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicate_rule_header_goes_with_every_write_call_when_asked() {
        let client = Client::builder(crate::AccessTokenCredentials {
            instance_url: "https://example.invalid".into(),
            access_token: "token".into(),
        })
        .build()
        .unwrap();
        let records: Vec<Value> = (0..250).map(|i| serde_json::json!({"Name": i})).collect();
        let header = |collection: &Collection| -> Vec<Option<String>> {
            collection
                .record_calls(&records, || {
                    Call::data(Method::POST, ["composite", "sobjects"])
                })
                .unwrap()
                .iter()
                .map(|(_, call)| {
                    call.headers
                        .get(DUPLICATE_RULE_HEADER)
                        .map(|v| v.to_str().unwrap().to_string())
                })
                .collect()
        };
        let plain = client.collection("Account");
        assert_eq!(header(&plain), [None, None]);
        let allowing = plain.allow_save_on_duplicates(true);
        assert_eq!(
            header(&allowing),
            [Some("allowSave=true".into()), Some("allowSave=true".into())]
        );
    }

    #[test]
    fn chunks_cover_everything_in_order() {
        let ranges: Vec<_> = chunks(450, 200).collect();
        assert_eq!(ranges, vec![0..200, 200..400, 400..450]);
        assert_eq!(chunks(0, 200).count(), 0);
        assert_eq!(chunks(200, 200).collect::<Vec<_>>(), vec![0..200]);
    }
}
