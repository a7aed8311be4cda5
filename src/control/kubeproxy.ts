/**
 * kube-proxy on one node, over simulated time: its informers, its BoundedFrequencyRunner
 * (kubeproxy/sync.ts SyncRunner) and what a sync does — regenerate the node's rules from the
 * informer cache, hand the restore payloads to the data plane, then run the UDP `conntrack -D`
 * cleanups of the CLI era (v1.16 … v1.30).
 *
 * - Informer: every API write to Services/EndpointSlices reaches the cache `kubeProxyWatchDelayNs`
 *   later (the ControlPlane calls observe() then with the state as written); a sync reads the cache,
 *   not the API, so a sync inside that window does not see the change.
 * - Runner: observe() calls Run(): a sync at once when a token is left (burst 2, one token per
 *   minSyncPeriod), else at lastRun + minSyncPeriod; the periodic sync follows
 *   periodicSyncIntervalNs (syncPeriod in v1.16, 1 h from v1.17).
 * - Restore payloads: generateRules(cache, node, cfg, { jumpRules: first }) — the builtin-chain
 *   jump rules are written only by the first sync of a kube-proxy process (generate.ts'
 *   GenerateOptions: later payloads are applied with --noflush semantics and must not append them
 *   twice). Chains present in the previous payload and absent from this one are deleted the way
 *   kube-proxy does it: `:CHAIN - [0:0]` among the chain lines and `-X CHAIN` before COMMIT.
 *   Apply every payload like `iptables-restore --noflush`; `first` marks a fresh kube-proxy
 *   process (startup, or after its node came back), whose payload expects empty builtin chains.
 * - Every sync is a full one (MinimizeIPTablesRestore partial syncs of v1.27+ change which lines are
 *   written, not which rules end up installed; not modelled). Not modelled either: the
 *   KUBE-PROXY-CANARY monitor, failed restores, the wait for informer caches at startup.
 * - Node view of endpoints: after every sync except a process's first, `endpoint.change` records with
 *   `node` say which endpoints entered ("added") or left ("removed") the node's rules (the
 *   KUBE-SEP set), so reports can tell when each node stopped routing to a pod.
 * - A node that is down runs no kube-proxy: no syncs until it is back (then a startup sync).
 */
import type { Simulation, EventId } from "../engine/sim.ts";
import type { SimTime } from "../engine/time.ts";
import type { SyncTrigger, Trace } from "../engine/trace.ts";
import { tryParseIPv4 } from "../net/ip.ts";
import type { ClusterState } from "../cluster/types.ts";
import { generateRules } from "../kubeproxy/generate.ts";
import { categorizeEndpoints, collectServicePorts, endpointsForServicePort, slicesByService } from "../kubeproxy/endpoints.ts";
import { SyncRunner, udpConntrackCleanup, udpSnapshots, type ConntrackDeletion, type UdpServicePortSnapshot } from "../kubeproxy/sync.ts";
import type { GeneratedRules, KubeProxyConfig } from "../kubeproxy/types.ts";
import type { ConntrackFilter } from "../netfilter/conntrack.ts";

/** What a sync hands to the data plane. */
export interface RulesInstall {
  readonly node: string;
  readonly time: SimTime;
  readonly trigger: SyncTrigger;
  /** iptables-restore payloads (filter, nat), stale-chain deletions included. */
  readonly rules: GeneratedRules;
  /** First sync of this kube-proxy process: the payloads carry the builtin-chain jump rules. */
  readonly first: boolean;
  /** Chains this sync deletes ("nat:KUBE-SEP-…"), for information. */
  readonly staleChains: readonly string[];
}

/** What the data plane reports back (optional): rules and chains installed in nat+filter after the restore. */
export interface InstallResult {
  readonly ok?: boolean;
  readonly rules: number;
  readonly chains: number;
}

export type InstallRules = (i: RulesInstall) => InstallResult | void;

/** One `conntrack -D`: the filter (numbers, for netfilter's ConntrackTable.delete), its command line; returns entries deleted. */
export type ConntrackDelete = (node: string, filter: ConntrackFilter, command: string, time: SimTime) => number;

const PROTO_UDP = 17;

/** kube-proxy's `conntrack -D` argument list for one deletion. */
export function conntrackCommand(d: ConntrackDeletion): string {
  let s = "conntrack -D";
  if (d.origDst !== undefined) s += ` --orig-dst ${d.origDst}`;
  if (d.dstNat !== undefined) s += ` --dst-nat ${d.dstNat}`;
  s += " -p udp";
  if (d.dport !== undefined) s += ` --dport ${d.dport}`;
  return s;
}

export function conntrackFilter(d: ConntrackDeletion): ConntrackFilter {
  const f: ConntrackFilter = { proto: PROTO_UDP };
  if (d.origDst !== undefined) f.origDst = tryParseIPv4(d.origDst) ?? 0;
  if (d.dstNat !== undefined) f.dstNat = tryParseIPv4(d.dstNat) ?? 0;
  if (d.dport !== undefined) f.dport = d.dport;
  return f;
}

