/**
 * Commands that run the timed simulation: run, curl, conntrack (and the --at / -c forms of the
 * kubectl and iptables-save views, which run the scenario up to a time first).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { parseDuration } from "../../engine/time.ts";
import { action, intOption, out, usageError } from "../util.ts";
import { DEFAULT_SCENARIO, PACKAGE_ROOT, writeAllOrNothing } from "../files.ts";
import { atOption, loadForRun, pickRunNode, runWithProgress } from "../common.ts";

// The run core and the report renderers (chart.js + canvas) load only when a command needs them,
// so light commands (trace, iptables-save, kubectl, validate) start fast.
const runCore = () => import("../../scenario/run.ts");
const reports = () => import("../../report/index.ts");

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "-");
}

export function registerRunCommands(program: Command): void {
  program
    .command("run")
    .description("run a scenario (default: the seed walkthrough) and report how load spread over the endpoints")
    .argument("[scenario]", "scenario YAML file", DEFAULT_SCENARIO)
    .option("--seed <n>", "random seed (default: the scenario's run.seed)")
    .option("--out <dir>", "where to write the reports (default: reports/<scenario-name>/)")
    .option("--json", "print the JSON report on stdout instead of the text report")
    .option("--no-charts", "skip PNG charts (and the charts in the HTML report)")
    .action(action(async (file: string, o: { seed?: string; out?: string; json?: boolean; charts: boolean }) => {
      const seed = intOption("--seed", o.seed, 0);
      const scenario = loadForRun(file);
      const result = await runWithProgress(scenario, { ...(seed !== undefined ? { seed } : {}) });
      const { reportInputOf } = await import("../../scenario/report-input.ts");
      const { buildReport, renderCharts, renderHtml, renderMarkdown, renderText, toJson } = await reports();
      const input = reportInputOf(result, { scenarioYaml: readFileSync(file, "utf8") });
      const report = buildReport(input);
      const text = renderText(report);
      const json = toJson(report);
      const charts = o.charts ? renderCharts(report) : [];
      const dir = o.out ?? join(PACKAGE_ROOT, "reports", slug(scenario.metadata.name));
      const written = writeAllOrNothing(dir, [
        { name: "report.txt", data: text },
        { name: "report.json", data: json },
        { name: "report.md", data: renderMarkdown(report, charts) },
        { name: "report.html", data: renderHtml(report, charts) },
        ...charts.map((c) => ({ name: c.file, data: c.png })),
      ]);
      out(o.json ? json : text);
      process.stderr.write(`wrote ${written.length} files to ${dir}/ (report.txt, report.json, report.md, report.html${charts.length ? `, ${charts.length} charts` : ""})\n`);
    }));

  program
    .command("curl")
    .description("curl a target from a node or pod of the scenario's cluster, printing each response body on its own line")
    .argument("<scenario>", "scenario YAML file")
    .argument("<target>", "ClusterIP[:port], Service name (name, name.ns, name.ns.svc.cluster.local)[:port], IP:port or http://…")
    .option("--from <where>", "node/NAME, pod/NAME (or pod/NS/NAME) or external/IP (default: the first node)")
    .option("-n, --count <n>", "how many requests, one after the other, each on a new connection", "1")
    .option("--seed <n>", "random seed (default: the scenario's run.seed)")
    .option("-m, --max-time <duration>", "curl --max-time, e.g. 30s")
    .option("--connect-timeout <duration>", "curl --connect-timeout, e.g. 10s")
    .action(action(async (file: string, target: string, o: { from?: string; count: string; seed?: string; maxTime?: string; connectTimeout?: string }) => {
      const count = intOption("--count", o.count, 1)!;
      const seed = intOption("--seed", o.seed, 0);
      const dur = (name: string, v: string | undefined) => {
        if (v === undefined) return undefined;
        try { return parseDuration(v); } catch (e) { throw usageError(name, (e as Error).message); }
      };
      const scenario = loadForRun(file);
      const { runCurl } = await runCore();
      (await import("../../cluster/recipes.ts")).productionMode();
      const maxTime = dur("--max-time", o.maxTime);
      const connectTimeout = dur("--connect-timeout", o.connectTimeout);
      const lines = runCurl(scenario, target, {
        count,
        ...(o.from !== undefined ? { from: o.from } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(maxTime !== undefined ? { requestTimeoutNs: maxTime } : {}),
        ...(connectTimeout !== undefined ? { connectTimeoutNs: connectTimeout } : {}),
      });
      out(lines.map((l) => l + "\n").join(""));
    }));

  program
    .command("conntrack")
    .description("conntrack -L on a node: the connection tracking table during or after a run")
    .argument("<scenario>", "scenario YAML file")
    .option("--node <name>", "node (default: the first node)")
    .option("--at <time>", "simulated time to stop the run at, e.g. 1.5s (default: when the clients are done)")
    .option("--seed <n>", "random seed (default: the scenario's run.seed)")
    .action(action(async (file: string, o: { node?: string; at?: string; seed?: string }) => {
      const until = atOption(o.at);
      const seed = intOption("--seed", o.seed, 0);
      const scenario = loadForRun(file);
      const node = pickRunNode(scenario, o.node);
      const result = await runWithProgress(scenario, { ...(seed !== undefined ? { seed } : {}), ...(until !== undefined ? { until } : {}) });
      const n = result.nodes.find((x) => x.name === node)!;
      const l = n.conntrackList();
      out(l.lines.map((x) => x + "\n").join(""));
      process.stderr.write(l.summary + "\n");
    }));
}

