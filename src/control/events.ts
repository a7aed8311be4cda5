/**
 * Control-plane happenings that have no trace record type of their own (probe results, signals,
 * container exits and restarts, node heartbeats lost, evictions).
 *
 * engine/trace.ts has no record for them yet, so they are emitted as `scenario.event` records
 * whose action starts with "control/" and whose detail is space-separated `key=value` pairs
 * (values never contain spaces), e.g.
 *   { action: "control/probe", detail: "pod=default/web-1 node=node-a result=failure consecutive=1" }
 * Timeline steps themselves use the bare action names ("deletePod", …) with the same detail form.
 * report/faults.ts reads both. A dedicated `control.event` record type would be cleaner; this
 * module is the one place to change when it exists.
 */
import type { Trace } from "../engine/trace.ts";

export type ControlAction =
  | "control/probe" // a readiness/liveness probe result: result=success|failure|timeout
  | "control/kubelet-ready" // the kubelet's readiness verdict flipped: ready=true|false
  | "control/sigterm"
  | "control/sigkill"
  | "control/prestop"
  | "control/container-exited" // reason=killed|sigterm|sigkill|node-down
  | "control/container-started" // restart=N
  | "control/backoff" // CrashLoopBackOff wait: wait=<ns>
  | "control/network-gone"
  | "control/network-up"
  | "control/node-not-ready"
  | "control/node-ready"
  | "control/evicted"
  | "control/no-readiness-probe";

export function emitControl(trace: Trace, time: number, action: ControlAction, fields: Record<string, string | number | boolean>): void {
  trace.emit({ type: "scenario.event", time, action, detail: formatDetail(fields) });
}

/** `k=v` pairs in the given key order. */
export function formatDetail(fields: Record<string, string | number | boolean>): string {
  let out = "";
  for (const k of Object.keys(fields)) out += `${out ? " " : ""}${k}=${String(fields[k])}`;
  return out;
}
