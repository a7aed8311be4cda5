/**
 * The timed control plane as specs: each row states a fault, the configuration, and when each
 * stage of Kubernetes' reaction must happen (simulated ns), derived from the documented delays.
 */
import { describe, expect, it } from "vitest";
import type { TraceRecord } from "../../src/engine/trace.ts";
import { parseDetail } from "../../src/report/faults.ts";
import { scheduleTimeline, type ControlTimelineEvent } from "../../src/control/timeline.ts";
import { nextGrid } from "../../src/control/controlplane.ts";
import { defaultControlPlaneConfig } from "../../src/control/config.ts";
import { harness, MS, S, type Harness } from "./helpers.ts";

const D = defaultControlPlaneConfig();
const name = (key: string) => key.slice(key.indexOf("/") + 1);

/** control.event records of one action ("control/sigterm" → action "sigterm"), with pod and node merged into the details. */
function control(h: Harness, action: string, pod?: string): { time: number; d: Record<string, string> }[] {
  const a = action.replace(/^control\//, "");
  return h.records()
    .filter((r): r is Extract<TraceRecord, { type: "control.event" }> => r.type === "control.event" && r.action === a)
    .map((r) => ({ time: r.time, d: { ...(r.pod !== undefined ? { pod: r.pod } : {}), ...(r.node !== undefined ? { node: r.node } : {}), ...parseDetail(r.detail) } }))
    .filter((x) => pod === undefined || x.d.pod === pod);
}
function first<T extends TraceRecord["type"]>(h: Harness, type: T, pred: (r: Extract<TraceRecord, { type: T }>) => boolean): Extract<TraceRecord, { type: T }> | undefined {
  return h.records().find((r) => r.type === type && pred(r as Extract<TraceRecord, { type: T }>)) as Extract<TraceRecord, { type: T }> | undefined;
}
const ipNum = (ip: string) => ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);

