/**
 * `./sim trace`: the first packet of a new connection, walked through one node's hooks in kernel
 * order, every rule it is tested against, and every possible outcome with its exact probability.
 * Works on a scenario (the rules kube-proxy writes there) or on a real iptables-save dump.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { explore, formatTracedRules, type TraceBranch, type TraceOutcome } from "../../datapath/explore.ts";
import type { NodeRouting, Origin, Route } from "../../datapath/pipeline.ts";
import { InputError } from "../../errors.ts";
import { cidrContains, formatIPv4, LOOPBACK_NET, tryParseIPv4, type IPv4 } from "../../net/ip.ts";
import { PROTO_TCP, PROTO_UDP, PROTO_SCTP, TCP_SYN, type Packet, type ProtoNum } from "../../net/packet.ts";
import { Netfilter } from "../../netfilter/netfilter.ts";
import { sortedValues } from "../../cluster/types.ts";
import { action, intOption, out, usageError } from "../util.ts";
import { loadStatic, pickNode } from "./static.ts";

interface TraceOpts {
  src?: string;
  dst?: string;
  dport?: string;
  sport: string;
  proto: string;
  node?: string;
  rules?: string;
  nodeIp?: string;
  json?: boolean;
}

function ipOption(name: string, v: string | undefined): IPv4 {
  if (v === undefined) throw usageError(name, "is required");
  const a = tryParseIPv4(v);
  if (a === null) throw usageError(name, `expected an IPv4 address such as 10.0.91.192, got "${v}"`);
  return a;
}

const PROTOS: Record<string, ProtoNum> = { tcp: PROTO_TCP, udp: PROTO_UDP, sctp: PROTO_SCTP };

interface TraceSetup {
  node: string;
  origin: Origin;
  originText: string;
  nf: Netfilter;
  routing: NodeRouting;
  isLocal(a: IPv4): boolean;
  /** Name of the pod or node an address belongs to, for the outcome lines. */
  describe(a: IPv4): string;
}

function fromScenario(file: string, src: IPv4, nodeOpt: string | undefined): TraceSetup {
  const sc = loadStatic(file);
  // Default node: the one the source lives on (a pod's node, or the node itself), else the first.
  let defaultNode: string | undefined;
  const owners = new Map<IPv4, string>();
  for (const p of sortedValues(sc.state.pods)) {
    if (p.status.podIP) owners.set(tryParseIPv4(p.status.podIP)!, `pod ${p.meta.name} (node ${p.spec.nodeName})`);
    if (p.status.podIP && tryParseIPv4(p.status.podIP) === src) defaultNode = p.spec.nodeName;
  }
  for (const n of sortedValues(sc.state.nodes)) {
    owners.set(tryParseIPv4(n.ip)!, `node ${n.name}`);
    if (tryParseIPv4(n.ip) === src) defaultNode = n.name;
  }
  const node = nodeOpt !== undefined ? pickNode(sc, nodeOpt) : defaultNode ?? sc.nodeNames[0]!;
  const addressing = sc.addressing(node);
  let origin: Origin;
  let originText: string;
  if (addressing.isLocal(src)) {
    origin = { kind: "local" };
    originText = `generated on node ${node} (host network): nat OUTPUT → filter OUTPUT → nat POSTROUTING`;
  } else {
    const pod = addressing.podAt(src);
    const iface = pod ? addressing.podIface(pod)! : "eth0";
    origin = { kind: "ingress", iface };
    originText = pod
      ? `from pod ${pod} on node ${node}, arriving on ${iface}: nat PREROUTING → routing → filter FORWARD/INPUT → nat POSTROUTING`
      : `arriving on node ${node} eth0: nat PREROUTING → routing → filter FORWARD/INPUT → nat POSTROUTING`;
  }
  return {
    node,
    origin,
    originText,
    nf: sc.netfilter(node),
    routing: addressing,
    isLocal: addressing.isLocal,
    describe: (a) => owners.get(a) ?? "",
  };
}

