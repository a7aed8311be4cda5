/**
 * The timed datapath: every node's kernel (netfilter rules as kube-proxy installed them, a
 * conntrack table, addressing and routing), the hosts that own sockets (one network namespace per
 * pod with an IP, each node's host network, external machines) and the links between them.
 *
 * Topology and latency (NetworkConfig): a pod reaches its node over a veth pair (10 µs), nodes
 * reach each other over the node network (100 µs), external machines reach nodes through an
 * outside router (1 ms). The outside router sends a node IP or a node's pod CIDR to that node, an
 * LB ingress IP to the node the cloud load balancer picks per connection (topology.ts
 * buildExternalRouting: a 5-tuple hash over the nodes passing the health check), and anything
 * else (externalIPs, cluster IPs) to the entry node (default: the first). Each node adds
 * its netfilter cost to a forwarded packet's delay: rules evaluated × nsPerRule.
 *
 * Per packet and node, in kernel order (see pipeline.ts, which the static tracer shares):
 * conntrack lookup (nf_conntrack_in) → a connection's first packet walks the hooks with the nat
 * table (walkHooks nat:"new"; MASQUERADE asks conntrack for a free source port), its NAT is
 * recorded in the fresh entry and the entry is confirmed; later packets and replies get the
 * entry's destination rewrite before routing and its source rewrite after, and walk only the
 * filter hooks (nat:"established"); ICMP errors related to an entry are translated (outer
 * destination and embedded tuple) back towards the original sender. REJECT answers with an ICMP
 * port unreachable that embeds the offending tuple; it goes straight back to the sender's host
 * (the kernel attaches it to the rejected packet's conntrack, which is never confirmed).
 *
 * Caches that change nothing but speed (config.pathCache; specs run every scenario with it on and
 * off): an established connection's walk per direction (FlowPath), walks shared between
 * connections with equal headers (FlowTable), and a first packet's walk with its statistic draws,
 * DNAT and MASQUERADE kept as a program that later connections replay with draws of their own
 * (NewPath, DrawNode).
 *
 * Fates: every packet handed to `send` ends in exactly one packet.fate trace record (delivered,
 * dropped with a reason, rejected), or "in-flight" when the run stops (endInFlight()).
 *
 * Over time (the run core drives these from the control plane): pod sandboxes come and go
 * (addPodHost / removePodHost: a removed pod's address no longer routes and blackholes), machines
 * stop and boot (setNodeUp), and a rebooted node's rules are replaced (installRules fresh).
 * Conntrack entries expire with the kernel's default timeouts: lazily on lookup and by a sweep
 * per node that runs while the node has entries; each removal is a conntrack.destroy record.
 *
 * Not modelled: TTL, fragmentation, MTU, link loss and queueing (links have fixed latency and
 * unbounded capacity), ARP/neighbour resolution, rp_filter, IPVS, pod-side netfilter (a pod's own
 * namespace is not filtered), raw/mangle tables (empty on a kube-proxy node), overlay encapsulation.
 */
import type { Simulation } from "../engine/sim.ts";
import type { SimTime } from "../engine/time.ts";
import { IntMap } from "../engine/intmap.ts";
import { SECOND } from "../engine/time.ts";
import { p31chance, type RngRoot, type Stream } from "../engine/rng.ts";
import { TallyHandle, type PacketFate, type PacketFateReason, type Trace } from "../engine/trace.ts";
import { cidrContains, parseCidr, parseIPv4, type Cidr, type IPv4 } from "../net/ip.ts";
import type { Packet } from "../net/packet.ts";
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, PROTO_ICMP } from "../net/packet.ts";
import type { ClusterState } from "../cluster/types.ts";
import { sortedValues } from "../cluster/types.ts";
import { CT_RELATED, type EvalContext } from "../netfilter/types.ts";
import { CounterLog } from "../netfilter/eval.ts";
import { ConntrackTable, DIR_REPLY, isConfirmed, manipBoth, manipDst, manipSrc, type ConntrackEntry, type ConntrackTimeouts, type CtDestroyReason, type SnatPortOptions } from "../netfilter/conntrack.ts";
import { newWalkScratch, walkHooks, type Origin, type Route, type RuleEvaluator, type WalkOptions, type WalkResult } from "./pipeline.ts";
import { buildExternalRouting, buildNodeAddressing, pickByTuple, type NodeAddressing } from "./topology.ts";
import { RECV_CLOSED, RECV_ICMP, RECV_RST, RECV_SOCKET, type SocketReceiver, type Wire } from "./wire.ts";

// ---- configuration --------------------------------------------------------------------------

export interface NetworkConfig {
  /** Pod ↔ its node (veth pair). */
  readonly vethLatencyNs: SimTime;
  /** Node ↔ node. */
  readonly nodeLatencyNs: SimTime;
  /** External machine ↔ node (through the outside router). */
  readonly externalLatencyNs: SimTime;
  /** Delivery to a socket of the same network namespace (lo). */
  readonly loopbackLatencyNs: SimTime;
  /** Kernel cost per rule evaluated (DESIGN §10: 13–18 ns), added to the node's forwarding delay. */
  readonly nsPerRule: number;
  /** Node that receives external traffic for cluster IPs and other non-node addresses (default: the first node). */
  readonly externalEntryNode?: string;
  /** Interval of the conntrack expiry sweep while a node has entries. */
  readonly conntrackSweepNs: SimTime;
  /** Conntrack timeout overrides (defaults: the kernel's). */
  readonly conntrackTimeouts?: Partial<ConntrackTimeouts>;
  /**
   * Hash slots each node's conntrack table starts with (ConntrackOptions.slots; default 1,024):
   * the run sizes it for the connections its clients will open (scenario/run.ts).
   */
  readonly conntrackSlots?: number;
  /**
   * Replay established connections' hook walks from the path cache (FlowPath), and look a
   * packet's conntrack entry up by its flow first (NodeKernel.ctHint). Results are identical
   * either way (a test runs scenarios both ways); off only to check that, or to profile.
   */
  readonly pathCache: boolean;
}

export const DEFAULT_NETWORK_CONFIG: NetworkConfig = Object.freeze({
  vethLatencyNs: 10_000,
  nodeLatencyNs: 100_000,
  externalLatencyNs: 1_000_000,
  loopbackLatencyNs: 0,
  nsPerRule: 15,
  conntrackSweepNs: SECOND,
  pathCache: true,
});

/** What a node's rules must offer: evaluation (pipeline.ts) and iptables-restore / -save. */
export interface NodeRules extends RuleEvaluator {
  /** Changes whenever a table gets another version (netfilter.ts Netfilter.generation). */
  readonly generation: number;
  /** Replays a CounterLog's slots for one more packet (netfilter.ts Netfilter.replayCounters). */
  replayCounters(table: unknown, slots: readonly number[], len: number): void;
  /** iptables-restore; `noflush` keeps what the input does not mention (kube-proxy's later syncs). */
  restore(text: string, opts?: { noflush?: boolean }): void;
  save(opts?: { counters?: boolean }): string;
}

// ---- hosts and nodes ------------------------------------------------------------------------

export type HostKind = "pod" | "node" | "external";

export class NetHost {
  rx: SocketReceiver | null = null;
  up = true;
  /** Per-packet cache: the ingress origin of this pod's veth, valid while `vethFor` is its node's addressing. */
  vethOrigin: Origin | null = null;
  vethFor: NodeAddressing | null = null;
  constructor(
    readonly id: number,
    readonly kind: HostKind,
    /** Pod: the pod name; node: the node name; external: the name given. */
    readonly name: string,
    readonly addr: IPv4,
    /** The node a pod runs on / the node itself; null for external machines. */
    readonly node: NodeKernel | null,
    /** Pod: "namespace/name"; otherwise the name. */
    readonly key: string,
  ) {}
}

