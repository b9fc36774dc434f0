"""A stdio MCP server for the MCP guard tests: ``python mcp_upstream.py LOGFILE``.

Every tool invocation appends the tool's name to LOGFILE (so a test in another process can
count what really ran). Tools: book_hotel, wire_money (plain), boom (raises), fail (isError).
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import mcp_types as t
from mcp.server import Server
from mcp.server.stdio import stdio_server

LOG = sys.argv[1]

TOOLS = [
    t.Tool(name="book_hotel", description="Book a hotel (paid).",
           input_schema={"type": "object", "properties": {"hotel": {"type": "string"}, "cost_cents": {"type": "integer"}}}),
    t.Tool(name="wire_money", description="Send money.", input_schema={"type": "object", "properties": {"to": {"type": "string"}}}),
    t.Tool(name="boom", description="Raises.", input_schema={"type": "object", "properties": {}}),
    t.Tool(name="fail", description="Returns an error result.", input_schema={"type": "object", "properties": {}}),
]


def record(name: str) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(name + "\n")


async def list_tools(ctx: Any, params: Any) -> t.ListToolsResult:
    return t.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Any, params: t.CallToolRequestParams) -> t.CallToolResult:
    record(params.name)
    args = params.arguments or {}
    if params.name == "boom":
        raise RuntimeError("upstream boom")
    if params.name == "fail":
        return t.CallToolResult(content=[t.TextContent(type="text", text="upstream failed")], is_error=True)
    return t.CallToolResult(
        content=[t.TextContent(type="text", text=f"{params.name} ok: {sorted(args.items())}")],
        structured_content={"tool": params.name, "args": args},
    )


async def main() -> None:
    server = Server("upstream", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
