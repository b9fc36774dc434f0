/**
 * Testing your own agent with LocalHarbor under node:test (`node --import tsx --test agent.test.ts`);
 * the same code works under vitest with `import { test } from "vitest"`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { createPaybondMiddleware } from "paybond-kit/langchain";
import { LocalHarbor, type FaultSpec } from "paybond-kit/testing";

const ran: string[] = [];
const refund = tool(
  async ({ orderId }) => {
    ran.push(orderId);
    return `refunded ${orderId}`;
  },
  { name: "refund", description: "Refund an order (paid)", schema: z.object({ orderId: z.string(), amountCents: z.number() }) },
);

/** The code under test: your agent, with the Paybond guard. */
function buildAgent(binding: CapabilityBinding, amountCents: number) {
  const model = fakeModel()
    .respondWithTools([{ name: "refund", args: { orderId: "o-1", amountCents }, id: "c1" }])
    .respond(new AIMessage("done"));
  const guard = createPaybondMiddleware({ binding, requestedSpendCents: (req) => Number(req.toolCall.args.amountCents) });
  return createAgent({ model, tools: [refund], middleware: [guard] });
}

let harbor: LocalHarbor;
before(async () => {
  harbor = await LocalHarbor.start();
});
after(async () => {
  await harbor.stop();
});

async function run(amountCents: number): Promise<ToolMessage> {
  ran.length = 0;
  const intent = harbor.createIntent({ allowedTools: ["refund"], amountCents: 1000 });
  await using session = await ServiceAccountHarborSession.open({
    gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl,
    timeoutSeconds: 0.5, deadlineSeconds: 1.5, // keep fault tests fast
  });
  const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);
  const out = await buildAgent(binding, amountCents).invoke({ messages: [{ role: "user", content: "refund o-1" }] });
  return out.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage;
}

test("an allowed refund runs once", async () => {
  const msg = await run(300);
  assert.notEqual(msg.status, "error");
  assert.deepEqual(ran, ["o-1"]);
});

test("over budget never runs", async () => {
  const msg = await run(5000);
  assert.equal(msg.status, "error");
  assert.match(String(msg.content), /budget_exceeded/);
  assert.deepEqual(ran, []);
});

const faults: [Omit<FaultSpec, "route">, string][] = [
  [{ kind: "status", status: 503, count: 3 }, "http_error"],
  [{ kind: "latency", latencyMs: 2000, count: 3 }, "timeout"],
  [{ kind: "drop", count: 3 }, "transport_error"],
  [{ kind: "malformed" }, "invalid_response"],
  [{ kind: "wrong_tenant" }, "tenant_mismatch"],
];
for (const [fault, code] of faults) {
  test(`fault ${fault.kind} is a deny (${code}) and the tool never runs`, async () => {
    harbor.addFault({ route: "/verify", ...fault });
    const msg = await run(300);
    assert.equal(msg.status, "error");
    assert.ok(String(msg.content).includes(`: ${code}:`), String(msg.content));
    assert.deepEqual(ran, []);
  });
}
