"""LangGraph / LangChain adapters: a guarded tool runs only after Harbor allowed the call.

- :func:`paybond_awrap_tool_call` / :func:`paybond_wrap_tool_call` for
  ``ToolNode(tools, awrap_tool_call=..., wrap_tool_call=...)``;
- :func:`paybond_tool_node` builds such a ``ToolNode``;
- :class:`PaybondToolGuardMiddleware` for ``langchain.agents.create_agent(..., middleware=[...])``.

A deny becomes ``ToolMessage(status="error", content="Paybond denied <tool>: <code>: <message>")``:
the tool body never runs, the model sees why and the graph goes on (``on_error="raise"`` raises
:class:`~paybond_kit.PaybondDeniedError` instead). With ``evidence=callable(request, result) -> dict``
an allowed call's result is signed by the payee and submitted once per tool call.

``requested_spend_cents`` is an exact ``int`` in ``0..=2**53-1``, a callable
``(ToolCallRequest) -> int``, or a per-tool mapping ``{"book_flight": lambda args: args["cost_cents"],
"search": 0}`` whose callables take the tool's arguments. A bad static value (``True``, ``1.5``,
``"300"``, ``-1``) or a bad ``on_error`` / ``evidence`` / ``binding`` raises
:class:`~paybond_kit.InvalidArgumentError` at construction; a resolver that raises or returns a bad
value, or a tool missing from the mapping, denies that call (code ``spend_resolver_failed``, naming
the tool and the exception type). Every failure on the way to an allow (transport, timeout,
malformed answer, a caught panic: ``internal``) is a deny, answered within the session's
``deadline_seconds``.

**Lifecycle.** An allowed call is finished after the tool: ``consumed`` when it returned, and
``released`` when it raised, was cancelled or produced an error ``ToolMessage`` (bad arguments);
evidence only after success. A call id is single-use (``call_replayed``).

**Approval.** When Harbor answers ``approval_required`` the guard pauses the run with
``langgraph.types.interrupt(payload)`` (``payload["type"] == "paybond_approval"``, with
``tool_name``, ``call_id``, ``args``, ``approval_request_id``, ``message``,
``requested_spend_cents``; a checkpointer and a ``thread_id`` are needed to resume). Resume with
``Command(resume="approve")`` / ``"reject"`` / ``{"decision": "reject", "reason": "..."}``: the guard
records the decision with Harbor and authorizes the call again, so an approved tool runs exactly
once on one reservation and a rejection reaches the model as a deny with the reviewer's reason.
``on_approval=callable(ApprovalRequest) -> "approve" | "reject" | {...}`` decides without a pause.

**Coverage.** :func:`audit_agent` lists every tool path of a compiled agent and whether Paybond
guards it. ``paybond_tool_node`` refuses provider (dict) tools and the middleware refuses, before the
model is called, a model request that offers one — :class:`~paybond_kit.UnguardedToolError` — unless
its name is listed in ``unguarded=[...]``; tool names listed there run without Harbor (free tools,
logged once). A call whose ``request.tool`` is ``None`` (a dynamic tool) is denied (``unguarded_tool``).

Requires ``pip install "paybond-kit[langgraph]"``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping, Sequence

try:
    from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
    from langchain_core.messages import ToolMessage
    from langgraph.errors import GraphInterrupt, ParentCommand
    from langgraph.prebuilt import ToolNode
    from langgraph.prebuilt.tool_node import ToolCallRequest
    from langgraph.types import Command, interrupt
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'paybond_kit.langgraph needs LangGraph and LangChain: pip install "paybond-kit[langgraph]"'
    ) from exc

from ._guard import (
    NO_PAUSE,
    ApprovalRequest,
    GuardCore,
    GuardEvent,
    OnError,
    ToolPath,
    call_id_or_new,
    deny_decision,
    log_unguarded,
    refuse_unguarded,
)
from .client import CapabilityBinding
from .errors import _invalid_argument
from .types import Decision

__all__ = [
    "paybond_awrap_tool_call",
    "paybond_wrap_tool_call",
    "paybond_tool_node",
    "PaybondToolGuardMiddleware",
    "audit_agent",
    "ApprovalRequest",
    "ToolPath",
    "GuardEvent",
]

SpendSpec = int | Callable[[ToolCallRequest], int] | Mapping[str, int | Callable[[Any], int]]
OnApproval = Callable[[ApprovalRequest], Any]
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


def _pause(request: ApprovalRequest) -> Any:
    """Suspend the run for a reviewer (``interrupt``); outside a graph there is no pause."""
    try:
        from langgraph.config import get_config

        get_config()
    except RuntimeError:
        return NO_PAUSE
    return interrupt(request.payload())


def _is_pause(e: BaseException) -> bool:
    """Only an interrupt suspends the run (its resume re-runs the body on the same allow)."""
    return isinstance(e, GraphInterrupt)


def _is_handoff(e: BaseException) -> bool:
    """A tool that ends with ``Command(graph=Command.PARENT)`` ran to success."""
    return isinstance(e, ParentCommand)


class _LangGraphGuard:
    def __init__(self, binding: CapabilityBinding, spend: SpendSpec, on_error: OnError, evidence: EvidenceFn | None,
                 on_decision: Callable[[GuardEvent], None] | None, on_approval: OnApproval | None = None,
                 unguarded: Sequence[str] = ()) -> None:
        if binding is None:
            raise _invalid_argument("binding", "a paybond_kit.CapabilityBinding is required")
        self.binding = binding
        self.core = GuardCore(binding, spend, on_error, evidence, on_decision, on_approval, unguarded,
                              background_finish=True)
        log_unguarded(self.core.unguarded, "LangGraph guard")

    def _dynamic(self, request: ToolCallRequest, name: str, call_id: str) -> ToolResult | None:
        """A call with no registered tool (``request.tool is None``) is a deny unless listed."""
        if getattr(request, "tool", None) is not None or name in self.core.unguarded:
            return None
        decision = deny_decision("unguarded_tool", f"{name!r} is not a registered tool (a dynamic tool); "
                                 "Paybond cannot tell what it does, so it does not run")
        self.core._denied(name, call_id, decision)
        return _deny_message(name, call_id)(decision)

    async def awrap(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]) -> ToolResult:
        name, call_id, args = _info(request)
        denied = self._dynamic(request, name, call_id)
        if denied is not None:
            return denied
        return await self.core.run(self.binding, name, call_id, args, request, lambda: handler(request),
                                   _deny_message(name, call_id), request, _is_error_result, _pause, _is_pause,
                                   _is_handoff)

    def wrap(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]) -> ToolResult:
        name, call_id, args = _info(request)
        denied = self._dynamic(request, name, call_id)
        if denied is not None:
            return denied
        return self.core.run_sync(self.binding, name, call_id, args, request, lambda: handler(request),
                                  _deny_message(name, call_id), request, _is_error_result, _pause, _is_pause,
                                   _is_handoff)

    def refuse_provider_tools(self, tools: Sequence[Any], where: str) -> None:
        refuse_unguarded([_provider_path(t) for t in tools if isinstance(t, Mapping)], self.core.unguarded, where)


def _provider_path(t: Mapping[str, Any]) -> ToolPath:
    name = str(t.get("name") or t.get("type") or "provider_tool")
    return ToolPath(name, "provider", False, "a provider-side tool: it never passes through ToolNode")


_FACTORY_ARGS = """
    Args:
        binding: the :class:`~paybond_kit.CapabilityBinding` (intent + capability token) to verify with.
        requested_spend_cents: the spend per call: an ``int``, a callable of the ``ToolCallRequest``,
            or a per-tool mapping ``{tool: int | callable(args)}``.
        on_error: ``"deny"`` (the model reads the deny as an error ``ToolMessage``) or ``"raise"``
            (:class:`~paybond_kit.PaybondDeniedError`).
        evidence: optional ``callable(request, result) -> dict``: the payload the payee signs after success.
        on_decision: optional ``callable(GuardEvent)`` called once per call.
        on_approval: optional ``callable(ApprovalRequest) -> "approve" | "reject" | {...}`` deciding
            ``approval_required`` without pausing the graph.
        unguarded: tool names that run without Harbor (free tools), and provider tools accepted knowingly.

    Raises:
        InvalidArgumentError: a bad option (binding, spend, on_error, callables, unguarded).
