/**
 * Endpoint failure behaviour end to end: the shipped failure scenarios run on the timed control
 * plane and the data plane, and their reports' faults sections (times in simulated ms, counts).
 *
 * Acceptance: the two pod-delete scenarios side by side (failures without preStop, none with it);
 * minSyncPeriod and probe-period sweeps move the windows as the model predicts; a node failure gives
 * timeouts (not refusals) until the endpoints are updated; ok + failed = sent per interval and in
 * total; every time reproducible by seed.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario, type RunResult } from "../../src/scenario/run.ts";
import { reportInputOf } from "../../src/scenario/report-input.ts";
import { buildReport } from "../../src/report/build.ts";
import { renderText } from "../../src/report/text.ts";
import { toJson, type Report } from "../../src/report/model.ts";
import { defaultControlPlaneConfig } from "../../src/control/config.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import type { Scenario, ScenarioObject } from "../../src/scenario/types.ts";

const SCENARIOS = resolve(__dirname, "../../scenarios");
const load = (name: string): Scenario => loadScenario(resolve(SCENARIOS, name)).scenario;
const run = (sc: Scenario, seed?: number): { result: RunResult; report: Report } => {
  const result = runScenario(sc, seed !== undefined ? { seed } : {});
  return { result, report: buildReport(reportInputOf(result)) };
};
const D = defaultControlPlaneConfig();
const MS = 1e6;

/** The scenario with every client's rate (open loop) scaled and duration replaced (faster tests). */
function lighter(sc: Scenario, rate: number, durationNs: number): Scenario {
  return { ...sc, clients: sc.clients.map((c) => ({ ...c, ...(c.rate !== undefined ? { rate } : {}), durationNs })) };
}

/** Deployment objects with a changed pod template (deep copy of the inputs). */
function withTemplate(sc: Scenario, f: (containers: any[]) => any[]): Scenario {
  const objects = sc.objects.map((o): ScenarioObject => {
    if (o.kind !== "Deployment") return o;
    const input = structuredClone(o.input) as any;
    input.spec.template.containers = f(input.spec.template.containers);
    return { ...o, input };
  });
  return { ...sc, objects };
}

describe("pod deletion under load, with and without preStop (side by side)", () => {
  const rows = [
    { name: "pod-delete-under-load.yaml: no preStop", file: "pod-delete-under-load.yaml", failed: (n: number) => expect(n).toBeGreaterThan(0) },
    { name: "pod-delete-prestop.yaml: preStop sleep 5s > propagation", file: "pod-delete-prestop.yaml", failed: (n: number) => expect(n).toBe(0) },
  ];
  const results = new Map<string, Report>();
  it.each(rows)("$name", (row) => {
    const { report } = run(load(row.file));
    results.set(row.file, report);
    row.failed(report.requests.failed.total);
    const [f] = report.faults;
    expect(report.faults).toHaveLength(1);
    expect(f).toMatchObject({ action: "deletePod", timeMs: 2000 });
    // endpointSliceDelay 300 ms (the scenario) → not ready; kube-proxy watch 20 ms → every node's rules.
    expect(f!.notReadyMs).toBe(2300);
    expect(f!.pods[0]!.rulesUpdatedMs.map((r) => r.timeMs)).toEqual([2320, 2320, 2320]);
    expect(f!.lastNewConnectionMs).toBeLessThan(2320);
    expect(f!.replacementReadyMs).toBeGreaterThan(2000);
    // Windows partition the fault's span: their requests add up to the fault's.
    const sum = f!.windows.reduce((a, w) => a + w.requests.sent, 0);
    expect(sum).toBe(f!.requests.sent);
  });

  it("the difference is the propagation window: no preStop fails there, preStop does not", () => {
    const a = results.get("pod-delete-under-load.yaml")!.faults[0]!;
    const b = results.get("pod-delete-prestop.yaml")!.faults[0]!;
    const failedBefore = (f: typeof a) => f.windows.filter((w) => w.toMs <= f.rulesUpdatedAllMs!).reduce((n, w) => n + w.requests.failed.total, 0);
    expect(failedBefore(a)).toBeGreaterThan(0);
    expect(a.windows[0]!.requests.failed.refused).toBeGreaterThan(0); // SIGTERM at +50 ms: the pod's kernel answers RST
    expect(failedBefore(b)).toBe(0);
    expect(b.requests.failed.total).toBe(0);
    // Same seed, same traffic: the same number of requests in the same windows.
    expect(b.windows.map((w) => w.requests.sent)).toEqual(a.windows.map((w) => w.requests.sent));
  });
});

