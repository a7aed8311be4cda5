/**
 * Test-only builder of ClusterState objects for kube-proxy rule generation (no controllers: the
 * Services and EndpointSlices are written directly, the way kube-proxy's own tests do).
 */
import type {
  ClusterState,
  Endpoint,
  EndpointConditions,
  EndpointSliceState,
  NodeState,
  ObjectMeta,
  ServicePort,
  ServiceState,
} from "../../src/cluster/types.ts";

export function meta(namespace: string, name: string, labels: Record<string, string> = {}): ObjectMeta {
  return { name, namespace, labels, annotations: {}, uid: `${namespace}-${name}`, creationTimestamp: 0 };
}

export function node(name: string, ip: string, podCIDR = ""): NodeState {
  return { name, ip, podCIDR, ready: true, up: true, labels: {} };
}

export type SvcSpec = Partial<ServiceState["spec"]> & { clusterIP: string; ports: readonly ServicePort[] };

export function service(ns: string, name: string, spec: SvcSpec, lbIPs: readonly string[] = []): ServiceState {
  return {
    meta: meta(ns, name),
    spec: {
      type: "ClusterIP",
      sessionAffinity: "None",
      sessionAffinityTimeoutSeconds: 10800,
      externalIPs: [],
      externalTrafficPolicy: "Cluster",
      internalTrafficPolicy: "Cluster",
      loadBalancerSourceRanges: [],
      ...spec,
    },
    status: { loadBalancerIngressIPs: lbIPs },
  };
}

export function tcp(port: number, name = "", targetPort: number | string = port, nodePort?: number): ServicePort {
  return nodePort === undefined ? { name, protocol: "TCP", port, targetPort } : { name, protocol: "TCP", port, targetPort, nodePort };
}

export function ep(ip: string, nodeName?: string, conditions: EndpointConditions = {}): Endpoint {
  return nodeName === undefined ? { addresses: [ip], conditions } : { addresses: [ip], conditions, nodeName };
}

export function slice(
  ns: string,
  svcName: string,
  sliceName: string,
  ports: readonly { name?: string; port: number; protocol?: "TCP" | "UDP" | "SCTP" }[],
  endpoints: readonly Endpoint[],
): EndpointSliceState {
  return {
    meta: meta(ns, sliceName, { "kubernetes.io/service-name": svcName }),
    serviceName: svcName,
    addressType: "IPv4",
    ports: ports.map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" })),
    endpoints,
    managed: true,
  };
}

export function cluster(opts: {
  nodes: readonly NodeState[];
  services: readonly ServiceState[];
  slices: readonly EndpointSliceState[];
  clusterCIDR?: string;
}): ClusterState {
  const rec = <T>(xs: readonly T[], key: (x: T) => string) => Object.fromEntries(xs.map((x) => [key(x), x]));
  return {
    network: { serviceCIDR: "10.0.0.0/16", clusterCIDR: opts.clusterCIDR ?? "10.1.0.0/16", clusterDomain: "cluster.local" },
    nodes: rec(opts.nodes, (n) => n.name),
    deployments: {},
    replicaSets: {},
    pods: {},
    services: rec(opts.services, (s) => `${s.meta.namespace}/${s.meta.name}`),
    endpointSlices: rec(opts.slices, (s) => `${s.meta.namespace}/${s.meta.name}`),
  };
}

/** The seed cluster (2019 blog post): default/hostnames, port "default" 80 → 9376, three endpoints. */
export function seedCluster(): ClusterState {
  return cluster({
    nodes: [node("node-1", "192.168.0.11", "10.1.161.0/24"), node("node-2", "192.168.0.12", "10.1.166.0/24")],
    services: [service("default", "hostnames", { clusterIP: "10.0.91.192", ports: [tcp(80, "default", 9376)] })],
    slices: [
      slice("default", "hostnames", "hostnames-abcde", [{ name: "default", port: 9376 }], [
        ep("10.1.166.166", "node-2"),
        ep("10.1.161.47", "node-1"),
        ep("10.1.166.146", "node-2"),
      ]),
    ],
    clusterCIDR: "10.1.0.0/16",
  });
}
