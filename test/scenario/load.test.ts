/**
 * Scenario loading: every bad input is one line "file:line:col: field: detail" (spec table), files
 * and inline manifests point into the right text, defaults are filled, warnings are reported.
 */
import { describe, expect, it } from "vitest";
import { InputError, formatWarning } from "../../src/errors.ts";
import { loadScenario, loadScenarioText } from "../../src/scenario/load.ts";

/** A valid scenario; rows below break one thing each (line numbers refer to this text). */
const BASE = `apiVersion: svcsim/v1
kind: Scenario
metadata:
  name: t
cluster:
  serviceCIDR: 10.0.0.0/16
  clusterCIDR: 10.1.0.0/16
  nodes:
  - name: node-1
    ip: 192.168.0.11
    podCIDR: 10.1.1.0/24
  - name: node-2
    ip: 192.168.0.12
    podCIDR: 10.1.2.0/24
kubeProxy:
  profile: v1.16
manifests:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    replicas: 2
    selector:
      matchLabels:
        app: web
    template:
      metadata:
        labels:
          app: web
      spec:
        containers:
        - name: web
          image: example/web:1
          ports:
          - name: http
            containerPort: 8080
- apiVersion: v1
  kind: Service
  metadata:
    name: web
  spec:
    clusterIP: 10.0.0.10
    selector:
      app: web
    ports:
    - port: 80
      targetPort: http
pin:
  pods:
  - name: web-7d9f8-bcdfg
    ip: 10.1.1.5
    node: node-1
apps:
- image: example/web
  app: http-echo
clients:
- name: c1
  from: node/node-1
  target: web:80
`;

