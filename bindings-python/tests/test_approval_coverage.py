"""Issue 12 in LangGraph / LangChain (Python) on the dev server: human approval through
``interrupt`` / ``Command(resume=...)`` and ``on_approval``; per-tool spend resolvers
(``spend_resolver_failed``); coverage (``audit_agent``, ``unguarded``, provider and dynamic tools);
several calls in one model turn, each reserved."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolNode
from langgraph.types import Command

import paybond_kit as pk
from paybond_kit.langgraph import (
    ApprovalRequest,
    PaybondToolGuardMiddleware,
    audit_agent,
    paybond_awrap_tool_call,
    paybond_tool_node,
    paybond_wrap_tool_call,
)
from paybond_kit.testing import LocalHarbor

from .scripted import ScriptedChatModel, langchain_model, tool_node_graph

RUNS: list[str] = []


@tool
def book(hotel: str, cost_cents: int) -> str:
    """Book a hotel."""
    RUNS.append(f"book:{hotel}")
    return f"booked {hotel}"


@tool
def search(q: str) -> str:
    """Search (free)."""
    RUNS.append(f"search:{q}")
    return f"found {q}"


@pytest.fixture(autouse=True)
def reset() -> None:
    RUNS.clear()


def by_args(args: dict[str, Any]) -> int:
    return int(args["cost_cents"])


@pytest.fixture
def approval_binding(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> pk.CapabilityBinding:
    i = harbor.create_intent(allowed_tools=["book", "search"], amount_cents=5000, approval_threshold_cents=500)
    return pk.CapabilityBinding(session.harbor, i.intent_id, i.capability_token)


async def remaining(binding: pk.CapabilityBinding) -> int:
    d = await binding.authorize("search", f"probe-{uuid.uuid4()}", {}, requested_spend_cents=0)
    assert d.allowed and d.remaining_cents is not None, d
    return d.remaining_cents


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


@pytest.mark.parametrize("sync", [False, True])
async def test_approval_pauses_then_approve_runs_once(
    approval_binding: pk.CapabilityBinding, harbor: LocalHarbor, sync: bool
) -> None:
    kw: dict[str, Any] = {"requested_spend_cents": {"book": by_args, "search": 0}}
    wrap = {"wrap_tool_call": paybond_wrap_tool_call(approval_binding, **kw)} if sync else {
        "awrap_tool_call": paybond_awrap_tool_call(approval_binding, **kw)}
    node = ToolNode([book, search], **wrap)
    model = langchain_model([("book", {"hotel": "ritz", "cost_cents": 900})])
    from langgraph.graph import END, START, MessagesState, StateGraph  # the same graph, with a checkpointer

    graph = tool_node_graph(node, model)
    g = StateGraph(MessagesState)
    g.add_node("agent", graph.nodes["agent"].bound)
    g.add_node("tools", node)
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].tool_calls else END, ["tools", END])
    g.add_edge("tools", "agent")
    app = g.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": f"t-{uuid.uuid4()}"}}

    first = app.invoke({"messages": [("user", "book")]}, cfg) if sync else await app.ainvoke(
        {"messages": [("user", "book")]}, cfg)
    assert RUNS == [], "the tool must not run before approval"
    (intr,) = first["__interrupt__"]
    payload = intr.value
    assert payload["type"] == "paybond_approval"
    assert payload["tool_name"] == "book" and payload["requested_spend_cents"] == 900
    assert payload["args"] == {"hotel": "ritz", "cost_cents": 900}
    assert payload["approval_request_id"]
    assert harbor.stats()["verify_allows"] == 0
    assert await remaining(approval_binding) == 5000, "nothing reserved while pending"

    resumed = app.invoke(Command(resume="approve"), cfg) if sync else await app.ainvoke(
        Command(resume="approve"), cfg)
    assert RUNS == ["book:ritz"], "approved: the tool runs exactly once"
    assert [m.status for m in tool_messages(resumed)] == ["success"]
    assert await remaining(approval_binding) == 4100, "one reservation of 900, consumed"
    st = harbor.stats()
    assert st["decisions_consumed"] == 1


async def test_reject_reaches_the_model_with_the_reason(approval_binding: pk.CapabilityBinding) -> None:
    mw = PaybondToolGuardMiddleware(approval_binding, requested_spend_cents={"book": by_args, "search": 0})
    model = langchain_model([("book", {"hotel": "ritz", "cost_cents": 900})])
    agent = create_agent(model, [book, search], middleware=[mw], checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": f"t-{uuid.uuid4()}"}}
    first = await agent.ainvoke({"messages": [("user", "book")]}, cfg)
    assert first["__interrupt__"][0].value["type"] == "paybond_approval"
    out = await agent.ainvoke(Command(resume={"decision": "reject", "reason": "too pricey for this trip"}), cfg)
    assert RUNS == []
    (msg,) = tool_messages(out)
    assert msg.status == "error"
    assert "Paybond denied book" in str(msg.content) and "too pricey for this trip" in str(msg.content)
    # The model was shown the deny on its next turn.
    assert any("too pricey" in str(m.content) for m in model.seen[-1])
    assert await remaining(approval_binding) == 5000


async def test_on_approval_decides_without_a_pause(approval_binding: pk.CapabilityBinding) -> None:
    asked: list[ApprovalRequest] = []

    async def reviewer(req: ApprovalRequest) -> dict[str, Any]:
        asked.append(req)
        return {"decision": "approve"}

    events: list[Any] = []
    node = paybond_tool_node([book, search], approval_binding, requested_spend_cents={"book": by_args, "search": 0},
                             on_approval=reviewer, on_decision=events.append)
    out = await tool_node_graph(node, langchain_model([("book", {"hotel": "inn", "cost_cents": 700})])).ainvoke(
        {"messages": [("user", "go")]})
    assert RUNS == ["book:inn"]
    assert [m.status for m in tool_messages(out)] == ["success"]
    assert len(asked) == 1 and asked[0].requested_spend_cents == 700
    assert events[-1].approval_request_id == asked[0].approval_request_id
    assert await remaining(approval_binding) == 4300


async def test_without_a_pause_or_hook_approval_is_a_deny(approval_binding: pk.CapabilityBinding) -> None:
    wrap = paybond_awrap_tool_call(approval_binding, requested_spend_cents={"book": by_args, "search": 0})
    node = ToolNode([book, search], awrap_tool_call=wrap)

    class Req:
        tool_call = {"name": "book", "args": {"hotel": "x", "cost_cents": 900}, "id": "c-direct", "type": "tool_call"}
        tool = book

    async def handler(_r: Any) -> Any:
        raise AssertionError("must not run")

    msg = await wrap(Req(), handler)  # type: ignore[arg-type]
    assert isinstance(msg, ToolMessage) and msg.status == "error"
    assert "approval_required" in str(msg.content)
    assert node is not None


async def test_per_tool_spend_and_resolver_failures(make_binding: Any) -> None:
    binding, _ = make_binding(["book", "search"], 1000)
    node = paybond_tool_node(
        [book, search], binding,
        requested_spend_cents={"book": lambda args: args["cost_cents"], "search": 0},
    )
    # "nights" makes the resolver raise KeyError? No: book's schema needs cost_cents; use a resolver keyed on a
    # missing argument to see the failure named.
    bad = paybond_tool_node([book, search], binding,
                            requested_spend_cents={"book": lambda args: args["price"], "search": 0})
    ok = await tool_node_graph(node, langchain_model([("book", {"hotel": "a", "cost_cents": 300}),
                                                        ("search", {"q": "b"})])).ainvoke({"messages": [("user", "go")]})
    assert sorted(m.status for m in tool_messages(ok)) == ["success", "success"]
    assert sorted(RUNS) == ["book:a", "search:b"]
    RUNS.clear()
    out = await tool_node_graph(bad, langchain_model([("book", {"hotel": "a", "cost_cents": 300})])).ainvoke(
        {"messages": [("user", "go")]})
    (msg,) = tool_messages(out)
    assert msg.status == "error"
    assert "spend_resolver_failed" in str(msg.content)
    assert "book" in str(msg.content) and "KeyError" in str(msg.content)
    assert RUNS == []
    # A tool missing from the mapping, and a resolver returning a non-spend, are denied the same way.
    only_search = paybond_tool_node([book, search], binding, requested_spend_cents={"search": 0})
    neg = paybond_tool_node([book, search], binding, requested_spend_cents={"book": lambda a: -1, "search": 0})
    for n in (only_search, neg):
        out = await tool_node_graph(n, langchain_model([("book", {"hotel": "z", "cost_cents": 1})])).ainvoke(
            {"messages": [("user", "go")]})
        (msg,) = tool_messages(out)
        assert "spend_resolver_failed" in str(msg.content), msg.content
    assert RUNS == []
    # A bad static value in the mapping is refused at construction, naming the tool.
    with pytest.raises(pk.InvalidArgumentError, match="book"):
        paybond_tool_node([book], binding, requested_spend_cents={"book": True})
    # The single-callable form: a resolver raising is spend_resolver_failed too.
    raising = paybond_tool_node([book], binding, requested_spend_cents=lambda req: req.tool_call["args"]["nope"])
    out = await tool_node_graph(raising, langchain_model([("book", {"hotel": "q", "cost_cents": 1})])).ainvoke(
        {"messages": [("user", "go")]})
    assert "spend_resolver_failed" in str(tool_messages(out)[0].content)


@pytest.mark.parametrize("n", [2, 4, 6])
async def test_parallel_calls_in_one_turn_are_each_reserved(make_binding: Any, harbor: LocalHarbor, n: int) -> None:
    binding, _ = make_binding(["book", "search"], 1000)
    mw = PaybondToolGuardMiddleware(binding, requested_spend_cents={"book": by_args, "search": 0})
    calls = [("book", {"hotel": f"h{k}", "cost_cents": 150}) for k in range(n)]
    agent = create_agent(langchain_model(calls), [book, search], middleware=[mw])
    out = await agent.ainvoke({"messages": [("user", "go")]})
    msgs = tool_messages(out)
    fits = 1000 // 150
    ran = min(n, fits)
    assert sum(m.status == "success" for m in msgs) == ran
    assert len(RUNS) == ran
    assert await remaining(binding) == 1000 - 150 * ran
    assert harbor.stats()["decisions_consumed"] == ran


async def test_audit_and_provider_tools_fail_closed(make_binding: Any, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book", "search"], 1000)
    web = {"type": "web_search_preview", "name": "web_search"}
    mw = PaybondToolGuardMiddleware(binding, requested_spend_cents={"book": by_args, "search": 0})
    agent = create_agent(langchain_model([("search", {"q": "x"})]), [book, search, web], middleware=[mw])
    paths = {(p.name, p.kind): p.guarded for p in audit_agent(agent)}
    assert paths == {("book", "function"): True, ("search", "function"): True, ("web_search", "provider"): False}
    # The middleware refuses to call the model with a provider tool it cannot guard...
    with pytest.raises(pk.UnguardedToolError) as e:
        await agent.ainvoke({"messages": [("user", "go")]})
    assert e.value.code == "unguarded_tool" and e.value.paths == ("provider:web_search",)
    assert RUNS == [] and harbor.stats()["verifies"] == 0
    # ...and paybond_tool_node refuses one at build time,
    with pytest.raises(pk.UnguardedToolError, match="web_search"):
        paybond_tool_node([book, web], binding)
    # unless listed knowingly.
    ok_mw = PaybondToolGuardMiddleware(binding, requested_spend_cents={"book": by_args, "search": 0},
                                       unguarded=["web_search"])
    agent2 = create_agent(langchain_model([("search", {"q": "y"})]), [book, search, web], middleware=[ok_mw])
    await agent2.ainvoke({"messages": [("user", "go")]})
    assert RUNS == ["search:y"]
    # A graph without a Paybond wrapper is reported unguarded.
    bare = create_agent(langchain_model([]), [book])
    assert [(p.name, p.guarded) for p in audit_agent(bare)] == [("book", False)]
    with pytest.raises(pk.InvalidArgumentError):
        audit_agent(object())


async def test_unguarded_free_tool_skips_harbor(make_binding: Any, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book"], 1000)
    node = paybond_tool_node([book, search], binding, requested_spend_cents={"book": by_args}, unguarded=["search"])
    paths = {p.name: p.guarded for p in audit_agent(tool_node_graph(node, langchain_model([])))}
    assert paths == {"book": True, "search": False}
    before = harbor.stats()["verifies"]
    out = await tool_node_graph(node, langchain_model([("search", {"q": "free"})])).ainvoke(
        {"messages": [("user", "go")]})
    assert [m.status for m in tool_messages(out)] == ["success"]
    assert RUNS == ["search:free"]
    assert harbor.stats()["verifies"] == before


async def test_dynamic_tool_without_registration_is_denied(make_binding: Any) -> None:
    binding, _ = make_binding(["book"], 1000)
    wrap = paybond_awrap_tool_call(binding, requested_spend_cents=0)

    class Req:
        tool_call = {"name": "mystery", "args": {}, "id": "c-dyn", "type": "tool_call"}
        tool = None

    async def handler(_r: Any) -> Any:
        RUNS.append("mystery")
        return ToolMessage(content="ran", tool_call_id="c-dyn")

    msg = await wrap(Req(), handler)  # type: ignore[arg-type]
    assert isinstance(msg, ToolMessage) and msg.status == "error" and "unguarded_tool" in str(msg.content)
    assert RUNS == []
    listed = paybond_awrap_tool_call(binding, requested_spend_cents=0, unguarded=["mystery"])
    await listed(Req(), handler)  # type: ignore[arg-type]
    assert RUNS == ["mystery"]


def test_bad_unguarded_and_on_approval_options(make_binding: Any) -> None:
    binding, _ = make_binding(["book"], 1000)
    with pytest.raises(pk.InvalidArgumentError, match="unguarded"):
        paybond_tool_node([book], binding, unguarded="search")  # type: ignore[arg-type]
    with pytest.raises(pk.InvalidArgumentError, match="on_approval"):
        paybond_tool_node([book], binding, on_approval="yes")  # type: ignore[arg-type]


_ = (AIMessage, ScriptedChatModel)


async def test_a_dropped_verify_answer_strands_no_budget() -> None:
    """The dev server reserves, then drops every answer: the tool is denied inside the graph, and
    once the hold period passes (moved on the dev clock) the budget is whole again."""
    with LocalHarbor(reservation_hold_seconds=30) as h:
        async with await pk.ServiceAccountHarborSession.open(
            gateway_base_url=h.gateway_url, api_key=h.api_key, harbor_base_url=h.harbor_url,
            timeout_seconds=1.0, deadline_seconds=2.5, max_retries=1,
        ) as s:
            i = h.create_intent(allowed_tools=["book", "search"], amount_cents=1000)
            binding = pk.CapabilityBinding(s.harbor, i.intent_id, i.capability_token)
            node = paybond_tool_node([book, search], binding, requested_spend_cents={"book": by_args, "search": 0})
            h.add_fault("/verify", "drop_after", count=1)
            out = await tool_node_graph(node, langchain_model([("book", {"hotel": "lost", "cost_cents": 400})])).ainvoke(
                {"messages": [("user", "go")]})
            (msg,) = tool_messages(out)
            assert msg.status == "error" and "transport_error" in str(msg.content), msg.content
            assert RUNS == []
            assert await remaining(binding) == 600, "the lost answer's reservation is held"
            h.advance_clock(31)
            assert await remaining(binding) == 1000, "released after the hold period"
            assert h.stats()["reservations_expired"] == 2  # the lost call and the first (0-cent) probe


def test_on_approval_on_the_sync_path(approval_binding: pk.CapabilityBinding) -> None:
    """graph.invoke (the sync wrapper): a plain reviewer callable approves; a coroutine one is refused."""
    node = paybond_tool_node([book, search], approval_binding, requested_spend_cents={"book": by_args, "search": 0},
                             on_approval=lambda req: "approve")
    out = tool_node_graph(node, langchain_model([("book", {"hotel": "sync", "cost_cents": 900})])).invoke(
        {"messages": [("user", "go")]})
    assert [m.status for m in tool_messages(out)] == ["success"] and RUNS == ["book:sync"]

    async def reviewer(_req: ApprovalRequest) -> str:
        return "approve"

    RUNS.clear()
    node = paybond_tool_node([book, search], approval_binding, requested_spend_cents={"book": by_args, "search": 0},
                             on_approval=reviewer)
    out = tool_node_graph(node, langchain_model([("book", {"hotel": "async", "cost_cents": 900})])).invoke(
        {"messages": [("user", "go")]})
    (msg,) = tool_messages(out)
    assert msg.status == "error" and "plain callable" in str(msg.content) and RUNS == []


async def test_one_call_id_runs_its_body_once_even_concurrently(make_binding: Any, harbor: LocalHarbor) -> None:
    """Two concurrent runs of one call id (an MCP client reusing an id, a duplicate delivery):
    the same allow comes back to both, but only one claim starts the body."""
    import asyncio

    binding, _ = make_binding(["book", "search"], 1000)
    wrap = paybond_awrap_tool_call(binding, requested_spend_cents={"book": by_args, "search": 0})
    started = asyncio.Event()
    release = asyncio.Event()

    class Req:
        tool_call = {"name": "book", "args": {"hotel": "dup", "cost_cents": 100}, "id": "dup-1", "type": "tool_call"}
        tool = book

    async def handler(_r: Any) -> Any:
        RUNS.append("dup")
        started.set()
        await release.wait()
        return ToolMessage(content="ok", tool_call_id="dup-1", name="book")

    first = asyncio.create_task(wrap(Req(), handler))  # type: ignore[arg-type]
    await started.wait()
    second = await wrap(Req(), handler)  # type: ignore[arg-type]
    release.set()
    assert (await first).status == "success"
    assert second.status == "error" and "call_replayed" in str(second.content), second.content
    assert RUNS == ["dup"]
    assert await remaining(binding) == 900


async def test_an_answer_mapping_keyed_by_approval_request_id(approval_binding: pk.CapabilityBinding) -> None:
    """Several pauses resumed with one mapping: each call takes the answer under its own id."""
    node = paybond_tool_node(
        [book, search], approval_binding, requested_spend_cents={"book": by_args, "search": 0},
        on_approval=lambda req: {req.approval_request_id: "approve", "some-other-request": "reject"},
    )
    out = await tool_node_graph(node, langchain_model([("book", {"hotel": "mapped", "cost_cents": 900})])).ainvoke(
        {"messages": [("user", "go")]})
    assert [m.status for m in tool_messages(out)] == ["success"] and RUNS == ["book:mapped"]
