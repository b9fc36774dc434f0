"""docs-check: env
The prelude for excerpts that use an open ``session`` and an intent (``intent_id``,
``capability_token``) on the dev server the docs check starts; ``binding`` is one binding on it."""

import asyncio
import os

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession

GATEWAY, HARBOR, API_KEY = (os.environ[k] for k in ("PAYBOND_GATEWAY_URL", "PAYBOND_HARBOR_URL", "PAYBOND_API_KEY"))
intent_id, capability_token = os.environ["PAYBOND_INTENT_ID"], os.environ["PAYBOND_CAPABILITY_TOKEN"]


async def main() -> None:
    async with await ServiceAccountHarborSession.open(
        gateway_base_url=GATEWAY, api_key=API_KEY, harbor_base_url=HARBOR
    ) as session:
        binding = CapabilityBinding(session.harbor, intent_id, capability_token)
        # docs-check: block
        assert binding.intent_id == intent_id
        print("excerpt ran on", binding)


asyncio.run(main())
