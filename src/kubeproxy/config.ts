/**
 * kube-proxy configuration defaults per profile (KUBE-PROXY.md §5).
 *
 * - iptables.syncPeriod 30 s in every version.
 * - iptables.minSyncPeriod 0 s up to v1.18, 1 s from v1.19 (PR #92836).
 * - masqueradeBit 14 (mark 0x4000); masqueradeAll false.
 * - localhostNodePorts true (the option exists from v1.26; v1.16 always behaved as if true:
 *   route_localnet was set and the last KUBE-SERVICES rule had no `! -d 127.0.0.0/8`).
 * - --random-fully on MASQUERADE: assumed available (host iptables ≥ 1.6.2).
 * - detectLocalMode: ClusterCIDR when a cluster CIDR is given (the upstream default), else None.
 */
import type { KubeProxyConfig, ProfileName } from "./types.ts";

export const DEFAULT_SYNC_PERIOD_MS = 30_000;
export const DEFAULT_MASQUERADE_BIT = 14;

export function defaultMinSyncPeriodMs(profile: ProfileName): number {
  return profile === "v1.16" ? 0 : 1_000;
}

export function defaultKubeProxyConfig(profile: ProfileName, clusterCIDR: string): KubeProxyConfig {
  return {
    mode: "iptables",
    profile,
    masqueradeAll: false,
    clusterCIDR,
    detectLocalMode: clusterCIDR === "" ? "None" : "ClusterCIDR",
    masqueradeBit: DEFAULT_MASQUERADE_BIT,
    randomFully: true,
    nodePortAddresses: [],
    localhostNodePorts: true,
    minSyncPeriodMs: defaultMinSyncPeriodMs(profile),
    syncPeriodMs: DEFAULT_SYNC_PERIOD_MS,
  };
}
