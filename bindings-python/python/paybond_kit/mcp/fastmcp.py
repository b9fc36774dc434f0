"""FastMCP 4 middleware: every ``tools/call`` is verified by Harbor before the tool runs.

::

    from fastmcp import FastMCP
    from paybond_kit.mcp.fastmcp import PaybondFastMCPMiddleware

    mcp = FastMCP("travel")
    mcp.add_middleware(PaybondFastMCPMiddleware(harbor=session))   # or PaybondFastMCPMiddleware(binding)

The per-request capability is read from the wire request's ``_meta["paybond/capability"]``
(``Context.request_context.meta``) and removed from it before the tool runs. A deny is
``ToolResult(content=[TextContent("Paybond denied <tool>: <code>: <message>")], is_error=True)``,
which reaches the client as ``isError: true``. A tool that raises (FastMCP turns it into a
``ToolError``) releases the spend and the error goes on as FastMCP reports it; a result with
``is_error=True`` releases it too. A call that has no wire request (a programmatic
``FastMCP.call_tool`` inside the server) carries no ``_meta``: under per-request capabilities it
is a deny ``capability_missing``. Requires ``pip install "paybond-kit[mcp]"`` (``fastmcp>=4.1``).
"""

from __future__ import annotations

from typing import Any, Callable, Collection, Mapping

try:
    import mcp_types as _types
    from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
    from fastmcp.tools.base import ToolResult
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError('paybond_kit.mcp.fastmcp needs FastMCP 4: pip install "paybond-kit[mcp]"') from exc

from .._guard import GuardEvent
from ..client import CapabilityBinding, HarborClient, ServiceAccountHarborSession
from . import CALL_ID_META_KEY, CAPABILITY_META_KEY, EvidenceFn, McpGuard, OnApproval, SpendSpec

__all__ = ["PaybondFastMCPMiddleware"]


def _deny(text: str) -> ToolResult:
    return ToolResult(content=[_types.TextContent(type="text", text=text)], is_error=True)


def _is_error(result: Any) -> bool:
    return getattr(result, "is_error", False) is True


def _request_meta(context: MiddlewareContext[Any]) -> Mapping[str, Any] | None:
    """The wire request's ``_meta`` (``context.message._meta`` only has FastMCP's own keys)."""
    fctx = context.fastmcp_context
    rc = getattr(fctx, "request_context", None) if fctx is not None else None
    meta = getattr(rc, "meta", None)
    if isinstance(meta, Mapping):
        return dict(meta)
    own = getattr(context.message, "meta", None)
    return dict(own) if isinstance(own, Mapping) else None


def _scrub(context: MiddlewareContext[Any]) -> None:
    """Drop the capability from the request's metadata so no tool (or a FastMCP proxy that
    forwards ``_meta`` upstream) sees the token."""
    fctx = context.fastmcp_context
    rc = getattr(fctx, "request_context", None) if fctx is not None else None
    holders = [getattr(rc, "meta", None)]
    raw = getattr(getattr(rc, "_srctx", None), "params", None)
    if isinstance(raw, Mapping):
        holders.append(raw.get("_meta"))
    for m in holders:
        if isinstance(m, dict):
            m.pop(CAPABILITY_META_KEY, None)
            m.pop(CALL_ID_META_KEY, None)


class PaybondFastMCPMiddleware(Middleware):
    """FastMCP ``Middleware`` whose ``on_call_tool`` asks Harbor before ``call_next`` runs the tool.

    Args:
        binding: a fixed :class:`~paybond_kit.CapabilityBinding` (single-tenant server), or
        harbor: a :class:`~paybond_kit.HarborClient` / open
            :class:`~paybond_kit.ServiceAccountHarborSession` for per-request capabilities in
            ``_meta["paybond/capability"]`` (missing or malformed: deny ``capability_missing`` /
            ``capability_invalid``).
        requested_spend_cents: an ``int``, ``(McpToolCall) -> int``, or a per-tool mapping.
        evidence: optional ``(McpToolCall, ToolResult) -> dict`` (may be async), after success only.
        on_decision: optional ``(GuardEvent) -> None``.
        on_approval: optional reviewer hook for ``approval_required`` (see :class:`~paybond_kit.mcp.McpGuard`).
        tools: optional allow-list of tool names (others: deny ``unknown_tool``).
        payee_did, payee_signing_seed: payee signer for evidence under per-request capabilities.

    Raises:
        InvalidArgumentError: both or neither of ``binding`` / ``harbor``, or a bad option.
    """

    def __init__(
        self,
        binding: CapabilityBinding | None = None,
        *,
        harbor: HarborClient | ServiceAccountHarborSession | None = None,
        requested_spend_cents: SpendSpec = 0,
        evidence: EvidenceFn | None = None,
        on_decision: Callable[[GuardEvent], None] | None = None,
        on_approval: OnApproval | None = None,
        tools: Collection[str] | None = None,
        payee_did: str | None = None,
        payee_signing_seed: str | bytes | None = None,
    ) -> None:
        super().__init__()
        self.guard = McpGuard(
            binding, harbor=harbor, requested_spend_cents=requested_spend_cents, evidence=evidence,
            on_decision=on_decision, on_approval=on_approval, tools=tools, payee_did=payee_did, payee_signing_seed=payee_signing_seed,
        )

    async def on_call_tool(
        self,
        context: MiddlewareContext[_types.CallToolRequestParams],
        call_next: CallNext[_types.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        """Verify the call with Harbor, then ``call_next`` (the tool) only after an allow; a deny
        is a ``ToolResult(is_error=True)``. Never raises for a deny; a tool's error goes on as
        FastMCP reports it, after its spend was released."""
        msg = context.message
        meta = _request_meta(context)
        _scrub(context)
        return await self.guard.call(
            msg.name, msg.arguments, meta, lambda: call_next(context), _deny, _is_error,
        )
