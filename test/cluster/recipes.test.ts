/**
 * Controllers as recipes: naming, scheduling, IPAM, allocation, graceful deletion and the
 * EndpointSlice controller, on small hand-built clusters.
 */
import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import {
  addNode, allocateClusterIP, applyDeployment, applyEndpoints, applyRecipes, applyService, convergeCluster, deletePod,
  emptyClusterState, reconcileEndpointSlices, reconcileReplicaSet, removePod, scaleDeployment, reconcileDeployment,
  setNodeUp, setPodReady, type ClusterDraft, type DeploymentInput, type ServiceInput,
} from "../../src/cluster/recipes.ts";
import { endpointsFor } from "../../src/cluster/endpoints.ts";
import { NAME_ALPHABET, podTemplateHash, safeEncodeString } from "../../src/cluster/names.ts";
import { sortedValues, type ClusterState, type PodTemplate } from "../../src/cluster/types.ts";

const S = 1e9;
const net = { serviceCIDR: "10.0.0.0/16", clusterCIDR: "10.1.0.0/16", clusterDomain: "cluster.local" };

function template(app: string, ports: { name?: string; containerPort: number }[] = [{ containerPort: 8080 }]): PodTemplate {
  return { labels: { app }, annotations: {}, containers: [{ name: app, image: `img/${app}`, ports: ports.map((p) => ({ ...p, protocol: "TCP" as const })) }], terminationGracePeriodSeconds: 30, restartPolicy: "Always" };
}
function deployment(name: string, replicas: number, t = template(name)): DeploymentInput {
  return { name, namespace: "default", spec: { replicas, selector: { app: t.labels.app! }, template: t, strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" }, minReadySeconds: 0 } };
}
function service(name: string, targetPort: number | string = 8080, clusterIP?: string, selector: Record<string, string> | null = { app: name }): ServiceInput {
  return {
    name, namespace: "default",
    spec: { type: "ClusterIP", ...(clusterIP ? { clusterIP } : {}), ...(selector ? { selector } : {}), ports: [{ name: "", protocol: "TCP", port: 80, targetPort }], sessionAffinity: "None", sessionAffinityTimeoutSeconds: 10800, externalIPs: [], externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster", loadBalancerSourceRanges: [] },
  };
}

function cluster(build: (d: ClusterDraft) => void, seed = "t"): { state: ClusterState; rand: () => number } {
  const rand = seedrandom.alea(seed);
  const state = applyRecipes(emptyClusterState(net), (d) => {
    addNode(d, { name: "node-a", ip: "192.168.0.1", podCIDR: "10.1.1.0/24" });
    addNode(d, { name: "node-b", ip: "192.168.0.2", podCIDR: "10.1.2.0/24" });
    build(d);
    convergeCluster(d, { now: 0, rand });
  });
  return { state, rand };
}

describe("names", () => {
  it("encodes a uint32 like rand.SafeEncodeString(fmt.Sprint(hash)): 416757135 → 85bc9c579 (the seed's hash)", () => {
    expect(safeEncodeString(String(416757135))).toBe("85bc9c579");
  });
  it("template hashes are deterministic, template-sensitive and use the alphabet", () => {
    const h = podTemplateHash(template("a"));
    expect(h).toBe(podTemplateHash(template("a")));
    expect(h).not.toBe(podTemplateHash(template("b")));
    expect(h).toMatch(new RegExp(`^[${NAME_ALPHABET}]{6,10}$`));
  });
  it("pod names are <deploy>-<hash>-<5 chars> from the seeded stream", () => {
    const { state } = cluster((d) => applyDeployment(d, deployment("web", 3), 0));
    const hash = podTemplateHash(template("web"));
    const names = sortedValues(state.pods).map((p) => p.meta.name);
    for (const n of names) expect(n).toMatch(new RegExp(`^web-${hash}-[${NAME_ALPHABET}]{5}$`));
    expect(sortedValues(cluster((d) => applyDeployment(d, deployment("web", 3), 0)).state.pods).map((p) => p.meta.name)).toEqual(names);
    expect(sortedValues(cluster((d) => applyDeployment(d, deployment("web", 3), 0), "other").state.pods).map((p) => p.meta.name)).not.toEqual(names);
  });
});

describe("scheduling and addresses", () => {
  it("spreads pods by least pods then node name; IPs are the lowest free after .0 and .1", () => {
    const { state } = cluster((d) => applyDeployment(d, deployment("web", 3), 0));
    const placed = sortedValues(state.pods).map((p) => `${p.spec.nodeName} ${p.status.podIP}`).sort();
    expect(placed).toEqual(["node-a 10.1.1.2", "node-a 10.1.1.3", "node-b 10.1.2.2"]);
  });
  it("never schedules onto a node that is down", () => {
    const { state } = cluster((d) => { setNodeUp(d, "node-a", false); applyDeployment(d, deployment("web", 2), 0); });
    expect(sortedValues(state.pods).map((p) => p.spec.nodeName)).toEqual(["node-b", "node-b"]);
  });
  it("cluster IPs: pinned kept, others the lowest free skipping the network address and .1", () => {
    const { state } = cluster((d) => { applyService(d, service("a", 8080, "10.0.0.2"), 0); applyService(d, service("b"), 0); applyService(d, service("c"), 0); });
    expect(sortedValues(state.services).map((s) => s.spec.clusterIP)).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    const again = applyRecipes(state, (d) => allocateClusterIP(d, "default/b"));
    expect(again).toBe(state); // already allocated: no change
  });
});

describe("ReplicaSet and graceful deletion", () => {
  it("scale down deletes gracefully (deletionTimestamp = now + grace) and the slice marks the pod terminating", () => {
    const { state, rand } = cluster((d) => { applyDeployment(d, deployment("web", 3), 0); applyService(d, service("web"), 0); });
    const after = applyRecipes(state, (d) => {
      scaleDeployment(d, "default/web", 2);
      reconcileDeployment(d, "default/web", { now: 10 * S, rand });
      for (const k of Object.keys(d.replicaSets)) reconcileReplicaSet(d, k, { now: 10 * S, rand });
      reconcileEndpointSlices(d, "default/web", { now: 10 * S, rand });
    });
    const terminating = sortedValues(after.pods).filter((p) => p.meta.deletionTimestamp !== undefined);
    expect(terminating).toHaveLength(1);
    expect(terminating[0]!.meta.deletionTimestamp).toBe(40 * S);
    const ep = sortedValues(after.endpointSlices)[0]!.endpoints.find((e) => e.targetRef?.name === terminating[0]!.meta.name)!;
    expect(ep.conditions).toEqual({ ready: false, serving: true, terminating: true });
    expect(endpointsFor(after, "default/web")!.subsets[0]!.addresses).toHaveLength(2);
    const gone = applyRecipes(after, (d) => { removePod(d, `default/${terminating[0]!.meta.name}`); reconcileEndpointSlices(d, "default/web", { now: 40 * S, rand }); });
    expect(sortedValues(gone.endpointSlices)[0]!.endpoints).toHaveLength(2);
  });
  it("a deleted pod is replaced by a new one with a new name", () => {
    const { state, rand } = cluster((d) => applyDeployment(d, deployment("web", 2), 0));
    const victim = Object.keys(state.pods)[0]!;
    const s2 = applyRecipes(state, (d) => {
      deletePod(d, victim, 5 * S);
      for (const k of Object.keys(d.replicaSets)) reconcileReplicaSet(d, k, { now: 5 * S, rand });
    });
    expect(Object.keys(s2.pods)).toHaveLength(3);
    expect(sortedValues(s2.pods).filter((p) => p.meta.deletionTimestamp === undefined)).toHaveLength(2);
  });
  it("state cannot be mutated outside a recipe (auto-freeze on in tests)", () => {
    const { state } = cluster((d) => applyDeployment(d, deployment("web", 1), 0));
    expect(() => { (state.pods as Record<string, unknown>)["x"] = 1; }).toThrow();
  });
});

describe("EndpointSlice controller", () => {
  it("resolves a named targetPort per pod: different numbers → different slices", () => {
    const { state } = cluster((d) => {
      applyDeployment(d, deployment("v1", 1, { ...template("v1", [{ name: "http", containerPort: 8080 }]), labels: { app: "v1", tier: "web" } }), 0);
      applyDeployment(d, { ...deployment("v2", 1, { ...template("v2", [{ name: "http", containerPort: 9090 }]), labels: { app: "v2", tier: "web" } }) }, 0);
      applyService(d, service("web", "http", undefined, { tier: "web" }), 0);
    });
    const slices = sortedValues(state.endpointSlices);
    expect(slices.map((s) => s.ports.map((p) => p.port)).sort()).toEqual([[8080], [9090]]);
  });
  it("puts at most 100 endpoints in a slice", () => {
    const { state } = cluster((d) => {
      addNode(d, { name: "node-c", ip: "192.168.0.3", podCIDR: "10.1.3.0/24" });
      applyDeployment(d, deployment("web", 250), 0);
      applyService(d, service("web"), 0);
    });
    expect(sortedValues(state.endpointSlices).map((s) => s.endpoints.length).sort()).toEqual([100, 100, 50]);
  });
  it("reconciling an unchanged Service changes nothing (same state object)", () => {
    const { state, rand } = cluster((d) => { applyDeployment(d, deployment("web", 3), 0); applyService(d, service("web"), 0); });
    expect(applyRecipes(state, (d) => reconcileEndpointSlices(d, "default/web", { now: 9 * S, rand }))).toBe(state);
  });
  it("a not-ready pod is ready=false, serving=false and listed under notReadyAddresses", () => {
    const { state, rand } = cluster((d) => { applyDeployment(d, deployment("web", 2), 0); applyService(d, service("web"), 0); });
    const k = Object.keys(state.pods)[0]!;
    const s2 = applyRecipes(state, (d) => { setPodReady(d, k, false); reconcileEndpointSlices(d, "default/web", { now: S, rand }); });
    const ep = endpointsFor(s2, "default/web")!;
    expect(ep.subsets[0]!.addresses).toHaveLength(1);
    expect(ep.subsets[0]!.notReadyAddresses.map((a) => a.targetRef?.name)).toEqual([state.pods[k]!.meta.name]);
  });
  it("a Service with no pods keeps an empty placeholder slice", () => {
    const { state } = cluster((d) => applyService(d, service("lonely"), 0));
    expect(sortedValues(state.endpointSlices).map((s) => [s.endpoints.length, s.ports.length])).toEqual([[0, 0]]);
    expect(endpointsFor(state, "default/lonely")!.subsets).toEqual([]);
  });
  it("selector-less Services keep Endpoints mirrored into unmanaged slices", () => {
    const { state } = cluster((d) => {
      applyService(d, service("ext", 5432, undefined, null), 0);
      applyEndpoints(d, { name: "ext", namespace: "default", subsets: [{ addresses: [{ ip: "192.168.9.9" }, { ip: "192.168.9.10" }], notReadyAddresses: [], ports: [{ name: "", port: 5432, protocol: "TCP" }] }] }, { now: 0, rand: seedrandom.alea("x") });
    });
    const slices = sortedValues(state.endpointSlices);
    expect(slices.map((s) => [s.managed, s.endpoints.map((e) => e.addresses[0])])).toEqual([[false, ["192.168.9.9", "192.168.9.10"]]]);
    // addresses sorted by IP text, bytewise (as endpoints.LessEndpointAddress)
    expect(endpointsFor(state, "default/ext")!.subsets[0]!.addresses.map((a) => a.ip)).toEqual(["192.168.9.10", "192.168.9.9"]);
  });
});
