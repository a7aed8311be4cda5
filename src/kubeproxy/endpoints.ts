/**
 * The service ports and endpoint sets kube-proxy works from on one node.
 *
 * Service ports (both profiles): every port of every Service with a usable ClusterIP ("None" and ""
 * are skipped, as kube-proxy's ShouldSkipService does; so are Services labelled
 * service.kubernetes.io/service-proxy-name, which belong to another proxy).
 *
 * Endpoints: EndpointSlices of the Service (label kubernetes.io/service-name, else the slice's
 * serviceName field; same namespace). An endpoint port is the slice port with the same name and
 * protocol as the service port. Only addresses[0] is used (as kube-proxy does); endpoints without
 * an address are skipped. Duplicate "ip:port" entries across slices are merged: the first one (in
 * slice-key order) is kept unless a later copy is local to this node (the local copy wins).
 * Conditions: absent ready/serving count as true, absent terminating as false.
 *
 * Profiles:
 * - "v1.16": the Endpoints API era. Only ready addresses exist for kube-proxy (notReadyAddresses
 *   are ignored), there is no terminating fallback, order is the Endpoints object order, which
 *   the endpoints controller sorts by IP string (bytewise), then port.
 * - "current" (v1.28 semantics, KUBE-PROXY.md §2.9): cluster set = ready endpoints, or if none
 *   anywhere, serving && terminating; local set likewise over local endpoints; hasEndpoints =
 *   any ready or serving&&terminating endpoint; SEP chains for the union of the two sets;
 *   non-serving endpoints never. Order: ascending by the "ip:port" string.
 *
 * Not modelled: topology-aware hints and trafficDistribution (kube-proxy uses them only when the
 * feature gate/annotation, the node's zone label and complete hints all line up; svcsim always
 * behaves as if hints were absent); dual-stack filtering (IPv4 only).
 */
import type { ClusterState, Endpoint, EndpointSliceState, ServicePort, ServiceState } from "../cluster/types.ts";
import type { ProfileName } from "./types.ts";
import { protoLower, servicePortName, serviceChainNames, type ServiceChainNames } from "./names.ts";

export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** "ip:port" */
  readonly key: string;
  readonly nodeName: string | undefined;
  readonly isLocal: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

export interface ServicePortInfo {
  readonly service: ServiceState;
  readonly port: ServicePort;
  /** servicePortName string in the profile's format. */
  readonly name: string;
  readonly protocol: "tcp" | "udp" | "sctp";
  readonly clusterIP: string;
  readonly chains: ServiceChainNames;
  /** Node port (0 if none). Only for type NodePort/LoadBalancer. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  /** Trimmed loadBalancerSourceRanges. */
  readonly sourceRanges: readonly string[];
  readonly healthCheckNodePort: number;
  readonly affinityTimeout: number; // 0 = no ClientIP affinity
  /** eTP=Local and the service is externally reachable by type (NodePort/LoadBalancer). */
  readonly externalPolicyLocal: boolean;
  /** iTP=Local (current profile only; v1.16 has no internalTrafficPolicy). */
  readonly internalPolicyLocal: boolean;
  /** nodePort != 0 || LB IPs || externalIPs */
  readonly externallyAccessible: boolean;
}

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";

function bytewise(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** All service ports kube-proxy programs, sorted by servicePortName (svcsim's deterministic order). */
export function collectServicePorts(state: ClusterState, profile: ProfileName): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const key of Object.keys(state.services)) {
    const svc = state.services[key] as ServiceState;
    const ip = svc.spec.clusterIP;
    if (ip === "" || ip === "None") continue;
    if (svc.meta.labels[SERVICE_PROXY_NAME_LABEL] !== undefined) continue;
    const t = svc.spec.type;
    const byType = t === "NodePort" || t === "LoadBalancer";
    const lbIPs = t === "LoadBalancer" ? svc.status.loadBalancerIngressIPs.filter((s) => s !== "") : [];
    for (const p of svc.spec.ports) {
      const name = servicePortName(profile, svc.meta.namespace, svc.meta.name, p.name);
      const protocol = protoLower(p.protocol);
      const nodePort = byType && p.nodePort !== undefined ? p.nodePort : 0;
      const externallyAccessible = nodePort !== 0 || lbIPs.length > 0 || svc.spec.externalIPs.length > 0;
      out.push({
        service: svc,
        port: p,
        name,
        protocol,
        clusterIP: ip,
        chains: serviceChainNames(name, protocol),
        nodePort,
        externalIPs: svc.spec.externalIPs,
        loadBalancerIPs: lbIPs,
        sourceRanges: svc.spec.loadBalancerSourceRanges.map((s) => s.trim()).filter((s) => s !== ""),
        healthCheckNodePort:
          t === "LoadBalancer" && svc.spec.externalTrafficPolicy === "Local" ? (svc.spec.healthCheckNodePort ?? 0) : 0,
        affinityTimeout: svc.spec.sessionAffinity === "ClientIP" ? svc.spec.sessionAffinityTimeoutSeconds : 0,
        externalPolicyLocal: byType && svc.spec.externalTrafficPolicy === "Local",
        internalPolicyLocal: profile !== "v1.16" && svc.spec.internalTrafficPolicy === "Local",
        externallyAccessible,
      });
    }
  }
  out.sort((a, b) => bytewise(a.name, b.name));
  return out;
}

