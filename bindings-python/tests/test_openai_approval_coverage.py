"""Issue 12 in the OpenAI Agents SDK (Python) on the dev server: Harbor's approval_required
pauses the run (needs_approval) and resumes through RunState.approve / reject; on_approval;
audit_agent and fail-closed guarding (hosted tool, handoff, agent as tool); per-tool spend;
several calls in one turn."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import Agent, Runner, WebSearchTool, function_tool, set_tracing_disabled

import paybond_kit as pk
from paybond_kit.openai_agents import ApprovalRequest, audit_agent, guard_agent, guard_function_tools
from paybond_kit.testing import LocalHarbor

from .scripted import ScriptedAgentsModel

set_tracing_disabled(True)
COUNTS: dict[str, int] = {}


@pytest.fixture(autouse=True)
def reset() -> None:
    COUNTS.clear()


def make_tools() -> list[Any]:
    @function_tool
    def book_hotel(hotel: str, cost_cents: int) -> str:
        """Book a hotel (paid)."""
        COUNTS["book_hotel"] = COUNTS.get("book_hotel", 0) + 1
        return f"booked {hotel}"

    @function_tool
    def search(q: str) -> str:
        """Search (free)."""
        COUNTS["search"] = COUNTS.get("search", 0) + 1
        return f"found {q}"

    return [book_hotel, search]


PER_TOOL = {"book_hotel": lambda a: a["cost_cents"], "search": 0}


@pytest.fixture
def approval_binding(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> pk.CapabilityBinding:
    i = harbor.create_intent(allowed_tools=["book_hotel", "search"], amount_cents=5000, approval_threshold_cents=500)
    return pk.CapabilityBinding(session.harbor, i.intent_id, i.capability_token)


async def remaining(binding: pk.CapabilityBinding) -> int:
    import uuid

    d = await binding.authorize("search", f"probe-{uuid.uuid4()}", {}, requested_spend_cents=0)
    assert d.allowed and d.remaining_cents is not None, d
    return d.remaining_cents


async def test_approval_interrupts_then_approve_runs_once(approval_binding: pk.CapabilityBinding,
                                                          harbor: LocalHarbor) -> None:
    tools = guard_function_tools(make_tools(), approval_binding, requested_spend_cents=PER_TOOL)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "Ritz", "cost_cents": 900})])
    agent = Agent(name="a", model=model, tools=tools)
    result = await Runner.run(agent, "go")
    assert COUNTS == {}
    assert len(result.interruptions) == 1
    assert await remaining(approval_binding) == 5000
    state = result.to_state()
    state.approve(result.interruptions[0])
    result2 = await Runner.run(agent, state)
    assert COUNTS == {"book_hotel": 1}
    assert result2.final_output == "done"
    assert model.tool_outputs()["call_0"] == "booked Ritz"
    assert await remaining(approval_binding) == 4100
    assert harbor.stats()["decisions_consumed"] == 1


async def test_reject_reaches_the_model(approval_binding: pk.CapabilityBinding) -> None:
    tools = guard_function_tools(make_tools(), approval_binding, requested_spend_cents=PER_TOOL)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "Ritz", "cost_cents": 900})])
    agent = Agent(name="a", model=model, tools=tools)
    result = await Runner.run(agent, "go")
    state = result.to_state()
    state.reject(result.interruptions[0], rejection_message="Rejected by the reviewer: too pricey")
    await Runner.run(agent, state)
    assert COUNTS == {}
    assert "too pricey" in model.tool_outputs()["call_0"]
    assert await remaining(approval_binding) == 5000


async def test_on_approval_decides_inline(approval_binding: pk.CapabilityBinding) -> None:
    asked: list[ApprovalRequest] = []

    def reviewer(req: ApprovalRequest) -> Any:
        asked.append(req)
        return {"decision": "reject", "reason": "not this week"}

    tools = guard_function_tools(make_tools(), approval_binding, requested_spend_cents=PER_TOOL,
                                 on_approval=reviewer)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "Ritz", "cost_cents": 900})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert not result.interruptions
    assert COUNTS == {}
    assert len(asked) == 1 and asked[0].tool_name == "book_hotel" and asked[0].requested_spend_cents == 900
    out = model.tool_outputs()["call_0"]
    assert out.startswith("Paybond denied book_hotel") and "not this week" in out


@pytest.mark.parametrize("n", [2, 3, 6])
async def test_parallel_calls_each_reserved(make_binding: Any, harbor: LocalHarbor, n: int) -> None:
    binding, _ = make_binding(["book_hotel", "search"], 1000)
    tools = guard_function_tools(make_tools(), binding, requested_spend_cents=PER_TOOL)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": f"h{k}", "cost_cents": 300}) for k in range(n)])
    await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    ran = min(n, 3)
    assert COUNTS.get("book_hotel", 0) == ran
    outs = model.tool_outputs()
    assert sum(o.startswith("booked") for o in outs.values()) == ran
    assert sum("budget_exceeded" in o for o in outs.values()) == n - ran
    assert await remaining(binding) == 1000 - 300 * ran
    assert harbor.stats()["decisions_consumed"] == ran


async def test_spend_resolver_failures_are_named(make_binding: Any) -> None:
    binding, _ = make_binding(["book_hotel", "search"], 1000)
    tools = guard_function_tools(make_tools(), binding, requested_spend_cents={"book_hotel": lambda a: a["price"]})
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "x", "cost_cents": 1}), ("search", {"q": "y"})])
    await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    outs = model.tool_outputs()
    assert COUNTS == {}
    assert "spend_resolver_failed" in outs["call_0"] and "KeyError" in outs["call_0"] and "book_hotel" in outs["call_0"]
    assert "spend_resolver_failed" in outs["call_1"] and "search" in outs["call_1"]  # not in the mapping


async def test_audit_and_refusals(make_binding: Any, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book_hotel", "search"], 1000)
    helper = Agent(name="helper", model=ScriptedAgentsModel([]), tools=[])
    tools = make_tools()
    agent = Agent(
        name="main", model=ScriptedAgentsModel([("search", {"q": "z"})]),
        tools=[*tools, WebSearchTool(), helper.as_tool(tool_name="ask_helper", tool_description="ask")],
        handoffs=[Agent(name="billing", model=ScriptedAgentsModel([]))],
    )
    paths = {(p.name, p.kind): p.guarded for p in audit_agent(agent)}
    assert paths[("book_hotel", "function")] is False
    assert paths[("ask_helper", "agent_as_tool")] is False
    assert paths[("transfer_to_billing", "handoff")] is False  # the name the model calls, as in Node
    assert ("hosted" in {k for (_, k) in paths}) and ("handoff" in {k for (_, k) in paths})
    with pytest.raises(pk.UnguardedToolError) as e:
        guard_agent(agent, binding, requested_spend_cents=PER_TOOL)
    labels = set(e.value.paths)
    assert "agent_as_tool:ask_helper" in labels and any(x.startswith("hosted:") for x in labels)
    assert any(x.startswith("handoff:") for x in labels)
    assert audit_agent(agent)[0].guarded is False, "a refused guard changes nothing"
    with pytest.raises(pk.UnguardedToolError):
        guard_function_tools(agent.tools, binding, requested_spend_cents=PER_TOOL)
    hosted = next(p.name for p in audit_agent(agent) if p.kind == "hosted")
    handoff = next(p.name for p in audit_agent(agent) if p.kind == "handoff")
    guard_agent(agent, binding, requested_spend_cents=PER_TOOL, unguarded=[hosted, handoff, "ask_helper", "search"])
    after = {(p.name, p.kind): p.guarded for p in audit_agent(agent)}
    assert after[("book_hotel", "function")] is True
    assert after[("search", "function")] is False  # listed: a free tool, no Harbor
    before = harbor.stats()["verifies"]
    await Runner.run(agent, "go")
    assert COUNTS == {"search": 1}
    assert harbor.stats()["verifies"] == before
    with pytest.raises(pk.InvalidArgumentError):
        audit_agent(object())


_ = json


async def test_delegated_handoffs_and_agent_tools_count_as_guarded(make_binding: Any) -> None:
    from paybond_kit.delegation import delegate_as_tool, delegate_handoff

    binding, _ = make_binding(["book_hotel", "search"], 1000)
    worker = Agent(name="worker", model=ScriptedAgentsModel([]), tools=make_tools())
    agent = Agent(
        name="main", model=ScriptedAgentsModel([]), tools=make_tools(),
        handoffs=[delegate_handoff(worker, binding, tools=["search"])],
    )
    agent.tools.append(delegate_as_tool(worker, binding, tool_name="ask_worker", tool_description="ask", tools=["search"]))
    kinds = {(p.kind, p.guarded) for p in audit_agent(agent) if p.kind in ("handoff", "agent_as_tool")}
    assert kinds == {("handoff", True), ("agent_as_tool", True)}
    guard_agent(agent, binding, requested_spend_cents=PER_TOOL)  # nothing to refuse


async def test_a_sticky_sdk_approval_is_not_forwarded_to_harbor(approval_binding: pk.CapabilityBinding) -> None:
    """state.approve(item, always_approve=True) is the SDK's own standing policy, not a reviewer's
    decision on this call: it is not recorded with Harbor, and the body never runs without an allow
    (as in Node)."""
    tools = guard_function_tools(make_tools(), approval_binding, requested_spend_cents=PER_TOOL)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "A", "cost_cents": 900})])
    agent = Agent(name="a", model=model, tools=tools)
    result = await Runner.run(agent, "go")
    state = result.to_state()
    state.approve(result.interruptions[0], always_approve=True)
    await Runner.run(agent, state)
    assert COUNTS == {}, "a standing SDK approval approved a call Harbor wants reviewed"
    assert "Paybond denied book_hotel" in model.tool_outputs()["call_0"]
    assert await remaining(approval_binding) == 5000