/**
 * The path cache (a flow cache, like the kernel's flowtable or OVS megaflows, but exact): what a
 * node's filter hooks and routing decided for an established connection's packets in one
 * direction. Every later packet of that direction is a function of the same inputs — the same
 * addresses and ports after conntrack's rewrite, the same ctstate, mark 0, the same ingress, the
 * same tables (generation) and routes (addressing) — provided the walk was flowSafe (CounterLog:
 * no random draw made, no recent, nth or nfacct rule tested). Such packets replay the
 * recorded counter bumps (same packets/bytes counters, same kernel rule count and delay) instead
 * of walking. Any table change (a kube-proxy sync), route change, ctstate change or other ingress
 * falls back to the walk. Identical paths are shared between connections (interned per node).
 */
export class FlowPath {
  constructor(
    readonly rules: NodeRules,
    readonly gen: number,
    readonly addressing: NodeAddressing,
    readonly ctstate: number,
    readonly origin: Origin,
    /**
     * Delivered to the node itself; else forwarded, along the route the node's addressing gives
     * the packet's destination (fixed per connection and direction while `addressing` is, so a
     * hit looks it up again rather than keeping one path per destination).
     */
    readonly local: boolean,
    readonly rulesEvaluated: number,
    readonly cost: number,
    readonly table: unknown,
    readonly slots: readonly number[],
  ) {}

  /** Whether this path is what a walk with these inputs and this CounterLog recorded (same node). */
  matches(origin: Origin, ctstate: number, local: boolean, rulesEvaluated: number, log: CounterLog): boolean {
    if (this.ctstate !== ctstate || this.origin !== origin || this.local !== local || this.rulesEvaluated !== rulesEvaluated) return false;
    if (this.table !== log.table || this.slots.length !== log.n) return false;
    for (let i = 0; i < log.n; i++) if (this.slots[i] !== log.ids[i]) return false;
    return true;
  }
}

/**
 * A new connection's walk, for the FlowTable: what a node's hooks decided for the first packet of
 * connections with one header — the nat and filter tables' counter bumps, the kernel's rule count
 * and cost, the translation (DNAT to an endpoint, SNAT or MASQUERADE) and local delivery or
 * forwarding. A walk through random statistic rules (kube-proxy's endpoint ladder) is kept under
 * the draws it made (DrawNode); a replay makes the same draws from the node's statistic stream,
 * so it takes the branch the walk would take. Only walks whose every tested rule was pure but for
 * those draws (no recent, nfacct or nth: they keep state), that delivered or forwarded the packet,
 * and, when they masqueraded, never read a source port (the rules after the rewrite would read the
 * new one) are kept. Conntrack still creates and confirms each connection's entry, and picks each
 * masqueraded connection's source port (the same stream draws as in the walk).
 */
export class NewPath {
  constructor(
    readonly local: boolean,
    readonly rulesEvaluated: number,
    readonly cost: number,
    readonly tables: readonly unknown[],
    readonly slots: readonly (readonly number[])[],
    /** The DNAT the walk made (port: the rule's, or the packet's own when it named none). */
    readonly dnat: { readonly addr: IPv4; readonly port: number } | null = null,
    /** The SNAT or MASQUERADE it made: to `addr`, port `port` unless conntrack picks it (`picked`). */
    readonly snat: { readonly addr: IPv4; readonly port: number; readonly picked: boolean; readonly randomFully: boolean } | null = null,
  ) {}

  replay(rules: NodeRules, len: number): void {
    for (let k = 0; k < this.tables.length; k++) rules.replayCounters(this.tables[k], this.slots[k]!, len);
  }
}

/**
 * One random statistic test on the way to NewPaths: the rule's P, and what follows when the draw
 * hits or misses (null: no walk has taken that branch yet).
 */
export class DrawNode {
  onHit: DrawNode | NewPath | null = null;
  onMiss: DrawNode | NewPath | null = null;
  constructor(readonly p31: number) {}
}

/**
 * `root` (a FlowTable entry of new connections) with the walk `leaf` added under the draws
 * p31s/hits[0 .. n). The same header makes the same first draws, so the branches agree; a branch
 * that does not (impossible while the table is valid) is replaced.
 */
function graft(root: DrawNode | NewPath | null, p31s: readonly number[], hits: readonly boolean[], n: number, leaf: NewPath): DrawNode | NewPath {
  if (n === 0) return leaf;
  const top = root instanceof DrawNode && root.p31 === p31s[0] ? root : new DrawNode(p31s[0]!);
  let d = top;
  for (let k = 0; ; k++) {
    const hit = hits[k]!;
    if (k === n - 1) {
      if (hit) d.onHit = leaf;
      else d.onMiss = leaf;
      return top;
    }
    let next = hit ? d.onHit : d.onMiss;
    if (!(next instanceof DrawNode) || next.p31 !== p31s[k + 1]) {
      next = new DrawNode(p31s[k + 1]!);
      if (hit) d.onHit = next;
      else d.onMiss = next;
    }
    d = next;
  }
}

function pathHash(ctstate: number, local: boolean, rulesEvaluated: number, log: CounterLog): number {
  let h = Math.imul(ctstate ^ 0x2545f491, 0x9e3779b1) ^ rulesEvaluated ^ (local ? 0x40000000 : 0);
  for (let i = 0; i < log.n; i++) h = Math.imul(h ^ log.ids[i]!, 0x85ebca77) ^ (h >>> 13);
  return h | 0;
}

/**
 * The flow table: which FlowPath an established packet takes (or which NewPath a connection's
 * first packet takes, see there), keyed by what its walk read — ingress origin, ctstate, source
 * and destination address, protocol (after conntrack's destination rewrite) and, only when some
 * rule tested it, one port. Connections that differ only
 * in ports their walk never looked at (a client's successive connections to one endpoint: a new
 * source port each, and a new destination port for their replies) then share one walk per node
 * and direction, as OVS megaflows share one upcall among the microflows that differ only in
 * fields the rules never examined. A walk that read both ports (CounterLog.readsSport and
 * readsDport) is not shared. The remaining inputs of a walk are fixed per key: the mark is 0 on
 * arrival, the interfaces follow from the origin and the route to the destination, addrtype from
 * the addresses and the node's addressing, and the walk was flowSafe (or, for a NewPath, pure:
 * its draws are the DrawNodes above it).
 * Open addressing, linear probing; emptied with its PathTable, and when full.
 */
const FLOW_TABLE_MAX = 1 << 16;
/** What a FlowTable key holds of the ports. */
const FK_NO_PORT = 0, FK_DPORT = 1, FK_SPORT = 2;

class FlowTable {
  private src = new Int32Array(0);
  private dst = new Int32Array(0);
  /** proto << 16 | the kept port (0 when none), −1 for a free slot. */
  private pp = new Int32Array(0);
  /** ctstate | kind << 24. */
  private stk = new Int32Array(0);
  private origins: (Origin | null)[] = [];
  private paths: (FlowPath | NewPath | DrawNode | null)[] = [];
  private mask = -1;
  private n = 0;
  /** Bit k set when some key of kind k is held (lookups skip the others). */
  private kinds = 0;

