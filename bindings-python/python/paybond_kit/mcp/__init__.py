"""MCP guard: every MCP ``tools/call`` is verified by Harbor before the tool's handler runs.

Server side (the server is the guard):

- :class:`paybond_kit.mcp.server.PaybondServerMiddleware` for the official ``mcp`` SDK 2.x
  (``Server.middleware`` / ``MCPServer(middleware=[...])``) and
  :func:`paybond_kit.mcp.server.guard_call_tool` for a low-level ``Server(on_call_tool=...)``
  handler;
- :class:`paybond_kit.mcp.fastmcp.PaybondFastMCPMiddleware` for FastMCP 4
  (``mcp.add_middleware(...)``, hook ``on_call_tool``);
- ``paybond-mcp-proxy`` (:mod:`paybond_kit.mcp.proxy`): a guarding stdio proxy in front of any
  stdio MCP server.

Client side (the agent is the guard):

- :func:`paybond_kit.mcp.langchain.paybond_tool_interceptor` for
  ``langchain-mcp-adapters`` (``tool_interceptors=[...]``);
- :func:`paybond_kit.mcp.openai_agents.guard_mcp_server` for OpenAI Agents local MCP servers
  (``tool_input_guardrails``).

The capability is fixed per server (a :class:`~paybond_kit.CapabilityBinding`), or arrives with
each request in ``params._meta["paybond/capability"] = {"intent_id": ..., "token": ...}``
(:data:`CAPABILITY_META_KEY`, built by :func:`capability_meta`); the protocol is stateless per
request, and an upstream OAuth token is never used as a capability. A deny is a tool error
result (``isError: true``) whose text is ``"Paybond denied <tool>: <code>: <message>"``: the
handler never runs and nothing crashes. Allowed calls follow the kit's lifecycle: the reserved
spend is consumed after a success, released after a raise or an error result, and evidence (an
optional callable) is submitted only after a success.

This module imports no MCP package; each submodule needs its own extra
(``pip install "paybond-kit[mcp]"``).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Collection, Iterable, Mapping, TypeVar

from .._guard import ApprovalRequest, GuardCore, GuardEvent, deny_decision
from ..client import CapabilityBinding, HarborClient, ServiceAccountHarborSession
from ..errors import PaybondError, _invalid_argument
from ..types import Decision

if TYPE_CHECKING:  # pragma: no cover
    from .fastmcp import PaybondFastMCPMiddleware
    from .langchain import paybond_tool_interceptor
    from .openai_agents import guard_mcp_server
    from .proxy import build_proxy_server
    from .server import PaybondServerMiddleware, guard_call_tool

__all__ = [
    "CAPABILITY_META_KEY",
    "CALL_ID_META_KEY",
    "McpToolCall",
    "McpGuard",
    "GuardEvent",
    "capability_meta",
    "PaybondServerMiddleware",
    "guard_call_tool",
    "PaybondFastMCPMiddleware",
    "paybond_tool_interceptor",
    "guard_mcp_server",
    "build_proxy_server",
]

#: The ``_meta`` key that carries a per-request capability: ``{"intent_id": str, "token": str}``.
CAPABILITY_META_KEY = "paybond/capability"
#: Optional ``_meta`` key with the client's tool-call id (per-request capabilities only): the
#: same id again is idempotent before the tool ran and a deny ``call_replayed`` after.
CALL_ID_META_KEY = "paybond/call_id"

R = TypeVar("R")
#: A static spend, a callable of the call, or a per-tool mapping whose callables take the arguments.
SpendSpec = int | Callable[["McpToolCall"], int] | Mapping[str, int | Callable[[Mapping[str, Any]], int]]
OnApproval = Callable[[ApprovalRequest], Any]
EvidenceFn = Callable[["McpToolCall", Any], Any]


@dataclass(frozen=True, slots=True)
class McpToolCall:
    """One guarded MCP tool call, as spend resolvers and evidence callables see it.

    Attributes:
        tool_name: the ``tools/call`` name (also the Harbor operation unless the binding maps it).
        call_id: the id the reservation and evidence are bound to.
        arguments: the call's arguments (a JSON object).
        intent_id: the intent the call spends from.
    """

    tool_name: str
    call_id: str
    arguments: Mapping[str, Any]
    intent_id: str


def capability_meta(intent_id: str, capability_token: str, *, call_id: str | None = None) -> dict[str, Any]:
    """The ``_meta`` entries that carry a capability to a Paybond-guarded MCP server.

    Pass the result as the request's ``_meta`` (``client.call_tool(name, args, meta=...)``), or
    merge it into yours. The token is a secret: send it only to a server you trust with it.

    Args:
        intent_id: the intent to spend from.
        capability_token: that intent's capability token.
        call_id: optional tool-call id for end-to-end idempotency (:data:`CALL_ID_META_KEY`).

    Raises:
        InvalidArgumentError: an empty or non-text ``intent_id`` / ``capability_token`` / ``call_id``.
    """
    for field, value in (("intent_id", intent_id), ("capability_token", capability_token)):
        if not isinstance(value, str) or not value:
            raise _invalid_argument(field, "must be a non-empty str")
    meta: dict[str, Any] = {CAPABILITY_META_KEY: {"intent_id": intent_id, "token": capability_token}}
    if call_id is not None:
        if not isinstance(call_id, str) or not call_id:
            raise _invalid_argument("call_id", "must be None or a non-empty str")
        meta[CALL_ID_META_KEY] = call_id
    return meta


def strip_capability(meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``meta`` without the Paybond keys (so the token never reaches a handler or an upstream)."""
    if meta is None:
        return None
    return {k: v for k, v in meta.items() if k not in (CAPABILITY_META_KEY, CALL_ID_META_KEY)}


