import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import { buildReport } from "../../src/report/build.ts";
import { toJson, type Report } from "../../src/report/model.ts";
import { aggregateSweep, renderSweepText } from "../../src/report/sweep.ts";
import { input, requestRecords, type Req } from "./fixtures.ts";

/** One simulated run: n independent connections drawn with the given shares from seed's stream. */
function run(seed: number, n: number, shares: readonly number[]): Report {
  const rng = seedrandom.alea(`sweep-${seed}`);
  const reqs: Req[] = [];
  for (let i = 0; i < n; i++) {
    const u = rng();
    const ep = u < shares[0]! ? 0 : u < shares[0]! + shares[1]! ? 1 : 2;
    reqs.push({ ep, flow: i + 1 });
  }
  const base = input(requestRecords(reqs));
  return buildReport({ ...base, meta: { ...base.meta, seed } });
}

describe("aggregateSweep", () => {
  const fair = Array.from({ length: 200 }, (_, i) => run(i + 1, 300, [1 / 3, 1 / 3, 1 / 3]));
  const agg = aggregateSweep(fair);

  it("a fair balancer gives p < 0.05 in about 5% of runs (200 seeds, stated tolerance 1.5%-10%)", () => {
    expect(agg.pBelowAlpha.n).toBe(200);
    expect(agg.pBelowAlpha.fraction).toBeGreaterThanOrEqual(0.015);
    expect(agg.pBelowAlpha.fraction).toBeLessThanOrEqual(0.1);
    expect(agg.pBelowAlpha.verdict).toMatch(/consistent with a fair balancer/);
  });

  it("p-values are roughly uniform: median near 0.5", () => {
    const p = agg.metrics.find((m) => m.metric === "fairness.p")!;
    expect(p.n).toBe(200);
    expect(p.median!).toBeGreaterThan(0.35);
    expect(p.median!).toBeLessThan(0.65);
  });

  it("summarises each metric (mean, sd, quantiles in order) and keeps per-run values in seed order", () => {
    for (const m of agg.metrics) {
      if (m.n === 0) continue;
      expect(m.min!).toBeLessThanOrEqual(m.p5!);
      expect(m.p5!).toBeLessThanOrEqual(m.median!);
      expect(m.median!).toBeLessThanOrEqual(m.p95!);
      expect(m.p95!).toBeLessThanOrEqual(m.max!);
      expect(m.values.length).toBe(200);
    }
    const total = agg.metrics.find((m) => m.metric === "requests.total")!;
    expect([total.mean, total.sd, total.min, total.max]).toEqual([300, 0, 300, 300]);
    const share = agg.metrics.find((m) => m.metric === "endpoint.share[hostnames-85bc9c579-dsmh9]")!;
    expect(share.mean!).toBeCloseTo(1 / 3, 2);
    expect(agg.seeds.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it("a biased balancer is flagged", () => {
    const biased = aggregateSweep(Array.from({ length: 50 }, (_, i) => run(i + 1, 300, [0.45, 0.3, 0.25])));
    expect(biased.pBelowAlpha.fraction).toBeGreaterThan(0.5);
    expect(biased.pBelowAlpha.verdict).toMatch(/the balancing is biased$/);
  });

  it("is independent of the order the runs arrive in (workers finish in any order)", () => {
    expect(toJson(aggregateSweep([...fair].reverse()))).toBe(toJson(agg));
  });

  it("renders text within 80 columns", () => {
    const text = renderSweepText(agg);
    expect(text.split("\n").filter((l) => [...l].length > 80)).toEqual([]);
    expect(text).toMatch(/^svcsim sweep: hostnames-clusterip, 200 runs \(seeds 1\.\.200\)/);
    expect(text).toContain("fairness.p ");
  });

  it("rejects an empty or mixed sweep", () => {
    expect(() => aggregateSweep([])).toThrow(/no reports/);
    const other = { ...fair[0]!, meta: { ...fair[0]!.meta, scenario: "other" } };
    expect(() => aggregateSweep([fair[1]!, other])).toThrow(/mixed scenarios/);
  });
});
