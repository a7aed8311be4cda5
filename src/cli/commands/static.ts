/**
 * Commands that look at a scenario's cluster at rest: validate, kubectl, iptables-save, trace.
 */
import type { Command } from "commander";
import { formatWarning } from "../../errors.ts";
import { kubectlGet, type KubectlOutput } from "../../cluster/kubectl.ts";
import { productionMode } from "../../cluster/recipes.ts";
import { loadScenario } from "../../scenario/load.ts";
import { buildStaticCluster, type StaticCluster } from "../../scenario/static.ts";
import type { TableName } from "../../netfilter/types.ts";
import { formatDuration } from "../../engine/time.ts";
import { action, intOption, out, usageError } from "../util.ts";
import { atOption, loadForRun, pickRunNode, runWithProgress } from "../common.ts";

export function loadStatic(file: string): StaticCluster {
  productionMode(); // no deep-freezing of 100k-pod states outside tests
  const { scenario, warnings } = loadScenario(file);
  for (const w of warnings) process.stderr.write(formatWarning(w) + "\n");
  return buildStaticCluster(scenario);
}

export function pickNode(sc: StaticCluster, node: string | undefined): string {
  if (node === undefined) return sc.nodeNames[0]!;
  if (!sc.nodeNames.includes(node)) throw usageError("--node", `no node "${node}" in the scenario (nodes: ${sc.nodeNames.join(", ")})`);
  return node;
}

export function registerStaticCommands(program: Command): void {
  program
    .command("validate")
    .description("check a scenario file: one line per problem (file:line:column: field: what was expected), exit 2 on error")
    .argument("<scenario>", "scenario YAML file")
    .action(action((file: string) => {
      productionMode();
      const { scenario, warnings } = loadScenario(file);
      for (const w of warnings) process.stderr.write(formatWarning(w) + "\n");
      // Building the cluster runs the controllers; problems there are input problems too.
      const sc = buildStaticCluster(scenario);
      for (const n of sc.nodeNames) sc.rules(n);
      out(`${file}: ok (${Object.keys(sc.state.nodes).length} nodes, ${Object.keys(sc.state.pods).length} pods, ${Object.keys(sc.state.services).length} services${warnings.length ? `, ${warnings.length} warning${warnings.length > 1 ? "s" : ""}` : ""})\n`);
    }));

  program
    .command("kubectl")
    .description("kubectl views of the scenario's cluster: get deploy|rs|pods|svc|endpoints|endpointslices [NAME] [-o wide|yaml|json]")
    .argument("<scenario>", "scenario YAML file")
    .argument("<verb>", "get")
    .argument("<kind>", "deploy, rs, po, svc, ep, endpointslices (kubectl's names and short names)")
    .argument("[name]", "object name")
    .option("-o, --output <format>", "wide | yaml | json")
    .option("-n, --namespace <ns>", "namespace", "default")
    .option("--at <time>", "run the scenario up to this simulated time first (e.g. 12s) and show the cluster then")
    .option("--seed <n>", "random seed for --at (default: the scenario's run.seed)")
    .action(action(async (file: string, verb: string, kind: string, name: string | undefined, opts: { output?: string; namespace: string; at?: string; seed?: string }) => {
      if (verb !== "get") throw usageError("verb", `expected "get", got "${verb}"`);
      const output = opts.output === undefined ? "table" : opts.output;
      if (!["table", "wide", "yaml", "json"].includes(output)) throw usageError("--output", `expected wide, yaml or json, got "${output}"`);
      const at = atOption(opts.at);
      const seed = intOption("--seed", opts.seed, 0);
      let state;
      if (at === undefined) state = loadStatic(file).state;
      else state = (await runWithProgress(loadForRun(file), { until: at, ...(seed !== undefined ? { seed } : {}) })).state;
      const r = kubectlGet(state, kind, name, { output: output as KubectlOutput, now: at ?? 0, namespace: opts.namespace });
      out(r.stdout);
      if (r.stderr) process.stderr.write(r.stderr);
      return r.exitCode;
    }));

  program
    .command("iptables-save")
    .description("what iptables-save prints on a node: the rules kube-proxy wrote there")
    .argument("<scenario>", "scenario YAML file")
    .option("--node <name>", "node (default: the first node)")
    .option("-t, --table <table>", "nat | filter (default: both)")
    .option("-c, --counters", "run the scenario and print each rule's [packets:bytes] counters, like iptables-save -c")
    .option("--at <time>", "run the scenario up to this simulated time first (e.g. 12s): the rules (and counters) then")
    .option("--seed <n>", "random seed for a run (default: the scenario's run.seed)")
    .action(action(async (file: string, opts: { node?: string; table?: string; counters?: boolean; at?: string; seed?: string }) => {
      if (opts.table !== undefined && opts.table !== "nat" && opts.table !== "filter") {
        throw usageError("--table", `expected nat or filter, got "${opts.table}"`);
      }
      const at = atOption(opts.at);
      const seed = intOption("--seed", opts.seed, 0);
      const table = opts.table ? { table: opts.table as TableName } : {};
      if (at === undefined && !opts.counters) {
        const sc = loadStatic(file);
        const node = pickNode(sc, opts.node);
        out(sc.netfilter(node).save({ ...table, header: `# Generated by iptables-save v1.8.7 (svcsim, node ${node}, t=0s)`, footer: `# Completed (svcsim, node ${node})` }));
        return;
      }
      const scenario = loadForRun(file);
      const node = pickRunNode(scenario, opts.node);
      const result = await runWithProgress(scenario, { ...(at !== undefined ? { until: at } : {}), ...(seed !== undefined ? { seed } : {}) });
      const n = result.nodes.find((x) => x.name === node)!;
      const t = formatDuration(result.endTime);
      out(n.netfilter.save({ ...table, counters: opts.counters ?? false, header: `# Generated by iptables-save v1.8.7 (svcsim, node ${node}, t=${t})`, footer: `# Completed (svcsim, node ${node})` }));
    }));
}
