/**
 * paybond-mcp-proxy (the Node bin) in front of a stdio MCP server: tools/list is forwarded
 * unchanged, every tools/call is verified with one binding before it is forwarded.
 * `node --import tsx mcp-proxy.ts upstream` is the upstream server (the same file, so the example
 * is self-contained); without an argument it runs the example.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

const upstreamCommand = [process.execPath, "--import", "tsx", fileURLToPath(import.meta.url), "upstream"];

if (process.argv[2] === "upstream") {
  // The upstream: any stdio MCP server (here, one that knows nothing of Paybond).
  const server = new Server({ name: "upstream", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ["book_hotel", "wire_money"].map((name) => ({ name, inputSchema: { type: "object" as const } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: "text", text: `${request.params.name} done` }],
    structuredContent: { tool: request.params.name, args: request.params.arguments ?? {} },
  }));
  await server.connect(new StdioServerTransport());
} else {
  await using harbor = await LocalHarbor.start();
  const intent = harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });

  // The bin the package declares (what `npx paybond-mcp-proxy` runs).
  const manifest = createRequire(import.meta.url).resolve("paybond-kit/package.json");
  const bin = join(dirname(manifest), (JSON.parse(readFileSync(manifest, "utf8")) as { bin: Record<string, string> }).bin["paybond-mcp-proxy"]!);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, "--intent-id", intent.intentId, "--tool-spend", "book_hotel=300", "--", ...upstreamCommand],
    // The secrets come from the environment, never from the command line.
    env: { PATH: process.env.PATH ?? "", PAYBOND_API_KEY: harbor.apiKey, PAYBOND_CAPABILITY_TOKEN: intent.capabilityToken, PAYBOND_GATEWAY_URL: harbor.gatewayUrl, PAYBOND_HARBOR_URL: harbor.harborUrl },
  });
  const client = new Client({ name: "docs", version: "1.0.0" });
  await client.connect(transport);
  console.log("tools/list:", (await client.listTools()).tools.map((t) => t.name));
  const calls: [string, Record<string, unknown>][] = [["book_hotel", { hotel: "Inn" }], ["book_hotel", { hotel: "Spa" }], ["wire_money", { to: "x" }], ["delete_everything", {}]];
  for (const [name, args] of calls) {
    const r = await client.callTool({ name, arguments: args });
    const shown = r.structuredContent ?? (r.content as { text?: string }[]).map((c) => c.text).join("");
    console.log(`${name}: isError=${r.isError ?? false}`, shown);
  }
  await client.close();
  assert.equal(harbor.stats().decisionsConsumed, 1); // only the first booking reached the upstream
}
