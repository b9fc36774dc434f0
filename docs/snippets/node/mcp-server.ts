/**
 * The MCP guard on a TypeScript SDK server: every tools/call is verified by Harbor before the tool
 * runs; a deny is a tool error result (isError), never a crash. guardMcpServer guards every tool an
 * McpServer registers; guardCallToolHandler wraps a low-level handler.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { capabilityMeta, guardCallToolHandler, guardMcpServer, type ToolArgs } from "paybond-kit/mcp";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

/** An in-memory client connected to `server`. */
async function connect(server: Server | McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "docs", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}
const text = (r: unknown) => (((r as { content?: unknown }).content ?? []) as { text?: string }[]).map((c) => c.text ?? "").join("");

await using harbor = await LocalHarbor.start();
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const ran: string[] = [];

// 1. McpServer with per-request capabilities, bound with this server's own Harbor session.
//    Guard the server first, then register its tools.
const mcp = guardMcpServer(new McpServer({ name: "travel", version: "1.0.0" }), {
  harbor: session,
  requestedSpendCents: { book_hotel: (args: ToolArgs) => Number(args.cost_cents), wire_money: 0 },
});
mcp.registerTool("book_hotel", { description: "Book a hotel room", inputSchema: { hotel: z.string(), cost_cents: z.number() } }, async ({ hotel }) => {
  ran.push("book_hotel");
  return { content: [{ type: "text", text: `booked ${hotel}` }] };
});
mcp.registerTool("wire_money", { description: "Send money", inputSchema: { to: z.string() } }, async ({ to }) => {
  ran.push("wire_money");
  return { content: [{ type: "text", text: `sent to ${to}` }] };
});

const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });
const meta = capabilityMeta(intent.intentId, intent.capabilityToken); // { "paybond/capability": { intent_id, token } }
const client = await connect(mcp);
const calls: [string, Record<string, unknown>, boolean][] = [
  ["book_hotel", { hotel: "Inn", cost_cents: 300 }, true],
  ["book_hotel", { hotel: "Spa", cost_cents: 300 }, true], // over budget
  ["wire_money", { to: "acct-42" }, true], // not in the intent
  ["book_hotel", { hotel: "Inn", cost_cents: 1 }, false], // no capability
];
console.log("McpServer:");
for (const [name, args, withMeta] of calls) {
  const r = await client.callTool({ name, arguments: args, ...(withMeta ? { _meta: meta } : {}) });
  console.log(`  ${name}: isError=${r.isError ?? false} ${text(r)}`);
}
await client.close();
assert.deepEqual(ran, ["book_hotel"]);

// 2. A low-level Server whose tools/call handler is wrapped, with one fixed capability (no _meta needed).
const searchIntent = harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
const binding = new CapabilityBinding(session.harbor, searchIntent.intentId, searchIntent.capabilityToken);
const low = new Server({ name: "search", version: "1.0.0" }, { capabilities: { tools: {} } });
low.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: "search", inputSchema: { type: "object" as const } }] }));
low.setRequestHandler(
  CallToolRequestSchema,
  guardCallToolHandler(async (request) => {
    ran.push(request.params.name);
    return { content: [{ type: "text" as const, text: `${request.params.name} ran` }] };
  }, { binding }),
);
const lowClient = await connect(low);
console.log("low-level Server:");
console.log("  search:", text(await lowClient.callTool({ name: "search", arguments: { q: "inns" } })));
console.log("  admin: ", text(await lowClient.callTool({ name: "admin", arguments: {} })));
await lowClient.close();
assert.deepEqual(ran, ["book_hotel", "search"]); // no denied call reached a tool
