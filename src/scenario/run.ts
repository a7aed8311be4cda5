/**
 * The run core: a scenario becomes a timed simulation and a RunResult.
 *
 * Wiring: the cluster at t=0 (buildInitialState with the "cluster/names" stream, exactly as the
 * static views build it), one ClusterNetwork with kube-proxy's rules restored on every node
 * (generateRules → Netfilter.restore, filter then nat), a socket layer (TcpHost) in every network
 * namespace (pods, node host networks, the external machines clients run on), the scenario's apps
 * listening in the pods whose images they match, and the scenario's clients.
 *
 * Seeded streams: `kube-proxy/statistic@<node>` (statistic matches), `nat/random-fully@<node>`
 * (MASQUERADE --random-fully ports), `tcp/ports@<host>` (ephemeral port offset),
 * `app/<pod>` (service times), `client/<name>` (open-loop arrivals), `cluster/names`.
 *
 * When the run stops: at `until` when given; otherwise when every client has an outcome for every
 * request and no TCP connection is open any more (TIME_WAIT sockets and conntrack entries may
 * remain, as after real curls), or at run.duration if that comes first; `drain: true` instead runs
 * until nothing is pending (TIME_WAIT and conntrack entries expired).
 *
 * The timeline (pod deletion, kills, readiness failures, hangs, node failures, scaling, rollouts)
 * runs on the timed control plane (control/ControlPlane: kubelets, controllers, every node's
 * kube-proxy with its own sync timing), created only when the scenario has a timeline (without one
 * the cluster stays as built at t=0). Its effects reach the data plane here:
 * - kube-proxy syncs restore their payloads on the node's netfilter (`--noflush`; a fresh table set
 *   for a kube-proxy that starts on a rebooted node); its UDP `conntrack -D` runs on the node's table;
 * - a pod's sandbox (network "up") becomes a network namespace with its IP, a socket layer and its
 *   node's route; "gone" removes it: the IP blackholes (packets dropped at the node, SYNs
 *   retransmitted until the client's connect timeout);
 * - its process: "running" listens and serves (a new app instance per container start);
 *   "stopped" closes the listener (SYNs answered with RST: refused) and the kernel closes the
 *   accepted sockets (FIN: a request still waiting gets an empty reply, counted as reset);
 *   "hung" keeps accepting but never answers; "terminating" (an app that drains on SIGTERM, see the
 *   scenario's apps[].onSigterm) closes its listener, finishes in-flight requests with
 *   "Connection: close" and closes idle keep-alive connections;
 * - a node that is down forwards and answers nothing ("node-down"); back up, it has empty
 *   conntrack and netfilter tables until its kube-proxy's first sync.
 * Clients whose own host is on a node that goes down keep running (their packets die at the node);
 * not modelled: the client process dying with its machine.
 *
 * With a timeline, the run does not stop before the last step has been applied; `drain` then runs
 * until every conntrack table is empty as well (the control plane's periodic work never ends).
 * Packets still travelling when the run stops get the fate "in-flight".
 */
import { Simulation } from "../engine/sim.ts";
import { RngRoot } from "../engine/rng.ts";
import type { SimTime } from "../engine/time.ts";
import { MAX_SIM_TIME } from "../engine/time.ts";
import { Trace, type TraceLevel, type TraceRecord } from "../engine/trace.ts";
import { endpointKey, formatIPv4, parseIPv4, tryParseIPv4 } from "../net/ip.ts";
import type { ClusterState } from "../cluster/types.ts";
import { objKey, sortedValues } from "../cluster/types.ts";
import { Netfilter } from "../netfilter/netfilter.ts";
import { formatConntrackL, type ConntrackEntry } from "../netfilter/conntrack.ts";
import { generateRules, nodeRulesKeys } from "../kubeproxy/generate.ts";
import type { GeneratedRules } from "../kubeproxy/types.ts";
import { ClusterNetwork, type NetHost, type NetworkConfig } from "../datapath/network.ts";
import { TcpHost, TcpKernel } from "../traffic/tcp.ts";
import { AppRuntime, APP_DEFAULT_PORT, PodApp } from "../traffic/apps.ts";
import { ControlPlane, type PodRuntime } from "../control/controlplane.ts";
import type { ControlPlaneConfig } from "../control/config.ts";
import { scheduleTimeline } from "../control/timeline.ts";
import { ClientRuntime, type ClientConfig } from "../traffic/client.ts";
import { HostStack, UdpAppRuntime, UdpClient, UdpHost, UdpServerApp, udpClientConfig, type UdpSocket } from "../traffic/udp.ts";
import type { ConnectionRecord, RequestRecord } from "../traffic/types.ts";
import { InputError } from "../errors.ts";
import { buildInitialState } from "./build.ts";
import { appForImage } from "./load.ts";
import { CLUSTER_NAMES_STREAM } from "./static.ts";
import type { ClientSpec, ControlPlaneDuration, Scenario } from "./types.ts";

