/**
 * Per-tool spend: requestedSpendCents maps each tool to cents or to a function of its arguments.
 * A resolver that throws or returns something that is not a spend, and a tool the mapping does not
 * name, are a deny spend_resolver_failed (the tool does not run, Harbor is not asked).
 */
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";
import { CapabilityBinding, InvalidArgumentError, ServiceAccountHarborSession } from "paybond-kit";
import { createPaybondMiddleware, type ToolArgs } from "paybond-kit/langchain";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

const ran: string[] = [];
const bookFlight = tool(
  async ({ flight }) => {
    ran.push(flight);
    return `booked ${flight}`;
  },
  { name: "book_flight", description: "Book a flight (paid)", schema: z.object({ flight: z.string(), cost_cents: z.number().optional() }) },
);
const search = tool(
  async ({ q }) => {
    ran.push(q);
    return `found ${q}`;
  },
  { name: "search", description: "Search (free)", schema: z.object({ q: z.string() }) },
);
const cancel = tool(
  async ({ booking }) => {
    ran.push(booking);
    return `cancelled ${booking}`;
  },
  { name: "cancel", description: "Cancel a booking (the mapping forgot it)", schema: z.object({ booking: z.string() }) },
);

// Cents per tool: a number, or a function of the tool's arguments.
const spend = { book_flight: (args: ToolArgs) => args.cost_cents, search: 0 };

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["book_flight", "search", "cancel"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

const model = fakeModel()
  .respondWithTools([
    { name: "book_flight", args: { flight: "PB101", cost_cents: 300 }, id: "c1" }, // 300 cents
    { name: "search", args: { q: "hotels in Lyon" }, id: "c2" }, // free
    { name: "book_flight", args: { flight: "PB202" }, id: "c3" }, // the resolver returns undefined
    { name: "cancel", args: { booking: "PB101" }, id: "c4" }, // not in the mapping
  ])
  .respond(new AIMessage("done"));
const agent = createAgent({ model, tools: [bookFlight, search, cancel], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: spend })] });
const out = await agent.invoke({ messages: [{ role: "user", content: "book, search, cancel" }] });

const shown = Object.fromEntries(out.messages.filter((m) => ToolMessage.isInstance(m)).map((m) => [(m as ToolMessage).tool_call_id, String(m.content)]));
for (const [callId, text] of Object.entries(shown).sort()) console.log(callId, "->", text);
assert.deepEqual(ran.sort(), ["PB101", "hotels in Lyon"]);
assert.match(shown.c3!, /^Paybond denied book_flight: spend_resolver_failed: the spend resolver for book_flight returned undefined, not a spend/);
assert.match(shown.c4!, /^Paybond denied cancel: spend_resolver_failed: no spend for tool "cancel"/);
assert.equal(harbor.stats().verifies, 2); // the failed resolvers never reached Harbor

// A bad static value is refused when the guard is built.
assert.throws(() => createPaybondMiddleware({ binding, requestedSpendCents: { book_flight: 2.5 } }), (e: unknown) => {
  console.log("refused:", (e as InvalidArgumentError).field, "-", (e as Error).message);
  return e instanceof InvalidArgumentError && e.field === "requestedSpendCents";
});
