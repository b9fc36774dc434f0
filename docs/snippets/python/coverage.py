"""No silent skip: audit_agent lists every tool path and whether Paybond guards it; the guards
refuse a path they cannot see (UnguardedToolError) unless its name is in unguarded=[...], and a
function tool listed there is a free tool that runs without Harbor."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, WebSearchTool, function_tool, set_tracing_disabled
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession, UnguardedToolError
from paybond_kit import langgraph as lg
from paybond_kit import openai_agents as oa
from paybond_kit.testing import LocalHarbor

set_tracing_disabled(True)


# ---- LangGraph / LangChain ----
@tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel room (paid)."""
    return f"booked {hotel}"


@tool
def search(q: str) -> str:
    """Search (free)."""
    return f"found {q}"


class ScriptedChat(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChat:
        return self


def searching_chat() -> ScriptedChat:
    call = {"name": "search", "args": {"q": "inns"}, "id": "c-search", "type": "tool_call"}
    return ScriptedChat(messages=iter([AIMessage(content="", tool_calls=[call]), AIMessage(content="done")]))


# A provider tool: it runs at the model provider, so no ToolNode (and no guard) ever sees its calls.
WEB_SEARCH = {"type": "web_search_preview", "name": "web_search"}
SPEND = {"book_hotel": lambda args: args["cost_cents"], "search": 0}


async def langgraph_coverage(binding: CapabilityBinding, harbor: LocalHarbor) -> None:
    guard = lg.PaybondToolGuardMiddleware(binding, requested_spend_cents=SPEND)
    agent = create_agent(searching_chat(), tools=[book_hotel, search, WEB_SEARCH], middleware=[guard])
    for p in lg.audit_agent(agent):
        print(f"  {p.kind:<9} {p.name:<11} guarded={p.guarded}")

    # The middleware refuses before the model is called; paybond_tool_node refuses at build time.
    try:
        await agent.ainvoke({"messages": [{"role": "user", "content": "find an inn"}]})
        raise AssertionError("not refused")
    except UnguardedToolError as e:
        print("  refused:", e.code, e.paths)
    try:
        lg.paybond_tool_node([book_hotel, WEB_SEARCH], binding)
        raise AssertionError("not refused")
    except UnguardedToolError as e:
        assert e.paths == ("provider:web_search",)

    # Listed knowingly: the provider tool is accepted, and search (a function tool) runs without Harbor.
    guard = lg.PaybondToolGuardMiddleware(binding, requested_spend_cents=SPEND, unguarded=["web_search", "search"])
    agent = create_agent(searching_chat(), tools=[book_hotel, search, WEB_SEARCH], middleware=[guard])
    before = harbor.stats()["verifies"]
    await agent.ainvoke({"messages": [{"role": "user", "content": "find an inn"}]})
    assert harbor.stats()["verifies"] == before  # the free tool never reached Harbor


# ---- OpenAI Agents ----
class ScriptedAgents(Model):
    """Turn 1 calls find, turn 2 answers."""

    def __init__(self) -> None:
        self.turns = 0

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.turns += 1
        if self.turns == 1:
            output: list[Any] = [ResponseFunctionToolCall(type="function_call", id="fc_1", call_id="call_find", name="find",
                                                          arguments=json.dumps({"q": "inns"}), status="completed")]
        else:
            output = [ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed",
                                            content=[ResponseOutputText(type="output_text", text="done", annotations=[])])]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


@function_tool
def book_room(hotel: str, cost_cents: int) -> str:
    """Book a hotel room (paid)."""
    return f"booked {hotel}"


@function_tool
def find(q: str) -> str:
    """Search (free)."""
    return f"found {q}"


async def openai_coverage(binding: CapabilityBinding, harbor: LocalHarbor) -> None:
    helper = Agent(name="helper", instructions="Answer questions.")
    agent = Agent(
        name="travel", model=ScriptedAgents(),
        tools=[book_room, find, WebSearchTool(), helper.as_tool(tool_name="ask_helper", tool_description="Ask the helper")],
        handoffs=[Agent(name="billing", instructions="Handle billing.")],
    )
    for p in oa.audit_agent(agent):
        print(f"  {p.kind:<13} {p.name:<19} guarded={p.guarded}")

    # guard_agent refuses the hosted tool, the agent tool and the handoff, and changes nothing.
    try:
        oa.guard_agent(agent, binding, {"book_room": lambda a: a["cost_cents"], "find": 0})
        raise AssertionError("not refused")
    except UnguardedToolError as e:
        print("  refused:", sorted(e.paths))
    assert not any(p.guarded for p in oa.audit_agent(agent))

    # Listed knowingly, by the names audit_agent reports (a handoff is reported by the tool name
    # the model calls: transfer_to_billing); find is a free tool (no Harbor), book_room is guarded.
    oa.guard_agent(agent, binding, {"book_room": lambda a: a["cost_cents"]},
                   unguarded=["web_search", "ask_helper", "transfer_to_billing", "find"])
    assert [p.name for p in oa.audit_agent(agent) if p.guarded] == ["book_room"]
    before = harbor.stats()["verifies"]
    result = await Runner.run(agent, "find an inn")
    assert result.final_output == "done" and harbor.stats()["verifies"] == before


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["book_hotel", "search", "book_room"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            print("LangGraph agent:")
            await langgraph_coverage(binding, harbor)
            print("OpenAI agent:")
            await openai_coverage(binding, harbor)


if __name__ == "__main__":
    asyncio.run(main())