  private static hash(stk: number, src: number, dst: number, pp: number): number {
    let h = Math.imul(src ^ 0x2545f491, 0x9e3779b1) ^ dst;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca77) ^ pp ^ Math.imul(stk, 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d);
    return h ^ (h >>> 16);
  }

  find(origin: Origin, st: number, pkt: Packet): FlowPath | NewPath | DrawNode | null {
    const kinds = this.kinds;
    if (kinds === 0) return null;
    const src = pkt.src | 0, dst = pkt.dst | 0, proto = pkt.proto << 16;
    let p: FlowPath | NewPath | DrawNode | null = null;
    if ((kinds & (1 << FK_NO_PORT)) !== 0) p = this.probe(origin, st | (FK_NO_PORT << 24), src, dst, proto);
    if (p === null && (kinds & (1 << FK_DPORT)) !== 0) p = this.probe(origin, st | (FK_DPORT << 24), src, dst, proto | pkt.dport);
    if (p === null && (kinds & (1 << FK_SPORT)) !== 0) p = this.probe(origin, st | (FK_SPORT << 24), src, dst, proto | pkt.sport);
    return p;
  }

  /** The entry recorded for exactly this key kind (see add), or null. */
  get(origin: Origin, st: number, pkt: Packet, readSport: boolean, readDport: boolean): FlowPath | NewPath | DrawNode | null {
    if (this.mask < 0 || (readSport && readDport)) return null;
    const kind = readDport ? FK_DPORT : readSport ? FK_SPORT : FK_NO_PORT;
    const pp = (pkt.proto << 16) | (kind === FK_DPORT ? pkt.dport : kind === FK_SPORT ? pkt.sport : 0);
    return this.probe(origin, st | (kind << 24), pkt.src | 0, pkt.dst | 0, pp);
  }

  private probe(origin: Origin, stk: number, src: number, dst: number, pp: number): FlowPath | NewPath | DrawNode | null {
    const mask = this.mask;
    for (let i = FlowTable.hash(stk, src, dst, pp) & mask; ; i = (i + 1) & mask) {
      const k = this.pp[i]!;
      if (k === -1) return null;
      if (k === pp && this.dst[i] === dst && this.src[i] === src && this.stk[i] === stk && this.origins[i] === origin) return this.paths[i]!;
    }
  }

  /** Records the path of a walk of `pkt` that read the source / destination port or not. */
  add(origin: Origin, st: number, pkt: Packet, readSport: boolean, readDport: boolean, p: FlowPath | NewPath | DrawNode): void {
    if (readSport && readDport) return;
    const kind = readDport ? FK_DPORT : readSport ? FK_SPORT : FK_NO_PORT;
    if ((this.n + 1) * 2 > this.pp.length) {
      if (this.pp.length >= FLOW_TABLE_MAX) this.clear();
      else this.resize(Math.max(256, this.pp.length * 2));
    }
    const src = pkt.src | 0, dst = pkt.dst | 0;
    const pp = (pkt.proto << 16) | (kind === FK_DPORT ? pkt.dport : kind === FK_SPORT ? pkt.sport : 0);
    const stk = st | (kind << 24);
    const mask = this.mask;
    let i = FlowTable.hash(stk, src, dst, pp) & mask;
    for (; this.pp[i] !== -1; i = (i + 1) & mask) {
      if (this.pp[i] === pp && this.dst[i] === dst && this.src[i] === src && this.stk[i] === stk && this.origins[i] === origin) {
        this.paths[i] = p;
        return;
      }
    }
    this.src[i] = src;
    this.dst[i] = dst;
    this.pp[i] = pp;
    this.stk[i] = stk;
    this.origins[i] = origin;
    this.paths[i] = p;
    this.n++;
    this.kinds |= 1 << kind;
  }

  private resize(cap: number): void {
    const { src, dst, pp, stk, origins, paths } = this;
    this.src = new Int32Array(cap);
    this.dst = new Int32Array(cap);
    this.pp = new Int32Array(cap).fill(-1);
    this.stk = new Int32Array(cap);
    this.origins = new Array<Origin | null>(cap).fill(null);
    this.paths = new Array<FlowPath | NewPath | DrawNode | null>(cap).fill(null);
    this.mask = cap - 1;
    for (let j = 0; j < pp.length; j++) {
      if (pp[j] === -1) continue;
      let i = FlowTable.hash(stk[j]!, src[j]!, dst[j]!, pp[j]!) & this.mask;
      while (this.pp[i] !== -1) i = (i + 1) & this.mask;
      this.src[i] = src[j]!;
      this.dst[i] = dst[j]!;
      this.pp[i] = pp[j]!;
      this.stk[i] = stk[j]!;
      this.origins[i] = origins[j]!;
      this.paths[i] = paths[j]!;
    }
  }

  clear(): void {
    if (this.n === 0) return;
    this.pp.fill(-1);
    this.origins.fill(null);
    this.paths.fill(null);
    this.n = 0;
    this.kinds = 0;
  }
}

/** One node's interned FlowPaths, valid for one (rules, generation, addressing); emptied on change. */
class PathTable {
  private readonly byHash = new Map<number, FlowPath[]>();
  /** The last few paths interned or found (checked before hashing: consecutive misses repeat). */
  private readonly recent: (FlowPath | null)[] = [null, null, null, null];
  private recentNext = 0;
  private gen = -1;
  private rules: NodeRules | null = null;
  private addressing: NodeAddressing | null = null;
  /** Paths by header (see FlowTable), with the same validity as the interned paths. */
  private readonly flows = new FlowTable();

  /** Empties the table when the node's rules, their generation or its addressing changed. */
  private validate(node: NodeKernel): void {
    const rules = node.rules, gen = rules.generation;
    if (this.gen !== gen || this.rules !== rules || this.addressing !== node.addressing) {
      this.byHash.clear();
      this.recent.fill(null);
      this.flows.clear();
      this.gen = gen;
      this.rules = rules;
      this.addressing = node.addressing;
    }
  }

  /**
   * The path a packet with this header takes, when a walk of an equal header recorded one
   * (FlowTable): a FlowPath for established packets, a NewPath for a connection's first.
   */
  flow(node: NodeKernel, origin: Origin, ctstate: number, pkt: Packet): FlowPath | NewPath | DrawNode | null {
    this.validate(node);
    return this.flows.find(origin, ctstate, pkt);
  }

  /** Records `p` as the path of packets with this header (FlowTable.add). */
  addFlow(node: NodeKernel, origin: Origin, ctstate: number, pkt: Packet, readSport: boolean, readDport: boolean, p: FlowPath): void {
    this.validate(node);
    this.flows.add(origin, ctstate, pkt, readSport, readDport, p);
  }

  /** Records a new connection's walk (see NewPath) under the header it read and the draws it made (`log`). */
  addNew(node: NodeKernel, origin: Origin, ctstate: number, pkt: Packet, log: CounterLog, p: NewPath): void {
    this.validate(node);
    const { readsSport, readsDport } = log;
    const root = this.flows.get(origin, ctstate, pkt, readsSport, readsDport) as DrawNode | NewPath | null;
    this.flows.add(origin, ctstate, pkt, readsSport, readsDport, graft(root, log.drawP31, log.drawHit, log.nDraws, p));
  }

  /** The shared FlowPath for a walk recorded in `log` (a new one only for a path not taken yet). */
  intern(node: NodeKernel, origin: Origin, ctstate: number, local: boolean, rulesEvaluated: number, cost: number, log: CounterLog): FlowPath {
    this.validate(node);
    const rules = node.rules, gen = rules.generation;
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) {
      const q = recent[i]!;
      if (q !== null && q.matches(origin, ctstate, local, rulesEvaluated, log)) return q;
    }
    const h = pathHash(ctstate, local, rulesEvaluated, log);
    let bucket = this.byHash.get(h);
    let p: FlowPath | undefined;
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length && p === undefined; i++) if (bucket[i]!.matches(origin, ctstate, local, rulesEvaluated, log)) p = bucket[i]!;
    } else this.byHash.set(h, (bucket = []));
    if (p === undefined) {
      p = new FlowPath(rules, gen, node.addressing, ctstate, origin, local, rulesEvaluated, cost, log.table, log.slots());
      bucket.push(p);
    }
    recent[this.recentNext] = p;
    this.recentNext = (this.recentNext + 1) & 3;
    return p;
  }
}

