"""The real openai-agents package with a scripted model."""

from __future__ import annotations

from typing import Any

import pytest
from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.exceptions import ToolInputGuardrailTripwireTriggered

import paybond_kit as pk
from paybond_kit.openai_agents import guard_function_tools, paybond_capability_input_guardrail
from paybond_kit.testing import LocalHarbor

from .conftest import VERIFY_FAULTS, BindingFactory
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
    def wire_money(to: str) -> str:
        """Send money."""
        COUNTS["wire_money"] = COUNTS.get("wire_money", 0) + 1
        return "sent"

    return [book_hotel, wire_money]


def spend(data: Any) -> int:
    import json

    return int(json.loads(data.context.tool_arguments).get("cost_cents", 0))


async def test_allow_runs_once_deny_never_runs_and_model_sees_reason(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    tools = guard_function_tools(make_tools(), binding, requested_spend_cents=spend)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "Inn", "cost_cents": 300}), ("wire_money", {"to": "x"})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert result.final_output == "done"
    assert COUNTS == {"book_hotel": 1}
    outs = model.tool_outputs()
    assert outs["call_1"].startswith("Paybond denied wire_money: harbor_denied: operation_not_allowed")
    assert outs["call_0"] == "booked Inn"


async def test_binding_from_run_context_and_budget(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    g = paybond_capability_input_guardrail(requested_spend_cents=spend)
    tools = make_tools()
    tools[0].tool_input_guardrails = [g]
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "A", "cost_cents": 300}), ("book_hotel", {"hotel": "B", "cost_cents": 300})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go", context=binding)
    assert COUNTS == {"book_hotel": 1}
    assert result.final_output == "done"
    assert any("budget_exceeded" in o for o in model.tool_outputs().values())


async def test_missing_binding_is_a_misconfiguration(make_binding: BindingFactory) -> None:
    tools = make_tools()
    tools[0].tool_input_guardrails = [paybond_capability_input_guardrail()]
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "A", "cost_cents": 1})])
    with pytest.raises(ToolInputGuardrailTripwireTriggered):
        await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert COUNTS == {}
    with pytest.raises(pk.InvalidArgumentError) as e:  # typed, not TypeError
        paybond_capability_input_guardrail(binding="nope")  # type: ignore[arg-type]
    assert e.value.field == "binding"


@pytest.mark.parametrize(("fault", "code"), VERIFY_FAULTS, ids=[f"{f['kind']}-{c}" for f, c in VERIFY_FAULTS])
async def test_every_fault_kind_rejects_without_crashing(make_binding: BindingFactory, harbor: LocalHarbor, fault: dict[str, Any], code: str) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    harbor.add_fault("/verify", **fault)
    tools = guard_function_tools(make_tools(), binding, requested_spend_cents=spend)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "F", "cost_cents": 10})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert COUNTS == {}
    assert result.final_output == "done"
    assert f": {code}:" in model.tool_outputs()["call_0"]


async def test_session_closed_mid_run_is_a_deny(make_binding: BindingFactory, session: pk.ServiceAccountHarborSession) -> None:
    binding, _ = make_binding(["book_hotel"], 500)
    await session.aclose()
    tools = guard_function_tools(make_tools(), binding)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "F", "cost_cents": 10})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert COUNTS == {} and "session_closed" in model.tool_outputs()["call_0"]
    assert result.final_output == "done"


async def test_guarding_again_replaces_the_binding(make_binding: BindingFactory) -> None:
    exhausted, _ = make_binding(["book_hotel"], 0)
    funded, _ = make_binding(["book_hotel"], 500)
    tools = guard_function_tools(make_tools(), exhausted)
    tools = guard_function_tools(tools, funded, requested_spend_cents=10)
    assert [g.name for g in tools[0].tool_input_guardrails] == ["paybond_capability"]
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "R", "cost_cents": 10})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert result.final_output == "done" and COUNTS == {"book_hotel": 1}, model.tool_outputs()


async def test_guarded_function_tools_consume_their_spend(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    """The reservation of an allowed call is consumed once the tool body returned, so Harbor's
    hold period never hands the budget back."""
    binding, _ = make_binding(["book_hotel"], 500)
    tools = guard_function_tools(make_tools(), binding, requested_spend_cents=spend)
    model = ScriptedAgentsModel([("book_hotel", {"hotel": "Inn", "cost_cents": 300})])
    result = await Runner.run(Agent(name="a", model=model, tools=tools), "go")
    assert result.final_output == "done" and COUNTS == {"book_hotel": 1}
    assert harbor.stats()["decisions_consumed"] == 1
    probe = await binding.authorize("book_hotel", "probe", {}, requested_spend_cents=0)
    assert probe.remaining_cents == 200
