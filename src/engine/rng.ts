/**
 * Seeded random streams. One run seed is split into named streams
 * (`root.stream("kube-proxy/statistic@node-1")`, `root.stream("client/curl-1")`); each stream is
 * an independent seedrandom Alea generator seeded from (seed, name) alone, so adding, removing or
 * reordering streams never changes another stream's draws.
 *
 * Alea's float output has 32 bits of resolution; `uint32()` returns a full 32-bit word, which is
 * what the kernel's xt_statistic consumes (see p31chance). The distributions here are plain
 * textbook transforms (inversion for exponential, Box–Muller for normal, two uniforms per normal
 * draw, no cached spare, so one call always consumes the same number of words).
 */
import seedrandom from "seedrandom";

export interface Stream {
  /** The stream's name. */
  readonly name: string;
  /** Uniform float in [0, 1) with 32-bit resolution. */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  uint32(): number;
  /** Uniform integer in [lo, hi], both inclusive (bias below (hi−lo+1)/2^32); an int32 when both bounds are. */
  int(lo: number, hi: number): number;
  /** true with probability p. */
  bernoulli(p: number): boolean;
  /** Exponential with the given mean (> 0). */
  exponential(mean: number): number;
  /** Normal with mean mu and standard deviation sigma. */
  normal(mu?: number, sigma?: number): number;
  /** Log-normal: exp(N(mu, sigma)). */
  lognormal(mu: number, sigma: number): number;
  /** A uniformly chosen element (throws on an empty array: a caller bug). */
  pick<T>(items: readonly T[]): T;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[];
}

/**
 * A named stream. Its seedrandom generator is made on the first draw: a large cluster names a few
 * streams per pod (ephemeral ports, app service times) of which a run draws from few, and an
 * Alea generator (closures and state) is a few hundred bytes. Draws are the same either way: the
 * generator depends on (seed, name) alone.
 */
class AleaStream implements Stream {
  private gen: seedrandom.PRNG | null = null;
  constructor(readonly name: string, private readonly seed: string) {}
  private prng(): number {
    return (this.gen ??= this.make())();
  }
  private make(): seedrandom.PRNG {
    // Alea hashes its string seed with its Mash function; the separator keeps
    // (seed "1", name "2x") distinct from (seed "12", name "x").
    return seedrandom.alea(`svcsim\u0000${this.seed}\u0000${this.name}`);
  }
  next(): number {
    return this.prng();
  }
  uint32(): number {
    return (this.gen ??= this.make()).int32() >>> 0;
  }
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new Error(`int(${lo}, ${hi}): expected integers lo <= hi`);
    const v = lo + Math.floor(this.prng() * (hi - lo + 1));
    // Within int32 bounds the result is made an int32, which V8 keeps as a small integer: a double
    // (which Math.floor returns) stored into an object field, a port say, boxes that field in
    // every object of its shape from then on (see net/packet.ts).
    return lo >= -0x80000000 && hi <= 0x7fffffff ? v | 0 : v;
  }
  bernoulli(p: number): boolean {
    return this.prng() < p;
  }
  exponential(mean: number): number {
    if (!(mean > 0)) throw new Error(`exponential: mean must be > 0, got ${mean}`);
    // 1 − u lies in (0, 1], so the log is finite.
    return -mean * Math.log(1 - this.prng());
  }
  normal(mu = 0, sigma = 1): number {
    const u1 = 1 - this.prng(); // (0, 1]
    const u2 = this.prng();
    return mu + sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick: empty array");
    return items[Math.floor(this.prng() * items.length)]!;
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.prng() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

/**
 * The run's root of randomness. `stream(name)` returns the same Stream object for the same name
 * (one shared state per name); distinct names give statistically independent streams.
 */
export class RngRoot {
  readonly seed: string;
  private readonly streams = new Map<string, Stream>();

  constructor(seed: number | string) {
    if (typeof seed === "number" && !Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    this.seed = String(seed);
  }

  stream(name: string): Stream {
    let st = this.streams.get(name);
    if (!st) {
      st = new AleaStream(name, this.seed);
      this.streams.set(name, st);
    }
    return st;
  }

  /** Names of the streams created so far, sorted (for reports and debugging). */
  streamNames(): string[] {
    return [...this.streams.keys()].sort();
  }
}

/**
 * The kernel's xt_statistic random test: `(prandom_u32() & 0x7fffffff) < P`, where P is the
 * rule's quantised probability lround(p·2^31). One 32-bit draw per evaluated rule.
 */
export function p31chance(stream: Stream): (p31: number) => boolean {
  return (p31: number) => (stream.uint32() & 0x7fffffff) < p31;
}
