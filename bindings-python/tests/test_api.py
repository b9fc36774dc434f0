"""The public API against a real in-process dev server."""

from __future__ import annotations

import asyncio
import pickle
import uuid

import pytest

import paybond_kit as pk
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory


async def test_verify_allow_deny_and_typed_results(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    assert session.tenant_id == harbor.tenant_id == session.harbor.tenant_id
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    r = await session.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=30)
    assert isinstance(r, pk.VerifyResult) and r.allow is True and r.remaining_cents == 70
    uuid.UUID(r.audit_id)
    with pytest.raises(AttributeError):
        r.allow = False  # type: ignore[misc]
    r = await session.harbor.verify_capability(intent_id=uuid.UUID(i.intent_id), token=i.capability_token, operation="wire", requested_spend_cents=1)
    assert (r.allow, r.code) == (False, "operation_not_allowed")
    r = await asyncio.to_thread(
        lambda: session.harbor.verify_capability_sync(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=71)
    )
    assert (r.allow, r.code) == (False, "budget_exceeded")


async def test_bad_input_names_the_field(session: pk.ServiceAccountHarborSession, harbor: LocalHarbor) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    with pytest.raises(pk.InvalidArgumentError) as e:
        await session.harbor.verify_capability(intent_id="not-a-uuid", token=i.capability_token, operation="search", requested_spend_cents=1)
    assert e.value.field == "intent_id" and "UUID" in str(e.value)
    with pytest.raises(pk.InvalidArgumentError) as e:
        await session.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=-5)
    assert e.value.field == "requested_spend_cents"
    assert isinstance(e.value, ValueError)
    with pytest.raises(pk.InvalidArgumentError) as e:
        pk.CapabilityBinding(session.harbor, i.intent_id, i.capability_token, payee_did="did:x")
    assert e.value.field == "payee_signing_seed"
    with pytest.raises(pk.InvalidArgumentError) as e:
        pk.sign_payee_evidence_binding(tenant_id="t", intent_id=i.intent_id, payee_did="d", payload={}, submitted_at_rfc3339="yesterday", payee_signing_seed=b"\x01" * 32)
    assert e.value.field == "submitted_at_rfc3339"  # the Python parameter name (the core says submitted_at)


async def test_token_for_another_intent_is_refused_before_sending(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    a = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    b = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    before = harbor.stats()["verifies"]
    with pytest.raises(pk.TokenIntentMismatchError):
        await session.harbor.verify_capability(intent_id=b.intent_id, token=a.capability_token, operation="search", requested_spend_cents=1)
    with pytest.raises(pk.TokenIntentMismatchError):
        pk.CapabilityBinding(session.harbor, b.intent_id, a.capability_token)
    assert harbor.stats()["verifies"] == before


async def test_session_open_errors(harbor: LocalHarbor) -> None:
    with pytest.raises(pk.InsecureUrlError):
        await pk.ServiceAccountHarborSession.open(gateway_base_url="http://gateway.example.com", api_key=harbor.api_key, harbor_base_url=harbor.harbor_url)
    with pytest.raises(pk.GatewayAuthError) as e:
        await pk.ServiceAccountHarborSession.open(gateway_base_url=harbor.gateway_url, api_key="paybond_sk_sandbox_nope", harbor_base_url=harbor.harbor_url)
    assert e.value.status_code == 401
    with pytest.raises(pk.TenantBindingError):
        await pk.ServiceAccountHarborSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url, expected_tenant_id="tenant-evil")
    with pytest.raises(pk.InvalidArgumentError):
        await pk.ServiceAccountHarborSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url, timeout_seconds=0)


async def test_errors_are_typed_carry_fields_and_pickle(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    harbor.add_fault("/verify", "status", status=418)
    with pytest.raises(pk.HarborHttpError) as e:
        await session.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1)
    err = e.value
    assert (err.status_code, err.code) == (418, "http_error")
    assert err.url.endswith("/verify") and "injected" in err.body_text
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is pk.HarborHttpError and (back.status_code, back.url, back.body_text, str(back)) == (err.status_code, err.url, err.body_text, str(err))
    for cls in (pk.TransportError, pk.PaybondTimeoutError, pk.InvalidResponseError, pk.TenantBindingError, pk.GatewayAuthError, pk.SignalHttpError, pk.SignatureInvalidError, pk.SessionClosedError, pk.InsecureUrlError):
        assert issubclass(cls, pk.PaybondError)
        assert pickle.loads(pickle.dumps(cls("m"))).code == cls.code
    # __cause__ is kept when the app chains.
    try:
        try:
            raise err
        except pk.HarborHttpError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert outer.__cause__ is err


