/**
 * The timed control plane: Kubernetes' controllers, kubelets and kube-proxies driving the cluster
 * state over simulated time on one Simulation (DESIGN.md §6: controllers are recipes plus delays).
 *
 * State: one immer ClusterState, changed only through recipes (cluster/recipes.ts and
 * ./recipes.ts). Recipes requested at the same simulated time are applied in one `produce`
 * (flushed by one event at that time, after the events already queued for it). After each flush the
 * old and new states are compared and the watchers react, each after its own delay
 * (ControlPlaneConfig): pod.change and endpoint.change (control-plane view) records, the scheduler,
 * the kubelets, the EndpointSlice, ReplicaSet and Deployment controllers, and every node's
 * kube-proxy informer.
 *
 * What is modelled (Kubernetes v1.16–v1.30 behaviour unless a version is named):
 * - Scheduler: binds a new pod after schedulerDelayNs (cluster/recipes.ts schedulePod); pods with
 *   no Ready node wait until a node becomes Ready.
 * - Kubelet, per pod: admission (watch delay), sandbox + IP (network "up"), container start,
 *   readiness (and liveness, when the container declares one) probe workers on a fixed grid
 *   (worker start + k·periodSeconds; pods present at t=0 get a seeded random phase), results
 *   after timeoutSeconds for a hung app, success/failure thresholds, initialDelaySeconds counted from
 *   the container's start; status writes after statusUpdateDelayNs. A container exit is noticed at
 *   the node's next PLEG relist (1 s grid); restarts follow restartPolicy with the kubelet's
 *   CrashLoopBackOff (first restart at once, then 10 s, 20 s, … 300 s; reset after 600 s calm —
 *   flowcontrol.Backoff as kuberuntime's doBackOff uses it). Not modelled: the pod worker's 10 s
 *   jittered requeue that quantises restarts in real kubelets, startup probes, image pull failures.
 * - Graceful deletion: the kubelet sees the deletion after kubeletWatchDelayNs, runs preStop (a
 *   sleep), sends SIGTERM (the app exits at once, drains for a while, or ignores it), SIGKILLs at the
 *   end of the grace period (+2 s when preStop used it all up), tears the sandbox down (network
 *   "gone") and removes the pod from the API.
 * - EndpointSlice controller: reconciles the Services that select a changed pod after
 *   endpointSliceDelayNs (ready / serving / terminating, cluster/endpoints.ts).
 * - ReplicaSet and Deployment controllers after controllerDelayNs; RollingUpdate pacing with
 *   maxSurge / maxUnavailable (./recipes.ts syncDeployment).
 * - Node lifecycle: a node that goes down stops heartbeating (lease renewals every 10 s); the
 *   node monitor (every 5 s) marks it NotReady once the last heartbeat is older than the grace
 *   period (40 s), marks its pods not Ready, taints it; taint-based eviction deletes its pods
 *   300 s later (DefaultTolerationSeconds); the ReplicaSet controller replaces them on other nodes.
 *   A node coming back reboots: kubelet and kube-proxy start again, deleted pods are removed, the
 *   others restart their containers. Not modelled: eviction rate limits, zone disruption modes.
 * - kube-proxy on every node (./kubeproxy.ts).
 *
 * Pod runtime (what the data plane needs): per pod `network` ("up": netns and IP exist; "gone":
 * torn down, its IP blackholes), `process` ("running"; "stopped": no listener, the pod's kernel
 * answers SYN with RST — refused; "hung": connections are accepted and never answered;
 * "terminating": SIGTERM received and draining — listener closed, new connections refused,
 * established ones served), and `ready` (the API's Ready condition). A node that is down forwards
 * nothing (onNodeChange).
 */
import type { Simulation, EventId } from "../engine/sim.ts";
import type { RngRoot, Stream } from "../engine/rng.ts";
import type { SimTime } from "../engine/time.ts";
import type { EndpointChange, PodChange, Trace } from "../engine/trace.ts";
import { tryParseIPv4 } from "../net/ip.ts";
import type { ClusterState, Endpoint, PodState, Probe } from "../cluster/types.ts";
import { objKey, sortedValues } from "../cluster/types.ts";
import {
  applyRecipes,
  assignPodIP,
  deletePod,
  reconcileReplicaSet,
  removePod,
  scaleDeployment,
  schedulePod,
  selectorMatches,
  setNodeReady,
  setNodeUp,
  setPodReady,
  setPodRunning,
  startPod,
  type ClusterDraft,
  type ControllerContext,
  type Recipe,
} from "../cluster/recipes.ts";
import { reconcileEndpointSlicesFor } from "../cluster/endpoints.ts";
import type { KubeProxyConfig } from "../kubeproxy/types.ts";
import { checkControlPlaneConfig, checkProbe, defaultControlPlaneConfig, type ControlPlaneConfig } from "./config.ts";
import { emitControl } from "./events.ts";
import { KubeProxySyncer, type ConntrackDelete, type InstallRules } from "./kubeproxy.ts";
import { markPodFailed, rolloutTemplate, syncDeployment } from "./recipes.ts";

const S = 1_000_000_000;

export type NetworkState = "up" | "gone";
export type ProcessState = "running" | "stopped" | "hung" | "terminating";

export interface PodRuntime {
  /** "namespace/name" */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** Dotted quad; "" before the sandbox has one. */
  readonly ip: string;
  readonly network: NetworkState;
  readonly process: ProcessState;
  /** The API's Ready condition. */
  readonly ready: boolean;
}

export type PodRuntimeListener = (pod: PodRuntime, time: SimTime) => void;
export type NodeListener = (node: string, up: boolean, time: SimTime) => void;

