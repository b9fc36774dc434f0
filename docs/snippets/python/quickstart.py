"""Quickstart: a LangGraph agent whose paid tool cannot run unless Paybond Harbor verified the call.

Runs as written: the dev server (LocalHarbor) runs in-process and the model is scripted,
so there is no account, no network and no API key.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.langgraph import PaybondToolGuardMiddleware
from paybond_kit.testing import LocalHarbor

RAN: list[str] = []


@tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel room (paid: costs cost_cents)."""
    RAN.append("book_hotel")
    return f"booked {hotel} for ${cost_cents / 100:.2f}"


@tool
def wire_money(to: str, amount_cents: int) -> str:
    """Wire money to an account (the intent does not allow it)."""
    RAN.append("wire_money")
    return f"wired {amount_cents} to {to}"


class ScriptedModel(GenericFakeChatModel):
    """Plays back fixed AI turns. create_agent calls bind_tools(), which
    GenericFakeChatModel does not implement (NotImplementedError): return self."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def scripted_model() -> ScriptedModel:
    turn = AIMessage(content="", tool_calls=[
        {"name": "book_hotel", "args": {"hotel": "Harbor Inn", "cost_cents": 300}, "id": "call_1", "type": "tool_call"},
        {"name": "wire_money", "args": {"to": "acct-42", "amount_cents": 100}, "id": "call_2", "type": "tool_call"},
    ])
    return ScriptedModel(messages=iter([turn, AIMessage(content="Booked the Harbor Inn; the wire was refused.")]))


def spend(request: Any) -> int:
    """Cents to reserve for one call, read from the call's own arguments."""
    return int(request.tool_call["args"].get("cost_cents", 0))


async def main() -> None:
    async with LocalHarbor() as harbor:  # Gateway + Harbor + Signal on loopback ports
        # The intent: what the agent may do and spend ($5.00, book_hotel only), and its capability token.
        intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url,
            api_key=harbor.api_key,
            harbor_base_url=harbor.harbor_url,
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            guard = PaybondToolGuardMiddleware(binding, requested_spend_cents=spend)
            agent = create_agent(scripted_model(), tools=[book_hotel, wire_money], middleware=[guard])
            result = await agent.ainvoke({"messages": [{"role": "user", "content": "Book a hotel, then pay acct-42."}]})

    for m in result["messages"]:
        if isinstance(m, ToolMessage):
            print(f"{m.name}: {m.status}: {m.content}")
    print("final answer:", result["messages"][-1].content)
    assert RAN == ["book_hotel"], RAN  # the denied tool never ran


if __name__ == "__main__":
    asyncio.run(main())
