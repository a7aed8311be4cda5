import { describe, expect, it } from "vitest";
import { formatIPv4, parseIPv4 as ip } from "../../src/net/ip.ts";
import type { FiveTuple, Packet, ProtoNum } from "../../src/net/packet.ts";
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/net/packet.ts";
import {
  isAssured, isConfirmed, isSeenReply, tcpStateName,
  ConntrackTable, type ConntrackEntry, type CtDestroyReason, DIR_ORIGINAL, DIR_REPLY, CT_UPDATE_INVALID,
  formatConntrackL, manipBoth, manipDst, manipSrc, tupleKey,
} from "../../src/netfilter/conntrack.ts";
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT } from "../../src/netfilter/types.ts";

const SEC = 1_000_000_000;
const pkt = (src: string, sport: number, dst: string, dport: number, proto: ProtoNum = PROTO_TCP, flags = 0): Packet => ({
  src: ip(src), dst: ip(dst), sport, dport, proto, flags, len: 60,
});

function newTable(extra: Partial<ConstructorParameters<typeof ConntrackTable>[0]> = {}) {
  const destroyed: Array<[number, CtDestroyReason, number]> = [];
  const ct = new ConntrackTable({ node: "node-1", onDestroy: (e, r, now) => destroyed.push([e.id, r, now]), ...extra });
  return { ct, destroyed };
}

// ---------------------------------------------------------------------------------------------
// TCP state machine, without NAT: client 10.1.161.1:43120 <-> server 10.1.166.146:9376
// ---------------------------------------------------------------------------------------------

type Step = { dir: "o" | "r"; flags: number; at?: number; state: string; ct: number; timeout?: number; assured?: boolean; size?: number };
const C = "10.1.161.1", SV = "10.1.166.146";
const SYN = TCP_SYN, SYNACK = TCP_SYN | TCP_ACK, ACK = TCP_ACK, FINACK = TCP_FIN | TCP_ACK, RST = TCP_RST, DATA = TCP_PSH | TCP_ACK;

