/**
 * Fault timelines, computed from the trace alone (pure over TraceRecord[]): for every timeline
 * fault, when each stage of Kubernetes' reaction happened, and request counts in the windows
 * between them.
 *
 * Inputs (as control/ emits them, see control/events.ts):
 * - the fault: `scenario.event` with a timeline action (deletePod, killPod, failReadiness,
 *   hangPod, nodeDown, nodeUp, scale, rollout) and `key=value` details (pod=ns/name, node=…,
 *   deployment=ns/name);
 * - kubelet happenings: `scenario.event` with action "control/…" (probe results, container exits);
 * - `pod.change` (pod IPs, readiness, replacements), `endpoint.change` without node (the
 *   EndpointSlice as written) and with node (that node's kube-proxy rules gained/lost the endpoint);
 * - `request.outcome` (which endpoint served a request, when it started).
 *
 * Stages per affected pod (undefined when it did not happen):
 * fault → firstProbeFailure → endpointNotReady (control-plane view) → rulesUpdated[node] (first
 * sync after which the node's rules no longer route to it) → lastNewConnection (latest request
 * started after the fault that reached it) → replacementReady (a new pod of the same Deployment, or
 * the same pod again after a restart/recovery, Ready) → recovered (the replacement is in every
 * node's rules that had the failed one).
 */
import type { RequestOutcome, TraceRecord } from "../engine/trace.ts";

const FAULT_ACTIONS = new Set(["deletePod", "killPod", "failReadiness", "hangPod", "nodeDown", "nodeUp", "scale", "rollout"]);

export function parseDetail(detail: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of detail.split(" ")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export interface PodFaultTimeline {
  /** "namespace/name" */
  readonly pod: string;
  /** uint32 pod IP (0 when unknown). */
  readonly ip: number;
  readonly firstProbeFailure?: number;
  readonly endpointNotReady?: number;
  /** node → time its rules stopped routing to the pod. */
  readonly rulesUpdated: Readonly<Record<string, number>>;
  /** Latest of rulesUpdated (all nodes that had it). */
  readonly rulesUpdatedAll?: number;
  readonly lastNewConnection?: number;
  readonly replacement?: string;
  readonly replacementReady?: number;
  readonly recovered?: number;
}

export interface FaultTimeline {
  readonly action: string;
  readonly time: number;
  readonly detail: Readonly<Record<string, string>>;
  readonly pods: readonly PodFaultTimeline[];
}

function podIPs(records: readonly TraceRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    if (r.type === "pod.change" && r.ip !== 0) m.set(r.pod, r.ip);
    else if (r.type === "scenario.event" && r.action.startsWith("control/")) {
      const d = parseDetail(r.detail);
      if (d.pod && d.ip && !m.has(d.pod)) {
        const parts = d.ip.split(".").map(Number);
        if (parts.length === 4) m.set(d.pod, ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0);
      }
    }
  }
  return m;
}

/** Deployment-level prefix of a pod name: "<deploy>-" from "<deploy>-<hash>-<suffix>". */
function deploymentPrefix(pod: string): string {
  const parts = pod.split("-");
  return parts.length >= 3 ? parts.slice(0, -2).join("-") + "-" : pod;
}

/** The pods a fault hits. */
function affectedPods(records: readonly TraceRecord[], fault: { action: string; time: number; detail: Record<string, string> }, until: number): string[] {
  const d = fault.detail;
  if (d.pod) return [d.pod];
  const out = new Set<string>();
  for (const r of records) {
    if (r.time < fault.time || r.time >= until) continue;
    if (fault.action === "nodeDown" && r.type === "scenario.event" && r.action === "control/container-exited") {
      const x = parseDetail(r.detail);
      if (x.node === d.node && x.reason === "node-down" && x.pod) out.add(x.pod);
    }
    if ((fault.action === "scale" || fault.action === "rollout") && r.type === "pod.change" && r.change === "terminating") {
      const [ns] = d.deployment!.split("/");
      const depName = d.deployment!.slice(ns!.length + 1);
      if (r.pod.startsWith(`${ns}/${depName}-`)) out.add(r.pod);
    }
  }
  return [...out].sort();
}

/** Every fault of the run with its stages, in time order. */
export function faultTimelines(records: readonly TraceRecord[]): FaultTimeline[] {
  const ips = podIPs(records);
  const faults = records
    .filter((r) => r.type === "scenario.event" && FAULT_ACTIONS.has(r.action))
    .map((r) => ({ action: (r as { action: string }).action, time: r.time, detail: parseDetail((r as { detail: string }).detail) }));
  return faults.map((f, i) => {
    const nextSameKind = faults.slice(i + 1).find((g) => g.action === f.action && (g.detail.deployment ?? g.detail.node) === (f.detail.deployment ?? f.detail.node));
    const until = nextSameKind?.time ?? Infinity;
    const pods = f.action === "nodeUp" ? [] : affectedPods(records, f, until).map((pod) => podTimeline(records, ips, f, pod));
    return { action: f.action, time: f.time, detail: f.detail, pods };
  });
}

