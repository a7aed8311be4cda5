/**
 * Fairness and latency statistics for reports: pure functions over counts and samples.
 *
 * - chiSquareGoodnessOfFit: Pearson's test of observed counts against expected shares (e.g. the
 *   exact kernel shares of a kube-proxy probability chain, see kernelShares).
 * - jainIndex, coefficientOfVariation, maxMinRatio: spread of load over endpoints.
 * - binomialCI: Wilson score (default) or Clopper–Pearson (exact) interval for one share.
 * - plainVerdict: one sentence for humans and CI logs.
 * - percentile/percentiles: nearest-rank definition (the smallest sample such that at least q %
 *   of the samples are ≤ it; no interpolation), so every reported value is a latency that was
 *   actually observed.
 *
 * Distribution functions come from jstat. Upper-tail p-values are computed as 1 − CDF, so they
 * bottom out around 1e-16; verdicts print anything below 0.0001 as "p<0.0001".
 */
import jStat from "jstat";

const TWO31 = 2 ** 31;

export interface ChiSquareResult {
  /** Pearson's X² = Σ (O − E)² / E over categories with E > 0. */
  statistic: number;
  /** Degrees of freedom: categories with E > 0, minus 1. */
  df: number;
  /** Upper-tail probability P(χ²_df ≥ statistic). */
  p: number;
  /** Total observations. */
  n: number;
  /** Expected counts (n · share, shares normalised to sum 1). */
  expected: number[];
}

/**
 * Pearson's chi-square goodness of fit. `expectedShares` need not sum to 1 (they are normalised).
 * A category with zero expected share and a non-zero count makes the fit impossible
 * (statistic = Infinity, p = 0); zero-share categories with no count are left out of df.
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], expectedShares: readonly number[]): ChiSquareResult {
  if (observed.length !== expectedShares.length) throw new Error(`chi-square: ${observed.length} observed counts but ${expectedShares.length} expected shares`);
  if (observed.length < 2) throw new Error("chi-square: need at least 2 categories");
  for (const o of observed) if (!(o >= 0) || !Number.isFinite(o)) throw new Error(`chi-square: observed counts must be finite and >= 0, got ${o}`);
  let shareSum = 0;
  for (const s of expectedShares) {
    if (!(s >= 0) || !Number.isFinite(s)) throw new Error(`chi-square: expected shares must be finite and >= 0, got ${s}`);
    shareSum += s;
  }
  if (!(shareSum > 0)) throw new Error("chi-square: expected shares sum to 0");
  const n = observed.reduce((a, b) => a + b, 0);
  const expected = expectedShares.map((s) => (n * s) / shareSum);
  let stat = 0;
  let cats = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    const o = observed[i]!;
    if (e === 0) {
      if (o > 0) stat = Infinity;
      continue;
    }
    cats++;
    stat += ((o - e) * (o - e)) / e;
  }
  const df = cats - 1;
  let p: number;
  if (n === 0) p = 1;
  else if (stat === Infinity) p = 0;
  else if (df < 1) p = 1;
  else p = Math.min(1, Math.max(0, 1 - jStat.chisquare.cdf(stat, df)));
  return { statistic: stat, df, p, n, expected };
}

function checkSample(xs: readonly number[], what: string): void {
  if (xs.length === 0) throw new Error(`${what}: empty sample`);
  for (const x of xs) if (!Number.isFinite(x) || x < 0) throw new Error(`${what}: values must be finite and >= 0, got ${x}`);
}

/** Jain's fairness index (Σx)² / (n·Σx²): 1 when all equal, 1/n when one takes all. All zero → 1. */
export function jainIndex(xs: readonly number[]): number {
  checkSample(xs, "jainIndex");
  let s = 0;
  let s2 = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
  }
  return s2 === 0 ? 1 : (s * s) / (xs.length * s2);
}

/** Population standard deviation over mean (0 when all equal, including all zero). */
export function coefficientOfVariation(xs: readonly number[]): number {
  checkSample(xs, "coefficientOfVariation");
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (mean === 0) return 0;
  let v = 0;
  for (const x of xs) v += (x - mean) * (x - mean);
  return Math.sqrt(v / n) / mean;
}

