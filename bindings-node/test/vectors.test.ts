import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { jsonValueDigestHex, signPayeeEvidence, signPayeeEvidenceBinding } from "../dist/esm/index.js";

const DIR = process.env.PAYBOND_VECTORS_DIR ?? resolve(__dirname, "../../tests/vectors");

/** Raw JSON text of every value that follows `"key":` (JS numbers cannot carry 1.0 or 2^64-1 exactly). */
function rawValues(text: string, key: string): string[] {
  const out: string[] = [];
  const needle = `"${key}":`;
  let at = text.indexOf(needle);
  while (at >= 0) {
    let i = at + needle.length;
    while (/\s/.test(text[i]!)) i++;
    const start = i;
    let depth = 0;
    let inStr = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (inStr) {
        if (c === "\\") i++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) { i++; break; }
      } else if (depth === 0 && (c === "," || c === "\n")) break;
    }
    out.push(text.slice(start, i));
    at = text.indexOf(needle, i);
  }
  return out;
}

describe.each([
  ["evidence_sign_v2.json", 2],
  ["evidence_sign_v1_legacy.json", 1],
] as const)("%s", (file, version) => {
  const text = readFileSync(resolve(DIR, file), "utf8");
  const doc = JSON.parse(text) as { cases: { name: string; input: Record<string, any>; expected: { sign_bytes_hex: string; body: any } }[] };
  const payloads = rawValues(text, "payload"); // input payload, then the body's payload, per case
  const bodies = rawValues(text, "body");

  it("has the full set", () => {
    expect(doc.cases.length).toBeGreaterThanOrEqual(10);
    expect(payloads.length).toBe(doc.cases.length * 2);
  });

  doc.cases.forEach((c, k) => {
    it(`${c.name}: sign bytes and body, byte for byte`, () => {
      const i = c.input;
      const signed = signPayeeEvidence({
        tenantId: i.tenant_id, intentId: i.intent_id, payeeDid: i.payee_did, payloadJson: payloads[2 * k],
        artifactsBlake3Hex: i.artifacts_blake3_hex, submittedAtRfc3339: i.submitted_at,
        payeeSigningSeed: Buffer.from(i.payee_seed_hex, "hex"), version,
      });
      expect(signed.signBytesHex).toBe(c.expected.sign_bytes_hex);
      expect(jsonValueDigestHex(signed.bodyJson, true)).toBe(jsonValueDigestHex(bodies[k], true));
      expect(signed.body.payee_signature).toBe(c.expected.body.payee_signature);
      // Payloads that JS numbers represent exactly also go through the object form.
      if (!["numbers"].includes(c.name)) {
        const body = signPayeeEvidenceBinding({
          tenantId: i.tenant_id, intentId: i.intent_id, payeeDid: i.payee_did, payload: i.payload,
          artifactsBlake3Hex: i.artifacts_blake3_hex, submittedAtRfc3339: i.submitted_at, payeeSigningSeed: i.payee_seed_hex, version,
        });
        expect(body).toEqual(c.expected.body);
      }
    });
  });
});

describe("intent_create_v6.json", () => {
  const doc = JSON.parse(readFileSync(resolve(DIR, "intent_create_v6.json"), "utf8")) as {
    cases: { name: string; input: Record<string, unknown>; expected: { body: Record<string, unknown> } }[];
  };
  it("signs every case to the exact body", async () => {
    const { signIntentCreation } = await import("../dist/esm/index.js");
    expect(doc.cases.length).toBeGreaterThanOrEqual(3);
    for (const c of doc.cases) {
      const input = { ...c.input, payee_pubkey: c.expected.body.payee_pubkey };
      const body = signIntentCreation(input, String(c.input.principal_seed_hex));
      expect(body, c.name).toEqual(c.expected.body);
    }
  });
  it("refuses an empty tenant and a bad seed, naming the field", async () => {
    const { signIntentCreation, InvalidArgumentError } = await import("../dist/esm/index.js");
    const c = doc.cases[0]!;
    const input = { ...c.input, payee_pubkey: c.expected.body.payee_pubkey };
    expect(() => signIntentCreation({ ...input, tenant_id: "" }, String(c.input.principal_seed_hex))).toThrow(InvalidArgumentError);
    expect(() => signIntentCreation({ ...input, tenant_id: "" }, String(c.input.principal_seed_hex))).toThrow(/tenant_id|tenantId/);
    expect(() => signIntentCreation(input, "zz")).toThrow(/principalSigningSeed/);
  });
});

describe("artifactsDigestHex", () => {
  it("hashes the concatenated digests and refuses bad hex", async () => {
    const { artifactsDigestHex, InvalidArgumentError } = await import("../dist/esm/index.js");
    const a = "11".repeat(32);
    const b = "22".repeat(32);
    const d = artifactsDigestHex([a, b]);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(artifactsDigestHex([a, b])).toBe(d);
    expect(artifactsDigestHex([b, a])).not.toBe(d);
    expect(() => artifactsDigestHex(["xyz"])).toThrow(InvalidArgumentError);
  });
});
