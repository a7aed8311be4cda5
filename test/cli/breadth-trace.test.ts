/**
 * `./sim trace --json` spec tables over the breadth fixture cluster (test/fixtures/breadth): the
 * first packet of a new connection from outside the cluster, from a pod, from the node itself and
 * from localhost, to a ClusterIP, a nodePort on a node IP, an externalIP and an LB IP, under each
 * policy (eTP Cluster/Local, iTP Cluster/Local, session affinity, no endpoints, LB source ranges),
 * in both profiles. Each row names the outcomes (DNAT target, masquerade or not), DROP or REJECT.
 *
 * Addresses: node-1 192.168.0.11 (runs web-a 10.1.1.5), node-2 runs web-b 10.1.2.6 and web-c
 * 10.1.2.7, node-3 192.168.0.13 runs no web pod; client-1 10.1.1.100 (node-1), client-3
 * 10.1.3.100 (node-3); outside clients 198.51.100.7 and 203.0.113.7 (the latter inside lb's
 * loadBalancerSourceRanges). Services: manifests.yaml.
 */
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BREADTH, simMany } from "./breadth-helpers.ts";

const OUT = "198.51.100.7";
const INR = "203.0.113.7";
const POD1 = "10.1.1.100";
const POD3 = "10.1.3.100";
const N1 = "192.168.0.11";
const N3 = "192.168.0.13";
const LO = "127.0.0.1";
const A = "10.1.1.5:9376";
const B = "10.1.2.6:9376";
const C = "10.1.2.7:9376";

interface Row {
  name: string;
  profile?: "current" | "v1.16";
  src: string;
  dst: string;
  dport: number;
  proto?: "tcp" | "udp";
  node?: string;
  /**
   * Outcomes: "DNAT ip:port" (+ " masq" when masqueraded), "DROP", "REJECT",
   * "ACCEPT local" (delivered to a local socket untouched), "ACCEPT forward".
   */
  expect: string[];
}

const all = (masq: boolean) => [A, B, C].map((e) => `DNAT ${e}${masq ? " masq" : ""}`);