describe("graceful deletion (deletePod)", () => {
  const T = 5 * S;
  const rows = [
    { name: "no preStop, app exits on SIGTERM", preStop: 0, grace: 30, exit: 0 as number | null, sigterm: T + D.kubeletWatchDelayNs, stopped: T + D.kubeletWatchDelayNs, sigkill: undefined as number | undefined },
    { name: "preStop 5s delays SIGTERM by 5s", preStop: 5, grace: 30, exit: 0, sigterm: T + D.kubeletWatchDelayNs + 5 * S, stopped: T + D.kubeletWatchDelayNs + 5 * S, sigkill: undefined },
    { name: "app drains 3s after SIGTERM", preStop: 0, grace: 30, exit: 3, sigterm: T + D.kubeletWatchDelayNs, stopped: T + D.kubeletWatchDelayNs + 3 * S, sigkill: undefined },
    { name: "app ignores SIGTERM: SIGKILL at grace 10s", preStop: 0, grace: 10, exit: null, sigterm: T + D.kubeletWatchDelayNs, stopped: T + D.kubeletWatchDelayNs + 10 * S, sigkill: T + D.kubeletWatchDelayNs + 10 * S },
    { name: "preStop longer than grace: SIGTERM at grace, SIGKILL 2s later", preStop: 40, grace: 30, exit: null, sigterm: T + D.kubeletWatchDelayNs + 30 * S, stopped: T + D.kubeletWatchDelayNs + 32 * S, sigkill: T + D.kubeletWatchDelayNs + 32 * S },
  ];
  it.each(rows)("$name", (row) => {
    const h = harness({ preStopSleepSeconds: row.preStop, grace: row.grace, config: { appShutdown: () => ({ sigtermExitSeconds: row.exit }) } });
    const pod = h.podKeys()[0]!;
    const ip = ipNum(h.podIP(pod));
    scheduleTimeline(h.cp, [{ atNs: T, action: "deletePod", namespace: "default", pod: name(pod) }]);
    h.sim.run(80 * S);
    // control plane: the slice marks it terminating / not ready after the EndpointSlice delay
    const notReady = first(h, "endpoint.change", (r) => r.node === undefined && r.addr === ip && r.change === "not-ready")!;
    expect(notReady.time).toBe(T + D.endpointSliceDelayNs);
    expect(first(h, "endpoint.change", (r) => r.node === undefined && r.addr === ip && r.change === "terminating")!.time).toBe(T + D.endpointSliceDelayNs);
    // each node's kube-proxy: informer delay, a token is available → at once
    for (const node of ["node-a", "node-b"]) {
      expect(first(h, "endpoint.change", (r) => r.node === node && r.addr === ip && r.change === "removed")!.time).toBe(T + D.endpointSliceDelayNs + D.kubeProxyWatchDelayNs);
    }
    // the process: SIGTERM, exit, then the netns goes and the pod object is removed
    expect(control(h, "control/sigterm", pod)[0]!.time).toBe(row.sigterm);
    expect(control(h, "control/container-exited", pod)[0]!.time).toBe(row.stopped);
    expect(control(h, "control/sigkill", pod)[0]?.time).toBe(row.sigkill);
    const rt = h.runtime.filter((x) => x.pod.key === pod);
    if (row.exit !== null && row.exit > 0) expect(rt.find((x) => x.pod.process === "terminating")!.time).toBe(row.sigterm);
    expect(rt.find((x) => x.pod.process === "stopped")!.time).toBe(row.stopped);
    expect(rt.find((x) => x.pod.network === "gone")!.time).toBe(row.stopped + D.sandboxTeardownNs);
    expect(first(h, "pod.change", (r) => r.pod === pod && r.change === "deleted")!.time).toBe(row.stopped + Math.max(D.sandboxTeardownNs, D.statusUpdateDelayNs));
    // the replacement: created by the ReplicaSet controller, scheduled, started, Ready (no probe: Ready = running)
    const created = first(h, "pod.change", (r) => r.change === "created")!;
    expect(created.time).toBe(T + D.controllerDelayNs);
    const ready = first(h, "pod.change", (r) => r.pod === created.pod && r.change === "ready")!;
    expect(ready.time).toBe(T + D.controllerDelayNs + D.schedulerDelayNs + D.kubeletWatchDelayNs + D.sandboxSetupNs + D.containerStartNs + D.statusUpdateDelayNs);
    // every payload restored cleanly; stale SEP chain deleted from node-a's nat table
    const save = h.netfilters.get("node-a")!.save();
    expect(save).not.toContain(`${[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".")}:9376`);
    expect(save).toContain("KUBE-SVC-");
  });
});

