/**
 * The EndpointSlice controller (discovery.k8s.io/v1, Kubernetes 1.21+) and the legacy v1
 * Endpoints view.
 *
 * Slices for a Service with a selector:
 * - every pod in the Service's namespace that matches the selector and has an IP (phase not
 *   Succeeded/Failed) is an endpoint with conditions ready = podReady && !terminating,
 *   serving = podReady, terminating = deletionTimestamp set (v1.22+ semantics), plus nodeName,
 *   zone (from the node) and targetRef;
 * - ports are resolved per pod: a numeric targetPort is used as is, a named one is looked up in the
 *   pod's containers (name and protocol); a port that a pod does not declare is left out for that
 *   pod, so pods with different resolved ports land in different slices, as upstream;
 * - at most 100 endpoints per slice (--max-endpoints-per-slice default); names `<svc>-<5 chars>`;
 *   existing slices are reused in name order so reconciling an unchanged Service changes nothing;
 * - a Service with no endpoints keeps one empty placeholder slice.
 * Endpoints within a slice are ordered by IP text (bytewise), a canonical order; the real
 * controller keeps the order pods were listed in. publishNotReadyAddresses is not modelled.
 *
 * Selector-less Services keep hand-written slices (or slices mirrored from Endpoints) untouched.
 *
 * Legacy Endpoints (what `kubectl get endpoints` shows): ready addresses in `addresses`, not-ready
 * non-terminating ones in `notReadyAddresses`, terminating ones left out (endpoints controller,
 * 1.16–1.30); subsets grouped by identical port lists; addresses sorted by IP text bytewise, then
 * target name, as endpoints.RepackSubsets/LessEndpointAddress do.
 */
import type { Draft } from "immer";
import { deterministicUid, randomSuffix, canonicalJson } from "./names.ts";
import type { ClusterState, Endpoint, EndpointSlicePort, EndpointSliceState, Labels, Nanos, PodState, ServiceState } from "./types.ts";
import { objKey, sortedValues } from "./types.ts";
import type { ClusterLookup } from "./lookup.ts";

export const SLICE_MANAGER = "endpointslice-controller.k8s.io";
export const MIRROR_MANAGER = "endpointslicemirroring-controller.k8s.io";
export const MAX_ENDPOINTS_PER_SLICE = 100;

function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Resolves a Service port's targetPort for one pod; undefined when the pod does not declare the named port. */
export function resolveTargetPort(pod: Pick<PodState, "spec">, port: ServiceState["spec"]["ports"][number]): number | undefined {
  if (typeof port.targetPort === "number") return port.targetPort;
  for (const c of pod.spec.containers) for (const cp of c.ports) if (cp.name === port.targetPort && cp.protocol === port.protocol) return cp.containerPort;
  return undefined;
}

function podEndpoint(state: ClusterState | Draft<ClusterState>, pod: PodState | Draft<PodState>): Endpoint {
  const terminating = pod.meta.deletionTimestamp !== undefined;
  const node = pod.spec.nodeName ? state.nodes[pod.spec.nodeName] : undefined;
  // Built field by field (no spreads: 100,000 of these at scale); key order is the canonical one.
  const e: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    addresses: [pod.status.podIP],
    conditions: { ready: pod.status.ready && !terminating, serving: pod.status.ready, terminating },
  };
  if (pod.spec.nodeName) e.nodeName = pod.spec.nodeName;
  if (node?.zone) e.zone = node.zone;
  e.targetRef = { kind: "Pod", namespace: pod.meta.namespace, name: pod.meta.name };
  return e;
}

/**
 * The (ports, endpoints) chunks the controller wants for a Service, in canonical order. `ix`
 * (optional, ./lookup.ts) narrows the pods looked at to those carrying the selector's labels; the
 * result is the same without it.
 */
