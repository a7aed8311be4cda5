/**
 * svcsim's benchmark: how fast and how big the timed simulation is at 100, 1,000 and 10,000
 * Services × 10 endpoints (the shipped scenarios/bench/services-N.yaml, see make-scenarios.ts).
 *
 *   npm run bench                      # table of every size (each run 3 times: the median run is shown)
 *   npm run bench -- --sizes 100,1000  # some sizes
 *   npm run bench -- --json            # {results: [{services, endpointsPerService, packetsPerSecond, ...}]}
 *   npm run bench -- --repeat 5        # each size 5 times; the median run (by packets/s) is shown
 *   npm run bench -- --repeat 1        # one run per size (quicker, noisier)
 *
 * Three runs by default: on a shared machine single runs of the same code vary by ±15 %, and the
 * median of three is a figure a second `npm run bench` reproduces far more closely than one run.
 *
 * Each size runs in a fresh child process (this script with --child N), so its peak RSS
 * (getrusage maxRSS) is that size's alone. Phases are timed apart: load (YAML → Scenario), build
 * (the cluster at t=0), rules (the run's set-up: kube-proxy rule generation and iptables-restore on
 * every node, sockets, apps, clients) and run (simulated time). The trace runs at summary level.
 *
 * "kernel rules/packet" is what a real kernel would traverse (linear iptables semantics), even
 * though svcsim jumps through an index; "ns/packet" is svcsim's own wall-clock cost per packet.
 * "warm packets/s" is the rate after the run's first 10 % of packets, and "warm-up ms" what those
 * took beyond it: a fresh process runs the datapath in V8's unoptimized tiers until its optimizing
 * compiler catches up (measured: with that compiler off, the first 10 % run no slower than the
 * rest). packets/s, and the target, count the whole run, cold start included.
 * The targets from the performance issue are printed under the table.
 * Progress goes to stderr only when stderr is a terminal.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../src/scenario/load.ts";
import { initialState, runScenario, type RunOptions } from "../src/scenario/run.ts";
import { RngRoot } from "../src/engine/rng.ts";
import { productionMode } from "../src/cluster/recipes.ts";
import { DEFAULT_NETWORK_CONFIG } from "../src/datapath/network.ts";
import { SIZES } from "./make-scenarios.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = fileURLToPath(import.meta.url);

export interface BenchResult {
  services: number;
  endpointsPerService: number;
  nodes: number;
  /** Rules installed in one node's nat + filter tables. */
  rulesPerNode: number;
  packets: number;
  requests: number;
  requestsOk: number;
  events: number;
  packetsPerSecond: number;
  requestsPerSecond: number;
  eventsPerSecond: number;
  peakRssMB: number;
  loadMs: number;
  buildMs: number;
  /** Run set-up: rule generation + iptables-restore on every node, sockets, apps, clients. */
  rulesMs: number;
  setupMs: number;
  runMs: number;
  /** Rules a real kernel would evaluate per packet (all nodes it crosses). */
  kernelRulesPerPacket: number;
  /** That, times the datapath's nsPerRule: what the kernel would spend. */
  kernelNsPerPacket: number;
  /** svcsim's wall-clock time per simulated packet (run phase). */
  nsPerPacket: number;
  /**
   * Packets/s over the run after its first 10 % of packets (from the first progress mark past
   * them, every 10 ms of simulated time, to the end): the rate once V8 has compiled the datapath.
   */
  packetsPerSecondWarm: number | null;
  /** What the first 10 % of packets took beyond that rate (ms): the cold start, mostly V8's compiling. */
  warmupMs: number | null;
  /** CPU time of the run phase (this process, all threads: GC and compiler helpers included). */
  runCpuMs: number;
  /** CPU time of the run phase on the main thread (the simulation itself; 10 ms resolution; NaN off Linux). */
  runMainCpuMs: number;
  /** With --repeat N (N > 1): the row is the median run of N; every run's packets/s. */
  runs?: number;
  packetsPerSecondRuns?: number[];
  packetsPerCpuSecond: number;
}

/**
 * CPU time of this process's main thread so far (ms), from /proc (Linux; NaN elsewhere): the
 * simulation's own work, without the garbage collector's and compiler's helper threads, and
 * steadier than wall time on a shared machine.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

function log(msg: string): void {
  if (process.stderr.isTTY) process.stderr.write(msg + "\n");
}

/** Progress marks every 10 ms of simulated time: where the first 10 % of packets end (packetsPerSecondWarm). */
const WARM_MARK_NS = 10_000_000;

/** Runs per size when --repeat is not given (see the module comment). */
const DEFAULT_REPEAT = 3;

function scenarioFile(n: number): string {
  return resolve(HERE, `../scenarios/bench/services-${n}.yaml`);
}

