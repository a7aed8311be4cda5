/**
 * Parser for iptables-restore input and iptables-save output (both are the same language:
 * iptables-legacy 1.8.x iptables-restore), strict: an unknown option, module, target or a bad
 * value is an InputError naming file, line, column and the option. Nothing is ever ignored.
 *
 * Lines: `*table`, `:CHAIN POLICY [p:b]`, `COMMIT`, `# comment`, blank lines, and commands
 * `-A CHAIN spec`, `-I CHAIN [pos] spec`, `-D CHAIN spec|pos`, `-C CHAIN spec`, `-N CHAIN`,
 * `-X [CHAIN]`, `-F [CHAIN]`, `-P CHAIN POLICY`, optionally prefixed by `[p:b]` counters
 * (iptables-save -c form) or carrying `-c p b`.
 *
 * Tokens follow iptables-restore's rules: whitespace separates, a double-quoted string is one
 * token (inside quotes a backslash takes the next character literally), a closing quote ends the
 * token. Difference: `""` yields an empty token (iptables-restore drops it), so an empty
 * comment printed as `""` parses back.
 *
 * Options are dispatched as iptables' getopt merge does: the target's options first (once `-j`
 * is seen), then the most recently loaded match that knows the option; with `-p tcp|udp|sctp`
 * an option no loaded module knows loads that protocol's match implicitly (appended to the
 * match list, which is where iptables-save prints it).
 *
 * The parser is pure: whether `-j NAME` names an existing chain is decided by the caller
 * (Netfilter checks it when it applies the line, as iptables-restore does).
 */