describe("readiness probe failure (failReadiness)", () => {
  const rows = [1, 5, 10].map((period) => ({ name: `periodSeconds ${period}`, period }));
  it.each(rows)("$name: not ready after failureThreshold probes on the worker's grid, ready again after the first success", ({ period }) => {
    const probe = { initialDelaySeconds: 0, periodSeconds: period, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };
    const h = harness({ readinessProbe: probe });
    const pod = h.podKeys()[1]!;
    const ip = ipNum(h.podIP(pod));
    const T = 33 * S + 123 * MS;
    scheduleTimeline(h.cp, [{ atNs: T, action: "failReadiness", namespace: "default", pod: name(pod), durationNs: 40 * S }]);
    h.sim.run(T + 90 * S);
    const probes = control(h, "control/probe", pod);
    const phase = probes[0]!.time % (period * S);
    const firstFail = nextGrid(phase, period * S, T);
    expect(probes.find((p) => p.d.result === "failure")!.time).toBe(firstFail);
    const kubeletNotReady = firstFail + 2 * period * S;
    expect(control(h, "control/kubelet-ready", pod).find((x) => x.d.ready === "false")!.time).toBe(kubeletNotReady);
    expect(first(h, "pod.change", (r) => r.pod === pod && r.change === "not-ready")!.time).toBe(kubeletNotReady + D.statusUpdateDelayNs);
    const epNotReady = first(h, "endpoint.change", (r) => r.node === undefined && r.addr === ip && r.change === "not-ready")!.time;
    expect(epNotReady).toBe(kubeletNotReady + D.statusUpdateDelayNs + D.endpointSliceDelayNs);
    // window fault → not ready lies in ((F−1)·P, F·P] + status + slice delays
    expect(epNotReady - T).toBeGreaterThan(2 * period * S + 100 * MS);
    expect(epNotReady - T).toBeLessThanOrEqual(3 * period * S + 100 * MS);
    // the process kept running (a readiness failure does not stop traffic already routed)
    expect(h.runtime.filter((x) => x.pod.key === pod && x.pod.process !== "running")).toEqual([]);
    // recovery: first success on the grid at or after T + 40 s
    const firstOk = nextGrid(phase, period * S, T + 40 * S - 1);
    expect(control(h, "control/kubelet-ready", pod).find((x) => x.d.ready === "true" && x.time > T)!.time).toBe(firstOk);
    expect(first(h, "endpoint.change", (r) => r.node === undefined && r.addr === ip && r.change === "ready" && r.time > T)!.time).toBe(firstOk + D.statusUpdateDelayNs + D.endpointSliceDelayNs);
  });

  it("the not-ready window grows with periodSeconds (sweep 1s, 5s, 10s)", () => {
    const windows = [1, 5, 10].map((period) => {
      const h = harness({ readinessProbe: { initialDelaySeconds: 0, periodSeconds: period, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } });
      const pod = h.podKeys()[0]!;
      const ip = ipNum(h.podIP(pod));
      scheduleTimeline(h.cp, [{ atNs: 30 * S, action: "failReadiness", namespace: "default", pod: name(pod) }]);
      h.sim.run(80 * S);
      return first(h, "endpoint.change", (r) => r.node === undefined && r.addr === ip && r.change === "not-ready")!.time - 30 * S;
    });
    expect(windows[0]!).toBeLessThan(windows[1]!);
    expect(windows[1]!).toBeLessThan(windows[2]!);
    // predicted ranges ((F−1)P, FP] + 100 ms
    [1, 5, 10].forEach((p, i) => {
      expect(windows[i]!).toBeGreaterThan(2 * p * S + 100 * MS);
      expect(windows[i]!).toBeLessThanOrEqual(3 * p * S + 100 * MS);
    });
  });
});

describe("kube-proxy minSyncPeriod", () => {
  // Two deletions 300 ms apart: the first uses both burst tokens (terminating, then removed), so
  // the second waits for lastRun + minSyncPeriod.
  const T = 10 * S;
  const rows = [
    { name: "minSyncPeriod 0s: every change syncs at once", minMs: 0, expectB: T + 300 * MS + D.endpointSliceDelayNs + D.kubeProxyWatchDelayNs },
    { name: "minSyncPeriod 1s: waits until lastRun + 1s", minMs: 1000, expectB: T + 170 * MS + 1 * S },
    { name: "minSyncPeriod 5s: waits until lastRun + 5s", minMs: 5000, expectB: T + 170 * MS + 5 * S },
  ];
  it.each(rows)("$name", ({ minMs, expectB }) => {
    const h = harness({ replicas: 4, kubeProxy: { minSyncPeriodMs: minMs } });
    const [a, b] = h.podKeys();
    const ipA = ipNum(h.podIP(a!)), ipB = ipNum(h.podIP(b!));
    scheduleTimeline(h.cp, [
      { atNs: T, action: "deletePod", namespace: "default", pod: name(a!) },
      { atNs: T + 300 * MS, action: "deletePod", namespace: "default", pod: name(b!) },
    ]);
    h.sim.run(T + 20 * S);
    for (const node of ["node-a", "node-b"]) {
      expect(first(h, "endpoint.change", (r) => r.node === node && r.addr === ipA && r.change === "removed")!.time).toBe(T + 70 * MS);
      expect(first(h, "endpoint.change", (r) => r.node === node && r.addr === ipB && r.change === "removed")!.time).toBe(expectB);
    }
  });
  it("moves the second window by exactly the minSyncPeriod difference", () => {
    const at = rows.map((r) => r.expectB);
    expect(at[2]! - at[1]!).toBe(4 * S);
  });
});

