/**
 * topology.ts: addrtype LOCAL (node IP, 127/8, LB ingress IPs) and the outside network's choice of
 * node for LB IPs (health-checked nodes, per-5-tuple hash) and externalIPs.
 */
import { describe, expect, it } from "vitest";
import { parseIPv4 } from "../../src/net/ip.ts";
import { buildExternalRouting, buildNodeAddressing, loadBalancerIPs, pickByTuple } from "../../src/datapath/topology.ts";
import { cluster, ep, node, service, slice, tcp } from "../kubeproxy/builder.ts";

const N1 = node("node-1", "192.168.0.11", "10.1.1.0/24");
const N2 = node("node-2", "192.168.0.12", "10.1.2.0/24");
const N3 = node("node-3", "192.168.0.13", "10.1.3.0/24");

const state = cluster({
  nodes: [N1, N2, N3],
  services: [
    service("ns1", "lbc", { type: "LoadBalancer", clusterIP: "10.0.0.1", ports: [tcp(80, "p", 80, 30001)], externalIPs: ["192.168.99.1"] }, ["1.2.3.4"]),
    service("ns1", "lbl", { type: "LoadBalancer", clusterIP: "10.0.0.2", ports: [tcp(80, "p", 80, 30002)], externalTrafficPolicy: "Local" }, ["1.2.3.5"]),
    service("ns1", "none", { type: "LoadBalancer", clusterIP: "10.0.0.3", ports: [tcp(80, "p", 80, 30003)], externalTrafficPolicy: "Local" }, ["1.2.3.6"]),
  ],
  slices: [
    slice("ns1", "lbc", "a", [{ name: "p", port: 80 }], [ep("10.1.1.5", "node-1")]),
    slice("ns1", "lbl", "b", [{ name: "p", port: 80 }], [ep("10.1.1.5", "node-1"), ep("10.1.3.5", "node-3", { ready: false, serving: true, terminating: true })]),
  ],
});

describe("addrtype LOCAL", () => {
  const a = buildNodeAddressing(state, "node-2");
  it.each([
    { name: "own node IP", addr: "192.168.0.12", local: true },
    { name: "loopback", addr: "127.0.0.53", local: true },
    { name: "an LB ingress IP (made local by the cloud)", addr: "1.2.3.5", local: true },
    { name: "another node's IP", addr: "192.168.0.11", local: false },
    { name: "an externalIP", addr: "192.168.99.1", local: false },
    { name: "a cluster IP", addr: "10.0.0.1", local: false },
  ])("$name → $local", ({ addr, local }) => {
    expect(a.isLocal(parseIPv4(addr))).toBe(local);
  });
  it("lists every LB ingress IP", () => {
    expect([...loadBalancerIPs(state)].sort()).toEqual(["1.2.3.4", "1.2.3.5", "1.2.3.6"].map(parseIPv4).sort());
  });
});

describe("the outside network's routes to Service addresses", () => {
  const r = buildExternalRouting(state);
  it.each([
    { name: "LB IP, eTP Cluster: every node passes the health check", ip: "1.2.3.4", nodes: ["node-1", "node-2", "node-3"] },
    { name: "LB IP, eTP Local: only nodes with a local ready endpoint (terminating ones do not count)", ip: "1.2.3.5", nodes: ["node-1"] },
    { name: "LB IP, eTP Local, no endpoints anywhere: the LB falls back to every node", ip: "1.2.3.6", nodes: ["node-1", "node-2", "node-3"] },
    { name: "externalIP: the first node", ip: "192.168.99.1", nodes: ["node-1"] },
  ])("$name", ({ ip, nodes }) => {
    expect(r.get(parseIPv4(ip))!.nodes).toEqual(nodes);
  });
  it("externalIPs follow ExternalRoutingOptions.externalIPNode", () => {
    expect(buildExternalRouting(state, { externalIPNode: "node-3" }).get(parseIPv4("192.168.99.1"))!.nodes).toEqual(["node-3"]);
  });
  it("a node that is down fails the health check", () => {
    const down = { ...state, nodes: { ...state.nodes, "node-2": { ...N2, up: false } } };
    expect(buildExternalRouting(down).get(parseIPv4("1.2.3.4"))!.nodes).toEqual(["node-1", "node-3"]);
  });
  it("pickByTuple: stable per 5-tuple, in range, and even over many source ports", () => {
    const src = parseIPv4("198.51.100.7");
    const dst = parseIPv4("1.2.3.4");
    const counts = [0, 0, 0];
    for (let p = 32768; p < 32768 + 30000; p++) {
      const i = pickByTuple(3, src, p, dst, 80, 6);
      expect(pickByTuple(3, src, p, dst, 80, 6)).toBe(i);
      counts[i]!++;
    }
    for (const c of counts) expect(Math.abs(c / 30000 - 1 / 3)).toBeLessThan(0.02);
  });
});
