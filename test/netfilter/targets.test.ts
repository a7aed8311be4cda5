/**
 * Spec table for every target: restore syntax in, iptables-save out, and the verdict / mark the
 * evaluation produces. Rows name the table and hook the rule is installed in.
 */
import { describe, expect, it } from "vitest";
import { parseIPv4 } from "../../src/net/ip.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import type { HookName, TableName, Verdict } from "../../src/netfilter/types.ts";
import { ctx, pkt } from "./helpers.ts";

interface Row {
  name: string;
  table: TableName;
  hook: HookName;
  spec: string;
  saved: string;
  markIn?: number;
  verdict: Verdict;
  markOut?: number;
}

const ip = parseIPv4;

const rows: Row[] = [
  { name: "ACCEPT", table: "filter", hook: "INPUT", spec: "-j ACCEPT", saved: "-j ACCEPT", verdict: { kind: "ACCEPT" } },
  { name: "DROP", table: "filter", hook: "INPUT", spec: "-j DROP", saved: "-j DROP", verdict: { kind: "DROP" } },
  { name: "REJECT defaults to icmp-port-unreachable and prints it", table: "filter", hook: "OUTPUT", spec: "-j REJECT",
    saved: "-j REJECT --reject-with icmp-port-unreachable", verdict: { kind: "REJECT", rejectWith: "icmp-port-unreachable" } },
  { name: "REJECT alias tcp-rst", table: "filter", hook: "INPUT", spec: "-p tcp -j REJECT --reject-with tcp-rst",
    saved: "-p tcp -j REJECT --reject-with tcp-reset", verdict: { kind: "REJECT", rejectWith: "tcp-reset" } },
  { name: "DNAT ip:port", table: "nat", hook: "OUTPUT", spec: "-m tcp -p tcp -j DNAT --to-destination 10.1.161.47:9376",
    saved: "-p tcp -m tcp -j DNAT --to-destination 10.1.161.47:9376", verdict: { kind: "DNAT", addr: ip("10.1.161.47"), port: 9376 } },
  { name: "DNAT ip only", table: "nat", hook: "PREROUTING", spec: "-j DNAT --to-destination 10.0.0.1",
    saved: "-j DNAT --to-destination 10.0.0.1", verdict: { kind: "DNAT", addr: ip("10.0.0.1"), port: undefined } },
  { name: "SNAT with flags", table: "nat", hook: "POSTROUTING", spec: "-j SNAT --random-fully --to-source 192.168.0.11",
    saved: "-j SNAT --to-source 192.168.0.11 --random-fully", verdict: { kind: "SNAT", addr: ip("192.168.0.11"), port: undefined } },
  { name: "MASQUERADE", table: "nat", hook: "POSTROUTING", spec: "-j MASQUERADE", saved: "-j MASQUERADE", verdict: { kind: "MASQUERADE", randomFully: false } },
  { name: "MASQUERADE --random-fully", table: "nat", hook: "POSTROUTING", spec: "-j MASQUERADE --random-fully",
    saved: "-j MASQUERADE --random-fully", verdict: { kind: "MASQUERADE", randomFully: true } },
  { name: "MASQUERADE --to-ports", table: "nat", hook: "POSTROUTING", spec: "-p tcp -j MASQUERADE --to-ports 1024-2000",
    saved: "-p tcp -j MASQUERADE --to-ports 1024-2000", verdict: { kind: "MASQUERADE", randomFully: false, toPorts: [1024, 2000] } },
  // MARK is not terminating: the policy decides, the mark changes.
  { name: "MARK --or-mark → set-xmark v/v", table: "nat", hook: "PREROUTING", spec: "-j MARK --or-mark 0x4000",
    saved: "-j MARK --set-xmark 0x4000/0x4000", markIn: 0x1, verdict: { kind: "ACCEPT" }, markOut: 0x4001 },
  { name: "MARK --xor-mark → set-xmark v/0", table: "nat", hook: "POSTROUTING", spec: "-j MARK --xor-mark 0x4000",
    saved: "-j MARK --set-xmark 0x4000/0x0", markIn: 0x4001, verdict: { kind: "ACCEPT" }, markOut: 0x1 },
  { name: "MARK --and-mark → set-xmark 0/~v", table: "mangle", hook: "FORWARD", spec: "-j MARK --and-mark 0xff",
    saved: "-j MARK --set-xmark 0x0/0xffffff00", markIn: 0x4001, verdict: { kind: "ACCEPT" }, markOut: 0x1 },
  { name: "MARK --set-mark v → v/0xffffffff", table: "mangle", hook: "OUTPUT", spec: "-j MARK --set-mark 0x10",
    saved: "-j MARK --set-xmark 0x10/0xffffffff", markIn: 0x4001, verdict: { kind: "ACCEPT" }, markOut: 0x10 },
  { name: "MARK --set-mark v/m → v/(m|v)", table: "mangle", hook: "OUTPUT", spec: "-j MARK --set-mark 0x10/0xf0",
    saved: "-j MARK --set-xmark 0x10/0xf0", markIn: 0x4031, verdict: { kind: "ACCEPT" }, markOut: 0x4011 },
  { name: "MARK v1.16 input %#08x", table: "nat", hook: "OUTPUT", spec: "-j MARK --set-xmark 0x00004000/0x00004000",
    saved: "-j MARK --set-xmark 0x4000/0x4000", markIn: 0, verdict: { kind: "ACCEPT" }, markOut: 0x4000 },
  { name: "no target: counts only", table: "filter", hook: "FORWARD", spec: '-m comment --comment "other traffic to ns/svc will be dropped by KUBE-PROXY-FIREWALL"',
    saved: '-m comment --comment "other traffic to ns/svc will be dropped by KUBE-PROXY-FIREWALL"', verdict: { kind: "ACCEPT" } },
];

