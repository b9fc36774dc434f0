// The MCP guard with the real TypeScript SDK over its in-memory transport and the real dev server
// over HTTP: no mocks. Handler invocations are counted where the handler runs.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  CAPABILITY_META_KEY,
  CALL_ID_META_KEY,
  capabilityMeta,
  guardCallToolHandler,
  guardMcpServer,
  McpGuard,
  type GuardEvent,
  type McpGuardOptions,
} from "../dist/esm/mcp.js";
import { buildProxyServer } from "../dist/esm/mcp-proxy.js";
import { InvalidArgumentError } from "../dist/esm/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
// @ts-expect-error a plain .mjs fixture without declarations
import { upstreamServer } from "./fixtures/mcp-upstream.mjs";
import { setup } from "./helpers.js";

const UPSTREAM = fileURLToPath(new URL("./fixtures/mcp-upstream.mjs", import.meta.url));
const PROXY_BIN = fileURLToPath(new URL("../dist/cjs/mcp-proxy.js", import.meta.url));
const ranIn = (log: string) => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []);

type Text = { type: string; text?: string };
const text = (r: { content?: unknown }) => ((r.content ?? []) as Text[]).map((c) => c.text ?? "").join("");

async function connect(server: Server | McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

/** A low-level server whose tools/call handler is guarded; records every call that ran and the meta it saw. */
function lowLevel(options: McpGuardOptions) {
  const ran: string[] = [];
  const seen: unknown[] = [];
  const server = new Server({ name: "test", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ["book_hotel", "search", "boom", "fail"].map((name) => ({ name, inputSchema: { type: "object" as const } })),
  }));
  server.setRequestHandler(
    CallToolRequestSchema,
    guardCallToolHandler(async (request, extra) => {
      ran.push(request.params.name);
      seen.push({ params: request.params._meta, extra: extra._meta });
      if (request.params.name === "boom") throw new Error("handler boom");
      if (request.params.name === "fail") return { content: [{ type: "text" as const, text: "tool failed" }], isError: true };
      return { content: [{ type: "text" as const, text: `${request.params.name} ran with ${JSON.stringify(request.params.arguments)}` }] };
    }, options),
  );
  return { server, ran, seen };
}

const spend = (c: { arguments: Record<string, unknown> }) => Number(c.arguments.cost_cents ?? 0);

