"""Credential rotation drill: a new API key, a new session on it, drain the old session, close it.
Also: minting a fresh Harbor JWT with the same key (rotate_harbor_token / force_rotate)."""

from __future__ import annotations

import asyncio

from paybond_kit import CapabilityBinding, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor


async def open_session(harbor: LocalHarbor, api_key: str, **options: object) -> ServiceAccountHarborSession:
    return await ServiceAccountHarborSession.open(
        gateway_base_url=harbor.gateway_url, api_key=api_key, harbor_base_url=harbor.harbor_url, **options  # type: ignore[arg-type]
    )


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search"], amount_cents=1000)
        old = await open_session(harbor, harbor.api_key)
        old_binding = CapabilityBinding(old.harbor, intent.intent_id, intent.capability_token)

        # 1. A second key for the SAME tenant. Production: create it in your Paybond dashboard.
        #    Dev server: create_tenant(<existing tenant id>) adds a key to that tenant.
        tenant_id, new_key = harbor.create_tenant(old.tenant_id)
        assert tenant_id == old.tenant_id

        # 2. A new session on the new key; refuse it if the Gateway names another tenant.
        new = await open_session(harbor, new_key, expected_tenant_id=old.tenant_id)
        # The capability token is bound to the tenant and intent, not to the key: reuse it.
        new_binding = CapabilityBinding(new.harbor, intent.intent_id, intent.capability_token)

        # 3. Drain: a call still in flight on the old session finishes; close() waits for it.
        harbor.add_fault("/verify", "latency", latency_ms=300)
        in_flight = asyncio.create_task(old_binding.authorize("search", "c-old", {}, requested_spend_cents=10))
        await asyncio.sleep(0.05)
        await old.aclose()  # refuses new calls, waits for the in-flight one
        assert (await in_flight).allowed
        late = await old_binding.authorize("search", "c-late", {}, requested_spend_cents=10)
        print("old session after close:", late.code)
        assert late.code == "session_closed"

        # New traffic goes through the new session.
        assert (await new_binding.authorize("search", "c-new", {}, requested_spend_cents=10)).allowed

        # 4. Revoke the old key (production: in the dashboard; the dev server has no revocation route).

        # Same key, fresh Harbor JWT now (e.g. after a suspected JWT leak):
        before = harbor.stats()["exchanges"]
        await new.rotate_harbor_token()
        await new.token_provider.force_rotate()
        print("exchanges:", before, "->", harbor.stats()["exchanges"])
        assert harbor.stats()["exchanges"] == before + 2
        await new.aclose()


if __name__ == "__main__":
    asyncio.run(main())
