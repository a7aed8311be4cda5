/**
 * Loading and validating scenario files (svcsim/v1).
 *
 * Three passes, each failing with one InputError line "file:line:col: field: detail":
 * 1. YAML syntax (yaml package, positions from a LineCounter; duplicate keys are errors);
 * 2. structure against the JSON Schema of schema.ts (ajv; unknown fields are errors, like
 *    `kubectl --validate=strict`), for the scenario and for every manifest, wherever it lives:
 *    inline objects, `{file: path}` (relative to the scenario; positions point into that file) and
 *    `{inline: "<multi-doc YAML>"}` (positions mapped back into the scenario for block scalars);
 * 3. meaning: addresses and CIDRs, duplicates, pins, ports, references between sections.
 * Findings that are legal but probably unintended (a Service that selects no pod) are warnings.
 *
 * This module reads the manifest files a scenario names (through `readFile`, default fs); the CLI
 * remains the only place that writes files or prints.
 */
import { defaultKubeProxyConfig } from "../kubeproxy/config.ts";
import { readFileSync } from "node:fs";
import { dirname, resolve, isAbsolute, join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { isMap, isScalar, isSeq, Scalar } from "yaml";
import { InputError, type InputErrorLocation, type InputWarning } from "../errors.ts";
import { cidrContains, cidrSize, cidrNth, formatCidr, tryParseCidr, tryParseIPv4, type Cidr } from "../net/ip.ts";
import type { K8sProtocol } from "../net/packet.ts";
import type { Container, ContainerPort, DeploymentState, Endpoint, EndpointSlicePort, Labels, PodTemplate, Probe, ServicePort } from "../cluster/types.ts";
import type { EndpointsAddressInput, NodeInput, ServiceInput } from "../cluster/recipes.ts";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../cluster/recipes.ts";
import { NAME_ALPHABET } from "../cluster/names.ts";
import type { DetectLocalMode, KubeProxyConfig, ProfileName } from "../kubeproxy/types.ts";
import { parseDuration } from "./duration.ts";
import { CONTROL_PLANE_DURATIONS, scenarioSchema, SCHEMA_ID } from "./schema.ts";
import { at, fail, nodeAt, parseYamlDocuments, throwSchemaError, type JsonPath, type Origin, type YamlSource } from "./source.ts";
import type {
  AppSpec,
  ClientFrom,
  ClientSpec,
  ClientTarget,
  ControlPlaneSpec,
  Expectation,
  PodPinSpec,
  Scenario,
  ScenarioObject,
  ServiceTime,
  TimelineEvent,
} from "./types.ts";

export interface LoadOptions {
  /** Reads a manifest file named by `{file: ...}` (default: fs.readFileSync utf8). */
  readonly readFile?: (path: string) => string;
}

export interface LoadResult {
  readonly scenario: Scenario;
  readonly warnings: InputWarning[];
}

// ---------------------------------------------------------------------------------------------
// ajv (compiled once)

let validators: { scenario: ValidateFunction; k8s: ValidateFunction } | undefined;

function getValidators(): { scenario: ValidateFunction; k8s: ValidateFunction } {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true, verbose: true });
    ajv.addKeyword({ keyword: "x-expected", schemaType: "string" });
    ajv.addSchema(scenarioSchema);
    validators = { scenario: ajv.getSchema(SCHEMA_ID)!, k8s: ajv.compile({ $ref: `${SCHEMA_ID}#/definitions/k8sObject` }) };
  }
  return validators;
}

// ---------------------------------------------------------------------------------------------
// Entry points

export function loadScenario(path: string, opts: LoadOptions = {}): LoadResult {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    if (e instanceof InputError) throw e; // already says where and what (e.g. a --set override)
    throw new InputError({ file: path }, `cannot read the scenario: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String((e as Error).message)}`);
  }
  return loadScenarioText(text, path, opts);
}

export function loadScenarioText(text: string, fileName: string, opts: LoadOptions = {}): LoadResult {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  const docs = parseYamlDocuments(text, fileName);
  if (docs.length !== 1) throw new InputError({ file: fileName, line: 1, column: 1 }, `expected one YAML document holding a Scenario, found ${docs.length}`);
  const src = docs[0]!;
  const data = src.doc.toJS({ maxAliasCount: 1000 }) as unknown;
  const v = getValidators();
  if (!v.scenario(data)) throwSchemaError(v.scenario.errors ?? [], data, src, []);
  const raw = data as Record<string, any>;

  // Expand manifests: inline objects, files, inline multi-document strings.
  const manifests: { obj: Record<string, any>; origin: Origin }[] = [];
  const items = (raw.manifests ?? []) as Record<string, any>[];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const itemOrigin: Origin = { src, path: ["manifests", i] };
    let srcs: Parsed[];
    if (typeof item.file === "string") {
      const full = isAbsolute(item.file) ? item.file : resolve(dirname(fileName), item.file);
      const shown = isAbsolute(item.file) ? item.file : join(dirname(fileName), item.file);
      let body: string;
      try {
        body = readFile(full);
      } catch (e) {
        fail(itemOrigin, ["file"], `cannot read "${item.file}": ${(e as NodeJS.ErrnoException).code === "ENOENT" ? `no such file (looked for ${shown})` : String((e as Error).message)}`);
      }
      srcs = expandRepeat(item.repeat, body, (t) => parseYamlDocuments(t, shown));
    } else if (typeof item.inline === "string") {
      const mapPos = inlineMapper(src, text, ["manifests", i, "inline"]);
      srcs = expandRepeat(item.repeat, item.inline, (t) => parseYamlDocuments(t, fileName, ["manifests", i, "inline"], mapPos));
    } else {
      manifests.push({ obj: item, origin: itemOrigin });
      continue;
    }
    if (srcs.length === 0) fail(itemOrigin, [], "the manifest holds no YAML document");
    for (const { src: s, obj } of srcs) {
      if (!v.k8s(obj)) throwSchemaError(v.k8s.errors ?? [], obj, s, []);
      manifests.push({ obj: obj as Record<string, any>, origin: { src: s, path: [] } });
    }
  }

  return new Checker(src, raw, manifests, fileName).run();
}

/** One manifest document: where it is (for positions) and its data. */
export interface Parsed {
  readonly src: YamlSource;
  readonly obj: unknown;
}

function toData(src: YamlSource): Parsed {
  return { src, obj: src.doc.toJS({ maxAliasCount: 1000 }) as unknown };
}

/**
 * `repeat: N` on a file or inline item: the text is read N times with every `${i}` replaced by
 * the copy's index (0..N-1). Positions of errors point into the template text (the copy's line and
 * column, mapped as for any inline text).
 *
 * Parsing 20,000 copies takes the yaml package many seconds, so when every `${i}` sits inside a
 * string value (`name: svc-${i}`, `{app: "web-${i}"}`) the text is parsed once, with a digit
 * sentinel in place of `${i}`, and each copy's data is that document's data with the sentinel
 * replaced by the index. A copy's positions are the template's, columns shifted back on lines
 * where a sentinel precedes them, so they equal what parsing the copy itself gives. Anything else
 * — `${i}` in a key, a comment, a number (`replicas: ${i}`), an escape — parses every copy.
 */