/** One size, in this process. */
function measure(n: number): BenchResult {
  productionMode();
  const file = scenarioFile(n);
  let t = performance.now();
  const { scenario } = loadScenario(file);
  const loadMs = performance.now() - t;
  t = performance.now();
  const state = initialState(scenario, new RngRoot(scenario.run.seed));
  const buildMs = performance.now() - t;
  t = performance.now();
  let setupEnd = 0;
  let cpu0 = process.cpuUsage();
  let main0 = mainThreadCpuMs();
  const marks: { at: number; packets: number }[] = [];
  const opts: RunOptions = {
    initialState: state,
    traceLevel: "summary",
    onSetupDone: () => {
      setupEnd = performance.now();
      cpu0 = process.cpuUsage();
      main0 = mainThreadCpuMs();
    },
    progressIntervalNs: WARM_MARK_NS,
    onProgress: (p) => {
      if (!p.done) marks.push({ at: performance.now(), packets: p.packets });
    },
  };
  const r = runScenario(scenario, opts);
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const runMainCpuMs = mainThreadCpuMs() - main0;
  const runCpuMs = (cpu.user + cpu.system) / 1000;
  const rulesMs = setupEnd - t;
  const runMs = end - setupEnd;
  const services = Object.keys(state.services).filter((k) => k !== "default/kubernetes").length;
  const pods = Object.keys(state.pods).length;
  const nf = r.nodes[0]!.netfilter;
  const packets = r.packets.sent;
  const sec = runMs / 1000;
  // The progress marks are events of the run: the events figure leaves them out.
  const events = r.eventsProcessed - marks.length;
  const warm = marks.find((m) => m.packets >= packets / 10);
  const warmRate = warm === undefined || end <= warm.at ? NaN : ((packets - warm.packets) * 1000) / (end - warm.at);
  const warmupMs = warm === undefined ? NaN : warm.at - setupEnd - (warm.packets * 1000) / warmRate;
  const kernelRulesPerPacket = packets > 0 ? r.rulesEvaluated / packets : 0;
  return {
    services,
    endpointsPerService: services > 0 ? Math.round(pods / services) : 0,
    nodes: r.nodes.length,
    rulesPerNode: nf.ruleCount("nat") + nf.ruleCount("filter"),
    packets,
    requests: r.requests.length,
    requestsOk: r.requests.filter((q) => q.outcome === "ok").length,
    events,
    packetsPerSecond: Math.round(packets / sec),
    requestsPerSecond: Math.round(r.requests.length / sec),
    eventsPerSecond: Math.round(events / sec),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    loadMs: Math.round(loadMs),
    buildMs: Math.round(buildMs),
    rulesMs: Math.round(rulesMs),
    setupMs: Math.round(loadMs + buildMs + rulesMs),
    runMs: Math.round(runMs),
    kernelRulesPerPacket: Math.round(kernelRulesPerPacket * 10) / 10,
    kernelNsPerPacket: Math.round(kernelRulesPerPacket * DEFAULT_NETWORK_CONFIG.nsPerRule),
    nsPerPacket: packets > 0 ? Math.round((runMs * 1e6) / packets) : 0,
    packetsPerSecondWarm: Number.isFinite(warmRate) ? Math.round(warmRate) : null,
    warmupMs: Number.isFinite(warmupMs) ? Math.round(warmupMs) : null,
    runCpuMs: Math.round(runCpuMs),
    runMainCpuMs: Math.round(runMainCpuMs),
    packetsPerCpuSecond: Math.round(packets / (runCpuMs / 1000)),
  };
}