const tcpRows: Array<{ name: string; steps: Step[] }> = [
  {
    name: "three-way handshake then data",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW, timeout: 120, assured: false },
      { dir: "r", flags: SYNACK, state: "SYN_RECV", ct: CT_ESTABLISHED, timeout: 60, assured: false },
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED, timeout: 432000, assured: true },
      { dir: "o", flags: DATA, state: "ESTABLISHED", ct: CT_ESTABLISHED, timeout: 432000 },
      { dir: "r", flags: DATA, state: "ESTABLISHED", ct: CT_ESTABLISHED, timeout: 432000 },
    ],
  },
  {
    name: "client closes first: FIN, ACK, FIN, ACK",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW },
      { dir: "r", flags: SYNACK, state: "SYN_RECV", ct: CT_ESTABLISHED },
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED },
      { dir: "o", flags: FINACK, state: "FIN_WAIT", ct: CT_ESTABLISHED, timeout: 120 },
      { dir: "r", flags: ACK, state: "CLOSE_WAIT", ct: CT_ESTABLISHED, timeout: 60 },
      { dir: "r", flags: FINACK, state: "LAST_ACK", ct: CT_ESTABLISHED, timeout: 30 },
      { dir: "o", flags: ACK, state: "TIME_WAIT", ct: CT_ESTABLISHED, timeout: 120, assured: true },
    ],
  },
  {
    name: "server closes first (serve_hostname style)",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW },
      { dir: "r", flags: SYNACK, state: "SYN_RECV", ct: CT_ESTABLISHED },
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED },
      { dir: "r", flags: FINACK, state: "FIN_WAIT", ct: CT_ESTABLISHED, timeout: 120 },
      { dir: "o", flags: FINACK, state: "LAST_ACK", ct: CT_ESTABLISHED, timeout: 30 },
      { dir: "r", flags: ACK, state: "TIME_WAIT", ct: CT_ESTABLISHED, timeout: 120 },
    ],
  },
  {
    name: "RST on an established connection",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW },
      { dir: "r", flags: SYNACK, state: "SYN_RECV", ct: CT_ESTABLISHED },
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED },
      { dir: "r", flags: RST, state: "CLOSE", ct: CT_ESTABLISHED, timeout: 10 },
    ],
  },
  {
    name: "connection refused: RST as the only reply destroys the entry",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW, size: 1 },
      { dir: "r", flags: RST | ACK, state: "gone", ct: CT_ESTABLISHED, size: 0 },
    ],
  },
  {
    name: "SYN retransmission stays NEW in SYN_SENT and re-arms the timer",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW, timeout: 120 },
      { dir: "o", flags: SYN, at: 1 * SEC, state: "SYN_SENT", ct: CT_NEW, timeout: 120 },
    ],
  },
  {
    name: "loose pickup: a mid-stream ACK creates an ESTABLISHED entry, assured on the next packet",
    steps: [
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_NEW, timeout: 432000, assured: false },
      { dir: "r", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED, assured: true },
    ],
  },
  {
    name: "FIN, RST or SYN-ACK without an entry are INVALID and create nothing",
    steps: [
      { dir: "o", flags: FINACK, state: "gone", ct: CT_INVALID, size: 0 },
      { dir: "o", flags: RST, state: "gone", ct: CT_INVALID, size: 0 },
      { dir: "o", flags: SYNACK, state: "gone", ct: CT_INVALID, size: 0 },
      { dir: "o", flags: 0, state: "gone", ct: CT_INVALID, size: 0 },
    ],
  },
  {
    name: "a SYN-ACK from the client side is INVALID and leaves the state alone",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW },
      { dir: "o", flags: SYNACK, state: "SYN_SENT", ct: CT_INVALID },
      { dir: "r", flags: ACK, state: "SYN_SENT", ct: CT_ESTABLISHED }, // ignored, not invalid
    ],
  },
  {
    name: "late SYN-ACK retransmission on an established connection is ignored",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW },
      { dir: "r", flags: SYNACK, state: "SYN_RECV", ct: CT_ESTABLISHED },
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED },
      { dir: "r", flags: SYNACK, at: 5 * SEC, state: "ESTABLISHED", ct: CT_ESTABLISHED, timeout: 431995 },
    ],
  },
  {
    name: "a new SYN on a TIME_WAIT tuple re-opens: old entry destroyed, fresh NEW entry",
    steps: [
      { dir: "o", flags: SYN, state: "SYN_SENT", ct: CT_NEW },
      { dir: "r", flags: SYNACK, state: "SYN_RECV", ct: CT_ESTABLISHED },
      { dir: "o", flags: ACK, state: "ESTABLISHED", ct: CT_ESTABLISHED },
      { dir: "o", flags: FINACK, state: "FIN_WAIT", ct: CT_ESTABLISHED },
      { dir: "r", flags: FINACK, state: "LAST_ACK", ct: CT_ESTABLISHED },
      { dir: "o", flags: ACK, state: "TIME_WAIT", ct: CT_ESTABLISHED },
      { dir: "o", flags: SYN, at: 2 * SEC, state: "SYN_SENT", ct: CT_NEW, timeout: 120, assured: false, size: 1 },
    ],
  },
];

describe("TCP tracking (spec table)", () => {
  it.each(tcpRows)("$name", ({ steps }) => {
    const { ct } = newTable();
    let now = 0;
    for (const [i, st] of steps.entries()) {
      if (st.at !== undefined) now = st.at;
      const p = st.dir === "o" ? pkt(C, 43120, SV, 9376, PROTO_TCP, st.flags) : pkt(SV, 9376, C, 43120, PROTO_TCP, st.flags);
      const predicted = ct.ctstateOf(p, now);
      const got = ct.track(p, now);
      const where = `step ${i} (${st.dir} flags=0x${st.flags.toString(16)})`;
      expect(got, where).toBe(st.ct);
      expect(predicted, `${where}: ctstateOf agrees with track`).toBe(got);
      if (ct.cur && !isConfirmed(ct.cur)) expect(ct.confirm(ct.cur)).toBe(true);
      const e = ct.lookup(pkt(C, 43120, SV, 9376), now)?.entry;
      if (st.state === "gone") expect(e, where).toBeUndefined();
      else {
        expect(e && tcpStateName(e), where).toBe(st.state);
        if (st.timeout !== undefined) expect((e!.expires - now) / SEC, where).toBe(st.timeout);
        if (st.assured !== undefined) expect(isAssured(e!), where).toBe(st.assured);
      }
      if (st.size !== undefined) expect(ct.size, where).toBe(st.size);
    }
  });

  it("counts packets and bytes per direction; INVALID packets are not counted", () => {
    const { ct } = newTable();
    ct.track(pkt(C, 1, SV, 2, PROTO_TCP, SYN), 0);
    const e = ct.cur!;
    ct.confirm(e);
    ct.track(pkt(SV, 2, C, 1, PROTO_TCP, SYNACK), 0);
    ct.track(pkt(C, 1, SV, 2, PROTO_TCP, ACK), 0);
    expect(ct.update(e, pkt(C, 1, SV, 2, PROTO_TCP, SYNACK), DIR_ORIGINAL, 0)).toBe(CT_UPDATE_INVALID);
    expect([e.origPackets, e.origBytes, e.replyPackets, e.replyBytes]).toEqual([2, 120, 1, 60]);
  });

  it("reports the RST kill and the reopen to onDestroy", () => {
    const { ct, destroyed } = newTable();
    ct.track(pkt(C, 1, SV, 2, PROTO_TCP, SYN), 0);
    ct.confirm(ct.cur!);
    ct.track(pkt(SV, 2, C, 1, PROTO_TCP, RST), 5);
    expect(destroyed).toEqual([[1, "rst-unreplied", 5]]);
  });
});

