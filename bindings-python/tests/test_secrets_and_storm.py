"""No secret in repr/str of any public object or exception; token-refresh storm → one exchange."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import paybond_kit as pk
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory


async def test_no_secret_in_repr_str_or_logs(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, make_binding: BindingFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="paybond_kit")
    pk.set_log_level(logging.DEBUG)
    try:
        binding, intent = make_binding(["search"], evidence=True)
        jwt = await session.token_provider.bearer()
        secrets = [harbor.api_key, jwt, intent.capability_token, intent.payee_signing_seed_hex or "x" * 64]
        objs: list[Any] = [harbor, session, session.harbor, session.token_provider, binding, intent]
        d = await binding.authorize("search", "c1", {"q": 1})
        objs += [d, await binding.submit_evidence("search", "c1", {"ok": True})]
        objs += [await session.harbor.verify_capability(intent_id=intent.intent_id, token=intent.capability_token, operation="search", requested_spend_cents=1)]
        objs += [await session.harbor.ledger_tip(), await session.harbor.ledger_events(), await session.harbor.ledger_authority()]
        sig = await pk.ServiceAccountSignalSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key)
        objs += [sig, sig.signal, sig.principal, await sig.signal.reputation_receipt(intent.payee_did)]
        objs += [session._s, session.harbor._h, binding._g]  # the native handles too
        # Errors, including Harbor bodies that echo what the kit sent.
        sent = " ".join(secrets[:3])
        harbor.add_fault("/verify", "status", status=400, body={"echo": sent, "auth": f"Bearer {jwt}"})
        with pytest.raises(pk.HarborHttpError) as e1:
            await session.harbor.verify_capability(intent_id=intent.intent_id, token=intent.capability_token, operation="search", requested_spend_cents=1)
        harbor.add_fault("/v1/auth/harbor-access", "status", status=403, body={"leak": sent})
        with pytest.raises(pk.GatewayAuthError) as e2:
            await session.token_provider.force_rotate()
        with pytest.raises(pk.InvalidArgumentError) as e3:
            pk.CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token, payee_did="d", payee_signing_seed="zz")
        harbor.add_fault("/verify", "drop", count=3)
        denied = await binding.authorize("search", "c9", {})
        objs += [e1.value, e2.value, e3.value, denied]
        for o in objs:
            for text in (repr(o), str(o)):
                for s in secrets:
                    assert s not in text, f"secret in {type(o).__name__}: {text[:300]}"
        for rec in caplog.records:
            for s in secrets:
                assert s not in rec.getMessage()
        assert any("paybond_kit" in r.name and "request" in r.getMessage() for r in caplog.records), "core events reached logging"
        assert "***" in e1.value.body_text
        await sig.aclose()
    finally:
        pk.set_log_level(logging.WARNING)


async def test_refresh_storm_makes_one_exchange() -> None:
    async with LocalHarbor(jwt_ttl_seconds=3) as h:
        async with await pk.ServiceAccountHarborSession.open(gateway_base_url=h.gateway_url, api_key=h.api_key, harbor_base_url=h.harbor_url, refresh_skew_seconds=0.5) as s:
            i = h.create_intent(allowed_tools=["search"], amount_cents=1_000_000)
            b = pk.CapabilityBinding(s.harbor, i.intent_id, i.capability_token)
            await asyncio.sleep(3.1)  # past the JWT's expiry
            ds = await asyncio.gather(*(b.authorize("search", f"c{k}", {}, requested_spend_cents=1) for k in range(200)))
            assert all(d.allowed for d in ds)
            assert h.stats()["exchanges"] == 2
            assert s.token_provider.exchange_count == 2


async def test_tenant_change_on_refresh_poisons_the_session(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"])
    assert harbor.rebind_api_key(harbor.api_key, "tenant-evil")
    with pytest.raises(pk.GatewayAuthError):
        await session.rotate_harbor_token()
    d = await binding.authorize("search", "c", {})
    assert (d.allowed, d.code) == (False, "gateway_auth")
    assert session.tenant_id == "tenant-dev"