export function expandRepeat(repeat: number | undefined, text: string, parse: (t: string) => YamlSource[]): Parsed[] {
  if (repeat === undefined) return parse(text).map(toData);
  const parts = text.split("${i}");
  return repeatFromOneParse(repeat, parts, parse) ?? Array.from({ length: repeat }, (_, k) => parse(parts.join(String(k))).map(toData)).flat();
}

/** The shared-parse path of expandRepeat; undefined when it does not apply. */
function repeatFromOneParse(repeat: number, parts: readonly string[], parse: (t: string) => YamlSource[]): Parsed[] | undefined {
  // Digits 1-7 only: a sentinel that resolves to a string wherever it sits resolves to a string for
  // any index too (core schema: ints, octal 0o, floats are digit patterns; a sentinel-made number
  // leaves the sentinel uncounted and takes the slow path).
  let sentinel = "7".repeat(12);
  while (parts.some((p) => p.includes(sentinel)) || sentinel.length <= String(repeat).length) sentinel += "7";
  const text = parts.join(sentinel);
  const occurrences = parts.length - 1;
  let docs: YamlSource[];
  try {
    docs = parse(text);
  } catch {
    return undefined; // the copies themselves tell which error to report
  }
  // Every sentinel of the text must be inside a plain string value, literally (not in a key, a
  // comment, a tag or made of escapes).
  let counted = 0;
  const count = (str: string): number => str.split(sentinel).length - 1;
  const walk = (node: unknown): boolean => {
    if (isScalar(node)) {
      if (typeof node.value !== "string") return true;
      const n = count(node.value);
      if (n > 0 && (!node.range || count(text.slice(node.range[0], node.range[1])) !== n)) return false;
      counted += n;
      return true;
    }
    if (isMap(node)) {
      for (const p of node.items) {
        if (!isScalar(p.key) || String(p.key.value).includes(sentinel) || !walk(p.value)) return false;
      }
      return true;
    }
    if (isSeq(node)) return node.items.every(walk);
    return true; // null, aliases (their anchors are counted where they are defined)
  };
  if (!docs.every((d) => walk(d.doc.contents)) || counted !== occurrences) return undefined;
  const protos = docs.map(toData);
  // 0-based columns where a sentinel starts, per 1-based line of `text`.
  const starts = new Map<number, number[]>();
  {
    let line = 1;
    let lineStart = 0;
    let from = 0;
    for (;;) {
      const at = text.indexOf(sentinel, from);
      if (at < 0) break;
      for (let nl = text.indexOf("\n", lineStart); nl >= 0 && nl < at; nl = text.indexOf("\n", lineStart)) {
        line++;
        lineStart = nl + 1;
      }
      let list = starts.get(line);
      if (!list) starts.set(line, (list = []));
      list.push(at - lineStart);
      from = at + sentinel.length;
    }
  }
  const out: Parsed[] = [];
  for (let k = 0; k < repeat; k++) {
    const index = String(k);
    const shrink = sentinel.length - index.length;
    for (const proto of protos) {
      const inner = proto.src.mapPos;
      const mapPos = (line: number, col: number): { line: number; col: number } => {
        let c = col;
        for (const s0 of starts.get(line) ?? []) if (s0 + sentinel.length <= col - 1) c -= shrink;
        return inner ? inner(line, c) : { line, col: c };
      };
      out.push({ src: { ...proto.src, mapPos }, obj: replaceDeep(proto.obj, sentinel, index) });
    }
  }
  return out;
}

/** A copy of plain data (from YAML) with `from` replaced by `to` in every string. */
function replaceDeep(v: unknown, from: string, to: string): unknown {
  if (typeof v === "string") return v.includes(from) ? v.replaceAll(from, to) : v;
  if (Array.isArray(v)) return v.map((x) => replaceDeep(x, from, to));
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const key of Object.keys(v)) o[key] = replaceDeep((v as Record<string, unknown>)[key], from, to);
    return o;
  }
  return v;
}

/** Positions inside a YAML string value: exact for block scalars (`inline: |`), else the scalar's start. */
function inlineMapper(src: YamlSource, text: string, path: JsonPath): YamlSource["mapPos"] {
  const { node } = nodeAt(src.doc, path);
  if (!node || !isScalar(node) || !node.range) return undefined;
  const start = src.lc.linePos(node.range[0]);
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const lines = text.split("\n");
    let indent = 0;
    for (let l = start.line; l < lines.length; l++) {
      const ln = lines[l]!;
      if (ln.trim() !== "") { indent = ln.length - ln.trimStart().length; break; }
    }
    return (line, col) => ({ line: start.line + line, col: col + indent });
  }
  return () => ({ line: start.line, col: start.col });
}

// ---------------------------------------------------------------------------------------------
// Semantic checks and conversion

const KUBERNETES_DEFAULT_NS = "default";
const HASH_CHARS = `[${NAME_ALPHABET}]`;
const POD_NAME_RE = new RegExp(`^(.+)-(${HASH_CHARS}+)-(${HASH_CHARS}{5})$`);

function labelsText(l: Labels): string {
  return Object.keys(l).sort().map((k) => `${k}=${l[k]}`).join(",");
}

function ipInCidrText(c: Cidr): string {
  return formatCidr(c);
}

class Checker {
  private readonly warnings: InputWarning[] = [];
  private readonly o: Origin;
  private serviceCidr!: Cidr;
  private clusterCidr!: Cidr;
  private clusterDomain = "cluster.local";
  private nodes: (NodeInput & { cidr: Cidr; origin: Origin })[] = [];
  private objects: (ScenarioObject & { origin: Origin })[] = [];
  private pins: PodPinSpec[] = [];
  /**
   * Lookups over `objects`, built once they are all read (checkObjects): scenarios of 20,000
   * manifests must not be checked object against object.
   * byKey: "Kind/namespace/name" → the object; templates: "namespace\0label\0value" → the pod
   * templates (Deployment templates, Pod manifests) carrying that label, in manifest order.
   */
  private byKey = new Map<string, ScenarioObject & { origin: Origin }>();
  private templatesByLabel = new Map<string, PodTemplate[]>();
  private pinKeys = new Set<string>();

  constructor(
    private readonly src: YamlSource,
    private readonly raw: Record<string, any>,
    private readonly manifests: { obj: Record<string, any>; origin: Origin }[],
    private readonly fileName: string,
  ) {
    this.o = { src, path: [] };
  }

  private warn(loc: InputErrorLocation, detail: string): void {
    this.warnings.push({ location: loc, detail });
  }

  private cidr(o: Origin, path: JsonPath, text: string): Cidr {
    const c = tryParseCidr(text);
    if (!c) fail(o, path, `expected an IPv4 CIDR such as 10.0.0.0/16, got "${text}"`);
    if (!tryParseCidr(text, { strictHostBits: true })) fail(o, path, `${text} has host bits set — did you mean ${formatCidr(c)}?`);
    return c;
  }