const BUILTIN = new Set(["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"]);

function declaredChains(payload: string): string[] {
  const out: string[] = [];
  for (const line of payload.split("\n")) {
    if (line.startsWith(":")) {
      const name = line.slice(1, line.indexOf(" "));
      if (!BUILTIN.has(name)) out.push(name);
    }
  }
  return out;
}

/** Adds `:CHAIN - [0:0]` lines after the last chain line and `-X CHAIN` lines before COMMIT. */
export function withChainDeletions(payload: string, stale: readonly string[]): string {
  if (stale.length === 0) return payload;
  const lines = payload.split("\n");
  let lastChain = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i]!.startsWith(":") || lines[i]!.startsWith("*")) lastChain = i;
  const commit = lines.lastIndexOf("COMMIT");
  const out = [...lines.slice(0, lastChain + 1), ...stale.map((c) => `:${c} - [0:0]`), ...lines.slice(lastChain + 1, commit), ...stale.map((c) => `-X ${c}`), ...lines.slice(commit)];
  return out.join("\n");
}

function countPayload(p: string): { rules: number; chains: number; lines: number } {
  let rules = 0, chains = 0, lines = 0;
  for (const line of p.split("\n")) {
    if (line === "") continue;
    lines++;
    if (line.startsWith("-A ")) rules++;
    else if (line.startsWith(":")) chains++;
    else if (line.startsWith("-X ")) chains--;
  }
  return { rules, chains, lines };
}

/** "ns/svc" → set of "ip:port" this node's rules route to (KUBE-SEP set). */
export type RoutedSet = Map<string, Set<string>>;

export function routedEndpoints(state: ClusterState, node: string, cfg: KubeProxyConfig): RoutedSet {
  const slices = slicesByService(state);
  const out: RoutedSet = new Map();
  for (const sp of collectServicePorts(state, cfg.profile)) {
    const svc = `${sp.service.meta.namespace}/${sp.service.meta.name}`;
    const cat = categorizeEndpoints(endpointsForServicePort(slices.get(svc), sp, node, cfg.profile), sp, cfg.profile);
    let set = out.get(svc);
    if (!set) out.set(svc, (set = new Set()));
    for (const e of cat.reachable) set.add(e.key);
  }
  return out;
}

export interface SyncerEnv {
  readonly sim: Simulation;
  readonly trace: Trace;
  readonly install: InstallRules;
  readonly conntrackDelete?: ConntrackDelete;
}

export class KubeProxySyncer {
  readonly node: string;
  readonly cfg: KubeProxyConfig;
  private readonly env: SyncerEnv;
  private cache: ClusterState;
  private runner: SyncRunner;
  private alive = true;
  private first = true;
  private pendingId: EventId | null = null;
  private pendingAt = Infinity;
  private pendingTrigger: SyncTrigger = "periodic";
  private dirty: { service: boolean; endpoints: boolean } = { service: false, endpoints: false };
  private prevChains: { filter: Set<string>; nat: Set<string> } | null = null;
  private prevUdp: UdpServicePortSnapshot[] = [];
  private prevRouted: RoutedSet | null = null;
  /** Syncs run so far. */
  syncs = 0;

  constructor(env: SyncerEnv, node: string, cfg: KubeProxyConfig, state: ClusterState) {
    this.env = env;
    this.node = node;
    this.cfg = cfg;
    this.cache = state;
    this.runner = SyncRunner.forConfig(cfg, env.sim.now);
  }

  /** The informer cache (what the next sync will program). */
  get cacheState(): ClusterState {
    return this.cache;
  }

  get running(): boolean {
    return this.alive;
  }

  /** Schedules the process's startup sync at `at`. */
  start(at: SimTime): void {
    this.runner = SyncRunner.forConfig(this.cfg, at);
    this.scheduleSync(at, "startup");
  }

  /**
   * The caller installed this node's rules itself from `state` (generateRules with jump rules):
   * this process counts as having synced once at sim.now, so its next payload omits the jump rules
   * and deletes chains relative to that ruleset.
   */
  assumeInstalled(state: ClusterState): void {
    const gen = generateRules(state, this.node, this.cfg);
    this.cache = state;
    this.first = false;
    this.prevChains = { filter: new Set(declaredChains(gen.filter)), nat: new Set(declaredChains(gen.nat)) };
    this.prevUdp = udpSnapshots(state, this.node, this.cfg.profile);
    this.prevRouted = routedEndpoints(state, this.node, this.cfg);
    const now = this.env.sim.now;
    this.runner = SyncRunner.forConfig(this.cfg, now);
    this.runner.ran(now);
    this.scheduleSync(this.runner.nextDue(), "periodic");
  }

  /** An informer delivered a change: the cache is now `state`; asks the runner for a sync. */
  observe(state: ClusterState, serviceChanged: boolean, endpointsChanged: boolean): void {
    this.cache = state;
    if (!this.alive) return;
    if (serviceChanged) this.dirty.service = true;
    if (endpointsChanged) this.dirty.endpoints = true;
    const now = this.env.sim.now;
    const at = this.runner.request(now);
    this.scheduleSync(at, this.dirty.service ? "service-change" : "endpoint-change");
  }

