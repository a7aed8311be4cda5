/** A test wire: delivers by destination address after a fixed latency, no NAT; can blackhole or reject. */
import type { Simulation } from "../../src/engine/sim.ts";
import type { Packet } from "../../src/net/packet.ts";
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, PROTO_ICMP } from "../../src/net/packet.ts";
import { RECV_CLOSED, RECV_ICMP, RECV_RST, RECV_SOCKET, type SocketReceiver, type Wire } from "../../src/datapath/wire.ts";

export interface WireLogEntry { t: number; from: number; pkt: Packet; fate: string }

export class FakeWire implements Wire {
  readonly hosts: SocketReceiver[] = [];
  readonly byAddr = new Map<number, number>();
  readonly blackhole = new Set<number>();
  readonly reject = new Set<number>();
  readonly log: WireLogEntry[] = [];
  sent = 0;
  fates = 0;
  private readonly kind: number;
  constructor(readonly sim: Simulation, readonly latency = 100_000) {
    this.kind = sim.register("fake.arrive", (s, from, obj) => this.arrive(from, obj as [Packet, number, unknown]));
  }
  attach(addr: number, rx: SocketReceiver): number {
    this.hosts.push(rx);
    this.byAddr.set(addr, this.hosts.length - 1);
    return this.hosts.length - 1;
  }
  nextId(): number { return this.hosts.length; }
  send(host: number, pkt: Packet, flow: number, meta: unknown): void {
    this.sent++;
    this.sim.scheduleIn(this.latency, this.kind, host, [pkt, flow, meta]);
  }
  private fate(from: number, pkt: Packet, f: string): void {
    this.fates++;
    this.log.push({ t: this.sim.now, from, pkt, fate: f });
  }
  private arrive(from: number, [pkt, flow, meta]: [Packet, number, unknown]): void {
    if (this.blackhole.has(pkt.dst)) return this.fate(from, pkt, "dropped");
    if (this.reject.has(pkt.dst)) {
      this.fate(from, pkt, "rejected");
      const icmp: Packet = { src: pkt.dst, dst: pkt.src, sport: 0, dport: 0, proto: PROTO_ICMP, flags: 0, len: 88,
        icmp: { type: ICMP_DEST_UNREACH, code: ICMP_PORT_UNREACH, inner: { src: pkt.src, dst: pkt.dst, sport: pkt.sport, dport: pkt.dport, proto: pkt.proto } } };
      this.send(-1, icmp, flow, undefined);
      return;
    }
    const h = this.byAddr.get(pkt.dst);
    if (h === undefined) return this.fate(from, pkt, "no-route");
    const code = this.hosts[h]!.receive(pkt, flow, meta);
    this.fate(from, pkt, code === RECV_SOCKET ? "socket" : code === RECV_ICMP ? "icmp" : code === RECV_CLOSED ? "closed" : code === RECV_RST ? "rst" : "?");
  }
}
