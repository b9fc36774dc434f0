"""The tool-call lifecycle through real LangGraph ToolNodes on the dev server: a tool that
raises or gets bad arguments releases its reservation and sends no evidence; a success is
consumed and its evidence lands once; a call id never runs twice."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode

import paybond_kit as pk
from paybond_kit.langgraph import paybond_awrap_tool_call, paybond_wrap_tool_call
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory
from .scripted import langchain_model, tool_node_graph

RUNS: list[str] = []


@tool
def pay(amount: int) -> str:
    """Pay (succeeds)."""
    RUNS.append("pay")
    return f"paid {amount}"


@tool
def flaky(amount: int) -> str:
    """Pay (always raises)."""
    RUNS.append("flaky")
    raise RuntimeError("card declined")


@pytest.fixture(autouse=True)
def reset() -> None:
    RUNS.clear()


def spend(request: Any) -> int:
    return int(request.tool_call["args"].get("amount", 0))


async def remaining(binding: pk.CapabilityBinding, call_id: str) -> int:
    d = await binding.authorize("pay", call_id, {}, requested_spend_cents=0)
    assert d.allowed, d
    assert d.remaining_cents is not None
    return d.remaining_cents


@pytest.mark.parametrize("sync", [False, True])
async def test_raise_and_bad_args_release_success_consumes(make_binding: BindingFactory, harbor: LocalHarbor, sync: bool) -> None:
    binding, _ = make_binding(["pay", "flaky"], 1000, evidence=True)
    events: list[Any] = []
    kw: dict[str, Any] = dict(requested_spend_cents=spend, evidence=lambda req, res: {"r": str(res.content)}, on_decision=events.append)
    wrap = {"wrap_tool_call": paybond_wrap_tool_call(binding, **kw)} if sync else {"awrap_tool_call": paybond_awrap_tool_call(binding, **kw)}
    node = ToolNode([pay, flaky], handle_tool_errors=True, **wrap)
    model = langchain_model([("flaky", {"amount": 300}), ("pay", {"amount": "not a number"}), ("pay", {"amount": 200})])
    graph = tool_node_graph(node, model)
    result = graph.invoke({"messages": [("user", "go")]}) if sync else await graph.ainvoke({"messages": [("user", "go")]})
    msgs = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert sorted(m.status for m in msgs) == ["error", "error", "success"]
    # flaky raised (error ToolMessage), the bad-args call never reached the body, pay ran once.
    assert sorted(RUNS) == ["flaky", "pay"]
    # Only the successful 200 stays spent; the raised and the invalid call were released.
    assert await remaining(binding, "probe") == 800
    st = harbor.stats()
    assert st["evidence_accepted"] == 1
    # ToolNode may refuse the bad arguments before or inside the guard: either way nothing stays reserved.
    assert st["decisions_consumed"] == 1 and st["decisions_released"] in (1, 2)
    by_ok = sorted((bool(e.succeeded), e.evidence is not None) for e in events if e.ran)
    assert by_ok[-1] == (True, True) and all(ev == (False, False) for ev in by_ok[:-1]) and len(by_ok) >= 2


async def test_a_call_id_never_runs_twice(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["pay"], 1000)
    d = await binding.authorize("pay", "c-1", {"amount": 1}, requested_spend_cents=100)
    assert d.allowed
    # Before it ran: the same decision, no second reservation.
    again = await binding.authorize("pay", "c-1", {"amount": 1}, requested_spend_cents=100)
    assert again.allowed and again.decision_id == d.decision_id
    changed = await binding.authorize("pay", "c-1", {"amount": 2}, requested_spend_cents=100)
    assert not changed.allowed and changed.code == "call_args_changed"
    done = await binding.finish("c-1", succeeded=True)
    assert done is not None and done["remaining_cents"] == 900
    replay = await binding.authorize("pay", "c-1", {"amount": 1}, requested_spend_cents=100)
    assert not replay.allowed and replay.code == "call_replayed"
    assert await remaining(binding, "probe") == 900
