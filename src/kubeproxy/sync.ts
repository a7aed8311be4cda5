/**
 * When kube-proxy syncs, and what UDP conntrack cleanup a sync performs (KUBE-PROXY.md §5).
 *
 * SyncRunner models k8s.io/kubernetes/pkg/util/async BoundedFrequencyRunner as kube-proxy uses it:
 * - a token bucket of `burst` (2) tokens refilled at one token per minInterval (= minSyncPeriod);
 *   with minInterval 0 there is no limiter (v1.16 default), every request runs at once;
 * - a request (informer change → Run()) runs the sync now if a token is available, otherwise the
 *   timer is pulled in to lastRun + minInterval (requests coalesce into that one run);
 * - after every run the timer is reset to maxInterval: syncPeriod in v1.16, 1 h from v1.17 (there
 *   syncPeriod drives the canary monitor instead; `canaryCheckIntervalNs`).
 * Time is integer nanoseconds; the token bucket is kept as "token-nanoseconds" so no float
 * arithmetic is involved. Not modelled: the wait for informer caches to sync before the first
 * sync; failed restores (retry after syncPeriod); the v1.31+ FullSyncPeriod.
 *
 * udpConntrackCleanup models the `conntrack -D` calls kube-proxy v1.16 … v1.30 make after a
 * successful restore (the CLI era). The post-v1.30 netlink reconciler is not modelled.
 */
import type { ClusterState } from "../cluster/types.ts";
import { categorizeEndpoints, collectServicePorts, endpointsForServicePort, slicesByService } from "./endpoints.ts";
import type { KubeProxyConfig, ProfileName } from "./types.ts";

export const NS_PER_MS = 1_000_000;
export const ONE_HOUR_NS = 3600 * 1000 * NS_PER_MS;

/** BoundedFrequencyRunner maxInterval: syncPeriod (v1.16) or 1 h (v1.17+). */
export function periodicSyncIntervalNs(cfg: KubeProxyConfig): number {
  return cfg.profile === "v1.16" ? cfg.syncPeriodMs * NS_PER_MS : ONE_HOUR_NS;
}

/** Canary (KUBE-PROXY-CANARY) check interval, v1.17+ only; null for v1.16. */
export function canaryCheckIntervalNs(cfg: KubeProxyConfig): number | null {
  return cfg.profile === "v1.16" ? null : cfg.syncPeriodMs * NS_PER_MS;
}

export class SyncRunner {
  readonly minIntervalNs: number;
  readonly maxIntervalNs: number;
  readonly burst: number;
  /** Token bucket content in token·minInterval nanoseconds (one token = minIntervalNs). */
  private tokenNs: number;
  private tokenAt: number;
  private lastRun: number;
  private timer: number;

  constructor(opts: { minIntervalNs: number; maxIntervalNs: number; burst?: number; startNs?: number }) {
    if (!Number.isSafeInteger(opts.minIntervalNs) || !Number.isSafeInteger(opts.maxIntervalNs) || opts.minIntervalNs < 0 || opts.maxIntervalNs <= 0) {
      throw new Error("SyncRunner: intervals must be non-negative integer nanoseconds (max > 0)");
    }
    this.minIntervalNs = opts.minIntervalNs;
    this.maxIntervalNs = opts.maxIntervalNs;
    this.burst = opts.burst ?? 2;
    const start = opts.startNs ?? 0;
    this.tokenNs = this.burst * this.minIntervalNs;
    this.tokenAt = start;
    this.lastRun = Number.NEGATIVE_INFINITY;
    this.timer = start + this.maxIntervalNs;
  }

  static forConfig(cfg: KubeProxyConfig, startNs = 0): SyncRunner {
    return new SyncRunner({ minIntervalNs: cfg.minSyncPeriodMs * NS_PER_MS, maxIntervalNs: periodicSyncIntervalNs(cfg), startNs });
  }

  private refill(now: number): void {
    if (now > this.tokenAt) {
      this.tokenNs = Math.min(this.burst * this.minIntervalNs, this.tokenNs + (now - this.tokenAt));
      this.tokenAt = now;
    }
  }

  private canRun(now: number): boolean {
    if (this.minIntervalNs === 0) return true;
    this.refill(now);
    return this.tokenNs >= this.minIntervalNs;
  }

  /**
   * A sync was requested at `now` (Run()). Returns when it will run: `now` if allowed, otherwise the
   * (possibly pulled-in) timer. The caller runs the sync at that time and calls `ran()`.
   */
  request(now: number): number {
    if (this.canRun(now)) {
      this.timer = now;
      return now;
    }
    const nextPossible = this.lastRun + this.minIntervalNs;
    if (nextPossible < this.timer) this.timer = Math.max(nextPossible, now);
    return this.timer;
  }

  /** The time the runner will next run a sync unprompted (pending retry or periodic sync). */
  nextDue(): number {
    return this.timer;
  }

  /** A sync ran at `now`: takes a token, resets the periodic timer. */
  ran(now: number): void {
    if (this.minIntervalNs > 0) {
      this.refill(now);
      this.tokenNs = Math.max(0, this.tokenNs - this.minIntervalNs);
    }
    this.lastRun = now;
    this.timer = now + this.maxIntervalNs;
  }
}

