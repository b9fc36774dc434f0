"""Every error class a caller can meet, triggered on purpose against the dev server, with the
fields it carries. A guard never raises these for a tool call: it turns each into a deny."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import paybond_kit as pk
from paybond_kit.testing import LocalHarbor


async def expect(cls: type[pk.PaybondError], make: Callable[[], Awaitable[Any]]) -> None:
    try:
        await make()
    except cls as e:
        print(f"{type(e).__name__:<26} code={e.code:<22} {e}"[:160])
        return
    raise AssertionError(f"expected {cls.__name__}")


async def main() -> None:
    async with LocalHarbor() as h:
        a = h.create_intent(allowed_tools=["search"], amount_cents=100, payee_did="did:payee:a")
        b = h.create_intent(allowed_tools=["search"], amount_cents=100)

        def open_session(**kw: Any) -> Awaitable[pk.ServiceAccountHarborSession]:
            args: dict[str, Any] = dict(gateway_base_url=h.gateway_url, api_key=h.api_key, harbor_base_url=h.harbor_url,
                                        timeout_seconds=0.3, deadline_seconds=1.0)
            return pk.ServiceAccountHarborSession.open(**{**args, **kw})

        await expect(pk.InsecureUrlError, lambda: open_session(gateway_base_url="http://gateway.example.com"))
        await expect(pk.InvalidArgumentError, lambda: open_session(timeout_seconds=0))
        await expect(pk.GatewayAuthError, lambda: open_session(api_key="paybond_sk_sandbox_revoked"))
        await expect(pk.TenantBindingError, lambda: open_session(expected_tenant_id="tenant-other"))

        s = await open_session()

        def verify(intent_id: str, token: str, spend: int = 1) -> Awaitable[pk.VerifyResult]:
            return s.harbor.verify_capability(intent_id=intent_id, token=token, operation="search", requested_spend_cents=spend)

        await expect(pk.TokenIntentMismatchError, lambda: verify(b.intent_id, a.capability_token))
        h.add_fault("/verify", "status", status=418)
        await expect(pk.HarborHttpError, lambda: verify(a.intent_id, a.capability_token))
        h.add_fault("/verify", "malformed")
        await expect(pk.InvalidResponseError, lambda: verify(a.intent_id, a.capability_token))
        h.add_fault("/verify", "wrong_tenant")
        await expect(pk.TenantBindingError, lambda: verify(a.intent_id, a.capability_token))
        h.add_fault("/verify", "drop", count=3)
        await expect(pk.TransportError, lambda: verify(a.intent_id, a.capability_token))
        h.add_fault("/verify", "latency", latency_ms=2000, count=3)
        await expect(pk.PaybondTimeoutError, lambda: verify(a.intent_id, a.capability_token))
        await s.aclose()
        await expect(pk.SessionClosedError, lambda: verify(a.intent_id, a.capability_token))

        async with await pk.ServiceAccountSignalSession.open(gateway_base_url=h.gateway_url, api_key=h.api_key) as sig:
            h.add_fault("/signal/v1/portfolio/summary", "status", status=500, count=3)
            await expect(pk.SignalHttpError, lambda: sig.signal.portfolio_summary())
            async with await open_session() as s2:
                binding = pk.CapabilityBinding(s2.harbor, a.intent_id, a.capability_token,
                                               payee_did=a.payee_did, payee_signing_seed=a.payee_signing_seed_hex)
                await binding.authorize("search", "c1", {}, requested_spend_cents=1)
                await binding.submit_evidence("search", "c1", {"n": 1})
                await expect(pk.EvidenceConflictError, lambda: binding.submit_evidence("search", "c1", {"n": 2}))
            h.add_fault("/reputation/*", "set_field", field="receipt.score", value=1000)  # tampered after signing
            await expect(pk.SignatureInvalidError, lambda: sig.signal.reputation_receipt(a.payee_did))


if __name__ == "__main__":
    asyncio.run(main())
