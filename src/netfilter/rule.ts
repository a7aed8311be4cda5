/**
 * Rules as data (iptables-legacy 1.8 / Linux ip_tables semantics, IPv4 only).
 *
 * A rule is: the chain it lives in, the fixed IP-header part (`[!] -s`, `[!] -d`, `[!] -i`,
 * `[!] -o`, `[!] -p`), the ordered list of match instances (module name + its parsed options,
 * negations included), exactly one target (or none: a rule without `-j` only counts), and where
 * it was parsed from. Matches and targets are interpreted by the registries in matches.ts
 * and targets.ts; nothing here knows a module's options.
 *
 * Not modelled: `-f` (fragments), IPv6, address lists (`-s a,b` expands to several rules in
 * iptables; svcsim rejects it), host names instead of addresses, `-c` counters on single commands.
 */

/** `[!] -s/-d addr/mask`. prefix is -1 when the mask is not contiguous (printed as a dotted mask). */
export interface AddrSpec {
  readonly addr: number; // uint32, already masked (iptables stores addr & mask)
  readonly mask: number; // uint32
  readonly prefix: number;
  readonly neg: boolean;
}

/** `[!] -i/-o name`; a trailing `+` makes it a prefix match ("veth+"). */
export interface IfaceSpec {
  readonly name: string;
  readonly neg: boolean;
}

/** `[!] -p proto` as a protocol number (0 = all). */
export interface ProtoSpec {
  readonly num: number;
  readonly neg: boolean;
}

export interface RuleHeader {
  readonly src?: AddrSpec;
  readonly dst?: AddrSpec;
  readonly inIface?: IfaceSpec;
  readonly outIface?: IfaceSpec;
  readonly proto?: ProtoSpec;
}

/** One `-m module ...options` instance. `data` is the module's parsed options (see matches.ts). */
export interface MatchInstance<D = unknown> {
  readonly module: string;
  readonly data: D;
}

/** A NAT address with an optional port (`ip[:port]`), as DNAT/SNAT store a single-address range. */
export interface NatAddr {
  readonly addr: number;
  readonly port: number | undefined;
}

export type Target =
  /** `-j CHAIN`: call a user chain (pushes a return point). */
  | { readonly kind: "jump"; readonly chain: string }
  /** `-g CHAIN`: continue in a user chain without a return point. */
  | { readonly kind: "goto"; readonly chain: string }
  | { readonly kind: "ACCEPT" }
  | { readonly kind: "DROP" }
  | { readonly kind: "RETURN" }
  | { readonly kind: "REJECT"; readonly rejectWith: string }
  | { readonly kind: "DNAT"; readonly to: NatAddr; readonly random: boolean; readonly persistent: boolean }
  | { readonly kind: "SNAT"; readonly to: NatAddr; readonly random: boolean; readonly randomFully: boolean; readonly persistent: boolean }
  | {
      readonly kind: "MASQUERADE";
      readonly randomFully: boolean;
      readonly random: boolean;
      /** --to-ports min[-max] */
      readonly toPorts: readonly [number, number] | undefined;
    }
  /** MARK, every option normalised to the kernel's (value, mask): newmark = (mark & ~mask) ^ value. */
  | { readonly kind: "MARK"; readonly value: number; readonly mask: number }
  /** No `-j`: the rule only counts packets. */
  | { readonly kind: "none" };

export type TargetKind = Target["kind"];

/**
 * Where a rule came from (file and line; the line's text is not kept: a rule prints itself,
 * and 320,000 rules' lines at 10,000 Services would cost ~64 MB).
 */
export interface RuleSource {
  readonly file?: string;
  readonly line?: number;
}

export interface Rule {
  readonly chain: string;
  readonly header: RuleHeader;
  readonly matches: readonly MatchInstance[];
  readonly target: Target;
  readonly source: RuleSource;
}

/** Names that are targets, not chains (a user chain may not take one of these names). */
export const STANDARD_VERDICTS = ["ACCEPT", "DROP", "RETURN"] as const;

/** True if the target is a call into a user chain (jump or goto). */
export function targetChain(t: Target): string | undefined {
  return t.kind === "jump" || t.kind === "goto" ? t.chain : undefined;
}
