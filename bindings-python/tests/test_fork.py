"""Fork safety: a session made in the parent keeps working in a ``multiprocessing`` "fork"
child (gunicorn / multiprocessing users), async and sync: the child gets its own tokio runtime
and HTTP connections instead of hanging on the parent's."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import sys
from typing import Any

import pytest

import paybond_kit as pk

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork start method: Linux only here")


def _child(binding: pk.CapabilityBinding, q: Any) -> None:
    try:
        d = asyncio.run(binding.authorize("search", f"child-{os.getpid()}", {}, requested_spend_cents=5))
        s = binding.authorize_sync("search", f"child-sync-{os.getpid()}", {}, requested_spend_cents=5)
        q.put((d.decision, d.code, s.decision, s.code))
    except BaseException as e:  # report, never hang the parent
        q.put(("error", repr(e), None, None))


async def test_a_session_from_the_parent_works_in_a_fork_child(make_binding: Any) -> None:
    binding, _ = make_binding(["search"], 1000)
    # Use the session in the parent first: its runtime threads and pooled connections exist.
    assert (await binding.authorize("search", "parent-1", {}, requested_spend_cents=5)).allowed
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(binding, q))
    p.start()
    try:
        got = await asyncio.to_thread(q.get, True, 30)  # a bounded wait for the child's answer
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()
    assert got == ("allow", None, "allow", None), got
    # The parent is untouched.
    assert (await binding.authorize("search", "parent-2", {}, requested_spend_cents=5)).allowed