/** max / min: Infinity when the minimum is 0 and the maximum is not; 1 when all are 0. */
export function maxMinRatio(xs: readonly number[]): number {
  checkSample(xs, "maxMinRatio");
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (hi === 0) return 1;
  return lo === 0 ? Infinity : hi / lo;
}

export type BinomialCIMethod = "wilson" | "clopper-pearson";

export interface Interval {
  lower: number;
  upper: number;
}

/** Confidence interval for a proportion k/n (Wilson score by default, or exact Clopper–Pearson). */
export function binomialCI(k: number, n: number, level = 0.95, method: BinomialCIMethod = "wilson"): Interval {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`binomialCI: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`binomialCI: k must be an integer in [0, n], got ${k}`);
  if (!(level > 0 && level < 1)) throw new Error(`binomialCI: level must be in (0, 1), got ${level}`);
  const alpha = 1 - level;
  if (method === "clopper-pearson") {
    const lower = k === 0 ? 0 : jStat.beta.inv(alpha / 2, k, n - k + 1);
    const upper = k === n ? 1 : jStat.beta.inv(1 - alpha / 2, k + 1, n - k);
    return { lower, upper };
  }
  const z = jStat.normal.inv(1 - alpha / 2, 0, 1);
  const z2 = z * z;
  const phat = k / n;
  const denom = 1 + z2 / n;
  const center = (phat + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

/** p formatted for people: two decimals from 0.01, one significant digit below, "<0.0001" below that. */
export function formatP(p: number): string {
  if (p >= 0.01) return `=${p.toFixed(2)}`;
  if (p >= 0.0001) return `=${Number(p.toPrecision(1))}`;
  return "<0.0001";
}

/**
 * One-line verdict of a goodness-of-fit p-value against uniform random balancing:
 * "consistent with uniform random at n=1000 (p=0.42)" or "skewed: p=0.0002 at n=1000".
 */
export function plainVerdict(p: number, n: number, alpha = 0.05): string {
  if (!(p >= 0 && p <= 1)) throw new Error(`plainVerdict: p must be in [0, 1], got ${p}`);
  return p < alpha ? `skewed: p${formatP(p)} at n=${n}` : `consistent with uniform random at n=${n} (p${formatP(p)})`;
}

/** The kernel's quantised statistic probability: lround(p · 2^31) (p in [0, 1]). */
export function quantizeP31(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`quantizeP31: probability must be in [0, 1], got ${p}`);
  return Math.round(p * TWO31); // lround for non-negative values (ties away from zero)
}

/**
 * Exact endpoint shares of a kube-proxy probability chain: `p31s` are the quantised P values of
 * the n−1 statistic rules in order; the last endpoint's rule has no statistic match and takes the
 * rest. share_k = Π_{j<k}(1 − P_j/2^31) · P_k/2^31. Returns n = p31s.length + 1 shares.
 */
export function kernelShares(p31s: readonly number[]): number[] {
  const shares: number[] = [];
  let rest = 1;
  for (const P of p31s) {
    if (!Number.isInteger(P) || P < 0 || P > TWO31) throw new Error(`kernelShares: P must be an integer in [0, 2^31], got ${P}`);
    const s = rest * (P / TWO31);
    shares.push(s);
    rest -= s;
  }
  shares.push(rest);
  return shares;
}

/** Sorts a copy numerically (Float64Array sort is numeric). */
function sorted(xs: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(xs as ArrayLike<number>);
  a.sort();
  return a;
}

/**
 * Nearest-rank percentile: the value at rank ⌈q/100 · n⌉ (1-based) of the sorted sample;
 * q = 0 gives the minimum. No interpolation.
 */
export function percentile(xs: ArrayLike<number>, q: number): number {
  return percentiles(xs, [q])[0]!;
}

/** Several nearest-rank percentiles with one sort. */
export function percentiles(xs: ArrayLike<number>, qs: readonly number[]): number[] {
  if (xs.length === 0) throw new Error("percentile: empty sample");
  const a = sorted(xs);
  return qs.map((q) => {
    if (!(q >= 0 && q <= 100)) throw new Error(`percentile: q must be in [0, 100], got ${q}`);
    // q·n/100, snapped to an integer when float error alone keeps it off one (99.9 % of 1000).
    const x = (q * a.length) / 100;
    const r = Math.round(x);
    const rank = Math.max(1, Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.ceil(x));
    return a[rank - 1]!;
  });
}
