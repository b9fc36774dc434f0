"""OpenAI Agents SDK adapter: a tool input guardrail that verifies each call with Harbor.

A deny rejects the call (``reject_content``): the tool does not run and the model reads
``"Paybond denied <tool>: <code>: <message>"`` as the tool output. A missing binding at run
time is a misconfiguration and halts the run (``raise_exception``); a wrong ``binding`` or a bad
static ``requested_spend_cents`` (not an exact ``int`` in ``0..=2**53-1``) raises
:class:`~paybond_kit.InvalidArgumentError` at construction. A spend callable that raises or
returns a bad value rejects that call. The guardrail never lets an exception escape.

The binding comes from the argument or from ``Runner.run(..., context=binding)``.
Requires ``pip install "paybond-kit[openai-agents]"``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Sequence

try:
    from agents import FunctionTool, ToolGuardrailFunctionOutput, ToolInputGuardrail, ToolInputGuardrailData
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'paybond_kit.openai_agents needs the OpenAI Agents SDK: pip install "paybond-kit[openai-agents]"'
    ) from exc

from ._guard import GuardCore, GuardEvent, call_id_or_new, deny_decision
from .client import CapabilityBinding
from .types import Decision

logger = logging.getLogger("paybond_kit")

__all__ = ["paybond_capability_input_guardrail", "guard_function_tools", "GuardEvent"]

SpendSpec = int | Callable[[ToolInputGuardrailData], int]


def _info(decision: Decision) -> dict[str, Any]:
    return {
        "paybond": decision.decision,
        "code": decision.code,
        "reason": decision.reason,
        "audit_id": decision.audit_id,
        "remaining_cents": decision.remaining_cents,
    }


def paybond_capability_input_guardrail(
    binding: CapabilityBinding | None = None,
    requested_spend_cents: SpendSpec = 0,
    *,
    name: str = "paybond_capability",
    on_decision: Callable[[GuardEvent], None] | None = None,
) -> ToolInputGuardrail[Any]:
    """A ``ToolInputGuardrail`` that calls Harbor ``/verify`` before the tool runs."""
    core = GuardCore(binding, requested_spend_cents, "deny", None, on_decision)

    async def paybond_capability(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        ctx = data.context
        tool_name = str(getattr(ctx, "tool_name", "") or "")
        call_id = call_id_or_new(getattr(ctx, "tool_call_id", None))
        b = binding if binding is not None else getattr(ctx, "context", None)
        if not isinstance(b, CapabilityBinding):
            return ToolGuardrailFunctionOutput.raise_exception(
                output_info={
                    "paybond": "misconfigured",
                    "message": "no paybond_kit.CapabilityBinding: pass binding= or Runner.run(..., context=binding)",
                }
            )
        try:
            raw = getattr(ctx, "tool_arguments", None) or "{}"
            args = json.loads(raw)
        except Exception as e:  # not JSON, or nested too deep for the parser: a deny, never a crash
            decision = deny_decision("invalid_argument", f"tool arguments are not JSON: {e}")
        else:
            decision = await core.authorize(b, tool_name, call_id, args, data)
        core._emit(GuardEvent(tool_name, call_id, decision, ran=decision.allowed))
        if decision.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=_info(decision))
        return ToolGuardrailFunctionOutput.reject_content(message=decision.describe(tool_name), output_info=_info(decision))

    return ToolInputGuardrail(guardrail_function=paybond_capability, name=name)


def guard_function_tools(
    tools: Sequence[Any],
    binding: CapabilityBinding | None = None,
    requested_spend_cents: SpendSpec = 0,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
) -> list[Any]:
    """Attach the Paybond guardrail to every ``FunctionTool`` in ``tools`` (in place); returns them.

    A Paybond guardrail already on a tool is replaced (guarding again with another binding
    never leaves the old binding in force); other guardrails are kept.
    """
    g = paybond_capability_input_guardrail(binding, requested_spend_cents, on_decision=on_decision)
    out = list(tools)
    for t in out:
        if isinstance(t, FunctionTool):
            others = [x for x in (t.tool_input_guardrails or []) if getattr(x, "name", None) != g.name]
            t.tool_input_guardrails = [*others, g]
            _finish_after_invoke(t, binding)
    return out


def _finish_after_invoke(t: Any, binding: CapabilityBinding | None) -> None:
    """Complete the spend of every allowed call of ``t`` once the tool body returned
    (consumed) or raised (released), so budget is never left reserved. A tool error the SDK
    turns into text counts as consumed: the body ran, and budget errs on the spent side."""
    original = getattr(t, "_paybond_original_invoke", None) or t.on_invoke_tool

    async def on_invoke_tool(ctx: Any, arguments: str) -> Any:
        b = binding if binding is not None else getattr(ctx, "context", None)
        call_id = getattr(ctx, "tool_call_id", None)
        try:
            result = await original(ctx, arguments)
        except BaseException:
            await _finish(b, call_id, succeeded=False)
            raise
        await _finish(b, call_id, succeeded=True)
        return result

    t._paybond_original_invoke = original
    t.on_invoke_tool = on_invoke_tool


async def _finish(b: Any, call_id: Any, *, succeeded: bool) -> None:
    if not isinstance(b, CapabilityBinding) or not call_id:
        return
    try:
        await b.finish(str(call_id), succeeded=succeeded)
    except Exception as e:  # the tool already ran: report, never a second failure
        logger.warning("paybond_kit: completing the spend of call %s failed: %s", call_id,
                       getattr(e, "code", type(e).__name__))
