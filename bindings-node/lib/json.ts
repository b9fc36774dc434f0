/**
 * JS values → JSON text for the core. Payloads cross to Rust as text, not as a
 * napi value conversion (which turns integers above 2^32 into floats), so Node
 * signs the same digest as Python and Harbor. What `JSON.stringify` would change
 * silently (`NaN`/`Infinity` → `null`, a `Map` → `{}`, `undefined` in an array →
 * `null`) or refuse (a `bigint`, a cycle) is an {@link InvalidArgumentError}
 * naming the field instead.
 */

import { InvalidArgumentError } from "./errors.js";

/** Deepest nesting accepted (JSON parsers refuse deeper documents; Harbor's allows 128 levels in all). */
export const MAX_JSON_DEPTH = 100;

const UNFAITHFUL: [new (...a: never[]) => unknown, string][] = [
  [Map, "a Map"],
  [Set, "a Set"],
  [WeakMap, "a WeakMap"],
  [WeakSet, "a WeakSet"],
  [RegExp, "a RegExp"],
  [Promise, "a Promise"],
  [Error, "an Error"],
  [ArrayBuffer, "an ArrayBuffer"],
];

function bad(field: string, path: string, what: string): InvalidArgumentError {
  const where = path ? ` at ${path}` : "";
  return new InvalidArgumentError(`invalid argument \`${field}\`: ${what}${where} cannot be represented in JSON faithfully`, { field });
}

/**
 * `value` as JSON text, exactly as `JSON.stringify` writes it, or an
 * `InvalidArgumentError` (`field`) when that text would not carry the value.
 */
export function toJsonText(field: string, value: unknown): string {
  const stack = new Set<object>();
  const walk = (v: unknown, key: string, path: string, depth: number, inArray: boolean): string | undefined => {
    if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
      v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    }
    switch (typeof v) {
      case "string":
        return JSON.stringify(v);
      case "boolean":
        return v ? "true" : "false";
      case "number":
        if (!Number.isFinite(v)) throw bad(field, path, `the number ${String(v)}`);
        return JSON.stringify(v);
      case "bigint":
        throw bad(field, path, `the bigint ${String(v)}n (give a number, or a string)`);
      case "undefined":
        if (inArray || depth === 0) throw bad(field, path, "undefined");
        return undefined;
      case "function":
        throw bad(field, path, "a function");
      case "symbol":
        throw bad(field, path, "a symbol");
    }
    if (v === null) return "null";
    const o = v as object;
    if (depth >= MAX_JSON_DEPTH) throw bad(field, path, `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    if (stack.has(o)) throw bad(field, path, "a cycle");
    for (const [cls, name] of UNFAITHFUL) if (o instanceof cls) throw bad(field, path, name);
    if (ArrayBuffer.isView(o)) throw bad(field, path, "a typed array");
    stack.add(o);
    try {
      if (Array.isArray(o)) {
        const parts: string[] = [];
        for (let i = 0; i < o.length; i++) parts.push(walk(o[i], String(i), `${path}[${i}]`, depth + 1, true)!);
        return `[${parts.join(",")}]`;
      }
      const parts: string[] = [];
      for (const k of Object.keys(o)) {
        const t = walk((o as Record<string, unknown>)[k], k, path ? `${path}.${k}` : k, depth + 1, false);
        if (t !== undefined) parts.push(`${JSON.stringify(k)}:${t}`);
      }
      return `{${parts.join(",")}}`;
    } finally {
      stack.delete(o);
    }
  };
  return walk(value, "", "", 0, false)!;
}
