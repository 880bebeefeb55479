// The official MCP TypeScript SDK client (v2, `@modelcontextprotocol/client`) and the MCP
// Inspector CLI, unchanged, against `forcebridge --local mcp` over stdio and Streamable HTTP.
// The SDK runs in its default legacy mode (initialize, 2025-11-25) and in auto mode
// (server/discover, 2026-07-28); the Inspector CLI as a user would script it.
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const BIN = process.env.FORCEBRIDGE_BIN;
assert.ok(BIN, "FORCEBRIDGE_BIN names the forcebridge binary");
const INSPECTOR = new URL("./node_modules/.bin/mcp-inspector", import.meta.url).pathname;
const EXPECTED_TOOLS = [
  "query", "get_record", "describe_object", "search", "list_objects", "get_account_info",
  "list_contacts", "create_record", "update_record", "delete_record", "create_lead",
  "update_opportunity", "bulk_operations",
].sort();

/** Starts `forcebridge --local mcp --http 127.0.0.1:0`; resolves to its process and URL. */
function startHttp() {
  const child = spawn(BIN, ["--local", "mcp", "--http", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: process.env,
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
