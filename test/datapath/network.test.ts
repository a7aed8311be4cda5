import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/sim.ts";
import { RngRoot } from "../../src/engine/rng.ts";
import { Trace } from "../../src/engine/trace.ts";
import { SECOND } from "../../src/engine/time.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import { PROTO_ICMP, PROTO_TCP, TCP_ACK, TCP_SYN, type Packet } from "../../src/net/packet.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import { CT_NEW } from "../../src/netfilter/types.ts";
import { generateRules } from "../../src/kubeproxy/generate.ts";
import { ClusterNetwork } from "../../src/datapath/network.ts";
import { explore } from "../../src/datapath/explore.ts";
import { RECV_ICMP, RECV_SOCKET, type RecvCode, type SocketReceiver } from "../../src/datapath/wire.ts";
import { initialState } from "../../src/scenario/run.ts";
import { scenarioWith } from "../scenario/runfixtures.ts";

const ip = parseIPv4;
const CLUSTER_IP = ip("10.0.91.192");
const DSMH9 = ip("10.1.161.47");

/** A socket layer that records what it gets and answers SYNs with SYN-ACK (no TCP state). */
class Recorder implements SocketReceiver {
  readonly got: Packet[] = [];
  constructor(private readonly net: ClusterNetwork, private readonly hostId: number, private readonly answer = false) {}
  receive(pkt: Packet, flow: number): RecvCode {
    this.got.push(pkt);
    if (this.answer && pkt.proto === PROTO_TCP && pkt.flags === TCP_SYN) {
      this.net.send(this.hostId, { src: pkt.dst, dst: pkt.src, sport: pkt.dport, dport: pkt.sport, proto: PROTO_TCP, flags: TCP_SYN | TCP_ACK, len: 60 }, flow, undefined);
    }
    return pkt.icmp ? RECV_ICMP : RECV_SOCKET;
  }
}

function build(opts: { profile?: "v1.16" | "current"; pathCache?: boolean; traced?: boolean } = {}) {
  const sc = scenarioWith("", opts);
  const sim = new Simulation();
  const rng = new RngRoot(1);
  const trace = new Trace();
  const state = initialState(sc, rng);
  const net = new ClusterNetwork({ sim, rng, state, trace: opts.traced === false ? undefined : trace, rulesFactory: () => new Netfilter(), config: { pathCache: opts.pathCache ?? true } });
  for (const n of net.nodes) {
    const r = generateRules(state, n.name, sc.kubeProxy);
    net.installRules(n.name, [r.filter, r.nat]);
  }
  const rec = new Map<string, Recorder>();
  for (const h of net.hosts) {
    const r = new Recorder(net, h.id, h.kind === "pod");
    net.attach(h, r);
    rec.set(h.name, r);
  }
  return { sc, sim, trace, state, net, rec };
}

const syn = (src: number, dst: number, sport: number, dport: number): Packet => ({ src, dst, sport, dport, proto: PROTO_TCP, flags: TCP_SYN, len: 60 });

