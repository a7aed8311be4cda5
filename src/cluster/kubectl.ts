/**
 * `kubectl get` views of the simulated cluster: tables (default and `-o wide`) and `-o yaml|json`.
 *
 * Tables follow kubectl's printers (k8s.io/kubernetes pkg/printers/internalversion, 1.16–1.30):
 * the same column headers and cell formats, laid out by Go's text/tabwriter as kubectl configures
 * it (minwidth 6, padding 3, pad char ' '): every column but the last is as wide as its widest cell
 * plus 3 spaces; the last column is not padded. AGE is duration.HumanDuration of simulated time.
 * RESTARTS is the plain count (kubectl ≥1.22 appends "(5s ago)"; the seed's 2019 kubectl does not).
 *
 * `-o yaml|json` renders each object as the API server would return it, with the defaulted fields
 * most readers look at. Not modelled: resourceVersion, generation bumps, managedFields, events,
 * the `kubernetes` Service, nodes and namespaces, label selectors (-l), --all-namespaces.
 * YAML is written with YAML 1.1 quoting (as Go's yaml does), so timestamps and "on"/"yes" are quoted.
 */
import { stringify as yamlStringify } from "yaml";
import { endpointsFor, type EndpointsView } from "./endpoints.ts";
import { currentTemplateHash } from "./recipes.ts";
import { deterministicUid } from "./names.ts";
import type { ClusterState, DeploymentState, EndpointSliceState, Nanos, PodState, ReplicaSetState, ServiceState } from "./types.ts";
import { objKey, sortedValues } from "./types.ts";

export type KubectlOutput = "table" | "wide" | "yaml" | "json";

export interface KubectlOptions {
  readonly output?: KubectlOutput;
  /** Simulated time "now" (ns), for AGE. */
  readonly now: Nanos;
  readonly namespace?: string;
  /** Wall-clock seconds (Unix) that simulated t=0 stands for, for creationTimestamp in yaml/json (default 0). */
  readonly epochSeconds?: number;
}

/** What kubectl would print: stdout, stderr and its exit code. */
export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

type Kind = "deployments" | "replicasets" | "pods" | "services" | "endpoints" | "endpointslices";

const KIND_ALIASES: Readonly<Record<string, Kind>> = {
  deploy: "deployments", deployment: "deployments", deployments: "deployments", "deployment.apps": "deployments", "deployments.apps": "deployments",
  rs: "replicasets", replicaset: "replicasets", replicasets: "replicasets", "replicasets.apps": "replicasets",
  po: "pods", pod: "pods", pods: "pods",
  svc: "services", service: "services", services: "services",
  ep: "endpoints", endpoint: "endpoints", endpoints: "endpoints",
  endpointslice: "endpointslices", endpointslices: "endpointslices", "endpointslices.discovery.k8s.io": "endpointslices",
};

/** Resource names as kubectl spells them in NotFound errors. */
const QUALIFIED: Readonly<Record<Kind, string>> = {
  deployments: "deployments.apps", replicasets: "replicasets.apps", pods: "pods", services: "services", endpoints: "endpoints", endpointslices: "endpointslices.discovery.k8s.io",
};

export const KUBECTL_KINDS: readonly string[] = Object.keys(KIND_ALIASES);

// ---------------------------------------------------------------------------------------------
// Formatting helpers

/** Go text/tabwriter as kubectl configures it: minwidth 6, padding 3; the last cell is not padded. */
export function tabwrite(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows
    .map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(Math.max(widths[i]! + 3, 6)) : c)).join("") + "\n")
    .join("");
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration, from a span in nanoseconds. */
export function humanDuration(ns: number): string {
  const seconds = Math.trunc(ns / 1e9);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    return dy === 0 ? `${Math.trunc(hours / 24 / 365)}y` : `${Math.trunc(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** RFC 3339 UTC text ("2019-09-26T00:12:05Z") for a Unix time in seconds (proleptic Gregorian). */
export function rfc3339(unixSeconds: number): string {
  const s = Math.floor(unixSeconds);
  const days = Math.floor(s / 86400);
  const rem = s - days * 86400;
  // civil_from_days (H. Hinnant)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${String(year).padStart(4, "0")}-${p2(month)}-${p2(day)}T${p2(Math.floor(rem / 3600))}:${p2(Math.floor(rem / 60) % 60)}:${p2(rem % 60)}Z`;
}

