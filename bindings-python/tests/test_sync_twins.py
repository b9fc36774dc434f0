"""Every public coroutine method of the public classes has a blocking ``_sync`` twin with the
same parameters (the README promises it)."""

from __future__ import annotations

import inspect

import paybond_kit as pk

CLASSES = [pk.ServiceAccountHarborSession, pk.HarborClient, pk.GatewayHarborTokenProvider,
           pk.ServiceAccountSignalSession, pk.GatewaySignalClient, pk.CapabilityBinding]


def test_every_async_method_has_a_sync_twin() -> None:
    missing, differ = [], []
    for cls in CLASSES:
        for name, fn in inspect.getmembers(cls):
            if name.startswith("_") or not inspect.iscoroutinefunction(inspect.unwrap(getattr(fn, "__func__", fn))):
                continue
            twin = getattr(cls, "close" if name == "aclose" else f"{name}_sync", None)  # aclose pairs with close
            if twin is None:
                missing.append(f"{cls.__name__}.{name}")
                continue
            a = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
            b = [p for p in inspect.signature(twin).parameters if p not in ("self", "cls")]
            if a != b:
                differ.append(f"{cls.__name__}.{name}: {a} vs {b}")
    assert not missing, f"no _sync twin: {missing}"
    assert not differ, differ