describe("ClusterNetwork", () => {
  it("hairpin: a pod's SYN to its Service DNATed to itself arrives from the node IP; the SYN-ACK is un-NATed", () => {
    const w = build();
    const pod = w.net.hostAt(DSMH9)!;
    // force the statistic draws: try source ports until one lands on the pod itself
    let landed = false;
    for (let sport = 40000; sport < 40040 && !landed; sport++) {
      w.net.send(pod.id, syn(DSMH9, CLUSTER_IP, sport, 80), sport, undefined);
      w.sim.run();
      const got = w.rec.get("hostnames-85bc9c579-dsmh9")!.got;
      const synHere = got.find((p) => p.flags === TCP_SYN && p.src !== DSMH9);
      if (synHere) {
        landed = true;
        expect(synHere.src).toBe(ip("192.168.0.11"));
        expect(synHere.dst).toBe(DSMH9);
        expect(synHere.dport).toBe(9376);
        // the SYN-ACK came back to the pod as from the cluster IP, to the original port
        const synack = got.find((p) => p.flags === (TCP_SYN | TCP_ACK) && p.dport === sport)!;
        expect(synack).toMatchObject({ src: CLUSTER_IP, sport: 80, dst: DSMH9, dport: sport });
      }
    }
    expect(landed).toBe(true);
    expect(w.net.inFlight).toBe(0);
  });

  it("REJECT sends ICMP port unreachable embedding the offending tuple", () => {
    const w = build();
    const node = w.net.node("node-1");
    w.net.send(node.host.id, syn(ip("192.168.0.11"), ip("10.0.0.50"), 45000, 80), 1, undefined);
    w.sim.run();
    const got = w.rec.get("node-1")!.got;
    expect(got).toHaveLength(1);
    expect(got[0]!.proto).toBe(PROTO_ICMP);
    expect(got[0]!.icmp!.inner).toEqual({ src: ip("192.168.0.11"), dst: ip("10.0.0.50"), sport: 45000, dport: 80, proto: PROTO_TCP });
    expect(w.trace.ofType("packet.fate").map((f) => `${f.fate}/${f.reason}`)).toEqual(["rejected/iptables-reject", "delivered/icmp-to-sender"]);
    // the rejected packet's conntrack entry was never confirmed
    expect(node.ct.size).toBe(0);
  });

  it("a down node drops what arrives (node-down)", () => {
    const w = build();
    w.net.node("node-2").up = false;
    w.net.send(w.net.node("node-1").host.id, syn(ip("192.168.0.11"), ip("10.1.166.146"), 45000, 9376), 1, undefined);
    w.sim.run();
    expect(w.trace.ofType("packet.fate").map((f) => `${f.node}:${f.reason}`)).toEqual(["node-2:node-down"]);
  });

  it.each([
    { name: "traced", traced: true },
    { name: "without a trace (the sweep does not depend on one)", traced: false },
  ])("conntrack: an unanswered SYN's entry expires after nf_conntrack_tcp_timeout_syn_sent (120 s) via the sweep, $name", ({ traced }) => {
    const w = build({ traced });
    const n1 = w.net.node("node-1");
    w.net.send(n1.host.id, syn(ip("192.168.0.11"), ip("10.1.170.99"), 45000, 9376), 1, undefined);
    w.sim.run(10 * SECOND);
    expect(n1.ct.size).toBe(1);
    w.sim.run();
    expect(n1.ct.size).toBe(0);
    if (!traced) return;
    const d = w.trace.ofType("conntrack.destroy");
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ node: "node-1", reason: "timeout" });
    expect(d[0]!.time).toBeGreaterThanOrEqual(120 * SECOND);
    expect(d[0]!.time).toBeLessThan(122 * SECOND);
  });

  it.each([{ profile: "v1.16" as const }, { profile: "current" as const }])("the static tracer shares walkHooks with the timed path ($profile)", ({ profile }) => {
    const w = build({ profile });
    const node = w.net.node("node-1");
    const r = explore({
      rulesForBranch: () => (node.rules as Netfilter).dryRun(),
      routing: node.addressing,
      isLocal: (a) => node.addressing.isLocal(a),
      packet: syn(ip("192.168.0.11"), CLUSTER_IP, 45000, 80),
      origin: { kind: "local" },
    });
    const to = r.outcomes.map((o) => o.to).sort();
    expect(to).toEqual(["10.1.161.47:9376", "10.1.166.146:9376", "10.1.166.166:9376"]);
    for (const o of r.outcomes) {
      expect(o.probability).toBeCloseTo(1 / 3, 4);
      expect(o.masquerade).toBe(true);
    }
    void CT_NEW;
  });
});

/**
 * The flow table shares an established packet's walk between connections whose headers differ
 * only in ports no visited rule read. A rule that reads the source or destination port must keep
 * each connection to its own walk: here a DROP for some ports, added in front of node-1's rules,
 * must hit exactly the connections it names, with the path cache on or off.
 */
