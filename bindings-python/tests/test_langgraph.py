"""The real langgraph / langchain packages with a scripted model: deny keeps the tool body at 0,
allow runs it once, and the model sees the reason."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode

import paybond_kit as pk
from paybond_kit.langgraph import (
    PaybondToolGuardMiddleware,
    paybond_awrap_tool_call,
    paybond_tool_node,
    paybond_wrap_tool_call,
)
from paybond_kit.testing import LocalHarbor

from .conftest import VERIFY_FAULTS, BindingFactory
from .scripted import langchain_model, tool_node_graph

COUNTS: dict[str, int] = {}
LOCK = threading.Lock()


def bump(name: str) -> None:
    with LOCK:
        COUNTS[name] = COUNTS.get(name, 0) + 1


@tool
def book_hotel(hotel: str, cost_cents: int) -> str:
    """Book a hotel (paid)."""
    bump("book_hotel")
    return f"booked {hotel} for {cost_cents}"


@tool
def wire_money(to: str) -> str:
    """Send money (never allowed here)."""
    bump("wire_money")
    return f"sent to {to}"


@pytest.fixture(autouse=True)
def reset_counts() -> None:
    COUNTS.clear()


def spend(request: Any) -> int:
    return int(request.tool_call["args"].get("cost_cents", 0))


def tool_messages(result: dict[str, Any]) -> dict[str, ToolMessage]:
    return {m.name: m for m in result["messages"] if isinstance(m, ToolMessage)}


async def test_middleware_create_agent_async(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book_hotel"], 500, evidence=True)
    events: list[Any] = []
    mw = PaybondToolGuardMiddleware(binding, requested_spend_cents=spend, evidence=lambda req, res: {"result": str(res.content)}, on_decision=events.append)
    model = langchain_model([("book_hotel", {"hotel": "Inn", "cost_cents": 300}), ("wire_money", {"to": "x"})])
    agent = create_agent(model, tools=[book_hotel, wire_money], middleware=[mw])
    result = await agent.ainvoke({"messages": [{"role": "user", "content": "go"}]})
    assert COUNTS == {"book_hotel": 1}
    msgs = tool_messages(result)
    assert msgs["wire_money"].status == "error"
    assert msgs["wire_money"].content.startswith("Paybond denied wire_money: harbor_denied: operation_not_allowed")
    assert msgs["book_hotel"].status != "error"
    # The model saw the reason on its next turn, and the run finished.
    assert any(isinstance(m, ToolMessage) and "Paybond denied wire_money" in str(m.content) for m in model.seen[-1])
    assert isinstance(result["messages"][-1], AIMessage) and result["messages"][-1].content == "done"
    assert harbor.stats()["evidence_accepted"] == 1
    ran = {e.tool_name: e for e in events}
    assert ran["book_hotel"].ran and ran["book_hotel"].evidence is not None and not ran["wire_money"].ran


def test_middleware_create_agent_sync(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    model = langchain_model([("book_hotel", {"hotel": "A", "cost_cents": 300}), ("book_hotel", {"hotel": "B", "cost_cents": 300})])
    agent = create_agent(model, tools=[book_hotel], middleware=[PaybondToolGuardMiddleware(binding, requested_spend_cents=spend)])
    result = agent.invoke({"messages": [{"role": "user", "content": "go"}]})
    tms = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert COUNTS == {"book_hotel": 1}, "the second booking is over budget and never runs"
    assert sorted(m.status for m in tms) == ["error", "success"]
    assert any("budget_exceeded" in str(m.content) for m in tms)


def graph_with(node: ToolNode, model: Any) -> Any:
    return tool_node_graph(node, model)


async def test_tool_node_awrap(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    node = ToolNode([book_hotel, wire_money], awrap_tool_call=paybond_awrap_tool_call(binding, requested_spend_cents=spend))
    model = langchain_model([("wire_money", {"to": "x"}), ("book_hotel", {"hotel": "C", "cost_cents": 100})])
    result = await graph_with(node, model).ainvoke({"messages": [{"role": "user", "content": "go"}]})
    assert COUNTS == {"book_hotel": 1}
    assert tool_messages(result)["wire_money"].status == "error"


def test_tool_node_sync_wrap_under_sync_graph(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 1000)
    node = paybond_tool_node([book_hotel, wire_money], binding, requested_spend_cents=spend)
    calls = [("book_hotel", {"hotel": f"H{k}", "cost_cents": 100}) for k in range(5)] + [("wire_money", {"to": "y"})]
    result = graph_with(node, langchain_model(calls)).invoke({"messages": [{"role": "user", "content": "go"}]})
    assert COUNTS == {"book_hotel": 5}
    assert tool_messages(result)["wire_money"].status == "error"


async def test_on_error_raise(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    node = ToolNode([wire_money], awrap_tool_call=paybond_awrap_tool_call(binding, on_error="raise"), handle_tool_errors=False)
    with pytest.raises(pk.PaybondDeniedError) as e:
        await graph_with(node, langchain_model([("wire_money", {"to": "x"})])).ainvoke({"messages": [{"role": "user", "content": "go"}]})
    assert e.value.tool_name == "wire_money" and e.value.reason == "operation_not_allowed"
    assert COUNTS == {}


def test_misconfiguration_raises_at_construction(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"])
    # Typed errors naming the argument (InvalidArgumentError is a ValueError), never TypeError.
    with pytest.raises(pk.InvalidArgumentError, match="on_error") as e:
        paybond_awrap_tool_call(binding, on_error="ignore")  # type: ignore[arg-type]
    assert e.value.field == "on_error"
    with pytest.raises(pk.InvalidArgumentError, match="requested_spend_cents") as e:
        paybond_wrap_tool_call(binding, requested_spend_cents=-1)
    assert e.value.field == "requested_spend_cents"
    with pytest.raises(pk.InvalidArgumentError, match="binding") as e:
        PaybondToolGuardMiddleware("not a binding")  # type: ignore[arg-type]
    assert e.value.field == "binding"


async def test_spend_callable_failure_is_a_deny(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)

    def broken(request: Any) -> int:
        raise KeyError("cost")

    node = ToolNode([book_hotel], awrap_tool_call=paybond_awrap_tool_call(binding, requested_spend_cents=broken))
    result = await graph_with(node, langchain_model([("book_hotel", {"hotel": "Z", "cost_cents": 1})])).ainvoke({"messages": [{"role": "user", "content": "go"}]})
    assert COUNTS == {}
    assert tool_messages(result)["book_hotel"].status == "error"


@pytest.mark.parametrize(("fault", "code"), VERIFY_FAULTS, ids=[f"{f['kind']}-{c}" for f, c in VERIFY_FAULTS])
async def test_every_fault_kind_is_a_deny_and_the_run_finishes(make_binding: BindingFactory, harbor: LocalHarbor, fault: dict[str, Any], code: str) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    harbor.add_fault("/verify", **fault)
    node = ToolNode([book_hotel], awrap_tool_call=paybond_awrap_tool_call(binding, requested_spend_cents=spend))
    model = langchain_model([("book_hotel", {"hotel": "F", "cost_cents": 10})])
    result = await graph_with(node, model).ainvoke({"messages": [{"role": "user", "content": "go"}]})
    assert COUNTS == {}, "the tool body never ran"
    msg = tool_messages(result)["book_hotel"]
    assert msg.status == "error" and f": {code}:" in str(msg.content), msg.content
    assert result["messages"][-1].content == "done"


async def test_200_concurrent_guarded_calls(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book_hotel"], 1_000_000)
    wrap = paybond_awrap_tool_call(binding, requested_spend_cents=1)
    from langgraph.prebuilt.tool_node import ToolCallRequest

    async def one(k: int) -> ToolMessage:
        req = ToolCallRequest(tool_call={"name": "book_hotel", "args": {"hotel": "x", "cost_cents": 1}, "id": f"c{k}", "type": "tool_call"}, tool=book_hotel, state={}, runtime=None)  # type: ignore[arg-type]

        async def handler(r: ToolCallRequest) -> ToolMessage:
            out = await book_hotel.ainvoke(r.tool_call["args"])
            return ToolMessage(content=out, tool_call_id=r.tool_call["id"], name="book_hotel")

        res = await wrap(req, handler)
        assert isinstance(res, ToolMessage)
        return res

    results = await asyncio.gather(*(one(k) for k in range(200)))
    assert all(r.status != "error" for r in results)
    assert COUNTS == {"book_hotel": 200}
    assert harbor.stats()["verify_allows"] == 200
