//! The MCP protocol, through rmcp: the only module that names rmcp, so that its next major
//! version changes this module and nothing else. It turns the tools' specs into tool
//! listings, calls into tool results (structured content, a text copy, `isError` for tool
//! errors), progress reports into progress notifications, and a preview's question into an
//! elicitation where the client offers one. It serves 2026-07-28 (`server/discover`, no
//! sessions) and 2025-11-25 (`initialize`) clients alike, over stdio or Streamable HTTP.

mod http;

pub use http::HttpOptions;
pub(crate) use http::serve_http;

use std::sync::{Arc, LazyLock};

use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema, Implementation,
    InitializeResult, InputRequest, InputRequests, InputRequiredResult, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, RequestStateCodec, SealOptions,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::model::{CancelTaskParams, CreateTaskResult, GetTaskParams, GetTaskResult};
use rmcp::service::{ElicitationError, ElicitationMode, RequestContext, RoleServer};
use rmcp::task_manager::{TaskExit, TaskManager, TaskOptions};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::server::Server;
use crate::tools::{self, Output, Progress, Spec, ToolError};

/// How long clients may keep a tool listing (the toolset changes only with a restart).
const TOOLS_TTL_MS: u64 = 5 * 60 * 1000;

const INSTRUCTIONS: &str = "Tools over one Salesforce org. Read with query (SOQL), get_record, \
search, describe_object, list_objects, get_account_info and list_contacts; answers are capped, \
so follow nextCursor for more rows. Updates, deletes and bulk operations take two calls: the \
first returns a preview and a confirm handle, to be shown to the user; the second, with the same \
arguments and the handle, makes the change.";

/// The MCP face of a [`Server`]: cheap to clone, one per HTTP request in stateless mode.
#[derive(Clone)]
pub(crate) struct Handler {
    server: Server,
}

impl Handler {
    pub(crate) fn new(server: Server) -> Handler {
        Handler { server }
    }
}

/// What the user answers to a preview, when the client can ask.
#[derive(Debug, Deserialize, JsonSchema)]
struct Approval {
    /// Make this change?
    approve: bool,
}

rmcp::elicit_safe!(Approval);

/// The tool whose confirmed runs become tasks when the client declares the tasks extension.
const TASK_TOOL: &str = "bulk_operations";

/// How long a finished task's result stays readable with `tasks/get`.
const TASK_TTL_MS: u64 = 30 * 60 * 1000;

/// Tool calls running as tasks (`io.modelcontextprotocol/tasks`): shared by every handler of
/// a server, since in stateless HTTP each request has its own.
#[derive(Clone, Default)]
pub(crate) struct Tasks(TaskManager);

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("running", &self.0.running_task_count())
            .finish()
    }
}

/// Whether this call runs as a task: a confirmed bulk operation (the preview answers at
/// once), for a client that declares the tasks extension on this request.
fn runs_as_task(
    name: &str,
    arguments: &Map<String, Value>,
    context: &RequestContext<RoleServer>,
) -> bool {
    name == TASK_TOOL
        && arguments.contains_key("confirm")
        && context
            .client_capabilities()
            .is_some_and(|c| c.supports_tasks())
}

/// The key of the `inputRequests` entry that asks the user to approve a change.
const APPROVAL_KEY: &str = "approve_change";

/// Seals the `requestState` of an approval round trip (2026-07-28 `input_required`): the
/// state goes through the client, so it is signed (HMAC, a key drawn once per process) and
/// bound to the tool and its exact arguments; it expires with the confirm handle it holds.
static STATE_CODEC: LazyLock<RequestStateCodec> = LazyLock::new(|| {
    let key: [u8; RequestStateCodec::MIN_KEY_LENGTH] = rand::random();
    RequestStateCodec::try_new(key.to_vec()).expect("a key of the minimum length is accepted")
});

/// What a sealed state is bound to: the tool and its arguments, `confirm` aside.
fn state_binding(name: &str, arguments: &Map<String, Value>) -> Vec<u8> {
    let mut arguments = arguments.clone();
    arguments.remove("confirm");
    let mut binding = format!("{name}\n").into_bytes();
    binding.extend(Value::Object(arguments).to_string().into_bytes());
    binding
}

/// Whether this request's client takes `input_required` results with a form elicitation: a
/// 2026-07-28 (or later) request whose client declares form elicitation.
fn takes_input_required(context: &RequestContext<RoleServer>) -> bool {
    let modern = context
        .protocol_version()
        .is_some_and(|v| !v.has_initialize());
    let form = context
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    modern && form
}

fn declined() -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(
        "The user declined the change; nothing was changed.",
    )])
}