function labelSelectorText(sel: Readonly<Record<string, string>> | undefined): string {
  if (!sel || Object.keys(sel).length === 0) return "<none>";
  return Object.keys(sel).sort().map((k) => `${k}=${sel[k]}`).join(",");
}

// ---------------------------------------------------------------------------------------------
// Derived status

export interface DeploymentStatusView {
  readonly replicas: number;
  readonly updatedReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
}

function ownedPods(state: ClusterState, rs: ReplicaSetState): PodState[] {
  const owner = `ReplicaSet/${rs.meta.name}`;
  return sortedValues(state.pods).filter((p) => p.meta.namespace === rs.meta.namespace && p.meta.ownerRef === owner && p.meta.deletionTimestamp === undefined);
}

function replicaSetsOf(state: ClusterState, dep: DeploymentState): ReplicaSetState[] {
  const owner = `Deployment/${dep.meta.name}`;
  return sortedValues(state.replicaSets).filter((r) => r.meta.namespace === dep.meta.namespace && r.meta.ownerRef === owner);
}

/**
 * Deployment status as the controller would report it. availableReplicas counts ready pods that
 * started at least minReadySeconds ago (svcsim does not track when readiness began).
 */
export function deploymentStatus(state: ClusterState, dep: DeploymentState, now: Nanos): DeploymentStatusView {
  let replicas = 0, updated = 0, ready = 0, available = 0;
  const rss = replicaSetsOf(state, dep);
  const hash = currentTemplateHash(state, objKey(dep.meta.namespace, dep.meta.name));
  const newest = rss.find((r) => r.podTemplateHash === hash);
  for (const rs of rss) {
    for (const p of ownedPods(state, rs)) {
      replicas++;
      if (rs === newest) updated++;
      if (p.status.ready) {
        ready++;
        if ((p.status.startTime ?? 0) + dep.spec.minReadySeconds * 1e9 <= now) available++;
      }
    }
  }
  return { replicas, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available };
}

/** kubectl's STATUS column for a pod (a reduction of printPod's reason logic). */
export function podStatusText(p: PodState): string {
  if (p.meta.deletionTimestamp !== undefined) return "Terminating";
  if (p.status.phase === "Pending") return p.spec.nodeName ? "ContainerCreating" : "Pending";
  if (p.status.phase === "Running" && !p.status.running) return p.status.restartCount > 0 ? "CrashLoopBackOff" : "Error";
  return p.status.phase;
}

function servicePortsText(s: ServiceState): string {
  if (s.spec.ports.length === 0) return "<none>";
  return s.spec.ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(",");
}

function externalIPText(s: ServiceState): string {
  const ext = [...s.status.loadBalancerIngressIPs, ...s.spec.externalIPs];
  if (s.spec.type === "LoadBalancer") return ext.length ? ext.join(",") : "<pending>";
  return ext.length ? ext.join(",") : "<none>";
}

/** kubectl formatEndpoints: ready ip:port pairs, at most 3, then " + N more...". */
export function endpointsText(ep: EndpointsView): string {
  if (ep.subsets.length === 0) return "<none>";
  const list: string[] = [];
  let count = 0;
  for (const ss of ep.subsets) {
    if (ss.ports.length === 0) {
      for (const a of ss.addresses) { if (list.length < 3) list.push(a.ip); count++; }
    } else {
      for (const p of ss.ports) for (const a of ss.addresses) { if (list.length < 3) list.push(`${a.ip}:${p.port}`); count++; }
    }
  }
  const ret = list.join(",");
  return count > 3 ? `${ret} + ${count - 3} more...` : ret;
}

function slicePortsText(s: EndpointSliceState): string {
  return s.ports.length === 0 ? "<unset>" : s.ports.map((p) => String(p.port)).join(",");
}