describe("container kill and CrashLoopBackOff (killPod)", () => {
  it("restartPolicy Always: first restart at once, then 10s, 20s, 40s, 80s back-off (from the exit)", () => {
    const h = harness({});
    const pod = h.podKeys()[0]!;
    h.trace.subscribe((r) => {
      if (r.type === "control.event" && r.action === "container-started" && r.pod === pod) {
        h.sim.callIn(1 * S, () => h.cp.killPod(pod)); // crashes 1 s after every start
      }
    });
    scheduleTimeline(h.cp, [{ atNs: 10 * S, action: "killPod", namespace: "default", pod: name(pod) }]);
    h.sim.run(300 * S);
    const exits = control(h, "control/container-exited", pod).map((x) => x.time);
    const starts = control(h, "control/container-started", pod).map((x) => x.time);
    const gaps = starts.slice(0, 5).map((t, i) => t - exits[i]!);
    // first: noticed at the next PLEG relist (≤ 1 s), restarted without back-off
    expect(gaps[0]!).toBeGreaterThan(D.containerRestartNs);
    expect(gaps[0]!).toBeLessThanOrEqual(D.plegRelistPeriodNs + D.containerRestartNs);
    expect(gaps.slice(1)).toEqual([10, 20, 40, 80].map((s) => s * S + D.containerRestartNs));
    // while stopped, the pod's network stays up: connections are refused, not blackholed
    const rt = h.runtime.filter((x) => x.pod.key === pod);
    expect(rt.every((x) => x.pod.network === "up")).toBe(true);
    expect(rt.some((x) => x.pod.process === "stopped")).toBe(true);
    expect(h.cp.state.pods[pod]!.status.restartCount).toBe(starts.length);
  });

  it("restartPolicy Never: the pod fails, its netns goes, the ReplicaSet replaces it", () => {
    const h = harness({ restartPolicy: "Never" });
    const pod = h.podKeys()[0]!;
    scheduleTimeline(h.cp, [{ atNs: 10 * S, action: "killPod", namespace: "default", pod: name(pod) }]);
    h.sim.run(30 * S);
    expect(h.cp.state.pods[pod]!.status.phase).toBe("Failed");
    expect(h.cp.podRuntime(pod)!.network).toBe("gone");
    expect(control(h, "control/container-started", pod)).toEqual([]);
    const active = Object.values(h.cp.state.pods).filter((p) => p.status.phase === "Running" && p.status.ready);
    expect(active.length).toBe(3);
  });
});

describe("hung app (hangPod)", () => {
  it("readiness probes time out after timeoutSeconds; not ready after failureThreshold; serving again when it recovers", () => {
    const h = harness({ readinessProbe: { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 } });
    const pod = h.podKeys()[2]!;
    const T = 20 * S;
    scheduleTimeline(h.cp, [{ atNs: T, action: "hangPod", namespace: "default", pod: name(pod), durationNs: 60 * S }]);
    h.sim.run(120 * S);
    const probes = control(h, "control/probe", pod);
    const phase = probes[0]!.time % (5 * S);
    const firstTick = nextGrid(phase, 5 * S, T);
    expect(probes.find((p) => p.d.result === "timeout")!.time).toBe(firstTick + 2 * S);
    expect(control(h, "control/kubelet-ready", pod).find((x) => x.d.ready === "false")!.time).toBe(firstTick + 10 * S + 2 * S);
    expect(h.runtime.find((x) => x.pod.key === pod && x.pod.process === "hung")!.time).toBe(T);
    expect(h.runtime.find((x) => x.pod.key === pod && x.pod.process === "running" && x.time > T)!.time).toBe(T + 60 * S);
    expect(h.cp.state.pods[pod]!.status.ready).toBe(true);
  });
});

