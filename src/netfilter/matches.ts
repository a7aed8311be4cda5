/**
 * The match registry: one row per iptables match module (`-m NAME`), each with its options,
 * a strict parser, a compiler to a fast test closure and the iptables-save printer
 * (iptables-legacy 1.8.x `*_save` functions, kernel xt_* semantics).
 *
 * Supporting one more match = one row here + one spec row in test/netfilter/matches.test.ts.
 *
 * Modules: tcp, udp, sctp (ports), multiport, comment, statistic, mark, addrtype, conntrack,
 * recent, physdev, nfacct. Options of these modules that svcsim does not model (e.g.
 * --tcp-flags, --ctorigdst, --rttl) are rejected as unknown, never ignored.
 */
import type { Packet } from "../net/packet.ts";
import { formatIPv4, tryParseIPv4 } from "../net/ip.ts";
import { PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../net/packet.ts";
import type { EvalContext } from "./types.ts";
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, CT_UNTRACKED } from "./types.ts";
import { formatFixedHalfEven, hex, lround, saveString } from "./format.ts";
import type { Fail, OptionSpec, ParsedOption } from "./options.ts";
import { argOf, opt, parseMarkMask, parsePortRange, parseU32 } from "./options.ts";
import type { MatchEnv } from "./recent.ts";
import { IP_PKT_LIST_TOT } from "./recent.ts";

/** A compiled match. `effects` is false in dry runs (explaining tracer): no state may change. */
export type MatchFn = (pkt: Packet, ctx: EvalContext, effects: boolean) => boolean;

export interface MatchDef<D> {
  readonly name: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** The rule's `-p` must be one of these (not negated), as the kernel checks at load time. */
  readonly requiresProto?: readonly number[];
  /** Evaluating it neither draws randomness nor changes state (lets the index skip it safely). */
  readonly pure: boolean;
  parse(opts: readonly ParsedOption[], fail: Fail): D;
  /** The options part as iptables-save prints it, each with a leading space (after " -m NAME"). */
  print(d: D): string;
  compile(d: D, env: MatchEnv): MatchFn;
  /**
   * The compiled test keeps state of one network namespace (an xt_recent list, an nfacct object,
   * an nth counter): a table using it is compiled for its node alone, never shared between nodes.
   */
  perNamespace?(d: D): boolean;
  /**
   * Whether this instance's test reads the packet's source port. Every match that can must say
   * so: the datapath shares one walk's outcome between connections that differ only in a port
   * (network.ts FlowTable) when no rule it visited reads that port.
   */
  readsSport?(d: D): boolean;
  /** Likewise for the destination port. */
  readsDport?(d: D): boolean;
  /** The single, non-negated destination port this instance requires, if any (for the index). */
  exactDport?(d: D): number | undefined;
  /**
   * Fast paths the evaluator may inline instead of calling the closure (same result):
   * always-true matches (comment) are dropped; port ranges, a --ctstate test and a random
   * statistic become fields.
   */
  inline?(d: D): InlineMatch | undefined;
}

export type InlineMatch =
  | { readonly kind: "true" }
  | { readonly kind: "ports"; readonly sLo: number; readonly sHi: number; readonly sNeg: boolean; readonly dLo: number; readonly dHi: number; readonly dNeg: boolean }
  | { readonly kind: "random"; readonly p31: number; readonly neg: boolean }
  | { readonly kind: "ctstate"; readonly states: number; readonly neg: boolean };

function defineMatch<D>(def: MatchDef<D>): MatchDef<D> {
  return def;
}

const TRUE: MatchFn = () => true;

// ---------------------------------------------------------------------------------------------
// tcp / udp / sctp: --sport/--dport [!] a[:b]

export interface PortsData {
  readonly sport: readonly [number, number] | undefined;
  readonly sportNeg: boolean;
  readonly dport: readonly [number, number] | undefined;
  readonly dportNeg: boolean;
}

