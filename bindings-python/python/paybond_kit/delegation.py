"""Delegation: give a sub-agent its own, narrower capability binding.

A sub-agent should get *less* authority than the agent that delegates to it. Each helper here
makes the sub-agent's binding with :meth:`CapabilityBinding.attenuate` — the parent's capability
token plus one appended Biscuit block whose checks only narrow (tools ⊆ the parent's, a lower
per-call cap, an earlier expiry, ``max_calls`` counted by Harbor) — computed offline, in the core.
Harbor enforces every block on each verify, so a sub-agent's call outside its scope is denied even
where the parent could have made it; spend under the child counts against the parent's intent.

OpenAI Agents (``pip install "paybond-kit[openai-agents]"``):

- :func:`delegate_handoff` — a ``Handoff`` to a sub-agent: each time the model hands off, the
  sub-agent runs with a fresh child binding on its function tools.
- :func:`delegate_as_tool` — ``Agent.as_tool()`` for a sub-agent: each call of the tool runs the
  sub-agent with a fresh child binding. (The SDK runs no tool guardrail on handoffs or agent tools:
  the guard sits on the sub-agent's own function tools.)
- :func:`guard_subagent` — a copy of an agent whose function tools are guarded with a given
  binding (the building block of the two above).

LangGraph (``pip install "paybond-kit[langgraph]"``):

- :func:`delegate_node` — a graph node that runs a sub-agent built for a fresh child binding on
  every run of the node.

Limits (every helper takes them as keywords; each left out keeps the parent's):
``tools`` (names, or tool objects with a ``name``), ``max_spend_per_call_cents``,
``expires_in_seconds`` (counted from each delegation), ``max_calls`` (per delegation, counted by
Harbor). A limit that asks for more than the parent allows raises
:class:`~paybond_kit.InvalidArgumentError` naming it — at construction when the parent binding is
given, else at delegation time.

Importing this module loads no framework; each helper imports its own when called.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

from .client import CapabilityBinding
from .errors import PaybondError, _invalid_argument

__all__ = ["delegate_handoff", "delegate_as_tool", "guard_subagent", "delegate_node"]


def _names(tools: Sequence[Any] | None) -> list[str] | None:
    """Tool names from names or tool objects (``None`` stays ``None``)."""
    if tools is None:
        return None
    if isinstance(tools, (str, bytes)):
        raise _invalid_argument("tools", f"expected a list of tool names, got {type(tools).__name__}")
    out: list[str] = []
    for t in tools:
        name = t if isinstance(t, str) else getattr(t, "name", None)
        if not isinstance(name, str):
            raise _invalid_argument("tools", f"expected tool names or tools with a name, got {type(t).__name__}")
        out.append(name)
    return out


class _Limits:
    """The narrowing one delegation asks for; ``attenuate`` applies it to a parent binding."""

    __slots__ = ("tools", "max_spend_per_call_cents", "expires_in_seconds", "max_calls")

    def __init__(self, tools: Any, max_spend_per_call_cents: Any, expires_in_seconds: Any, max_calls: Any) -> None:
        self.tools = _names(tools)
        self.max_spend_per_call_cents = max_spend_per_call_cents
        self.expires_in_seconds = expires_in_seconds
        self.max_calls = max_calls

    def attenuate(self, parent: Any, default_tools: list[str] | None = None) -> CapabilityBinding:
        if not isinstance(parent, CapabilityBinding):
            raise _invalid_argument(
                "binding",
                "no paybond_kit.CapabilityBinding to delegate from: pass binding= or run with context=binding",
            )
        return parent.attenuate(
            tools=self.tools if self.tools is not None else default_tools,
            max_spend_per_call_cents=self.max_spend_per_call_cents,
            expires_in_seconds=self.expires_in_seconds,
            max_calls=self.max_calls,
        )


def _check_binding(binding: Any) -> None:
    if binding is not None and not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", f"expected a CapabilityBinding, got {type(binding).__name__}")


def _function_tool_names(agent: Any) -> list[str] | None:
    """The names of an OpenAI agent's function tools (``None`` when it has none)."""
    from agents import FunctionTool

    names = [t.name for t in getattr(agent, "tools", []) or [] if isinstance(t, FunctionTool)]
    return names or None