export class NodeKernel {
  up = true;
  /** Interned FlowPaths of the current generation/addressing (see FlowPath). */
  readonly paths = new PathTable();
  /** Rules evaluated on this node (kernel cost, linear semantics). */
  rulesEvaluated = 0;
  /** Packets processed by this node's netfilter. */
  packets = 0;
  sweepPending = false;
  /** The trace counter of this node's conntrack.new records at summary level (ClusterNetwork.ctConfirmed). */
  ctNewTally: TallyHandle | undefined = undefined;
  /**
   * The conntrack entry of each recent flow's last packet on this node, in a ring indexed by flow
   * id (the flows in flight are the latest ones, so their slots stay in the CPU cache): the hint
   * ConntrackTable.track checks before its hash lookup (see there; path cache only).
   */
  readonly ctHintFlow = new Int32Array(CT_HINTS).fill(-1);
  readonly ctHint: (ConntrackEntry | null)[] = new Array<ConntrackEntry | null>(CT_HINTS).fill(null);
  /** Next hops by destination address, valid while `hopsFor` is this node's addressing (ClusterNetwork.hopTo). */
  readonly hops = new IntMap<NextHop>();
  hopsFor: NodeAddressing | null = null;
  readonly ctx: EvalContext;
  /**
   * Answers ctx.chance gives before drawing again (preDraws[preNext .. preCount)): the draws a
   * NAT program's replay already made when it found no recorded branch for them, handed to the
   * walk that takes over, so that the walk meets the same answers (ClusterNetwork.process).
   */
  readonly preDraws: boolean[] = [];
  preCount = 0;
  preNext = 0;
  /** MASQUERADE/SNAT --random-fully: ports drawn from this node's nat stream. */
  readonly snatRandomFully: SnatPortOptions;
  host!: NetHost;
  constructor(
    readonly index: number,
    readonly name: string,
    public addressing: NodeAddressing,
    /** Replaced when the machine reboots (its kernel tables start empty). */
    public rules: NodeRules,
    readonly ct: ConntrackTable,
    readonly statistic: Stream,
    readonly natRandom: Stream,
  ) {
    const draw = p31chance(statistic);
    const chance = (p31: number): boolean => (this.preNext < this.preCount ? this.preDraws[this.preNext++]! : draw(p31));
    this.snatRandomFully = { randomFully: true, randomU32: () => natRandom.uint32() };
    this.ctx = {
      ctstate: 0, mark: 0, inIface: "", outIface: "", now: 0,
      isLocal: (a: number) => this.addressing.isLocal(a),
      chance,
    };
  }
}

const NO_SNAT_OPTIONS: SnatPortOptions = {};
/** Slots of NodeKernel.ctHint (a power of two). */
const CT_HINTS = 1024;

/**
 * Where a node sends packets for one destination after its hooks (the route, and the pod's
 * network namespace or the next node it names), remembered per node and destination for replayed
 * walks. Valid for one addressing of the node: every change of a pod sandbox on the node (CNI ADD
 * or DEL) builds the node a new addressing, so a pod route's host cannot change under it. External
 * machines are looked up each time (they come and go without a routing change).
 */
interface NextHop {
  readonly route: Route;
  /** The pod behind a pod route (null: no live sandbox has the address; other kinds: null). */
  readonly host: NetHost | null;
  /** The node a node route leads to (other kinds: null). */
  readonly next: NodeKernel | null;
}

/** The packet being carried and what rides beside its headers; one object per packet, reused per hop. */
export class Frame {
  /** Intrusive list of frames without a fate yet (the in-flight set reported when a run ends). */
  prevLive: Frame | null = null;
  nextLive: Frame | null = null;
  constructor(
    public pkt: Packet,
    readonly id: number,
    readonly flow: number,
    readonly meta: unknown,
    /** Ingress interface at the next node ("eth0", a pod's veth). */
    public iface: string,
  ) {}
  /** The ingress origin matching `iface` (cached; null: look it up from iface). */
  origin: Origin | null = null;
}

/** Fate tallies, indexed like FATE_REASONS. */
export const FATE_REASONS: readonly PacketFateReason[] = [
  "socket", "icmp-to-sender", "iptables-drop", "no-route", "no-endpoint-pod", "node-down", "link-loss", "ct-invalid",
  "ct-insert-failed", "nat-port-exhausted", "no-socket-tcp-rst", "no-socket-udp-icmp", "socket-closed", "ttl-exceeded", "iptables-reject",
  "run-ended",
];
const R_SOCKET = 0, R_ICMP = 1, R_DROP = 2, R_NOROUTE = 3, R_NOPOD = 4, R_NODEDOWN = 5, R_INSERT = 8, R_NATPORT = 9, R_RST = 10, R_CLOSED = 12, R_REJECT = 14, R_RUN_ENDED = 15;
const FATE_OF: readonly PacketFate[] = FATE_REASONS.map((r) => (r === "socket" || r === "icmp-to-sender" ? "delivered" : r === "iptables-reject" ? "rejected" : r === "run-ended" ? "in-flight" : "dropped"));

// ---- the network ----------------------------------------------------------------------------

export interface ClusterNetworkOptions {
  readonly sim: Simulation;
  readonly rng: RngRoot;
  readonly state: ClusterState;
  /** One rule set per node, empty; the caller installs kube-proxy's rules (installRules). */
  readonly rulesFactory: (node: string) => NodeRules;
  readonly config?: Partial<NetworkConfig>;
  readonly trace?: Trace;
}

export class ClusterNetwork implements Wire {
  readonly config: NetworkConfig;
  readonly sim: Simulation;
  readonly trace: Trace | undefined;
  readonly nodes: NodeKernel[] = [];
  readonly hosts: NetHost[] = [];
  private readonly nodeByName = new Map<string, NodeKernel>();
  private readonly hostByAddr = new IntMap<NetHost>();
  private readonly podCidrs: { cidr: Cidr; node: NodeKernel }[] = [];
  private entryNode: NodeKernel;
  /** LB ingress IPs and externalIPs → the nodes the outside network may deliver them to (topology.ts). */
  private readonly external = new Map<IPv4, { readonly lb: boolean; readonly nodes: readonly NodeKernel[] }>();
  private readonly kNodeIn: number;
  private readonly kHostIn: number;
  private readonly kSweep: number;
  private nextPacketId = 1;
  /** Packets handed to send() (including RSTs and ICMP errors the stack generates). */
  packetsSent = 0;
  /** Packets whose fate was recorded. */
  packetsFated = 0;
  /**
   * Established packets that replayed their connection's cached path / another connection's path
   * found by header (FlowTable) / walked the hooks (see FlowPath).
   */
  pathHits = 0;
  flowHits = 0;
  pathMisses = 0;
  /** First packets of connections that replayed another connection's NewPath instead of walking. */
  newHits = 0;
  /** Of those, the ones whose NewPath translated them (DNAT, SNAT or MASQUERADE). */
  natHits = 0;
  readonly fateCounts = new Float64Array(FATE_REASONS.length);
  private readonly walkNew: WalkOptions;
  private readonly pathLog = new CounterLog();
  /** What a new connection's walk bumped, in nat and filter (see NewPath). */
  private readonly newLog = new CounterLog();
  private readonly walkEst: WalkOptions = { nat: "established", scratch: newWalkScratch(), log: this.pathLog };
  private curNode: NodeKernel | null = null;
  private curEntry: ConntrackEntry | null = null;
  private snatFailed = false;
  /** Frames without a fate, oldest first (head) — an intrusive list, no allocation per packet. */
  private liveHead: Frame | null = null;
  private liveTail: Frame | null = null;
  private readonly podHostByKey = new Map<string, NetHost>();
  /** Called when a connection's first packet is DNATed (flow id, new destination): who reached which endpoint. */
  onDnat: ((flow: number, addr: IPv4, port: number) => void) | undefined;

