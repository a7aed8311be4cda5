/**
 * convergeCluster with lookups (src/cluster/lookup.ts) gives exactly what the scanning
 * controllers gave: the scanning implementation is kept below as the reference (as it was before
 * the lookups), and both run on randomized mid-size clusters — pins of every kind, several
 * namespaces, overlapping and multi-key selectors, named target ports some pods lack, Services of
 * more than 100 endpoints, NotReady and down nodes, a podCIDR that runs out, NodePort and
 * LoadBalancer Services, hand-written slices — then again after scaling, pod removals and new
 * Services on the drafted result. Pod names, nodes, IPs, cluster IPs, node ports and slice names
 * must be equal, byte for byte.
 */
import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import { castDraft, type Draft } from "immer";
import {
  addNode, applyDeployment, applyEndpointSlice, applyPod, applyRecipes, applyService, convergeCluster, currentTemplateHash, deletePod,
  emptyClusterState, pinPod, pinTemplateHash, removePod, scaleDeployment, setNodeReady, setNodeUp, setPodReady, startPod,
  NODE_PORT_MAX, NODE_PORT_MIN, type ClusterDraft, type ControllerContext, type DeploymentInput, type ServiceInput,
} from "../../src/cluster/recipes.ts";
import { ClusterLookup } from "../../src/cluster/lookup.ts";
import { resolveTargetPort, SLICE_MANAGER, MAX_ENDPOINTS_PER_SLICE } from "../../src/cluster/endpoints.ts";
import { canonicalJson, deterministicUid, randomSuffix } from "../../src/cluster/names.ts";
import { cidrContains, cidrNth, cidrSize, formatIPv4, parseCidr, tryParseIPv4 } from "../../src/net/ip.ts";
import {
  objKey, sortedValues, type ClusterState, type Endpoint, type EndpointSlicePort, type EndpointSliceState, type Labels, type ObjectMeta,
  type PodState, type PodTemplate, type ReplicaSetState, type ServiceState,
} from "../../src/cluster/types.ts";

// ---------------------------------------------------------------------------------------------
// The reference: the scanning controllers, as they were before the lookups.

