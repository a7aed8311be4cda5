/**
 * Fault timelines, computed from the trace alone (pure over TraceRecord[]): for every timeline
 * fault, when each stage of Kubernetes' reaction happened, and request counts in the windows
 * between them.
 *
 * Inputs (as control/ emits them, see control/events.ts):
 * - the fault: `scenario.event` with a timeline action (deletePod, killPod, failReadiness,
 *   hangPod, nodeDown, nodeUp, scale, rollout) and `key=value` details (pod=ns/name, node=…,
 *   deployment=ns/name);
 * - kubelet and node happenings: `control.event` (probe results, container exits with their
 *   reason, sandbox set-up with the pod's IP);
 * - `pod.change` (pod IPs, readiness, replacements), `endpoint.change` without node (the
 *   EndpointSlice as written) and with node (that node's kube-proxy rules gained/lost the endpoint);
 * - `request.outcome` (which endpoint a request reached, when it started).
 *
 * Stages per affected pod (undefined when it did not happen):
 * fault → firstProbeFailure → endpointNotReady (control-plane view) → rulesUpdated[node] (first
 * sync after which the node's rules no longer route to it) → lastNewConnection (latest request
 * started after the fault that reached it) → replacementReady (a new pod of the same Deployment, or
 * the same pod again after a restart/recovery, Ready) → recovered (the replacement is in every
 * node's rules that had the failed one).
 *
 * Windows (faultReports): the fault's span — from the fault to the next fault or the end of the
 * run — cut at the stages that happened, in order: fault → endpoint not ready → rules updated on
 * every node → recovered → next fault/end. Requests are counted by their start time, so every
 * request of the span falls in exactly one window.
 */
import type { RequestOutcome, TraceRecord } from "../engine/trace.ts";
import { formatIPv4 } from "../net/ip.ts";

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
  /** pod IP as int32 bits (net/ip.ts) (0 when unknown). */
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

function ipFromText(s: string): number {
  const parts = s.split(".").map(Number);
  return parts.length === 4 ? ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) : 0; // int32 bits, as net/ip.ts
}