  constructor(opts: ClusterNetworkOptions) {
    this.config = { ...DEFAULT_NETWORK_CONFIG, ...opts.config };
    this.sim = opts.sim;
    this.trace = opts.trace;
    const sim = opts.sim;
    this.kNodeIn = sim.register("net.node-in", (_s, n, obj) => this.nodeIn(this.nodes[n]!, obj as Frame));
    this.kHostIn = sim.register("net.host-in", (_s, n, obj) => this.hostIn(this.hosts[n]!, obj as Frame));
    this.kSweep = sim.register("net.ct-sweep", (_s, n) => this.sweep(this.nodes[n]!));
    this.walkNew = {
      nat: "new",
      scratch: newWalkScratch(),
      log: this.newLog,
      pickSnatPort: (pkt, addr, randomFully) => this.pickSnatPort(pkt, addr, randomFully),
    };

    const state = opts.state;
    for (const n of sortedValues(state.nodes)) {
      const name = n.name;
      const node = new NodeKernel(
        this.nodes.length,
        name,
        buildNodeAddressing(state, name),
        opts.rulesFactory(name),
        new ConntrackTable({
          node: name,
          timeouts: this.config.conntrackTimeouts,
          onDestroy: (e, why, now) => this.ctDestroyed(node, e, why, now),
          slots: this.config.conntrackSlots,
        }),
        opts.rng.stream(`kube-proxy/statistic@${name}`),
        opts.rng.stream(`nat/random-fully@${name}`),
      );
      node.up = n.up;
      this.nodes.push(node);
      this.nodeByName.set(name, node);
      this.podCidrs.push({ cidr: parseCidr(n.podCIDR), node });
      node.host = this.addHost("node", name, parseIPv4(n.ip), node, name);
    }
    if (this.nodes.length === 0) throw new Error("ClusterNetwork: the cluster has no nodes");
    const entry = this.config.externalEntryNode;
    this.entryNode = entry === undefined ? this.nodes[0]! : this.node(entry);
    for (const [addr, t] of buildExternalRouting(state, { externalIPNode: this.entryNode.name })) {
      this.external.set(addr, { lb: t.kind === "loadBalancer", nodes: t.nodes.map((n) => this.node(n)) });
    }
    // Pods in the order of their keys; one network namespace per pod with an address.
    for (const p of sortedValues(state.pods)) {
      if (p.status.podIP === "" || p.status.phase === "Succeeded" || p.status.phase === "Failed") continue;
      const node = this.nodeByName.get(p.spec.nodeName);
      if (!node) continue;
      const key = `${p.meta.namespace}/${p.meta.name}`;
      this.podHostByKey.set(key, this.addHost("pod", p.meta.name, parseIPv4(p.status.podIP), node, key));
    }
  }

  // -- set-up API --

  node(name: string): NodeKernel {
    const n = this.nodeByName.get(name);
    if (!n) throw new Error(`unknown node "${name}"`);
    return n;
  }

  private addHost(kind: HostKind, name: string, addr: IPv4, node: NodeKernel | null, key: string): NetHost {
    if (this.hostByAddr.has(addr)) throw new Error(`address ${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255} is used twice`);
    const h = new NetHost(this.hosts.length, kind, name, addr, node, key);
    this.hosts.push(h);
    this.hostByAddr.set(addr, h);
    return h;
  }

  /** An external machine (outside the cluster) with its own address. */
  addExternalHost(name: string, addr: IPv4): NetHost {
    const existing = this.hostByAddr.get(addr);
    if (existing && existing.kind === "external") return existing;
    return this.addHost("external", name, addr, null, name);
  }

  hostAt(addr: IPv4): NetHost | undefined {
    return this.hostByAddr.get(addr);
  }

  /** The live network namespace of a pod ("namespace/name"). */
  podHost(key: string): NetHost | undefined {
    return this.podHostByKey.get(key);
  }

  // -- pod sandboxes and machines over time (the control plane drives these) --

  /**
   * A pod's sandbox exists with address `addr` on `nodeName` (CNI ADD): a network namespace that
   * receives packets for that address, and a route to it on its node. Returns the existing host when
   * the pod already has one with that address (a restart keeps the sandbox), else a new host (a new
   * id; the caller attaches a socket layer). `state` gives the node's other pods' addresses.
   */
  addPodHost(key: string, name: string, addr: IPv4, nodeName: string, state: ClusterState): NetHost {
    const cur = this.podHostByKey.get(key);
    if (cur !== undefined && cur.addr === addr && cur.up) return cur;
    if (cur !== undefined) this.removePodHost(key, state);
    const stale = this.hostByAddr.get(addr);
    if (stale !== undefined) {
      if (stale.kind !== "pod") throw new Error(`pod ${key}: address ${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255} belongs to ${stale.kind} ${stale.name}`);
      this.removePodHost(stale.key, state);
    }
    const h = this.addHost("pod", name, addr, this.node(nodeName), key);
    this.podHostByKey.set(key, h);
    this.refreshAddressing(nodeName, state);
    return h;
  }

  /**
   * The pod's sandbox is torn down (CNI DEL): its address no longer routes — packets for it are
   * dropped at its node ("no-endpoint-pod"), a blackhole for the sender — and packets already on
   * their way to it are dropped on arrival.
   */
  removePodHost(key: string, state: ClusterState): void {
    const h = this.podHostByKey.get(key);
    if (h === undefined) return;
    h.up = false;
    this.podHostByKey.delete(key);
    if (this.hostByAddr.get(h.addr) === h) this.hostByAddr.delete(h.addr);
    this.refreshAddressing(h.node!.name, state);
  }

  /** Rebuilds a node's routes to its pods from the live sandboxes (pods of `state` that have one). */
  private refreshAddressing(nodeName: string, state: ClusterState): void {
    const n = this.node(nodeName);
    const pods: Record<string, ClusterState["pods"][string]> = {};
    for (const [k, p] of Object.entries(state.pods)) {
      const h = this.podHostByKey.get(k);
      if (p.spec.nodeName === nodeName && h !== undefined && h.up && p.status.podIP !== "" && parseIPv4(p.status.podIP) === h.addr) pods[k] = p;
    }
    n.addressing = buildNodeAddressing({ ...state, pods } as ClusterState, nodeName);
  }

  /**
   * The machine stops (up=false: it forwards and answers nothing, packets reaching it are dropped
   * with "node-down") or boots again (up=true, with an empty conntrack table: entries are kernel
   * memory). Its pods' sandboxes are handled by add/removePodHost.
   */
  setNodeUp(nodeName: string, up: boolean): void {
    const n = this.node(nodeName);
    if (n.up === up) return;
    n.up = up;
    n.host.up = up;
    if (up) n.ct.delete({}, this.sim.now);
  }

  /** Gives a host its socket layer. */
  attach(host: NetHost, rx: SocketReceiver): void {
    host.rx = rx;
  }

  /**
   * Installs iptables-restore payloads on a node (all or nothing, as iptables-restore). `fresh`
   * replaces the node's tables first (a rebooted machine); `noflush` as iptables-restore --noflush.
   */
  installRules(nodeName: string, payloads: readonly string[], opts: { noflush?: boolean; fresh?: NodeRules } = {}): void {
    const n = this.node(nodeName);
    if (opts.fresh !== undefined) n.rules = opts.fresh;
    for (const p of payloads) n.rules.restore(p, opts.noflush ? { noflush: true } : {});
  }

  /** Packets sent whose fate is not decided yet. */
  get inFlight(): number {
    return this.packetsSent - this.packetsFated;
  }

  /** Kernel rules evaluated on all nodes. */
  get rulesEvaluated(): number {
    let n = 0;
    for (const k of this.nodes) n += k.rulesEvaluated;
    return n;
  }

  // -- sending --