  run(): LoadResult {
    this.checkCluster();
    const kubeProxy = this.checkKubeProxy();
    this.checkObjects();
    this.checkPins();
    this.checkServicesAgainstPods();
    const apps = this.checkApps();
    const clients = this.checkClients();
    this.checkImages(apps, clients.length > 0);
    const timeline = this.checkTimeline();
    const controlPlane = this.checkControlPlane();
    const expectations = this.checkExpectations(clients);
    const r = this.raw;
    const run = r.run ?? {};
    const scenario: Scenario = {
      file: this.fileName,
      metadata: { name: r.metadata?.name ?? "", description: r.metadata?.description ?? "" },
      cluster: {
        serviceCIDR: formatCidr(this.serviceCidr),
        clusterCIDR: formatCidr(this.clusterCidr),
        clusterDomain: this.clusterDomain,
        nodes: this.nodes.map(({ cidr: _c, origin: _o, ...n }) => n),
      },
      kubeProxy,
      objects: this.objects.map(({ origin: _o, ...obj }) => obj as ScenarioObject),
      pin: { pods: this.pins },
      apps,
      clients,
      timeline,
      ...(controlPlane ? { controlPlane } : {}),
      expectations,
      run: {
        seed: run.seed ?? 1,
        ...(run.duration !== undefined ? { durationNs: parseDuration(run.duration) } : {}),
        intervalNs: run.interval !== undefined ? parseDuration(run.interval) : 1_000_000_000,
      },
    };
    if (scenario.run.intervalNs <= 0) fail(this.o, ["run", "interval"], "expected a duration > 0");
    return { scenario, warnings: this.warnings };
  }

  // --- cluster -------------------------------------------------------------------------------

  private checkCluster(): void {
    const c = this.raw.cluster;
    this.serviceCidr = this.cidr(this.o, ["cluster", "serviceCIDR"], c.serviceCIDR);
    this.clusterCidr = this.cidr(this.o, ["cluster", "clusterCIDR"], c.clusterCIDR);
    if (c.clusterDomain) this.clusterDomain = c.clusterDomain;
    if (cidrContains(this.serviceCidr, this.clusterCidr.addr) || cidrContains(this.clusterCidr, this.serviceCidr.addr)) {
      fail(this.o, ["cluster", "clusterCIDR"], `${c.clusterCIDR} overlaps cluster.serviceCIDR ${c.serviceCIDR}`);
    }
    const names = new Map<string, number>();
    const ips = new Map<string, number>();
    (c.nodes as Record<string, any>[]).forEach((n, i) => {
      const p: JsonPath = ["cluster", "nodes", i];
      if (names.has(n.name)) fail(this.o, [...p, "name"], `duplicate node name "${n.name}" (also cluster.nodes[${names.get(n.name)}])`);
      names.set(n.name, i);
      if (ips.has(n.ip)) fail(this.o, [...p, "ip"], `duplicate node IP ${n.ip} (also cluster.nodes[${ips.get(n.ip)}])`);
      ips.set(n.ip, i);
      const ip = tryParseIPv4(n.ip)!;
      if (cidrContains(this.clusterCidr, ip)) fail(this.o, [...p, "ip"], `node IP ${n.ip} is inside cluster.clusterCIDR ${formatCidr(this.clusterCidr)} (node addresses live on the host network)`);
      if (cidrContains(this.serviceCidr, ip)) fail(this.o, [...p, "ip"], `node IP ${n.ip} is inside cluster.serviceCIDR ${formatCidr(this.serviceCidr)}`);
      const cidr = this.cidr(this.o, [...p, "podCIDR"], n.podCIDR);
      if (!cidrContains(this.clusterCidr, cidr.addr) || cidr.prefix < this.clusterCidr.prefix) {
        fail(this.o, [...p, "podCIDR"], `${n.podCIDR} is outside cluster.clusterCIDR ${formatCidr(this.clusterCidr)}`);
      }
      for (const other of this.nodes) {
        if (cidrContains(other.cidr, cidr.addr) || cidrContains(cidr, other.cidr.addr)) fail(this.o, [...p, "podCIDR"], `${n.podCIDR} overlaps the podCIDR of node ${other.name} (${other.podCIDR})`);
      }
      this.nodes.push({ name: n.name, ip: n.ip, podCIDR: formatCidr(cidr), ...(n.zone ? { zone: n.zone } : {}), labels: { ...(n.labels ?? {}) }, cidr, origin: { src: this.src, path: p } });
    });
  }

  private checkKubeProxy(): KubeProxyConfig {
    const k = (this.raw.kubeProxy ?? {}) as Record<string, any>;
    const kp: JsonPath = ["kubeProxy"];
    const profile: ProfileName = k.profile ?? "current";
    const clusterCIDR = k.clusterCIDR !== undefined ? formatCidr(this.cidr(this.o, [...kp, "clusterCIDR"], k.clusterCIDR)) : formatCidr(this.clusterCidr);
    (k.nodePortAddresses ?? []).forEach((t: string, i: number) => this.cidr(this.o, [...kp, "nodePortAddresses", i], t));
    const detectLocalMode: DetectLocalMode = k.detectLocalMode ?? "ClusterCIDR";
    if (detectLocalMode === "BridgeInterface" && !k.bridgeInterface) fail(this.o, [...kp, "detectLocalMode"], 'detectLocalMode BridgeInterface needs kubeProxy.bridgeInterface (e.g. "cbr0")');
    if (detectLocalMode === "InterfaceNamePrefix" && !k.interfaceNamePrefix) fail(this.o, [...kp, "detectLocalMode"], 'detectLocalMode InterfaceNamePrefix needs kubeProxy.interfaceNamePrefix (e.g. "veth")');
    if (profile === "v1.16" && k.detectLocalMode !== undefined && detectLocalMode !== "ClusterCIDR") {
      this.warn(at(this.o, [...kp, "detectLocalMode"]), "kube-proxy v1.16 has no --detect-local-mode; the v1.16 profile always uses clusterCIDR");
    }
    // Defaults come from kube-proxy's own table (kubeproxy/config.ts); the scenario overrides them.
    const d = defaultKubeProxyConfig(profile, clusterCIDR);
    const minSync = k.minSyncPeriod !== undefined ? parseDuration(k.minSyncPeriod) : d.minSyncPeriodMs * 1e6;
    const sync = k.syncPeriod !== undefined ? parseDuration(k.syncPeriod) : d.syncPeriodMs * 1e6;
    if (sync <= 0) fail(this.o, [...kp, "syncPeriod"], "expected a duration > 0");
    return {
      ...d,
      masqueradeAll: k.masqueradeAll ?? d.masqueradeAll,
      detectLocalMode,
      ...(k.bridgeInterface ? { bridgeInterface: k.bridgeInterface } : {}),
      ...(k.interfaceNamePrefix ? { interfaceNamePrefix: k.interfaceNamePrefix } : {}),
      masqueradeBit: k.masqueradeBit ?? d.masqueradeBit,
      randomFully: k.randomFully ?? d.randomFully,
      nodePortAddresses: (k.nodePortAddresses ?? []).map((t: string) => formatCidr(tryParseCidr(t)!)),
      localhostNodePorts: k.localhostNodePorts ?? d.localhostNodePorts,
      minSyncPeriodMs: minSync / 1e6,
      syncPeriodMs: sync / 1e6,
    };
  }

  // --- manifests -----------------------------------------------------------------------------

