import { describe, expect, it } from "vitest";
import { defaultKubeProxyConfig } from "../../src/kubeproxy/config.ts";
import { builtinJumpRules, formatMark, generateRules, jumpRuleSpecs, nodeRulesKeys } from "../../src/kubeproxy/generate.ts";
import type { KubeProxyConfig, ProfileName } from "../../src/kubeproxy/types.ts";
import type { NodeState } from "../../src/cluster/types.ts";
import { cluster, ep, node, seedCluster, service, slice, tcp } from "./builder.ts";
import { expectGolden, fixture } from "./golden.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import { scenarios } from "./scenarios.ts";

const PROFILES: ProfileName[] = ["v1.16", "current"];

function cfgFor(profile: ProfileName, extra: Partial<KubeProxyConfig> = {}, cidr = "10.1.0.0/16"): KubeProxyConfig {
  return { ...defaultKubeProxyConfig(profile, extra.clusterCIDR ?? cidr), ...extra };
}

function lines(payload: string): string[] {
  return payload.split("\n").filter((l) => l !== "");
}

function rulesOf(payload: string, chain: string): string[] {
  return lines(payload).filter((l) => l.startsWith(`-A ${chain} `) || l === `-A ${chain}`);
}


/**
 * Invariants of a restore payload: header/COMMIT, unique chain lines, and it installs the way
 * iptables-restore --noflush would (strict parse; every jump resolves, or the restore fails).
 */
function checkPayload(payload: string, table: "filter" | "nat"): void {
  const ls = lines(payload);
  expect(ls[0]).toBe(`*${table}`);
  expect(ls[ls.length - 1]).toBe("COMMIT");
  const declared = ls.filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0] as string);
  expect(new Set(declared).size).toBe(declared.length);
  expect(() => new Netfilter().restore(payload, { noflush: true, file: `${table} payload` })).not.toThrow();
}

/** What iptables-save prints for one table after kube-proxy's restore (the real printer). */
function saveTable(payload: string): string {
  const nf = new Netfilter();
  nf.restore(payload, { noflush: true });
  return nf.save({ table: "nat" });
}

describe("golden restore payloads per feature and profile", () => {
  const rows = scenarios.flatMap((s) => PROFILES.map((p) => ({ name: `${s.name} [${p}]`, s, p })));
  it.each(rows)("$name", ({ s, p }) => {
    const r = generateRules(s.state, "node-1", cfgFor(p, s.cfg ?? {}));
    checkPayload(r.filter, "filter");
    checkPayload(r.nat, "nat");
    expectGolden(`${s.name}.${p}.rules`, r.filter + r.nat);
    // pure and deterministic
    expect(generateRules(s.state, "node-1", cfgFor(p, s.cfg ?? {}))).toEqual(r);
  });
});