function load(text: string, files: Record<string, string> = {}) {
  return loadScenarioText(text, "s.yaml", {
    readFile: (p) => {
      const key = p.replace(/^.*\//, "");
      if (files[key] === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return files[key]!;
    },
  });
}

function errorOf(text: string, files: Record<string, string> = {}): string {
  try {
    load(text, files);
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  return "(no error)";
}

const rep = (from: string, to: string) => {
  if (!BASE.includes(from)) throw new Error(`test bug: "${from}" not in BASE`);
  return BASE.replace(from, to);
};

const rows: { name: string; text: string; files?: Record<string, string>; expect: string }[] = [
  { name: "YAML syntax error", text: rep("  name: t\n", "  name: [t\n"), expect: "s.yaml:5:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]" },
  { name: "duplicate key", text: rep("  name: t\n", "  name: t\n  name: u\n"), expect: "s.yaml:5:3: YAML syntax error: Map keys must be unique" },
  { name: "wrong apiVersion", text: rep("svcsim/v1", "svcsim/v2"), expect: 's.yaml:1:13: apiVersion: expected "svcsim/v1", got string "svcsim/v2"' },
  { name: "unknown top-level field", text: rep("pin:\n", "pins:\n"), expect: "s.yaml:49:1: pins: unknown field \"pins\" — expected one of apiVersion, apps, clients, cluster, controlPlane, expectations, kind, kubeProxy, manifests, metadata, pin, run, timeline" },
  { name: "unknown manifest field (kubectl --validate=strict)", text: rep("    replicas: 2\n", "    replica: 2\n"), expect: 's.yaml:23:5: manifests[0].spec.replica: unknown field "replica" — expected one of minReadySeconds, paused, progressDeadlineSeconds, replicas, revisionHistoryLimit, selector, strategy, template' },
  { name: "wrong type", text: rep("    replicas: 2\n", '    replicas: "2"\n'), expect: 's.yaml:23:15: manifests[0].spec.replicas: expected an integer, got string "2"' },
  { name: "missing required field", text: rep("          image: example/web:1\n", ""), expect: 's.yaml:33:11: manifests[0].spec.template.spec.containers[0].image: missing required field "image"' },
  { name: "unknown kube-proxy profile", text: rep("profile: v1.16", "profile: v1.29"), expect: 's.yaml:16:12: kubeProxy.profile: expected one of "v1.16", "current", got string "v1.29"' },
  { name: "bad CIDR", text: rep("serviceCIDR: 10.0.0.0/16", "serviceCIDR: 10.0.0/16"), expect: 's.yaml:6:16: cluster.serviceCIDR: expected an IPv4 CIDR such as 10.0.0.0/16, got string "10.0.0/16"' },
  { name: "CIDR with host bits", text: rep("clusterCIDR: 10.1.0.0/16", "clusterCIDR: 10.1.0.1/16"), expect: "s.yaml:7:16: cluster.clusterCIDR: 10.1.0.1/16 has host bits set — did you mean 10.1.0.0/16?" },
  { name: "bad node IP", text: rep("ip: 192.168.0.12", "ip: 192.168.0.300"), expect: 's.yaml:13:9: cluster.nodes[1].ip: expected an IPv4 address such as 10.1.0.5, got string "192.168.0.300"' },
  { name: "duplicate node name", text: rep("name: node-2", "name: node-1"), expect: 's.yaml:12:11: cluster.nodes[1].name: duplicate node name "node-1" (also cluster.nodes[0])' },
  { name: "duplicate node IP", text: rep("ip: 192.168.0.12", "ip: 192.168.0.11"), expect: "s.yaml:13:9: cluster.nodes[1].ip: duplicate node IP 192.168.0.11 (also cluster.nodes[0])" },
  { name: "podCIDR outside clusterCIDR", text: rep("podCIDR: 10.1.2.0/24", "podCIDR: 10.2.2.0/24"), expect: "s.yaml:14:14: cluster.nodes[1].podCIDR: 10.2.2.0/24 is outside cluster.clusterCIDR 10.1.0.0/16" },
  { name: "pinned pod IP outside its node's podCIDR", text: rep("ip: 10.1.1.5", "ip: 10.1.2.5"), expect: "s.yaml:52:9: pin.pods[0].ip: 10.1.2.5 is outside the podCIDR of node node-1 (10.1.1.0/24)" },
  { name: "pin naming no deployment", text: rep("- name: web-7d9f8-bcdfg", "- name: api-7d9f8-bcdfg"), expect: 's.yaml:51:11: pin.pods[0].name: pod pin "api-7d9f8-bcdfg" names no Pod manifest and is not "<deployment>-<pod-template-hash>-<5 chars>" for a Deployment in namespace default' },
  { name: "pin on unknown node", text: rep("node: node-1\napps", "node: node-9\napps"), expect: 's.yaml:53:11: pin.pods[0].node: no node named "node-9" in cluster.nodes' },
  { name: "clusterIP outside serviceCIDR", text: rep("clusterIP: 10.0.0.10", "clusterIP: 10.96.0.10"), expect: "s.yaml:43:16: manifests[1].spec.clusterIP: 10.96.0.10 is outside cluster.serviceCIDR 10.0.0.0/16" },
  { name: "clusterIP of the kubernetes Service", text: rep("clusterIP: 10.0.0.10", "clusterIP: 10.0.0.1"), expect: 's.yaml:43:16: manifests[1].spec.clusterIP: 10.0.0.1 is reserved for the "kubernetes" Service (the first address of cluster.serviceCIDR)' },
  { name: "targetPort name no container declares", text: rep("targetPort: http", "targetPort: https"), expect: 's.yaml:48:19: manifests[1].spec.ports[0].targetPort: no container of the pods selected by app=web declares a TCP port named "https" (declared: http=8080/TCP)' },
  { name: "selector does not match template", text: rep("        app: web\n    template", "        app: webx\n    template"), expect: "s.yaml:26:9: manifests[0].spec.selector.matchLabels: selector does not match template labels: app=webx is not in spec.template.metadata.labels (app=web)" },
  { name: "duplicate object", text: rep("pin:\n", "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: web\n  spec: {}\npin:\n"), expect: 's.yaml:52:11: manifests[2].metadata.name: duplicate Service "default/web" (first defined at s.yaml:38)' },
  { name: "client from unknown node", text: rep("from: node/node-1", "from: node/node-7"), expect: 's.yaml:59:9: clients[0].from: no node named "node-7" in cluster.nodes (nodes: node-1, node-2)' },
  { name: "client from unknown pod", text: rep("from: node/node-1", "from: pod/web-xyz"), expect: 's.yaml:59:9: clients[0].from: no pod named "web-xyz" — pods are known by name when pinned under pin.pods (generated names depend on the seed) or written as Pod manifests' },
  { name: "client target resolving to nothing (service name)", text: rep("target: web:80", "target: api:80"), expect: 's.yaml:60:11: clients[0].target: no Service "api" in namespace default' },
  { name: "client target resolving to nothing (cluster IP)", text: rep("target: web:80", "target: 10.0.0.99"), expect: 's.yaml:60:11: clients[0].target: no Service has cluster IP 10.0.0.99 — only Services that pin spec.clusterIP have a cluster IP known before the run; name the Service instead (e.g. "hostnames:80")' },
  { name: "client target port the Service lacks", text: rep("target: web:80", "target: http://web.default.svc.cluster.local:8080/x"), expect: 's.yaml:60:11: clients[0].target: Service "default/web" has no TCP port 8080 (ports: 80/TCP)' },
  { name: "negative rate", text: rep("target: web:80\n", "target: web:80\n  rate: -5\n"), expect: "s.yaml:61:9: clients[0].rate: expected a value > 0, got number -5" },
  { name: "duplicate client", text: BASE + "- name: c1\n  from: node/node-2\n  target: web\n", expect: 's.yaml:61:9: clients[1].name: duplicate client name "c1" (also clients[0])' },
  { name: "image no app simulates, with clients", text: rep("- image: example/web\n", "- image: example/api\n"), expect: 's.yaml:34:18: manifests[0].spec.template.spec.containers[0].image: no app simulates image "example/web:1" — add {image: "example/web:1", app: serve_hostname|http-echo} under apps' },
  { name: "bad duration", text: rep("profile: v1.16\n", "profile: v1.16\n  syncPeriod: 30\n"), expect: "s.yaml:17:15: kubeProxy.syncPeriod: expected a duration such as \"500ms\", \"1s\" or \"1m30s\", got number 30" },
  { name: "timeline action with a missing argument", text: BASE + "timeline:\n- at: 5s\n  action: scale\n  deployment: web\n", expect: 's.yaml:62:3: timeline[0].replicas: missing required field "replicas"' },
  { name: "timeline unknown action", text: BASE + "timeline:\n- at: 5s\n  action: explode\n", expect: 's.yaml:63:11: timeline[0].action: expected one of "deletePod", "killPod", "failReadiness", "hangPod", "nodeDown", "nodeUp", "scale", "rollout", got string "explode"' },
  { name: "expectation operator", text: BASE + "expectations:\n- metric: requests.failed\n  op: '='\n  value: 0\n", expect: 's.yaml:63:7: expectations[0].op: expected one of ">", ">=", "<", "<=", "==", got string "="' },
  { name: "manifest file missing", text: rep("manifests:\n", "manifests:\n- file: m.yaml\n"), expect: 's.yaml:18:9: manifests[0].file: cannot read "m.yaml": no such file (looked for m.yaml)' },
  {
    name: "error inside a manifest file points into that file",
    text: rep("manifests:\n", "manifests:\n- file: m.yaml\n"),
    files: { "m.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: other\nspec:\n  ports:\n  - port: 80\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: third\nspec:\n  ports:\n  - port: 80\n    targetPort: 9376\n    protocl: TCP\n" },
    expect: 'm.yaml:17:5: spec.ports[0].protocl: unknown field "protocl" — expected one of appProtocol, name, nodePort, port, protocol, targetPort',
  },
  {
    name: "error inside an inline multi-document string is mapped to the scenario",
    text: rep("manifests:\n", "manifests:\n- inline: |\n    apiVersion: v1\n    kind: Service\n    metadata:\n      name: x\n    spec: {}\n    ---\n    apiVersion: v1\n    kind: Servise\n    metadata:\n      name: y\n"),
    expect: 's.yaml:26:11: manifests[0].inline[1].kind: expected one of "Deployment", "Service", "EndpointSlice", "Endpoints", "Pod", got string "Servise"',
  },
];

describe("scenario errors", () => {
  it("has at least 15 error rows", () => expect(rows.length).toBeGreaterThanOrEqual(15));
  it("the base scenario is valid", () => expect(errorOf(BASE)).toBe("(no error)"));
  it.each(rows)("$name", ({ text, files, expect: want }) => {
    expect(errorOf(text, files)).toBe(want);
  });
});

describe("defaults and warnings", () => {
  it("fills defaults", () => {
    const { scenario } = load(BASE);
    expect(scenario.cluster.clusterDomain).toBe("cluster.local");
    expect(scenario.kubeProxy).toMatchObject({ mode: "iptables", profile: "v1.16", clusterCIDR: "10.1.0.0/16", minSyncPeriodMs: 0, syncPeriodMs: 30000, masqueradeBit: 14, masqueradeAll: false });
    const c = scenario.clients[0]!;
    expect(c).toMatchObject({ requests: 1, concurrency: 1, keepAlive: false, connectTimeoutNs: 10e9, requestTimeoutNs: 30e9, startNs: 0 });
    expect(c.target).toEqual({ text: "web:80", host: "web", port: 80, path: "/", resolved: { kind: "service", namespace: "default", name: "web", portName: "", ip: "10.0.0.10" } });
    expect(scenario.run).toEqual({ seed: 1, intervalNs: 1e9 });
    const svc = scenario.objects.find((o) => o.kind === "Service")!;
    expect(svc.kind === "Service" && svc.input.spec.ports[0]).toEqual({ name: "", protocol: "TCP", port: 80, targetPort: "http" });
    expect(scenario.pin.pods[0]).toMatchObject({ name: "web-7d9f8-bcdfg", deployment: "web", templateHash: "7d9f8", ip: "10.1.1.5", node: "node-1" });
  });

  it("current profile defaults minSyncPeriod to 1s", () => {
    expect(load(rep("profile: v1.16", "profile: current")).scenario.kubeProxy.minSyncPeriodMs).toBe(1000);
  });

  it("warns (does not fail) for a Service that selects no pod", () => {
    const { warnings } = load(rep("    selector:\n      app: web\n    ports", "    selector:\n      app: nothing\n    ports"));
    expect(warnings.map(formatWarning)).toEqual([
      "warning: s.yaml:45:7: manifests[1].spec.selector: Service \"default/web\" selects no pod (app=nothing matches no Deployment template or Pod): it has no endpoints",
    ]);
  });

  it("an image without an app is only a warning when there are no clients", () => {
    const text = rep("- image: example/web\n", "- image: example/api\n").replace(/clients:[\s\S]*$/, "");
    const { warnings } = load(text);
    expect(warnings.map((w) => w.detail)).toEqual(['no app simulates image "example/web:1" — add {image: "example/web:1", app: serve_hostname|http-echo} under apps']);
  });

  it("parses durations, timeline and expectations typed", () => {
    const { scenario } = load(BASE + "timeline:\n- at: 1m30s\n  action: deletePod\n  pod: web-7d9f8-bcdfg\n- at: 500ms\n  action: nodeDown\n  node: node-2\nexpectations:\n- metric: endpoint.share\n  op: '>='\n  value: 0.2\n  endpoint: web-7d9f8-bcdfg\nrun:\n  seed: 7\n  duration: 2m\n");
    expect(scenario.timeline.map(({ loc: _l, ...e }) => e)).toEqual([
      { atNs: 90e9, action: "deletePod", namespace: "default", pod: "web-7d9f8-bcdfg" },
      { atNs: 0.5e9, action: "nodeDown", node: "node-2" },
    ]);
    expect(scenario.expectations[0]).toMatchObject({ metric: "endpoint.share", op: ">=", value: 0.2, endpoint: "web-7d9f8-bcdfg", tolerance: 0 });
    expect(scenario.run).toEqual({ seed: 7, durationNs: 120e9, intervalNs: 1e9 });
  });

  it("endpoint metrics need an endpoint", () => {
    expect(errorOf(BASE + "expectations:\n- metric: endpoint.share\n  op: '>='\n  value: 0.2\n")).toBe('s.yaml:62:3: expectations[0].endpoint: missing required field "endpoint"');
  });

  it("loads the shipped default scenario with its manifest file", () => {
    const { scenario, warnings } = loadScenario("scenarios/hostnames-clusterip.yaml");
    expect(warnings).toEqual([]);
    expect(scenario.objects.map((o) => `${o.kind}/${o.input.name}@${o.loc.file}:${o.loc.line}`)).toEqual([
      "Deployment/hostnames@scenarios/manifests/service-via-cluster-ip.yaml:4",
      "Service/hostnames@scenarios/manifests/service-via-cluster-ip.yaml:26",
    ]);
    expect(scenario.clients.map((c) => c.name)).toEqual(["curl", "load"]);
    expect(scenario.clients[0]).toMatchObject({ requests: 4, from: { kind: "node", node: "node-1" }, target: { port: 80, resolved: { kind: "service", name: "hostnames", portName: "default" } } });
    expect(scenario.kubeProxy.profile).toBe("v1.16");
  });
});
