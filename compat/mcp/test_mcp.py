"""The official MCP Python SDK against `forcebridge --local mcp`, over stdio and Streamable
HTTP, in auto mode (server/discover, 2026-07-28) and legacy mode (initialize, 2025-11-25)."""

import asyncio
import os
import re
import subprocess
import unittest

import mcp_types
from mcp import Client
from mcp.client.stdio import StdioServerParameters

BIN = os.environ["FORCEBRIDGE_BIN"]
EXPECTED_TOOLS = {
    "query", "get_record", "describe_object", "search", "list_objects", "get_account_info",
    "list_contacts", "create_record", "update_record", "delete_record", "create_lead",
    "update_opportunity", "bulk_operations",
}


def structured(result):
    for name in ("structured_content", "structuredContent"):
        value = getattr(result, name, None)
        if value is not None:
            return value
    raise AssertionError(f"no structured content in {result!r}")


def is_error(result):
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


async def exercise(test, server, mode):
    async with Client(server, mode=mode) as client:
        # Auto mode must really reach the 2026-07-28 revision (server/discover), not fall back.
        test.assertEqual(client.protocol_version, "2026-07-28" if mode == "auto" else "2025-11-25")
        tools = await client.list_tools()
        names = {t.name for t in tools.tools}
        test.assertEqual(names, EXPECTED_TOOLS)
        query = next(t for t in tools.tools if t.name == "query")
        annotations = query.annotations
        test.assertTrue(getattr(annotations, "read_only_hint", None) or getattr(annotations, "readOnlyHint", None))

        rows = await client.call_tool("query", {"soql": "SELECT Id, Name FROM Account ORDER BY Id", "maxRows": 3})
        test.assertFalse(is_error(rows), rows)
        page = structured(rows)
        test.assertEqual(len(page["rows"]), 3)
        test.assertIn("nextCursor", page)
        more = await client.call_tool("query", {"cursor": page["nextCursor"], "maxRows": 2})
        test.assertEqual(structured(more)["rowsBefore"], 3)

        bad = await client.call_tool("query", {"soql": "SELECT FROM Account"})
        test.assertTrue(is_error(bad), bad)

        account_id = page["rows"][0]["Id"]
        args = {"object": "Account", "id": account_id, "fields": {"Phone": f"+1 555 {mode[:4]}"}}
        preview = structured(await client.call_tool("update_record", args))
        test.assertEqual(preview["status"], "preview")
        done = structured(await client.call_tool("update_record", {**args, "confirm": preview["confirm"]}))
        test.assertEqual(done["status"], "updated")


async def approve_through_the_client(test, server, mode):
    """A client that can ask its user: the change is made after the user's yes, with no
    confirm handle passed by the model (2026-07-28: input_required; 2025-11-25: elicitation)."""
    asked = []

    async def user(context, params):
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"approve": True})

    async with Client(server, mode=mode, elicitation_callback=user) as client:
        rows = structured(await client.call_tool("query", {"soql": "SELECT Id FROM Contact ORDER BY Id", "maxRows": 1}))
        contact_id = rows["rows"][0]["Id"]
        title = f"Approved in {mode} mode"
        done = await client.call_tool("update_record", {"object": "Contact", "id": contact_id, "fields": {"Title": title}})
        test.assertFalse(is_error(done), done)
        test.assertEqual(structured(done)["status"], "updated", done)
        test.assertEqual(len(asked), 1)
        test.assertIn(title, asked[0])
        read = structured(await client.call_tool("get_record", {"object": "Contact", "id": contact_id, "fields": ["Title"]}))
        test.assertEqual(read["record"]["Title"], title)


async def legacy_http_falls_back_to_the_handle(test, url):
    """Stateless HTTP cannot send a 2025-11-25 client a request: even one that could ask its
    user gets the preview and the confirm handle, at once."""
    asked = []

    async def user(context, params):
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"approve": True})

    async with Client(url, mode="legacy", elicitation_callback=user) as client:
        rows = structured(await client.call_tool("query", {"soql": "SELECT Id FROM Contact ORDER BY Id", "maxRows": 1}))
        args = {"object": "Contact", "id": rows["rows"][0]["Id"], "fields": {"Title": "Via the handle"}}
        preview = structured(await client.call_tool("update_record", args))
        test.assertEqual(preview["status"], "preview")
        test.assertEqual(asked, [])
        done = structured(await client.call_tool("update_record", {**args, "confirm": preview["confirm"]}))
        test.assertEqual(done["status"], "updated")


class Stdio(unittest.TestCase):
    def server(self):
        return StdioServerParameters(command=BIN, args=["--local", "mcp"], env=dict(os.environ))

    def test_auto_mode(self):
        asyncio.run(exercise(self, self.server(), "auto"))

    def test_legacy_mode(self):
        asyncio.run(exercise(self, self.server(), "legacy"))

    def test_auto_mode_approval_through_input_required(self):
        asyncio.run(approve_through_the_client(self, self.server(), "auto"))

    def test_legacy_mode_approval_through_elicitation(self):
        asyncio.run(approve_through_the_client(self, self.server(), "legacy"))


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.process = subprocess.Popen(
            [BIN, "--local", "mcp", "--http", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for line in cls.process.stderr:
            found = re.search(r"at (http://\S+/mcp)", line)
            if found:
                cls.url = found.group(1)
                break
        else:
            raise RuntimeError("forcebridge mcp --http did not say where it listens")

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=10)

    def test_auto_mode(self):
        asyncio.run(exercise(self, self.url, "auto"))

    def test_legacy_mode(self):
        asyncio.run(exercise(self, self.url, "legacy"))

    def test_auto_mode_approval_through_input_required(self):
        asyncio.run(approve_through_the_client(self, self.url, "auto"))

    def test_legacy_mode_with_elicitation_gets_the_handle(self):
        asyncio.run(legacy_http_falls_back_to_the_handle(self, self.url))


if __name__ == "__main__":
    unittest.main()
