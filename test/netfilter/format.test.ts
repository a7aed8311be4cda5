/** Exact decimal formatting (glibc %.Nf / Go %0.Nf: ties to even) and xtables_save_string quoting. */
import { describe, expect, it } from "vitest";
import { formatDoubleFixed, formatFixedHalfEven, hex, lround, saveString } from "../../src/netfilter/format.ts";

const q31 = (p: number) => formatFixedHalfEven(BigInt(lround(p * 2 ** 31)), 31, 11);

describe("iptables-save probability: lround(p·2^31)/2^31 with %.11f", () => {
  const rows = [
    { name: "v1.16 1/3 (0.33333)", p: 0.33333, out: "0.33332999982" },
    { name: "1/2", p: 0.5, out: "0.50000000000" },
    { name: "v1.17+ 1/3 (0.3333333333)", p: 0.3333333333, out: "0.33333333349" },
    { name: "n = 4096 is an exact tie: even digit kept", p: 1 / 4096, out: "0.00024414062" },
    { name: "1", p: 1, out: "1.00000000000" },
    { name: "0", p: 0, out: "0.00000000000" },
    { name: "0.1", p: 0.1, out: "0.10000000009" },
  ];
  it.each(rows)("$name → $out", ({ p, out }) => expect(q31(p)).toBe(out));
});

describe("formatDoubleFixed (exact, half-to-even, unlike toFixed)", () => {
  const rows = [
    { name: "%0.10f of 1/2048 (tie)", x: 1 / 2048, d: 10, out: "0.0004882812", toFixed: "0.0004882813" },
    { name: "%0.5f of 1/64 (tie)", x: 1 / 64, d: 5, out: "0.01562", toFixed: "0.01563" },
    { name: "%0.5f of 1/3", x: 1 / 3, d: 5, out: "0.33333", toFixed: "0.33333" },
    { name: "%0.10f of 1/3", x: 1 / 3, d: 10, out: "0.3333333333", toFixed: "0.3333333333" },
    { name: "%0.2f of 2.675 (binary value below the tie)", x: 2.675, d: 2, out: "2.67", toFixed: "2.67" },
    { name: "%0.0f of 2.5", x: 2.5, d: 0, out: "2", toFixed: "3" },
    { name: "%0.1f of 0.25", x: 0.25, d: 1, out: "0.2", toFixed: "0.3" },
    { name: "%0.3f of -0.0625", x: -0.0625, d: 3, out: "-0.062", toFixed: "-0.063" },
    { name: "%0.5f of 1/200001 rounds to zero", x: 1 / 200001, d: 5, out: "0.00000", toFixed: "0.00000" },
  ];
  it.each(rows)("$name", ({ x, d, out, toFixed }) => {
    expect(formatDoubleFixed(x, d)).toBe(out);
    expect(x.toFixed(d)).toBe(toFixed); // documents where toFixed differs
  });
});

describe("helpers", () => {
  it("lround rounds half away from zero", () => {
    expect([lround(0.5), lround(1.5), lround(2.5), lround(-2.5)]).toEqual([1, 2, 3, -3]);
  });
  it("hex prints 0x%x of an unsigned value", () => {
    expect([hex(0x4000), hex(0), hex(0xffffff00), hex(-1)]).toEqual(["0x4000", "0x0", "0xffffff00", "0xffffffff"]);
  });
  const quoting = [
    { v: "ns1", out: " ns1" },
    { v: "kube-proxy_1", out: " kube-proxy_1" },
    { v: "ns1/svc1", out: ' "ns1/svc1"' },
    { v: "a b", out: ' "a b"' },
    { v: 'say "hi"', out: ' "say \\"hi\\""' },
    { v: "it's", out: ' "it\\\'s"' },
    { v: "back\\slash", out: ' "back\\\\slash"' },
    { v: "", out: ' ""' },
  ];
  it.each(quoting)("saveString($v)", ({ v, out }) => expect(saveString(v)).toBe(out));
});
