"""The tool-call lifecycle with the binding directly: authorize (reserve) -> run -> finish
(consumed or released). A call id is single-use and bound to its arguments."""

from __future__ import annotations

import asyncio

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["pay"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            # 1. Reserve 300 for call c-1 (bound to these arguments).
            d = await binding.authorize("pay", "c-1", {"amount": 300}, requested_spend_cents=300)
            assert d.allowed and d.remaining_cents == 700

            # A resume of the same call before it ran: the same decision, no second reservation.
            again = await binding.authorize("pay", "c-1", {"amount": 300}, requested_spend_cents=300)
            assert again.allowed and again.decision_id == d.decision_id

            # Other arguments under the same id: a deny, before anything runs.
            changed = await binding.authorize("pay", "c-1", {"amount": 999}, requested_spend_cents=300)
            print(changed.code, "-", changed.message)
            assert changed.code == "call_args_changed"

            # 2. The tool ran and succeeded: consume the reservation.
            done = await binding.finish("c-1", succeeded=True)
            assert done is not None and done["remaining_cents"] == 700

            # 3. The id is spent now: a replay is a deny.
            replay = await binding.authorize("pay", "c-1", {"amount": 300}, requested_spend_cents=300)
            print(replay.code, "-", replay.message)
            assert replay.code == "call_replayed"

            # A tool that raised: release, and the budget comes back.
            await binding.authorize("pay", "c-2", {"amount": 200}, requested_spend_cents=200)
            await binding.finish("c-2", succeeded=False)
            probe = await binding.authorize("pay", "probe", {}, requested_spend_cents=0)
            print("remaining:", probe.remaining_cents)
            assert probe.remaining_cents == 700
            print(harbor.stats()["decisions_consumed"], "consumed,", harbor.stats()["decisions_released"], "released")


if __name__ == "__main__":
    asyncio.run(main())