function podIPs(records: readonly TraceRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    if (r.type === "pod.change" && r.ip !== 0) m.set(r.pod, r.ip);
    else if (r.type === "control.event" && r.pod !== undefined && !m.has(r.pod)) {
      const d = parseDetail(r.detail);
      if (d.ip) {
        const ip = ipFromText(d.ip);
        if (ip !== 0) m.set(r.pod, ip);
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
    if (fault.action === "nodeDown" && r.type === "control.event" && r.action === "container-exited" && r.node === d.node && r.pod !== undefined) {
      if (parseDetail(r.detail).reason === "node-down") out.add(r.pod);
    }
    if ((fault.action === "scale" || fault.action === "rollout") && r.type === "pod.change" && r.change === "terminating") {
      const [ns] = d.deployment!.split("/");
      const depName = d.deployment!.slice(ns!.length + 1);
      if (r.pod.startsWith(`${ns}/${depName}-`)) out.add(r.pod);
    }
  }
  return [...out].sort();
}

interface FaultEvent {
  action: string;
  time: number;
  detail: Record<string, string>;
  text: string;
}

function faultEvents(records: readonly TraceRecord[]): FaultEvent[] {
  const out: FaultEvent[] = [];
  for (const r of records) if (r.type === "scenario.event" && FAULT_ACTIONS.has(r.action)) out.push({ action: r.action, time: r.time, detail: parseDetail(r.detail), text: r.detail });
  return out;
}

/** Every fault of the run with its stages, in time order. */
export function faultTimelines(records: readonly TraceRecord[]): FaultTimeline[] {
  const ips = podIPs(records);
  const faults = faultEvents(records);
  return faults.map((f, i) => {
    const nextSameKind = faults.slice(i + 1).find((g) => g.action === f.action && (g.detail.deployment ?? g.detail.node) === (f.detail.deployment ?? f.detail.node));
    const until = nextSameKind?.time ?? Infinity;
    // A new pod replaces at most one failed pod (a rollout or eviction of several pods).
    const taken = new Set<string>();
    const pods = f.action === "nodeUp" ? [] : affectedPods(records, f, until).map((pod) => podTimeline(records, ips, f, pod, taken));
    return { action: f.action, time: f.time, detail: f.detail, pods };
  });
}

function podTimeline(records: readonly TraceRecord[], ips: Map<string, number>, f: { action: string; time: number }, pod: string, taken: Set<string>): PodFaultTimeline {
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
      case "control.event":
        if (firstProbeFailure === undefined && r.action === "probe" && r.pod === pod) {
          const d = parseDetail(r.detail);
          if (d.probe === "readiness" && d.result !== "success") firstProbeFailure = r.time;
        }
        break;
      case "endpoint.change":
        if (r.addr !== ip || ip === 0) break;
        if (r.node === undefined) {
          if (endpointNotReady === undefined && (r.change === "not-ready" || r.change === "terminating" || r.change === "removed")) endpointNotReady = r.time;
        } else if (r.change === "removed" && rulesUpdated[r.node] === undefined) rulesUpdated[r.node] = r.time;
        break;
      case "pod.change":
        if (r.change === "created" && r.pod.startsWith(`${ns}/${prefix}`)) created.add(r.pod);
        if (replacementReady === undefined && r.change === "ready" && ((created.has(r.pod) && !taken.has(r.pod)) || r.pod === pod)) {
          replacement = r.pod;
          replacementReady = r.time;
          taken.add(r.pod);
        }
        break;
    }
  }
  // The last new connection routed to the failed pod: after the fault, before it was back (when the
  // pod is its own replacement) — requests reaching it later are traffic to a healthy pod again.
  const back = replacement === pod && replacementReady !== undefined ? replacementReady : Infinity;
  for (const r of records) {
    if (r.type !== "request.outcome" || ip === 0 || r.endpointAddr !== ip || r.start < f.time || r.start >= back) continue;
    if (lastNewConnection === undefined || r.start > lastNewConnection) lastNewConnection = r.start;
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

// ---- the report's faults section -----------------------------------------------------------------

/** Requests of a window: sent = ok + failed.total, failed by kind. */
export interface WindowCounts {
  sent: number;
  ok: number;
  failed: { refused: number; reset: number; timeout: number; error: number; total: number };
}

export interface FaultWindow {
  /** "fault → not ready", "not ready → rules updated", "rules updated → recovered", "recovered → next fault", … */
  name: string;
  fromMs: number;
  toMs: number;
  requests: WindowCounts;
}

export interface FaultPodReport {
  pod: string;
  ip: string;
  probeFailureMs: number | null;
  notReadyMs: number | null;
  /** Per node: when its rules stopped routing new connections to the pod (sorted by node). */
  rulesUpdatedMs: { node: string; timeMs: number }[];
  rulesUpdatedAllMs: number | null;
  lastNewConnectionMs: number | null;
  replacement: string | null;
  replacementReadyMs: number | null;
  recoveredMs: number | null;
}

export interface FaultReport {
  action: string;
  /** The timeline step's details ("pod=default/web-1"). */
  detail: string;
  timeMs: number;
  /** Fault-level stage times (over its pods: first probe failure, latest of the others); null when not reached. */
  probeFailureMs: number | null;
  notReadyMs: number | null;
  rulesUpdatedAllMs: number | null;
  lastNewConnectionMs: number | null;
  replacementReadyMs: number | null;
  recoveredMs: number | null;
  /** End of the span this fault's counts cover: the next fault, or the end of the run. */
  untilMs: number;
  pods: FaultPodReport[];
  windows: FaultWindow[];
  /** All requests started in [fault, until). */
  requests: WindowCounts;
  /** Completion time of the last failed request of the span, relative to the fault (ms); 0 when none failed. */
  timeToRecoveryMs: number;
}

const msOf = (ns: number): number => {
  const r = Math.round(ns / 1000) / 1000;
  return r === 0 ? 0 : r;
};
const msOrNull = (ns: number | undefined): number | null => (ns === undefined ? null : msOf(ns));

function emptyWindow(): WindowCounts {
  return { sent: 0, ok: 0, failed: { refused: 0, reset: 0, timeout: 0, error: 0, total: 0 } };
}

function addTo(c: WindowCounts, o: RequestOutcome): void {
  c.sent++;
  if (o === "ok") c.ok++;
  else {
    c.failed[o]++;
    c.failed.total++;
  }
}

const maxOf = (xs: (number | undefined)[]): number | undefined => {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length === 0 || v.length < xs.length ? undefined : Math.max(...v);
};

/** The faults section of a report: one entry per timeline fault, in time order. */
export function faultReports(records: readonly TraceRecord[], endNs: number): FaultReport[] {
  const timelines = faultTimelines(records);
  const events = faultEvents(records);
  const outcomes = records.filter((r): r is Extract<TraceRecord, { type: "request.outcome" }> => r.type === "request.outcome");
  return timelines.map((t, i) => {
    const until = i + 1 < events.length ? Math.max(events[i + 1]!.time, t.time) : Math.max(endNs, t.time);
    const pods = t.pods;
    const probe = pods.map((p) => p.firstProbeFailure).filter((x): x is number => x !== undefined);
    const notReady = maxOf(pods.map((p) => p.endpointNotReady));
    const rulesAll = maxOf(pods.map((p) => p.rulesUpdatedAll));
    const lastNew = pods.map((p) => p.lastNewConnection).filter((x): x is number => x !== undefined);
    const replReady = maxOf(pods.map((p) => p.replacementReady));
    const recovered = maxOf(pods.map((p) => p.recovered));
    // Window boundaries: the stages that happened inside the span, in order.
    const cuts: { name: string; at: number }[] = [{ name: "fault", at: t.time }];
    for (const [name, at] of [["not ready", pods.length ? notReady : undefined], ["rules updated", pods.length ? rulesAll : undefined], ["recovered", pods.length ? recovered : undefined]] as const) {
      if (at !== undefined && at >= cuts[cuts.length - 1]!.at && at < until) cuts.push({ name, at });
    }
    const endName = i + 1 < events.length ? "next fault" : "end";
    const windows: FaultWindow[] = cuts.map((c, k) => {
      const to = k + 1 < cuts.length ? cuts[k + 1]! : { name: endName, at: until };
      return { name: `${c.name} → ${to.name}`, fromMs: msOf(c.at), toMs: msOf(to.at), requests: emptyWindow() };
    });
    const all = emptyWindow();
    let lastFailEnd = -1;
    for (const r of outcomes) {
      if (r.start < t.time || r.start >= until) continue;
      addTo(all, r.outcome);
      let k = cuts.length - 1;
      while (k > 0 && r.start < cuts[k]!.at) k--;
      addTo(windows[k]!.requests, r.outcome);
      if (r.outcome !== "ok" && r.time > lastFailEnd) lastFailEnd = r.time;
    }
    return {
      action: t.action,
      detail: events[i]!.text,
      timeMs: msOf(t.time),
      probeFailureMs: probe.length ? msOf(Math.min(...probe)) : null,
      notReadyMs: msOrNull(notReady),
      rulesUpdatedAllMs: msOrNull(rulesAll),
      lastNewConnectionMs: lastNew.length ? msOf(Math.max(...lastNew)) : null,
      replacementReadyMs: msOrNull(replReady),
      recoveredMs: msOrNull(recovered),
      untilMs: msOf(until),
      pods: pods.map((p) => ({
        pod: p.pod,
        ip: p.ip === 0 ? "" : formatIPv4(p.ip),
        probeFailureMs: msOrNull(p.firstProbeFailure),
        notReadyMs: msOrNull(p.endpointNotReady),
        rulesUpdatedMs: Object.keys(p.rulesUpdated).sort().map((node) => ({ node, timeMs: msOf(p.rulesUpdated[node]!) })),
        rulesUpdatedAllMs: msOrNull(p.rulesUpdatedAll),
        lastNewConnectionMs: msOrNull(p.lastNewConnection),
        replacement: p.replacement ?? null,
        replacementReadyMs: msOrNull(p.replacementReady),
        recoveredMs: msOrNull(p.recovered),
      })),
      windows,
      requests: all,
      timeToRecoveryMs: lastFailEnd < 0 ? 0 : msOf(lastFailEnd - t.time),
    };
  });
}