describe("node down (nodeDown)", () => {
  it("pods blackhole at once; NotReady after the grace period; eviction 300 s later; replacements on the other node", () => {
    const h = harness({ replicas: 4 });
    const T = 20 * S;
    const onA = h.podKeys().filter((k) => h.cp.state.pods[k]!.spec.nodeName === "node-a");
    expect(onA.length).toBe(2);
    scheduleTimeline(h.cp, [{ atNs: T, action: "nodeDown", node: "node-a" }]);
    h.sim.run(T + 400 * S);
    expect(h.nodeEvents).toEqual([{ time: T, node: "node-a", up: false }]);
    for (const k of onA) expect(h.runtime.find((x) => x.pod.key === k)).toMatchObject({ time: T, pod: { network: "gone", process: "stopped" } });
    const nr = control(h, "control/node-not-ready")[0]!;
    const lastHb = Number(nr.d.lastHeartbeat);
    expect(lastHb).toBeLessThanOrEqual(T);
    expect(lastHb).toBeGreaterThan(T - D.nodeHeartbeatPeriodNs);
    expect(nr.time).toBeGreaterThan(lastHb + D.nodeMonitorGracePeriodNs);
    expect(nr.time).toBeLessThanOrEqual(lastHb + D.nodeMonitorGracePeriodNs + D.nodeMonitorPeriodNs);
    // until then the endpoints stay ready and node-b keeps routing to them (requests time out)
    for (const k of onA) {
      const ip = ipNum(h.podIP(k));
      expect(first(h, "endpoint.change", (r) => r.addr === ip && r.node === undefined && r.change === "not-ready")!.time).toBe(nr.time + D.endpointSliceDelayNs);
      expect(first(h, "endpoint.change", (r) => r.addr === ip && r.node === "node-b" && r.change === "removed")!.time).toBe(nr.time + D.endpointSliceDelayNs + D.kubeProxyWatchDelayNs);
    }
    // the down node's kube-proxy does not sync
    expect(h.records().filter((r) => r.type === "rules.sync" && r.node === "node-a" && r.time > T)).toEqual([]);
    // eviction and replacement
    const ev = control(h, "control/evicted");
    expect(ev.map((e) => e.d.pod).sort()).toEqual(onA);
    expect(ev[0]!.time).toBe(nr.time + D.notReadyTolerationNs);
    const replacements = h.records().filter((r) => r.type === "pod.change" && r.change === "scheduled" && r.time > T);
    expect(replacements.length).toBe(2);
    expect(replacements.every((r) => r.type === "pod.change" && r.node === "node-b")).toBe(true);
    const readyNew = Object.values(h.cp.state.pods).filter((p) => p.spec.nodeName === "node-b" && p.status.ready);
    expect(readyNew.length).toBe(4);
    // evicted pods stay Terminating while their kubelet is down
    for (const k of onA) expect(h.cp.state.pods[k]!.meta.deletionTimestamp).toBeDefined();
  });

  it("node back: kubelet and kube-proxy restart (startup sync with jump rules), terminating pods are removed", () => {
    const h = harness({ replicas: 4 });
    scheduleTimeline(h.cp, [{ atNs: 10 * S, action: "nodeDown", node: "node-a" }, { atNs: 400 * S, action: "nodeUp", node: "node-a" }]);
    h.sim.run(420 * S);
    const restart = h.installs.filter((i) => i.node === "node-a" && i.time > 10 * S);
    expect(restart[0]).toMatchObject({ time: 400 * S + D.kubeProxyStartNs, first: true, trigger: "startup" });
    expect(restart[0]!.rules.filter).toContain("-A INPUT ");
    expect(Object.values(h.cp.state.pods).filter((p) => p.spec.nodeName === "node-a")).toEqual([]);
    expect(h.cp.state.nodes["node-a"]).toMatchObject({ up: true, ready: true });
  });
});