describe("guardCallToolHandler (low-level Server)", () => {
  it("per-request capabilities for two intents: allowed runs and is consumed, disallowed and over-budget never reach the handler", async () => {
    const t = await setup();
    try {
      const hotel = t.harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });
      const searcher = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
      const { server, ran, seen } = lowLevel({ harbor: t.session, requestedSpendCents: spend });
      const c = await connect(server);
      const ok = await c.callTool({ name: "book_hotel", arguments: { hotel: "Inn", cost_cents: 300 }, _meta: capabilityMeta(hotel.intentId, hotel.capabilityToken) });
      expect(ok.isError).not.toBe(true);
      expect(text(ok)).toMatch(/^book_hotel ran/);
      const over = await c.callTool({ name: "book_hotel", arguments: { hotel: "Inn", cost_cents: 300 }, _meta: capabilityMeta(hotel.intentId, hotel.capabilityToken) });
      expect(over.isError).toBe(true);
      expect(text(over)).toMatch(/^Paybond denied book_hotel: harbor_denied: budget_exceeded/);
      const other = await c.callTool({ name: "book_hotel", arguments: { cost_cents: 1 }, _meta: capabilityMeta(searcher.intentId, searcher.capabilityToken) });
      expect(other.isError).toBe(true);
      expect(text(other)).toContain("operation_not_allowed");
      const found = await c.callTool({ name: "search", arguments: { q: "x" }, _meta: capabilityMeta(searcher.intentId, searcher.capabilityToken) });
      expect(found.isError).not.toBe(true);
      await c.close();
      expect(ran).toEqual(["book_hotel", "search"]);
      expect(t.harbor.stats().decisionsConsumed).toBe(2);
      const shown = JSON.stringify(seen);
      expect(shown).not.toContain(CAPABILITY_META_KEY);
      expect(shown).not.toContain(hotel.capabilityToken);
    } finally {
      await t.close();
    }
  });

  it("a missing or malformed capability is a deny, never a crash", async () => {
    const t = await setup();
    try {
      const intent = t.harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });
      const { server, ran } = lowLevel({ harbor: t.session });
      const c = await connect(server);
      const cases: [Record<string, unknown> | undefined, string][] = [
        [undefined, "capability_missing"],
        [{ other: 1 }, "capability_missing"],
        [{ [CAPABILITY_META_KEY]: "not-an-object" }, "capability_invalid"],
        [{ [CAPABILITY_META_KEY]: { intent_id: intent.intentId } }, "capability_invalid"],
        [{ [CAPABILITY_META_KEY]: { intent_id: intent.intentId, token: 7 } }, "capability_invalid"],
        [{ [CAPABILITY_META_KEY]: { intent_id: "", token: intent.capabilityToken } }, "capability_invalid"],
        [{ [CAPABILITY_META_KEY]: { intent_id: "00000000-0000-4000-8000-000000000000", token: intent.capabilityToken } }, "token_intent_mismatch"],
        [{ [CAPABILITY_META_KEY]: { intent_id: intent.intentId, token: "not-a-biscuit-token-at-all" } }, "harbor_denied"],
      ];
      for (const [meta, code] of cases) {
        const r = await c.callTool({ name: "book_hotel", arguments: {}, ...(meta ? { _meta: meta } : {}) });
        expect(r.isError, JSON.stringify(meta)).toBe(true);
        expect(text(r)).toMatch(new RegExp(`^Paybond denied book_hotel: ${code}`));
        expect(text(r)).not.toContain(intent.capabilityToken);
      }
      await c.close();
      expect(ran).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it("fixed binding: a throwing handler and an error result release their spend; evidence only after success", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel", "boom", "fail"], 1000, true);
      const evidenceFor: string[] = [];
      const events: GuardEvent[] = [];
      const { server, ran } = lowLevel({
        binding,
        requestedSpendCents: 100,
        evidence: (call, result) => { evidenceFor.push(call.toolName); return { tool: call.toolName, text: text(result as { content: unknown }) }; },
        onDecision: (e) => events.push(e),
      });
      const c = await connect(server);
      expect((await c.callTool({ name: "book_hotel", arguments: { hotel: "A" } })).isError).not.toBe(true);
      await expect(c.callTool({ name: "boom", arguments: {} })).rejects.toThrow(/handler boom/);
      const failed = await c.callTool({ name: "fail", arguments: {} });
      expect(failed.isError).toBe(true);
      expect(text(failed)).toBe("tool failed");
      const denied = await c.callTool({ name: "search", arguments: {} });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toContain("operation_not_allowed");
      await c.close();
      expect(ran).toEqual(["book_hotel", "boom", "fail"]);
      const stats = t.harbor.stats();
      expect(stats.decisionsConsumed).toBe(1);
      expect(stats.decisionsReleased).toBe(2);
      expect(evidenceFor).toEqual(["book_hotel"]);
      expect(stats.evidenceAccepted).toBe(1);
      expect(events.map((e) => [e.toolName, e.ran, e.succeeded ?? null])).toEqual([
        ["book_hotel", true, true], ["boom", true, false], ["fail", true, false], ["search", false, null],
      ]);
    } finally {
      await t.close();
    }
  });

  it("a client call id in _meta is single-use; a per-tool spend mapping and approval by call id", async () => {
    const t = await setup();
    try {
      const intent = t.harbor.createIntent({ allowedTools: ["book_hotel", "search"], amountCents: 1000, approvalThresholdCents: 200 });
      const { server, ran } = lowLevel({ harbor: t.session, requestedSpendCents: { book_hotel: (args) => args.cost_cents, search: 0 } });
      const c = await connect(server);
      const once = capabilityMeta(intent.intentId, intent.capabilityToken, "call-1");
      expect((await c.callTool({ name: "search", arguments: { q: "x" }, _meta: once })).isError).not.toBe(true);
      const replay = await c.callTool({ name: "search", arguments: { q: "x" }, _meta: once });
      expect(replay.isError).toBe(true);
      expect(text(replay)).toContain("call_replayed");
      const broken = await c.callTool({ name: "book_hotel", arguments: { hotel: "A" }, _meta: capabilityMeta(intent.intentId, intent.capabilityToken) });
      expect(text(broken)).toContain("spend_resolver_failed");
      const meta = capabilityMeta(intent.intentId, intent.capabilityToken, "call-approve");
      const pending = await c.callTool({ name: "book_hotel", arguments: { hotel: "A", cost_cents: 300 }, _meta: meta });
      expect(pending.isError).toBe(true);
      expect(text(pending)).toMatch(/^Paybond denied book_hotel: approval_required/);
      expect(ran).toEqual(["search"]);
      const approvalId = /\(approval request ([^)]+)\)$/.exec(text(pending))![1];
      t.harbor.decideApproval(approvalId, "approve");
      const approved = await c.callTool({ name: "book_hotel", arguments: { hotel: "A", cost_cents: 300 }, _meta: meta });
      expect(approved.isError).not.toBe(true);
      await c.close();
      expect(ran).toEqual(["search", "book_hotel"]);
      expect(t.harbor.stats().decisionsConsumed).toBe(2);
    } finally {
      await t.close();
    }
  });
});

