/**
 * A sweep worker process: receives {file, sets, seeds}, runs the scenario once per seed and sends
 * each run's Report back to the parent (`./sim sweep`). Started with the tsx loader by sweep.ts.
 */
import { buildReport } from "../report/index.ts";
import type { Report } from "../report/model.ts";
import { runScenario } from "../scenario/run.ts";
import { reportInputOf } from "../scenario/report-input.ts";
import { productionMode } from "../cluster/recipes.ts";
import { loadWithOverrides } from "./commands/check.ts";

export interface SweepJob {
  readonly file: string;
  readonly sets: readonly string[];
  readonly seeds: readonly number[];
}

export type WorkerMessage = { readonly kind: "report"; readonly seed: number; readonly report: Report } | { readonly kind: "done" } | { readonly kind: "error"; readonly message: string };

process.on("message", (job: SweepJob) => {
  try {
    productionMode();
    const scenario = loadWithOverrides(job.file, job.sets);
    for (const seed of job.seeds) {
      const report = buildReport(reportInputOf(runScenario(scenario, { seed })));
      process.send!({ kind: "report", seed, report } satisfies WorkerMessage);
    }
    process.send!({ kind: "done" } satisfies WorkerMessage, () => process.exit(0));
  } catch (e) {
    process.send!({ kind: "error", message: (e as Error).message } satisfies WorkerMessage, () => process.exit(1));
  }
});