import { InputError } from "../errors.ts";
import { prefixMask, tryParseIPv4 } from "../net/ip.ts";
import { PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../net/packet.ts";
import type { AddrSpec, IfaceSpec, MatchInstance, ProtoSpec, Rule, RuleHeader, Target } from "./rule.ts";
import type { Fail, OptionSpec, ParsedOption } from "./options.ts";
import { parseProto, protoToName } from "./options.ts";
import type { MatchDef } from "./matches.ts";
import { matchDef } from "./matches.ts";
import type { TargetDef } from "./targets.ts";
import { targetDef } from "./targets.ts";
import type { TableName } from "./types.ts";

export const TABLE_NAMES: readonly TableName[] = ["raw", "mangle", "nat", "filter"];

export interface Loc {
  readonly file: string;
  readonly line: number;
}

/** The match list of a rule without -m (shared: rules are never changed once parsed). */
const NO_MATCHES: readonly MatchInstance[] = Object.freeze([]);

/** `-p` specs are shared between rules (one frozen object per protocol and negation). */
const PROTO_SPECS = new Map<number, ProtoSpec>();
function protoSpec(num: number, neg: boolean): ProtoSpec {
  const k = num * 2 + (neg ? 1 : 0);
  let s = PROTO_SPECS.get(k);
  if (s === undefined) PROTO_SPECS.set(k, (s = Object.freeze({ num, neg })));
  return s;
}

export function inputError(loc: Loc, field: string | undefined, detail: string, column?: number): InputError {
  return new InputError({ file: loc.file, line: loc.line, column, field }, detail);
}

// ---------------------------------------------------------------------------------------------
// Tokens

export interface Tokens {
  readonly tokens: string[];
  /** 1-based column of each token. */
  readonly cols: number[];
}

/**
 * A copy of `s` that shares no storage with the text it was cut from. V8 keeps a substring of 13
 * characters or more as a view into its parent, so a rule keeping a chain name or comment cut
 * from a restore payload would keep the whole payload alive; JSON.parse builds a string of its
 * own (any string round-trips exactly through JSON).
 */
function ownCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * Strings that outlive one restore parse (chain names, comments, set names), one copy each: the
 * rules of a kube-proxy payload repeat the same chain names and comments many times.
 */
export class StringPool {
  private readonly strings = new Map<string, string>();
  get(s: string): string {
    if (s.length < 13) return s; // a short substring is already a copy of its own
    let c = this.strings.get(s);
    if (c === undefined) {
      c = ownCopy(s);
      this.strings.set(c, c);
    }
    return c;
  }
}

/**
 * Splits one line into tokens. Tokens are substrings of the line (pieces joined only around quotes
 * and escapes); with a pool, each goes through it (see StringPool).
 */
export function tokenize(line: string, loc: Loc, pool?: StringPool): Tokens {
  const tokens: string[] = [];
  const cols: number[] = [];
  let cur = "";
  /** Start of the token (-1: between tokens). */
  let start = -1;
  /** Start of the literal run not yet appended to cur (-1: none). */
  let run = -1;
  let inQuote = false;
  let escaped = false;
  let quoteCol = 0;
  const flush = (to: number) => {
    if (run >= 0 && to > run) cur = cur === "" ? line.slice(run, to) : cur + line.slice(run, to);
    run = -1;
  };
  const end = () => {
    if (start >= 0) {
      tokens.push(pool ? pool.get(cur) : cur);
      cols.push(start + 1);
    }
    cur = "";
    start = -1;
    run = -1;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line.charCodeAt(i);
    if (inQuote) {
      if (escaped) escaped = false; // the escaped character is taken literally (stays in the run)
      else if (ch === 92 /* \ */) {
        flush(i);
        run = i + 1;
        escaped = true;
      } else if (ch === 34 /* " */) {
        flush(i);
        inQuote = false;
        end();
      }
      continue;
    }
    if (ch === 34 /* " */) {
      inQuote = true;
      quoteCol = i + 1;
      if (start < 0) start = i;
      flush(i);
      run = i + 1;
    } else if (ch === 32 || ch === 9) {
      flush(i);
      end();
    } else {
      if (start < 0) start = i;
      if (run < 0) run = i;
    }
  }
  if (inQuote) throw inputError(loc, undefined, "unterminated quote", quoteCol);
  flush(line.length);
  end();
  return { tokens, cols };
}

// ---------------------------------------------------------------------------------------------
// Rule specifications

/** Whether a chain name is acceptable (iptables: at most 28 characters, no leading '-' or '!'). */
export function checkChainName(name: string, loc: Loc, column?: number): void {
  if (name.length === 0 || name.length > 28) throw inputError(loc, name, "a chain name has 1..28 characters", column);
  if (name.startsWith("-") || name.startsWith("!") || /\s/.test(name)) throw inputError(loc, name, "invalid chain name", column);
}

function parseAddrSpec(text: string, neg: boolean, fail: Fail, option: string, column: number | undefined): AddrSpec {
  if (text.includes(",")) fail(option, `address lists are not modelled ("${text}")`, column);
  const slash = text.indexOf("/");
  const ip = tryParseIPv4(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) fail(option, `expected an IPv4 address or CIDR such as 10.0.0.0/16, got "${text}"`, column);
  let mask = -1; // /32 (addresses and masks are int32 bit patterns, see net/ip.ts)
  let prefix = 32;
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (/^\d{1,2}$/.test(m) && Number(m) <= 32) {
      prefix = Number(m);
      mask = prefixMask(prefix);
    } else {
      const dm = tryParseIPv4(m);
      if (dm === null) fail(option, `expected a prefix length 0..32 or a dotted mask, got "${text}"`, column);
      mask = dm;
      const inv = ~dm >>> 0;
      prefix = (inv & (inv + 1)) === 0 ? 32 - Math.log2(inv + 1) : -1;
    }
  }
  return { addr: ip & mask, mask, prefix, neg };
}

function parseIface(text: string, neg: boolean, fail: Fail, option: string, column: number | undefined): IfaceSpec {
  if (text.length === 0 || text.length > 15 || /[\s/]/.test(text)) fail(option, `invalid interface name "${text}"`, column);
  return { name: text, neg };
}

