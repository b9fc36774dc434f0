"""The fail-closed wire rules, each shown against the dev server with the option that governs it."""

from __future__ import annotations

import asyncio
import os

from paybond_kit import CapabilityBinding, InsecureUrlError, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor

# Environment proxies are never read: this would break every request if they were.
os.environ["HTTP_PROXY"] = os.environ["HTTPS_PROXY"] = os.environ["ALL_PROXY"] = "http://127.0.0.1:9"


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search"], amount_cents=1000)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url,
            api_key=harbor.api_key,
            harbor_base_url=harbor.harbor_url,
            timeout_seconds=0.5,  # one attempt, connect to last byte (default 10)
            deadline_seconds=1.5,  # the whole call: every attempt, backoff and Retry-After wait (default 30)
            max_retries=3,  # total attempts of a retryable request (default 3)
            max_retry_after_seconds=30.0,  # cap on a server's Retry-After (default 30)
            max_response_bytes=64 * 1024,  # larger answers are refused unread (default 1 MiB)
            proxy_url=None,  # an explicit proxy, under the same URL policy as the base URLs
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)

            async def attempt(call_id: str) -> str:
                d = await binding.authorize("search", call_id, {}, requested_spend_cents=1)
                return d.decision if d.allowed else f"{d.code}: {d.message}"

            print("no proxy env used:      ", await attempt("ok-1"))
            harbor.add_fault("/verify", "status", status=307)
            print("redirect refused:       ", await attempt("r-1"))
            harbor.add_fault("/verify", "status", status=201)
            print("/verify must be 200:    ", await attempt("r-2"))
            harbor.add_fault("/verify", "malformed")
            print("JSON content type only: ", await attempt("r-3"))
            harbor.add_fault("/verify", "set_field", field="message", value="x" * 100_000)
            print("max_response_bytes:     ", await attempt("r-4"))
            harbor.add_fault("/verify", "latency", latency_ms=5000, count=5)
            print("deadline_seconds:       ", await attempt("r-5"))

        # A proxy (or base URL) over plain http:// must be loopback, like every base URL.
        try:
            await ServiceAccountHarborSession.open(
                gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url,
                proxy_url="http://proxy.corp.example:3128",
            )
        except InsecureUrlError as e:
            print("proxy_url policy:       ", e.code)


if __name__ == "__main__":
    asyncio.run(main())