export interface RunOptions {
  /** Overrides scenario.run.seed. */
  readonly seed?: number;
  /** Stop at this simulated time exactly (ns), whatever is still going on. */
  readonly until?: SimTime;
  /** Run until nothing is pending (TIME_WAIT and conntrack entries expired). Ignored with `until`. */
  readonly drain?: boolean;
  readonly traceLevel?: TraceLevel;
  /** Called every scenario.run.interval of simulated time while clients are active, and at the end. */
  readonly onProgress?: (p: RunProgress) => void;
  /**
   * onProgress's interval (ns) instead of scenario.run.interval (the benchmark's finer marks).
   * Each call is an event of the run (counted in eventsProcessed); the simulation is the same.
   */
  readonly progressIntervalNs?: SimTime;
  /** Datapath latencies and costs (defaults: DEFAULT_NETWORK_CONFIG). */
  readonly network?: Partial<NetworkConfig>;
  /**
   * The cluster at t=0 when already built with initialState(scenario, new RngRoot(seed)) (saves
   * rebuilding it, e.g. for benchmarks). Must come from the same scenario and seed.
   */
  readonly initialState?: ClusterState;
  /** Observer of each trace record as it is emitted (debugging, live views). */
  readonly onRecord?: (rec: TraceRecord) => void;
  /** Called once the world is built (rules installed, sockets listening), just before simulated time starts (benchmarks time set-up and run apart). */
  readonly onSetupDone?: () => void;
}

export interface RunProgress {
  readonly now: SimTime;
  readonly requestsDone: number;
  readonly packets: number;
  readonly done: boolean;
}

/** A node's live objects at the end of the run (for iptables-save -c and conntrack -L views). */
export interface RunNode {
  readonly name: string;
  readonly netfilter: Netfilter;
  /** `iptables-save` (with `-c` counters when counters is true). */
  iptablesSave(counters?: boolean): string;
  /** `conntrack -L` lines at the run's end time (entries sorted by id), and conntrack's summary line. */
  conntrackList(): { lines: string[]; summary: string };
  conntrackEntries(): ConntrackEntry[];
}

export interface RunResult {
  readonly scenario: Scenario;
  readonly seed: number;
  /** Simulated time the run stopped at (ns). */
  readonly endTime: SimTime;
  /** When the last client finished (−1 if some client did not). */
  readonly clientsDoneAt: SimTime;
  readonly trace: Trace;
  readonly requests: readonly RequestRecord[];
  readonly connections: readonly ConnectionRecord[];
  /** The cluster state at the end (as the control plane left it; the t=0 state without a timeline). */
  readonly state: ClusterState;
  /** The timed control plane (present when the scenario has a timeline). */
  readonly controlPlane?: ControlPlane;
  readonly nodes: readonly RunNode[];
  readonly network: ClusterNetwork;
  readonly packets: {
    readonly sent: number;
    /** Fates other than "in-flight" (delivered, dropped, rejected). */
    readonly fated: number;
    /** Still travelling when the run stopped (each has an "in-flight" packet.fate record). */
    readonly inFlight: number;
  };
  /** Kernel rules evaluated on all nodes (linear iptables semantics). */
  readonly rulesEvaluated: number;
  readonly eventsProcessed: number;
}

/** Builds the cluster at t=0 from the scenario with the run's seed (same names as the static views). */
export function initialState(scenario: Scenario, rng: RngRoot): ClusterState {
  const names = rng.stream(CLUSTER_NAMES_STREAM);
  return buildInitialState(scenario, () => names.next());
}

interface World {
  sim: Simulation;
  rng: RngRoot;
  trace: Trace;
  state: ClusterState;
  net: ClusterNetwork;
  tcp: TcpKernel;
  clients: ClientRuntime;
  tcpHosts: Map<number, TcpHost>;
  cp: ControlPlane | undefined;
}

