/**
 * `./sim sweep`: one scenario over many seeds, in parallel worker processes, and the distribution
 * of every fairness and outcome metric across the runs (text, JSON, charts). With a fair balancer,
 * chi-square p < 0.05 should come up in about 5 % of runs: a sweep is how you check that a
 * fairness gate is calibrated, or how often an unlucky spread happens.
 */
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { Report } from "../../report/model.ts";
import { InputError } from "../../errors.ts";
import type { SweepJob, WorkerMessage } from "../sweep-worker.ts";
import { action, intOption, out, usageError } from "../util.ts";
import { PACKAGE_ROOT, writeAllOrNothing } from "../files.ts";
import { progressPrinter } from "../progress.ts";
import { loadWithOverrides } from "./check.ts";

const WORKER = fileURLToPath(new URL("../sweep-worker.ts", import.meta.url));
const TSX_LOADER = `file://${join(PACKAGE_ROOT, "node_modules/tsx/dist/loader.mjs")}`;

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Runs the seeds on `workers` child processes (round-robin split); resolves with every report. */
export function runSweep(file: string, sets: readonly string[], seeds: readonly number[], workers: number, onReport: (done: number) => void): Promise<Report[]> {
  const chunks: number[][] = Array.from({ length: Math.min(workers, seeds.length) }, () => []);
  seeds.forEach((s, i) => chunks[i % chunks.length]!.push(s));
  const reports: Report[] = [];
  return new Promise((resolve, reject) => {
    let running = chunks.length;
    let failed = false;
    for (const chunk of chunks) {
      const child = fork(WORKER, [], { execArgv: ["--import", TSX_LOADER], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.on("message", (m: WorkerMessage) => {
        if (m.kind === "report") { reports.push(m.report); onReport(reports.length); }
        else if (m.kind === "error" && !failed) { failed = true; reject(new Error(m.message)); }
      });
      child.on("exit", (code) => {
        if (code !== 0 && !failed) { failed = true; reject(new Error(`a sweep worker exited with code ${code}`)); }
        if (--running === 0 && !failed) resolve(reports);
      });
      child.send({ file, sets, seeds: chunk } satisfies SweepJob);
    }
  });
}

export function registerSweepCommand(program: Command): void {
  program
    .command("sweep")
    .description("run a scenario over many seeds in parallel and report the distribution of each metric across runs")
    .argument("<scenario>", "scenario YAML file")
    .requiredOption("--seeds <n>", "number of runs (seeds run.seed, run.seed+1, …)")
    .option("--set <path=value>", "override a scenario field (repeatable), e.g. --set kubeProxy.minSyncPeriod=2s", collect, [] as string[])
    .option("--workers <n>", "worker processes (default: the number of cores)")
    .option("--out <dir>", "where to write sweep.txt, sweep.json and charts (default: reports/<scenario-name>/sweep/)")
    .option("--json", "print the JSON summary on stdout")
    .action(action(async (file: string, o: { seeds: string; set: string[]; workers?: string; out?: string; json?: boolean }) => {
      const n = intOption("--seeds", o.seeds, 1)!;
      const workers = intOption("--workers", o.workers, 1) ?? Math.max(1, availableParallelism());
      // Validate in this process first: bad input is one line and exit 2, before any worker starts.
      const scenario = loadWithOverrides(file, o.set);
      const seeds = Array.from({ length: n }, (_, i) => scenario.run.seed + i);
      const p = progressPrinter(`sweeping ${scenario.metadata.name} on ${Math.min(workers, n)} workers`);
      let reports: Report[];
      try {
        reports = await runSweep(file, o.set, seeds, workers, (done) => p.update(`${done}/${n} runs`));
      } catch (e) {
        p.done();
        if (e instanceof InputError) throw e;
        throw usageError("sweep", (e as Error).message);
      }
      p.done();
      const { aggregateSweep, renderSweepCharts, renderSweepText, toJson } = await import("../../report/index.ts");
      const agg = aggregateSweep(reports);
      const text = renderSweepText(agg);
      const json = toJson(agg);
      const charts = renderSweepCharts(agg);
      const dir = o.out ?? join(PACKAGE_ROOT, "reports", scenario.metadata.name.replace(/[^A-Za-z0-9._-]+/g, "-"), "sweep");
      writeAllOrNothing(dir, [{ name: "sweep.txt", data: text }, { name: "sweep.json", data: json }, ...charts.map((c) => ({ name: c.file, data: c.png }))]);
      out(o.json ? json : text);
      process.stderr.write(`wrote sweep.txt, sweep.json and ${charts.length} charts to ${dir}/\n`);
    }));
}
