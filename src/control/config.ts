/**
 * The timed control plane's delays and thresholds, with Kubernetes' defaults.
 *
 * Every value is simulated time (integer ns) or a count. Defaults name their source; where
 * Kubernetes has no single number (API/watch latencies, image pulls), svcsim picks a small
 * plausible constant and says so. All delays are deterministic; the only randomness is the phase
 * of periodic loops (probe workers, PLEG, node heartbeats, the node monitor), drawn from seeded
 * streams by the ControlPlane.
 */
import type { Probe } from "../cluster/types.ts";
import type { ProfileName } from "../kubeproxy/types.ts";

const MS = 1_000_000;
const S = 1_000_000_000;

/** How an app reacts to SIGTERM (the container's main process). */
export interface AppShutdown {
  /**
   * Seconds between SIGTERM and the process exiting. 0 = exits at once (a Go program without a
   * signal handler, serve_hostname); > 0 = drains: stops accepting (process "terminating"), then
   * exits; null = ignores SIGTERM and is SIGKILLed when the grace period ends.
   */
  readonly sigtermExitSeconds: number | null;
}

export interface ControlPlaneConfig {
  /**
   * Readiness probe assumed for containers that declare none. Kubernetes itself has no probe then
   * (Ready = containers running), which is what `null` gives; the default is null. Give a Probe
   * (e.g. KUBERNETES_PROBE_DEFAULTS) to make failReadiness/hangPod observable on probe-less pods.
   */
  readonly defaultReadinessProbe: Probe | null;
  /** Kubelet informer/watch latency: a pod bound to, or deleted on, a node reaches its kubelet (svcsim: 50 ms). */
  readonly kubeletWatchDelayNs: number;
  /** Sandbox + CNI setup until the pod has its IP (svcsim: 500 ms; real: 0.2–2 s). */
  readonly sandboxSetupNs: number;
  /** Image pull + container create/start for a new pod (svcsim: 1 s; `IfNotPresent` with a cached image is ~0.5–1 s). */
  readonly containerStartNs: number;
  /** Container restart (image present, sandbox kept) after a crash (svcsim: 500 ms). */
  readonly containerRestartNs: number;
  /** Kubelet status manager → API server (pod Ready/Running/phase writes) (svcsim: 50 ms). */
  readonly statusUpdateDelayNs: number;
  /** After the last container exits, sandbox teardown removes the netns (svcsim: 100 ms). */
  readonly sandboxTeardownNs: number;
  /** PLEG relist period: how soon the kubelet notices a container exit (kubelet: 1 s, all versions). */
  readonly plegRelistPeriodNs: number;
  /** CrashLoopBackOff: initial 10 s, doubling, capped at 300 s (kubelet, all versions); reset after 2×max of calm. */
  readonly crashLoopInitialNs: number;
  readonly crashLoopMaxNs: number;
  /** Extra grace the kubelet grants when preStop outlives the grace period (v1.?+: 2 s one-time extension). */
  readonly preStopExtraGraceNs: number;
  /** EndpointSlice controller: pod change → slice written (upstream --endpointslice-updates-batch-period defaults to 0; svcsim: 50 ms for informer + queue + API write). */
  readonly endpointSliceDelayNs: number;
  /** Deployment/ReplicaSet controllers: change observed → reconciled (svcsim: 20 ms). */
  readonly controllerDelayNs: number;
  /** kube-scheduler: pod created → bound (svcsim: 10 ms). */
  readonly schedulerDelayNs: number;
  /** kube-proxy's Service/EndpointSlice informers: API write → change tracker (svcsim: 20 ms). */
  readonly kubeProxyWatchDelayNs: number;
  /** kube-proxy process start after its node comes back (svcsim: 2 s). */
  readonly kubeProxyStartNs: number;
  /** kubelet start after its node comes back, until its first heartbeat (svcsim: 5 s). */
  readonly kubeletStartNs: number;
  /** Node lease renew interval = nodeStatusUpdateFrequency (kubelet 10 s; lease renew 25% of the 40 s lease). */
  readonly nodeHeartbeatPeriodNs: number;
  /** Node lifecycle controller --node-monitor-period (5 s, all versions). */
  readonly nodeMonitorPeriodNs: number;
  /** --node-monitor-grace-period: 40 s up to v1.31, 50 s from v1.32 (KEP-4556). Both svcsim profiles are ≤ v1.30: 40 s. */
  readonly nodeMonitorGracePeriodNs: number;
  /** DefaultTolerationSeconds admission plugin: not-ready/unreachable NoExecute toleration 300 s (taint-based eviction, beta v1.13, GA v1.18). */
  readonly notReadyTolerationNs: number;
  /** App behaviour per pod (default: exit at once on SIGTERM). */
  readonly appShutdown: (pod: { readonly namespace: string; readonly name: string; readonly image: string }) => AppShutdown;
}

/** The Probe field defaults of the Kubernetes API (core/v1: period 10 s, timeout 1 s, success 1, failure 3, no initial delay). */
export const KUBERNETES_PROBE_DEFAULTS: Probe = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
};

export function defaultControlPlaneConfig(profile: ProfileName = "current"): ControlPlaneConfig {
  void profile; // both profiles (v1.16, v1.28–v1.30) share these defaults; v1.32+ would use a 50 s node grace period
  return {
    defaultReadinessProbe: null,
    kubeletWatchDelayNs: 50 * MS,
    sandboxSetupNs: 500 * MS,
    containerStartNs: 1 * S,
    containerRestartNs: 500 * MS,
    statusUpdateDelayNs: 50 * MS,
    sandboxTeardownNs: 100 * MS,
    plegRelistPeriodNs: 1 * S,
    crashLoopInitialNs: 10 * S,
    crashLoopMaxNs: 300 * S,
    preStopExtraGraceNs: 2 * S,
    endpointSliceDelayNs: 50 * MS,
    controllerDelayNs: 20 * MS,
    schedulerDelayNs: 10 * MS,
    kubeProxyWatchDelayNs: 20 * MS,
    kubeProxyStartNs: 2 * S,
    kubeletStartNs: 5 * S,
    nodeHeartbeatPeriodNs: 10 * S,
    nodeMonitorPeriodNs: 5 * S,
    nodeMonitorGracePeriodNs: 40 * S,
    notReadyTolerationNs: 300 * S,
    appShutdown: () => ({ sigtermExitSeconds: 0 }),
  };
}

/** Validates a config (a bug or bad input surfaces early). */
export function checkControlPlaneConfig(c: ControlPlaneConfig): void {
  for (const [k, v] of Object.entries(c)) {
    if (k.endsWith("Ns") && (!Number.isSafeInteger(v) || (v as number) < 0)) throw new Error(`control plane config: ${k} must be a non-negative integer number of ns, got ${String(v)}`);
  }
  for (const k of ["plegRelistPeriodNs", "nodeHeartbeatPeriodNs", "nodeMonitorPeriodNs", "crashLoopInitialNs"] as const) {
    if (c[k] <= 0) throw new Error(`control plane config: ${k} must be > 0`);
  }
  if (c.defaultReadinessProbe) checkProbe(c.defaultReadinessProbe, "defaultReadinessProbe");
}

export function checkProbe(p: Probe, where: string): void {
  if (!(p.periodSeconds > 0) || !(p.timeoutSeconds > 0) || !(p.successThreshold >= 1) || !(p.failureThreshold >= 1) || !(p.initialDelaySeconds >= 0)) {
    throw new Error(`${where}: probe needs periodSeconds > 0, timeoutSeconds > 0, thresholds >= 1, initialDelaySeconds >= 0`);
  }
}