const rows: Row[] = [
  // --- ClusterIP, NodePort, localhost (np: NodePort 30001, eTP Cluster) ---
  { name: "outside → ClusterIP: every endpoint, masqueraded (not from the pod CIDR)", src: OUT, dst: "10.0.0.40", dport: 80, expect: all(true) },
  { name: "pod → ClusterIP: every endpoint, source kept", src: POD1, dst: "10.0.0.40", dport: 80, expect: all(false) },
  { name: "node → ClusterIP: masqueraded", src: N1, dst: "10.0.0.40", dport: 80, expect: all(true) },
  { name: "outside → node IP:nodePort (eTP Cluster): masqueraded", src: OUT, dst: N1, dport: 30001, expect: all(true) },
  { name: "pod → node IP:nodePort: KUBE-EXT masquerades pods too", src: POD1, dst: N1, dport: 30001, expect: all(true) },
  { name: "localhost → 127.0.0.1:nodePort (route_localnet): masqueraded", src: LO, dst: LO, dport: 30001, expect: all(true) },
  { name: "outside → 127.0.0.1:nodePort on eth0: DNATed (KUBE-FIREWALL spares DNAT)", src: OUT, dst: LO, dport: 30001, expect: all(true) },
  { name: "outside → 127.0.0.1:22 on eth0: KUBE-FIREWALL drops localnet traffic", src: OUT, dst: LO, dport: 22, expect: ["DROP"] },
  { name: "localhost → 127.0.0.1:22: a local socket, untouched", src: LO, dst: LO, dport: 22, expect: ["ACCEPT local"] },
  // --- externalIPs ---
  { name: "outside → externalIP: KUBE-EXT, masqueraded", src: OUT, dst: "192.168.99.11", dport: 80, expect: all(true) },
  { name: "pod → externalIP: masqueraded", src: POD1, dst: "192.168.99.11", dport: 80, expect: all(true) },
  { name: "node → externalIP: masqueraded", src: N1, dst: "192.168.99.11", dport: 80, expect: all(true) },
  // --- LoadBalancer with source ranges (lb: 1.2.3.4, 203.0.113.0/24) ---
  { name: "outside, in the source ranges → LB IP: masqueraded", src: INR, dst: "1.2.3.4", dport: 80, expect: all(true) },
  { name: "outside, not in the ranges → LB IP: KUBE-PROXY-FIREWALL drops", src: OUT, dst: "1.2.3.4", dport: 80, expect: ["DROP"] },
  { name: "pod → LB IP with source ranges: dropped too (pod CIDR not in the ranges)", src: POD1, dst: "1.2.3.4", dport: 80, expect: ["DROP"] },
  { name: "node → LB IP with source ranges: dropped in filter OUTPUT", src: N1, dst: "1.2.3.4", dport: 80, expect: ["DROP"] },
  { name: "outside, not in the ranges → the same Service's nodePort: ranges do not apply", src: OUT, dst: N1, dport: 30060, expect: all(true) },
  // --- externalTrafficPolicy Local (loc: LB 1.2.3.6, externalIP 192.168.99.13, nodePort 30070) ---
  { name: "eTP Local: outside → nodePort on a node with a local endpoint: local only, source kept", src: OUT, dst: N1, dport: 30070, expect: [`DNAT ${A}`] },
  { name: "eTP Local: outside → nodePort on a node without one: DROP", src: OUT, dst: N3, dport: 30070, node: "node-3", expect: ["DROP"] },
  { name: "eTP Local: outside → LB IP at node-1: local only, source kept", src: OUT, dst: "1.2.3.6", dport: 80, expect: [`DNAT ${A}`] },
  { name: "eTP Local: outside → LB IP at node-3: DROP", src: OUT, dst: "1.2.3.6", dport: 80, node: "node-3", expect: ["DROP"] },
  { name: "eTP Local: outside → externalIP at node-1: local only", src: OUT, dst: "192.168.99.13", dport: 80, expect: [`DNAT ${A}`] },
  { name: "eTP Local: pod → LB IP: short-circuited to every endpoint, not masqueraded", src: POD1, dst: "1.2.3.6", dport: 80, expect: all(false) },
  { name: "eTP Local: pod on node-3 → node-3's nodePort: every endpoint (filter DROP sees the DNATed packet)", src: POD3, dst: N3, dport: 30070, expect: all(false) },
  { name: "eTP Local: node-3 → LB IP: LOCAL traffic, every endpoint, masqueraded", src: N3, dst: "1.2.3.6", dport: 80, expect: all(true) },
  { name: "eTP Local: localhost on node-3 → 127.0.0.1:nodePort: every endpoint, masqueraded", src: LO, dst: LO, dport: 30070, node: "node-3", expect: all(true) },
  // --- internalTrafficPolicy Local (itl: 10.0.0.80) ---
  { name: "iTP Local: pod on node-1 → ClusterIP: the local endpoint only", src: POD1, dst: "10.0.0.80", dport: 80, expect: [`DNAT ${A}`] },
  { name: "iTP Local: pod on node-3 (no local endpoint) → ClusterIP: DROP, not REJECT", src: POD3, dst: "10.0.0.80", dport: 80, expect: ["DROP"] },
  { name: "iTP Local: node-3 → ClusterIP: DROP", src: N3, dst: "10.0.0.80", dport: 80, expect: ["DROP"] },
  { name: "iTP Local: node-1 → ClusterIP: local endpoint, masqueraded", src: N1, dst: "10.0.0.80", dport: 80, expect: [`DNAT ${A} masq`] },
  // --- no endpoints (empty: ClusterIP 10.0.0.20, nodePort 30020, externalIP 192.168.99.12, LB 1.2.3.5) ---
  { name: "no endpoints: pod → ClusterIP: REJECT", src: POD1, dst: "10.0.0.20", dport: 80, expect: ["REJECT"] },
  { name: "no endpoints: outside → nodePort: REJECT", src: OUT, dst: N1, dport: 30020, expect: ["REJECT"] },
  { name: "no endpoints: outside → externalIP: REJECT", src: OUT, dst: "192.168.99.12", dport: 80, expect: ["REJECT"] },
  { name: "no endpoints: outside → LB IP: REJECT", src: OUT, dst: "1.2.3.5", dport: 80, expect: ["REJECT"] },
  // --- session affinity: a first connection (empty recent lists) is balanced like any other ---
  { name: "affinity: pod → ClusterIP, first connection: every endpoint", src: POD1, dst: "10.0.0.30", dport: 80, expect: all(false) },
  { name: "affinity: node → ClusterIP: masqueraded", src: N1, dst: "10.0.0.30", dport: 80, expect: all(true) },
  // --- UDP ---
  { name: "UDP: pod → ClusterIP:53/udp → the DNS pod", src: POD1, dst: "10.0.0.53", dport: 53, proto: "udp", expect: ["DNAT 10.1.1.53:5353"] },
  { name: "UDP Service, TCP packet: no rule matches, routed on untouched", src: POD1, dst: "10.0.0.53", dport: 53, expect: ["ACCEPT forward"] },
  // --- v1.16 ---
  { profile: "v1.16", name: "v1.16 eTP Local: outside → nodePort, local endpoint: source kept", src: OUT, dst: N1, dport: 30070, expect: [`DNAT ${A}`] },
  { profile: "v1.16", name: "v1.16 eTP Local: outside → nodePort without a local endpoint: KUBE-MARK-DROP, KUBE-FIREWALL drops", src: OUT, dst: N3, dport: 30070, node: "node-3", expect: ["DROP"] },
  { profile: "v1.16", name: "v1.16 eTP Local: outside → LB IP at node-3: dropped", src: OUT, dst: "1.2.3.6", dport: 80, node: "node-3", expect: ["DROP"] },
  { profile: "v1.16", name: "v1.16 eTP Local: localhost → 127.0.0.1:nodePort: -s 127/8 masquerade, every endpoint", src: LO, dst: LO, dport: 30070, expect: all(true) },
  { profile: "v1.16", name: "v1.16: node → externalIP is not DNATed (src-type LOCAL, dst not LOCAL)", src: N1, dst: "192.168.99.11", dport: 80, expect: ["ACCEPT forward"] },
  { profile: "v1.16", name: "v1.16: pod → externalIP: masqueraded", src: POD1, dst: "192.168.99.11", dport: 80, expect: all(true) },
  { profile: "v1.16", name: "v1.16: outside, not in the ranges → LB IP: KUBE-MARK-DROP, dropped", src: OUT, dst: "1.2.3.4", dport: 80, expect: ["DROP"] },
  { profile: "v1.16", name: "v1.16: outside, in the ranges → LB IP: masqueraded", src: INR, dst: "1.2.3.4", dport: 80, expect: all(true) },
  { profile: "v1.16", name: "v1.16 no endpoints: pod → ClusterIP: REJECT", src: POD1, dst: "10.0.0.20", dport: 80, expect: ["REJECT"] },
  { profile: "v1.16", name: "v1.16 no iTP: node-3 pod → itl ClusterIP: every endpoint", src: POD3, dst: "10.0.0.80", dport: 80, expect: all(false) },
];

