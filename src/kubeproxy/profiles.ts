/**
 * Version profiles of kube-proxy's iptables rule layout.
 *
 * "v1.16" — kube-proxy v1.14 … v1.16 (read from the v1.16.0 code; v1.17 differs only in the
 *   probability precision). This is the layout of the 2019 seed dump. Endpoints come from the
 *   Endpoints API (ready addresses only, no terminating fallback).
 *
 * "current" — kube-proxy v1.28 … v1.30 (verified against v1.28's proxier_test.go expectations,
 *   KUBE-PROXY.md §2.3–§2.5). The v1.31+ nfacct deltas (§2.10) are not emitted; they need kernel
 *   nfacct support and change no packet fate.
 *
 * Changes that fall between the two profiles (not separately modelled; a v1.17–v1.27 cluster is
 * approximated by whichever profile is nearer):
 *   v1.17  probability written with %0.10f instead of %0.5f (PR #83599); periodic full sync 1 h,
 *          syncPeriod drives the canary monitor.
 *   v1.18  comments on KUBE-SVC/KUBE-SEP rules fixed (appendServiceCommentLocked bug).
 *   v1.19  minSyncPeriod default 1 s; KUBE-POSTROUTING gains RETURN for unmarked packets and
 *          clears the mark with --xor-mark before MASQUERADE; MARK-MASQ uses --or-mark.
 *   v1.20  servicePortName drops the trailing colon for unnamed ports (chain hashes change).
 *   v1.21  EndpointSlices GA as kube-proxy's endpoint source.
 *   v1.22  ClusterIP masquerade rule moves from KUBE-SERVICES into the service chain; "/32" no
 *          longer written.
 *   v1.24  KUBE-EXT / KUBE-SVL replace KUBE-XLB; KUBE-PROXY-FIREWALL replaces KUBE-MARK-DROP.
 *   v1.25  large-cluster mode (>1000 endpoints: SVC/SEP comments dropped).
 *   v1.26  terminating-endpoint fallback on by default (GA v1.28); localhostNodePorts option.
 *   v1.27  partial syncs (MinimizeIPTablesRestore) on by default; kube-proxy writes KUBE-FIREWALL.
 */
import type { ProfileName } from "./types.ts";

export interface ProfileInfo {
  readonly name: ProfileName;
  readonly upstream: string;
  /** Digits of the statistic probability (%0.Nf). */
  readonly probabilityDigits: number;
  /** Periodic full-sync interval of the BoundedFrequencyRunner: syncPeriod (v1.16) or 1 h (v1.17+). */
  readonly periodicSyncIsSyncPeriod: boolean;
}

export const PROFILES: Readonly<Record<ProfileName, ProfileInfo>> = {
  "v1.16": { name: "v1.16", upstream: "kube-proxy v1.14–v1.16 (iptables mode)", probabilityDigits: 5, periodicSyncIsSyncPeriod: true },
  current: { name: "current", upstream: "kube-proxy v1.28–v1.30 (iptables mode)", probabilityDigits: 10, periodicSyncIsSyncPeriod: false },
};