describe("flow table: connections share a walk only when no rule read the differing port", () => {
  const NODE_IP = ip("192.168.0.11");
  const POD = ip("10.1.166.146"); // on node-2
  const SPORTS = Array.from({ length: 10 }, (_, i) => 40000 + i);
  const ack = (sport: number): Packet => ({ src: NODE_IP, dst: POD, sport, dport: 9376, proto: PROTO_TCP, flags: TCP_ACK, len: 52 });

  /** SYN, then (after the pod's SYN-ACK) two ACKs per source port; the flows whose packets node-1 dropped. */
  function dropped(rule: string, pathCache: boolean, node = "node-1") {
    const w = build({ pathCache });
    if (rule !== "") w.net.node(node).rules.restore(`*filter\n${rule}\nCOMMIT\n`, { noflush: true });
    const host = w.net.node("node-1").host.id;
    const ms = 1_000_000; // (run(): until the queue is empty, i.e. until conntrack entries expired)
    for (const sport of SPORTS) {
      w.net.send(host, syn(NODE_IP, POD, sport, 9376), sport, undefined);
      w.sim.run(w.sim.now + ms);
      w.net.send(host, ack(sport), sport, undefined);
      w.net.send(host, ack(sport), sport, undefined);
      w.sim.run(w.sim.now + ms);
    }
    // (drops on node-2 are of first packets there: "syn")
    const kind = (f: { sport: number }, flow: number) => (f.sport === 9376 ? "synack" : synFlows.has(flow) ? "syn" : "ack");
    const synFlows = new Set(w.trace.ofType("packet.fate").filter((f) => f.reason === "iptables-drop" && f.node === "node-2").map((f) => f.flow));
    const drops = w.trace.ofType("packet.fate").filter((f) => f.reason === "iptables-drop").map((f) => `${f.flow}:${kind(f, f.flow)}`);
    return { drops, flowHits: w.net.flowHits + w.net.newHits };
  }

  it.each([
    { name: "no port rule: later connections reuse the first one's walks", rule: "", want: [], shared: true },
    {
      name: "--sport range on OUTPUT",
      rule: "-I OUTPUT 1 -p tcp -m tcp --sport 40005:40006 -m conntrack --ctstate ESTABLISHED -j DROP",
      want: ["40005:ack", "40005:ack", "40006:ack", "40006:ack"],
      shared: true, // the replies' walks (INPUT) read no port
    },
    {
      name: "multiport --sports on OUTPUT",
      rule: "-I OUTPUT 1 -p tcp -m multiport --sports 40002,40008 -m conntrack --ctstate ESTABLISHED -j DROP",
      want: ["40002:ack", "40002:ack", "40008:ack", "40008:ack"],
      shared: true,
    },
    {
      name: "--dport on INPUT (the replies' destination port is the client's source port)",
      rule: "-I INPUT 1 -p tcp -m tcp --dport 40003 -m conntrack --ctstate ESTABLISHED -j DROP",
      want: ["40003:synack"],
      shared: true,
    },
    {
      name: "multiport --ports on both ends of the flows",
      rule: "-I INPUT 1 -p tcp -m multiport --ports 40001,40007 -m conntrack --ctstate ESTABLISHED -j DROP",
      want: ["40001:synack", "40007:synack"],
      shared: true,
    },
    {
      name: "--sport on the endpoint node's FORWARD, for first packets (NewPath)",
      rule: "-I FORWARD 1 -p tcp -m tcp --sport 40004 -m conntrack --ctstate NEW -j DROP",
      node: "node-2",
      // its ACKs, with no entry on node-2, are picked up as NEW (nf_conntrack_tcp_loose) and dropped too
      want: ["40004:syn", "40004:syn", "40004:syn"],
      shared: true,
    },
  ])("$name", ({ rule, want, shared, node }) => {
    const on = dropped(rule, true, node);
    const off = dropped(rule, false, node);
    expect(on.drops).toEqual(off.drops);
    expect([...on.drops].sort()).toEqual([...want].sort());
    expect(off.flowHits).toBe(0);
    if (shared) expect(on.flowHits).toBeGreaterThan(0);
  });
});

/**
 * First packets replay NAT programs: the walk of a connection's first packet through kube-proxy's
 * endpoint ladder (random statistic draws), DNAT and MASQUERADE, kept under the draws it made and
 * replayed with fresh draws from the node's statistic stream and a source port conntrack picks for
 * each connection. A run with it must be the run that walks every first packet: same endpoints in
 * the same order, same masqueraded ports, same counters and fates. Rules that keep state (recent,
 * nth) or read a source port a MASQUERADE rewrites must keep every first packet to its own walk.
 */
