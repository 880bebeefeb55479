//! The server's state shared by every call ([`Core`]): the client, the settings, open
//! cursors, pending confirmations, the describe cache, the audit log and the API budget;
//! and [`Server`], the public handle that serves it over stdio or HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use forcebridge_catalog::Object;
use forcebridge_client::{Access, Client};
use serde_json::{Map, Value};

use crate::audit::{Audit, Entry};
use crate::config::{Config, Limits};
use crate::error::Result;
use crate::handles::{Confirms, Cursors};
use crate::policy::Policy;
use crate::tools::{self, AuditInfo, Call, Output, Progress, Spec, ToolError};

/// An MCP server over one org. Cheap to clone (an `Arc` inside); every clone serves the same
/// state (cursors, confirm handles, API budget, audit log).
#[derive(Clone)]
pub struct Server {
    pub(crate) core: Arc<Core>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("read_only", &self.core.read_only)
            .field("policy", &self.core.policy)
            .field("limits", &self.core.limits)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Core {
    pub(crate) client: Client,
    pub(crate) read_only: bool,
    pub(crate) policy: Policy,
    pub(crate) limits: Limits,
    pub(crate) cursors: Cursors,
    pub(crate) confirms: Confirms,
    audit: Option<Audit>,
    /// `Client::requests_sent` when the server started: the budget counts from here.
    api_baseline: u64,
    objects: Mutex<HashMap<String, Arc<Object>>>,
    /// Tool calls running as tasks (the MCP tasks extension), kept by the protocol layer.
    pub(crate) tasks: crate::protocol::Tasks,
}

impl Server {
    /// A server over `client` with `config`. Read-only when the config says so or the client
    /// is read-only (a read-only connection profile).
    pub fn new(client: Client, config: Config) -> Server {
        let read_only = config.read_only || client.access() == Access::ReadOnly;
        let api_baseline = client.requests_sent();
        Server {
            core: Arc::new(Core {
                client,
                read_only,
                policy: config.policy,
                limits: config.limits,
                cursors: Cursors::default(),
                confirms: Confirms::new(config.confirm_ttl),
                audit: config.audit,
                api_baseline,
                objects: Mutex::new(HashMap::new()),
                tasks: crate::protocol::Tasks::default(),
            }),
        }
    }

    /// Whether write tools are hidden and refused.
    pub fn is_read_only(&self) -> bool {
        self.core.read_only
    }

    /// The names of the tools this server lists, in order.
    pub fn tool_names(&self) -> Vec<&'static str> {
        self.core.listed_tools().map(|s| s.name).collect()
    }

    /// Serves MCP over this process's standard input and output until the client closes them.
    pub async fn serve_stdio(&self) -> Result<()> {
        crate::protocol::serve_stdio(self.clone()).await
    }

    /// Serves MCP over any byte stream pair (a pipe, a socket, an in-memory duplex in tests)
    /// until the reader ends.
    pub async fn serve_io<R, W>(&self, reader: R, writer: W) -> Result<()>
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
        W: tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        crate::protocol::serve_io(self.clone(), reader, writer).await
    }
}

impl Core {
    /// The tools a client sees: all of them, or the read tools in read-only mode.
    pub(crate) fn listed_tools(&self) -> impl Iterator<Item = &'static Spec> + '_ {
        tools::specs()
            .iter()
            .filter(|s| !self.read_only || s.read_only())
    }

    pub(crate) fn api_calls(&self) -> u64 {
        self.client
            .requests_sent()
            .saturating_sub(self.api_baseline)
    }