describe("guardMcpServer (McpServer.registerTool)", () => {
  it("guards every registered tool; a throwing tool releases; unknown names never reach Harbor", async () => {
    const t = await setup();
    try {
      const intent = t.harbor.createIntent({ allowedTools: ["add", "boom"], amountCents: 100 });
      const ran: string[] = [];
      const seen: unknown[] = [];
      const server = guardMcpServer(new McpServer({ name: "m", version: "1.0.0" }), { harbor: t.session, requestedSpendCents: 60, tools: ["add", "boom", "admin"] });
      server.registerTool("add", { inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } }, async ({ a, b }, extra) => {
        ran.push("add");
        seen.push(extra._meta);
        return { content: [{ type: "text", text: String(a + b) }], structuredContent: { sum: a + b } };
      });
      server.registerTool("boom", { inputSchema: { x: z.number().optional() } }, async () => {
        ran.push("boom");
        throw new Error("tool boom");
      });
      server.registerTool("admin", {}, async () => {
        ran.push("admin");
        return { content: [{ type: "text", text: "never" }] };
      });
      server.tool("legacy_wire", async () => {
        ran.push("legacy_wire");
        return { content: [{ type: "text", text: "sent" }] };
      });
      const c = await connect(server);
      const meta = capabilityMeta(intent.intentId, intent.capabilityToken);
      const ok = await c.callTool({ name: "add", arguments: { a: 1, b: 2 }, _meta: meta });
      expect(ok.isError).not.toBe(true);
      expect(ok.structuredContent).toEqual({ sum: 3 });
      const over = await c.callTool({ name: "add", arguments: { a: 2, b: 2 }, _meta: meta });
      expect(over.isError).toBe(true);
      expect(text(over)).toMatch(/^Paybond denied add: harbor_denied: budget_exceeded/);
      const admin = await c.callTool({ name: "admin", arguments: {}, _meta: meta });
      expect(text(admin)).toMatch(/^Paybond denied admin: harbor_denied: operation_not_allowed/);
      const verifies = t.harbor.stats().verifies;
      const legacy = await c.callTool({ name: "legacy_wire", arguments: {}, _meta: meta });
      expect(text(legacy)).toMatch(/^Paybond denied legacy_wire: unknown_tool/);
      expect(t.harbor.stats().verifies).toBe(verifies);
      const missing = await c.callTool({ name: "add", arguments: { a: 1, b: 1 } });
      expect(text(missing)).toMatch(/^Paybond denied add: capability_missing/);
      await c.close();
      expect(ran).toEqual(["add"]);
      expect(JSON.stringify(seen)).not.toContain(intent.capabilityToken);

      const intent2 = t.harbor.createIntent({ allowedTools: ["boom"], amountCents: 100 });
      const c2 = await connect(server2(t.session, ran));
      const boom = await c2.callTool({ name: "boom", arguments: {}, _meta: capabilityMeta(intent2.intentId, intent2.capabilityToken) });
      expect(boom.isError).toBe(true);
      expect(text(boom)).toBe("tool boom");
      await c2.close();
      expect(ran).toEqual(["add", "boom"]);
      const stats = t.harbor.stats();
      expect(stats.decisionsConsumed).toBe(1);
      expect(stats.decisionsReleased).toBe(1);
    } finally {
      await t.close();
    }
  });

  it("a callback or name changed later through update() stays guarded", async () => {
    const t = await setup();
    try {
      const intent = t.harbor.createIntent({ allowedTools: ["renamed"], amountCents: 100 });
      const ran: string[] = [];
      const server = guardMcpServer(new McpServer({ name: "m", version: "1.0.0" }), { harbor: t.session });
      const rt = server.registerTool("orig", {}, async () => {
        ran.push("old");
        return { content: [{ type: "text", text: "old" }] };
      });
      rt.update({ callback: async () => { ran.push("new"); return { content: [{ type: "text", text: "new" }] }; } });
      const c = await connect(server);
      const meta = capabilityMeta(intent.intentId, intent.capabilityToken);
      expect(text(await c.callTool({ name: "orig", arguments: {} }))).toMatch(/^Paybond denied orig: capability_missing/);
      expect(text(await c.callTool({ name: "orig", arguments: {}, _meta: meta }))).toMatch(/^Paybond denied orig: harbor_denied: operation_not_allowed/);
      rt.update({ name: "renamed" });
      expect(text(await c.callTool({ name: "renamed", arguments: {}, _meta: meta }))).toBe("new");
      await c.close();
      expect(ran).toEqual(["new"]);
    } finally {
      await t.close();
    }
  });

  it("refuses a server whose tools were registered before it was guarded", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["x"]);
      const server = new McpServer({ name: "m", version: "1.0.0" });
      server.registerTool("early", {}, async () => ({ content: [{ type: "text", text: "unguarded" }] }));
      expect(() => guardMcpServer(server, { binding })).toThrow(/registered already \(early\)/);
      const fresh = guardMcpServer(new McpServer({ name: "m2", version: "1.0.0" }), { binding });
      expect(() => guardMcpServer(fresh, { binding })).toThrow(/guarded already/);
    } finally {
      await t.close();
    }
  });
});

