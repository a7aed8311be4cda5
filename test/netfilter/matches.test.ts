/**
 * Spec table for the rule header and every match module: restore syntax in, the iptables-save
 * line out, and what the rule matches (installed as `-A INPUT <spec> -j DROP` in filter, so a
 * match gives DROP and a miss the ACCEPT policy).
 */
import { describe, expect, it } from "vitest";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import { CT_DNAT, CT_ESTABLISHED, CT_NEW, CT_RELATED } from "../../src/netfilter/types.ts";
import { ctx, pkt, type CtxSpec, type PktSpec } from "./helpers.ts";

interface Case {
  pkt?: PktSpec;
  ctx?: CtxSpec;
  match: boolean;
}
interface Row {
  name: string;
  spec: string;
  saved: string;
  cases: Case[];
}

const rows: Row[] = [
  // ---- header
  { name: "-d single address prints /32", spec: "-d 10.0.91.192", saved: "-d 10.0.91.192/32",
    cases: [{ match: true }, { pkt: { dst: "10.0.91.193" }, match: false }] },
  { name: "-s host bits are masked off", spec: "-s 10.1.2.3/16", saved: "-s 10.1.0.0/16",
    cases: [{ pkt: { src: "10.1.200.1" }, match: true }, { pkt: { src: "10.2.0.1" }, match: false }] },
  { name: "! -s negates", spec: "! -s 10.1.0.0/16", saved: "! -s 10.1.0.0/16",
    cases: [{ pkt: { src: "10.1.0.9" }, match: false }, { pkt: { src: "192.168.0.100" }, match: true }] },
  { name: "non-contiguous mask prints dotted", spec: "-s 10.0.0.0/255.0.255.0", saved: "-s 10.0.0.0/255.0.255.0",
    cases: [{ pkt: { src: "10.9.0.7" }, match: true }, { pkt: { src: "10.0.1.7" }, match: false }] },
  { name: "-s 0.0.0.0/0 is not printed", spec: "-s 0.0.0.0/0", saved: "", cases: [{ match: true }] },
  { name: "-i with + is a prefix", spec: "-i veth+", saved: "-i veth+",
    cases: [{ ctx: { inIface: "veth1234" }, match: true }, { ctx: { inIface: "eth0" }, match: false }] },
  { name: "! -i", spec: "! -i cni0", saved: "! -i cni0",
    cases: [{ ctx: { inIface: "cni0" }, match: false }, { ctx: { inIface: "eth0" }, match: true }] },
  { name: "-o (no output interface in INPUT)", spec: "-o eth0", saved: "-o eth0",
    cases: [{ match: false }, { ctx: { outIface: "eth0" }, match: true }] },
  { name: "-p udp", spec: "-p UDP", saved: "-p udp", cases: [{ pkt: { proto: "udp" }, match: true }, { match: false }] },
  { name: "! -p tcp", spec: "! -p tcp", saved: "! -p tcp", cases: [{ pkt: { proto: "udp" }, match: true }, { match: false }] },
  { name: "-p by number without a name", spec: "-p 47", saved: "-p 47", cases: [{ match: false }] },
  { name: "-p 6 prints tcp", spec: "-p 6", saved: "-p tcp", cases: [{ match: true }] },
  { name: "header fields print in fixed order", spec: "-p tcp -o eth0 -i veth+ -d 10.0.0.1 ! -s 10.1.0.0/16",
    saved: "! -s 10.1.0.0/16 -d 10.0.0.1/32 -i veth+ -o eth0 -p tcp", cases: [] },

  // ---- tcp / udp / sctp
  { name: "tcp --dport loads -m tcp implicitly", spec: "-p tcp --dport 80", saved: "-p tcp -m tcp --dport 80",
    cases: [{ match: true }, { pkt: { dport: 81 }, match: false }, { pkt: { proto: "udp" }, match: false }] },
  { name: "tcp ! --dport range", spec: "-p tcp -m tcp ! --dport 1:1024", saved: "-p tcp -m tcp ! --dport 1:1024",
    cases: [{ pkt: { dport: 80 }, match: false }, { pkt: { dport: 8080 }, match: true }] },
  { name: "tcp open ranges, --sport printed before --dport", spec: "-p tcp -m tcp --dport :99 --sport 1024:",
    saved: "-p tcp -m tcp --sport 1024:65535 --dport 0:99",
    cases: [{ pkt: { sport: 5000, dport: 80 }, match: true }, { pkt: { sport: 80, dport: 80 }, match: false }] },
  { name: "tcp full range is not printed", spec: "-p tcp -m tcp --dport 0:65535", saved: "-p tcp -m tcp", cases: [{ match: true }] },
  { name: "tcp long option names", spec: "-p tcp -m tcp --destination-port 80", saved: "-p tcp -m tcp --dport 80", cases: [{ match: true }] },
  { name: "udp --dport", spec: "-p udp --dport 53", saved: "-p udp -m udp --dport 53",
    cases: [{ pkt: { proto: "udp", dport: 53 }, match: true }, { pkt: { proto: "tcp", dport: 53 }, match: false }] },
  { name: "sctp prints a given full range", spec: "-p sctp -m sctp --dport 0:65535", saved: "-p sctp -m sctp --dport 0:65535",
    cases: [{ pkt: { proto: "sctp" }, match: true }] },

  // ---- multiport
  { name: "multiport --dports", spec: "-p tcp -m multiport --dports 80,443,8000:8080", saved: "-p tcp -m multiport --dports 80,443,8000:8080",
    cases: [{ pkt: { dport: 443 }, match: true }, { pkt: { dport: 8050 }, match: true }, { pkt: { dport: 81 }, match: false }] },
  { name: "multiport ! --ports (either side)", spec: "-p udp -m multiport ! --ports 53", saved: "-p udp -m multiport ! --ports 53",
    cases: [{ pkt: { proto: "udp", sport: 53, dport: 9 }, match: false }, { pkt: { proto: "udp", dport: 9 }, match: true }] },

  // ---- comment
  { name: "comment with / is quoted", spec: '-m comment --comment "ns1/svc1"', saved: '-m comment --comment "ns1/svc1"', cases: [{ match: true }] },
  { name: "comment of [A-Za-z0-9_-] is bare", spec: '-m comment --comment "kube-proxy_1"', saved: "-m comment --comment kube-proxy_1", cases: [{ match: true }] },
  { name: "comment escapes \" \\ '", spec: '-m comment --comment "a\\"b\\\\c\'d"', saved: '-m comment --comment "a\\"b\\\\c\\\'d"', cases: [{ match: true }] },
  { name: "empty comment", spec: '-m comment --comment ""', saved: '-m comment --comment ""', cases: [{ match: true }] },

  // ---- statistic
  { name: "statistic random, quantised print", spec: "-m statistic --mode random --probability 0.33333",
    saved: "-m statistic --mode random --probability 0.33332999982",
    cases: [{ ctx: { chances: [true] }, match: true }, { ctx: { chances: [false] }, match: false }] },
  { name: "statistic ! --probability", spec: "-m statistic --mode random ! --probability 0.5",
    saved: "-m statistic --mode random ! --probability 0.50000000000",
    cases: [{ ctx: { chances: [true] }, match: false }, { ctx: { chances: [false] }, match: true }] },
  { name: "statistic 1/4096 ties to even", spec: "-m statistic --mode random --probability 0.000244140625",
    saved: "-m statistic --mode random --probability 0.00024414062", cases: [] },
  { name: "statistic nth prints --packet", spec: "-m statistic --mode nth --every 3", saved: "-m statistic --mode nth --every 3 --packet 0", cases: [] },

  // ---- mark
  { name: "mark value/mask", spec: "-m mark --mark 0x4000/0x4000", saved: "-m mark --mark 0x4000/0x4000",
    cases: [{ ctx: { mark: 0x4001 }, match: true }, { ctx: { mark: 0x1 }, match: false }] },
  { name: "! mark, Go %#08x input normalised", spec: "-m mark ! --mark 0x00004000/0x00004000", saved: "-m mark ! --mark 0x4000/0x4000",
    cases: [{ ctx: { mark: 0x4000 }, match: false }, { ctx: { mark: 0 }, match: true }] },
  { name: "mark without mask, decimal input", spec: "-m mark --mark 16", saved: "-m mark --mark 0x10",
    cases: [{ ctx: { mark: 16 }, match: true }, { ctx: { mark: 17 }, match: false }] },
  { name: "mark with the top bit", spec: "-m mark --mark 0x80000000/0x80000000", saved: "-m mark --mark 0x80000000/0x80000000",
    cases: [{ ctx: { mark: 0x80000001 }, match: true }, { ctx: { mark: 1 }, match: false }] },

  // ---- addrtype
  { name: "addrtype --dst-type LOCAL", spec: "-m addrtype --dst-type LOCAL", saved: "-m addrtype --dst-type LOCAL",
    cases: [{ pkt: { dst: "192.168.0.11" }, match: true }, { pkt: { dst: "127.0.0.1" }, match: true }, { match: false }] },
  { name: "addrtype ! --src-type (case-insensitive)", spec: "-m addrtype ! --src-type local", saved: "-m addrtype ! --src-type LOCAL",
    cases: [{ pkt: { src: "192.168.0.11" }, match: false }, { match: true }] },
  { name: "addrtype lists print in kernel order", spec: "-m addrtype --dst-type MULTICAST,UNICAST --limit-iface-in",
    saved: "-m addrtype --dst-type UNICAST,MULTICAST --limit-iface-in",
    cases: [{ match: true }, { pkt: { dst: "224.0.0.1" }, match: true }, { pkt: { dst: "192.168.0.11" }, match: false }] },

  // ---- conntrack
  { name: "conntrack states print in fixed order", spec: "-m conntrack --ctstate ESTABLISHED,NEW,related",
    saved: "-m conntrack --ctstate NEW,RELATED,ESTABLISHED",
    cases: [{ ctx: { ctstate: CT_NEW }, match: true }, { ctx: { ctstate: CT_DNAT | CT_ESTABLISHED }, match: true }] },
  { name: "conntrack ! --ctstate with DNAT", spec: "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT",
    saved: "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT",
    cases: [{ ctx: { ctstate: CT_NEW }, match: true }, { ctx: { ctstate: CT_NEW | CT_DNAT }, match: false }, { ctx: { ctstate: CT_RELATED }, match: false }] },
  { name: "conntrack INVALID", spec: "-m conntrack --ctstate INVALID", saved: "-m conntrack --ctstate INVALID",
    cases: [{ ctx: { ctstate: CT_NEW }, match: false }, { ctx: { ctstate: 1 }, match: true }] },

  // ---- physdev (svcsim has no bridge: every packet is "not bridged")
  { name: "physdev ! --physdev-is-in matches (not bridged)", spec: "-m physdev ! --physdev-is-in", saved: "-m physdev ! --physdev-is-in", cases: [{ match: true }] },
  { name: "physdev --physdev-is-in never matches", spec: "-m physdev --physdev-is-in", saved: "-m physdev --physdev-is-in", cases: [{ match: false }] },
  { name: "physdev options print in save order", spec: "-m physdev --physdev-is-bridged ! --physdev-out eth0 ! --physdev-is-in",
    saved: "-m physdev ! --physdev-is-in ! --physdev-out eth0 --physdev-is-bridged", cases: [{ match: false }] },

  // ---- nfacct
  { name: "nfacct prints with two spaces", spec: "-p tcp -m tcp --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts",
    saved: "-p tcp -m tcp --dport 3001 -m nfacct --nfacct-name  localhost_nps_accepted_pkts",
    cases: [{ pkt: { dport: 3001 }, match: true }, { match: false }] },

  // ---- the §3 example: restore order in, save order out
  { name: "options in any order (§3)", spec: '-m comment --comment "x" -m tcp -p tcp -d 10.96.0.10 --dport 53',
    saved: '-d 10.96.0.10/32 -p tcp -m comment --comment x -m tcp --dport 53',
    cases: [{ pkt: { dst: "10.96.0.10", dport: 53 }, match: true }] },
];

