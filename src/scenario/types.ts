/**
 * The validated scenario, with every default filled in. All durations are integer nanoseconds of
 * simulated time (the engine's SimTime unit). Each list item keeps `loc`, the place in the user's
 * file it came from, so later stages (traffic, timeline, expectations) can report errors there.
 */
import type { InputErrorLocation } from "../errors.ts";
import type { DeploymentInput, EndpointSliceInput, EndpointsInput, NodeInput, PodInput, ServiceInput } from "../cluster/recipes.ts";
import type { ControlTimelineEvent } from "../control/timeline.ts";
import type { KubeProxyConfig } from "../kubeproxy/types.ts";
import type { Probe } from "../cluster/types.ts";
import type { CONTROL_PLANE_DURATIONS, EXPECTATION_METRICS, TIMELINE_ACTIONS } from "./schema.ts";

export type Nanos = number;

export type ScenarioObject =
  | { readonly kind: "Deployment"; readonly input: DeploymentInput; readonly loc: InputErrorLocation }
  | { readonly kind: "Service"; readonly input: ServiceInput; readonly loc: InputErrorLocation }
  | { readonly kind: "Pod"; readonly input: PodInput; readonly loc: InputErrorLocation }
  | { readonly kind: "EndpointSlice"; readonly input: EndpointSliceInput; readonly loc: InputErrorLocation }
  | { readonly kind: "Endpoints"; readonly input: EndpointsInput; readonly loc: InputErrorLocation };

export interface PodPinSpec {
  readonly name: string;
  readonly namespace: string;
  readonly ip?: string;
  readonly node?: string;
  /** The Deployment (given or inferred from the name) or undefined for a standalone Pod. */
  readonly deployment?: string;
  /** The pod-template-hash part of the name, for Deployment pods. */
  readonly templateHash?: string;
  readonly loc: InputErrorLocation;
}

export type ServiceTime =
  | { readonly distribution: "constant"; readonly valueNs: Nanos }
  | { readonly distribution: "exponential"; readonly meanNs: Nanos }
  | { readonly distribution: "lognormal"; readonly medianNs: Nanos; readonly sigma: number }
  | { readonly distribution: "uniform"; readonly minNs: Nanos; readonly maxNs: Nanos };

export interface AppSpec {
  /** Image reference; without a tag it matches every tag of that image. */
  readonly image: string;
  readonly app: "serve_hostname" | "http-echo";
  /** http-echo's -text (default: "hello"). */
  readonly text?: string;
  /** Default: constant 0. */
  readonly serviceTime: ServiceTime;
  /**
   * SIGTERM handling of the app's process: exit at once (absent or exitAfterNs 0), drain for
   * exitAfterNs (listener closed, in-flight requests finished, keep-alive connections closed) then
   * exit, or "ignore" (keeps serving until SIGKILL at the end of the grace period).
   */
  readonly onSigterm?: { readonly exitAfterNs: Nanos } | "ignore";
  readonly loc: InputErrorLocation;
}

export type ClientFrom =
  | { readonly kind: "node"; readonly node: string }
  | { readonly kind: "pod"; readonly namespace: string; readonly pod: string }
  | { readonly kind: "external"; readonly ip: string };

export interface ClientTarget {
  /** As written. */
  readonly text: string;
  /** IP address or DNS name as written (without scheme, port and path). */
  readonly host: string;
  readonly port: number;
  /** HTTP path ("/" by default). */
  readonly path: string;
  /** What the target names: a Service port (by cluster IP, external IP or DNS name) or a plain address. */
  readonly resolved:
    | { readonly kind: "service"; readonly namespace: string; readonly name: string; readonly portName: string; readonly ip: string }
    | { readonly kind: "ip"; readonly ip: string };
}

export interface ClientSpec {
  readonly name: string;
  readonly from: ClientFrom;
  readonly target: ClientTarget;
  /** Total requests (closed loop), when given. Default when neither requests, rate nor duration is given: 1. */
  readonly requests?: number;
  /** Open loop: requests per second (Poisson arrivals are the traffic layer's choice). */
  readonly rate?: number;
  /** Closed loop: requests in flight (default 1 when rate is not given). */
  readonly concurrency?: number;
  /** TCP (curl-like HTTP requests, the default) or UDP (one datagram and its answer per request; traffic/udp.ts). */
  readonly protocol?: "TCP" | "UDP";
  /** UDP: send every query from one socket (one source port) instead of a fresh socket per query. */
  readonly reusePort?: boolean;
  /** Reuse connections (default false: one connection per request, like separate curl runs). */
  readonly keepAlive: boolean;
  readonly requestsPerConnection?: number;
  /** Default 10s (curl's own default is 300s; svcsim shortens it so blackholes show up quickly). */
  readonly connectTimeoutNs: Nanos;
  /** Default 30s. */
  readonly requestTimeoutNs: Nanos;
  readonly startNs: Nanos;
  readonly durationNs?: Nanos;
  readonly loc: InputErrorLocation;
}

export type TimelineAction = (typeof TIMELINE_ACTIONS)[number];

/** A timeline step as the control plane plays it (control/timeline.ts), plus where it was written. */
export type TimelineEvent = ControlTimelineEvent & { readonly loc: InputErrorLocation };

export type ControlPlaneDuration = (typeof CONTROL_PLANE_DURATIONS)[number];

/** The scenario's `controlPlane:` overrides (durations in ns, keyed by the scenario's names). */
export type ControlPlaneSpec = { readonly [K in ControlPlaneDuration]?: Nanos } & { readonly defaultReadinessProbe?: Probe };

export type ExpectationMetric = (typeof EXPECTATION_METRICS)[number];

export interface Expectation {
  readonly metric: ExpectationMetric;
  readonly op: ">" | ">=" | "<" | "<=" | "==";
  readonly value: number;
  /** Pod name or IP (endpoint.* metrics). */
  readonly endpoint?: string;
  /** Restrict to one client's requests. */
  readonly client?: string;
  /** Allowed absolute deviation for "==" (default 0). */
  readonly tolerance: number;
  readonly loc: InputErrorLocation;
}

export interface Scenario {
  /** The scenario file as given. */
  readonly file: string;
  readonly metadata: { readonly name: string; readonly description: string };
  readonly cluster: {
    readonly serviceCIDR: string;
    readonly clusterCIDR: string;
    readonly clusterDomain: string;
    readonly nodes: readonly NodeInput[];
  };
  readonly kubeProxy: KubeProxyConfig;
  /** Kubernetes objects from `manifests`, in the order they were written (files expanded in place). */
  readonly objects: readonly ScenarioObject[];
  readonly pin: { readonly pods: readonly PodPinSpec[] };
  readonly apps: readonly AppSpec[];
  readonly clients: readonly ClientSpec[];
  readonly timeline: readonly TimelineEvent[];
  /** Overrides of the control plane's delays (absent: Kubernetes' defaults). */
  readonly controlPlane?: ControlPlaneSpec;
  readonly expectations: readonly Expectation[];
  readonly run: {
    readonly seed: number;
    /** Absent: until every client has finished (and the timeline has played). */
    readonly durationNs?: Nanos;
    /** Reporting interval for time series (default 1s). */
    readonly intervalNs: Nanos;
  };
}