describe("sweeps: the measured windows move as the model predicts", () => {
  it("readiness periodSeconds: fault → not ready grows with the period (≤ failureThreshold × period + status + slice delays)", () => {
    const base = lighter(load("pod-readiness-failure.yaml"), 20, 30_000 * MS);
    const windows: number[] = [];
    for (const period of [1, 2, 4]) {
      const sc = withTemplate(base, (cs) => cs.map((c) => ({ ...c, readinessProbe: { ...c.readinessProbe, periodSeconds: period } })));
      const f = run(sc).report.faults[0]!;
      const w = f.notReadyMs! - f.timeMs;
      // failureThreshold 3 failures: the first one falls within one period after the fault.
      const extra = (D.statusUpdateDelayNs + D.endpointSliceDelayNs) / MS;
      expect(w).toBeGreaterThanOrEqual(2 * period * 1000 + extra);
      expect(w).toBeLessThanOrEqual(3 * period * 1000 + extra);
      windows.push(w);
    }
    expect(windows[0]!).toBeLessThan(windows[1]!);
    expect(windows[1]!).toBeLessThan(windows[2]!);
  });

  it("minSyncPeriod: a second deletion right after a first waits for kube-proxy's token bucket (lastSync + minSyncPeriod)", () => {
    const base = lighter(load("pod-delete-under-load.yaml"), 20, 6_000 * MS);
    const gaps: number[] = [];
    // With burst 2 (BoundedFrequencyRunner) the first deletion's two syncs (terminating at +70 ms,
    // removed at +170 ms) use both tokens; for minSyncPeriod ≥ 1 s no token is back when the second
    // deletion's changes arrive, so its sync waits for the runner's timer: lastSync + minSyncPeriod.
    // (At 500 ms a token returns 100 ms before that timer and the "removed" update runs on it; the
    // replacements' sandboxes are delayed past the window so their endpoint updates do not interfere.)
    const mins = [1000, 1500, 2000];
    for (const ms of mins) {
      const sc: Scenario = {
        ...base,
        controlPlane: { sandboxSetupDelay: 30_000 * MS }, // otherwise default delays: propagation ~70 ms
        kubeProxy: { ...base.kubeProxy, minSyncPeriodMs: ms },
        timeline: [
          base.timeline[0]!,
          { ...(base.timeline[0] as Extract<Scenario["timeline"][number], { action: "deletePod" }>), atNs: 2_400 * MS, pod: "hostnames-85bc9c579-zndz2" },
        ],
      };
      const { result, report } = run(sc);
      const second = report.faults[1]!;
      const wait = second.rulesUpdatedAllMs! - second.notReadyMs!;
      // The model: node-1's syncs before the second deletion's informer delivery set the earliest next sync.
      const syncs = result.trace.ofType("rules.sync").filter((r) => r.node === "node-1" && r.time < second.notReadyMs! * MS);
      const last = syncs[syncs.length - 1]!.time / MS;
      const predicted = Math.max(last + ms, second.notReadyMs! + D.kubeProxyWatchDelayNs / MS) - second.notReadyMs!;
      expect(wait).toBeCloseTo(predicted, 0);
      gaps.push(wait);
    }
    // Direction and size: each step adds the minSyncPeriod difference.
    expect(gaps[1]! - gaps[0]!).toBeCloseTo(mins[1]! - mins[0]!, 0);
    expect(gaps[2]! - gaps[1]!).toBeCloseTo(mins[2]! - mins[1]!, 0);
  });
});

describe("node down", () => {
  it("requests to the node's pod time out (never refused) until the endpoints are updated; the report says how many and how long", () => {
    const sc = load("node-down.yaml");
    const { result, report } = run(sc);
    const f = report.faults[0]!;
    expect(f.action).toBe("nodeDown");
    const pod = f.pods[0]!;
    expect(pod.pod).toBe("default/hostnames-85bc9c579-tx87g");
    const ip = parseIPv4(pod.ip);
    // NotReady after the 40 s grace period (monitor every 5 s, heartbeats every 10 s).
    const notReady = f.notReadyMs! - f.timeMs;
    expect(notReady).toBeGreaterThanOrEqual(30_000);
    expect(notReady).toBeLessThanOrEqual(50_100);
    expect(pod.rulesUpdatedMs.map((r) => r.node)).toEqual(["node-1", "node-3"]); // node-2 runs no kube-proxy
    const toPod = result.trace.ofType("request.outcome").filter((r) => r.endpointAddr === ip);
    const during = toPod.filter((r) => r.start >= f.timeMs * MS && r.start < f.rulesUpdatedAllMs! * MS);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((r) => r.outcome === "timeout" && r.reason === "connect-timeout")).toBe(true);
    expect(toPod.filter((r) => r.start >= f.rulesUpdatedAllMs! * MS)).toHaveLength(0);
    // The report: the first window holds those timeouts and no refusal.
    expect(f.windows[0]!.requests.failed.timeout).toBe(during.length);
    expect(f.windows[0]!.requests.failed.refused).toBe(0);
    expect(f.windows[0]!.toMs - f.windows[0]!.fromMs).toBe(notReady);
    const text = renderText(report);
    expect(text).toMatch(/nodeDown node=node-2/);
    for (const line of text.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
  });
});

