import { describe, expect, it } from "vitest";
import { Simulation } from "../../src/engine/sim.ts";
import { RngRoot } from "../../src/engine/rng.ts";
import { ms, s, SECOND } from "../../src/engine/time.ts";
import { Trace } from "../../src/engine/trace.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/net/packet.ts";
import { AppRuntime, PodApp, type ServiceTimeSpec } from "../../src/traffic/apps.ts";
import { ClientRuntime, type ClientConfig } from "../../src/traffic/client.ts";
import { TcpHost, TcpKernel, EPHEMERAL_LO, EPHEMERAL_HI } from "../../src/traffic/tcp.ts";
import { FakeWire } from "./fakewire.ts";

const SERVER = parseIPv4("10.1.0.5");
const CLIENT = parseIPv4("192.168.0.11");

function world(opts: { serviceTime?: ServiceTimeSpec; latency?: number; seed?: number } = {}) {
  const sim = new Simulation();
  const rng = new RngRoot(opts.seed ?? 1);
  const wire = new FakeWire(sim, opts.latency ?? 100_000);
  const trace = new Trace();
  const tcp = new TcpKernel(sim, wire);
  const apps = new AppRuntime(sim);
  const clients = new ClientRuntime(sim, trace);
  const server = new TcpHost(tcp, wire.nextId(), "pod-a", SERVER, rng.stream("ports@pod-a"));
  wire.attach(SERVER, server);
  const app = new PodApp(apps, "serve_hostname", "hostnames-abc", SERVER, opts.serviceTime ?? { distribution: "constant", valueNs: ms(1) }, rng.stream("app/hostnames-abc"));
  server.listen(9376, app);
  const client = new TcpHost(tcp, wire.nextId(), "node-1", CLIENT, rng.stream("ports@node-1"));
  wire.attach(CLIENT, client);
  const base: Omit<ClientConfig, "name"> = {
    host: client, targetAddr: SERVER, targetPort: 9376, hostHeader: "10.1.0.5", path: "/", keepAlive: false,
    connectTimeoutNs: s(10), requestTimeoutNs: s(30), startNs: 0, rng: rng.stream("client/c"),
  };
  return { sim, wire, trace, tcp, apps, clients, server, client, app, base };
}

const flagName = (f: number) => [f & TCP_SYN && "S", f & TCP_FIN && "F", f & TCP_RST && "R", f & TCP_PSH && "P", f & TCP_ACK && "."].filter(Boolean).join("");

