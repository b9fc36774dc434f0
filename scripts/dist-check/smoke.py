"""`make dist-check`: the installed wheel used as an app uses it, with no Rust toolchain on PATH.

With ``--core`` (the extra CPython versions): import, LocalHarbor, one allow and one deny
through ``CapabilityBinding`` alone; otherwise through the LangGraph adapter in a
``create_agent`` agent (the ``[langgraph]`` extra).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import paybond_kit
from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"dist-check smoke (python): {what}")


async def core_only(binding: CapabilityBinding) -> str:
    allow = await binding.authorize("search", "c1", {"q": "inns"}, requested_spend_cents=100)
    deny = await binding.authorize("wire", "c2", {"to": "acct-42"}, requested_spend_cents=100)
    check(allow.decision == "allow" and deny.decision == "deny", f"decisions {allow} / {deny}")
    return "CapabilityBinding allow+deny"


async def langgraph_agent(binding: CapabilityBinding) -> str:
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.tools import tool

    from paybond_kit.langgraph import PaybondToolGuardMiddleware

    ran: list[str] = []

    @tool
    def search(q: str) -> str:
        """Search (paid)."""
        ran.append("search")
        return f"found {q}"

    @tool
    def wire(to: str) -> str:
        """Send money."""
        ran.append("wire")
        return f"sent to {to}"

    class Scripted(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Scripted:
            return self

    def call(name: str, args: dict[str, Any], n: int) -> AIMessage:
        return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{n}", "type": "tool_call"}])

    model = Scripted(messages=iter([call("search", {"q": "inns"}, 1), call("wire", {"to": "acct-42"}, 2), AIMessage(content="done")]))
    agent = create_agent(model, tools=[search, wire], middleware=[PaybondToolGuardMiddleware(binding, requested_spend_cents=100)])
    out = await agent.ainvoke({"messages": [{"role": "user", "content": "go"}]})
    status = {m.name: m.status for m in out["messages"] if isinstance(m, ToolMessage)}
    check(ran == ["search"], f"tools that ran: {ran}")
    check(status == {"search": "success", "wire": "error"}, f"tool message statuses: {status}")
    return "LangGraph create_agent allow+deny"


async def main() -> None:
    check("site-packages" in (paybond_kit.__file__ or ""), f"paybond_kit imported from {paybond_kit.__file__}")
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search"], amount_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            what = await (core_only(binding) if "--core" in sys.argv else langgraph_agent(binding))
    print(f"dist-check: python {sys.version.split()[0]}: import, LocalHarbor, {what}: ok")


asyncio.run(main())