describe("accounting and determinism", () => {
  const files = ["pod-delete-under-load.yaml", "pod-crash-restart.yaml", "keepalive-pod-delete.yaml", "scale-to-zero.yaml", "rolling-update.yaml"];
  it.each(files)("%s: ok + failed by kind = sent, per interval, per endpoint and in total; one fate per packet", (file) => {
    const sc = lighter(load(file), 40, 8_000 * MS);
    const { result, report } = run(sc);
    const q = report.requests;
    expect(q.ok + q.failed.refused + q.failed.reset + q.failed.timeout + q.failed.error).toBe(q.sent);
    expect(q.failed.total).toBe(q.failed.refused + q.failed.reset + q.failed.timeout + q.failed.error);
    // Every request the clients issued has its outcome record.
    expect(q.sent).toBe(result.requests.length);
    let sent = 0;
    for (const ep of report.outcomes.perEndpoint) {
      for (const b of ep.buckets) {
        expect(b.ok + b.refused + b.reset + b.timeout + b.error).toBe(b.sent);
        sent += b.sent;
      }
    }
    expect(sent).toBe(q.sent);
    const overTime = report.outcomes.overTime.reduce((a, b) => a + b.ok + b.refused + b.reset + b.timeout + b.error, 0);
    expect(overTime).toBe(q.sent);
    for (const f of report.faults) {
      for (const w of f.windows) expect(w.requests.ok + w.requests.failed.total).toBe(w.requests.sent);
      expect(f.windows.reduce((a, w) => a + w.requests.sent, 0)).toBe(f.requests.sent);
    }
    expect(result.trace.count("packet.fate")).toBe(result.packets.sent);
    expect(result.packets.fated + result.packets.inFlight).toBe(result.packets.sent);
  });

  it("same seed, same bytes; another seed, other times", () => {
    const sc = lighter(load("pod-crash-restart.yaml"), 40, 8_000 * MS);
    const a = toJson(run(sc).report);
    const b = toJson(run(sc).report);
    expect(a).toBe(b);
    const c = toJson(run(sc, 7).report);
    expect(c).not.toBe(a);
  });

  it("a run cut short gives the packets still travelling the fate in-flight", () => {
    const sc = lighter(load("pod-delete-under-load.yaml"), 200, 3_000 * MS);
    const r = runScenario(sc, { until: 2_000 * MS + 123_457 });
    const inflight = r.trace.ofType("packet.fate").filter((p) => p.fate === "in-flight");
    expect(inflight.length).toBe(r.packets.inFlight);
    expect(inflight.every((p) => p.reason === "run-ended" && p.time === r.endTime)).toBe(true);
    expect(r.trace.count("packet.fate")).toBe(r.packets.sent);
  });
});

describe("data-plane consequences", () => {
  it("scale to zero: the Service's REJECT answers at once (refused by ICMP, not timed out) while it has no endpoints", () => {
    const { result, report } = run(lighter(load("scale-to-zero.yaml"), 40, 8_000 * MS));
    const f = report.faults[0]!;
    const noEp = result.trace.ofType("request.outcome").filter((r) => r.start > f.rulesUpdatedAllMs! * MS && r.start < 5_000 * MS);
    expect(noEp.length).toBeGreaterThan(0);
    expect(noEp.every((r) => r.outcome === "refused" && r.reason === "icmp-port-unreachable" && r.endpointAddr === undefined)).toBe(true);
    expect(noEp.every((r) => r.time - r.start < 1 * MS)).toBe(true);
  });

  it("keep-alive clients keep using a terminating pod (preStop) until it drains and closes their connections", () => {
    const { result, report } = run(load("keepalive-pod-delete.yaml"));
    const f = report.faults[0]!;
    const ip = parseIPv4(f.pods[0]!.ip);
    const after = result.trace.ofType("request.outcome").filter((r) => r.endpointAddr === ip && r.start > f.rulesUpdatedAllMs! * MS);
    expect(after.length).toBeGreaterThan(0); // over connections opened before the rules changed
    expect(Math.max(...after.map((r) => r.start)) / MS).toBeLessThanOrEqual(2000 + 50 + 5000 + 1); // SIGTERM after the 5 s preStop
    expect(result.requests.filter((r) => r.reused).length).toBeGreaterThan(0);
  });
});