  send(hostId: number, pkt: Packet, flow: number, meta: unknown): void {
    const h = this.hosts[hostId]!;
    this.packetsSent++;
    const f = new Frame(pkt, this.nextPacketId++, flow, meta, "");
    this.link(f);
    const sim = this.sim;
    if (h.kind === "node") {
      // The node's own stack (OUTPUT → POSTROUTING) runs in the sender's syscall, as in the
      // kernel: no event in between, and no other packet can slip in before it.
      this.process(h.node!, f, true);
    } else if (h.kind === "pod") {
      if (pkt.dst === h.addr) {
        sim.scheduleIn(this.config.loopbackLatencyNs, this.kHostIn, h.id, f); // the pod's own lo
        return;
      }
      const addressing = h.node!.addressing;
      if (h.vethFor !== addressing) {
        h.vethOrigin = this.originFor(addressing.podIface(h.key) ?? "");
        h.vethFor = addressing;
      }
      f.iface = (h.vethOrigin as Extract<Origin, { kind: "ingress" }>).iface;
      f.origin = h.vethOrigin;
      sim.scheduleIn(this.config.vethLatencyNs, this.kNodeIn, h.node!.index, f);
    } else {
      // External machine → outside router.
      const dst = this.hostByAddr.get(pkt.dst);
      if (dst !== undefined && dst.kind === "external") {
        sim.scheduleIn(this.config.externalLatencyNs, this.kHostIn, dst.id, f);
        return;
      }
      const node = this.outsideRoute(pkt);
      f.iface = "eth0";
      f.origin = this.eth0Origin;
      sim.scheduleIn(this.config.externalLatencyNs, this.kNodeIn, node.index, f);
    }
  }

  /**
   * The outside router's choice of node for a packet: a node IP or pod CIDR goes to its node; an
   * LB ingress IP to the node the cloud load balancer picks for this 5-tuple among the nodes whose
   * health check passed (skipping nodes that are down now); an externalIP to its node; anything
   * else to the entry node.
   */
  private outsideRoute(pkt: Packet): NodeKernel {
    const dst = pkt.dst;
    const h = this.hostByAddr.get(dst);
    if (h !== undefined && h.kind === "node") return h.node!;
    for (const pc of this.podCidrs) if (cidrContains(pc.cidr, dst)) return pc.node;
    const ext = this.external.get(dst);
    if (ext !== undefined) {
      if (!ext.lb) return ext.nodes[0]!;
      let n = 0;
      for (const k of ext.nodes) if (k.up) n++;
      if (n === 0) return ext.nodes[pickByTuple(ext.nodes.length, pkt.src, pkt.sport, dst, pkt.dport, pkt.proto)]!;
      let i = pickByTuple(n, pkt.src, pkt.sport, dst, pkt.dport, pkt.proto);
      for (const k of ext.nodes) if (k.up && i-- === 0) return k;
    }
    return this.entryNode;
  }

  // -- fates --

  private link(f: Frame): void {
    f.prevLive = this.liveTail;
    if (this.liveTail !== null) this.liveTail.nextLive = f;
    else this.liveHead = f;
    this.liveTail = f;
  }

  private unlink(f: Frame): void {
    if (f.prevLive !== null) f.prevLive.nextLive = f.nextLive;
    else this.liveHead = f.nextLive;
    if (f.nextLive !== null) f.nextLive.prevLive = f.prevLive;
    else this.liveTail = f.prevLive;
    f.prevLive = f.nextLive = null;
  }

  /**
   * The run stops now: every packet still travelling gets its one fate, "in-flight" (reason
   * "run-ended"), in send order. Their pending delivery events must not run afterwards.
   */
  endInFlight(): number {
    let n = 0;
    while (this.liveHead !== null) {
      this.fate("wire", this.liveHead, R_RUN_ENDED);
      n++;
    }
    return n;
  }

  /** Per fate reason, the trace counter it bumps at summary level (see Trace.tallyWith). */
  private readonly fateTallies: (TallyHandle | undefined)[] = [];
  /**
   * trace.wants("packet.fate") / ("conntrack.new") as of trace.listenerVersion wantsVersion: asked
   * again only when the trace's listeners change, not once per packet (syncWants).
   */
  private wantsFate = false;
  private wantsCtNew = false;
  private wantsVersion = -1;

  private syncWants(trace: Trace): void {
    if (trace.listenerVersion === this.wantsVersion) return;
    this.wantsFate = trace.wants("packet.fate");
    this.wantsCtNew = trace.wants("conntrack.new");
    this.wantsVersion = trace.listenerVersion;
  }

  private fate(nodeName: string, f: Frame, r: number): void {
    this.unlink(f);
    this.packetsFated++;
    this.fateCounts[r]!++;
    const fate = FATE_OF[r]!;
    const reason = FATE_REASONS[r]!;
    const trace = this.trace;
    if (trace === undefined) return;
    this.syncWants(trace);
    if (!this.wantsFate) trace.tallyWith((this.fateTallies[r] ??= new TallyHandle("packet.fate", fate, reason)), this.sim.now);
    else {
      const p = f.pkt;
      trace.emit({ type: "packet.fate", time: this.sim.now, node: nodeName, flow: f.flow, packetId: f.id, fate, reason, src: p.src, dst: p.dst, sport: p.sport, dport: p.dport, proto: p.proto });
    }
  }

  // -- hosts --

  private hostIn(h: NetHost, f: Frame): void {
    if (h.node !== null && !h.node.up) return this.fate(h.name, f, R_NODEDOWN);
    if (!h.up) return this.fate(h.name, f, h.kind === "pod" ? R_NOPOD : R_NODEDOWN); // a sandbox torn down meanwhile
    if (h.rx === null) {
      // A namespace without sockets: TCP gets no answer here (no stack is modelled behind it).
      return this.fate(h.name, f, R_CLOSED);
    }
    const code = h.rx.receive(f.pkt, f.flow, f.meta);
    this.fate(h.name, f, code === RECV_SOCKET ? R_SOCKET : code === RECV_ICMP ? R_ICMP : code === RECV_RST ? R_RST : code === RECV_CLOSED ? R_CLOSED : R_CLOSED);
  }

  // -- nodes --

  private nodeIn(node: NodeKernel, f: Frame): void {
    this.process(node, f, false);
  }

  private pickSnatPort(pkt: Packet, addr: IPv4, randomFully: boolean): number {
    const e = this.curEntry;
    const node = this.curNode!;
    if (e === null) return pkt.sport;
    if (pkt.dst !== e.origDst || pkt.dport !== e.origDport) node.ct.applyNat(e, { dnat: { addr: pkt.dst, port: pkt.dport } });
    const port = this.snatPort(node, e, addr, randomFully);
    if (port < 0) {
      this.snatFailed = true;
      return pkt.sport;
    }
    return port;
  }

  /**
   * The source port SNAT/MASQUERADE without a port of its own gives a new connection (−1: none
   * free). The entry's reply tuple must already carry the DNAT (POSTROUTING runs after
   * PREROUTING/OUTPUT).
   */
  private snatPort(node: NodeKernel, e: ConntrackEntry, addr: IPv4, randomFully: boolean): number {
    return node.ct.selectSnatPort(e, addr, randomFully ? node.snatRandomFully : NO_SNAT_OPTIONS);
  }

  private static readonly LOCAL_ORIGIN: Origin = { kind: "local" };
  private readonly ingressOrigins = new Map<string, Origin>();
  private readonly eth0Origin: Origin = this.originFor("eth0");

  private originFor(iface: string): Origin {
    let o = this.ingressOrigins.get(iface);
    if (o === undefined) {
      o = { kind: "ingress", iface };
      this.ingressOrigins.set(iface, o);
    }
    return o;
  }

