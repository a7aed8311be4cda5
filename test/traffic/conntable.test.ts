/**
 * A host's socket table (tcp.ts ConnTable): an open-addressing hash over (local port, remote
 * address, remote port). Random adds, removes and lookups must agree with a Map reference, with
 * addresses on both sides of the int32 sign bit and many sockets sharing a local port or a remote.
 */
import { describe, expect, it } from "vitest";
import { RngRoot } from "../../src/engine/rng.ts";
import { Simulation } from "../../src/engine/sim.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import { Conn, ConnTable, TcpHost, TcpKernel } from "../../src/traffic/tcp.ts";
import { FakeWire } from "./fakewire.ts";

describe("ConnTable agrees with a Map over 20k random operations", () => {
  it.each([1, 2, 3])("seed %i", (seed) => {
    const rng = new RngRoot(seed).stream("test/conntable");
    const sim = new Simulation();
    const host = new TcpHost(new TcpKernel(sim, new FakeWire(sim)), 0, "h", parseIPv4("10.0.0.1"), rng);
    const remotes = ["10.0.0.2", "192.168.1.9", "255.255.255.254", "127.0.0.1"].map(parseIPv4);
    const key = (l: number, a: number, p: number) => `${l}/${a}/${p}`;
    const ref = new Map<string, Conn>();
    const table = new ConnTable();
    let flow = 1;
    for (let i = 0; i < 20_000; i++) {
      const l = rng.int(32768, 32800), a = remotes[rng.int(0, remotes.length - 1)]!, p = rng.int(79, 82);
      const k = key(l, a, p);
      const r = rng.next();
      if (r < 0.45 && !ref.has(k)) {
        const c = new Conn(host, true, flow++, l, a, p);
        table.add(c);
        ref.set(k, c);
      } else if (r < 0.75 && ref.has(k)) {
        table.remove(ref.get(k)!);
        ref.delete(k);
      } else {
        expect(table.get(l, a, p)).toBe(ref.get(k) ?? null);
      }
    }
    expect(table.all().length).toBe(ref.size);
    for (const [k, c] of ref) expect(table.get(c.localPort, c.remoteAddr, c.remotePort), k).toBe(c);
  });

  it("removing a socket that is not the one stored changes nothing", () => {
    const sim = new Simulation();
    const host = new TcpHost(new TcpKernel(sim, new FakeWire(sim)), 0, "h", parseIPv4("10.0.0.1"), new RngRoot(1).stream("x"));
    const t = new ConnTable();
    const a = new Conn(host, true, 1, 40000, parseIPv4("10.0.0.2"), 80);
    const twin = new Conn(host, true, 2, 40000, parseIPv4("10.0.0.2"), 80);
    t.add(a);
    t.remove(twin);
    expect(t.get(40000, parseIPv4("10.0.0.2"), 80)).toBe(a);
  });
});
