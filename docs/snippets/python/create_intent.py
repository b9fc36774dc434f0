"""Creating an intent as its principal: the signed POST /intents. Harbor answers with the
capability token minted for that intent (a secret: never in repr)."""

from __future__ import annotations

import asyncio
import uuid

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor

PRINCIPAL_SEED = bytes(range(32))  # the principal's Ed25519 seed: keep it in your secret store


async def main() -> None:
    async with LocalHarbor() as harbor:
        payee_pubkey = harbor.create_intent(allowed_tools=["x"], amount_cents=1).payee_pubkey  # a payee's public key
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            created = await session.harbor.create_intent(
                {
                    "intent_id": str(uuid.uuid4()),
                    "principal_did": "did:principal:travel-desk",
                    "payee_did": "did:payee:harbor-inn",
                    "payee_pubkey": payee_pubkey,  # standard base64, 32 bytes
                    "budget": {"max_cents": 500},
                    "currency": "usd",
                    "amount_cents": 500,
                    "evidence_schema": {"type": "object"},
                    "deadline": "2099-01-01T00:00:00Z",
                    "predicate_dsl": {},
                    "allowed_tools": ["book_hotel", "search"],
                    "settlement_rail": "stripe_connect",
                },
                principal_signing_seed=PRINCIPAL_SEED,
            )
            print(created)  # the token is not shown
            assert created.capability_token is not None and created.capability_token not in repr(created)
            binding = CapabilityBinding(session.harbor, created.intent_id, created.capability_token)
            d = await binding.authorize("book_hotel", "c1", {"hotel": "Harbor Inn"}, requested_spend_cents=300)
            print(d.describe("book_hotel"), "- remaining", d.remaining_cents)
            assert d.allowed


if __name__ == "__main__":
    asyncio.run(main())