const ref = (() => {
  const isTerminating = (p: { meta: { deletionTimestamp?: number } }) => p.meta.deletionTimestamp !== undefined;
  const byteCompare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  function meta(kind: string, o: { name: string; namespace: string; labels?: Labels; annotations?: Labels }, now: number, ownerRef?: string): ObjectMeta {
    const m: ObjectMeta = { name: o.name, namespace: o.namespace, labels: { ...(o.labels ?? {}) }, annotations: { ...(o.annotations ?? {}) }, uid: deterministicUid(kind, o.namespace, o.name, now), creationTimestamp: now };
    return ownerRef ? { ...m, ownerRef } : m;
  }
  function reconcileDeployment(d: ClusterDraft, key: string, ctx: ControllerContext): void {
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
        spec: { replicas: dep.spec.replicas, selector: { ...dep.spec.selector, "pod-template-hash": hash }, template: { ...(dep.spec.template as PodTemplate), labels } },
        podTemplateHash: hash,
      };
      d.replicaSets[rsKey] = castDraft(created);
    } else rs.spec.replicas = dep.spec.replicas;
    for (const other of Object.values(d.replicaSets)) {
      if (other.meta.namespace === ns && other.meta.ownerRef === owner && other.meta.name !== rsName) other.spec.replicas = 0;
    }
  }
  function nextPodName(d: ClusterDraft, rsName: string, deployment: string | undefined, namespace: string, rand: () => number): string {
    const pins = d.pins?.pods ?? {};
    for (const k of Object.keys(pins).sort()) {
      const pin = pins[k]!;
      if (pin.claimed || pin.namespace !== namespace || !pin.name.startsWith(`${rsName}-`)) continue;
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
  function victimOrder(a: Draft<PodState>, b: Draft<PodState>): number {
    const rank = (p: Draft<PodState>) => [p.spec.nodeName ? 1 : 0, p.status.running ? 1 : 0, p.status.ready ? 1 : 0];
    const ra = rank(a), rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    if (a.status.restartCount !== b.status.restartCount) return b.status.restartCount - a.status.restartCount;
    if (a.meta.creationTimestamp !== b.meta.creationTimestamp) return b.meta.creationTimestamp - a.meta.creationTimestamp;
    return a.meta.name < b.meta.name ? 1 : a.meta.name > b.meta.name ? -1 : 0;
  }
  function reconcileReplicaSet(d: ClusterDraft, key: string, ctx: ControllerContext): void {
    const rs = d.replicaSets[key];
    if (!rs) return;
    const ns = rs.meta.namespace;
    const owner = `ReplicaSet/${rs.meta.name}`;
    const active = Object.values(d.pods).filter((p) => p.meta.namespace === ns && p.meta.ownerRef === owner)
      .filter((p) => !isTerminating(p) && p.status.phase !== "Failed" && p.status.phase !== "Succeeded");
    const diff = rs.spec.replicas - active.length;
    const deployment = rs.meta.ownerRef?.startsWith("Deployment/") ? rs.meta.ownerRef.slice("Deployment/".length) : undefined;
    for (let i = 0; i < diff; i++) {
      const name = nextPodName(d, rs.meta.name, deployment, ns, ctx.rand);
      const t = rs.spec.template;
      d.pods[objKey(ns, name)] = {
        meta: meta("Pod", { name, namespace: ns, labels: t.labels, annotations: t.annotations }, ctx.now, owner),
        spec: { ...(t as PodTemplate), nodeName: "" },
        status: { phase: "Pending", podIP: "", ready: false, running: false, restartCount: 0 },
      } as Draft<PodState>;
    }
    if (diff < 0) for (const v of [...active].sort(victimOrder).slice(0, -diff)) deletePod(d, objKey(ns, v.meta.name), ctx.now);
  }
  function schedulePod(d: ClusterDraft, key: string): void {
    const pod = d.pods[key];
    if (!pod || pod.spec.nodeName || isTerminating(pod)) return;
    const pin = d.pins?.pods[key];
    if (pin?.node && d.nodes[pin.node]) { pod.spec.nodeName = pin.node; return; }
    if (pin?.ip) {
      const ip = tryParseIPv4(pin.ip);
      const owner = ip === null ? undefined : sortedValues(d.nodes).find((n) => cidrContains(parseCidr(n.podCIDR), ip));
      if (owner) { pod.spec.nodeName = owner.name; return; }
    }
    const counts = new Map<string, number>();
    for (const p of Object.values(d.pods)) if (p.spec.nodeName) counts.set(p.spec.nodeName, (counts.get(p.spec.nodeName) ?? 0) + 1);
    let best: string | undefined;
    let bestCount = Infinity;
    for (const n of sortedValues(d.nodes)) {
      if (!n.ready || !n.up) continue;
      const c = counts.get(n.name) ?? 0;
      if (c < bestCount) { best = n.name; bestCount = c; }
    }
    if (best !== undefined) pod.spec.nodeName = best;
  }
  function assignPodIP(d: ClusterDraft, key: string): void {
    const pod = d.pods[key];
    if (!pod || !pod.spec.nodeName || pod.status.podIP) return;
    const node = d.nodes[pod.spec.nodeName];
    if (!node) return;
    const pin = d.pins?.pods[key];
    if (pin?.ip) { pod.status.podIP = pin.ip; return; }
    const cidr = parseCidr(node.podCIDR);
    const used = new Set<number>();
    for (const p of Object.values(d.pods)) if (p.status.podIP) used.add(tryParseIPv4(p.status.podIP) ?? -1);
    for (const pp of Object.values(d.pins?.pods ?? {})) if (pp.ip) used.add(tryParseIPv4(pp.ip) ?? -1);
    const size = cidrSize(cidr);
    for (let i = 2; i < size - 1; i++) {
      const a = cidrNth(cidr, i);
      if (!used.has(a)) { pod.status.podIP = formatIPv4(a); return; }
    }
  }
  function allocateClusterIP(d: ClusterDraft, key: string): void {
    const svc = d.services[key];
    if (!svc || svc.spec.clusterIP !== "") return;
    const cidr = parseCidr(d.network.serviceCIDR);
    const used = new Set<number>();
    for (const s of Object.values(d.services)) { const a = tryParseIPv4(s.spec.clusterIP); if (a !== null) used.add(a); }
    const size = cidrSize(cidr);
    for (let i = 2; i < size - 1; i++) {
      const a = cidrNth(cidr, i);
      if (!used.has(a)) { svc.spec.clusterIP = formatIPv4(a); return; }
    }
    throw new Error("full");
  }
  function allocateNodePorts(d: ClusterDraft, key: string): void {
    const svc = d.services[key];
    if (!svc || svc.spec.type === "ClusterIP") return;
    const used = new Set<number>();
    for (const s of Object.values(d.services)) {
      for (const p of s.spec.ports) if (p.nodePort) used.add(p.nodePort);
      if (s.spec.healthCheckNodePort) used.add(s.spec.healthCheckNodePort);
    }
    const next = (): number => {
      for (let p = NODE_PORT_MIN; p <= NODE_PORT_MAX; p++) if (!used.has(p)) { used.add(p); return p; }
      throw new Error("full");
    };
    for (const p of svc.spec.ports) if (!p.nodePort) p.nodePort = next();
    if (svc.spec.type === "LoadBalancer" && svc.spec.externalTrafficPolicy === "Local" && !svc.spec.healthCheckNodePort) svc.spec.healthCheckNodePort = next();
  }
  function podEndpoint(state: Draft<ClusterState>, pod: Draft<PodState>): Endpoint {
    const terminating = pod.meta.deletionTimestamp !== undefined;
    const node = pod.spec.nodeName ? state.nodes[pod.spec.nodeName] : undefined;
    return {
      addresses: [pod.status.podIP],
      conditions: { ready: pod.status.ready && !terminating, serving: pod.status.ready, terminating },
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(node?.zone ? { zone: node.zone } : {}),
      targetRef: { kind: "Pod", namespace: pod.meta.namespace, name: pod.meta.name },
    };
  }
  function desiredSlices(state: Draft<ClusterState>, svc: Draft<ServiceState>): { ports: EndpointSlicePort[]; endpoints: Endpoint[] }[] {
    const selector = svc.spec.selector as Labels;
    const groups = new Map<string, { ports: EndpointSlicePort[]; endpoints: Endpoint[] }>();
    const pods = Object.values(state.pods)
      .filter((p) => p.meta.namespace === svc.meta.namespace && p.status.podIP !== "" && p.status.phase !== "Succeeded" && p.status.phase !== "Failed")
      .filter((p) => Object.keys(selector).every((k) => p.meta.labels[k] === selector[k]))
      .sort((a, b) => byteCompare(a.status.podIP, b.status.podIP) || byteCompare(a.meta.name, b.meta.name));
    for (const pod of pods) {
      const ports: EndpointSlicePort[] = [];
      for (const sp of svc.spec.ports) {
        const n = resolveTargetPort(pod as PodState, sp as ServiceState["spec"]["ports"][number]);
        if (n !== undefined) ports.push({ name: sp.name, port: n, protocol: sp.protocol });
      }
      const sig = canonicalJson(ports);
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
  function reconcileEndpointSlices(d: Draft<ClusterState>, serviceKey: string, ctx: ControllerContext): void {
    const slash = serviceKey.indexOf("/");
    const ns = serviceKey.slice(0, slash);
    const name = serviceKey.slice(slash + 1);
    const existing = Object.values(d.endpointSlices).filter((s) => s.managed && s.meta.namespace === ns && s.serviceName === name).sort((a, b) => byteCompare(a.meta.name, b.meta.name));
    const svc = d.services[serviceKey];
    const selector = svc?.spec.selector;
    if (!svc || !selector || Object.keys(selector).length === 0) {
      for (const s of existing) delete d.endpointSlices[objKey(ns, s.meta.name)];
      return;
    }
    const want = desiredSlices(d, svc);
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
        meta: { name: sliceName, namespace: ns, labels, annotations: {}, uid: deterministicUid("EndpointSlice", ns, sliceName, ctx.now), creationTimestamp: ctx.now, ownerRef: `Service/${name}` },
        serviceName: name, addressType: "IPv4", ports: w.ports, endpoints: w.endpoints, managed: true,
      } as Draft<EndpointSliceState>;
    });
    for (const s of existing.slice(want.length)) delete d.endpointSlices[objKey(ns, s.meta.name)];
  }
  function convergeCluster(d: ClusterDraft, ctx: ControllerContext): void {
    for (const k of Object.keys(d.deployments).sort()) reconcileDeployment(d, k, ctx);
    for (const k of Object.keys(d.replicaSets).sort()) reconcileReplicaSet(d, k, ctx);
    const podKeys = Object.keys(d.pods).sort();
    const pinned = podKeys.filter((k) => d.pins?.pods[k]);
    const rest = podKeys.filter((k) => !d.pins?.pods[k]);
    for (const k of [...pinned, ...rest]) {
      schedulePod(d, k);
      assignPodIP(d, k);
      const p = d.pods[k]!;
      if (p.status.phase === "Pending") {
        startPod(d, k, ctx.now);
        if (d.pods[k]!.status.running) setPodReady(d, k, true);
      }
    }
    const svcKeys = Object.keys(d.services).sort();
    const pinnedSvc = svcKeys.filter((k) => d.services[k]!.spec.clusterIP !== "");
    for (const k of [...pinnedSvc, ...svcKeys.filter((k) => !pinnedSvc.includes(k))]) {
      allocateClusterIP(d, k);
      allocateNodePorts(d, k);
    }
    for (const k of svcKeys) reconcileEndpointSlices(d, k, ctx);
  }
  return { convergeCluster };
})();