/** EndpointSlices grouped by "namespace/serviceName", each group in slice-key order. */
export function slicesByService(state: ClusterState): Map<string, EndpointSliceState[]> {
  const m = new Map<string, EndpointSliceState[]>();
  for (const key of Object.keys(state.endpointSlices).sort(bytewise)) {
    const s = state.endpointSlices[key] as EndpointSliceState;
    const svcName = s.meta.labels[SERVICE_NAME_LABEL] ?? s.serviceName;
    if (!svcName) continue;
    const k = `${s.meta.namespace}/${svcName}`;
    let arr = m.get(k);
    if (!arr) m.set(k, (arr = []));
    arr.push(s);
  }
  return m;
}

function makeEndpoint(ep: Endpoint, port: number, nodeName: string): EndpointInfo | null {
  const ip = ep.addresses[0];
  if (ip === undefined || ip === "") return null;
  const c = ep.conditions;
  return {
    ip,
    port,
    key: `${ip}:${port}`,
    nodeName: ep.nodeName,
    isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
    ready: c.ready !== false,
    serving: c.serving !== false,
    terminating: c.terminating === true,
  };
}

function ipThenPort(a: EndpointInfo, b: EndpointInfo): number {
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port;
}
function byKey(a: EndpointInfo, b: EndpointInfo): number {
  return bytewise(a.key, b.key);
}

/**
 * Every endpoint of one service port as kube-proxy's endpoints map holds it on `nodeName`, in the
 * profile's order. v1.16 keeps only ready endpoints here (the Endpoints API had no others).
 */
export function endpointsForServicePort(
  slices: readonly EndpointSliceState[] | undefined,
  sp: ServicePortInfo,
  nodeName: string,
  profile: ProfileName,
): EndpointInfo[] {
  if (!slices || slices.length === 0) return [];
  const byKeyMap = new Map<string, EndpointInfo>();
  const portName = sp.port.name;
  const proto = sp.port.protocol;
  for (const s of slices) {
    let port = -1;
    for (const p of s.ports) {
      if (p.name === portName && p.protocol === proto) {
        port = p.port;
        break;
      }
    }
    if (port < 0) continue;
    for (const ep of s.endpoints) {
      const info = makeEndpoint(ep, port, nodeName);
      if (info === null) continue;
      if (profile === "v1.16" && !info.ready) continue;
      const prev = byKeyMap.get(info.key);
      if (prev === undefined || info.isLocal) byKeyMap.set(info.key, info);
    }
  }
  const arr = [...byKeyMap.values()];
  arr.sort(profile === "v1.16" ? ipThenPort : byKey);
  return arr;
}

export interface CategorizedEndpoints {
  /** Endpoints the cluster-policy chain (KUBE-SVC) balances over. */
  readonly cluster: readonly EndpointInfo[];
  /** Endpoints the local-policy chain (KUBE-SVL, or KUBE-XLB in v1.16) balances over. */
  readonly local: readonly EndpointInfo[];
  /** Endpoints that get a KUBE-SEP chain. */
  readonly reachable: readonly EndpointInfo[];
  readonly hasEndpoints: boolean;
}

/** Whether the service port uses the cluster-policy endpoints (current profile, v1.28 rules). */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || sp.externallyAccessible;
}
/** Whether the service port uses the local-policy endpoints (current profile). */
export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && sp.externallyAccessible);
}

/** Splits a service port's endpoints into the sets kube-proxy uses (see module doc). */
export function categorizeEndpoints(all: readonly EndpointInfo[], sp: ServicePortInfo, profile: ProfileName): CategorizedEndpoints {
  if (profile === "v1.16") {
    // all are ready already; XLB (OnlyLocal) uses the local ones.
    const local = sp.externalPolicyLocal ? all.filter((e) => e.isLocal) : [];
    return { cluster: all, local, reachable: all, hasEndpoints: all.length > 0 };
  }
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasEndpoints = false;
  const useCluster = usesClusterEndpoints(sp);
  if (useCluster) {
    cluster = all.filter((e) => e.ready);
    if (cluster.length === 0) cluster = all.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasEndpoints = true;
  }
  if (!usesLocalEndpoints(sp)) return { cluster, local, reachable: cluster, hasEndpoints };
  let localReady = false;
  let localST = false;
  for (const e of all) {
    if (e.ready) {
      hasEndpoints = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasEndpoints = true;
      if (e.isLocal) localST = true;
    }
  }
  let usedST = false;
  if (localReady) local = all.filter((e) => e.isLocal && e.ready);
  else if (localST) {
    usedST = true;
    local = all.filter((e) => e.isLocal && e.serving && e.terminating);
  }
  if (!useCluster) return { cluster, local, reachable: local, hasEndpoints };
  if (!usedST) return { cluster, local, reachable: cluster, hasEndpoints };
  // Union. Upstream builds it from a Go map (random order); svcsim sorts by "ip:port".
  const m = new Map<string, EndpointInfo>();
  for (const e of cluster) m.set(e.key, e);
  for (const e of local) m.set(e.key, e);
  const reachable = [...m.values()].sort(byKey);
  return { cluster, local, reachable, hasEndpoints };
}