export function desiredSlices(state: ClusterState | Draft<ClusterState>, svc: ServiceState | Draft<ServiceState>, ix?: ClusterLookup): { ports: EndpointSlicePort[]; endpoints: Endpoint[] }[] {
  const selector = svc.spec.selector as Labels;
  const groups = new Map<string, { ports: EndpointSlicePort[]; endpoints: Endpoint[] }>();
  const candidates =
    ix && Object.keys(selector).length > 0
      ? [...ix.podCandidates(svc.meta.namespace, selector)].map((k) => state.pods[k]).filter((p) => p !== undefined)
      : Object.values(state.pods);
  const pods = candidates
    .filter((p) => p.meta.namespace === svc.meta.namespace && p.status.podIP !== "" && p.status.phase !== "Succeeded" && p.status.phase !== "Failed")
    .filter((p) => Object.keys(selector).every((k) => p.meta.labels[k] === selector[k]))
    .sort((a, b) => byteCompare(a.status.podIP, b.status.podIP) || byteCompare(a.meta.name, b.meta.name));
  // The resolved ports depend only on the pod's containers, which the pods of one template share.
  const byContainers = new Map<unknown, { ports: EndpointSlicePort[]; sig: string }>();
  for (const pod of pods) {
    let resolved = byContainers.get(pod.spec.containers);
    if (!resolved) {
      const ports: EndpointSlicePort[] = [];
      for (const sp of svc.spec.ports) {
        const n = resolveTargetPort(pod as PodState, sp as ServiceState["spec"]["ports"][number]);
        if (n !== undefined) ports.push({ name: sp.name, port: n, protocol: sp.protocol });
      }
      byContainers.set(pod.spec.containers, (resolved = { ports, sig: canonicalJson(ports) }));
    }
    const { ports, sig } = resolved;
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { ports, endpoints: [] }));
    g.endpoints.push(podEndpoint(state, pod));
  }
  const out: { ports: EndpointSlicePort[]; endpoints: Endpoint[] }[] = [];
  for (const sig of [...groups.keys()].sort(byteCompare)) {
    const g = groups.get(sig)!;
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) out.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
  }
  if (out.length === 0) out.push({ ports: [], endpoints: [] });
  return out;
}