  private checkObjects(): void {
    const seen = new Map<string, InputErrorLocation>();
    for (const { obj, origin } of this.manifests) {
      const ns: string = obj.metadata.namespace ?? KUBERNETES_DEFAULT_NS;
      const name: string = obj.metadata.name;
      const key = `${obj.kind}/${ns}/${name}`;
      const first = seen.get(key);
      if (first) fail(origin, ["metadata", "name"], `duplicate ${obj.kind} "${ns}/${name}" (first defined at ${first.file}:${first.line ?? "?"})`);
      seen.set(key, at(origin));
      const base = { name, namespace: ns, labels: { ...(obj.metadata.labels ?? {}) }, annotations: { ...(obj.metadata.annotations ?? {}) } };
      const loc = at(origin);
      switch (obj.kind) {
        case "Deployment":
          this.objects.push({ kind: "Deployment", input: { ...base, spec: this.deploymentSpec(obj, origin) }, loc, origin });
          break;
        case "Pod": {
          const tmpl = this.template(obj.spec, { labels: obj.metadata.labels, annotations: obj.metadata.annotations }, origin, ["spec"]);
          if (obj.spec.nodeName !== undefined && !this.nodes.some((n) => n.name === obj.spec.nodeName)) fail(origin, ["spec", "nodeName"], `no node named "${obj.spec.nodeName}" in cluster.nodes`);
          this.objects.push({ kind: "Pod", input: { ...base, spec: { ...tmpl, ...(obj.spec.nodeName ? { nodeName: obj.spec.nodeName } : {}) } }, loc, origin });
          break;
        }
        case "Service":
          this.objects.push({ kind: "Service", input: this.service(obj, base, origin), loc, origin });
          break;
        case "EndpointSlice": {
          const svcName = obj.metadata.labels?.["kubernetes.io/service-name"];
          if (!svcName) fail(origin, ["metadata", "labels"], 'an EndpointSlice needs the label "kubernetes.io/service-name" naming its Service');
          const ports: EndpointSlicePort[] = (obj.ports ?? []).map((p: any) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" }));
          const endpoints: Endpoint[] = obj.endpoints.map((e: any) => ({
            addresses: [...e.addresses],
            conditions: { ...(e.conditions ?? {}) },
            ...(e.nodeName ? { nodeName: e.nodeName } : {}),
            ...(e.zone ? { zone: e.zone } : {}),
            ...(e.hints ? { hints: { forZones: (e.hints.forZones ?? []).map((z: any) => z.name) } } : {}),
            ...(e.targetRef ? { targetRef: { kind: "Pod", namespace: e.targetRef.namespace ?? ns, name: e.targetRef.name } } : {}),
          }));
          this.objects.push({ kind: "EndpointSlice", input: { ...base, serviceName: svcName, ports, endpoints }, loc, origin });
          break;
        }
        case "Endpoints": {
          const addr = (a: any): EndpointsAddressInput => ({ ip: a.ip, ...(a.nodeName ? { nodeName: a.nodeName } : {}), ...(a.targetRef ? { targetRef: { kind: "Pod", namespace: a.targetRef.namespace ?? ns, name: a.targetRef.name } } : {}) });
          const subsets = (obj.subsets ?? []).map((s: any) => ({
            addresses: (s.addresses ?? []).map(addr),
            notReadyAddresses: (s.notReadyAddresses ?? []).map(addr),
            ports: (s.ports ?? []).map((p: any) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" })),
          }));
          this.objects.push({ kind: "Endpoints", input: { ...base, subsets }, loc, origin });
          break;
        }
      }
    }
    this.indexObjects();
    this.checkServiceAddresses();
    // Endpoints / EndpointSlices against Services
    for (const ob of this.objects) {
      if (ob.kind !== "Endpoints" && ob.kind !== "EndpointSlice") continue;
      const svcName = ob.kind === "Endpoints" ? ob.input.name : ob.input.serviceName;
      const svc = this.findService(ob.input.namespace, svcName);
      if (!svc) this.warn(ob.loc, `no Service "${ob.input.namespace}/${svcName}" in the manifests: these endpoints are used by nothing`);
      else if (ob.kind === "Endpoints" && svc.input.spec.selector) {
        this.warn(ob.loc, `Service "${ob.input.namespace}/${svcName}" has a selector: the endpoints controller manages its Endpoints and this hand-written one is ignored`);
      }
    }
  }

  private indexObjects(): void {
    for (const ob of this.objects) {
      const k = `${ob.kind}/${ob.input.namespace}/${ob.input.name}`;
      if (!this.byKey.has(k)) this.byKey.set(k, ob);
      const t = ob.kind === "Deployment" ? ob.input.spec.template : ob.kind === "Pod" ? ob.input.spec : undefined;
      if (!t) continue;
      for (const l of Object.keys(t.labels)) {
        const lk = `${ob.input.namespace}\0${l}\0${t.labels[l]}`;
        const list = this.templatesByLabel.get(lk);
        if (list) list.push(t);
        else this.templatesByLabel.set(lk, [t]);
      }
    }
  }

  private object<K extends ScenarioObject["kind"]>(kind: K, ns: string, name: string): (Extract<ScenarioObject, { kind: K }> & { origin: Origin }) | undefined {
    return this.byKey.get(`${kind}/${ns}/${name}`) as (Extract<ScenarioObject, { kind: K }> & { origin: Origin }) | undefined;
  }

  private findService(ns: string, name: string) {
    return this.object("Service", ns, name);
  }

  private probe(p: any): Probe | undefined {
    if (!p) return undefined;
    const port = p.httpGet?.port ?? p.tcpSocket?.port;
    return {
      initialDelaySeconds: p.initialDelaySeconds ?? 0,
      periodSeconds: p.periodSeconds ?? 10,
      timeoutSeconds: p.timeoutSeconds ?? 1,
      successThreshold: p.successThreshold ?? 1,
      failureThreshold: p.failureThreshold ?? 3,
      ...(port !== undefined ? { port } : {}),
    };
  }

  private template(spec: any, meta: any, origin: Origin, path: JsonPath): PodTemplate {
    const names = new Set<string>();
    const containers: Container[] = spec.containers.map((c: any, i: number) => {
      const cp: JsonPath = [...path, "containers", i];
      if (names.has(c.name)) fail(origin, [...cp, "name"], `duplicate container name "${c.name}"`);
      names.add(c.name);
      const portNames = new Set<string>();
      const ports: ContainerPort[] = (c.ports ?? []).map((p: any, j: number) => {
        if (p.name !== undefined) {
          if (!/[a-z]/.test(p.name)) fail(origin, [...cp, "ports", j, "name"], `a port name must contain at least one letter, got "${p.name}"`);
          if (portNames.has(p.name)) fail(origin, [...cp, "ports", j, "name"], `duplicate port name "${p.name}"`);
          portNames.add(p.name);
        }
        return { ...(p.name !== undefined ? { name: p.name } : {}), containerPort: p.containerPort, protocol: (p.protocol ?? "TCP") as K8sProtocol };
      });
      let preStopSleepSeconds: number | undefined;
      const pre = c.lifecycle?.preStop;
      if (pre?.sleep) preStopSleepSeconds = pre.sleep.seconds;
      else if (pre?.exec) {
        const m = /(?:^|\s)sleep\s+(\d+)(?:\s|$)/.exec((pre.exec.command ?? []).join(" "));
        if (m) preStopSleepSeconds = Number(m[1]);
        else this.warn(at(origin, [...cp, "lifecycle", "preStop", "exec"]), "preStop exec commands are not modelled, only `sleep N`: this hook takes no time");
      }
      const rp = this.probe(c.readinessProbe);
      const lp = this.probe(c.livenessProbe);
      return {
        name: c.name,
        image: c.image,
        ports,
        ...(rp ? { readinessProbe: rp } : {}),
        ...(lp ? { livenessProbe: lp } : {}),
        ...(preStopSleepSeconds !== undefined ? { preStopSleepSeconds } : {}),
      };
    });
    return {
      labels: { ...(meta?.labels ?? {}) },
      annotations: { ...(meta?.annotations ?? {}) },
      containers,
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
      restartPolicy: spec.restartPolicy ?? "Always",
    };
  }

  private deploymentSpec(obj: any, origin: Origin): DeploymentState["spec"] {
    const s = obj.spec;
    const selector: Labels = s.selector.matchLabels;
    if (Object.keys(selector).length === 0) fail(origin, ["spec", "selector", "matchLabels"], "an empty selector is invalid for a Deployment (it would select every pod)");
    const tLabels: Labels = s.template.metadata?.labels ?? {};
    for (const k of Object.keys(selector)) {
      if (tLabels[k] !== selector[k]) fail(origin, ["spec", "selector", "matchLabels"], `selector does not match template labels: ${k}=${selector[k]} is not in spec.template.metadata.labels (${labelsText(tLabels) || "none"})`);
    }
    if (s.template.spec.restartPolicy && s.template.spec.restartPolicy !== "Always") fail(origin, ["spec", "template", "spec", "restartPolicy"], 'a Deployment\'s pods must use restartPolicy "Always"');
    const template = this.template(s.template.spec, s.template.metadata, origin, ["spec", "template", "spec"]);
    const ru = s.strategy?.rollingUpdate ?? {};
    return {
      replicas: s.replicas ?? 1,
      selector: { ...selector },
      template,
      strategy: { type: s.strategy?.type ?? "RollingUpdate", maxSurge: ru.maxSurge ?? "25%", maxUnavailable: ru.maxUnavailable ?? "25%" },
      minReadySeconds: s.minReadySeconds ?? 0,
    };
  }

  private service(obj: any, base: { name: string; namespace: string; labels: Labels; annotations: Labels }, origin: Origin): ServiceInput {
    const s = obj.spec ?? {};
    const type = s.type ?? "ClusterIP";
    const ports: any[] = s.ports ?? [];
    const names = new Map<string, number>();
    const portProto = new Map<string, number>();
    const out: ServicePort[] = ports.map((p, i) => {
      const pp: JsonPath = ["spec", "ports", i];
      if (ports.length > 1 && !p.name) fail(origin, [...pp, "name"], "a Service with more than one port must name every port");
      if (p.name) {
        if (names.has(p.name)) fail(origin, [...pp, "name"], `duplicate port name "${p.name}" (also spec.ports[${names.get(p.name)}])`);
        names.set(p.name, i);
      }
      const proto: K8sProtocol = p.protocol ?? "TCP";
      const pk = `${p.port}/${proto}`;
      if (portProto.has(pk)) fail(origin, [...pp, "port"], `duplicate port ${pk} (also spec.ports[${portProto.get(pk)}])`);
      portProto.set(pk, i);
      let targetPort: number | string = p.targetPort ?? p.port;
      if (typeof targetPort === "string") {
        if (/^\d+$/.test(targetPort)) targetPort = Number(targetPort);
        else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(targetPort) || targetPort.length > 15 || !/[a-z]/.test(targetPort)) {
          fail(origin, [...pp, "targetPort"], `expected a port number or a container port name (IANA_SVC_NAME), got "${targetPort}"`);
        }
      }
      if (p.nodePort !== undefined) {
        if (type === "ClusterIP") fail(origin, [...pp, "nodePort"], 'nodePort may not be set when spec.type is "ClusterIP"');
        if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) fail(origin, [...pp, "nodePort"], `expected a node port in ${NODE_PORT_MIN}-${NODE_PORT_MAX}, got ${p.nodePort}`);
      }
      return { name: p.name ?? "", protocol: proto, port: p.port, targetPort, ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) };
    });
    const selector = s.selector && Object.keys(s.selector).length > 0 ? { ...s.selector } : undefined;
    return {
      ...base,
      spec: {
        type,
        ...(s.clusterIP !== undefined ? { clusterIP: s.clusterIP } : {}),
        ...(selector ? { selector } : {}),
        ports: out,
        sessionAffinity: s.sessionAffinity ?? "None",
        sessionAffinityTimeoutSeconds: s.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
        externalIPs: [...(s.externalIPs ?? [])],
        externalTrafficPolicy: s.externalTrafficPolicy ?? "Cluster",
        internalTrafficPolicy: s.internalTrafficPolicy ?? "Cluster",
        loadBalancerSourceRanges: [...(s.loadBalancerSourceRanges ?? [])],
        ...(s.healthCheckNodePort !== undefined ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
      },
      loadBalancerIngressIPs: (obj.status?.loadBalancer?.ingress ?? []).map((x: any) => x.ip),
    };
  }