async def test_token_provider_rotation_and_close(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, make_binding: BindingFactory) -> None:
    assert harbor.stats()["exchanges"] == 1
    await session.rotate_harbor_token()
    assert harbor.stats()["exchanges"] == 2
    p = pk.GatewayHarborTokenProvider(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key)
    assert p.tenant_id is None
    jwt = await p.bearer()
    assert jwt.count(".") == 2 and p.tenant_id == harbor.tenant_id
    assert await p.bearer() == jwt  # cached
    await p.force_rotate()
    assert p.exchange_count == 2
    binding, _ = make_binding(["search"])
    assert (await binding.authorize("search", "c1", {})).allowed
    await session.aclose()
    assert session.closed
    d = await binding.authorize("search", "c2", {})
    assert (d.allowed, d.code) == (False, "session_closed")


def test_sync_api_without_event_loop(harbor: LocalHarbor) -> None:
    with pk.ServiceAccountHarborSession.open_sync(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url) as s:
        i = harbor.create_intent(allowed_tools=["search"], amount_cents=100, payee_did="did:payee:sync")
        b = pk.CapabilityBinding(s.harbor, i.intent_id, i.capability_token, payee_did=i.payee_did, payee_signing_seed=bytes.fromhex(i.payee_signing_seed_hex or ""))
        assert b.authorize_sync("search", "c1", {"q": "x"}, requested_spend_cents=10).allowed
        assert b.submit_evidence_sync("search", "c1", {"ok": True}).predicate_passed is True
        assert s.harbor.ledger_tip_sync().seq == 1
        assert s.harbor.ledger_events_sync(limit=1).next_after_seq is None
        s.rotate_harbor_token_sync()


async def test_sync_api_refuses_the_event_loop_thread(session: pk.ServiceAccountHarborSession, make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"])
    with pytest.raises(RuntimeError, match="await the async variant"):
        binding.authorize_sync("search", "c", {})
    # From a worker thread it is fine (that is how sync ToolNode runs tools).
    d = await asyncio.to_thread(binding.authorize_sync, "search", "c", {})
    assert d.allowed


async def test_ledger_and_evidence(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession, make_binding: BindingFactory) -> None:
    binding, i = make_binding(["search"], evidence=True)
    for n in range(3):
        assert (await binding.authorize("search", f"c{n}", {})).allowed
        rec = await binding.submit_evidence("search", f"c{n}", {"n": n})
        assert rec.tenant == harbor.tenant_id and rec.intent_id == i.intent_id
    tip = await session.harbor.ledger_tip()
    assert (tip.seq, tip.empty) == (3, False)
    page = await session.harbor.ledger_events(after_seq=0, limit=2)
    assert len(page.entries) == 2 and page.next_after_seq == 2
    page = await session.harbor.ledger_events(after_seq=page.next_after_seq)
    assert len(page.entries) == 1 and page.next_after_seq is None
    assert (await session.harbor.ledger_merkle_latest()).checkpoint is not None
    assert len((await session.harbor.ledger_authority()).verifying_key_hex) == 64
    # Same key + different body → 409.
    body = pk.sign_payee_evidence_binding(tenant_id=harbor.tenant_id, intent_id=i.intent_id, payee_did=i.payee_did, payload={"a": 1}, submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=i.payee_signing_seed_hex or "")
    await session.harbor.submit_evidence(i.intent_id, body, idempotency_key="k1")
    await session.harbor.submit_evidence(i.intent_id, body, idempotency_key="k1")
    other = pk.sign_payee_evidence_binding(tenant_id=harbor.tenant_id, intent_id=i.intent_id, payee_did=i.payee_did, payload={"a": 2}, submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=i.payee_signing_seed_hex or "")
    with pytest.raises(pk.HarborHttpError) as e:
        await session.harbor.submit_evidence(i.intent_id, other, idempotency_key="k1")
    assert e.value.status_code == 409
    assert harbor.stats()["evidence_accepted"] == 4


async def test_evidence_lands_once_when_first_answer_is_lost(harbor: LocalHarbor, make_binding: BindingFactory) -> None:
    binding, i = make_binding(["search"], evidence=True)
    assert (await binding.authorize("search", "call-1", {})).allowed
    harbor.add_fault(f"/intents/{i.intent_id}/evidence", "drop_after")
    rec = await binding.submit_evidence("search", "call-1", {"status": "done"})
    assert rec.predicate_passed is True
    await binding.submit_evidence("search", "call-1", {"status": "done"})  # a retry by the app, same call
    st = harbor.stats()
    assert st["evidence_accepted"] == 1 and st["evidence_replays"] >= 2


async def test_signal_reads(harbor: LocalHarbor, make_binding: BindingFactory) -> None:
    binding, i = make_binding(["search"], evidence=True)
    for n in range(3):
        await binding.authorize("search", f"c{n}", {})
        await binding.submit_evidence("search", f"c{n}", {"n": n})
    async with await pk.ServiceAccountSignalSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, trusted_signing_key_hex=harbor.signal_public_key_hex) as sig:
        assert sig.tenant_id == harbor.tenant_id and sig.principal.environment == "sandbox"
        env = await sig.signal.reputation_receipt(i.payee_did)
        assert env is not None and env.receipt.score_version == "1.0" and env.receipt.ledger_watermark_seq == 3
        rs = await sig.signal.operator_review_status(i.payee_did)
        assert rs is not None and rs.maturity_tier.band == "developing" and isinstance(rs.friction.replay_throttled, bool)
        assert isinstance(rs.trust_policy.auto_reliance_allowed, bool)
        assert (await sig.signal.operator_explanation(i.payee_did)) is not None
        pf = await sig.signal.portfolio_summary()
        assert any(o.operator_did == i.payee_did for o in pf.operators)
        assert await sig.signal.reputation_receipt("did:payee:nobody") is None
        harbor.add_fault("/reputation/*", "set_field", field="receipt.score", value=1000)
        with pytest.raises(pk.SignatureInvalidError):
            await sig.signal.reputation_receipt(i.payee_did)


