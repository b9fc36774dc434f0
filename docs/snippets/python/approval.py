"""Human approval at the binding level: a call over the intent's approval threshold is
``approval_required`` (not an allow); a reviewer decides; the same call is authorized again."""

from __future__ import annotations

import asyncio

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor


async def main() -> None:
    async with LocalHarbor() as harbor:
        # Calls spending more than 500 need a reviewer.
        intent = harbor.create_intent(allowed_tools=["pay"], amount_cents=2000, approval_threshold_cents=500)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            args = {"to": "acct-42", "amount": 700}

            d = await binding.authorize("pay", "call-1", args, requested_spend_cents=700)
            assert not d.allowed and d.approval_required and d.approval_request_id
            print(d.describe("pay"))

            # A reviewer approves (Harbor decides who may; the dev server accepts this session).
            answer = await binding.decide_approval(d.approval_request_id, "approve")
            print("review:", answer["status"])

            # Same call id, same arguments: allowed once, with one reservation.
            d = await binding.authorize("pay", "call-1", args, requested_spend_cents=700)
            assert d.allowed, d
            await binding.finish("call-1", succeeded=True)

            # A rejected call is a deny whose message is the reviewer's reason.
            d = await binding.authorize("pay", "call-2", args, requested_spend_cents=700)
            assert d.approval_request_id is not None
            await binding.decide_approval(d.approval_request_id, "reject", reason="over the travel policy")
            d = await binding.authorize("pay", "call-2", args, requested_spend_cents=700)
            print(d.describe("pay"))
            assert d.reason == "approval_rejected" and d.message is not None and "over the travel policy" in d.message


if __name__ == "__main__":
    asyncio.run(main())
