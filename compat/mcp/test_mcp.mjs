// The official MCP TypeScript SDK client (v2, `@modelcontextprotocol/client`) and the MCP
// Inspector CLI, unchanged, against `forcebridge --local mcp` over stdio and Streamable HTTP.
// The SDK runs in its default legacy mode (initialize, 2025-11-25) and in auto mode
// (server/discover, 2026-07-28); the Inspector CLI as a user would script it. Bulk loads run
// as tasks through the SDK's task package (`@modelcontextprotocol/ext-tasks`) against a local
// org started on its own (`forcebridge emulator`), whose Bulk API the tests read directly.
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { createTaskSessionFromClient } from "@modelcontextprotocol/ext-tasks/client";

const BIN = process.env.FORCEBRIDGE_BIN;
assert.ok(BIN, "FORCEBRIDGE_BIN names the forcebridge binary");
const INSPECTOR = new URL("./node_modules/.bin/mcp-inspector", import.meta.url).pathname;
const EXPECTED_TOOLS = [
  "query", "get_record", "describe_object", "search", "list_objects", "get_account_info",
  "list_contacts", "create_record", "update_record", "delete_record", "create_lead",
  "update_opportunity", "bulk_operations",
].sort();

/** Starts `forcebridge --local mcp --http 127.0.0.1:0` (or `forcebridge ARGS --http ...`);
 * resolves to its process and URL. */
function startHttp(args = ["--local", "mcp"], env = process.env) {
  const child = spawn(BIN, [...args, "--http", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env,
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr });
    lines.on("line", (line) => {
      const found = /at (http:\/\/\S+\/mcp)/.exec(line);
      if (found) resolve({ child, url: found[1] });
    });
    child.on("exit", (code) => reject(new Error(`forcebridge mcp --http exited (${code})`)));
  });
}

async function exercise(transport, mode) {
  const client = new Client(
    { name: "forcebridge-compat", version: "0" },
    mode === "legacy" ? {} : { versionNegotiation: { mode } },
  );
  await client.connect(transport);
  try {
    assert.equal(client.getProtocolEra(), mode === "auto" ? "modern" : "legacy");
    assert.equal(
      client.getNegotiatedProtocolVersion(),
      mode === "auto" ? "2026-07-28" : "2025-11-25",
    );
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), EXPECTED_TOOLS);
    const query = tools.find((t) => t.name === "query");
    assert.equal(query.annotations.readOnlyHint, true);
    assert.equal(tools.find((t) => t.name === "delete_record").annotations.destructiveHint, true);

    const rows = await client.callTool({
      name: "query",
      arguments: { soql: "SELECT Id, Name FROM Account ORDER BY Id", maxRows: 3 },
    });
    assert.ok(!rows.isError, JSON.stringify(rows));
    const page = rows.structuredContent;
    assert.equal(page.rows.length, 3);
    assert.deepEqual(Object.keys(page.rows[0]), ["Id", "Name"]);
    assert.ok(page.nextCursor);
    const more = await client.callTool({
      name: "query",
      arguments: { cursor: page.nextCursor, maxRows: 2 },
    });
    assert.equal(more.structuredContent.rowsBefore, 3);

    const bad = await client.callTool({ name: "query", arguments: { soql: "SELECT FROM Account" } });
    assert.equal(bad.isError, true);

    const args = {
      object: "Account",
      id: page.rows[0].Id,
      fields: { Phone: `+1 555 ts-${mode}` },
    };
    const preview = await client.callTool({ name: "update_record", arguments: args });
    assert.equal(preview.structuredContent.status, "preview", JSON.stringify(preview));
    const done = await client.callTool({
      name: "update_record",
      arguments: { ...args, confirm: preview.structuredContent.confirm },
    });
    assert.equal(done.structuredContent.status, "updated", JSON.stringify(done));
    const check = await client.callTool({
      name: "get_record",
      arguments: { object: "Account", id: args.id, fields: ["Phone"] },
    });
    assert.equal(check.structuredContent.record.Phone, args.fields.Phone);
  } finally {
    await client.close();
  }
}

/** A client that asks its user, who says yes: the update is made without a confirm handle
 * from the model (2026-07-28: input_required, fulfilled by the SDK; 2025-11-25: elicitation). */
