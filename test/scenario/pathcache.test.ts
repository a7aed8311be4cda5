/**
 * The datapath's path cache (datapath/network.ts FlowPath, and the FlowTable that shares paths —
 * established ones and first packets' NewPaths, with their statistic draws, DNAT and MASQUERADE —
 * between connections with equal headers) is an optimisation only: a run with it
 * must be indistinguishable from a run that walks the hooks for every packet — every trace record
 * (packet fates with times, conntrack, requests), every rule counter on every node, the conntrack
 * tables, the kernel rule counts and the report. Scenarios cover rule changes mid-run (kube-proxy
 * syncs after pod deletion, rolling updates), nodes going down, hairpin masquerade, NodePort with
 * traffic policies, session affinity (-m recent in the nat table) and UDP.
 *
 * The same holds for the size the conntrack tables start with (NetworkConfig.conntrackSlots,
 * which the run derives from its clients): a table that starts small and rehashes on the way up
 * must give exactly the run of one that starts at its final size.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { conntrackSlots, runScenario, type RunResult } from "../../src/scenario/run.ts";
import type { Scenario } from "../../src/scenario/types.ts";
import { reportInputOf } from "../../src/scenario/report-input.ts";
import { buildReport } from "../../src/report/build.ts";
import { toJson } from "../../src/report/model.ts";

function observe(r: RunResult, file: string) {
  return {
    trace: JSON.stringify(r.trace.records()),
    counters: r.nodes.map((n) => n.iptablesSave(true)),
    conntrack: r.nodes.map((n) => n.conntrackList().lines),
    rulesEvaluated: r.rulesEvaluated,
    fates: [...r.network.fateCounts],
    events: r.eventsProcessed,
    report: toJson(buildReport(reportInputOf(r, { scenarioYaml: readFileSync(file, "utf8") }))),
  };
}

const CASES = [
  { file: "scenarios/hostnames-clusterip.yaml", hits: true, flows: true, nat: true },
  { file: "scenarios/hairpin.yaml", hits: true, flows: true, nat: true },
  { file: "scenarios/pod-delete-under-load.yaml", hits: true, flows: true, nat: true },
  { file: "scenarios/rolling-update.yaml", hits: true, flows: true, nat: true },
  { file: "scenarios/node-down.yaml", hits: true, flows: true, nat: true },
  { file: "scenarios/keepalive-imbalance.yaml", hits: true, flows: false, nat: false }, // a few long connections,
  { file: "scenarios/labs/nodeport-traffic-policy.yaml", hits: true, flows: true, nat: true },
  { file: "scenarios/labs/session-affinity.yaml", hits: true, flows: true, nat: false }, // (-m recent: walked)
  { file: "scenarios/labs/udp-source-port.yaml", hits: false, flows: false, nat: false },
];

describe("the path cache changes nothing but speed", () => {
  it.each(CASES)("$file", ({ file, hits, flows, nat }) => {
    const { scenario } = loadScenario(file);
    const on = runScenario(scenario, { network: { pathCache: true } });
    const off = runScenario(scenario, { network: { pathCache: false } });
    expect(off.network.pathHits + off.network.flowHits + off.network.newHits).toBe(0);
    if (hits) expect(on.network.pathHits).toBeGreaterThan(0);
    if (flows) expect(on.network.flowHits).toBeGreaterThan(0);
    if (flows) expect(on.network.newHits).toBeGreaterThan(0); // SYNs arriving DNATed at the endpoint's node
    if (nat) expect(on.network.natHits).toBeGreaterThan(on.requests.length / 2); // clients' SYNs: ladder, DNAT, MASQUERADE
    expect(on.network.pathHits + on.network.flowHits + on.network.pathMisses).toBe(off.network.pathMisses);
    const a = observe(on, file);
    const b = observe(off, file);
    expect(a.trace).toBe(b.trace);
    expect(a.counters).toEqual(b.counters);
    expect(a.conntrack).toEqual(b.conntrack);
    expect(a.rulesEvaluated).toBe(b.rulesEvaluated);
    expect(a.fates).toEqual(b.fates);
    expect(a.events).toBe(b.events);
    expect(a.report).toBe(b.report);
  });
});

describe("the conntrack tables' starting size changes nothing but speed", () => {
  it.each([
    "scenarios/hostnames-clusterip.yaml",
    "scenarios/pod-delete-under-load.yaml",
    "scenarios/node-down.yaml",
    "scenarios/hairpin.yaml",
  ])("%s", (file) => {
    const { scenario } = loadScenario(file);
    const sized = runScenario(scenario);
    const tiny = runScenario(scenario, { network: { conntrackSlots: 16 } }); // doubles many times
    expect(observe(tiny, file)).toEqual(observe(sized, file));
  });
});

describe("conntrackSlots: room for the connections the clients open, 1,024 to 131,072 slots", () => {
  const client = (c: { requests?: number; rate?: number; durationNs?: number }) => c;
  it.each([
    { what: "no clients", clients: [], slots: 1024 },
    { what: "the seed walkthrough's scale", clients: [client({ requests: 1000 }), client({ requests: 4 })], slots: 4016 },
    { what: "rate × duration (per second, ns)", clients: [client({ rate: 200, durationNs: 10e9 })], slots: 8000 },
    { what: "rate × duration, rounded up", clients: [client({ rate: 3, durationNs: 0.5e9 })], slots: 1024 },
    { what: "a rate without a duration counts one", clients: [client({ rate: 50 }), client({ requests: 300 })], slots: 1204 },
    { what: "the 1,000-Service benchmark (50,000 requests): capped", clients: Array.from({ length: 20 }, () => client({ requests: 2500 })), slots: 131_072 },
  ])("$what → $slots", ({ clients, slots }) => {
    expect(conntrackSlots({ clients } as unknown as Scenario)).toBe(slots);
  });
});
