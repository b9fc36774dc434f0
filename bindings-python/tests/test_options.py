"""Session options: the documented defaults on every open, and each option reaching the core."""

from __future__ import annotations

import inspect
import time
from typing import Any, Callable

import pytest

import paybond_kit as pk
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory

DEFAULTS = {
    "timeout_seconds": 10.0,
    "deadline_seconds": 30.0,
    "max_retries": 3,
    "max_retry_after_seconds": 30.0,
    "refresh_skew_seconds": 90.0,
    "max_response_bytes": 1048576,
    "proxy_url": None,
}

OPENS: list[Callable[..., Any]] = [
    pk.ServiceAccountHarborSession.open,
    pk.ServiceAccountHarborSession.open_sync,
    pk.ServiceAccountSignalSession.open,
    pk.ServiceAccountSignalSession.open_sync,
    pk.GatewayHarborTokenProvider.__init__,
]


@pytest.mark.parametrize("fn", OPENS, ids=lambda f: f.__qualname__)
def test_every_open_has_the_documented_defaults(fn: Callable[..., Any]) -> None:
    params = inspect.signature(fn).parameters
    got = {k: params[k].default for k in DEFAULTS if k in params}
    assert got == DEFAULTS
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in DEFAULTS)
    doc = inspect.getdoc(fn) or ""
    assert "Raises" in doc or "errors" in doc, f"{fn.__qualname__} does not document what it raises"


async def _open(h: LocalHarbor, **kw: Any) -> pk.ServiceAccountHarborSession:
    return await pk.ServiceAccountHarborSession.open(gateway_base_url=h.gateway_url, api_key=h.api_key, harbor_base_url=h.harbor_url, **kw)


async def test_max_retries_bounds_the_attempts(harbor: LocalHarbor) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    async with await _open(harbor, timeout_seconds=0.2, deadline_seconds=5.0, max_retries=1) as s:
        harbor.add_fault("/verify", "latency", latency_ms=2000, count=3)
        t0 = time.monotonic()
        with pytest.raises(pk.PaybondTimeoutError) as e:
            await s.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1)
        assert e.value.attempts == 1 and time.monotonic() - t0 < 1.5


async def test_retry_after_is_capped_by_the_option_and_never_waits_past_the_deadline(harbor: LocalHarbor) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    verify = dict(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1)
    # Capped at 0.1 s: the retry comes at once and succeeds.
    async with await _open(harbor, deadline_seconds=5.0, max_retry_after_seconds=0.1) as s:
        harbor.add_fault("/verify", "status", status=429, retry_after=30, count=1)
        t0 = time.monotonic()
        assert (await s.harbor.verify_capability(**verify)).allow
        assert time.monotonic() - t0 < 2.0
    # Default cap (30 s) but a 2 s deadline: a wait past the deadline ends the retries now.
    async with await _open(harbor, deadline_seconds=2.0) as s:
        harbor.add_fault("/verify", "status", status=429, retry_after=30, count=1)
        t0 = time.monotonic()
        with pytest.raises(pk.PaybondError) as e:
            await s.harbor.verify_capability(**verify)
        assert e.value.code in ("http_error", "timeout") and time.monotonic() - t0 < 2.5


async def test_max_response_bytes_caps_answers(harbor: LocalHarbor, make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"], evidence=True)
    for n in range(12):
        await binding.authorize("search", f"c{n}", {})
        await binding.submit_evidence("search", f"c{n}", {"n": n, "pad": "x" * 64})
    async with await _open(harbor) as s:
        assert len((await s.harbor.ledger_events(limit=64)).entries) == 12
    async with await _open(harbor, max_response_bytes=1024) as s:
        with pytest.raises(pk.InvalidResponseError):
            await s.harbor.ledger_events(limit=64)
        assert (await s.harbor.ledger_tip()).seq == 12  # small answers still fit


async def test_a_guarded_call_is_denied_within_the_deadline(harbor: LocalHarbor) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    async with await _open(harbor, timeout_seconds=0.4, deadline_seconds=1.0, max_retries=10) as s:
        b = pk.CapabilityBinding(s.harbor, i.intent_id, i.capability_token)
        harbor.add_fault("/verify", "latency", latency_ms=10_000, count=20)
        t0 = time.monotonic()
        d = await b.authorize("search", "c1", {})
        took = time.monotonic() - t0
    assert (d.allowed, d.code) == (False, "timeout")
    assert took < 1.0 + 0.75, f"deny took {took:.2f} s with a 1 s deadline"
