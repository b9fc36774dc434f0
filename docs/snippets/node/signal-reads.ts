/** The Signal read-only path: the four same-tenant reads, with the receipt key pinned. */
import { CapabilityBinding, ServiceAccountHarborSession, ServiceAccountSignalSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

const PAYEE = "did:payee:harbor-inn"; // the operator Signal scores is the payee of your intents

await using harbor = await LocalHarbor.start();
{
  // Three paid calls with evidence, so Signal has something to score.
  const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 1000, payeeDid: PAYEE });
  await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
  const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken, { payeeDid: PAYEE, payeeSigningSeed: intent.payeeSigningSeedHex! });
  for (let n = 0; n < 3; n++) {
    await binding.authorize("book_hotel", `c${n}`, { n }, 100);
    await binding.finish(`c${n}`, true);
    await binding.submitEvidence("book_hotel", `c${n}`, { status: "completed", n });
  }
}

// Signal lives on the Gateway: no Harbor URL. Pin the key that signs receipts.
await using sig = await ServiceAccountSignalSession.open({
  gatewayBaseUrl: harbor.gatewayUrl,
  apiKey: harbor.apiKey,
  trustedSigningKeyHex: harbor.signalPublicKeyHex, // production: your environment's Signal key
});
console.log("tenant:", sig.tenantId, "environment:", sig.principal.environment);

// 1. Reputation receipt (null when Signal has none for this DID).
const env = await sig.signal.reputationReceipt(PAYEE);
assert.ok(env && env.signatureCheckedWith === "pinned_key");
console.log(`receipt: score ${env.receipt.score}/1000, scoreVersion ${env.receipt.scoreVersion}, watermark seq ${env.receipt.ledgerWatermarkSeq}`);

// 2. Portfolio summary of the tenant (a 404 here rejects, it is not null).
const portfolio = await sig.signal.portfolioSummary();
console.log("portfolio:", portfolio.operators.map((o) => [o.operatorDid, o.score]));

// 3. Explanation of the score (null on 404).
const why = await sig.signal.operatorExplanation(PAYEE);
console.log("explanation:", why?.summary, "-", why?.factors.length, "factors");

// 4. Review status (null on 404).
const status = await sig.signal.operatorReviewStatus(PAYEE, "1.0");
assert.ok(status);
console.log(`review: maturity ${status.maturityTier.band}, shadow risk ${status.shadowRisk.level}, friction ${status.friction.band}, trust policy ${status.trustPolicy.decisionBand}`);

// An operator this tenant has never paid: null, not an error.
assert.equal(await sig.signal.reputationReceipt("did:payee:nobody"), null);
