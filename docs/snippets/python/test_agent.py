"""Testing your own agent with LocalHarbor (pytest): the ``local_harbor`` fixture comes with the
kit (a pytest plugin); fault injection proves the agent fails closed. Run: ``pytest test_agent.py``."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.langgraph import PaybondToolGuardMiddleware
from paybond_kit.testing import LocalHarbor

RAN: list[str] = []


@tool
def refund(order_id: str, amount_cents: int) -> str:
    """Refund an order (paid)."""
    RAN.append(order_id)
    return f"refunded {order_id}"


class ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def build_agent(binding: CapabilityBinding, model: Any) -> Any:
    """The code under test: your agent, with the Paybond guard."""
    guard = PaybondToolGuardMiddleware(binding, requested_spend_cents=lambda r: r.tool_call["args"]["amount_cents"])
    return create_agent(model, tools=[refund], middleware=[guard])


def one_refund(amount_cents: int) -> ScriptedModel:
    call = {"name": "refund", "args": {"order_id": "o-1", "amount_cents": amount_cents}, "id": "c1", "type": "tool_call"}
    return ScriptedModel(messages=iter([AIMessage(content="", tool_calls=[call]), AIMessage(content="done")]))


def run(harbor: LocalHarbor, amount_cents: int) -> ToolMessage:
    RAN.clear()
    intent = harbor.create_intent(allowed_tools=["refund"], amount_cents=1000)
    with ServiceAccountHarborSession.open_sync(
        gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url,
        timeout_seconds=0.5, deadline_seconds=1.5,  # keep fault tests fast
    ) as session:
        binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
        result = build_agent(binding, one_refund(amount_cents)).invoke({"messages": [("user", "refund o-1")]})
    return next(m for m in result["messages"] if isinstance(m, ToolMessage))


def test_allowed_refund_runs_once(local_harbor: LocalHarbor) -> None:
    msg = run(local_harbor, 300)
    assert msg.status == "success" and RAN == ["o-1"]
    assert local_harbor.stats()["decisions_consumed"] == 1


def test_over_budget_never_runs(local_harbor: LocalHarbor) -> None:
    msg = run(local_harbor, 5000)
    assert msg.status == "error" and "budget_exceeded" in str(msg.content) and RAN == []


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "status", "status": 503, "count": 3}, "http_error"),
        ({"kind": "latency", "latency_ms": 2000, "count": 3}, "timeout"),
        ({"kind": "drop", "count": 3}, "transport_error"),
        ({"kind": "malformed"}, "invalid_response"),
        ({"kind": "wrong_tenant"}, "tenant_mismatch"),
        ({"kind": "non_boolean_allow"}, "invalid_response"),
    ],
)
def test_every_failure_is_a_deny(local_harbor: LocalHarbor, fault: dict[str, Any], code: str) -> None:
    local_harbor.add_fault("/verify", **fault)
    msg = run(local_harbor, 300)
    assert msg.status == "error" and f": {code}:" in str(msg.content), msg.content
    assert RAN == []  # the tool body never ran


@pytest.mark.asyncio
async def test_with_the_session_fixture(local_harbor: LocalHarbor, paybond_session: ServiceAccountHarborSession) -> None:
    intent = local_harbor.create_intent(allowed_tools=["refund"], amount_cents=100)
    binding = CapabilityBinding(paybond_session.harbor, intent.intent_id, intent.capability_token)
    assert (await binding.authorize("refund", "c1", {}, requested_spend_cents=100)).allowed
    assert (await binding.authorize("refund", "c2", {}, requested_spend_cents=1)).reason == "budget_exceeded"
