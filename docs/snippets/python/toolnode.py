"""LangGraph's prebuilt ToolNode, guarded: paybond_tool_node builds one whose every tool call
(async and sync) goes through Harbor first; a deny is an error ToolMessage."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.langgraph import GuardEvent, paybond_awrap_tool_call, paybond_tool_node, paybond_wrap_tool_call
from paybond_kit.testing import LocalHarbor


@tool
def book_flight(flight: str, cost_cents: int) -> str:
    """Book a flight (paid)."""
    return f"booked {flight}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def graph(tools_node: Any, model: ScriptedModel) -> Any:
    """agent -> tools -> agent ... -> END."""

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    g = StateGraph(MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", tools_node)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile()


def spend(request: Any) -> int:
    return int(request.tool_call["args"]["cost_cents"])


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["book_flight"], amount_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            events: list[GuardEvent] = []
            node = paybond_tool_node([book_flight], binding, requested_spend_cents=spend, on_decision=events.append)
            # The same with a ToolNode you build yourself:
            _ = ToolNode([book_flight], awrap_tool_call=paybond_awrap_tool_call(binding, requested_spend_cents=spend),
                         wrap_tool_call=paybond_wrap_tool_call(binding, requested_spend_cents=spend))
            calls = [{"name": "book_flight", "args": {"flight": f, "cost_cents": 300}, "id": f"c-{f}", "type": "tool_call"}
                     for f in ("PB101", "PB202")]
            model = ScriptedModel(messages=iter([AIMessage(content="", tool_calls=calls), AIMessage(content="done")]))
            result = await graph(node, model).ainvoke({"messages": [("user", "Book two flights")]})

    statuses = sorted(str(m.status) for m in result["messages"] if isinstance(m, ToolMessage))
    for e in events:
        print(e.tool_name, e.call_id, e.decision.decision, e.decision.reason or e.decision.code, "ran" if e.ran else "not run")
    assert statuses == ["error", "success"], statuses  # $3 + $3 > $5: the second is budget_exceeded


if __name__ == "__main__":
    asyncio.run(main())