describe("seed cluster (default/hostnames)", () => {
  it("v1.16: iptables-save rendering contains every kube line of the 2019 dump", () => {
    const r = generateRules(seedCluster(), "node-1", cfgFor("v1.16"));
    const saved = lines(saveTable(r.nat));
    // the distinct kube lines of the seed walkthrough's iptables-save output (shared/seed/000_…)
    const dumpLines = lines(fixture("seed-2019-dump-lines.save"));
    expect(dumpLines.length).toBe(9);
    for (const l of dumpLines) expect(saved, l).toContain(l);
  });

  it("v1.16 restore syntax: masq + jump in KUBE-SERVICES, SVC 0.33333/0.50000, SEP rules without comments", () => {
    const r = generateRules(seedCluster(), "node-1", cfgFor("v1.16"));
    expect(rulesOf(r.nat, "KUBE-SERVICES").slice(0, 2)).toEqual([
      `-A KUBE-SERVICES -m comment --comment "default/hostnames:default cluster IP" -m tcp -p tcp -d 10.0.91.192/32 --dport 80 ! -s 10.1.0.0/16 -j KUBE-MARK-MASQ`,
      `-A KUBE-SERVICES -m comment --comment "default/hostnames:default cluster IP" -m tcp -p tcp -d 10.0.91.192/32 --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU`,
    ]);
    expect(rulesOf(r.nat, "KUBE-SVC-ODX2UBAZM7RQWOIU")).toEqual([
      "-A KUBE-SVC-ODX2UBAZM7RQWOIU -m statistic --mode random --probability 0.33333 -j KUBE-SEP-I2HJPDDJL5BQFM6K",
      "-A KUBE-SVC-ODX2UBAZM7RQWOIU -m statistic --mode random --probability 0.50000 -j KUBE-SEP-ZGC4PHJJE7XNKWAH",
      "-A KUBE-SVC-ODX2UBAZM7RQWOIU -j KUBE-SEP-KGA3ZAVJ5MEPXEK5",
    ]);
    expect(rulesOf(r.nat, "KUBE-SEP-KGA3ZAVJ5MEPXEK5")).toEqual([
      "-A KUBE-SEP-KGA3ZAVJ5MEPXEK5 -s 10.1.166.166/32 -j KUBE-MARK-MASQ",
      "-A KUBE-SEP-KGA3ZAVJ5MEPXEK5 -m tcp -p tcp -j DNAT --to-destination 10.1.166.166:9376",
    ]);
  });
});

describe("§4.16 derived v1.16 dump", () => {
  it("nat payload rendered as iptables-save equals the sheet's dump", () => {
    const st = cluster({
      nodes: [node("n1", "192.168.0.11")],
      services: [service("default", "hostnames", { clusterIP: "10.96.0.50", ports: [tcp(80, "default", 9376)] })],
      slices: [
        slice("default", "hostnames", "h1", [{ name: "default", port: 9376 }], [ep("10.244.3.7", "n3"), ep("10.244.1.5", "n1"), ep("10.244.2.6", "n2")]),
      ],
      clusterCIDR: "10.244.0.0/16",
    });
    const r = generateRules(st, "n1", defaultKubeProxyConfig("v1.16", "10.244.0.0/16"));
    expect(saveTable(r.nat)).toBe(fixture("derived-v1.16-4.16.nat.save"));
  });
});

