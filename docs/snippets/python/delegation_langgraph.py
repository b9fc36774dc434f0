"""A LangGraph sub-agent node with a narrower binding: delegate_node builds the sub-agent for a
fresh child of the parent binding on every run of the node."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.delegation import delegate_node
from paybond_kit.langgraph import PaybondToolGuardMiddleware
from paybond_kit.testing import LocalHarbor


@tool
def search(query: str) -> str:
    """Search the web."""
    return f"found {query}"


@tool
def book_hotel(hotel: str) -> str:
    """Book a hotel room."""
    return f"booked {hotel}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


RUNS = 0


def build_researcher(child: CapabilityBinding) -> Any:
    """The sub-agent, guarded with the child binding it is given (called on every run of the node)."""
    global RUNS
    RUNS += 1
    calls = [{"name": "search", "args": {"query": "a"}, "id": f"s1-{RUNS}", "type": "tool_call"},
             {"name": "search", "args": {"query": "b"}, "id": f"s2-{RUNS}", "type": "tool_call"},
             {"name": "book_hotel", "args": {"hotel": "Inn"}, "id": f"b-{RUNS}", "type": "tool_call"}]
    model = ScriptedModel(messages=iter([AIMessage(content="", tool_calls=calls), AIMessage(content="done")]))
    return create_agent(model, tools=[search, book_hotel], middleware=[PaybondToolGuardMiddleware(child)])


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search", "book_hotel"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            g = StateGraph(MessagesState)
            g.add_node("research", delegate_node(build_researcher, binding, tools=["search"], max_calls=1))
            g.add_edge(START, "research")
            g.add_edge("research", END)
            graph = g.compile()

            out = await graph.ainvoke({"messages": [{"role": "user", "content": "research inns"}]})
            results = sorted(str(m.content) for m in out["messages"] if isinstance(m, ToolMessage))
            for text in results:
                print(text)
            # One search ran; the second is over max_calls; book_hotel is outside the child's tools.
            assert [r.startswith("found") for r in results] == [False, False, True]
            assert sum("max_calls_exceeded" in r for r in results) == 1
            assert sum("operation_not_allowed" in r for r in results) == 1
            assert (await binding.authorize("book_hotel", "parent-1", {})).allowed  # the parent could

            await graph.ainvoke({"messages": [{"role": "user", "content": "again"}]})  # a fresh child: a fresh max_calls
            assert RUNS == 2


if __name__ == "__main__":
    asyncio.run(main())
