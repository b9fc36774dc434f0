"""``langchain-mcp-adapters`` client side: a tool interceptor that guards every MCP tool call.

::

    from langchain_mcp_adapters.client import MultiServerMCPClient
    from paybond_kit.mcp.langchain import paybond_tool_interceptor

    client = MultiServerMCPClient(connections, tool_interceptors=[paybond_tool_interceptor(binding)])
    tools = await client.get_tools()

The interceptor asks Harbor before ``handler(request)`` sends the ``tools/call``; a deny returns
``CallToolResult(isError=True)`` with ``"Paybond denied <tool>: <code>: <message>"`` (the
adapter hands it to the model as a tool error) and the server is never called. The call id is
the model's tool-call id when LangGraph passes a runtime, else a fresh one. A handler that
raises, or an ``isError`` result, releases the spend; evidence only after a success.

Tested with ``langchain-mcp-adapters`` 0.3.2, which needs ``mcp<2`` (it cannot be installed next
to ``mcp`` 2.x / FastMCP 4): this module imports neither package at import time and builds its
deny with whichever ``mcp`` is installed. Requires ``pip install "paybond-kit[langchain-mcp]"``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from .._guard import GuardEvent
from ..client import CapabilityBinding
from ..errors import _invalid_argument
from . import EvidenceFn, McpGuard, SpendSpec

__all__ = ["paybond_tool_interceptor"]


def _deny(text: str) -> Any:
    try:
        from mcp.types import CallToolResult
    except ImportError as exc:  # pragma: no cover - the adapter always brings mcp
        raise ImportError('paybond_kit.mcp.langchain needs langchain-mcp-adapters: pip install "paybond-kit[langchain-mcp]"') from exc
    # Wire names validate under mcp 1.x (field names) and 2.x (aliases) alike.
    return CallToolResult.model_validate({"content": [{"type": "text", "text": text}], "isError": True})


def _is_error(result: Any) -> bool:
    # A CallToolResult of mcp 1.x (isError) or 2.x (is_error), or an error ToolMessage.
    fields = getattr(type(result), "model_fields", None) or {}
    if (result.is_error if "is_error" in fields else getattr(result, "isError", None)) is True:
        return True
    return getattr(result, "status", None) == "error"


def paybond_tool_interceptor(
    binding: CapabilityBinding,
    requested_spend_cents: SpendSpec = 0,
    *,
    evidence: EvidenceFn | None = None,
    on_decision: Callable[[GuardEvent], None] | None = None,
) -> Callable[[Any, Callable[[Any], Awaitable[Any]]], Awaitable[Any]]:
    """A ``tool_interceptors`` entry for ``MultiServerMCPClient`` / ``load_mcp_tools``.

    Args:
        binding: the :class:`~paybond_kit.CapabilityBinding` every call spends from.
        requested_spend_cents: an ``int`` or ``(McpToolCall) -> int``.
        evidence: optional ``(McpToolCall, CallToolResult) -> dict`` (may be async), after success only.
        on_decision: optional ``(GuardEvent) -> None``.

    Returns an async ``(MCPToolCallRequest, handler) -> CallToolResult | ToolMessage | Command``.

    Raises:
        InvalidArgumentError: a missing binding or a bad option.
    """
    if not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", "a paybond_kit.CapabilityBinding is required")
    guard = McpGuard(binding, requested_spend_cents=requested_spend_cents, evidence=evidence, on_decision=on_decision)

    async def paybond_interceptor(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        runtime = getattr(request, "runtime", None)
        call_id = getattr(runtime, "tool_call_id", None)
        return await guard.call(
            str(getattr(request, "name", "") or ""), getattr(request, "args", None), None,
            lambda: handler(request), _deny, _is_error,
            call_id=call_id if isinstance(call_id, str) and call_id else None,
        )

    paybond_interceptor.guard = guard  # type: ignore[attr-defined]
    return paybond_interceptor
