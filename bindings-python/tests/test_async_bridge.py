"""How async calls hand their results to asyncio: cancellation, many loops, exit with calls in flight."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

import paybond_kit as pk
from paybond_kit.testing import DevIntent, LocalHarbor


async def _verify(h: pk.HarborClient, intent_id: str, token: str) -> pk.VerifyResult:
    return await h.verify_capability(intent_id=intent_id, token=token, operation="search", requested_spend_cents=0)


async def _verify_many(harbor: LocalHarbor, intent: DevIntent, n: int) -> list[bool]:
    """Opens a session on the running loop and makes ``n`` concurrent verifies."""
    async with await pk.ServiceAccountHarborSession.open(
        gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
    ) as s:
        rs = await asyncio.gather(*(_verify(s.harbor, intent.intent_id, intent.capability_token) for _ in range(n)))
        return [r.allow for r in rs]


async def test_cancelled_call_stops_and_the_next_one_works(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    intent = harbor.create_intent(allowed_tools=["search"], amount_cents=1000)
    harbor.add_fault("/verify", "latency", latency_ms=1500, count=1)
    t0 = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(_verify(session.harbor, intent.intent_id, intent.capability_token), 0.1)
    r = await _verify(session.harbor, intent.intent_id, intent.capability_token)
    assert r.allow
    assert time.monotonic() - t0 < 1.4, "the next call waited for the cancelled one"


async def test_concurrent_results_reach_their_own_callers(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    intents = [harbor.create_intent(allowed_tools=["search"], amount_cents=1000) for _ in range(4)]
    calls = [_verify(session.harbor, i.intent_id, i.capability_token) for i in intents for _ in range(50)]
    results = await asyncio.gather(*calls)
    assert [r.intent_id for r in results] == [i.intent_id for i in intents for _ in range(50)]
    harbor.add_fault("/verify", "status", status=400, count=20)
    bad = [_verify(session.harbor, intents[0].intent_id, intents[0].capability_token) for _ in range(20)]
    errs = await asyncio.gather(*bad, return_exceptions=True)
    assert all(isinstance(e, pk.HarborHttpError) and e.status_code == 400 for e in errs), errs


def test_each_event_loop_and_thread_gets_its_results(harbor: LocalHarbor) -> None:
    intent = harbor.create_intent(allowed_tools=["search"], amount_cents=10_000)
    for _ in range(3):  # a fresh loop each time
        assert all(asyncio.run(_verify_many(harbor, intent, 20)))
    out: list[list[bool]] = []
    threads = [threading.Thread(target=lambda: out.append(asyncio.run(_verify_many(harbor, intent, 20)))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(out) == 3 and all(all(x) for x in out)


EXIT_SCRIPT = """
import asyncio, paybond_kit as pk
from paybond_kit.testing import DevIntent, LocalHarbor

h = LocalHarbor().start()
i = h.create_intent(allowed_tools=["search"], amount_cents=10**9)
h.add_fault("/verify", "latency", latency_ms=40, probability=1.0)

async def main():
    s = await pk.ServiceAccountHarborSession.open(gateway_base_url=h.gateway_url, api_key=h.api_key, harbor_base_url=h.harbor_url)
    for _ in range(200):
        asyncio.ensure_future(s.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=0))
    await asyncio.sleep(0.04)  # return while answers are arriving: asyncio.run cancels the rest

asyncio.run(main())
print("exited")
"""


def test_interpreter_exits_cleanly_with_calls_in_flight() -> None:
    for _ in range(4):
        r = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "exited", (r.returncode, r.stderr[-2000:])
        assert "Fatal Python error" not in r.stderr, r.stderr[-2000:]


def test_no_pool_of_completion_threads() -> None:
    # Results go back through the loop's own queue, not one thread per finished call.
    with LocalHarbor() as h:
        intent = h.create_intent(allowed_tools=["search"], amount_cents=10**6)
        assert all(asyncio.run(_verify_many(h, intent, 256)))
    threads = len(os.listdir(f"/proc/{os.getpid()}/task")) if sys.platform == "linux" else 0
    assert threads < 32, f"{threads} threads after 256 concurrent calls"



def test_loop_without_add_reader_still_gets_results(harbor: LocalHarbor) -> None:
    # Windows' proactor loop cannot watch a pipe; the kit then wakes it with call_soon_threadsafe.
    class NoReaderLoop(asyncio.SelectorEventLoop):
        def add_reader(self, *args: object, **kw: object) -> None:
            raise NotImplementedError

    intent = harbor.create_intent(allowed_tools=["search"], amount_cents=10_000)
    loop = NoReaderLoop()
    try:
        assert all(loop.run_until_complete(asyncio.wait_for(_verify_many(harbor, intent, 30), 10)))
    finally:
        loop.close()