/** The scenario's `controlPlane:` names → ControlPlaneConfig fields. */
const CONTROL_PLANE_FIELDS: { readonly [K in ControlPlaneDuration]: keyof ControlPlaneConfig } = {
  kubeletWatchDelay: "kubeletWatchDelayNs",
  sandboxSetupDelay: "sandboxSetupNs",
  containerStartDelay: "containerStartNs",
  containerRestartDelay: "containerRestartNs",
  statusUpdateDelay: "statusUpdateDelayNs",
  sandboxTeardownDelay: "sandboxTeardownNs",
  plegRelistPeriod: "plegRelistPeriodNs",
  crashLoopInitialBackoff: "crashLoopInitialNs",
  crashLoopMaxBackoff: "crashLoopMaxNs",
  endpointSliceDelay: "endpointSliceDelayNs",
  controllerDelay: "controllerDelayNs",
  schedulerDelay: "schedulerDelayNs",
  kubeProxyWatchDelay: "kubeProxyWatchDelayNs",
  kubeProxyStartDelay: "kubeProxyStartNs",
  kubeletStartDelay: "kubeletStartNs",
  nodeHeartbeatPeriod: "nodeHeartbeatPeriodNs",
  nodeMonitorPeriod: "nodeMonitorPeriodNs",
  nodeMonitorGracePeriod: "nodeMonitorGracePeriodNs",
  podEvictionTimeout: "notReadyTolerationNs",
};

/** The control plane's configuration from the scenario (delays, default probe, the apps' SIGTERM handling). */
export function controlPlaneConfigOf(scenario: Scenario): Partial<ControlPlaneConfig> {
  const out: Record<string, unknown> = {};
  const c = scenario.controlPlane ?? {};
  for (const k of Object.keys(CONTROL_PLANE_FIELDS) as ControlPlaneDuration[]) if (c[k] !== undefined) out[CONTROL_PLANE_FIELDS[k]] = c[k];
  if (c.defaultReadinessProbe) out.defaultReadinessProbe = c.defaultReadinessProbe;
  out.appShutdown = (pod: { image: string }) => {
    const s = appForImage(scenario.apps, pod.image)?.onSigterm;
    return { sigtermExitSeconds: s === undefined ? 0 : s === "ignore" ? null : s.exitAfterNs / 1e9 };
  };
  return out as Partial<ControlPlaneConfig>;
}

/** One pod's sandbox on the data plane: its namespace, socket layer and current app process. */
interface PodProc {
  readonly key: string;
  readonly host: NetHost;
  readonly stack: TcpHost;
  app: PodApp | undefined;
  /** Ports the app listens on while it runs. */
  ports: number[];
}

/**
 * Conntrack hash slots per node for a run (NetworkConfig.conntrackSlots): room for every
 * connection the clients will open (their requests, or rate × duration; a connection per request
 * at most) under both tuples at half load, from 1,024 up to 131,072 slots (32,768 entries, 1.5 MB
 * a node). A table that needs more still doubles; one sized for its run does not rehash its way
 * up while packets wait (the 1,000-Service benchmark's rehashing was about 2 % of its run's instructions).
 */
export function conntrackSlots(scenario: Scenario): number {
  let conns = 0;
  for (const c of scenario.clients) {
    conns += c.requests ?? (c.rate !== undefined && c.durationNs !== undefined ? Math.ceil((c.rate * c.durationNs) / 1e9) : 1);
  }
  return Math.min(131_072, Math.max(1024, 4 * conns));
}

