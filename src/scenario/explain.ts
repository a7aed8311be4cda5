/**
 * The story of one connection of a run, for reports: the rules its first packet went through on
 * the node that chose its endpoint (the static tracer's branch that matches the DNAT the run
 * actually made), its conntrack entry on every node it crossed, and every packet with its time,
 * headers as delivered, and fate. Computed from the run's trace and the rules it executed.
 */
import { formatIPv4, type IPv4 } from "../net/ip.ts";
import { PROTO_TCP, protoName, TCP_SYN, type Packet } from "../net/packet.ts";
import type { RecordOf } from "../engine/trace.ts";
import { formatDuration } from "../engine/time.ts";
import { buildNodeAddressing } from "../datapath/topology.ts";
import { explore, formatTracedRules } from "../datapath/explore.ts";
import type { Origin } from "../datapath/pipeline.ts";
import type { PacketExplanation } from "../report/model.ts";
import type { RunResult } from "./run.ts";

type CtNew = RecordOf<"conntrack.new">;

const hp = (a: IPv4, p: number) => `${formatIPv4(a)}:${p}`;

/** Explains connection `flow` (default: the first connection that completed a request). */
export function explainConnection(result: RunResult, flow?: number): PacketExplanation | undefined {
  const conn = flow !== undefined
    ? result.connections.find((c) => c.id === flow)
    : result.connections.find((c) => c.end === "closed" && c.servedBy !== "") ?? result.connections[0];
  if (!conn) return undefined;
  const records = result.trace.records();
  const ctNew = records.filter((r): r is CtNew => r.type === "conntrack.new");

  // Follow the connection across nodes: first the entry for the client's tuple, then, hop by hop,
  // the entry whose original tuple is the previous entry's translated (reply-inverted) tuple.
  const hops: CtNew[] = [];
  let want = { src: conn.localAddr, sport: conn.localPort, dst: conn.targetAddr, dport: conn.targetPort };
  for (let guard = 0; guard < 8; guard++) {
    const e = ctNew.find((r) => r.time >= conn.opened && r.origSrc === want.src && r.origSport === want.sport && r.origDst === want.dst && r.origDport === want.dport && !hops.includes(r));
    if (!e) break;
    hops.push(e);
    const next = { src: e.replyDst, sport: e.replyDport, dst: e.replySrc, dport: e.replySport };
    if (next.src === want.src && next.sport === want.sport && next.dst === want.dst && next.dport === want.dport) break;
    want = next;
  }

  const lines: string[] = [];
  const proto = hops[0]?.proto ?? PROTO_TCP;
  lines.push(`${conn.client}: ${protoName(proto)} ${hp(conn.localAddr, conn.localPort)} -> ${hp(conn.targetAddr, conn.targetPort)}, opened at t=${formatDuration(conn.opened)}, ${conn.requests} request(s), ended: ${conn.end}${conn.servedBy ? `, served by ${conn.servedBy} (${hp(conn.endpointAddr, conn.endpointPort)})` : ""}`);

  // 1. The rules of the deciding node, for this connection's first packet.
  const first = hops[0];
  if (first) {
    const node = first.node;
    const runNode = result.nodes.find((n) => n.name === node);
    if (runNode) {
      const addressing = buildNodeAddressing(result.state, node);
      const pod = addressing.podAt(conn.localAddr);
      const origin: Origin = addressing.isLocal(conn.localAddr) ? { kind: "local" } : { kind: "ingress", iface: pod ? addressing.podIface(pod)! : "eth0" };
      const pkt: Packet = { src: conn.localAddr, dst: conn.targetAddr, sport: conn.localPort, dport: conn.targetPort, proto: proto as Packet["proto"], flags: proto === PROTO_TCP ? TCP_SYN : 0, len: 60 };
      const dry = runNode.netfilter.dryRun();
      const { branches } = explore({ rulesForBranch: () => dry, routing: addressing, isLocal: addressing.isLocal, packet: pkt, origin });
      const taken = branches.find((b) => b.walk.dnat && b.walk.dnat.addr === first.replySrc && b.walk.dnat.port === first.replySport) ?? branches.find((b) => !b.walk.dnat);
      if (taken) {
        lines.push("", `First packet on ${node} (rules at the end of the run; this branch's probability ${taken.probability.toFixed(11)}):`);
        lines.push(...formatTracedRules(taken.rules));
      }
    }
  }

  // 2. conntrack entries, conntrack -L style (original tuple, then reply tuple).
  if (hops.length > 0) {
    lines.push("", "Conntrack entries (original → reply tuple):");
    for (const h of hops) {
      const nat = [h.replySrc !== h.origDst || h.replySport !== h.origDport ? "DNAT" : "", h.replyDst !== h.origSrc || h.replyDport !== h.origSport ? "SNAT" : ""].filter(Boolean).join("+");
      lines.push(`  ${h.node.padEnd(8)} src=${formatIPv4(h.origSrc)} dst=${formatIPv4(h.origDst)} sport=${h.origSport} dport=${h.origDport} src=${formatIPv4(h.replySrc)} dst=${formatIPv4(h.replyDst)} sport=${h.replySport} dport=${h.replyDport}${nat ? `  [${nat}]` : ""}`);
    }
  }

  // 3. Every packet of the connection, in time order, with its fate.
  const packets = records.filter((r): r is RecordOf<"packet.fate"> => r.type === "packet.fate" && r.flow === conn.id);
  if (packets.length > 0) {
    lines.push("", `Packets (${packets.length}), headers as they were where their fate was decided:`);
    for (const p of packets) {
      lines.push(`  t=${formatDuration(p.time).padStart(9)}  ${p.node.padEnd(26)} ${hp(p.src, p.sport)} -> ${hp(p.dst, p.dport)}  ${p.fate} (${p.reason})`);
    }
  }
  return { flow: conn.id, title: `connection ${conn.id} of ${conn.client}`, text: lines.join("\n") + "\n" };
}
