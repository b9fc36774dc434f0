"""Delegation by attenuation: ``CapabilityBinding.attenuate`` and the framework hand-offs, with the
real openai-agents and langgraph packages, scripted models and the dev server."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from agents import Agent, Runner, function_tool, set_tracing_disabled
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph

import paybond_kit as pk
from paybond_kit.delegation import delegate_as_tool, delegate_handoff, delegate_node, guard_subagent
from paybond_kit.langgraph import paybond_tool_node
from paybond_kit.openai_agents import guard_function_tools
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory
from .scripted import ScriptedAgentsModel, langchain_model, tool_node_graph

set_tracing_disabled(True)
COUNTS: dict[str, int] = {}
LOCK = threading.Lock()


def bump(name: str) -> None:
    with LOCK:
        COUNTS[name] = COUNTS.get(name, 0) + 1


@pytest.fixture(autouse=True)
def reset() -> None:
    COUNTS.clear()


def agents_tools() -> list[Any]:
    @function_tool
    def search(query: str, cost_cents: int = 0) -> str:
        """Search (paid per query)."""
        bump("search")
        return f"found {query}"

    @function_tool
    def book_hotel(hotel: str, cost_cents: int = 0) -> str:
        """Book a hotel (paid)."""
        bump("book_hotel")
        return f"booked {hotel}"

    return [search, book_hotel]


def agents_spend(data: Any) -> int:
    return int(json.loads(data.context.tool_arguments).get("cost_cents", 0))


class Model(ScriptedAgentsModel):
    """A scripted model whose call ids carry its own prefix (one run holds several models, and
    the SDK refuses a call id reused across them)."""

    def __init__(self, prefix: str, calls: Any) -> None:
        super().__init__(calls)
        self.prefix = prefix

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        r = await super().get_response(*args, **kwargs)
        for item in r.output:
            if getattr(item, "call_id", None):
                item.call_id = f"{self.prefix}_{item.call_id}"
        return r

    def outputs(self) -> list[tuple[str, str]]:
        """(tool name, output) for each call the model made, in call order."""
        outs = self.tool_outputs()
        return [(name, outs.get(f"{self.prefix}_call_{k}", "")) for k, (name, _) in enumerate(self.calls)]


# ---- CapabilityBinding.attenuate ----


async def test_attenuate_returns_a_narrower_binding_on_the_same_intent(
    make_binding: BindingFactory, harbor: LocalHarbor
) -> None:
    parent, intent = make_binding(["search", "book_hotel"], 1000)
    verifies = harbor.stats()["verifies"]
    child = parent.attenuate(tools=["search"], max_spend_per_call_cents=100, expires_in_seconds=600, max_calls=2)
    assert harbor.stats()["verifies"] == verifies, "offline: no request"
    assert isinstance(child, pk.CapabilityBinding) and child is not parent
    assert (child.intent_id, child.tenant_id, child.harbor) == (parent.intent_id, parent.tenant_id, parent.harbor)
    assert intent.capability_token not in repr(child)
    assert (await child.authorize("search", "c1", {}, requested_spend_cents=100)).allowed
    d = await child.authorize("book_hotel", "c2", {}, requested_spend_cents=1)
    assert (d.decision, d.reason) == ("deny", "operation_not_allowed")
    d = await child.authorize("search", "c3", {}, requested_spend_cents=101)
    assert d.reason == "spend_cap_exceeded"
    assert (await child.authorize("search", "c4", {}, requested_spend_cents=1)).allowed
    d = await child.authorize("search", "c5", {}, requested_spend_cents=1)
    assert d.reason == "max_calls_exceeded"
    # The parent could make every one of those calls; spend under the child counted against it.
    d = await parent.authorize("book_hotel", "p1", {}, requested_spend_cents=1)
    assert d.allowed and d.remaining_cents == 1000 - 100 - 1 - 1
    d = await parent.authorize("search", "p2", {}, requested_spend_cents=500)
    assert d.allowed


async def test_a_child_expires_on_harbors_clock(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    parent, _ = make_binding(["search"], 1000)
    child = parent.attenuate(expires_in_seconds=30)
    assert (await child.authorize("search", "c1", {})).allowed
    harbor.advance_clock(31)
    assert (await child.authorize("search", "c2", {})).reason == "token_expired"
    assert (await parent.authorize("search", "p1", {})).allowed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(tools=["wire_money"]), "tools"),
        (dict(tools=[]), "tools"),
        (dict(tools="search"), "tools"),
        (dict(tools=[1]), "tools"),
        (dict(tools=["  "]), "tools"),
        (dict(max_spend_per_call_cents=1001), "max_spend_per_call_cents"),
        (dict(max_spend_per_call_cents=-1), "max_spend_per_call_cents"),
        (dict(max_spend_per_call_cents=1.5), "max_spend_per_call_cents"),
        (dict(max_spend_per_call_cents=True), "max_spend_per_call_cents"),
        (dict(max_spend_per_call_cents="100"), "max_spend_per_call_cents"),
        (dict(max_spend_per_call_cents=float("nan")), "max_spend_per_call_cents"),
        (dict(expires_in_seconds=0), "expires_in_seconds"),
        (dict(expires_in_seconds=10 * 86400), "expires_in_seconds"),  # after the parent (24 h)
        (dict(expires_in_seconds=float("inf")), "expires_in_seconds"),
        (dict(max_calls=0), "max_calls"),
        (dict(max_calls=2**200), "max_calls"),
        (dict(max_calls=2.5), "max_calls"),
    ],
)
def test_attenuate_refuses_bad_or_wider_limits(make_binding: BindingFactory, kwargs: dict[str, Any], field: str) -> None:
    parent, _ = make_binding(["search"], 1000)
    with pytest.raises(pk.InvalidArgumentError) as e:
        parent.attenuate(**kwargs)
    assert e.value.field == field, e.value


def test_attenuate_needs_keywords(make_binding: BindingFactory) -> None:
    parent, _ = make_binding(["search"], 1000)
    with pytest.raises(TypeError):
        parent.attenuate(["search"])  # type: ignore[misc]


# ---- OpenAI Agents ----


async def test_handoff_sub_agent_is_denied_outside_its_scope_where_the_parent_could_act(
    make_binding: BindingFactory,
) -> None:
    binding, _ = make_binding(["search", "book_hotel"], 1000)
    sub_model = Model("sub", [("search", {"query": "inns"}), ("book_hotel", {"hotel": "Inn"})])
    researcher = Agent(name="researcher", model=sub_model, tools=agents_tools())
    parent_tools = guard_function_tools(agents_tools()[1:], binding)
    triage = Agent(
        name="triage",
        model=Model("triage", [("transfer_to_researcher", {})]),
        tools=parent_tools,
        handoffs=[delegate_handoff(researcher, binding, tools=["search"])],
    )
    result = await Runner.run(triage, "find and book an inn")
    assert result.final_output == "done"
    assert result.last_agent.name == "researcher"
    assert COUNTS == {"search": 1}
    outs = dict(sub_model.outputs())
    assert outs["search"] == "found inns"
    assert outs["book_hotel"].startswith("Paybond denied book_hotel: harbor_denied: operation_not_allowed")
    # The parent's binding allows the same call; the original sub-agent is untouched.
    assert (await binding.authorize("book_hotel", "p1", {})).allowed
    assert all(not t.tool_input_guardrails for t in researcher.tools)


async def test_handoff_reads_the_parent_from_the_run_context(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search", "book_hotel"], 1000)
    sub_model = Model("sub", [("book_hotel", {"hotel": "A"}), ("search", {"query": "q"})])
    researcher = Agent(name="researcher", model=sub_model, tools=agents_tools())
    # The sub-agent's tools were guarded with the parent binding: the delegation replaces that guard.
    guard_function_tools(researcher.tools, binding)
    triage = Agent(
        name="triage",
        model=Model("triage", [("transfer_to_researcher", {})]),
        handoffs=[delegate_handoff(researcher, tools=["search"], max_calls=1)],
    )
    await Runner.run(triage, "go", context=binding)
    assert COUNTS == {"search": 1}
    assert "operation_not_allowed" in dict(sub_model.outputs())["book_hotel"]


async def test_agent_as_tool_enforces_max_calls_and_cap_and_spends_from_the_parent_intent(
    make_binding: BindingFactory,
) -> None:
    binding, _ = make_binding(["search"], 1000)
    sub_model = Model(
        "sub",
        [("search", {"query": "a", "cost_cents": 100}), ("search", {"query": "b", "cost_cents": 400}),
         ("search", {"query": "c", "cost_cents": 100}), ("search", {"query": "d", "cost_cents": 100})]
    )
    researcher = Agent(name="researcher", model=sub_model, tools=agents_tools()[:1])
    research = delegate_as_tool(
        researcher, binding, tool_name="research", tool_description="Research a topic.",
        max_spend_per_call_cents=300, max_calls=2, requested_spend_cents=agents_spend,
    )
    parent_model = Model("parent", [("research", {"input": "inns in Lyon"})])
    result = await Runner.run(Agent(name="planner", model=parent_model, tools=[research]), "plan")
    assert result.final_output == "done"
    assert COUNTS == {"search": 2}
    reasons = sorted(o.split(": ")[2] for _, o in sub_model.outputs() if o.startswith("Paybond denied"))
    assert reasons == ["max_calls_exceeded", "spend_cap_exceeded"]
    # Spend under the child (2 x 100, consumed) came out of the parent's intent.
    d = await binding.authorize("search", "after", {}, requested_spend_cents=0)
    assert d.allowed and d.remaining_cents == 800
    # Another call of the tool is another delegation: a fresh max_calls.
    COUNTS.clear()
    for m, prefix in ((sub_model, "sub2"), (parent_model, "parent2")):  # call ids are single-use
        m.inputs.clear()
        m.prefix = prefix
    await Runner.run(Agent(name="planner", model=parent_model, tools=[research]), "plan again")
    assert COUNTS == {"search": 2}, (parent_model.tool_outputs(), sub_model.outputs())


async def test_agent_as_tool_outside_the_parent_scope_never_runs_the_sub_agent(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"], 1000)
    sub_model = Model("sub", [("search", {"query": "a"})])
    researcher = Agent(name="researcher", model=sub_model, tools=agents_tools()[:1])
    # The parent comes from the run context, which holds no binding: the tool fails, closed.
    research = delegate_as_tool(researcher, tool_name="research", tool_description="r")
    parent_model = Model("parent", [("research", {"input": "x"})])
    await Runner.run(Agent(name="planner", model=parent_model, tools=[research]), "plan")
    assert COUNTS == {} and sub_model.inputs == []
    out = parent_model.tool_outputs()["parent_call_0"]
    assert out.startswith("Paybond denied research: invalid_argument") and "binding" in out, out


def test_delegation_refuses_more_than_the_parent_at_construction(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"], 1000)
    researcher = Agent(name="researcher", tools=agents_tools())  # book_hotel: not the parent's
    with pytest.raises(pk.InvalidArgumentError) as e:
        delegate_handoff(researcher, binding)
    assert e.value.field == "tools"
    with pytest.raises(pk.InvalidArgumentError) as e:
        delegate_as_tool(researcher, binding, tools=["search"], max_spend_per_call_cents=5000)
    assert e.value.field == "max_spend_per_call_cents"
    with pytest.raises(pk.InvalidArgumentError) as e:
        delegate_handoff(researcher, "not a binding")  # type: ignore[arg-type]
    assert e.value.field == "binding"
    with pytest.raises(pk.InvalidArgumentError) as e:
        guard_subagent(researcher, None)  # type: ignore[arg-type]
    assert e.value.field == "binding"


# ---- LangGraph ----


@tool
def lc_search(query: str) -> str:
    """Search."""
    bump("search")
    return f"found {query}"


@tool
def lc_book(hotel: str) -> str:
    """Book a hotel."""
    bump("book")
    return f"booked {hotel}"


def parent_graph(node: Any) -> Any:
    g = StateGraph(MessagesState)
    g.add_node("research", node)
    g.add_edge(START, "research")
    g.add_edge("research", END)
    return g.compile()


def tool_results(state: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(m.name), str(m.content)) for m in state["messages"] if isinstance(m, ToolMessage)]


@pytest.mark.parametrize("path", ["async", "sync"])
async def test_langgraph_sub_agent_node_is_narrower_than_its_parent(make_binding: BindingFactory, path: str) -> None:
    binding, _ = make_binding(["lc_search", "lc_book"], 1000)
    children: list[pk.CapabilityBinding] = []

    def build(child: pk.CapabilityBinding) -> Any:
        children.append(child)
        model = langchain_model([("lc_search", {"query": "a"}), ("lc_search", {"query": "b"}), ("lc_book", {"hotel": "Inn"})])
        return tool_node_graph(paybond_tool_node([lc_search, lc_book], child), model)

    node = delegate_node(build, binding, tools=["lc_search"], max_calls=1)
    graph = parent_graph(node)
    start = {"messages": [HumanMessage("research")]}
    out = await graph.ainvoke(start) if path == "async" else graph.invoke(start)
    assert COUNTS == {"search": 1}
    results = tool_results(out)
    assert sorted(c for _, c in results if c.startswith("found")) in (["found a"], ["found b"])
    denied = sorted(c.split(": ")[2] for _, c in results if c.startswith("Paybond denied"))
    assert denied == ["max_calls_exceeded", "operation_not_allowed"]
    assert out["messages"][-1].content == "done"
    # The parent could book; the next run of the node is a fresh delegation.
    assert (await binding.authorize("lc_book", "p1", {})).allowed
    await graph.ainvoke(start)
    assert COUNTS == {"search": 2} and len(children) == 2


def test_langgraph_node_refuses_a_wider_delegation(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["lc_search"], 1000)
    with pytest.raises(pk.InvalidArgumentError) as e:
        delegate_node(lambda c: None, binding, tools=[lc_book])
    assert e.value.field == "tools"
    with pytest.raises(pk.InvalidArgumentError) as e:
        delegate_node(lambda c: None, binding, tools=["lc_search"], expires_in_seconds=-5)
    assert e.value.field == "expires_in_seconds"
    with pytest.raises(pk.InvalidArgumentError) as e:
        delegate_node("nope", binding, tools=["lc_search"])  # type: ignore[arg-type]
    assert e.value.field == "build"