function portsMatch(name: "tcp" | "udp" | "sctp", proto: number): MatchDef<PortsData> {
  const full = (r: readonly [number, number] | undefined) => !r || (r[0] === 0 && r[1] === 65535);
  return defineMatch<PortsData>({
    name,
    options: {
      sport: { arg: true, negatable: true },
      "source-port": { arg: true, negatable: true, alias: "sport" },
      dport: { arg: true, negatable: true },
      "destination-port": { arg: true, negatable: true, alias: "dport" },
    },
    requiresProto: [proto],
    pure: true,
    parse(opts: readonly ParsedOption[], fail: Fail) {
      const range = (o: ParsedOption | undefined): [number, number] | undefined => {
        if (!o) return undefined;
        const r = parsePortRange(argOf(o));
        if (!r) fail(`--${o.name}`, `expected a port or port range a:b (0..65535), got "${argOf(o)}"`, o.column);
        if (r[0] > r[1]) fail(`--${o.name}`, `invalid port range "${argOf(o)}" (min > max)`, o.column);
        return r;
      };
      const s = opt(opts, "sport");
      const d = opt(opts, "dport");
      return { sport: range(s), sportNeg: s?.neg ?? false, dport: range(d), dportNeg: d?.neg ?? false };
    },
    print(d) {
      // libxt_tcp/udp print a port only when it is not the full range; libxt_sctp whenever given.
      let out = "";
      const one = (flag: string, r: readonly [number, number] | undefined, neg: boolean) => {
        if (!r || (name !== "sctp" && full(r))) return;
        out += `${neg ? " !" : ""} --${flag} ${r[0] === r[1] ? r[0] : `${r[0]}:${r[1]}`}`;
      };
      one("sport", d.sport, d.sportNeg);
      one("dport", d.dport, d.dportNeg);
      return out;
    },
    compile(d) {
      const slo = d.sport ? d.sport[0] : 0, shi = d.sport ? d.sport[1] : 65535, sneg = d.sportNeg;
      const dlo = d.dport ? d.dport[0] : 0, dhi = d.dport ? d.dport[1] : 65535, dneg = d.dportNeg;
      if (!d.sport) return (p) => (p.dport >= dlo && p.dport <= dhi) !== dneg;
      return (p) => (p.sport >= slo && p.sport <= shi) !== sneg && (p.dport >= dlo && p.dport <= dhi) !== dneg;
    },
    readsSport: (d) => !full(d.sport),
    readsDport: (d) => !full(d.dport),
    exactDport(d) {
      return d.dport && !d.dportNeg && d.dport[0] === d.dport[1] ? d.dport[0] : undefined;
    },
    inline(d) {
      return {
        kind: "ports",
        sLo: d.sport ? d.sport[0] : 0, sHi: d.sport ? d.sport[1] : 65535, sNeg: d.sportNeg,
        dLo: d.dport ? d.dport[0] : 0, dHi: d.dport ? d.dport[1] : 65535, dNeg: d.dportNeg,
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// multiport (revision 1): [!] --sports|--dports|--ports p[,p|a:b]... (at most 15 ports, a range counts 2)

export interface MultiportData {
  readonly which: "sports" | "dports" | "ports";
  readonly neg: boolean;
  readonly items: readonly (readonly [number, number])[];
}

const multiport = defineMatch<MultiportData>({
  name: "multiport",
  options: {
    sports: { arg: true, negatable: true },
    "source-ports": { arg: true, negatable: true, alias: "sports" },
    dports: { arg: true, negatable: true },
    "destination-ports": { arg: true, negatable: true, alias: "dports" },
    ports: { arg: true, negatable: true },
  },
  requiresProto: [PROTO_TCP, PROTO_UDP, PROTO_SCTP, 136],
  pure: true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    if (opts.length !== 1) {
      const o = opts[1] ?? opts[0];
      fail(o ? `--${o.name}` : "-m multiport", "multiport takes exactly one of --sports, --dports, --ports", o?.column);
    }
    const o = opts[0]!;
    const items: [number, number][] = [];
    let slots = 0;
    for (const part of argOf(o).split(",")) {
      const r = parsePortRange(part);
      if (!r || r[0] > r[1] || part === "") fail(`--${o.name}`, `expected ports or ranges a:b separated by commas, got "${argOf(o)}"`, o.column);
      items.push(r);
      slots += r[0] === r[1] && !part.includes(":") ? 1 : 2;
    }
    if (slots > 15) fail(`--${o.name}`, "too many ports specified (at most 15; a range counts as two)", o.column);
    return { which: o.name as MultiportData["which"], neg: o.neg, items };
  },
  readsSport: (d) => d.which !== "dports",
  readsDport: (d) => d.which !== "sports",
  print(d) {
    return `${d.neg ? " !" : ""} --${d.which} ${d.items.map((r) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}:${r[1]}`)).join(",")}`;
  },
  compile(d) {
    const lo = Int32Array.from(d.items.map((r) => r[0]));
    const hi = Int32Array.from(d.items.map((r) => r[1]));
    const n = lo.length, neg = d.neg, src = d.which !== "dports", dst = d.which !== "sports";
    return (p) => {
      for (let i = 0; i < n; i++) {
        if ((src && p.sport >= lo[i]! && p.sport <= hi[i]!) || (dst && p.dport >= lo[i]! && p.dport <= hi[i]!)) return !neg;
      }
      return neg;
    };
  },
});

// ---------------------------------------------------------------------------------------------
// comment: --comment "text" (at most 255 characters)

export interface CommentData {
  readonly comment: string;
}

const comment = defineMatch<CommentData>({
  name: "comment",
  options: { comment: { arg: true, negatable: false } },
  pure: true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const o = opt(opts, "comment");
    if (!o) fail("-m comment", "the comment match needs --comment");
    if (argOf(o).length > 255) fail("--comment", "a comment has at most 255 characters", o.column);
    return { comment: argOf(o) };
  },
  print: (d) => ` --comment${saveString(d.comment)}`,
  compile: () => TRUE,
  inline: () => ({ kind: "true" }),
});

// ---------------------------------------------------------------------------------------------
// statistic: --mode random [!] --probability p | --mode nth [!] --every n [--packet k]

export type StatisticData =
  | { readonly mode: "random"; readonly p31: number; readonly neg: boolean }
  | { readonly mode: "nth"; readonly every: number; readonly packet: number; readonly neg: boolean };

const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const statistic = defineMatch<StatisticData>({
  name: "statistic",
  options: {
    mode: { arg: true, negatable: false },
    probability: { arg: true, negatable: true },
    every: { arg: true, negatable: true },
    packet: { arg: true, negatable: false },
  },
  pure: false,
  perNamespace: (d) => d.mode === "nth",
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const mode = opt(opts, "mode");
    if (!mode) fail("-m statistic", "no --mode given (random or nth)");
    const prob = opt(opts, "probability");
    const every = opt(opts, "every");
    const packet = opt(opts, "packet");
    if (argOf(mode) === "random") {
      if (!prob) fail("--probability", "--mode random needs --probability", mode.column);
      if (every || packet) fail(every ? "--every" : "--packet", "only valid with --mode nth", (every ?? packet)!.column);
      const s = argOf(prob);
      const p = DECIMAL_RE.test(s) ? Number(s) : NaN;
      if (!(p >= 0 && p <= 1)) fail("--probability", `expected a number between 0 and 1, got "${s}"`, prob.column);
      // The kernel keeps lround(p * 2^31) and matches when (random_u32 & 0x7fffffff) < P.
      return { mode: "random", p31: lround(p * 0x80000000), neg: prob.neg };
    }
    if (argOf(mode) === "nth") {
      if (!every) fail("--every", "--mode nth needs --every", mode.column);
      if (prob) fail("--probability", "only valid with --mode random", prob.column);
      const n = parseU32(argOf(every));
      if (n === undefined || n === 0) fail("--every", `expected a positive integer, got "${argOf(every)}"`, every.column);
      const k = packet ? parseU32(argOf(packet)) : 0;
      if (k === undefined || k > n - 1) fail("--packet", `expected 0..${n - 1}, got "${argOf(packet!)}"`, packet!.column);
      return { mode: "nth", every: n - 1, packet: k, neg: every.neg };
    }
    return fail("--mode", `expected random or nth, got "${argOf(mode)}"`, mode.column);
  },
  print(d) {
    if (d.mode === "random") {
      return ` --mode random${d.neg ? " !" : ""} --probability ${formatFixedHalfEven(BigInt(d.p31), 31, 11)}`;
    }
    return ` --mode nth${d.neg ? " !" : ""} --every ${d.every + 1} --packet ${d.packet}`;
  },
  inline: (d) => (d.mode === "random" ? { kind: "random", p31: d.p31, neg: d.neg } : undefined),
  compile(d) {
    if (d.mode === "random") {
      const p31 = d.p31, neg = d.neg;
      return (_p, ctx) => ctx.chance(p31) !== neg;
    }
    // xt_statistic nth: one counter per rule, starting at 0 when the rule is installed.
    const every = d.every, packet = d.packet, neg = d.neg;
    let count = 0;
    return (_p, _ctx, effects) => {
      const next = count === every ? 0 : count + 1;
      if (effects) count = next;
      return (next === packet) !== neg;
    };
  },
});

// ---------------------------------------------------------------------------------------------
// mark: [!] --mark value[/mask]   ((nfmark & mask) == value) ^ invert

export interface MarkData {
  readonly value: number;
  readonly mask: number;
  readonly neg: boolean;
}

const mark = defineMatch<MarkData>({
  name: "mark",
  options: { mark: { arg: true, negatable: true } },
  pure: true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const o = opt(opts, "mark");
    if (!o) fail("-m mark", "the mark match needs --mark");
    const vm = parseMarkMask(argOf(o));
    if (!vm) fail("--mark", `expected value[/mask] (e.g. 0x4000/0x4000), got "${argOf(o)}"`, o.column);
    return { value: vm.value, mask: vm.mask, neg: o.neg };
  },
  print(d) {
    const vm = d.mask === 0xffffffff ? ` ${hex(d.value)}` : ` ${hex(d.value)}/${hex(d.mask)}`;
    return `${d.neg ? " !" : ""} --mark${vm}`;
  },
  compile(d) {
    const value = d.value | 0, mask = d.mask | 0, neg = d.neg;
    return (_p, ctx) => ((ctx.mark & mask) === value) !== neg;
  },
});

// ---------------------------------------------------------------------------------------------
// addrtype (revision 1): [!] --src-type T[,T], [!] --dst-type T[,T], --limit-iface-in|out

/** rtn_type names in kernel order; bit i = 1 << i. */
export const ADDR_TYPES = [
  "UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
  "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
] as const;
const AT_UNICAST = 1 << 1, AT_LOCAL = 1 << 2, AT_BROADCAST = 1 << 3, AT_MULTICAST = 1 << 5;

/**
 * inet_addr_type() as svcsim can know it: 0.0.0.0 and 255.255.255.255 are BROADCAST, 224/4 is
 * MULTICAST, an address of this node (ctx.isLocal) is LOCAL, anything else UNICAST. Subnet
 * broadcast addresses and blackhole/unreachable/prohibit routes are not modelled.
 */
function addrTypeBit(a: number, ctx: EvalContext): number {
  if (a === 0 || a === -1) return AT_BROADCAST; // 0.0.0.0, 255.255.255.255 (int32 bits)
  if (a >>> 28 === 14) return AT_MULTICAST;
  return ctx.isLocal(a) ? AT_LOCAL : AT_UNICAST;
}

export interface AddrtypeData {
  readonly src: number; // type mask, 0 = not tested
  readonly srcNeg: boolean;
  readonly dst: number;
  readonly dstNeg: boolean;
  readonly limitIfaceIn: boolean;
  readonly limitIfaceOut: boolean;
}

const addrtype = defineMatch<AddrtypeData>({
  name: "addrtype",
  options: {
    "src-type": { arg: true, negatable: true },
    "dst-type": { arg: true, negatable: true },
    "limit-iface-in": { arg: false, negatable: false },
    "limit-iface-out": { arg: false, negatable: false },
  },
  pure: true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const types = (o: ParsedOption | undefined): number => {
      if (!o) return 0;
      let m = 0;
      for (const t of argOf(o).split(",")) {
        const i = ADDR_TYPES.indexOf(t.toUpperCase() as (typeof ADDR_TYPES)[number]);
        if (i < 0) fail(`--${o.name}`, `unknown address type "${t}" (expected one of ${ADDR_TYPES.join(", ")})`, o.column);
        m |= 1 << i;
      }
      return m;
    };
    const s = opt(opts, "src-type"), d = opt(opts, "dst-type");
    if (!s && !d) fail("-m addrtype", "addrtype needs --src-type or --dst-type");
    const lin = !!opt(opts, "limit-iface-in"), lout = !!opt(opts, "limit-iface-out");
    if (lin && lout) fail("--limit-iface-out", "--limit-iface-in and --limit-iface-out exclude each other", opt(opts, "limit-iface-out")!.column);
    return { src: types(s), srcNeg: s?.neg ?? false, dst: types(d), dstNeg: d?.neg ?? false, limitIfaceIn: lin, limitIfaceOut: lout };
  },
  print(d) {
    const names = (m: number) => ADDR_TYPES.filter((_, i) => m & (1 << i)).join(",");
    let out = "";
    if (d.src) out += `${d.srcNeg ? " !" : ""} --src-type ${names(d.src)}`;
    if (d.dst) out += `${d.dstNeg ? " !" : ""} --dst-type ${names(d.dst)}`;
    if (d.limitIfaceIn) out += " --limit-iface-in";
    if (d.limitIfaceOut) out += " --limit-iface-out";
    return out;
  },
  compile(d) {
    // --limit-iface-in/out restrict the kernel's lookup to one device; svcsim does not track
    // addresses per interface, so the type is looked up node-wide (same result for node IPs).
    const src = d.src, srcNeg = d.srcNeg, dst = d.dst, dstNeg = d.dstNeg;
    return (p, ctx) =>
      (src === 0 || ((addrTypeBit(p.src, ctx) & src) !== 0) !== srcNeg) &&
      (dst === 0 || ((addrTypeBit(p.dst, ctx) & dst) !== 0) !== dstNeg);
  },
});

// ---------------------------------------------------------------------------------------------
// conntrack: [!] --ctstate LIST   (other conntrack options are not modelled)

export const CT_STATE_NAMES: readonly (readonly [string, number])[] = [
  ["INVALID", CT_INVALID], ["NEW", CT_NEW], ["RELATED", CT_RELATED], ["ESTABLISHED", CT_ESTABLISHED],
  ["UNTRACKED", CT_UNTRACKED], ["SNAT", CT_SNAT], ["DNAT", CT_DNAT],
];

export interface ConntrackData {
  readonly states: number;
  readonly neg: boolean;
}

const conntrack = defineMatch<ConntrackData>({
  name: "conntrack",
  options: { ctstate: { arg: true, negatable: true } },
  pure: true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const o = opt(opts, "ctstate");
    if (!o) fail("-m conntrack", "svcsim models only --ctstate of the conntrack match");
    let m = 0;
    for (const s of argOf(o).split(",")) {
      const e = CT_STATE_NAMES.find(([n]) => n === s.toUpperCase());
      if (!e) fail("--ctstate", `unknown state "${s}" (expected ${CT_STATE_NAMES.map(([n]) => n).join(",")})`, o.column);
      m |= e[1];
    }
    return { states: m, neg: o.neg };
  },
  print(d) {
    const names = CT_STATE_NAMES.filter(([, b]) => d.states & b).map(([n]) => n).join(",");
    return `${d.neg ? " !" : ""} --ctstate ${names}`;
  },
  compile(d) {
    const states = d.states, neg = d.neg;
    return (_p, ctx) => ((ctx.ctstate & states) !== 0) !== neg;
  },
  inline: (d) => ({ kind: "ctstate", states: d.states, neg: d.neg }),
});

// ---------------------------------------------------------------------------------------------
// recent (revision 1)

export interface RecentData {
  readonly cmd: "set" | "rcheck" | "update" | "remove";
  readonly neg: boolean;
  readonly seconds: number; // 0 = not given
  readonly reap: boolean;
  readonly hitcount: number; // 0 = not given
  readonly name: string;
  readonly mask: number;
  readonly side: "source" | "dest";
}

const RECENT_CMDS = ["set", "rcheck", "update", "remove"] as const;

const recent = defineMatch<RecentData>({
  name: "recent",
  options: {
    set: { arg: false, negatable: true },
    rcheck: { arg: false, negatable: true },
    update: { arg: false, negatable: true },
    remove: { arg: false, negatable: true },
    seconds: { arg: true, negatable: false },
    reap: { arg: false, negatable: false },
    hitcount: { arg: true, negatable: false },
    name: { arg: true, negatable: false },
    mask: { arg: true, negatable: false },
    rsource: { arg: false, negatable: false },
    rdest: { arg: false, negatable: false },
  },
  pure: false,
  perNamespace: () => true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const cmds = opts.filter((o) => (RECENT_CMDS as readonly string[]).includes(o.name));
    if (cmds.length !== 1) {
      fail(cmds[1] ? `--${cmds[1].name}` : "-m recent", "recent needs exactly one of --set, --rcheck, --update, --remove", cmds[1]?.column);
    }
    const c = cmds[0]!;
    const cmd = c.name as RecentData["cmd"];
    const num = (name: string): number => {
      const o = opt(opts, name);
      if (!o) return 0;
      const v = parseU32(argOf(o));
      if (v === undefined || !/^\d+$/.test(argOf(o))) fail(`--${name}`, `expected a non-negative integer, got "${argOf(o)}"`, o.column);
      return v;
    };
    const seconds = num("seconds");
    const hitcount = num("hitcount");
    const reap = !!opt(opts, "reap");
    if (reap && !seconds) fail("--reap", "--reap needs --seconds", opt(opts, "reap")!.column);
    if ((cmd === "set" || cmd === "remove") && (seconds || hitcount || reap)) {
      fail("--seconds", "--seconds, --hitcount and --reap are only valid with --rcheck or --update", (opt(opts, "seconds") ?? opt(opts, "hitcount") ?? opt(opts, "reap"))!.column);
    }
    if (hitcount > IP_PKT_LIST_TOT) fail("--hitcount", `at most ${IP_PKT_LIST_TOT} (ip_pkt_list_tot)`, opt(opts, "hitcount")!.column);
    const n = opt(opts, "name");
    const name = n ? argOf(n) : "DEFAULT";
    if (name === "" || name.length > 199 || name.includes("/")) fail("--name", `invalid list name "${name}"`, n?.column);
    const m = opt(opts, "mask");
    let mask = -1; // 255.255.255.255 as int32 bits
    if (m) {
      const a = tryParseIPv4(argOf(m));
      if (a === null) fail("--mask", `expected a dotted netmask, got "${argOf(m)}"`, m.column);
      mask = a;
    }
    const rs = opt(opts, "rsource"), rd = opt(opts, "rdest");
    const side = rd && (!rs || opts.indexOf(rd) > opts.indexOf(rs)) ? "dest" : "source";
    return { cmd, neg: c.neg, seconds, reap, hitcount, name, mask, side };
  },
  print(d) {
    // libxt_recent recent_save (v1, iptables 1.8.x before the mask-elision change).
    let out = d.neg ? " !" : "";
    out += ` --${d.cmd}`;
    if (d.seconds) out += ` --seconds ${d.seconds}`;
    if (d.reap) out += " --reap";
    if (d.hitcount) out += ` --hitcount ${d.hitcount}`;
    out += ` --name ${d.name}`;
    out += ` --mask ${formatIPv4(d.mask)}`;
    out += d.side === "source" ? " --rsource" : " --rdest";
    return out;
  },
  compile(d, env) {
    // xt_recent recent_mt(), with times in simulated nanoseconds.
    const list = env.recent(d.name);
    const mask = d.mask | 0, dest = d.side === "dest", neg = d.neg;
    const isSet = d.cmd === "set", isRemove = d.cmd === "remove", isUpdate = d.cmd === "update";
    const window = d.seconds * 1e9, hitcount = d.hitcount, reap = d.reap;
    return (p, ctx, effects) => {
      const addr = (dest ? p.dst : p.src) & mask;
      let ret = neg;
      const e = list.lookup(addr);
      if (!e) {
        if (!isSet) return ret;
        if (effects) list.add(addr, ctx.now);
        return !ret;
      }
      if (isSet) ret = !ret;
      else if (isRemove) {
        if (effects) list.remove(e);
        ret = !ret;
      } else {
        const time = ctx.now - window;
        let hits = 0;
        for (let i = 0; i < e.nstamps; i++) {
          if (window && time > e.stamps[i]!) continue;
          if (!hitcount || ++hits >= hitcount) {
            ret = !ret;
            break;
          }
        }
        // As the kernel: `ret` already includes the inversion here.
        if (reap && effects) list.reap(time, e, isUpdate && ret);
      }
      if (effects && (isSet || (isUpdate && ret))) list.update(e, ctx.now);
      return ret;
    };
  },
});

// ---------------------------------------------------------------------------------------------
// physdev: svcsim has no Linux bridge, so every packet is "not bridged" (xt_physdev's
// !nf_bridge_info_exists branch): any non-negated condition fails, negated ones pass.

export interface PhysdevData {
  readonly isIn?: boolean; // value = negated?
  readonly isOut?: boolean;
  readonly isBridged?: boolean;
  readonly inDev?: { readonly name: string; readonly neg: boolean };
  readonly outDev?: { readonly name: string; readonly neg: boolean };
}

const physdev = defineMatch<PhysdevData>({
  name: "physdev",
  options: {
    "physdev-in": { arg: true, negatable: true },
    "physdev-out": { arg: true, negatable: true },
    "physdev-is-in": { arg: false, negatable: true },
    "physdev-is-out": { arg: false, negatable: true },
    "physdev-is-bridged": { arg: false, negatable: true },
  },
  pure: true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    if (opts.length === 0) fail("-m physdev", "physdev needs at least one option");
    const flag = (n: string) => opt(opts, n)?.neg;
    const dev = (n: string) => {
      const o = opt(opts, n);
      return o ? { name: argOf(o), neg: o.neg } : undefined;
    };
    return { isIn: flag("physdev-is-in"), isOut: flag("physdev-is-out"), isBridged: flag("physdev-is-bridged"), inDev: dev("physdev-in"), outDev: dev("physdev-out") };
  },
  print(d) {
    let out = "";
    if (d.isIn !== undefined) out += `${d.isIn ? " !" : ""} --physdev-is-in`;
    if (d.inDev) out += `${d.inDev.neg ? " !" : ""} --physdev-in ${d.inDev.name}`;
    if (d.isOut !== undefined) out += `${d.isOut ? " !" : ""} --physdev-is-out`;
    if (d.outDev) out += `${d.outDev.neg ? " !" : ""} --physdev-out ${d.outDev.name}`;
    if (d.isBridged !== undefined) out += `${d.isBridged ? " !" : ""} --physdev-is-bridged`;
    return out;
  },
  compile(d) {
    const conds = [d.isIn, d.isOut, d.isBridged, d.inDev?.neg, d.outDev?.neg];
    const result = conds.every((neg) => neg === undefined || neg === true);
    return () => result;
  },
});

// ---------------------------------------------------------------------------------------------
// nfacct: --nfacct-name NAME (counts into the named accounting object; always matches —
// quotas are not modelled). The object is created on first reference.

export interface NfacctData {
  readonly name: string;
}

const nfacct = defineMatch<NfacctData>({
  name: "nfacct",
  options: { "nfacct-name": { arg: true, negatable: false } },
  pure: false,
  perNamespace: () => true,
  parse(opts: readonly ParsedOption[], fail: Fail) {
    const o = opt(opts, "nfacct-name");
    if (!o) fail("-m nfacct", "nfacct needs --nfacct-name");
    if (argOf(o) === "" || argOf(o).length > 31) fail("--nfacct-name", "expected a name of 1..31 characters", o.column);
    return { name: argOf(o) };
  },
  // libxt_nfacct prints " --nfacct-name " and then xtables_save_string (leading space): two spaces.
  print: (d) => ` --nfacct-name ${saveString(d.name)}`,
  compile(d, env) {
    const c = env.nfacct(d.name);
    return (p, _ctx, effects) => {
      if (effects) {
        c.pkts++;
        c.bytes += p.len;
      }
      return true;
    };
  },
});

/** The registry, keyed by module name. */
export const MATCHES: Readonly<Record<string, MatchDef<any>>> = {
  tcp: portsMatch("tcp", PROTO_TCP),
  udp: portsMatch("udp", PROTO_UDP),
  sctp: portsMatch("sctp", PROTO_SCTP),
  multiport,
  comment,
  statistic,
  mark,
  addrtype,
  conntrack,
  recent,
  physdev,
  nfacct,
};

export function matchDef(name: string): MatchDef<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(MATCHES, name) ? MATCHES[name] : undefined;
}
