/**
 * Exact text formatting used by iptables-save (and useful to kube-proxy's generator).
 *
 * - glibc `printf("%.Nf")` prints the exact decimal expansion of a double rounded to N digits,
 *   ties to even (in the default rounding mode). `Number.prototype.toFixed` rounds ties away
 *   from zero, which differs exactly at binary ties such as 1/4096 with 11 digits.
 *   The helpers here work on exact binary fractions with BigInt, so they never round twice.
 * - `xtables_save_string` quoting (comments, nfacct names).
 * - `0x%x` hex as the MARK target / mark match print values.
 */

/**
 * Formats numerator / 2^denominatorPow2 with `digits` decimals, rounding half to even
 * (glibc printf / Go fmt semantics for values that are exact binary fractions).
 * The numerator may be negative.
 *   formatFixedHalfEven(715816809n, 31, 11) === "0.33332999982"
 */
export function formatFixedHalfEven(numerator: bigint, denominatorPow2: number, digits: number): string {
  if (!Number.isInteger(denominatorPow2) || denominatorPow2 < 0) throw new Error(`bad power of two ${denominatorPow2}`);
  if (!Number.isInteger(digits) || digits < 0) throw new Error(`bad digit count ${digits}`);
  const neg = numerator < 0n;
  const num = neg ? -numerator : numerator;
  const scaled = num * 10n ** BigInt(digits);
  const k = BigInt(denominatorPow2);
  let q = scaled >> k;
  if (denominatorPow2 > 0) {
    const rem = scaled - (q << k);
    const half = 1n << (k - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  }
  let s = q.toString();
  if (digits > 0) {
    if (s.length <= digits) s = "0".repeat(digits - s.length + 1) + s;
    s = `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
  }
  // printf keeps the sign of a negative value even when it rounds to zero ("-0.00").
  return neg ? `-${s}` : s;
}

/** The exact binary fraction of a finite double: value = mantissa / 2^pow2 (pow2 ≥ 0) or mantissa · 2^-pow2. */
function exactFraction(x: number): { numerator: bigint; pow2: number } {
  if (!Number.isFinite(x)) throw new Error(`not a finite number: ${x}`);
  if (x === 0) return { numerator: 0n, pow2: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) {
    e = -1074; // subnormal
  } else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  // value = mant * 2^e
  if (e >= 0) return { numerator: sign * (mant << BigInt(e)), pow2: 0 };
  return { numerator: sign * mant, pow2: -e };
}

/**
 * `printf("%.Nf", x)` for any finite double, exactly as glibc (and Go's strconv) print it:
 * the exact decimal value of the double, rounded half to even.
 *   formatDoubleFixed(1 / 2048, 10) === "0.0004882812"   (toFixed gives ...813)
 */
export function formatDoubleFixed(x: number, digits: number): string {
  const { numerator, pow2 } = exactFraction(x);
  return formatFixedHalfEven(numerator, pow2, digits);
}

/** C `lround`: round to nearest, ties away from zero. */
export function lround(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** `0x%x` of an unsigned 32-bit value. */
export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

const NO_QUOTE_RE = /^[A-Za-z0-9_-]+$/;

/**
 * iptables' `xtables_save_string`: a leading space, then the value bare when it consists only of
 * [A-Za-z0-9_-] (and is non-empty), else double-quoted with `"`, `\` and `'` backslash-escaped.
 */
export function saveString(value: string): string {
  if (NO_QUOTE_RE.test(value)) return ` ${value}`;
  return ` "${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
