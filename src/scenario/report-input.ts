/**
 * From a finished run to the report's input: the trace, the Services with the share of new
 * connections the installed rules give each endpoint (kernel-quantised statistic probabilities,
 * read back from the node's netfilter — what the simulator actually executed), and the extras a
 * user reads beside the distribution (curl output, rules with counters, conntrack listing).
 */
import { formatIPv4 } from "../net/ip.ts";
import type { ClusterState } from "../cluster/types.ts";
import { sortedValues } from "../cluster/types.ts";
import { collectServicePorts } from "../kubeproxy/endpoints.ts";
import type { Netfilter } from "../netfilter/netfilter.ts";
import type { StatisticData } from "../netfilter/matches.ts";
import { kernelShares } from "../report/stats.ts";
import type { ReportExtras, ReportInput, ServiceInput } from "../report/model.ts";
import { curlLine, type RunResult } from "./run.ts";
import { explainConnection } from "./explain.ts";

export interface EndpointShare {
  readonly address: string; // "ip:port"
  readonly share: number;
}

/**
 * Shares of new connections per endpoint that a KUBE-SVC/KUBE-SVL chain gives, from its
 * statistic rules (affinity --rcheck rules only apply to returning clients and are skipped).
 * Empty when the chain does not exist on the node (no endpoints, or not programmed there).
 */
export function chainShares(nf: Netfilter, chain: string): EndpointShare[] {
  const rules = nf.rules("nat", chain);
  const seps: { sep: string; p31: number | null }[] = [];
  for (const r of rules) {
    const t = r.rule.target;
    if (t.kind !== "jump" || !t.chain.startsWith("KUBE-SEP-")) continue;
    if (r.rule.matches.some((m) => m.module === "recent")) continue;
    const stat = r.rule.matches.find((m) => m.module === "statistic") as { data: StatisticData } | undefined;
    seps.push({ sep: t.chain, p31: stat && stat.data.mode === "random" ? stat.data.p31 : null });
  }
  if (seps.length === 0) return [];
  // The chain is a probability ladder: every rule but the last has a statistic match.
  const p31s = seps.slice(0, -1).map((s) => s.p31 ?? 2 ** 31);
  const shares = kernelShares(p31s);
  return seps.map((s, i) => ({ address: dnatTarget(nf, s.sep), share: shares[i] ?? 0 }));
}

function dnatTarget(nf: Netfilter, sepChain: string): string {
  for (const r of nf.rules("nat", sepChain)) {
    const t = r.rule.target;
    if (t.kind === "DNAT") return `${formatIPv4(t.to.addr)}${t.to.port !== undefined ? `:${t.to.port}` : ""}`;
  }
  return "";
}

/** The Services of the cluster as the report sees them, with expected shares from `nf`'s rules. */
export function reportServices(state: ClusterState, nf: Netfilter, profile: "v1.16" | "current"): ServiceInput[] {
  const podByIP = new Map<string, { name: string; node: string }>();
  for (const p of sortedValues(state.pods)) if (p.status.podIP) podByIP.set(p.status.podIP, { name: p.meta.name, node: p.spec.nodeName });
  const out: ServiceInput[] = [];
  for (const sp of collectServicePorts(state, profile)) {
    const chain = sp.internalPolicyLocal ? sp.chains.svl : sp.chains.svc;
    const shares = chainShares(nf, chain);
    const targets: string[] = [];
    for (const ip of sp.externalIPs) targets.push(`${ip}:${sp.port.port}`);
    for (const ip of sp.loadBalancerIPs) targets.push(`${ip}:${sp.port.port}`);
    if (sp.nodePort) for (const n of sortedValues(state.nodes)) targets.push(`${n.ip}:${sp.nodePort}`);
    out.push({
      service: `${sp.service.meta.namespace}/${sp.service.meta.name}`,
      port: sp.port.name,
      portNumber: sp.port.port,
      clusterIP: sp.clusterIP,
      ...(targets.length ? { targets } : {}),
      endpoints: shares.map((s) => {
        const ip = s.address.slice(0, s.address.lastIndexOf(":"));
        const pod = podByIP.get(ip);
        return { pod: pod?.name ?? "", address: s.address, node: pod?.node ?? "", expectedShare: s.share };
      }),
    });
  }
  return out;
}

export interface ReportInputOptions {
  /** Node whose rules give the expected shares and the rules excerpt (default: the first node). */
  readonly node?: string;
  /** The scenario file's text, embedded in HTML reports. */
  readonly scenarioYaml?: string;
}

/** Everything buildReport needs from a run. */
export function reportInputOf(result: RunResult, opts: ReportInputOptions = {}): ReportInput {
  const sc = result.scenario;
  const node = result.nodes.find((n) => n.name === opts.node) ?? result.nodes[0]!;
  const services = reportServices(result.state, node.netfilter, sc.kubeProxy.profile);
  const explained = explainConnection(result);
  const curl = result.requests.map((r) => curlLine(r, formatIPv4(r.targetAddr), r.targetPort));
  const extras: ReportExtras = {
    curl,
    rules: [{ node: node.name, text: kubeRulesExcerpt(node.iptablesSave(true)) }],
    conntrack: node.conntrackList().lines.join("\n"),
    ...(explained ? { packetExplanation: explained } : {}),
    ...(opts.scenarioYaml !== undefined ? { scenarioYaml: opts.scenarioYaml } : {}),
  };
  return {
    meta: {
      scenario: sc.metadata.name,
      ...(sc.metadata.description ? { description: sc.metadata.description } : {}),
      seed: result.seed,
      profile: sc.kubeProxy.profile,
      generatedBy: "svcsim",
    },
    trace: result.trace.records(),
    services,
    extras,
    // A run shorter than ten reporting intervals gets buckets chosen by the report (≤ 60 of them).
    options: result.endTime >= 10 * sc.run.intervalNs ? { intervalNs: sc.run.intervalNs } : {},
  };
}

/**
 * The per-service rules of the nat table from `iptables-save -c` (KUBE-SERVICES, KUBE-NODEPORTS and
 * the per-service chains), with their counters; the whole dump is `./sim iptables-save -c`.
 */
export function kubeRulesExcerpt(save: string): string {
  const keep = /^\[\d+:\d+\] -A KUBE-(SERVICES|NODEPORTS|SVC-|SVL-|SEP-|EXT-|FW-|XLB-)/;
  const natStart = save.indexOf("*nat");
  const nat = natStart < 0 ? "" : save.slice(natStart);
  return nat.split("\n").filter((l) => keep.test(l)).join("\n");
}