function buildWorld(scenario: Scenario, seed: number, opts: RunOptions): World {
  const sim = new Simulation({ initialCapacity: 4096 });
  const rng = new RngRoot(seed);
  const trace = new Trace({ level: opts.traceLevel ?? "full" });
  const state = opts.initialState ?? initialState(scenario, rng);
  if (opts.onRecord) trace.subscribe(opts.onRecord);
  const config: Partial<NetworkConfig> = { conntrackSlots: conntrackSlots(scenario), ...opts.network };
  const net = new ClusterNetwork({ sim, rng, state, trace, rulesFactory: () => new Netfilter(), config });
  // Nodes whose payloads cannot differ (nodeRulesKeys) share one generation: the same bytes as
  // generating for each, without a 32 MB payload and ~150 MB of garbage per node at 10,000 Services.
  let last: { key: string; rules: GeneratedRules } | undefined;
  const keys = nodeRulesKeys(state, net.nodes.map((n) => n.name), scenario.kubeProxy);
  for (const [i, n] of net.nodes.entries()) {
    const key = keys[i]!;
    if (last?.key !== key) last = { key, rules: generateRules(state, n.name, scenario.kubeProxy) };
    net.installRules(n.name, [last.rules.filter, last.rules.nat]);
  }
  last = undefined;
  compactAfterSetupStep(net.nodes.reduce((n, k) => n + (k.rules as Netfilter).ruleCount("nat") + (k.rules as Netfilter).ruleCount("filter"), 0));
  const tcp = new TcpKernel(sim, net);
  const tcpHosts = new Map<number, TcpHost>();
  // UDP sockets beside TCP in every namespace (traffic/udp.ts; HostStack demultiplexes).
  const udpHosts = new Map<number, UdpHost>();
  const udpFor = (h: NetHost): UdpHost => {
    let u = udpHosts.get(h.id);
    if (!u) {
      u = new UdpHost(net, h.id, h.name, h.addr, rng.stream(`udp/ports@${h.key}`));
      udpHosts.set(h.id, u);
    }
    return u;
  };
  const stackFor = (h: NetHost): TcpHost => {
    let t = tcpHosts.get(h.id);
    if (!t) {
      t = new TcpHost(tcp, h.id, h.name, h.addr, () => rng.stream(`tcp/ports@${h.key}`)); // named on first use
      tcpHosts.set(h.id, t);
      net.attach(h, new HostStack(t, () => udpFor(h)));
    }
    return t;
  };
  for (const h of net.hosts) stackFor(h);

  // Apps in pods: one PodApp per container process, listening on the containers' TCP ports.
  const appRt = new AppRuntime(sim);
  const udpRt = new UdpAppRuntime(sim);
  /** Per pod: the UDP sockets its app answers on (containers' UDP ports). */
  const udpSockets = new Map<string, UdpSocket[]>();
  const procs = new Map<string, PodProc>();
  const startApp = (pp: PodProc, pods: ClusterState["pods"]): void => {
    const pod = pods[pp.key];
    if (!pod) return;
    let app: PodApp | undefined;
    const ports: number[] = [];
    for (const c of pod.spec.containers) {
      const spec = appForImage(scenario.apps, c.image);
      if (!spec) continue;
      app ??= new PodApp(appRt, spec.app, pod.meta.name, pp.host.addr, spec.serviceTime, () => rng.stream(`app/${pod.meta.name}`), spec.text);
      const cp = c.ports.filter((p) => p.protocol === "TCP").map((p) => p.containerPort);
      if (cp.length === 0) cp.push(APP_DEFAULT_PORT[spec.app]);
      for (const port of cp) {
        if (pp.stack.hasListener(port)) continue;
        pp.stack.listen(port, app);
        ports.push(port);
      }
      const udpPorts = c.ports.filter((p) => p.protocol === "UDP").map((p) => p.containerPort);
      if (udpPorts.length > 0) {
        const u = udpFor(pp.host);
        const uapp = new UdpServerApp(udpRt, spec.app, pod.meta.name, pp.host.addr, spec.serviceTime, rng.stream(`app-udp/${pod.meta.name}`), spec.text);
        const socks = udpSockets.get(pp.key) ?? [];
        for (const port of udpPorts) if (!u.hasSocket(port)) socks.push(u.bind(port, uapp));
        udpSockets.set(pp.key, socks);
      }
    }
    pp.app = app;
    pp.ports = ports;
  };
  const stopListening = (pp: PodProc): void => {
    for (const port of pp.ports) pp.stack.unlisten(port);
    pp.ports = [];
    for (const s of udpSockets.get(pp.key) ?? []) s.close();
    udpSockets.delete(pp.key);
  };
  for (const h of net.hosts) {
    if (h.kind !== "pod" || !state.pods[h.key]) continue;
    const pp: PodProc = { key: h.key, host: h, stack: stackFor(h), app: undefined, ports: [] };
    procs.set(h.key, pp);
    startApp(pp, state.pods);
  }

  const clients = new ClientRuntime(sim, trace);
  // Which endpoint each connection was DNATed to: names the endpoint of requests that fail unanswered.
  // Flow ids are small dense integers (TcpKernel.newFlowId), so a growable array indexed by flow
  // (-1: none yet) instead of a Map: no boxed values per connection.
  let flowEndpoint = new Float64Array(1024).fill(-1);
  net.onDnat = (flow, addr, port) => {
    if (!(flow >= 0) || !Number.isInteger(flow)) return;
    if (flow >= flowEndpoint.length) {
      let n = flowEndpoint.length * 2;
      while (n <= flow) n *= 2;
      const b = new Float64Array(n).fill(-1);
      b.set(flowEndpoint);
      flowEndpoint = b;
    }
    if (flowEndpoint[flow] === -1) flowEndpoint[flow] = endpointKey(addr, port); // −1 stays free for "none"
  };
  clients.endpointOf = (flow) => (flow >= 0 && flow < flowEndpoint.length ? flowEndpoint[flow] ?? -1 : -1);
  for (const c of scenario.clients) {
    const cc = clientConfig(c, state, net, stackFor, rng);
    if (c.protocol === "UDP") new UdpClient(clients, udpClientConfig(cc, udpFor(net.hosts[cc.host.hostId]!), c.reusePort ?? false, () => tcp.newFlowId()));
    else clients.add(cc);
  }

  let cp: ControlPlane | undefined;
  if (scenario.timeline.length > 0) {
    cp = new ControlPlane({
      sim, rng, trace, state,
      kubeProxy: scenario.kubeProxy,
      config: controlPlaneConfigOf(scenario),
      startupSync: false, // the rules restored above are kube-proxy's first sync
      install: (i) => {
        net.installRules(i.node, [i.rules.filter, i.rules.nat], { noflush: true, ...(i.first ? { fresh: new Netfilter() } : {}) });
      },
      conntrackDelete: (node, filter, _command, time) => net.node(node).ct.delete(filter, time),
    });
    const plane = cp;
    const dropProc = (pp: PodProc): void => {
      pp.app?.kill();
      pp.stack.dropAllSockets();
      pp.stack.up = false;
      procs.delete(pp.key);
    };
    plane.onNodeChange((node, up) => {
      if (!up) for (const pp of [...procs.values()]) if (pp.host.node?.name === node) dropProc(pp); // the machine died with its sockets
      net.setNodeUp(node, up);
      if (up) net.installRules(node, [], { fresh: new Netfilter() }); // a rebooted kernel: empty tables until kube-proxy syncs
    });
    plane.onPodRuntimeChange((rt: PodRuntime) => podRuntimeChanged(rt));
    const podRuntimeChanged = (rt: PodRuntime): void => {
      let pp = procs.get(rt.key);
      const addr = rt.ip === "" ? null : parseIPv4(rt.ip);
      if (rt.network === "gone" || addr === null) {
        if (pp) dropProc(pp);
        net.removePodHost(rt.key, plane.state);
        return;
      }
      if (!net.node(rt.node).up) return;
      if (pp && pp.host.addr !== addr) {
        dropProc(pp);
        pp = undefined;
      }
      if (!pp) {
        const h = net.addPodHost(rt.key, rt.name, addr, rt.node, plane.state);
        const stack = stackFor(h);
        stack.up = true;
        pp = { key: rt.key, host: h, stack, app: undefined, ports: [] };
        procs.set(rt.key, pp);
      }
      switch (rt.process) {
        case "running":
        case "hung":
          if (!pp.app || pp.app.dead || pp.app.draining) {
            if (pp.app && !pp.app.dead) {
              pp.app.kill();
              stopListening(pp);
              pp.stack.closeServerConnections();
            }
            startApp(pp, plane.state.pods);
          }
          if (pp.app) pp.app.hung = rt.process === "hung";
          return;
        case "terminating":
          stopListening(pp);
          pp.app?.drain(pp.stack.serverConnections());
          return;
        case "stopped":
          stopListening(pp);
          if (pp.app) pp.app.kill();
          pp.app = undefined;
          pp.stack.closeServerConnections();
          return;
      }
    };
    scheduleTimeline(plane, scenario.timeline);
  }
  return { sim, rng, trace, state, net, tcp, clients, tcpHosts, cp };
}

