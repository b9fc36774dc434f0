"""A Python bench client, driven block by block so run.py can interleave it finely with the others.

Runs in one kit's venv (ours or the reference: both install as `paybond_kit`). Usage:
  python py_bench.py KIT GATEWAY HARBOR API_KEY INTENT TOKEN [--toolnode]
KIT is "ours" or "ref". Prints "ready", then answers one JSON line per command read from stdin:
  seq N       N sequential verifies -> {"lat": [µs, ...]}
  conc N      N verifies by 64 concurrent tasks -> {"rps": calls/s}
  sign N      N evidence signatures -> {"sign_per_s": calls per CPU-second of this thread}
  toolnode N  N scripted LangGraph ToolNode calls (needs --toolnode) -> {"lat": [µs, ...]}
  quit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any, Awaitable, Callable


async def seq(fn: Callable[[], Awaitable[Any]], n: int) -> dict[str, Any]:
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        lat.append((time.perf_counter() - t) * 1e6)
    return {"lat": lat}


async def conc(fn: Callable[[], Awaitable[Any]], total: int, workers: int = 64) -> dict[str, Any]:
    per = max(1, total // workers)

    async def worker() -> None:
        for _ in range(per):
            await fn()

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return {"rps": per * workers / (time.perf_counter() - t)}


def make_toolnode(kit: str, h: Any, intent: str, token: str) -> Callable[[], Awaitable[Any]]:
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    @tool
    def search(q: str) -> str:
        """Search."""
        return "ok"

    if kit == "ours":
        import paybond_kit as pk
        from paybond_kit.langgraph import paybond_awrap_tool_call

        wrap = paybond_awrap_tool_call(pk.CapabilityBinding(h, intent, token))
    else:
        from paybond_kit.capability_binding import PaybondCapabilityBinding
        from paybond_kit.langgraph_hooks import paybond_awrap_tool_call_capability

        wrap = paybond_awrap_tool_call_capability(PaybondCapabilityBinding(harbor=h, intent_id=uuid.UUID(intent), capability_token=token))
    g = StateGraph(MessagesState)
    g.add_node("tools", ToolNode([search], awrap_tool_call=wrap))
    g.add_edge(START, "tools")
    g.add_edge("tools", END)
    graph = g.compile()
    n = [0]

    async def one() -> None:
        n[0] += 1
        msg = AIMessage(content="", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": f"c{n[0]}", "type": "tool_call"}])
        res = await graph.ainvoke({"messages": [msg]})
        assert res["messages"][-1].status != "error", res

    return one


def make_sign(kit: str, intent: str) -> Callable[[], Any]:
    payload = {"status": "done", "cost_cents": 18700, "items": [1, 2, 3]}
    seed = bytes(range(32))
    common = dict(tenant_id="t1", payee_did="did:payee:1", payload=payload, artifacts_blake3_hex=[],
                  submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=seed)
    if kit == "ours":
        import paybond_kit as pk

        return lambda: pk.sign_payee_evidence_binding(intent_id=intent, **common)  # type: ignore[arg-type]
    from paybond_kit.signing import sign_payee_evidence_binding

    iid = uuid.UUID(intent)
    return lambda: sign_payee_evidence_binding(intent_id=iid, **common)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kit", choices=["ours", "ref"])
    ap.add_argument("gateway")
    ap.add_argument("harbor")
    ap.add_argument("api_key")
    ap.add_argument("intent")
    ap.add_argument("token")
    ap.add_argument("--toolnode", action="store_true")
    a = ap.parse_args()

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

    toolnode = make_toolnode(a.kit, h, a.intent, a.token) if a.toolnode else None
    sign = make_sign(a.kit, a.intent)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        cmd, n = line[0], int(line[1])
        if cmd == "seq":
            out = await seq(verify, n)
        elif cmd == "conc":
            out = await conc(verify, n)
        elif cmd == "toolnode" and toolnode is not None:
            out = await seq(toolnode, n)
        elif cmd == "sign":
            # CPU time of this thread: time the box gave to other processes does not count.
            t = time.thread_time()
            for _ in range(n):
                sign()
            out = {"sign_per_s": n / (time.thread_time() - t)}
        else:
            out = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(out), flush=True)
    await s.aclose()


if __name__ == "__main__":
    asyncio.run(main())