function server2(session: unknown, ran: string[]): McpServer {
  const s = guardMcpServer(new McpServer({ name: "m3", version: "1.0.0" }), { harbor: session as McpGuardOptions["harbor"], requestedSpendCents: 10 });
  s.registerTool("boom", {}, async () => {
    ran.push("boom");
    throw new Error("tool boom");
  });
  return s;
}

describe("options", () => {
  it("misconfiguration throws InvalidArgumentError naming the option", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["x"]);
      const field = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidArgumentError);
          return (e as InvalidArgumentError & { field?: string }).field;
        }
        throw new Error("did not throw");
      };
      expect(field(() => new McpGuard({}))).toBe("binding");
      expect(field(() => new McpGuard({ binding, harbor: t.session }))).toBe("binding");
      expect(field(() => new McpGuard({ harbor: "nope" as never }))).toBe("harbor");
      expect(field(() => new McpGuard({ binding, requestedSpendCents: -1 }))).toBe("requestedSpendCents");
      expect(field(() => new McpGuard({ binding, tools: "x" as never }))).toBe("tools");
      expect(field(() => guardCallToolHandler("nope" as never, { binding }))).toBe("handler");
      expect(field(() => capabilityMeta("", "t"))).toBe("intentId");
      expect(capabilityMeta("i", "t", "c")).toEqual({ [CAPABILITY_META_KEY]: { intent_id: "i", token: "t" }, [CALL_ID_META_KEY]: "c" });
    } finally {
      await t.close();
    }
  });
});

