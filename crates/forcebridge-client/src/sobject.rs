//! sObject resources: records by id and by external id, describes (cached), and the
//! replication resources `updated` and `deleted`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use forcebridge_wire::describe::{DescribeGlobal, DescribeSObject};
use forcebridge_wire::records::{DeletedResult, SaveResult, UpdatedResult, UpsertResult};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::http::Call;
use crate::record::Record;

/// One object type's resources: `client.sobject("Account")`.
#[derive(Debug, Clone)]
pub struct SObject {
    client: Client,
    name: String,
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// The id of the record created or updated (`id` of the answer; empty if it had none).
    pub id: String,
    /// `true` when no record had the external id and one was created; `false` when the
    /// existing record was updated.
    pub created: bool,
}

/// The ids of records changed in a window (`updated`), and the end of the window the org
/// covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The ids of the records changed in the window (`ids`).
    pub ids: Vec<String>,
    /// The last time the answer covers, in UTC, as the org wrote it (`latestDateCovered`);
    /// start the next window there.
    pub latest_date_covered: String,
}

/// The records deleted in a window (`deleted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// Id and deletion time of each record.
    pub records: Vec<(String, String)>,
    /// The time of the object's last physically deleted record, in UTC, as the org wrote it
    /// (`earliestDateAvailable`).
    pub earliest_date_available: String,
    /// The last time the answer covers, in UTC, as the org wrote it (`latestDateCovered`);
    /// start the next window there.
    pub latest_date_covered: String,
}

impl Client {
    /// The resources of one object type.
    pub fn sobject(&self, name: impl Into<String>) -> SObject {
        SObject {
            client: self.clone(),
            name: name.into(),
        }
    }

    /// Every object of the org (`GET /sobjects`).
    pub async fn describe_global(&self) -> Result<DescribeGlobal> {
        self.execute_json(Call::data(Method::GET, ["sobjects"]))
            .await
    }
}

impl SObject {
    /// The object's API name, as given to [`Client::sobject`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A record by id, with every field.
    pub async fn get(&self, id: &str) -> Result<Record> {
        self.get_as(id, &[]).await
    }

    /// A record by id, read as `T`, with only `fields` (all fields when empty).
    pub async fn get_as<T: DeserializeOwned>(&self, id: &str, fields: &[&str]) -> Result<T> {
        let mut call = Call::data(Method::GET, ["sobjects", &self.name, id]);
        if !fields.is_empty() {
            call = call.query("fields", fields.join(","));
        }
        self.client.execute_json(call).await
    }

    /// A record by external id.
    pub async fn get_by_external_id(&self, field: &str, value: &str) -> Result<Record> {
        self.client
            .execute_json(Call::data(
                Method::GET,
                ["sobjects", self.name.as_str(), field, value],
            ))
            .await
    }

