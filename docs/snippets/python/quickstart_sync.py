"""The quickstart without asyncio: every async call has a blocking ``_sync`` twin
(it releases the GIL), and the middleware guards ``agent.invoke`` as well as ``ainvoke``."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.langgraph import PaybondToolGuardMiddleware
from paybond_kit.testing import LocalHarbor


@tool
def search(query: str) -> str:
    """Search the catalogue (costs 10 cents)."""
    return f"3 results for {query!r}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


turns = [
    AIMessage(content="", tool_calls=[{"name": "search", "args": {"query": "hotels"}, "id": "c1", "type": "tool_call"}]),
    AIMessage(content="Found 3 hotels."),
]

with LocalHarbor() as harbor:
    intent = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    with ServiceAccountHarborSession.open_sync(
        gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
    ) as session:
        binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
        agent = create_agent(
            ScriptedModel(messages=iter(turns)),
            tools=[search],
            middleware=[PaybondToolGuardMiddleware(binding, requested_spend_cents=10)],
        )
        result = agent.invoke({"messages": [{"role": "user", "content": "Find hotels"}]})
        tool_message = next(m for m in result["messages"] if isinstance(m, ToolMessage))
        print(tool_message.status, tool_message.content)
        assert tool_message.status == "success"
        # Direct use of the binding: 100 - 10 reserved for c1 = 90 left.
        probe = binding.authorize_sync("search", "probe-1", {"query": "x"}, requested_spend_cents=0)
        print(probe.decision, probe.remaining_cents)
        assert probe.allowed and probe.remaining_cents == 90