export interface ControlPlaneOptions {
  readonly sim: Simulation;
  readonly rng: RngRoot;
  readonly trace: Trace;
  /** The cluster at `sim.now` (e.g. scenario/build.ts buildInitialState): pods Running and Ready are taken as started long ago. */
  readonly state: ClusterState;
  readonly kubeProxy: KubeProxyConfig;
  /** Overrides of the defaults (defaultControlPlaneConfig(profile)). */
  readonly config?: Partial<ControlPlaneConfig>;
  /** Receives every kube-proxy sync's restore payloads (see kubeproxy.ts RulesInstall). */
  readonly install: InstallRules;
  /** Runs kube-proxy's UDP `conntrack -D` on a node; returns the number deleted. */
  readonly conntrackDelete?: ConntrackDelete;
  /** Names stream for new pods/slices (default "cluster/names", the stream buildInitialState used). */
  readonly namesStream?: string;
  /**
   * Run every kube-proxy's startup sync at sim.now (default true). False: the caller already
   * restored generateRules(state, node, cfg) (with jump rules) on every node; kube-proxy then
   * counts that as its first sync (next payloads without jump rules, stale chains relative to it).
   */
  readonly startupSync?: boolean;
}

/** The kubelet's view of one pod. */
interface PodLife {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  ip: string;
  network: NetworkState;
  process: ProcessState;
  apiReady: boolean;
  /** Container instance: bumped on every start and exit; stale timers compare it. */
  epoch: number;
  /** Whether the kubelet believes the container runs (exits are noticed at the PLEG relist). */
  containerUp: boolean;
  startedAt: SimTime;
  finishedAt: SimTime;
  readiness: Probe | null;
  liveness: Probe | null;
  /** Kubelet's readiness verdict and counters. */
  kReady: boolean;
  rSucc: number;
  rFail: number;
  lFail: number;
  probePhase: SimTime;
  probeTimers: EventId[];
  failReadinessUntil: SimTime;
  hungUntil: SimTime;
  backoff: { ns: SimTime; lastUpdate: SimTime } | null;
  terminating: boolean;
  /** SIGTERM/SIGKILL sequence in progress (deletion or liveness kill). */
  stopping: boolean;
  done: boolean;
  restarts: number;
}

interface NodeLife {
  up: boolean;
  epoch: number;
  plegPhase: SimTime;
  heartbeatPhase: SimTime;
  kubeletAlive: boolean;
}

/** Smallest phase + k·period strictly after `t`. */
export function nextGrid(phase: SimTime, period: SimTime, t: SimTime): SimTime {
  if (t < phase) return phase;
  return phase + (Math.floor((t - phase) / period) + 1) * period;
}

/** Largest phase + k·period at or before `t` (phase itself when t < phase). */
function lastGrid(phase: SimTime, period: SimTime, t: SimTime): SimTime {
  if (t < phase) return phase - period;
  return phase + Math.floor((t - phase) / period) * period;
}

const secs = (x: number): SimTime => Math.round(x * S);

export class ControlPlane {
  readonly sim: Simulation;
  readonly trace: Trace;
  readonly cfg: ControlPlaneConfig;
  readonly kubeProxyConfig: KubeProxyConfig;
  private st: ClusterState;
  private readonly rng: RngRoot;
  private readonly names: Stream;
  private readonly pending: Recipe[] = [];
  private readonly afterFlush: (() => void)[] = [];
  private flushScheduled = false;
  private readonly pods = new Map<string, PodLife>();
  private readonly nodes = new Map<string, NodeLife>();
  private readonly syncers = new Map<string, KubeProxySyncer>();
  private readonly podListeners: PodRuntimeListener[] = [];
  private readonly nodeListeners: NodeListener[] = [];
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyRS = new Set<string>();
  private readonly dirtyDeployments = new Set<string>();
  private readonly unscheduled = new Set<string>();
  private esTimer = false;
  private rsTimer = false;
  private depTimer = false;
  private schedTimer = false;
  private readonly monitorPhase: SimTime;

  constructor(opts: ControlPlaneOptions) {
    this.sim = opts.sim;
    this.trace = opts.trace;
    this.rng = opts.rng;
    this.kubeProxyConfig = opts.kubeProxy;
    this.cfg = { ...defaultControlPlaneConfig(opts.kubeProxy.profile), ...(opts.config ?? {}) };
    checkControlPlaneConfig(this.cfg);
    this.names = opts.rng.stream(opts.namesStream ?? "cluster/names");
    this.st = opts.state;
    const now = this.sim.now;
    this.monitorPhase = now + Math.floor(opts.rng.stream("controller/node-monitor").next() * this.cfg.nodeMonitorPeriodNs);
    for (const n of sortedValues(this.st.nodes)) {
      const r = opts.rng.stream(`kubelet/phase@${n.name}`);
      this.nodes.set(n.name, {
        up: n.up,
        epoch: 0,
        plegPhase: now + Math.floor(r.next() * this.cfg.plegRelistPeriodNs),
        heartbeatPhase: now + Math.floor(r.next() * this.cfg.nodeHeartbeatPeriodNs),
        kubeletAlive: n.up,
      });
    }
    const env = { sim: this.sim, trace: this.trace, install: opts.install, ...(opts.conntrackDelete ? { conntrackDelete: opts.conntrackDelete } : {}) };
    for (const n of sortedValues(this.st.nodes)) {
      const s = new KubeProxySyncer(env, n.name, this.kubeProxyConfig, this.st);
      this.syncers.set(n.name, s);
      if (!n.up) s.stop();
      else if (opts.startupSync ?? true) s.start(now);
      else s.assumeInstalled(this.st);
    }
    // Pods already in the state: running ones are taken as started long ago.
    for (const p of sortedValues(this.st.pods)) this.adoptInitialPod(p);
  }

