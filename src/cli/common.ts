/**
 * Small helpers shared by the commands. The run core is imported lazily (see runWithProgress) so
 * that commands which never run traffic start quickly.
 */
import { formatWarning } from "../errors.ts";
import { formatDuration, parseDuration } from "../engine/time.ts";
import { loadScenario } from "../scenario/load.ts";
import type { Scenario } from "../scenario/types.ts";
import type { RunResult } from "../scenario/run.ts";
import { usageError } from "./util.ts";
import { progressPrinter } from "./progress.ts";

export function loadForRun(file: string): Scenario {
  const { scenario, warnings } = loadScenario(file);
  for (const w of warnings) process.stderr.write(formatWarning(w) + "\n");
  return scenario;
}

export function atOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseDuration(v);
  } catch (e) {
    throw usageError("--at", `${(e as Error).message.replace(/^./, (c) => c.toLowerCase())}`);
  }
}

export function pickRunNode(scenario: Scenario, node: string | undefined): string {
  const names = scenario.cluster.nodes.map((n) => n.name);
  if (node === undefined) return names[0]!;
  if (!names.includes(node)) throw usageError("--node", `no node "${node}" in the scenario (nodes: ${names.join(", ")})`);
  return node;
}

/** Runs a scenario with progress on a terminal. */
export async function runWithProgress(scenario: Scenario, opts: { seed?: number; until?: number }): Promise<RunResult> {
  const [{ runScenario }, { productionMode }] = await Promise.all([import("../scenario/run.ts"), import("../cluster/recipes.ts")]);
  productionMode();
  const p = progressPrinter(`running ${scenario.metadata.name}`);
  const result = runScenario(scenario, {
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
    onProgress: (x) => p.update(`t=${formatDuration(x.now)}  requests ${x.requestsDone}  packets ${x.packets}`),
  });
  p.done();
  return result;
}