function sliceEndpointsText(s: EndpointSliceState): string {
  const all = s.endpoints.flatMap((e) => e.addresses);
  if (all.length === 0) return "<unset>";
  const ret = all.slice(0, 3).join(",");
  return all.length > 3 ? `${ret} + ${all.length - 3} more...` : ret;
}

function containersOf(t: { containers: readonly { name: string; image: string }[] }): [string, string] {
  return [t.containers.map((c) => c.name).join(","), t.containers.map((c) => c.image).join(",")];
}

// ---------------------------------------------------------------------------------------------
// Tables

function tableRows(state: ClusterState, kind: Kind, items: unknown[], wide: boolean, now: Nanos): string[][] {
  const age = (t: Nanos) => humanDuration(now - t);
  switch (kind) {
    case "deployments": {
      const head = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", ...(wide ? ["CONTAINERS", "IMAGES", "SELECTOR"] : [])];
      return [head, ...(items as DeploymentState[]).map((d) => {
        const st = deploymentStatus(state, d, now);
        const row = [d.meta.name, `${st.readyReplicas}/${d.spec.replicas}`, String(st.updatedReplicas), String(st.availableReplicas), age(d.meta.creationTimestamp)];
        return wide ? [...row, ...containersOf(d.spec.template), labelSelectorText(d.spec.selector)] : row;
      })];
    }
    case "replicasets": {
      const head = ["NAME", "DESIRED", "CURRENT", "READY", "AGE", ...(wide ? ["CONTAINERS", "IMAGES", "SELECTOR"] : [])];
      return [head, ...(items as ReplicaSetState[]).map((r) => {
        const pods = ownedPods(state, r);
        const row = [r.meta.name, String(r.spec.replicas), String(pods.length), String(pods.filter((p) => p.status.ready).length), age(r.meta.creationTimestamp)];
        return wide ? [...row, ...containersOf(r.spec.template), labelSelectorText(r.spec.selector)] : row;
      })];
    }
    case "pods": {
      const head = ["NAME", "READY", "STATUS", "RESTARTS", "AGE", ...(wide ? ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] : [])];
      return [head, ...(items as PodState[]).map((p) => {
        const n = p.spec.containers.length;
        const ready = p.status.ready && p.status.running ? n : 0;
        const row = [p.meta.name, `${ready}/${n}`, podStatusText(p), String(p.status.restartCount), age(p.meta.creationTimestamp)];
        return wide ? [...row, p.status.podIP || "<none>", p.spec.nodeName || "<none>", "<none>", "<none>"] : row;
      })];
    }
    case "services": {
      const head = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", ...(wide ? ["SELECTOR"] : [])];
      return [head, ...(items as ServiceState[]).map((s) => {
        const row = [s.meta.name, s.spec.type, s.spec.clusterIP || "<none>", externalIPText(s), servicePortsText(s), age(s.meta.creationTimestamp)];
        return wide ? [...row, labelSelectorText(s.spec.selector)] : row;
      })];
    }
    case "endpoints":
      return [["NAME", "ENDPOINTS", "AGE"], ...(items as EndpointsView[]).map((e) => [e.name, endpointsText(e), age(e.creationTimestamp)])];
    case "endpointslices":
      return [["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], ...(items as EndpointSliceState[]).map((s) => [s.meta.name, s.addressType, slicePortsText(s), sliceEndpointsText(s), age(s.meta.creationTimestamp)])];
  }
}

// ---------------------------------------------------------------------------------------------
// API objects (-o yaml / -o json)

function apiMeta(state: ClusterState, m: { name: string; namespace: string; labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>>; uid: string; creationTimestamp: Nanos; deletionTimestamp?: Nanos; deletionGracePeriodSeconds?: number; ownerRef?: string }, epoch: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Object.keys(m.annotations).length) out.annotations = { ...m.annotations };
  out.creationTimestamp = rfc3339(epoch + Math.floor(m.creationTimestamp / 1e9));
  if (m.deletionGracePeriodSeconds !== undefined) out.deletionGracePeriodSeconds = m.deletionGracePeriodSeconds;
  if (m.deletionTimestamp !== undefined) out.deletionTimestamp = rfc3339(epoch + Math.floor(m.deletionTimestamp / 1e9));
  Object.assign(out, extra);
  if (Object.keys(m.labels).length) out.labels = { ...m.labels };
  out.name = m.name;
  out.namespace = m.namespace;
  if (m.ownerRef) {
    const [kind, name] = m.ownerRef.split("/") as [string, string];
    const key = objKey(m.namespace, name);
    const owner = kind === "Deployment" ? state.deployments[key] : kind === "ReplicaSet" ? state.replicaSets[key] : kind === "Service" ? state.services[key] : undefined;
    out.ownerReferences = [{ apiVersion: kind === "Service" ? "v1" : "apps/v1", blockOwnerDeletion: true, controller: true, kind, name, uid: owner?.meta.uid ?? "" }];
  }
  out.uid = m.uid;
  return out;
}

