/**
 * The static tracer: walks the first packet of a new connection through one node's hooks and
 * enumerates every branch the statistic matches can take, with its exact probability under the
 * kernel's quantised values (P/2^31 per rule, P = lround(p·2^31)).
 *
 * Unlike kube-proxy's own test tracer (which concatenates all probabilistic outputs and treats
 * mark/ctstate/affinity matches as never matching), this runs the real evaluator: marks, ctstate
 * NEW, addrtype and protocol all count; -m recent lists start empty (a first connection).
 */
import { formatIPv4, type IPv4 } from "../net/ip.ts";
import type { Packet } from "../net/packet.ts";
import { CT_NEW, type EvalContext, type TraversalObserver } from "../netfilter/types.ts";
import { walkHooks, type NodeRouting, type Origin, type RuleEvaluator, type WalkResult } from "./pipeline.ts";

const TWO31 = 2 ** 31;

export interface TracedRule {
  readonly table: string;
  readonly chain: string;
  readonly index: number;
  readonly text: string;
  readonly matched: boolean;
  readonly effect?: string;
}

export interface TraceBranch {
  /** Exact probability of this branch (product of the statistic decisions along it). */
  readonly probability: number;
  /** The statistic decisions taken, in order: [P, matched]. */
  readonly decisions: readonly { readonly p31: number; readonly matched: boolean }[];
  readonly walk: WalkResult;
  readonly rules: readonly TracedRule[];
  readonly policies: readonly { table: string; chain: string; policy: string }[];
}

export type OutcomeVerdict = "DNAT" | "ACCEPT" | "REJECT" | "DROP";

export interface TraceOutcome {
  readonly verdict: OutcomeVerdict;
  /** "ip:port" after DNAT (DNAT only). */
  readonly to?: string;
  readonly toAddr?: IPv4;
  readonly toPort?: number;
  readonly probability: number;
  readonly masquerade: boolean;
  /** Source address and port after SNAT/MASQUERADE, when masqueraded. */
  readonly snatAddr?: IPv4;
  /** Where the packet goes next: local delivery, forwarded out of an interface, … */
  readonly fate: WalkResult["fate"];
  /** Index into branches of the first branch with this outcome. */
  readonly branch: number;
}

export interface ExploreInput {
  /**
   * Returns the node's rules to evaluate one branch on. Evaluation has side effects (counters,
   * recent lists), so each branch gets rules in the same initial state: either a fresh instance
   * or one whose side effects are disabled.
   */
  rulesForBranch(): RuleEvaluator;
  readonly routing: NodeRouting;
  isLocal(addr: IPv4): boolean;
  readonly packet: Packet;
  readonly origin: Origin;
  /** Stop after this many branches (a guard against pathological rule sets). */
  readonly maxBranches?: number;
}

function verdictOf(w: WalkResult): OutcomeVerdict {
  if (w.fate === "dropped" || w.fate === "unroutable") return "DROP";
  if (w.fate === "rejected") return "REJECT";
  return w.dnat ? "DNAT" : "ACCEPT";
}

/** Depth-first enumeration of statistic decisions; each run replays a prefix and explores on. */
export function explore(input: ExploreInput): { branches: TraceBranch[]; outcomes: TraceOutcome[]; truncated: boolean } {
  const maxBranches = input.maxBranches ?? 10_000;
  const branches: TraceBranch[] = [];
  const stack: boolean[][] = [[]];
  let truncated = false;
  while (stack.length > 0) {
    if (branches.length >= maxBranches) { truncated = true; break; }
    const prefix = stack.pop()!;
    const decisions: { p31: number; matched: boolean }[] = [];
    let probability = 1;
    let i = 0;
    const ctx: EvalContext = {
      ctstate: CT_NEW,
      mark: 0,
      inIface: "",
      outIface: "",
      isLocal: input.isLocal,
      now: 0,
      chance(p31: number): boolean {
        const pr = Math.min(1, Math.max(0, p31 / TWO31));
        let d: boolean;
        if (i < prefix.length) d = prefix[i]!;
        else {
          // New decision point: explore "matched" now, "not matched" later (if possible).
          if (pr <= 0) d = false;
          else if (pr >= 1) d = true;
          else { d = true; stack.push([...decisions.map((x) => x.matched), false]); }
        }
        i++;
        decisions.push({ p31, matched: d });
        probability *= d ? pr : 1 - pr;
        return d;
      },
    };
    const rules: TracedRule[] = [];
    const policies: { table: string; chain: string; policy: string }[] = [];
    const observer: TraversalObserver = {
      rule: (ev) => { rules.push({ table: ev.table, chain: ev.chain, index: ev.index, text: ev.text, matched: ev.matched, effect: ev.effect }); },
      policy: (ev) => { policies.push({ table: ev.table, chain: ev.chain, policy: ev.policy }); },
    };
    const walk = walkHooks(input.rulesForBranch(), input.routing, input.packet, input.origin, ctx, {
      nat: "new",
      observer,
      recordSteps: true,
    });
    branches.push({ probability, decisions, walk, rules, policies });
  }
  // Outcomes in branch order (which follows rule order), merged when identical.
  const outcomes: TraceOutcome[] = [];
  const byKey = new Map<string, number>();
  branches.forEach((b, bi) => {
    const w = b.walk;
    const verdict = verdictOf(w);
    const key = `${verdict}|${w.dnat ? `${w.dnat.addr}:${w.dnat.port}` : ""}|${w.snat?.masquerade ?? false}|${w.fate}`;
    const existing = byKey.get(key);
    if (existing !== undefined) {
      const o = outcomes[existing]!;
      outcomes[existing] = { ...o, probability: o.probability + b.probability };
      return;
    }
    byKey.set(key, outcomes.length);
    outcomes.push({
      verdict,
      ...(w.dnat ? { to: `${fmt(w.dnat.addr)}:${w.dnat.port}`, toAddr: w.dnat.addr, toPort: w.dnat.port } : {}),
      probability: b.probability,
      masquerade: w.snat?.masquerade ?? false,
      ...(w.snat ? { snatAddr: w.snat.addr } : {}),
      fate: w.fate,
      branch: bi,
    });
  });
  return { branches, outcomes, truncated };
}

function fmt(a: IPv4): string { return formatIPv4(a); }


/**
 * The rules a branch was tested against, one line each, grouped under "table CHAIN" headings:
 * `MATCH #2   -A … => effect` or `  -   #1   -A …` (the text form of ./sim trace and reports).
 */
export function formatTracedRules(rules: readonly TracedRule[], from = 0): string[] {
  const lines: string[] = [];
  let where = "";
  for (let i = from; i < rules.length; i++) {
    const r = rules[i]!;
    const w = `${r.table} ${r.chain}`;
    if (w !== where) { lines.push(`  ${w}`); where = w; }
    lines.push(`    ${r.matched ? "MATCH" : "  -  "} #${String(r.index).padEnd(3)} ${r.text}${r.matched && r.effect ? `   => ${r.effect}` : ""}`);
  }
  return lines;
}