const HEADER_OPTS: Readonly<Record<string, "s" | "d" | "i" | "o" | "p">> = {
  "-s": "s", "--source": "s", "--src": "s",
  "-d": "d", "--destination": "d", "--dst": "d",
  "-i": "i", "--in-interface": "i",
  "-o": "o", "--out-interface": "o",
  "-p": "p", "--protocol": "p",
};

const PROTO_MATCH: Readonly<Record<number, string>> = { [PROTO_TCP]: "tcp", [PROTO_UDP]: "udp", [PROTO_SCTP]: "sctp" };

interface PendingInstance {
  readonly def: MatchDef<unknown>;
  readonly opts: ParsedOption[];
  readonly column: number | undefined;
}

export interface ParsedRuleSpec {
  readonly rule: Rule;
  /** `-c p b` if present. */
  readonly counters: { pkts: number; bytes: number } | undefined;
}

/** Parses the rule specification tokens[from..] for `chain` (the part after `-A CHAIN`). */
export function parseRuleSpec(tk: Tokens, from: number, chain: string, loc: Loc): ParsedRuleSpec {
  const { tokens, cols } = tk;
  const fail: Fail = (option, detail, column) => {
    throw inputError(loc, option, detail, column);
  };
  const header: { src?: AddrSpec; dst?: AddrSpec; inIface?: IfaceSpec; outIface?: IfaceSpec; proto?: ProtoSpec } = {};
  const instances: PendingInstance[] = [];
  let tgt: { def: TargetDef | undefined; name: string; goto: boolean; opts: ParsedOption[]; column: number | undefined } | undefined;
  let counters: { pkts: number; bytes: number } | undefined;
  let neg = false;
  let negCol: number | undefined;

  const takeArg = (i: number, option: string): string => {
    if (i + 1 >= tokens.length) fail(option, "option requires an argument", cols[i]);
    return tokens[i + 1]!;
  };
  const noNeg = (option: string, column: number | undefined) => {
    if (neg) fail(option, "cannot be negated with !", negCol ?? column);
  };

  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!;
    const col = cols[i];
    if (t === "!") {
      if (neg) fail("!", "multiple ! flags not allowed", col);
      neg = true;
      negCol = col;
      continue;
    }
    const h = HEADER_OPTS[t];
    if (h) {
      const a = takeArg(i, t);
      const acol = cols[i + 1];
      i++;
      const dup = (h === "s" && header.src) || (h === "d" && header.dst) || (h === "i" && header.inIface) || (h === "o" && header.outIface) || (h === "p" && header.proto);
      if (dup) fail(t, "may only be given once", col);
      if (h === "s") header.src = parseAddrSpec(a, neg, fail, t, acol);
      else if (h === "d") header.dst = parseAddrSpec(a, neg, fail, t, acol);
      else if (h === "i") header.inIface = parseIface(a, neg, fail, t, acol);
      else if (h === "o") header.outIface = parseIface(a, neg, fail, t, acol);
      else {
        const num = parseProto(a);
        if (num === undefined) fail(t, `unknown protocol "${a}" (svcsim knows tcp, udp, sctp, icmp, udplite, esp, ah, all and numbers)`, acol);
        if (num === 0 && neg) fail(t, "rule would never match protocol (! -p all)", acol);
        header.proto = protoSpec(num, neg);
      }
      neg = false;
      continue;
    }
    if (t === "-m" || t === "--match") {
      noNeg(t, col);
      const name = takeArg(i, t);
      i++;
      const def = matchDef(name);
      if (!def) fail(`-m ${name}`, `unknown match module "${name}" (svcsim models: tcp, udp, sctp, multiport, comment, statistic, mark, addrtype, conntrack, recent, physdev, nfacct)`, cols[i]);
      instances.push({ def, opts: [], column: col });
      continue;
    }
    if (t === "-j" || t === "--jump" || t === "-g" || t === "--goto") {
      noNeg(t, col);
      const name = takeArg(i, t);
      i++;
      if (tgt) fail(t, "only one -j or -g per rule", col);
      const isGoto = t === "-g" || t === "--goto";
      const def = targetDef(name);
      if (isGoto && def) fail(t, `goto '${name}' is not a chain`, cols[i]);
      if (!def) checkChainName(name, loc, cols[i]);
      tgt = { def, name, goto: isGoto, opts: [], column: cols[i] };
      continue;
    }
    if (t === "-c" || t === "--set-counters") {
      noNeg(t, col);
      if (i + 2 >= tokens.length) fail(t, "needs packet and byte counts", col);
      const p = tokens[i + 1]!, b = tokens[i + 2]!;
      if (!/^\d+$/.test(p) || !/^\d+$/.test(b)) fail(t, `expected two counts, got "${p} ${b}"`, cols[i + 1]);
      counters = { pkts: Number(p), bytes: Number(b) };
      i += 2;
      continue;
    }
    if (t === "-f" || t === "--fragment") fail(t, "fragment matching is not modelled", col);
    if (!t.startsWith("--")) {
      if (t.startsWith("-")) fail(t, "unknown option (not valid in a rule specification)", col);
      fail(t, "unexpected argument", col);
    }

    // An extension option: dispatch to the target, then to loaded matches (newest first).
    const name = t.slice(2);
    let spec: OptionSpec | undefined;
    let sink: ParsedOption[] | undefined;
    if (tgt?.def && Object.prototype.hasOwnProperty.call(tgt.def.options, name)) {
      spec = tgt.def.options[name];
      sink = tgt.opts;
    }
    for (let k = instances.length - 1; !sink && k >= 0; k--) {
      const inst = instances[k]!;
      if (Object.prototype.hasOwnProperty.call(inst.def.options, name)) {
        spec = inst.def.options[name];
        sink = inst.opts;
      }
    }
    if (!sink && header.proto && !header.proto.neg) {
      const pm = PROTO_MATCH[header.proto.num];
      const def = pm ? matchDef(pm) : undefined;
      if (def && !instances.some((x) => x.def === def) && Object.prototype.hasOwnProperty.call(def.options, name)) {
        const inst: PendingInstance = { def, opts: [], column: col };
        instances.push(inst);
        spec = def.options[name];
        sink = inst.opts;
      }
    }
    if (!sink || !spec) {
      fail(t, `unknown option (no loaded match or target takes it; load its module with -m, or check -p)`, col);
    }
    if (neg && !spec.negatable) fail(t, "cannot be negated with !", negCol);
    const canonical = spec.alias ?? name;
    if (!spec.multi && sink.some((o) => o.name === canonical)) fail(t, "may only be given once", col);
    let arg: string | undefined;
    if (spec.arg) {
      arg = takeArg(i, t);
      i++;
    }
    // Value errors point at the value; flag errors at the option.
    sink.push({ name: canonical, arg, neg, column: spec.arg ? cols[i] : col });
    neg = false;
  }
  if (neg) fail("!", "a ! must be followed by an option", negCol);

  // Build the match instances (module parsers validate and normalise).
  const matches: readonly MatchInstance[] = instances.length === 0 ? NO_MATCHES : instances.map((inst) => {
    const data = inst.def.parse(inst.opts, fail);
    if (inst.def.requiresProto) {
      const p = header.proto;
      if (!p || p.neg || !inst.def.requiresProto.includes(p.num)) {
        fail(`-m ${inst.def.name}`, `the ${inst.def.name} match needs -p ${inst.def.requiresProto.map(protoToName).join("|")}`, inst.column);
      }
    }
    return { module: inst.def.name, data };
  });
  let target: Target;
  if (!tgt) target = { kind: "none" };
  else if (tgt.def) target = tgt.def.parse(tgt.opts, fail, header as RuleHeader);
  else target = { kind: tgt.goto ? "goto" : "jump", chain: tgt.name };

  const rule: Rule = { chain, header: header as RuleHeader, matches, target, source: loc };
  return { rule, counters };
}