function imagePullPolicy(image: string): string {
  const last = image.slice(image.lastIndexOf("/") + 1);
  return !last.includes(":") || last.endsWith(":latest") ? "Always" : "IfNotPresent";
}

function apiContainers(cs: PodState["spec"]["containers"]): unknown[] {
  return cs.map((c) => ({
    image: c.image,
    imagePullPolicy: imagePullPolicy(c.image),
    name: c.name,
    ...(c.ports.length ? { ports: c.ports.map((p) => ({ containerPort: p.containerPort, ...(p.name ? { name: p.name } : {}), protocol: p.protocol })) } : {}),
    resources: {},
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  }));
}

function apiPodSpec(t: PodState["spec"] | DeploymentState["spec"]["template"], nodeName?: string): Record<string, unknown> {
  return {
    containers: apiContainers(t.containers),
    dnsPolicy: "ClusterFirst",
    enableServiceLinks: true,
    ...(nodeName ? { nodeName } : {}),
    restartPolicy: t.restartPolicy,
    schedulerName: "default-scheduler",
    securityContext: {},
    terminationGracePeriodSeconds: t.terminationGracePeriodSeconds,
  };
}

function apiTemplate(t: DeploymentState["spec"]["template"]): Record<string, unknown> {
  return {
    metadata: { ...(Object.keys(t.annotations).length ? { annotations: { ...t.annotations } } : {}), creationTimestamp: null, labels: { ...t.labels } },
    spec: apiPodSpec(t),
  };
}

