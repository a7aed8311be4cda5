/**
 * The cluster of a scenario at rest (t = 0, every controller converged) and the rules
 * kube-proxy writes on each of its nodes: what `./sim iptables-save`, `./sim kubectl` and
 * `./sim trace` show without running traffic. The timed run starts from the same state.
 */
import type { ClusterState } from "../cluster/types.ts";
import { RngRoot } from "../engine/rng.ts";
import { generateRules } from "../kubeproxy/generate.ts";
import type { GeneratedRules } from "../kubeproxy/types.ts";
import { Netfilter } from "../netfilter/netfilter.ts";
import { buildNodeAddressing, type NodeAddressing } from "../datapath/topology.ts";
import { buildInitialState } from "./build.ts";
import type { Scenario } from "./types.ts";

/** The named random stream cluster names (pod and slice suffixes) are drawn from. */
export const CLUSTER_NAMES_STREAM = "cluster/names";

export interface StaticCluster {
  readonly scenario: Scenario;
  readonly state: ClusterState;
  /** Node names in scenario order (the first is the default node of every command). */
  readonly nodeNames: readonly string[];
  /** kube-proxy's restore payloads for a node (cached). */
  rules(node: string): GeneratedRules;
  /**
   * A node's netfilter with kube-proxy's first sync applied, as iptables-restore --noflush would
   * (filter, then nat). A new instance on each call, so callers may run packets through it.
   */
  netfilter(node: string): Netfilter;
  /** A node's addresses and routes (addrtype LOCAL, pod veths, other nodes' pod CIDRs). */
  addressing(node: string): NodeAddressing;
}

export function buildStaticCluster(scenario: Scenario, seed: number = scenario.run.seed): StaticCluster {
  const rng = new RngRoot(seed);
  const names = rng.stream(CLUSTER_NAMES_STREAM);
  const state = buildInitialState(scenario, () => names.next());
  const cache = new Map<string, GeneratedRules>();
  return {
    scenario,
    state,
    nodeNames: scenario.cluster.nodes.map((n) => n.name),
    rules(node: string): GeneratedRules {
      let r = cache.get(node);
      if (!r) {
        r = generateRules(state, node, scenario.kubeProxy);
        cache.set(node, r);
      }
      return r;
    },
    netfilter(node: string): Netfilter {
      const r = this.rules(node);
      const nf = new Netfilter();
      nf.restore(r.filter, { noflush: true, file: `kube-proxy restore (filter) on ${node}` });
      nf.restore(r.nat, { noflush: true, file: `kube-proxy restore (nat) on ${node}` });
      return nf;
    },
    addressing(node: string): NodeAddressing {
      return buildNodeAddressing(state, node);
    },
  };
}
