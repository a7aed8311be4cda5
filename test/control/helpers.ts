/**
 * Test kit for the timed control plane: a small cluster (nodes, one Deployment behind one
 * Service), a ControlPlane on a fresh Simulation, each node's rules restored into a real Netfilter
 * (so every payload must be a valid iptables-restore input), and readers of the trace.
 */
import { Simulation } from "../../src/engine/sim.ts";
import { RngRoot } from "../../src/engine/rng.ts";
import { Trace, type TraceRecord } from "../../src/engine/trace.ts";
import { SECOND } from "../../src/engine/time.ts";
import { addNode, applyDeployment, applyRecipes, applyService, convergeCluster, emptyClusterState, type DeploymentInput, type ServiceInput } from "../../src/cluster/recipes.ts";
import type { ClusterState, PodTemplate, Probe } from "../../src/cluster/types.ts";
import { defaultKubeProxyConfig } from "../../src/kubeproxy/config.ts";
import type { KubeProxyConfig, ProfileName } from "../../src/kubeproxy/types.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import type { ConntrackFilter } from "../../src/netfilter/conntrack.ts";
import { ControlPlane, type PodRuntime } from "../../src/control/controlplane.ts";
import type { ControlPlaneConfig } from "../../src/control/config.ts";
import type { RulesInstall } from "../../src/control/kubeproxy.ts";

export const S = SECOND;
export const MS = 1_000_000;
const net = { serviceCIDR: "10.96.0.0/16", clusterCIDR: "10.244.0.0/16", clusterDomain: "cluster.local" };

export interface ClusterOpts {
  nodes?: number;
  replicas?: number;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  preStopSleepSeconds?: number;
  grace?: number;
  restartPolicy?: PodTemplate["restartPolicy"];
  protocol?: "TCP" | "UDP";
  seed?: number | string;
}

export function buildCluster(o: ClusterOpts, rng: RngRoot): ClusterState {
  const names = rng.stream("cluster/names");
  const template: PodTemplate = {
    labels: { app: "web" },
    annotations: {},
    containers: [{
      name: "web", image: "registry.k8s.io/serve_hostname:v1.4",
      ports: [{ containerPort: 9376, protocol: o.protocol ?? "TCP" }],
      ...(o.readinessProbe ? { readinessProbe: o.readinessProbe } : {}),
      ...(o.livenessProbe ? { livenessProbe: o.livenessProbe } : {}),
      ...(o.preStopSleepSeconds !== undefined ? { preStopSleepSeconds: o.preStopSleepSeconds } : {}),
    }],
    terminationGracePeriodSeconds: o.grace ?? 30,
    restartPolicy: o.restartPolicy ?? "Always",
  };
  const dep: DeploymentInput = { name: "web", namespace: "default", spec: { replicas: o.replicas ?? 3, selector: { app: "web" }, template, strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" }, minReadySeconds: 0 } };
  const svc: ServiceInput = {
    name: "web", namespace: "default",
    spec: { type: "ClusterIP", selector: { app: "web" }, ports: [{ name: "", protocol: o.protocol ?? "TCP", port: 80, targetPort: 9376 }], sessionAffinity: "None", sessionAffinityTimeoutSeconds: 10800, externalIPs: [], externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster", loadBalancerSourceRanges: [] },
  };
  return applyRecipes(emptyClusterState(net), (d) => {
    for (let i = 0; i < (o.nodes ?? 2); i++) addNode(d, { name: `node-${String.fromCharCode(97 + i)}`, ip: `192.168.0.${11 + i}`, podCIDR: `10.244.${i + 1}.0/24` });
    applyDeployment(d, dep, 0);
    applyService(d, svc, 0);
    convergeCluster(d, { now: 0, rand: () => names.next() });
  });
}

export interface Harness {
  sim: Simulation;
  trace: Trace;
  cp: ControlPlane;
  netfilters: Map<string, Netfilter>;
  installs: RulesInstall[];
  conntrackCalls: { node: string; filter: ConntrackFilter; command: string; time: number }[];
  runtime: { time: number; pod: PodRuntime }[];
  nodeEvents: { time: number; node: string; up: boolean }[];
  records: () => readonly TraceRecord[];
  podKeys: () => string[];
  podIP: (key: string) => string;
}

export function harness(o: ClusterOpts & { config?: Partial<ControlPlaneConfig>; kubeProxy?: Partial<KubeProxyConfig>; profile?: ProfileName } = {}): Harness {
  const rng = new RngRoot(o.seed ?? 1);
  const state = buildCluster(o, rng);
  const sim = new Simulation();
  const trace = new Trace();
  const netfilters = new Map<string, Netfilter>();
  const installs: RulesInstall[] = [];
  const conntrackCalls: Harness["conntrackCalls"] = [];
  const kp = { ...defaultKubeProxyConfig(o.profile ?? "current", net.clusterCIDR), ...(o.kubeProxy ?? {}) };
  const cp = new ControlPlane({
    sim, rng, trace, state, kubeProxy: kp, ...(o.config ? { config: o.config } : {}),
    install: (i) => {
      installs.push(i);
      if (i.first) netfilters.set(i.node, new Netfilter());
      const nf = netfilters.get(i.node)!;
      nf.restore(i.rules.filter, { noflush: true });
      nf.restore(i.rules.nat, { noflush: true });
    },
    // pretends one matching entry per call (the data plane's ConntrackTable.delete counts real ones)
    conntrackDelete: (node, filter, command, time) => (conntrackCalls.push({ node, filter, command, time }), 1),
  });
  const runtime: Harness["runtime"] = [];
  const nodeEvents: Harness["nodeEvents"] = [];
  cp.onPodRuntimeChange((pod, time) => runtime.push({ time, pod }));
  cp.onNodeChange((node, up, time) => nodeEvents.push({ time, node, up }));
  return {
    sim, trace, cp, netfilters, installs, conntrackCalls, runtime, nodeEvents,
    records: () => trace.records(),
    podKeys: () => Object.keys(cp.state.pods).sort(),
    podIP: (k) => cp.state.pods[k]!.status.podIP,
  };
}
