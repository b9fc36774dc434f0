"""Per-tool spend: requested_spend_cents maps each tool to cents or to a callable of its arguments.
A resolver that raises or returns something that is not a spend, and a tool the mapping does not
name, are a deny spend_resolver_failed (the tool does not run, Harbor is not asked)."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph

from paybond_kit import CapabilityBinding, InvalidArgumentError, ServiceAccountHarborSession
from paybond_kit.langgraph import paybond_tool_node
from paybond_kit.testing import LocalHarbor

RAN: list[str] = []


@tool
def book_flight(flight: str, cost_cents: int = 0) -> str:
    """Book a flight (paid)."""
    RAN.append(flight)
    return f"booked {flight}"


@tool
def search(q: str) -> str:
    """Search (free)."""
    RAN.append(q)
    return f"found {q}"


@tool
def cancel(booking: str) -> str:
    """Cancel a booking (the mapping forgot it)."""
    RAN.append(booking)
    return f"cancelled {booking}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def graph(node: Any, model: ScriptedModel) -> Any:
    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", node)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].tool_calls else END, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile()


# Cents per tool: a number, or a callable of the tool's arguments.
SPEND = {"book_flight": lambda args: args["cost_cents"], "search": 0}


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["book_flight", "search", "cancel"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            node = paybond_tool_node([book_flight, search, cancel], binding, requested_spend_cents=SPEND)
            calls = [
                ("c1", "book_flight", {"flight": "PB101", "cost_cents": 300}),  # 300 cents
                ("c2", "search", {"q": "hotels in Lyon"}),                        # free
                ("c3", "book_flight", {"flight": "PB202"}),                       # the resolver raises KeyError
                ("c4", "cancel", {"booking": "PB101"}),                           # not in the mapping
            ]
            turn = AIMessage(content="", tool_calls=[{"name": n, "args": a, "id": i, "type": "tool_call"} for i, n, a in calls])
            out = await graph(node, ScriptedModel(messages=iter([turn, AIMessage(content="done")]))).ainvoke(
                {"messages": [{"role": "user", "content": "book, search, cancel"}]})

            shown = {m.tool_call_id: str(m.content) for m in out["messages"] if isinstance(m, ToolMessage)}
            for call_id, text in sorted(shown.items()):
                print(call_id, "->", text)
            assert sorted(RAN) == ["PB101", "hotels in Lyon"]
            assert shown["c3"].startswith("Paybond denied book_flight: spend_resolver_failed") and "KeyError" in shown["c3"]
            assert shown["c4"].startswith("Paybond denied cancel: spend_resolver_failed")
            assert harbor.stats()["verifies"] == 2  # the failed resolvers never reached Harbor

            # A bad static value is refused when the guard is built, naming the tool.
            try:
                paybond_tool_node([book_flight], binding, requested_spend_cents={"book_flight": 2.5})
                raise AssertionError("not refused")
            except InvalidArgumentError as e:
                print("refused:", e.field, "-", e)


if __name__ == "__main__":
    asyncio.run(main())