    /// Creates a record and returns its id. Not retried after a failure that may have
    /// reached the org (see [`crate::RetryPolicy`]).
    pub async fn create(&self, record: &impl Serialize) -> Result<String> {
        let call = Call::data(Method::POST, ["sobjects", &self.name]).json(record)?;
        let result: SaveResult = self.client.execute_json(call).await?;
        result.id.ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                format!("the org created a {} but returned no id", self.name),
            )
        })
    }

    /// Updates the fields given in `record` (others keep their values).
    pub async fn update(&self, id: &str, record: &impl Serialize) -> Result<()> {
        let call = Call::data(Method::PATCH, ["sobjects", &self.name, id]).json(record)?;
        self.client.execute(call).await.map(drop)
    }

    /// Creates or updates the record whose `field` (an external id) is `value`.
    pub async fn upsert(
        &self,
        field: &str,
        value: &str,
        record: &impl Serialize,
    ) -> Result<UpsertOutcome> {
        let call =
            Call::data(Method::PATCH, ["sobjects", &self.name, field, value]).json(record)?;
        let reply = self.client.execute(call).await?;
        // Since API 46.0 both outcomes have a body; before, an update answered 204.
        if reply.body.is_empty() {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "{}: the org answered {} with no body, so the record's id is unknown (use API 46.0 or later)",
                    reply.request, reply.status
                ),
            ));
        }
        let result: UpsertResult = reply.json()?;
        Ok(UpsertOutcome {
            id: result.id.unwrap_or_default(),
            created: result.created,
        })
    }

    /// Deletes a record (to the recycle bin).
    pub async fn delete(&self, id: &str) -> Result<()> {
        let call = Call::data(Method::DELETE, ["sobjects", &self.name, id]);
        self.client.execute(call).await.map(drop)
    }

    /// The object's describe: fields, relationships, picklist values. Cached per client and
    /// revalidated with `If-Modified-Since` (see [`crate::ClientBuilder::describe_max_age`]).
    pub async fn describe(&self) -> Result<Arc<DescribeSObject>> {
        self.client
            .inner
            .describes
            .get(&self.client, &self.name)
            .await
    }

    /// Ids of records changed between `start` and `end` (at most 30 days back).
    pub async fn updated(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Updated> {
        let call = window(
            Call::data(Method::GET, ["sobjects", &self.name, "updated", ""]),
            start,
            end,
        );
        let result: UpdatedResult = self.client.execute_json(call).await?;
        Ok(Updated {
            ids: result.ids,
            latest_date_covered: result.latest_date_covered,
        })
    }

    /// Records deleted between `start` and `end`.
    pub async fn deleted(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Deleted> {
        let call = window(
            Call::data(Method::GET, ["sobjects", &self.name, "deleted", ""]),
            start,
            end,
        );
        let result: DeletedResult = self.client.execute_json(call).await?;
        Ok(Deleted {
            records: result
                .deleted_records
                .into_iter()
                .map(|r| (r.id, r.deleted_date))
                .collect(),
            earliest_date_available: result.earliest_date_available,
            latest_date_covered: result.latest_date_covered,
        })
    }
}

fn window(call: Call, start: DateTime<Utc>, end: DateTime<Utc>) -> Call {
    let format = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    call.query("start", format(start)).query("end", format(end))
}

/// Describes seen by one client, with the `Date` of the answer that brought each, which is
/// what the next `If-Modified-Since` sends.
#[derive(Debug)]
pub(crate) struct DescribeCache {
    max_age: Duration,
    entries: Mutex<HashMap<String, CachedDescribe>>,
}

#[derive(Debug, Clone)]
struct CachedDescribe {
    describe: Arc<DescribeSObject>,
    date: Option<String>,
    checked: Instant,
}

impl DescribeCache {
    pub(crate) fn new(max_age: Duration) -> DescribeCache {
        DescribeCache {
            max_age,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lookup(&self, key: &str) -> Option<CachedDescribe> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn store(&self, key: String, entry: CachedDescribe) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, entry);
    }

    async fn get(&self, client: &Client, name: &str) -> Result<Arc<DescribeSObject>> {
        let key = name.to_ascii_lowercase();
        let cached = self.lookup(&key);
        if let Some(entry) = &cached
            && entry.checked.elapsed() < self.max_age
        {
            return Ok(entry.describe.clone());
        }
        let mut call = Call::data(Method::GET, ["sobjects", name, "describe"]);
        if let Some(date) = cached.as_ref().and_then(|c| c.date.as_deref()) {
            call = call.header(reqwest::header::IF_MODIFIED_SINCE, date)?;
        }
        let reply = client.execute(call).await?;
        let date = reply.header("date").map(str::to_string);
        let entry = match cached {
            Some(mut entry) if reply.status == reqwest::StatusCode::NOT_MODIFIED => {
                tracing::debug!(object = name, "describe unchanged");
                entry.checked = Instant::now();
                entry
            }
            _ => CachedDescribe {
                describe: Arc::new(reply.json()?),
                date,
                checked: Instant::now(),
            },
        };
        let describe = entry.describe.clone();
        self.store(key, entry);
        Ok(describe)
    }
}
