"""The same guard against your own Gateway and Harbor: only the URLs, the key and the intent
change. Everything comes from the environment (docs-check points it at a dev server)."""
# docs-check: env

from __future__ import annotations

import asyncio
import os

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession


async def main() -> None:
    async with await ServiceAccountHarborSession.open(
        gateway_base_url=os.environ["PAYBOND_GATEWAY_URL"],  # https://... (http:// only on loopback)
        api_key=os.environ["PAYBOND_API_KEY"],  # a service-account key: paybond_sk_<env>_...
        harbor_base_url=os.environ["PAYBOND_HARBOR_URL"],
        deadline_seconds=10.0,  # every guarded call is answered within this
    ) as session:
        print("tenant (from the Gateway, never from you):", session.tenant_id)
        binding = CapabilityBinding(
            session.harbor, os.environ["PAYBOND_INTENT_ID"], os.environ["PAYBOND_CAPABILITY_TOKEN"]
        )
        decision = await binding.authorize("search", "call-1", {"query": "hotels"}, requested_spend_cents=10)
        print(decision.describe("search"), decision.remaining_cents)
        assert decision.allowed
        await binding.finish("call-1", succeeded=True)


if __name__ == "__main__":
    asyncio.run(main())