function fromRulesFile(file: string, nodeIp: IPv4, src: IPv4): TraceSetup {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError({ file }, `cannot read the rules file: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const nf = new Netfilter();
  nf.restore(text, { file });
  const isLocal = (a: IPv4) => a === nodeIp || cidrContains(LOOPBACK_NET, a);
  const LOCAL: Route = { kind: "local" };
  const OUT: Route = { kind: "external", iface: "eth0" };
  const routing: NodeRouting = { name: formatIPv4(nodeIp), route: (d) => (isLocal(d) ? LOCAL : OUT), egressAddress: () => nodeIp };
  const local = isLocal(src);
  return {
    node: formatIPv4(nodeIp),
    origin: local ? { kind: "local" } : { kind: "ingress", iface: "eth0" },
    originText: local
      ? `generated on the node (host network): nat OUTPUT → filter OUTPUT → nat POSTROUTING`
      : `arriving on eth0: nat PREROUTING → routing → filter FORWARD/INPUT → nat POSTROUTING (routes unknown: every non-local address is reached via eth0)`,
    nf,
    routing,
    isLocal,
    describe: () => "",
  };
}

function fmtProb(p: number): string {
  return p.toFixed(11);
}

function outcomeLine(o: TraceOutcome, describe: (a: IPv4) => string): string {
  const who = o.toAddr !== undefined ? describe(o.toAddr) : "";
  const parts = [
    o.verdict.padEnd(6),
    (o.to ?? "-").padEnd(21),
    `p=${fmtProb(o.probability)}`,
    o.masquerade ? `masquerade (source → ${formatIPv4(o.snatAddr!)})` : "no masquerade",
  ];
  let line = "  " + parts.join("  ");
  if (who) line += `  ${who}`;
  if (o.verdict === "ACCEPT") line += `  (${o.fate === "local" ? "delivered to a local socket" : "forwarded untouched"})`;
  return line;
}

function commonPrefix(a: TraceBranch, b: TraceBranch): number {
  let i = 0;
  while (i < a.rules.length && i < b.rules.length && a.rules[i]!.text === b.rules[i]!.text && a.rules[i]!.matched === b.rules[i]!.matched) i++;
  return i;
}

function walkSummary(b: TraceBranch): string {
  const w = b.walk;
  const hooks = w.steps.map((s) => `${s.table} ${s.hook}: ${s.verdict.kind}${s.verdict.kind === "DNAT" ? ` ${formatIPv4(s.verdict.addr)}:${s.verdict.port}` : ""}`).join(" → ");
  return `  verdicts: ${hooks}`;
}

export function registerTraceCommand(program: Command): void {
  program
    .command("trace")
    .description("walk the first packet of a new connection through a node's hooks, rule by rule, with every outcome and its exact probability")
    .argument("[scenario]", "scenario YAML file (or use --rules)")
    .option("--src <ip>", "source address (a pod IP, a node IP, or any outside address)")
    .option("--dst <ip>", "destination address (e.g. a ClusterIP)")
    .option("--dport <port>", "destination port")
    .option("--sport <port>", "source port", "40000")
    .option("--proto <proto>", "tcp | udp | sctp", "tcp")
    .option("--node <name>", "node whose rules to walk (default: the source's node, else the first node)")
    .option("--rules <file>", "an iptables-save dump to walk instead of a scenario's rules")
    .option("--node-ip <ip>", "with --rules: the node's own address (addrtype LOCAL, MASQUERADE source)")
    .option("--json", "print JSON")
    .action(action((file: string | undefined, o: TraceOpts) => {
      const src = ipOption("--src", o.src);
      const dst = ipOption("--dst", o.dst);
      const dport = intOption("--dport", o.dport ?? (() => { throw usageError("--dport", "is required"); })(), 1)!;
      const sport = intOption("--sport", o.sport, 1)!;
      if (dport > 65535) throw usageError("--dport", `expected a port 1-65535, got ${dport}`);
      if (sport > 65535) throw usageError("--sport", `expected a port 1-65535, got ${sport}`);
      const proto = PROTOS[o.proto];
      if (proto === undefined) throw usageError("--proto", `expected tcp, udp or sctp, got "${o.proto}"`);
      let setup: TraceSetup;
      if (o.rules !== undefined) {
        if (file !== undefined) throw usageError("--rules", "give either a scenario or --rules, not both");
        setup = fromRulesFile(o.rules, ipOption("--node-ip", o.nodeIp), src);
      } else {
        if (file === undefined) throw usageError("scenario", "give a scenario file, or --rules FILE --node-ip IP");
        setup = fromScenario(file, src, o.node);
      }
      const packet: Packet = { src, dst, sport, dport, proto, flags: proto === PROTO_TCP ? TCP_SYN : 0, len: 60 };
      const dry = setup.nf.dryRun();
      const res = explore({ rulesForBranch: () => dry, routing: setup.routing, isLocal: setup.isLocal, packet, origin: setup.origin });
      const protoName = o.proto;
      if (o.json) {
        const json = {
          node: setup.node,
          packet: { proto: protoName, src: formatIPv4(src), sport, dst: formatIPv4(dst), dport, ctstate: "NEW" },
          path: setup.originText,
          outcomes: res.outcomes.map((x) => ({
            verdict: x.verdict,
            ...(x.to ? { to: x.to } : {}),
            probability: x.probability,
            masquerade: x.masquerade,
            ...(x.snatAddr !== undefined ? { snatSource: formatIPv4(x.snatAddr) } : {}),
            fate: x.fate,
            ...(x.toAddr !== undefined && setup.describe(x.toAddr) ? { endpoint: setup.describe(x.toAddr) } : {}),
          })),
          branches: res.branches.map((b) => ({
            probability: b.probability,
            decisions: b.decisions.map((d) => ({ p31: d.p31, matched: d.matched })),
            rulesEvaluated: b.walk.rulesEvaluated,
            rules: b.rules.map((r) => ({ table: r.table, chain: r.chain, index: r.index, rule: r.text, matched: r.matched, ...(r.effect ? { effect: r.effect } : {}) })),
            hooks: b.walk.steps.map((s) => ({ table: s.table, hook: s.hook, verdict: s.verdict.kind })),
          })),
          truncated: res.truncated,
        };
        out(JSON.stringify(json, null, 2) + "\n");
        return;
      }
      const lines: string[] = [];
      lines.push(`Packet: ${protoName} ${formatIPv4(src)}:${sport} -> ${formatIPv4(dst)}:${dport}${proto === PROTO_TCP ? " [SYN]" : ""}, first of a new connection (ctstate NEW)`);
      lines.push(`Node:   ${setup.node}`);
      lines.push(`Path:   ${setup.originText}`);
      res.branches.forEach((b, i) => {
        lines.push("");
        const head = res.branches.length > 1 ? `Branch ${i + 1} of ${res.branches.length}, probability ${fmtProb(b.probability)}` : "Rules tested";
        lines.push(`${head} (${b.walk.rulesEvaluated} rules evaluated):`);
        const from = i === 0 ? 0 : commonPrefix(res.branches[0]!, b);
        if (from > 0) lines.push(`    ... the first ${from} rules as in branch 1 ...`);
        lines.push(...formatTracedRules(b.rules, from));
        lines.push(walkSummary(b));
      });
      lines.push("");
      lines.push("Outcomes (statistic matches at the kernel's quantised probabilities):");
      for (const x of res.outcomes) lines.push(outcomeLine(x, setup.describe));
      if (res.truncated) lines.push("  (branch enumeration stopped at 10000 branches)");
      out(lines.join("\n") + "\n");
    }));
}
