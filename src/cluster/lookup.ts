/**
 * Lookups that let whole-cluster convergence run in near-linear time (10,000 Services ×
 * 10 endpoints = 100,000 pods in a few seconds).
 *
 * The controllers of ./recipes.ts and ./endpoints.ts answer each question ("which pods does this
 * ReplicaSet own?", "how many pods are on each node?", "which addresses of this podCIDR are
 * taken?", "which pods does this selector match?") by scanning the whole state; run once per object
 * that is O(objects²). `convergeCluster` builds one ClusterLookup from the draft at its start,
 * passes it to every recipe it runs, and each recipe keeps it up to date with what it changes. The
 * recipes give exactly the same results with or without it (test/cluster/lookup.test.ts keeps the
 * scanning implementation as the reference).
 *
 * It is only valid while the recipes that own it are the only writers, and only for the changes
 * they make (objects are added, never removed or relabelled; addresses and ports are allocated,
 * never freed), which is what convergence does. The real API server answers the same questions
 * with informer caches and label indexers; this is the same idea, built per batch.
 */
import type { Draft } from "immer";
import { tryParseIPv4 } from "../net/ip.ts";
import type { ClusterState, Labels, PodState } from "./types.ts";

function add(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

const NO_KEYS: ReadonlySet<string> = new Set();

export class ClusterLookup {
  /** `${ns}\0${ownerRef}` → pod keys. */
  private readonly podsByOwner = new Map<string, Set<string>>();
  /** `${ns}\0${label}\0${value}` → pod keys. */
  private readonly podsByLabel = new Map<string, Set<string>>();
  /** `${ns}\0${ownerRef}` → ReplicaSet keys. */
  private readonly rsByOwner = new Map<string, Set<string>>();
  /** `${ns}\0${serviceName}` → EndpointSlice keys (managed or not). */
  private readonly slicesByService = new Map<string, Set<string>>();
  /** Pods bound to each node (any phase, terminating included), as the scheduler counts them. */
  readonly podsPerNode = new Map<string, number>();
  /** Pod addresses in use: every pod's podIP and every pinned IP (uint32). */
  readonly usedPodIPs = new Set<number>();
  /** Per podCIDR text: the lowest index that may still be free (nothing is freed while this lives). */
  readonly podIPCursor = new Map<string, number>();
  /** Cluster IPs in use (uint32). */
  readonly usedClusterIPs = new Set<number>();
  /** Lowest service-CIDR index that may still be free. */
  clusterIPCursor = 2;
  /** Node ports in use (nodePort and healthCheckNodePort). */
  readonly usedNodePorts = new Set<number>();
  /** Lowest node port that may still be free. */
  nodePortCursor = 0;
  /** Node names in canonical (bytewise) order; nodes are not added during convergence. */
  readonly sortedNodeNames: readonly string[];
  /** Pin keys in canonical order (pins are not added during convergence; only `claimed` changes). */
  readonly sortedPinKeys: readonly string[];

  private constructor(d: ClusterState | Draft<ClusterState>) {
    this.sortedNodeNames = Object.keys(d.nodes).sort();
    const pins = d.pins?.pods ?? {};
    this.sortedPinKeys = Object.keys(pins).sort();
    for (const k of this.sortedPinKeys) {
      const ip = pins[k]!.ip;
      if (ip) this.usedPodIPs.add(tryParseIPv4(ip) ?? -1);
    }
    for (const k of Object.keys(d.pods)) this.addPod(k, d.pods[k]!);
    for (const k of Object.keys(d.replicaSets)) {
      const rs = d.replicaSets[k]!;
      if (rs.meta.ownerRef !== undefined) this.addReplicaSet(k, rs.meta.namespace, rs.meta.ownerRef);
    }
    for (const k of Object.keys(d.endpointSlices)) {
      const s = d.endpointSlices[k]!;
      this.addSlice(k, s.meta.namespace, s.serviceName);
    }
    for (const k of Object.keys(d.services)) {
      const s = d.services[k]!;
      const a = tryParseIPv4(s.spec.clusterIP);
      if (a !== null) this.usedClusterIPs.add(a);
      for (const p of s.spec.ports) if (p.nodePort) this.usedNodePorts.add(p.nodePort);
      if (s.spec.healthCheckNodePort) this.usedNodePorts.add(s.spec.healthCheckNodePort);
    }
  }

  static build(d: ClusterState | Draft<ClusterState>): ClusterLookup {
    return new ClusterLookup(d);
  }

  // --- pods ------------------------------------------------------------------------------------

  addPod(key: string, p: PodState | Draft<PodState>): void {
    const ns = p.meta.namespace;
    if (p.meta.ownerRef !== undefined) add(this.podsByOwner, `${ns}\0${p.meta.ownerRef}`, key);
    const labels = p.meta.labels;
    for (const l of Object.keys(labels)) add(this.podsByLabel, `${ns}\0${l}\0${labels[l]}`, key);
    if (p.spec.nodeName) this.podBound(p.spec.nodeName);
    if (p.status.podIP) this.usedPodIPs.add(tryParseIPv4(p.status.podIP) ?? -1);
  }

  podBound(node: string): void {
    this.podsPerNode.set(node, (this.podsPerNode.get(node) ?? 0) + 1);
  }

  podsOwnedBy(namespace: string, owner: string): ReadonlySet<string> {
    return this.podsByOwner.get(`${namespace}\0${owner}`) ?? NO_KEYS;
  }

  /**
   * Keys of pods that may match a non-empty selector: the pods carrying the rarest of its
   * label=value pairs (callers still test the whole selector).
   */
  podCandidates(namespace: string, selector: Labels): ReadonlySet<string> {
    let best: ReadonlySet<string> | undefined;
    for (const k of Object.keys(selector)) {
      const s = this.podsByLabel.get(`${namespace}\0${k}\0${selector[k]}`);
      if (!s) return NO_KEYS;
      if (!best || s.size < best.size) best = s;
    }
    if (!best) throw new Error("podCandidates needs a non-empty selector");
    return best;
  }

  // --- replica sets ----------------------------------------------------------------------------

  addReplicaSet(key: string, namespace: string, owner: string): void {
    add(this.rsByOwner, `${namespace}\0${owner}`, key);
  }

  replicaSetsOwnedBy(namespace: string, owner: string): ReadonlySet<string> {
    return this.rsByOwner.get(`${namespace}\0${owner}`) ?? NO_KEYS;
  }

  // --- endpoint slices -------------------------------------------------------------------------

  addSlice(key: string, namespace: string, serviceName: string): void {
    add(this.slicesByService, `${namespace}\0${serviceName}`, key);
  }

  removeSlice(key: string, namespace: string, serviceName: string): void {
    this.slicesByService.get(`${namespace}\0${serviceName}`)?.delete(key);
  }

  slicesOf(namespace: string, serviceName: string): ReadonlySet<string> {
    return this.slicesByService.get(`${namespace}\0${serviceName}`) ?? NO_KEYS;
  }
}
