import { describe, expect, it } from "vitest";
import { TallyHandle, Trace, type TraceRecord } from "../../src/engine/trace.ts";

const fate = (time: number, fate: "delivered" | "dropped", reason: "socket" | "no-route", packetId: number): TraceRecord => ({
  type: "packet.fate", time, node: "node-1", flow: 1, packetId, fate, reason, src: 1, dst: 2, sport: 3, dport: 4, proto: 6,
});
const outcome = (time: number, start: number, o: "ok" | "timeout", servedBy?: string): TraceRecord => ({
  type: "request.outcome", time, start, client: "curl-1", requestId: time, flow: 1, outcome: o,
  reason: o === "ok" ? "response" : "connect-timeout", targetAddr: 1, targetPort: 80, attempts: 1,
  ...(servedBy ? { servedBy } : {}),
});
const sync: TraceRecord = { type: "rules.sync", time: 5, node: "node-1", trigger: "startup", full: true, ok: true, rules: 10, chains: 4, restoreLines: 20 };

describe("Trace", () => {
  it("full level keeps every record in order and filters by type", () => {
    const tr = new Trace();
    tr.emit(fate(1, "delivered", "socket", 1));
    tr.emit(sync);
    tr.emit(fate(6, "dropped", "no-route", 2));
    expect(tr.records().map((r) => r.type)).toEqual(["packet.fate", "rules.sync", "packet.fate"]);
    const fates = tr.ofType("packet.fate");
    expect(fates.map((f) => f.reason)).toEqual(["socket", "no-route"]);
    expect(tr.filter("packet.fate", (f) => f.fate === "dropped").map((f) => f.packetId)).toEqual([2]);
    expect(tr.ofType("pod.change")).toEqual([]);
  });

  it("summary level counts high-volume records without storing them, keeps low-volume ones", () => {
    const tr = new Trace({ level: "summary" });
    tr.emit(fate(1, "delivered", "socket", 1));
    tr.emit(fate(2, "dropped", "no-route", 2));
    tr.emit(fate(3, "dropped", "no-route", 3));
    tr.emit(sync);
    tr.emit(outcome(10, 4, "ok", "hostnames-a"));
    tr.emit(outcome(12, 4, "ok", "hostnames-b"));
    tr.emit(outcome(20, 4, "timeout"));
    expect(tr.stores("packet.fate")).toBe(false);
    expect(tr.ofType("packet.fate")).toEqual([]);
    expect(tr.ofType("rules.sync")).toHaveLength(1);
    expect(tr.count("packet.fate")).toBe(3);
    expect(tr.countBy("packet.fate", "dropped")).toBe(2);
    expect(tr.countBy("packet.fate", "dropped", "no-route")).toBe(2);
    expect(tr.countBy("packet.fate", "rejected")).toBe(0);
    expect(tr.countBy("request.outcome", "ok", "hostnames-a")).toBe(1);
    expect(tr.counters("request.outcome")).toEqual([["ok", "hostnames-a", 1], ["ok", "hostnames-b", 1], ["timeout", "connect-timeout", 1]]);
    expect([...tr.requestLatencies()]).toEqual([6, 8]);
    // Request outcomes are one per request and every report reads them: kept at summary level.
    expect(tr.stores("request.outcome")).toBe(true);
    expect(tr.ofType("request.outcome").map((r) => r.outcome)).toEqual(["ok", "ok", "timeout"]);
  });

  it("control.event records are low-volume, counted by action and component", () => {
    const tr = new Trace({ level: "summary" });
    tr.emit({ type: "control.event", time: 1, component: "kubelet", action: "probe", pod: "default/web-1", node: "node-a", detail: "probe=readiness result=failure" });
    tr.emit({ type: "control.event", time: 2, component: "container", action: "sigterm", pod: "default/web-1", node: "node-a", detail: "" });
    expect(tr.ofType("control.event").map((r) => r.action)).toEqual(["probe", "sigterm"]);
    expect(tr.countBy("control.event", "probe", "kubelet")).toBe(1);
  });

  it("rejects records that go back in time and notifies subscribers", () => {
    const tr = new Trace();
    const seen: string[] = [];
    const off = tr.subscribe((r) => seen.push(r.type));
    tr.emit(fate(5, "delivered", "socket", 1));
    off();
    tr.emit(sync);
    expect(seen).toEqual(["packet.fate"]);
    expect(() => tr.emit(fate(4, "delivered", "socket", 2))).toThrow(/before the previous/);
  });

  it("keep option restricts storage but not counting", () => {
    const tr = new Trace({ keep: (t) => t !== "packet.fate" });
    tr.emit(fate(1, "delivered", "socket", 1));
    expect(tr.records()).toEqual([]);
    expect(tr.count("packet.fate")).toBe(1);
  });

  it("tallies through handles count exactly as emits and tallies do; a handle never used adds no key", () => {
    const byEmit = new Trace({ level: "summary" });
    const byTally = new Trace({ level: "summary" });
    const byHandle = new Trace({ level: "summary" });
    const handles = { socket: new TallyHandle("packet.fate", "delivered", "socket"), noRoute: new TallyHandle("packet.fate", "dropped", "no-route") };
    const unused = new TallyHandle("packet.fate", "rejected", "iptables-reject");
    const seq: ["socket" | "no-route", number][] = [["socket", 1], ["socket", 2], ["no-route", 2], ["socket", 7], ["no-route", 9]];
    for (const [reason, time] of seq) {
      const f = reason === "socket" ? "delivered" : "dropped";
      byEmit.emit(fate(time, f, reason, time));
      byTally.tally("packet.fate", time, f, reason);
      byHandle.tallyWith(reason === "socket" ? handles.socket : handles.noRoute, time);
    }
    void unused;
    for (const t of [byTally, byHandle]) {
      expect(t.counters("packet.fate")).toEqual(byEmit.counters("packet.fate"));
      expect(t.count("packet.fate")).toBe(5);
      expect(t.countBy("packet.fate", "delivered")).toBe(3);
      expect(t.countBy("packet.fate", "rejected")).toBe(0);
    }
    // one handle used with a second trace binds to that trace's counter
    const other = new Trace({ level: "summary" });
    other.tallyWith(handles.socket, 10);
    expect(other.countBy("packet.fate", "delivered", "socket")).toBe(1);
    expect(byHandle.countBy("packet.fate", "delivered", "socket")).toBe(3);
    expect(() => byHandle.tallyWith(handles.socket, 1)).toThrow(/before the previous record/);
  });

  it("listenerVersion changes when a listener comes or goes (what wants() may answer then)", () => {
    const tr = new Trace({ level: "summary" });
    const v0 = tr.listenerVersion;
    expect(tr.wants("packet.fate")).toBe(false);
    const off = tr.subscribe(() => {});
    expect(tr.listenerVersion).not.toBe(v0);
    expect(tr.wants("packet.fate")).toBe(true);
    const v1 = tr.listenerVersion;
    off();
    expect(tr.listenerVersion).not.toBe(v1);
    expect(tr.wants("packet.fate")).toBe(false);
  });
});