describe("kube-proxy v1.28 test expectations reproduced verbatim", () => {
  it("§2.3 TestInternalTrafficPolicyE2E 'internalTrafficPolicy is cluster'", () => {
    const st = cluster({
      nodes: [node("host1", "192.168.0.2")],
      services: [service("ns1", "svc1", { clusterIP: "172.30.1.1", ports: [tcp(80)] })],
      slices: [slice("ns1", "svc1", "svc1-a", [{ port: 80 }], [ep("10.0.1.1", "host1"), ep("10.0.1.2", "host1"), ep("10.0.1.3", "host2")])],
      clusterCIDR: "10.0.0.0/8",
    });
    const r = generateRules(st, "host1", cfgFor("current", {}, "10.0.0.0/8"), { markFormat: "literal" });
    const want = [
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP`,
      `-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
      `-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4`,
      `-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ`,
      `-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.3:80" -j KUBE-SEP-XGJFVO3L2O5SRFNT`,
      `-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -s 10.0.1.1 -j KUBE-MARK-MASQ`,
      `-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80`,
      `-A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -s 10.0.1.2 -j KUBE-MARK-MASQ`,
      `-A KUBE-SEP-IO5XOSKPAXIFQXAJ -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.2:80`,
      `-A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -s 10.0.1.3 -j KUBE-MARK-MASQ`,
      `-A KUBE-SEP-XGJFVO3L2O5SRFNT -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.3:80`,
    ];
    const got = lines(r.nat).filter((l) => l.includes("ns1/svc1"));
    expect(got).toEqual(want);
    // and the fixed rules use the injected test mark
    expect(lines(r.nat)).toContain("-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000");
  });

  it("§2.4 TestOnlyLocalLoadBalancing (affinity, eTP=Local): KUBE-SVC and a SEP chain", () => {
    const st = cluster({
      nodes: [node("host1", "192.168.0.2")],
      services: [
        service(
          "ns1",
          "svc1",
          {
            type: "LoadBalancer",
            clusterIP: "172.30.0.41",
            ports: [tcp(80, "p80", 80, 3001)],
            healthCheckNodePort: 30000,
            externalTrafficPolicy: "Local",
            sessionAffinity: "ClientIP",
            sessionAffinityTimeoutSeconds: 10800,
          },
          ["1.2.3.4", "5.6.7.8"],
        ),
      ],
      slices: [slice("ns1", "svc1", "svc1-a", [{ name: "p80", port: 80 }], [ep("10.180.0.1"), ep("10.180.2.1", "host1")])],
      clusterCIDR: "10.0.0.0/8",
    });
    const r = generateRules(st, "host1", cfgFor("current", {}, "10.0.0.0/8"));
    expect(rulesOf(r.nat, "KUBE-SVC-XPGD46QRK7WJZT7O")).toEqual([
      `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
      `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --rcheck --seconds 10800 --reap -j KUBE-SEP-SXIVWICOYRO3J4NJ`,
      `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.2.1:80" -m recent --name KUBE-SEP-ZX7GRIZKSNUQ3LAJ --rcheck --seconds 10800 --reap -j KUBE-SEP-ZX7GRIZKSNUQ3LAJ`,
      `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-SXIVWICOYRO3J4NJ`,
      `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.2.1:80" -j KUBE-SEP-ZX7GRIZKSNUQ3LAJ`,
    ]);
    expect(rulesOf(r.nat, "KUBE-SEP-SXIVWICOYRO3J4NJ")).toEqual([
      `-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ`,
      `-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80`,
    ]);
    // §2.6: EXT short-circuits pods and local traffic, then jumps to the local-only SVL chain
    expect(rulesOf(r.nat, "KUBE-EXT-XPGD46QRK7WJZT7O")).toEqual([
      `-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-XPGD46QRK7WJZT7O`,
      `-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-XPGD46QRK7WJZT7O`,
      `-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVL-XPGD46QRK7WJZT7O`,
    ]);
    expect(rulesOf(r.nat, "KUBE-SVL-XPGD46QRK7WJZT7O")).toEqual([
      `-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.2.1:80" -m recent --name KUBE-SEP-ZX7GRIZKSNUQ3LAJ --rcheck --seconds 10800 --reap -j KUBE-SEP-ZX7GRIZKSNUQ3LAJ`,
      `-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.2.1:80" -j KUBE-SEP-ZX7GRIZKSNUQ3LAJ`,
    ]);
    expect(lines(r.nat)).toEqual(
      expect.arrayContaining([
        `-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-XPGD46QRK7WJZT7O`,
        `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O`,
        `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O`,
      ]),
    );
    expect(lines(r.filter)).toContain(
      `-A KUBE-NODEPORTS -m comment --comment "ns1/svc1:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT`,
    );
  });
});

