import { describe, expect, it } from "vitest";
import { HashSlots } from "../../src/net/hashslots.ts";
import { RngRoot } from "../../src/engine/rng.ts";

/** The owner's lookup loop (see HashSlots): every value filed under `h`, in probe order. */
function filedUnder<T>(s: HashSlots<T>, h: number): T[] {
  const out: T[] = [];
  const { hashes, vals, mask } = s;
  for (let i = h & mask; ; i = (i + 1) & mask) {
    const x = hashes[i]!;
    if (x === 0) return out;
    if (x === h) out.push(vals[i]!);
  }
}

describe("HashSlots", () => {
  it("keeps one value under two hashes, and one slot per add of the same pair", () => {
    const s = new HashSlots<string>();
    s.add(5, "e");
    s.add(9, "e");
    s.add(5, "e");
    expect([s.size, filedUnder(s, 5), filedUnder(s, 9)]).toEqual([3, ["e", "e"], ["e"]]);
    expect(s.remove(5, "e")).toBe(true);
    expect([s.size, filedUnder(s, 5)]).toEqual([2, ["e"]]);
    expect(s.remove(9, "x")).toBe(false);
    expect(s.values().sort()).toEqual(["e", "e"]);
  });

  // Growth, probe runs that wrap around and backward-shift deletion against a multiset reference,
  // with hashes from a narrow range (long runs of equal and neighbouring homes) and from all of int32.
  const runs = [
    { name: "8 distinct hashes", hashes: 8, seed: 1 },
    { name: "300 distinct hashes", hashes: 300, seed: 2 },
    { name: "any int32 hash", hashes: 0, seed: 3 },
  ];
  it.each(runs)("agrees with a reference under random adds and removes: $name", ({ hashes, seed }) => {
    const rng = new RngRoot(seed).stream("test/hashslots");
    const s = new HashSlots<number>(2);
    const ref = new Map<number, number[]>(); // hash → values filed under it (a multiset)
    let size = 0;
    for (let i = 0; i < 20_000; i++) {
      const h = hashes === 0 ? rng.uint32() | 0 || 1 : rng.int(1, hashes) * 0x10001;
      const v = rng.int(0, 20);
      const list = ref.get(h) ?? [];
      if (rng.next() < 0.55) {
        s.add(h, v);
        list.push(v);
        ref.set(h, list);
        size++;
      } else {
        const k = list.indexOf(v);
        expect(s.remove(h, v)).toBe(k >= 0);
        if (k >= 0) {
          list.splice(k, 1);
          size--;
        }
      }
      expect(s.size).toBe(size);
    }
    for (const [h, list] of ref) expect(filedUnder(s, h).sort((a, b) => a - b)).toEqual([...list].sort((a, b) => a - b));
  });
});
