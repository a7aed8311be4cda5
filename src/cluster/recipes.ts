/**
 * The cluster's controllers and API writes as named immer recipes.
 *
 * Every recipe takes a draft of ClusterState and mutates it; callers batch one tick's recipes into
 * one `produce` (see `applyRecipes`). Recipes are small and pure: the caller passes simulated time
 * and a seeded uniform [0,1) stream (`ControllerContext`); nothing here reads a clock or owns
 * randomness. Controllers are "recipe + delay": the simulation decides when a recipe runs.
 *
 * Modelled after Kubernetes 1.16–1.30 behaviour, simplified where stated:
 * - Deployment controller: one ReplicaSet per distinct template (`<deploy>-<pod-template-hash>`);
 *   the current one gets spec.replicas and older ones are scaled to 0 at once. The RollingUpdate
 *   pacing (maxSurge/maxUnavailable, minReadySeconds) is NOT applied here: a rollout event drives
 *   this recipe step by step.
 * - ReplicaSet controller: creates pods named `<rs>-<5 chars>` (pinned names first); scale-down
 *   picks victims like the real controller's ranking, reduced to: unscheduled, not running, not
 *   ready, more restarts, newer, then name.
 * - Scheduler: deterministic, least pods then node name, among nodes that are Ready and up; pins
 *   win. Real kube-scheduler scores many plugins; none of them is modelled.
 * - IPAM (host-local, as kubenet/bridge CNI set it up): the lowest free address of the node's
 *   podCIDR, skipping the network address and the first host (.1, the node's bridge/gateway) and
 *   the broadcast address; pinned addresses are reserved for their pods.
 * - ClusterIP allocator: the lowest free address of the service CIDR, skipping the network address
 *   and the first host (.1, which the `kubernetes` Service holds; that Service itself is not
 *   created). Real allocators pick at random (and, from v1.24, from the upper band first).
 * - NodePort allocator: the lowest free port of 30000–32767 (real: random).
 */
import { castDraft, produce, setAutoFreeze, type Draft } from "immer";
import { cidrContains, cidrNth, cidrSize, formatIPv4, parseCidr, tryParseIPv4 } from "../net/ip.ts";
import { deterministicUid, podTemplateHash, randomSuffix } from "./names.ts";
import { MIRROR_MANAGER, reconcileEndpointSlicesFor } from "./endpoints.ts";
import { ClusterLookup } from "./lookup.ts";
export { ClusterLookup } from "./lookup.ts";
export { MIRROR_MANAGER, SLICE_MANAGER } from "./endpoints.ts";
import type {
  ClusterNetwork,
  ClusterState,
  DeploymentState,
  EndpointSlicePort,
  Endpoint,
  Labels,
  Nanos,
  ObjectMeta,
  PodPin,
  PodState,
  PodTemplate,
  ReplicaSetState,
  ServiceState,
} from "./types.ts";
import { objKey, sortedValues } from "./types.ts";

export type ClusterDraft = Draft<ClusterState>;
export type Recipe = (d: ClusterDraft) => void;

/** What controllers need from the simulation: the current simulated time and a seeded stream. */
export interface ControllerContext {
  readonly now: Nanos;
  /** Uniform [0,1), seeded (e.g. rng.stream("cluster/names")). */
  readonly rand: () => number;
}

/** Production paths call this once: freezing large states costs ~100× (DESIGN §6). Tests keep freezing on. */
export function productionMode(): void {
  setAutoFreeze(false);
}

/** Runs a batch of recipes as one immer `produce`. */
export function applyRecipes(state: ClusterState, recipe: Recipe): ClusterState {
  return produce(state, recipe);
}

export function emptyClusterState(network: ClusterNetwork): ClusterState {
  return { network, nodes: {}, deployments: {}, replicaSets: {}, pods: {}, services: {}, endpointSlices: {}, pins: { pods: {}, templateHashes: {} } };
}

// ---------------------------------------------------------------------------------------------
// Inputs (what an API write carries; the server fills the rest)