// ---------------------------------------------------------------------------------------------
// Random clusters

const net = { serviceCIDR: "10.96.0.0/20", clusterCIDR: "10.244.0.0/16", clusterDomain: "cluster.local" };

function tmpl(labels: Labels, named: boolean): PodTemplate {
  return {
    labels, annotations: {}, terminationGracePeriodSeconds: 30, restartPolicy: "Always",
    containers: [{ name: "c", image: "img", ports: [{ containerPort: 8080, protocol: "TCP", ...(named ? { name: "http" } : {}) }, { containerPort: 53, protocol: "UDP", name: "dns" }] }],
  };
}

/** Builds a random cluster spec into `d` (everything but convergence), drawing from `r`. */
function randomCluster(d: ClusterDraft, r: () => number): void {
  const int = (n: number) => Math.floor(r() * n);
  const nodes = 4 + int(3);
  for (let n = 0; n < nodes; n++) {
    // node-0 gets a tiny podCIDR (/28: 13 usable addresses) that runs out
    addNode(d, { name: `node-${n}`, ip: `192.168.1.${n + 1}`, podCIDR: n === 0 ? "10.244.0.0/28" : `10.244.${n}.0/24`, ...(n % 2 ? { zone: `z${n % 3}` } : {}) });
  }
  setNodeReady(d, `node-${nodes - 1}`, false);
  if (nodes >= 5 && r() < 0.5) setNodeUp(d, `node-${nodes - 2}`, false);
  const namespaces = ["default", "team-a", "team-b"];
  const deps: string[] = [];
  for (let i = 0; i < 20; i++) {
    const ns = i === 0 ? "default" : namespaces[int(3)]!;
    const name = `app-${i}`;
    const labels: Labels = { app: name, tier: ["web", "api", "db"][int(3)]!, ...(r() < 0.3 ? { shard: String(int(2)) } : {}) };
    const input: DeploymentInput = {
      name, namespace: ns,
      spec: { replicas: i === 0 ? 200 + int(10) : int(10), selector: { app: name }, template: tmpl(labels, r() < 0.7), strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" }, minReadySeconds: 0 },
    };
    applyDeployment(d, input, 0);
    deps.push(objKey(ns, name));
    if (r() < 0.3) {
      // pins: a named pod (from the stream's alphabet), with a node and/or an IP
      const hash = currentTemplateHash(d, objKey(ns, name));
      const podName = `${name}-${hash}-${"bcdfg".slice(0, 1)}${randomSuffix(r, 4)}`;
      const ipPin = r() < 0.5 ? { ip: `10.244.${1 + int(nodes - 1)}.${200 + int(50)}` } : {};
      const nodePin = r() < 0.5 ? { node: `node-${int(nodes)}` } : {};
      pinPod(d, { namespace: ns, name: podName, deployment: name, ...ipPin, ...(("ip" in ipPin) ? {} : nodePin) });
      if (r() < 0.2) pinTemplateHash(d, objKey(ns, name), "pinnedhash");
    }
  }
  for (let i = 0; i < 8; i++) {
    applyPod(d, { name: `solo-${i}`, namespace: namespaces[int(3)]!, labels: { app: `app-${int(20)}`, solo: "yes" }, spec: { ...tmpl({ app: `app-${int(20)}`, solo: "yes" }, true), ...(r() < 0.5 ? { nodeName: `node-${int(nodes)}` } : {}) } }, 0);
  }
  const types = ["ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"] as const;
  for (let i = 0; i < 30; i++) {
    const ns = i === 0 ? "default" : namespaces[int(3)]!;
    const type = i === 0 ? "NodePort" : types[int(4)]!;
    const sel = i === 0 ? 4 : int(5);
    const selector: Labels | undefined =
      i === 0 ? { app: "app-0" } : sel === 0 ? undefined : sel === 1 ? { tier: ["web", "api", "db"][int(3)]! } : sel === 2 ? { app: `app-${int(20)}`, tier: "web" } : sel === 3 ? { solo: "yes" } : { app: `app-${int(20)}` };
    const input: ServiceInput = {
      name: `svc-${i}`, namespace: ns,
      spec: {
        type, ...(r() < 0.2 ? { clusterIP: `10.96.${int(16)}.${10 + int(200)}` } : {}), ...(selector ? { selector } : {}),
        ports: [
          { name: "web", protocol: "TCP", port: 80, targetPort: r() < 0.5 ? "http" : 8080, ...(type !== "ClusterIP" && r() < 0.3 ? { nodePort: 30000 + int(5) } : {}) },
          { name: "dns", protocol: "UDP", port: 53, targetPort: "dns" },
        ],
        sessionAffinity: "None", sessionAffinityTimeoutSeconds: 10800, externalIPs: [],
        externalTrafficPolicy: r() < 0.5 ? "Local" : "Cluster", internalTrafficPolicy: "Cluster", loadBalancerSourceRanges: [],
      },
    };
    // keep pinned cluster IPs and node ports unique, as the loader does
    const cip = input.spec.clusterIP;
    if (cip && Object.values(d.services).some((s) => s.spec.clusterIP === cip)) continue;
    const np = input.spec.ports[0]!.nodePort;
    if (np && Object.values(d.services).some((s) => s.spec.ports.some((p) => p.nodePort === np))) continue;
    applyService(d, input, 0);
    if (!selector && r() < 0.5) {
      applyEndpointSlice(d, { name: `svc-${i}-manual`, namespace: ns, serviceName: `svc-${i}`, ports: [{ name: "web", port: 8080, protocol: "TCP" }], endpoints: [{ addresses: ["10.9.9.9"], conditions: { ready: true } }] }, 0);
    }
  }
}

/** Later changes: scale some Deployments, remove some pods, add Services, a node comes back. */
function changes(d: ClusterDraft, r: () => number): void {
  const int = (n: number) => Math.floor(r() * n);
  const deps = Object.keys(d.deployments).sort();
  for (const k of deps) if (r() < 0.4) scaleDeployment(d, k, int(15));
  const pods = Object.keys(d.pods).sort();
  for (const k of pods) {
    const x = r();
    if (x < 0.05) removePod(d, k);
    else if (x < 0.1) deletePod(d, k, 5e9);
  }
  const nodes = Object.keys(d.nodes).sort();
  setNodeReady(d, nodes[nodes.length - 1]!, true);
  for (let i = 0; i < 5; i++) {
    applyService(d, {
      name: `late-${i}`, namespace: "default",
      spec: { type: "NodePort", selector: { tier: ["web", "api", "db"][int(3)]! }, ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 8080 }], sessionAffinity: "None", sessionAffinityTimeoutSeconds: 10800, externalIPs: [], externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster", loadBalancerSourceRanges: [] },
    }, 5e9);
  }
}