async function approve(transport, mode) {
  const client = new Client(
    { name: "forcebridge-compat", version: "0" },
    {
      capabilities: { elicitation: { form: {} } },
      ...(mode === "legacy" ? {} : { versionNegotiation: { mode } }),
    },
  );
  const asked = [];
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push(request.params.message);
    return { action: "accept", content: { approve: true } };
  });
  await client.connect(transport);
  try {
    const rows = await client.callTool({
      name: "query",
      arguments: { soql: "SELECT Id FROM Contact ORDER BY Id", maxRows: 1 },
    });
    const id = rows.structuredContent.rows[0].Id;
    const title = `Approved by TypeScript, ${mode}`;
    const done = await client.callTool({
      name: "update_record",
      arguments: { object: "Contact", id, fields: { Title: title } },
    });
    assert.equal(done.structuredContent?.status, "updated", JSON.stringify(done));
    assert.equal(asked.length, 1);
    assert.ok(asked[0].includes(title), asked[0]);
  } finally {
    await client.close();
  }
}

const stdio = () =>
  new StdioClientTransport({ command: BIN, args: ["--local", "mcp"], env: process.env });

describe("TypeScript SDK over stdio", () => {
  test("legacy mode (the default)", () => exercise(stdio(), "legacy"));
  test("auto mode", () => exercise(stdio(), "auto"));
  test("auto mode, approval through input_required", () => approve(stdio(), "auto"));
  test("legacy mode, approval through elicitation", () => approve(stdio(), "legacy"));
});

describe("TypeScript SDK over HTTP", () => {
  let server;
  before(async () => {
    server = await startHttp();
  });
  after(() => server.child.kill());
  test("legacy mode (the default)", () =>
    exercise(new StreamableHTTPClientTransport(new URL(server.url)), "legacy"));
  test("auto mode", () =>
    exercise(new StreamableHTTPClientTransport(new URL(server.url)), "auto"));
  test("auto mode, approval through input_required", () =>
    approve(new StreamableHTTPClientTransport(new URL(server.url)), "auto"));
});

const run = promisify(execFile);

/** Runs the Inspector CLI on `target` and returns its JSON answer. */
async function inspector(target, ...args) {
  const { stdout } = await run(INSPECTOR, ["--cli", ...target, ...args], {
    env: process.env,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout);
}

async function inspect(target, { confirm }) {
  // --strict: any schema portability problem of error severity fails the run (exit 6).
  const listing = await inspector(target, "--method", "tools/list", "--strict");
  assert.deepEqual(listing.tools.map((t) => t.name).sort(), EXPECTED_TOOLS);
  const rows = await inspector(
    target,
    "--method", "tools/call", "--tool-name", "query",
    "--tool-arg", "soql=SELECT Id, Name FROM Contact ORDER BY Id", "maxRows=2",
  );
  assert.equal(rows.isError, false, JSON.stringify(rows));
  assert.equal(rows.structuredContent.rows.length, 2);
  const id = rows.structuredContent.rows[0].Id;
  const change = ["--tool-arg", "object=Contact", `id=${id}`, 'fields={"Title":"Inspected"}'];
  const preview = await inspector(
    target, "--method", "tools/call", "--tool-name", "update_record", ...change,
  );
  assert.equal(preview.structuredContent.status, "preview", JSON.stringify(preview));
  assert.equal(preview.structuredContent.changes[0].new, "Inspected");
  if (!confirm) return;
  // Over HTTP the server outlives each CLI run, so the handle can be passed back.
  const done = await inspector(
    target, "--method", "tools/call", "--tool-name", "update_record", ...change,
    `confirm=${preview.structuredContent.confirm}`,
  );
  assert.equal(done.structuredContent.status, "updated", JSON.stringify(done));
}

describe("MCP Inspector CLI", () => {
  test("over stdio: list, read, preview", () =>
    inspect([BIN, "--local", "mcp"], { confirm: false }));
  test("over HTTP: list, read, preview, confirm", async () => {
    const server = await startHttp();
    try {
      await inspect([server.url], { confirm: true });
    } finally {
      server.child.kill();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Tasks (`io.modelcontextprotocol/tasks`, 2026-07-28) through `@modelcontextprotocol/ext-tasks`,
// the SDK's task package: the client core (2.4.0) has task types but no task runtime.

/** Each Bulk API 2.0 write (open, upload, close, abort) answers this late, so a test sees the
 * job open and can cancel the task before it is closed. Reads are not slowed. */
const BULK_WRITE_LATENCY_MS = 700;

/** Runs `forcebridge emulator` on a free port with slow writes; resolves to its details
 * (`instance_url`, `access_token`, logins...) and its process. */
function startOrg() {
  const child = spawn(
    BIN,
    ["emulator", "--port", "0", "--seed", "mcp-tasks", "--records", "300", "--plain-accounts", "60", "--json",
      "--latency-ms", String(BULK_WRITE_LATENCY_MS), "--fault-scope", "writes"],
    { stdio: ["ignore", "pipe", "ignore"], env: process.env },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) =>
      resolve({ child, details: JSON.parse(line) }));
    child.on("exit", (code) => reject(new Error(`forcebridge emulator exited (${code})`)));
  });
}

/** The org's REST API, read with its own session: no MCP, no SDK. */
async function orgGet(details, path) {
  const url = `${details.instance_url}/services/data/v${details.api_version}${path}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${details.access_token}` } });
  const body = await response.text();
  assert.equal(response.status, 200, `${path}: ${body}`);
  return JSON.parse(body);
}

