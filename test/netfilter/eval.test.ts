/**
 * Hook traversal: a kube-proxy nat table walked rule by rule (marks, jumps and returns,
 * statistic with scripted draws, the kernel's rule count), chain semantics (goto, RETURN,
 * policy), the explaining observer, and the index against a pure linear walk on a seeded
 * random 2,000-rule table.
 */
import seedrandom from "seedrandom";
import { describe, expect, it } from "vitest";
import { formatIPv4, parseIPv4 } from "../../src/net/ip.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import type { EvalContext, HookName, TableName, TraversalObserver, Verdict } from "../../src/netfilter/types.ts";
import type { Packet } from "../../src/net/packet.ts";
import type { Rule } from "../../src/netfilter/rule.ts";
import { MATCHES, type MatchFn } from "../../src/netfilter/matches.ts";
import { RecentList } from "../../src/netfilter/recent.ts";
import { CounterLog } from "../../src/netfilter/eval.ts";
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED } from "../../src/netfilter/types.ts";
import { ctx, fixture, pkt } from "./helpers.ts";

function v116(): Netfilter {
  const nf = new Netfilter();
  nf.restore(fixture("v1.16-hostnames.nat.save"));
  return nf;
}

const P_THIRD = 715820724; // lround(0.33333 · 2^31)
const P_HALF = 1073741824;