function toApiObject(state: ClusterState, kind: Kind, item: unknown, now: Nanos, epoch: number): Record<string, unknown> {
  const ts = (t: Nanos) => rfc3339(epoch + Math.floor(t / 1e9));
  switch (kind) {
    case "deployments": {
      const d = item as DeploymentState;
      const st = deploymentStatus(state, d, now);
      return {
        apiVersion: "apps/v1", kind: "Deployment",
        metadata: apiMeta(state, d.meta, epoch, { generation: 1 }),
        spec: {
          minReadySeconds: d.spec.minReadySeconds || undefined,
          progressDeadlineSeconds: 600, replicas: d.spec.replicas, revisionHistoryLimit: 10,
          selector: { matchLabels: { ...d.spec.selector } },
          strategy: d.spec.strategy.type === "Recreate" ? { type: "Recreate" } : { rollingUpdate: { maxSurge: d.spec.strategy.maxSurge, maxUnavailable: d.spec.strategy.maxUnavailable }, type: "RollingUpdate" },
          template: apiTemplate(d.spec.template),
        },
        status: { availableReplicas: st.availableReplicas, observedGeneration: 1, readyReplicas: st.readyReplicas, replicas: st.replicas, updatedReplicas: st.updatedReplicas },
      };
    }
    case "replicasets": {
      const r = item as ReplicaSetState;
      const pods = ownedPods(state, r);
      const ready = pods.filter((p) => p.status.ready).length;
      return {
        apiVersion: "apps/v1", kind: "ReplicaSet",
        metadata: apiMeta(state, r.meta, epoch, { generation: 1 }),
        spec: { replicas: r.spec.replicas, selector: { matchLabels: { ...r.spec.selector } }, template: apiTemplate(r.spec.template) },
        status: { availableReplicas: ready, fullyLabeledReplicas: pods.length, observedGeneration: 1, readyReplicas: ready, replicas: pods.length },
      };
    }
    case "pods": {
      const p = item as PodState;
      const node = p.spec.nodeName ? state.nodes[p.spec.nodeName] : undefined;
      const ready = p.status.ready && p.status.running;
      const cond = (type: string, ok: boolean) => ({ lastProbeTime: null, lastTransitionTime: ts(p.status.startTime ?? p.meta.creationTimestamp), status: ok ? "True" : "False", type });
      return {
        apiVersion: "v1", kind: "Pod",
        metadata: apiMeta(state, p.meta, epoch),
        spec: apiPodSpec(p.spec, p.spec.nodeName),
        status: {
          conditions: [cond("Initialized", true), cond("Ready", ready), cond("ContainersReady", ready), cond("PodScheduled", !!p.spec.nodeName)],
          containerStatuses: p.spec.containers.map((c) => ({
            image: c.image, name: c.name, ready, restartCount: p.status.restartCount, started: p.status.running,
            state: p.status.running ? { running: { startedAt: ts(p.status.startTime ?? 0) } } : p.status.phase === "Pending" ? { waiting: { reason: "ContainerCreating" } } : { terminated: { exitCode: 1, reason: "Error" } },
          })),
          ...(node ? { hostIP: node.ip } : {}),
          phase: p.status.phase,
          ...(p.status.podIP ? { podIP: p.status.podIP, podIPs: [{ ip: p.status.podIP }] } : {}),
          qosClass: "BestEffort",
          ...(p.status.startTime !== undefined ? { startTime: ts(p.status.startTime) } : {}),
        },
      };
    }
    case "services": {
      const s = item as ServiceState;
      const spec: Record<string, unknown> = {
        clusterIP: s.spec.clusterIP,
        clusterIPs: [s.spec.clusterIP],
        ...(s.spec.externalIPs.length ? { externalIPs: [...s.spec.externalIPs] } : {}),
        ...(s.spec.type !== "ClusterIP" ? { externalTrafficPolicy: s.spec.externalTrafficPolicy } : {}),
        ...(s.spec.healthCheckNodePort ? { healthCheckNodePort: s.spec.healthCheckNodePort } : {}),
        internalTrafficPolicy: s.spec.internalTrafficPolicy,
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ...(s.spec.loadBalancerSourceRanges.length ? { loadBalancerSourceRanges: [...s.spec.loadBalancerSourceRanges] } : {}),
        ports: s.spec.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), ...(p.nodePort ? { nodePort: p.nodePort } : {}), port: p.port, protocol: p.protocol, targetPort: p.targetPort })),
        ...(s.spec.selector ? { selector: { ...s.spec.selector } } : {}),
        sessionAffinity: s.spec.sessionAffinity,
        ...(s.spec.sessionAffinity === "ClientIP" ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.spec.sessionAffinityTimeoutSeconds } } } : {}),
        type: s.spec.type,
      };
      const ingress = s.status.loadBalancerIngressIPs.map((ip) => ({ ip }));
      return { apiVersion: "v1", kind: "Service", metadata: apiMeta(state, s.meta, epoch), spec, status: { loadBalancer: ingress.length ? { ingress } : {} } };
    }
    case "endpoints": {
      const e = item as EndpointsView;
      const addr = (a: EndpointsView["subsets"][number]["addresses"][number]) => ({ ip: a.ip, ...(a.nodeName ? { nodeName: a.nodeName } : {}), ...(a.targetRef ? { targetRef: { kind: "Pod", name: a.targetRef.name, namespace: a.targetRef.namespace, uid: state.pods[objKey(a.targetRef.namespace, a.targetRef.name)]?.meta.uid ?? "" } } : {}) });
      return {
        apiVersion: "v1", kind: "Endpoints",
        metadata: { creationTimestamp: ts(e.creationTimestamp), ...(Object.keys(e.labels).length ? { labels: { ...e.labels } } : {}), name: e.name, namespace: e.namespace, uid: deterministicUid("Endpoints", e.namespace, e.name, e.creationTimestamp) },
        ...(e.subsets.length ? {
          subsets: e.subsets.map((ss) => ({
            ...(ss.addresses.length ? { addresses: ss.addresses.map(addr) } : {}),
            ...(ss.notReadyAddresses.length ? { notReadyAddresses: ss.notReadyAddresses.map(addr) } : {}),
            ports: ss.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })),
          })),
        } : {}),
      };
    }
    case "endpointslices": {
      const s = item as EndpointSliceState;
      return {
        addressType: s.addressType, apiVersion: "discovery.k8s.io/v1",
        endpoints: s.endpoints.map((e) => ({
          addresses: [...e.addresses],
          conditions: { ...e.conditions },
          ...(e.hints ? { hints: { forZones: e.hints.forZones.map((name) => ({ name })) } } : {}),
          ...(e.nodeName ? { nodeName: e.nodeName } : {}),
          ...(e.targetRef ? { targetRef: { kind: "Pod", name: e.targetRef.name, namespace: e.targetRef.namespace, uid: state.pods[objKey(e.targetRef.namespace, e.targetRef.name)]?.meta.uid ?? "" } } : {}),
          ...(e.zone ? { zone: e.zone } : {}),
        })),
        kind: "EndpointSlice",
        metadata: apiMeta(state, s.meta, epoch, s.managed ? { generateName: `${s.serviceName}-` } : {}),
        ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
      };
    }
  }
}