def guard_subagent(
    agent: Any,
    binding: CapabilityBinding,
    *,
    requested_spend_cents: Any = 0,
    on_decision: Callable[[Any], None] | None = None,
) -> Any:
    """A copy of OpenAI Agents ``agent`` whose function tools are guarded with ``binding``.

    Each ``FunctionTool`` is copied (the original agent and its tools are left as they are) and
    gets the Paybond guardrail for ``binding`` in place of any Paybond guardrail it had, so a tool
    the parent guarded with its own binding runs under ``binding`` in the copy. Only function tools
    are guarded, as with :func:`paybond_kit.openai_agents.guard_function_tools`.

    Args:
        agent: an ``agents.Agent``.
        binding: the sub-agent's binding (usually ``parent.attenuate(...)``).
        requested_spend_cents: as for ``guard_function_tools``.
        on_decision: as for ``guard_function_tools``.

    Raises :class:`~paybond_kit.InvalidArgumentError` for a bad ``binding`` or spend.
    """
    from agents import FunctionTool

    from .openai_agents import guard_function_tools

    if not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", f"expected a CapabilityBinding, got {type(binding).__name__}")
    tools = [copy.copy(t) if isinstance(t, FunctionTool) else t for t in agent.tools]
    guard_function_tools(tools, binding, requested_spend_cents, on_decision=on_decision)
    return agent.clone(tools=tools)


def _parent_from(binding: CapabilityBinding | None, ctx: Any) -> Any:
    return binding if binding is not None else getattr(ctx, "context", None)


def delegate_handoff(
    agent: Any,
    binding: CapabilityBinding | None = None,
    *,
    tools: Sequence[Any] | None = None,
    max_spend_per_call_cents: int | None = None,
    expires_in_seconds: int | None = None,
    max_calls: int | None = None,
    requested_spend_cents: Any = 0,
    on_decision: Callable[[Any], None] | None = None,
    **handoff_kwargs: Any,
) -> Any:
    """An OpenAI Agents ``Handoff`` to ``agent`` that runs it with a narrower binding.

    Each time the model takes the handoff, the parent binding (``binding``, or the run context
    ``Runner.run(..., context=binding)``) is attenuated with the limits below and the run continues
    with a copy of ``agent`` whose function tools are guarded by that child binding
    (:func:`guard_subagent`). ``expires_in_seconds`` and ``max_calls`` count from each handoff.

    Args:
        agent: the sub-agent (an ``agents.Agent``).
        binding: the parent binding; ``None`` reads it from the run context at handoff time.
        tools: tool names (or tools) the sub-agent may call; ``None``: the sub-agent's own function
            tools. Each must be allowed by the parent.
        max_spend_per_call_cents: the child's per-call cap (at most the parent's).
        expires_in_seconds: the child expires this long after the handoff (not after the parent).
        max_calls: calls Harbor allows under one handoff's child binding.
        requested_spend_cents: spend per call of the sub-agent's tools, as for ``guard_function_tools``.
        on_decision: called with each guard event of the sub-agent's tools.
        **handoff_kwargs: passed to ``agents.handoff`` (``tool_name_override``, ``on_handoff``, ...).

    Raises :class:`~paybond_kit.InvalidArgumentError` naming the limit that is bad or asks for more
    than the parent allows — here when ``binding`` is given, else when the handoff is taken (the run
    then stops: fail closed).
    """
    from agents import handoff

    _check_binding(binding)
    limits = _Limits(tools, max_spend_per_call_cents, expires_in_seconds, max_calls)
    default_tools = _function_tool_names(agent)
    if binding is not None:
        limits.attenuate(binding, default_tools)  # refuse a bad delegation now, not mid-run
    h = handoff(agent, **handoff_kwargs)
    original = h.on_invoke_handoff

    async def on_invoke_handoff(ctx: Any, input_json: Any = None) -> Any:
        await original(ctx, input_json)
        child = limits.attenuate(_parent_from(binding, ctx), default_tools)
        return guard_subagent(agent, child, requested_spend_cents=requested_spend_cents, on_decision=on_decision)

    h.on_invoke_handoff = on_invoke_handoff
    h._paybond_delegated = True  # type: ignore[attr-defined]  # audit_agent: guarded by an attenuated binding
    return h


