/**
 * `./sim iptables-save` for a cluster that uses every kube-proxy feature (the breadth fixture:
 * test/fixtures/breadth/manifests.yaml, one Service per feature), both profiles, through the real
 * CLI path. Three layers of checks:
 * - the whole dump of node-1 (has local endpoints) and node-3 (has none) equals its golden file;
 * - per feature, the feature's own lines (its comments and every chain reachable from them) equal
 *   the golden's, so a failure names the feature;
 * - per feature, lines written from KUBE-PROXY.md's templates (§2.4–§2.9 current, §4 v1.16) with
 *   this cluster's names are present — the cross-check of the goldens against the fact sheet.
 * Regenerate a golden: ./sim iptables-save test/fixtures/breadth/cluster.<profile>.yaml --node <n>.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BREADTH, simMany } from "./breadth-helpers.ts";

type Profile = "current" | "v1.16";
const DUMPS: { profile: Profile; node: string }[] = [
  { profile: "current", node: "node-1" },
  { profile: "current", node: "node-3" },
  { profile: "v1.16", node: "node-1" },
  { profile: "v1.16", node: "node-3" },
];
const key = (p: Profile, n: string) => `${p}.${n}`;
const actual = new Map<string, string>();
let large = "";

beforeAll(async () => {
  const res = await simMany([
    ...DUMPS.map((d) => ["iptables-save", resolve(BREADTH, `cluster.${d.profile}.yaml`), "--node", d.node]),
    ["iptables-save", resolve(BREADTH, "large.yaml"), "-t", "nat"],
  ]);
  DUMPS.forEach((d, i) => {
    expect(res[i]!.code, res[i]!.stderr).toBe(0);
    actual.set(key(d.profile, d.node), res[i]!.stdout);
  });
  large = res[DUMPS.length]!.stdout;
}, 120_000);

const golden = (p: Profile, n: string) => readFileSync(resolve(BREADTH, "golden", `cluster.${p}.${n}.save`), "utf8");

/** The lines of a dump that belong to one Service: its comments and every chain reachable from them. */
function featureLines(dump: string, svc: string): string[] {
  const lines = dump.split("\n");
  const mine = new RegExp(`"default/${svc}[: "]|"default/${svc}"|--comment default/${svc}\\b`);
  const chains = new Set<string>();
  const refs = (l: string) => {
    for (const m of l.matchAll(/(?:-j|--name) (KUBE-(?:SVC|SVL|EXT|FW|XLB|SEP)-[A-Z0-9]{16})/g)) chains.add(m[1]!);
  };
  for (const l of lines) if (mine.test(l)) refs(l);
  for (let grew = true; grew; ) {
    const before = chains.size;
    for (const l of lines) {
      const m = /^-A (\S+)/.exec(l);
      if (m && chains.has(m[1]!)) refs(l);
    }
    grew = chains.size > before;
  }
  return lines.filter((l) => {
    if (mine.test(l)) return true;
    const m = /^(?:-A |:)(\S+)/.exec(l);
    return m !== null && chains.has(m[1]!);
  });
}

describe("whole dumps equal their goldens", () => {
  it.each(DUMPS)("$profile $node", ({ profile, node }) => {
    expect(actual.get(key(profile, node))).toBe(golden(profile, node));
  });
});

interface Row {
  name: string;
  svc: string;
  profile: Profile;
  node: string;
  /** Lines written from the fact sheet's templates with this cluster's names. */
  present: string[];
  /** Lines or fragments that must not appear among the feature's lines. */
  absent?: string[];
}

const C = "current" as const;
const V = "v1.16" as const;

