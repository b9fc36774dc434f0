// Node benchmarks: ours vs a plain `fetch` verify client, signing, a refresh storm, and RSS growth.
// Usage: node node_bench.mjs FIXED_URL DEV_GATEWAY DEV_HARBOR DEV_API_KEY DEV_INTENT DEV_TOKEN
import { CapabilityBinding, ServiceAccountHarborSession, signPayeeEvidenceBinding } from "../bindings-node/dist/esm/index.js";
import { LocalHarbor } from "../bindings-node/dist/esm/testing.js";

// Prints, per server and client, the raw blocks ({ seq: [[µs, ...], ...], conc: [calls/s, ...] }); run.py does the stats.
const [fixedUrl, devGw, devHb, devKey, devIntent, devToken, seqBlocks = "20", seqN = "100", concBlocks = "8", concN = "1600", extras = "1"] = process.argv.slice(2);
const SEQ_BLOCKS = Number(seqBlocks), SEQ = Number(seqN), CONC_BLOCKS = Number(concBlocks), CONC = Number(concN);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.round((xs.length - 1) * p)];

async function seq(fn, n = SEQ) {
  const lat = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    lat.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return lat;
}

async function conc(fn, total = CONC, workers = 64) {
  const per = Math.floor(total / workers);
  const t = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => { for (let i = 0; i < per; i++) await fn(); }));
  return (per * workers) / ((performance.now() - t) / 1000);
}

/** What a pure-TypeScript client does: exchange once, then POST /verify and check the answer. */
async function fetchClient(gw, hb, apiKey) {
  const r = await fetch(`${gw}/v1/auth/harbor-access`, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" } });
  const { access_token, tenant_id } = await r.json();
  return async (intentId, token) => {
    const res = await fetch(`${hb}/verify`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "x-tenant-id": tenant_id, "content-type": "application/json", accept: "application/json", "idempotency-key": crypto.randomUUID() },
      body: JSON.stringify({ intent_id: intentId, token, operation: "search", requested_spend_cents: 0 }),
    });
    const b = await res.json();
    if (res.status >= 400 || typeof b.allow !== "boolean" || b.tenant !== tenant_id || b.intent_id !== intentId || !b.allow) throw new Error("deny");
    return b;
  };
}

async function oursClient(gw, hb, apiKey) {
  const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: gw, apiKey, harborBaseUrl: hb });
  return async (intentId, token) => {
    const r = await s.harbor.verifyCapability({ intentId, token, operation: "search", requestedSpendCents: 0 });
    if (!r.allow) throw new Error("deny");
    return r;
  };
}

const out = {};
for (const [name, gw, hb, key, intent, token] of [
  ["fixed", fixedUrl, fixedUrl, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token"],
  ["devserver", devGw, devHb, devKey, devIntent, devToken],
]) {
  const clients = { ours: await oursClient(gw, hb, key), fetch: await fetchClient(gw, hb, key) };
  const got = { ours: { seq: [], conc: [] }, fetch: { seq: [], conc: [] } };
  const fn = (who) => () => clients[who](intent, token);
  for (const who of ["ours", "fetch"]) { await seq(fn(who)); await conc(fn(who), 640); } // warm-up
  // Small blocks taking turns (alternating who goes first), so drift on a shared box hits both alike.
  const turns = (k) => (k % 2 ? ["fetch", "ours"] : ["ours", "fetch"]);
  for (let k = 0; k < SEQ_BLOCKS; k++) for (const who of turns(k)) got[who].seq.push(await seq(fn(who)));
  for (let k = 0; k < CONC_BLOCKS; k++) for (const who of turns(k)) got[who].conc.push(await conc(fn(who)));
  out[name] = got;
}

const payload = { status: "done", cost_cents: 18700, items: [1, 2, 3] };
const seedHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const sign = () => signPayeeEvidenceBinding({ tenantId: "t1", intentId: "11111111-1111-4111-8111-111111111111", payeeDid: "did:payee:1", payload, submittedAtRfc3339: "2030-01-02T15:04:05Z", payeeSigningSeed: seedHex });
for (let i = 0; i < 200; i++) sign();
// CPU time, like the Python figures: time given to other processes does not count.
const c0 = process.cpuUsage();
for (let i = 0; i < 10000; i++) sign();
const c1 = process.cpuUsage(c0);
out.sign_per_s = 10000 / ((c1.user + c1.system) / 1e6);

if (extras === "1") {
  const h = await LocalHarbor.start({ jwtTtlSeconds: 3 });
  const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: h.gatewayUrl, apiKey: h.apiKey, harborBaseUrl: h.harborUrl, refreshSkewSeconds: 0.5 });
  const i = h.createIntent({ allowedTools: ["search"], amountCents: 1e9 });
  const b = new CapabilityBinding(s.harbor, i.intentId, i.capabilityToken);
  await new Promise((r) => setTimeout(r, 3100));
  const lat = [];
  await Promise.all(Array.from({ length: 1000 }, async (_, k) => {
    const t0 = performance.now();
    const d = await b.authorize("search", `c${k}`, {}, 1);
    lat.push(performance.now() - t0);
    if (d.decision !== "allow") throw new Error(JSON.stringify(d));
  }));
  out.storm = { exchanges_after_expiry: h.stats().exchanges - 1, p99_ms: pct(lat, 0.99) };
  await s.dispose();
  await h.stop();
}

if (extras === "1") {
  const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: fixedUrl, apiKey: "paybond_sk_sandbox_bench", harborBaseUrl: fixedUrl });
  const b = new CapabilityBinding(s.harbor, "11111111-1111-4111-8111-111111111111", "bench-token");
  let n = 0;
  const run = (total) => Promise.all(Array.from({ length: 64 }, async () => {
    for (let i = 0; i < Math.floor(total / 64); i++) {
      const d = await b.authorize("search", `c${n++}`, { q: "x" }, 0);
      if (d.decision !== "allow") throw new Error("deny");
    }
  }));
  await run(1024);
  global.gc?.();
  const r1 = process.memoryUsage().rss;
  await run(100032);
  global.gc?.();
  const r2 = process.memoryUsage().rss;
  out.memory = { rss_after_1k_mb: r1 / 2 ** 20, rss_after_100k_mb: r2 / 2 ** 20, growth_mb: (r2 - r1) / 2 ** 20 };
  await s.dispose();
}
console.log(JSON.stringify(out));
