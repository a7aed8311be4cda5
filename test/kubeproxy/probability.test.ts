import { describe, expect, it } from "vitest";
import { formatFixedGo, probabilityString } from "../../src/kubeproxy/probability.ts";

describe("probability formatting (Go %0.Nf, round half to even on the exact double)", () => {
  it.each([
    { name: "v1.16 n=1", profile: "v1.16", n: 1, want: "1.00000" },
    { name: "v1.16 n=2", profile: "v1.16", n: 2, want: "0.50000" },
    { name: "v1.16 n=3", profile: "v1.16", n: 3, want: "0.33333" },
    { name: "v1.16 n=6", profile: "v1.16", n: 6, want: "0.16667" },
    { name: "v1.16 n=64 tie → even (toFixed says 0.01563)", profile: "v1.16", n: 64, want: "0.01562" },
    { name: "v1.16 n=32 (exact, no tie)", profile: "v1.16", n: 32, want: "0.03125" },
    { name: "v1.16 n=128", profile: "v1.16", n: 128, want: "0.00781" },
    { name: "v1.16 n=200000 (double slightly above 5e-6)", profile: "v1.16", n: 200000, want: "0.00001" },
    { name: "v1.16 n=200001 rounds to zero", profile: "v1.16", n: 200001, want: "0.00000" },
    { name: "current n=2", profile: "current", n: 2, want: "0.5000000000" },
    { name: "current n=3", profile: "current", n: 3, want: "0.3333333333" },
    { name: "current n=7", profile: "current", n: 7, want: "0.1428571429" },
    { name: "current n=2048 tie → even (toFixed says ...813)", profile: "current", n: 2048, want: "0.0004882812" },
    { name: "current n=1024", profile: "current", n: 1024, want: "0.0009765625" },
    { name: "current n=4096", profile: "current", n: 4096, want: "0.0002441406" },
  ] as const)("$name", ({ profile, n, want }) => {
    expect(probabilityString(profile, n)).toBe(want);
  });

  it.each([
    { name: "iptables-save %.11f of 2^-12 (tie, even)", x: 1 / 4096, d: 11, want: "0.00024414062" },
    { name: "0.125 at 2 digits → 0.12", x: 0.125, d: 2, want: "0.12" },
    { name: "0.375 at 2 digits → 0.38", x: 0.375, d: 2, want: "0.38" },
    { name: "2.5 at 0 digits → 2", x: 2.5, d: 0, want: "2" },
    { name: "0.1 at 20 digits shows the binary value", x: 0.1, d: 20, want: "0.10000000000000000555" },
    { name: "12.5 at 1 digit", x: 12.5, d: 1, want: "12.5" },
  ])("$name", ({ x, d, want }) => {
    expect(formatFixedGo(x, d)).toBe(want);
  });

  it("agrees with toFixed wherever there is no exact tie (n = 1..3000, both precisions)", () => {
    for (let n = 1; n <= 3000; n++) {
      const pow2 = (n & (n - 1)) === 0;
      for (const [p, d] of [["v1.16", 5], ["current", 10]] as const) {
        const s = probabilityString(p, n);
        if (!pow2) expect(s).toBe((1 / n).toFixed(d));
        expect(Math.abs(Number(s) - 1 / n)).toBeLessThanOrEqual(0.5 * 10 ** -d + 1e-15);
      }
    }
  });
});
