/**
 * The target registry: one row per `-j NAME` that is not a user chain (iptables-legacy 1.8.x
 * printers, kernel semantics). Each row: options, a strict parser producing the Target union of
 * rule.ts, the iptables-save printer, whether it ends the traversal, and where the kernel allows
 * it (table, and the hooks its chain must be reachable from only).
 *
 * Supporting one more target = one row here, its kind in rule.ts's Target union, its case in
 * eval.ts's compileTarget, and a spec row in test/netfilter/targets.test.ts.
 *
 * Not modelled: address/port ranges in DNAT/SNAT (`a-b:p-q`), several --to-destination
 * options, --to-ports ranges on DNAT, CONNMARK/LOG/NOTRACK/... (unknown targets are errors).
 */
import { formatIPv4 } from "../net/ip.ts";
import { PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../net/packet.ts";
import type { HookName, TableName } from "./types.ts";
import type { NatAddr, RuleHeader, Target } from "./rule.ts";
import { hex } from "./format.ts";
import type { Fail, OptionSpec, ParsedOption } from "./options.ts";
import { argOf, opt, parseAddr, parseMarkMask, parsePort, parseU32 } from "./options.ts";

export interface TargetDef<T extends Target = Target> {
  readonly name: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  parse(opts: readonly ParsedOption[], fail: Fail, header: RuleHeader): T;
  /** Options as iptables-save prints them after " -j NAME" (each with a leading space). */
  print(t: T): string;
  /** Ends the hook traversal with a verdict (ACCEPT, DROP, REJECT, DNAT, SNAT, MASQUERADE). */
  readonly terminal: boolean;
  /** Tables the kernel accepts it in (undefined = any). */
  readonly tables?: readonly TableName[];
  /** Hooks its chain may be reached from (undefined = any); checked at COMMIT. */
  readonly hooks?: readonly HookName[];
}

function defineTarget<T extends Target>(def: TargetDef<T>): TargetDef<T> {
  return def;
}

const PORT_PROTOS = [PROTO_TCP, PROTO_UDP, PROTO_SCTP, 136, 33];
function needPortProto(header: RuleHeader, fail: Fail, option: string, column: number | undefined): void {
  const p = header.proto;
  if (!p || p.neg || !PORT_PROTOS.includes(p.num)) fail(option, "a port needs -p tcp, udp or sctp", column);
}

function simple<K extends "ACCEPT" | "DROP" | "RETURN">(kind: K, terminal: boolean): TargetDef<Extract<Target, { kind: K }>> {
  return defineTarget({
    name: kind,
    options: {},
    parse: () => ({ kind }) as Extract<Target, { kind: K }>,
    print: () => "",
    terminal,
  });
}

// REJECT --reject-with TYPE (libipt_REJECT names; the short aliases are accepted on input).
const REJECT_TYPES: readonly (readonly [string, string])[] = [
  ["icmp-net-unreachable", "net-unreach"],
  ["icmp-host-unreachable", "host-unreach"],
  ["icmp-proto-unreachable", "proto-unreach"],
  ["icmp-port-unreachable", "port-unreach"],
  ["icmp-net-prohibited", "net-prohib"],
  ["icmp-host-prohibited", "host-prohib"],
  ["tcp-reset", "tcp-rst"],
  ["icmp-admin-prohibited", "admin-prohib"],
];

const REJECT = defineTarget<Extract<Target, { kind: "REJECT" }>>({
  name: "REJECT",
  options: { "reject-with": { arg: true, negatable: false } },
  parse(opts: readonly ParsedOption[], fail: Fail, header: RuleHeader) {
    const o = opt(opts, "reject-with");
    if (!o) return { kind: "REJECT", rejectWith: "icmp-port-unreachable" };
    const t = REJECT_TYPES.find(([n, a]) => n === argOf(o) || a === argOf(o));
    if (!t) fail("--reject-with", `unknown reject type "${argOf(o)}" (expected ${REJECT_TYPES.map(([n]) => n).join(", ")})`, o.column);
    if (t[0] === "tcp-reset" && (header.proto?.num !== PROTO_TCP || header.proto.neg)) {
      fail("--reject-with", "tcp-reset is only valid with -p tcp", o.column);
    }
    return { kind: "REJECT", rejectWith: t[0] };
  },
  print: (t) => ` --reject-with ${t.rejectWith}`,
  terminal: true,
  hooks: ["INPUT", "FORWARD", "OUTPUT"],
});

function parseNatAddr(o: ParsedOption, fail: Fail, header: RuleHeader): NatAddr {
  const s = argOf(o);
  const colon = s.indexOf(":");
  const ipText = colon < 0 ? s : s.slice(0, colon);
  if (ipText.includes("-")) fail(`--${o.name}`, `address ranges are not modelled ("${s}")`, o.column);
  const addr = parseAddr(ipText);
  if (addr === undefined) fail(`--${o.name}`, `expected ip[:port], got "${s}"`, o.column);
  if (colon < 0) return { addr, port: undefined };
  const portText = s.slice(colon + 1);
  if (portText.includes("-")) fail(`--${o.name}`, `port ranges are not modelled ("${s}")`, o.column);
  const port = parsePort(portText);
  if (port === undefined || port === 0) fail(`--${o.name}`, `expected ip[:port] with a port 1..65535, got "${s}"`, o.column);
  needPortProto(header, fail, `--${o.name}`, o.column);
  return { addr, port };
}

function printNatAddr(a: NatAddr): string {
  return a.port === undefined ? formatIPv4(a.addr) : `${formatIPv4(a.addr)}:${a.port}`;
}

const DNAT = defineTarget<Extract<Target, { kind: "DNAT" }>>({
  name: "DNAT",
  options: {
    "to-destination": { arg: true, negatable: false },
    random: { arg: false, negatable: false },
    persistent: { arg: false, negatable: false },
  },
  parse(opts: readonly ParsedOption[], fail: Fail, header: RuleHeader) {
    const o = opt(opts, "to-destination");
    if (!o) fail("-j DNAT", "DNAT needs --to-destination");
    return { kind: "DNAT", to: parseNatAddr(o, fail, header), random: !!opt(opts, "random"), persistent: !!opt(opts, "persistent") };
  },
  print: (t) => ` --to-destination ${printNatAddr(t.to)}${t.random ? " --random" : ""}${t.persistent ? " --persistent" : ""}`,
  terminal: true,
  tables: ["nat"],
  hooks: ["PREROUTING", "OUTPUT"],
});

const SNAT = defineTarget<Extract<Target, { kind: "SNAT" }>>({
  name: "SNAT",
  options: {
    "to-source": { arg: true, negatable: false },
    random: { arg: false, negatable: false },
    "random-fully": { arg: false, negatable: false },
    persistent: { arg: false, negatable: false },
  },
  parse(opts: readonly ParsedOption[], fail: Fail, header: RuleHeader) {
    const o = opt(opts, "to-source");
    if (!o) fail("-j SNAT", "SNAT needs --to-source");
    return {
      kind: "SNAT",
      to: parseNatAddr(o, fail, header),
      random: !!opt(opts, "random"),
      randomFully: !!opt(opts, "random-fully"),
      persistent: !!opt(opts, "persistent"),
    };
  },
  print: (t) =>
    ` --to-source ${printNatAddr(t.to)}${t.random ? " --random" : ""}${t.randomFully ? " --random-fully" : ""}${t.persistent ? " --persistent" : ""}`,
  terminal: true,
  tables: ["nat"],
  hooks: ["POSTROUTING", "INPUT"],
});

const MASQUERADE = defineTarget<Extract<Target, { kind: "MASQUERADE" }>>({
  name: "MASQUERADE",
  options: {
    "to-ports": { arg: true, negatable: false },
    random: { arg: false, negatable: false },
    "random-fully": { arg: false, negatable: false },
  },
  parse(opts: readonly ParsedOption[], fail: Fail, header: RuleHeader) {
    const tp = opt(opts, "to-ports");
    let toPorts: [number, number] | undefined;
    if (tp) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(argOf(tp));
      const a = m ? parsePort(m[1]!) : undefined;
      const b = m ? (m[2] === undefined ? a : parsePort(m[2])) : undefined;
      if (a === undefined || b === undefined || a === 0 || a > b) fail("--to-ports", `expected port[-port], got "${argOf(tp)}"`, tp.column);
      needPortProto(header, fail, "--to-ports", tp.column);
      toPorts = [a, b];
    }
    return { kind: "MASQUERADE", toPorts, random: !!opt(opts, "random"), randomFully: !!opt(opts, "random-fully") };
  },
  print(t) {
    let out = "";
    if (t.toPorts) out += ` --to-ports ${t.toPorts[0]}${t.toPorts[1] !== t.toPorts[0] ? `-${t.toPorts[1]}` : ""}`;
    if (t.random) out += " --random";
    if (t.randomFully) out += " --random-fully";
    return out;
  },
  terminal: true,
  tables: ["nat"],
  hooks: ["POSTROUTING"],
});

