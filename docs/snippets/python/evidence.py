"""Payee-signed evidence: once per tool call, idempotent, and a different payload under the
same call id is refused before anything is sent."""

from __future__ import annotations

import asyncio

from paybond_kit import (
    CapabilityBinding,
    EvidenceConflictError,
    HarborHttpError,
    ServiceAccountHarborSession,
    sign_payee_evidence,
)
from paybond_kit.testing import LocalHarbor


async def main() -> None:
    async with LocalHarbor() as harbor:
        # Without payee_pubkey the dev server makes the payee's key pair and returns its seed.
        intent = harbor.create_intent(allowed_tools=["translate"], amount_cents=1000, payee_did="did:payee:acme-translations")
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(
                session.harbor, intent.intent_id, intent.capability_token,
                payee_did=intent.payee_did, payee_signing_seed=intent.payee_signing_seed_hex,
            )
            decision = await binding.authorize("translate", "call-7", {"text": "hello"}, requested_spend_cents=50)
            assert decision.allowed
            result = {"status": "completed", "translation": "bonjour", "chars": 5}
            await binding.finish("call-7", succeeded=True)

            # 1. Sign as the payee and submit; the idempotency key is derived from the call id.
            receipt = await binding.submit_evidence("translate", "call-7", result)
            print("evidence:", receipt.state, "predicate passed:", receipt.predicate_passed)

            # 2. The same payload again (a retry after a lost answer): the first submission replayed.
            await binding.submit_evidence("translate", "call-7", result)
            assert harbor.stats()["evidence_accepted"] == 1

            # 3. Another payload under the same call id: refused locally, the first one stands.
            try:
                await binding.submit_evidence("translate", "call-7", {**result, "translation": "salut"})
            except EvidenceConflictError as e:
                print("refused:", e.code, "call", e.call_id)

            # Lower level: sign a body yourself, submit it with your own idempotency key.
            signed = sign_payee_evidence(
                tenant_id=session.tenant_id, intent_id=intent.intent_id, payee_did=intent.payee_did,
                payload={"status": "completed", "batch": 2}, submitted_at_rfc3339="2030-01-02T15:04:05Z",
                payee_signing_seed=intent.payee_signing_seed_hex or "",
            )
            print("signed", len(signed.sign_bytes), "bytes; body keys:", sorted(signed.body))
            await session.harbor.submit_evidence(intent.intent_id, signed.body, idempotency_key="batch-2")
            await session.harbor.submit_evidence(intent.intent_id, signed.body, idempotency_key="batch-2")  # replay
            other = sign_payee_evidence(
                tenant_id=session.tenant_id, intent_id=intent.intent_id, payee_did=intent.payee_did,
                payload={"status": "completed", "batch": 3}, submitted_at_rfc3339="2030-01-02T15:04:05Z",
                payee_signing_seed=intent.payee_signing_seed_hex or "",
            )
            try:
                await session.harbor.submit_evidence(intent.intent_id, other.body, idempotency_key="batch-2")
            except HarborHttpError as e:
                print("same key, other body:", e.status_code)
                assert e.status_code == 409
            tip = await session.harbor.ledger_tip()
            print("ledger entries:", tip.seq)
            assert tip.seq == 2


if __name__ == "__main__":
    asyncio.run(main())
