/**
 * Control-plane happenings that have no trace record type of their own (probe results, signals,
 * container exits and restarts, sandbox set-up and teardown, node NotReady, evictions), emitted as
 * `control.event` records (engine/trace.ts): the component, the action, the pod and node concerned,
 * and further `key=value` pairs in `detail` (values never contain spaces), e.g.
 *   { component: "kubelet", action: "probe", pod: "default/web-1", node: "node-a",
 *     detail: "probe=readiness result=failure" }
 * Timeline steps themselves are `scenario.event` records ("deletePod", …) with the same detail form.
 * report/faults.ts reads both.
 */
import type { ControlComponent, Trace } from "../engine/trace.ts";

export type ControlAction =
  | "probe" // a readiness/liveness probe result: result=success|failure|timeout
  | "kubelet-ready" // the kubelet's readiness verdict flipped: ready=true|false
  | "sigterm"
  | "sigkill"
  | "prestop"
  | "container-exited" // reason=killed|sigterm|sigkill|node-down
  | "container-started" // restart=N
  | "backoff" // CrashLoopBackOff wait: wait=<ns>
  | "network-gone"
  | "network-up"
  | "node-not-ready"
  | "node-ready"
  | "evicted"
  | "no-readiness-probe";

/** The component each action belongs to. */
const COMPONENT: { readonly [A in ControlAction]: ControlComponent } = {
  probe: "kubelet",
  "kubelet-ready": "kubelet",
  sigterm: "kubelet",
  sigkill: "kubelet",
  prestop: "kubelet",
  "container-exited": "container",
  "container-started": "kubelet",
  backoff: "kubelet",
  "network-gone": "kubelet",
  "network-up": "kubelet",
  "node-not-ready": "node-lifecycle-controller",
  "node-ready": "node",
  evicted: "node-lifecycle-controller",
  "no-readiness-probe": "kubelet",
};

/** Emits one control.event; `pod` and `node` in `fields` become the record's own fields. */
export function emitControl(trace: Trace, time: number, action: ControlAction, fields: Record<string, string | number | boolean>): void {
  const { pod, node, ...rest } = fields;
  trace.emit({
    type: "control.event",
    time,
    component: COMPONENT[action],
    action,
    ...(pod !== undefined ? { pod: String(pod) } : {}),
    ...(node !== undefined ? { node: String(node) } : {}),
    detail: formatDetail(rest),
  });
}

/** `k=v` pairs in the given key order. */
export function formatDetail(fields: Record<string, string | number | boolean>): string {
  let out = "";
  for (const k of Object.keys(fields)) out += `${out ? " " : ""}${k}=${String(fields[k])}`;
  return out;
}
