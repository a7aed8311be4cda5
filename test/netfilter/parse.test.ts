/**
 * The parser: iptables-restore tokenising, strict errors that name file, line, column and the
 * option, and the golden round trips (seed dump lines, whole tables, restore syntax → save form).
 */
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.ts";
import { Netfilter } from "../../src/netfilter/netfilter.ts";
import { tokenize } from "../../src/netfilter/parse.ts";
import { fixture } from "./helpers.ts";

const loc = { file: "t", line: 1 };

describe("tokenize (iptables-restore quoting)", () => {
  const rows = [
    { name: "whitespace and tabs", line: "-A  X\t-j   Y", tokens: ["-A", "X", "-j", "Y"] },
    { name: "double quotes make one token", line: '--comment "a b  c"', tokens: ["--comment", "a b  c"] },
    { name: "backslash escapes inside quotes", line: '"a\\"b\\\\c"', tokens: ['a"b\\c'] },
    { name: "backslash is literal outside quotes", line: "a\\b", tokens: ["a\\b"] },
    { name: "a closing quote ends the token", line: '"ab"cd', tokens: ["ab", "cd"] },
    { name: "a quote continues a bare token", line: 'ab"c d"', tokens: ["abc d"] },
    { name: "empty quotes are an empty token", line: '--comment ""', tokens: ["--comment", ""] },
    { name: "single quotes are not special", line: "'a b'", tokens: ["'a", "b'"] },
  ];
  it.each(rows)("$name", ({ line, tokens }) => {
    expect(tokenize(line, loc).tokens).toEqual(tokens);
  });

  it("reports columns", () => {
    expect(tokenize('-A X -m comment --comment "x y"', loc).cols).toEqual([1, 4, 6, 9, 17, 27]);
  });

  it("an unterminated quote is an error with its column", () => {
    expect(() => tokenize('-A X --comment "abc', loc)).toThrow(/t:1:16: unterminated quote/);
  });
});

