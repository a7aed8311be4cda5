/**
 * Spec: nodes that restore the same payload share one compiled table (the compile cache), while
 * counters, xt_recent lists and nth counters stay per node, and results are the same as without
 * sharing.
 */
import { describe, expect, it } from "vitest";
import { Netfilter, clearCompileCache } from "../../src/netfilter/netfilter.ts";
import { ctx, pkt } from "./helpers.ts";

const NAT = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment "default/a cluster IP" -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SVC-A -p tcp -j DNAT --to-destination 10.64.0.5:8080
COMMIT
`;

const FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
-A FORWARD -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
`;

const hit = pkt({ dst: "10.0.0.1", dport: 80 });

describe("compile cache", () => {
  it("two nodes restoring the same payload share the compiled table but count on their own", () => {
    clearCompileCache();
    const a = new Netfilter();
    const b = new Netfilter();
    a.restore(FILTER + NAT);
    b.restore(FILTER + NAT);
    expect(b.tableVersion("nat")).toBe(a.tableVersion("nat"));
    expect(b.tableVersion("filter")).toBe(a.tableVersion("filter"));
    const v = a.evaluate("nat", "OUTPUT", hit, ctx());
    expect(v.verdict).toEqual({ kind: "DNAT", addr: 0x0a400005, port: 8080 });
    a.evaluate("nat", "OUTPUT", hit, ctx());
    b.evaluate("nat", "PREROUTING", hit, ctx({ inIface: "eth0" }));
    expect(a.rules("nat", "KUBE-SVC-A")[0]!.pkts).toBe(2);
    expect(b.rules("nat", "KUBE-SVC-A")[0]!.pkts).toBe(1);
    expect(a.save({ counters: true })).toContain("[2:120] -A KUBE-SVC-A");
    expect(b.save({ counters: true })).toContain("[1:60] -A KUBE-SVC-A");
    expect(b.save({ counters: true })).toContain("[1:60] -A PREROUTING");
    expect(a.save()).toBe(b.save());
  });

  it("a noflush change on one node leaves the other's table alone; the same change on both shares again", () => {
    clearCompileCache();
    const a = new Netfilter();
    const b = new Netfilter();
    a.restore(NAT);
    b.restore(NAT);
    a.evaluate("nat", "OUTPUT", hit, ctx());
    const change = "*nat\n:KUBE-SVC-A - [0:0]\n-A KUBE-SVC-A -p tcp -j DNAT --to-destination 10.64.0.6:8080\nCOMMIT\n";
    a.restore(change, { noflush: true });
    expect(a.tableVersion("nat")).not.toBe(b.tableVersion("nat"));
    expect(b.evaluate("nat", "OUTPUT", hit, ctx()).verdict).toEqual({ kind: "DNAT", addr: 0x0a400005, port: 8080 });
    expect(a.evaluate("nat", "OUTPUT", hit, ctx()).verdict).toEqual({ kind: "DNAT", addr: 0x0a400006, port: 8080 });
    // Untouched rules keep their counters across the noflush restore (OUTPUT: 1 before + 1 now).
    expect(a.rules("nat", "OUTPUT")[0]!.pkts).toBe(2);
    expect(a.rules("nat", "KUBE-SVC-A")[0]!.pkts).toBe(1);
    b.restore(change, { noflush: true });
    expect(b.tableVersion("nat")).toBe(a.tableVersion("nat"));
    expect(b.rules("nat", "OUTPUT")[0]!.pkts).toBe(1);
    expect(b.rules("nat", "KUBE-SVC-A")[0]!.pkts).toBe(0);
  });

  it("a different prior state is not confused with a cached one (noflush)", () => {
    clearCompileCache();
    const a = new Netfilter();
    const b = new Netfilter();
    a.restore(NAT);
    const add = "*nat\n-A KUBE-SVC-A -j ACCEPT\nCOMMIT\n";
    a.restore(add, { noflush: true });
    b.restore(add.replace("-A KUBE-SVC-A -j ACCEPT", ":KUBE-SVC-A - [0:0]\n-A KUBE-SVC-A -j ACCEPT"), { noflush: true });
    expect(() => b.restore(add, { noflush: true })).not.toThrow();
    expect(b.rules("nat", "KUBE-SVC-A").map((r) => r.text)).toEqual(["-A KUBE-SVC-A -j ACCEPT", "-A KUBE-SVC-A -j ACCEPT"]);
    expect(a.rules("nat", "KUBE-SVC-A").map((r) => r.text)).toEqual(["-A KUBE-SVC-A -p tcp -j DNAT --to-destination 10.64.0.5:8080", "-A KUBE-SVC-A -j ACCEPT"]);
  });

  it("tables with per-node match state (xt_recent, nth) are never shared", () => {
    clearCompileCache();
    const text = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A OUTPUT -m recent --name aff --rcheck --seconds 10800 --reap -j ACCEPT
-A OUTPUT -m recent --name aff --set -j DROP
COMMIT
`;
    const a = new Netfilter();
    const b = new Netfilter();
    a.restore(text);
    b.restore(text);
    expect(b.tableVersion("nat")).not.toBe(a.tableVersion("nat"));
    expect(a.evaluate("nat", "OUTPUT", hit, ctx({ now: 1 })).verdict.kind).toBe("DROP");
    expect(a.evaluate("nat", "OUTPUT", hit, ctx({ now: 2 })).verdict.kind).toBe("ACCEPT");
    // b's list is its own: the first packet is not in it yet.
    expect(b.evaluate("nat", "OUTPUT", hit, ctx({ now: 3 })).verdict.kind).toBe("DROP");
    expect(a.recentList("aff")!.size).toBe(1);
    expect(b.recentList("aff")!.size).toBe(1);
  });

  it("errors name the line in the whole input, and earlier sections stay applied", () => {
    clearCompileCache();
    const a = new Netfilter();
    const bad = FILTER + NAT.replace("-A KUBE-SVC-A -p tcp", "-A KUBE-SVC-A -p tcp --bogus");
    expect(() => a.restore(bad)).toThrow(/^<restore>:19:/);
    expect(a.ruleCount("filter")).toBe(2);
    expect(a.ruleCount("nat")).toBe(0);
  });
});