// ---------------------------------------------------------------------------------------------
// UDP conntrack cleanup

/** One UDP service port as a sync sees it. */
export interface UdpServicePortSnapshot {
  /** servicePortName */
  readonly name: string;
  readonly clusterIP: string;
  readonly nodePort: number; // 0 = none
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  /** Endpoints traffic is sent to ("ip:port"). */
  readonly endpoints: readonly string[];
}

/** One `conntrack -D` invocation: `-p udp [--orig-dst X] [--dst-nat Y] [--dport N]`. */
export interface ConntrackDeletion {
  readonly proto: "udp";
  readonly origDst?: string;
  readonly dstNat?: string;
  readonly dport?: number;
}

const ipOf = (ep: string) => ep.slice(0, ep.lastIndexOf(":"));

/**
 * The conntrack deletions one sync performs, given the UDP service ports before and after it.
 * Order: v1.16 first clears newly opened UDP nodePorts (socket holding), then stale service IPs
 * (in service-name then clusterIP/externalIP/LB-IP order; upstream iterates a set), then per removed endpoint in (service, endpoint) order.
 * "current" = v1.28–v1.30: LB IPs join the stale-service IPs, nodePorts of stale services are
 * cleared by port, and a removed endpoint is cleared for the ClusterIP *and* the nodePort.
 */
export function udpConntrackCleanup(
  profile: ProfileName,
  prev: readonly UdpServicePortSnapshot[],
  next: readonly UdpServicePortSnapshot[],
): ConntrackDeletion[] {
  const out: ConntrackDeletion[] = [];
  const prevBy = new Map(prev.map((s) => [s.name, s]));
  const nextBy = new Map(next.map((s) => [s.name, s]));
  const sortedNext = [...next].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sortedPrev = [...prev].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  if (profile === "v1.16") {
    const oldPorts = new Set(prev.map((s) => s.nodePort).filter((p) => p !== 0));
    const opened = [...new Set(sortedNext.map((s) => s.nodePort).filter((p) => p !== 0 && !oldPorts.has(p)))].sort((a, b) => a - b);
    for (const p of opened) out.push({ proto: "udp", dport: p });
  }

  const staleIPs = new Set<string>();
  const staleNodePorts = new Set<number>();
  for (const s of sortedPrev) if (!nextBy.has(s.name)) staleIPs.add(s.clusterIP);
  for (const s of sortedNext) {
    const before = prevBy.get(s.name);
    if (s.endpoints.length > 0 && (before === undefined || before.endpoints.length === 0)) {
      staleIPs.add(s.clusterIP);
      for (const ip of s.externalIPs) staleIPs.add(ip);
      if (profile !== "v1.16") {
        for (const ip of s.loadBalancerIPs) staleIPs.add(ip);
        if (s.nodePort !== 0) staleNodePorts.add(s.nodePort);
      }
    }
  }
  for (const ip of staleIPs) out.push({ proto: "udp", origDst: ip });
  for (const p of [...staleNodePorts].sort((a, b) => a - b)) out.push({ proto: "udp", dport: p });

  for (const s of sortedNext) {
    const before = prevBy.get(s.name);
    if (!before) continue;
    const now = new Set(s.endpoints);
    for (const ep of before.endpoints) {
      if (now.has(ep)) continue;
      const ip = ipOf(ep);
      if (profile === "v1.16") {
        if (s.nodePort !== 0) out.push({ proto: "udp", dport: s.nodePort, dstNat: ip });
        else out.push({ proto: "udp", origDst: s.clusterIP, dstNat: ip });
      } else {
        out.push({ proto: "udp", origDst: s.clusterIP, dstNat: ip });
        if (s.nodePort !== 0) out.push({ proto: "udp", dport: s.nodePort, dstNat: ip });
      }
      for (const x of s.externalIPs) out.push({ proto: "udp", origDst: x, dstNat: ip });
      for (const x of s.loadBalancerIPs) out.push({ proto: "udp", origDst: x, dstNat: ip });
    }
  }
  return out;
}

/** The UDP service ports of `state` as kube-proxy on `nodeName` sees them (endpoints = SEP set). */
export function udpSnapshots(state: ClusterState, nodeName: string, profile: ProfileName): UdpServicePortSnapshot[] {
  const slices = slicesByService(state);
  const out: UdpServicePortSnapshot[] = [];
  for (const sp of collectServicePorts(state, profile)) {
    if (sp.protocol !== "udp") continue;
    const all = endpointsForServicePort(slices.get(`${sp.service.meta.namespace}/${sp.service.meta.name}`), sp, nodeName, profile);
    const cat = categorizeEndpoints(all, sp, profile);
    out.push({
      name: sp.name,
      clusterIP: sp.clusterIP,
      nodePort: sp.nodePort,
      externalIPs: sp.externalIPs,
      loadBalancerIPs: sp.loadBalancerIPs,
      endpoints: cat.reachable.map((e) => e.key),
    });
  }
  return out;
}
