"""docs-check: env
The prelude that runs README.md's Python excerpt as written: it defines the names the excerpt
uses (GATEWAY, API_KEY, HARBOR, intent_id, capability_token, model, tools) against the dev
server the docs check starts, and checks what the excerpt did."""

import asyncio
import os
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

GATEWAY, HARBOR, API_KEY = (os.environ[k] for k in ("PAYBOND_GATEWAY_URL", "PAYBOND_HARBOR_URL", "PAYBOND_API_KEY"))
intent_id, capability_token = os.environ["PAYBOND_INTENT_ID"], os.environ["PAYBOND_CAPABILITY_TOKEN"]
RAN: list[str] = []


@tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel room (paid)."""
    RAN.append("book_hotel")
    return f"booked {hotel}"


@tool
def search(q: str) -> str:
    """Search (free)."""
    RAN.append("search")
    return f"found {q}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


model = ScriptedModel(messages=iter([
    AIMessage(content="", tool_calls=[{"name": "book_hotel", "args": {"hotel": "Harbor Inn", "cost_cents": 300},
                                       "id": "call_1", "type": "tool_call"}]),
    AIMessage(content="Booked."),
]))
tools = [book_hotel, search]


async def main() -> None:
    # docs-check: block
    assert RAN == ["book_hotel"], RAN
    assert [m.status for m in result["messages"] if isinstance(m, ToolMessage)] == ["success"]
    print("README Python excerpt: booked through the guard")


asyncio.run(main())