"""


def paybond_awrap_tool_call(
    binding: CapabilityBinding,
    requested_spend_cents: SpendSpec = 0,
    on_error: OnError = "deny",
    evidence: EvidenceFn | None = None,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
    on_approval: OnApproval | None = None,
    unguarded: Sequence[str] = (),
) -> Callable[[ToolCallRequest, Callable[[ToolCallRequest], Awaitable[ToolResult]]], Awaitable[ToolResult]]:
    """An ``awrap_tool_call`` for ``ToolNode``: verify with Harbor, then run the tool (or deny)."""
    return _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision, on_approval,
                           unguarded).awrap


def paybond_wrap_tool_call(
    binding: CapabilityBinding,
    requested_spend_cents: SpendSpec = 0,
    on_error: OnError = "deny",
    evidence: EvidenceFn | None = None,
    *,
    on_decision: Callable[[GuardEvent], None] | None = None,
    on_approval: OnApproval | None = None,
    unguarded: Sequence[str] = (),
) -> Callable[[ToolCallRequest, Callable[[ToolCallRequest], ToolResult]], ToolResult]:
    """The sync ``wrap_tool_call`` (for ``graph.invoke``); releases the GIL while verifying."""
    return _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision, on_approval,
                           unguarded).wrap


def paybond_tool_node(
    tools: Sequence[Any],
    binding: CapabilityBinding,
    *,
    requested_spend_cents: SpendSpec = 0,
    on_error: OnError = "deny",
    evidence: EvidenceFn | None = None,
    on_decision: Callable[[GuardEvent], None] | None = None,
    on_approval: OnApproval | None = None,
    unguarded: Sequence[str] = (),
    **tool_node_kwargs: Any,
) -> ToolNode:
    """A ``ToolNode`` whose every tool call is guarded (async and sync paths).

    Raises :class:`~paybond_kit.UnguardedToolError` for a provider (dict) tool in ``tools`` that
    is not listed in ``unguarded`` (a ``ToolNode`` never sees its calls).
    """
    g = _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision, on_approval, unguarded)
    g.refuse_provider_tools(tools, "paybond_tool_node")
    return ToolNode([t for t in tools if not isinstance(t, Mapping)], wrap_tool_call=g.wrap,
                    awrap_tool_call=g.awrap, **tool_node_kwargs)


for _f in (paybond_awrap_tool_call, paybond_wrap_tool_call, paybond_tool_node):
    _f.__doc__ = (_f.__doc__ or "") + "\n" + _FACTORY_ARGS


class PaybondToolGuardMiddleware(AgentMiddleware):
    """Guards every tool call of a ``create_agent`` agent (both ``invoke`` and ``ainvoke``).

    Before each model call it checks the tools offered to the model: a provider (dict) tool not
    listed in ``unguarded`` raises :class:`~paybond_kit.UnguardedToolError` (the run stops before
    the model could use a path Paybond never sees).
    """

    def __init__(
        self,
        binding: CapabilityBinding,
        *,
        requested_spend_cents: SpendSpec = 0,
        on_error: OnError = "deny",
        evidence: EvidenceFn | None = None,
        on_decision: Callable[[GuardEvent], None] | None = None,
        on_approval: OnApproval | None = None,
        unguarded: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._guard = _LangGraphGuard(binding, requested_spend_cents, on_error, evidence, on_decision, on_approval,
                                      unguarded)

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        self._guard.refuse_provider_tools(request.tools, "PaybondToolGuardMiddleware")
        return handler(request)

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> Any:
        self._guard.refuse_provider_tools(request.tools, "PaybondToolGuardMiddleware")
        return await handler(request)

    @property
    def name(self) -> str:
        return "PaybondToolGuardMiddleware"

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]) -> ToolResult:
        return self._guard.wrap(request, handler)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]
    ) -> ToolResult:
        return await self._guard.awrap(request, handler)


PaybondToolGuardMiddleware.__init__.__doc__ = _FACTORY_ARGS


def _guard_in(obj: Any, depth: int = 0, seen: set[int] | None = None) -> _LangGraphGuard | None:
    """The Paybond guard a (composed) tool wrapper calls, found through bound methods and closures."""
    seen = set() if seen is None else seen
    if obj is None or depth > 8 or id(obj) in seen:
        return None
    seen.add(id(obj))
    if isinstance(obj, _LangGraphGuard):
        return obj
    if isinstance(obj, PaybondToolGuardMiddleware):
        return obj._guard
    for nxt in (getattr(obj, "__self__", None), getattr(obj, "func", None), getattr(obj, "__wrapped__", None)):
        found = _guard_in(nxt, depth + 1, seen)
        if found is not None:
            return found
    for cell in getattr(obj, "__closure__", None) or ():
        try:
            found = _guard_in(cell.cell_contents, depth + 1, seen)
        except ValueError:  # an empty cell
            continue
        if found is not None:
            return found
    return None


def audit_agent(agent: Any) -> list[ToolPath]:
    """Every tool path of a compiled LangGraph / ``create_agent`` agent, and whether Paybond guards it.

    Function tools in a ``ToolNode`` are guarded when the node's tool wrapper runs a Paybond guard
    (``paybond_tool_node``, ``paybond_awrap_tool_call`` or :class:`PaybondToolGuardMiddleware`) and
    their name is not in its ``unguarded`` list. Provider (dict) tools bound to the model never pass
    through ``ToolNode``: always unguarded. Subgraphs are audited too.

    Args:
        agent: a compiled graph (``create_agent(...)`` or ``StateGraph(...).compile()``).

    Returns:
        One :class:`ToolPath` per tool path, in graph order.

    Raises:
        InvalidArgumentError: ``agent`` is not a compiled graph.
    """
    nodes = getattr(agent, "nodes", None)
    if not isinstance(nodes, Mapping):
        raise _invalid_argument("agent", f"expected a compiled LangGraph graph, got {type(agent).__name__}")
    out: list[ToolPath] = []
    for node_name, node in nodes.items():
        bound = getattr(node, "bound", None)
        if isinstance(bound, ToolNode):
            guard = _guard_in(getattr(bound, "_awrap_tool_call", None)) or _guard_in(getattr(bound, "_wrap_tool_call", None))
            for name in bound.tools_by_name:
                guarded = guard is not None and name not in guard.core.unguarded
                detail = f"ToolNode {node_name!r}" + ("" if guard is not None else ", no Paybond tool wrapper")
                out.append(ToolPath(name, "function", guarded, detail))
        elif hasattr(bound, "nodes") and bound is not agent:
            out.extend(audit_agent(bound))
        func = getattr(bound, "func", None)
        for cell_name, cell in zip(getattr(getattr(func, "__code__", None), "co_freevars", ()),  # noqa: B905
                                   getattr(func, "__closure__", None) or ()):
            if cell_name != "default_tools":
                continue
            try:
                tools = cell.cell_contents
            except ValueError:
                continue
            out.extend(_provider_path(t) for t in tools or () if isinstance(t, Mapping))
    return out