function install(spec: string): Netfilter {
  const nf = new Netfilter();
  nf.restore(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${spec} -j DROP\nCOMMIT\n`, { file: "spec" });
  return nf;
}

describe("matches and header: parse → print → evaluate", () => {
  it.each(rows)("$name", ({ spec, saved, cases }) => {
    const nf = install(spec);
    expect(nf.rules("filter", "INPUT")[0]!.text).toBe(`-A INPUT ${saved}${saved ? " " : ""}-j DROP`);
    for (const c of cases) {
      const r = nf.evaluate("filter", "INPUT", pkt(c.pkt), ctx(c.ctx));
      expect({ case: c, verdict: r.verdict.kind }).toEqual({ case: c, verdict: c.match ? "DROP" : "ACCEPT" });
    }
  });

  it.each(rows)("print∘parse is the identity on the saved form of: $name", ({ saved }) => {
    const line = `-A INPUT ${saved}${saved ? " " : ""}-j DROP`;
    const nf = install(line.slice("-A INPUT ".length, -" -j DROP".length));
    expect(nf.rules("filter", "INPUT")[0]!.text).toBe(line);
  });
});

describe("statistic", () => {
  it("stores lround(p·2^31) and asks ctx.chance for it", () => {
    const nf = install("-m statistic --mode random --probability 0.33333");
    const c = ctx({ chances: [true] });
    nf.evaluate("filter", "INPUT", pkt(), c);
    expect(c.draws).toEqual([Math.round(0.33333 * 2 ** 31)]);
    expect(c.draws[0]).toBe(715820724);
  });

  it("p = 1 is 2^31 (always) and p = 0 is 0 (never), both still drawn", () => {
    const one = install("-m statistic --mode random --probability 1");
    const c = ctx({ chances: [true] });
    expect(one.evaluate("filter", "INPUT", pkt(), c).verdict.kind).toBe("DROP");
    expect(c.draws).toEqual([2 ** 31]);
    expect(one.rules("filter", "INPUT")[0]!.text).toContain("--probability 1.00000000000");
  });

  it("nth --every 3 matches every third packet, starting with the third", () => {
    const nf = install("-m statistic --mode nth --every 3");
    const seq = Array.from({ length: 6 }, () => nf.evaluate("filter", "INPUT", pkt(), ctx()).verdict.kind === "DROP");
    expect(seq).toEqual([false, false, true, false, false, true]);
  });

  it("nth --packet 1 with a dry run does not advance the counter", () => {
    const nf = install("-m statistic --mode nth --every 2 --packet 1");
    const dry = nf.dryRun();
    expect(dry.evaluate("filter", "INPUT", pkt(), ctx()).verdict.kind).toBe("DROP");
    expect(dry.evaluate("filter", "INPUT", pkt(), ctx()).verdict.kind).toBe("DROP");
    expect(nf.evaluate("filter", "INPUT", pkt(), ctx()).verdict.kind).toBe("DROP");
    expect(nf.evaluate("filter", "INPUT", pkt(), ctx()).verdict.kind).toBe("ACCEPT");
  });
});

describe("nfacct", () => {
  it("counts packets and bytes into the named object", () => {
    const nf = install("-m nfacct --nfacct-name ct_state_invalid_dropped_pkts");
    nf.evaluate("filter", "INPUT", pkt({ len: 100 }), ctx());
    nf.evaluate("filter", "INPUT", pkt({ len: 40 }), ctx());
    expect(nf.nfacct("ct_state_invalid_dropped_pkts")).toEqual({ pkts: 2, bytes: 140 });
  });
});

describe("recent (ClientIP affinity)", () => {
  const S = 1e9;
  function affinity(): Netfilter {
    const nf = new Netfilter();
    nf.restore(
      [
        "*nat",
        ":OUTPUT ACCEPT [0:0]",
        ":KUBE-SEP-A - [0:0]",
        ":KUBE-SVC-X - [0:0]",
        "-A OUTPUT -j KUBE-SVC-X",
        "-A KUBE-SVC-X -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A",
        "-A KUBE-SVC-X -m comment --comment none -j ACCEPT",
        "-A KUBE-SEP-A -m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80",
        "COMMIT",
        "",
      ].join("\n"),
    );
    return nf;
  }

  it("prints options reordered as libxt_recent saves them", () => {
    const nf = affinity();
    expect(nf.rules("nat", "KUBE-SVC-X")[0]!.text).toBe(
      "-A KUBE-SVC-X -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A",
    );
    expect(nf.rules("nat", "KUBE-SEP-A")[0]!.text).toBe(
      "-A KUBE-SEP-A -p tcp -m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.1:80",
    );
  });

  it("--rcheck --seconds: matches within the window, not after it", () => {
    const nf = affinity();
    const p = pkt({ src: "10.0.0.5" });
    const list = () => nf.recentList("KUBE-SEP-A")!;
    // Not seen yet: rcheck misses, falls to ACCEPT.
    expect(nf.evaluate("nat", "OUTPUT", p, ctx({ now: 0 })).verdict.kind).toBe("ACCEPT");
    // Enter through the SEP chain directly to --set (as a first connection would).
    nf.command("-t nat -I OUTPUT 1 -d 10.0.91.192 -j KUBE-SEP-A");
    expect(nf.evaluate("nat", "OUTPUT", p, ctx({ now: 5 * S })).verdict.kind).toBe("DNAT");
    nf.command("-t nat -D OUTPUT 1");
    expect(list().entries().map((e) => e.last)).toEqual([5 * S]);
    expect(nf.evaluate("nat", "OUTPUT", p, ctx({ now: (5 + 10800) * S })).verdict.kind).toBe("DNAT");
    // The --set in the SEP chain refreshed the stamp at 10805 s.
    expect(nf.evaluate("nat", "OUTPUT", p, ctx({ now: (10805 + 10800) * S + 1 })).verdict.kind).toBe("ACCEPT");
  });

  it("--reap drops the oldest stale entry; other sources are independent", () => {
    const nf = affinity();
    nf.command("-t nat -I OUTPUT 1 -d 10.0.91.192 -j KUBE-SEP-A");
    nf.evaluate("nat", "OUTPUT", pkt({ src: "10.0.0.1" }), ctx({ now: 0 }));
    nf.evaluate("nat", "OUTPUT", pkt({ src: "10.0.0.2" }), ctx({ now: 20000 * S }));
    nf.command("-t nat -D OUTPUT 1");
    expect(nf.recentList("KUBE-SEP-A")!.size).toBe(2);
    // 10.0.0.2 is checked at 21000 s: it hits, and the stale head (10.0.0.1, 0 s) is reaped.
    expect(nf.evaluate("nat", "OUTPUT", pkt({ src: "10.0.0.2" }), ctx({ now: 21000 * S })).verdict.kind).toBe("DNAT");
    expect(nf.recentList("KUBE-SEP-A")!.entries().map((e) => e.addr >>> 0)).toEqual([0x0a000002]);
  });

  it("a list holds at most 100 addresses; the least recently seen is evicted", () => {
    const nf = affinity();
    nf.command("-t nat -I OUTPUT 1 -d 10.0.91.192 -j KUBE-SEP-A");
    for (let i = 1; i <= 101; i++) nf.evaluate("nat", "OUTPUT", pkt({ src: `10.0.1.${i}` }), ctx({ now: i }));
    const addrs = nf.recentList("KUBE-SEP-A")!.entries().map((e) => e.addr & 255);
    expect(addrs.length).toBe(100);
    expect(addrs[0]).toBe(2);
    expect(addrs.at(-1)).toBe(101);
  });

  it("the list survives a restore that keeps a rule naming it, and is freed with the last one", () => {
    const nf = affinity();
    nf.command("-t nat -I OUTPUT 1 -d 10.0.91.192 -j KUBE-SEP-A");
    nf.evaluate("nat", "OUTPUT", pkt(), ctx());
    nf.restore("*nat\n:KUBE-SVC-X - [0:0]\n-A KUBE-SVC-X -m recent --name KUBE-SEP-A --rcheck -j KUBE-SEP-A\nCOMMIT\n", { noflush: true });
    expect(nf.recentList("KUBE-SEP-A")!.size).toBe(1);
    nf.restore("*nat\n:KUBE-SVC-X - [0:0]\n:KUBE-SEP-A - [0:0]\nCOMMIT\n", { noflush: true });
    expect(nf.recentList("KUBE-SEP-A")).toBeUndefined();
  });
});