describe("targets: parse → print → evaluate", () => {
  it.each(rows)("$name", (r) => {
    const nf = new Netfilter();
    nf.restore(`*${r.table}\n-A ${r.hook} ${r.spec}\nCOMMIT\n`);
    const [listed] = nf.rules(r.table, r.hook);
    expect(listed!.text).toBe(`-A ${r.hook} ${r.saved}`);
    const c = ctx({ mark: r.markIn ?? 0 });
    const res = nf.evaluate(r.table, r.hook, pkt(), c);
    expect(res.verdict).toEqual(r.verdict);
    expect(res.mark).toBe(r.markOut ?? r.markIn ?? 0);
    expect(res.rulesEvaluated).toBe(1);
    // The rule counted the packet; the policy counted it only when it decided.
    expect(nf.rules(r.table, r.hook)[0]!.pkts).toBe(1);
    const policyDecided = r.verdict.kind === "ACCEPT" && !r.spec.includes("ACCEPT");
    expect(nf.policy(r.table, r.hook)!.pkts).toBe(policyDecided ? 1 : 0);
    // print∘parse on the saved form.
    const again = new Netfilter();
    again.restore(`*${r.table}\n-A ${r.hook} ${r.saved}\nCOMMIT\n`);
    expect(again.rules(r.table, r.hook)[0]!.text).toBe(`-A ${r.hook} ${r.saved}`);
  });
});

describe("where targets are valid", () => {
  const bad: { name: string; text: string; line: number; field: string; detail: RegExp }[] = [
    { name: "DNAT outside nat", text: "*filter\n-A INPUT -j DNAT --to-destination 10.0.0.1\nCOMMIT\n", line: 2, field: "-j DNAT", detail: /only valid in the nat table/ },
    { name: "DNAT reachable from POSTROUTING", text: "*nat\n:X - [0:0]\n-A X -j DNAT --to-destination 10.0.0.1\n-A POSTROUTING -j X\nCOMMIT\n", line: 5, field: "-j DNAT", detail: /chain X \(line 3\) is reachable from POSTROUTING/ },
    { name: "MASQUERADE in PREROUTING", text: "*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n", line: 3, field: "-j MASQUERADE", detail: /only valid from POSTROUTING/ },
    { name: "REJECT in PREROUTING (mangle)", text: "*mangle\n-A PREROUTING -j REJECT\nCOMMIT\n", line: 3, field: "-j REJECT", detail: /reachable from PREROUTING/ },
    { name: "DNAT port without -p", text: "*nat\n-A OUTPUT -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n", line: 2, field: "--to-destination", detail: /needs -p tcp/ },
    { name: "DNAT range", text: "*nat\n-A OUTPUT -j DNAT --to-destination 10.0.0.1-10.0.0.2\nCOMMIT\n", line: 2, field: "--to-destination", detail: /ranges are not modelled/ },
    { name: "tcp-reset without -p tcp", text: "*filter\n-A INPUT -j REJECT --reject-with tcp-reset\nCOMMIT\n", line: 2, field: "--reject-with", detail: /only valid with -p tcp/ },
    { name: "two MARK operations", text: "*nat\n-A OUTPUT -j MARK --or-mark 1 --xor-mark 2\nCOMMIT\n", line: 2, field: "--xor-mark", detail: /exactly one/ },
    { name: "unknown reject type", text: "*filter\n-A INPUT -j REJECT --reject-with icmp-foo\nCOMMIT\n", line: 2, field: "--reject-with", detail: /unknown reject type/ },
  ];
  it.each(bad)("$name is an error naming the line", ({ text, line, field, detail }) => {
    const nf = new Netfilter();
    let err: unknown;
    try {
      nf.restore(text, { file: "rules.txt" });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: "InputError", location: { file: "rules.txt", line, field } });
    expect((err as Error).message).toMatch(detail);
    expect(nf.ruleCount()).toBe(0);
  });
});
