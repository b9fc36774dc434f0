"""Fixtures: a real dev server per test, sessions and bindings on it (no mocks)."""

from __future__ import annotations

from typing import AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.testing import DevIntent, LocalHarbor


@pytest.fixture
def harbor() -> Iterator[LocalHarbor]:
    with LocalHarbor() as h:
        yield h


@pytest_asyncio.fixture
async def session(harbor: LocalHarbor) -> AsyncIterator[ServiceAccountHarborSession]:
    async with await ServiceAccountHarborSession.open(
        gateway_base_url=harbor.gateway_url,
        api_key=harbor.api_key,
        harbor_base_url=harbor.harbor_url,
        timeout_seconds=1.0,
        deadline_seconds=2.5,
    ) as s:
        yield s


BindingFactory = Callable[..., tuple[CapabilityBinding, DevIntent]]


@pytest.fixture
def make_binding(harbor: LocalHarbor, session: ServiceAccountHarborSession) -> BindingFactory:
    """``make_binding(tools, amount, evidence=False)`` → (binding, intent)."""

    def make(tools: list[str], amount_cents: int = 1000, evidence: bool = False) -> tuple[CapabilityBinding, DevIntent]:
        intent = harbor.create_intent(allowed_tools=tools, amount_cents=amount_cents)
        kw = {}
        if evidence:
            kw = {"payee_did": intent.payee_did, "payee_signing_seed": intent.payee_signing_seed_hex}
        return CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token, **kw), intent

    return make


# Every fault kind the dev server injects on /verify, and the deny code it must produce.
VERIFY_FAULTS = [
    (dict(kind="status", status=500, count=3), "http_error"),
    (dict(kind="status", status=503, count=3), "http_error"),
    (dict(kind="status", status=400), "http_error"),
    (dict(kind="latency", latency_ms=2500, count=3), "timeout"),
    (dict(kind="drop", count=3), "transport_error"),
    (dict(kind="drop_after", count=3), "transport_error"),
    (dict(kind="truncate"), "invalid_response"),
    (dict(kind="malformed"), "invalid_response"),
    (dict(kind="wrong_tenant"), "tenant_mismatch"),
    (dict(kind="wrong_intent"), "tenant_mismatch"),
    (dict(kind="non_boolean_allow"), "invalid_response"),
    (dict(kind="remove_field", field="audit_id"), "invalid_response"),
    (dict(kind="set_field", field="allow", value="true"), "invalid_response"),
]
