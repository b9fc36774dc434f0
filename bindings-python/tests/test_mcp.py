"""The MCP guard with the real MCP packages (mcp 2.x SDK, FastMCP 4, OpenAI Agents MCP servers,
the stdio proxy) and the real dev server over HTTP: no mocks. Handler invocations are counted
where the handler runs (in-process counters, or a log file written by the stdio upstream)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

import paybond_kit as pk
from paybond_kit.mcp import CAPABILITY_META_KEY, McpGuard, capability_meta
from paybond_kit.testing import DevIntent, LocalHarbor

from .conftest import BindingFactory

pytest.importorskip("mcp_types")  # the mcp SDK 2.x
import mcp_types as t  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402
from mcp.server import MCPServer, Server  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

from paybond_kit.mcp.server import PaybondServerMiddleware, guard_call_tool  # noqa: E402

HERE = Path(__file__).resolve().parent
UPSTREAM = HERE / "mcp_upstream.py"


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def meta_for(intent: DevIntent) -> dict[str, Any]:
    return capability_meta(intent.intent_id, intent.capability_token)


class Counter:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seen_meta: list[Any] = []

    def n(self, name: str) -> int:
        return self.calls.count(name)


def lowlevel_server(counter: Counter, wrap: Callable[[Any], Any] | None = None) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> t.ListToolsResult:
        return t.ListToolsResult(tools=[t.Tool(name=n, input_schema={"type": "object"}) for n in ("book_hotel", "search", "boom", "fail")])

    async def call_tool(ctx: Any, params: t.CallToolRequestParams) -> t.CallToolResult:
        counter.calls.append(params.name)
        counter.seen_meta.append((dict(params.meta or {}), dict(ctx.meta or {}), dict((ctx.params or {}).get("_meta") or {})))
        if params.name == "boom":
            raise RuntimeError("handler boom")
        if params.name == "fail":
            return t.CallToolResult(content=[t.TextContent(type="text", text="tool failed")], is_error=True)
        return t.CallToolResult(content=[t.TextContent(type="text", text=f"{params.name} ran with {params.arguments}")])

    handler = wrap(call_tool) if wrap is not None else call_tool
    return Server("test", on_list_tools=list_tools, on_call_tool=handler)


def spend(call: Any) -> int:
    return int(call.arguments.get("cost_cents", 0))


# ---------------------------------------------------------------- mcp SDK server middleware


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_middleware_per_request_capabilities_for_two_intents(
    harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, mode: str
) -> None:
    hotel = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
    searcher = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    counter = Counter()
    server = lowlevel_server(counter)
    server.middleware.append(PaybondServerMiddleware(harbor=session, requested_spend_cents=spend))
    async with Client(server, mode=mode) as c:
        ok = await c.call_tool("book_hotel", {"hotel": "Inn", "cost_cents": 300}, meta=meta_for(hotel))
        assert ok.is_error is not True and "book_hotel ran" in text(ok)
        over = await c.call_tool("book_hotel", {"hotel": "Inn", "cost_cents": 300}, meta=meta_for(hotel))
        assert over.is_error is True
        assert text(over).startswith("Paybond denied book_hotel: harbor_denied: budget_exceeded")
        other = await c.call_tool("book_hotel", {"cost_cents": 1}, meta=meta_for(searcher))
        assert other.is_error is True and "operation_not_allowed" in text(other)
        found = await c.call_tool("search", {"q": "x"}, meta=meta_for(searcher))
        assert found.is_error is not True and "search ran" in text(found)
    assert counter.calls == ["book_hotel", "search"], "the over-budget and the disallowed call never reached the handler"
    assert harbor.stats()["decisions_consumed"] == 2
    # The handler never saw the capability token (params, ctx.meta, raw params).
    for seen in counter.seen_meta:
        for m in seen:
            assert CAPABILITY_META_KEY not in m
    assert hotel.capability_token not in repr(counter.seen_meta)


async def test_sdk_middleware_missing_or_malformed_capability_is_a_deny(
    harbor: LocalHarbor, session: pk.ServiceAccountHarborSession
) -> None:
    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
    counter = Counter()
    server = lowlevel_server(counter)
    server.middleware.append(PaybondServerMiddleware(harbor=session))
    bad: list[tuple[dict[str, Any] | None, str]] = [
        (None, "capability_missing"),
        ({"other": 1}, "capability_missing"),
        ({CAPABILITY_META_KEY: "not-an-object"}, "capability_invalid"),
        ({CAPABILITY_META_KEY: {"intent_id": intent.intent_id}}, "capability_invalid"),
        ({CAPABILITY_META_KEY: {"intent_id": intent.intent_id, "token": 7}}, "capability_invalid"),
        ({CAPABILITY_META_KEY: {"intent_id": "", "token": intent.capability_token}}, "capability_invalid"),
        ({CAPABILITY_META_KEY: {"intent_id": "00000000-0000-4000-8000-000000000000", "token": intent.capability_token}},
         "token_intent_mismatch"),
        ({CAPABILITY_META_KEY: {"intent_id": intent.intent_id, "token": "not-a-biscuit-token-at-all"}}, "harbor_denied"),
    ]
    async with Client(server) as c:
        for meta, code in bad:
            r = await c.call_tool("book_hotel", {}, meta=meta)
            assert r.is_error is True, meta
            assert text(r).startswith(f"Paybond denied book_hotel: {code}"), (meta, text(r))
            assert intent.capability_token not in text(r)
    assert counter.calls == []


async def test_guard_call_tool_lifecycle_with_a_fixed_binding(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book_hotel", "boom", "fail"], 1000, evidence=True)
    counter = Counter()
    evidence_calls: list[str] = []
    events: list[pk.Decision] = []

    def evidence(call: Any, result: Any) -> dict[str, Any]:
        evidence_calls.append(call.tool_name)
        return {"tool": call.tool_name, "text": text(result)}

    server = lowlevel_server(counter, lambda h: guard_call_tool(
        h, binding, requested_spend_cents=100, evidence=evidence, on_decision=lambda e: events.append(e.decision)))
    async with Client(server) as c:
        ok = await c.call_tool("book_hotel", {"hotel": "A"})
        assert ok.is_error is not True
        with pytest.raises(MCPError):
            await c.call_tool("boom", {})
        failed = await c.call_tool("fail", {})
        assert failed.is_error is True and text(failed) == "tool failed"
        denied = await c.call_tool("search", {})
        assert denied.is_error is True and "operation_not_allowed" in text(denied)
    assert counter.calls == ["book_hotel", "boom", "fail"]
    stats = harbor.stats()
    assert stats["decisions_consumed"] == 1
    assert stats["decisions_released"] == 2, "the raising handler and the error result released their spend"
    assert evidence_calls == ["book_hotel"], "evidence only after success"
    assert stats["evidence_accepted"] == 1
    assert [d.decision for d in events] == ["allow", "allow", "allow", "deny"]


async def test_mcpserver_tools_behind_the_middleware(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["add"], 100)
    ran: list[int] = []
    server = MCPServer("m", middleware=[PaybondServerMiddleware(binding, requested_spend_cents=60)])

    @server.tool()
    def add(a: int, b: int) -> int:
        ran.append(a + b)
        return a + b

    @server.tool()
    def secret_admin() -> str:
        ran.append(-1)
        return "never"

    async with Client(server) as c:
        r = await c.call_tool("add", {"a": 1, "b": 2})
        assert r.is_error is not True and r.structured_content == {"result": 3}
        over = await c.call_tool("add", {"a": 2, "b": 2})
        assert over.is_error is True and "budget_exceeded" in text(over)
        hidden = await c.call_tool("secret_admin", {})
        assert hidden.is_error is True and "operation_not_allowed" in text(hidden)
    assert ran == [3]
    assert harbor.stats()["decisions_consumed"] == 1


def test_construction_errors(make_binding: BindingFactory, session: pk.ServiceAccountHarborSession) -> None:
    binding, _ = make_binding(["x"])
    with pytest.raises(pk.InvalidArgumentError, match="exactly one"):
        PaybondServerMiddleware()
    with pytest.raises(pk.InvalidArgumentError, match="exactly one"):
        PaybondServerMiddleware(binding, harbor=session)
    with pytest.raises(pk.InvalidArgumentError) as e:
        PaybondServerMiddleware(binding, requested_spend_cents=-1)
    assert e.value.field == "requested_spend_cents"
    with pytest.raises(pk.InvalidArgumentError) as e:
        McpGuard(harbor="nope")  # type: ignore[arg-type]
    assert e.value.field == "harbor"
    with pytest.raises(pk.InvalidArgumentError) as e:
        capability_meta("", "tok")
    assert e.value.field == "intent_id"
    assert capability_meta("i", "t", call_id="c") == {CAPABILITY_META_KEY: {"intent_id": "i", "token": "t"}, "paybond/call_id": "c"}


async def test_client_call_id_in_meta_is_single_use(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=1000)
    counter = Counter()
    server = lowlevel_server(counter)
    server.middleware.append(PaybondServerMiddleware(harbor=session, requested_spend_cents=100))
    meta = capability_meta(intent.intent_id, intent.capability_token, call_id="call-1")
    async with Client(server) as c:
        assert (await c.call_tool("book_hotel", {"hotel": "A"}, meta=meta)).is_error is not True
        again = await c.call_tool("book_hotel", {"hotel": "A"}, meta=meta)
        assert again.is_error is True and "call_replayed" in text(again)
    assert counter.calls == ["book_hotel"]


# ---------------------------------------------------------------- FastMCP


async def test_fastmcp_middleware(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    fastmcp = pytest.importorskip("fastmcp")
    from paybond_kit.mcp.fastmcp import PaybondFastMCPMiddleware

    intent = harbor.create_intent(allowed_tools=["book_hotel", "boom", "fail"], amount_cents=500)
    ran: list[str] = []
    seen_meta: list[Any] = []
    evidence_calls: list[str] = []
    app = fastmcp.FastMCP("travel")

    @app.tool()
    def book_hotel(hotel: str, cost_cents: int) -> str:
        from fastmcp.server.dependencies import get_context

        ran.append("book_hotel")
        rc = get_context().request_context
        seen_meta.append(dict(rc.meta or {}) if rc is not None else None)
        return f"booked {hotel}"

    @app.tool()
    def wire_money(to: str) -> str:
        ran.append("wire_money")
        return "sent"

    @app.tool()
    def boom() -> str:
        ran.append("boom")
        raise ValueError("tool boom")

    @app.tool()
    def fail() -> Any:
        from fastmcp.tools.base import ToolResult

        ran.append("fail")
        return ToolResult(content="failed softly", is_error=True)

    app.add_middleware(PaybondFastMCPMiddleware(
        harbor=session, requested_spend_cents=lambda call: int(call.arguments.get("cost_cents", 50)),
        evidence=lambda call, result: evidence_calls.append(call.tool_name) or {"ok": True},
        payee_did=intent.payee_did, payee_signing_seed=intent.payee_signing_seed_hex,
    ))
    meta = meta_for(intent)
    async with fastmcp.Client(app) as c:
        ok = await c.call_tool_mcp("book_hotel", {"hotel": "Inn", "cost_cents": 300}, meta=meta)
        assert ok.is_error is not True and "booked Inn" in text(ok)
        over = await c.call_tool_mcp("book_hotel", {"hotel": "Inn", "cost_cents": 300}, meta=meta)
        assert over.is_error is True and text(over).startswith("Paybond denied book_hotel: harbor_denied: budget_exceeded")
        wire = await c.call_tool_mcp("wire_money", {"to": "x"}, meta=meta)
        assert wire.is_error is True and "operation_not_allowed" in text(wire)
        none = await c.call_tool_mcp("wire_money", {"to": "x"})
        assert none.is_error is True and text(none).startswith("Paybond denied wire_money: capability_missing")
        boom = await c.call_tool_mcp("boom", {}, meta=meta)
        assert boom.is_error is True and "Paybond denied" not in text(boom)
        fail = await c.call_tool_mcp("fail", {}, meta=meta)
        assert fail.is_error is True and text(fail) == "failed softly"
    assert ran == ["book_hotel", "boom", "fail"]
    stats = harbor.stats()
    assert stats["decisions_consumed"] == 1 and stats["decisions_released"] == 2
    assert evidence_calls == ["book_hotel"] and stats["evidence_accepted"] == 1
    assert seen_meta and all(CAPABILITY_META_KEY not in (m or {}) for m in seen_meta), "the tool never sees the token"


# ---------------------------------------------------------------- the proxy


def upstream_params(log: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(UPSTREAM), str(log)], env=dict(os.environ))


def upstream_ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


async def test_proxy_in_process_forwards_unchanged_and_denies_unknown(
    make_binding: BindingFactory, harbor: LocalHarbor, tmp_path: Path
) -> None:
    from paybond_kit.mcp.proxy import build_proxy_server

    binding, _ = make_binding(["book_hotel", "boom", "fail", "nope"], 500)
    log = tmp_path / "ran.log"
    async with Client(upstream_params(log)) as upstream:
        direct_list = await upstream.list_tools()
        direct = await upstream.call_tool("wire_money", {"to": "a"})  # unguarded, for comparison
        proxy = build_proxy_server(upstream, binding, requested_spend_cents=lambda c: int(c.arguments.get("cost_cents", 0)))
        async with Client(proxy) as c:
            listed = await c.list_tools()
            assert [x.model_dump() for x in listed.tools] == [x.model_dump() for x in direct_list.tools]
            ok = await c.call_tool("book_hotel", {"hotel": "Inn", "cost_cents": 300})
            again = await upstream.call_tool("book_hotel", {"hotel": "Inn", "cost_cents": 300})
            assert ok.model_dump(exclude={"meta"}) == again.model_dump(exclude={"meta"}), "result forwarded unchanged"
            verifies = harbor.stats()["verifies"]
            unknown = await c.call_tool("nope", {})
            assert unknown.is_error is True and text(unknown).startswith("Paybond denied nope: unknown_tool")
            assert harbor.stats()["verifies"] == verifies, "an unknown tool is denied before Harbor"
            wire = await c.call_tool("wire_money", {"to": "b"})
            assert wire.is_error is True and "operation_not_allowed" in text(wire)
            over = await c.call_tool("book_hotel", {"hotel": "Inn", "cost_cents": 300})
            assert over.is_error is True and "budget_exceeded" in text(over)
            fail = await c.call_tool("fail", {})
            assert fail.is_error is True and text(fail) == "upstream failed"
            with pytest.raises(MCPError):
                await c.call_tool("boom", {})
    assert direct.is_error is not True
    assert upstream_ran(log) == ["wire_money", "book_hotel", "book_hotel", "fail", "boom"], (
        "only the allowed calls (and the two direct ones) reached the upstream")
    stats = harbor.stats()
    assert stats["decisions_consumed"] == 1 and stats["decisions_released"] == 2


async def test_proxy_console_script_over_stdio(harbor: LocalHarbor, tmp_path: Path) -> None:
    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=500)
    log = tmp_path / "ran.log"
    token_file = tmp_path / "token"
    token_file.write_text(intent.capability_token)
    env = {
        **os.environ, "PAYBOND_API_KEY": harbor.api_key, "PAYBOND_GATEWAY_URL": harbor.gateway_url,
        "PAYBOND_HARBOR_URL": harbor.harbor_url,
    }
    env.pop("PAYBOND_CAPABILITY_TOKEN", None)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "paybond_kit.mcp.proxy", "--intent-id", intent.intent_id, "--capability-token-file", str(token_file),
              "--tool-spend", "book_hotel=300", "--pass-env", "PATH", "--", sys.executable, str(UPSTREAM), str(log)],
        env=env,
    )
    async with Client(params) as c:
        names = [x.name for x in (await c.list_tools()).tools]
        assert names == ["book_hotel", "wire_money", "boom", "fail"]
        ok = await c.call_tool("book_hotel", {"hotel": "Inn"})
        assert ok.is_error is not True and ok.structured_content == {"tool": "book_hotel", "args": {"hotel": "Inn"}}
        over = await c.call_tool("book_hotel", {"hotel": "Inn"})
        assert over.is_error is True and "budget_exceeded" in text(over)
        wire = await c.call_tool("wire_money", {"to": "x"})
        assert wire.is_error is True and "operation_not_allowed" in text(wire)
        unknown = await c.call_tool("not_listed", {})
        assert unknown.is_error is True and "unknown_tool" in text(unknown)
    assert upstream_ran(log) == ["book_hotel"]
    assert harbor.stats()["decisions_consumed"] == 1


def test_proxy_refuses_to_start_without_configuration_and_prints_no_secret(harbor: LocalHarbor) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBOND_")}
    secret = "sk-never-printed-0123456789abcdef"
    env["PAYBOND_API_KEY"] = secret
    out = subprocess.run(
        [sys.executable, "-m", "paybond_kit.mcp.proxy", "--gateway-url", harbor.gateway_url, "--", sys.executable, str(UPSTREAM)],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2
    assert "--harbor-url" in out.stderr and "--intent-id" in out.stderr and "PAYBOND_CAPABILITY_TOKEN" in out.stderr
    # A refused key: the session cannot open; the error names the problem, never the key.
    env.update(PAYBOND_CAPABILITY_TOKEN="tok-never-printed-0123456789abcdef")
    out = subprocess.run(
        [sys.executable, "-m", "paybond_kit.mcp.proxy", "--gateway-url", harbor.gateway_url, "--harbor-url", harbor.harbor_url,
         "--intent-id", "00000000-0000-4000-8000-000000000000", "--", sys.executable, str(UPSTREAM), "/dev/null"],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2 and "gateway_auth" in out.stderr
    assert secret not in out.stderr + out.stdout and "tok-never-printed" not in out.stderr + out.stdout


def test_console_script_is_declared() -> None:
    import tomllib

    data = tomllib.loads((HERE.parent / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["paybond-mcp-proxy"] == "paybond_kit.mcp.proxy:main"
    assert "mcp" in data["project"]["optional-dependencies"]


# ---------------------------------------------------------------- OpenAI Agents local MCP servers


async def test_openai_agents_mcp_server_guardrails(make_binding: BindingFactory, harbor: LocalHarbor, tmp_path: Path) -> None:
    agents = pytest.importorskip("agents")
    from agents.mcp import MCPServerStdio

    from paybond_kit.mcp.openai_agents import guard_mcp_server

    from .scripted import ScriptedAgentsModel

    agents.set_tracing_disabled(True)
    binding, _ = make_binding(["book_hotel", "boom", "fail"], 500, evidence=True)
    log = tmp_path / "ran.log"
    evidence_calls: list[str] = []
    server = MCPServerStdio(params={"command": sys.executable, "args": [str(UPSTREAM), str(log)], "env": dict(os.environ)},
                            cache_tools_list=True)
    guard_mcp_server(server, binding, requested_spend_cents=lambda c: int(c.arguments.get("cost_cents", 10)),
                     evidence=lambda call, result: evidence_calls.append(call.call_id) or {"text": text(result)})
    model = ScriptedAgentsModel([
        ("book_hotel", {"hotel": "Inn", "cost_cents": 300}),
        ("book_hotel", {"hotel": "Spa", "cost_cents": 300}),
        ("wire_money", {"to": "x"}),
        ("boom", {}),
        ("fail", {}),
    ])
    async with server:
        agent = agents.Agent(name="a", model=model, mcp_servers=[server],
                             model_settings=agents.ModelSettings(parallel_tool_calls=False))
        await agents.Runner.run(agent, "go", run_config=agents.RunConfig(tracing_disabled=True))
    outputs = model.tool_outputs()
    denied = {k: v for k, v in outputs.items() if v.startswith("Paybond denied")}
    assert any("wire_money: harbor_denied: operation_not_allowed" in v for v in denied.values())
    assert any("book_hotel: harbor_denied: budget_exceeded" in v for v in denied.values())
    ran = upstream_ran(log)
    assert sorted(ran) == ["book_hotel", "boom", "fail"], ran
    stats = harbor.stats()
    assert stats["decisions_consumed"] == 1
    assert stats["decisions_released"] == 2, "a raising tool and an isError result release their spend"
    assert len(evidence_calls) == 1 and evidence_calls[0].startswith("call_") and stats["evidence_accepted"] == 1


async def test_openai_agents_direct_call_tool_is_still_verified(make_binding: BindingFactory, harbor: LocalHarbor, tmp_path: Path) -> None:
    pytest.importorskip("agents")
    from agents.mcp import MCPServerStdio

    from paybond_kit.mcp.openai_agents import guard_mcp_server

    binding, _ = make_binding(["book_hotel"], 500)
    log = tmp_path / "ran.log"
    server = guard_mcp_server(MCPServerStdio(params={"command": sys.executable, "args": [str(UPSTREAM), str(log)], "env": dict(os.environ)}), binding)
    async with server:
        r = await server.call_tool("wire_money", {"to": "x"})
        assert r.is_error is True and "operation_not_allowed" in text(r)
        ok = await server.call_tool("book_hotel", {"hotel": "A"})
        assert ok.is_error is not True
    assert upstream_ran(log) == ["book_hotel"]


# ---------------------------------------------------------------- langchain-mcp-adapters


def _mcp1_python() -> str | None:
    """langchain-mcp-adapters 0.3.2 needs mcp<2, which cannot live next to mcp 2.x / FastMCP 4:
    its tests run in their own venv (``make venv-mcp1``)."""
    explicit = os.environ.get("PAYBOND_MCP1_PYTHON")
    if explicit:
        return explicit
    candidate = HERE.parents[1] / ".venv-mcp1" / "bin" / "python"
    return str(candidate) if candidate.exists() else None


def test_langchain_mcp_adapters_interceptor_in_its_own_venv() -> None:
    try:
        import langchain_mcp_adapters.tools  # noqa: F401
    except Exception:
        pass
    else:  # pragma: no cover - an environment with mcp<2 runs the file directly
        pytest.skip("langchain-mcp-adapters imports here: tests/test_mcp_langchain.py runs in this venv")
    py = _mcp1_python()
    if py is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide .venv-mcp1 (make venv-mcp1) for the langchain-mcp-adapters tests")
        pytest.skip("no .venv-mcp1 (langchain-mcp-adapters needs mcp<2): make venv-mcp1")
    out = subprocess.run(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "test_mcp_langchain.py")],
        cwd=HERE.parent, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout, out.stdout[-2000:]


async def test_per_tool_spend_mapping_and_approval_retry_by_call_id(
    harbor: LocalHarbor, session: pk.ServiceAccountHarborSession
) -> None:
    intent = harbor.create_intent(allowed_tools=["book_hotel", "search"], amount_cents=1000, approval_threshold_cents=200)
    counter = Counter()
    server = lowlevel_server(counter)
    server.middleware.append(PaybondServerMiddleware(
        harbor=session, requested_spend_cents={"book_hotel": lambda args: args["cost_cents"], "search": 0}))
    meta = capability_meta(intent.intent_id, intent.capability_token, call_id="call-approve")
    async with Client(server) as c:
        free = await c.call_tool("search", {"q": "x"}, meta=meta_for(intent))
        assert free.is_error is not True
        broken = await c.call_tool("book_hotel", {"hotel": "A"}, meta=meta_for(intent))
        assert broken.is_error is True and "spend_resolver_failed" in text(broken) and "KeyError" in text(broken)
        pending = await c.call_tool("book_hotel", {"hotel": "A", "cost_cents": 300}, meta=meta)
        assert pending.is_error is True and text(pending).startswith("Paybond denied book_hotel: approval_required")
        assert counter.calls == ["search"]
        approval_id = text(pending).rsplit("(approval request ", 1)[1].rstrip(")")
        harbor.decide_approval(approval_id, "approve")
        approved = await c.call_tool("book_hotel", {"hotel": "A", "cost_cents": 300}, meta=meta)
        assert approved.is_error is not True
    assert counter.calls == ["search", "book_hotel"]
    assert harbor.stats()["decisions_consumed"] == 2


def test_importing_paybond_kit_mcp_imports_no_mcp_package() -> None:
    code = "import sys, paybond_kit.mcp; print(sorted(m for m in ('mcp', 'mcp_types', 'fastmcp', 'agents', 'langchain_mcp_adapters') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