/** The target address of a client: a Service's cluster IP (looked up in the state when not pinned) or the IP. */
function targetAddress(c: ClientSpec, state: ClusterState): number {
  const r = c.target.resolved;
  if (r.kind === "ip") return parseIPv4(r.ip);
  if (r.ip !== "") return parseIPv4(r.ip);
  const svc = state.services[objKey(r.namespace, r.name)];
  const ip = svc ? tryParseIPv4(svc.spec.clusterIP) : null;
  if (ip === null) throw new InputError(c.loc, `Service "${r.namespace}/${r.name}" has no cluster IP`);
  return ip;
}

function clientConfig(c: ClientSpec, state: ClusterState, net: ClusterNetwork, stackFor: (h: NetHost) => TcpHost, rng: RngRoot): ClientConfig {
  let host: NetHost | undefined;
  if (c.from.kind === "node") host = net.node(c.from.node).host;
  else if (c.from.kind === "pod") {
    host = net.podHost(objKey(c.from.namespace, c.from.pod));
    if (!host) throw new InputError(c.loc, `pod "${c.from.namespace}/${c.from.pod}" has no network namespace at the start of the run (not scheduled or no IP)`);
  } else {
    const addr = parseIPv4(c.from.ip);
    const owner = net.hostAt(addr);
    if (owner && owner.kind !== "external") throw new InputError(c.loc, `external/${c.from.ip}: the address belongs to ${owner.kind} ${owner.name}`);
    host = net.addExternalHost(c.from.ip, addr);
  }
  return {
    name: c.name,
    host: stackFor(host),
    targetAddr: targetAddress(c, state),
    targetPort: c.target.port,
    hostHeader: c.target.host,
    path: c.target.path,
    ...(c.requests !== undefined ? { requests: c.requests } : {}),
    ...(c.rate !== undefined ? { rate: c.rate } : {}),
    ...(c.concurrency !== undefined ? { concurrency: c.concurrency } : {}),
    keepAlive: c.keepAlive,
    ...(c.requestsPerConnection !== undefined ? { requestsPerConnection: c.requestsPerConnection } : {}),
    connectTimeoutNs: c.connectTimeoutNs,
    requestTimeoutNs: c.requestTimeoutNs,
    startNs: c.startNs,
    ...(c.durationNs !== undefined ? { durationNs: c.durationNs } : {}),
    rng: rng.stream(`client/${c.name}`),
  };
}

