//! The plain REST resources: the versions list, the resources map, limits, and the sObject
//! family (`sobjects.rs`). Query, search, composite and Bulk live in their own modules.

pub(crate) mod sobjects;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use forcebridge_wire::limits::{Limit, Limits};
use forcebridge_wire::records::{RecordCount, RecordCounts};
use forcebridge_wire::versions::ApiVersionInfo;

use crate::http::{Caller, ok_json};
use crate::org::Org;
use crate::store::OrgData;
use crate::versions::{self, ApiVersion};

pub(crate) fn routes() -> Router<Arc<Org>> {
    Router::new()
        .route("/services/data/{version}", get(resources))
        .route("/services/data/{version}/limits", get(limits))
        .route(
            "/services/data/{version}/limits/recordCount",
            get(record_count),
        )
        .merge(sobjects::routes())
}

/// `GET /services/data/`: every served version, oldest first. No authentication needed.
pub(crate) async fn versions() -> Response {
    let list: Vec<ApiVersionInfo> = versions::all()
        .map(|v| ApiVersionInfo {
            label: v.label(),
            url: format!("/services/data/v{}", v.number()),
            version: v.number(),
        })
        .collect();
    ok_json(&list)
}

/// `GET /services/data/vNN.N/`: the resources this version serves.
async fn resources(
    State(org): State<Arc<Org>>,
    Extension(version): Extension<ApiVersion>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let base = format!("/services/data/v{}", version.number());
    let mut map = BTreeMap::new();
    for name in [
        "sobjects",
        "query",
        "queryAll",
        "search",
        "parameterizedSearch",
        "composite",
        "limits",
        "jobs",
    ] {
        map.insert(name.to_string(), format!("{base}/{name}"));
    }
    map.insert(
        "identity".to_string(),
        format!(
            "{}/id/{}/{}",
            org.base_url(&headers),
            org.org_id,
            caller.session.user
        ),
    );
    ok_json(&map)
}

/// `GET /limits`.
async fn limits(State(org): State<Arc<Org>>) -> Response {
    ok_json(&org_limits(&org, &org.store.snapshot()))
}

/// The body of `GET /limits` with storage counted over `data` (composite sub-requests pass the
/// data of their open transaction).
pub(crate) fn org_limits(org: &Org, data: &OrgData) -> Limits {
    let api_max = org.usage.max;
    let api_remaining = api_max.saturating_sub(org.usage.used());
    let records: usize = (0..org.schema().objects().len())
        .map(|i| data.table(crate::schema::ObjectIdx(i)).live_count())
        .sum();
    // Salesforce counts roughly 2 KB of data storage per record.
    let data_used_mb = (records as u64 * 2) / 1024;
    let jobs = org.jobs.counts();
    let mut limits = Limits::new();
    let mut put = |name: &str, max: u64, remaining: u64| {
        limits.insert(
            name.to_string(),
            Limit {
                max,
                remaining: remaining.min(max),
            },
        );
    };
    put("DailyApiRequests", api_max, api_remaining);
    put(
        "DailyBulkApiBatches",
        15_000,
        15_000u64.saturating_sub(jobs.ingest_today),
    );
    put(
        "DailyBulkV2QueryJobs",
        10_000,
        10_000u64.saturating_sub(jobs.query_today),
    );
    put("DailyBulkV2QueryFileStorageMB", 976_562, 976_562);
    put(
        "DataStorageMB",
        5_120,
        5_120u64.saturating_sub(data_used_mb),
    );
    put("FileStorageMB", 20_480, 20_480);
    put("DailyAsyncApexExecutions", 250_000, 250_000);
    put("DailyStreamingApiEvents", 1_000_000, 1_000_000);
    put("DailyWorkflowEmails", 2_000, 2_000);
    put("HourlyDashboardRefreshes", 200, 200);
    put("HourlySyncReportRuns", 500, 500);
    put("MassEmail", 5_000, 5_000);
    put("SingleEmail", 5_000, 5_000);
    put("PermissionSets", 1_500, 1_500);
    put("StreamingApiConcurrentClients", 2_000, 2_000);
    limits
}

#[derive(serde::Deserialize)]
struct RecordCountQuery {
    #[serde(rename = "sObjects")]
    sobjects: Option<String>,
}

/// `GET /limits/recordCount?sObjects=Account,Contact`: live (not recycled) records per object;
/// unknown names are left out, no parameter means every object.
async fn record_count(
    State(org): State<Arc<Org>>,
    Query(query): Query<RecordCountQuery>,
) -> Response {
    let snapshot = org.store.snapshot();
    let schema = org.schema();
    let wanted: Option<Vec<String>> = query.sobjects.map(|s| {
        s.split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect()
    });
    let mut sobjects: Vec<RecordCount> = schema
        .objects()
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            wanted
                .as_ref()
                .is_none_or(|w| w.contains(&o.name.to_ascii_lowercase()))
        })
        .map(|(i, o)| RecordCount {
            count: snapshot.table(crate::schema::ObjectIdx(i)).live_count() as u64,
            name: o.name.clone(),
        })
        .collect();
    sobjects.sort_by(|a, b| a.name.cmp(&b.name));
    ok_json(&RecordCounts { sobjects })
}