fn to_tool(spec: &Spec) -> Tool {
    let mut tool = Tool::new(
        spec.name,
        spec.description,
        Arc::new(spec.input_schema.clone()),
    );
    tool.title = Some(spec.title.to_string());
    tool.output_schema = Some(Arc::new(spec.output_schema.clone()));
    tool.annotations = Some(
        ToolAnnotations::with_title(spec.title)
            .read_only(spec.read_only())
            .destructive(spec.destructive())
            .idempotent(spec.idempotent())
            .open_world(false),
    );
    tool
}

fn tool_result(result: std::result::Result<Output, ToolError>) -> CallToolResult {
    match result {
        Ok(output) => {
            let mut r = CallToolResult::structured(output.structured.clone());
            r.content = vec![ContentBlock::text(output.text())];
            r
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.message)]),
    }
}

impl Handler {
    /// Runs one call, with its progress forwarded to the client when it asked for it.
    async fn run(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Option<std::result::Result<Output, ToolError>> {
        let token = context
            .meta
            .get_progress_token()
            .or_else(|| request.meta.as_ref().and_then(|m| m.get_progress_token()));
        // A cancelled request (`notifications/cancelled`, or its HTTP stream gone) drops the
        // call: a bulk load aborts its jobs on the org.
        let cancelled = context.ct.clone();
        let Some(token) = token else {
            return tokio::select! {
                result = self.server.core.call(name, arguments, Progress::default()) => result,
                () = cancelled.cancelled() => Some(Err(ToolError::new("the call was cancelled"))),
            };
        };
        let (sender, mut receiver) =
            tokio::sync::mpsc::unbounded_channel::<tools::ProgressReport>();
        let peer = context.peer.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(report) = receiver.recv().await {
                let mut param = ProgressNotificationParam::new(token.clone(), report.progress)
                    .with_message(report.message);
                if let Some(total) = report.total {
                    param = param.with_total(total);
                }
                if peer.notify_progress(param).await.is_err() {
                    break;
                }
            }
        });
        let result = tokio::select! {
            result = self.server.core.call(name, arguments, Progress::to(sender)) => result,
            () = cancelled.cancelled() => Some(Err(ToolError::new("the call was cancelled"))),
        };
        // Every sender is gone with the call: the forwarder drains what is left and ends, so
        // all progress goes out before the result.
        let _ = forwarder.await;
        result
    }
}