/** `ix`: optional lookups (./lookup.ts) for the Service's slices and pods; same result without. */
export function reconcileEndpointSlicesFor(d: Draft<ClusterState>, serviceKey: string, ctx: { readonly now: Nanos; readonly rand: () => number }, ix?: ClusterLookup): void {
  const slash = serviceKey.indexOf("/");
  const ns = serviceKey.slice(0, slash);
  const name = serviceKey.slice(slash + 1);
  const candidates = ix ? [...ix.slicesOf(ns, name)].map((k) => d.endpointSlices[k]).filter((s) => s !== undefined) : Object.values(d.endpointSlices);
  const existing = candidates
    .filter((s) => s.managed && s.meta.namespace === ns && s.serviceName === name)
    .sort((a, b) => byteCompare(a.meta.name, b.meta.name));
  const svc = d.services[serviceKey];
  const selector = svc?.spec.selector;
  const remove = (s: (typeof existing)[number]): void => {
    delete d.endpointSlices[objKey(ns, s.meta.name)];
    ix?.removeSlice(objKey(ns, s.meta.name), ns, name);
  };
  if (!svc || !selector || Object.keys(selector).length === 0) {
    for (const s of existing) remove(s);
    return;
  }
  const want = desiredSlices(d, svc, ix);
  const labels: Record<string, string> = { ...svc.meta.labels, "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER };
  want.forEach((w, i) => {
    const old = existing[i];
    if (old) {
      if (canonicalJson(old.ports) !== canonicalJson(w.ports)) old.ports = w.ports;
      if (canonicalJson(old.endpoints) !== canonicalJson(w.endpoints)) old.endpoints = w.endpoints as Draft<Endpoint>[];
      return;
    }
    let sliceName: string;
    do sliceName = `${name}-${randomSuffix(ctx.rand)}`; while (d.endpointSlices[objKey(ns, sliceName)]);
    d.endpointSlices[objKey(ns, sliceName)] = {
      meta: {
        name: sliceName,
        namespace: ns,
        labels,
        annotations: {},
        uid: deterministicUid("EndpointSlice", ns, sliceName, ctx.now),
        creationTimestamp: ctx.now,
        ownerRef: `Service/${name}`,
      },
      serviceName: name,
      addressType: "IPv4",
      ports: w.ports,
      endpoints: w.endpoints,
      managed: true,
    } as Draft<EndpointSliceState>;
    ix?.addSlice(objKey(ns, sliceName), ns, name);
  });
  for (const s of existing.slice(want.length)) remove(s);
}

// ---------------------------------------------------------------------------------------------
// Legacy v1 Endpoints view

export interface EndpointAddressView {
  readonly ip: string;
  readonly nodeName?: string;
  readonly targetRef?: { readonly kind: "Pod"; readonly namespace: string; readonly name: string };
}

export interface EndpointSubsetView {
  readonly addresses: readonly EndpointAddressView[];
  readonly notReadyAddresses: readonly EndpointAddressView[];
  readonly ports: readonly EndpointSlicePort[];
}

export interface EndpointsView {
  readonly name: string;
  readonly namespace: string;
  readonly creationTimestamp: Nanos;
  readonly labels: Labels;
  readonly subsets: readonly EndpointSubsetView[];
}

function lessAddress(a: EndpointAddressView, b: EndpointAddressView): number {
  return byteCompare(a.ip, b.ip) || byteCompare(a.targetRef?.name ?? "", b.targetRef?.name ?? "");
}

/** The v1 Endpoints object for a Service, derived from its slices; undefined when none exists. */
export function endpointsFor(state: ClusterState, serviceKey: string): EndpointsView | undefined {
  const svc = state.services[serviceKey];
  if (!svc) return undefined;
  const hasSelector = !!svc.spec.selector && Object.keys(svc.spec.selector).length > 0;
  const slices = sortedValues(state.endpointSlices).filter(
    (s) => s.meta.namespace === svc.meta.namespace && s.serviceName === svc.meta.name && s.managed === hasSelector,
  );
  if (!hasSelector && slices.length === 0) return undefined;
  const groups = new Map<string, { ports: readonly EndpointSlicePort[]; ready: EndpointAddressView[]; notReady: EndpointAddressView[] }>();
  for (const s of slices) {
    const sig = canonicalJson(s.ports);
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { ports: s.ports, ready: [], notReady: [] }));
    for (const e of s.endpoints) {
      if (e.conditions.terminating === true) continue;
      const ready = e.conditions.ready !== false;
      for (const ip of e.addresses) {
        const a: EndpointAddressView = { ip, ...(e.nodeName ? { nodeName: e.nodeName } : {}), ...(e.targetRef ? { targetRef: e.targetRef } : {}) };
        (ready ? g.ready : g.notReady).push(a);
      }
    }
  }
  const subsets: EndpointSubsetView[] = [];
  for (const g of groups.values()) {
    if (g.ready.length === 0 && g.notReady.length === 0) continue;
    subsets.push({ addresses: g.ready.sort(lessAddress), notReadyAddresses: g.notReady.sort(lessAddress), ports: g.ports });
  }
  subsets.sort((a, b) => byteCompare((a.addresses[0] ?? a.notReadyAddresses[0])!.ip, (b.addresses[0] ?? b.notReadyAddresses[0])!.ip));
  const first = slices[0];
  return {
    name: svc.meta.name,
    namespace: svc.meta.namespace,
    creationTimestamp: hasSelector || !first ? svc.meta.creationTimestamp : first.meta.creationTimestamp,
    labels: svc.meta.labels,
    subsets,
  };
}