def delegate_as_tool(
    agent: Any,
    binding: CapabilityBinding | None = None,
    *,
    tool_name: str | None = None,
    tool_description: str | None = None,
    tools: Sequence[Any] | None = None,
    max_spend_per_call_cents: int | None = None,
    expires_in_seconds: int | None = None,
    max_calls: int | None = None,
    requested_spend_cents: Any = 0,
    on_decision: Callable[[Any], None] | None = None,
    **as_tool_kwargs: Any,
) -> Any:
    """``agent.as_tool(...)`` whose every call runs the sub-agent with a narrower binding.

    Each call of the returned ``FunctionTool`` attenuates the parent binding (``binding``, or the
    run context) with the limits below and runs a copy of ``agent`` whose function tools are guarded
    by that child binding. ``expires_in_seconds`` and ``max_calls`` count per call of the tool.

    Args:
        agent: the sub-agent (an ``agents.Agent``).
        binding: the parent binding; ``None`` reads it from the run context at each call.
        tool_name: the tool's name (default: from the agent's name), as for ``Agent.as_tool``.
        tool_description: the tool's description, as for ``Agent.as_tool``.
        tools: tool names (or tools) the sub-agent may call; ``None``: its own function tools.
        max_spend_per_call_cents: the child's per-call cap (at most the parent's).
        expires_in_seconds: the child expires this long after the call started.
        max_calls: calls Harbor allows under one call's child binding.
        requested_spend_cents: spend per call of the sub-agent's tools, as for ``guard_function_tools``.
        on_decision: called with each guard event of the sub-agent's tools.
        **as_tool_kwargs: passed to ``Agent.as_tool`` (``max_turns``, ``custom_output_extractor``, ...).

    Raises :class:`~paybond_kit.InvalidArgumentError` naming the limit that is bad or asks for more
    than the parent allows — here when ``binding`` is given; else that call of the tool answers
    ``"Paybond denied <tool>: invalid_argument: ..."`` to the model and the sub-agent does not run.
    """
    _check_binding(binding)
    limits = _Limits(tools, max_spend_per_call_cents, expires_in_seconds, max_calls)
    default_tools = _function_tool_names(agent)
    if binding is not None:
        limits.attenuate(binding, default_tools)
    outer = agent.as_tool(tool_name, tool_description, **as_tool_kwargs)

    async def on_invoke_tool(ctx: Any, input_json: str) -> Any:
        try:
            child = limits.attenuate(_parent_from(binding, ctx), default_tools)
        except PaybondError as e:  # no delegation, no sub-agent run: the model reads why
            return f"Paybond denied {outer.name}: {e.code}: {e}"
        sub = guard_subagent(agent, child, requested_spend_cents=requested_spend_cents, on_decision=on_decision)
        return await sub.as_tool(tool_name, tool_description, **as_tool_kwargs).on_invoke_tool(ctx, input_json)

    outer.on_invoke_tool = on_invoke_tool
    outer._paybond_delegated = True  # audit_agent: guarded by an attenuated binding
    return outer


def delegate_node(
    build: Callable[[CapabilityBinding], Any],
    binding: CapabilityBinding,
    *,
    tools: Sequence[Any],
    max_spend_per_call_cents: int | None = None,
    expires_in_seconds: int | None = None,
    max_calls: int | None = None,
    map_input: Callable[[Any], Any] | None = None,
    map_output: Callable[[Any], Any] | None = None,
    name: str = "paybond_delegate",
) -> Any:
    """A LangGraph node that runs a sub-agent with a narrower binding on every run.

    Each run of the node attenuates ``binding`` with the limits below, calls ``build(child)`` to
    get the sub-agent — a compiled graph or any runnable whose tools are guarded with ``child``
    (e.g. ``create_agent(model, tools, middleware=[PaybondToolGuardMiddleware(child)])`` or a graph
    around ``paybond_tool_node(tools, child)``) — and invokes it with the node's state (``ainvoke``
    on the async path, ``invoke`` on the sync one), passing the node's config through.

    Args:
        build: ``child binding -> runnable``, called once per run of the node.
        binding: the parent binding.
        tools: tool names (or tools) the sub-agent may call; required, so the sub-agent never gets
            more tools than it was meant to. Each must be allowed by ``binding``.
        max_spend_per_call_cents: the child's per-call cap (at most the parent's).
        expires_in_seconds: the child expires this long after the node started.
        max_calls: calls Harbor allows under one run's child binding.
        map_input: ``state -> sub-agent input`` (default: the state itself).
        map_output: ``sub-agent result -> state update`` (default: the result itself).
        name: the runnable's name.

    Returns a ``RunnableLambda`` for ``StateGraph.add_node``. Raises
    :class:`~paybond_kit.InvalidArgumentError` here for a bad limit or one that asks for more than
    ``binding`` allows. A re-run of the node (a LangGraph resume) delegates afresh.
    """
    from langchain_core.runnables import RunnableConfig, RunnableLambda

    if not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", f"expected a CapabilityBinding, got {type(binding).__name__}")
    if not callable(build):
        raise _invalid_argument("build", f"expected a callable (child binding -> runnable), got {type(build).__name__}")
    limits = _Limits(tools, max_spend_per_call_cents, expires_in_seconds, max_calls)
    limits.attenuate(binding)

    def _in(state: Any) -> Any:
        return map_input(state) if map_input is not None else state

    def _out(result: Any) -> Any:
        return map_output(result) if map_output is not None else result

    def run(state: Any, config: RunnableConfig) -> Any:
        return _out(build(limits.attenuate(binding)).invoke(_in(state), config))

    async def arun(state: Any, config: RunnableConfig) -> Any:
        return _out(await build(limits.attenuate(binding)).ainvoke(_in(state), config))

    return RunnableLambda(run, afunc=arun, name=name)