function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = dropUndefined(x);
    return o;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Entry point

function listItems(state: ClusterState, kind: Kind, ns: string): unknown[] {
  const inNs = <T extends { meta: { namespace: string } }>(xs: T[]) => xs.filter((x) => x.meta.namespace === ns);
  switch (kind) {
    case "deployments": return inNs(sortedValues(state.deployments));
    case "replicasets": return inNs(sortedValues(state.replicaSets));
    case "pods": return inNs(sortedValues(state.pods));
    case "services": return inNs(sortedValues(state.services));
    case "endpointslices": return inNs(sortedValues(state.endpointSlices));
    case "endpoints":
      return inNs(sortedValues(state.services)).map((s) => endpointsFor(state, objKey(ns, s.meta.name))).filter((e): e is EndpointsView => e !== undefined);
  }
}

function itemName(kind: Kind, item: unknown): string {
  return kind === "endpoints" ? (item as EndpointsView).name : (item as { meta: { name: string } }).meta.name;
}

/**
 * `kubectl get <kind> [name] [-o table|wide|yaml|json]` in one namespace (default "default").
 * Unknown kinds and missing objects give kubectl's error text on stderr and exit code 1.
 */
export function kubectlGet(state: ClusterState, kindText: string, name: string | undefined, opts: KubectlOptions): KubectlResult {
  const kind = KIND_ALIASES[kindText.toLowerCase()];
  if (!kind) return { stdout: "", stderr: `error: the server doesn't have a resource type "${kindText}"\n`, exitCode: 1 };
  const ns = opts.namespace ?? "default";
  const output = opts.output ?? "table";
  const epoch = opts.epochSeconds ?? 0;
  let items = listItems(state, kind, ns);
  if (name !== undefined) {
    items = items.filter((i) => itemName(kind, i) === name);
    if (items.length === 0) return { stdout: "", stderr: `Error from server (NotFound): ${QUALIFIED[kind]} "${name}" not found\n`, exitCode: 1 };
  }
  if (output === "yaml" || output === "json") {
    const objs = items.map((i) => dropUndefined(toApiObject(state, kind, i, opts.now, epoch)));
    const doc = name !== undefined ? objs[0] : { apiVersion: "v1", items: objs, kind: "List", metadata: { resourceVersion: "" } };
    const stdout = output === "json" ? `${JSON.stringify(doc, null, 4)}\n` : yamlStringify(doc, { version: "1.1", indentSeq: false, sortMapEntries: true, lineWidth: 0 });
    return { stdout, stderr: "", exitCode: 0 };
  }
  if (items.length === 0) return { stdout: "", stderr: `No resources found in ${ns} namespace.\n`, exitCode: 0 };
  return { stdout: tabwrite(tableRows(state, kind, items, output === "wide", opts.now)), stderr: "", exitCode: 0 };
}