/**
 * Large worlds: a full garbage collection once the rules are installed. Generating and restoring
 * hundreds of thousands of rules leaves a few hundred MB of dead strings and arrays in the old
 * generation, which V8 would only collect much later (after the sockets and apps are built, at
 * about live × 1.4): collecting here keeps peak memory near the live size (-15 % peak RSS at
 * 10,000 Services). Only when the process exposes gc (./sim and the benchmark run node with
 * --expose-gc) and the world has more than 100,000 installed rules (below that it is not worth
 * the pause); it changes nothing the simulation computes.
 */
function compactAfterSetupStep(installedRules: number): void {
  const gc = exposedGc();
  if (gc !== undefined && installedRules > 100_000) gc();
}

/** V8's gc(), when node runs with --expose-gc; undefined otherwise (tests, plain node). */
function exposedGc(): ((opts?: { type: "minor" | "major" }) => void) | undefined {
  return (globalThis as { gc?: (opts?: { type: "minor" | "major" }) => void }).gc;
}

/**
 * The end of the set-up: two young-generation collections, so the objects the set-up left there
 * (sockets, listeners, apps, clients, caches: their survivors ~3 MB at 1,000 Services) are
 * promoted now. Otherwise the run's first two scavenges copy them (V8 promotes what survives
 * twice), and the run pays for the set-up: at 1,000 Services the first two run-phase scavenges
 * took 27-34 ms with them and 14-20 ms without (--trace-gc-nvp). Only when the process exposes gc
 * (./sim and the benchmark); it changes nothing the simulation computes.
 */
function settleSetUp(): void {
  const gc = exposedGc();
  if (gc === undefined) return;
  gc({ type: "minor" });
  gc({ type: "minor" });
}

