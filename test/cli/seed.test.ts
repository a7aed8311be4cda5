/**
 * The founding document, reproduced: the 2019 walkthrough (test/fixtures/seed/walkthrough.md,
 * a copy of shared/seed/) run through ./sim exactly as its author ran the real commands.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, sim } from "./run-cli.ts";

const SCENARIO = "scenarios/hostnames-clusterip.yaml";
const seed = readFileSync(resolve(ROOT, "test/fixtures/seed/walkthrough.md"), "utf8");

/** The output lines the walkthrough shows after a given shell command line (until the next "# "). */
function seedOutput(command: string): string[] {
  const lines = seed.split("\n");
  const i = lines.indexOf(command);
  if (i < 0) throw new Error(`the seed has no command line ${command}`);
  const outLines: string[] = [];
  for (let j = i + 1; j < lines.length && !lines[j]!.startsWith("# ") && !lines[j]!.startsWith("```"); j++) outLines.push(lines[j]!);
  return outLines;
}

function grep(text: string, word: string): string[] {
  return text.split("\n").filter((l) => l.includes(word));
}

/** AGE is the only column that depends on when the walkthrough's author typed the command. */
function withoutAge(lines: string[]): string[] {
  return lines.map((l) => l.replace(/\s+\S+$/, ""));
}

describe("seed walkthrough: iptables-save (v1.16 profile)", () => {
  const dump = sim(["iptables-save", SCENARIO]);
  it("exits 0", () => expect(dump.code).toBe(0));

  it.each([
    { grep: "hostnames", command: "# iptables-save | grep hostnames" },
    { grep: "KUBE-SVC-ODX2UBAZM7RQWOIU", command: "# iptables-save | grep KUBE-SVC-ODX2UBAZM7RQWOIU" },
    { grep: "KUBE-SEP-I2HJPDDJL5BQFM6K", command: "# iptables-save | grep KUBE-SEP-I2HJPDDJL5BQFM6K" },
  ])("`$command` prints exactly the seed's lines, in its order", ({ grep: word, command }) => {
    expect(grep(dump.stdout, word)).toEqual(seedOutput(command));
  });
});

describe("seed walkthrough: kubectl views (AGE aside)", () => {
  it.each([
    { args: ["get", "deploy", "hostnames"], command: "# k get deploy hostnames" },
    { args: ["get", "po"], command: "# k get po" },
    { args: ["get", "svc", "hostnames"], command: "# k get svc hostnames" },
    { args: ["get", "endpoints", "hostnames"], command: "# k get endpoints hostnames" },
  ])("kubectl $args.0 $args.1 matches `$command`", ({ args, command }) => {
    const r = sim(["kubectl", SCENARIO, ...args]);
    expect(r.code).toBe(0);
    expect(withoutAge(r.stdout.trimEnd().split("\n"))).toEqual(withoutAge(seedOutput(command)));
  });
});

