"""A panic inside the kit (injected with ``_native._inject_panics``: the next N HTTP attempts in the
process panic) is ``InternalError`` (code ``internal``) at every hand-off, async and sync, and a
deny inside every framework guard: never a hang, never a ``PanicException`` (a ``BaseException``
that ``except Exception`` does not catch)."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
from agents import Agent, Runner, set_tracing_disabled
from langchain_core.messages import ToolMessage
from langgraph.prebuilt import ToolNode

import paybond_kit as pk
from paybond_kit import _native
from paybond_kit.langgraph import paybond_awrap_tool_call, paybond_tool_node
from paybond_kit.openai_agents import guard_function_tools
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory
from .scripted import ScriptedAgentsModel, langchain_model, tool_node_graph
from .test_langgraph import COUNTS, book_hotel
from .test_openai_agents import COUNTS as AGENT_COUNTS
from .test_openai_agents import make_tools

set_tracing_disabled(True)
BOUND = 20.0  # generous: a panic must never turn into a call that does not resolve


@pytest.fixture(autouse=True)
def disarm() -> Iterator[None]:
    COUNTS.clear()
    AGENT_COUNTS.clear()
    yield
    _native._inject_panics(0)


async def test_async_verify_panic_is_internal_error(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    _native._inject_panics(1)
    with pytest.raises(pk.InternalError) as e:
        await asyncio.wait_for(
            session.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1),
            BOUND,
        )
    assert e.value.code == "internal" and "panic" in str(e.value)
    # The next call works: nothing was left poisoned.
    r = await session.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1)
    assert r.allow


def test_sync_verify_panic_is_internal_error_not_panic_exception(harbor: LocalHarbor) -> None:
    with pk.ServiceAccountHarborSession.open_sync(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url) as s:
        i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
        _native._inject_panics(1)
        try:
            s.harbor.verify_capability_sync(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1)
        except Exception as e:  # a PanicException (BaseException) would escape this and fail the test
            assert isinstance(e, pk.InternalError), repr(e)
        else:
            raise AssertionError("the injected panic did not surface")


async def test_panic_during_session_open_async_and_sync(harbor: LocalHarbor) -> None:
    # The exchange at open is a hand-off with no core-side catch: the binding's own guard answers.
    _native._inject_panics(1)
    with pytest.raises(pk.InternalError):
        await asyncio.wait_for(
            pk.ServiceAccountHarborSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url),
            BOUND,
        )

    def open_sync() -> BaseException | None:
        _native._inject_panics(1)
        try:
            pk.ServiceAccountHarborSession.open_sync(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url)
        except BaseException as e:  # noqa: BLE001 - the type is what is tested
            return e
        return None

    err = await asyncio.to_thread(open_sync)
    assert isinstance(err, pk.InternalError), repr(err)
    p = pk.GatewayHarborTokenProvider(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key)
    _native._inject_panics(1)
    with pytest.raises(pk.InternalError):
        await asyncio.wait_for(p.bearer(), BOUND)


async def test_binding_authorize_panic_is_an_internal_deny(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"])
    _native._inject_panics(1)
    d = await asyncio.wait_for(binding.authorize("search", "c1", {}), BOUND)
    assert (d.allowed, d.code) == (False, "internal")
    _native._inject_panics(1)
    d = await asyncio.to_thread(binding.authorize_sync, "search", "c2", {})
    assert (d.allowed, d.code) == (False, "internal")


async def test_langgraph_async_tool_node_denies_on_panic(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    node = ToolNode([book_hotel], awrap_tool_call=paybond_awrap_tool_call(binding, requested_spend_cents=10))
    _native._inject_panics(1)
    result = await asyncio.wait_for(
        tool_node_graph(node, langchain_model([("book_hotel", {"hotel": "P", "cost_cents": 10})])).ainvoke({"messages": [{"role": "user", "content": "go"}]}),
        BOUND,
    )
    msg = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert COUNTS == {}, "the tool body ran"
    assert msg.status == "error" and ": internal:" in str(msg.content)
    assert result["messages"][-1].content == "done"


def test_langgraph_sync_tool_node_denies_on_panic(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    node = paybond_tool_node([book_hotel], binding, requested_spend_cents=10)
    _native._inject_panics(1)
    result = tool_node_graph(node, langchain_model([("book_hotel", {"hotel": "P", "cost_cents": 10})])).invoke(
        {"messages": [{"role": "user", "content": "go"}]}
    )
    msg = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert COUNTS == {}, "the tool body ran"
    assert msg.status == "error" and ": internal:" in str(msg.content)
    assert result["messages"][-1].content == "done"


async def test_openai_agents_guardrail_rejects_on_panic(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    tools: list[Any] = guard_function_tools(make_tools(), binding, requested_spend_cents=10)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "P", "cost_cents": 10})])
    _native._inject_panics(1)
    result = await asyncio.wait_for(Runner.run(Agent(name="a", model=model, tools=tools), "go"), BOUND)
    assert AGENT_COUNTS == {}, "the tool body ran"
    assert result.final_output == "done"
    assert model.tool_outputs()["call_0"].startswith("Paybond denied book_hotel: internal:")