/** A forcebridge home with a saved connection `tasks` to the org, and an MCP config that sends
 * loads above 10 records through Bulk API 2.0. Returns the environment and arguments of
 * `forcebridge mcp`. */
async function taskServerSetup(details) {
  const home = await mkdtemp(join(tmpdir(), "forcebridge-mcp-tasks-"));
  const env = {
    ...process.env,
    FORCEBRIDGE_HOME: home,
    FORCEBRIDGE_SECRETS: "file",
    FORCEBRIDGE_CLIENT_SECRET: details.client_secret,
    FORCEBRIDGE_PASSWORD: details.password,
    FORCEBRIDGE_SECURITY_TOKEN: details.security_token,
  };
  await run(BIN, [
    "connect", "add", "tasks", "--password", "--login-url", details.url,
    "--client-id", details.client_id, "--username", details.username,
    "--api-version", details.api_version,
  ], { env });
  const config = join(home, "mcp.toml");
  await writeFile(config, "[limits]\nbulk_threshold = 10\n");
  return { home, env, args: ["-c", "tasks", "mcp", "--config", config] };
}

/** The request path ext-tasks needs for 2026-07-28 task requests (`tools/call` declaring the
 * extension, `tasks/*`): sent on the SDK client's own transport, with ids of their own, and
 * their answers taken off the transport before the SDK sees them. */
function rawDispatch(transport) {
  const pending = new Map();
  let counter = 0;
  const sdk = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const settle = typeof message.id === "string" ? pending.get(message.id) : undefined;
    if (settle === undefined || !("result" in message || "error" in message)) {
      sdk?.(message, extra);
      return;
    }
    pending.delete(message.id);
    settle("error" in message
      ? { kind: "error", error: message.error }
      : { kind: "result", result: message.result });
  };
  return async (request, options = {}) => {
    counter += 1;
    const id = `ext-tasks-${counter}`;
    const answer = new Promise((resolve) => pending.set(id, resolve));
    const headers = options.context?.headers;
    await transport.send({ jsonrpc: "2.0", id, ...request }, headers ? { headers } : {});
    return answer;
  };
}

/** A 2026-07-28 client with a task session over `transport`. */
async function taskClient(transport) {
  const clientInfo = { name: "forcebridge-compat-tasks", version: "0" };
  const client = new Client(clientInfo, { versionNegotiation: { mode: "auto" } });
  await client.connect(transport);
  assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
  const session = createTaskSessionFromClient(client, {
    endpointId: "forcebridge-compat",
    rawDispatch: rawDispatch(transport),
    v2RequestFraming: {
      protocolVersion: client.getNegotiatedProtocolVersion(),
      clientInfo,
      clientCapabilities: {},
    },
  });
  return { client, session };
}

/** Asks for an update of `n` Accounts' `Rating` and returns the confirmed arguments. */
async function confirmedBulkUpdate(client, n, rating) {
  const rows = await client.callTool({
    name: "query",
    arguments: { soql: "SELECT Id FROM Account ORDER BY Id", maxRows: n },
  });
  const records = rows.structuredContent.rows.map((r) => ({ Id: r.Id, Rating: rating }));
  assert.equal(records.length, n);
  const args = { object: "Account", operation: "update", records };
  const preview = await client.callTool({ name: "bulk_operations", arguments: args });
  assert.equal(preview.structuredContent.status, "preview", JSON.stringify(preview));
  assert.equal(preview.structuredContent.via, "bulk");
  return { ...args, confirm: preview.structuredContent.confirm };
}