  // ---- queries and observers ------------------------------------------------------------------

  get state(): ClusterState {
    return this.st;
  }

  podRuntime(key: string): PodRuntime | undefined {
    const p = this.pods.get(key);
    return p ? this.runtimeOf(p) : undefined;
  }

  /** Every pod the kubelets know (sorted by key), including ones whose network is gone. */
  podRuntimes(): PodRuntime[] {
    return [...this.pods.keys()].sort().map((k) => this.runtimeOf(this.pods.get(k)!));
  }

  isNodeUp(node: string): boolean {
    return this.nodes.get(node)?.up ?? false;
  }

  syncer(node: string): KubeProxySyncer | undefined {
    return this.syncers.get(node);
  }

  onPodRuntimeChange(cb: PodRuntimeListener): void {
    this.podListeners.push(cb);
  }

  onNodeChange(cb: NodeListener): void {
    this.nodeListeners.push(cb);
  }

  private runtimeOf(p: PodLife): PodRuntime {
    return { key: p.key, namespace: p.namespace, name: p.name, node: p.node, ip: p.ip, network: p.network, process: p.process, ready: p.apiReady };
  }

  private setRuntime(p: PodLife, change: Partial<Pick<PodLife, "network" | "process" | "apiReady" | "ip">>): void {
    let changed = false;
    for (const k of Object.keys(change) as (keyof typeof change)[]) {
      if (p[k] !== change[k]) {
        (p as unknown as Record<string, unknown>)[k] = change[k];
        changed = true;
      }
    }
    if (!changed) return;
    const rt = this.runtimeOf(p);
    for (const cb of this.podListeners) cb(rt, this.sim.now);
  }

  // ---- API writes (the timeline's faults use these) --------------------------------------------

  /** kubectl delete pod (graceful; grace from the pod spec unless given). */
  deletePod(key: string, gracePeriodSeconds?: number): void {
    this.mutate((d) => deletePod(d, key, this.sim.now, gracePeriodSeconds));
  }

  /** The container's main process is killed (SIGKILL, exit 137); the kubelet restarts it per restartPolicy. */
  killPod(key: string): void {
    const p = this.pods.get(key);
    if (!p || !this.isAlive(p)) return;
    this.containerExit(p, "killed");
  }

  /** The readiness probe fails from now for `durationNs` (forever when absent). */
  failReadiness(key: string, durationNs?: SimTime): void {
    const p = this.pods.get(key);
    if (!p) return;
    p.failReadinessUntil = durationNs === undefined ? Infinity : this.sim.now + durationNs;
    if (!p.readiness) emitControl(this.trace, this.sim.now, "no-readiness-probe", { pod: p.key, node: p.node });
  }

  /** The app stops answering (accepts, never responds) for `durationNs` (forever when absent). */
  hangPod(key: string, durationNs?: SimTime): void {
    const p = this.pods.get(key);
    if (!p || p.process !== "running") return;
    const epoch = p.epoch;
    p.hungUntil = durationNs === undefined ? Infinity : this.sim.now + durationNs;
    this.setRuntime(p, { process: "hung" });
    if (durationNs !== undefined) {
      this.sim.callIn(durationNs, () => {
        if (p.epoch === epoch && p.process === "hung") this.setRuntime(p, { process: "running" });
      });
    }
  }

  scale(depKey: string, replicas: number): void {
    this.mutate((d) => scaleDeployment(d, depKey, replicas));
  }

  /** A new pod template (image, or a restartedAt annotation); the Deployment controller rolls it out. */
  rollout(depKey: string, image?: string): void {
    this.mutate((d) => rolloutTemplate(d, depKey, this.sim.now, image));
  }

  /** The machine stops: it forwards nothing, its processes die, kubelet and kube-proxy stop. */
  nodeDown(name: string): void {
    const n = this.nodes.get(name);
    if (!n || !n.up) return;
    const now = this.sim.now;
    n.up = false;
    n.kubeletAlive = false;
    n.epoch++;
    const epoch = n.epoch;
    this.mutate((d) => setNodeUp(d, name, false));
    for (const cb of this.nodeListeners) cb(name, false, now);
    this.syncers.get(name)?.stop();
    for (const p of this.podsOn(name)) {
      this.cancelProbes(p);
      if (this.isAlive(p)) emitControl(this.trace, now, "container-exited", { pod: p.key, node: name, reason: "node-down", ip: p.ip });
      p.epoch++;
      p.containerUp = false;
      p.stopping = false;
      this.setRuntime(p, { process: "stopped", network: "gone" });
    }
    // Node lifecycle controller: NotReady once the last heartbeat is older than the grace period.
    const lastHb = lastGrid(n.heartbeatPhase, this.cfg.nodeHeartbeatPeriodNs, now);
    const deadline = lastHb + this.cfg.nodeMonitorGracePeriodNs;
    const at = Math.max(now, nextGrid(this.monitorPhase, this.cfg.nodeMonitorPeriodNs, deadline));
    this.sim.callAt(at, () => {
      if (n.epoch !== epoch) return;
      emitControl(this.trace, this.sim.now, "node-not-ready", { node: name, lastHeartbeat: lastHb });
      this.mutate((d) => {
        setNodeReady(d, name, false);
        for (const p of Object.values(d.pods)) if (p.spec.nodeName === name) setPodReady(d, objKey(p.meta.namespace, p.meta.name), false);
      });
      this.sim.callIn(this.cfg.notReadyTolerationNs, () => {
        if (n.epoch !== epoch) return;
        const victims = sortedValues(this.st.pods).filter((p) => p.spec.nodeName === name && p.meta.deletionTimestamp === undefined);
        for (const v of victims) emitControl(this.trace, this.sim.now, "evicted", { pod: objKey(v.meta.namespace, v.meta.name), node: name });
        this.mutate((d) => {
          for (const v of victims) deletePod(d, objKey(v.meta.namespace, v.meta.name), this.sim.now);
        });
      });
    });
  }