describe("paybond-mcp-proxy", () => {
  it("in process: forwards tools/list and results unchanged, denies unknown tools before Harbor", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["book_hotel", "boom", "fail", "nope"], 500);
      const ran: string[] = [];
      const upstream = await connect(upstreamServer((n: string) => ran.push(n)));
      const direct = await upstream.listTools();
      const proxy = buildProxyServer(upstream, binding, { requestedSpendCents: (c) => Number(c.arguments.cost_cents ?? 0) });
      const c = await connect(proxy);
      expect((await c.listTools()).tools).toEqual(direct.tools);
      const ok = await c.callTool({ name: "book_hotel", arguments: { hotel: "Inn", cost_cents: 300 } });
      const again = await upstream.callTool({ name: "book_hotel", arguments: { hotel: "Inn", cost_cents: 300 } });
      expect(ok).toEqual(again);
      const verifies = t.harbor.stats().verifies;
      const unknown = await c.callTool({ name: "nope", arguments: {} });
      expect(unknown.isError).toBe(true);
      expect(text(unknown)).toMatch(/^Paybond denied nope: unknown_tool/);
      expect(t.harbor.stats().verifies).toBe(verifies);
      expect(text(await c.callTool({ name: "wire_money", arguments: { to: "b" } }))).toContain("operation_not_allowed");
      expect(text(await c.callTool({ name: "book_hotel", arguments: { hotel: "Inn", cost_cents: 300 } }))).toContain("budget_exceeded");
      const fail = await c.callTool({ name: "fail", arguments: {} });
      expect(fail).toEqual({ content: [{ type: "text", text: "upstream failed" }], isError: true });
      await expect(c.callTool({ name: "boom", arguments: {} })).rejects.toThrow(/upstream boom/);
      await c.close();
      await upstream.close();
      expect(ran).toEqual(["book_hotel", "book_hotel", "fail", "boom"]);
      const stats = t.harbor.stats();
      expect(stats.decisionsConsumed).toBe(1);
      expect(stats.decisionsReleased).toBe(2);
    } finally {
      await t.close();
    }
  });

  it("the bin over stdio: verifies every call with the configured binding", async () => {
    const t = await setup();
    try {
      const intent = t.harbor.createIntent({ allowedTools: ["book_hotel"], amountCents: 500 });
      const dir = mkdtempSync(join(tmpdir(), "pbk-mcp-"));
      const log = join(dir, "ran.log");
      const tokenFile = join(dir, "token");
      writeFileSync(tokenFile, intent.capabilityToken);
      const env: Record<string, string> = { PATH: process.env.PATH ?? "", PAYBOND_API_KEY: t.harbor.apiKey, PAYBOND_GATEWAY_URL: t.harbor.gatewayUrl, PAYBOND_HARBOR_URL: t.harbor.harborUrl };
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [PROXY_BIN, "--intent-id", intent.intentId, "--capability-token-file", tokenFile, "--tool-spend", "book_hotel=300", "--", process.execPath, UPSTREAM, log],
        env,
        stderr: "pipe",
      });
      const c = new Client({ name: "test", version: "1.0.0" });
      await c.connect(transport);
      expect((await c.listTools()).tools.map((x) => x.name)).toEqual(["book_hotel", "wire_money", "boom", "fail"]);
      const ok = await c.callTool({ name: "book_hotel", arguments: { hotel: "Inn" } });
      expect(ok.isError).not.toBe(true);
      expect(ok.structuredContent).toEqual({ tool: "book_hotel", args: { hotel: "Inn" } });
      expect(text(await c.callTool({ name: "book_hotel", arguments: { hotel: "Inn" } }))).toContain("budget_exceeded");
      expect(text(await c.callTool({ name: "wire_money", arguments: { to: "x" } }))).toContain("operation_not_allowed");
      expect(text(await c.callTool({ name: "not_listed", arguments: {} }))).toContain("unknown_tool");
      await c.close();
      expect(ranIn(log)).toEqual(["book_hotel"]);
      expect(t.harbor.stats().decisionsConsumed).toBe(1);
    } finally {
      await t.close();
    }
  });

  it("the bin refuses to start without configuration and prints no secret", async () => {
    const t = await setup();
    try {
      const secret = "sk-never-printed-0123456789abcdef";
      const base = { PATH: process.env.PATH ?? "", PAYBOND_API_KEY: secret };
      const missing = spawnSync(process.execPath, [PROXY_BIN, "--gateway-url", t.harbor.gatewayUrl, "--", process.execPath, UPSTREAM], { env: base, encoding: "utf8", input: "" });
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/--harbor-url.*--intent-id.*PAYBOND_CAPABILITY_TOKEN/);
      const refused = spawnSync(process.execPath, [PROXY_BIN, "--gateway-url", t.harbor.gatewayUrl, "--harbor-url", t.harbor.harborUrl, "--intent-id", "00000000-0000-4000-8000-000000000000", "--", process.execPath, UPSTREAM],
        { env: { ...base, PAYBOND_CAPABILITY_TOKEN: "tok-never-printed-0123456789abcdef" }, encoding: "utf8", input: "" });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain("gateway_auth");
      expect(refused.stderr + refused.stdout).not.toContain(secret);
      expect(refused.stderr + refused.stdout).not.toContain("tok-never-printed");
    } finally {
      await t.close();
    }
  });
});
