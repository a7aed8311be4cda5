/**
 * Plays a scenario timeline on a ControlPlane: each step becomes a `scenario.event` record at its
 * time (action = the step's name, detail = `key=value` pairs, see ./events.ts) and the fault or API
 * write it stands for.
 *
 * ControlTimelineEvent is the one definition of a timeline step; scenario/types.ts's TimelineEvent
 * adds only where the step was written, so a scenario's `timeline` array can be passed as is.
 */
import type { SimTime } from "../engine/time.ts";
import { objKey } from "../cluster/types.ts";
import type { ControlPlane } from "./controlplane.ts";
import { formatDetail } from "./events.ts";

export type ControlTimelineEvent = { readonly atNs: SimTime } & (
  | { readonly action: "deletePod"; readonly namespace: string; readonly pod: string; readonly gracePeriodSeconds?: number }
  | { readonly action: "killPod"; readonly namespace: string; readonly pod: string }
  | { readonly action: "failReadiness"; readonly namespace: string; readonly pod: string; readonly durationNs?: SimTime }
  | { readonly action: "hangPod"; readonly namespace: string; readonly pod: string; readonly durationNs?: SimTime }
  | { readonly action: "nodeDown"; readonly node: string }
  | { readonly action: "nodeUp"; readonly node: string }
  | { readonly action: "scale"; readonly namespace: string; readonly deployment: string; readonly replicas: number }
  | { readonly action: "rollout"; readonly namespace: string; readonly deployment: string; readonly image?: string }
);

/** The detail text of a step's scenario.event record. */
export function timelineDetail(e: ControlTimelineEvent): string {
  switch (e.action) {
    case "deletePod":
      return formatDetail({ pod: objKey(e.namespace, e.pod), ...(e.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: e.gracePeriodSeconds } : {}) });
    case "killPod":
      return formatDetail({ pod: objKey(e.namespace, e.pod) });
    case "failReadiness":
    case "hangPod":
      return formatDetail({ pod: objKey(e.namespace, e.pod), ...(e.durationNs !== undefined ? { durationNs: e.durationNs } : {}) });
    case "nodeDown":
    case "nodeUp":
      return formatDetail({ node: e.node });
    case "scale":
      return formatDetail({ deployment: objKey(e.namespace, e.deployment), replicas: e.replicas });
    case "rollout":
      return formatDetail({ deployment: objKey(e.namespace, e.deployment), ...(e.image !== undefined ? { image: e.image } : {}) });
  }
}

/** Applies one step now. */
export function applyTimelineEvent(cp: ControlPlane, e: ControlTimelineEvent): void {
  cp.trace.emit({ type: "scenario.event", time: cp.sim.now, action: e.action, detail: timelineDetail(e) });
  switch (e.action) {
    case "deletePod":
      return cp.deletePod(objKey(e.namespace, e.pod), e.gracePeriodSeconds);
    case "killPod":
      return cp.killPod(objKey(e.namespace, e.pod));
    case "failReadiness":
      return cp.failReadiness(objKey(e.namespace, e.pod), e.durationNs);
    case "hangPod":
      return cp.hangPod(objKey(e.namespace, e.pod), e.durationNs);
    case "nodeDown":
      return cp.nodeDown(e.node);
    case "nodeUp":
      return cp.nodeUp(e.node);
    case "scale":
      return cp.scale(objKey(e.namespace, e.deployment), e.replicas);
    case "rollout":
      return cp.rollout(objKey(e.namespace, e.deployment), e.image);
  }
}

/**
 * Schedules every step at its time (steps at equal times run in the given order). Steps before
 * `cp.sim.now` are a bug of the caller and throw.
 */
export function scheduleTimeline(cp: ControlPlane, events: readonly ControlTimelineEvent[]): void {
  for (const e of events) cp.sim.callAt(e.atNs, () => applyTimelineEvent(cp, e));
}