describe("Deployment controller", () => {
  it("scale up and down: new pods become endpoints, victims terminate gracefully", () => {
    const h = harness({ replicas: 2 });
    scheduleTimeline(h.cp, [
      { atNs: 5 * S, action: "scale", namespace: "default", deployment: "web", replicas: 5 },
      { atNs: 30 * S, action: "scale", namespace: "default", deployment: "web", replicas: 1 },
    ]);
    h.sim.run(29 * S);
    expect(Object.values(h.cp.state.pods).filter((p) => p.status.ready).length).toBe(5);
    h.sim.run(90 * S);
    expect(Object.keys(h.cp.state.pods).length).toBe(1);
    expect(h.cp.state.endpointSlices[Object.keys(h.cp.state.endpointSlices)[0]!]!.endpoints.length).toBe(1);
  });

  it("rollout with maxSurge 25% / maxUnavailable 25% of 4: never fewer than 3 ready nor more than 5 pods", () => {
    const h = harness({ replicas: 4, readinessProbe: { initialDelaySeconds: 2, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } });
    const oldPods = h.podKeys();
    let minReady = Infinity, maxPods = 0;
    h.trace.subscribe(() => {
      const pods = Object.values(h.cp.state.pods).filter((p) => p.meta.deletionTimestamp === undefined);
      minReady = Math.min(minReady, pods.filter((p) => p.status.ready).length);
      maxPods = Math.max(maxPods, pods.length);
    });
    scheduleTimeline(h.cp, [{ atNs: 5 * S, action: "rollout", namespace: "default", deployment: "web", image: "registry.k8s.io/serve_hostname:v1.5" }]);
    h.sim.run(120 * S);
    expect(minReady).toBeGreaterThanOrEqual(3);
    expect(maxPods).toBeLessThanOrEqual(5);
    const pods = Object.values(h.cp.state.pods);
    expect(pods.length).toBe(4);
    expect(pods.every((p) => p.status.ready && p.spec.containers[0]!.image.endsWith("v1.5") && !oldPods.includes(`default/${p.meta.name}`))).toBe(true);
  });
});

describe("kube-proxy payloads and UDP conntrack cleanup", () => {
  it("jump rules only in a process's first payload; stale chains deleted with -X", () => {
    const h = harness({});
    const pod = h.podKeys()[0]!;
    scheduleTimeline(h.cp, [{ atNs: 1 * S, action: "deletePod", namespace: "default", pod: name(pod) }]);
    h.sim.run(10 * S);
    const a = h.installs.filter((i) => i.node === "node-a");
    expect(a[0]!.first).toBe(true);
    expect(a[0]!.rules.nat).toContain("-A PREROUTING ");
    expect(a.slice(1).every((i) => !i.first && !i.rules.nat.includes("-A PREROUTING "))).toBe(true);
    const del = a.find((i) => i.staleChains.length > 0)!;
    expect(del.staleChains[0]).toMatch(/^nat:KUBE-SEP-/);
    expect(del.rules.nat).toContain(`-X ${del.staleChains[0]!.slice(4)}`);
    expect(h.netfilters.get("node-a")!.save()).not.toContain(del.staleChains[0]!.slice(4));
  });

  it("a removed UDP endpoint gets conntrack -D --orig-dst <clusterIP> --dst-nat <pod IP> on every node", () => {
    const h = harness({ protocol: "UDP" });
    const pod = h.podKeys()[0]!;
    const ip = h.podIP(pod);
    scheduleTimeline(h.cp, [{ atNs: 1 * S, action: "deletePod", namespace: "default", pod: name(pod) }]);
    h.sim.run(10 * S);
    const flushes = h.records().filter((r) => r.type === "conntrack.flush" && r.time > 0);
    const clusterIP = Object.values(h.cp.state.services)[0]!.spec.clusterIP;
    expect(flushes.map((r) => r.type === "conntrack.flush" && `${r.node} ${r.command}`)).toEqual([
      `node-a conntrack -D --orig-dst ${clusterIP} --dst-nat ${ip} -p udp`,
      `node-b conntrack -D --orig-dst ${clusterIP} --dst-nat ${ip} -p udp`,
    ]);
    expect(flushes[0]!.time).toBe(1 * S + D.endpointSliceDelayNs + D.kubeProxyWatchDelayNs);
    const calls = h.conntrackCalls.filter((c) => c.time > 0);
    expect(calls.map((c) => [c.node, c.filter])).toEqual(["node-a", "node-b"].map((n) => [n, { proto: 17, origDst: ipNum(clusterIP), dstNat: ipNum(ip) }]));
    expect(flushes.every((r) => r.type === "conntrack.flush" && r.deleted === 1)).toBe(true);
  });
});