describe("behaviour rows", () => {
  const byName = (n: string) => scenarios.find((s) => s.name === n) as (typeof scenarios)[number];
  const gen = (n: string, p: ProfileName) => {
    const s = byName(n);
    return generateRules(s.state, "node-1", cfgFor(p, s.cfg ?? {}));
  };

  it.each([
    { name: "current: ClusterIP with no endpoints → filter REJECT", p: "current", sc: "no-endpoints", table: "filter",
      line: `-A KUBE-SERVICES -m comment --comment "ns1/empty:p80 has no endpoints" -m tcp -p tcp -d 10.0.0.20 --dport 80 -j REJECT` },
    { name: "current: nodePort with no endpoints → KUBE-EXTERNAL-SERVICES REJECT", p: "current", sc: "no-endpoints", table: "filter",
      line: `-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/empty:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT` },
    { name: "current: only non-serving endpoints → REJECT", p: "current", sc: "no-endpoints", table: "filter",
      line: `-A KUBE-SERVICES -m comment --comment "ns1/notserving has no endpoints" -m tcp -p tcp -d 10.0.0.21 --dport 80 -j REJECT` },
    { name: "v1.16: LB IP with no endpoints → KUBE-SERVICES REJECT", p: "v1.16", sc: "no-endpoints", table: "filter",
      line: `-A KUBE-SERVICES -m comment --comment "ns1/empty:p80 has no endpoints" -m tcp -p tcp -d 1.2.3.4/32 --dport 80 -j REJECT` },
    { name: "v1.16: externalIP with no endpoints → KUBE-EXTERNAL-SERVICES REJECT", p: "v1.16", sc: "no-endpoints", table: "filter",
      line: `-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/empty:p80 has no endpoints" -m tcp -p tcp -d 192.168.99.11/32 --dport 80 -j REJECT` },
    { name: "current: iTP=Local without local endpoints → DROP (not REJECT)", p: "current", sc: "itp-local", table: "filter",
      line: `-A KUBE-SERVICES -m comment --comment "ns1/itr has no local endpoints" -m tcp -p tcp -d 10.0.0.81 --dport 80 -j DROP` },
    { name: "current: iTP=Local ClusterIP goes to SVL", p: "current", sc: "itp-local", table: "nat",
      line: `-A KUBE-SERVICES -m comment --comment "ns1/itl cluster IP" -m tcp -p tcp -d 10.0.0.80 --dport 80 -j KUBE-SVL-RL26AGKS3WK3PCZ5` },
    { name: "current: eTP=Local without local endpoints → LB DROP", p: "current", sc: "etp-local-no-local-endpoints", table: "filter",
      line: `-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/remote:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.7 --dport 80 -j DROP` },
    { name: "current: eTP=Local without local endpoints → nodePort DROP", p: "current", sc: "etp-local-no-local-endpoints", table: "filter",
      line: `-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/remote:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30071 -j DROP` },
    { name: "v1.16: eTP=Local without local endpoints → XLB MARK-DROP", p: "v1.16", sc: "etp-local-no-local-endpoints", table: "nat",
      line: `-A KUBE-XLB-46I3HGCAZED44D56 -m comment --comment "ns1/remote:p80 has no local endpoints" -j KUBE-MARK-DROP` },
    { name: "current: source ranges → KUBE-PROXY-FIREWALL DROP", p: "current", sc: "loadbalancer-source-ranges", table: "filter",
      line: `-A KUBE-PROXY-FIREWALL -m comment --comment "ns1/lb:p80 traffic not accepted by KUBE-FW-NLSY6DROL7JRYYAN" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP` },
    { name: "current: node IP inside a source range → LB IP allowed as source", p: "current", sc: "loadbalancer-source-ranges", table: "nat",
      line: `-A KUBE-FW-NLSY6DROL7JRYYAN -m comment --comment "ns1/lb:p80 loadbalancer IP" -s 5.6.7.8 -j KUBE-EXT-NLSY6DROL7JRYYAN` },
    { name: "current: source ranges are trimmed", p: "current", sc: "loadbalancer-source-ranges", table: "nat",
      line: `-A KUBE-FW-NLSY6DROL7JRYYAN -m comment --comment "ns1/lb:p80 loadbalancer IP" -s 203.0.113.0/24 -j KUBE-EXT-NLSY6DROL7JRYYAN` },
    { name: "current: nodePortAddresses → one tail rule per matching local IP", p: "current", sc: "nodeport-addresses", table: "nat",
      line: `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.11 -j KUBE-NODEPORTS` },
    { name: "current: localhostNodePorts=false excludes loopback", p: "current", sc: "no-localhost-nodeports", table: "nat",
      line: `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS` },
    { name: "current: InterfaceNamePrefix detector", p: "current", sc: "no-localhost-nodeports", table: "nat",
      line: `-A KUBE-SVC-KP4WNIAONBKYQZEC -m comment --comment "ns1/np:p80 cluster IP" -m tcp -p tcp -d 10.0.0.40 --dport 80 ! -i veth+ -j KUBE-MARK-MASQ` },
    { name: "v1.16: masqueradeAll rule has no ! -s", p: "v1.16", sc: "clusterip-multiport-masquerade-all", table: "nat",
      line: `-A KUBE-SERVICES -m comment --comment "ns1/web:http cluster IP" -m tcp -p tcp -d 10.0.0.10/32 --dport 80 -j KUBE-MARK-MASQ` },
    { name: "current: UDP service", p: "current", sc: "udp-sctp", table: "nat",
      line: `-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.0.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU` },
    { name: "current: SCTP nodePort", p: "current", sc: "udp-sctp", table: "nat",
      line: `-A KUBE-NODEPORTS -m comment --comment ns1/sctp -m sctp -p sctp --dport 30999 -j KUBE-EXT-6IX7KDGL4JOZCYKP` },
  ] as const)("$name", ({ p, sc, table, line }) => {
    expect(lines(gen(sc, p)[table])).toContain(line);
  });

  it("absent lines: no SEP for non-serving, no nat chains without endpoints, no KUBE-FIREWALL without localhostNodePorts", () => {
    const ne = gen("no-endpoints", "current");
    expect(ne.nat).not.toMatch(/KUBE-(SVC|SEP|EXT|FW)-/);
    expect(gen("no-localhost-nodeports", "current").filter).not.toContain("KUBE-FIREWALL");
    const v = gen("etp-local-no-endpoints", "v1.16");
    // v1.16 keeps an empty XLB chain for an OnlyLocal service without endpoints
    expect(lines(v.nat).filter((l) => l.includes("KUBE-XLB-"))).toHaveLength(1);
    expect(v.nat).not.toContain("KUBE-SVC-");
  });

  it("§2.9 terminating fallback: SVC holds only the remote ready endpoint, SVL the local serving+terminating ones", () => {
    const r = gen("terminating-fallback", "current");
    const svc = rulesOf(r.nat, "KUBE-SVC-AQI2S6QIMU7PVVRP").filter((l) => l.includes("statistic") || l.endsWith("AQI2S6QIMU7PVVRP") === false);
    expect(svc.filter((l) => l.includes(" -> ")).map((l) => /-> ([\d.:]+)/.exec(l)?.[1])).toEqual(["10.0.1.5:80", "10.0.1.5:80"]);
    const svl = rulesOf(r.nat, "KUBE-SVL-AQI2S6QIMU7PVVRP").map((l) => /-> ([\d.:]+)/.exec(l)?.[1]);
    expect(svl).toEqual(["10.0.1.2:80", "10.0.1.3:80", "10.0.1.2:80", "10.0.1.3:80"]); // affinity then probability
    const seps = lines(r.nat).filter((l) => l.startsWith(":KUBE-SEP-"));
    expect(seps).toHaveLength(3);
    expect(r.nat).not.toContain("10.0.1.4");
  });

  it("large-cluster mode (>1000 endpoints): SVC and SEP comments dropped, others kept", () => {
    const eps = Array.from({ length: 1001 }, (_, i) => ep(`10.2.${i >> 8}.${i & 255}`, "node-2"));
    const st = cluster({
      nodes: [node("node-1", "192.168.0.11")],
      services: [service("ns1", "big", { clusterIP: "10.0.0.99", ports: [tcp(80)] })],
      slices: [slice("ns1", "big", "big-a", [{ port: 80 }], eps)],
    });
    const r = generateRules(st, "node-1", cfgFor("current"));
    const svc = rulesOf(r.nat, "KUBE-SVC-PY67VYCWFPUZWBHG");
    expect(svc).toHaveLength(1002);
    expect(svc[0]).toContain(`--comment "ns1/big cluster IP"`);
    expect(svc.slice(1).every((l) => !l.includes("comment"))).toBe(true);
    expect(svc[1]).toBe("-A KUBE-SVC-PY67VYCWFPUZWBHG -m statistic --mode random --probability 0.0009990010 -j " + /-j (KUBE-SEP-\S+)/.exec(svc[1] as string)?.[1]);
    expect(lines(r.nat).filter((l) => l.startsWith("-A KUBE-SEP-")).every((l) => !l.includes("comment"))).toBe(true);
    // 1000 endpoints is not yet large
    const st2 = { ...st, endpointSlices: { "ns1/big-a": slice("ns1", "big", "big-a", [{ port: 80 }], eps.slice(0, 1000)) } };
    expect(rulesOf(generateRules(st2, "node-1", cfgFor("current")).nat, "KUBE-SVC-PY67VYCWFPUZWBHG")[1]).toContain("comment");
  });

  it("endpoint order is by ip:port string (current) and by IP string then port (v1.16)", () => {
    const s = byName("clusterip-multiport-masquerade-all");
    const cur = lines(generateRules(s.state, "node-1", cfgFor("current", s.cfg)).nat).filter((l) => l.includes("web:http -> "));
    expect(cur.map((l) => /-> (\S+)"/.exec(l)?.[1])).toEqual(["10.1.1.10:8080", "10.1.1.9:8080"]);
    const old = lines(generateRules(s.state, "node-1", cfgFor("v1.16", s.cfg)).nat).filter((l) => l.includes("DNAT") && l.includes(":8080"));
    expect(old.map((l) => /destination (\S+)/.exec(l)?.[1])).toEqual(["10.1.1.10:8080", "10.1.1.9:8080"]);
  });

  it("duplicate endpoints across slices are merged; the local copy wins", () => {
    const st = cluster({
      nodes: [node("node-1", "192.168.0.11")],
      services: [service("ns1", "dup", { type: "NodePort", clusterIP: "10.0.0.5", ports: [tcp(80, "", 80, 30005)], externalTrafficPolicy: "Local" })],
      slices: [
        slice("ns1", "dup", "a", [{ port: 80 }], [ep("10.1.1.1", "node-2")]),
        slice("ns1", "dup", "b", [{ port: 80 }], [ep("10.1.1.1", "node-1")]),
      ],
    });
    const r = generateRules(st, "node-1", cfgFor("current"));
    expect(lines(r.nat).filter((l) => l.startsWith(":KUBE-SEP-"))).toHaveLength(1);
    expect(rulesOf(r.nat, "KUBE-SVL-6KK3ZGB3WKWGT3TL")).toHaveLength(1);
  });

  it("explicit service order reproduces a given dump order; default is sorted by service port name", () => {
    const s = byName("udp-sctp");
    const order = (o?: string[]) =>
      rulesOf(generateRules(s.state, "node-1", cfgFor("current"), o ? { serviceOrder: o } : {}).nat, "KUBE-SERVICES")
        .map((l) => /--comment "(\S+) cluster IP"/.exec(l)?.[1])
        .filter((x) => x);
    expect(order()).toEqual(["kube-system/kube-dns:dns", "kube-system/kube-dns:dns-tcp", "ns1/sctp"]);
    expect(order(["ns1/sctp", "kube-system/kube-dns:dns-tcp"])).toEqual(["ns1/sctp", "kube-system/kube-dns:dns-tcp", "kube-system/kube-dns:dns"]);
  });

  it("jump rules: ensure-at-position-1 order, kubelet's KUBE-FIREWALL jump first in time", () => {
    const cur = builtinJumpRules(jumpRuleSpecs("current", cfgFor("current"), true));
    const tgt = (ls: string[], c: string) => ls.filter((l) => l.startsWith(`-A ${c} `)).map((l) => l.split(" ").pop());
    expect(tgt(cur.filter, "INPUT")).toEqual(["KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL"]);
    expect(tgt(cur.filter, "FORWARD")).toEqual(["KUBE-PROXY-FIREWALL", "KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"]);
    expect(tgt(cur.filter, "OUTPUT")).toEqual(["KUBE-PROXY-FIREWALL", "KUBE-SERVICES", "KUBE-FIREWALL"]);
    const old = builtinJumpRules(jumpRuleSpecs("v1.16", cfgFor("v1.16"), true));
    expect(tgt(old.filter, "INPUT")).toEqual(["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL"]);
    expect(tgt(old.filter, "FORWARD")).toEqual(["KUBE-FORWARD", "KUBE-SERVICES"]);
    expect(old.nat).toEqual([
      `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
      `-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
      `-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
    ]);
    const none = generateRules(seedCluster(), "node-1", cfgFor("current"), { jumpRules: false });
    expect(none.filter + none.nat).not.toMatch(/^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /m);
  });

  it.each([
    { name: "bit 14, Go %#08x", bit: 14, style: "go", want: "0x00004000" },
    { name: "bit 14, literal", bit: 14, style: "literal", want: "0x4000" },
    { name: "bit 15, Go %#08x", bit: 15, style: "go", want: "0x00008000" },
    { name: "bit 31, Go %#08x", bit: 31, style: "go", want: "0x80000000" },
  ] as const)("mark format $name", ({ bit, style, want }) => {
    expect(formatMark((1 << bit) >>> 0, style)).toBe(want);
  });
});

describe("nodeRulesKeys: equal keys, byte-identical payloads (the run generates once for such nodes)", () => {
  // Variants of node-1 that differ in one input only: locality of its endpoints (twin: no pods of
  // its own), its IP, its pod CIDR. Keys must be equal exactly when the payloads are.
  const variants = {
    twin: (n: NodeState) => ({ ...n, name: "twin" }),
    otherIP: (n: NodeState) => ({ ...n, name: "otherIP", ip: "192.168.0.99" }),
    otherCIDR: (n: NodeState) => ({ ...n, name: "otherCIDR", podCIDR: "10.1.99.0/24" }),
  };
  const cfgs = [{}, { detectLocalMode: "NodeCIDR" as const }, { nodePortAddresses: ["192.168.0.0/24"] }];
  const rows = scenarios.flatMap((s) => PROFILES.flatMap((p) => cfgs.map((extra, ci) => ({ name: `${s.name} [${p}] cfg${ci}`, s, p, extra }))));
  const seen = new Set<string>();
  it.each(rows)("$name", ({ s, p, extra }) => {
    const n1 = s.state.nodes["node-1"]!;
    const nodes: Record<string, NodeState> = { ...s.state.nodes };
    for (const [name, f] of Object.entries(variants)) nodes[name] = f(n1);
    const state = { ...s.state, nodes };
    const cfg = cfgFor(p, { ...s.cfg, ...extra });
    const names = Object.keys(nodes);
    const keys = nodeRulesKeys(state, names, cfg);
    const a = generateRules(state, "node-1", cfg);
    for (const v of Object.keys(variants)) {
      const equalKeys = keys[names.indexOf(v)] === keys[names.indexOf("node-1")];
      const equalRules = JSON.stringify(generateRules(state, v, cfg)) === JSON.stringify(a);
      if (equalKeys) expect({ v, equalRules }).toEqual({ v, equalRules: true });
      seen.add(`${v} ${equalKeys ? "shared" : equalRules ? "conservative" : "told apart"}`);
    }
  });
  it("covers sharing and telling apart for every kind of node input", () => {
    for (const v of Object.keys(variants)) {
      expect(seen).toContain(`${v} shared`);
      expect(seen).toContain(`${v} told apart`);
    }
  });
});
