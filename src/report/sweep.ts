/**
 * Sweep aggregation: many Reports of one scenario (one per seed) → the distribution of each
 * metric across runs (`./sim sweep`). Pure; running the seeds in worker processes is the CLI's job.
 *
 * For a fair balancer the per-request chi-square p-value is uniform on [0, 1] across seeds, so
 * p < α in about α of the runs; `pBelowAlpha` reports that fraction with a Wilson interval and a
 * plain-words verdict. Per-endpoint shares are keyed by pod name (pinned or seeded names stay the
 * same across runs only when the scenario pins them; otherwise each name appears in few runs).
 */
import { binomialCI, percentiles } from "./stats.ts";
import { r6, round6, type Report } from "./model.ts";
import { wrap } from "./layout.ts";

export const SWEEP_SCHEMA = "svcsim.sweep/v1";

export interface MetricDistribution {
  metric: string;
  /** Runs in which the metric had a finite value. */
  n: number;
  /** Runs without a value (not measurable, or infinite such as max/min with an idle endpoint). */
  missing: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  sd: number | null;
  min: number | null;
  p5: number | null;
  median: number | null;
  p95: number | null;
  max: number | null;
  /** Per run, in seed order (null = no value). */
  values: (number | null)[];
}

export interface SweepAggregate {
  schema: typeof SWEEP_SCHEMA;
  scenario: string;
  runs: number;
  seeds: number[];
  alpha: number;
  pBelowAlpha: { count: number; n: number; fraction: number; ci95: { lower: number; upper: number } | null; verdict: string };
  metrics: MetricDistribution[];
  analysis: string[];
}

type Extract = (r: Report) => number | null | undefined;

const FIXED: readonly [string, Extract][] = [
  ["fairness.p", (r) => r.fairness?.chiSquare.p],
  ["fairness.chi2", (r) => r.fairness?.chiSquare.statistic],
  ["fairness.jain", (r) => r.fairness?.jain],
  ["fairness.cv", (r) => r.fairness?.cv],
  ["fairness.maxMin", (r) => r.fairness?.maxMin],
  ["fairness.maxDeviation", (r) => r.fairness?.maxDeviation],
  ["fairness.perConnection.p", (r) => r.fairness?.perConnection?.chiSquare.p],
  ["fairness.perConnection.jain", (r) => r.fairness?.perConnection?.jain],
  ["requests.total", (r) => r.requests.sent],
  ["requests.succeeded", (r) => r.requests.ok],
  ["requests.failed", (r) => r.requests.failed.total],
  ["requests.failedRatio", (r) => r.requests.failedRatio],
  ["latency.p50", (r) => r.latency.overall?.p50],
  ["latency.p99", (r) => r.latency.overall?.p99],
];

/** The sweep metrics whose spread the sweep chart shows. */
export const FAIRNESS_SWEEP_METRICS = ["fairness.p", "fairness.jain", "fairness.cv", "fairness.maxMin", "fairness.maxDeviation", "fairness.perConnection.p"] as const;

function distribution(metric: string, values: (number | null)[]): MetricDistribution {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const base = { metric, n: xs.length, missing: values.length - xs.length, values };
  if (xs.length === 0) return { ...base, mean: null, sd: null, min: null, p5: null, median: null, p95: null, max: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (xs.length - 1));
  const [min, p5, median, p95, max] = percentiles(xs, [0, 5, 50, 95, 100]);
  return { ...base, mean: round6(mean), sd: round6(sd), min: round6(min!), p5: round6(p5!), median: round6(median!), p95: round6(p95!), max: round6(max!) };
}