  private checkServiceAddresses(): void {
    const ips = new Map<string, string>();
    const nodePorts = new Map<number, string>();
    for (const ob of this.objects) {
      if (ob.kind !== "Service") continue;
      const id = `${ob.input.namespace}/${ob.input.name}`;
      const cip = ob.input.spec.clusterIP;
      if (cip && cip !== "None") {
        const a = tryParseIPv4(cip)!;
        const c = this.serviceCidr;
        if (!cidrContains(c, a)) fail(ob.origin, ["spec", "clusterIP"], `${cip} is outside cluster.serviceCIDR ${ipInCidrText(c)}`);
        if (a === c.addr) fail(ob.origin, ["spec", "clusterIP"], `${cip} is the network address of cluster.serviceCIDR`);
        if (a === cidrNth(c, 1)) fail(ob.origin, ["spec", "clusterIP"], `${cip} is reserved for the "kubernetes" Service (the first address of cluster.serviceCIDR)`);
        if (a === cidrNth(c, cidrSize(c) - 1)) fail(ob.origin, ["spec", "clusterIP"], `${cip} is the broadcast address of cluster.serviceCIDR`);
        const other = ips.get(cip);
        if (other) fail(ob.origin, ["spec", "clusterIP"], `cluster IP ${cip} is already allocated to Service ${other}`);
        ips.set(cip, id);
      }
      ob.input.spec.ports.forEach((p, i) => {
        if (p.nodePort === undefined) return;
        const other = nodePorts.get(p.nodePort);
        if (other) fail(ob.origin, ["spec", "ports", i, "nodePort"], `node port ${p.nodePort} is already allocated to Service ${other}`);
        nodePorts.set(p.nodePort, id);
      });
    }
  }

