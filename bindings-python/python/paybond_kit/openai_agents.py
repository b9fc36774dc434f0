"""OpenAI Agents SDK adapter: a tool input guardrail that verifies each call with Harbor.

A deny rejects the call (``reject_content``): the tool does not run and the model reads
``"Paybond denied <tool>: <code>: <message>"`` as the tool output. A missing binding at run
time is a misconfiguration and halts the run (``raise_exception``); a wrong ``binding`` or a bad
static ``requested_spend_cents`` (not an exact ``int`` in ``0..=2**53-1``) raises
:class:`~paybond_kit.InvalidArgumentError` at construction. A spend resolver that raises or
returns a bad value, or a tool missing from a per-tool mapping, rejects that call (code
``spend_resolver_failed``). The guardrail never lets an exception escape.

**Lifecycle.** :func:`guard_function_tools` / :func:`guard_agent` also finish every allowed call
after its body: ``consumed`` when it returned, ``released`` when it raised.

**Approval.** They set each function tool's ``needs_approval`` (or-ed with the tool's own) to a
check that asks Harbor: when Harbor answers ``approval_required`` the run stops with an
interruption. ``state = result.to_state(); state.approve(item)`` then ``Runner.run(agent, state)``:
the guardrail records the approval with Harbor, authorizes again, and the tool runs exactly once
on one reservation; ``state.reject(item, rejection_message=...)``: the tool does not run and the
model reads the rejection. With ``on_approval=callable(ApprovalRequest) -> "approve" | "reject" |
{...}`` the guardrail decides inline instead (no interruption).

**Coverage.** Tool input guardrails run only on function tools. :func:`audit_agent` lists every
tool path of an agent (function tools, hosted tools, agents as tools, handoffs, MCP servers) and
whether Paybond guards it; :func:`guard_function_tools` and :func:`guard_agent` raise
:class:`~paybond_kit.UnguardedToolError` for any path they cannot guard unless its name is listed
in ``unguarded=[...]``; function tools listed there run without Harbor (free tools, logged once).

The binding comes from the argument or from ``Runner.run(..., context=binding)``.
Requires ``pip install "paybond-kit[openai-agents]"``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Mapping, Sequence

try:
    from agents import (
        Agent,
        ComputerTool,
        FunctionTool,
        HostedMCPTool,
        ToolGuardrailFunctionOutput,
        ToolInputGuardrail,
        ToolInputGuardrailData,
    )
    from agents.handoffs import Handoff
    from agents.tool_context import ToolContext
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'paybond_kit.openai_agents needs the OpenAI Agents SDK: pip install "paybond-kit[openai-agents]"'
    ) from exc

from ._guard import (
    NO_PAUSE,
    ApprovalRequest,
    GuardCore,
    GuardEvent,
    ToolPath,
    call_id_or_new,
    check_unguarded,
    deny_decision,
    finish_later_quietly,
    log_unguarded,
    not_claimed,
    refuse_unguarded,
)
from .client import CapabilityBinding
from .errors import _invalid_argument
from .types import Decision

logger = logging.getLogger("paybond_kit")

__all__ = [
    "paybond_capability_input_guardrail",
    "guard_function_tools",
    "guard_agent",
    "audit_agent",
    "ApprovalRequest",
    "ToolPath",
    "GuardEvent",
]

SpendSpec = int | Callable[[ToolInputGuardrailData], int] | Mapping[str, int | Callable[[Any], int]]
OnApproval = Callable[[ApprovalRequest], Any]
GUARDRAIL_NAME = "paybond_capability"


def _info(decision: Decision) -> dict[str, Any]:
    return {
        "paybond": decision.decision,
        "code": decision.code,
        "reason": decision.reason,
        "audit_id": decision.audit_id,
        "remaining_cents": decision.remaining_cents,
        "approval_request_id": decision.approval_request_id,
    }


class _Guardrail:
    """The guardrail function and the ``needs_approval`` check that share one :class:`GuardCore`."""

    def __init__(self, binding: CapabilityBinding | None, spend: SpendSpec,
                 on_decision: Callable[[GuardEvent], None] | None, on_approval: OnApproval | None) -> None:
        self.binding = binding
        self.core = GuardCore(binding, spend, "deny", None, on_decision, on_approval)
        #: call ids whose needs_approval check answered "approval required" (the SDK pauses them).
        self.paused: set[str] = set()
        #: the decision the needs_approval check already got for a call (the guardrail reuses it:
        #: one verify per call, and a deny stays a deny).
        self.decided: dict[str, Decision] = {}

    def _binding(self, ctx: Any) -> CapabilityBinding | None:
        b = self.binding if self.binding is not None else getattr(ctx, "context", None)
        return b if isinstance(b, CapabilityBinding) else None

    async def guardrail(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        ctx = data.context
        tool_name = str(getattr(ctx, "tool_name", "") or "")
        call_id = call_id_or_new(getattr(ctx, "tool_call_id", None))
        b = self._binding(ctx)
        if b is None:
            return ToolGuardrailFunctionOutput.raise_exception(
                output_info={
                    "paybond": "misconfigured",
                    "message": "no paybond_kit.CapabilityBinding: pass binding= or Runner.run(..., context=binding)",
                }
            )
        try:
            args = json.loads(getattr(ctx, "tool_arguments", None) or "{}")
        except Exception as e:  # not JSON, or nested too deep for the parser: a deny, never a crash
            decision = deny_decision("invalid_argument", f"tool arguments are not JSON: {e}")
        else:
            decision = self.decided.pop(call_id) if call_id in self.decided else await self.core.authorize(
                b, tool_name, call_id, args, data, _sdk_decision(ctx, tool_name, call_id))
        approval_id = self.core._approvals.pop(call_id, None)
        if decision.approval_required and call_id in self.paused and _approved(ctx, tool_name, call_id) is None:
            # The pass before the SDK's approval pause (pre_approval_tool_input_guardrails=True):
            # let the pause happen; this guardrail runs again once the call is decided.
            return ToolGuardrailFunctionOutput.allow(output_info=_info(decision))
        self.paused.discard(call_id)
        self.core._emit(GuardEvent(tool_name, call_id, decision, ran=decision.allowed,
                                   approval_request_id=approval_id or decision.approval_request_id))
        if decision.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=_info(decision))
        return ToolGuardrailFunctionOutput.reject_content(message=decision.describe(tool_name), output_info=_info(decision))

    async def needs_approval(self, tool: Any, own: Any, ctx: Any, params: Any, call_id: str) -> bool:
        """The tool's own setting, or Harbor's ``approval_required`` for this call."""
        if own is True:
            return True
        if callable(own):
            r = own(ctx, params, call_id)
            if hasattr(r, "__await__"):
                r = await r
            if r:
                return True
        b = self._binding(ctx)
        if b is None or self.core.on_approval is not None or tool.name in self.core.unguarded:
            return False
        stand_in = ToolInputGuardrailData(
            context=ToolContext(getattr(ctx, "context", None), tool_name=tool.name, tool_call_id=call_id,
                                tool_arguments=json.dumps(params)),
            agent=None,  # type: ignore[arg-type]
        )
        decision = await self.core.authorize(b, tool.name, call_id, params, stand_in)
        if decision.approval_required:
            self.paused.add(call_id)
            return True
        if len(self.decided) > 10_000:  # calls whose guardrail never ran (a cancelled run): forget them
            self.decided.clear()
        self.decided[call_id] = decision
        return False


def _approved(ctx: Any, tool_name: str, call_id: str) -> bool | None:
    """The SDK's decision for exactly this call: ``True`` only when a reviewer approved this
    call id (a sticky "always approve" of the tool is not an approval of a call Harbor wants
    reviewed), ``False`` when it was rejected, else ``None`` (undecided, or unreadable)."""
    check = getattr(ctx, "is_tool_approved", None)
    try:
        status = check(tool_name, call_id) if callable(check) else None
        if status is not True:
            return status if status is False else None
        records = ctx._approval_records_for_key(tool_name, call_id=call_id)
        return True if any(isinstance(r.approved, list) and call_id in r.approved for r in records) else None
    except Exception:
        return None


def _sdk_decision(ctx: Any, tool_name: str, call_id: str) -> Callable[[ApprovalRequest], Any]:
    """The SDK's own approval record as the reviewer's answer (none yet: no pause here)."""

    def ask(_req: ApprovalRequest) -> Any:
        status = _approved(ctx, tool_name, call_id)
        return NO_PAUSE if status is None else status

    return ask


def paybond_capability_input_guardrail(
    binding: CapabilityBinding | None = None,
    requested_spend_cents: SpendSpec = 0,
    *,
    name: str = GUARDRAIL_NAME,
    on_decision: Callable[[GuardEvent], None] | None = None,
    on_approval: OnApproval | None = None,
) -> ToolInputGuardrail[Any]:
    """A ``ToolInputGuardrail`` that calls Harbor ``/verify`` before the tool runs.

    Args:
        binding: the :class:`~paybond_kit.CapabilityBinding`; ``None`` takes it from
            ``Runner.run(..., context=binding)``.
        requested_spend_cents: an ``int``, a callable of the ``ToolInputGuardrailData``, or a
            per-tool mapping ``{tool: int | callable(args)}``.
        name: the guardrail's name.
        on_decision: optional ``callable(GuardEvent)``.
        on_approval: optional ``callable(ApprovalRequest) -> "approve" | "reject" | {...}``;
            without it an ``approval_required`` call is rejected unless the SDK approved it.

    Raises:
        InvalidArgumentError: a bad binding, spend or callable.
    """
    g = _Guardrail(binding, requested_spend_cents, on_decision, on_approval)
    return _make_guardrail(g, name)


def _make_guardrail(g: _Guardrail, name: str) -> ToolInputGuardrail[Any]:
    async def paybond_capability(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        return await g.guardrail(data)

    gr: ToolInputGuardrail[Any] = ToolInputGuardrail(guardrail_function=paybond_capability, name=name)
    gr._paybond = g  # type: ignore[attr-defined]
    return gr


def _path_of(t: Any) -> ToolPath:
    name = str(getattr(t, "name", None) or type(t).__name__)
    if isinstance(t, FunctionTool):
        if getattr(t, "_is_agent_tool", False):
            if getattr(t, "_paybond_delegated", False):
                return ToolPath(name, "agent_as_tool", True, "delegate_as_tool: the sub-agent runs with an attenuated binding")
            return ToolPath(name, "agent_as_tool", False, "Agent.as_tool(): tool guardrails do not cover it")
        guarded = any(getattr(x, "name", None) == GUARDRAIL_NAME for x in (t.tool_input_guardrails or []))
        return ToolPath(name, "function", guarded and getattr(t, "_paybond_original_invoke", None) is not None)
    if isinstance(t, HostedMCPTool):
        return ToolPath(name, "mcp", False, "hosted MCP tool: runs on the provider's side")
    if isinstance(t, ComputerTool):
        return ToolPath(name, "computer", False)
    kind = type(t).__name__
    if "Shell" in kind or "ApplyPatch" in kind:
        return ToolPath(name, "shell", False, kind)
    if kind in ("FileSearchTool", "WebSearchTool", "CodeInterpreterTool", "ImageGenerationTool", "ToolSearchTool"):
        return ToolPath(name, "hosted", False, f"{kind}: runs on the provider's side")
    return ToolPath(name, "other", False, kind)


def audit_agent(agent: Any) -> list[ToolPath]:
    """Every tool path of an OpenAI ``Agent`` and whether Paybond guards it: its tools
    (function tools are guarded once :func:`guard_function_tools` / :func:`guard_agent` covered
    them; hosted, shell, computer, hosted-MCP tools and agents used as tools are not), its
    handoffs, and its MCP servers (guarded when they carry the Paybond tool input guardrail).

    Raises:
        InvalidArgumentError: ``agent`` is not an ``agents.Agent``.
    """
    if not isinstance(agent, Agent):
        raise _invalid_argument("agent", f"expected an agents.Agent, got {type(agent).__name__}")
    out = [_path_of(t) for t in agent.tools]
    for h in agent.handoffs:
        # The name the model calls (as the SDK and auditAgent in Node report it): a plain Agent
        # in `handoffs` becomes `transfer_to_<name>`.
        tool_name = getattr(h, "tool_name", None)
        if tool_name is None and isinstance(h, Agent):
            tool_name = Handoff.default_tool_name(h)
        name = str(tool_name or getattr(h, "name", None) or "handoff")
        target = getattr(h, "agent_name", None) or getattr(h, "name", None)
        if getattr(h, "_paybond_delegated", False):
            out.append(ToolPath(name, "handoff", True, f"delegate_handoff: agent {target!r} runs with an attenuated binding"))
        else:
            out.append(ToolPath(name, "handoff", False, f"hands the run to agent {target!r}"))
    for s in agent.mcp_servers:
        # paybond_kit.mcp.openai_agents.guard_mcp_server adds the "paybond_mcp_capability" guardrail.
        guarded = getattr(s, "_paybond_guard", None) is not None or any(
            getattr(x, "name", None) in (GUARDRAIL_NAME, "paybond_mcp_capability")
            for x in (getattr(s, "tool_input_guardrails", None) or []))
        out.append(ToolPath(str(getattr(s, "name", None) or type(s).__name__), "mcp", guarded, "MCP server"))
    return out


def guard_function_tools(
    tools: Sequence[Any],
    binding: CapabilityBinding | None = None,
    requested_spend_cents: SpendSpec = 0,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
    on_approval: OnApproval | None = None,
    unguarded: Sequence[str] = (),
) -> list[Any]:
    """Attach the Paybond guardrail to every ``FunctionTool`` in ``tools`` (in place); returns them.

    A Paybond guardrail already on a tool is replaced (guarding again with another binding
    never leaves the old binding in force); other guardrails are kept. Each guarded tool also
    gets a ``needs_approval`` check (Harbor's ``approval_required`` pauses the run) and finishes
    its allowed calls after the body (consumed / released).

    Args:
        tools: the agent's tools.
        binding: see :func:`paybond_capability_input_guardrail`.
        requested_spend_cents: see :func:`paybond_capability_input_guardrail`.
        on_decision: optional ``callable(GuardEvent)``.
        on_approval: optional reviewer callable (decides inline, no interruption).
        unguarded: names of tools accepted without a guard: function tools listed here run
            without Harbor (free tools); hosted tools and agents-as-tools must be listed to be kept.

    Raises:
        UnguardedToolError: a tool Paybond cannot guard (hosted, shell, computer, hosted MCP, an
            agent as a tool) that is not listed in ``unguarded``.
        InvalidArgumentError: a bad option.
    """
    names = check_unguarded(unguarded)
    out = list(tools)
    refuse_unguarded([p for p in map(_path_of, out) if p.kind != "function"], names, "guard_function_tools")
    g = _Guardrail(binding, requested_spend_cents, on_decision, on_approval)
    g.core.unguarded = names
    log_unguarded(names, "guard_function_tools")
    gr = _make_guardrail(g, GUARDRAIL_NAME)
    for t in out:
        if isinstance(t, FunctionTool) and not getattr(t, "_is_agent_tool", False) and t.name not in names:
            others = [x for x in (t.tool_input_guardrails or []) if getattr(x, "name", None) != GUARDRAIL_NAME]
            t.tool_input_guardrails = [*others, gr]
            _finish_after_invoke(t, binding)
            _set_needs_approval(t, g)
    return out


def guard_agent(
    agent: Any,
    binding: CapabilityBinding | None = None,
    requested_spend_cents: SpendSpec = 0,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
    on_approval: OnApproval | None = None,
    unguarded: Sequence[str] = (),
) -> Any:
    """Guard every function tool of ``agent`` (as :func:`guard_function_tools`) and refuse the
    paths Paybond cannot guard — hosted tools, agents as tools, handoffs, MCP servers without the
    Paybond guardrail — unless listed in ``unguarded``. Returns ``agent``.

    Raises:
        UnguardedToolError: an unguardable path not listed in ``unguarded`` (nothing is changed).
        InvalidArgumentError: ``agent`` is not an ``agents.Agent``, or a bad option.
    """
    names = check_unguarded(unguarded)
    paths = audit_agent(agent)
    refuse_unguarded([p for p in paths if p.kind != "function"], names, "guard_agent")
    guard_function_tools(agent.tools, binding, requested_spend_cents, on_decision=on_decision,
                         on_approval=on_approval, unguarded=names)
    return agent


def _set_needs_approval(t: Any, g: _Guardrail) -> None:
    own = getattr(t, "_paybond_own_needs_approval", None)
    if own is None:
        own = t.needs_approval
        t._paybond_own_needs_approval = own

    async def needs_approval(ctx: Any, params: Any, call_id: str) -> bool:
        return await g.needs_approval(t, own, ctx, params, call_id)

    t.needs_approval = needs_approval


def _finish_after_invoke(t: Any, binding: CapabilityBinding | None) -> None:
    """Complete the spend of every allowed call of ``t`` once the tool body returned
    (consumed) or raised (released), so budget is never left reserved. A tool error the SDK
    turns into text counts as consumed: the body ran, and budget errs on the spent side."""
    original = getattr(t, "_paybond_original_invoke", None) or t.on_invoke_tool

    async def on_invoke_tool(ctx: Any, arguments: str) -> Any:
        b = binding if binding is not None else getattr(ctx, "context", None)
        call_id = getattr(ctx, "tool_call_id", None)
        # The body runs only on an unused allow for this call id, whatever the guardrail pass
        # answered (a pre-approval pass, a lookup that went wrong, a concurrent duplicate).
        if not isinstance(b, CapabilityBinding) or not call_id or not b._claim(str(call_id)):
            return not_claimed(str(call_id or "")).describe(t.name)
        try:
            result = await original(ctx, arguments)
        except BaseException:
            await _finish(b, call_id, succeeded=False)
            raise
        # A success goes on at once: its completion is sent in the background (the reservation
        # holds the budget; settle() / closing the session / exit wait for it).
        finish_later_quietly(b, t.name, str(call_id))
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
