#!/usr/bin/env bash
# npm pack → install into a scratch project → ESM import, CJS require, tsc --strict on the example.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$here"
tgz="$(npm pack --silent --pack-destination "$tmp" 2>/dev/null | tail -1)"
cd "$tmp"
echo '{"name":"scratch","private":true,"type":"module"}' > package.json
npm install --no-audit --no-fund --silent "./$tgz" @openai/agents@0.20.0 zod@4.6.7 typescript@5.9.3 @types/node@20.9.5 2>&1 | grep -v "npm warn" || true
node --input-type=module -e '
import { ServiceAccountHarborSession, HarborHttpError } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
if (typeof ServiceAccountHarborSession.open !== "function" || typeof HarborHttpError !== "function") process.exit(1);
const h = await LocalHarbor.start();
const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: h.gatewayUrl, apiKey: h.apiKey, harborBaseUrl: h.harborUrl });
await s.dispose(); await h.stop();
console.log("pack-check: ESM import ok");'
node -e '
const { ServiceAccountHarborSession } = require("paybond-kit");
const { guardFunctionTools } = require("paybond-kit/openai-agents");
if (typeof ServiceAccountHarborSession.open !== "function" || typeof guardFunctionTools !== "function") process.exit(1);
console.log("pack-check: CJS require ok");'
cp "$here/../examples/node/openai_agents_guarded.ts" "$here/../examples/node/tsconfig.json" .
npx --no-install tsc --noEmit --strict -p . && echo "pack-check: tsc --noEmit --strict on the example ok"
