"""LangGraph / LangChain adapters: a guarded tool runs only after Harbor allowed the call.

- :func:`paybond_awrap_tool_call` / :func:`paybond_wrap_tool_call` for
  ``ToolNode(tools, awrap_tool_call=..., wrap_tool_call=...)``;
- :func:`paybond_tool_node` builds such a ``ToolNode``;
- :class:`PaybondToolGuardMiddleware` for ``langchain.agents.create_agent(..., middleware=[...])``.

A deny becomes ``ToolMessage(status="error", content="Paybond denied <tool>: <code>: <message>")``:
the tool body never runs, the model sees why and the graph goes on (``on_error="raise"`` raises
:class:`~paybond_kit.PaybondDeniedError` instead). With ``evidence=callable(request, result) -> dict``
an allowed call's result is signed by the payee and submitted once per tool call.

``requested_spend_cents`` is an exact ``int`` in ``0..=2**53-1`` or a callable
``(ToolCallRequest) -> int``. A bad static value (``True``, ``1.5``, ``"300"``, ``-1``) or a bad
``on_error`` / ``evidence`` / ``binding`` raises :class:`~paybond_kit.InvalidArgumentError` at
construction; a callable that raises or returns a bad value denies that call (code
``guard_error`` / ``invalid_argument``). Every failure on the way to an allow (transport, timeout,
malformed answer, a caught panic: ``internal``) is a deny, answered within the session's
``deadline_seconds``.

Requires ``pip install "paybond-kit[langgraph]"``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Sequence

try:
    from langchain.agents.middleware import AgentMiddleware
    from langchain_core.messages import ToolMessage
    from langgraph.prebuilt import ToolNode
    from langgraph.prebuilt.tool_node import ToolCallRequest
    from langgraph.types import Command
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'paybond_kit.langgraph needs LangGraph and LangChain: pip install "paybond-kit[langgraph]"'
    ) from exc

from ._guard import GuardCore, GuardEvent, OnError, call_id_or_new
from .client import CapabilityBinding
from .errors import _invalid_argument
from .types import Decision

__all__ = [
    "paybond_awrap_tool_call",
    "paybond_wrap_tool_call",
    "paybond_tool_node",
    "PaybondToolGuardMiddleware",
    "GuardEvent",
]

SpendSpec = int | Callable[[ToolCallRequest], int]
EvidenceFn = Callable[[ToolCallRequest, Any], Any]
ToolResult = ToolMessage | Command[Any]


def _info(request: ToolCallRequest) -> tuple[str, str, Any]:
    call = request.tool_call
    return str(call.get("name") or ""), call_id_or_new(call.get("id")), call.get("args") or {}


def _is_error_result(result: ToolResult) -> bool:
    """An error ``ToolMessage`` (bad arguments, a tool exception the ToolNode turned into a
    message): the tool did not succeed, so its spend is released and no evidence is sent."""
    return isinstance(result, ToolMessage) and getattr(result, "status", None) == "error"


def _deny_message(name: str, call_id: str) -> Callable[[Decision], ToolResult]:
    def make(decision: Decision) -> ToolResult:
        return ToolMessage(content=decision.describe(name), tool_call_id=call_id, name=name, status="error")

    return make


class _LangGraphGuard:
    def __init__(self, binding: CapabilityBinding, spend: SpendSpec, on_error: OnError, evidence: EvidenceFn | None,
                 on_decision: Callable[[GuardEvent], None] | None) -> None:
        if binding is None:
            raise _invalid_argument("binding", "a paybond_kit.CapabilityBinding is required")
        self.binding = binding
        self.core = GuardCore(binding, spend, on_error, evidence, on_decision)

    async def awrap(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]) -> ToolResult:
        name, call_id, args = _info(request)
        return await self.core.run(self.binding, name, call_id, args, request, lambda: handler(request),
                                   _deny_message(name, call_id), request, _is_error_result)

    def wrap(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]) -> ToolResult:
        name, call_id, args = _info(request)
        return self.core.run_sync(self.binding, name, call_id, args, request, lambda: handler(request),
                                  _deny_message(name, call_id), request, _is_error_result)


def paybond_awrap_tool_call(
    binding: CapabilityBinding,
    requested_spend_cents: SpendSpec = 0,
    on_error: OnError = "deny",
    evidence: EvidenceFn | None = None,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
) -> Callable[[ToolCallRequest, Callable[[ToolCallRequest], Awaitable[ToolResult]]], Awaitable[ToolResult]]:
    """An ``awrap_tool_call`` for ``ToolNode``: verify with Harbor, then run the tool (or deny)."""
    return _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision).awrap


def paybond_wrap_tool_call(
    binding: CapabilityBinding,
    requested_spend_cents: SpendSpec = 0,
    on_error: OnError = "deny",
    evidence: EvidenceFn | None = None,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
) -> Callable[[ToolCallRequest, Callable[[ToolCallRequest], ToolResult]], ToolResult]:
    """The sync ``wrap_tool_call`` (for ``graph.invoke``); releases the GIL while verifying."""
    return _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision).wrap


def paybond_tool_node(
    tools: Sequence[Any],
    binding: CapabilityBinding,
    *,
    requested_spend_cents: SpendSpec = 0,
    on_error: OnError = "deny",
    evidence: EvidenceFn | None = None,
    on_decision: Callable[[GuardEvent], None] | None = None,
    **tool_node_kwargs: Any,
) -> ToolNode:
    """A ``ToolNode`` whose every tool call is guarded (async and sync paths)."""
    g = _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision)
    return ToolNode(list(tools), wrap_tool_call=g.wrap, awrap_tool_call=g.awrap, **tool_node_kwargs)


class PaybondToolGuardMiddleware(AgentMiddleware):
    """Guards every tool call of a ``create_agent`` agent (both ``invoke`` and ``ainvoke``)."""

    def __init__(
        self,
        binding: CapabilityBinding,
        *,
        requested_spend_cents: SpendSpec = 0,
        on_error: OnError = "deny",
        evidence: EvidenceFn | None = None,
        on_decision: Callable[[GuardEvent], None] | None = None,
    ) -> None:
        super().__init__()
        self._guard = _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision)

    @property
    def name(self) -> str:
        return "PaybondToolGuardMiddleware"

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]) -> ToolResult:
        return self._guard.wrap(request, handler)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]
    ) -> ToolResult:
        return await self._guard.awrap(request, handler)