  /** One packet through one node's stack. */
  private process(node: NodeKernel, f: Frame, local: boolean): void {
    if (!node.up) return this.fate(node.name, f, R_NODEDOWN);
    const now = this.sim.now;
    const ct = node.ct;
    const ctx = node.ctx;
    ctx.now = now;
    ctx.mark = 0;
    node.packets++;
    let pkt = f.pkt;
    const origin = local ? ClusterNetwork.LOCAL_ORIGIN : f.origin ?? this.originFor(f.iface);
    const hs = f.flow & (CT_HINTS - 1);
    const hint = this.config.pathCache && node.ctHintFlow[hs] === f.flow ? node.ctHint[hs]! : null;
    const st = ct.track(pkt, now, hint);
    const e = ct.cur;
    if (e !== hint && e !== null && this.config.pathCache) {
      node.ctHintFlow[hs] = f.flow;
      node.ctHint[hs] = e;
    }
    const dir = ct.curDir;
    ctx.ctstate = st;
    let w: WalkResult;
    if (e !== null && !isConfirmed(e)) {
      // A connection's first packet: the nat table decides, conntrack records it.
      let np = this.config.pathCache ? (node.paths.flow(node, origin, st, pkt) as NewPath | DrawNode | null) : null;
      if (np !== null) {
        // Another connection's walk with this header (see NewPath): its draws, then its decision.
        let nd = 0;
        while (np instanceof DrawNode) {
          const hit = ctx.chance(np.p31);
          node.preDraws[nd++] = hit;
          np = hit ? np.onHit : np.onMiss;
        }
        if (np !== null) return this.replayNew(node, f, e, np, pkt);
        // No walk took these draws yet: the walk below meets them again.
        node.preCount = nd;
        node.preNext = 0;
      }
      this.curNode = node;
      this.curEntry = e;
      this.snatFailed = false;
      const log = this.newLog;
      log.reset();
      w = walkHooks(node.rules, node.addressing, pkt, origin, ctx, this.walkNew);
      this.curEntry = null;
      if (node.preNext !== node.preCount) throw new Error(`datapath: a walk on ${node.name} made other draws than the NAT program recorded for its header`);
      node.preCount = node.preNext = 0;
      node.rulesEvaluated += w.rulesEvaluated;
      if (w.fate === "local" || w.fate === "forward") {
        if (this.snatFailed) return this.fate(node.name, f, R_NATPORT);
        if (!this.bindNew(node, f, e, w.dnat, w.snat)) return;
        // (An ICMP packet's program only when it rewrote nothing: replayNew builds TCP/UDP headers.)
        const rewrote = w.dnat !== undefined || w.snat !== undefined;
        if (this.config.pathCache && log.pure && log.n > 0 && (!rewrote || pkt.icmp === undefined) && (w.snat === undefined || !log.readsSport)) {
          const seg = log.segments();
          const sn = w.snat;
          const p = new NewPath(
            w.fate === "local", w.rulesEvaluated, this.ruleCost(w), seg.tables, seg.slots,
            w.dnat ?? null,
            sn === undefined ? null : { addr: sn.addr, port: sn.port, picked: sn.picked, randomFully: sn.randomFully },
          );
          node.paths.addNew(node, origin, st, pkt, log, p);
        }
      }
      pkt = w.packet;
    } else if (e !== null && (st & CT_RELATED) !== 0) {
      // An ICMP error about a tracked connection: send it back the way the connection came.
      pkt = relatedIcmp(e, dir, pkt);
      w = walkHooks(node.rules, node.addressing, pkt, origin, ctx, this.walkEst);
      node.rulesEvaluated += w.rulesEvaluated;
      pkt = w.packet;
    } else if (e !== null) {
      const rules = node.rules;
      let fp = (dir === DIR_REPLY ? e.pathReply : e.pathOrig) as FlowPath | null;
      if (fp !== null && fp.rules === rules && fp.gen === rules.generation && fp.addressing === node.addressing && fp.ctstate === st && fp.origin === origin) {
        // Path cache hit (see FlowPath): the walk's counters, cost and decision, without the walk.
        // The hooks between the two rewrites are not run, so both are made at once.
        this.pathHits++;
        return this.replayEstablished(node, f, fp, manipBoth(e, dir, pkt));
      }
      pkt = manipDst(e, dir, pkt);
      if (this.config.pathCache && (fp = node.paths.flow(node, origin, st, pkt) as FlowPath | null) !== null) {
        // Another connection's walk with this header (FlowTable): this connection's path from now on.
        this.flowHits++;
        if (dir === DIR_REPLY) e.pathReply = fp;
        else e.pathOrig = fp;
        return this.replayEstablished(node, f, fp, manipSrc(e, dir, pkt));
      }
      this.pathLog.reset();
      this.pathMisses++;
      w = walkHooks(rules, node.addressing, pkt, origin, ctx, this.walkEst);
      node.rulesEvaluated += w.rulesEvaluated;
      if (this.config.pathCache && (w.fate === "local" || w.fate === "forward") && this.pathLog.replayable && this.pathLog.n > 0 && w.packet === pkt) {
        const p = node.paths.intern(node, origin, st, w.fate === "local", w.rulesEvaluated, this.ruleCost(w), this.pathLog);
        if (dir === DIR_REPLY) e.pathReply = p;
        else e.pathOrig = p;
        node.paths.addFlow(node, origin, st, pkt, this.pathLog.readsSport, this.pathLog.readsDport, p);
      }
      pkt = w.fate === "local" || w.fate === "forward" ? manipSrc(e, dir, w.packet) : w.packet;
    } else {
      // INVALID (or an unrelated ICMP error): no NAT; the filter rules see ctstate INVALID.
      w = walkHooks(node.rules, node.addressing, pkt, origin, ctx, this.walkEst);
      node.rulesEvaluated += w.rulesEvaluated;
      pkt = w.packet;
    }
    f.pkt = pkt;
    switch (w.fate) {
      case "dropped":
        return this.fate(node.name, f, R_DROP);
      case "rejected":
        this.fate(node.name, f, R_REJECT);
        return this.reject(node, f, pkt);
      case "unroutable":
        return this.fate(node.name, f, cidrContains(node.addressing.podCIDR, pkt.dst) ? R_NOPOD : R_NOROUTE);
      case "local":
        this.sim.scheduleIn(this.config.loopbackLatencyNs + this.ruleCost(w), this.kHostIn, node.host.id, f);
        return;
      case "forward":
        return this.forward(node, f, w.route, this.ruleCost(w));
    }
  }

  /**
   * A connection's first packet passed the hooks: conntrack confirms its entry (recording the
   * flow id) and the trace counts it. False when the insertion clashed: the packet is dropped.
   */
  private confirmEntry(node: NodeKernel, e: ConntrackEntry, f: Frame): boolean {
    e.flow = f.flow; // (kube-proxy's 0x4000 is the packet mark, not the ct mark: e.mark stays 0)
    if (!node.ct.confirm(e)) {
      this.fate(node.name, f, R_INSERT);
      return false;
    }
    this.ctConfirmed(node, e);
    return true;
  }

  /**
   * A connection's first packet passed the hooks (walked or replayed): its entry records the
   * translation, the DNAT is reported (onDnat) and the entry confirmed. False when the packet was
   * dropped (confirmEntry).
   */
  private bindNew(node: NodeKernel, f: Frame, e: ConntrackEntry, dnat: { readonly addr: IPv4; readonly port: number } | undefined, snat: { readonly addr: IPv4; readonly port: number } | undefined): boolean {
    if (dnat !== undefined || snat !== undefined) node.ct.applyNat(e, { dnat, snat });
    if (dnat !== undefined && this.onDnat !== undefined) this.onDnat(f.flow, dnat.addr, dnat.port);
    return this.confirmEntry(node, e, f);
  }

  /**
   * A connection's first packet replays another connection's walk (NewPath): its counters and
   * kernel rule count, its DNAT, its SNAT or MASQUERADE with a source port conntrack picks for
   * this connection, the entry's confirmation, then delivery or forwarding — in the order the
   * walk makes them (ClusterNetwork.process).
   */
  private replayNew(node: NodeKernel, f: Frame, e: ConntrackEntry, np: NewPath, pkt: Packet): void {
    this.newHits++;
    np.replay(node.rules, pkt.len);
    node.rulesEvaluated += np.rulesEvaluated;
    const dn = np.dnat ?? undefined, sn = np.snat;
    let snat: { addr: IPv4; port: number } | undefined;
    if (dn !== undefined || sn !== null) {
      this.natHits++;
      let src = pkt.src, dst = pkt.dst, sport = pkt.sport, dport = pkt.dport;
      if (dn !== undefined) {
        dst = dn.addr;
        dport = dn.port;
      }
      if (sn !== null) {
        src = sn.addr;
        if (!sn.picked) sport = sn.port;
        else {
          if (dn !== undefined) node.ct.applyNat(e, { dnat: dn });
          if ((sport = this.snatPort(node, e, src, sn.randomFully)) < 0) return this.fate(node.name, f, R_NATPORT);
        }
        snat = { addr: src, port: sport };
      }
      pkt = { src, dst, sport, dport, proto: pkt.proto, flags: pkt.flags, len: pkt.len };
    }
    if (!this.bindNew(node, f, e, dn, snat)) return;
    f.pkt = pkt;
    this.afterReplay(node, f, np.local, pkt.dst, np.cost);
  }

