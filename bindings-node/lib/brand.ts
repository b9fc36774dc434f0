/**
 * Class identity that holds across the two builds of the package.
 *
 * The ESM and the CJS build are two copies of every class at run time: an ESM app
 * whose CommonJS dependency also loads the kit (or a `CapabilityBinding` from
 * `import` handed to an adapter from `require`) would fail a plain `instanceof`.
 * Branded instances carry their class names under a registered symbol, which both
 * copies share, and the classes' `Symbol.hasInstance` accepts either proof.
 * (The native module itself is loaded once: both builds require the same file.)
 */

const BRAND = Symbol.for("paybond-kit.class");

/** Marks `obj` as an instance of `cls` and of each of its base classes up to `root`. */
export function brand(obj: object, cls: abstract new (...args: never[]) => unknown, root: object): void {
  const names: string[] = [];
  for (let c: unknown = cls; typeof c === "function"; c = Object.getPrototypeOf(c)) {
    names.push(`paybond-kit:${(c as { name: string }).name}`);
    if (c === root) break;
  }
  Object.defineProperty(obj, BRAND, { value: Object.freeze(names), enumerable: false });
}

/** `x instanceof cls`, or `x` was branded as a `cls` by the other copy of the package. */
export function isBranded(cls: object, x: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(cls, x)) return true;
  if (x === null || (typeof x !== "object" && typeof x !== "function")) return false;
  const names = (x as { [BRAND]?: unknown })[BRAND];
  return Array.isArray(names) && names.includes(`paybond-kit:${(cls as { name: string }).name}`);
}
