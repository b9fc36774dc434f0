"""OpenAI Agents SDK (0.24) local MCP servers: tools imported from MCP are guarded like function tools.

::

    from agents import Agent
    from agents.mcp import MCPServerStdio
    from paybond_kit.mcp.openai_agents import guard_mcp_server

    server = guard_mcp_server(MCPServerStdio(params={...}), binding, requested_spend_cents=300)
    agent = Agent(name="a", mcp_servers=[server])

:func:`guard_mcp_server` adds a Paybond guardrail to the server's ``tool_input_guardrails`` (a
deny is ``reject_content``: the tool is not called and the model reads
``"Paybond denied <tool>: <code>: <message>"``) and wraps the server's ``call_tool`` so that the
call's reservation is completed when the MCP answer arrives (consumed after success; released
after a raise or an ``isError`` result; evidence only after success). The model's tool-call id
reaches ``call_tool`` through the server's ``tool_meta_resolver`` (composed with yours) and is
removed from ``_meta`` before the request is sent. A ``call_tool`` that did not come through an
agent run (no call id) is still verified, with a fresh id: no path reaches the server unverified.

Hosted MCP tools (``HostedMCPTool``) run at the model provider and cannot be guarded here.
Requires ``pip install "paybond-kit[openai-agents,mcp]"``.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Callable

try:
    from agents import ToolGuardrailFunctionOutput, ToolInputGuardrail, ToolInputGuardrailData
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'paybond_kit.mcp.openai_agents needs the OpenAI Agents SDK: pip install "paybond-kit[openai-agents]"'
    ) from exc

from .._guard import GuardEvent, call_id_or_new, deny_decision
from ..client import CapabilityBinding
from ..errors import _invalid_argument
from . import CALL_ID_META_KEY, EvidenceFn, McpGuard, McpToolCall, SpendSpec

__all__ = ["guard_mcp_server", "GUARDRAIL_NAME"]

#: The name of the guardrail :func:`guard_mcp_server` adds (guarding again replaces it).
GUARDRAIL_NAME = "paybond_mcp_capability"


def _deny_result(text: str) -> Any:
    from mcp.types import CallToolResult

    return CallToolResult.model_validate({"content": [{"type": "text", "text": text}], "isError": True})


def _is_error(result: Any) -> bool:
    # mcp 2.x names the field is_error (isError is a deprecated alias); mcp 1.x has only isError.
    if hasattr(type(result), "model_fields") and "is_error" in type(result).model_fields:
        return getattr(result, "is_error", None) is True
    return getattr(result, "isError", None) is True


def guard_mcp_server(
    server: Any,
    binding: CapabilityBinding,
    requested_spend_cents: SpendSpec = 0,
    *,
    evidence: EvidenceFn | None = None,
    on_decision: Callable[[GuardEvent], None] | None = None,
) -> Any:
    """Guard every tool of a local MCP server (``MCPServerStdio``, ``MCPServerStreamableHttp``,
    ``MCPServerSse``, or any ``agents.mcp.MCPServer``); returns the same server.

    Args:
        server: the MCP server object (changed in place).
        binding: the :class:`~paybond_kit.CapabilityBinding` every call spends from.
        requested_spend_cents: an ``int`` or ``(McpToolCall) -> int``.
        evidence: optional ``(McpToolCall, CallToolResult) -> dict`` (may be async), after success only.
        on_decision: optional ``(GuardEvent) -> None`` (called for the guardrail's verdict and
            again when the call completes).

    Raises:
        InvalidArgumentError: a missing binding, a server without ``call_tool``, or a bad option.
    """
    if not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", "a paybond_kit.CapabilityBinding is required")
    if not callable(getattr(server, "call_tool", None)):
        raise _invalid_argument("server", f"expected an agents.mcp MCPServer, got {type(server).__name__}")
    guard = McpGuard(binding, requested_spend_cents=requested_spend_cents, evidence=evidence, on_decision=on_decision)

    async def paybond_mcp_capability(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        ctx = data.context
        name = str(getattr(ctx, "tool_name", "") or "")
        call_id = call_id_or_new(getattr(ctx, "tool_call_id", None))
        try:
            args = json.loads(getattr(ctx, "tool_arguments", None) or "{}")
            if not isinstance(args, dict):
                raise ValueError("expected a JSON object")
        except Exception as e:  # never a crash: a deny
            decision = deny_decision("invalid_argument", f"tool arguments are not a JSON object: {e}")
        else:
            decision = await guard.core.authorize(binding, name, call_id, args, McpToolCall(name, call_id, args, binding.intent_id))
        info = {"paybond": decision.decision, "code": decision.code, "reason": decision.reason,
                "audit_id": decision.audit_id, "remaining_cents": decision.remaining_cents}
        if decision.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=info)
        guard.core._emit(GuardEvent(name, call_id, decision, ran=False))
        return ToolGuardrailFunctionOutput.reject_content(message=decision.describe(name), output_info=info)

    guardrail: ToolInputGuardrail[Any] = ToolInputGuardrail(guardrail_function=paybond_mcp_capability, name=GUARDRAIL_NAME)
    others = [g for g in (getattr(server, "tool_input_guardrails", None) or []) if getattr(g, "name", None) != GUARDRAIL_NAME]
    server.tool_input_guardrails = [*others, guardrail]

    user_resolver = getattr(server, "_paybond_user_meta_resolver", getattr(server, "tool_meta_resolver", None))

    async def paybond_meta_resolver(context: Any) -> dict[str, Any] | None:
        meta: dict[str, Any] | None = None
        if user_resolver is not None:
            out = user_resolver(context)
            meta = await out if inspect.isawaitable(out) else out
        call_id = getattr(getattr(context, "run_context", None), "tool_call_id", None)
        if isinstance(call_id, str) and call_id:
            meta = {**(meta or {}), CALL_ID_META_KEY: call_id}
        return meta

    server._paybond_user_meta_resolver = user_resolver
    server.tool_meta_resolver = paybond_meta_resolver

    original = getattr(server, "_paybond_original_call_tool", None) or server.call_tool

    async def call_tool(tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None) -> Any:
        call_id = meta.get(CALL_ID_META_KEY) if isinstance(meta, dict) else None
        rest = {k: v for k, v in meta.items() if k != CALL_ID_META_KEY} if isinstance(meta, dict) else None
        forward = (lambda: original(tool_name, arguments, rest)) if rest else (lambda: original(tool_name, arguments))
        return await guard.call(
            tool_name, arguments, None, forward, _deny_result, _is_error,
            call_id=call_id if isinstance(call_id, str) and call_id else None,
        )

    server._paybond_original_call_tool = original
    server.call_tool = call_tool
    server._paybond_guard = guard
    return server
