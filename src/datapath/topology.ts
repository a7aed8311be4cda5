/**
 * Per-node addressing and routing derived from cluster state: which addresses are the node's own
 * (addrtype LOCAL), which pod sits behind which veth, and where other destinations go.
 *
 * Model: flat, routed pod network (like Calico or flannel host-gw): each node owns its podCIDR;
 * a packet for another node's podCIDR or node IP goes to that node over eth0; anything else leaves
 * by the default route. The masquerade address for any egress is the node's InternalIP (with a
 * bridge CNI such as flannel vxlan/cni0, traffic to local pods would instead be masqueraded to the
 * bridge address; svcsim does not model bridges). Not modelled: overlay encapsulation, IPv6.
 *
 * LoadBalancer ingress IPs are addrtype LOCAL on every node, as on GCE, whose guest agent adds
 * each forwarding-rule IP to the node's `local` routing table (KUBE-PROXY.md §6.5: "any LB IP the
 * cloud has made local"); the cloud load balancer passes packets through with the LB IP as
 * destination. Traffic to an LB IP that kube-proxy does not DNAT therefore ends in filter INPUT
 * (v1.16: KUBE-FIREWALL drops what KUBE-MARK-DROP marked; v1.24+: KUBE-PROXY-FIREWALL). Clouds
 * that instead deliver to the nodePort (AWS classic ELB, NLB instance targets) are modelled by
 * targeting nodeIP:nodePort. externalIPs are not local: the network routes them to a node.
 *
 * The cloud side (which node an LB IP or externalIP reaches) is `buildExternalRouting`.
 */
import { cidrContains, parseCidr, parseIPv4, tryParseIPv4, LOOPBACK_NET, type Cidr, type IPv4 } from "../net/ip.ts";
import type { ClusterState, PodState } from "../cluster/types.ts";
import { sortedValues } from "../cluster/types.ts";
import type { NodeRouting, Route } from "./pipeline.ts";
import { IntMap } from "../engine/intmap.ts";

export interface NodeAddressing extends NodeRouting {
  readonly nodeIP: IPv4;
  readonly podCIDR: Cidr;
  /** addrtype LOCAL on this node. */
  isLocal(addr: IPv4): boolean;
  /** The veth interface name of a pod on this node. */
  podIface(podKey: string): string | undefined;
  /** Which pod (namespace/name) owns a local pod address, if any. */
  podAt(addr: IPv4): string | undefined;
}

/** Host-side veth name for a pod: "veth" + 8 hex digits of a stable hash of namespace/name. */
export function vethName(podKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < podKey.length; i++) { h ^= podKey.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return "veth" + h.toString(16).padStart(8, "0");
}

function podHasAddress(p: PodState): boolean {
  return p.status.podIP !== "" && p.status.phase !== "Succeeded" && p.status.phase !== "Failed";
}

export function buildNodeAddressing(state: ClusterState, nodeName: string): NodeAddressing {
  const node = state.nodes[nodeName];
  if (!node) throw new Error(`unknown node ${nodeName}`);
  const nodeIP = parseIPv4(node.ip);
  const podCIDR = parseCidr(node.podCIDR);
  // One route object per local pod serves routing, podAt and podIface (100,000 pods at 10,000 Services).
  const podRoutes = new Map<IPv4, Extract<Route, { kind: "pod" }>>();
  const ifaceByPod = new Map<string, string>();
  for (const p of sortedValues(state.pods)) {
    if (p.spec.nodeName !== nodeName || !podHasAddress(p)) continue;
    const key = `${p.meta.namespace}/${p.meta.name}`;
    const iface = vethName(key);
    podRoutes.set(parseIPv4(p.status.podIP), { kind: "pod", iface, pod: key });
    ifaceByPod.set(key, iface);
  }
  const others = sortedValues(state.nodes)
    .filter((n) => n.name !== nodeName)
    .map((n) => ({ name: n.name, ip: parseIPv4(n.ip), podCIDR: parseCidr(n.podCIDR) }));

  const LOCAL: Route = { kind: "local" };
  const EXTERNAL: Route = { kind: "external", iface: "eth0" };
  const UNREACHABLE: Route = { kind: "unreachable" };
  const nodeRoutes = others.map((o) => ({ ...o, route: { kind: "node", iface: "eth0", node: o.name } as Route }));

  const lbIPs = loadBalancerIPs(state);
  const isLocal = lbIPs.size === 0
    ? (a: IPv4): boolean => a === nodeIP || cidrContains(LOOPBACK_NET, a)
    : (a: IPv4): boolean => a === nodeIP || cidrContains(LOOPBACK_NET, a) || lbIPs.has(a);
  const lookup = (dst: IPv4): Route => {
    if (isLocal(dst)) return LOCAL;
    const pr = podRoutes.get(dst);
    if (pr) return pr;
    if (cidrContains(podCIDR, dst)) return UNREACHABLE; // our pod range, no such pod
    for (const o of nodeRoutes) if (o.ip === dst || cidrContains(o.podCIDR, dst)) return o.route;
    return EXTERNAL;
  };
  // The FIB never changes under an addressing object (a change builds a new one), so each
  // destination's decision is remembered: one map lookup per packet after the first.
  const routeCache = new IntMap<Route>();
  return {
    name: nodeName,
    nodeIP,
    podCIDR,
    isLocal,
    route(dst: IPv4): Route {
      let r = routeCache.get(dst);
      if (r === undefined) {
        r = lookup(dst);
        routeCache.set(dst, r);
      }
      return r;
    },
    egressAddress(): IPv4 {
      return nodeIP;
    },
    podIface: (k) => ifaceByPod.get(k),
    podAt: (a) => podRoutes.get(a)?.pod,
  };
}

