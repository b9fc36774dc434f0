"""Python client benchmarks; run once per kit (ours or the reference) in that kit's venv.

Prints one JSON object. Usage:
  python py_bench.py KIT GATEWAY HARBOR API_KEY INTENT TOKEN [--seq N] [--conc N] [--toolnode N] [--sign N]
KIT is "ours" or "ref".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import time
import uuid
from typing import Any, Awaitable, Callable


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[round((len(s) - 1) * p)]


async def timed_seq(fn: Callable[[], Awaitable[Any]], n: int) -> dict[str, float]:
    for _ in range(min(100, n)):
        await fn()
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        lat.append((time.perf_counter() - t) * 1e6)
    return {"p50_us": statistics.median(lat), "p99_us": pct(lat, 0.99)}


async def timed_conc(fn: Callable[[], Awaitable[Any]], total: int, workers: int = 64) -> float:
    per = total // workers

    async def worker() -> None:
        for _ in range(per):
            await fn()

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return per * workers / (time.perf_counter() - t)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kit", choices=["ours", "ref"])
    ap.add_argument("gateway")
    ap.add_argument("harbor")
    ap.add_argument("api_key")
    ap.add_argument("intent")
    ap.add_argument("token")
    ap.add_argument("--seq", type=int, default=2000)
    ap.add_argument("--conc", type=int, default=6400)
    ap.add_argument("--toolnode", type=int, default=0)
    ap.add_argument("--sign", type=int, default=0)
    a = ap.parse_args()
    out: dict[str, Any] = {"kit": a.kit}

    if a.kit == "ours":
        import paybond_kit as pk

        s = await pk.ServiceAccountHarborSession.open(gateway_base_url=a.gateway, api_key=a.api_key, harbor_base_url=a.harbor)
        h = s.harbor

        async def verify() -> Any:
            r = await h.verify_capability(intent_id=a.intent, token=a.token, operation="search", requested_spend_cents=0)
            assert r.allow
    else:
        from paybond_kit import ServiceAccountHarborSession  # the reference kit's own name

        s = await ServiceAccountHarborSession.open(gateway_base_url=a.gateway, api_key=a.api_key, harbor_base_url=a.harbor)
        h = s.harbor
        iid = uuid.UUID(a.intent)

        async def verify() -> Any:
            r = await h.verify_capability(intent_id=iid, token=a.token, operation="search", requested_spend_cents=0)
            assert r.allow

    out["verify"] = await timed_seq(verify, a.seq)
    out["verify"]["rps_64"] = await timed_conc(verify, a.conc)

    if a.toolnode:
        from langchain_core.messages import AIMessage
        from langchain_core.tools import tool
        from langgraph.prebuilt import ToolNode

        @tool
        def search(q: str) -> str:
            """Search."""
            return "ok"

        if a.kit == "ours":
            from paybond_kit.langgraph import paybond_awrap_tool_call

            b = pk.CapabilityBinding(h, a.intent, a.token)
            wrap = paybond_awrap_tool_call(b)
        else:
            from paybond_kit.capability_binding import PaybondCapabilityBinding
            from paybond_kit.langgraph_hooks import paybond_awrap_tool_call_capability

            wrap = paybond_awrap_tool_call_capability(PaybondCapabilityBinding(harbor=h, intent_id=uuid.UUID(a.intent), capability_token=a.token))
        from langgraph.graph import END, START, MessagesState, StateGraph

        g = StateGraph(MessagesState)
        g.add_node("tools", ToolNode([search], awrap_tool_call=wrap))
        g.add_edge(START, "tools")
        g.add_edge("tools", END)
        graph = g.compile()
        n = [0]

        async def one() -> Any:
            n[0] += 1
            msg = AIMessage(content="", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": f"c{n[0]}", "type": "tool_call"}])
            res = await graph.ainvoke({"messages": [msg]})
            assert res["messages"][-1].status != "error", res

        out["toolnode"] = await timed_seq(one, a.toolnode)

    if a.sign:
        payload = {"status": "done", "cost_cents": 18700, "items": [1, 2, 3]}
        seed = bytes(range(32))
        if a.kit == "ours":
            sign = lambda: pk.sign_payee_evidence_binding(tenant_id="t1", intent_id=a.intent, payee_did="did:payee:1", payload=payload, artifacts_blake3_hex=[], submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=seed)  # noqa: E731
        else:
            from paybond_kit.signing import sign_payee_evidence_binding

            iid = uuid.UUID(a.intent)
            sign = lambda: sign_payee_evidence_binding(tenant_id="t1", intent_id=iid, payee_did="did:payee:1", payload=payload, artifacts_blake3_hex=[], submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=seed)  # noqa: E731
        for _ in range(200):
            sign()
        t = time.perf_counter()
        for _ in range(a.sign):
            sign()
        out["sign_per_s"] = a.sign / (time.perf_counter() - t)

    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await s.aclose()
    print(json.dumps(out))




if __name__ == "__main__":
    asyncio.run(main())