def test_local_harbor_lifecycle_and_repr() -> None:
    h = LocalHarbor()
    assert "stopped" in repr(h)
    with pytest.raises(RuntimeError, match="not running"):
        _ = h.gateway_url
    with h:
        assert h.gateway_url.startswith("http://127.0.0.1:") and h.harbor_url != h.gateway_url
        assert h.api_key not in repr(h)
        t, key = h.create_tenant("tenant-x")
        assert t == "tenant-x" and key.startswith("paybond_sk_sandbox_")
        with pytest.raises(ValueError, match="kind"):
            h.add_fault("/verify", "explode")
    assert "stopped" in repr(h)


def test_pytest_plugin_fixture(local_harbor: LocalHarbor) -> None:
    assert local_harbor.tenant_id == "tenant-dev"


def test_import_does_not_load_frameworks() -> None:
    import subprocess
    import sys

    code = "import sys, paybond_kit, paybond_kit.testing; bad=[m for m in ('agents','langchain','langgraph','langchain_core') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


async def test_create_intent_principal_signed(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    payee = harbor.create_intent(allowed_tools=["x"], amount_cents=1)  # borrow a valid payee key
    created = await session.harbor.create_intent(
        {
            "intent_id": str(uuid.uuid4()), "principal_did": "did:principal:me", "payee_did": "did:payee:you",
            "payee_pubkey": payee.payee_pubkey, "budget": {"max_cents": 300}, "currency": "usd", "amount_cents": 300,
            "evidence_schema": {"type": "object"}, "deadline": "2099-01-01T00:00:00Z", "predicate_dsl": {},
            "allowed_tools": ["search"], "settlement_rail": "stripe_connect",
        },
        principal_signing_seed=bytes(range(32)),
    )
    assert created.tenant == harbor.tenant_id and created.state == "funded"
    assert created.capability_token and created.capability_token not in repr(created)
    with pytest.raises(pk.InvalidArgumentError) as e:
        await session.harbor.create_intent({"intent_id": "x"}, principal_signing_seed=bytes(32))
    assert e.value.field


async def test_submit_evidence_without_a_signer_names_the_field(make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"])
    with pytest.raises(pk.InvalidArgumentError) as e:
        await binding.submit_evidence("search", "c1", {"ok": True})
    assert e.value.field == "payee_signing_seed"