interface TraceJson {
  node: string;
  outcomes: { verdict: string; to?: string; probability: number; masquerade: boolean; snatSource?: string; fate: string }[];
}

const results: (TraceJson | Error)[] = [];

beforeAll(async () => {
  const res = await simMany(
    rows.map((r) => [
      "trace", resolve(BREADTH, `cluster.${r.profile ?? "current"}.yaml`),
      "--src", r.src, "--dst", r.dst, "--dport", String(r.dport), "--proto", r.proto ?? "tcp",
      ...(r.node ? ["--node", r.node] : []), "--json",
    ]),
  );
  for (const x of res) results.push(x.code === 0 ? (JSON.parse(x.stdout) as TraceJson) : new Error(x.stderr));
}, 180_000);

function summary(t: TraceJson): string[] {
  return t.outcomes.map((o) => {
    if (o.verdict === "DNAT") return `DNAT ${o.to}${o.masquerade ? " masq" : ""}`;
    if (o.verdict === "ACCEPT") return `ACCEPT ${o.fate}`;
    return o.verdict;
  }).sort();
}

describe("./sim trace: outcomes and masquerade per source, destination and policy", () => {
  it.each(rows.map((r, i) => ({ ...r, i, profile: r.profile ?? "current" })))("[$profile] $name", (r) => {
    const t = results[r.i]!;
    if (t instanceof Error) throw t;
    expect(summary(t)).toEqual([...r.expect].sort());
    expect(t.outcomes.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 9);
    // A masqueraded packet leaves with the address of the node it was traced on.
    const nodeIP = { "node-1": N1, "node-3": N3 }[t.node as "node-1" | "node-3"];
    for (const o of t.outcomes) if (o.masquerade) expect(o.snatSource).toBe(nodeIP);
    // Three-way balancing: 1/3 each at the kernel's quantised probabilities; v1.16 writes %0.5f,
    // so its first endpoint gets 0.33332999982 and the others 0.333335 (KUBE-PROXY.md §6.6).
    if (r.expect.length === 3) {
      const first = t.outcomes.find((o) => o.to === A)!.probability;
      if (r.profile === "v1.16") expect(first).toBeCloseTo(0.33332999982, 10);
      else expect(first).toBeCloseTo(0.33333333349, 10);
      for (const o of t.outcomes) expect(o.probability).toBeCloseTo(1 / 3, r.profile === "v1.16" ? 5 : 8);
    }
  });
});
