/**
 * kubectl views: tabwriter layout, HumanDuration, messages, wide columns, yaml/json objects.
 */
import { describe, expect, it } from "vitest";
import seedrandom from "seedrandom";
import { parse as parseYaml } from "yaml";
import { addNode, applyDeployment, applyRecipes, applyService, convergeCluster, emptyClusterState, deletePod } from "../../src/cluster/recipes.ts";
import { humanDuration, kubectlGet, rfc3339, tabwrite } from "../../src/cluster/kubectl.ts";
import type { PodTemplate } from "../../src/cluster/types.ts";

const S = 1e9;
const t: PodTemplate = { labels: { app: "web" }, annotations: {}, containers: [{ name: "web", image: "nginx:1.25", ports: [{ containerPort: 80, protocol: "TCP" }] }], terminationGracePeriodSeconds: 30, restartPolicy: "Always" };
const state = applyRecipes(emptyClusterState({ serviceCIDR: "10.96.0.0/12", clusterCIDR: "10.244.0.0/16", clusterDomain: "cluster.local" }), (d) => {
  addNode(d, { name: "kind-worker", ip: "172.18.0.2", podCIDR: "10.244.1.0/24" });
  applyDeployment(d, { name: "web", namespace: "default", spec: { replicas: 5, selector: { app: "web" }, template: t, strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" }, minReadySeconds: 0 } }, 0);
  applyService(d, { name: "web", namespace: "default", spec: { type: "NodePort", selector: { app: "web" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }, { name: "dns", protocol: "UDP", port: 53, targetPort: 53, nodePort: 30053 }], sessionAffinity: "None", sessionAffinityTimeoutSeconds: 10800, externalIPs: [], externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster", loadBalancerSourceRanges: [] } }, 0);
  convergeCluster(d, { now: 0, rand: seedrandom.alea("k") });
});

describe("humanDuration (apimachinery duration.HumanDuration)", () => {
  it.each([
    { name: "0s", s: 0, want: "0s" },
    { name: "119s", s: 119, want: "119s" },
    { name: "2m", s: 120, want: "2m" },
    { name: "5m7s", s: 307, want: "5m7s" },
    { name: "10m", s: 600, want: "10m" },
    { name: "179m", s: 179 * 60 + 59, want: "179m" },
    { name: "3h", s: 3 * 3600, want: "3h" },
    { name: "7h59m", s: 8 * 3600 - 1, want: "7h59m" },
    { name: "47h", s: 47 * 3600 + 10, want: "47h" },
    { name: "2d", s: 48 * 3600, want: "2d" },
    { name: "7d23h", s: 8 * 86400 - 1, want: "7d23h" },
    { name: "8d", s: 8 * 86400, want: "8d" },
    { name: "2y", s: 2 * 365 * 86400, want: "2y" },
    { name: "-1s is still 0s", s: -1, want: "0s" },
    { name: "-2s is invalid", s: -2, want: "<invalid>" },
  ])("$name", ({ s, want }) => expect(humanDuration(s * S)).toBe(want));
});

describe("tables", () => {
  it("tabwriter pads to the widest cell + 3, minimum width 6, last column unpadded", () => {
    expect(tabwrite([["A", "B", "C"], ["xx", "yyyyyyy", "z"]])).toBe("A     B         C\nxx    yyyyyyy   z\n");
  });

  it("get deploy / pods with -o wide", () => {
    expect(kubectlGet(state, "deployment", "web", { now: 65 * S, output: "wide" }).stdout).toBe(
      "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR\n" +
      "web    5/5     5            5           65s   web          nginx:1.25   app=web\n",
    );
    const pods = kubectlGet(state, "pods", undefined, { now: 65 * S, output: "wide" }).stdout.split("\n");
    expect(pods[0]).toBe("NAME                   READY   STATUS    RESTARTS   AGE   IP           NODE          NOMINATED NODE   READINESS GATES");
    expect(pods[1]).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}   1\/1     Running   0          65s   10\.244\.1\.2   kind-worker   <none>           <none>$/);
  });

  it("services: NodePort ports and allocated node ports; endpoints truncated after 3", () => {
    expect(kubectlGet(state, "svc", undefined, { now: 3 * 3600 * S, output: "wide" }).stdout).toBe(
      "NAME   TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)                     AGE   SELECTOR\n" +
      "web    NodePort   10.96.0.2    <none>        80:30000/TCP,53:30053/UDP   3h    app=web\n",
    );
    expect(kubectlGet(state, "ep", "web", { now: 0 }).stdout).toBe(
      "NAME   ENDPOINTS                                               AGE\n" +
      "web    10.244.1.2:80,10.244.1.3:80,10.244.1.4:80 + 7 more...   0s\n",
    );
  });

  it("terminating pods show Terminating", () => {
    const s2 = applyRecipes(state, (d) => deletePod(d, Object.keys(d.pods)[0]!, 10 * S));
    const lines = kubectlGet(s2, "po", undefined, { now: 11 * S }).stdout.split("\n");
    expect(lines.filter((l) => l.includes("   Terminating   "))).toHaveLength(1);
    expect(lines[0]).toBe("NAME                   READY   STATUS        RESTARTS   AGE");
  });

  it("messages: not found, no resources, unknown resource type", () => {
    expect(kubectlGet(state, "svc", "nope", { now: 0 })).toEqual({ stdout: "", stderr: 'Error from server (NotFound): services "nope" not found\n', exitCode: 1 });
    expect(kubectlGet(state, "deploy", "nope", { now: 0 }).stderr).toBe('Error from server (NotFound): deployments.apps "nope" not found\n');
    expect(kubectlGet(state, "po", undefined, { now: 0, namespace: "kube-system" })).toEqual({ stdout: "", stderr: "No resources found in kube-system namespace.\n", exitCode: 0 });
    expect(kubectlGet(state, "widgets", undefined, { now: 0 })).toEqual({ stdout: "", stderr: 'error: the server doesn\'t have a resource type "widgets"\n', exitCode: 1 });
  });
});

describe("-o yaml / -o json", () => {
  it("renders the object as the API would return it", () => {
    const y = kubectlGet(state, "svc", "web", { now: 0, output: "yaml", epochSeconds: 1569456725 }).stdout;
    expect(y).toContain('creationTimestamp: "2019-09-26T00:12:05Z"\n');
    expect(y).toContain("ports:\n  - name: http\n    nodePort: 30000\n");
    const obj = parseYaml(y);
    expect(obj).toMatchObject({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.96.0.2", type: "NodePort", selector: { app: "web" } } });
    const j = JSON.parse(kubectlGet(state, "deploy", undefined, { now: 0, output: "json" }).stdout);
    expect(j.kind).toBe("List");
    expect(j.items[0]).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", spec: { replicas: 5 }, status: { readyReplicas: 5, replicas: 5 } });
    const pod = JSON.parse(kubectlGet(state, "po", Object.values(state.pods)[0]!.meta.name, { now: 0, output: "json" }).stdout);
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: "ReplicaSet", controller: true });
    expect(pod.status).toMatchObject({ phase: "Running", hostIP: "172.18.0.2", podIPs: [{ ip: pod.status.podIP }] });
    expect(pod.status.podIP).toMatch(/^10\.244\.1\.\d+$/);
  });
  it("rfc3339", () => {
    expect(rfc3339(0)).toBe("1970-01-01T00:00:00Z");
    expect(rfc3339(951782400)).toBe("2000-02-29T00:00:00Z");
  });
});
