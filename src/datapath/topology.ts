/**
 * Per-node addressing and routing derived from cluster state: which addresses are the node's own
 * (addrtype LOCAL), which pod sits behind which veth, and where other destinations go.
 *
 * Model: flat, routed pod network (like Calico or flannel host-gw): each node owns its podCIDR;
 * a packet for another node's podCIDR or node IP goes to that node over eth0; anything else leaves
 * by the default route. The masquerade address for any egress is the node's InternalIP (with a
 * bridge CNI such as flannel vxlan/cni0, traffic to local pods would instead be masqueraded to the
 * bridge address; svcsim does not model bridges). Not modelled: overlay encapsulation, IPv6.
 */
import { cidrContains, parseCidr, parseIPv4, LOOPBACK_NET, type Cidr, type IPv4 } from "../net/ip.ts";
import type { ClusterState, PodState } from "../cluster/types.ts";
import { sortedValues } from "../cluster/types.ts";
import type { NodeRouting, Route } from "./pipeline.ts";

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
  const localPods = new Map<IPv4, { key: string; iface: string }>();
  const ifaceByPod = new Map<string, string>();
  for (const p of sortedValues(state.pods)) {
    if (p.spec.nodeName !== nodeName || !podHasAddress(p)) continue;
    const key = `${p.meta.namespace}/${p.meta.name}`;
    const iface = vethName(key);
    localPods.set(parseIPv4(p.status.podIP), { key, iface });
    ifaceByPod.set(key, iface);
  }
  const others = sortedValues(state.nodes)
    .filter((n) => n.name !== nodeName)
    .map((n) => ({ name: n.name, ip: parseIPv4(n.ip), podCIDR: parseCidr(n.podCIDR) }));

  const LOCAL: Route = { kind: "local" };
  const EXTERNAL: Route = { kind: "external", iface: "eth0" };
  const UNREACHABLE: Route = { kind: "unreachable" };
  const podRoutes = new Map<IPv4, Route>();
  for (const [addr, p] of localPods) podRoutes.set(addr, { kind: "pod", iface: p.iface, pod: p.key });
  const nodeRoutes = others.map((o) => ({ ...o, route: { kind: "node", iface: "eth0", node: o.name } as Route }));

  const isLocal = (a: IPv4): boolean => a === nodeIP || cidrContains(LOOPBACK_NET, a);
  return {
    name: nodeName,
    nodeIP,
    podCIDR,
    isLocal,
    route(dst: IPv4): Route {
      if (isLocal(dst)) return LOCAL;
      const pr = podRoutes.get(dst);
      if (pr) return pr;
      if (cidrContains(podCIDR, dst)) return UNREACHABLE; // our pod range, no such pod
      for (const o of nodeRoutes) if (o.ip === dst || cidrContains(o.podCIDR, dst)) return o.route;
      return EXTERNAL;
    },
    egressAddress(): IPv4 {
      return nodeIP;
    },
    podIface: (k) => ifaceByPod.get(k),
    podAt: (a) => localPods.get(a)?.key,
  };
}