/** The states of the org's Bulk API 2.0 ingest jobs. */
async function ingestJobs(details) {
  const page = await orgGet(details, "/jobs/ingest");
  return page.records;
}

async function completesAsATask(org, transport) {
  const { client, session } = await taskClient(transport);
  try {
    const args = await confirmedBulkUpdate(client, 25, "Warm");
    const execution = await session.callTool("bulk_operations", args, {
      task: { preference: "require" },
    });
    assert.equal(execution.kind, "task");
    const seen = [];
    const { outcome } = await execution.settle({
      onEvent: (event) => {
        if (event.type === "task") seen.push(event.task.status);
      },
    });
    assert.equal(outcome.status, "completed", JSON.stringify(outcome));
    const done = outcome.result.structuredContent;
    assert.equal(done.status, "done", JSON.stringify(done));
    assert.equal(done.via, "bulk");
    assert.equal(done.succeeded, 25);
    assert.equal(done.failed, 0);
    assert.equal(done.results.length, 25);
    assert.ok(done.results.every((r) => r.success), JSON.stringify(done.results));
    assert.deepEqual(
      done.results.map((r) => r.id).sort(),
      args.records.map((r) => r.Id).sort(),
    );
    // The org agrees: the job completed with every record processed, and the records changed.
    assert.equal(done.jobs.length, 1);
    const job = await orgGet(org.details, `/jobs/ingest/${done.jobs[0]}`);
    assert.equal(job.state, "JobComplete", JSON.stringify(job));
    assert.equal(job.numberRecordsProcessed, 25);
    const soql = encodeURIComponent(`SELECT Id FROM Account WHERE Rating = 'Warm'`);
    const changed = await orgGet(org.details, `/query?q=${soql}`);
    assert.ok(changed.totalSize >= 25, JSON.stringify(changed));
  } finally {
    await session.close();
    await client.close();
  }
}

async function cancelAbortsTheJob(org, transport) {
  const { client, session } = await taskClient(transport);
  try {
    const args = await confirmedBulkUpdate(client, 30, "Cold");
    const before = new Set((await ingestJobs(org.details)).map((j) => j.id));
    const execution = await session.callTool("bulk_operations", args, {
      task: { preference: "require" },
    });
    assert.equal(execution.kind, "task");
    // Wait until the load has opened its job on the org (its writes are slow), then cancel.
    let job;
    for (let i = 0; i < 200 && job === undefined; i += 1) {
      job = (await ingestJobs(org.details)).find((j) => !before.has(j.id));
      if (job === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(job, "the load opened no Bulk API 2.0 job");
    await execution.cancel();
    const { outcome } = await execution.settle();
    assert.equal(outcome.status, "cancelled", JSON.stringify(outcome));
    // The org agrees: the job was aborted, not left open or run to the end.
    let state;
    for (let i = 0; i < 200; i += 1) {
      state = (await orgGet(org.details, `/jobs/ingest/${job.id}`)).state;
      if (state !== "Open" && state !== "UploadComplete" && state !== "InProgress") break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(state, "Aborted");
  } finally {
    await session.close();
    await client.close();
  }
}

describe("TypeScript SDK tasks (ext-tasks), 2026-07-28", () => {
  let org;
  let setup;
  before(async () => {
    org = await startOrg();
    setup = await taskServerSetup(org.details);
  });
  after(async () => {
    org.child.kill();
    await rm(setup.home, { recursive: true, force: true });
  });
  const stdioTasks = () =>
    new StdioClientTransport({ command: BIN, args: setup.args, env: setup.env });
  async function withHttp(body) {
    const server = await startHttp(setup.args, setup.env);
    try {
      await body(new StreamableHTTPClientTransport(new URL(server.url)));
    } finally {
      server.child.kill();
    }
  }
  test("over stdio: a confirmed bulk update runs as a task to completion", () =>
    completesAsATask(org, stdioTasks()));
  test("over HTTP: a confirmed bulk update runs as a task to completion", () =>
    withHttp((transport) => completesAsATask(org, transport)));
  test("over stdio: cancelling the task aborts the Bulk API 2.0 job", () =>
    cancelAbortsTheJob(org, stdioTasks()));
  test("over HTTP: cancelling the task aborts the Bulk API 2.0 job", () =>
    withHttp((transport) => cancelAbortsTheJob(org, transport)));
});
