"""Ours only: a token-refresh storm across JWT expiry (exchanges, p99) and RSS growth over guarded calls.

Usage: python py_storm_mem.py FIXED_GATEWAY FIXED_HARBOR
The storm uses an embedded dev server with a 3-second JWT; memory uses the fixed-answer server.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def storm() -> dict[str, float]:
    import paybond_kit as pk
    from paybond_kit.testing import LocalHarbor

    async with LocalHarbor(jwt_ttl_seconds=3) as h:
        async with await pk.ServiceAccountHarborSession.open(gateway_base_url=h.gateway_url, api_key=h.api_key, harbor_base_url=h.harbor_url, refresh_skew_seconds=0.5) as s:
            i = h.create_intent(allowed_tools=["search"], amount_cents=10**9)
            b = pk.CapabilityBinding(s.harbor, i.intent_id, i.capability_token)
            await asyncio.sleep(3.1)
            lat: list[float] = []

            async def one(k: int) -> None:
                t = time.perf_counter()
                d = await b.authorize("search", f"c{k}", {}, requested_spend_cents=1)
                lat.append((time.perf_counter() - t) * 1e3)
                assert d.allowed, d

            await asyncio.gather(*(one(k) for k in range(1000)))
            lat.sort()
            return {"exchanges_after_expiry": h.stats()["exchanges"] - 1, "p99_ms": lat[989]}


async def memory(gateway: str, harbor: str) -> dict[str, float]:
    import paybond_kit as pk

    s = await pk.ServiceAccountHarborSession.open(gateway_base_url=gateway, api_key="paybond_sk_sandbox_bench", harbor_base_url=harbor)
    b = pk.CapabilityBinding(s.harbor, "11111111-1111-4111-8111-111111111111", "bench-token")
    n = [0]

    async def worker(count: int) -> None:
        for _ in range(count):
            n[0] += 1
            d = await b.authorize("search", f"c{n[0]}", {"q": "x"})
            assert d.allowed

    async def run(total: int) -> None:
        await asyncio.gather(*(worker(total // 64) for _ in range(64)))

    await run(1_024)
    gc.collect()
    after_1k = rss_kb()
    await run(100_032)
    gc.collect()
    after_100k = rss_kb()
    await s.aclose()
    return {"rss_after_1k_mb": after_1k / 1024, "rss_after_100k_mb": after_100k / 1024, "growth_mb": (after_100k - after_1k) / 1024}


async def main() -> None:
    out = {"storm": await storm(), "memory": await memory(sys.argv[1], sys.argv[2])}
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
