import { describe, expect, it } from "vitest";
import { IntMap } from "../../src/engine/intmap.ts";
import { RngRoot } from "../../src/engine/rng.ts";

describe("IntMap", () => {
  const keys = [
    { name: "zero", key: 0 },
    { name: "small positive", key: 7 },
    { name: "negative (an address above 128.0.0.0)", key: -1062729214 },
    { name: "int32 minimum", key: -(2 ** 31) },
    { name: "int32 maximum", key: 2 ** 31 - 1 },
  ];
  it.each(keys)("stores and finds $name", ({ key }) => {
    const m = new IntMap<string>();
    expect(m.get(key)).toBeUndefined();
    m.set(key, "v");
    expect([m.get(key), m.has(key), m.size]).toEqual(["v", true, 1]);
    m.set(key, "w");
    expect([m.get(key), m.size]).toEqual(["w", 1]);
    expect(m.delete(key)).toBe(true);
    expect([m.get(key), m.has(key), m.size, m.delete(key)]).toEqual([undefined, false, 0, false]);
  });

  it("takes an unsigned address word and its signed form as the same key", () => {
    const m = new IntMap<number>();
    m.set(0xc0a80a01, 1); // 192.168.10.1 as an unsigned number
    expect(m.get(0xc0a80a01 | 0)).toBe(1);
  });

  it("refuses undefined as a value (it marks free slots)", () => {
    expect(() => new IntMap<unknown>().set(1, undefined)).toThrow(/undefined/);
  });

  it("clear empties it and it stays usable", () => {
    const m = new IntMap<number>(4);
    for (let k = 0; k < 100; k++) m.set(k, k);
    m.clear();
    expect([m.size, m.get(5)]).toEqual([0, undefined]);
    m.set(5, 50);
    expect(m.get(5)).toBe(50);
  });

  // Growth, probe runs that wrap around the end of the table and backward-shift deletion, against
  // a Map doing the same random operations. Keys come from a narrow range (many collisions and
  // re-insertions) and from all of int32.
  const runs = [
    { name: "narrow keys, small table", span: 64, ops: 20_000, cap: 2 },
    { name: "wide keys", span: 2 ** 32, ops: 20_000, cap: 16 },
    { name: "addresses of one /16", span: 65_536, ops: 50_000, cap: 1024 },
  ];
  it.each(runs)("behaves as a Map under random set/delete/get: $name", ({ span, ops, cap }) => {
    const rng = new RngRoot(42).stream(`intmap/${span}`);
    const m = new IntMap<number>(cap);
    const ref = new Map<number, number>();
    for (let i = 0; i < ops; i++) {
      const key = span === 2 ** 32 ? rng.uint32() | 0 : (0x0a400000 + rng.int(0, span - 1)) | 0;
      const r = rng.uint32() % 10;
      if (r < 5) {
        m.set(key, i);
        ref.set(key, i);
      } else if (r < 8) {
        expect(m.delete(key)).toBe(ref.delete(key));
      } else {
        expect(m.get(key)).toBe(ref.get(key));
      }
      expect(m.size).toBe(ref.size);
    }
    for (const [k, v] of ref) expect(m.get(k)).toBe(v);
  });
});
