//! Org-wide resources: the API versions served, limits, record counts, the user's identity,
//! and the raw escape hatch for any resource this crate has no method for.

use bytes::Bytes;
use forcebridge_wire::identity::UserInfo;
use forcebridge_wire::limits::Limits;
use forcebridge_wire::records::RecordCounts;
use forcebridge_wire::versions::ApiVersionInfo;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::http::{Call, Target};

impl Client {
    /// The API versions the org serves, oldest first (`GET /services/data`).
    pub async fn versions(&self) -> Result<Vec<ApiVersionInfo>> {
        self.execute_json(Call::new(
            Method::GET,
            Target::Path("/services/data".into()),
        ))
        .await
    }

    /// The org's limits (`GET /limits`), keyed by name (`DailyApiRequests`, ...).
    pub async fn limits(&self) -> Result<Limits> {
        self.execute_json(Call::data(Method::GET, ["limits"])).await
    }

    /// Approximate record counts (`GET /limits/recordCount`), for the named objects or, when
    /// `objects` is empty, for every object. Unknown names are left out, as the org does.
    pub async fn record_counts(&self, objects: &[&str]) -> Result<Vec<(String, u64)>> {
        let mut call = Call::data(Method::GET, ["limits", "recordCount"]);
        if !objects.is_empty() {
            call = call.query("sObjects", objects.join(","));
        }
        let counts: RecordCounts = self.execute_json(call).await?;
        Ok(counts
            .sobjects
            .into_iter()
            .map(|c| (c.name, c.count))
            .collect())
    }

    /// Who the session belongs to (`GET /services/oauth2/userinfo` on the instance).
    pub async fn user_info(&self) -> Result<UserInfo> {
        self.execute_json(Call::new(
            Method::GET,
            Target::Path("/services/oauth2/userinfo".into()),
        ))
        .await
    }

    /// Any request under `/services/data/vNN.N/` (or, with a leading `/`, any path on the
    /// instance): for resources this crate has no method for.
    ///
    /// ```no_run
    /// # async fn demo(client: forcebridge_client::Client) -> forcebridge_client::Result<()> {
    /// use forcebridge_client::Method;
    /// let themes: serde_json::Value = client.raw(Method::GET, "theme").send().await?.json()?;
    /// # Ok(()) }
    /// ```
    pub fn raw(&self, method: Method, path: &str) -> RawRequest {
        let target = if path.starts_with('/') {
            Target::Path(path.to_string())
        } else {
            Target::Data(
                path.trim_end_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
            )
        };
        RawRequest {
            client: self.clone(),
            call: Ok(Call::new(method, target)),
        }
    }
}

/// A request built with [`Client::raw`]. It is retried like any other: automatically only if
/// its method is idempotent (everything but POST), unless [`RawRequest::idempotent`] says
/// otherwise.
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct RawRequest {
    client: Client,
    call: Result<Call>,
}

/// The answer to a [`RawRequest`]: any 2xx or 304. Error statuses are [`Error`]s.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The response body, as received.
    pub body: Bytes,
}

impl RawRequest {
    /// Adds a query string parameter; calling it again with the same key adds another.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> RawRequest {
        self.call = self.call.map(|c| c.query(key, value));
        self
    }

    /// Sets a request header, replacing an earlier one of the same name. An invalid name or
    /// value makes [`RawRequest::send`] fail with an
    /// [`ErrorKind::NotSent`](crate::ErrorKind::NotSent) error.
    pub fn header(mut self, name: &str, value: &str) -> RawRequest {
        self.call = self.call.and_then(|c| {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::not_sent(format!("invalid header name {name:?}: {e}")))?;
            c.header(name, value)
        });
        self
    }

    /// Sends `body` as JSON (`Content-Type: application/json`). A value that cannot be
    /// serialized makes [`RawRequest::send`] fail with an
    /// [`ErrorKind::NotSent`](crate::ErrorKind::NotSent) error.
    pub fn json(mut self, body: &impl Serialize) -> RawRequest {
        self.call = self.call.and_then(|c| c.json(body));
        self
    }

    /// Sends `body` as is, with the given `Content-Type`.
    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> RawRequest {
        self.call = self.call.map(|c| c.body(content_type, body.into()));
        self
    }

    /// Whether the request may be repeated after a failure that might have reached the org.
    pub fn idempotent(mut self, idempotent: bool) -> RawRequest {
        self.call = self.call.map(|c| c.idempotent(idempotent));
        self
    }

    /// Sends the request and reads the whole response. A status other than 2xx or 304 is an
    /// [`Error`].
    pub async fn send(self) -> Result<RawResponse> {
        let reply = self.client.execute(self.call?).await?;
        Ok(RawResponse {
            status: reply.status.as_u16(),
            headers: reply.headers,
            body: reply.body,
        })
    }
}

impl RawResponse {
    /// The body parsed as JSON into `T`; a body that does not parse is an
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::decode("unexpected response body".to_string(), e))
    }

    /// The body as text; invalid UTF-8 sequences become `U+FFFD`.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
