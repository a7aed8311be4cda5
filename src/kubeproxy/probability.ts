/**
 * The `--probability` argument kube-proxy writes for rule i of n: Go `fmt.Sprintf("%0.Nf", 1.0/float64(n-i))`,
 * with N = 5 in v1.16 (and earlier) and N = 10 from v1.17 (PR #83599) on.
 *
 * Go formats the exact binary value of the float64 and rounds exact ties half to even; JS
 * `toFixed` rounds ties up (KUBE-PROXY.md §6.7: n=64 at 5 digits is 0.01562 in Go, 0.01563 with
 * toFixed). This module expands the double exactly with BigInt and rounds half to even, so every
 * value matches Go, not only the powers of two. Results are cached per (n, digits).
 */
import type { ProfileName } from "./types.ts";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Little-endian hosts only (every platform Node 20 runs on in practice).
const LO = 0;
const HI = 1;

/** Go-compatible `%0.<digits>f` of a finite, non-negative double. */
export function formatFixedGo(x: number, digits: number): string {
  if (!Number.isFinite(x) || x < 0) throw new Error(`formatFixedGo: unsupported value ${x}`);
  if (!Number.isInteger(digits) || digits < 0 || digits > 40) throw new Error(`formatFixedGo: bad precision ${digits}`);
  f64[0] = x;
  const hi = u32[HI] as number;
  const lo = u32[LO] as number;
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (exp === 0) {
    e2 = -1074; // subnormal
  } else {
    mant |= 1n << 52n;
    e2 = exp - 1075;
  }
  // value = mant * 2^e2; scaled = value * 10^digits = num / den
  let num = mant * 10n ** BigInt(digits);
  let den = 1n;
  if (e2 >= 0) num <<= BigInt(e2);
  else den <<= BigInt(-e2);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  const s = q.toString();
  if (digits === 0) return s;
  const padded = s.padStart(digits + 1, "0");
  return `${padded.slice(0, padded.length - digits)}.${padded.slice(padded.length - digits)}`;
}

/** Digits kube-proxy uses for the probability in each profile. */
export function probabilityDigits(profile: ProfileName): number {
  return profile === "v1.16" ? 5 : 10;
}

const cache = new Map<number, string>();

/** The probability string for 1/n in the given profile (n ≥ 1). */
export function probabilityString(profile: ProfileName, n: number): string {
  const digits = probabilityDigits(profile);
  const key = n * 64 + digits;
  let s = cache.get(key);
  if (s === undefined) {
    s = formatFixedGo(1.0 / n, digits);
    cache.set(key, s);
  }
  return s;
}