/** Runs a scenario. Throws InputError for inconsistencies found while wiring (never for packet fates). */
export function runScenario(scenario: Scenario, opts: RunOptions = {}): RunResult {
  const seed = opts.seed ?? scenario.run.seed;
  const w = buildWorld(scenario, seed, opts);
  const { sim, net, tcp, clients, trace, cp } = w;
  let clientsDoneAt = -1;
  const lastStep = scenario.timeline.reduce((m, e) => Math.max(m, e.atNs), 0);
  const finished = (): boolean => clients.allDone && tcp.openConns === 0 && sim.now >= lastStep;
  const stopIfFinished = () => {
    if (clients.allDone && clientsDoneAt < 0) clientsDoneAt = sim.now;
    if (opts.until === undefined && !opts.drain && finished()) sim.stop();
  };
  tcp.onIdle = stopIfFinished;
  clients.onClientDone = stopIfFinished;
  if (cp) {
    // The run waits for the last timeline step (scheduled before this, so it runs first at that time).
    sim.callAt(lastStep, stopIfFinished);
    if (opts.drain && opts.until === undefined) {
      // The control plane never runs out of work: drain ends once traffic and conntrack are done.
      const poll = () => {
        if (finished() && net.nodes.every((n) => n.ct.size === 0)) sim.stop();
        else sim.callIn(1_000_000_000, poll);
      };
      sim.callAt(lastStep, poll);
    }
  }

  const progress = opts.onProgress;
  if (progress) {
    if (opts.progressIntervalNs !== undefined && !(opts.progressIntervalNs > 0)) throw new Error(`runScenario: progressIntervalNs must be > 0, got ${opts.progressIntervalNs}`);
    const interval = opts.progressIntervalNs ?? (scenario.run.intervalNs > 0 ? scenario.run.intervalNs : 1_000_000_000);
    const tick = () => {
      progress({ now: sim.now, requestsDone: clients.requests.length, packets: net.packetsFated, done: false });
      if (!clients.allDone) sim.callIn(interval, tick);
    };
    sim.callIn(interval, tick);
  }

  settleSetUp();
  opts.onSetupDone?.();
  trace.emit({ type: "run.mark", time: 0, mark: "start" });
  const limit = opts.until ?? (opts.drain ? MAX_SIM_TIME : scenario.run.durationNs ?? MAX_SIM_TIME);
  if (opts.until !== undefined || opts.drain || !finished()) sim.run(limit);
  if (clients.allDone && clientsDoneAt < 0) clientsDoneAt = sim.now;
  const endTime = sim.now;
  const inFlight = net.endInFlight();
  trace.emit({ type: "run.mark", time: endTime, mark: "end" });
  progress?.({ now: endTime, requestsDone: clients.requests.length, packets: net.packetsFated, done: true });

  const nodes: RunNode[] = net.nodes.map((n) => {
    const nf = n.rules as Netfilter;
    const live = (): ConntrackEntry[] => [...n.ct.entries()].filter((e) => e.expires > endTime).sort((a, b) => a.id - b.id);
    return {
      name: n.name,
      netfilter: nf,
      iptablesSave: (counters = false) => nf.save({ counters }),
      conntrackEntries: live,
      conntrackList: () => formatConntrackL(live(), endTime),
    };
  });
  return {
    scenario,
    seed,
    endTime,
    clientsDoneAt,
    trace,
    requests: clients.requests,
    connections: clients.connections,
    state: cp ? cp.state : w.state,
    ...(cp ? { controlPlane: cp } : {}),
    nodes,
    network: net,
    packets: { sent: net.packetsSent, fated: net.packetsFated - inFlight, inFlight },
    rulesEvaluated: net.rulesEvaluated,
    eventsProcessed: sim.eventsProcessed,
  };
}

// ---- ./sim curl -------------------------------------------------------------------------------

export interface CurlOptions {
  /** "node/NAME", "pod/[NS/]NAME" or "external/IP"; default the scenario's first node. */
  readonly from?: string;
  readonly count?: number;
  readonly seed?: number;
  readonly keepAlive?: boolean;
  readonly connectTimeoutNs?: SimTime;
  readonly requestTimeoutNs?: SimTime;
}

/**
 * `curl <target>` run `count` times in sequence (a new connection each time) from one place in the
 * scenario's cluster, with the scenario's own clients left out. Returns one line per request, in
 * order: the response body, or curl's error message.
 */
export function runCurl(scenario: Scenario, target: string, opts: CurlOptions = {}): string[] {
  return runCurlDetailed(scenario, target, opts).lines;
}

export function runCurlDetailed(scenario: Scenario, target: string, opts: CurlOptions = {}): { lines: string[]; result: RunResult } {
  const seed = opts.seed ?? scenario.run.seed;
  const state = initialState(scenario, new RngRoot(seed));
  const loc = { file: "<curl>", field: "target" };
  const from = parseFrom(opts.from ?? `node/${scenario.cluster.nodes[0]!.name}`, state);
  const ns = from.kind === "pod" ? from.namespace : "default";
  const t = resolveCurlTarget(target, state, ns);
  const client: ClientSpec = {
    name: "curl",
    from,
    target: { text: target, host: t.host, port: t.port, path: t.path, resolved: { kind: "ip", ip: formatIPv4(t.addr) } },
    requests: opts.count ?? 1,
    concurrency: 1,
    keepAlive: opts.keepAlive ?? false,
    connectTimeoutNs: opts.connectTimeoutNs ?? 10_000_000_000,
    requestTimeoutNs: opts.requestTimeoutNs ?? 30_000_000_000,
    startNs: 0,
    loc,
  };
  const result = runScenario({ ...scenario, clients: [client], run: { ...scenario.run, durationNs: undefined } }, { seed });
  const lines = result.requests.map((r) => curlLine(r, t.host, t.port));
  return { lines, result };
}