describe("seed walkthrough: the current (v1.28+) profile", () => {
  it("writes the modern layout for the same cluster", () => {
    const r = sim(["iptables-save", "test/fixtures/seed/hostnames-current.yaml", "--table", "nat"]);
    expect(r.code).toBe(0);
    const svc = grep(r.stdout, "KUBE-SVC-");
    // v1.20+ names the port-named service port "default/hostnames:default" (same hash), the
    // masquerade rule moved into KUBE-SVC (v1.22), and SVC→SEP rules carry comments (v1.18).
    expect(grep(r.stdout, "KUBE-SERVICES -d 10.0.91.192/32")).toEqual([
      '-A KUBE-SERVICES -d 10.0.91.192/32 -p tcp -m comment --comment "default/hostnames:default cluster IP" -m tcp --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU',
    ]);
    expect(svc).toContain('-A KUBE-SVC-ODX2UBAZM7RQWOIU ! -s 10.1.0.0/16 -d 10.0.91.192/32 -p tcp -m comment --comment "default/hostnames:default cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ');
    expect(svc).toContain('-A KUBE-SVC-ODX2UBAZM7RQWOIU -m comment --comment "default/hostnames:default -> 10.1.161.47:9376" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-I2HJPDDJL5BQFM6K');
    expect(grep(r.stdout, "-A KUBE-POSTROUTING")).toEqual([
      "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
      "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]);
  });
});

const P1 = Math.round(0.33333 * 2 ** 31) / 2 ** 31; // lround(0.33333·2^31)/2^31
const REST = (1 - P1) / 2;

interface Outcome { verdict: string; to?: string; probability: number; masquerade: boolean }

describe("seed walkthrough: ./sim trace", () => {
  const rows: { name: string; src: string; dport: number; expect: Outcome[] }[] = [
    {
      name: "from outside the pod network: three DNATs at the kernel's probabilities, all masqueraded",
      src: "192.168.0.100", dport: 80,
      expect: [
        { verdict: "DNAT", to: "10.1.161.47:9376", probability: P1, masquerade: true },
        { verdict: "DNAT", to: "10.1.166.146:9376", probability: REST, masquerade: true },
        { verdict: "DNAT", to: "10.1.166.166:9376", probability: REST, masquerade: true },
      ],
    },
    {
      name: "from the node itself (curl on node-1): masqueraded",
      src: "192.168.0.11", dport: 80,
      expect: [
        { verdict: "DNAT", to: "10.1.161.47:9376", probability: P1, masquerade: true },
        { verdict: "DNAT", to: "10.1.166.146:9376", probability: REST, masquerade: true },
        { verdict: "DNAT", to: "10.1.166.166:9376", probability: REST, masquerade: true },
      ],
    },
    {
      name: "from a pod (tx87g): not masqueraded",
      src: "10.1.166.146", dport: 80,
      expect: [
        { verdict: "DNAT", to: "10.1.161.47:9376", probability: P1, masquerade: false },
        { verdict: "DNAT", to: "10.1.166.146:9376", probability: REST, masquerade: true }, // hairpin
        { verdict: "DNAT", to: "10.1.166.166:9376", probability: REST, masquerade: false },
      ],
    },
    {
      name: "from a pod that lands on itself (dsmh9): only that branch masqueraded (hairpin)",
      src: "10.1.161.47", dport: 80,
      expect: [
        { verdict: "DNAT", to: "10.1.161.47:9376", probability: P1, masquerade: true },
        { verdict: "DNAT", to: "10.1.166.146:9376", probability: REST, masquerade: false },
        { verdict: "DNAT", to: "10.1.166.166:9376", probability: REST, masquerade: false },
      ],
    },
    {
      name: "to a port the Service does not expose: no DNAT",
      src: "192.168.0.100", dport: 8080,
      expect: [{ verdict: "ACCEPT", probability: 1, masquerade: false }],
    },
  ];
  it.each(rows)("$name", ({ src, dport, expect: want }) => {
    const r = sim(["trace", SCENARIO, "--src", src, "--dst", "10.0.91.192", "--dport", String(dport), "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const got = (JSON.parse(r.stdout) as { outcomes: Outcome[] }).outcomes.map((o) => ({
      verdict: o.verdict, ...(o.to ? { to: o.to } : {}), probability: o.probability, masquerade: o.masquerade,
    }));
    expect(got.map((o) => ({ ...o, probability: 0 }))).toEqual(want.map((o) => ({ ...o, probability: 0 })));
    got.forEach((o, i) => expect(o.probability).toBeCloseTo(want[i]!.probability, 14));
    expect(got.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 14);
  });

  it("works on a real dump with --rules (the seed's v1.16 nat table)", () => {
    const r = sim(["trace", "--rules", "test/fixtures/netfilter/v1.16-hostnames.nat.save", "--node-ip", "192.168.0.11",
      "--src", "192.168.0.100", "--dst", "10.96.0.50", "--dport", "80", "--json"]);
    expect(r.stderr).toBe("");
    const outcomes = (JSON.parse(r.stdout) as { outcomes: Outcome[] }).outcomes;
    expect(outcomes.map((o) => o.to)).toEqual(["10.244.1.5:9376", "10.244.2.6:9376", "10.244.3.7:9376"]);
    expect(outcomes.every((o) => o.masquerade)).toBe(true);
  });
});

describe("bad input: one line, exit 2", () => {
  it.each([
    { name: "missing --dport", args: ["trace", SCENARIO, "--src", "1.2.3.4", "--dst", "10.0.91.192"], err: "error: <command line>: --dport: is required" },
    { name: "bad --src", args: ["trace", SCENARIO, "--src", "1.2.3", "--dst", "10.0.91.192", "--dport", "80"], err: 'error: <command line>: --src: expected an IPv4 address such as 10.0.91.192, got "1.2.3"' },
    { name: "unknown node", args: ["iptables-save", SCENARIO, "--node", "node-9"], err: 'error: <command line>: --node: no node "node-9" in the scenario (nodes: node-1, node-2, node-3)' },
    { name: "unknown table", args: ["iptables-save", SCENARIO, "--table", "mangle"], err: 'error: <command line>: --table: expected nat or filter, got "mangle"' },
    { name: "missing scenario file", args: ["validate", "nope.yaml"], err: "error: nope.yaml: cannot read the scenario: no such file" },
  ])("$name", ({ args, err }) => {
    const r = sim(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe(err);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});