  /** The machine is back (a reboot): kubelet and kube-proxy start again. */
  nodeUp(name: string): void {
    const n = this.nodes.get(name);
    if (!n || n.up) return;
    const now = this.sim.now;
    n.up = true;
    n.epoch++;
    const epoch = n.epoch;
    this.mutate((d) => setNodeUp(d, name, true));
    for (const cb of this.nodeListeners) cb(name, true, now);
    this.syncers.get(name)?.restart(this.st, now + this.cfg.kubeProxyStartNs);
    this.sim.callIn(this.cfg.kubeletStartNs, () => {
      if (n.epoch !== epoch) return;
      n.kubeletAlive = true;
      n.heartbeatPhase = this.sim.now;
      emitControl(this.trace, this.sim.now, "node-ready", { node: name });
      this.mutate((d) => setNodeReady(d, name, true));
      for (const p of this.podsOn(name)) {
        const api = this.st.pods[p.key];
        if (!api) {
          p.done = true;
          continue;
        }
        if (api.meta.deletionTimestamp !== undefined) {
          this.finishTermination(p, 0);
          continue;
        }
        // Kubelet reports the dead containers, then recreates sandbox and containers.
        this.mutate((d) => setPodRunning(d, p.key, false));
        this.admitAndStart(p, true);
      }
    });
  }

  // ---- batching ----------------------------------------------------------------------------------

