/**
 * report/faults.ts over traces the control plane really writes (the record contract between
 * control/events.ts and the reader), with a stand-in client whose requests reach a pod while
 * node-a's installed rules still hold it.
 */
import { describe, expect, it } from "vitest";
import { countRequests, faultTimelines } from "../../src/report/faults.ts";
import { scheduleTimeline } from "../../src/control/timeline.ts";
import { defaultControlPlaneConfig } from "../../src/control/config.ts";
import { harness, MS, S, type Harness } from "./helpers.ts";

const D = defaultControlPlaneConfig();
const ipNum = (ip: string) => ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);

/** Every 100 ms a request from node-a; it "reaches" `ip` while node-a's last payload routes to it. */
function fakeClient(h: Harness, ip: string, until: number): void {
  let id = 0;
  const tick = () => {
    const last = [...h.installs].reverse().find((i) => i.node === "node-a")!;
    if (last.rules.nat.includes(`--to-destination ${ip}:`)) {
      h.trace.emit({ type: "request.outcome", time: h.sim.now, client: "c", requestId: id++, flow: -1, outcome: "ok", reason: "response", start: h.sim.now, endpointAddr: ipNum(ip), endpointPort: 9376, targetAddr: 0, targetPort: 80, attempts: 1 });
    }
    if (h.sim.now + 100 * MS <= until) h.sim.callIn(100 * MS, tick);
  };
  h.sim.callAt(50 * MS, tick);
}

describe("fault timelines from the trace", () => {
  it("deletePod: fault → endpoint not ready → rules on each node → last new connection → replacement ready → recovered", () => {
    const h = harness({});
    const pod = h.podKeys()[0]!;
    const ip = h.podIP(pod);
    const T = 5 * S + 25 * MS;
    fakeClient(h, ip, 20 * S);
    scheduleTimeline(h.cp, [{ atNs: T, action: "deletePod", namespace: "default", pod: pod.split("/")[1]! }]);
    h.sim.run(20 * S);
    const [f] = faultTimelines(h.records());
    expect(f).toMatchObject({ action: "deletePod", time: T, detail: { pod } });
    const p = f!.pods[0]!;
    expect(p.pod).toBe(pod);
    expect(p.ip).toBe(ipNum(ip));
    expect(p.firstProbeFailure).toBeUndefined(); // no readiness probe
    expect(p.endpointNotReady).toBe(T + D.endpointSliceDelayNs);
    expect(p.rulesUpdated).toEqual({ "node-a": T + 70 * MS, "node-b": T + 70 * MS });
    expect(p.rulesUpdatedAll).toBe(T + 70 * MS);
    expect(p.lastNewConnection).toBeLessThan(p.rulesUpdated["node-a"]!);
    expect(p.lastNewConnection).toBeGreaterThanOrEqual(p.rulesUpdated["node-a"]! - 100 * MS);
    expect(p.replacement).not.toBe(pod);
    expect(p.replacementReady).toBeGreaterThan(T);
    expect(p.recovered).toBeGreaterThanOrEqual(p.replacementReady!);
    expect(countRequests(h.records(), T, p.rulesUpdated["node-a"]!, { endpointAddr: ipNum(ip) })).toMatchObject({ ok: 1, total: 1 });
    expect(countRequests(h.records(), p.rulesUpdated["node-a"]!, 20 * S, { endpointAddr: ipNum(ip) }).total).toBe(0);
  });

  it("failReadiness: first probe failure, then endpoint not ready; the same pod is its own recovery", () => {
    const h = harness({ readinessProbe: { initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } });
    const pod = h.podKeys()[1]!;
    scheduleTimeline(h.cp, [{ atNs: 10 * S, action: "failReadiness", namespace: "default", pod: pod.split("/")[1]!, durationNs: 10 * S }]);
    h.sim.run(40 * S);
    const p = faultTimelines(h.records())[0]!.pods[0]!;
    expect(p.firstProbeFailure).toBeGreaterThan(10 * S);
    expect(p.firstProbeFailure).toBeLessThanOrEqual(12 * S);
    expect(p.endpointNotReady).toBe(p.firstProbeFailure! + 4 * S + D.statusUpdateDelayNs + D.endpointSliceDelayNs);
    expect(p.replacement).toBe(pod);
    expect(p.replacementReady).toBeGreaterThanOrEqual(20 * S);
    expect(p.recovered).toBeGreaterThan(p.replacementReady!);
  });

  it("nodeDown: the pods of that node, each with its endpoint change and node-b's rule update", () => {
    const h = harness({ replicas: 4 });
    scheduleTimeline(h.cp, [{ atNs: 10 * S, action: "nodeDown", node: "node-a" }]);
    h.sim.run(100 * S);
    const f = faultTimelines(h.records())[0]!;
    const onA = h.podKeys().filter((k) => h.cp.state.pods[k]!.spec.nodeName === "node-a");
    expect(f.pods.map((p) => p.pod)).toEqual(onA);
    for (const p of f.pods) {
      expect(p.endpointNotReady).toBeGreaterThan(10 * S + 30 * S);
      expect(Object.keys(p.rulesUpdated)).toEqual(["node-b"]);
      expect(p.recovered).toBeUndefined(); // eviction (300 s) has not happened yet
    }
  });
});
