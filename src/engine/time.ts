/**
 * Simulated time. `SimTime` is an integer number of nanoseconds held in a JS number: exact up to
 * Number.MAX_SAFE_INTEGER (2^53 ns ≈ 104 days of simulated time), which is far beyond any run.
 * Never a float: constructors round to the nearest nanosecond and reject non-finite input.
 *
 * `parseDuration` reads the duration syntax scenario files and the CLI use (Go's
 * time.ParseDuration units: "ns", "us"/"µs", "ms", "s", "m", "h", with decimals and compound forms
 * such as "1m30s"). It throws a plain Error with a clear message; callers that know the input's
 * location wrap it into an InputError.
 */

/** Integer nanoseconds since the start of the simulation. */
export type SimTime = number;

export const NANOSECOND: SimTime = 1;
export const MICROSECOND: SimTime = 1_000;
export const MILLISECOND: SimTime = 1_000_000;
export const SECOND: SimTime = 1_000_000_000;
export const MINUTE: SimTime = 60 * SECOND;
export const HOUR: SimTime = 60 * MINUTE;

function toSimTime(value: number, unit: number, what: string): SimTime {
  if (!Number.isFinite(value)) throw new Error(`${what}: ${value} is not a finite duration`);
  const t = Math.round(value * unit);
  if (!Number.isSafeInteger(t)) throw new Error(`${what}: ${value} overflows simulated time (max ${MAX_SIM_TIME} ns)`);
  return t;
}

/** Largest representable simulated time (2^53 − 1 ns, about 104 days). */
export const MAX_SIM_TIME: SimTime = Number.MAX_SAFE_INTEGER;

export const ns = (n: number): SimTime => toSimTime(n, NANOSECOND, "ns");
export const us = (n: number): SimTime => toSimTime(n, MICROSECOND, "us");
export const ms = (n: number): SimTime => toSimTime(n, MILLISECOND, "ms");
export const s = (n: number): SimTime => toSimTime(n, SECOND, "s");

/** Converts simulated time to (float) seconds, for statistics and charts only. */
export function toSeconds(t: SimTime): number {
  return t / SECOND;
}

/** Converts simulated time to (float) milliseconds, for statistics and charts only. */
export function toMillis(t: SimTime): number {
  return t / MILLISECOND;
}

const UNITS: Readonly<Record<string, number>> = {
  ns: NANOSECOND,
  us: MICROSECOND,
  "µs": MICROSECOND, // U+00B5 micro sign
  "μs": MICROSECOND, // U+03BC greek mu
  ms: MILLISECOND,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
};

const PART_RE = /(\d+)(?:\.(\d*))?|\.(\d+)/y;
const UNIT_RE = /(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration: one or more `<decimal><unit>` parts, e.g. "1.5s", "500ms", "2m", "10us",
 * "1h", "1m30s". "0" alone is accepted. Negative durations and sub-nanosecond precision are
 * rejected. Throws a plain Error describing what was expected.
 */
export function parseDuration(text: string): SimTime {
  const expected = 'expected a duration such as "500ms", "1.5s", "2m" or "1m30s" (units ns, us, ms, s, m, h)';
  if (typeof text !== "string") throw new Error(`${expected}, got ${typeof text}`);
  const src = text.trim();
  if (src === "") throw new Error(`${expected}, got an empty string`);
  if (src === "0") return 0;
  if (src.startsWith("-")) throw new Error(`duration must not be negative, got "${text}"`);
  let pos = 0;
  let total = 0n;
  let parts = 0;
  while (pos < src.length) {
    PART_RE.lastIndex = pos;
    const num = PART_RE.exec(src);
    if (!num || num.index !== pos) throw new Error(`${expected}, got "${text}"`);
    pos = PART_RE.lastIndex;
    UNIT_RE.lastIndex = pos;
    const unitM = UNIT_RE.exec(src);
    if (!unitM || unitM.index !== pos) {
      const rest = src.slice(pos);
      throw new Error(rest === "" ? `${expected}, got "${text}" (missing unit)` : `${expected}, got "${text}" (unknown unit "${rest}")`);
    }
    // "ms" must win over "m" followed by "s": the alternation order above tries "ms" first.
    pos = UNIT_RE.lastIndex;
    const unit = BigInt(UNITS[unitM[1]!]!);
    const intDigits = num[1] ?? "0";
    const fracDigits = num[2] ?? num[3] ?? "";
    // Exact decimal arithmetic: value = int + frac / 10^len, times unit (in ns).
    const scale = 10n ** BigInt(fracDigits.length);
    const numer = (BigInt(intDigits) * scale + (fracDigits === "" ? 0n : BigInt(fracDigits))) * unit;
    if (numer % scale !== 0n) {
      throw new Error(`duration "${text}" is finer than the simulator's 1ns resolution`);
    }
    total += numer / scale;
    parts++;
  }
  if (parts === 0) throw new Error(`${expected}, got "${text}"`);
  if (total > BigInt(MAX_SIM_TIME)) throw new Error(`duration "${text}" exceeds the maximum simulated time (about 104 days)`);
  return Number(total);
}

function trimZeros(x: string): string {
  return x.includes(".") ? x.replace(/0+$/, "").replace(/\.$/, "") : x;
}

/**
 * Formats a duration for reports: seconds with millisecond precision from 1 s up ("1.250s"),
 * otherwise the largest unit that keeps the integer part non-zero with up to 3 decimals and
 * trailing zeros trimmed ("12.5ms", "250us", "42ns"). Output only; never parsed back exactly.
 */
export function formatDuration(t: SimTime): string {
  if (!Number.isFinite(t)) return String(t);
  const neg = t < 0;
  const a = Math.abs(t);
  let out: string;
  if (a >= SECOND) out = `${(a / SECOND).toFixed(3)}s`;
  else if (a >= MILLISECOND) out = `${trimZeros((a / MILLISECOND).toFixed(3))}ms`;
  else if (a >= MICROSECOND) out = `${trimZeros((a / MICROSECOND).toFixed(3))}us`;
  else out = `${trimZeros(a.toFixed(3))}ns`;
  return neg ? `-${out}` : out;
}