describe("NAT programs: first packets replay a walk's draws and translations", () => {
  const NODE_IP = ip("192.168.0.11");
  const SPORTS = Array.from({ length: 60 }, (_, i) => 40000 + i);

  /** One SYN per source port from node-1's host to the ClusterIP, 1 ms apart; what every pod got and node-1's counters. */
  function run(extra: string, pathCache: boolean, profile: "v1.16" | "current" = "current", sports = SPORTS, dst = CLUSTER_IP, dport = 80) {
    const w = build({ pathCache, profile });
    const n1 = w.net.node("node-1");
    if (extra !== "") n1.rules.restore(extra, { noflush: true });
    for (const sport of sports) {
      w.net.send(n1.host.id, syn(NODE_IP, dst, sport, dport), sport, undefined);
      w.sim.run(w.sim.now + 1_000_000);
    }
    const syns = [...w.rec].flatMap(([name, r]) => r.got.filter((p) => p.flags === TCP_SYN).map((p) => `${name} ${p.src}:${p.sport}>${p.dst}:${p.dport}`));
    const fates = w.trace.ofType("packet.fate").map((f) => `${f.flow}:${f.node}:${f.reason}`);
    return { syns, fates, counters: (n1.rules as Netfilter).save({ counters: true }), rules: w.net.rulesEvaluated, natHits: w.net.natHits, conntrack: n1.ct.size };
  }

  it.each([
    { name: "kube-proxy's rules (current)", extra: "", profile: "current" as const, replayed: true },
    { name: "kube-proxy's rules (v1.16)", extra: "", profile: "v1.16" as const, replayed: true },
    {
      name: "a filter OUTPUT DROP for one endpoint: its connections walk, the others replay",
      extra: "*filter\n-I OUTPUT 1 -d 10.1.166.166/32 -p tcp -m tcp --dport 9376 -j DROP\nCOMMIT\n",
      profile: "current" as const, replayed: true,
    },
    {
      name: "-m recent in nat OUTPUT (state per packet): no replay",
      extra: "*nat\n-I OUTPUT 1 -m recent --name seen --set\nCOMMIT\n",
      profile: "current" as const, replayed: false,
    },
    {
      name: "-m statistic --mode nth in nat OUTPUT (a counter per rule): no replay",
      extra: "*nat\n-I OUTPUT 1 -m statistic --mode nth --every 2 --packet 0\nCOMMIT\n",
      profile: "current" as const, replayed: false,
    },
  ])("$name", ({ extra, profile, replayed }) => {
    const on = run(extra, true, profile);
    const off = run(extra, false, profile);
    expect(off.natHits).toBe(0);
    if (replayed) expect(on.natHits).toBeGreaterThan(SPORTS.length / 2);
    else expect(on.natHits).toBe(0);
    expect(on.syns).toEqual(off.syns);
    expect(on.fates).toEqual(off.fates);
    expect(on.counters).toBe(off.counters);
    expect(on.rules).toBe(off.rules);
    expect(on.conntrack).toBe(off.conntrack);
    // every endpoint took some of the 60 connections (the ladder's draws were made, not skipped)
    const pods = new Set(on.syns.filter((s) => s.includes(":9376")).map((s) => s.split(" ")[0]));
    if (!extra.includes("DROP")) expect(pods.size).toBe(3);
  });

  it("a source port read after MASQUERADE (filter INPUT, local delivery) keeps each first packet to its own walk", () => {
    // The same connection, made 30 times (each after the last one's entry expired): DNATed to the
    // node itself, masqueraded --random-fully, then filter INPUT drops the lower new source ports
    // (ACCEPTs first in filter OUTPUT and INPUT: no rule reads the destination port).
    const extra = "*nat\n-I OUTPUT 1 -d 10.9.9.9/32 -p tcp -j DNAT --to-destination 192.168.0.11:9000\n-I POSTROUTING 1 -d 192.168.0.11/32 -p tcp -j MASQUERADE --random-fully\nCOMMIT\n*filter\n-I OUTPUT 1 -d 192.168.0.11/32 -p tcp -j ACCEPT\n-I INPUT 1 -p tcp -m tcp --sport 1024:30000 -j DROP\n-I INPUT 2 -p tcp -j ACCEPT\nCOMMIT\n";
    const once = (pathCache: boolean) => {
      const w = build({ pathCache });
      const n1 = w.net.node("node-1");
      n1.rules.restore(extra, { noflush: true });
      for (let i = 0; i < 30; i++) {
        w.net.send(n1.host.id, syn(NODE_IP, ip("10.9.9.9"), 40000, 80), i, undefined);
        w.sim.run();
      }
      return { fates: w.trace.ofType("packet.fate").map((f) => `${f.flow}:${f.reason}`), natHits: w.net.natHits };
    };
    const on = once(true), off = once(false);
    expect(on.fates).toEqual(off.fates);
    expect(new Set(on.fates.map((f) => f.split(":")[1]))).toEqual(new Set(["iptables-drop", "socket"]));
    expect(on.natHits).toBe(0);
  });

  it("MASQUERADE port exhaustion: the same connection fails (nat-port-exhausted) with or without replay", () => {
    // 512 connections from source ports 0..511, DNATed to one endpoint and masqueraded
    // --random-fully into their port class 1..511: the 512th finds no free port.
    const sports = Array.from({ length: 512 }, (_, i) => i);
    const extra = "*nat\n-I OUTPUT 1 -d 10.9.9.9/32 -p tcp -j DNAT --to-destination 10.1.166.146:9376\n-I POSTROUTING 1 -d 10.1.166.146/32 -j MASQUERADE --random-fully\nCOMMIT\n";
    const on = run(extra, true, "current", sports, ip("10.9.9.9"), 80);
    const off = run(extra, false, "current", sports, ip("10.9.9.9"), 80);
    expect(on.natHits).toBeGreaterThan(400);
    expect(on.fates).toEqual(off.fates);
    expect(on.syns).toEqual(off.syns);
    expect(on.counters).toBe(off.counters);
    expect(on.fates.filter((f) => f.endsWith("nat-port-exhausted"))).toEqual(["511:node-1:nat-port-exhausted"]);
    expect(new Set(on.syns.map((s) => s.split(">")[0]!.split(":")[1])).size).toBe(511); // 511 distinct masqueraded ports
  });
});