/** What curl prints for one request: the body, or its error line. */
export function curlLine(r: RequestRecord, host: string, port: number): string {
  const secs = ((r.end - r.start) / 1e9).toFixed(0);
  const ms = Math.round((r.end - r.start) / 1e6);
  switch (r.outcome) {
    case "ok": return r.body;
    case "refused": return `curl: (7) Failed to connect to ${host} port ${port}: Connection refused`;
    case "reset": return "curl: (56) Recv failure: Connection reset by peer";
    case "timeout-connect": return `curl: (28) Failed to connect to ${host} port ${port}: Connection timed out after ${ms} milliseconds`;
    case "timeout-request": return `curl: (28) Operation timed out after ${ms} milliseconds with 0 bytes received (${secs} s)`;
    case "no-local-port": return `curl: (7) Failed to connect to ${host} port ${port}: Cannot assign requested address`;
  }
}

function parseFrom(text: string, state: ClusterState): ClientSpec["from"] {
  const loc = { file: "<curl>", field: "from" };
  const slash = text.indexOf("/");
  const kind = slash < 0 ? "" : text.slice(0, slash);
  const rest = text.slice(slash + 1);
  if (kind === "node") {
    if (!state.nodes[rest]) throw new InputError(loc, `no node named "${rest}" (nodes: ${Object.keys(state.nodes).sort().join(", ")})`);
    return { kind: "node", node: rest };
  }
  if (kind === "pod") {
    const [ns, name] = rest.includes("/") ? (rest.split("/", 2) as [string, string]) : ["default", rest];
    if (!state.pods[objKey(ns, name)]) {
      const names = sortedValues(state.pods).map((p) => p.meta.name).join(", ");
      throw new InputError(loc, `no pod "${ns}/${name}" (pods: ${names || "none"})`);
    }
    return { kind: "pod", namespace: ns, pod: name };
  }
  if (kind === "external" && tryParseIPv4(rest) !== null) return { kind: "external", ip: rest };
  throw new InputError(loc, `expected "node/NAME", "pod/[NAMESPACE/]NAME" or "external/IP", got "${text}"`);
}

/**
 * Resolves a curl target like cluster DNS would for a client in namespace `ns`: an IP, or
 * `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<clusterDomain>` → the Service's cluster IP;
 * with an optional `http://` scheme, `:port` (default 80) and path.
 */
export function resolveCurlTarget(text: string, state: ClusterState, ns: string): { host: string; addr: number; port: number; path: string } {
  const loc = { file: "<curl>", field: "target" };
  let t = text;
  let path = "/";
  if (/^http:\/\//i.test(t)) t = t.slice(7);
  else if (/^[a-z]+:\/\//i.test(t)) throw new InputError(loc, `only http:// targets are modelled, got "${text}"`);
  const s = t.indexOf("/");
  if (s >= 0) {
    path = t.slice(s);
    t = t.slice(0, s);
  }
  let host = t;
  let port = 80;
  const colon = t.lastIndexOf(":");
  if (colon >= 0) {
    host = t.slice(0, colon);
    const ps = t.slice(colon + 1);
    port = Number(ps);
    if (!/^\d{1,5}$/.test(ps) || port < 1 || port > 65535) throw new InputError(loc, `expected a port 1-65535 after ":", got "${ps}"`);
  }
  const a = tryParseIPv4(host);
  if (a !== null) return { host, addr: a, port, path };
  const labels = host.split(".");
  const domain = state.network.clusterDomain;
  const rest = labels.slice(1);
  const ok = rest.length <= 1 || (rest.length === 2 && rest[1] === "svc") || (rest[1] === "svc" && rest.slice(2).join(".") === domain);
  if (!ok) throw new InputError(loc, `expected an IP or "service[.namespace[.svc.${domain}]]", got "${host}" (curl: (6) Could not resolve host)`);
  const svcNs = rest[0] ?? ns;
  const svc = state.services[objKey(svcNs, labels[0]!)];
  const ip = svc ? tryParseIPv4(svc.spec.clusterIP) : null;
  if (!svc || ip === null) throw new InputError(loc, `curl: (6) Could not resolve host: ${host} (no Service "${svcNs}/${labels[0]}" with a cluster IP)`);
  return { host, addr: ip, port, path };
}
