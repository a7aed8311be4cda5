/**
 * The default scenario reproduces the seed walkthrough's cluster: `kubectl get` tables equal the
 * seed's, byte for byte (AGE included: each command runs at the simulated time the seed ran it).
 */
import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import { loadScenario } from "../../src/scenario/load.ts";
import { buildInitialState } from "../../src/scenario/build.ts";
import { kubectlGet } from "../../src/cluster/kubectl.ts";
import { sortedValues } from "../../src/cluster/types.ts";

const S = 1e9;
const { scenario } = loadScenario("scenarios/hostnames-clusterip.yaml");
const rand = () => seedrandom.alea(`${scenario.run.seed}/cluster/names`);

const seedRows = [
  {
    name: "k get deploy hostnames",
    kind: "deploy", obj: "hostnames", at: 20,
    want: "NAME        READY   UP-TO-DATE   AVAILABLE   AGE\nhostnames   3/3     3            3           20s\n",
  },
  {
    name: "k get po",
    kind: "po", obj: undefined, at: 25,
    want:
      "NAME                        READY   STATUS    RESTARTS   AGE\n" +
      "hostnames-85bc9c579-dsmh9   1/1     Running   0          25s\n" +
      "hostnames-85bc9c579-tx87g   1/1     Running   0          25s\n" +
      "hostnames-85bc9c579-zndz2   1/1     Running   0          25s\n",
  },
  {
    name: "k get svc hostnames",
    kind: "svc", obj: "hostnames", at: 57,
    want: "NAME        TYPE        CLUSTER-IP    EXTERNAL-IP   PORT(S)   AGE\nhostnames   ClusterIP   10.0.91.192   <none>        80/TCP    57s\n",
  },
  {
    name: "k get endpoints hostnames",
    kind: "endpoints", obj: "hostnames", at: 71,
    want: "NAME        ENDPOINTS                                              AGE\nhostnames   10.1.161.47:9376,10.1.166.146:9376,10.1.166.166:9376   71s\n",
  },
];

describe("seed walkthrough (scenarios/hostnames-clusterip.yaml)", () => {
  const state = buildInitialState(scenario, rand());

  it.each(seedRows)("$name", ({ kind, obj, at, want }) => {
    const r = kubectlGet(state, kind, obj, { now: at * S });
    expect(r).toEqual({ stdout: want, stderr: "", exitCode: 0 });
  });

  it("places the pinned pods on their nodes with their IPs", () => {
    expect(sortedValues(state.pods).map((p) => [p.meta.name, p.spec.nodeName, p.status.podIP, p.status.phase, p.status.ready])).toEqual([
      ["hostnames-85bc9c579-dsmh9", "node-1", "10.1.161.47", "Running", true],
      ["hostnames-85bc9c579-tx87g", "node-2", "10.1.166.146", "Running", true],
      ["hostnames-85bc9c579-zndz2", "node-2", "10.1.166.166", "Running", true],
    ]);
    expect(Object.keys(state.replicaSets)).toEqual(["default/hostnames-85bc9c579"]);
  });

  it("writes one EndpointSlice with ready endpoints, port 9376 named default", () => {
    const slices = sortedValues(state.endpointSlices);
    expect(slices).toHaveLength(1);
    expect(slices[0]!.meta.name).toMatch(/^hostnames-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(slices[0]!.ports).toEqual([{ name: "default", port: 9376, protocol: "TCP" }]);
    expect(slices[0]!.endpoints.map((e) => [e.addresses[0], e.nodeName, e.conditions])).toEqual([
      ["10.1.161.47", "node-1", { ready: true, serving: true, terminating: false }],
      ["10.1.166.146", "node-2", { ready: true, serving: true, terminating: false }],
      ["10.1.166.166", "node-2", { ready: true, serving: true, terminating: false }],
    ]);
  });

  it("is deterministic: same scenario and stream, same state", () => {
    expect(JSON.stringify(buildInitialState(scenario, rand()))).toBe(JSON.stringify(state));
  });

  it("without pins, names come from the seeded stream and IPs from the IPAM rule", () => {
    const unpinned = { ...scenario, pin: { pods: [] } };
    const a = buildInitialState(unpinned, rand());
    const names = sortedValues(a.pods).map((p) => p.meta.name);
    expect(names).toHaveLength(3);
    for (const n of names) expect(n).toMatch(/^hostnames-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(names[0]!.split("-")[1]).not.toBe("85bc9c579"); // svcsim's own hash: not Kubernetes' value
    // one pod per node (least pods, then name), each the first free address after .0 and .1
    expect(sortedValues(a.pods).map((p) => `${p.spec.nodeName}=${p.status.podIP}`).sort()).toEqual(["node-1=10.1.161.2", "node-2=10.1.166.2", "node-3=10.1.170.2"]);
    const other = buildInitialState(unpinned, seedrandom.alea("2/cluster/names"));
    expect(sortedValues(other.pods).map((p) => p.meta.name)).not.toEqual(names);
  });
});