function run(seed: string, converge: (d: ClusterDraft, ctx: ControllerContext) => void): [ClusterState, ClusterState] {
  const spec = seedrandom.alea(`${seed}/spec`);
  const names = seedrandom.alea(`${seed}/names`);
  const first = applyRecipes(emptyClusterState(net), (d) => {
    randomCluster(d, spec);
    converge(d, { now: 0, rand: names });
  });
  const second = applyRecipes(first, (d) => {
    changes(d, spec);
    converge(d, { now: 5e9, rand: names });
  });
  return [first, second];
}

const seeds = Array.from({ length: 5 }, (_, i) => ({ name: `seed ${i}`, seed: `lookup-${i}` }));

describe("convergeCluster with lookups equals the scanning reference", () => {
  it.each(seeds)("$name", ({ seed }) => {
    const [a1, a2] = run(seed, (d, ctx) => convergeCluster(d, ctx));
    const [b1, b2] = run(seed, (d, ctx) => ref.convergeCluster(d, ctx));
    // the random clusters do exercise what the lookups replace
    const pods = sortedValues(a1.pods);
    expect(pods.length).toBeGreaterThan(150);
    expect(pods.some((p) => p.spec.nodeName === "node-0" && !p.status.podIP)).toBe(true); // node-0's /28 ran out
    expect(sortedValues(a1.endpointSlices).some((s) => s.endpoints.length === MAX_ENDPOINTS_PER_SLICE)).toBe(true);
    expect(sortedValues(a1.services).some((s) => s.spec.ports.some((p) => p.nodePort))).toBe(true);
    expect(JSON.stringify(a1)).toBe(JSON.stringify(b1));
    expect(JSON.stringify(a2)).toBe(JSON.stringify(b2));
  });
});

describe("ClusterLookup", () => {
  it("finds a selector's candidates through its rarest label and nothing for an unknown pair", () => {
    const state = applyRecipes(emptyClusterState(net), (d) => {
      addNode(d, { name: "n", ip: "192.168.0.1", podCIDR: "10.244.1.0/24" });
      for (let i = 0; i < 5; i++) {
        const labels = { tier: "web", app: i === 0 ? "one" : "many" };
        applyPod(d, { name: `p${i}`, namespace: "default", labels, spec: tmpl(labels, true) }, 0);
      }
      applyPod(d, { name: "other-ns", namespace: "x", labels: { tier: "web", app: "one" }, spec: tmpl({ tier: "web", app: "one" }, true) }, 0);
    });
    const ix = ClusterLookup.build(state);
    expect([...ix.podCandidates("default", { tier: "web", app: "one" })]).toEqual(["default/p0"]);
    expect([...ix.podCandidates("default", { tier: "web" })].sort()).toEqual(["default/p0", "default/p1", "default/p2", "default/p3", "default/p4"]);
    expect(ix.podCandidates("default", { tier: "nope" }).size).toBe(0);
    expect(() => ix.podCandidates("default", {})).toThrow();
  });
});