// ---------------------------------------------------------------------------------------------
// Whole restore files

export type Policy = "ACCEPT" | "DROP";

/** Receives the commands of a restore file in order; may throw InputError (with loc). */
export interface RestoreHandler {
  beginTable(table: TableName, loc: Loc): void;
  /** `:CHAIN POLICY [p:b]`; policy undefined for "-" (user chain). */
  declareChain(name: string, policy: Policy | undefined, counters: { pkts: number; bytes: number } | undefined, loc: Loc): void;
  /** -A (position undefined) or -I (1-based position). */
  addRule(rule: Rule, position: number | undefined, counters: { pkts: number; bytes: number } | undefined, loc: Loc): void;
  /** -D by rule or by 1-based position. */
  deleteRule(chain: string, which: Rule | number, loc: Loc): void;
  /** -C: must throw when the rule does not exist. */
  checkRule(rule: Rule, loc: Loc): void;
  newChain(name: string, loc: Loc): void;
  deleteChain(name: string | undefined, loc: Loc): void;
  flush(name: string | undefined, loc: Loc): void;
  setPolicy(name: string, policy: Policy, loc: Loc): void;
  commit(loc: Loc): void;
}

const COUNTERS_RE = /^\[(\d+):(\d+)\]$/;

/** Parses one command line (tokens of `-A ...` etc.) and hands it to the handler. */
export function parseCommand(tk: Tokens, first: number, loc: Loc, handler: RestoreHandler, prefixCounters?: { pkts: number; bytes: number }): void {
  const { tokens, cols } = tk;
  const cmd = tokens[first]!;
  const chainArg = (): string => {
    const c = tokens[first + 1];
    if (c === undefined) throw inputError(loc, cmd, "needs a chain name", cols[first]);
    checkChainName(c, loc, cols[first + 1]);
    return c;
  };
  const noMore = (at: number) => {
    if (tokens.length > at) throw inputError(loc, tokens[at], "unexpected argument", cols[at]);
  };
  switch (cmd) {
    case "-A":
    case "--append":
    case "-C":
    case "--check": {
      const chain = chainArg();
      const { rule, counters } = parseRuleSpec(tk, first + 2, chain, loc);
      if (cmd === "-C" || cmd === "--check") handler.checkRule(rule, loc);
      else handler.addRule(rule, undefined, counters ?? prefixCounters, loc);
      return;
    }
    case "-I":
    case "--insert": {
      const chain = chainArg();
      let at = first + 2;
      let pos = 1;
      if (tokens[at] !== undefined && /^\d+$/.test(tokens[at]!)) {
        pos = Number(tokens[at]);
        if (pos < 1) throw inputError(loc, cmd, "rule positions start at 1", cols[at]);
        at++;
      }
      const { rule, counters } = parseRuleSpec(tk, at, chain, loc);
      handler.addRule(rule, pos, counters ?? prefixCounters, loc);
      return;
    }
    case "-D":
    case "--delete": {
      const chain = chainArg();
      const at = first + 2;
      if (tokens.length === at + 1 && /^\d+$/.test(tokens[at]!)) {
        handler.deleteRule(chain, Number(tokens[at]), loc);
        return;
      }
      handler.deleteRule(chain, parseRuleSpec(tk, at, chain, loc).rule, loc);
      return;
    }
    case "-N":
    case "--new-chain":
      handler.newChain(chainArg(), loc);
      noMore(first + 2);
      return;
    case "-X":
    case "--delete-chain":
    case "-F":
    case "--flush": {
      const name = tokens[first + 1];
      if (name !== undefined) checkChainName(name, loc, cols[first + 1]);
      noMore(first + 2);
      if (cmd === "-X" || cmd === "--delete-chain") handler.deleteChain(name, loc);
      else handler.flush(name, loc);
      return;
    }
    case "-P":
    case "--policy": {
      const chain = chainArg();
      const p = tokens[first + 2];
      if (p !== "ACCEPT" && p !== "DROP") throw inputError(loc, "-P", `expected ACCEPT or DROP, got "${p ?? ""}"`, cols[first + 2]);
      noMore(first + 3);
      handler.setPolicy(chain, p, loc);
      return;
    }
    case "-t":
    case "--table":
      throw inputError(loc, cmd, "-t is not allowed here (tables are selected with *table lines)", cols[first]);
    default:
      throw inputError(loc, cmd, "unknown command (expected -A, -I, -D, -C, -N, -X, -F or -P)", cols[first]);
  }
}

