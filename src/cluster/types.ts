/**
 * Cluster state: the Kubernetes objects svcsim models, as plain immutable data (changed only with
 * immer recipes in ./recipes.ts). Fields follow the Kubernetes API names so that manifests map
 * onto them directly; only what svcsim simulates is kept.
 *
 * Maps are keyed "namespace/name" (nodes by name). Iterate with sortedValues() for canonical order.
 *
 * Time: SimTime is integer nanoseconds of simulated time (see engine/time.ts); it is repeated here
 * as a plain number so cluster/ does not depend on engine/.
 */
import type { K8sProtocol } from "../net/packet.ts";

export type Nanos = number;
export type Labels = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly uid: string;
  readonly creationTimestamp: Nanos;
  /** Set when deletion was requested (graceful deletion in progress). */
  readonly deletionTimestamp?: Nanos;
  readonly deletionGracePeriodSeconds?: number;
  /** "Kind/name" of the controlling owner, e.g. "ReplicaSet/hostnames-85bc9c579". */
  readonly ownerRef?: string;
}

export interface NodeState {
  readonly name: string;
  /** InternalIP, dotted quad. */
  readonly ip: string;
  readonly podCIDR: string;
  readonly zone?: string;
  /** NodeReady condition as the control plane sees it. */
  readonly ready: boolean;
  /** Whether the machine is actually up (a node can be down while still marked Ready). */
  readonly up: boolean;
  readonly labels: Labels;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: K8sProtocol;
}

export interface Probe {
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
  /** What is probed (httpGet/tcpSocket port), informational: svcsim models the probe's result. */
  readonly port?: number | string;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly ports: readonly ContainerPort[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  /** preStop hook modelled as a sleep of this many seconds (exec sleep / sleep action). */
  readonly preStopSleepSeconds?: number;
}

export interface PodTemplate {
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly containers: readonly Container[];
  readonly terminationGracePeriodSeconds: number; // default 30
  readonly restartPolicy: "Always" | "OnFailure" | "Never";
}

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

export interface PodState {
  readonly meta: ObjectMeta;
  readonly spec: PodTemplate & { readonly nodeName: string };
  readonly status: {
    readonly phase: PodPhase;
    readonly podIP: string; // "" until assigned
    /** Ready condition (all containers ready and readiness probes passing). */
    readonly ready: boolean;
    /** Container started and process running (false while crashed / restarting). */
    readonly running: boolean;
    readonly restartCount: number;
    readonly startTime?: Nanos;
  };
}

export interface DeploymentState {
  readonly meta: ObjectMeta;
  readonly spec: {
    readonly replicas: number;
    readonly selector: Labels; // matchLabels
    readonly template: PodTemplate;
    readonly strategy: { readonly type: "RollingUpdate" | "Recreate"; readonly maxSurge: number | string; readonly maxUnavailable: number | string };
    readonly minReadySeconds: number;
  };
}

export interface ReplicaSetState {
  readonly meta: ObjectMeta; // ownerRef "Deployment/<name>"
  readonly spec: { readonly replicas: number; readonly selector: Labels; readonly template: PodTemplate };
  /** The pod-template-hash label value (also the name suffix). */
  readonly podTemplateHash: string;
}

export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";

export interface ServicePort {
  /** "" when the port is unnamed. */
  readonly name: string;
  readonly protocol: K8sProtocol;
  readonly port: number;
  /** Number, or the name of a container port. */
  readonly targetPort: number | string;
  readonly nodePort?: number;
}

export interface ServiceState {
  readonly meta: ObjectMeta;
  readonly spec: {
    readonly type: ServiceType;
    readonly clusterIP: string; // "None" for headless
    /** Absent for selector-less Services (endpoints managed by hand). */
    readonly selector?: Labels;
    readonly ports: readonly ServicePort[];
    readonly sessionAffinity: "None" | "ClientIP";
    readonly sessionAffinityTimeoutSeconds: number; // default 10800
    readonly externalIPs: readonly string[];
    readonly externalTrafficPolicy: "Cluster" | "Local";
    readonly internalTrafficPolicy: "Cluster" | "Local";
    readonly loadBalancerSourceRanges: readonly string[];
    readonly healthCheckNodePort?: number;
  };
  readonly status: { readonly loadBalancerIngressIPs: readonly string[] };
}

export interface EndpointConditions {
  /** Absent counts as true (kube-proxy semantics). */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export interface Endpoint {
  readonly addresses: readonly string[];
  readonly conditions: EndpointConditions;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hints?: { readonly forZones: readonly string[] };
  readonly targetRef?: { readonly kind: "Pod"; readonly namespace: string; readonly name: string };
}

export interface EndpointSlicePort {
  readonly name: string; // "" when unnamed
  readonly port: number;
  readonly protocol: K8sProtocol;
}

export interface EndpointSliceState {
  readonly meta: ObjectMeta; // labels["kubernetes.io/service-name"] names the Service
  readonly serviceName: string;
  readonly addressType: "IPv4";
  readonly ports: readonly EndpointSlicePort[];
  readonly endpoints: readonly Endpoint[];
  /** True when written by the EndpointSlice controller; false for hand-written slices. */
  readonly managed: boolean;
}

export interface ClusterNetwork {
  readonly serviceCIDR: string;
  readonly clusterCIDR: string;
  readonly clusterDomain: string; // "cluster.local"
}

export interface ClusterState {
  readonly network: ClusterNetwork;
  readonly nodes: Readonly<Record<string, NodeState>>;
  readonly deployments: Readonly<Record<string, DeploymentState>>;
  readonly replicaSets: Readonly<Record<string, ReplicaSetState>>;
  readonly pods: Readonly<Record<string, PodState>>;
  readonly services: Readonly<Record<string, ServiceState>>;
  readonly endpointSlices: Readonly<Record<string, EndpointSliceState>>;
  /** Scenario pins (svcsim-only); absent means none. */
  readonly pins?: ClusterPins;
}

export function objKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Values of a keyed map in canonical (key-sorted, bytewise) order. */
export function sortedValues<T>(m: Readonly<Record<string, T>>): T[] {
  return Object.keys(m)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => m[k] as T);
}

/**
 * Scenario pins (svcsim-only, not a Kubernetes object): names, IPs and nodes that a documented
 * cluster used, so it can be reproduced exactly. A pod pin is claimed by the first ReplicaSet
 * pod created under that name and never reused afterwards (real names are never reused either).
 */
export interface PodPin {
  readonly namespace: string;
  readonly name: string;
  readonly ip?: string;
  readonly node?: string;
  /** Deployment the pinned pod belongs to (default: the one whose ReplicaSet name prefixes it). */
  readonly deployment?: string;
  readonly claimed: boolean;
}

/** "When a Deployment's template hashes to `computed`, call it `pinned`" (e.g. the seed's 85bc9c579). */
export interface TemplateHashPin {
  readonly computed: string;
  readonly pinned: string;
}

export interface ClusterPins {
  /** Keyed "namespace/podName". */
  readonly pods: Readonly<Record<string, PodPin>>;
  /** Keyed by Deployment "namespace/name". */
  readonly templateHashes: Readonly<Record<string, TemplateHashPin>>;
}