export interface NodeInput {
  readonly name: string;
  readonly ip: string;
  readonly podCIDR: string;
  readonly zone?: string;
  readonly labels?: Labels;
}

export interface ObjectInput {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Labels;
  readonly annotations?: Labels;
}

export interface DeploymentInput extends ObjectInput {
  readonly spec: DeploymentState["spec"];
}

export interface ServiceInput extends ObjectInput {
  /** clusterIP "" (or absent) = allocate; "None" = headless. */
  readonly spec: Omit<ServiceState["spec"], "clusterIP"> & { readonly clusterIP?: string };
  readonly loadBalancerIngressIPs?: readonly string[];
}

export interface PodInput extends ObjectInput {
  readonly spec: PodTemplate & { readonly nodeName?: string };
}

export interface EndpointSliceInput extends ObjectInput {
  readonly serviceName: string;
  readonly ports: readonly EndpointSlicePort[];
  readonly endpoints: readonly Endpoint[];
}

export interface EndpointsAddressInput {
  readonly ip: string;
  readonly nodeName?: string;
  readonly targetRef?: { readonly kind: "Pod"; readonly namespace: string; readonly name: string };
}

/** Legacy v1 Endpoints, for selector-less Services; mirrored into slices as the EndpointSliceMirroring controller does. */
export interface EndpointsInput extends ObjectInput {
  readonly subsets: readonly {
    readonly addresses: readonly EndpointsAddressInput[];
    readonly notReadyAddresses: readonly EndpointsAddressInput[];
    readonly ports: readonly EndpointSlicePort[];
  }[];
}

function meta(kind: string, o: ObjectInput, now: Nanos, ownerRef?: string): ObjectMeta {
  const labels = { ...(o.labels ?? {}) };
  const annotations = { ...(o.annotations ?? {}) };
  const uid = deterministicUid(kind, o.namespace, o.name, now);
  // Two plain literals (not a spread of one into the other): every pod's metadata then shares one
  // hidden class instead of getting its own (~100 bytes each, 100,000 pods at 10,000 Services).
  return ownerRef
    ? { name: o.name, namespace: o.namespace, labels, annotations, uid, creationTimestamp: now, ownerRef }
    : { name: o.name, namespace: o.namespace, labels, annotations, uid, creationTimestamp: now };
}

/** All of `selector` is in `labels`. An empty selector matches everything (Deployment semantics). */
export function selectorMatches(selector: Labels, labels: Labels): boolean {
  for (const k of Object.keys(selector)) if (labels[k] !== selector[k]) return false;
  return true;
}

