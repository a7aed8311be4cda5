import { describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/cluster/types.ts";
import { categorizeEndpoints, collectServicePorts, endpointsForServicePort, slicesByService } from "../../src/kubeproxy/endpoints.ts";
import type { ProfileName } from "../../src/kubeproxy/types.ts";
import { cluster, ep, node, service, slice, tcp, type SvcSpec } from "./builder.ts";

const T = { ready: false, serving: true, terminating: true }; // serving + terminating
const NS = { ready: false, serving: false, terminating: true }; // not serving

function sets(profile: ProfileName, spec: Partial<SvcSpec>, eps: Endpoint[]) {
  const st = cluster({
    nodes: [node("node-1", "192.168.0.11")],
    services: [service("ns1", "s", { clusterIP: "10.0.0.1", ports: [tcp(80, "", 80, 30000)], ...spec })],
    slices: [slice("ns1", "s", "s-a", [{ port: 80 }], eps)],
  });
  const sp = collectServicePorts(st, profile)[0]!;
  const all = endpointsForServicePort(slicesByService(st).get("ns1/s"), sp, "node-1", profile);
  const c = categorizeEndpoints(all, sp, profile);
  const ips = (xs: readonly { ip: string }[]) => xs.map((e) => e.ip);
  return { cluster: ips(c.cluster), local: ips(c.local), reachable: ips(c.reachable), has: c.hasEndpoints };
}

describe("endpoint sets (§2.9; v1.16 = ready only)", () => {
  it.each([
    { name: "current: ready endpoints only in the cluster set", p: "current", spec: {}, eps: [ep("10.0.1.1", "node-1"), ep("10.0.1.2", "node-2", T)],
      want: { cluster: ["10.0.1.1"], local: [], reachable: ["10.0.1.1"], has: true } },
    { name: "current: no ready anywhere → serving+terminating fallback", p: "current", spec: {}, eps: [ep("10.0.1.2", "node-2", T), ep("10.0.1.3", "node-2", NS)],
      want: { cluster: ["10.0.1.2"], local: [], reachable: ["10.0.1.2"], has: true } },
    { name: "v1.16: no terminating fallback", p: "v1.16", spec: {}, eps: [ep("10.0.1.2", "node-2", T)],
      want: { cluster: [], local: [], reachable: [], has: false } },
    { name: "current: only non-serving → no endpoints", p: "current", spec: {}, eps: [ep("10.0.1.3", "node-1", NS)],
      want: { cluster: [], local: [], reachable: [], has: false } },
    { name: "current: iTP=Local uses only local ready, no cluster set", p: "current", spec: { internalTrafficPolicy: "Local" },
      eps: [ep("10.0.1.1", "node-1"), ep("10.0.1.2", "node-2")], want: { cluster: [], local: ["10.0.1.1"], reachable: ["10.0.1.1"], has: true } },
    { name: "current: iTP=Local without local endpoints still hasEndpoints", p: "current", spec: { internalTrafficPolicy: "Local" },
      eps: [ep("10.0.1.2", "node-2")], want: { cluster: [], local: [], reachable: [], has: true } },
    { name: "current: eTP=Local NodePort: local terminating fallback, union for SEPs", p: "current", spec: { type: "NodePort", externalTrafficPolicy: "Local" },
      eps: [ep("10.0.1.2", "node-1", T), ep("10.0.1.5", "node-2")], want: { cluster: ["10.0.1.5"], local: ["10.0.1.2"], reachable: ["10.0.1.2", "10.0.1.5"], has: true } },
    { name: "current: eTP=Local on a ClusterIP service is ignored", p: "current", spec: { externalTrafficPolicy: "Local" },
      eps: [ep("10.0.1.5", "node-2")], want: { cluster: ["10.0.1.5"], local: [], reachable: ["10.0.1.5"], has: true } },
    { name: "v1.16: eTP=Local NodePort → XLB set = local ready", p: "v1.16", spec: { type: "NodePort", externalTrafficPolicy: "Local" },
      eps: [ep("10.0.1.1", "node-1"), ep("10.0.1.5", "node-2"), ep("10.0.1.2", "node-1", { ready: false })],
      want: { cluster: ["10.0.1.1", "10.0.1.5"], local: ["10.0.1.1"], reachable: ["10.0.1.1", "10.0.1.5"], has: true } },
    { name: "absent conditions count as ready", p: "current", spec: {}, eps: [{ addresses: ["10.0.1.9"], conditions: {} }],
      want: { cluster: ["10.0.1.9"], local: [], reachable: ["10.0.1.9"], has: true } },
  ] as const)("$name", ({ p, spec, eps, want }) => {
    expect(sets(p, spec as Partial<SvcSpec>, [...eps])).toEqual(want);
  });

  it("headless and other-proxy services are skipped; unnamed port has the profile's name", () => {
    const st = cluster({
      nodes: [node("node-1", "192.168.0.11")],
      services: [
        service("ns1", "headless", { clusterIP: "None", ports: [tcp(80)] }),
        { ...service("ns1", "other", { clusterIP: "10.0.0.2", ports: [tcp(80)] }), meta: { ...service("ns1", "other", { clusterIP: "10.0.0.2", ports: [] }).meta, labels: { "service.kubernetes.io/service-proxy-name": "x" } } },
        service("ns1", "plain", { clusterIP: "10.0.0.3", ports: [tcp(80)] }),
      ],
      slices: [],
    });
    expect(collectServicePorts(st, "current").map((s) => s.name)).toEqual(["ns1/plain"]);
    expect(collectServicePorts(st, "v1.16").map((s) => s.name)).toEqual(["ns1/plain:"]);
  });
});