describe("strict errors name the file, line, column and option", () => {
  const head = "*nat\n:KUBE-SERVICES - [0:0]\n";
  const rows = [
    { name: "unknown option", text: `${head}-A KUBE-SERVICES -p tcp -m tcp --dport 80 --tcp-flags SYN SYN -j ACCEPT\nCOMMIT\n`, line: 3, at: "--tcp-flags", field: "--tcp-flags", detail: /unknown option/ },
    { name: "option with no module loaded", text: `${head}-A KUBE-SERVICES --dport 80 -j ACCEPT\nCOMMIT\n`, line: 3, at: "--dport", field: "--dport", detail: /unknown option/ },
    { name: "option before -p does not load the protocol match", text: `${head}-A KUBE-SERVICES --dport 80 -p tcp -j ACCEPT\nCOMMIT\n`, line: 3, at: "--dport", field: "--dport", detail: /unknown option/ },
    { name: "unknown match module", text: `${head}-A KUBE-SERVICES -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n`, line: 3, at: "owner", field: "-m owner", detail: /unknown match module "owner"/ },
    { name: "unknown target (not a chain either)", text: `${head}-A KUBE-SERVICES -j LOG\nCOMMIT\n`, line: 3, at: undefined, field: "LOG", detail: /Couldn't load target `LOG'/ },
    { name: "unresolved jump", text: `${head}-A KUBE-SERVICES -d 10.0.0.1 -j KUBE-SVC-NOPE\nCOMMIT\n`, line: 3, at: undefined, field: "KUBE-SVC-NOPE", detail: /no such chain in table nat/ },
    { name: "jump to a chain declared later", text: `${head}-A KUBE-SERVICES -j KUBE-SVC-X\n:KUBE-SVC-X - [0:0]\nCOMMIT\n`, line: 3, at: undefined, field: "KUBE-SVC-X", detail: /declare it before/ },
    { name: "bad address", text: `${head}-A KUBE-SERVICES -d 10.0.91.300 -j ACCEPT\nCOMMIT\n`, line: 3, at: "10.0.91.300", field: "-d", detail: /expected an IPv4 address/ },
    { name: "bad prefix", text: `${head}-A KUBE-SERVICES -s 10.0.0.0/33 -j ACCEPT\nCOMMIT\n`, line: 3, at: "10.0.0.0/33", field: "-s", detail: /prefix length/ },
    { name: "bad port", text: `${head}-A KUBE-SERVICES -p tcp -m tcp --dport http -j ACCEPT\nCOMMIT\n`, line: 3, at: "http", field: "--dport", detail: /expected a port/ },
    { name: "tcp match without -p tcp", text: `${head}-A KUBE-SERVICES -m tcp --dport 80 -j ACCEPT\nCOMMIT\n`, line: 3, at: "-m tcp", field: "-m tcp", detail: /needs -p tcp/ },
    { name: "bad probability", text: `${head}-A KUBE-SERVICES -m statistic --mode random --probability 1.5 -j ACCEPT\nCOMMIT\n`, line: 3, at: "1.5", field: "--probability", detail: /between 0 and 1/ },
    { name: "negating a non-negatable option", text: `${head}-A KUBE-SERVICES -m comment ! --comment x -j ACCEPT\nCOMMIT\n`, line: 3, at: "! --comment", field: "--comment", detail: /cannot be negated/ },
    { name: "dangling !", text: `${head}-A KUBE-SERVICES -j ACCEPT !\nCOMMIT\n`, line: 3, at: "!", field: "!", detail: /must be followed/ },
    { name: "duplicate option", text: `${head}-A KUBE-SERVICES -p tcp -m tcp --dport 1 --dport 2 -j ACCEPT\nCOMMIT\n`, line: 3, at: "--dport 2", field: "--dport", detail: /only be given once/ },
    { name: "unknown conntrack option", text: `${head}-A KUBE-SERVICES -m conntrack --ctorigdst 1.2.3.4 -j ACCEPT\nCOMMIT\n`, line: 3, at: "--ctorigdst", field: "--ctorigdst", detail: /unknown option/ },
    { name: "unknown state", text: `${head}-A KUBE-SERVICES -m conntrack --ctstate NEWISH -j ACCEPT\nCOMMIT\n`, line: 3, at: "NEWISH", field: "--ctstate", detail: /unknown state "NEWISH"/ },
    { name: "recent without a command", text: `${head}-A KUBE-SERVICES -m recent --name X -j ACCEPT\nCOMMIT\n`, line: 3, at: undefined, field: "-m recent", detail: /exactly one of --set/ },
    { name: "--reap without --seconds", text: `${head}-A KUBE-SERVICES -m recent --rcheck --reap -j ACCEPT\nCOMMIT\n`, line: 3, at: "--reap", field: "--reap", detail: /needs --seconds/ },
    { name: "rule for a missing chain", text: `${head}-A KUBE-NODEPORTS -j ACCEPT\nCOMMIT\n`, line: 3, at: undefined, field: "KUBE-NODEPORTS", detail: /does not exist in table nat/ },
    { name: "unknown table", text: "*security\nCOMMIT\n", line: 1, at: "security", field: "*security", detail: /unknown table/ },
    { name: "rule outside a table", text: "-A INPUT -j ACCEPT\n", line: 1, at: "-A", field: undefined, detail: /expected a \*table line/ },
    { name: "missing COMMIT", text: `${head}-A KUBE-SERVICES -j ACCEPT\n`, line: 3, at: undefined, field: "COMMIT", detail: /not committed/ },
    { name: "policy on a user chain", text: "*nat\n:KUBE-X ACCEPT [0:0]\nCOMMIT\n", line: 2, at: undefined, field: "KUBE-X", detail: /can't set policy/ },
    { name: "chain named like a target", text: "*nat\n:MARK - [0:0]\nCOMMIT\n", line: 2, at: undefined, field: "MARK", detail: /clash/ },
    { name: "-I position beyond the end", text: `${head}-I KUBE-SERVICES 3 -j ACCEPT\nCOMMIT\n`, line: 3, at: undefined, field: "-I", detail: /insertion too big/ },
    { name: "-X of a referenced chain", text: `*nat\n:A - [0:0]\n-A OUTPUT -j A\n-X A\nCOMMIT\n`, line: 4, at: undefined, field: "A", detail: /still referenced by 1 rule/ },
    { name: "-X of a non-empty chain", text: `*nat\n:A - [0:0]\n-A A -j ACCEPT\n-X A\nCOMMIT\n`, line: 4, at: undefined, field: "A", detail: /not empty/ },
    { name: "jump loop", text: `*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n`, line: 6, at: undefined, field: "COMMIT", detail: /jump loop: A → B → A/ },
    { name: "fragments are not modelled", text: `${head}-A KUBE-SERVICES -f -j ACCEPT\nCOMMIT\n`, line: 3, at: "-f", field: "-f", detail: /not modelled/ },
  ];
  it.each(rows)("$name", ({ text, line, at, field, detail }) => {
    // The column is where `at` first occurs on the error's line.
    const column = at === undefined ? undefined : text.split("\n")[line - 1]!.indexOf(at) + 1;
    const nf = new Netfilter();
    let err: unknown;
    try {
      nf.restore(text, { file: "kube.rules" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect(e.location).toEqual({ file: "kube.rules", line, column, field });
    expect(e.detail).toMatch(detail);
    expect(e.message.startsWith(`kube.rules:${line}`)).toBe(true);
  });
});

describe("golden round trips", () => {
  it.each(["v1.16-hostnames.nat.save", "seed-hostnames.nat.save"])("%s: save(restore(text)) is byte-identical", (name) => {
    const text = fixture(name);
    const nf = new Netfilter();
    nf.restore(text, { file: name });
    expect(nf.save()).toBe(text);
  });

  it("every -A line of the seed dump prints back byte for byte", () => {
    const nf = new Netfilter();
    nf.restore(fixture("seed-hostnames.nat.save"));
    const all = new Set(nf.loadedTables().flatMap((t) => nf.chains(t).flatMap((c) => nf.rules(t, c).map((r) => r.text))));
    const lines = fixture("seed-lines.txt").trim().split("\n");
    expect(lines.length).toBe(7);
    for (const l of lines) expect(all.has(l)).toBe(true);
    // And parsed on its own (declaring the chains it needs), each line prints as itself.
    for (const l of lines) {
      const chains = [...new Set([...l.matchAll(/(KUBE-[A-Z0-9-]+)/g)].map((m) => m[1]!))];
      const one = new Netfilter();
      one.restore(`*nat\n${chains.map((c) => `:${c} - [0:0]`).join("\n")}\n${l}\nCOMMIT\n`);
      const chain = l.split(" ")[1]!;
      expect(one.rules("nat", chain)[0]!.text).toBe(l);
    }
  });

  it("counters: iptables-save -c form round-trips with restore --counters", () => {
    const text = [
      "*filter",
      ":INPUT ACCEPT [120:9000]",
      ":FORWARD DROP [3:180]",
      ":OUTPUT ACCEPT [0:0]",
      ":KUBE-FORWARD - [0:0]",
      "[5:300] -A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD",
      "[0:0] -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
      "[2:120] -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    const nf = new Netfilter();
    nf.restore(text, { counters: true });
    expect(nf.save({ counters: true })).toBe(text);
    // Without -c the rule counters are not printed, the policy counters always are.
    expect(nf.save()).toContain(":INPUT ACCEPT [120:9000]\n");
    expect(nf.save()).toContain("\n-A FORWARD -m comment");
    // Without --counters, the input's counters are ignored.
    const plain = new Netfilter();
    plain.restore(text);
    expect(plain.rules("filter", "FORWARD")[0]!.pkts).toBe(0);
    expect(plain.policy("filter", "INPUT")!.pkts).toBe(0);
  });

  it("header and footer lines are the caller's (no wall-clock dates)", () => {
    const nf = new Netfilter();
    nf.restore("*nat\nCOMMIT\n");
    expect(nf.save({ header: "# Generated by iptables-save v1.8.4", footer: "# Completed" })).toBe(
      "# Generated by iptables-save v1.8.4\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n# Completed\n",
    );
  });

  it("comments, blank lines and CRLF in the input are accepted", () => {
    const nf = new Netfilter();
    nf.restore("# Generated by iptables-save v1.8.4 on Thu Sep 26 00:12:05 2019\r\n*nat\r\n\r\n:X - [0:0]\r\n-A X -j RETURN\r\nCOMMIT\r\n# Completed\r\n");
    expect(nf.rules("nat", "X").map((r) => r.text)).toEqual(["-A X -j RETURN"]);
  });
});

describe("kube-proxy restore syntax prints as iptables-save does (§2.3, §2.4, §3)", () => {
  const input = [
    "*nat",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-SVC-AQI2S6QIMU7PVVRP - [0:0]",
    ":KUBE-SEP-3JOIVZTXZZRGORX4 - [0:0]",
    ":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]",
    ":KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]",
    ":KUBE-EXT-2CMXP7HKUVJN7L6M - [0:0]",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    "-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000",
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 cluster IP" -m tcp -p tcp -d 172.30.1.1 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4',
    "-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -s 10.0.1.1 -j KUBE-MARK-MASQ",
    "-A KUBE-SEP-3JOIVZTXZZRGORX4 -m comment --comment ns1/svc1 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80",
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --rcheck --seconds 10800 --reap -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    "-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80",
    '-A KUBE-NODEPORTS -m comment --comment "default/nginx" -m tcp -p tcp --dport 30606 -j KUBE-EXT-2CMXP7HKUVJN7L6M',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    "COMMIT",
    "",
  ].join("\n");
  const expected = [
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    // The verified modern example of §3:
    '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/nginx" -m tcp --dport 30606 -j KUBE-EXT-2CMXP7HKUVJN7L6M',
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-SEP-3JOIVZTXZZRGORX4 -s 10.0.1.1/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-3JOIVZTXZZRGORX4 -p tcp -m comment --comment "ns1/svc1" -m tcp -j DNAT --to-destination 10.0.1.1:80',
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -p tcp -m comment --comment "ns1/svc1:p80" -m recent --set --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.1:80',
    '-A KUBE-SERVICES -d 172.30.1.1/32 -p tcp -m comment --comment "ns1/svc1 cluster IP" -m tcp --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP ! -s 10.0.0.0/8 -d 172.30.1.1/32 -p tcp -m comment --comment "ns1/svc1 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-3JOIVZTXZZRGORX4',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -j KUBE-SEP-SXIVWICOYRO3J4NJ',
  ];

  it("prints the rules in save form, chains in strcmp order", () => {
    const nf = new Netfilter();
    nf.restore(input, { noflush: true });
    const saved = nf.save();
    const rules = saved.split("\n").filter((l) => l.startsWith("-A"));
    expect(rules).toEqual(expected);
    const chains = saved.split("\n").filter((l) => l.startsWith(":")).map((l) => l.split(" ")[0]);
    expect(chains).toEqual([
      ":PREROUTING", ":INPUT", ":OUTPUT", ":POSTROUTING",
      ":KUBE-EXT-2CMXP7HKUVJN7L6M", ":KUBE-MARK-MASQ", ":KUBE-NODEPORTS", ":KUBE-POSTROUTING",
      ":KUBE-SEP-3JOIVZTXZZRGORX4", ":KUBE-SEP-SXIVWICOYRO3J4NJ", ":KUBE-SERVICES",
      ":KUBE-SVC-AQI2S6QIMU7PVVRP", ":KUBE-SVC-XPGD46QRK7WJZT7O",
    ]);
    // print∘parse is the identity on what was printed.
    const again = new Netfilter();
    again.restore(saved);
    expect(again.save()).toBe(saved);
  });
});
