/**
 * Creating an intent as its principal: the signed POST /intents. Harbor answers with the capability
 * token minted for that intent (a secret: hidden from inspect and JSON).
 */
import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";

const PRINCIPAL_SEED_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"; // keep it in your secret store

await using harbor = await LocalHarbor.start();
const payeePubkey = harbor.createIntent({ allowedTools: ["x"], amountCents: 1 }).payeePubkey; // a payee's public key
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });

const created = await session.harbor.createIntent(
  {
    intentId: randomUUID(),
    principalDid: "did:principal:travel-desk",
    payeeDid: "did:payee:harbor-inn",
    payeePubkey, // standard base64, 32 bytes
    budget: { max_cents: 500 },
    currency: "usd",
    amountCents: 500,
    evidenceSchema: { type: "object" },
    deadline: "2099-01-01T00:00:00Z",
    predicateDsl: {},
    allowedTools: ["book_hotel", "search"],
    settlementRail: "stripe_connect",
  },
  PRINCIPAL_SEED_HEX,
);
console.log(inspect(created)); // capabilityToken: '***'
const binding = new CapabilityBinding(session.harbor, created.intentId, created.capabilityToken!);
const d = await binding.authorize("book_hotel", "c1", { hotel: "Harbor Inn" }, 300);
console.log(d.decision, "- remaining", d.remainingCents);
if (d.decision !== "allow") throw new Error("expected an allow");