// ---------------------------------------------------------------------------------------------
// NAT: the seed's curl from node 192.168.0.11 to the cluster IP, DNAT + MASQUERADE
// ---------------------------------------------------------------------------------------------

const VIP = "10.0.91.192", EP = "10.1.166.146", NODE = "192.168.0.11", CLIENT = "10.1.161.1";

function natConnection(ct: ConntrackTable, src = CLIENT, sport = 43120, masq = true, now = 0): ConntrackEntry {
  expect(ct.track(pkt(src, sport, VIP, 80, PROTO_TCP, SYN), now)).toBe(CT_NEW);
  const e = ct.cur!;
  ct.applyNat(e, { dnat: { addr: ip(EP), port: 9376 } });
  if (masq) {
    const port = ct.selectSnatPort(e, ip(NODE));
    ct.applyNat(e, { snat: { addr: ip(NODE), port } });
  }
  expect(ct.confirm(e)).toBe(true);
  return e;
}

describe("NAT bindings", () => {
  it("DNAT rewrites the reply source, MASQUERADE the reply destination (port kept when free)", () => {
    const { ct } = newTable();
    const e = natConnection(ct);
    expect([e.replySrc, e.replySport, e.replyDst, e.replyDport]).toEqual([ip(EP), 9376, ip(NODE), 43120]);
    const syn = pkt(CLIENT, 43120, VIP, 80, PROTO_TCP, SYN);
    const afterDnat = manipDst(e, DIR_ORIGINAL, syn);
    expect([afterDnat.dst, afterDnat.dport]).toEqual([ip(EP), 9376]);
    const out = manipSrc(e, DIR_ORIGINAL, afterDnat);
    expect([out.src, out.sport, out.dst, out.dport]).toEqual([ip(NODE), 43120, ip(EP), 9376]);
  });

  it("a reply maps back to the entry in the REPLY direction and is un-NATed", () => {
    const { ct } = newTable();
    const e = natConnection(ct);
    const reply = pkt(EP, 9376, NODE, 43120, PROTO_TCP, SYNACK);
    const hit = ct.lookup(reply, 0);
    expect(hit?.entry).toBe(e);
    expect(hit?.dir).toBe(DIR_REPLY);
    expect(ct.ctstateOf(reply, 0)).toBe(CT_ESTABLISHED | CT_SNAT | CT_DNAT);
    const back = manipSrc(e, DIR_REPLY, manipDst(e, DIR_REPLY, reply));
    expect([back.src, back.sport, back.dst, back.dport]).toEqual([ip(VIP), 80, ip(CLIENT), 43120]);
    // original-direction packets before a reply are NEW (with the virtual DNAT/SNAT bits)
    expect(ct.ctstateOf(pkt(CLIENT, 43120, VIP, 80, PROTO_TCP, SYN), 0)).toBe(CT_NEW | CT_SNAT | CT_DNAT);
    // the post-NAT original tuple is not a tracked tuple
    expect(ct.lookup(pkt(NODE, 43120, EP, 9376), 0)).toBeNull();
  });

  it("manip* return the same packet when the entry has no NAT", () => {
    const { ct } = newTable();
    const p = pkt(C, 1, SV, 2, PROTO_TCP, SYN);
    ct.track(p, 0);
    expect(manipDst(ct.cur!, DIR_ORIGINAL, p)).toBe(p);
    expect(manipSrc(ct.cur!, DIR_ORIGINAL, p)).toBe(p);
  });

  // manipBoth is manipSrc(manipDst(...)) in one copy: the same header for every NAT kind and direction.
  const both = [
    { name: "DNAT and MASQUERADE, original", masq: true, dnat: true, reply: false },
    { name: "DNAT and MASQUERADE, reply", masq: true, dnat: true, reply: true },
    { name: "DNAT only, original", masq: false, dnat: true, reply: false },
    { name: "DNAT only, reply", masq: false, dnat: true, reply: true },
    { name: "SNAT only, original", masq: true, dnat: false, reply: false },
    { name: "SNAT only, reply", masq: true, dnat: false, reply: true },
    { name: "no NAT, original", masq: false, dnat: false, reply: false },
  ];
  it.each(both)("manipBoth equals manipSrc after manipDst: $name", ({ masq, dnat, reply }) => {
    const { ct } = newTable();
    expect(ct.track(pkt(CLIENT, 43120, VIP, 80, PROTO_TCP, SYN), 0)).toBe(CT_NEW);
    const e = ct.cur!;
    if (dnat) ct.applyNat(e, { dnat: { addr: ip(EP), port: 9376 } });
    if (masq) ct.applyNat(e, { snat: { addr: ip(NODE), port: 61000 } });
    expect(ct.confirm(e)).toBe(true);
    const dir = reply ? DIR_REPLY : DIR_ORIGINAL;
    const p = reply ? pkt(formatIPv4(e.replySrc), e.replySport, formatIPv4(e.replyDst), e.replyDport, PROTO_TCP, SYNACK) : pkt(CLIENT, 43120, VIP, 80, PROTO_TCP, SYN);
    const want = manipSrc(e, dir, manipDst(e, dir, p));
    const got = manipBoth(e, dir, p);
    expect(got).toEqual(want);
    if (!masq && !dnat) expect(got).toBe(p);
  });

  it("applyNat after confirmation rehashes the reply tuple", () => {
    const { ct } = newTable();
    const e = natConnection(ct, CLIENT, 43120, false);
    ct.applyNat(e, { snat: { addr: ip(NODE), port: 5000 } });
    expect(ct.lookup(pkt(EP, 9376, CLIENT, 43120), 0)).toBeNull();
    expect(ct.lookup(pkt(EP, 9376, NODE, 5000), 0)?.dir).toBe(DIR_REPLY);
  });

  it("ICMP errors about a tracked connection are RELATED; unrelated ones INVALID", () => {
    const { ct } = newTable();
    natConnection(ct);
    const inner: FiveTuple = { src: ip(NODE), dst: ip(EP), sport: 43120, dport: 9376, proto: PROTO_TCP };
    const icmp: Packet = { ...pkt(EP, 0, NODE, 0, PROTO_ICMP), icmp: { type: 3, code: 3, inner } };
    expect(ct.ctstateOf(icmp, 0)).toBe(CT_RELATED | CT_SNAT | CT_DNAT);
    expect(ct.track(icmp, 0)).toBe(CT_RELATED | CT_SNAT | CT_DNAT);
    expect(ct.curDir).toBe(DIR_REPLY);
    const other: Packet = { ...icmp, icmp: { type: 3, code: 3, inner: { ...inner, sport: 1 } } };
    expect(ct.track(other, 0)).toBe(CT_INVALID);
    expect(ct.size).toBe(1);
  });
});