impl Handler {
    /// The retry of an `input_required` approval: opens the sealed state (refusing one that
    /// was forged, altered, expired or made for other arguments), then makes the change if
    /// the user approved it, and spends the handle if not.
    async fn resume_approval(
        &self,
        name: &str,
        mut arguments: Map<String, Value>,
        state: &str,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let handle = match STATE_CODEC.open_with(state, &state_binding(name, &arguments)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                tracing::debug!(error = %e, tool = name, "a requestState did not open");
                return tool_result(Err(ToolError::new(
                    "this confirmation is not valid for these arguments (or it expired); \
                     nothing was changed. Call again without it to get a new preview.",
                )))
                .into();
            }
        };
        let answer = request
            .input_responses
            .as_ref()
            .and_then(|r| r.get(APPROVAL_KEY));
        let action = answer
            .and_then(|a| a.get("action"))
            .and_then(|a| serde_json::from_value::<ElicitationAction>(a.clone()).ok());
        let approved = matches!(action, Some(ElicitationAction::Accept))
            && answer
                .and_then(|a| a.get("content"))
                .and_then(|c| serde_json::from_value::<Approval>(c.clone()).ok())
                .is_some_and(|a| a.approve);
        if !approved {
            let _ = self.server.core.confirms.redeem(&handle, "");
            return declined().into();
        }
        arguments.insert("confirm".into(), handle.into());
        if runs_as_task(name, &arguments, context) {
            return self.spawn_task(name.to_string(), arguments).into();
        }
        let result = self.run(name, arguments, request, context).await;
        tool_result(result.unwrap_or_else(|| Err(ToolError::new(format!("unknown tool {name}")))))
            .into()
    }

    /// Runs a call as a task: the client gets its id at once and polls `tasks/get`; progress
    /// shows as the task's status message; `tasks/cancel` drops the call (a bulk load then
    /// aborts its jobs on the org) and the task ends `cancelled`.
    fn spawn_task(&self, name: String, arguments: Map<String, Value>) -> CreateTaskResult {
        let core = self.server.core.clone();
        let options = TaskOptions::new()
            .with_ttl_ms(TASK_TTL_MS)
            .with_status_message(format!("{name} is starting"));
        let task = self.server.core.tasks.0.spawn(options, move |task| {
            Box::pin(async move {
                let (sender, mut receiver) =
                    tokio::sync::mpsc::unbounded_channel::<tools::ProgressReport>();
                let status = task.clone();
                tokio::spawn(async move {
                    while let Some(report) = receiver.recv().await {
                        status.set_status_message(report.message);
                    }
                });
                tokio::select! {
                    result = core.call(&name, arguments, Progress::to(sender)) => Ok(tool_result(
                        result.unwrap_or_else(|| Err(ToolError::new(format!("unknown tool {name}")))),
                    )),
                    () = task.cancelled() => Err(TaskExit::Cancelled),
                }
            })
        });
        CreateTaskResult::new(task)
    }
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        let mut info = Implementation::new("forcebridge", env!("CARGO_PKG_VERSION"));
        info.title = Some("forcebridge: Salesforce".into());
        InitializeResult::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tasks()
                .build(),
        )
        .with_server_info(info)
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        let tools = self.server.core.listed_tools().map(to_tool).collect();
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(TOOLS_TTL_MS)
            .with_cache_scope(CacheScope::Private))
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<GetTaskResult, ErrorData> {
        self.server
            .core
            .tasks
            .0
            .get_task(&request.task_id)
            .map(GetTaskResult::new)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<(), ErrorData> {
        self.server.core.tasks.0.cancel_task(&request.task_id)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.server
            .core
            .listed_tools()
            .find(|s| s.name == name)
            .map(to_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let arguments = request.arguments.clone().unwrap_or_default();
        if let Some(state) = &request.request_state {
            return Ok(self
                .resume_approval(&name, arguments, state, &request, &context)
                .await);
        }
        if runs_as_task(&name, &arguments, &context) {
            return Ok(self.spawn_task(name, arguments).into());
        }
        let Some(result) = self.run(&name, arguments.clone(), &request, &context).await else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {name}"),
                None,
            ));
        };
        // A preview, and a 2026-07-28 client that takes `input_required`: ask the user
        // through it. The state it echoes back holds the handle, sealed and bound to exactly
        // this call.
        if let Ok(output) = &result
            && let Some(confirm) = &output.confirm
            && takes_input_required(&context)
            && let Ok(schema) = ElicitationSchema::from_type::<Approval>()
        {
            let ask = ElicitRequest::new(ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: confirm.question.clone(),
                requested_schema: schema,
            });
            let state = STATE_CODEC.seal_with(
                confirm.handle.as_bytes(),
                &SealOptions::new()
                    .associated_data(&state_binding(&name, &arguments))
                    .ttl(self.server.core.confirms.ttl()),
            );
            let requests =
                InputRequests::from([(APPROVAL_KEY.to_string(), InputRequest::Elicitation(ask))]);
            return Ok(InputRequiredResult::new(Some(requests), Some(state)).into());
        }
        // A preview, and a 2025-11-25 client that can be asked: ask through elicitation, and
        // make the change on approval. Otherwise the model gets the preview and its handle.
        if let Ok(output) = &result
            && let Some(confirm) = &output.confirm
            && context
                .peer
                .supported_elicitation_modes()
                .contains(&ElicitationMode::Form)
        {
            match context
                .peer
                .elicit::<Approval>(confirm.question.clone())
                .await
            {
                Ok(Some(Approval { approve: true })) => {
                    let mut arguments = arguments;
                    arguments.insert("confirm".into(), confirm.handle.clone().into());
                    let again = self.run(&name, arguments, &request, &context).await;
                    return Ok(tool_result(
                        again
                            .unwrap_or_else(|| Err(ToolError::new(format!("unknown tool {name}")))),
                    )
                    .into());
                }
                Ok(_)
                | Err(ElicitationError::UserDeclined)
                | Err(ElicitationError::UserCancelled) => {
                    // The handle must not outlive the user's no.
                    let _ = self.server.core.confirms.redeem(&confirm.handle, "");
                    return Ok(declined().into());
                }
                Err(e) => {
                    tracing::debug!(error = %e, "elicitation failed; answering with the preview");
                }
            }
        }
        Ok(tool_result(result).into())
    }
}

pub(crate) async fn serve_stdio(server: Server) -> Result<()> {
    serve_io(server, tokio::io::stdin(), tokio::io::stdout()).await
}

pub(crate) async fn serve_io<R, W>(server: Server, reader: R, writer: W) -> Result<()>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let running = Handler::new(server)
        .serve((reader, writer))
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Protocol, "the MCP session did not start").with_source(e)
        })?;
    running
        .waiting()
        .await
        .map_err(|e| Error::new(ErrorKind::Protocol, "the MCP session failed").with_source(e))?;
    Ok(())
}