  /** Queues a recipe for this instant's batch (one produce per instant). */
  mutate(recipe: Recipe, after?: () => void): void {
    this.pending.push(recipe);
    if (after) this.afterFlush.push(after);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.sim.callAt(this.sim.now, () => this.flush());
    }
  }

  private ctx(): ControllerContext {
    const names = this.names;
    return { now: this.sim.now, rand: () => names.next() };
  }

  private flush(): void {
    this.flushScheduled = false;
    const recipes = this.pending.splice(0);
    const after = this.afterFlush.splice(0);
    const prev = this.st;
    const next = applyRecipes(prev, (d) => {
      for (const r of recipes) r(d);
    });
    this.st = next;
    if (next !== prev) this.react(prev, next);
    for (const f of after) f();
  }

  // ---- reactions to a new state ----------------------------------------------------------------

  private react(prev: ClusterState, next: ClusterState): void {
    const now = this.sim.now;
    if (prev.nodes !== next.nodes) {
      for (const k of Object.keys(next.nodes).sort()) {
        const a = prev.nodes[k], b = next.nodes[k]!;
        if (a && !a.ready && b.ready && b.up && this.unscheduled.size > 0) this.kickScheduler();
      }
    }
    if (prev.pods !== next.pods) this.reactPods(prev, next, now);
    if (prev.deployments !== next.deployments) {
      for (const k of Object.keys(next.deployments).sort()) if (prev.deployments[k] !== next.deployments[k]) this.markDeployment(k);
    }
    if (prev.replicaSets !== next.replicaSets) {
      for (const k of Object.keys(next.replicaSets).sort()) {
        const a = prev.replicaSets[k], b = next.replicaSets[k]!;
        if (!a || a.spec.replicas !== b.spec.replicas) this.markRS(k);
      }
    }
    if (prev.services !== next.services) {
      for (const k of Object.keys(next.services).sort()) if (prev.services[k] !== next.services[k]) this.markService(k);
    }
    if (prev.endpointSlices !== next.endpointSlices) this.emitEndpointChanges(prev, next, now);
    const svcChanged = prev.services !== next.services;
    const epChanged = prev.endpointSlices !== next.endpointSlices;
    if (svcChanged || epChanged) {
      const snapshot = next;
      this.sim.callIn(this.cfg.kubeProxyWatchDelayNs, () => {
        for (const s of this.syncers.values()) s.observe(snapshot, svcChanged, epChanged);
      });
    }
  }

  private reactPods(prev: ClusterState, next: ClusterState, now: SimTime): void {
    const keys = new Set([...Object.keys(prev.pods), ...Object.keys(next.pods)]);
    for (const k of [...keys].sort()) {
      const a = prev.pods[k], b = next.pods[k];
      if (a === b) continue;
      const ip = (p: PodState) => tryParseIPv4(p.status.podIP) ?? 0;
      const rec = (p: PodState, change: PodChange) => this.trace.emit({ type: "pod.change", time: now, pod: k, node: p.spec.nodeName, change, ip: ip(p) });
      if (!b) {
        rec(a!, "deleted");
        this.unscheduled.delete(k);
        this.podTouched(a!);
        const life = this.pods.get(k);
        if (life) {
          this.cancelProbes(life);
          life.done = true;
        }
        continue;
      }
      if (!a) {
        rec(b, "created");
        if (!b.spec.nodeName) {
          this.unscheduled.add(k);
          this.kickScheduler();
        }
      }
      if (b.spec.nodeName && (!a || !a.spec.nodeName)) {
        rec(b, "scheduled");
        this.unscheduled.delete(k);
        const node = b.spec.nodeName;
        this.sim.callIn(this.cfg.kubeletWatchDelayNs, () => this.kubeletAdmit(k, node));
      }
      if (b.status.running && !(a?.status.running ?? false)) rec(b, "running");
      if (b.status.ready !== (a?.status.ready ?? false)) rec(b, b.status.ready ? "ready" : "not-ready");
      if (b.meta.deletionTimestamp !== undefined && a?.meta.deletionTimestamp === undefined) {
        rec(b, "terminating");
        this.sim.callIn(this.cfg.kubeletWatchDelayNs, () => this.kubeletDelete(k));
      }
      const life = this.pods.get(k);
      if (life && life.apiReady !== b.status.ready) this.setRuntime(life, { apiReady: b.status.ready });
      if (a) this.podTouched(a);
      this.podTouched(b);
    }
  }

  /** A pod changed: the controllers that watch it get to run. */
  private podTouched(p: PodState): void {
    for (const s of sortedValues(this.st.services)) {
      if (s.meta.namespace !== p.meta.namespace || !s.spec.selector || Object.keys(s.spec.selector).length === 0) continue;
      if (selectorMatches(s.spec.selector, p.meta.labels)) this.markService(objKey(s.meta.namespace, s.meta.name));
    }
    const owner = p.meta.ownerRef;
    if (owner?.startsWith("ReplicaSet/")) {
      const rsKey = objKey(p.meta.namespace, owner.slice("ReplicaSet/".length));
      this.markRS(rsKey);
      const depOwner = this.st.replicaSets[rsKey]?.meta.ownerRef;
      if (depOwner?.startsWith("Deployment/")) this.markDeployment(objKey(p.meta.namespace, depOwner.slice("Deployment/".length)));
    }
  }

  private emitEndpointChanges(prev: ClusterState, next: ClusterState, now: SimTime): void {
    const view = (s: ClusterState) => {
      const m = new Map<string, Map<string, Endpoint["conditions"]>>();
      for (const sl of sortedValues(s.endpointSlices)) {
        const svc = objKey(sl.meta.namespace, sl.serviceName);
        let e = m.get(svc);
        if (!e) m.set(svc, (e = new Map()));
        for (const ep of sl.endpoints) for (const addr of ep.addresses) for (const p of sl.ports) e.set(`${addr}:${p.port}`, ep.conditions);
      }
      return m;
    };
    const A = view(prev), B = view(next);
    const emit = (service: string, key: string, change: EndpointChange) => {
      const i = key.lastIndexOf(":");
      this.trace.emit({ type: "endpoint.change", time: now, service, addr: tryParseIPv4(key.slice(0, i)) ?? 0, port: Number(key.slice(i + 1)), change });
    };
    for (const svc of [...new Set([...A.keys(), ...B.keys()])].sort()) {
      const a = A.get(svc) ?? new Map(), b = B.get(svc) ?? new Map();
      for (const k of [...a.keys()].sort()) if (!b.has(k)) emit(svc, k, "removed");
      for (const k of [...b.keys()].sort()) {
        const cb = b.get(k)!;
        const ready = cb.ready !== false, serving = cb.serving !== false, term = cb.terminating === true;
        const ca = a.get(k);
        if (!ca) {
          emit(svc, k, "added");
          if (!ready) emit(svc, k, "not-ready");
          if (term) emit(svc, k, "terminating");
          continue;
        }
        const rA = ca.ready !== false, sA = ca.serving !== false, tA = ca.terminating === true;
        if (rA && !ready) emit(svc, k, "not-ready");
        if (!rA && ready) emit(svc, k, "ready");
        if (!tA && term) emit(svc, k, "terminating");
        if (!sA && serving) emit(svc, k, "serving");
      }
    }
  }

  // ---- controllers ---------------------------------------------------------------------------------

  private markService(k: string): void {
    this.dirtyServices.add(k);
    if (this.esTimer) return;
    this.esTimer = true;
    this.sim.callIn(this.cfg.endpointSliceDelayNs, () => {
      this.esTimer = false;
      const keys = [...this.dirtyServices].sort();
      this.dirtyServices.clear();
      const ctx = this.ctx();
      this.mutate((d) => {
        for (const k2 of keys) reconcileEndpointSlicesFor(d, k2, ctx);
      });
    });
  }

  private markRS(k: string): void {
    this.dirtyRS.add(k);
    if (this.rsTimer) return;
    this.rsTimer = true;
    this.sim.callIn(this.cfg.controllerDelayNs, () => {
      this.rsTimer = false;
      const keys = [...this.dirtyRS].sort();
      this.dirtyRS.clear();
      const ctx = this.ctx();
      this.mutate((d) => {
        for (const k2 of keys) reconcileReplicaSet(d, k2, ctx);
      });
    });
  }

  private markDeployment(k: string): void {
    this.dirtyDeployments.add(k);
    if (this.depTimer) return;
    this.depTimer = true;
    this.sim.callIn(this.cfg.controllerDelayNs, () => {
      this.depTimer = false;
      const keys = [...this.dirtyDeployments].sort();
      this.dirtyDeployments.clear();
      const ctx = this.ctx();
      this.mutate((d) => {
        for (const k2 of keys) syncDeployment(d, k2, ctx);
      });
    });
  }

  private kickScheduler(): void {
    if (this.schedTimer) return;
    this.schedTimer = true;
    this.sim.callIn(this.cfg.schedulerDelayNs, () => {
      this.schedTimer = false;
      const keys = [...this.unscheduled].sort();
      this.mutate((d: ClusterDraft) => {
        for (const k of keys) schedulePod(d, k);
      });
    });
  }

  // ---- kubelet ------------------------------------------------------------------------------------

  private podsOn(node: string): PodLife[] {
    return [...this.pods.values()].filter((p) => p.node === node && !p.done).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  private isAlive(p: PodLife): boolean {
    return p.process === "running" || p.process === "hung" || p.process === "terminating";
  }

  private newLife(pod: PodState): PodLife {
    const c = pod.spec.containers[0];
    const readiness = c?.readinessProbe ?? this.cfg.defaultReadinessProbe;
    if (readiness) checkProbe(readiness, `pod ${pod.meta.namespace}/${pod.meta.name} readinessProbe`);
    if (c?.livenessProbe) checkProbe(c.livenessProbe, `pod ${pod.meta.namespace}/${pod.meta.name} livenessProbe`);
    return {
      key: objKey(pod.meta.namespace, pod.meta.name),
      namespace: pod.meta.namespace,
      name: pod.meta.name,
      node: pod.spec.nodeName,
      ip: pod.status.podIP,
      network: "gone",
      process: "stopped",
      apiReady: pod.status.ready,
      epoch: 0,
      containerUp: false,
      startedAt: -Infinity,
      finishedAt: -Infinity,
      readiness,
      liveness: c?.livenessProbe ?? null,
      kReady: false,
      rSucc: 0,
      rFail: 0,
      lFail: 0,
      probePhase: 0,
      probeTimers: [],
      failReadinessUntil: -Infinity,
      hungUntil: -Infinity,
      backoff: null,
      terminating: pod.meta.deletionTimestamp !== undefined,
      stopping: false,
      done: false,
      restarts: 0,
    };
  }

  private adoptInitialPod(pod: PodState): void {
    if (!pod.spec.nodeName) {
      if (pod.meta.deletionTimestamp === undefined) this.unscheduled.add(objKey(pod.meta.namespace, pod.meta.name));
      return;
    }
    const p = this.newLife(pod);
    this.pods.set(p.key, p);
    const node = this.nodes.get(p.node);
    if (!node?.up || !pod.status.podIP) return;
    p.network = "up";
    if (pod.status.running) {
      p.process = "running";
      p.containerUp = true;
      p.kReady = pod.status.ready;
      if (p.kReady && p.readiness) p.rSucc = p.readiness.successThreshold;
      this.startProbes(p, true);
    }
  }

  /** Kubelet sees a pod bound to its node. */
  private kubeletAdmit(key: string, node: string): void {
    const pod = this.st.pods[key];
    if (!pod || pod.spec.nodeName !== node || this.pods.has(key)) return;
    const p = this.newLife(pod);
    this.pods.set(key, p);
    const n = this.nodes.get(node);
    if (!n?.kubeletAlive) return; // picked up when the kubelet starts
    if (p.terminating) {
      this.finishTermination(p, 0);
      return;
    }
    this.admitAndStart(p, false);
  }

  /** Sandbox (network, IP) then container start; probe workers start now. */
  private admitAndStart(p: PodLife, restart: boolean): void {
    const epoch = ++p.epoch;
    const nodeEpoch = this.nodes.get(p.node)!.epoch;
    this.startProbes(p, restart);
    this.sim.callIn(this.cfg.sandboxSetupNs, () => {
      if (p.epoch !== epoch || p.done || this.nodes.get(p.node)!.epoch !== nodeEpoch) return;
      this.mutate((d) => assignPodIP(d, p.key), () => {
        const ip = this.st.pods[p.key]?.status.podIP ?? "";
        if (!ip) return; // podCIDR exhausted: stays without a sandbox
        emitControl(this.trace, this.sim.now, "network-up", { pod: p.key, node: p.node, ip });
        this.setRuntime(p, { ip, network: "up" });
        this.sim.callIn(restart ? this.cfg.containerRestartNs : this.cfg.containerStartNs, () => {
          if (p.epoch !== epoch || p.done || p.terminating || this.nodes.get(p.node)!.epoch !== nodeEpoch) return;
          this.containerStart(p, restart);
        });
      });
    });
  }

  private containerStart(p: PodLife, restart: boolean): void {
    const epoch = ++p.epoch;
    p.startedAt = this.sim.now;
    p.containerUp = true;
    p.kReady = false;
    p.rSucc = p.rFail = p.lFail = 0;
    if (restart) p.restarts++;
    emitControl(this.trace, this.sim.now, "container-started", { pod: p.key, node: p.node, restart: p.restarts });
    this.setRuntime(p, { process: "running" });
    this.mutate((d) => {
      const pod = d.pods[p.key];
      if (!pod) return;
      if (pod.status.phase === "Pending") startPod(d, p.key, this.sim.now);
      else setPodRunning(d, p.key, true);
    });
    if (!p.readiness) this.setKubeletReady(p, true, epoch);
    // prober manager: a new container without a readiness result gets one probe at once
    // (manualTriggerCh); with initialDelaySeconds > 0 that probe is skipped and the grid decides.
    else this.runProbe(p, "readiness", p.readiness);
  }

  private cancelProbes(p: PodLife): void {
    for (const id of p.probeTimers) this.sim.cancel(id);
    p.probeTimers = [];
  }

  /** Starts the readiness and liveness workers on a grid (random phase for pods that already run / kubelet restarts). */
  private startProbes(p: PodLife, randomPhase: boolean): void {
    this.cancelProbes(p);
    const now = this.sim.now;
    const stream = this.rng.stream(`kubelet/probe@${p.key}`);
    const probes: ["readiness" | "liveness", Probe | null][] = [["readiness", p.readiness], ["liveness", p.liveness]];
    for (const [kind, probe] of probes) {
      if (!probe) continue;
      const period = secs(probe.periodSeconds);
      const phase = randomPhase ? now + Math.floor(stream.next() * period) : now;
      if (kind === "readiness") p.probePhase = phase;
      this.scheduleProbe(p, kind, probe, phase, phase);
    }
  }

  private scheduleProbe(p: PodLife, kind: "readiness" | "liveness", probe: Probe, phase: SimTime, at: SimTime): void {
    const id = this.sim.callAt(at, () => {
      p.probeTimers = p.probeTimers.filter((x) => x !== id);
      this.probeTick(p, kind, probe, phase);
    });
    p.probeTimers.push(id);
  }

  private probeTick(p: PodLife, kind: "readiness" | "liveness", probe: Probe, phase: SimTime): void {
    if (p.done || !this.nodes.get(p.node)!.kubeletAlive) return;
    const now = this.sim.now;
    const end = this.runProbe(p, kind, probe);
    // Go ticker: next tick on the grid; a probe that overran gets the buffered tick at once.
    let next = nextGrid(phase, secs(probe.periodSeconds), now);
    if (next < end) next = end;
    this.scheduleProbe(p, kind, probe, phase, next);
  }

  /** One probe, if the container runs and initialDelaySeconds has passed; returns when it completes. */
  private runProbe(p: PodLife, kind: "readiness" | "liveness", probe: Probe): SimTime {
    const now = this.sim.now;
    if (!p.containerUp || !this.isAlive(p) || now < p.startedAt + secs(probe.initialDelaySeconds)) return now;
    const epoch = p.epoch;
    let result: "success" | "failure" | "timeout";
    if (p.process === "hung") result = "timeout";
    else if (p.process === "terminating") result = "failure"; // listener closed: connection refused
    else if (kind === "readiness" && now < p.failReadinessUntil) result = "failure";
    else result = "success";
    const end = result === "timeout" ? now + secs(probe.timeoutSeconds) : now;
    const apply = () => {
      if (p.epoch !== epoch || p.done) return;
      emitControl(this.trace, this.sim.now, "probe", { pod: p.key, node: p.node, probe: kind, result });
      if (kind === "readiness") this.readinessResult(p, probe, result === "success", epoch);
      else this.livenessResult(p, probe, result === "success");
    };
    if (end === now) apply();
    else {
      const id = this.sim.callAt(end, () => {
        p.probeTimers = p.probeTimers.filter((x) => x !== id);
        apply();
      });
      p.probeTimers.push(id);
    }
    return end;
  }

  private readinessResult(p: PodLife, probe: Probe, ok: boolean, epoch: number): void {
    if (ok) {
      p.rSucc++;
      p.rFail = 0;
      if (!p.kReady && p.rSucc >= probe.successThreshold) this.setKubeletReady(p, true, epoch);
    } else {
      p.rFail++;
      p.rSucc = 0;
      if (p.kReady && p.rFail >= probe.failureThreshold) this.setKubeletReady(p, false, epoch);
    }
  }

  private livenessResult(p: PodLife, probe: Probe, ok: boolean): void {
    if (ok) {
      p.lFail = 0;
      return;
    }
    p.lFail++;
    if (p.lFail >= probe.failureThreshold && !p.stopping && !p.terminating) {
      p.lFail = 0;
      // Liveness failure: the kubelet kills the container with the pod's grace period, then restarts it.
      const pod = this.st.pods[p.key];
      this.stopContainer(p, secs(pod?.spec.terminationGracePeriodSeconds ?? 30), 0, () => this.exitObserved(p));
    }
  }

  private setKubeletReady(p: PodLife, ready: boolean, epoch: number): void {
    p.kReady = ready;
    emitControl(this.trace, this.sim.now, "kubelet-ready", { pod: p.key, node: p.node, ready });
    this.sim.callIn(this.cfg.statusUpdateDelayNs, () => {
      if (p.done || !this.nodes.get(p.node)!.kubeletAlive) return;
      const value = p.kReady && p.containerUp && p.epoch >= epoch;
      this.mutate((d) => setPodReady(d, p.key, value));
    });
  }

  /** The container's process ends now (the kubelet notices at the next PLEG relist unless it is stopping it itself). */
  private containerExit(p: PodLife, reason: "killed" | "sigterm" | "sigkill"): void {
    const now = this.sim.now;
    p.epoch++;
    p.finishedAt = now;
    emitControl(this.trace, now, "container-exited", { pod: p.key, node: p.node, reason, ip: p.ip });
    this.setRuntime(p, { process: "stopped" });
    if (reason === "killed") {
      const n = this.nodes.get(p.node)!;
      const epoch = p.epoch;
      this.sim.callAt(nextGrid(n.plegPhase, this.cfg.plegRelistPeriodNs, now), () => {
        if (p.epoch === epoch && !p.done && n.kubeletAlive) this.exitObserved(p);
      });
    }
  }

  /** Kubelet learns the container exited: not ready, then restart per restartPolicy (or finish a deletion). */
  private exitObserved(p: PodLife): void {
    if (!p.containerUp) return;
    p.containerUp = false;
    p.kReady = false;
    p.stopping = false;
    const now = this.sim.now;
    this.sim.callIn(this.cfg.statusUpdateDelayNs, () => {
      if (!p.done) this.mutate((d) => setPodRunning(d, p.key, false));
    });
    if (p.terminating) {
      this.finishTermination(p, this.cfg.statusUpdateDelayNs);
      return;
    }
    const pod = this.st.pods[p.key];
    const policy = pod?.spec.restartPolicy ?? "Always";
    if (policy === "Never") {
      this.sim.callIn(this.cfg.statusUpdateDelayNs, () => {
        if (!p.done) this.mutate((d) => markPodFailed(d, p.key));
      });
      this.teardown(p);
      return;
    }
    // flowcontrol.Backoff (kubelet: initial 10 s, max 300 s), keyed by container, eventTime = finishedAt.
    const f = p.finishedAt;
    const b = p.backoff;
    const expired = !b || f - b.lastUpdate > 2 * this.cfg.crashLoopMaxNs;
    let restartAt = now;
    if (!expired && now - f < b!.ns) restartAt = f + b!.ns;
    const epoch = p.epoch;
    const nodeEpoch = this.nodes.get(p.node)!.epoch;
    if (restartAt > now) emitControl(this.trace, now, "backoff", { pod: p.key, node: p.node, wait: restartAt - now });
    this.sim.callAt(restartAt, () => {
      if (p.epoch !== epoch || p.done || p.terminating || this.nodes.get(p.node)!.epoch !== nodeEpoch) return;
      const cur = p.backoff;
      p.backoff = !cur || f - cur.lastUpdate > 2 * this.cfg.crashLoopMaxNs
        ? { ns: this.cfg.crashLoopInitialNs, lastUpdate: f }
        : { ns: Math.min(cur.ns * 2, this.cfg.crashLoopMaxNs), lastUpdate: f };
      const e2 = ++p.epoch;
      this.sim.callIn(this.cfg.containerRestartNs, () => {
        if (p.epoch === e2 && !p.done && !p.terminating && this.nodes.get(p.node)!.epoch === nodeEpoch) this.containerStart(p, true);
      });
    });
  }

  /** Kubelet sees the pod's deletion. */
  private kubeletDelete(key: string): void {
    const p = this.pods.get(key);
    const pod = this.st.pods[key];
    if (!p || !pod || p.done || p.terminating) {
      if (p) p.terminating = true;
      return;
    }
    p.terminating = true;
    if (!this.nodes.get(p.node)!.kubeletAlive) return; // dead kubelet: stays Terminating until it is back
    if (!p.containerUp || !this.isAlive(p)) {
      p.epoch++; // cancels a pending start or restart
      this.finishTermination(p, this.cfg.statusUpdateDelayNs);
      return;
    }
    const grace = secs(pod.meta.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds);
    const preStop = secs(pod.spec.containers[0]?.preStopSleepSeconds ?? 0);
    this.stopContainer(p, grace, preStop, () => this.exitObserved(p));
  }

  /** preStop → SIGTERM → (app exits | drains | ignores) → SIGKILL at the grace deadline. */
  private stopContainer(p: PodLife, graceNs: SimTime, preStopNs: SimTime, onExit: () => void): void {
    p.stopping = true;
    const t0 = this.sim.now;
    const epoch = p.epoch;
    const pod = this.st.pods[p.key];
    let sigtermAt = t0;
    let killAt = t0 + graceNs;
    if (preStopNs > 0) {
      emitControl(this.trace, t0, "prestop", { pod: p.key, node: p.node, seconds: preStopNs / S });
      if (preStopNs >= graceNs) {
        sigtermAt = t0 + graceNs;
        killAt = sigtermAt + this.cfg.preStopExtraGraceNs;
      } else sigtermAt = t0 + preStopNs;
    }
    const exit = (reason: "sigterm" | "sigkill") => {
      if (p.epoch !== epoch || p.done || !this.isAlive(p)) return;
      this.containerExit(p, reason);
      onExit();
    };
    this.sim.callAt(killAt, () => {
      if (p.epoch !== epoch || p.done || !this.isAlive(p)) return;
      emitControl(this.trace, this.sim.now, "sigkill", { pod: p.key, node: p.node });
      exit("sigkill");
    });
    this.sim.callAt(sigtermAt, () => {
      if (p.epoch !== epoch || p.done || !this.isAlive(p)) return;
      emitControl(this.trace, this.sim.now, "sigterm", { pod: p.key, node: p.node });
      if (p.process === "hung") return; // a hung app handles no signal: SIGKILL it is
      const image = pod?.spec.containers[0]?.image ?? "";
      const behaviour = this.cfg.appShutdown({ namespace: p.namespace, name: p.name, image });
      const x = behaviour.sigtermExitSeconds;
      if (x === null) return;
      if (x === 0) {
        exit("sigterm");
        return;
      }
      this.setRuntime(p, { process: "terminating" });
      const at = this.sim.now + secs(x);
      if (at < killAt) this.sim.callAt(at, () => exit("sigterm"));
    });
  }

  private teardown(p: PodLife): void {
    this.cancelProbes(p);
    const nodeEpoch = this.nodes.get(p.node)!.epoch;
    this.sim.callIn(this.cfg.sandboxTeardownNs, () => {
      if (this.nodes.get(p.node)!.epoch !== nodeEpoch && !this.nodes.get(p.node)!.up) return;
      if (p.network === "gone") return;
      emitControl(this.trace, this.sim.now, "network-gone", { pod: p.key, node: p.node });
      this.setRuntime(p, { network: "gone" });
    });
  }

  /** Containers are gone: sandbox teardown, then the kubelet deletes the pod object (grace 0). */
  private finishTermination(p: PodLife, apiDelay: SimTime): void {
    this.teardown(p);
    this.sim.callIn(Math.max(apiDelay, this.cfg.sandboxTeardownNs), () => {
      this.mutate((d) => removePod(d, p.key));
    });
  }
}
