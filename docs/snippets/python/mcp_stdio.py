"""MCP over stdio: paybond-mcp-proxy in front of a stdio MCP server, and the client-side guard for
an OpenAI Agents local MCP server. `python mcp_stdio.py upstream` is the upstream server (the same
file, so the example is self-contained); without an argument it runs the example."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import anyio
import mcp_types as types

UPSTREAM = [sys.executable, os.path.abspath(__file__), "upstream"]


# ---- the upstream: any stdio MCP server (here, one that knows nothing of Paybond) ----
async def upstream() -> None:
    from mcp.server import Server
    from mcp.server.stdio import stdio_server

    tools = [types.Tool(name="book_hotel", input_schema={"type": "object", "properties": {"hotel": {"type": "string"}}}),
             types.Tool(name="wire_money", input_schema={"type": "object", "properties": {"to": {"type": "string"}}})]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"{params.name} done")],
                                    structured_content={"tool": params.name, "args": params.arguments or {}})

    server = Server("upstream", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


# ---- 1. the guarding proxy: one binding (from the environment) for every call ----
async def through_the_proxy(harbor: Any) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
    env = {**os.environ, "PAYBOND_API_KEY": harbor.api_key, "PAYBOND_CAPABILITY_TOKEN": intent.capability_token,
           "PAYBOND_GATEWAY_URL": harbor.gateway_url, "PAYBOND_HARBOR_URL": harbor.harbor_url}
    # The same as the console script: paybond-mcp-proxy --intent-id ... -- <upstream command>
    proxy = StdioServerParameters(
        command=sys.executable,
        args=["-m", "paybond_kit.mcp.proxy", "--intent-id", intent.intent_id, "--tool-spend", "book_hotel=300", "--", *UPSTREAM],
        env=env,
    )
    async with Client(proxy) as client:
        print("  tools/list:", [t.name for t in (await client.list_tools()).tools])
        for name, args in [("book_hotel", {"hotel": "Inn"}), ("book_hotel", {"hotel": "Spa"}), ("wire_money", {"to": "x"}),
                           ("delete_everything", {})]:
            r = await client.call_tool(name, args)
            print(f"  {name}: is_error={r.is_error} {r.structured_content or text(r)}")
    assert harbor.stats()["decisions_consumed"] == 1  # only the first booking reached the upstream


# ---- 2. the client side: an OpenAI Agents local MCP server, guarded like function tools ----
async def openai_agents_client(harbor: Any, session: Any) -> None:
    from agents import Agent, Model, ModelResponse, ModelSettings, Runner, Usage, set_tracing_disabled
    from agents.mcp import MCPServerStdio
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

    from paybond_kit import CapabilityBinding
    from paybond_kit.mcp.openai_agents import guard_mcp_server

    set_tracing_disabled(True)

    class Scripted(Model):
        """Turn 1 calls both MCP tools, turn 2 answers."""

        def __init__(self) -> None:
            self.inputs: list[Any] = []

        async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
            self.inputs.append(input)
            if len(self.inputs) == 1:
                output: list[Any] = [
                    ResponseFunctionToolCall(type="function_call", id=f"fc_{k}", call_id=f"call_{k}", name=n, arguments=json.dumps(a), status="completed")
                    for k, (n, a) in enumerate([("book_hotel", {"hotel": "Inn"}), ("wire_money", {"to": "x"})])]
            else:
                output = [ResponseOutputMessage(id="m1", type="message", role="assistant", status="completed",
                                                content=[ResponseOutputText(type="output_text", text="done", annotations=[])])]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
    binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
    server = MCPServerStdio(params={"command": UPSTREAM[0], "args": UPSTREAM[1:], "env": dict(os.environ)}, cache_tools_list=True)
    guard_mcp_server(server, binding, requested_spend_cents={"book_hotel": 300, "wire_money": 0})
    model = Scripted()
    async with server:
        agent = Agent(name="travel", model=model, mcp_servers=[server], model_settings=ModelSettings(parallel_tool_calls=False))
        await Runner.run(agent, "book an inn, then pay")
    for item in model.inputs[-1]:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            print(f"  {item['call_id']}: {item['output']}")
    assert harbor.stats()["decisions_consumed"] == 2  # the proxy's booking and this one


async def main() -> None:
    from paybond_kit import ServiceAccountHarborSession
    from paybond_kit.testing import LocalHarbor

    async with LocalHarbor() as harbor:
        print("paybond-mcp-proxy:")
        await through_the_proxy(harbor)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            print("OpenAI Agents MCPServerStdio:")
            await openai_agents_client(harbor, session)


if __name__ == "__main__":
    if sys.argv[1:] == ["upstream"]:
        anyio.run(upstream)
    else:
        asyncio.run(main())