/**
 * Reads restore text line by line and feeds the handler. Throws InputError at the first bad
 * line (the handler's own checks throw with the same location).
 */
export function parseRestore(text: string, file: string, handler: RestoreHandler): void {
  // Line by line with indexOf, not split(): a 32 MB payload's line array would live (and be
  // promoted) for the whole parse; single lines die young.
  const pool = new StringPool();
  let inTable = false;
  let lastLine = 0;
  let pos = 0;
  for (let n = 0; pos <= text.length; n++) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    let raw = text.slice(pos, nl);
    pos = nl + 1;
    if (raw.endsWith("\r")) raw = raw.slice(0, -1);
    const loc: Loc = { file, line: n + 1 };
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    lastLine = n + 1;
    if (raw.startsWith("*")) {
      if (inTable) throw inputError(loc, raw, "a new table starts before the previous one's COMMIT", 1);
      const t = raw.slice(1).trim();
      if (!(TABLE_NAMES as readonly string[]).includes(t)) throw inputError(loc, raw, `unknown table "${t}" (expected raw, mangle, nat or filter)`, 2);
      handler.beginTable(t as TableName, loc);
      inTable = true;
      continue;
    }
    if (!inTable) throw inputError(loc, undefined, `expected a *table line before "${trimmed}"`, 1);
    if (trimmed === "COMMIT") {
      handler.commit(loc);
      inTable = false;
      continue;
    }
    if (raw.startsWith(":")) {
      const parts = raw.slice(1).trim().split(/[ \t]+/);
      const [name, pol, ctr, ...rest] = parts;
      if (!name || !pol) throw inputError(loc, raw, "expected :CHAIN POLICY [packets:bytes]", 1);
      checkChainName(name, loc, 2);
      if (pol !== "-" && pol !== "ACCEPT" && pol !== "DROP") throw inputError(loc, pol, `expected a policy (ACCEPT, DROP or - for a user chain), got "${pol}"`);
      let counters: { pkts: number; bytes: number } | undefined;
      if (ctr !== undefined) {
        const m = COUNTERS_RE.exec(ctr);
        if (!m) throw inputError(loc, ctr, "expected [packets:bytes]");
        counters = { pkts: Number(m[1]), bytes: Number(m[2]) };
      }
      if (rest.length) throw inputError(loc, rest[0], "unexpected argument");
      handler.declareChain(pool.get(name), pol === "-" ? undefined : pol, counters, loc);
      continue;
    }
    const tk = tokenize(raw, loc, pool);
    let first = 0;
    let prefix: { pkts: number; bytes: number } | undefined;
    const m = COUNTERS_RE.exec(tk.tokens[0]!);
    if (m) {
      prefix = { pkts: Number(m[1]), bytes: Number(m[2]) };
      first = 1;
      if (tk.tokens.length < 2) throw inputError(loc, undefined, "counters without a command", tk.cols[0]);
    }
    parseCommand(tk, first, loc, handler, prefix);
  }
  if (inTable) throw inputError({ file, line: lastLine }, "COMMIT", "the table is not committed (COMMIT expected)");
}
