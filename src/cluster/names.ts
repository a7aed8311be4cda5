/**
 * Generated names and identifiers, the way Kubernetes builds them, but deterministic.
 *
 * - Random name suffixes (`generateName`): Kubernetes appends `utilrand.String(5)`, five characters
 *   from the alphabet "bcdfghjklmnpqrstvwxz2456789" (no vowels, no look-alike digits). svcsim draws
 *   them from a seeded uniform stream `() => number` that the caller passes in (cluster/ never owns
 *   randomness, so it does not depend on engine/).
 * - pod-template-hash: Kubernetes (apps/v1, every version since 1.8) computes FNV-32a over a
 *   go-spew dump of the PodTemplateSpec (plus the collision count) and encodes the decimal digits of
 *   the uint32 with `rand.SafeEncodeString`. svcsim computes FNV-32a over its own canonical JSON of
 *   the template and encodes it the same way, so the value has the real shape (e.g. "85bc9c579")
 *   but does NOT equal the one a real cluster would print for the same manifest. Scenarios pin the
 *   hash through pinned pod names when a documented value must be reproduced.
 * - UIDs: real ones are random v4 UUIDs; svcsim derives them by hashing kind/namespace/name and the
 *   creation time, so they are stable for a given scenario and do not consume random draws.
 */
import type { PodTemplate } from "./types.ts";

/** k8s.io/apimachinery/pkg/util/rand alphanums. */
export const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** `n` characters drawn from NAME_ALPHABET with the uniform [0,1) stream `rand`. */
export function randomSuffix(rand: () => number, n = 5): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * NAME_ALPHABET.length);
    s += NAME_ALPHABET[Math.min(k, NAME_ALPHABET.length - 1)];
  }
  return s;
}

/** rand.SafeEncodeString: each byte b becomes alphanums[b % 27]. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += NAME_ALPHABET[s.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

/** FNV-32a over the UTF-16 code units' low bytes (inputs here are ASCII/JSON). */
export function fnv32a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** JSON with object keys sorted (arrays keep their order); undefined members are dropped. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/** svcsim's pod-template-hash of a template (see module doc: same shape as Kubernetes', not the same value). */
export function podTemplateHash(template: PodTemplate, collisionCount = 0): string {
  let h = fnv32a(canonicalJson(template));
  if (collisionCount > 0) h = fnv32a(String(collisionCount), h);
  return safeEncodeString(String(h));
}

/** A deterministic UUID-shaped identifier for an object. */
export function deterministicUid(kind: string, namespace: string, name: string, created: number): string {
  const base = `${kind}/${namespace}/${name}@${created}`;
  const words = [fnv32a(base), fnv32a(base, 0x01234567), fnv32a(base, 0x89abcdef), fnv32a(base, 0x5bd1e995)];
  const hex = words.map((w) => w.toString(16).padStart(8, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${"89ab"[parseInt(hex[16]!, 16) & 3]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
