/**
 * Rule evaluation: the per-packet hot path (Linux ipt_do_table semantics, IPv4).
 *
 * Counters live outside the rules, in per-node Float64Arrays indexed by Entry.id (rules) and
 * Chain.slot (builtin policies), so one compiled table can serve every node that installed the
 * same payload (netfilter.ts shares them).
 *
 * Rules are compiled when installed (Entry: header fields as int32 numbers, matches as
 * closures — with comment dropped, a leading port test and a trailing random statistic inlined
 * as fields, see Entry.compile — target as a code plus a preallocated Verdict). A hook traversal walks the builtin
 * chain rule by rule: header test, then matches in order, then the target — a jump pushes a
 * return point, goto replaces the current chain, RETURN (or falling off a user chain) pops,
 * MARK changes ctx.mark and continues, a rule without target only counts, a terminating target
 * (ACCEPT, DROP, REJECT, DNAT, SNAT, MASQUERADE) ends the hook; falling off (or RETURN in) the
 * builtin chain applies its policy. Counters: a matching rule counts 1 packet and pkt.len bytes;
 * the policy counts when it decides.
 *
 * Index: a chain with many rules (KUBE-SERVICES) gets a hash from (dst, proto, dport) to the
 * positions of rules whose header has an exact, non-negated `-d a/32`, `-p tcp|udp|sctp` and a
 * single non-negated --dport, preceded only by side-effect-free matches. A lookup visits, in
 * order, the candidate rules of the packet's key merged with every non-indexable rule; the
 * skipped rules cannot match and have no side effects, so verdict, mark, counters and random
 * draws are those of the linear walk. rulesEvaluated still reports the kernel's linear count:
 * for every chain left at position p it adds p + 1, and the chain length when it falls off.
 * (The kernel also walks one implicit policy/return entry per chain end; it is not counted.)
 *
 * With an observer (explaining tracer), the walk is linear and reports every rule tested.
 */
