/**
 * JSON Schema (draft-07) of the svcsim scenario format (`apiVersion: svcsim/v1`, `kind: Scenario`)
 * and of the subset of Kubernetes manifests svcsim reads (Deployment apps/v1, Service v1,
 * EndpointSlice discovery.k8s.io/v1, Endpoints v1, Pod v1).
 *
 * Every object is closed (`additionalProperties: false`): an unknown field is an error, as with
 * `kubectl apply --validate=strict`. The manifest schemas list only the fields svcsim models; a
 * real Kubernetes field svcsim ignores is reported as unknown (the message lists what is accepted).
 *
 * `x-expected` is an annotation of ours: the phrase the loader prints when a string does not match
 * the pattern ("expected an IPv4 address such as 10.1.0.5"). Editors ignore it.
 *
 * The committed copy scenarios/scenario.schema.json must equal this object (a test checks it;
 * regenerate with `UPDATE_SCHEMA=1 npx vitest run test/scenario/schema.test.ts`).
 */
import { DURATION_PATTERN } from "./duration.ts";
import { EXPECTATION_METRICS } from "../report/expectations.ts";

export const SCHEMA_ID = "https://svcsim.local/schemas/scenario.schema.json";

const IPV4 = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
const CIDR = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$";
const DNS1123_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

// The metrics are defined where they are measured (report/expectations.ts).
export { EXPECTATION_METRICS };

/** The `controlPlane:` durations a scenario may override (names without the config's "Ns"). */
export const CONTROL_PLANE_DURATIONS = [
  "kubeletWatchDelay",
  "sandboxSetupDelay",
  "containerStartDelay",
  "containerRestartDelay",
  "statusUpdateDelay",
  "sandboxTeardownDelay",
  "plegRelistPeriod",
  "crashLoopInitialBackoff",
  "crashLoopMaxBackoff",
  "endpointSliceDelay",
  "controllerDelay",
  "schedulerDelay",
  "kubeProxyWatchDelay",
  "kubeProxyStartDelay",
  "kubeletStartDelay",
  "nodeHeartbeatPeriod",
  "nodeMonitorPeriod",
  "nodeMonitorGracePeriod",
  "podEvictionTimeout",
] as const;

export const TIMELINE_ACTIONS = ["deletePod", "killPod", "failReadiness", "hangPod", "nodeDown", "nodeUp", "scale", "rollout"] as const;

const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
const obj = (properties: Record<string, unknown>, required: string[] = [], extra: Record<string, unknown> = {}) => ({
  type: "object",
  additionalProperties: false,
  ...(required.length ? { required } : {}),
  properties,
  ...extra,
});
const arr = (items: unknown, extra: Record<string, unknown> = {}) => ({ type: "array", items, ...extra });
const str = { type: "string" };
const bool = { type: "boolean" };
const int = (minimum?: number, maximum?: number) => ({ type: "integer", ...(minimum !== undefined ? { minimum } : {}), ...(maximum !== undefined ? { maximum } : {}) });

const actionArgs: Record<string, { required: string[]; properties: Record<string, unknown> }> = {
  deletePod: { required: ["pod"], properties: { pod: str, gracePeriodSeconds: int(0) } },
  killPod: { required: ["pod"], properties: { pod: str } },
  failReadiness: { required: ["pod"], properties: { pod: str, duration: ref("duration") } },
  hangPod: { required: ["pod"], properties: { pod: str, duration: ref("duration") } },
  nodeDown: { required: ["node"], properties: { node: str } },
  nodeUp: { required: ["node"], properties: { node: str } },
  scale: { required: ["deployment", "replicas"], properties: { deployment: str, namespace: str, replicas: int(0) } },
  rollout: { required: ["deployment"], properties: { deployment: str, namespace: str, image: str } },
};

const k8sKinds: Record<string, { apiVersion: string; def: string }> = {
  Deployment: { apiVersion: "apps/v1", def: "deployment" },
  Service: { apiVersion: "v1", def: "service" },
  EndpointSlice: { apiVersion: "discovery.k8s.io/v1", def: "endpointSlice" },
  Endpoints: { apiVersion: "v1", def: "endpoints" },
  Pod: { apiVersion: "v1", def: "pod" },
};

