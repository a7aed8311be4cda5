/**
 * kube-proxy (iptables mode) settings and version profiles.
 *
 * Profiles name a layout of generated rules; each profile states which upstream versions it
 * stands for (see profiles.ts). Fact sheet: shared/KUBE-PROXY.md.
 */

export type ProfileName = "v1.16" | "current";
export const PROFILE_NAMES: readonly ProfileName[] = ["v1.16", "current"];

export type DetectLocalMode = "ClusterCIDR" | "NodeCIDR" | "BridgeInterface" | "InterfaceNamePrefix" | "None";

export interface KubeProxyConfig {
  readonly mode: "iptables";
  readonly profile: ProfileName;
  /** --masquerade-all */
  readonly masqueradeAll: boolean;
  /** --cluster-cidr; "" when unset. */
  readonly clusterCIDR: string;
  /** --detect-local-mode (current profile); v1.16 always uses clusterCIDR when set. */
  readonly detectLocalMode: DetectLocalMode;
  readonly bridgeInterface?: string;
  readonly interfaceNamePrefix?: string;
  /** --iptables-masquerade-bit (default 14 → 0x4000). */
  readonly masqueradeBit: number;
  /** Whether MASQUERADE gets --random-fully (iptables ≥ 1.6.2 on the host). */
  readonly randomFully: boolean;
  /** --nodeport-addresses CIDRs; empty = all local addresses. */
  readonly nodePortAddresses: readonly string[];
  /** localhostNodePorts (current profile; default true). */
  readonly localhostNodePorts: boolean;
  /** Sync timing, in milliseconds of simulated time. */
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
}

/** Output of rule generation for one node: iptables-restore payloads, as kube-proxy writes them. */
export interface GeneratedRules {
  /** Restore input for the filter table (starts with "*filter", ends with "COMMIT\n"). */
  readonly filter: string;
  /** Restore input for the nat table (starts with "*nat", ends with "COMMIT\n"). */
  readonly nat: string;
}
