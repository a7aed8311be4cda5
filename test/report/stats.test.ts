import { describe, expect, it } from "vitest";
import {
  binomialCI, chiSquareGoodnessOfFit, coefficientOfVariation, jainIndex, kernelShares, maxMinRatio,
  percentile, percentiles, plainVerdict, quantizeP31,
} from "../../src/report/stats.ts";

/** Independent reference: upper tail of χ² with even df, e^{-x/2} Σ_{i<df/2} (x/2)^i / i!. */
function chiUpperEvenDf(x: number, df: number): number {
  let term = 1;
  let sum = 1;
  for (let i = 1; i < df / 2; i++) {
    term *= x / 2 / i;
    sum += term;
  }
  return Math.exp(-x / 2) * sum;
}

/** Independent reference: exact binomial tail P(X >= k) for X ~ Bin(n, p) by summation. */
function binomUpperTail(k: number, n: number, p: number): number {
  let s = 0;
  let logC = 0; // log C(n, i)
  for (let i = 0; i <= n; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    if (i >= k) s += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return s;
}

describe("chiSquareGoodnessOfFit", () => {
  // Observed counts chosen to give a target statistic against uniform shares over 3 or 5 categories.
  const rows = [
    { name: "df=2 perfect fit", obs: [100, 100, 100], df: 2, stat: 0 },
    { name: "df=2 mild skew", obs: [110, 100, 90], df: 2, stat: 2 },
    { name: "df=2 strong skew", obs: [150, 100, 50], df: 2, stat: 50 },
    { name: "df=4", obs: [30, 20, 20, 10, 20], df: 4, stat: 10 },
    { name: "df=4 small", obs: [21, 19, 20, 20, 20], df: 4, stat: 0.1 },
  ];
  it.each(rows)("$name: statistic and p match the closed form", ({ obs, df, stat }) => {
    const r = chiSquareGoodnessOfFit(obs, obs.map(() => 1 / obs.length));
    expect(r.df).toBe(df);
    expect(r.statistic).toBeCloseTo(stat, 10);
    expect(r.p).toBeCloseTo(chiUpperEvenDf(stat, df), 9);
    expect(r.n).toBe(obs.reduce((a, b) => a + b, 0));
  });

  it("df=1 at the 5 % critical value 3.841458820694124 gives p = 0.05", () => {
    // 2 categories, shares 1/2: X² = (o1 − e)²/e · 2 → o1 = e + sqrt(X²·e/2)
    const e = 1e6;
    const d = Math.sqrt((3.841458820694124 * e) / 2);
    const r = chiSquareGoodnessOfFit([e + d, e - d], [0.5, 0.5]);
    expect(r.p).toBeCloseTo(0.05, 9);
  });

  it("normalises shares and handles zero-share categories", () => {
    expect(chiSquareGoodnessOfFit([10, 20], [1, 2]).statistic).toBeCloseTo(0, 12);
    const impossible = chiSquareGoodnessOfFit([5, 1, 0], [0.5, 0, 0.5]);
    expect([impossible.statistic, impossible.p]).toEqual([Infinity, 0]);
    const dropped = chiSquareGoodnessOfFit([5, 0, 5], [0.5, 0, 0.5]);
    expect([dropped.df, dropped.p]).toEqual([1, 1]);
    expect(chiSquareGoodnessOfFit([0, 0], [0.5, 0.5]).p).toBe(1);
  });

  const bad = [
    { name: "length mismatch", obs: [1, 2], sh: [1], msg: /expected shares/ },
    { name: "one category", obs: [1], sh: [1], msg: /at least 2/ },
    { name: "negative count", obs: [1, -1], sh: [1, 1], msg: />= 0/ },
    { name: "zero shares", obs: [1, 1], sh: [0, 0], msg: /sum to 0/ },
  ];
  it.each(bad)("rejects $name", ({ obs, sh, msg }) => expect(() => chiSquareGoodnessOfFit(obs, sh)).toThrow(msg));
});

describe("spread measures", () => {
  const rows = [
    { name: "equal", xs: [5, 5, 5, 5], jain: 1, cv: 0, ratio: 1 },
    { name: "one takes all", xs: [12, 0, 0, 0], jain: 0.25, cv: Math.sqrt(3), ratio: Infinity },
    { name: "two to one", xs: [2, 1], jain: 9 / 10, cv: 1 / 3, ratio: 2 },
    { name: "all zero", xs: [0, 0, 0], jain: 1, cv: 0, ratio: 1 },
    { name: "seed-like 1000 curls", xs: [340, 330, 330], jain: 1000 ** 2 / (3 * (340 ** 2 + 2 * 330 ** 2)), cv: Math.sqrt(200 / 9) / (1000 / 3), ratio: 340 / 330 },
  ];
  it.each(rows)("$name", ({ xs, jain, cv, ratio }) => {
    expect(jainIndex(xs)).toBeCloseTo(jain, 12);
    expect(coefficientOfVariation(xs)).toBeCloseTo(cv, 12);
    expect(maxMinRatio(xs)).toBe(ratio);
  });
  it("rejects empty and negative samples", () => {
    expect(() => jainIndex([])).toThrow(/empty/);
    expect(() => maxMinRatio([1, -1])).toThrow(/>= 0/);
  });
});

describe("binomialCI", () => {
  const known = [
    // Clopper–Pearson 95 % for 5/10 is (0.1870860, 0.8129140); Wilson (0.2365931, 0.7634069).
    { name: "5/10 Clopper-Pearson", k: 5, n: 10, method: "clopper-pearson" as const, lo: 0.187086028, hi: 0.812913972 },
    { name: "5/10 Wilson", k: 5, n: 10, method: "wilson" as const, lo: 0.236593090, hi: 0.763406910 },
    { name: "0/10 Clopper-Pearson (lower is 0, upper 1 − 0.025^(1/10))", k: 0, n: 10, method: "clopper-pearson" as const, lo: 0, hi: 1 - 0.025 ** (1 / 10) },
    { name: "10/10 Clopper-Pearson", k: 10, n: 10, method: "clopper-pearson" as const, lo: 0.025 ** (1 / 10), hi: 1 },
    { name: "0/10 Wilson", k: 0, n: 10, method: "wilson" as const, lo: 0, hi: 1.959963985 ** 2 / (10 + 1.959963985 ** 2) },
  ];
  it.each(known)("$name", ({ k, n, method, lo, hi }) => {
    const ci = binomialCI(k, n, 0.95, method);
    expect(ci.lower).toBeCloseTo(lo, 7);
    expect(ci.upper).toBeCloseTo(hi, 7);
  });

  it.each([{ k: 3, n: 40 }, { k: 333, n: 1000 }, { k: 17, n: 20 }])(
    "Clopper-Pearson bounds solve the exact binomial tail equations ($k/$n)",
    ({ k, n }) => {
      const { lower, upper } = binomialCI(k, n, 0.95, "clopper-pearson");
      expect(binomUpperTail(k, n, lower)).toBeCloseTo(0.025, 8); // P(X >= k | lower) = α/2
      expect(1 - binomUpperTail(k + 1, n, upper)).toBeCloseTo(0.025, 8); // P(X <= k | upper) = α/2
    },
  );

  it.each([{ k: 3, n: 40 }, { k: 333, n: 1000 }, { k: 17, n: 20 }])("Wilson bounds satisfy (p̂ − p)² = z²·p(1 − p)/n ($k/$n)", ({ k, n }) => {
    const z = 1.959963984540054;
    for (const p of Object.values(binomialCI(k, n))) expect((k / n - p) ** 2).toBeCloseTo((z * z * p * (1 - p)) / n, 12);
  });

  it("a 99 % interval contains the 95 % one", () => {
    const a = binomialCI(40, 100, 0.95);
    const b = binomialCI(40, 100, 0.99);
    expect(b.lower < a.lower && b.upper > a.upper).toBe(true);
  });

  it("rejects bad input", () => {
    expect(() => binomialCI(11, 10)).toThrow(/k must be/);
    expect(() => binomialCI(1, 0)).toThrow(/n must be/);
    expect(() => binomialCI(1, 10, 1)).toThrow(/level/);
  });
});

describe("plainVerdict", () => {
  const rows = [
    { p: 0.42, n: 1000, want: "consistent with uniform random at n=1000 (p=0.42)" },
    { p: 0.0002, n: 1000, want: "skewed: p=0.0002 at n=1000" },
    { p: 0.049, n: 300, want: "skewed: p=0.05 at n=300" },
    { p: 0.05, n: 300, want: "consistent with uniform random at n=300 (p=0.05)" },
    { p: 0.0031, n: 50, want: "skewed: p=0.003 at n=50" },
    { p: 1e-12, n: 5000, want: "skewed: p<0.0001 at n=5000" },
    { p: 1, n: 3, want: "consistent with uniform random at n=3 (p=1.00)" },
  ];
  it.each(rows)("p=$p n=$n", ({ p, n, want }) => expect(plainVerdict(p, n)).toBe(want));
  it("honours alpha", () => expect(plainVerdict(0.03, 10, 0.01)).toMatch(/^consistent/));
});

describe("kernelShares", () => {
  it("v1.16 three endpoints (%0.5f: 0.33333, 0.50000): exact quantised shares", () => {
    const P1 = quantizeP31(0.33333);
    const P2 = quantizeP31(0.5);
    expect(P1).toBe(Math.round(0.33333 * 2 ** 31));
    expect(P1).toBe(715820724); // 0.33333 · 2^31 = 715820723.84
    // the seed's iptables-save shows exactly this value with 11 decimals
    expect((P1 / 2 ** 31).toFixed(11)).toBe("0.33332999982");
    expect(P2).toBe(2 ** 30);
    const shares = kernelShares([P1, P2]);
    expect(shares).toHaveLength(3);
    expect(shares[0]).toBe(P1 / 2 ** 31);
    expect(shares[0]).toBeCloseTo(0.33333, 9);
    expect(shares[1]).toBeCloseTo(0.333335, 9);
    expect(shares[2]).toBeCloseTo(0.333335, 9);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
  });
  it("v1.17+ (%0.10f) 3 endpoints are within 3e-6 of 1/3", () => {
    const shares = kernelShares([quantizeP31(0.3333333333), quantizeP31(0.5)]);
    for (const s of shares) expect(Math.abs(s - 1 / 3)).toBeLessThan(3e-6);
  });
  it("a single endpoint takes everything; P = 0 rules never match", () => {
    expect(kernelShares([])).toEqual([1]);
    expect(kernelShares([0, 2 ** 31])).toEqual([0, 1, 0]);
    expect(() => kernelShares([1.5])).toThrow();
  });
});

describe("nearest-rank percentiles", () => {
  const xs = [15, 20, 35, 40, 50];
  const rows = [
    { q: 0, want: 15 },
    { q: 5, want: 15 },
    { q: 30, want: 20 },
    { q: 40, want: 20 },
    { q: 50, want: 35 },
    { q: 100, want: 50 },
  ];
  it.each(rows)("p$q of [15,20,35,40,50] = $want", ({ q, want }) => expect(percentile(xs, q)).toBe(want));
  it("handles unsorted input, typed arrays and float error in q·n", () => {
    const a = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000 … 1
    expect(percentiles(a, [50, 99, 99.9, 100])).toEqual([500, 990, 999, 1000]);
    expect(() => percentile([], 50)).toThrow(/empty/);
    expect(() => percentile([1], 101)).toThrow(/q must/);
  });
});