describe("determinism", () => {
  const timeline: ControlTimelineEvent[] = [
    { atNs: 3 * S, action: "failReadiness", namespace: "default", pod: "", durationNs: 20 * S },
    { atNs: 7 * S, action: "nodeDown", node: "node-b" },
    { atNs: 9 * S, action: "scale", namespace: "default", deployment: "web", replicas: 5 },
  ];
  function run(seed: number): string {
    const h = harness({ seed, readinessProbe: { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } });
    const tl = timeline.map((e) => (e.action === "failReadiness" ? { ...e, pod: name(h.podKeys()[0]!) } : e));
    scheduleTimeline(h.cp, tl);
    h.sim.run(500 * S);
    return JSON.stringify(h.records());
  }
  it("same seed → identical trace; another seed → different probe phases and names", () => {
    const a = run(7);
    expect(run(7)).toBe(a);
    expect(run(8)).not.toBe(a);
  });
});

describe("kube-proxy v1.16 profile", () => {
  it("minSyncPeriod 0 and a periodic full sync every syncPeriod (30 s)", () => {
    const h = harness({ profile: "v1.16" });
    h.sim.run(95 * S);
    const syncs = h.records().filter((r) => r.type === "rules.sync" && r.node === "node-a");
    expect(syncs.map((r) => r.type === "rules.sync" && [r.time, r.trigger])).toEqual([[0, "startup"], [30 * S, "periodic"], [60 * S, "periodic"], [90 * S, "periodic"]]);
    expect(h.installs.filter((i) => i.node === "node-a").map((i) => i.first)).toEqual([true, false, false, false]);
  });
});

describe("startupSync: false (rules installed by the caller)", () => {
  it("the next payload omits the jump rules and deletes the chains the caller's ruleset had", async () => {
    const { Simulation } = await import("../../src/engine/sim.ts");
    const { RngRoot } = await import("../../src/engine/rng.ts");
    const { Trace } = await import("../../src/engine/trace.ts");
    const { Netfilter } = await import("../../src/netfilter/netfilter.ts");
    const { generateRules } = await import("../../src/kubeproxy/generate.ts");
    const { defaultKubeProxyConfig } = await import("../../src/kubeproxy/config.ts");
    const { ControlPlane } = await import("../../src/control/controlplane.ts");
    const { buildCluster } = await import("./helpers.ts");
    const rng = new RngRoot(3);
    const state = buildCluster({}, rng);
    const kp = defaultKubeProxyConfig("current", "10.244.0.0/16");
    const nf = new Netfilter();
    const g = generateRules(state, "node-a", kp);
    nf.restore(g.filter);
    nf.restore(g.nat);
    const sim = new Simulation();
    const firsts: boolean[] = [];
    const cp = new ControlPlane({ sim, rng, trace: new Trace(), state, kubeProxy: kp, startupSync: false, install: (i) => {
      if (i.node !== "node-a") return;
      firsts.push(i.first);
      nf.restore(i.rules.filter, { noflush: true });
      nf.restore(i.rules.nat, { noflush: true });
    } });
    const pod = Object.keys(cp.state.pods).sort()[0]!;
    sim.callAt(2 * S, () => cp.deletePod(pod));
    sim.run(10 * S);
    expect(firsts.length).toBeGreaterThan(0);
    expect(firsts.every((f) => !f)).toBe(true);
    const save = nf.save();
    expect(save.match(/-A PREROUTING /g)!.length).toBe(1);
    expect(save).not.toContain(`${state.pods[pod]!.status.podIP}:9376`);
  });
});
