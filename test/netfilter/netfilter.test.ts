/**
 * The table store: iptables-restore semantics (atomic per table, --noflush, chain declaration,
 * -X/-F/-N/-P/-I/-D/-C), single commands, counters and listings.
 */
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import { ctx, fixture, pkt } from "./helpers.ts";

function loaded(): Netfilter {
  const nf = new Netfilter();
  nf.restore(fixture("v1.16-hostnames.nat.save"), { file: "v1.16" });
  return nf;
}

describe("restore is atomic per table", () => {
  it("a failing restore leaves the previous table, rules and counters intact", () => {
    const nf = loaded();
    nf.evaluate("nat", "OUTPUT", pkt({ dst: "10.96.0.50" }), ctx());
    const before = nf.save({ counters: true });
    const bad = [
      "*nat",
      ":KUBE-SERVICES - [0:0]",
      ":KUBE-SVC-NEW - [0:0]",
      "-A KUBE-SERVICES -d 10.96.0.99/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-NEW",
      "-A KUBE-SVC-NEW -j KUBE-SEP-MISSING",
      "COMMIT",
    ].join("\n");
    expect(() => nf.restore(bad, { noflush: true, file: "sync-2" })).toThrow(/sync-2:5: KUBE-SEP-MISSING: Couldn't load target/);
    expect(nf.save({ counters: true })).toBe(before);
    expect(nf.evaluate("nat", "OUTPUT", pkt({ dst: "10.96.0.50" }), ctx({ chances: [true] })).verdict.kind).toBe("DNAT");
  });

  it("a section COMMITted before the failing one stays applied (as iptables-restore)", () => {
    const nf = loaded();
    const natBefore = nf.save({ table: "nat" });
    const text = "*filter\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n*nat\n-A NOPE -j ACCEPT\nCOMMIT\n";
    expect(() => nf.restore(text, { noflush: true })).toThrow(InputError);
    expect(nf.rules("filter", "FORWARD").map((r) => r.text)).toEqual(["-A FORWARD -j KUBE-FORWARD"]);
    expect(nf.save({ table: "nat" })).toBe(natBefore);
  });

  it("a failed -X check at COMMIT time changes nothing", () => {
    const nf = loaded();
    const before = nf.save();
    expect(() => nf.restore("*nat\n:KUBE-MARK-MASQ - [0:0]\n-X KUBE-MARK-MASQ\nCOMMIT\n", { noflush: true })).toThrow(/still referenced/);
    expect(nf.save()).toBe(before);
  });
});

describe("--noflush and chain declarations", () => {
  it("without --noflush the table is replaced: user chains not declared disappear", () => {
    const nf = loaded();
    nf.restore("*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n");
    expect(nf.chains("nat")).toEqual(["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "KUBE-MARK-MASQ"]);
    expect(nf.ruleCount()).toBe(1);
  });

  it("with --noflush a declared user chain is flushed, others keep rules and counters", () => {
    const nf = loaded();
    nf.evaluate("nat", "OUTPUT", pkt({ dst: "10.96.0.50" }), ctx({ chances: [true] }));
    expect(nf.rules("nat", "KUBE-SEP-LZSOAAIF344LOQYR")[1]!.pkts).toBe(1);
    nf.restore("*nat\n:KUBE-SVC-ODX2UBAZM7RQWOIU - [0:0]\n-A KUBE-SVC-ODX2UBAZM7RQWOIU -j KUBE-SEP-LZSOAAIF344LOQYR\nCOMMIT\n", { noflush: true });
    expect(nf.rules("nat", "KUBE-SVC-ODX2UBAZM7RQWOIU").map((r) => [r.text, r.pkts])).toEqual([["-A KUBE-SVC-ODX2UBAZM7RQWOIU -j KUBE-SEP-LZSOAAIF344LOQYR", 0]]);
    expect(nf.rules("nat", "KUBE-SEP-LZSOAAIF344LOQYR")[1]!.pkts).toBe(1);
    expect(nf.rules("nat", "PREROUTING").length).toBe(1);
  });

  it("with --noflush a declared builtin chain keeps its rules; its policy and counters are set", () => {
    const nf = loaded();
    nf.evaluate("nat", "OUTPUT", pkt({ dst: "10.9.9.9" }), ctx());
    expect(nf.policy("nat", "OUTPUT")!.pkts).toBe(1);
    nf.restore("*nat\n:OUTPUT DROP [0:0]\nCOMMIT\n", { noflush: true });
    expect(nf.rules("nat", "OUTPUT").length).toBe(1);
    expect(nf.policy("nat", "OUTPUT")).toEqual({ policy: "DROP", pkts: 0, bytes: 0 });
  });

  it("kube-proxy's stale-chain removal: declare (flush) then -X in the same restore", () => {
    const nf = loaded();
    nf.restore(
      [
        "*nat",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-SVC-ODX2UBAZM7RQWOIU - [0:0]",
        ":KUBE-SEP-7Y5M6KCUSGT5SOWG - [0:0]",
        ":KUBE-SEP-LZSOAAIF344LOQYR - [0:0]",
        ":KUBE-SEP-TGZTSLCPVJQ25Y36 - [0:0]",
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
        "-X KUBE-SVC-ODX2UBAZM7RQWOIU",
        "-X KUBE-SEP-7Y5M6KCUSGT5SOWG",
        "-X KUBE-SEP-LZSOAAIF344LOQYR",
        "-X KUBE-SEP-TGZTSLCPVJQ25Y36",
        "COMMIT",
      ].join("\n"),
      { noflush: true },
    );
    expect(nf.chains("nat")).toEqual(["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "KUBE-MARK-DROP", "KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES"]);
    expect(nf.evaluate("nat", "OUTPUT", pkt({ dst: "10.96.0.50" }), ctx()).verdict.kind).toBe("ACCEPT");
  });

  it("-F and -X without a chain, -N, -P", () => {
    const nf = loaded();
    nf.restore("*nat\n-F\n-X\n-N KUBE-NEW\n-P PREROUTING DROP\nCOMMIT\n", { noflush: true });
    expect(nf.chains("nat")).toEqual(["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "KUBE-NEW"]);
    expect(nf.ruleCount()).toBe(0);
    expect(nf.policy("nat", "PREROUTING")!.policy).toBe("DROP");
  });

  it("save() lists tables in first-restore order; untouched tables are not printed", () => {
    const nf = new Netfilter();
    nf.restore("*nat\nCOMMIT\n*filter\nCOMMIT\n");
    expect(nf.save().match(/^\*\w+/gm)).toEqual(["*nat", "*filter"]);
    expect(nf.save({ table: "mangle" }).split("\n")[0]).toBe("*mangle");
  });
});

describe("-I ordering and single commands (kube-proxy EnsureChain / EnsureRule)", () => {
  it("-I at position 1 puts later rules above earlier ones; -I n inserts before rule n", () => {
    const nf = new Netfilter();
    const jumps = [
      '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
      '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      "-j KUBE-FIREWALL",
    ];
    for (const c of ["KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL"]) nf.command(`-t filter -N ${c}`);
    for (const j of jumps) {
      if (!nf.command(`-t filter -C INPUT ${j}`)) nf.command(`-t filter -I INPUT 1 ${j}`);
    }
    // Ensuring again changes nothing.
    for (const j of jumps) expect(nf.command(`-C INPUT ${j}`)).toBe(true);
    expect(nf.rules("filter", "INPUT").map((r) => r.rule.target.kind === "jump" && r.rule.target.chain)).toEqual([
      "KUBE-FIREWALL", "KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES",
    ]);
    nf.command("-I INPUT 2 -s 10.0.0.0/8 -j ACCEPT");
    nf.command("-A INPUT -j DROP");
    expect(nf.rules("filter", "INPUT").map((r) => r.index + " " + r.text.slice(0, 25))).toEqual([
      "1 -A INPUT -j KUBE-FIREWALL", "2 -A INPUT -s 10.0.0.0/8 -j", "3 -A INPUT -m conntrack --c", "4 -A INPUT -m comment --com", "5 -A INPUT -m conntrack --c", "6 -A INPUT -j DROP",
    ]);
    nf.command("-D INPUT -s 10.0.0.0/8 -j ACCEPT");
    nf.command("-D INPUT 5");
    expect(nf.rules("filter", "INPUT").length).toBe(4);
    expect(() => nf.command("-D INPUT -s 10.0.0.0/8 -j ACCEPT", { file: "<kube-proxy>" })).toThrow(/<kube-proxy>:1: -D: bad rule/);
    expect(() => nf.command("-t nat -N KUBE-MARK-MASQ -x")).toThrow(/unexpected argument/);
    expect(nf.loadedTables()).toEqual(["filter"]);
  });
});

describe("counters", () => {
  it("count matches per rule (packets, bytes = pkt.len) and the policy when it decides", () => {
    const nf = loaded();
    nf.evaluate("nat", "PREROUTING", pkt({ dst: "10.96.0.50", len: 60 }), ctx({ chances: [false, true] }));
    nf.evaluate("nat", "PREROUTING", pkt({ dst: "10.1.1.1", len: 100 }), ctx());
    const count = (chain: string) => nf.rules("nat", chain).map((r) => `${r.pkts}:${r.bytes}`);
    expect(count("PREROUTING")).toEqual(["2:160"]);
    expect(count("KUBE-SERVICES")).toEqual(["1:60", "1:60", "0:0"]);
    expect(count("KUBE-SVC-ODX2UBAZM7RQWOIU")).toEqual(["0:0", "1:60", "0:0"]);
    expect(count("KUBE-SEP-7Y5M6KCUSGT5SOWG")).toEqual(["0:0", "1:60"]);
    expect(nf.policy("nat", "PREROUTING")).toEqual({ policy: "ACCEPT", pkts: 1, bytes: 100 });
    expect(nf.save({ counters: true })).toContain("[1:60] -A KUBE-SEP-7Y5M6KCUSGT5SOWG -p tcp -m tcp -j DNAT --to-destination 10.244.2.6:9376\n");
    nf.resetCounters();
    expect(nf.save({ counters: true })).not.toMatch(/\[[1-9]/);
  });

  it("a dry run changes no counter", () => {
    const nf = loaded();
    const before = nf.save({ counters: true });
    const r = nf.dryRun().evaluate("nat", "PREROUTING", pkt({ dst: "10.96.0.50" }), ctx({ chances: [true] }));
    expect(r.verdict).toMatchObject({ kind: "DNAT" });
    expect(nf.save({ counters: true })).toBe(before);
  });

  it("ruleCount and listings", () => {
    const nf = loaded();
    expect(nf.ruleCount()).toBe(18);
    expect(nf.ruleCount("filter")).toBe(0);
    expect(nf.rules("nat", "NOPE")).toEqual([]);
    expect(nf.hasChain("nat", "KUBE-SERVICES")).toBe(true);
  });
});
