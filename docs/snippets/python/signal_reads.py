"""The Signal read-only path: the four same-tenant reads, with the receipt key pinned."""

from __future__ import annotations

import asyncio

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession, ServiceAccountSignalSession
from paybond_kit.testing import LocalHarbor

PAYEE = "did:payee:harbor-inn"  # the operator Signal scores is the payee of your intents


async def some_history(harbor: LocalHarbor) -> None:
    """Three paid calls with evidence, so Signal has something to score."""
    intent = harbor.create_intent(allowed_tools=["book_hotel"], amount_cents=1000, payee_did=PAYEE)
    async with await ServiceAccountHarborSession.open(
        gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
    ) as session:
        binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token,
                                    payee_did=PAYEE, payee_signing_seed=intent.payee_signing_seed_hex)
        for n in range(3):
            assert (await binding.authorize("book_hotel", f"c{n}", {"n": n}, requested_spend_cents=100)).allowed
            await binding.finish(f"c{n}", succeeded=True)
            await binding.submit_evidence("book_hotel", f"c{n}", {"status": "completed", "n": n})


async def main() -> None:
    async with LocalHarbor() as harbor:
        await some_history(harbor)

        # Signal lives on the Gateway: no Harbor URL. Pin the key that signs receipts.
        async with await ServiceAccountSignalSession.open(
            gateway_base_url=harbor.gateway_url,
            api_key=harbor.api_key,
            trusted_signing_key_hex=harbor.signal_public_key_hex,  # production: your environment's Signal key
        ) as sig:
            print("tenant:", sig.tenant_id, "environment:", sig.principal.environment)

            # 1. Reputation receipt (None when Signal has none for this DID).
            env = await sig.signal.reputation_receipt(PAYEE)
            assert env is not None and env.signature_checked_with == "pinned_key"
            r = env.receipt
            print(f"receipt: score {r.score}/1000, score_version {r.score_version}, watermark seq {r.ledger_watermark_seq}")

            # 2. Portfolio summary of the tenant (a 404 here is an error, not None).
            portfolio = await sig.signal.portfolio_summary()
            print("portfolio:", [(o.operator_did, o.score) for o in portfolio.operators])

            # 3. Explanation of the score (None on 404).
            why = await sig.signal.operator_explanation(PAYEE)
            assert why is not None
            print("explanation:", why.summary, "-", len(why.factors), "factors")

            # 4. Review status (None on 404).
            status = await sig.signal.operator_review_status(PAYEE, score_version="1.0")
            assert status is not None
            print(f"review: maturity {status.maturity_tier.band}, shadow risk {status.shadow_risk.level}, "
                  f"friction {status.friction.band}, trust policy {status.trust_policy.decision_band} "
                  f"(auto reliance allowed: {status.trust_policy.auto_reliance_allowed})")

            # An operator this tenant has never paid: None, not an error.
            assert await sig.signal.reputation_receipt("did:payee:nobody") is None


if __name__ == "__main__":
    asyncio.run(main())