/**
 * MARK (revision 2). Every form is stored as the kernel stores it — (value, mask) with
 * newmark = (mark & ~mask) ^ value — and printed as --set-xmark value/mask:
 *   --set-xmark v[/m]  → (v, m)            --set-mark v[/m] → (v, m | v)
 *   --or-mark v        → (v, v)            --and-mark v     → (0, ~v)
 *   --xor-mark v       → (v, 0)            (m defaults to 0xffffffff)
 */
const MARK = defineTarget<Extract<Target, { kind: "MARK" }>>({
  name: "MARK",
  options: {
    "set-xmark": { arg: true, negatable: false },
    "set-mark": { arg: true, negatable: false },
    "and-mark": { arg: true, negatable: false },
    "or-mark": { arg: true, negatable: false },
    "xor-mark": { arg: true, negatable: false },
  },
  parse(opts: readonly ParsedOption[], fail: Fail) {
    if (opts.length !== 1) {
      const o = opts[1];
      fail(o ? `--${o.name}` : "-j MARK", "MARK needs exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark", o?.column);
    }
    const o = opts[0]!;
    const s = argOf(o);
    if (o.name === "set-xmark" || o.name === "set-mark") {
      const vm = parseMarkMask(s);
      if (!vm) fail(`--${o.name}`, `expected value[/mask], got "${s}"`, o.column);
      const mask = o.name === "set-mark" ? (vm.mask | vm.value) >>> 0 : vm.mask;
      return { kind: "MARK", value: vm.value, mask };
    }
    const v = parseU32(s);
    if (v === undefined) fail(`--${o.name}`, `expected a 32-bit value, got "${s}"`, o.column);
    if (o.name === "or-mark") return { kind: "MARK", value: v, mask: v };
    if (o.name === "and-mark") return { kind: "MARK", value: 0, mask: ~v >>> 0 };
    return { kind: "MARK", value: v, mask: 0 };
  },
  print: (t) => ` --set-xmark ${hex(t.value)}/${hex(t.mask)}`,
  terminal: false,
});

/** The registry, keyed by target name (user chains are not here: `-j CHAIN` is a jump). */
export const TARGETS: Readonly<Record<string, TargetDef<any>>> = {
  ACCEPT: simple("ACCEPT", true),
  DROP: simple("DROP", true),
  RETURN: simple("RETURN", false),
  REJECT,
  DNAT,
  SNAT,
  MASQUERADE,
  MARK,
};

export function targetDef(name: string): TargetDef | undefined {
  return Object.prototype.hasOwnProperty.call(TARGETS, name) ? TARGETS[name] : undefined;
}
