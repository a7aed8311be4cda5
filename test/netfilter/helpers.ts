/** Test helpers for netfilter specs: packets and evaluation contexts from readable values. */
import { parseIPv4 } from "../../src/net/ip.ts";
import type { Packet, ProtoNum } from "../../src/net/packet.ts";
import { PROTO_BY_NAME, TCP_SYN } from "../../src/net/packet.ts";
import type { EvalContext } from "../../src/netfilter/types.ts";
import { CT_NEW } from "../../src/netfilter/types.ts";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface PktSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  proto?: "tcp" | "udp" | "sctp" | "icmp";
  len?: number;
}

export function pkt(s: PktSpec = {}): Packet {
  const proto: ProtoNum = PROTO_BY_NAME[s.proto ?? "tcp"];
  return {
    src: parseIPv4(s.src ?? "192.168.0.100"),
    dst: parseIPv4(s.dst ?? "10.0.91.192"),
    sport: s.sport ?? 40000,
    dport: s.dport ?? 80,
    proto,
    flags: proto === 6 ? TCP_SYN : 0,
    len: s.len ?? 60,
  };
}

export interface CtxSpec {
  ctstate?: number;
  mark?: number;
  inIface?: string;
  outIface?: string;
  local?: string[];
  now?: number;
  /** Scripted statistic outcomes, consumed in order (default: always false). */
  chances?: boolean[];
}

export type TestCtx = EvalContext & { draws: number[] };

export function ctx(s: CtxSpec = {}): TestCtx {
  const local = new Set((s.local ?? ["192.168.0.11", "127.0.0.1"]).map(parseIPv4));
  const script = [...(s.chances ?? [])];
  const draws: number[] = [];
  return {
    ctstate: s.ctstate ?? CT_NEW,
    mark: s.mark ?? 0,
    inIface: s.inIface ?? "eth0",
    outIface: s.outIface ?? "",
    isLocal: (a) => local.has(a) || a >>> 24 === 127,
    now: s.now ?? 0,
    draws,
    chance(p31) {
      draws.push(p31);
      return script.length ? script.shift()! : false;
    },
  };
}

export function fixture(name: string): string {
  return readFileSync(resolve(__dirname, "../fixtures/netfilter", name), "utf8");
}
