/**
 * Commands that look at a scenario's cluster at rest: validate, kubectl, iptables-save, trace.
 */
import type { Command } from "commander";
import { formatWarning } from "../../errors.ts";
import { kubectlGet, type KubectlOutput } from "../../cluster/kubectl.ts";
import { loadScenario } from "../../scenario/load.ts";
import { buildStaticCluster, type StaticCluster } from "../../scenario/static.ts";
import { action, out, usageError } from "../util.ts";

export function loadStatic(file: string): StaticCluster {
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
    .action(action((file: string, verb: string, kind: string, name: string | undefined, opts: { output?: string; namespace: string }) => {
      if (verb !== "get") throw usageError("verb", `expected "get", got "${verb}"`);
      const output = opts.output === undefined ? "table" : opts.output;
      if (!["table", "wide", "yaml", "json"].includes(output)) throw usageError("--output", `expected wide, yaml or json, got "${output}"`);
      const sc = loadStatic(file);
      const r = kubectlGet(sc.state, kind, name, { output: output as KubectlOutput, now: 0, namespace: opts.namespace });
      out(r.stdout);
      if (r.stderr) process.stderr.write(r.stderr);
      return r.exitCode;
    }));
}
