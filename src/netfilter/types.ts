/**
 * The public contract of svcsim's netfilter model (iptables-legacy semantics, IPv4).
 * Implemented in this folder; used by datapath/ (timed packets and the static `trace`) and cli/.
 *
 * Rules are data (see rule.ts); tables are installed from iptables-restore text, atomically, as
 * kube-proxy does; iptables-save text is printed from the same data. The simulator executes
 * exactly what it prints.
 */
import type { Packet } from "../net/packet.ts";

export type TableName = "raw" | "mangle" | "nat" | "filter";
export type HookName = "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";

/** Builtin chains per table, in the order iptables-save prints them. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly HookName[]>> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
};

/** ctstate bits, as -m conntrack --ctstate sees them (SNAT/DNAT are the virtual states). */
export const CT_INVALID = 1;
export const CT_NEW = 2;
export const CT_RELATED = 4;
export const CT_ESTABLISHED = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 32;
export const CT_DNAT = 64;

/**
 * What rule evaluation needs beyond the packet headers. The caller owns it and may reuse one
 * object for many packets (no allocation on the per-packet path).
 */
export interface EvalContext {
  /** ctstate bits (CT_*) of the packet's connection. */
  ctstate: number;
  /** nfmark; MARK targets change it during evaluation and the result carries the new value. */
  mark: number;
  /** Interface names for -i/-o ("" when none: -i is empty in OUTPUT, -o in PREROUTING). */
  inIface: string;
  outIface: string;
  /** -m addrtype LOCAL: the address is assigned to this node (node IPs, 127.0.0.0/8, local LB IPs). */
  isLocal(addr: number): boolean;
  /**
   * -m statistic --mode random: true with probability p31 / 2^31, where p31 is the kernel's
   * quantised value lround(p * 2^31). The timed simulation draws from a seeded stream; the
   * static tracer enumerates both branches with their exact probabilities.
   */
  chance(p31: number): boolean;
  /** Simulated time in nanoseconds (for -m recent). */
  now: number;
}

export type Verdict =
  | { readonly kind: "ACCEPT" }
  | { readonly kind: "DROP" }
  | { readonly kind: "REJECT"; readonly rejectWith: string }
  | { readonly kind: "DNAT"; readonly addr: number; readonly port: number | undefined }
  | { readonly kind: "SNAT"; readonly addr: number; readonly port: number | undefined }
  | {
      readonly kind: "MASQUERADE";
      readonly randomFully: boolean;
      /** --to-ports min-max, when given (source port range for the masqueraded connection). */
      readonly toPorts?: readonly [number, number];
    };

/** The outcome of running one table's builtin chain (one hook) on a packet. */
export interface HookResult {
  /** Final verdict: a terminating target, or the builtin chain's policy. */
  verdict: Verdict;
  /** The mark after evaluation. */
  mark: number;
  /**
   * Rules a real kernel would have evaluated (linear semantics), even when svcsim used an index
   * to skip ahead. Used to report kernel cost (≈ 13–18 ns per rule evaluated).
   */
  rulesEvaluated: number;
}

/**
 * Optional observer for the explaining tracer: called for every rule the packet is tested
 * against, in kernel order. Never passed on the timed per-packet path.
 */
export interface TraversalObserver {
  rule(ev: {
    table: TableName;
    chain: string;
    /** 1-based position of the rule in its chain (as `iptables -L --line-numbers`). */
    index: number;
    /** The rule in iptables-save form ("-A CHAIN ..."). */
    text: string;
    matched: boolean;
    /** For matched rules with a non-terminating or jump target: what it did ("jump KUBE-SVC-…", "MARK or 0x4000", "RETURN"). */
    effect?: string;
  }): void;
  /** The builtin chain's policy applied (no terminating rule matched). */
  policy?(ev: { table: TableName; chain: string; policy: "ACCEPT" | "DROP" }): void;
}

export type { Packet };
