/**
 * `./sim check`: fairness and failure regression checks for CI. Each scenario runs (over N seeds
 * when asked), its `expectations:` are measured on the report, one line per expectation is
 * printed with the measured value, JUnit XML is written on request, and the exit code is 1 when
 * any expectation fails (2 on bad input).
 *
 * Over several seeds an expectation passes only if it holds for every seed; the line shows how
 * many seeds passed and the worst measured value. (A statistical threshold such as fairness.p >
 * 0.01 is expected to fail in about 1 % of seeds by construction: choose the threshold for the
 * number of seeds you run.)
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { formatWarning, InputError } from "../../errors.ts";
import { loadScenario } from "../../scenario/load.ts";
import { applyOverrides, parseOverride } from "../../scenario/overrides.ts";
import type { Scenario } from "../../scenario/types.ts";
import type { ExpectationResult, JUnitSuite } from "../../report/index.ts";
import { action, EXIT_CHECK_FAILED, EXIT_OK, intOption, out, usageError } from "../util.ts";
import { progressPrinter } from "../progress.ts";

/** Loads a scenario file with --set overrides applied to its text, printing warnings. */
export function loadWithOverrides(file: string, sets: readonly string[]): Scenario {
  const overrides = sets.map(parseOverride);
  // loadScenario reads the file (and reports a missing one); overrides apply to the scenario's own
  // text only, not to the manifest files it references.
  const readFile = (p: string) => {
    const text = readFileSync(p, "utf8");
    return p === file ? applyOverrides(text, file, overrides) : text;
  };
  const { scenario, warnings } = loadScenario(file, { readFile });
  for (const w of warnings) process.stderr.write(formatWarning(w) + "\n");
  return scenario;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function fmt(v: number | null, metric = ""): string {
  if (v === null) return "n/a";
  // p-values are 1 − CDF in double precision: 0 means "below about 1e-16".
  if (v === 0 && metric === "fairness.p") return "<1e-16";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 0.001 ? v.toPrecision(4).replace(/\.?0+$/, "") : v.toExponential(2);
}

export function registerCheckCommand(program: Command): void {
  program
    .command("check")
    .description("run scenarios and test their expectations (exit 1 if any fails; JUnit XML with --junit)")
    .argument("<scenarios...>", "scenario YAML files with an expectations: section")
    .option("--seeds <n>", "run each scenario with this many seeds (run.seed, run.seed+1, …)", "1")
    .option("--junit <file>", "write JUnit XML here")
    .option("--set <path=value>", "override a scenario field (repeatable), e.g. --set kubeProxy.minSyncPeriod=2s", collect, [] as string[])
    .action(action(async (files: string[], o: { seeds: string; junit?: string; set: string[] }) => {
      const seeds = intOption("--seeds", o.seeds, 1)!;
      // Load everything first: bad input stops before any run or any file is written.
      const scenarios = files.map((f) => ({ file: f, scenario: loadWithOverrides(f, o.set) }));
      for (const s of scenarios) {
        if (s.scenario.expectations.length === 0) throw new InputError({ file: s.file, field: "expectations" }, "the scenario has no expectations to check");
      }
      // Heavy modules load only once the input is known to be good.
      const [{ runScenario }, { reportInputOf }, { buildReport, evaluateExpectations, junitXml }, { productionMode }] = await Promise.all([
        import("../../scenario/run.ts"), import("../../scenario/report-input.ts"), import("../../report/index.ts"), import("../../cluster/recipes.ts"),
      ]);
      productionMode();
      const suites: JUnitSuite[] = [];
      let failed = 0;
      let total = 0;
      const lines: string[] = [];
      for (const { file, scenario } of scenarios) {
        const perSeed: { seed: number; results: ExpectationResult[] }[] = [];
        const p = progressPrinter(`checking ${scenario.metadata.name}`);
        for (let k = 0; k < seeds; k++) {
          const seed = scenario.run.seed + k;
          p.update(`seed ${seed} (${k + 1}/${seeds})`);
          const result = runScenario(scenario, { seed });
          const report = buildReport(reportInputOf(result));
          const results = evaluateExpectations(report, scenario.expectations);
          perSeed.push({ seed, results });
          suites.push({ name: `${scenario.metadata.name} seed=${seed}`, classname: scenario.metadata.name, results });
        }
        p.done();
        lines.push(`${file} (${scenario.metadata.name}, ${seeds} seed${seeds > 1 ? "s" : ""})`);
        scenario.expectations.forEach((_, i) => {
          const rs = perSeed.map((x) => ({ seed: x.seed, r: x.results[i]! }));
          const passing = rs.filter((x) => x.r.pass);
          const pass = passing.length === rs.length;
          total++;
          if (!pass) failed++;
          const first = rs[0]!.r;
          // The seed to show: the first failing one, else the one closest to its threshold.
          const target = scenario.expectations[i]!.value;
          const closest = [...rs].sort((a, b) => Math.abs((a.r.measured ?? Infinity) - target) - Math.abs((b.r.measured ?? Infinity) - target))[0]!;
          const worst = rs.find((x) => !x.r.pass) ?? closest;
          const measured = seeds === 1
            ? `measured ${fmt(first.measured, first.metric)}`
            : `${passing.length}/${rs.length} seeds pass; ${pass ? "closest to the limit:" : "failed at"} seed ${worst.seed}: measured ${fmt(worst.r.measured, worst.r.metric)}`;
          const why = !pass && worst.r.measured === null ? ` (${worst.r.detail})` : "";
          lines.push(`  ${pass ? "PASS" : "FAIL"}  ${first.expectation}  (${measured})${why}`);
        });
      }
      lines.push(`${total - failed} passed, ${failed} failed`);
      out(lines.join("\n") + "\n");
      if (o.junit !== undefined) {
        try {
          writeFileSync(o.junit, junitXml(suites));
        } catch (e) {
          throw usageError("--junit", `cannot write ${o.junit}: ${(e as Error).message}`);
        }
      }
      return failed > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
    }));
}