export const scenarioSchema: Record<string, unknown> = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: SCHEMA_ID,
  title: "svcsim scenario",
  description: "A Kubernetes cluster, its manifests, the traffic to run against it and what to expect (svcsim/v1).",
  type: "object",
  additionalProperties: false,
  required: ["apiVersion", "kind", "cluster"],
  properties: {
    apiVersion: { const: "svcsim/v1" },
    kind: { const: "Scenario" },
    metadata: obj({ name: str, description: str }),
    cluster: obj(
      {
        serviceCIDR: ref("cidr"),
        clusterCIDR: ref("cidr"),
        clusterDomain: { type: "string", pattern: DNS1123_SUBDOMAIN, "x-expected": "a DNS domain such as cluster.local" },
        nodes: arr(ref("node"), { minItems: 1 }),
      },
      ["serviceCIDR", "clusterCIDR", "nodes"],
    ),
    kubeProxy: obj({
      mode: { enum: ["iptables"] },
      profile: { enum: ["v1.16", "current"] },
      masqueradeAll: bool,
      masqueradeBit: int(0, 31),
      clusterCIDR: ref("cidr"),
      detectLocalMode: { enum: ["ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", "None"] },
      bridgeInterface: str,
      interfaceNamePrefix: str,
      minSyncPeriod: ref("duration"),
      syncPeriod: ref("duration"),
      randomFully: bool,
      nodePortAddresses: arr(ref("cidr")),
      localhostNodePorts: bool,
    }),
    manifests: arr(ref("manifestItem")),
    pin: obj({ pods: arr(ref("podPin")) }),
    apps: arr(ref("app")),
    clients: arr(ref("client")),
    timeline: arr(ref("timelineEvent")),
    // Delays of the timed control plane (defaults: Kubernetes', see src/control/config.ts).
    controlPlane: obj(Object.fromEntries([...CONTROL_PLANE_DURATIONS.map((k) => [k, ref("duration")]), ["defaultReadinessProbe", ref("probe")]])),
    expectations: arr(ref("expectation")),
    run: obj({ seed: int(0), duration: ref("duration"), interval: ref("duration") }),
  },
  definitions: {
    duration: { type: "string", pattern: DURATION_PATTERN, "x-expected": 'a duration such as "500ms", "1s" or "1m30s"' },
    ipv4: { type: "string", pattern: IPV4, "x-expected": "an IPv4 address such as 10.1.0.5" },
    cidr: { type: "string", pattern: CIDR, "x-expected": "an IPv4 CIDR such as 10.0.0.0/16" },
    labels: { type: "object", additionalProperties: { type: "string" } },
    node: obj(
      {
        name: { type: "string", pattern: DNS1123_SUBDOMAIN, "x-expected": "a lower-case DNS name such as node-1" },
        ip: ref("ipv4"),
        podCIDR: ref("cidr"),
        zone: str,
        labels: ref("labels"),
      },
      ["name", "ip", "podCIDR"],
    ),
    podPin: obj({ name: str, namespace: str, ip: ref("ipv4"), node: str, deployment: str }, ["name"]),
    serviceTime: {
      type: "object",
      required: ["distribution"],
      properties: { distribution: { enum: ["constant", "exponential", "lognormal", "uniform"] } },
      allOf: [
        { if: { properties: { distribution: { const: "constant" } } }, then: obj({ distribution: str, value: ref("duration") }, ["value"]) },
        { if: { properties: { distribution: { const: "exponential" } } }, then: obj({ distribution: str, mean: ref("duration") }, ["mean"]) },
        { if: { properties: { distribution: { const: "lognormal" } } }, then: obj({ distribution: str, median: ref("duration"), sigma: { type: "number", minimum: 0 } }, ["median", "sigma"]) },
        { if: { properties: { distribution: { const: "uniform" } } }, then: obj({ distribution: str, min: ref("duration"), max: ref("duration") }, ["min", "max"]) },
      ],
    },
    app: obj({ image: str, app: { enum: ["serve_hostname", "http-echo"] }, text: str, serviceTime: ref("serviceTime"), onSigterm: ref("sigterm") }, ["image", "app"]),
    // What the app does on SIGTERM: exit at once (default), drain for a while then exit, or ignore it (SIGKILLed at the grace period's end).
    sigterm: {
      anyOf: [{ enum: ["exit", "ignore"] }, obj({ exitAfter: ref("duration") }, ["exitAfter"])],
      "x-expected": 'one of "exit", "ignore" or {exitAfter: <duration>}',
    },
    client: obj(
      {
        name: { type: "string", pattern: DNS1123_LABEL, "x-expected": "a lower-case name such as curl-1" },
        from: { type: "string", pattern: "^(node|pod|external)/.+$", "x-expected": 'one of "node/NAME", "pod/NAME" or "external/IP"' },
        target: { type: "string", minLength: 1 },
        requests: int(1),
        rate: { type: "number", exclusiveMinimum: 0 },
        concurrency: int(1),
        keepAlive: bool,
        protocol: { enum: ["TCP", "UDP"] },
        reusePort: bool,
        requestsPerConnection: int(1),
        connectTimeout: ref("duration"),
        requestTimeout: ref("duration"),
        start: ref("duration"),
        duration: ref("duration"),
      },
      ["name", "from", "target"],
    ),
    timelineEvent: {
      type: "object",
      required: ["at", "action"],
      properties: { at: ref("duration"), action: { enum: [...TIMELINE_ACTIONS] } },
      allOf: TIMELINE_ACTIONS.map((a) => ({
        if: { properties: { action: { const: a } } },
        then: obj({ at: ref("duration"), action: str, ...actionArgs[a]!.properties }, actionArgs[a]!.required),
      })),
    },
    expectation: {
      ...obj({
        metric: { enum: [...EXPECTATION_METRICS] },
        op: { enum: [">", ">=", "<", "<=", "=="] },
        value: { type: "number" },
        endpoint: str,
        client: str,
        tolerance: { type: "number", minimum: 0 },
      }, ["metric", "op", "value"]),
      if: { properties: { metric: { enum: ["endpoint.share", "endpoint.requests"] } } },
      then: { required: ["endpoint"] },
    },
    manifestItem: {
      type: "object",
      if: { required: ["file"] },
      then: obj({ file: { type: "string", minLength: 1 }, repeat: ref("repeat") }, ["file"]),
      else: {
        if: { required: ["inline"] },
        then: obj({ inline: { type: "string", minLength: 1 }, repeat: ref("repeat") }, ["inline"]),
        else: ref("k8sObject"),
      },
    },
    // Stamp a file's or inline text's documents out N times, with ${i} (0..N-1) substituted:
    // large clusters (labs, benchmarks) in a few lines.
    repeat: { type: "integer", minimum: 1, maximum: 100000, "x-expected": "a whole number of copies from 1 to 100000" },
    k8sObject: {
      type: "object",
      required: ["apiVersion", "kind", "metadata"],
      properties: { apiVersion: str, kind: { enum: Object.keys(k8sKinds) } },
      allOf: Object.entries(k8sKinds).map(([kind, { def }]) => ({ if: { properties: { kind: { const: kind } } }, then: ref(def) })),
    },
    objectMeta: obj(
      {
        name: { type: "string", pattern: DNS1123_SUBDOMAIN, "x-expected": "a lower-case DNS name such as hostnames" },
        namespace: { type: "string", pattern: DNS1123_LABEL, "x-expected": "a lower-case DNS label such as default" },
        labels: ref("labels"),
        annotations: ref("labels"),
      },
      ["name"],
    ),
    templateMeta: obj({ name: str, labels: ref("labels"), annotations: ref("labels") }),
    intOrString: { type: ["integer", "string"] },
    probe: obj({
      httpGet: obj({ path: str, port: ref("intOrString"), scheme: { enum: ["HTTP", "HTTPS"] }, host: str }, ["port"]),
      tcpSocket: obj({ port: ref("intOrString"), host: str }, ["port"]),
      exec: obj({ command: arr(str) }),
      initialDelaySeconds: int(0),
      periodSeconds: int(1),
      timeoutSeconds: int(1),
      successThreshold: int(1),
      failureThreshold: int(1),
    }),
    container: obj(
      {
        name: { type: "string", pattern: DNS1123_LABEL, "x-expected": "a lower-case DNS label such as web" },
        image: { type: "string", minLength: 1 },
        imagePullPolicy: { enum: ["Always", "IfNotPresent", "Never"] },
        command: arr(str),
        args: arr(str),
        env: arr(obj({ name: str, value: str }, ["name"])),
        resources: obj({ limits: { type: "object" }, requests: { type: "object" } }),
        ports: arr(obj({ name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 15, "x-expected": "an IANA_SVC_NAME (at most 15 lower-case letters, digits and '-')" }, containerPort: int(1, 65535), protocol: { enum: ["TCP", "UDP", "SCTP"] }, hostPort: int(1, 65535) }, ["containerPort"])),
        readinessProbe: ref("probe"),
        livenessProbe: ref("probe"),
        lifecycle: obj({ preStop: obj({ exec: obj({ command: arr(str) }), sleep: obj({ seconds: int(0) }, ["seconds"]) }) }),
      },
      ["name", "image"],
    ),
    podSpec: obj(
      {
        containers: arr(ref("container"), { minItems: 1 }),
        terminationGracePeriodSeconds: int(0),
        restartPolicy: { enum: ["Always", "OnFailure", "Never"] },
        nodeName: str,
        nodeSelector: ref("labels"),
      },
      ["containers"],
    ),
    deployment: obj(
      {
        apiVersion: { const: "apps/v1" },
        kind: { const: "Deployment" },
        metadata: ref("objectMeta"),
        spec: obj(
          {
            replicas: int(0),
            selector: obj({ matchLabels: ref("labels") }, ["matchLabels"]),
            template: obj({ metadata: ref("templateMeta"), spec: ref("podSpec") }, ["spec"]),
            strategy: obj({ type: { enum: ["RollingUpdate", "Recreate"] }, rollingUpdate: obj({ maxSurge: ref("intOrString"), maxUnavailable: ref("intOrString") }) }),
            minReadySeconds: int(0),
            revisionHistoryLimit: int(0),
            progressDeadlineSeconds: int(1),
            paused: bool,
          },
          ["selector", "template"],
        ),
      },
      ["apiVersion", "kind", "metadata", "spec"],
    ),
    service: obj(
      {
        apiVersion: { const: "v1" },
        kind: { const: "Service" },
        metadata: ref("objectMeta"),
        spec: obj({
          type: { enum: ["ClusterIP", "NodePort", "LoadBalancer"] },
          clusterIP: { type: "string", pattern: `(${IPV4})|^None$|^$`, "x-expected": 'an IPv4 address, "None" (headless) or ""' },
          selector: ref("labels"),
          ports: arr(
            obj(
              {
                name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "x-expected": "a lower-case DNS label such as http" },
                protocol: { enum: ["TCP", "UDP", "SCTP"] },
                port: int(1, 65535),
                targetPort: { type: ["integer", "string"], minimum: 1, maximum: 65535, minLength: 1 },
                nodePort: int(1, 65535),
                appProtocol: str,
              },
              ["port"],
            ),
          ),
          sessionAffinity: { enum: ["None", "ClientIP"] },
          sessionAffinityConfig: obj({ clientIP: obj({ timeoutSeconds: int(1, 86400) }) }),
          externalIPs: arr(ref("ipv4")),
          externalTrafficPolicy: { enum: ["Cluster", "Local"] },
          internalTrafficPolicy: { enum: ["Cluster", "Local"] },
          loadBalancerSourceRanges: arr(ref("cidr")),
          healthCheckNodePort: int(1, 65535),
          publishNotReadyAddresses: bool,
        }),
        status: obj({ loadBalancer: obj({ ingress: arr(obj({ ip: ref("ipv4") }, ["ip"])) }) }),
      },
      ["apiVersion", "kind", "metadata", "spec"],
    ),
    endpointSlice: obj(
      {
        apiVersion: { const: "discovery.k8s.io/v1" },
        kind: { const: "EndpointSlice" },
        metadata: ref("objectMeta"),
        addressType: { enum: ["IPv4"] },
        ports: arr(obj({ name: str, port: int(1, 65535), protocol: { enum: ["TCP", "UDP", "SCTP"] }, appProtocol: str }, ["port"])),
        endpoints: arr(
          obj(
            {
              addresses: arr(ref("ipv4"), { minItems: 1, maxItems: 1 }),
              conditions: obj({ ready: bool, serving: bool, terminating: bool }),
              nodeName: str,
              zone: str,
              hostname: str,
              hints: obj({ forZones: arr(obj({ name: str }, ["name"])) }),
              targetRef: obj({ kind: { const: "Pod" }, namespace: str, name: str, uid: str }, ["name"]),
            },
            ["addresses"],
          ),
        ),
      },
      ["apiVersion", "kind", "metadata", "addressType", "endpoints"],
    ),
    endpointsAddress: obj({ ip: ref("ipv4"), nodeName: str, hostname: str, targetRef: obj({ kind: { const: "Pod" }, namespace: str, name: str, uid: str }, ["name"]) }, ["ip"]),
    endpoints: obj(
      {
        apiVersion: { const: "v1" },
        kind: { const: "Endpoints" },
        metadata: ref("objectMeta"),
        subsets: arr(
          obj({
            addresses: arr(ref("endpointsAddress")),
            notReadyAddresses: arr(ref("endpointsAddress")),
            ports: arr(obj({ name: str, port: int(1, 65535), protocol: { enum: ["TCP", "UDP", "SCTP"] }, appProtocol: str }, ["port"])),
          }),
        ),
      },
      ["apiVersion", "kind", "metadata"],
    ),
    pod: obj(
      { apiVersion: { const: "v1" }, kind: { const: "Pod" }, metadata: ref("objectMeta"), spec: ref("podSpec") },
      ["apiVersion", "kind", "metadata", "spec"],
    ),
  },
};