const rows: Row[] = [
  {
    name: "affinity: rcheck rules (one list per endpoint) before the probability rules; --set in the SEP (§2.4, §3 recent)",
    svc: "sticky", profile: C, node: "node-1",
    present: [
      '-A KUBE-SVC-BJWR5DPVIKTHVKZU -m comment --comment "default/sticky -> 10.1.1.5:9376" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-TFDYCUOM5DBALUUB --mask 255.255.255.255 --rsource -j KUBE-SEP-TFDYCUOM5DBALUUB',
      '-A KUBE-SVC-BJWR5DPVIKTHVKZU -m comment --comment "default/sticky -> 10.1.2.7:9376" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-LWSETGSNHXJMV6YL --mask 255.255.255.255 --rsource -j KUBE-SEP-LWSETGSNHXJMV6YL',
      '-A KUBE-SVC-BJWR5DPVIKTHVKZU -m comment --comment "default/sticky -> 10.1.1.5:9376" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-TFDYCUOM5DBALUUB',
      '-A KUBE-SEP-TFDYCUOM5DBALUUB -p tcp -m comment --comment "default/sticky" -m recent --set --name KUBE-SEP-TFDYCUOM5DBALUUB --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.1.1.5:9376',
    ],
  },
  {
    name: "affinity, v1.16: no comments on SVC/SEP rules (§4.3)",
    svc: "sticky", profile: V, node: "node-1",
    present: [
      '-A KUBE-SERVICES ! -s 10.1.0.0/16 -d 10.0.0.30/32 -p tcp -m comment --comment "default/sticky: cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
      "-A KUBE-SVC-UKKMGCEU2N4MS7DJ -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-BDE6ONASXCHXMD72 --mask 255.255.255.255 --rsource -j KUBE-SEP-BDE6ONASXCHXMD72",
      "-A KUBE-SVC-UKKMGCEU2N4MS7DJ -m statistic --mode random --probability 0.33332999982 -j KUBE-SEP-BDE6ONASXCHXMD72",
    ],
    absent: ["sticky -> "],
  },
  {
    name: "NodePort, eTP Cluster: KUBE-NODEPORTS → KUBE-EXT (masquerade, then KUBE-SVC) (§2.5)",
    svc: "np", profile: C, node: "node-1",
    present: [
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/np:p80" -m tcp --dport 30001 -j KUBE-EXT-N43N6SSSRGXXTFWH',
      '-A KUBE-EXT-N43N6SSSRGXXTFWH -m comment --comment "masquerade traffic for default/np:p80 external destinations" -j KUBE-MARK-MASQ',
      "-A KUBE-EXT-N43N6SSSRGXXTFWH -j KUBE-SVC-N43N6SSSRGXXTFWH",
    ],
  },
  {
    name: "NodePort, v1.16: KUBE-MARK-MASQ then KUBE-SVC in KUBE-NODEPORTS (§4.10)",
    svc: "np", profile: V, node: "node-1",
    present: [
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/np:p80" -m tcp --dport 30001 -j KUBE-MARK-MASQ',
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/np:p80" -m tcp --dport 30001 -j KUBE-SVC-N43N6SSSRGXXTFWH',
    ],
  },
  {
    name: "externalIPs → KUBE-EXT (§2.5)",
    svc: "ext", profile: C, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 192.168.99.11/32 -p tcp -m comment --comment "default/ext external IP" -m tcp --dport 80 -j KUBE-EXT-6LXSDFJTQYGY7FL3',
      '-A KUBE-EXT-6LXSDFJTQYGY7FL3 -m comment --comment "masquerade traffic for default/ext external destinations" -j KUBE-MARK-MASQ',
    ],
  },
  {
    name: "externalIPs, v1.16: mark, then physdev/src-type and dst-type LOCAL jumps (§4.11)",
    svc: "ext", profile: V, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 192.168.99.11/32 -p tcp -m comment --comment "default/ext: external IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
      '-A KUBE-SERVICES -d 192.168.99.11/32 -p tcp -m comment --comment "default/ext: external IP" -m tcp --dport 80 -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j KUBE-SVC-GGKE363IBL67YHII',
      '-A KUBE-SERVICES -d 192.168.99.11/32 -p tcp -m comment --comment "default/ext: external IP" -m tcp --dport 80 -m addrtype --dst-type LOCAL -j KUBE-SVC-GGKE363IBL67YHII',
    ],
  },
  {
    name: "LoadBalancer source ranges: KUBE-FW, the target-less tail, KUBE-PROXY-FIREWALL DROP (§2.5)",
    svc: "lb", profile: C, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 1.2.3.4/32 -p tcp -m comment --comment "default/lb:p80 loadbalancer IP" -m tcp --dport 80 -j KUBE-FW-ULFSZB4ZNLMYB6HN',
      '-A KUBE-FW-ULFSZB4ZNLMYB6HN -s 203.0.113.0/24 -m comment --comment "default/lb:p80 loadbalancer IP" -j KUBE-EXT-ULFSZB4ZNLMYB6HN',
      '-A KUBE-FW-ULFSZB4ZNLMYB6HN -m comment --comment "other traffic to default/lb:p80 will be dropped by KUBE-PROXY-FIREWALL"',
      '-A KUBE-PROXY-FIREWALL -d 1.2.3.4/32 -p tcp -m comment --comment "default/lb:p80 traffic not accepted by KUBE-FW-ULFSZB4ZNLMYB6HN" -m tcp --dport 80 -j DROP',
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/lb:p80" -m tcp --dport 30060 -j KUBE-EXT-ULFSZB4ZNLMYB6HN',
    ],
    absent: ["-s 1.2.3.4/32"],
  },
  {
    name: "LoadBalancer source ranges, v1.16: KUBE-FW masquerades, -s range → KUBE-SVC, then KUBE-MARK-DROP (§4.12)",
    svc: "lb", profile: V, node: "node-1",
    present: [
      '-A KUBE-FW-ULFSZB4ZNLMYB6HN -m comment --comment "default/lb:p80 loadbalancer IP" -j KUBE-MARK-MASQ',
      '-A KUBE-FW-ULFSZB4ZNLMYB6HN -s 203.0.113.0/24 -m comment --comment "default/lb:p80 loadbalancer IP" -j KUBE-SVC-ULFSZB4ZNLMYB6HN',
      '-A KUBE-FW-ULFSZB4ZNLMYB6HN -m comment --comment "default/lb:p80 loadbalancer IP" -j KUBE-MARK-DROP',
    ],
    absent: ["KUBE-PROXY-FIREWALL"],
  },
  {
    name: "eTP Local with local endpoints: KUBE-EXT short-circuits pods, masquerades LOCAL, then KUBE-SVL; health check port (§2.5, §2.6)",
    svc: "loc", profile: C, node: "node-1",
    present: [
      '-A KUBE-EXT-JNOSD4J4LJOOEWZX -s 10.1.0.0/16 -m comment --comment "pod traffic for default/loc:p80 external destinations" -j KUBE-SVC-JNOSD4J4LJOOEWZX',
      '-A KUBE-EXT-JNOSD4J4LJOOEWZX -m comment --comment "masquerade LOCAL traffic for default/loc:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
      '-A KUBE-EXT-JNOSD4J4LJOOEWZX -m comment --comment "route LOCAL traffic for default/loc:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-JNOSD4J4LJOOEWZX',
      "-A KUBE-EXT-JNOSD4J4LJOOEWZX -j KUBE-SVL-JNOSD4J4LJOOEWZX",
      '-A KUBE-SVL-JNOSD4J4LJOOEWZX -m comment --comment "default/loc:p80 -> 10.1.1.5:9376" -j KUBE-SEP-SHY366OCX7ZBJW3T',
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/loc:p80 health check node port" -m tcp --dport 32000 -j ACCEPT',
      '-A KUBE-SERVICES -d 1.2.3.6/32 -p tcp -m comment --comment "default/loc:p80 loadbalancer IP" -m tcp --dport 80 -j KUBE-EXT-JNOSD4J4LJOOEWZX',
      '-A KUBE-SERVICES -d 192.168.99.13/32 -p tcp -m comment --comment "default/loc:p80 external IP" -m tcp --dport 80 -j KUBE-EXT-JNOSD4J4LJOOEWZX',
    ],
    absent: ["has no local endpoints"],
  },
  {
    name: "eTP Local without local endpoints: no KUBE-SVL jump, filter DROP for external IP, LB IP and nodePort (§2.6)",
    svc: "loc", profile: C, node: "node-3",
    present: [
      '-A KUBE-EXTERNAL-SERVICES -d 192.168.99.13/32 -p tcp -m comment --comment "default/loc:p80 has no local endpoints" -m tcp --dport 80 -j DROP',
      '-A KUBE-EXTERNAL-SERVICES -d 1.2.3.6/32 -p tcp -m comment --comment "default/loc:p80 has no local endpoints" -m tcp --dport 80 -j DROP',
      '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/loc:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30070 -j DROP',
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/loc:p80 health check node port" -m tcp --dport 32000 -j ACCEPT',
    ],
    absent: ["-j KUBE-SVL-JNOSD4J4LJOOEWZX", ":KUBE-SVL-JNOSD4J4LJOOEWZX"],
  },
  {
    name: "eTP Local, v1.16: KUBE-XLB with the pod redirect, LOCAL masquerade and balancing rules (§4.13)",
    svc: "loc", profile: V, node: "node-1",
    present: [
      '-A KUBE-XLB-JNOSD4J4LJOOEWZX -s 10.1.0.0/16 -m comment --comment "Redirect pods trying to reach external loadbalancer VIP to clusterIP" -j KUBE-SVC-JNOSD4J4LJOOEWZX',
      '-A KUBE-XLB-JNOSD4J4LJOOEWZX -m comment --comment "masquerade LOCAL traffic for default/loc:p80 LB IP" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
      '-A KUBE-XLB-JNOSD4J4LJOOEWZX -m comment --comment "route LOCAL traffic for default/loc:p80 LB IP to service chain" -m addrtype --src-type LOCAL -j KUBE-SVC-JNOSD4J4LJOOEWZX',
      '-A KUBE-XLB-JNOSD4J4LJOOEWZX -m comment --comment "Balancing rule 0 for default/loc:p80" -j KUBE-SEP-SHY366OCX7ZBJW3T',
      '-A KUBE-NODEPORTS -s 127.0.0.0/8 -p tcp -m comment --comment "default/loc:p80" -m tcp --dport 30070 -j KUBE-MARK-MASQ',
      '-A KUBE-FW-JNOSD4J4LJOOEWZX -m comment --comment "default/loc:p80 loadbalancer IP" -j KUBE-XLB-JNOSD4J4LJOOEWZX',
    ],
    absent: ["health check"],
  },
  {
    name: "eTP Local without local endpoints, v1.16: KUBE-XLB ends in KUBE-MARK-DROP (§4.13)",
    svc: "loc", profile: V, node: "node-3",
    present: ['-A KUBE-XLB-JNOSD4J4LJOOEWZX -m comment --comment "default/loc:p80 has no local endpoints" -j KUBE-MARK-DROP'],
  },
  {
    name: "iTP Local with a local endpoint: KUBE-SERVICES → KUBE-SVL, masquerade rule first (§2.7)",
    svc: "itl", profile: C, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 10.0.0.80/32 -p tcp -m comment --comment "default/itl cluster IP" -m tcp --dport 80 -j KUBE-SVL-HX3WADKQ22CAM2HD',
      '-A KUBE-SVL-HX3WADKQ22CAM2HD ! -s 10.1.0.0/16 -d 10.0.0.80/32 -p tcp -m comment --comment "default/itl cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
      '-A KUBE-SVL-HX3WADKQ22CAM2HD -m comment --comment "default/itl -> 10.1.1.5:9376" -j KUBE-SEP-7JG6T7ZN2MUOM4BA',
    ],
    absent: ["10.1.2.6:9376"],
  },
  {
    name: "iTP Local without a local endpoint: DROP, not REJECT (§2.7)",
    svc: "itl", profile: C, node: "node-3",
    present: ['-A KUBE-SERVICES -d 10.0.0.80/32 -p tcp -m comment --comment "default/itl has no local endpoints" -m tcp --dport 80 -j DROP'],
    absent: ["REJECT", "KUBE-SVL"],
  },
  {
    name: "no endpoints: REJECT for the cluster IP, external IP, LB IP and nodePort; no nat chains (§2.8)",
    svc: "empty", profile: C, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 10.0.0.20/32 -p tcp -m comment --comment "default/empty:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-A KUBE-EXTERNAL-SERVICES -d 192.168.99.12/32 -p tcp -m comment --comment "default/empty:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-A KUBE-EXTERNAL-SERVICES -d 1.2.3.5/32 -p tcp -m comment --comment "default/empty:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/empty:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30020 -j REJECT --reject-with icmp-port-unreachable',
    ],
    absent: ["KUBE-SVC-", "KUBE-NODEPORTS -p tcp"],
  },
  {
    name: "no endpoints, v1.16: LB IP REJECT in KUBE-SERVICES, external IP and nodePort in KUBE-EXTERNAL-SERVICES (§4.9)",
    svc: "empty", profile: V, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 1.2.3.5/32 -p tcp -m comment --comment "default/empty:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      '-A KUBE-EXTERNAL-SERVICES -d 192.168.99.12/32 -p tcp -m comment --comment "default/empty:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    ],
    absent: ["-A KUBE-EXTERNAL-SERVICES -d 1.2.3.5/32"],
  },
  {
    name: "terminating endpoints: SVC keeps the remote ready one, SVL falls back to local serving+terminating, none for non-serving (§2.9)",
    svc: "term", profile: C, node: "node-1",
    present: [
      '-A KUBE-SVC-MP7PPNBU4BT3PRRU -m comment --comment "default/term:p80 -> 10.1.2.5:8080" -j KUBE-SEP-L4ZOAXILYEQRQELA',
      '-A KUBE-SVL-MP7PPNBU4BT3PRRU -m comment --comment "default/term:p80 -> 10.1.1.2:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-YXBFCB7GWRPSIXSX',
      '-A KUBE-SVL-MP7PPNBU4BT3PRRU -m comment --comment "default/term:p80 -> 10.1.1.3:8080" -j KUBE-SEP-5IOGO7FFX6XWDHLJ',
    ],
    absent: ["10.1.1.4", '-A KUBE-SVC-MP7PPNBU4BT3PRRU -m comment --comment "default/term:p80 -> 10.1.1.2'],
  },
  {
    name: "terminating endpoints, v1.16: ready only; the XLB has no local endpoint (§4.14)",
    svc: "term", profile: V, node: "node-1",
    present: [
      "-A KUBE-SVC-MP7PPNBU4BT3PRRU -j KUBE-SEP-L4ZOAXILYEQRQELA",
      '-A KUBE-XLB-MP7PPNBU4BT3PRRU -m comment --comment "default/term:p80 has no local endpoints" -j KUBE-MARK-DROP',
    ],
    absent: ["10.1.1.2", "10.1.1.3", "10.1.1.4"],
  },
  {
    name: "two named ports, two EndpointSlices listing 10.1.2.21: one chain per port, the duplicate merged (§2.9)",
    svc: "multi", profile: C, node: "node-1",
    present: [
      '-A KUBE-SVC-ZI7V5MEXJLWC5J7J -m comment --comment "default/multi:http -> 10.1.2.21:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-OVWZDUJELZLPYVOU',
      '-A KUBE-SVC-IT553CU5HUYL252M -m comment --comment "default/multi:metrics -> 10.1.3.22:9090" -j KUBE-SEP-RNX4WSDFGTSCMGJX',
    ],
  },
  {
    name: "UDP Service: -p udp -m udp throughout (§1)",
    svc: "dns", profile: C, node: "node-1",
    present: [
      '-A KUBE-SERVICES -d 10.0.0.53/32 -p udp -m comment --comment "default/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-2MBSHUE5GJKPO227',
      '-A KUBE-SEP-BCSJD2Z6A2K45GQG -p udp -m comment --comment "default/dns:dns" -m udp -j DNAT --to-destination 10.1.1.53:5353',
    ],
    absent: ["-p tcp"],
  },
];

