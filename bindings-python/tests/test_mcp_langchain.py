"""langchain-mcp-adapters (0.3.2, which needs mcp<2) with the Paybond tool interceptor, against a
real MCP server over the SDK's in-memory transport and the real dev server. Runs in .venv-mcp1
(``make venv-mcp1``); tests/test_mcp.py starts it there."""

from __future__ import annotations

from typing import Any

import pytest

lma_tools = pytest.importorskip("langchain_mcp_adapters.tools", reason="langchain-mcp-adapters needs mcp<2 (.venv-mcp1)")
from mcp.server.fastmcp import FastMCP  # noqa: E402
from mcp.shared.memory import create_connected_server_and_client_session  # noqa: E402

import paybond_kit as pk  # noqa: E402
from paybond_kit.mcp.langchain import paybond_tool_interceptor  # noqa: E402
from paybond_kit.testing import LocalHarbor  # noqa: E402

from .conftest import BindingFactory  # noqa: E402


def server(ran: list[str]) -> FastMCP:
    app = FastMCP("travel")

    @app.tool()
    def book_hotel(hotel: str, cost_cents: int) -> str:
        ran.append("book_hotel")
        return f"booked {hotel} for {cost_cents}"

    @app.tool()
    def wire_money(to: str) -> str:
        ran.append("wire_money")
        return f"sent to {to}"

    @app.tool()
    def boom() -> str:
        ran.append("boom")
        raise ValueError("tool boom")

    return app


def content_text(msg: Any) -> str:
    c = msg.content
    return c if isinstance(c, str) else "".join(b.get("text", "") for b in c if isinstance(b, dict))


def call(name: str, args: dict[str, Any], k: int) -> dict[str, Any]:
    return {"type": "tool_call", "name": name, "args": args, "id": f"call_{k}"}


async def test_interceptor_guards_every_mcp_tool(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book_hotel", "boom"], 500, evidence=True)
    ran: list[str] = []
    evidence: list[str] = []
    events: list[Any] = []
    interceptor = paybond_tool_interceptor(
        binding, lambda c: int(c.arguments.get("cost_cents", 10)),
        evidence=lambda c, result: evidence.append(c.call_id) or {"tool": c.tool_name},
        on_decision=events.append,
    )
    async with create_connected_server_and_client_session(server(ran)._mcp_server) as session:
        tools = {t.name: t for t in await lma_tools.load_mcp_tools(session, tool_interceptors=[interceptor])}
        ok = await tools["book_hotel"].ainvoke(call("book_hotel", {"hotel": "Inn", "cost_cents": 300}, 1))
        assert ok.status != "error" and "booked Inn" in content_text(ok)
        over = await tools["book_hotel"].ainvoke(call("book_hotel", {"hotel": "Spa", "cost_cents": 300}, 2))
        assert over.status == "error"
        assert content_text(over).startswith("Paybond denied book_hotel: harbor_denied: budget_exceeded")
        wire = await tools["wire_money"].ainvoke(call("wire_money", {"to": "x"}, 3))
        assert wire.status == "error" and "operation_not_allowed" in content_text(wire)
        boom = await tools["boom"].ainvoke(call("boom", {}, 4))
        assert boom.status == "error" and "Paybond denied" not in content_text(boom)
    assert ran == ["book_hotel", "boom"], "the over-budget and the disallowed call never reached the server"
    stats = harbor.stats()
    assert stats["decisions_consumed"] == 1
    assert stats["decisions_released"] == 1, "the tool's error result released its spend"
    assert len(evidence) == 1 and stats["evidence_accepted"] == 1, "evidence only after success"
    assert [e.ran for e in events] == [True, False, False, True]


async def test_a_raising_handler_releases_and_sends_no_evidence(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["book_hotel"], 500, evidence=True)
    ran: list[str] = []
    evidence: list[str] = []

    async def broken_transport(request: Any, handler: Any) -> Any:
        raise ConnectionError("transport lost")

    interceptor = paybond_tool_interceptor(binding, 100, evidence=lambda c, r: evidence.append(c.call_id) or {})
    async with create_connected_server_and_client_session(server(ran)._mcp_server) as session:
        tools = {t.name: t for t in await lma_tools.load_mcp_tools(session, tool_interceptors=[interceptor, broken_transport])}
        with pytest.raises(ConnectionError):
            await tools["book_hotel"].ainvoke(call("book_hotel", {"hotel": "Inn", "cost_cents": 1}, 1))
    assert ran == [] and evidence == []
    stats = harbor.stats()
    assert stats["decisions_released"] == 1 and stats["decisions_consumed"] == 0 and stats["evidence_accepted"] == 0


def test_interceptor_needs_a_binding() -> None:
    with pytest.raises(pk.InvalidArgumentError) as e:
        paybond_tool_interceptor(None)  # type: ignore[arg-type]
    assert e.value.field == "binding"
