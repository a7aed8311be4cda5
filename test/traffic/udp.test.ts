/**
 * traffic/udp.ts over a fake wire (no NAT): query/answer, ICMP port unreachable → refused,
 * timeouts, source-port reuse vs a fresh socket per query, and the TCP/UDP demultiplexer.
 */
import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/sim.ts";
import { RngRoot } from "../../src/engine/rng.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import { PROTO_TCP, PROTO_UDP } from "../../src/net/packet.ts";
import { RECV_CLOSED, RECV_SOCKET, type SocketReceiver } from "../../src/datapath/wire.ts";
import { ClientRuntime } from "../../src/traffic/client.ts";
import { HostStack, UdpAppRuntime, UdpClient, UdpHost, UdpServerApp } from "../../src/traffic/udp.ts";
import { FakeWire } from "./fakewire.ts";

const CLIENT = parseIPv4("10.1.1.100");
const SERVER = parseIPv4("10.1.2.6");

function world(opts: { reusePort: boolean; requests: number; serverPort?: number; blackhole?: boolean; timeoutNs?: number; concurrency?: number }) {
  const sim = new Simulation();
  const rng = new RngRoot(1);
  const wire = new FakeWire(sim);
  const cu = new UdpHost(wire, wire.nextId(), "client", CLIENT, rng.stream("c"));
  wire.attach(CLIENT, cu);
  const su = new UdpHost(wire, wire.nextId(), "server", SERVER, rng.stream("s"));
  wire.attach(SERVER, su);
  su.bind(5353, new UdpServerApp(new UdpAppRuntime(sim), "serve_hostname", "web-b", SERVER, { distribution: "constant", valueNs: 1_000_000 }, rng.stream("app")));
  if (opts.blackhole) wire.blackhole.add(SERVER);
  const rt = new ClientRuntime(sim);
  let flows = 1;
  new UdpClient(rt, {
    name: "q", host: cu, targetAddr: SERVER, targetPort: opts.serverPort ?? 5353, requests: opts.requests, reusePort: opts.reusePort,
    timeoutNs: opts.timeoutNs ?? 2e9, startNs: 0, rng: rng.stream("q"), newFlowId: () => flows++, ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
  });
  sim.run(1e12);
  return { rt, wire, cu };
}

describe("UDP client and server", () => {
  it.each([
    { name: "fresh socket per query: one source port (and flow) per query", reusePort: false, ports: 5 },
    { name: "reusePort: every query from one source port (one flow)", reusePort: true, ports: 1 },
  ])("$name", ({ reusePort, ports }) => {
    const { rt, wire } = world({ reusePort, requests: 5 });
    expect(rt.allDone).toBe(true);
    expect(rt.requests.map((r) => r.outcome)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(rt.requests.every((r) => r.body === "web-b" && r.servedBy === "web-b" && r.seenSrc === CLIENT)).toBe(true);
    const sports = new Set(wire.log.filter((l) => l.pkt.proto === PROTO_UDP && l.pkt.dst === SERVER).map((l) => l.pkt.sport));
    expect(sports.size).toBe(ports);
    expect(new Set(rt.requests.map((r) => r.connection)).size).toBe(ports);
    expect(rt.connections.length).toBe(ports);
    // 100 µs each way + 1 ms service time
    expect(rt.requests[0]!.end - rt.requests[0]!.start).toBe(1_200_000);
  });

  it("no socket on the port: ICMP port unreachable, the query is refused at once", () => {
    const { rt, wire } = world({ reusePort: false, requests: 2, serverPort: 9999 });
    expect(rt.requests.map((r) => r.outcome)).toEqual(["refused", "refused"]);
    expect(rt.requests[0]!.end - rt.requests[0]!.start).toBe(200_000);
    expect(wire.log.filter((l) => l.fate === "closed" && l.pkt.proto === PROTO_UDP).length).toBe(2);
  });

  it("no answer: the query times out after the client's timeout", () => {
    const { rt } = world({ reusePort: true, requests: 2, blackhole: true, timeoutNs: 3e9 });
    expect(rt.requests.map((r) => [r.outcome, r.end - r.start])).toEqual([["timeout-request", 3e9], ["timeout-request", 3e9]]);
  });

  it("reusePort with several queries in flight: answers matched by query", () => {
    const { rt } = world({ reusePort: true, requests: 6, concurrency: 3 });
    expect(rt.requests.filter((r) => r.outcome === "ok").length).toBe(6);
    expect(new Set(rt.requests.map((r) => r.id)).size).toBe(6);
  });

  it("HostStack: UDP and ICMP-about-UDP to the UDP sockets, everything else to TCP", () => {
    const seen: number[] = [];
    const tcp: SocketReceiver = { receive: (p) => (seen.push(p.proto), RECV_SOCKET) };
    const sim = new Simulation();
    const wire = new FakeWire(sim);
    const udp = new UdpHost(wire, 0, "h", CLIENT, new RngRoot(1).stream("p"));
    const st = new HostStack(tcp, udp);
    const base = { src: SERVER, dst: CLIENT, sport: 1, dport: 2, flags: 0, len: 60 };
    expect(st.receive({ ...base, proto: PROTO_TCP }, 1, undefined)).toBe(RECV_SOCKET);
    expect(st.receive({ ...base, proto: PROTO_UDP }, 1, undefined)).toBe(RECV_CLOSED); // no socket: ICMP sent
    expect(seen).toEqual([PROTO_TCP]);
    expect(wire.sent).toBe(1);
  });
});