function runChild(n: number): BenchResult {
  // The same V8 flag as ./sim (see there), so the figures are those users get.
  const res = spawnSync(process.execPath, [...process.execArgv, "--max-semi-space-size=32", "--expose-gc", SCRIPT, "--child", String(n)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`benchmark of ${n} Services failed (exit ${res.status ?? res.signal})`);
  const line = res.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as BenchResult;
}

/**
 * Of repeated runs of one size, the run with the median packets/s (the lower middle one for an
 * even count), with every run's packets/s and the largest peak RSS beside it: on a shared machine
 * single runs vary by ±15 %, and memory is judged by its worst run.
 */
function medianRun(runs: BenchResult[]): BenchResult {
  const sorted = [...runs].sort((a, b) => a.packetsPerSecond - b.packetsPerSecond);
  const mid = sorted[(sorted.length - 1) >> 1]!;
  if (runs.length === 1) return mid;
  return {
    ...mid,
    runs: runs.length,
    packetsPerSecondRuns: runs.map((r) => r.packetsPerSecond),
    peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
  };
}

function spread(rows: BenchResult[]): string {
  const lines = rows
    .filter((r) => r.packetsPerSecondRuns !== undefined)
    .map((r) => `  ${fmt(r.services)} Services, ${r.runs} runs: packets/s ${r.packetsPerSecondRuns!.map(fmt).join(", ")} (median run shown; peak RSS the largest)`);
  return lines.length === 0 ? "" : `repeated runs:\n${lines.join("\n")}\n\n`;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function table(rows: BenchResult[]): string {
  const cols: [string, (r: BenchResult) => string][] = [
    ["services", (r) => fmt(r.services)],
    ["ep/svc", (r) => fmt(r.endpointsPerService)],
    ["rules/node", (r) => fmt(r.rulesPerNode)],
    ["packets", (r) => fmt(r.packets)],
    ["packets/s", (r) => fmt(r.packetsPerSecond)],
    ["requests/s", (r) => fmt(r.requestsPerSecond)],
    ["events/s", (r) => fmt(r.eventsPerSecond)],
    ["peak RSS MB", (r) => fmt(r.peakRssMB)],
    ["load ms", (r) => fmt(r.loadMs)],
    ["build ms", (r) => fmt(r.buildMs)],
    ["rules ms", (r) => fmt(r.rulesMs)],
    ["run ms", (r) => fmt(r.runMs)],
    ["kernel rules/pkt", (r) => r.kernelRulesPerPacket.toFixed(1)],
    ["ns/pkt", (r) => fmt(r.nsPerPacket)],
    ["warm pkts/s", (r) => (r.packetsPerSecondWarm === null ? "n/a" : fmt(r.packetsPerSecondWarm))],
    ["warm-up ms", (r) => (r.warmupMs === null ? "n/a" : fmt(r.warmupMs))],
    ["pkts/cpu-s", (r) => fmt(r.packetsPerCpuSecond)],
    ["main-thread cpu ms", (r) => (Number.isNaN(r.runMainCpuMs) ? "n/a" : fmt(r.runMainCpuMs))],
  ];
  const cells = [cols.map((c) => c[0]), ...rows.map((r) => cols.map((c) => c[1](r)))];
  const w = cols.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((c, i) => c.padStart(w[i]!)).join("  ")).join("\n");
}

function targets(rows: BenchResult[]): string {
  const by = new Map(rows.map((r) => [r.services, r]));
  const out: string[] = ["targets:"];
  const r1k = by.get(1000);
  if (r1k) out.push(`  packets/s at 1,000 × 10 ≥ 500,000: ${fmt(r1k.packetsPerSecond)} ${r1k.packetsPerSecond >= 500_000 ? "ok" : "NOT MET"}`);
  const r100 = by.get(100), r10k = by.get(10000);
  if (r100 && r10k) {
    const ratio = r10k.nsPerPacket / r100.nsPerPacket;
    out.push(`  ns/packet at 10,000 ÷ at 100 ≤ 1.5: ${ratio.toFixed(2)} ${ratio <= 1.5 ? "ok" : "NOT MET"}`);
  }
  if (r10k) out.push(`  peak RSS at 10,000 × 10 < 1,024 MB: ${fmt(r10k.peakRssMB)} ${r10k.peakRssMB < 1024 ? "ok" : "NOT MET"}`);
  return out.join("\n");
}

function main(argv: string[]): void {
  const ci = argv.indexOf("--child");
  if (ci >= 0) {
    process.stdout.write(JSON.stringify(measure(Number(argv[ci + 1]))) + "\n");
    return;
  }
  const json = argv.includes("--json");
  let sizes: number[] = [...SIZES];
  const si = argv.findIndex((a) => a === "--sizes" || a.startsWith("--sizes="));
  if (si >= 0) {
    const v = argv[si]!.includes("=") ? argv[si]!.slice(argv[si]!.indexOf("=") + 1) : argv[si + 1] ?? "";
    sizes = v.split(",").map((s) => Number(s.trim()));
    for (const s of sizes) {
      if (!Number.isInteger(s) || !existsSync(scenarioFile(s))) {
        process.stderr.write(`bench: --sizes: no scenario scenarios/bench/services-${s}.yaml (have ${SIZES.join(", ")})\n`);
        process.exit(2);
      }
    }
  }
  let repeat = DEFAULT_REPEAT;
  const ri = argv.findIndex((a) => a === "--repeat" || a.startsWith("--repeat="));
  if (ri >= 0) {
    const v = argv[ri]!.includes("=") ? argv[ri]!.slice(argv[ri]!.indexOf("=") + 1) : argv[ri + 1] ?? "";
    repeat = Number(v);
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 99) {
      process.stderr.write(`bench: --repeat: expected a whole number of runs from 1 to 99, got "${v}"\n`);
      process.exit(2);
    }
  }
  const rows: BenchResult[] = [];
  for (const n of sizes) {
    const runs: BenchResult[] = [];
    for (let k = 0; k < repeat; k++) {
      log(`bench: ${fmt(n)} Services${repeat > 1 ? ` (run ${k + 1} of ${repeat})` : ""} …`);
      runs.push(runChild(n));
    }
    rows.push(medianRun(runs));
  }
  if (json) process.stdout.write(JSON.stringify({ results: rows }, null, 2) + "\n");
  else process.stdout.write(`${table(rows)}\n\n${spread(rows)}${targets(rows)}\n`);
}

main(process.argv.slice(2));