  /** The node went down: kube-proxy stops (timers cancelled). */
  stop(): void {
    this.alive = false;
    this.cancelPending();
  }

  /** The node is back: a new kube-proxy process, cache listed afresh, startup sync at `at`. */
  restart(state: ClusterState, at: SimTime): void {
    this.alive = true;
    this.cache = state;
    this.first = true;
    this.prevChains = null;
    this.prevUdp = []; // a rebooted node starts with an empty conntrack table as well
    this.prevRouted = null;
    this.dirty = { service: false, endpoints: false };
    this.cancelPending();
    this.start(at);
  }

  private cancelPending(): void {
    if (this.pendingId !== null) this.env.sim.cancel(this.pendingId);
    this.pendingId = null;
    this.pendingAt = Infinity;
  }

  private scheduleSync(at: SimTime, trigger: SyncTrigger): void {
    if (this.pendingId !== null && this.pendingAt <= at) {
      if (this.pendingAt === at && trigger !== "periodic") this.pendingTrigger = trigger;
      return;
    }
    this.cancelPending();
    this.pendingAt = at;
    this.pendingTrigger = trigger;
    this.pendingId = this.env.sim.callAt(at, () => {
      this.pendingId = null;
      this.pendingAt = Infinity;
      this.sync(this.pendingTrigger);
    });
  }

  /** Runs one sync now (normally called by the runner's timer). */
  sync(trigger: SyncTrigger): void {
    if (!this.alive) return;
    const { sim, trace } = this.env;
    const now = sim.now;
    const state = this.cache;
    const first = this.first;
    const gen = generateRules(state, this.node, this.cfg, { jumpRules: first });
    const chains = { filter: new Set(declaredChains(gen.filter)), nat: new Set(declaredChains(gen.nat)) };
    const staleF = this.prevChains ? [...this.prevChains.filter].filter((c) => !chains.filter.has(c)).sort() : [];
    const staleN = this.prevChains ? [...this.prevChains.nat].filter((c) => !chains.nat.has(c)).sort() : [];
    const rules: GeneratedRules = { filter: withChainDeletions(gen.filter, staleF), nat: withChainDeletions(gen.nat, staleN) };
    const res = this.env.install({
      node: this.node,
      time: now,
      trigger,
      rules,
      first,
      staleChains: [...staleF.map((c) => `filter:${c}`), ...staleN.map((c) => `nat:${c}`)],
    });
    const ok = res?.ok ?? true;
    const cf = countPayload(rules.filter), cn = countPayload(rules.nat);
    trace.emit({
      type: "rules.sync",
      time: now,
      node: this.node,
      trigger,
      full: true,
      ok,
      rules: res ? res.rules : cf.rules + cn.rules,
      chains: res ? res.chains : cf.chains + cn.chains,
      restoreLines: cf.lines + cn.lines,
    });
    this.syncs++;
    this.runner.ran(now);
    this.dirty = { service: false, endpoints: false };
    if (ok) {
      this.first = false;
      this.prevChains = chains;
      this.emitNodeView(state, now);
      this.conntrackCleanup(state, now);
    }
    // periodic resync (v1.16: syncPeriod; v1.17+: 1 h)
    this.scheduleSync(this.runner.nextDue(), "periodic");
  }

  private emitNodeView(state: ClusterState, now: SimTime): void {
    const routed = routedEndpoints(state, this.node, this.cfg);
    const prev = this.prevRouted;
    this.prevRouted = routed;
    if (!prev) return;
    const svcs = [...new Set([...prev.keys(), ...routed.keys()])].sort();
    for (const svc of svcs) {
      const a = prev.get(svc) ?? new Set<string>();
      const b = routed.get(svc) ?? new Set<string>();
      for (const k of [...a].sort()) if (!b.has(k)) this.emitEp(now, svc, k, "removed");
      for (const k of [...b].sort()) if (!a.has(k)) this.emitEp(now, svc, k, "added");
    }
  }

  private emitEp(time: SimTime, service: string, key: string, change: "added" | "removed"): void {
    const i = key.lastIndexOf(":");
    this.env.trace.emit({ type: "endpoint.change", time, service, addr: tryParseIPv4(key.slice(0, i)) ?? 0, port: Number(key.slice(i + 1)), change, node: this.node });
  }

  private conntrackCleanup(state: ClusterState, now: SimTime): void {
    const snap = udpSnapshots(state, this.node, this.cfg.profile);
    const dels = udpConntrackCleanup(this.cfg.profile, this.prevUdp, snap);
    this.prevUdp = snap;
    for (const d of dels) {
      const command = conntrackCommand(d);
      const deleted = this.env.conntrackDelete ? this.env.conntrackDelete(this.node, conntrackFilter(d), command, now) : 0;
      this.env.trace.emit({ type: "conntrack.flush", time: now, node: this.node, command, deleted });
    }
  }
}
