/**
 * Named test clusters, one per kube-proxy feature; each is rendered for both profiles into a
 * golden file (test/fixtures/kubeproxy/<name>.<profile>.rules). Node "node-1" (192.168.0.11) is the
 * node the rules are generated for; "node-2" is a remote node.
 */
import type { ClusterState } from "../../src/cluster/types.ts";
import type { KubeProxyConfig } from "../../src/kubeproxy/types.ts";
import { cluster, ep, node, seedCluster, service, slice, tcp } from "./builder.ts";

export const N1 = node("node-1", "192.168.0.11", "10.1.1.0/24");
export const N2 = node("node-2", "192.168.0.12", "10.1.2.0/24");

export interface Scenario {
  name: string;
  state: ClusterState;
  cfg?: Partial<KubeProxyConfig>;
}

const threeEps = (ns: string, svc: string, port: number, portName = "") =>
  slice(ns, svc, `${svc}-x1`, [{ name: portName, port }], [ep("10.1.1.5", "node-1"), ep("10.1.2.6", "node-2"), ep("10.1.2.7", "node-2")]);

export const scenarios: Scenario[] = [
  { name: "seed-clusterip", state: seedCluster() },
  {
    name: "clusterip-multiport-masquerade-all",
    cfg: { masqueradeAll: true },
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "web", { clusterIP: "10.0.0.10", ports: [tcp(80, "http", 8080), tcp(443, "https", 8443)] })],
      slices: [
        slice("ns1", "web", "web-a", [{ name: "http", port: 8080 }, { name: "https", port: 8443 }], [ep("10.1.1.10", "node-1"), ep("10.1.1.9", "node-1")]),
      ],
    }),
  },
  {
    name: "no-endpoints",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service(
          "ns1",
          "empty",
          { type: "LoadBalancer", clusterIP: "10.0.0.20", ports: [tcp(80, "p80", 8080, 30080)], externalIPs: ["192.168.99.11"] },
          ["1.2.3.4"],
        ),
        // only a non-serving endpoint: still "no endpoints"
        service("ns1", "notserving", { clusterIP: "10.0.0.21", ports: [tcp(80)] }),
      ],
      slices: [slice("ns1", "notserving", "ns-a", [{ port: 80 }], [ep("10.1.2.9", "node-2", { ready: false, serving: false, terminating: true })])],
    }),
  },
  {
    name: "affinity",
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "sticky", { clusterIP: "10.0.0.30", ports: [tcp(80)], sessionAffinity: "ClientIP", sessionAffinityTimeoutSeconds: 600 })],
      slices: [threeEps("ns1", "sticky", 80)],
    }),
  },
  {
    name: "nodeport",
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "np", { type: "NodePort", clusterIP: "10.0.0.40", ports: [tcp(80, "p80", 8080, 30001)] })],
      slices: [threeEps("ns1", "np", 8080, "p80")],
    }),
  },
  {
    name: "external-ips",
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "ext", { clusterIP: "10.0.0.50", ports: [tcp(80)], externalIPs: ["192.168.99.11", "192.168.99.12"] })],
      slices: [threeEps("ns1", "ext", 80)],
    }),
  },
  {
    name: "loadbalancer-source-ranges",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service(
          "ns1",
          "lb",
          {
            type: "LoadBalancer",
            clusterIP: "10.0.0.60",
            ports: [tcp(80, "p80", 8080, 30060)],
            loadBalancerSourceRanges: [" 203.0.113.0/24", "192.168.0.0/16 "],
          },
          ["1.2.3.4", "5.6.7.8"],
        ),
      ],
      slices: [threeEps("ns1", "lb", 8080, "p80")],
    }),
  },
  {
    name: "loadbalancer-plain",
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "lbp", { type: "LoadBalancer", clusterIP: "10.0.0.61", ports: [tcp(80, "p80", 8080, 30061)] }, ["1.2.3.5"])],
      slices: [threeEps("ns1", "lbp", 8080, "p80")],
    }),
  },
  {
    name: "etp-local",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service(
          "ns1",
          "loc",
          {
            type: "LoadBalancer",
            clusterIP: "10.0.0.70",
            ports: [tcp(80, "p80", 8080, 30070)],
            externalTrafficPolicy: "Local",
            healthCheckNodePort: 32000,
            externalIPs: ["192.168.99.13"],
          },
          ["1.2.3.6"],
        ),
      ],
      slices: [threeEps("ns1", "loc", 8080, "p80")],
    }),
  },
  {
    name: "etp-local-no-local-endpoints",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service(
          "ns1",
          "remote",
          {
            type: "LoadBalancer",
            clusterIP: "10.0.0.71",
            ports: [tcp(80, "p80", 8080, 30071)],
            externalTrafficPolicy: "Local",
            healthCheckNodePort: 32001,
            sessionAffinity: "ClientIP",
          },
          ["1.2.3.7"],
        ),
      ],
      slices: [slice("ns1", "remote", "r-a", [{ name: "p80", port: 8080 }], [ep("10.1.2.6", "node-2"), ep("10.1.2.7", "node-2")])],
    }),
  },
  {
    name: "etp-local-no-endpoints",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service("ns1", "none", {
          type: "NodePort",
          clusterIP: "10.0.0.72",
          ports: [tcp(80, "p80", 8080, 30072)],
          externalTrafficPolicy: "Local",
        }),
      ],
      slices: [],
    }),
  },
  {
    name: "itp-local",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service("ns1", "itl", { clusterIP: "10.0.0.80", ports: [tcp(80)], internalTrafficPolicy: "Local" }),
        service("ns1", "itr", { clusterIP: "10.0.0.81", ports: [tcp(80)], internalTrafficPolicy: "Local" }),
      ],
      slices: [
        threeEps("ns1", "itl", 80),
        slice("ns1", "itr", "itr-a", [{ port: 80 }], [ep("10.1.2.6", "node-2")]),
      ],
    }),
  },
  {
    name: "udp-sctp",
    state: cluster({
      nodes: [N1, N2],
      services: [
        service("kube-system", "kube-dns", {
          clusterIP: "10.0.0.10",
          ports: [
            { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
            { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
          ],
        }),
        service("ns1", "sctp", { type: "NodePort", clusterIP: "10.0.0.90", ports: [{ name: "", protocol: "SCTP", port: 9999, targetPort: 9999, nodePort: 30999 }] }),
      ],
      slices: [
        slice("kube-system", "kube-dns", "dns-a", [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53 }], [
          ep("10.1.1.2", "node-1"),
          ep("10.1.2.3", "node-2"),
        ]),
        slice("ns1", "sctp", "sctp-a", [{ port: 9999, protocol: "SCTP" }], [ep("10.1.2.4", "node-2")]),
      ],
    }),
  },
  {
    name: "nodeport-addresses",
    cfg: { nodePortAddresses: ["192.168.0.0/24", "127.0.0.0/8"], localhostNodePorts: false },
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "np", { type: "NodePort", clusterIP: "10.0.0.40", ports: [tcp(80, "p80", 8080, 30001)] })],
      slices: [threeEps("ns1", "np", 8080, "p80")],
    }),
  },
  {
    name: "no-localhost-nodeports",
    cfg: { localhostNodePorts: false, detectLocalMode: "InterfaceNamePrefix", interfaceNamePrefix: "veth" },
    state: cluster({
      nodes: [N1, N2],
      services: [service("ns1", "np", { type: "NodePort", clusterIP: "10.0.0.40", ports: [tcp(80, "p80", 8080, 30001)] })],
      slices: [threeEps("ns1", "np", 8080, "p80")],
    }),
  },
  {
    name: "terminating-fallback",
    // §2.9 worked example (TestTerminatingEndpointsTrafficPolicyLocal, "only terminating endpoints exist" shape)
    state: cluster({
      nodes: [N1, N2],
      services: [
        service("ns1", "svc1", {
          type: "LoadBalancer",
          clusterIP: "172.30.1.1",
          ports: [tcp(80, "", 80, 30010)],
          externalTrafficPolicy: "Local",
          healthCheckNodePort: 30000,
          sessionAffinity: "ClientIP",
        }, ["1.2.3.4"]),
      ],
      slices: [
        slice("ns1", "svc1", "svc1-a", [{ port: 80 }], [
          ep("10.0.1.2", "node-1", { ready: false, serving: true, terminating: true }),
          ep("10.0.1.3", "node-1", { ready: false, serving: true, terminating: true }),
          ep("10.0.1.4", "node-1", { ready: false, serving: false, terminating: true }),
          ep("10.0.1.5", "node-2", { ready: true, serving: true, terminating: false }),
        ]),
      ],
      clusterCIDR: "10.0.0.0/8",
    }),
    cfg: { clusterCIDR: "10.0.0.0/8" },
  },
];
