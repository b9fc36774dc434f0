"""Observability: the core's events (redacted) through ``logging``, guard decisions through
``on_decision``, and the fields of an error to put in a support ticket."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import paybond_kit
from paybond_kit import CapabilityBinding, Decision, PaybondError, ServiceAccountHarborSession
from paybond_kit.testing import LocalHarbor

log_text = io.StringIO()
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                    handlers=[logging.StreamHandler(), logging.StreamHandler(log_text)])
paybond_kit.set_log_level(logging.DEBUG)  # forward the core's DEBUG events to the "paybond_kit" logger
logging.getLogger("paybond_kit").setLevel(logging.DEBUG)


def ticket_fields(e: PaybondError) -> dict[str, Any]:
    """What support needs: class, stable code, message and the structured fields (all redacted)."""
    names = ("status_code", "url", "body_text", "field", "attempts", "elapsed_ms", "timeout_ms", "deadline_ms", "call_id")
    return {"class": type(e).__name__, "code": e.code, "message": str(e),
            **{n: getattr(e, n) for n in names if getattr(e, n, None) is not None}}


def decision_fields(tool: str, d: Decision) -> dict[str, Any]:
    """What to log for a guarded call: Harbor's audit id ties your log line to Harbor's."""
    return {"tool": tool, "decision": d.decision, "code": d.code, "reason": d.reason,
            "audit_id": d.audit_id, "decision_id": d.decision_id, "message": d.message}


async def main() -> None:
    async with LocalHarbor() as harbor:
        intent = harbor.create_intent(allowed_tools=["search"], amount_cents=100)
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=harbor.gateway_url, api_key=harbor.api_key, harbor_base_url=harbor.harbor_url
        ) as session:
            binding = CapabilityBinding(session.harbor, intent.intent_id, intent.capability_token)
            d = await binding.authorize("search", "c1", {"q": "x"}, requested_spend_cents=500)
            logging.getLogger("my_app").warning("paybond decision %s", decision_fields("search", d))

            harbor.add_fault("/verify", "status", status=400, body={"echo": harbor.api_key})  # a server echoing a secret
            try:
                await session.harbor.verify_capability(intent_id=intent.intent_id, token=intent.capability_token,
                                                       operation="search", requested_spend_cents=1)
            except PaybondError as e:
                logging.getLogger("my_app").error("paybond call failed %s", ticket_fields(e))

        # Nothing the kit logged or raised contains the API key or the capability token.
        text = log_text.getvalue()
        assert "paybond_kit::http" in text and harbor.api_key not in text and intent.capability_token[:16] not in text


if __name__ == "__main__":
    asyncio.run(main())
