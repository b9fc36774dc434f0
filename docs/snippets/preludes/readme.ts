// docs-check: env
// The prelude that runs README.md's Node excerpt as written: it defines the names the excerpt uses
// (gatewayBaseUrl, apiKey, harborBaseUrl, intentId, capabilityToken, model, tools) against the dev
// server the docs check starts, and checks what the excerpt did.
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const gatewayBaseUrl = env("PAYBOND_GATEWAY_URL");
const harborBaseUrl = env("PAYBOND_HARBOR_URL");
const apiKey = env("PAYBOND_API_KEY");
const intentId = env("PAYBOND_INTENT_ID");
const capabilityToken = env("PAYBOND_CAPABILITY_TOKEN");
const ran: string[] = [];
const bookHotel = tool(async ({ hotel }) => { ran.push("book_hotel"); return `booked ${hotel}`; },
  { name: "book_hotel", description: "Book a hotel (paid)", schema: z.object({ hotel: z.string(), cost_cents: z.number() }) });
const model = fakeModel()
  .respondWithTools([{ name: "book_hotel", args: { hotel: "Harbor Inn", cost_cents: 300 }, id: "call_1" }])
  .respond(new AIMessage("Booked."));
const tools = [bookHotel];

// docs-check: block

const statuses = result.messages.filter((m) => m instanceof ToolMessage).map((m) => (m as ToolMessage).status);
if (ran.join() !== "book_hotel" || statuses.join() !== "success") throw new Error(`unexpected: ${ran} ${statuses}`);
console.log("README Node excerpt: booked through the guard");