import type { Packet } from "../net/packet.ts";
import { PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../net/packet.ts";
import { formatIPv4 } from "../net/ip.ts";
import type { EvalContext, HookResult, TableName, TraversalObserver, Verdict } from "./types.ts";
import type { Rule } from "./rule.ts";
import { MATCHES, type InlineMatch, type MatchFn } from "./matches.ts";
import type { MatchEnv } from "./recent.ts";
import { printRule } from "./print.ts";
import { hex } from "./format.ts";

export const T_NONE = 0;
export const T_JUMP = 1;
export const T_GOTO = 2;
export const T_RETURN = 3;
export const T_MARK = 4;
export const T_VERDICT = 5;

const V_ACCEPT: Verdict = Object.freeze({ kind: "ACCEPT" });
const V_DROP: Verdict = Object.freeze({ kind: "DROP" });

function protoCode(p: number): number {
  return p === PROTO_TCP ? 1 : p === PROTO_UDP ? 2 : p === PROTO_SCTP ? 3 : 0;
}

/** The closures of a rule whose matches are all inlined or dropped (most): one shared empty list. */
const NO_MATCH_FNS: readonly MatchFn[] = Object.freeze([]);

const B_COMPILED = 1, B_PER_NODE = 2;
/**
 * Entry.bits a CounterLog hears of (Evaluator.run):
 * - B_IMPURE: some match (not an inlined random statistic, whose draws the log records itself)
 *   is not pure (MatchDef.pure: a function of the packet's addresses, protocol and ports,
 *   ctstate, mark, interfaces and addrtype, without side effects): testing the rule may answer
 *   differently for another packet of the flow, or change state;
 * - B_READS_SPORT / B_READS_DPORT: some test reads the packet's source / destination port (a port
 *   range, multiport): its answer may differ between connections of the same addresses.
 */
export const B_IMPURE = 4, B_READS_SPORT = 8, B_READS_DPORT = 16;
const B_LOGGED = B_IMPURE | B_READS_SPORT | B_READS_DPORT;

/** An inlined port test (MatchDef.inline "ports"). */
type InlinePorts = Extract<InlineMatch, { kind: "ports" }>;

/** iptables-save text of rules, printed on demand (explanations, observers) and kept while the rule lives. */
const TEXT = new WeakMap<Rule, string>();

/** A rule's -i / -o tests (Entry.iface). */
export interface IfaceTest {
  readonly hasIn: boolean;
  readonly inPrefix: boolean;
  readonly inName: string;
  readonly inNeg: boolean;
  readonly hasOut: boolean;
  readonly outPrefix: boolean;
  readonly outName: string;
  readonly outNeg: boolean;
}

/**
 * An installed rule: the Rule data, its counters and its compiled form. Fields used on every
 * packet come first (V8 lays class fields out in declaration order: fewer cache lines touched).
 */
export class Entry {
  // --- hot: header
  readonly srcAddr: number;
  readonly srcMask: number;
  readonly srcNeg: boolean;
  readonly dstAddr: number;
  readonly dstMask: number;
  readonly dstNeg: boolean;
  readonly proto: number;
  readonly protoNeg: boolean;
  /** -i / -o tests, when the rule has any (kube-proxy's rules rarely do: kept out of line). */
  readonly iface: IfaceTest | null;
  // --- hot: inlined matches (see compile)
  /** A tcp/udp/sctp port test inlined (it is in the side-effect-free prefix of the matches). */
  ports: InlinePorts | null = null;
  /** A `-m conntrack --ctstate` test inlined (in the side-effect-free prefix): mask, or 0. */
  ctStates = 0;
  ctNeg = false;
  /** Remaining match closures, in rule order. */
  matches: readonly MatchFn[] = NO_MATCH_FNS;
  /** A trailing `-m statistic --mode random` inlined: P (or -1) and its negation. */
  statP31 = -1;
  statNeg = false;
  // --- hot: target
  readonly tcode: number;
  /** Resolved at COMMIT. */
  jump: Chain | null = null;
  readonly verdict: Verdict | null;
  /** MARK's (value, mask): newmark = (mark & ~mask) ^ value; null for other targets. */
  readonly mark: { readonly value: number; readonly mask: number } | null;
  /**
   * Slot of this rule's packet/byte counters in each node's counter arrays (see netfilter.ts
   * TableVersion): assigned when the table version that owns the entry is installed; -1 before.
   * An entry belongs to exactly one table version; a later version gets a copy (Entry.copy).
   */
  id = -1;
  // --- cold
  /** Index key, when indexable: dstAddr and (protoCode << 16 | dport); keyPP < 0 otherwise. */
  readonly keyPP: number;
  /** compiled / perNode / not flowSafe / reads the source / destination port, as bits (one field for five flags: 320,000 rules at scale). */
  bits = 0;
  readonly rule: Rule;

  /** Compiled at COMMIT (needs the Netfilter's recent/nfacct state). */
  get compiled(): boolean {
    return (this.bits & B_COMPILED) !== 0;
  }
  /** Some match keeps per-network-namespace state (recent list, nfacct object, nth counter). */
  get perNode(): boolean {
    return (this.bits & B_PER_NODE) !== 0;
  }

  constructor(rule: Rule) {
    const h = rule.header;
    this.srcAddr = h.src ? h.src.addr | 0 : 0;
    this.srcMask = h.src ? h.src.mask | 0 : 0;
    this.srcNeg = h.src ? h.src.neg : false;
    this.dstAddr = h.dst ? h.dst.addr | 0 : 0;
    this.dstMask = h.dst ? h.dst.mask | 0 : 0;
    this.dstNeg = h.dst ? h.dst.neg : false;
    this.proto = h.proto ? h.proto.num : 0;
    this.protoNeg = h.proto ? h.proto.neg : false;
    const i = h.inIface, o = h.outIface;
    if (!i && !o) this.iface = null;
    else {
      const inPrefix = !!i && i.name.endsWith("+");
      const outPrefix = !!o && o.name.endsWith("+");
      this.iface = {
        hasIn: !!i, inPrefix, inName: i ? (inPrefix ? i.name.slice(0, -1) : i.name) : "", inNeg: i ? i.neg : false,
        hasOut: !!o, outPrefix, outName: o ? (outPrefix ? o.name.slice(0, -1) : o.name) : "", outNeg: o ? o.neg : false,
      };
    }
    this.rule = rule;

    const t = rule.target;
    let tcode = T_NONE, verdict: Verdict | null = null, mv = 0, mm = 0;
    switch (t.kind) {
      case "none": break;
      case "jump": tcode = T_JUMP; break;
      case "goto": tcode = T_GOTO; break;
      case "RETURN": tcode = T_RETURN; break;
      case "MARK": tcode = T_MARK; mv = t.value; mm = t.mask; break;
      case "ACCEPT": tcode = T_VERDICT; verdict = V_ACCEPT; break;
      case "DROP": tcode = T_VERDICT; verdict = V_DROP; break;
      case "REJECT": tcode = T_VERDICT; verdict = Object.freeze({ kind: "REJECT", rejectWith: t.rejectWith }); break;
      case "DNAT": tcode = T_VERDICT; verdict = Object.freeze({ kind: "DNAT", addr: t.to.addr, port: t.to.port }); break;
      case "SNAT": tcode = T_VERDICT; verdict = Object.freeze({ kind: "SNAT", addr: t.to.addr, port: t.to.port }); break;
      case "MASQUERADE":
        tcode = T_VERDICT;
        verdict = Object.freeze(t.toPorts ? { kind: "MASQUERADE", randomFully: t.randomFully, toPorts: t.toPorts } : { kind: "MASQUERADE", randomFully: t.randomFully });
        break;
      default: {
        const never: never = t;
        throw new Error(`unhandled target ${(never as { kind: string }).kind}`);
      }
    }
    this.tcode = tcode;
    this.verdict = verdict;
    this.mark = tcode === T_MARK ? { value: mv, mask: mm } : null;

    // Indexability.
    let keyPP = -1;
    const pc = h.proto && !h.proto.neg ? protoCode(h.proto.num) : 0;
    if (h.dst && !h.dst.neg && h.dst.prefix === 32 && pc !== 0) {
      for (const m of rule.matches) {
        const def = MATCHES[m.module]!;
        if (def.exactDport && m.module === ["", "tcp", "udp", "sctp"][pc]) {
          const port = def.exactDport(m.data);
          if (port !== undefined) keyPP = (pc << 16) | port;
          break;
        }
        if (!def.pure) break;
      }
    }
    this.keyPP = keyPP;
  }

  /**
   * Compiles the matches. Exactly equivalent to calling every closure in rule order:
   * - always-true matches (comment) are dropped;
   * - the first port match and the first --ctstate test inside the side-effect-free prefix of
   *   the match list are inlined (evaluating pure tests earlier cannot change anything);
   * - a random statistic that is the last match, after only pure matches, is inlined and
   *   evaluated last (as in the kernel: it draws only when everything before matched).
   */
  compile(env: MatchEnv): void {
    if (this.compiled) return;
    const ms = this.rule.matches;
    const fns: MatchFn[] = [];
    let pure = true;
    let portsInlined = false;
    for (let k = 0; k < ms.length; k++) {
      const m = ms[k]!;
      const def = MATCHES[m.module]!;
      const inl = def.inline?.(m.data);
      if (inl?.kind === "true") continue;
      if (inl?.kind === "ports" && pure && !portsInlined) {
        portsInlined = true;
        // `-m tcp` with no port option is always true (-p tcp is checked by the header): dropped.
        const noop = inl.sLo === 0 && inl.sHi === 65535 && !inl.sNeg && inl.dLo === 0 && inl.dHi === 65535 && !inl.dNeg;
        if (!noop) this.ports = inl;
        if (def.readsSport?.(m.data)) this.bits |= B_READS_SPORT;
        if (def.readsDport?.(m.data)) this.bits |= B_READS_DPORT;
        continue;
      }
      if (inl?.kind === "ctstate" && pure && this.ctStates === 0 && inl.states !== 0) {
        this.ctStates = inl.states;
        this.ctNeg = inl.neg;
        continue;
      }
      if (inl?.kind === "random" && pure && k === ms.length - 1) {
        this.statP31 = inl.p31;
        this.statNeg = inl.neg;
        continue;
      }
      if (!def.pure) pure = false;
      if (!def.pure) this.bits |= B_IMPURE;
      if (def.perNamespace?.(m.data)) this.bits |= B_PER_NODE;
      if (def.readsSport?.(m.data)) this.bits |= B_READS_SPORT;
      if (def.readsDport?.(m.data)) this.bits |= B_READS_DPORT;
      fns.push(def.compile(m.data, env));
    }
    this.matches = fns.length === 0 ? NO_MATCH_FNS : fns;
    this.bits |= B_COMPILED;
  }

  /**
   * A fresh entry for a new table version with this entry's rule and compiled form (the match
   * closures are shared: they are pure, or bound to the one node's state that owns both versions).
   */
  copy(): Entry {
    const e = new Entry(this.rule);
    e.ports = this.ports;
    e.ctStates = this.ctStates;
    e.ctNeg = this.ctNeg;
    e.matches = this.matches;
    e.statP31 = this.statP31;
    e.statNeg = this.statNeg;
    e.bits = this.bits;
    return e;
  }

  /** The rule in iptables-save form. */
  get text(): string {
    let t = TEXT.get(this.rule);
    if (t === undefined) TEXT.set(this.rule, (t = printRule(this.rule)));
    return t;
  }

  /** The chain a jump or goto names ("" for other targets). */
  get jumpName(): string {
    const t = this.rule.target;
    return t.kind === "jump" || t.kind === "goto" ? t.chain : "";
  }
}

/** Hash index of a chain: (dst, protoCode<<16|dport) → sorted candidate positions. */
export class ChainIndex {
  readonly mask: number;
  readonly keysDst: Int32Array;
  readonly keysPP: Int32Array;
  readonly starts: Int32Array;
  readonly lens: Int32Array;
  readonly used: Uint8Array;
  readonly lists: Int32Array;
  /** Positions of rules that are not indexable (always candidates). */
  readonly others: Int32Array;

  constructor(entries: readonly Entry[]) {
    const groups = new Map<number, number[]>();
    const others: number[] = [];
    entries.forEach((e, pos) => {
      if (e.keyPP < 0) {
        others.push(pos);
        return;
      }
      const k = (e.dstAddr >>> 0) * 262144 + e.keyPP;
      const g = groups.get(k);
      if (g) g.push(pos);
      else groups.set(k, [pos]);
    });
    let size = 16;
    while (size < groups.size * 2) size *= 2;
    this.mask = size - 1;
    this.keysDst = new Int32Array(size);
    this.keysPP = new Int32Array(size);
    this.starts = new Int32Array(size);
    this.lens = new Int32Array(size);
    this.used = new Uint8Array(size);
    this.lists = new Int32Array(entries.length - others.length);
    this.others = Int32Array.from(others);
    let off = 0;
    for (const g of groups.values()) {
      const e = entries[g[0]!]!;
      let slot = ChainIndex.hash(e.dstAddr, e.keyPP) & this.mask;
      while (this.used[slot]) slot = (slot + 1) & this.mask;
      this.used[slot] = 1;
      this.keysDst[slot] = e.dstAddr;
      this.keysPP[slot] = e.keyPP;
      this.starts[slot] = off;
      this.lens[slot] = g.length;
      for (const p of g) this.lists[off++] = p;
    }
  }

  static hash(dst: number, pp: number): number {
    let h = Math.imul(dst, 0x9e3779b1) ^ Math.imul(pp, 0x85ebca77);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
  }

  /** Slot of the key, or -1. */
  find(dst: number, pp: number): number {
    let slot = ChainIndex.hash(dst, pp) & this.mask;
    while (this.used[slot]) {
      if (this.keysDst[slot] === dst && this.keysPP[slot] === pp) return slot;
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }
}

/** Chains with at least this many rules get an index (when some rule is indexable). */
export const INDEX_MIN_RULES = 16;

export class Chain {
  readonly name: string;
  /** Builtin chains have a policy; user chains have null. */
  policy: "ACCEPT" | "DROP" | null;
  /** Counter slot of a builtin chain's policy (like Entry.id); -1 for user chains and before install. */
  slot = -1;
  entries: Entry[];
  index: ChainIndex | null = null;

  constructor(name: string, policy: "ACCEPT" | "DROP" | null, entries: Entry[] = []) {
    this.name = name;
    this.policy = policy;
    this.entries = entries;
  }

  get builtin(): boolean {
    return this.policy !== null;
  }

  /** A staged copy for modification (same entries; the transaction replaces them as it goes). */
  clone(): Chain {
    return new Chain(this.name, this.policy, this.entries.slice());
  }

  buildIndex(): void {
    this.index = null;
    if (this.entries.length < INDEX_MIN_RULES) return;
    if (!this.entries.some((e) => e.keyPP >= 0)) return;
    this.index = new ChainIndex(this.entries);
  }
}

function effectOf(e: Entry, markBefore: number, markAfter: number): string | undefined {
  switch (e.tcode) {
    case T_JUMP: return `jump ${e.jumpName}`;
    case T_GOTO: return `goto ${e.jumpName}`;
    case T_RETURN: return "RETURN";
    case T_MARK: return `MARK --set-xmark ${hex(e.mark!.value)}/${hex(e.mark!.mask)} (mark ${hex(markBefore)} → ${hex(markAfter)})`;
    case T_NONE: return "count only (no target)";
    default: {
      const v = e.verdict!;
      if (v.kind === "DNAT") return `DNAT to ${formatIPv4(v.addr)}${v.port !== undefined ? `:${v.port}` : ""}`;
      return undefined;
    }
  }
}

/**
 * What one or more traversals did to the counters, for replaying them on later packets (the
 * datapath's path cache and flow table): the counter slots bumped, in order, grouped by the
 * counter arrays they belong to (`cur`, an opaque handle the owner sets before each traversal),
 * and what the traversals read: whether every rule tested was pure (B_IMPURE: no nth statistic,
 * recent list or nfacct object, which keep state), the random statistic draws made, in order, and
 * whether some rule, or a chain index, read the source or destination port. Pure traversals are a
 * function of the header they read and their draws (the datapath's NAT programs replay those, see
 * datapath/network.ts DrawNode); without draws, of the header alone (flowSafe).
 */
export class CounterLog {
  ids: number[] = [];
  n = 0;
  /** Segment k holds ids[starts[k] .. starts[k + 1] or n) of the counter arrays segTables[k]. */
  segTables: unknown[] = [];
  starts: number[] = [];
  nseg = 0;
  /** No rule tested was B_IMPURE. */
  pure = true;
  readsSport = false;
  readsDport = false;
  /** The random statistic draws made, in order: the rule's P (p31) and what ctx.chance answered. */
  drawP31: number[] = [];
  drawHit: boolean[] = [];
  nDraws = 0;
  /** @internal Handle the owner sets before a traversal. */
  cur: unknown = null;

  reset(): void {
    this.n = 0;
    this.nseg = 0;
    this.pure = true;
    this.readsSport = false;
    this.readsDport = false;
    this.nDraws = 0;
    this.cur = null;
  }

  /** Every packet with the header the traversals read takes the same path: pure, and no draw made. */
  get flowSafe(): boolean {
    return this.pure && this.nDraws === 0;
  }

  /** Replayable as one slot list: flowSafe, and all slots in one table's arrays. */
  get replayable(): boolean {
    return this.flowSafe && this.nseg <= 1;
  }

  /** The counter arrays of the first (for a replayable log, the only) segment; null when empty. */
  get table(): unknown {
    return this.nseg > 0 ? this.segTables[0] : null;
  }

  /** @internal A tested rule's Entry.bits include B_LOGGED ones. */
  note(bits: number): void {
    if ((bits & B_IMPURE) !== 0) this.pure = false;
    if ((bits & B_READS_SPORT) !== 0) this.readsSport = true;
    if ((bits & B_READS_DPORT) !== 0) this.readsDport = true;
  }

  /** @internal An inlined random statistic drew: ctx.chance(p31) answered `hit`. */
  draw(p31: number, hit: boolean): void {
    this.drawP31[this.nDraws] = p31;
    this.drawHit[this.nDraws++] = hit;
  }

  /** @internal */
  push(id: number): void {
    if (this.nseg === 0 || this.segTables[this.nseg - 1] !== this.cur) {
      this.segTables[this.nseg] = this.cur;
      this.starts[this.nseg++] = this.n;
    }
    this.ids[this.n++] = id;
  }

  /** The recorded slots (a fresh array). */
  slots(): number[] {
    return this.ids.slice(0, this.n);
  }

  /** The recorded slots of each table (fresh arrays), in the order of segTables. */
  segments(): { tables: unknown[]; slots: number[][] } {
    const tables: unknown[] = [], slots: number[][] = [];
    for (let k = 0; k < this.nseg; k++) {
      tables.push(this.segTables[k]);
      slots.push(this.ids.slice(this.starts[k], k + 1 < this.nseg ? this.starts[k + 1] : this.n));
    }
    return { tables, slots };
  }
}

/**
 * The traversal engine. One per Netfilter; owns preallocated stacks and the reused result.
 * Not re-entrant (a match cannot evaluate another table).
 */
export class Evaluator {
  private stChain: Chain[] = [];
  private stCur = new Int32Array(8); // linear cursor: next position
  private stLast = new Int32Array(8); // last position evaluated
  private stSlot = new Int32Array(8); // index slot (-1 none), or -2 for a linear frame
  private stBi = new Int32Array(8);
  private stOi = new Int32Array(8);
  private readonly result: HookResult = { verdict: V_ACCEPT, mark: 0, rulesEvaluated: 0 };
  indexEnabled = true;

  private ensureDepth(d: number): void {
    if (d < this.stCur.length) return;
    const n = this.stCur.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.stCur = grow(this.stCur);
    this.stLast = grow(this.stLast);
    this.stSlot = grow(this.stSlot);
    this.stBi = grow(this.stBi);
    this.stOi = grow(this.stOi);
  }

  /**
   * Runs `start` (a builtin chain) on the packet. Updates ctx.mark as MARK targets fire (as the
   * kernel updates skb->mark). The returned object is reused by the next call.
   */
  run(
    table: TableName,
    start: Chain,
    pkt: Packet,
    ctx: EvalContext,
    effects: boolean,
    obs: TraversalObserver | undefined,
    cPkts: Float64Array,
    cBytes: Float64Array,
    log: CounterLog | null = null,
  ): HookResult {
    const useIndex = this.indexEnabled && obs === undefined;
    const kDst = pkt.dst | 0;
    const pc = protoCode(pkt.proto);
    const kPP = pc === 0 ? -1 : (pc << 16) | pkt.dport;
    const len = pkt.len;
    let count = 0;
    let depth = 0;
    let verdict: Verdict | null = null;
    const stChain = this.stChain;

    // push(start)
    stChain[0] = start;
    this.initFrame(0, start, useIndex, kDst, kPP, log);

    outer: for (;;) {
      const chain = stChain[depth]!;
      const pos = this.next(depth, chain);
      if (pos < 0) {
        // Fell off the end of the chain.
        count += chain.entries.length;
        if (depth === 0) break outer; // policy
        depth--;
        continue;
      }
      this.stLast[depth] = pos;
      const e = chain.entries[pos]!;
      if (log !== null && (e.bits & B_LOGGED) !== 0) log.note(e.bits);

      // Header (ip_packet_match), then matches in order.
      let ok =
        ((pkt.src & e.srcMask) === e.srcAddr) !== e.srcNeg &&
        ((pkt.dst & e.dstMask) === e.dstAddr) !== e.dstNeg &&
        (e.proto === 0 || (pkt.proto === e.proto) !== e.protoNeg);
      if (ok && e.iface !== null) {
        const f = e.iface;
        if (f.hasIn) ok = (f.inPrefix ? ctx.inIface.startsWith(f.inName) : ctx.inIface === f.inName) !== f.inNeg;
        if (ok && f.hasOut) ok = (f.outPrefix ? ctx.outIface.startsWith(f.outName) : ctx.outIface === f.outName) !== f.outNeg;
      }
      if (ok && e.ports !== null) {
        const pt = e.ports;
        ok = (pkt.sport >= pt.sLo && pkt.sport <= pt.sHi) !== pt.sNeg && (pkt.dport >= pt.dLo && pkt.dport <= pt.dHi) !== pt.dNeg;
      }
      if (ok && e.ctStates !== 0) ok = ((ctx.ctstate & e.ctStates) !== 0) !== e.ctNeg;
      if (ok && e.matches.length !== 0) {
        const ms = e.matches;
        for (let i = 0; i < ms.length; i++) {
          if (!ms[i]!(pkt, ctx, effects)) {
            ok = false;
            break;
          }
        }
      }
      if (ok && e.statP31 >= 0) {
        const c = ctx.chance(e.statP31);
        if (log !== null) log.draw(e.statP31, c);
        ok = c !== e.statNeg;
      }
      if (!ok) {
        if (obs) obs.rule({ table, chain: chain.name, index: pos + 1, text: e.text, matched: false });
        continue;
      }
      if (effects) {
        cPkts[e.id]++;
        cBytes[e.id] += len;
        if (log !== null) log.push(e.id);
      }
      const markBefore = ctx.mark;
      switch (e.tcode) {
        case T_NONE:
          break;
        case T_MARK:
          ctx.mark = ((ctx.mark & ~e.mark!.mask) ^ e.mark!.value) >>> 0;
          break;
        case T_JUMP:
          depth++;
          this.ensureDepth(depth);
          stChain[depth] = e.jump!;
          this.initFrame(depth, e.jump!, useIndex, kDst, kPP, log);
          break;
        case T_GOTO:
          count += pos + 1;
          stChain[depth] = e.jump!;
          this.initFrame(depth, e.jump!, useIndex, kDst, kPP, log);
          break;
        case T_RETURN:
          count += pos + 1;
          if (obs) obs.rule({ table, chain: chain.name, index: pos + 1, text: e.text, matched: true, effect: "RETURN" });
          if (depth === 0) break outer; // RETURN in a builtin chain: the policy decides
          depth--;
          continue outer;
        default:
          verdict = e.verdict;
          for (let d = 0; d <= depth; d++) count += this.stLast[d]! + 1;
          if (obs) obs.rule({ table, chain: chain.name, index: pos + 1, text: e.text, matched: true, effect: effectOf(e, markBefore, ctx.mark) });
          break outer;
      }
      if (obs) obs.rule({ table, chain: chain.name, index: pos + 1, text: e.text, matched: true, effect: effectOf(e, markBefore, ctx.mark) });
    }

    if (verdict === null) {
      if (effects) {
        cPkts[start.slot]++;
        cBytes[start.slot] += len;
        if (log !== null) log.push(start.slot);
      }
      const pol = start.policy === "DROP" ? "DROP" : "ACCEPT";
      verdict = pol === "DROP" ? V_DROP : V_ACCEPT;
      if (obs?.policy) obs.policy({ table, chain: start.name, policy: pol });
    }
    const r = this.result;
    r.verdict = verdict;
    r.mark = ctx.mark;
    r.rulesEvaluated = count;
    return r;
  }

  private initFrame(d: number, chain: Chain, useIndex: boolean, kDst: number, kPP: number, log: CounterLog | null): void {
    this.stCur[d] = 0;
    this.stLast[d] = -1;
    this.stBi[d] = 0;
    this.stOi[d] = 0;
    const idx = chain.index;
    if (!useIndex || idx === null) this.stSlot[d] = -2;
    else if (kPP < 0) this.stSlot[d] = -1;
    else {
      this.stSlot[d] = idx.find(kDst, kPP);
      if (log !== null) log.readsDport = true; // the candidates depend on the destination port
    }
  }

  /** Next position to evaluate in frame d, or -1 when the chain is exhausted. */
  private next(d: number, chain: Chain): number {
    const slot = this.stSlot[d]!;
    if (slot === -2) {
      const p = this.stCur[d]!;
      if (p >= chain.entries.length) return -1;
      this.stCur[d] = p + 1;
      return p;
    }
    const idx = chain.index!;
    const oi = this.stOi[d]!;
    const o = oi < idx.others.length ? idx.others[oi]! : 0x7fffffff;
    let b = 0x7fffffff;
    const bi = this.stBi[d]!;
    if (slot >= 0 && bi < idx.lens[slot]!) b = idx.lists[idx.starts[slot]! + bi]!;
    if (o === 0x7fffffff && b === 0x7fffffff) return -1;
    if (b < o) {
      this.stBi[d] = bi + 1;
      return b;
    }
    this.stOi[d] = oi + 1;
    return o;
  }
}