function isTerminating(p: { meta: { deletionTimestamp?: Nanos } }): boolean {
  return p.meta.deletionTimestamp !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Nodes

export function addNode(d: ClusterDraft, n: NodeInput): void {
  d.nodes[n.name] = { name: n.name, ip: n.ip, podCIDR: n.podCIDR, ready: true, up: true, labels: { ...(n.labels ?? {}) }, ...(n.zone ? { zone: n.zone } : {}) };
}

export function setNodeUp(d: ClusterDraft, name: string, up: boolean): void {
  const n = d.nodes[name];
  if (n) n.up = up;
}

export function setNodeReady(d: ClusterDraft, name: string, ready: boolean): void {
  const n = d.nodes[name];
  if (n) n.ready = ready;
}

// ---------------------------------------------------------------------------------------------
// Pins

export function pinPod(d: ClusterDraft, pin: Omit<PodPin, "claimed">): void {
  if (!d.pins) d.pins = { pods: {}, templateHashes: {} };
  d.pins.pods[objKey(pin.namespace, pin.name)] = { ...pin, claimed: false };
}

/** Pins the pod-template-hash of a Deployment's current template (computed now from its spec). */
export function pinTemplateHash(d: ClusterDraft, deploymentKey: string, pinned: string): void {
  const dep = d.deployments[deploymentKey];
  if (!dep) return;
  if (!d.pins) d.pins = { pods: {}, templateHashes: {} };
  d.pins.templateHashes[deploymentKey] = { computed: podTemplateHash(dep.spec.template as PodTemplate), pinned };
}

// ---------------------------------------------------------------------------------------------
// Deployments and ReplicaSets

export function applyDeployment(d: ClusterDraft, input: DeploymentInput, now: Nanos): void {
  const key = objKey(input.namespace, input.name);
  const old = d.deployments[key];
  if (old) {
    old.spec = input.spec as Draft<DeploymentState["spec"]>;
    old.meta.labels = { ...(input.labels ?? {}) };
    return;
  }
  d.deployments[key] = { meta: meta("Deployment", input, now), spec: input.spec } as Draft<DeploymentState>;
}

export function scaleDeployment(d: ClusterDraft, key: string, replicas: number): void {
  const dep = d.deployments[key];
  if (dep) dep.spec.replicas = replicas;
}

/** The ReplicaSet name suffix this Deployment's current template gets (pinned hash if it applies). */
export function currentTemplateHash(state: ClusterState | ClusterDraft, deploymentKey: string): string {
  const dep = state.deployments[deploymentKey];
  if (!dep) throw new Error(`no deployment ${deploymentKey}`);
  const computed = podTemplateHash(dep.spec.template as PodTemplate);
  const pin = state.pins?.templateHashes[deploymentKey];
  return pin && pin.computed === computed ? pin.pinned : computed;
}

/**
 * `ix` (optional, see ./lookup.ts) answers "which ReplicaSets does this Deployment own" without a
 * scan; without it every ReplicaSet is looked at. Same result either way.
 */
export function reconcileDeployment(d: ClusterDraft, key: string, ctx: ControllerContext, ix?: ClusterLookup): void {
  const dep = d.deployments[key];
  if (!dep) return;
  const hash = currentTemplateHash(d, key);
  const ns = dep.meta.namespace;
  const rsName = `${dep.meta.name}-${hash}`;
  const rsKey = objKey(ns, rsName);
  const owner = `Deployment/${dep.meta.name}`;
  const rs = d.replicaSets[rsKey];
  if (!rs) {
    const labels = { ...dep.spec.template.labels, "pod-template-hash": hash };
    const created: ReplicaSetState = {
      meta: meta("ReplicaSet", { name: rsName, namespace: ns, labels }, ctx.now, owner),
      spec: {
        replicas: dep.spec.replicas,
        selector: { ...dep.spec.selector, "pod-template-hash": hash },
        template: { ...(dep.spec.template as PodTemplate), labels },
      },
      podTemplateHash: hash,
    };
    d.replicaSets[rsKey] = castDraft(created);
    ix?.addReplicaSet(rsKey, ns, owner);
  } else {
    rs.spec.replicas = dep.spec.replicas;
  }
  const candidates = ix ? [...ix.replicaSetsOwnedBy(ns, owner)].map((k) => d.replicaSets[k]).filter((x) => x !== undefined) : Object.values(d.replicaSets);
  for (const other of candidates) {
    if (other.meta.namespace === ns && other.meta.ownerRef === owner && other.meta.name !== rsName) other.spec.replicas = 0;
  }
}

function podsOwnedBy(d: ClusterDraft, namespace: string, owner: string, ix: ClusterLookup | undefined): Draft<PodState>[] {
  const candidates = ix ? [...ix.podsOwnedBy(namespace, owner)].map((k) => d.pods[k]).filter((p) => p !== undefined) : Object.values(d.pods);
  return candidates.filter((p) => p.meta.namespace === namespace && p.meta.ownerRef === owner);
}

function nextPodName(d: ClusterDraft, rsName: string, deployment: string | undefined, namespace: string, rand: () => number, ix: ClusterLookup | undefined): string {
  const pins = d.pins?.pods ?? {};
  for (const k of ix ? ix.sortedPinKeys : Object.keys(pins).sort()) {
    const pin = pins[k];
    if (!pin || pin.claimed || pin.namespace !== namespace || !pin.name.startsWith(`${rsName}-`)) continue;
    if (pin.deployment !== undefined && pin.deployment !== deployment) continue;
    if (d.pods[k]) continue;
    pin.claimed = true;
    return pin.name;
  }
  for (;;) {
    const name = `${rsName}-${randomSuffix(rand)}`;
    const k = objKey(namespace, name);
    if (!d.pods[k] && !pins[k]) return name;
  }
}

/** Scale-down ranking (lower = deleted first), a reduction of controller.ActivePods ordering. */
function victimOrder(a: Draft<PodState>, b: Draft<PodState>): number {
  const rank = (p: Draft<PodState>) => [p.spec.nodeName ? 1 : 0, p.status.running ? 1 : 0, p.status.ready ? 1 : 0];
  const ra = rank(a), rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  if (a.status.restartCount !== b.status.restartCount) return b.status.restartCount - a.status.restartCount;
  if (a.meta.creationTimestamp !== b.meta.creationTimestamp) return b.meta.creationTimestamp - a.meta.creationTimestamp;
  return a.meta.name < b.meta.name ? 1 : a.meta.name > b.meta.name ? -1 : 0;
}

/** `ix`: optional lookups (./lookup.ts) for the pods this ReplicaSet owns; same result without. */
export function reconcileReplicaSet(d: ClusterDraft, key: string, ctx: ControllerContext, ix?: ClusterLookup): void {
  const rs = d.replicaSets[key];
  if (!rs) return;
  const ns = rs.meta.namespace;
  const owner = `ReplicaSet/${rs.meta.name}`;
  const active = podsOwnedBy(d, ns, owner, ix).filter((p) => !isTerminating(p) && p.status.phase !== "Failed" && p.status.phase !== "Succeeded");
  const diff = rs.spec.replicas - active.length;
  const deployment = rs.meta.ownerRef?.startsWith("Deployment/") ? rs.meta.ownerRef.slice("Deployment/".length) : undefined;
  for (let i = 0; i < diff; i++) {
    const name = nextPodName(d, rs.meta.name, deployment, ns, ctx.rand, ix);
    const t = rs.spec.template;
    const pod = {
      meta: meta("Pod", { name, namespace: ns, labels: t.labels, annotations: t.annotations }, ctx.now, owner),
      spec: { ...(t as PodTemplate), nodeName: "" },
      status: { phase: "Pending", podIP: "", ready: false, running: false, restartCount: 0 },
    } as Draft<PodState>;
    d.pods[objKey(ns, name)] = pod;
    ix?.addPod(objKey(ns, name), pod);
  }
  if (diff < 0) {
    const victims = [...active].sort(victimOrder).slice(0, -diff);
    for (const v of victims) deletePod(d, objKey(ns, v.meta.name), ctx.now);
  }
}

// ---------------------------------------------------------------------------------------------
// Pods

/** A standalone Pod (kind: Pod manifest); spec.nodeName, when set, bypasses the scheduler as in Kubernetes. */
export function applyPod(d: ClusterDraft, input: PodInput, now: Nanos): void {
  d.pods[objKey(input.namespace, input.name)] = {
    meta: meta("Pod", input, now),
    spec: { ...input.spec, nodeName: input.spec.nodeName ?? "" },
    status: { phase: "Pending", podIP: "", ready: false, running: false, restartCount: 0 },
  } as Draft<PodState>;
}

function pinFor(d: ClusterDraft, key: string): Draft<PodPin> | undefined {
  return d.pins?.pods[key];
}

/** `ix`: optional lookups (./lookup.ts) holding the pods-per-node counts; same result without. */
export function schedulePod(d: ClusterDraft, key: string, ix?: ClusterLookup): void {
  const pod = d.pods[key];
  if (!pod || pod.spec.nodeName || isTerminating(pod)) return;
  const pin = pinFor(d, key);
  let node: string | undefined;
  if (pin?.node && d.nodes[pin.node]) node = pin.node;
  else if (pin?.ip) {
    const ip = tryParseIPv4(pin.ip);
    node = ip === null ? undefined : sortedValues(d.nodes).find((n) => cidrContains(parseCidr(n.podCIDR), ip))?.name;
  }
  if (node === undefined) {
    let counts: ReadonlyMap<string, number>;
    if (ix) counts = ix.podsPerNode;
    else {
      const m = new Map<string, number>();
      for (const p of Object.values(d.pods)) if (p.spec.nodeName) m.set(p.spec.nodeName, (m.get(p.spec.nodeName) ?? 0) + 1);
      counts = m;
    }
    let bestCount = Infinity;
    const names = ix ? ix.sortedNodeNames : Object.keys(d.nodes).sort();
    for (const name of names) {
      const n = d.nodes[name]!;
      if (!n.ready || !n.up) continue;
      const c = counts.get(n.name) ?? 0;
      if (c < bestCount) {
        node = n.name;
        bestCount = c;
      }
    }
  }
  if (node === undefined) return; // unschedulable: stays Pending
  pod.spec.nodeName = node;
  ix?.podBound(node);
}

/** `ix`: optional lookups (./lookup.ts) holding the addresses in use; same result without. */
export function assignPodIP(d: ClusterDraft, key: string, ix?: ClusterLookup): void {
  const pod = d.pods[key];
  if (!pod || !pod.spec.nodeName || pod.status.podIP) return;
  const node = d.nodes[pod.spec.nodeName];
  if (!node) return;
  const pin = pinFor(d, key);
  if (pin?.ip) {
    pod.status.podIP = pin.ip;
    return;
  }
  const cidr = parseCidr(node.podCIDR);
  let used: Set<number>;
  if (ix) used = ix.usedPodIPs;
  else {
    used = new Set<number>();
    for (const p of Object.values(d.pods)) if (p.status.podIP) used.add(tryParseIPv4(p.status.podIP) ?? -1);
    for (const pp of Object.values(d.pins?.pods ?? {})) if (pp.ip) used.add(tryParseIPv4(pp.ip) ?? -1);
  }
  const size = cidrSize(cidr);
  // With ix, addresses below the cursor are known to be taken (nothing is freed while ix lives).
  let i = ix?.podIPCursor.get(node.podCIDR) ?? 2;
  for (; i < size - 1; i++) {
    const a = cidrNth(cidr, i);
    if (!used.has(a)) {
      pod.status.podIP = formatIPv4(a);
      used.add(a);
      ix?.podIPCursor.set(node.podCIDR, i + 1);
      return;
    }
  }
  ix?.podIPCursor.set(node.podCIDR, i);
  // podCIDR exhausted: the sandbox cannot be created; the pod stays without an IP.
}

/** Kubelet started the containers: phase Running. */
export function startPod(d: ClusterDraft, key: string, now: Nanos): void {
  const pod = d.pods[key];
  if (!pod || !pod.spec.nodeName || !pod.status.podIP || isTerminating(pod)) return;
  pod.status.phase = "Running";
  pod.status.running = true;
  pod.status.startTime = now;
}

export function setPodRunning(d: ClusterDraft, key: string, running: boolean): void {
  const pod = d.pods[key];
  if (!pod) return;
  if (pod.status.running && !running) pod.status.ready = false;
  if (!pod.status.running && running && pod.status.phase === "Running") pod.status.restartCount += 1;
  pod.status.running = running;
}

export function setPodReady(d: ClusterDraft, key: string, ready: boolean): void {
  const pod = d.pods[key];
  if (pod) pod.status.ready = ready;
}

/**
 * Graceful deletion: metadata.deletionTimestamp = now + grace period (as the API server sets it:
 * the time by which the pod will be gone) and deletionGracePeriodSeconds. removePod finishes it.
 */
export function deletePod(d: ClusterDraft, key: string, now: Nanos, gracePeriodSeconds?: number): void {
  const pod = d.pods[key];
  if (!pod || isTerminating(pod)) return;
  const grace = gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds;
  pod.meta.deletionTimestamp = now + grace * 1_000_000_000;
  pod.meta.deletionGracePeriodSeconds = grace;
}

export function removePod(d: ClusterDraft, key: string): void {
  delete d.pods[key];
}

// ---------------------------------------------------------------------------------------------
// Services

export function applyService(d: ClusterDraft, input: ServiceInput, now: Nanos): void {
  const key = objKey(input.namespace, input.name);
  const old = d.services[key];
  const spec = { ...input.spec, clusterIP: input.spec.clusterIP ?? old?.spec.clusterIP ?? "" };
  d.services[key] = {
    meta: old ? { ...old.meta, labels: { ...(input.labels ?? {}) } } : meta("Service", input, now),
    spec,
    status: { loadBalancerIngressIPs: [...(input.loadBalancerIngressIPs ?? [])] },
  } as Draft<ServiceState>;
}

/** Allocates spec.clusterIP when it is "" (pinned and "None" are kept). */
/** `ix`: optional lookups (./lookup.ts) holding the cluster IPs in use; same result without. */
export function allocateClusterIP(d: ClusterDraft, key: string, ix?: ClusterLookup): void {
  const svc = d.services[key];
  if (!svc || svc.spec.clusterIP !== "") return;
  const cidr = parseCidr(d.network.serviceCIDR);
  let used: Set<number>;
  if (ix) used = ix.usedClusterIPs;
  else {
    used = new Set<number>();
    for (const s of Object.values(d.services)) {
      const a = tryParseIPv4(s.spec.clusterIP);
      if (a !== null) used.add(a);
    }
  }
  const size = cidrSize(cidr);
  let i = ix?.clusterIPCursor ?? 2;
  for (; i < size - 1; i++) {
    const a = cidrNth(cidr, i);
    if (!used.has(a)) {
      svc.spec.clusterIP = formatIPv4(a);
      used.add(a);
      if (ix) ix.clusterIPCursor = i + 1;
      return;
    }
  }
  if (ix) ix.clusterIPCursor = i;
  throw new Error(`service CIDR ${d.network.serviceCIDR} is full`);
}

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

/** Allocates missing nodePorts (NodePort/LoadBalancer) and healthCheckNodePort (LoadBalancer, eTP=Local). */
export function allocateNodePorts(d: ClusterDraft, key: string, ix?: ClusterLookup): void {
  const svc = d.services[key];
  if (!svc || svc.spec.type === "ClusterIP") return;
  let used: Set<number>;
  if (ix) used = ix.usedNodePorts;
  else {
    used = new Set<number>();
    for (const s of Object.values(d.services)) {
      for (const p of s.spec.ports) if (p.nodePort) used.add(p.nodePort);
      if (s.spec.healthCheckNodePort) used.add(s.spec.healthCheckNodePort);
    }
  }
  const next = (): number => {
    for (let p = Math.max(NODE_PORT_MIN, ix?.nodePortCursor ?? 0); p <= NODE_PORT_MAX; p++) {
      if (!used.has(p)) {
        used.add(p);
        if (ix) ix.nodePortCursor = p + 1;
        return p;
      }
    }
    throw new Error("node port range 30000-32767 is full");
  };
  for (const p of svc.spec.ports) if (!p.nodePort) p.nodePort = next();
  if (svc.spec.type === "LoadBalancer" && svc.spec.externalTrafficPolicy === "Local" && !svc.spec.healthCheckNodePort) svc.spec.healthCheckNodePort = next();
}

// ---------------------------------------------------------------------------------------------
// EndpointSlices

/** A hand-written EndpointSlice (kept as written; the controller does not manage it). */
export function applyEndpointSlice(d: ClusterDraft, input: EndpointSliceInput, now: Nanos): void {
  d.endpointSlices[objKey(input.namespace, input.name)] = {
    meta: meta("EndpointSlice", { ...input, labels: { ...(input.labels ?? {}), "kubernetes.io/service-name": input.serviceName } }, now),
    serviceName: input.serviceName,
    addressType: "IPv4",
    ports: input.ports,
    endpoints: input.endpoints,
    managed: false,
  } as Draft<ClusterState["endpointSlices"][string]>;
}

/**
 * Legacy Endpoints for a selector-less Service, mirrored into one slice per subset named
 * `<name>-<5 chars>` (the EndpointSliceMirroring controller, v1.19+): addresses are ready,
 * notReadyAddresses not ready.
 */
export function applyEndpoints(d: ClusterDraft, input: EndpointsInput, ctx: ControllerContext): void {
  for (const s of Object.values(d.endpointSlices)) {
    if (s.meta.namespace === input.namespace && s.serviceName === input.name && s.meta.labels["endpointslice.kubernetes.io/managed-by"] === MIRROR_MANAGER) {
      delete d.endpointSlices[objKey(s.meta.namespace, s.meta.name)];
    }
  }
  for (const ss of input.subsets) {
    let name: string;
    do name = `${input.name}-${randomSuffix(ctx.rand)}`; while (d.endpointSlices[objKey(input.namespace, name)]);
    const ep = (a: EndpointsAddressInput, ready: boolean): Endpoint => ({
      addresses: [a.ip],
      conditions: { ready },
      ...(a.nodeName ? { nodeName: a.nodeName } : {}),
      ...(a.targetRef ? { targetRef: a.targetRef } : {}),
    });
    d.endpointSlices[objKey(input.namespace, name)] = {
      meta: meta("EndpointSlice", { name, namespace: input.namespace, labels: { ...(input.labels ?? {}), "kubernetes.io/service-name": input.name, "endpointslice.kubernetes.io/managed-by": MIRROR_MANAGER } }, ctx.now),
      serviceName: input.name,
      addressType: "IPv4",
      ports: ss.ports,
      endpoints: [...ss.addresses.map((a) => ep(a, true)), ...ss.notReadyAddresses.map((a) => ep(a, false))],
      managed: false,
    } as Draft<ClusterState["endpointSlices"][string]>;
  }
}


/** EndpointSlice controller for one Service (see endpoints.ts). */
export function reconcileEndpointSlices(d: ClusterDraft, serviceKey: string, ctx: ControllerContext, ix?: ClusterLookup): void {
  reconcileEndpointSlicesFor(d, serviceKey, ctx, ix);
}

// ---------------------------------------------------------------------------------------------
// Whole-cluster convergence (used to build the t=0 steady state)

/**
 * Runs every controller until nothing changes: deployments → replicasets → pods scheduled, given
 * IPs, started and (when `markReady`) Ready → endpoint slices. Pods pinned to a node or IP are
 * placed before the others so that unpinned pods never take a pinned address.
 */
export function convergeCluster(d: ClusterDraft, ctx: ControllerContext, opts: { markReady: boolean } = { markReady: true }): void {
  // One set of lookups for the whole pass: every recipe below keeps it current (./lookup.ts).
  const ix = ClusterLookup.build(d);
  for (const k of Object.keys(d.deployments).sort()) reconcileDeployment(d, k, ctx, ix);
  for (const k of Object.keys(d.replicaSets).sort()) reconcileReplicaSet(d, k, ctx, ix);
  const podKeys = Object.keys(d.pods).sort();
  const pinned = podKeys.filter((k) => d.pins?.pods[k]);
  const rest = podKeys.filter((k) => !d.pins?.pods[k]);
  for (const k of [...pinned, ...rest]) {
    schedulePod(d, k, ix);
    assignPodIP(d, k, ix);
    const p = d.pods[k]!;
    if (p.status.phase === "Pending") {
      startPod(d, k, ctx.now);
      if (opts.markReady && d.pods[k]!.status.running) setPodReady(d, k, true);
    }
  }
  const svcKeys = Object.keys(d.services).sort();
  const pinnedSvc = svcKeys.filter((k) => d.services[k]!.spec.clusterIP !== "");
  const unpinnedSvc = svcKeys.filter((k) => d.services[k]!.spec.clusterIP === "");
  for (const k of [...pinnedSvc, ...unpinnedSvc]) {
    allocateClusterIP(d, k, ix);
    allocateNodePorts(d, k, ix);
  }
  for (const k of svcKeys) reconcileEndpointSlices(d, k, ctx, ix);
}
