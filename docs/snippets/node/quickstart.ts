/**
 * Quickstart: a LangChain JS agent whose paid tool cannot run unless Paybond Harbor verified the call.
 * Runs as written: the dev server (LocalHarbor) runs in-process and the model is scripted.
 */
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { createPaybondMiddleware } from "paybond-kit/langchain";
import { LocalHarbor } from "paybond-kit/testing";

const ran: string[] = [];

const bookHotel = tool(
  async ({ hotel, cost_cents }) => {
    ran.push("book_hotel");
    return `booked ${hotel} for $${(cost_cents / 100).toFixed(2)}`;
  },
  { name: "book_hotel", description: "Book a hotel room (paid)", schema: z.object({ hotel: z.string(), cost_cents: z.number() }) },
);

const wireMoney = tool(
  async ({ to }) => {
    ran.push("wire_money");
    return `wired to ${to}`;
  },
  { name: "wire_money", description: "Wire money (not in the intent)", schema: z.object({ to: z.string(), amount_cents: z.number() }) },
);

// A scripted model (no network): one turn with two tool calls, then an answer. fakeModel has bindTools.
const model = fakeModel()
  .respondWithTools([
    { name: "book_hotel", args: { hotel: "Harbor Inn", cost_cents: 300 }, id: "call_1" },
    { name: "wire_money", args: { to: "acct-42", amount_cents: 100 }, id: "call_2" },
  ])
  .respond(new AIMessage("Booked the Harbor Inn; the wire was refused."));

await using harbor = await LocalHarbor.start(); // Gateway + Harbor + Signal on loopback ports
// The intent: $5.00, book_hotel only; the dev server mints its capability token.
const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });
await using session = await ServiceAccountHarborSession.open({
  gatewayBaseUrl: harbor.gatewayUrl,
  apiKey: harbor.apiKey,
  harborBaseUrl: harbor.harborUrl,
});
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

const agent = createAgent({
  model,
  tools: [bookHotel, wireMoney],
  middleware: [createPaybondMiddleware({ binding, requestedSpendCents: (req) => Number(req.toolCall.args.cost_cents ?? 0) })],
});
const result = await agent.invoke({ messages: [{ role: "user", content: "Book a hotel, then pay acct-42." }] });

for (const m of result.messages) {
  if (ToolMessage.isInstance(m)) console.log(`${m.name}: ${m.status}: ${String(m.content)}`);
}
console.log("final answer:", String(result.messages.at(-1)?.content));
if (ran.join() !== "book_hotel") throw new Error(`a denied tool ran: ${ran.join()}`);