  /** Pod templates a Service selector would select: Deployment templates and Pod manifests. */
  /** (`selector` is never empty here: a Service without one has no selector.) */
  private selectedTemplates(ns: string, selector: Labels): PodTemplate[] {
    // The templates carrying the rarest of the selector's pairs, then the whole selector; manifest order.
    let best: PodTemplate[] | undefined;
    for (const k of Object.keys(selector)) {
      const list = this.templatesByLabel.get(`${ns}\0${k}\0${selector[k]}`);
      if (!list) return [];
      if (!best || list.length < best.length) best = list;
    }
    return (best ?? []).filter((t) => Object.keys(selector).every((k) => t.labels[k] === selector[k]));
  }

  private checkServicesAgainstPods(): void {
    // Names that have hand-written endpoints (any namespace, as before).
    const withEps = new Set<string>();
    for (const x of this.objects) {
      if (x.kind === "Endpoints") withEps.add(x.input.name);
      else if (x.kind === "EndpointSlice") withEps.add(x.input.serviceName);
    }
    for (const ob of this.objects) {
      if (ob.kind !== "Service") continue;
      const sel = ob.input.spec.selector;
      if (!sel) {
        const hasEps = withEps.has(ob.input.name);
        if (!hasEps) this.warn(at(ob.origin, ["spec"]), `Service "${ob.input.namespace}/${ob.input.name}" has no selector and no Endpoints or EndpointSlices: it has no endpoints`);
        continue;
      }
      const templates = this.selectedTemplates(ob.input.namespace, sel);
      if (templates.length === 0) {
        this.warn(at(ob.origin, ["spec", "selector"]), `Service "${ob.input.namespace}/${ob.input.name}" selects no pod (${labelsText(sel)} matches no Deployment template or Pod): it has no endpoints`);
        continue;
      }
      ob.input.spec.ports.forEach((p, i) => {
        if (typeof p.targetPort !== "string") return;
        const declared = templates.flatMap((t) => t.containers.flatMap((c) => c.ports));
        if (!declared.some((cp) => cp.name === p.targetPort && cp.protocol === p.protocol)) {
          const list = declared.map((cp) => (cp.name ? `${cp.name}=${cp.containerPort}/${cp.protocol}` : `${cp.containerPort}/${cp.protocol}`)).join(", ") || "none";
          fail(ob.origin, ["spec", "ports", i, "targetPort"], `no container of the pods selected by ${labelsText(sel)} declares a ${p.protocol} port named "${p.targetPort}" (declared: ${list})`);
        }
      });
    }
  }

  // --- pins ----------------------------------------------------------------------------------

  private checkPins(): void {
    const list = (this.raw.pin?.pods ?? []) as Record<string, any>[];
    const names = new Map<string, number>();
    const ips = new Map<string, number>();
    const hashes = new Map<string, { hash: string; i: number }>();
    const perDeployment = new Map<string, number>();
    list.forEach((p, i) => {
      const o: Origin = { src: this.src, path: ["pin", "pods", i] };
      const ns: string = p.namespace ?? KUBERNETES_DEFAULT_NS;
      const key = `${ns}/${p.name}`;
      if (names.has(key)) fail(o, ["name"], `duplicate pod pin "${p.name}" (also pin.pods[${names.get(key)}])`);
      names.set(key, i);
      let deployment: string | undefined;
      let templateHash: string | undefined;
      const podManifest = this.object("Pod", ns, p.name);
      const m = POD_NAME_RE.exec(p.name);
      if (p.deployment !== undefined) {
        if (!this.object("Deployment", ns, p.deployment)) fail(o, ["deployment"], `no Deployment "${ns}/${p.deployment}" in the manifests`);
        const mm = new RegExp(`^${p.deployment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(${HASH_CHARS}+)-(${HASH_CHARS}{5})$`).exec(p.name);
        if (!mm) fail(o, ["name"], `expected "${p.deployment}-<pod-template-hash>-<5 chars from ${NAME_ALPHABET}>", got "${p.name}"`);
        deployment = p.deployment;
        templateHash = mm[1];
      } else if (!podManifest) {
        const dep = m ? this.object("Deployment", ns, m[1]!) : undefined;
        if (!dep || !m) fail(o, ["name"], `pod pin "${p.name}" names no Pod manifest and is not "<deployment>-<pod-template-hash>-<5 chars>" for a Deployment in namespace ${ns}`);
        deployment = m[1];
        templateHash = m[2];
      }
      if (deployment) {
        const dk = `${ns}/${deployment}`;
        const h = hashes.get(dk);
        if (h && h.hash !== templateHash) fail(o, ["name"], `pod-template-hash "${templateHash}" differs from "${h.hash}" in pin.pods[${h.i}]: one template has one hash`);
        hashes.set(dk, { hash: templateHash!, i });
        perDeployment.set(dk, (perDeployment.get(dk) ?? 0) + 1);
      }
      let node = p.node !== undefined ? this.nodes.find((n) => n.name === p.node) : undefined;
      if (p.node !== undefined && !node) fail(o, ["node"], `no node named "${p.node}" in cluster.nodes`);
      if (podManifest?.kind === "Pod" && podManifest.input.spec.nodeName && p.node && podManifest.input.spec.nodeName !== p.node) {
        fail(o, ["node"], `the Pod manifest puts "${p.name}" on node ${podManifest.input.spec.nodeName}, the pin on ${p.node}`);
      }
      if (p.ip !== undefined) {
        if (ips.has(p.ip)) fail(o, ["ip"], `duplicate pinned pod IP ${p.ip} (also pin.pods[${ips.get(p.ip)}])`);
        ips.set(p.ip, i);
        const a = tryParseIPv4(p.ip)!;
        if (node && !cidrContains(node.cidr, a)) fail(o, ["ip"], `${p.ip} is outside the podCIDR of node ${node.name} (${node.podCIDR})`);
        if (!node) {
          node = this.nodes.find((n) => cidrContains(n.cidr, a));
          if (!node) fail(o, ["ip"], `${p.ip} is in no node's podCIDR (${this.nodes.map((n) => `${n.name} ${n.podCIDR}`).join(", ")})`);
        }
        if (a === node.cidr.addr || a === cidrNth(node.cidr, cidrSize(node.cidr) - 1)) fail(o, ["ip"], `${p.ip} is the network or broadcast address of ${node.podCIDR}`);
      }
      this.pinKeys.add(`${ns}/${p.name}`);
      this.pins.push({
        name: p.name,
        namespace: ns,
        ...(p.ip !== undefined ? { ip: p.ip } : {}),
        ...(p.node !== undefined ? { node: p.node } : {}),
        ...(deployment ? { deployment } : {}),
        ...(templateHash ? { templateHash } : {}),
        loc: at(o),
      });
    });
    for (const [dk, n] of perDeployment) {
      const dep = this.byKey.get(`Deployment/${dk}`);
      if (dep?.kind === "Deployment" && n > dep.input.spec.replicas) {
        this.warn(at(this.o, ["pin", "pods"]), `${n} pods are pinned for Deployment ${dk} but it has ${dep.input.spec.replicas} replicas: the extra pins are unused`);
      }
    }
  }

  // --- apps ----------------------------------------------------------------------------------

