"""The agent adapters send the ``consumed`` completion of a successful call in the background:
the run goes on at once, the reservation made at verify already holds the budget, and nothing
is lost — ``settle()``, ``LocalHarbor`` reads, closing the session and interpreter exit all wait
for it. A failed call still releases its spend before the run goes on; MCP servers (whose
client reads Harbor's state) keep completing before they answer."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

import paybond_kit as pk
from paybond_kit.langgraph import paybond_awrap_tool_call, paybond_wrap_tool_call
from paybond_kit.testing import LocalHarbor, pending_completions

from .conftest import BindingFactory

COMPLETE = "/v1/spend/decisions/*"


@tool
def pay(amount: int) -> str:
    """Pay (succeeds)."""
    return f"paid {amount}"


@tool
def declined(amount: int) -> str:
    """Pay (raises)."""
    raise RuntimeError("card declined")


def graph(binding: pk.CapabilityBinding, sync: bool = False) -> Any:
    kw: dict[str, Any] = dict(requested_spend_cents=lambda r: int(r.tool_call["args"]["amount"]))
    wrap = {"wrap_tool_call": paybond_wrap_tool_call(binding, **kw)} if sync else {
        "awrap_tool_call": paybond_awrap_tool_call(binding, **kw)}
    g = StateGraph(MessagesState)
    g.add_node("tools", ToolNode([pay, declined], handle_tool_errors=True, **wrap))
    g.add_edge(START, "tools")
    g.add_edge("tools", END)
    return g.compile()


def call(name: str, amount: int, call_id: str) -> dict[str, Any]:
    msg = AIMessage(content="", tool_calls=[{"name": name, "args": {"amount": amount}, "id": call_id, "type": "tool_call"}])
    return {"messages": [msg]}


def last(out: dict[str, Any]) -> ToolMessage:
    msg = out["messages"][-1]
    assert isinstance(msg, ToolMessage)
    return msg


@pytest.mark.parametrize("sync", [False, True])
async def test_success_goes_on_before_the_completion_lands(make_binding: BindingFactory, harbor: LocalHarbor,
                                                             sync: bool) -> None:
    binding, _ = make_binding(["pay", "declined"], 1000)
    # Harbor holds the completion's answer for 800 ms (under the 1 s attempt timeout).
    harbor.add_fault(COMPLETE, "latency", latency_ms=800)
    g = graph(binding, sync)
    out = g.invoke(call("pay", 300, "c-1")) if sync else await g.ainvoke(call("pay", 300, "c-1"))
    assert last(out).status != "error" and last(out).content == "paid 300"
    assert pending_completions() == 1, "the run did not wait for the completion"
    await binding.settle()
    assert pending_completions() == 0
    st = harbor.stats()
    assert st["decisions_consumed"] == 1 and st["decisions_released"] == 0
    d = await binding.authorize("pay", "c-2", {}, requested_spend_cents=0)
    assert d.remaining_cents == 700, "the reservation held the budget all along"


async def test_local_harbor_reads_settle_by_themselves(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["pay"], 1000)
    harbor.add_fault(COMPLETE, "latency", latency_ms=500)
    await graph(binding).ainvoke(call("pay", 100, "c-1"))
    assert harbor.stats()["decisions_consumed"] == 1
    assert pending_completions() == 0


async def test_closing_the_session_waits_for_background_completions(harbor: LocalHarbor) -> None:
    intent = harbor.create_intent(allowed_tools=["pay"], amount_cents=1000)
    s = await pk.ServiceAccountHarborSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key,
                                                  harbor_base_url=harbor.harbor_url, timeout_seconds=1.0,
                                                  deadline_seconds=2.5)
    binding = pk.CapabilityBinding(s.harbor, intent.intent_id, intent.capability_token)
    harbor.add_fault(COMPLETE, "latency", latency_ms=500)
    await graph(binding).ainvoke(call("pay", 100, "c-1"))
    assert pending_completions() == 1
    await s.aclose()
    assert pending_completions() == 0, "aclose() returned before the completion landed"
    assert harbor.stats()["decisions_consumed"] == 1


async def test_a_failed_call_releases_before_the_run_goes_on(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["pay", "declined"], 1000)
    harbor.add_fault(COMPLETE, "latency", latency_ms=300)
    out = await graph(binding).ainvoke(call("declined", 400, "c-1"))
    assert last(out).status == "error"
    assert pending_completions() == 0, "the release is sent before the run goes on"
    d = await binding.authorize("pay", "c-2", {}, requested_spend_cents=0)
    assert d.remaining_cents == 1000


async def test_a_failed_background_completion_is_logged(make_binding: BindingFactory, harbor: LocalHarbor,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="paybond_kit")
    binding, _ = make_binding(["pay"], 1000)
    harbor.add_fault(COMPLETE, "status", status=500, count=10)
    out = await graph(binding).ainvoke(call("pay", 100, "c-1"))
    assert last(out).content == "paid 100", "the tool's result stands"
    await binding.settle()
    msgs = [r.getMessage() for r in caplog.records if r.name == "paybond_kit"]
    assert any("in the background failed" in m and "http_error" in m for m in msgs), msgs
    harbor.clear_faults()
    assert harbor.stats()["decisions_consumed"] == 0, "Harbor keeps the reservation until its hold period"


def test_interpreter_exit_waits_for_background_completions(harbor: LocalHarbor) -> None:
    """A script that ends right after a guarded run (no close) still lands its completion."""
    intent = harbor.create_intent(allowed_tools=["pay"], amount_cents=1000)
    harbor.add_fault(COMPLETE, "latency", latency_ms=500)
    script = textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent.parent)!r})
        import paybond_kit as pk
        from paybond_kit.testing import pending_completions
        from tests.test_background_completion import graph, call

        async def main():
            s = await pk.ServiceAccountHarborSession.open(
                gateway_base_url={harbor.gateway_url!r}, api_key={harbor.api_key!r},
                harbor_base_url={harbor.harbor_url!r}, timeout_seconds=1.0, deadline_seconds=2.5)
            b = pk.CapabilityBinding(s.harbor, {intent.intent_id!r}, {intent.capability_token!r})
            out = await graph(b).ainvoke(call("pay", 100, "c-1"))
            print("pending", pending_completions(), out["messages"][-1].content)

        asyncio.run(main())
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "pending 1 paid 100" in r.stdout, r.stdout
    assert harbor.stats()["decisions_consumed"] == 1, "the completion was lost at exit"


async def test_openai_agents_success_goes_on_before_the_completion_lands(make_binding: BindingFactory,
                                                                         harbor: LocalHarbor) -> None:
    from agents import Agent, Runner, function_tool

    from paybond_kit.openai_agents import guard_function_tools

    from .scripted import ScriptedAgentsModel

    @function_tool
    def book(cost_cents: int) -> str:
        """Book (succeeds)."""
        return f"booked {cost_cents}"

    binding, _ = make_binding(["book"], 500)
    tools = guard_function_tools([book], binding, requested_spend_cents=100)
    harbor.add_fault(COMPLETE, "latency", latency_ms=800)
    model = ScriptedAgentsModel([("book", {"cost_cents": 100})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert result.final_output == "done"
    assert pending_completions() == 1, "the run did not wait for the completion"
    await binding.settle()
    assert harbor.stats()["decisions_consumed"] == 1
