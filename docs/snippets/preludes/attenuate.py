"""docs-check: env
The prelude for an excerpt that narrows ``binding`` (one binding on the dev server the docs check
starts, whose intent allows search and book_hotel) into ``child``."""

import asyncio
import os

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession

GATEWAY, HARBOR, API_KEY = (os.environ[k] for k in ("PAYBOND_GATEWAY_URL", "PAYBOND_HARBOR_URL", "PAYBOND_API_KEY"))


async def main() -> None:
    async with await ServiceAccountHarborSession.open(
        gateway_base_url=GATEWAY, api_key=API_KEY, harbor_base_url=HARBOR
    ) as session:
        binding = CapabilityBinding(session.harbor, os.environ["PAYBOND_INTENT_ID"], os.environ["PAYBOND_CAPABILITY_TOKEN"])
        # docs-check: block
        assert not (await child.authorize("book_hotel", "docs-attenuate-1", {}, requested_spend_cents=0)).allowed
        print("child:", (await child.authorize("search", "docs-attenuate-2", {}, requested_spend_cents=0)).decision)


asyncio.run(main())