  private checkApps(): AppSpec[] {
    const seen = new Map<string, number>();
    return ((this.raw.apps ?? []) as Record<string, any>[]).map((a, i) => {
      const o: Origin = { src: this.src, path: ["apps", i] };
      if (seen.has(a.image)) fail(o, ["image"], `duplicate app for image "${a.image}" (also apps[${seen.get(a.image)}])`);
      seen.set(a.image, i);
      const st = a.serviceTime;
      let serviceTime: ServiceTime = { distribution: "constant", valueNs: 0 };
      if (st) {
        if (st.distribution === "constant") serviceTime = { distribution: "constant", valueNs: parseDuration(st.value) };
        else if (st.distribution === "exponential") serviceTime = { distribution: "exponential", meanNs: parseDuration(st.mean) };
        else if (st.distribution === "lognormal") serviceTime = { distribution: "lognormal", medianNs: parseDuration(st.median), sigma: st.sigma };
        else {
          serviceTime = { distribution: "uniform", minNs: parseDuration(st.min), maxNs: parseDuration(st.max) };
          if (serviceTime.maxNs < serviceTime.minNs) fail(o, ["serviceTime", "max"], `max (${st.max}) is less than min (${st.min})`);
        }
      }
      const onSigterm = a.onSigterm === undefined || a.onSigterm === "exit" ? undefined : a.onSigterm === "ignore" ? ("ignore" as const) : { exitAfterNs: parseDuration(a.onSigterm.exitAfter) };
      return { image: a.image, app: a.app, ...(a.text !== undefined ? { text: a.text } : {}), serviceTime, ...(onSigterm !== undefined ? { onSigterm } : {}), loc: at(o) };
    });
  }

  /** Every container image must have an app when traffic runs; before that it is only a warning. */
  private checkImages(apps: AppSpec[], hasClients: boolean): void {
    for (const ob of this.objects) {
      const t = ob.kind === "Deployment" ? ob.input.spec.template : ob.kind === "Pod" ? ob.input.spec : undefined;
      if (!t) continue;
      const base: JsonPath = ob.kind === "Deployment" ? ["spec", "template", "spec"] : ["spec"];
      t.containers.forEach((c, i) => {
        if (appForImage(apps, c.image)) return;
        const loc = at(ob.origin, [...base, "containers", i, "image"]);
        const detail = `no app simulates image "${c.image}" — add {image: "${c.image}", app: serve_hostname|http-echo} under apps`;
        if (hasClients) throw new InputError(loc, detail);
        this.warn(loc, detail);
      });
    }
  }

  // --- clients -------------------------------------------------------------------------------

  private knownPod(ns: string, name: string): boolean {
    return this.pinKeys.has(`${ns}/${name}`) || this.object("Pod", ns, name) !== undefined;
  }

  private podRefError(name: string): string {
    return `no pod named "${name}" — pods are known by name when pinned under pin.pods (generated names depend on the seed) or written as Pod manifests`;
  }

  private checkClients(): ClientSpec[] {
    const seen = new Map<string, number>();
    return ((this.raw.clients ?? []) as Record<string, any>[]).map((c, i) => {
      const o: Origin = { src: this.src, path: ["clients", i] };
      if (seen.has(c.name)) fail(o, ["name"], `duplicate client name "${c.name}" (also clients[${seen.get(c.name)}])`);
      seen.set(c.name, i);
      const slash = (c.from as string).indexOf("/");
      const fk = c.from.slice(0, slash);
      const fv = c.from.slice(slash + 1);
      let from: ClientFrom;
      let fromNs = KUBERNETES_DEFAULT_NS;
      if (fk === "node") {
        if (!this.nodes.some((n) => n.name === fv)) fail(o, ["from"], `no node named "${fv}" in cluster.nodes (nodes: ${this.nodes.map((n) => n.name).join(", ")})`);
        from = { kind: "node", node: fv };
      } else if (fk === "pod") {
        const [ns, name] = fv.includes("/") ? (fv.split("/", 2) as [string, string]) : [KUBERNETES_DEFAULT_NS, fv];
        if (!this.knownPod(ns, name)) fail(o, ["from"], this.podRefError(name));
        from = { kind: "pod", namespace: ns, pod: name };
        fromNs = ns;
      } else {
        if (tryParseIPv4(fv) === null) fail(o, ["from"], `expected "external/<IPv4 address>", got "${c.from}"`);
        from = { kind: "external", ip: fv };
      }
      if (c.rate !== undefined && c.concurrency !== undefined) fail(o, ["concurrency"], "give either rate (open loop) or concurrency (closed loop), not both");
      if (c.requestsPerConnection !== undefined && !c.keepAlive) fail(o, ["requestsPerConnection"], "requestsPerConnection needs keepAlive: true");
      const protocol: "TCP" | "UDP" = c.protocol ?? "TCP";
      if (protocol === "UDP" && c.keepAlive) fail(o, ["keepAlive"], "keepAlive is for TCP clients; a UDP client keeps its source port with reusePort: true");
      if (c.reusePort && protocol !== "UDP") fail(o, ["reusePort"], "reusePort needs protocol: UDP (TCP clients reuse connections with keepAlive)");
      const target = this.resolveTarget(o, c.target, fromNs, protocol);
      const requests = c.requests ?? (c.rate === undefined && c.duration === undefined ? 1 : undefined);
      return {
        name: c.name,
        from,
        target,
        ...(requests !== undefined ? { requests } : {}),
        ...(c.rate !== undefined ? { rate: c.rate } : {}),
        ...(c.rate === undefined ? { concurrency: c.concurrency ?? 1 } : {}),
        keepAlive: c.keepAlive ?? false,
        ...(protocol === "UDP" ? { protocol, reusePort: c.reusePort ?? false } : {}),
        ...(c.requestsPerConnection !== undefined ? { requestsPerConnection: c.requestsPerConnection } : {}),
        connectTimeoutNs: c.connectTimeout !== undefined ? parseDuration(c.connectTimeout) : 10e9,
        requestTimeoutNs: c.requestTimeout !== undefined ? parseDuration(c.requestTimeout) : 30e9,
        startNs: c.start !== undefined ? parseDuration(c.start) : 0,
        ...(c.duration !== undefined ? { durationNs: parseDuration(c.duration) } : {}),
        loc: at(o),
      };
    });
  }

