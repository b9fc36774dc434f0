"""The official ``mcp`` Python SDK (2.x) server: a guard on every ``tools/call``.

::

    from mcp.server import MCPServer
    from paybond_kit.mcp.server import PaybondServerMiddleware

    server = MCPServer("travel", middleware=[PaybondServerMiddleware(harbor=session)])

- :class:`PaybondServerMiddleware` is a ``ServerMiddleware`` (``Server.middleware`` list, or
  ``MCPServer(middleware=[...])``): it sees the raw ``tools/call`` params before validation, so
  no tool handler of the server (``MCPServer`` tools or a low-level ``on_call_tool``) runs before
  Harbor allowed the call. It removes ``_meta["paybond/capability"]`` before the handler sees
  the request.
- :func:`guard_call_tool` wraps one low-level ``on_call_tool`` handler instead.

A deny is ``CallToolResult(content=[TextContent(text="Paybond denied <tool>: <code>: <message>")],
isError=True)``. Requires ``pip install "paybond-kit[mcp]"`` (``mcp>=2.3``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, Callable, Collection, Mapping, cast

try:
    import mcp_types as _types
    from mcp.server.context import ServerRequestContext
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError('paybond_kit.mcp.server needs the mcp SDK 2.x: pip install "paybond-kit[mcp]"') from exc

from .._guard import GuardEvent
from ..client import CapabilityBinding, HarborClient, ServiceAccountHarborSession
from . import EvidenceFn, McpGuard, OnApproval, SpendSpec, strip_capability

__all__ = ["PaybondServerMiddleware", "guard_call_tool", "deny_result", "is_error_result"]


def deny_result(text: str) -> _types.CallToolResult:
    """An MCP tool error result (``isError: true``) carrying ``text``."""
    return _types.CallToolResult(content=[_types.TextContent(type="text", text=text)], is_error=True)


def is_error_result(result: Any) -> bool:
    """Whether a handler's answer is a tool error (a ``CallToolResult`` model or its wire dict)."""
    if isinstance(result, Mapping):
        return result.get("isError") is True or result.get("is_error") is True
    return getattr(result, "is_error", None) is True


class PaybondServerMiddleware:
    """``ServerMiddleware`` that verifies every ``tools/call`` with Harbor before it is handled.

    Other methods (``tools/list``, ``initialize``, resources, ...) pass through unchanged.

    Args:
        binding: a fixed :class:`~paybond_kit.CapabilityBinding` (single-tenant server), or
        harbor: a :class:`~paybond_kit.HarborClient` / open
            :class:`~paybond_kit.ServiceAccountHarborSession`: each request then carries its own
            capability in ``_meta["paybond/capability"]`` (missing or malformed: deny
            ``capability_missing`` / ``capability_invalid``).
        requested_spend_cents: an ``int``, ``(McpToolCall) -> int``, or a per-tool mapping.
        evidence: optional ``(McpToolCall, result) -> dict`` (may be async), submitted after success
            (``result`` is the handler's answer: a ``CallToolResult`` or its wire dict).
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
        self.guard = McpGuard(
            binding, harbor=harbor, requested_spend_cents=requested_spend_cents, evidence=evidence,
            on_decision=on_decision, on_approval=on_approval, tools=tools, payee_did=payee_did, payee_signing_seed=payee_signing_seed,
        )

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        """The ``ServerMiddleware`` hook: ``tools/call`` is verified, then handed on (with the
        Paybond ``_meta`` keys removed) only after an allow; everything else passes through."""
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        name = params.get("name")
        raw_args = params.get("arguments")
        meta = params.get("_meta")
        if not isinstance(name, str) or not isinstance(raw_args, (Mapping, type(None))):
            # Malformed params: let the SDK answer INVALID_PARAMS (the handler never runs).
            return await call_next(ctx)
        clean = dict(params)
        stripped = strip_capability(meta if isinstance(meta, Mapping) else None)
        if stripped is None:
            clean.pop("_meta", None)
        else:
            clean["_meta"] = stripped
        ctx_meta = strip_capability(ctx.meta) if isinstance(ctx.meta, Mapping) else ctx.meta
        inner = dataclasses.replace(ctx, params=clean, meta=cast(Any, ctx_meta))
        return await self.guard.call(
            name, raw_args, meta if isinstance(meta, Mapping) else None,
            lambda: call_next(inner), deny_result, is_error_result,
        )


def guard_call_tool(
    handler: Callable[[ServerRequestContext[Any, Any], _types.CallToolRequestParams], Awaitable[Any]],
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
) -> Callable[[ServerRequestContext[Any, Any], _types.CallToolRequestParams], Awaitable[Any]]:
    """Wrap a low-level ``Server(on_call_tool=handler)`` handler: ``handler`` runs only after an allow.

    ``Server("name", on_call_tool=guard_call_tool(handle, harbor=session))``. The arguments
    are those of :class:`PaybondServerMiddleware`. The handler receives ``params`` with the
    Paybond ``_meta`` keys removed.

    Raises:
        InvalidArgumentError: both or neither of ``binding`` / ``harbor``, or a bad option.
    """
    guard = McpGuard(
        binding, harbor=harbor, requested_spend_cents=requested_spend_cents, evidence=evidence,
        on_decision=on_decision, on_approval=on_approval, tools=tools, payee_did=payee_did, payee_signing_seed=payee_signing_seed,
    )

    async def paybond_call_tool(ctx: ServerRequestContext[Any, Any], params: _types.CallToolRequestParams) -> Any:
        meta = params.meta if isinstance(params.meta, Mapping) else None
        inner = params.model_copy(update={"meta": strip_capability(meta)})
        inner_ctx = dataclasses.replace(ctx, meta=cast(Any, strip_capability(ctx.meta))) if isinstance(ctx.meta, Mapping) else ctx
        return await guard.call(
            params.name, params.arguments, meta, lambda: handler(inner_ctx, inner), deny_result, is_error_result,
        )

    paybond_call_tool.guard = guard  # type: ignore[attr-defined]
    return paybond_call_tool