function podTimeline(records: readonly TraceRecord[], ips: Map<string, number>, f: { action: string; time: number }, pod: string): PodFaultTimeline {
  const ip = ips.get(pod) ?? 0;
  let firstProbeFailure: number | undefined;
  let endpointNotReady: number | undefined;
  let lastNewConnection: number | undefined;
  const rulesUpdated: Record<string, number> = {};
  let replacement: string | undefined;
  let replacementReady: number | undefined;
  const prefix = deploymentPrefix(pod.slice(pod.indexOf("/") + 1));
  const ns = pod.slice(0, pod.indexOf("/"));
  const created = new Set<string>();
  for (const r of records) {
    if (r.time < f.time) continue;
    switch (r.type) {
      case "scenario.event":
        if (firstProbeFailure === undefined && r.action === "control/probe") {
          const d = parseDetail(r.detail);
          if (d.pod === pod && d.probe === "readiness" && d.result !== "success") firstProbeFailure = r.time;
        }
        break;
      case "endpoint.change":
        if (r.addr !== ip || ip === 0) break;
        if (r.node === undefined) {
          if (endpointNotReady === undefined && (r.change === "not-ready" || r.change === "terminating" || r.change === "removed")) endpointNotReady = r.time;
        } else if (r.change === "removed" && rulesUpdated[r.node] === undefined) rulesUpdated[r.node] = r.time;
        break;
      case "request.outcome":
        if (r.endpointAddr === ip && ip !== 0 && (lastNewConnection === undefined || r.start > lastNewConnection) && r.start >= f.time) lastNewConnection = r.start;
        break;
      case "pod.change":
        if (r.change === "created" && r.pod.startsWith(`${ns}/${prefix}`)) created.add(r.pod);
        if (replacementReady === undefined && r.change === "ready" && (created.has(r.pod) || r.pod === pod)) {
          replacement = r.pod;
          replacementReady = r.time;
        }
        break;
    }
  }
  const times = Object.values(rulesUpdated);
  const rulesUpdatedAll: number | undefined = times.length > 0 ? Math.max(...times) : undefined;
  let recovered: number | undefined;
  if (replacement !== undefined && replacementReady !== undefined) {
    const rip = ips.get(replacement) ?? 0;
    const added = new Map<string, number>();
    for (const r of records) {
      if (r.type === "endpoint.change" && r.node !== undefined && r.addr === rip && r.change === "added" && r.time >= replacementReady && !added.has(r.node)) added.set(r.node, r.time);
    }
    const nodes = [...new Set([...Object.keys(rulesUpdated), ...added.keys()])];
    if (nodes.length > 0 && nodes.every((n) => added.has(n))) recovered = Math.max(...nodes.map((n) => added.get(n)!));
  }
  return {
    pod, ip,
    ...(firstProbeFailure !== undefined ? { firstProbeFailure } : {}),
    ...(endpointNotReady !== undefined ? { endpointNotReady } : {}),
    rulesUpdated,
    ...(rulesUpdatedAll !== undefined ? { rulesUpdatedAll } : {}),
    ...(lastNewConnection !== undefined ? { lastNewConnection } : {}),
    ...(replacement !== undefined ? { replacement } : {}),
    ...(replacementReady !== undefined ? { replacementReady } : {}),
    ...(recovered !== undefined ? { recovered } : {}),
  };
}

export type OutcomeCounts = Record<RequestOutcome, number> & { total: number };

/** Requests that started in [from, to), by outcome; optionally only those reaching `endpointAddr` or from one client. */
export function countRequests(records: readonly TraceRecord[], from: number, to: number, opts: { endpointAddr?: number; client?: string } = {}): OutcomeCounts {
  const c: OutcomeCounts = { ok: 0, refused: 0, reset: 0, timeout: 0, error: 0, total: 0 };
  for (const r of records) {
    if (r.type !== "request.outcome" || r.start < from || r.start >= to) continue;
    if (opts.endpointAddr !== undefined && r.endpointAddr !== opts.endpointAddr) continue;
    if (opts.client !== undefined && r.client !== opts.client) continue;
    c[r.outcome]++;
    c.total++;
  }
  return c;
}