class McpGuard:
    """The framework-neutral MCP guard every MCP adapter of the kit runs on.

    Exactly one of ``binding`` (one capability for every call: single-tenant servers, the
    proxy, client-side guards) and ``harbor`` (per-request capabilities from
    ``_meta["paybond/capability"]``, bound to this Harbor session's tenant) is required.

    Args:
        binding: the fixed :class:`~paybond_kit.CapabilityBinding`.
        harbor: a :class:`~paybond_kit.HarborClient` or an open
            :class:`~paybond_kit.ServiceAccountHarborSession` to bind per-request capabilities with.
        requested_spend_cents: an exact ``int`` in ``0..=2**53-1``, a callable
            ``(McpToolCall) -> int``, or a per-tool mapping ``{"book_hotel": lambda args:
            args["cost_cents"], "search": 0}``; a resolver that raises or returns a bad value, and
            a tool the mapping does not name, deny the call (``spend_resolver_failed``).
        evidence: optional ``(McpToolCall, result) -> dict`` (may be async): the payload signed
            as payee evidence after a successful call (needs a binding with a payee signer; for
            per-request capabilities pass ``payee_did`` / ``payee_signing_seed``). A failed
            submission is logged and reported in :class:`GuardEvent`; the result stands.
        on_decision: optional ``(GuardEvent) -> None`` called once per call (never changes it).
        on_approval: optional ``(ApprovalRequest) -> "approve" | "reject" | {"decision", "reason"}``
            (may be async) for calls Harbor sends to a reviewer. Without it such a call is a deny
            ``approval_required`` naming the approval request: decide it, then call again with the
            same ``_meta["paybond/call_id"]`` and arguments.
        tools: optional names of the tools that may be called at all; any other name is denied
            (code ``unknown_tool``) without asking Harbor.
        payee_did, payee_signing_seed: the payee signer for per-request bindings.
        max_bindings: how many per-request bindings to keep (least recently used are dropped).

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
        max_bindings: int = 256,
    ) -> None:
        if isinstance(harbor, ServiceAccountHarborSession):
            harbor = harbor.harbor
        if (binding is None) == (harbor is None):
            raise _invalid_argument(
                "binding", "pass exactly one of binding= (a fixed capability) or harbor= (per-request capabilities)"
            )
        if harbor is not None and not isinstance(harbor, HarborClient):
            raise _invalid_argument("harbor", f"expected a HarborClient or ServiceAccountHarborSession, got {type(harbor).__name__}")
        if tools is not None and (isinstance(tools, str) or not isinstance(tools, Iterable)
                                  or not all(isinstance(t, str) for t in tools)):
            raise _invalid_argument("tools", "expected None or a collection of tool names")
        if isinstance(max_bindings, bool) or not isinstance(max_bindings, int) or max_bindings < 1:
            raise _invalid_argument("max_bindings", f"expected an int >= 1, got {max_bindings!r}")
        self.core = GuardCore(binding, requested_spend_cents, "deny", evidence, on_decision, on_approval)
        self.binding = binding
        self.harbor = harbor
        self.tools: frozenset[str] | None = None if tools is None else frozenset(tools)
        self._payee = {"payee_did": payee_did, "payee_signing_seed": payee_signing_seed}
        self._max = max_bindings
        self._bindings: OrderedDict[tuple[str, bytes], CapabilityBinding] = OrderedDict()
        self._lock = threading.Lock()

    def set_tools(self, tools: Collection[str] | None) -> None:
        """Replace the allow-list of callable tool names (``None``: every name goes to Harbor)."""
        self.tools = None if tools is None else frozenset(tools)

    def _binding_for(self, meta: Mapping[str, Any] | None) -> CapabilityBinding | Decision:
        if self.binding is not None:
            return self.binding
        raw = meta.get(CAPABILITY_META_KEY) if isinstance(meta, Mapping) else None
        if raw is None:
            return deny_decision(
                "capability_missing", f'the request carries no _meta["{CAPABILITY_META_KEY}"] {{"intent_id", "token"}}'
            )
        intent_id = raw.get("intent_id") if isinstance(raw, Mapping) else None
        token = raw.get("token") if isinstance(raw, Mapping) else None
        if not isinstance(intent_id, str) or not intent_id or not isinstance(token, str) or not token:
            # Never echo the value: it may hold a token.
            return deny_decision(
                "capability_invalid",
                f'_meta["{CAPABILITY_META_KEY}"] must be an object with non-empty string "intent_id" and "token"',
            )
        key = (intent_id, hashlib.sha256(token.encode()).digest())
        with self._lock:
            found = self._bindings.get(key)
            if found is not None:
                self._bindings.move_to_end(key)
                return found
        assert self.harbor is not None
        try:
            b = CapabilityBinding(self.harbor, intent_id, token, **self._payee)  # type: ignore[arg-type]
        except PaybondError as e:
            return deny_decision(e.code, str(e))
        except Exception as e:
            return deny_decision("capability_invalid", type(e).__name__)
        with self._lock:
            self._bindings[key] = b
            while len(self._bindings) > self._max:
                self._bindings.popitem(last=False)
        return b

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        meta: Mapping[str, Any] | None,
        execute: Callable[[], Awaitable[R]],
        deny: Callable[[str], R],
        is_error: Callable[[R], bool],
        *,
        call_id: str | None = None,
    ) -> R:
        """Guard one tool call: resolve the capability, authorize, run ``execute``, finish.

        Args:
            name: the tool name.
            arguments: the call's arguments (JSON data).
            meta: the request's ``_meta`` (read for a per-request capability).
            execute: runs the real handler; called only after an allow.
            deny: builds the framework's tool error result from the deny text.
            is_error: whether a handler result is an error result (then the spend is released).
            call_id: the call's id when the framework has one (else one is made).

        Returns what ``execute`` returned, or ``deny(text)``. Never raises for a deny; an
        exception from ``execute`` is re-raised after the spend was released.
        """
        name = str(name or "")
        args = dict(arguments or {})
        b = self._binding_for(meta)
        if call_id is None and self.binding is None and isinstance(meta, Mapping):
            raw_id = meta.get(CALL_ID_META_KEY)
            call_id = raw_id if isinstance(raw_id, str) and raw_id else None
        cid = call_id or f"pbk-{uuid.uuid4()}"
        if isinstance(b, Decision):
            return self._local_deny(name, cid, b, deny)
        if self.tools is not None and name not in self.tools:
            return self._local_deny(
                name, cid, deny_decision("unknown_tool", f"{name!r} is not a tool this server lists"), deny
            )
        call = McpToolCall(name, cid, args, b.intent_id)
        return await self.core.run(
            b, name, cid, args, call, execute, lambda d: deny(d.describe(name)), call, is_error
        )

    def _local_deny(self, name: str, call_id: str, decision: Decision, deny: Callable[[str], R]) -> R:
        self.core._denied(name, call_id, decision)
        return deny(decision.describe(name))


_LAZY = {
    "PaybondServerMiddleware": "server",
    "guard_call_tool": "server",
    "PaybondFastMCPMiddleware": "fastmcp",
    "paybond_tool_interceptor": "langchain",
    "guard_mcp_server": "openai_agents",
    "build_proxy_server": "proxy",
}


def __getattr__(name: str) -> Any:
    # Lazy: importing paybond_kit.mcp never imports an MCP package (each submodule needs its extra).
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
