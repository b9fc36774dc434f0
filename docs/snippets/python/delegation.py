"""Delegation by attenuation: binding.attenuate(...) returns a child binding whose token is the
parent's plus one appended block that only narrows. Computed offline; Harbor enforces every block."""

from __future__ import annotations

import asyncio

from paybond_kit import CapabilityBinding, InvalidArgumentError, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search", "book_hotel"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            parent = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            verifies = harbor.stats()["verifies"]
            child = parent.attenuate(tools=["search"], max_spend_per_call_cents=100, expires_in_seconds=600, max_calls=2)
            assert harbor.stats()["verifies"] == verifies  # offline: no request
            assert child.intent_id == parent.intent_id  # same intent, same budget

            for call_id, tool, cents in [("c1", "search", 100), ("c2", "book_hotel", 1), ("c3", "search", 101),
                                         ("c4", "search", 1), ("c5", "search", 1)]:
                d = await child.authorize(tool, call_id, {}, requested_spend_cents=cents)
                print(f"child  {call_id} {tool:<10} {cents:>3}: {d.decision} {d.reason or ''}")
            # c1 allow, c2 operation_not_allowed, c3 spend_cap_exceeded, c4 allow, c5 max_calls_exceeded.
            assert d.reason == "max_calls_exceeded"

            # The parent keeps its scope, and the child's spend (100 + 1) came out of its intent.
            d = await parent.authorize("book_hotel", "p1", {}, requested_spend_cents=1)
            print(f"parent p1 book_hotel   1: {d.decision}, {d.remaining_cents} cents left")
            assert d.allowed and d.remaining_cents == 1000 - 100 - 1 - 1

            # Each block's expiry is checked on Harbor's clock.
            short = parent.attenuate(expires_in_seconds=30)
            harbor.advance_clock(31)
            assert (await short.authorize("search", "s1", {})).reason == "token_expired"

            # Nothing can widen: asking for more than the parent is refused before any request.
            for widen in (lambda: parent.attenuate(tools=["wire_money"]),
                          lambda: child.attenuate(max_spend_per_call_cents=500)):
                try:
                    widen()
                    raise AssertionError("widened")
                except InvalidArgumentError as e:
                    print("refused:", e.field)


if __name__ == "__main__":
    asyncio.run(main())