describe("a v1.16 kube-proxy nat table (3 endpoints, cluster CIDR 10.244.0.0/16)", () => {
  const flows = [
    { name: "off-cluster client, first statistic rule wins", src: "192.168.0.100", chances: [true],
      expect: { to: "10.244.1.5:9376", mark: 0x4000, draws: [P_THIRD], rules: 1 + 2 + 1 + 1 + 2 } },
    { name: "off-cluster client, second endpoint", src: "192.168.0.100", chances: [false, true],
      expect: { to: "10.244.2.6:9376", mark: 0x4000, draws: [P_THIRD, P_HALF], rules: 1 + 2 + 1 + 2 + 2 } },
    { name: "off-cluster client, last endpoint (no statistic)", src: "192.168.0.100", chances: [false, false],
      expect: { to: "10.244.3.7:9376", mark: 0x4000, draws: [P_THIRD, P_HALF], rules: 1 + 2 + 1 + 3 + 2 } },
    { name: "pod client is not marked", src: "10.244.1.9", chances: [false, true],
      expect: { to: "10.244.2.6:9376", mark: 0, draws: [P_THIRD, P_HALF], rules: 1 + 2 + 2 + 2 } },
    { name: "hairpin: the endpoint reaching itself is marked by its SEP rule", src: "10.244.2.6", chances: [false, true],
      expect: { to: "10.244.2.6:9376", mark: 0x4000, draws: [P_THIRD, P_HALF], rules: 1 + 2 + 2 + 2 + 1 } },
  ];
  it.each(flows)("$name", ({ src, chances, expect: e }) => {
    const nf = v116();
    const c = ctx({ chances });
    const r = nf.evaluate("nat", "PREROUTING", pkt({ src, dst: "10.96.0.50", dport: 80 }), c);
    expect(r.verdict.kind).toBe("DNAT");
    const v = r.verdict as { addr: number; port: number };
    expect(`${formatIPv4(v.addr)}:${v.port}`).toBe(e.to);
    expect(r.mark).toBe(e.mark);
    expect(c.mark).toBe(e.mark);
    expect(c.draws).toEqual(e.draws);
    expect(r.rulesEvaluated).toBe(e.rules);
  });

  it("KUBE-POSTROUTING masquerades marked packets only", () => {
    const nf = v116();
    const marked = nf.evaluate("nat", "POSTROUTING", pkt(), ctx({ mark: 0x4000 }));
    expect(marked.verdict).toEqual({ kind: "MASQUERADE", randomFully: true });
    expect(marked.rulesEvaluated).toBe(2);
    const plain = nf.evaluate("nat", "POSTROUTING", pkt(), ctx({ mark: 0 }));
    expect(plain.verdict).toEqual({ kind: "ACCEPT" });
  });

  it("a NodePort-style packet falls through every service rule to the LOCAL rule", () => {
    const nf = v116();
    const r = nf.evaluate("nat", "PREROUTING", pkt({ dst: "192.168.0.11", dport: 30080 }), ctx());
    expect(r.verdict).toEqual({ kind: "ACCEPT" });
    expect(r.rulesEvaluated).toBe(1 + 3 + 0); // PREROUTING, all of KUBE-SERVICES, empty KUBE-NODEPORTS
  });

  it("the observer sees every rule tested, in kernel order, with effects", () => {
    const nf = v116();
    const seen: string[] = [];
    const obs: TraversalObserver = {
      rule: (ev) => seen.push(`${ev.chain}#${ev.index} ${ev.matched ? "hit" : "miss"}${ev.effect ? ` ${ev.effect}` : ""}`),
      policy: (ev) => seen.push(`policy ${ev.chain} ${ev.policy}`),
    };
    nf.evaluate("nat", "PREROUTING", pkt({ src: "192.168.0.100", dst: "10.96.0.50" }), ctx({ chances: [false, true] }), obs);
    expect(seen).toEqual([
      "PREROUTING#1 hit jump KUBE-SERVICES",
      "KUBE-SERVICES#1 hit jump KUBE-MARK-MASQ",
      "KUBE-MARK-MASQ#1 hit MARK --set-xmark 0x4000/0x4000 (mark 0x0 → 0x4000)",
      "KUBE-SERVICES#2 hit jump KUBE-SVC-ODX2UBAZM7RQWOIU",
      "KUBE-SVC-ODX2UBAZM7RQWOIU#1 miss",
      "KUBE-SVC-ODX2UBAZM7RQWOIU#2 hit jump KUBE-SEP-7Y5M6KCUSGT5SOWG",
      "KUBE-SEP-7Y5M6KCUSGT5SOWG#1 miss",
      "KUBE-SEP-7Y5M6KCUSGT5SOWG#2 hit DNAT to 10.244.2.6:9376",
    ]);
    const text: string[] = [];
    nf.evaluate("nat", "OUTPUT", pkt({ dst: "10.1.1.1" }), ctx(), { rule: (ev) => text.push(ev.text), policy: (ev) => text.push(`policy ${ev.policy}`) });
    expect(text.at(-2)).toBe('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
    expect(text.at(-1)).toBe("policy ACCEPT");
  });
});

describe("chain semantics", () => {
  function nfWith(lines: string[], table = "filter"): Netfilter {
    const nf = new Netfilter();
    nf.restore(`*${table}\n${lines.join("\n")}\nCOMMIT\n`);
    return nf;
  }

  it("goto: falling off the goto'd chain returns to the caller of the chain that did the goto", () => {
    const nf = nfWith([
      ":A - [0:0]", ":B - [0:0]",
      "-A INPUT -j A",
      "-A INPUT -j MARK --or-mark 0x1",
      "-A A -g B",
      "-A A -j DROP",
      "-A B -j MARK --or-mark 0x2",
    ], "mangle");
    const r = nf.evaluate("mangle", "INPUT", pkt(), ctx());
    expect(r.verdict).toEqual({ kind: "ACCEPT" });
    expect(r.mark).toBe(0x3);
    expect(r.rulesEvaluated).toBe(2 + 1 + 1); // INPUT both, A up to the goto, B
  });

  it("goto from a builtin chain: falling off applies the policy", () => {
    const nf = nfWith([":INPUT DROP [0:0]", ":B - [0:0]", "-A INPUT -g B", "-A INPUT -j ACCEPT"]);
    expect(nf.evaluate("filter", "INPUT", pkt(), ctx()).verdict).toEqual({ kind: "DROP" });
  });

  it("RETURN in a user chain continues after the jump; in a builtin chain it applies the policy", () => {
    const nf = nfWith([
      ":INPUT DROP [0:0]", ":A - [0:0]",
      "-A INPUT -j A",
      "-A INPUT -p udp -j RETURN",
      "-A INPUT -j ACCEPT",
      "-A A -j RETURN",
      "-A A -j DROP",
    ]);
    const tcp = nf.evaluate("filter", "INPUT", pkt(), ctx());
    expect(tcp.verdict).toEqual({ kind: "ACCEPT" });
    expect(tcp.rulesEvaluated).toBe(3 + 1);
    const udp = nf.evaluate("filter", "INPUT", pkt({ proto: "udp" }), ctx());
    expect(udp.verdict).toEqual({ kind: "DROP" });
    expect(udp.rulesEvaluated).toBe(2 + 1);
    expect(nf.policy("filter", "INPUT")!.pkts).toBe(1);
  });

  it("a rule without target counts and the walk continues (KUBE-FW's last rule)", () => {
    const nf = nfWith([":KUBE-FW-X - [0:0]", "-A FORWARD -j KUBE-FW-X", '-A KUBE-FW-X -m comment --comment "other traffic to ns/svc will be dropped by KUBE-PROXY-FIREWALL"']);
    const r = nf.evaluate("filter", "FORWARD", pkt(), ctx());
    expect(r.verdict).toEqual({ kind: "ACCEPT" });
    expect(nf.rules("filter", "KUBE-FW-X")[0]!.pkts).toBe(1);
  });

  it("the result object is reused, verdict objects are stable per rule", () => {
    const nf = nfWith(["-A INPUT -p udp -j DROP"]);
    const a = nf.evaluate("filter", "INPUT", pkt({ proto: "udp" }), ctx());
    const va = a.verdict;
    const b = nf.evaluate("filter", "INPUT", pkt({ proto: "udp" }), ctx());
    expect(b).toBe(a);
    expect(b.verdict).toBe(va);
  });

  it("an unknown hook for a table is a programming error", () => {
    const nf = new Netfilter();
    expect(() => nf.evaluate("nat", "FORWARD", pkt(), ctx())).toThrow(/has no FORWARD chain/);
  });
});

// ---------------------------------------------------------------------------------------------
// Index ≡ linear walk, on a seeded random 2,000-rule table.

function randomTable(seed: string): { text: string; services: { dst: string; port: number; proto: string }[] } {
  const rng = seedrandom.alea(seed);
  const int = (n: number) => Math.floor(rng() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const lines = ["*nat", ":KUBE-SERVICES - [0:0]", ":KUBE-MARK-MASQ - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-SEP-R - [0:0]", ":KUBE-SEP-D - [0:0]"];
  const rules: string[] = [
    "-A PREROUTING -j KUBE-SERVICES",
    "-A OUTPUT -j KUBE-SERVICES",
    "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
    "-A KUBE-SEP-R -m mark --mark 0x1/0x1 -j RETURN",
    "-A KUBE-SEP-R -p tcp -j DNAT --to-destination 10.244.0.1:8080",
    "-A KUBE-SEP-D -m statistic --mode random --probability 0.25 -j RETURN",
    "-A KUBE-SEP-D -j MARK --xor-mark 0x2",
    "-A KUBE-NODEPORTS -p tcp -m tcp --dport 30001 -j KUBE-SEP-R",
  ];
  const services: { dst: string; port: number; proto: string }[] = [];
  // A small address/port space so buckets collide and hold several rules.
  for (let i = 0; i < 150; i++) services.push({ dst: `10.96.${int(4)}.${int(40)}`, port: pick([53, 80, 443, 8080]), proto: pick(["tcp", "udp", "tcp"]) });
  const targets = ["-j KUBE-MARK-MASQ", "-j KUBE-SEP-R", "-j KUBE-SEP-D", "-j ACCEPT", "-j MARK --xor-mark 0x1", "", "-j RETURN", "-j DROP"];
  const svcTargets = ["-j KUBE-MARK-MASQ", "-j KUBE-SEP-R", "-j KUBE-SEP-D", "-j MARK --xor-mark 0x1", "", "-j KUBE-MARK-MASQ", "-j KUBE-SEP-D", "-j DNAT --to-destination 10.244.9.9:99"];
  for (let n = 0; n < 2000; n++) {
    const s = pick(services);
    const r = rng();
    let rule: string;
    if (r < 0.7) {
      // Indexable service rule, in kube-proxy's restore syntax; some with a statistic after the port.
      const stat = rng() < 0.2 ? " -m statistic --mode random --probability 0.5" : "";
      const neg = rng() < 0.3 ? ` ! -s 10.244.0.0/16` : "";
      // --ctstate tests (the first one is inlined by the compiler, a second stays a closure).
      const cr = rng();
      const ct = cr < 0.2 ? " -m conntrack --ctstate NEW" : cr < 0.3 ? " -m conntrack ! --ctstate RELATED,ESTABLISHED -m conntrack --ctstate DNAT" : "";
      rule = `-A KUBE-SERVICES -m comment --comment "svc ${n}"${ct} -m ${s.proto} -p ${s.proto} -d ${s.dst} --dport ${s.port}${neg}${stat} ${pick(svcTargets)}`;
    } else if (r < 0.75) {
      // A statistic before the port match: not indexable (its draw happens before the port test).
      rule = `-A KUBE-SERVICES -d ${s.dst}/32 -p ${s.proto} -m statistic --mode random --probability 0.1 -m ${s.proto} --dport ${s.port} ${pick(targets)}`;
    } else if (r < 0.8) {
      rule = `-A KUBE-SERVICES -d 10.96.${int(4)}.0/24 -p tcp -m tcp --dport ${pick([80, 443])} ${pick(targets)}`;
    } else if (r < 0.84) {
      rule = `-A KUBE-SERVICES ! -d ${s.dst} -p ${s.proto} -m ${s.proto} --dport ${s.port} -m statistic --mode random --probability 0.01 ${pick(targets)}`;
    } else if (r < 0.88) {
      rule = `-A KUBE-SERVICES -d ${s.dst} -p ${s.proto} -m ${s.proto} ! --dport ${s.port} -m statistic --mode random --probability 0.02 ${pick(targets)}`;
    } else if (r < 0.92) {
      rule = `-A KUBE-SERVICES -p tcp -m multiport --dports 80,443 -m mark --mark 0x4000/0x4000 -m statistic --mode random --probability 0.05 ${pick(targets)}`;
    } else if (r < 0.96) {
      rule = `-A KUBE-SERVICES -s 192.168.${int(2)}.0/24 -m statistic --mode random --probability 0.03 -j MARK --or-mark 0x8`;
    } else {
      rule = `-A KUBE-SERVICES -d ${s.dst} -p ${s.proto} -m ${s.proto} --dport ${s.port} -m nfacct --nfacct-name n${int(3)} ${pick(svcTargets)}`;
    }
    rules.push(rule.trimEnd());
  }
  rules.push("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS");
  return { text: [...lines, ...rules, "COMMIT", ""].join("\n"), services };
}

describe("the KUBE-SERVICES index", () => {
  it("gives the same verdict, mark, draws, rulesEvaluated and counters as a linear walk (seeded, 2,000 rules)", () => {
    const { text, services } = randomTable("netfilter-index-1");
    const indexed = new Netfilter();
    const linear = new Netfilter();
    indexed.restore(text);
    linear.restore(text);
    linear.setIndexEnabled(false);
    expect(indexed.ruleCount("nat")).toBe(2000 + 9);
    expect(indexed.isIndexed("nat", "KUBE-SERVICES")).toBe(true);
    expect(indexed.isIndexed("nat", "KUBE-SEP-R")).toBe(false); // short chains are walked

    const rng = seedrandom.alea("packets-1");
    const int = (n: number) => Math.floor(rng() * n);
    let hits = 0;
    for (let i = 0; i < 3000; i++) {
      const s = services[int(services.length)]!;
      const miss = rng() < 0.2;
      const p = pkt({
        src: rng() < 0.5 ? `10.244.${int(3)}.${int(250)}` : `192.168.${int(3)}.${int(250)}`,
        dst: miss ? `10.96.${int(5)}.${int(60)}` : rng() < 0.05 ? "192.168.0.11" : s.dst,
        dport: miss ? 80 + int(3) : rng() < 0.05 ? 30001 : s.port,
        proto: (miss ? "tcp" : s.proto) as "tcp" | "udp",
      });
      const mark = int(4) === 0 ? 0x4001 : 0;
      const seed = `draws-${i}`;
      const mk = (): EvalContext & { draws: number[] } => {
        const r = seedrandom.alea(seed);
        const draws: number[] = [];
        return { ctstate: CT_NEW, mark, inIface: "eth0", outIface: "", now: i, isLocal: (a) => a === parseIPv4("192.168.0.11"), draws,
          chance: (p31) => { draws.push(p31); return r() * 2 ** 31 < p31; } };
      };
      const ca = mk(), cb = mk();
      const a = indexed.evaluate("nat", "PREROUTING", p, ca);
      const ra = { verdict: a.verdict, mark: a.mark, rules: a.rulesEvaluated, draws: ca.draws };
      const b = linear.evaluate("nat", "PREROUTING", p, cb);
      const rb = { verdict: b.verdict, mark: b.mark, rules: b.rulesEvaluated, draws: cb.draws };
      expect(ra).toEqual(rb);
      if (a.verdict.kind !== "ACCEPT") hits++;
    }
    expect(hits).toBeGreaterThan(300); // the walk really reaches service rules
    expect(indexed.save({ counters: true })).toBe(linear.save({ counters: true }));
    expect(indexed.nfacct("n0")).toEqual(linear.nfacct("n0"));
  });
});

/**
 * A deliberately naive interpreter of the same Rule data: recursive chain walk, every match
 * closure called in rule order, no index, no inlining. The reference the engine must equal.
 */
class Reference {
  private readonly compiled = new Map<Rule, MatchFn[]>();
  readonly counts = new Map<Rule, number>();
  private readonly recent = new Map<string, RecentList>();
  private readonly nfacct = new Map<string, { pkts: number; bytes: number }>();
  constructor(private readonly nf: Netfilter, private readonly table: TableName) {}

  private fns(r: Rule): MatchFn[] {
    let f = this.compiled.get(r);
    if (!f) {
      const env = {
        recent: (n: string) => this.recent.get(n) ?? this.recent.set(n, new RecentList(n)).get(n)!,
        nfacct: (n: string) => this.nfacct.get(n) ?? this.nfacct.set(n, { pkts: 0, bytes: 0 }).get(n)!,
      };
      f = r.matches.map((m) => MATCHES[m.module]!.compile(m.data, env));
      this.compiled.set(r, f);
    }
    return f;
  }

  private header(r: Rule, p: Packet, c: EvalContext): boolean {
    const h = r.header;
    const inCidr = (a: number, s: { addr: number; mask: number }) => (a & s.mask) === s.addr;
    if (h.src && inCidr(p.src, h.src) === h.src.neg) return false;
    if (h.dst && inCidr(p.dst, h.dst) === h.dst.neg) return false;
    if (h.proto && h.proto.num !== 0 && (p.proto === h.proto.num) === h.proto.neg) return false;
    const ifm = (name: string, have: string) => (name.endsWith("+") ? have.startsWith(name.slice(0, -1)) : have === name);
    if (h.inIface && ifm(h.inIface.name, c.inIface) === h.inIface.neg) return false;
    if (h.outIface && ifm(h.outIface.name, c.outIface) === h.outIface.neg) return false;
    return true;
  }

  rules = 0;
  private walk(chain: string, p: Packet, c: EvalContext): Verdict | "return" {
    for (const { rule: r } of this.nf.rules(this.table, chain)) {
      this.rules++;
      if (!this.header(r, p, c) || !this.fns(r).every((f) => f(p, c, true))) continue;
      this.counts.set(r, (this.counts.get(r) ?? 0) + 1);
      const t = r.target;
      switch (t.kind) {
        case "none": continue;
        case "MARK": c.mark = ((c.mark & ~t.mask) ^ t.value) >>> 0; continue;
        case "jump": { const v = this.walk(t.chain, p, c); if (v !== "return") return v; continue; }
        case "goto": return this.walk(t.chain, p, c);
        case "RETURN": return "return";
        case "ACCEPT": case "DROP": return { kind: t.kind };
        case "REJECT": return { kind: "REJECT", rejectWith: t.rejectWith };
        case "DNAT": case "SNAT": return { kind: t.kind, addr: t.to.addr, port: t.to.port };
        case "MASQUERADE": return t.toPorts ? { kind: "MASQUERADE", randomFully: t.randomFully, toPorts: t.toPorts } : { kind: "MASQUERADE", randomFully: t.randomFully };
      }
    }
    return "return";
  }

  evaluate(hook: HookName, p: Packet, c: EvalContext): { verdict: Verdict; mark: number; rulesEvaluated: number } {
    this.rules = 0;
    const v = this.walk(hook, p, c);
    const verdict = v === "return" ? { kind: this.nf.policy(this.table, hook)!.policy } : v;
    return { verdict, mark: c.mark, rulesEvaluated: this.rules };
  }
}

describe("the compiled engine (index + inlined matches) equals a naive interpreter", () => {
  it.each(["netfilter-ref-1", "netfilter-ref-2"])("seeded 2,000-rule table %s", (seed) => {
    const { text, services } = randomTable(seed);
    const nf = new Netfilter();
    nf.restore(text);
    const ref = new Reference(nf, "nat");
    const rng = seedrandom.alea(`${seed}/packets`);
    const int = (n: number) => Math.floor(rng() * n);
    for (let i = 0; i < 2000; i++) {
      const s = services[int(services.length)]!;
      const other = services[int(services.length)]!;
      const p = pkt({
        src: rng() < 0.5 ? `10.244.${int(3)}.${int(250)}` : `192.168.${int(3)}.${int(250)}`,
        // Often a service address with another service's port: the header matches, the port does not.
        dst: s.dst,
        dport: rng() < 0.5 ? s.port : other.port,
        proto: (rng() < 0.8 ? s.proto : other.proto) as "tcp" | "udp",
      });
      const mark = int(4) === 0 ? 0x4001 : 0;
      const ctstate = [CT_NEW, CT_NEW | CT_DNAT, CT_ESTABLISHED, CT_ESTABLISHED | CT_DNAT, CT_RELATED, CT_INVALID][int(6)]!;
      const mk = () => {
        const r = seedrandom.alea(`${seed}/draws/${i}`);
        const draws: number[] = [];
        const c: EvalContext & { draws: number[] } = { ctstate, mark, inIface: "eth0", outIface: "", now: i, isLocal: () => false, draws,
          chance: (p31) => { draws.push(p31); return r() * 2 ** 31 < p31; } };
        return c;
      };
      const ca = mk(), cb = mk();
      const a = nf.evaluate("nat", "PREROUTING", p, ca);
      const got = { verdict: a.verdict, mark: a.mark, rules: a.rulesEvaluated, draws: ca.draws };
      const b = ref.evaluate("PREROUTING", p, cb);
      expect(got).toEqual({ verdict: b.verdict, mark: b.mark, rules: b.rulesEvaluated, draws: cb.draws });
    }
    for (const c of nf.chains("nat")) for (const r of nf.rules("nat", c)) expect(r.pkts).toBe(ref.counts.get(r.rule) ?? 0);
  });
});

/**
 * What a walk read of the ports (CounterLog.readsSport / readsDport): the datapath shares a walk
 * between connections differing only in a port no tested rule read (network.ts FlowTable), so
 * every way a rule or an index can look at a port must be reported.
 */
describe("CounterLog: which ports a walk read", () => {
  const many = Array.from({ length: 20 }, (_, i) => `-A SVC -d 10.0.0.${i + 1}/32 -p tcp -m tcp --dport 80 -j ACCEPT`).join("\n");
  it.each([
    { name: "no port test", rules: "-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT", sport: false, dport: false },
    { name: "--dport", rules: "-A OUTPUT -p tcp -m tcp --dport 80 -j ACCEPT", sport: false, dport: true },
    { name: "--sport range", rules: "-A OUTPUT -p tcp -m tcp --sport 1000:2000 -j ACCEPT", sport: true, dport: false },
    { name: "--sport over the full range reads nothing", rules: "-A OUTPUT -p tcp -m tcp --sport 0:65535 -j ACCEPT", sport: false, dport: false },
    { name: "a second port match (a closure)", rules: "-A OUTPUT -p tcp -m tcp --dport 80 -m tcp --sport 5 -j ACCEPT", sport: true, dport: true },
    { name: "udp --sport", rules: "-A OUTPUT -p udp -m udp --sport 53 -j ACCEPT", sport: true, dport: false, proto: "udp" as const },
    { name: "multiport --dports", rules: "-A OUTPUT -p tcp -m multiport --dports 1,2 -j ACCEPT", sport: false, dport: true },
    { name: "multiport --sports", rules: "-A OUTPUT -p tcp -m multiport --sports 1,2 -j ACCEPT", sport: true, dport: false },
    { name: "multiport --ports", rules: "-A OUTPUT -p tcp -m multiport --ports 1,2 -j ACCEPT", sport: true, dport: true },
    { name: "a rule after a terminal verdict is not tested", rules: "-A OUTPUT -j ACCEPT\n-A OUTPUT -p tcp -m tcp --sport 5 -j DROP", sport: false, dport: false },
    { name: "an indexed chain is looked up by destination port", rules: `:SVC - [0:0]\n${many}\n-A OUTPUT -j SVC`, sport: false, dport: true },
  ])("$name", ({ rules, sport, dport, proto }) => {
    const nf = new Netfilter();
    nf.restore(`*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules}\nCOMMIT\n`);
    const log = new CounterLog();
    nf.evaluate("filter", "OUTPUT", pkt({ proto: proto ?? "tcp", dst: "10.0.0.99" }), ctx({ ctstate: CT_ESTABLISHED }), undefined, log);
    expect({ sport: log.readsSport, dport: log.readsDport }).toEqual({ sport, dport });
  });

  it("every match module that reads a port says so (and only those)", () => {
    const reads = Object.entries(MATCHES).filter(([, d]) => d.readsSport !== undefined || d.readsDport !== undefined).map(([k]) => k).sort();
    expect(reads).toEqual(["multiport", "sctp", "tcp", "udp"]);
  });
});