describe("TCP over a fake wire", () => {
  it("one curl: handshake, request, response, FIN exchange, TIME_WAIT then closed", () => {
    const w = world();
    w.clients.add({ ...w.base, name: "c", requests: 1 });
    w.sim.run();
    const seq = w.wire.log.map((e) => `${e.pkt.src === CLIENT ? ">" : "<"}${flagName(e.pkt.flags)}`);
    expect(seq).toEqual([">S", "<S.", ">.", ">P.", "<P.", ">F.", "<F.", ">."]);
    expect(w.wire.log.every((e) => e.fate === "socket")).toBe(true);
    const [r] = w.clients.requests;
    expect(r).toMatchObject({ outcome: "ok", servedBy: "hostnames-abc", body: "hostnames-abc", endpointAddr: SERVER, endpointPort: 9376, seenSrc: CLIENT, attempts: 1, reused: false });
    // 2 RTT (0.2 ms each) + 1 ms service time
    expect(r!.end - r!.start).toBe(ms(1) + 4 * 100_000);
    // TIME_WAIT on the client for 60 s, then nothing is left
    expect(w.sim.now).toBe(r!.end + 2 * 100_000 + 60 * SECOND);
    expect([...w.client.connections()]).toHaveLength(0);
    expect([...w.server.connections()]).toHaveLength(0);
    expect(w.tcp.openConns).toBe(0);
    expect(w.wire.fates).toBe(w.wire.sent);
    expect(w.trace.countBy("request.outcome", "ok")).toBe(1);
  });

  it("SYN to a port nobody listens on: RST|ACK, connection refused at once", () => {
    const w = world();
    w.clients.add({ ...w.base, name: "c", requests: 1, targetPort: 81 });
    w.sim.run();
    expect(w.wire.log.map((e) => `${flagName(e.pkt.flags)}:${e.fate}`)).toEqual(["S:rst", "R.:socket"]);
    expect(w.clients.requests[0]).toMatchObject({ outcome: "refused", attempts: 1 });
    expect(w.clients.requests[0]!.end).toBe(200_000);
    expect(w.trace.countBy("request.outcome", "refused", "tcp-rst")).toBe(1);
  });

  it("ICMP port unreachable (a REJECT) to a SYN: refused after one round trip", () => {
    const w = world();
    w.wire.reject.add(SERVER);
    w.clients.add({ ...w.base, name: "c", requests: 1 });
    w.sim.run();
    expect(w.clients.requests[0]).toMatchObject({ outcome: "refused", attempts: 1, end: 200_000 });
    expect(w.trace.countBy("request.outcome", "refused", "icmp-port-unreachable")).toBe(1);
    expect(w.wire.log.map((e) => e.fate)).toEqual(["rejected", "icmp"]);
  });

  it.each([
    { name: "connect timeout 10s: SYNs at 0,1,3,7 s", connect: s(10), synTimes: [0, 1, 3, 7], end: s(10) },
    { name: "connect timeout 2.5s: SYNs at 0,1 s", connect: ms(2500), synTimes: [0, 1], end: ms(2500) },
    { name: "no connect timeout: tcp_syn_retries=6 gives up at 127 s", connect: 0, synTimes: [0, 1, 3, 7, 15, 31, 63], end: s(127) },
  ])("blackhole, $name", ({ connect, synTimes, end }) => {
    const w = world();
    w.wire.blackhole.add(SERVER);
    w.clients.add({ ...w.base, name: "c", requests: 1, connectTimeoutNs: connect, requestTimeoutNs: s(300) });
    w.sim.run();
    expect(w.wire.log.map((e) => (e.t - 100_000) / SECOND)).toEqual(synTimes);
    expect(w.clients.requests[0]).toMatchObject({ outcome: "timeout-connect", attempts: synTimes.length, end });
    expect(w.clients.connections[0]).toMatchObject({ end: "timeout-connect", established: -1 });
  });

  it("max-time shorter than the connect phase: timeout-request, socket aborted", () => {
    const w = world();
    w.wire.blackhole.add(SERVER);
    w.clients.add({ ...w.base, name: "c", requests: 1, connectTimeoutNs: s(10), requestTimeoutNs: s(2) });
    w.sim.run();
    expect(w.clients.requests[0]).toMatchObject({ outcome: "timeout-request", end: s(2) });
    expect(w.tcp.openConns).toBe(0);
  });

  it("hung app: timeout-request; client FIN, server stays in CLOSE_WAIT (app never closes)", () => {
    const w = world();
    w.app.hung = true;
    w.clients.add({ ...w.base, name: "c", requests: 1, requestTimeoutNs: s(5) });
    w.sim.run(s(60));
    expect(w.clients.requests[0]).toMatchObject({ outcome: "timeout-request", end: s(5) });
    expect([...w.server.connections()].map((c) => c.stateName)).toEqual(["CLOSE_WAIT"]);
    expect([...w.client.connections()].map((c) => c.stateName)).toEqual(["FIN_WAIT_2"]);
    // tcp_fin_timeout (60 s after the close) ends the orphaned FIN_WAIT_2; CLOSE_WAIT never times out.
    w.sim.run(s(100));
    expect([...w.client.connections()].map((c) => c.stateName)).toEqual([]);
    expect([...w.server.connections()].map((c) => c.stateName)).toEqual(["CLOSE_WAIT"]);
  });

  it("response after max-time hits a closed socket and is answered with RST", () => {
    const w = world({ serviceTime: { distribution: "constant", valueNs: s(3) } });
    w.clients.add({ ...w.base, name: "c", requests: 1, requestTimeoutNs: s(1) });
    w.sim.run();
    expect(w.clients.requests[0]!.outcome).toBe("timeout-request");
    const seq = w.wire.log.map((e) => `${e.pkt.src === CLIENT ? ">" : "<"}${flagName(e.pkt.flags)}`);
    // server ACKs the FIN (CLOSE_WAIT), answers late, then closes; the orphaned client socket resets
    expect(seq).toEqual([">S", "<S.", ">.", ">P.", ">F.", "<.", "<P.", "<F.", ">R", ">R"]);
    expect(w.tcp.openConns).toBe(0);
    expect([...w.server.connections()]).toHaveLength(0);
  });

  it("keep-alive: one connection carries all requests of a closed-loop worker", () => {
    const w = world();
    w.clients.add({ ...w.base, name: "c", requests: 5, keepAlive: true });
    w.sim.run();
    const rs = w.clients.requests;
    expect(rs.map((r) => r.outcome)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(new Set(rs.map((r) => r.connection)).size).toBe(1);
    expect(rs.map((r) => r.reused)).toEqual([false, true, true, true, true]);
    expect(w.clients.connections).toHaveLength(1);
    expect(w.clients.connections[0]!.requests).toBe(5);
  });

  it("keep-alive with requestsPerConnection=2 and concurrency 2", () => {
    const w = world();
    w.clients.add({ ...w.base, name: "c", requests: 8, keepAlive: true, requestsPerConnection: 2, concurrency: 2 });
    w.sim.run();
    expect(w.clients.requests.filter((r) => r.outcome === "ok")).toHaveLength(8);
    expect(w.clients.connections).toHaveLength(4);
    expect(w.clients.connections.every((c) => c.requests === 2 && c.end === "closed")).toBe(true);
  });

  it("open loop: Poisson arrivals at the configured rate, each request one outcome", () => {
    const w = world({ serviceTime: { distribution: "exponential", meanNs: ms(5) } });
    w.clients.add({ ...w.base, name: "c", rate: 200, durationNs: s(10) });
    w.sim.run();
    const rs = w.clients.requests;
    expect(rs.length).toBeGreaterThan(1800);
    expect(rs.length).toBeLessThan(2200);
    expect(rs.every((r) => r.outcome === "ok")).toBe(true);
    expect(new Set(rs.map((r) => r.id)).size).toBe(rs.length);
    expect(w.wire.fates).toBe(w.wire.sent);
  });

  it("ephemeral ports come from 32768-60999, distinct for live 4-tuples, seeded start", () => {
    const ports = (seed: number) => {
      const w = world({ seed });
      w.clients.add({ ...w.base, name: "c", requests: 50, concurrency: 5 });
      w.sim.run();
      return w.clients.connections.map((c) => c.localPort);
    };
    const a = ports(1);
    expect(a.every((p) => p >= EPHEMERAL_LO && p <= EPHEMERAL_HI)).toBe(true);
    expect(new Set(a).size).toBe(50); // all still in TIME_WAIT: no reuse
    expect(ports(1)).toEqual(a);
    expect(ports(2)[0]).not.toBe(a[0]);
  });
});
