"""The MCP guard on the server: every tools/call is verified by Harbor before the tool runs; a deny
is a tool error result (isError), never a crash. FastMCP 4 and the mcp SDK 2.x, with their own
in-memory clients; the capability travels in each request's _meta["paybond/capability"]."""

from __future__ import annotations

import asyncio
from typing import Any

import fastmcp
import mcp_types as types
from mcp import Client
from mcp.server import MCPServer, Server

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.mcp import capability_meta
from paybond_kit.mcp.fastmcp import PaybondFastMCPMiddleware
from paybond_kit.mcp.server import PaybondServerMiddleware, guard_call_tool
from paybond_kit.testing import LocalHarbor

RAN: list[str] = []
SPEND = {"book_hotel": lambda args: args["cost_cents"], "wire_money": 0}  # per tool, from the arguments


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def fastmcp_server(session: ServiceAccountHarborSession, harbor: LocalHarbor) -> None:
    app = fastmcp.FastMCP("travel")

    @app.tool()
    def book_hotel(hotel: str, cost_cents: int) -> str:
        RAN.append("book_hotel")
        return f"booked {hotel}"

    @app.tool()
    def wire_money(to: str) -> str:
        RAN.append("wire_money")
        return f"sent to {to}"

    # Per-request capabilities, bound with this server's own Harbor session.
    app.add_middleware(PaybondFastMCPMiddleware(harbor=session, requested_spend_cents=SPEND))

    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
    meta = capability_meta(intent.intent_id, intent.capability_token)  # {"paybond/capability": {...}}
    async with fastmcp.Client(app) as client:
        for name, args, with_meta in [("book_hotel", {"hotel": "Inn", "cost_cents": 300}, True),
                                      ("book_hotel", {"hotel": "Spa", "cost_cents": 300}, True),  # over budget
                                      ("wire_money", {"to": "acct-42"}, True),                    # not in the intent
                                      ("book_hotel", {"hotel": "Inn", "cost_cents": 1}, False)]:  # no capability
            r = await client.call_tool_mcp(name, args, meta=meta if with_meta else None)
            print(f"  {name}: is_error={r.is_error} {text(r)}")
    assert RAN == ["book_hotel"]


async def sdk_server(session: ServiceAccountHarborSession, harbor: LocalHarbor) -> None:
    server = MCPServer("travel", middleware=[PaybondServerMiddleware(harbor=session, requested_spend_cents=SPEND)])

    @server.tool()
    def book_hotel(hotel: str, cost_cents: int) -> str:
        RAN.append("book_hotel")
        return f"booked {hotel}"

    # Calls over 500 cents need a reviewer. The client names its call so a retry is the same call.
    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=2000, approval_threshold_cents=500)
    meta = capability_meta(intent.intent_id, intent.capability_token, call_id="booking-7")
    args = {"hotel": "Ritz", "cost_cents": 900}
    async with Client(server) as client:
        pending = await client.call_tool("book_hotel", args, meta=meta)
        print("  first try:", text(pending))
        assert pending.is_error and "approval_required" in text(pending)
        approval_id = text(pending).rsplit("(approval request ", 1)[1].rstrip(")")
        harbor.decide_approval(approval_id, "approve")  # a reviewer decides
        approved = await client.call_tool("book_hotel", args, meta=meta)  # same call id, same arguments
        print("  after approval:", approved.is_error, approved.structured_content)
        assert approved.is_error is not True


async def lowlevel_server(binding: CapabilityBinding) -> None:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="search", input_schema={"type": "object"})])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        RAN.append(params.name)
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"{params.name} ran")])

    # One fixed capability for every call (a single-tenant server): no _meta needed.
    server = Server("search", on_list_tools=list_tools, on_call_tool=guard_call_tool(call_tool, binding))
    async with Client(server) as client:
        print("  search:", text(await client.call_tool("search", {"q": "inns"})))
        print("  admin: ", text(await client.call_tool("admin", {})))


async def main() -> None:
    async with LocalHarbor() as harbor:
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            print("FastMCP:")
            await fastmcp_server(session, harbor)
            print("mcp SDK MCPServer:")
            await sdk_server(session, harbor)
            print("mcp SDK low-level Server:")
            intent = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
            await lowlevel_server(CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token))
    assert RAN == ["book_hotel", "book_hotel", "search"]  # no denied call reached a tool


if __name__ == "__main__":
    asyncio.run(main())