  /**
   * An established packet's path-cache hit (FlowPath): the recorded walk's counters and kernel
   * rule count, then `out` (the packet with conntrack's rewrites) goes where the walk sent it.
   */
  private replayEstablished(node: NodeKernel, f: Frame, fp: FlowPath, out: Packet): void {
    node.rules.replayCounters(fp.table, fp.slots, out.len);
    node.rulesEvaluated += fp.rulesEvaluated;
    f.pkt = out;
    this.afterReplay(node, f, fp.local, out.dst, fp.cost);
  }

  /** After a replayed walk (FlowPath, NewPath): local delivery, or forwarding towards `dst`. */
  private afterReplay(node: NodeKernel, f: Frame, local: boolean, dst: IPv4, cost: number): void {
    if (local) {
      this.sim.scheduleIn(this.config.loopbackLatencyNs + cost, this.kHostIn, node.host.id, f);
      return;
    }
    const hop = this.hopTo(node, dst);
    if (hop.host !== null) this.sim.scheduleIn(this.config.vethLatencyNs + cost, this.kHostIn, hop.host.id, f);
    else if (hop.next !== null) this.toNode(hop.next, f, cost);
    else this.forward(node, f, hop.route, cost);
  }

  /** The node's next hop for `dst` (see NextHop): one IntMap probe instead of the route and host lookups. */
  private hopTo(node: NodeKernel, dst: IPv4): NextHop {
    if (node.hopsFor !== node.addressing) {
      node.hops.clear();
      node.hopsFor = node.addressing;
    }
    let hop = node.hops.get(dst);
    if (hop === undefined) {
      const route = node.addressing.route(dst);
      hop = {
        route,
        host: route.kind === "pod" ? this.hostByAddr.get(dst) ?? null : null,
        next: route.kind === "node" ? this.nodeByName.get(route.node)! : null,
      };
      node.hops.set(dst, hop);
    }
    return hop;
  }

  private toNode(next: NodeKernel, f: Frame, cost: number): void {
    f.iface = "eth0";
    f.origin = this.eth0Origin;
    this.sim.scheduleIn(this.config.nodeLatencyNs + cost, this.kNodeIn, next.index, f);
  }

  private ruleCost(w: WalkResult): number {
    return Math.round(w.rulesEvaluated * this.config.nsPerRule);
  }

  private forward(node: NodeKernel, f: Frame, route: WalkResult["route"], cost: number): void {
    const sim = this.sim;
    switch (route.kind) {
      case "pod": {
        const h = this.hostByAddr.get(f.pkt.dst);
        if (h === undefined) return this.fate(node.name, f, R_NOPOD);
        sim.scheduleIn(this.config.vethLatencyNs + cost, this.kHostIn, h.id, f);
        return;
      }
      case "node":
        return this.toNode(this.nodeByName.get(route.node)!, f, cost);
      case "external": {
        const h = this.hostByAddr.get(f.pkt.dst);
        if (h === undefined || h.kind !== "external") return this.fate("outside", f, R_NOROUTE);
        sim.scheduleIn(this.config.externalLatencyNs + cost, this.kHostIn, h.id, f);
        return;
      }
      case "local":
        sim.scheduleIn(this.config.loopbackLatencyNs + cost, this.kHostIn, node.host.id, f);
        return;
      case "unreachable":
        return this.fate(node.name, f, R_NOROUTE);
    }
  }

  /**
   * REJECT --reject-with icmp-port-unreachable: an ICMP error from this node to the packet's
   * source, embedding the packet's tuple as it was when rejected. It is routed from this node
   * without passing its hooks again (the kernel sends it attached to the rejected packet's
   * unconfirmed conntrack entry); nodes further along treat it as any ICMP error.
   */
  private reject(node: NodeKernel, f: Frame, pkt: Packet): void {
    const icmp: Packet = {
      src: node.addressing.nodeIP, dst: pkt.src, sport: 0, dport: 0, proto: PROTO_ICMP, flags: 0,
      len: Math.min(576, 28 + pkt.len),
      icmp: { type: ICMP_DEST_UNREACH, code: ICMP_PORT_UNREACH, inner: { src: pkt.src, dst: pkt.dst, sport: pkt.sport, dport: pkt.dport, proto: pkt.proto } },
    };
    this.packetsSent++;
    const g = new Frame(icmp, this.nextPacketId++, f.flow, undefined, "");
    this.link(g);
    const route = node.addressing.route(icmp.dst);
    this.forward(node, g, route, 0);
  }

  // -- conntrack bookkeeping --

  private ctConfirmed(node: NodeKernel, e: ConntrackEntry): void {
    const trace = this.trace;
    if (trace !== undefined) {
      this.syncWants(trace);
      if (!this.wantsCtNew) trace.tallyWith((node.ctNewTally ??= new TallyHandle("conntrack.new", node.name, undefined)), this.sim.now);
      else {
        trace.emit({
          type: "conntrack.new", time: this.sim.now, node: node.name, id: e.id, proto: e.proto,
          origSrc: e.origSrc, origDst: e.origDst, origSport: e.origSport, origDport: e.origDport,
          replySrc: e.replySrc, replyDst: e.replyDst, replySport: e.replySport, replyDport: e.replyDport,
        });
      }
    }
    if (!node.sweepPending) {
      node.sweepPending = true;
      this.sim.scheduleIn(this.config.conntrackSweepNs, this.kSweep, node.index);
    }
  }

  private ctDestroyed(node: NodeKernel, e: ConntrackEntry, why: CtDestroyReason, now: number): void {
    const trace = this.trace;
    if (trace === undefined) return;
    const time = Math.max(now, this.sim.now);
    if (!trace.wants("conntrack.destroy")) trace.tally("conntrack.destroy", time, why, node.name);
    else trace.emit({ type: "conntrack.destroy", time, node: node.name, id: e.id, reason: why });
  }

  private sweep(node: NodeKernel): void {
    const now = this.sim.now;
    const next = node.ct.sweepNext(now);
    node.sweepPending = false;
    if (node.ct.size === 0) return;
    node.sweepPending = true;
    this.sim.schedule(Math.max(now + this.config.conntrackSweepNs, next), this.kSweep, node.index);
  }

  /** Expires every due entry now (e.g. before listing conntrack at the end of a run). */
  expireConntrack(): void {
    for (const n of this.nodes) n.ct.sweep(this.sim.now);
  }
}

/**
 * Rewrites an ICMP error related to entry `e` for the way back (nf_nat_icmp_reply_translation):
 * `dir` is the direction the error travels. An error about an original-direction packet carries
 * that packet as it left this node (reply tuple inverted); it is sent on to the original source
 * with the embedded tuple restored to the original one. An error about a reply goes to the reply
 * source with the embedded reply tuple.
 */
function relatedIcmp(e: ConntrackEntry, dir: number, pkt: Packet): Packet {
  const icmp = pkt.icmp!;
  if (dir === DIR_REPLY) {
    return { ...pkt, dst: e.origSrc, icmp: { type: icmp.type, code: icmp.code, inner: { src: e.origSrc, dst: e.origDst, sport: e.origSport, dport: e.origDport, proto: icmp.inner.proto } } };
  }
  return { ...pkt, dst: e.replySrc, icmp: { type: icmp.type, code: icmp.code, inner: { src: e.replySrc, dst: e.replyDst, sport: e.replySport, dport: e.replyDport, proto: icmp.inner.proto } } };
}