  private resolveTarget(o: Origin, text: string, fromNs: string, protocol: "TCP" | "UDP" = "TCP"): ClientTarget {
    const p: JsonPath = ["target"];
    let t = text;
    let path = "/";
    if (/^https:\/\//i.test(t)) fail(o, p, "https is not modelled; use http:// (TLS does not change how Services route)");
    if (/^http:\/\//i.test(t)) {
      t = t.slice(7);
      const s = t.indexOf("/");
      if (s >= 0) { path = t.slice(s); t = t.slice(0, s); }
    } else if (/^[a-z]+:\/\//i.test(t)) fail(o, p, `expected "IP[:port]", "service[.namespace[.svc.${this.clusterDomain}]][:port]" or "http://...", got "${text}"`);
    let host = t;
    let port = 80;
    const colon = t.lastIndexOf(":");
    if (colon >= 0) {
      host = t.slice(0, colon);
      const ps = t.slice(colon + 1);
      if (!/^\d{1,5}$/.test(ps) || Number(ps) < 1 || Number(ps) > 65535) fail(o, p, `expected a port 1-65535 after ":", got "${ps}"`);
      port = Number(ps);
    }
    if (host === "") fail(o, p, `expected a host in "${text}"`);
    const services = this.objects.filter((x): x is Extract<ScenarioObject, { kind: "Service" }> & { origin: Origin } => x.kind === "Service");
    const svcResult = (svc: (typeof services)[number], ip: string): ClientTarget => {
      const sp = svc.input.spec.ports.find((x) => x.port === port && x.protocol === protocol);
      if (!sp) {
        const have = svc.input.spec.ports.map((x) => `${x.port}/${x.protocol}`).join(", ") || "none";
        fail(o, p, `Service "${svc.input.namespace}/${svc.input.name}" has no ${protocol} port ${port} (ports: ${have})`);
      }
      return { text, host, port, path, resolved: { kind: "service", namespace: svc.input.namespace, name: svc.input.name, portName: sp.name, ip } };
    };
    const a = tryParseIPv4(host);
    if (a !== null) {
      const byIP = services.find((s) => s.input.spec.clusterIP === host || s.input.spec.externalIPs.includes(host) || (s.input.loadBalancerIngressIPs ?? []).includes(host));
      if (byIP) return svcResult(byIP, host);
      if (cidrContains(this.serviceCidr, a)) {
        fail(o, p, `no Service has cluster IP ${host} — only Services that pin spec.clusterIP have a cluster IP known before the run; name the Service instead (e.g. "hostnames:80")`);
      }
      const known = this.nodes.some((n) => n.ip === host) || cidrContains(this.clusterCidr, a) || this.objects.some((x) => x.kind === "EndpointSlice" && x.input.endpoints.some((e) => e.addresses.includes(host))) || this.objects.some((x) => x.kind === "Endpoints" && x.input.subsets.some((s) => s.addresses.some((ad) => ad.ip === host)));
      if (!known) fail(o, p, `${host} resolves to nothing: it is no Service cluster/external IP, node IP or pod address`);
      return { text, host, port, path, resolved: { kind: "ip", ip: host } };
    }
    const labels = host.split(".");
    const dom = this.clusterDomain.split(".");
    let svcName = labels[0]!;
    let ns = fromNs;
    const rest = labels.slice(1);
    const ok =
      rest.length === 0 ||
      rest.length === 1 ||
      (rest.length === 2 && rest[1] === "svc") ||
      (rest.length === 2 + dom.length && rest[1] === "svc" && rest.slice(2).join(".") === this.clusterDomain);
    if (!ok) fail(o, p, `expected "service[.namespace[.svc.${this.clusterDomain}]]", got "${host}"`);
    if (rest.length >= 1) ns = rest[0]!;
    const svc = services.find((s) => s.input.namespace === ns && s.input.name === svcName);
    if (!svc) fail(o, p, `no Service "${svcName}" in namespace ${ns}`);
    if (svc.input.spec.clusterIP === "None") fail(o, p, `Service "${ns}/${svcName}" is headless (clusterIP: None): its name resolves to pod IPs, which svcsim's clients do not look up`);
    return svcResult(svc, svc.input.spec.clusterIP ?? "");
  }

  // --- timeline, expectations ----------------------------------------------------------------

  private checkTimeline(): TimelineEvent[] {
    return ((this.raw.timeline ?? []) as Record<string, any>[]).map((e, i) => {
      const o: Origin = { src: this.src, path: ["timeline", i] };
      const atNs = parseDuration(e.at);
      const loc = at(o);
      const ns: string = e.namespace ?? KUBERNETES_DEFAULT_NS;
      switch (e.action as TimelineEvent["action"]) {
        case "deletePod":
        case "killPod":
        case "failReadiness":
        case "hangPod": {
          if (!this.knownPod(ns, e.pod)) fail(o, ["pod"], this.podRefError(e.pod));
          const durationNs = e.duration !== undefined ? parseDuration(e.duration) : undefined;
          return {
            atNs, loc, action: e.action, namespace: ns, pod: e.pod,
            ...(e.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: e.gracePeriodSeconds } : {}),
            ...(durationNs !== undefined ? { durationNs } : {}),
          } as TimelineEvent;
        }
        case "nodeDown":
        case "nodeUp":
          if (!this.nodes.some((n) => n.name === e.node)) fail(o, ["node"], `no node named "${e.node}" in cluster.nodes`);
          return { atNs, loc, action: e.action, node: e.node } as TimelineEvent;
        case "scale":
        case "rollout":
          if (!this.object("Deployment", ns, e.deployment)) fail(o, ["deployment"], `no Deployment "${ns}/${e.deployment}" in the manifests`);
          return e.action === "scale"
            ? { atNs, loc, action: "scale", namespace: ns, deployment: e.deployment, replicas: e.replicas }
            : { atNs, loc, action: "rollout", namespace: ns, deployment: e.deployment, ...(e.image !== undefined ? { image: e.image } : {}) };
      }
      throw new Error("unreachable: the schema restricts actions");
    });
  }

  private checkControlPlane(): ControlPlaneSpec | undefined {
    const c = this.raw.controlPlane as Record<string, any> | undefined;
    if (!c) return undefined;
    const out: Record<string, unknown> = {};
    for (const k of CONTROL_PLANE_DURATIONS) if (c[k] !== undefined) out[k] = parseDuration(c[k]);
    for (const k of ["plegRelistPeriod", "nodeHeartbeatPeriod", "nodeMonitorPeriod", "crashLoopInitialBackoff"] as const) {
      if (out[k] === 0) fail(this.o, ["controlPlane", k], "expected a duration > 0");
    }
    if (c.defaultReadinessProbe) out.defaultReadinessProbe = this.probe(c.defaultReadinessProbe);
    return out as ControlPlaneSpec;
  }

  private checkExpectations(clients: ClientSpec[]): Expectation[] {
    return ((this.raw.expectations ?? []) as Record<string, any>[]).map((x, i) => {
      const o: Origin = { src: this.src, path: ["expectations", i] };
      if (x.client !== undefined && !clients.some((c) => c.name === x.client)) fail(o, ["client"], `no client named "${x.client}" (clients: ${clients.map((c) => c.name).join(", ") || "none"})`);
      if (x.endpoint !== undefined && tryParseIPv4(x.endpoint) === null && !this.knownPod(KUBERNETES_DEFAULT_NS, x.endpoint)) fail(o, ["endpoint"], `expected a pinned pod name or a pod IP, ${this.podRefError(x.endpoint).replace(/^no pod/, "but there is no pod")}`);
      if (x.metric.startsWith("fairness.") && x.metric === "fairness.p" && (x.value < 0 || x.value > 1)) fail(o, ["value"], `fairness.p is a p-value in [0, 1], got ${x.value}`);
      return { metric: x.metric, op: x.op, value: x.value, ...(x.endpoint !== undefined ? { endpoint: x.endpoint } : {}), ...(x.client !== undefined ? { client: x.client } : {}), tolerance: x.tolerance ?? 0, loc: at(o) };
    });
  }
}

/** The app simulating an image: exact match, or an app image without tag matching any tag of it. */
export function appForImage(apps: readonly AppSpec[], image: string): AppSpec | undefined {
  const exact = apps.find((a) => a.image === image);
  if (exact) return exact;
  const untagged = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  return apps.find((a) => a.image === untagged);
}
