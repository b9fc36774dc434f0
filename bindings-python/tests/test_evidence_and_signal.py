"""Evidence conflicts and call ids, the typed ``create_intent`` result, Signal receipt key sources,
and the error classes the core's generic conversion builds."""

from __future__ import annotations

import asyncio
import pickle
import uuid

import pytest

import paybond_kit as pk
from paybond_kit.testing import LocalHarbor

from .conftest import BindingFactory


async def test_different_payload_under_the_same_call_id_is_an_evidence_conflict(harbor: LocalHarbor, make_binding: BindingFactory) -> None:
    binding, _ = make_binding(["search"], evidence=True)
    assert (await binding.authorize("search", "call-1", {})).allowed
    first = await binding.submit_evidence("search", "call-1", {"result": "a"})
    again = await binding.submit_evidence("search", "call-1", {"result": "a"})  # same payload: a replay
    assert first.intent_id == again.intent_id
    with pytest.raises(pk.EvidenceConflictError) as e:
        await binding.submit_evidence("search", "call-1", {"result": "b"})
    err = e.value
    assert (err.code, err.call_id) == ("evidence_conflict", "call-1") and isinstance(err, pk.PaybondError)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is pk.EvidenceConflictError and (back.call_id, str(back)) == ("call-1", str(err))
    with pytest.raises(pk.EvidenceConflictError):  # the blocking variant too
        await asyncio.to_thread(binding.submit_evidence_sync, "search", "call-1", {"result": "c"})
    assert harbor.stats()["evidence_accepted"] == 1, "the conflicting payloads never landed"


async def test_empty_call_id_is_refused(make_binding: BindingFactory, harbor: LocalHarbor) -> None:
    binding, _ = make_binding(["search"], evidence=True)
    for bad in ("", "   "):
        with pytest.raises(pk.InvalidArgumentError) as e:
            await binding.submit_evidence("search", bad, {"ok": True})
        assert e.value.field == "call_id"
    assert harbor.stats()["evidence_accepted"] == 0


async def test_create_intent_result_is_typed_and_hides_the_token(harbor: LocalHarbor, session: pk.ServiceAccountHarborSession) -> None:
    payee = harbor.create_intent(allowed_tools=["x"], amount_cents=1)
    created = await session.harbor.create_intent(
        {
            "intent_id": str(uuid.uuid4()), "principal_did": "did:principal:me", "payee_did": "did:payee:you",
            "payee_pubkey": payee.payee_pubkey, "budget": {"max_cents": 300}, "currency": "usd", "amount_cents": 300,
            "evidence_schema": {"type": "object"}, "deadline": "2099-01-01T00:00:00Z", "predicate_dsl": {},
            "allowed_tools": ["search"], "settlement_rail": "stripe_connect",
        },
        principal_signing_seed=bytes(range(32)),
    )
    assert isinstance(created, pk.IntentCreated)
    token = created.capability_token
    assert isinstance(token, str) and len(token) > 16
    for text in (repr(created), str(created)):
        assert token not in text and token[:16] not in text
    assert "capability_token" not in created.extra
    # The token works for the new intent.
    r = await session.harbor.verify_capability(intent_id=created.intent_id, token=token, operation="search", requested_spend_cents=1)
    assert r.allow


async def test_receipts_say_which_key_checked_them_and_unsigned_ones_are_refused(harbor: LocalHarbor, make_binding: BindingFactory) -> None:
    binding, i = make_binding(["search"], evidence=True)
    await binding.authorize("search", "c1", {})
    await binding.submit_evidence("search", "c1", {"n": 1})
    async with await pk.ServiceAccountSignalSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key) as embedded:
        env = await embedded.signal.reputation_receipt(i.payee_did)
        assert env is not None and env.signature_checked_with == "embedded_key"
        for removed in ("receipt.signature_hex", "receipt.signing_public_key_hex"):
            harbor.add_fault("/reputation/*", "remove_field", field=removed)
            with pytest.raises(pk.SignatureInvalidError) as e:
                await embedded.signal.reputation_receipt(i.payee_did)
            assert e.value.code == "signature_invalid" and "unsigned" in str(e.value)
    async with await pk.ServiceAccountSignalSession.open(
        gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, trusted_signing_key_hex=harbor.signal_public_key_hex
    ) as pinned:
        env = await pinned.signal.reputation_receipt(i.payee_did)
        assert env is not None and env.signature_checked_with == "pinned_key"
        harbor.add_fault("/reputation/*", "remove_field", field="receipt.signature_hex")
        with pytest.raises(pk.SignatureInvalidError):
            await pinned.signal.reputation_receipt(i.payee_did)
    # A pinned key that is not the signer's refuses a genuine receipt.
    other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    async with await pk.ServiceAccountSignalSession.open(gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, trusted_signing_key_hex=other) as wrong:
        with pytest.raises(pk.SignatureInvalidError):
            await wrong.signal.reputation_receipt(i.payee_did)


def test_every_core_error_class_exists_pickles_and_carries_its_fields() -> None:
    expected = {
        pk.InternalError: "internal",
        pk.EvidenceConflictError: "evidence_conflict",
        pk.PaybondTimeoutError: "timeout",
        pk.TokenIntentMismatchError: "token_intent_mismatch",
    }
    for cls, code in expected.items():
        assert issubclass(cls, pk.PaybondError) and cls.code == code
        assert cls.__name__ in pk.__all__
    t = pk.PaybondTimeoutError("m", url="http://x/verify", timeout_ms=500, deadline_ms=1500, attempts=2, elapsed_ms=1510)
    back = pickle.loads(pickle.dumps(t))
    assert (back.timeout_ms, back.deadline_ms, back.attempts, back.elapsed_ms, back.url) == (500, 1500, 2, 1510, "http://x/verify")
    assert isinstance(back, TimeoutError)
    i = pickle.loads(pickle.dumps(pk.InternalError("caught a panic")))
    assert type(i) is pk.InternalError and i.code == "internal"


async def test_timeout_error_says_attempts_and_total_time(harbor: LocalHarbor) -> None:
    i = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
    async with await pk.ServiceAccountHarborSession.open(
        gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url,
        timeout_seconds=0.2, deadline_seconds=0.7, max_retries=3,
    ) as s:
        harbor.add_fault("/verify", "latency", latency_ms=3000, count=5)
        with pytest.raises(pk.PaybondTimeoutError) as e:
            await s.harbor.verify_capability(intent_id=i.intent_id, token=i.capability_token, operation="search", requested_spend_cents=1)
    err = e.value
    assert (err.timeout_ms, err.deadline_ms) == (200, 700)
    assert err.attempts is not None and err.attempts >= 1
    assert err.elapsed_ms is not None and 600 <= err.elapsed_ms <= 2500, err.elapsed_ms
    assert err.url.endswith("/verify") and "attempt" in str(err)