describe("per feature: the Service's lines equal the golden's and follow the fact sheet", () => {
  it.each(rows)("$name [$profile $node]", (r) => {
    const got = featureLines(actual.get(key(r.profile, r.node))!, r.svc);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(featureLines(golden(r.profile, r.node), r.svc));
    const text = got.join("\n");
    for (const l of r.present) expect(got, `missing: ${l}`).toContain(l);
    for (const a of r.absent ?? []) expect(text).not.toContain(a);
  });

  it("affinity: every --rcheck rule comes before every probability rule", () => {
    const svc = actual.get(key(C, "node-1"))!.split("\n").filter((l) => l.startsWith("-A KUBE-SVC-BJWR5DPVIKTHVKZU"));
    const lastRcheck = svc.map((l) => l.includes("--rcheck")).lastIndexOf(true);
    const firstStat = svc.findIndex((l) => !l.includes("--rcheck") && !l.includes("KUBE-MARK-MASQ"));
    expect(lastRcheck).toBe(3);
    expect(firstStat).toBe(4);
  });
});

describe("large-cluster mode through the CLI (1001 endpoints)", () => {
  it("drops the SVC → SEP and SEP comments, keeps the KUBE-SERVICES ones (§2.3)", () => {
    const lines = large.split("\n");
    const svc = lines.filter((l) => l.startsWith("-A KUBE-SVC-"));
    const sep = lines.filter((l) => l.startsWith("-A KUBE-SEP-"));
    expect(svc.length).toBe(1 + 1001);
    expect(sep.length).toBe(2 * 1001);
    expect(svc.slice(1).every((l) => !l.includes("--comment"))).toBe(true);
    expect(sep.every((l) => !l.includes("--comment"))).toBe(true);
    expect(svc[0]).toContain('--comment "default/big cluster IP"');
    expect(lines.some((l) => l.startsWith("-A KUBE-SERVICES -d 10.0.0.99/32") && l.includes('"default/big cluster IP"'))).toBe(true);
  });
});