    /// The describe of `name` as the catalog's model, cached for the server's life (the
    /// client revalidates nothing here; restart the server after changing the schema).
    pub(crate) async fn object(&self, name: &str) -> Result<Arc<Object>, ToolError> {
        check_api_name(name, "object")?;
        if !self.policy.object_allowed(name) {
            return Err(ToolError::refused(format!(
                "object {name} is not allowed by this server's policy"
            )));
        }
        let key = name.to_ascii_lowercase();
        if let Some(object) = self
            .objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(object.clone());
        }
        let describe = self.client.sobject(name).describe().await.map_err(|e| {
            if e.status() == Some(404) || e.error_code() == Some("NOT_FOUND") {
                ToolError::new(format!(
                    "unknown object {name}: call list_objects to see the objects of this org"
                ))
            } else {
                ToolError::client(&format!("describing {name}"), &e)
            }
        })?;
        let object = Arc::new(Object::from_describe(&describe));
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, object.clone());
        Ok(object)
    }

    /// Runs one tool call: read-only mode and the budget first, then the tool, then the audit
    /// log. `Err` only for a tool this server does not have (a protocol error).
    pub(crate) async fn call(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        progress: Progress,
    ) -> Option<Result<Output, ToolError>> {
        let spec = tools::find(name)?;
        // Written when the call ends, or, if the call is dropped first (cancelled), by the
        // guard: every call leaves one audit line.
        let mut pending = Pending {
            name,
            started: Instant::now(),
            calls_before: self.api_calls(),
            call: Call {
                core: self,
                progress,
                audit: AuditInfo::default(),
            },
            done: false,
        };
        let result = if self.read_only && !spec.read_only() {
            Err(ToolError::refused(format!(
                "{name} writes to the org, and this server is read-only: nothing was sent"
            )))
        } else if let Some(message) = self.budget_spent() {
            Err(ToolError::refused(message))
        } else {
            tools::dispatch(&mut pending.call, name, arguments).await
        };
        pending.done = true;
        let outcome = match &result {
            Ok(_) if pending.call.audit.preview => "preview",
            Ok(_) => "ok",
            Err(e) => e.outcome,
        };
        let message = result.as_ref().err().map(|e| first_line(&e.message));
        pending.audit(outcome, message);
        Some(result)
    }

    fn budget_spent(&self) -> Option<String> {
        let cap = self.limits.api_calls?;
        let used = self.api_calls();
        (used >= cap).then(|| {
            format!(
                "API budget spent: this server has made {used} of the {cap} Salesforce API calls \
                 it may make, so nothing was sent. The administrator can raise `limits.api_calls` \
                 in the server's config file and restart it."
            )
        })
    }
}

/// A call under way, and what its audit line needs.
struct Pending<'a> {
    name: &'a str,
    started: Instant,
    calls_before: u64,
    call: Call<'a>,
    done: bool,
}

impl Pending<'_> {
    fn audit(&self, outcome: &str, message: Option<&str>) {
        let core = self.call.core;
        let Some(audit) = &core.audit else { return };
        let values = if audit.field_values() {
            self.call.audit.values.as_ref()
        } else {
            None
        };
        audit.record(&Entry {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            tool: self.name,
            object: self.call.audit.object.as_deref(),
            record_ids: &self.call.audit.record_ids,
            outcome,
            message,
            api_calls: core.api_calls().saturating_sub(self.calls_before),
            duration_ms: self.started.elapsed().as_millis() as u64,
            values,
        });
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.audit(
                "cancelled",
                Some("the call was cancelled before it finished"),
            );
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// Checks a name that goes into a URL or a statement: letters, digits and underscores,
/// starting with a letter.
pub(crate) fn check_api_name(name: &str, what: &str) -> Result<(), ToolError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ToolError::new(format!(
            "{name:?} is not a valid {what} API name (letters, digits and underscores, starting with a letter)"
        )))
    }
}

/// Checks a record id: 15 or 18 letters and digits.
pub(crate) fn check_record_id(id: &str) -> Result<(), ToolError> {
    if (id.len() == 15 || id.len() == 18) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ToolError::new(format!(
            "{id:?} is not a record id (15 or 18 letters and digits)"
        )))
    }
}