describe("SNAT source-port selection", () => {
  it("a clash on the masqueraded reply tuple selects the next free port", () => {
    const { ct } = newTable();
    const a = natConnection(ct, "10.1.161.1", 43120);
    const b = natConnection(ct, "10.1.161.2", 43120); // another pod, same source port
    const c = natConnection(ct, "10.1.161.3", 43120);
    expect([a.replyDport, b.replyDport, c.replyDport]).toEqual([43120, 43121, 43122]);
    expect(ct.isReplyTupleTaken(ip(EP), ip(NODE), 9376, 43121, PROTO_TCP)).toBe(true);
    expect(ct.isReplyTupleTaken(ip(EP), ip(NODE), 9376, 43123, PROTO_TCP)).toBe(false);
    expect(ct.isReplyTupleTaken(ip(EP), ip(NODE), 9376, 43121, PROTO_TCP, b)).toBe(false);
  });

  it("searches within the kernel's port class and wraps around", () => {
    const { ct } = newTable();
    const a = natConnection(ct, "10.1.161.1", 65535);
    const b = natConnection(ct, "10.1.161.2", 65535);
    expect([a.replyDport, b.replyDport]).toEqual([65535, 1024]);
    const p = natConnection(ct, "10.1.161.1", 1023);
    const q = natConnection(ct, "10.1.161.2", 1023);
    expect([p.replyDport, q.replyDport]).toEqual([1023, 600]);
  });

  it("--random-fully never keeps the original port and retries on clash", () => {
    const { ct } = newTable();
    const draws = [0, 0, 5]; // offsets into 1024..65535
    const rand = () => draws.shift()!;
    const mk = (src: string) => {
      ct.track(pkt(src, 43120, VIP, 80, PROTO_TCP, SYN), 0);
      const e = ct.cur!;
      ct.applyNat(e, { dnat: { addr: ip(EP), port: 9376 } });
      const port = ct.selectSnatPort(e, ip(NODE), { randomFully: true, randomU32: rand });
      ct.applyNat(e, { snat: { addr: ip(NODE), port } });
      expect(ct.confirm(e)).toBe(true);
      return port;
    };
    expect([mk("10.1.161.1"), mk("10.1.161.2"), mk("10.1.161.3")]).toEqual([1024, 1025, 1029]);
    expect(() => ct.selectSnatPort(ct.create(pkt(C, 1, SV, 2, PROTO_TCP, SYN), 0)!, ip(NODE), { randomFully: true })).toThrow(/random source/);
  });

  it("a confirmation clash fails (the kernel drops the packet)", () => {
    const { ct } = newTable();
    const a = ct.create(pkt(C, 1, SV, 2, PROTO_TCP, SYN), 0)!;
    const b = ct.create(pkt(C, 1, SV, 2, PROTO_TCP, SYN), 0)!;
    expect(ct.confirm(a)).toBe(true);
    expect(ct.confirm(b)).toBe(false);
    expect(ct.size).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Timeouts, UDP, expiry, deletion
// ---------------------------------------------------------------------------------------------

describe("timeouts and expiry", () => {
  it("UDP: 30 s unreplied, 120 s and ASSURED once replied; expiry removes lazily", () => {
    const { ct, destroyed } = newTable();
    ct.track(pkt(C, 5353, SV, 53, PROTO_UDP), 0);
    const e = ct.cur!;
    ct.confirm(e);
    expect(e.expires).toBe(30 * SEC);
    expect(ct.lookup(pkt(C, 5353, SV, 53, PROTO_UDP), 30 * SEC - 1)).not.toBeNull();
    ct.track(pkt(SV, 53, C, 5353, PROTO_UDP), 10 * SEC);
    expect(isSeenReply(e) && isAssured(e)).toBe(true);
    expect(e.expires).toBe(130 * SEC);
    expect(ct.track(pkt(C, 5353, SV, 53, PROTO_UDP), 20 * SEC)).toBe(CT_ESTABLISHED);
    expect(e.expires).toBe(140 * SEC);
    expect(ct.lookup(pkt(C, 5353, SV, 53, PROTO_UDP), 140 * SEC)).toBeNull();
    expect(destroyed).toEqual([[e.id, "timeout", 140 * SEC]]);
    expect(ct.track(pkt(C, 5353, SV, 53, PROTO_UDP), 141 * SEC)).toBe(CT_NEW);
  });

  it("UDP unreplied entries expire after 30 s", () => {
    const { ct } = newTable();
    ct.track(pkt(C, 5353, SV, 53, PROTO_UDP), 0);
    ct.confirm(ct.cur!);
    expect(ct.ctstateOf(pkt(C, 5353, SV, 53, PROTO_UDP), 29 * SEC)).toBe(CT_NEW);
    expect(ct.sweep(29 * SEC)).toBe(0);
    expect(ct.sweep(30 * SEC)).toBe(1);
    expect(ct.size).toBe(0);
  });

  it("Linux ≥ 6.0 option: a UDP reply within udpStreamAfter keeps the short timeout", () => {
    const { ct } = newTable({ timeouts: { udpStreamAfter: 2 * SEC } });
    ct.track(pkt(C, 5353, SV, 53, PROTO_UDP), 0);
    const e = ct.cur!;
    ct.confirm(e);
    ct.track(pkt(SV, 53, C, 5353, PROTO_UDP), 1 * SEC);
    expect([isAssured(e), e.expires]).toEqual([false, 31 * SEC]);
    ct.track(pkt(C, 5353, SV, 53, PROTO_UDP), 3 * SEC);
    expect([isAssured(e), e.expires]).toEqual([true, 123 * SEC]);
  });

  it("sweep removes only expired entries and reports them", () => {
    const { ct, destroyed } = newTable({ timeouts: { tcpSynSent: 5 * SEC } });
    for (let i = 0; i < 4; i++) {
      ct.track(pkt(C, 1000 + i, SV, 80, PROTO_TCP, SYN), i * SEC);
      ct.confirm(ct.cur!);
    }
    expect(ct.sweep(6 * SEC)).toBe(2);
    expect(destroyed.map((d) => d[1])).toEqual(["timeout", "timeout"]);
    expect([...ct.entries()].map((e) => e.origSport)).toEqual([1002, 1003]);
  });
});

describe("conntrack -D filters (kube-proxy's UDP cleanup)", () => {
  const EP1 = "10.1.0.1", EP2 = "10.1.0.2", DNS = "10.0.0.10";
  function setup() {
    const { ct, destroyed } = newTable();
    const mk = (proto: ProtoNum, src: string, sport: number, dst: string, dport: number, ep: string, epPort: number) => {
      ct.track(pkt(src, sport, dst, dport, proto, proto === PROTO_TCP ? SYN : 0), 0);
      const e = ct.cur!;
      ct.applyNat(e, { dnat: { addr: ip(ep), port: epPort } });
      ct.confirm(e);
      return e;
    };
    mk(PROTO_UDP, C, 1001, DNS, 53, EP1, 53);
    mk(PROTO_UDP, C, 1002, DNS, 53, EP2, 53);
    mk(PROTO_TCP, C, 1003, DNS, 53, EP1, 53);
    mk(PROTO_UDP, C, 1004, NODE, 30053, EP1, 53); // NodePort
    mk(PROTO_UDP, C, 1005, "10.1.0.9", 53, "10.1.0.9", 53); // no-op DNAT (reply src unchanged)
    return { ct, destroyed };
  }
  const rows = [
    { name: "--orig-dst <svcIP> --dst-nat <epIP> -p udp", f: { origDst: ip(DNS), dstNat: ip(EP1), proto: PROTO_UDP }, left: [1002, 1003, 1004, 1005] },
    { name: "--orig-dst <svcIP> -p udp", f: { origDst: ip(DNS), proto: PROTO_UDP }, left: [1003, 1004, 1005] },
    { name: "-p udp --dport <nodePort>", f: { proto: PROTO_UDP, dport: 30053 }, left: [1001, 1002, 1003, 1005] },
    { name: "-p udp --dport <nodePort> --dst-nat <epIP>", f: { proto: PROTO_UDP, dport: 30053, dstNat: ip(EP2) }, left: [1001, 1002, 1003, 1004, 1005] },
    { name: "--dst-nat needs the DST_NAT status", f: { dstNat: ip("10.1.0.9") }, left: [1001, 1002, 1003, 1004] },
  ];
  it.each(rows)("$name", ({ f, left }) => {
    const { ct, destroyed } = setup();
    const n = ct.delete(f, 1);
    expect([...ct.entries()].map((e) => e.origSport)).toEqual(left);
    expect(n).toBe(5 - left.length);
    expect(destroyed.every((d) => d[1] === "deleted" && d[2] === 1)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// conntrack -L
// ---------------------------------------------------------------------------------------------

describe("formatConntrackL", () => {
  it("prints conntrack-tools lines (golden)", () => {
    const { ct } = newTable();
    // 1) the seed's curl: established, assured, DNAT + MASQUERADE, 0.5 s after the last packet
    const e = natConnection(ct, CLIENT, 43120, true, 0);
    ct.track(pkt(EP, 9376, NODE, 43120, PROTO_TCP, SYNACK), 0);
    ct.track(pkt(CLIENT, 43120, VIP, 80, PROTO_TCP, ACK), 0);
    expect(isAssured(e)).toBe(true);
    // 2) an unanswered SYN
    ct.track(pkt(CLIENT, 43121, VIP, 80, PROTO_TCP, SYN), 0);
    ct.confirm(ct.cur!);
    // 3) a UDP query without answer, with a mark
    ct.track(pkt(CLIENT, 40000, "10.0.0.10", 53, PROTO_UDP), 0);
    ct.cur!.mark = 0x4000;
    ct.confirm(ct.cur!);
    // 4) ping with reply
    ct.track(pkt(CLIENT, 0, SV, 0, PROTO_ICMP), 0);
    ct.confirm(ct.cur!);
    ct.track(pkt(SV, 0, CLIENT, 0, PROTO_ICMP), 0);
    const out = formatConntrackL(ct.entries(), SEC / 2);
    expect(out.lines).toEqual([
      "tcp      6 431999 ESTABLISHED src=10.1.161.1 dst=10.0.91.192 sport=43120 dport=80 src=10.1.166.146 dst=192.168.0.11 sport=9376 dport=43120 [ASSURED] mark=0 use=1",
      "tcp      6 119 SYN_SENT src=10.1.161.1 dst=10.0.91.192 sport=43121 dport=80 [UNREPLIED] src=10.0.91.192 dst=10.1.161.1 sport=80 dport=43121 mark=0 use=1",
      "udp      17 29 src=10.1.161.1 dst=10.0.0.10 sport=40000 dport=53 [UNREPLIED] src=10.0.0.10 dst=10.1.161.1 sport=53 dport=40000 mark=16384 use=1",
      "icmp     1 29 src=10.1.161.1 dst=10.1.166.146 type=8 code=0 id=0 src=10.1.166.146 dst=10.1.161.1 type=0 code=0 id=0 mark=0 use=1",
    ]);
    expect(out.summary).toBe("conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.");
  });
});

// ---------------------------------------------------------------------------------------------
// track's hint: an entry the caller expects; it changes nothing but whether the hash is probed
// ---------------------------------------------------------------------------------------------

describe("track with a hint", () => {
  // Two identical tables see the same packets; one is given `hint` for the last packet. Both must
  // answer the same ctstate, entry (by id), direction, table contents and destroy reports.
  type Hint = "own entry" | "other entry" | "destroyed entry" | "expired entry" | "unconfirmed entry";
  const rows: Array<{ name: string; hint: Hint; last: Packet; at: number }> = [
    { name: "the packet's own entry, original direction", hint: "own entry", last: pkt(C, 43120, SV, 9376, PROTO_TCP, ACK), at: 1 },
    { name: "the packet's own entry, reply direction", hint: "own entry", last: pkt(SV, 9376, C, 43120, PROTO_TCP, ACK), at: 1 },
    { name: "another connection's entry (ignored: the lookup decides)", hint: "other entry", last: pkt(C, 43120, SV, 9376, PROTO_TCP, ACK), at: 1 },
    { name: "an entry deleted meanwhile (a new SYN creates a new one)", hint: "destroyed entry", last: pkt(C, 43120, SV, 9376, PROTO_TCP, SYN), at: 1 },
    { name: "an entry whose timer ran out (destroyed now, as a lookup would)", hint: "expired entry", last: pkt(C, 43120, SV, 9376, PROTO_TCP, ACK), at: 600 * SEC },
    { name: "a SYN's entry that was never confirmed", hint: "unconfirmed entry", last: pkt(C, 43121, SV, 9376, PROTO_TCP, SYN), at: 1 },
  ];
  it.each(rows)("$name", ({ hint, last, at }) => {
    const run = (useHint: boolean) => {
      const { ct, destroyed } = newTable();
      const open = (sport: number) => {
        ct.track(pkt(C, sport, SV, 9376, PROTO_TCP, SYN), 0);
        const e = ct.cur!;
        expect(ct.confirm(e)).toBe(true);
        ct.track(pkt(SV, 9376, C, sport, PROTO_TCP, SYNACK), 0);
        return e;
      };
      const own = open(43120);
      const other = open(43122);
      let h: ConntrackEntry | null = own;
      if (hint === "other entry") h = other;
      if (hint === "destroyed entry") expect(ct.delete({ sport: 43120 }, 0)).toBe(1);
      if (hint === "unconfirmed entry") {
        ct.track(pkt(C, 43121, SV, 9376, PROTO_TCP, SYN), 0); // never confirmed: not in the table
        h = ct.cur;
      }
      const st = ct.track(last, at, useHint ? h : null);
      return { st, cur: ct.cur?.id ?? null, dir: ct.curDir, listing: formatConntrackL(ct.entries(), at).lines, destroyed };
    };
    expect(run(true)).toEqual(run(false));
  });
});

// ---------------------------------------------------------------------------------------------
// Property: 100k entries
// ---------------------------------------------------------------------------------------------

function lcg(seed: number) {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}

describe("hash table property", () => {
  const cases = [
    { name: "100k entries, default 53-bit key", n: 100_000, keyFn: undefined },
    { name: "5k entries, a weak key forcing collision chains", n: 5_000, keyFn: (s: number, d: number, sp: number) => (s ^ d ^ sp) & 0x3f },
    { name: "2k entries, a key that is often 0 (the hash array's free mark)", n: 2_000, keyFn: (s: number, _d: number, sp: number) => (s ^ sp) & 0x3 },
  ];
  it.each(cases)("$name: every tuple finds its entry in both directions; others miss", ({ n, keyFn }) => {
    const { ct } = newTable(keyFn ? { keyFn: keyFn as typeof tupleKey } : {});
    const rnd = lcg(42);
    const entries: ConntrackEntry[] = [];
    const seen = new Set<string>();
    while (entries.length < n) {
      const src = (0x0a010000 | (rnd() & 0xffff)) >>> 0;
      const sport = 1024 + (rnd() % 64000);
      const k = `${src}:${sport}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const p: Packet = { src, dst: ip(VIP), sport, dport: 80, proto: PROTO_TCP, flags: SYN, len: 60 };
      const e = ct.create(p, 0)!;
      ct.applyNat(e, { dnat: { addr: (0x0a020000 | (rnd() & 0xff)) >>> 0, port: 9376 } });
      expect(ct.confirm(e)).toBe(true);
      entries.push(e);
    }
    expect(ct.size).toBe(n);
    let bad = 0;
    for (const e of entries) {
      if (ct.lookupTuple(e.origSrc, e.origDst, e.origSport, e.origDport, PROTO_TCP, 1) !== e || ct.lastHitDir !== DIR_ORIGINAL) bad++;
      if (ct.lookupTuple(e.replySrc, e.replyDst, e.replySport, e.replyDport, PROTO_TCP, 1) !== e || ct.lastHitDir !== DIR_REPLY) bad++;
      if (ct.lookupTuple(e.origSrc, e.origDst, e.origSport, e.origDport, PROTO_UDP, 1) !== null) bad++;
      if (ct.lookupTuple(e.origSrc, e.origDst, e.origSport, 81, PROTO_TCP, 1) !== null) bad++;
      // the clash check (nf_conntrack_tuple_taken) sees the same tuples, whatever their hash (0 included)
      if (!ct.isReplyTupleTaken(e.replySrc, e.replyDst, e.replySport, e.replyDport, PROTO_TCP)) bad++;
      if (ct.isReplyTupleTaken(e.replySrc, e.replyDst, e.replySport, e.replyDport, PROTO_TCP, e)) bad++;
      if (ct.isReplyTupleTaken(e.replySrc, e.replyDst, e.replySport, 1, PROTO_TCP)) bad++;
    }
    expect(bad).toBe(0);
    // delete every other entry; the rest must still be found, the deleted not
    for (let i = 0; i < entries.length; i += 2) ct.destroy(entries[i]!, "deleted", 1);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const hit = ct.lookupTuple(e.replySrc, e.replyDst, e.replySport, e.replyDport, PROTO_TCP, 1);
      if ((i % 2 === 0) !== (hit === null)) bad++;
    }
    expect(bad).toBe(0);
    expect(ct.size).toBe(n / 2);
  });
});