export function aggregateSweep(reports: readonly Report[], opts: { alpha?: number } = {}): SweepAggregate {
  if (reports.length === 0) throw new Error("aggregateSweep: no reports");
  const alpha = opts.alpha ?? 0.05;
  const runs = [...reports].sort((a, b) => a.meta.seed - b.meta.seed);
  const scenario = runs[0]!.meta.scenario;
  for (const r of runs) if (r.meta.scenario !== scenario) throw new Error(`aggregateSweep: mixed scenarios "${scenario}" and "${r.meta.scenario}"`);
  const val = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

  const metrics = FIXED.map(([name, f]) => distribution(name, runs.map((r) => val(f(r)))));
  // Per-endpoint shares of the primary service, keyed by pod name (first-seen order, then by name).
  const pods = new Set<string>();
  for (const r of runs) for (const e of r.endpoints) if (e.expectedShare !== null) pods.add(e.pod || e.address);
  for (const pod of [...pods].sort()) {
    metrics.push(distribution(`endpoint.share[${pod}]`, runs.map((r) => val(r.endpoints.find((e) => (e.pod || e.address) === pod)?.share))));
  }

  const ps = runs.map((r) => val(r.fairness?.chiSquare.p)).filter((v): v is number => v !== null);
  const count = ps.filter((p) => p < alpha).length;
  const ci = ps.length > 0 ? binomialCI(count, ps.length) : null;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  let verdict: string;
  if (!ci) verdict = "no run had a fairness test";
  else {
    const head = `chi-square p < ${alpha} in ${count} of ${ps.length} runs (${pct(count / ps.length)}, 95% CI ${pct(ci.lower)}-${pct(ci.upper)})`;
    verdict =
      ci.lower > alpha
        ? `${head}: more often than the ${pct(alpha)} a fair balancer gives, so the balancing is biased`
        : ci.upper < alpha
          ? `${head}: less often than the ${pct(alpha)} a fair balancer gives (suspiciously even)`
          : `${head}: consistent with a fair balancer (about ${pct(alpha)} expected)`;
  }
  const analysis = [verdict];
  const failed = metrics.find((m) => m.metric === "requests.failed")!;
  const failingRuns = failed.values.filter((v) => v !== null && v > 0).length;
  if (failingRuns > 0) analysis.push(`${failingRuns} of ${runs.length} runs had failed requests (mean ${failed.mean} per run)`);

  return {
    schema: SWEEP_SCHEMA,
    scenario,
    runs: runs.length,
    seeds: runs.map((r) => r.meta.seed),
    alpha,
    pBelowAlpha: { count, n: ps.length, fraction: ps.length === 0 ? 0 : r6(count / ps.length), ci95: ci ? { lower: r6(ci.lower), upper: r6(ci.upper) } : null, verdict },
    metrics,
    analysis,
  };
}

/** The sweep as text for an 80-column terminal (a metric name too long for its column gets a line of its own). */
export function renderSweepText(agg: SweepAggregate): string {
  const out: string[] = wrap(`svcsim sweep: ${agg.scenario}, ${agg.runs} runs (seeds ${agg.seeds[0]}..${agg.seeds[agg.seeds.length - 1]})`);
  out.push("");
  const f = (v: number | null) => (v === null ? "-" : Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(3))));
  const head = ["mean", "sd", "min", "p5", "median", "p95", "max"];
  const nums = agg.metrics.map((m) => [m.mean, m.sd, m.min, m.p5, m.median, m.p95, m.max].map(f));
  const w = head.map((h, i) => Math.max(h.length, ...nums.map((r) => r[i]!.length)));
  const nameW = Math.max(6, 80 - w.reduce((a, b) => a + b + 1, 0));
  const line = (name: string, cells: readonly string[]) => (name.padEnd(nameW) + cells.map((c, i) => " " + c.padStart(w[i]!)).join("")).replace(/\s+$/, "");
  out.push(line("metric", head));
  agg.metrics.forEach((m, i) => {
    if ([...m.metric].length > nameW) {
      out.push(...wrap(m.metric));
      out.push(line("", nums[i]!));
    } else out.push(line(m.metric, nums[i]!));
  });
  out.push("");
  for (const a of agg.analysis) out.push(...wrap(a, "- ", "  "));
  return out.join("\n") + "\n";
}
