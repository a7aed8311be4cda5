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
 *
 * The generator is Baagøe's Alea (the algorithm of seedrandom's `alea`, whose words it reproduces
 * exactly, see test/engine/rng.test.ts), written here as plain number fields: a stream costs
 * one small object, not the four closures and context seedrandom allocates per generator — a run
 * at 10,000 Services has three streams per pod (300,000).
 */

export interface Stream {
  /** The stream's name. */
  readonly name: string;
  /** Uniform float in [0, 1) with 32-bit resolution. */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  uint32(): number;
  /** Uniform integer in [lo, hi], both inclusive (bias below (hi−lo+1)/2^32). */
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

/** 2^-32 */
const TWO_M32 = 2.3283064365386963e-10;

/** Alea's seed hash ("Mash"): each call folds more text into the running state `n`. */
class Mash {
  private n = 0xefc8249d;
  hash(data: string): number {
    let n = this.n;
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    this.n = n;
    return (n >>> 0) * TWO_M32;
  }
}

class AleaStream implements Stream {
  private s0: number;
  private s1: number;
  private s2: number;
  private c = 1;
  constructor(readonly name: string, seedText: string) {
    const mash = new Mash();
    this.s0 = mash.hash(" ");
    this.s1 = mash.hash(" ");
    this.s2 = mash.hash(" ");
    this.s0 -= mash.hash(seedText);
    if (this.s0 < 0) this.s0 += 1;
    this.s1 -= mash.hash(seedText);
    if (this.s1 < 0) this.s1 += 1;
    this.s2 -= mash.hash(seedText);
    if (this.s2 < 0) this.s2 += 1;
  }
  /** One Alea step: a float in [0, 1) with 32 bits of resolution. */
  private prng(): number {
    const t = 2091639 * this.s0 + this.c * TWO_M32;
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.c = t | 0;
    return (this.s2 = t - this.c);
  }
  next(): number {
    return this.prng();
  }
  uint32(): number {
    return (this.prng() * 0x100000000) >>> 0;
  }
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new Error(`int(${lo}, ${hi}): expected integers lo <= hi`);
    return lo + Math.floor(this.prng() * (hi - lo + 1));
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
      // Alea hashes its string seed with its Mash function; the separator keeps
      // (seed "1", name "2x") distinct from (seed "12", name "x").
      st = new AleaStream(name, `svcsim\u0000${this.seed}\u0000${name}`);
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