/** Every Service's LoadBalancer ingress IP (status.loadBalancer.ingress[].ip). */
export function loadBalancerIPs(state: ClusterState): Set<IPv4> {
  const out = new Set<IPv4>();
  for (const svc of sortedValues(state.services)) {
    if (svc.spec.type !== "LoadBalancer") continue;
    for (const ip of svc.status.loadBalancerIngressIPs) {
      const a = tryParseIPv4(ip);
      if (a !== null) out.add(a);
    }
  }
  return out;
}

/**
 * Where the outside network sends a Service address that is no node's and no pod's.
 *
 * - LoadBalancer ingress IP: a cloud pass-through load balancer (GCE network LB, MetalLB in BGP
 *   mode) that picks a backend node per connection by hashing the 5-tuple over the nodes whose
 *   health check passes. With externalTrafficPolicy Cluster every node passes (the check is
 *   kube-proxy's own /healthz on port 10256); with Local a node passes only while it has a local
 *   ready endpoint (the healthCheckNodePort answers 200 only then; kube-proxy's
 *   service-health server counts local endpoints). A node that is down never passes. When no node
 *   passes, the LB falls back to all nodes (GCE's behaviour when every backend is unhealthy).
 *   Health is evaluated on the cluster state the network was built from (no probe interval is
 *   modelled; real LBs take a few probe intervals to notice).
 * - externalIP: not managed by Kubernetes; the network routes it to one node (the administrator's
 *   static route). Default: the first node; ExternalRoutingOptions.externalIPNode overrides it.
 */
export interface ExternalTarget {
  readonly kind: "loadBalancer" | "externalIP";
  /** Candidate nodes (names, sorted), before the per-connection choice. */
  readonly nodes: readonly string[];
}

export interface ExternalRoutingOptions {
  /** Node that receives externalIP traffic (default: the first node by name). */
  readonly externalIPNode?: string;
}

function hasLocalReadyEndpoint(state: ClusterState, svcKey: string, node: string): boolean {
  for (const sl of sortedValues(state.endpointSlices)) {
    if (`${sl.meta.namespace}/${sl.serviceName}` !== svcKey) continue;
    for (const ep of sl.endpoints) if (ep.nodeName === node && ep.conditions.ready !== false) return true;
  }
  return false;
}

export function buildExternalRouting(state: ClusterState, opts: ExternalRoutingOptions = {}): Map<IPv4, ExternalTarget> {
  const nodes = sortedValues(state.nodes);
  const all = nodes.map((n) => n.name);
  const out = new Map<IPv4, ExternalTarget>();
  const eipNode = opts.externalIPNode ?? all[0];
  for (const svc of sortedValues(state.services)) {
    const key = `${svc.meta.namespace}/${svc.meta.name}`;
    for (const ip of svc.spec.externalIPs) {
      const a = tryParseIPv4(ip);
      if (a !== null && eipNode !== undefined && !out.has(a)) out.set(a, { kind: "externalIP", nodes: [eipNode] });
    }
    if (svc.spec.type !== "LoadBalancer") continue;
    const local = svc.spec.externalTrafficPolicy === "Local";
    const healthy = nodes.filter((n) => n.up && (!local || hasLocalReadyEndpoint(state, key, n.name))).map((n) => n.name);
    for (const ip of svc.status.loadBalancerIngressIPs) {
      const a = tryParseIPv4(ip);
      if (a !== null) out.set(a, { kind: "loadBalancer", nodes: healthy.length > 0 ? healthy : all });
    }
  }
  return out;
}

/** The LB's per-connection choice: a hash of the 5-tuple over the candidates (stable per flow). */
export function pickByTuple(n: number, src: IPv4, sport: number, dst: IPv4, dport: number, proto: number): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ src, 0x01000193) >>> 0;
  h = Math.imul(h ^ dst, 0x01000193) >>> 0;
  h = Math.imul(h ^ ((sport << 16) | dport), 0x01000193) >>> 0;
  h = Math.imul(h ^ proto, 0x01000193) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  return h % n;
}
