/**
 * One network namespace's iptables (iptables-legacy 1.8 + Linux ip_tables, IPv4): the tables
 * raw, mangle, nat and filter with their builtin chains (policy ACCEPT) and user chains, the
 * per-rule and per-policy counters, and the xt_recent / nfacct state the rules use.
 *
 * Rules are installed only by parsing text, as kube-proxy installs them:
 * - restore(text, {noflush, counters, file}) behaves like iptables-restore: each `*table` section
 *   is staged and replaces the table atomically at its COMMIT; an error anywhere in a section
 *   leaves that table exactly as it was (a section COMMITted earlier in the same input stays
 *   applied, as with iptables-restore). Without noflush the section starts from an empty table
 *   (builtin chains flushed, user chains deleted). A `:CHAIN` line flushes (or creates) a user
 *   chain; for a builtin chain it sets the policy and its counters ([p:b] with `counters`, else
 *   0:0) without flushing it under noflush — iptables-restore's behaviour. `-X` deletes a chain
 *   (it must be empty and unreferenced), `-F` flushes, `-N` creates, `-P` sets a policy,
 *   `-A`/`-I`/`-D`/`-C` add, insert, delete and check rules.
 * - A jump target must be an existing chain when its line is read (iptables: "Couldn't load
 *   target"); at COMMIT the kernel's checks run: no jump loops, and DNAT/SNAT/MASQUERADE/REJECT
 *   only in chains reachable from hooks where they are valid.
 * - command("-t nat -I PREROUTING 1 ...") runs one iptables command (kube-proxy's EnsureChain /
 *   EnsureRule use -N, -C, -I, -A).
 *
 * Counters: rules in chains a restore does not touch keep their counters; new rules start at 0
 * unless `counters` is set and the line carries [p:b] or -c p b. Deviation: svcsim does not
 * simulate iptables' counter read-modify-write race; counters are exact.
 *
 * Sharing (memory): each COMMIT produces an immutable TableVersion (chains, compiled rules,
 * indexes). kube-proxy writes the same nat/filter payload on every node, so versions are cached
 * by (table, prior version or prior policies, options, the section's text — by its SHA-256, so the
 * cache does not keep a 64 MB payload alive at 10,000 Services): a node restoring a
 * section another node already restored from the same prior state installs the same version
 * without parsing it again. Per-node state stays per node: rule and policy counters live in the
 * node's own Float64Arrays (indexed by Entry.id / Chain.slot), and xt_recent lists, nfacct
 * objects and nth counters are bound only in versions that are never shared (a table using them
 * is compiled for its node alone). Results are identical with or without a cache hit.
 */
import { createHash } from "node:crypto";
import type { Packet } from "../net/packet.ts";
import type { EvalContext, HookName, HookResult, TableName, TraversalObserver } from "./types.ts";
import { BUILTIN_CHAINS } from "./types.ts";
import type { Rule } from "./rule.ts";
import { STANDARD_VERDICTS } from "./rule.ts";
import { Chain, CounterLog, Entry, Evaluator, T_GOTO, T_JUMP } from "./eval.ts";
import { inputError, parseCommand, parseRestore, tokenize, type Loc, type Policy, type RestoreHandler } from "./parse.ts";
import { printRule, printTable, strcmp, type TableSnapshot } from "./print.ts";
import { RecentList, type MatchEnv, type NfacctCounter } from "./recent.ts";
import { targetDef, TARGETS } from "./targets.ts";

export const TABLE_ORDER: readonly TableName[] = ["raw", "mangle", "nat", "filter"];

interface TableState {
  readonly chains: Map<string, Chain>;
  /** Number of rules jumping (or going) to each chain. */
  readonly refs: Map<string, number>;
}

function emptyTable(name: TableName, prev?: TableState): TableState {
  const chains = new Map<string, Chain>();
  for (const h of BUILTIN_CHAINS[name]) chains.set(h, new Chain(h, prev?.chains.get(h)?.policy ?? "ACCEPT"));
  return { chains, refs: new Map() };
}

let nextVersionUid = 1;

/**
 * One committed state of a table: chains with compiled rules and indexes, immutable once built,
 * shared by every node that installed it. Rule i has counter slot i (Entry.id); builtin chains'
 * policies have the slots after the rules (Chain.slot).
 */
class TableVersion implements TableState {
  readonly uid = nextVersionUid++;
  /** Nodes currently using this version (for the cache). */
  users = 0;
  cacheKey: { outer: string; text: string } | undefined;
  constructor(
    readonly name: TableName,
    readonly chains: Map<string, Chain>,
    readonly refs: Map<string, number>,
    readonly nSlots: number,
    /** uid of the version the carried entries came from (0 when none are carried). */
    readonly prevUid: number,
    /** Per slot: the rule's slot in version prevUid when carried over (counters continue), else -1; null when nothing is carried. */
    readonly carry: Int32Array | null,
    /** Initial counters of new rules and of policies set by the restore (restore --counters / :CHAIN [p:b]); NaN = carry the policy counter. */
    readonly initPkts: Float64Array,
    readonly initBytes: Float64Array,
    /** True when no compiled match is bound to one node's state. */
    readonly shareable: boolean,
  ) {}
}

/** The canonical empty tables every Netfilter starts from (policies ACCEPT, counters carried). */
function emptyVersion(name: TableName): TableVersion {
  const st = emptyTable(name);
  let slot = 0;
  for (const c of st.chains.values()) c.slot = slot++;
  const init = new Float64Array(slot).fill(NaN);
  return new TableVersion(name, st.chains, st.refs, slot, 0, null, init, init, true);
}
const EMPTY_VERSIONS = new Map<TableName, TableVersion>(TABLE_ORDER.map((t) => [t, emptyVersion(t)]));

/** A node's installed table: the (possibly shared) version and this node's counters. */
interface NodeTable {
  readonly v: TableVersion;
  readonly pkts: Float64Array;
  readonly bytes: Float64Array;
}

// ---- the compile cache ----------------------------------------------------------------------

/** Most versions kept for sharing (oldest dropped first; versions nobody uses are dropped at once). */
const CACHE_MAX = 64;
const cache = new Map<string, Map<string, TableVersion>>();
const cacheOrder: TableVersion[] = [];

function cacheGet(outer: string, text: string): TableVersion | undefined {
  return cache.get(outer)?.get(text);
}

function cacheDrop(v: TableVersion): void {
  const k = v.cacheKey;
  if (!k) return;
  v.cacheKey = undefined;
  const inner = cache.get(k.outer);
  if (inner?.get(k.text) === v) {
    inner.delete(k.text);
    if (inner.size === 0) cache.delete(k.outer);
  }
  const i = cacheOrder.indexOf(v);
  if (i >= 0) cacheOrder.splice(i, 1);
}

function cachePut(outer: string, text: string, v: TableVersion): void {
  if (!v.shareable || v.cacheKey) return;
  while (cacheOrder.length >= CACHE_MAX) cacheDrop(cacheOrder[0]!);
  let inner = cache.get(outer);
  if (!inner) cache.set(outer, (inner = new Map()));
  const old = inner.get(text);
  if (old) cacheDrop(old);
  inner.set(text, v);
  v.cacheKey = { outer, text };
  cacheOrder.push(v);
}

/** Compile-cache figures (tests, benchmarks). */
export function compileCacheStats(): { versions: number } {
  return { versions: cacheOrder.length };
}

/** Empties the compile cache (tests). */
export function clearCompileCache(): void {
  while (cacheOrder.length) cacheDrop(cacheOrder[0]!);
}

/** The cache's key for a section's text: its SHA-256 and length (equal keys: equal texts). */
function textKey(text: string): string {
  return `${createHash("sha256").update(text).digest("base64")}:${text.length}`;
}

/** A `*table … COMMIT` section of restore input: its text and where it starts. */
interface Section {
  readonly table: string;
  readonly start: number;
  readonly end: number;
  /** 0-based line of the `*table` line. */
  readonly line: number;
}

/**
 * Splits restore input into sections, or returns null when something other than blank lines and
 * comments lies between them (the parser then reports it). Boundaries need not be exact for
 * correctness: a section is cached only when parsing exactly its text committed exactly once.
 */
function scanSections(text: string): Section[] | null {
  const out: Section[] = [];
  let pos = 0;
  let line = 0;
  let cur: { table: string; start: number; line: number } | null = null;
  const n = text.length;
  while (pos <= n) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = n;
    const c = text.charCodeAt(pos);
    if (cur === null) {
      if (nl > pos) {
        const t = text.slice(pos, nl).trim();
        if (t !== "" && !t.startsWith("#")) {
          if (!t.startsWith("*")) return null;
          cur = { table: t.slice(1).trim(), start: pos, line };
        }
      }
    } else if (c === 67 /* C */ || c === 32 || c === 9) {
      if (text.slice(pos, nl).trim() === "COMMIT") {
        out.push({ table: cur.table, start: cur.start, end: nl, line: cur.line });
        cur = null;
      }
    } else if (c === 42 /* * */) {
      return null;
    }
    pos = nl + 1;
    line++;
  }
  return cur === null ? out : null;
}

export interface RestoreOptions {
  /** --noflush: keep what the input does not mention. */
  readonly noflush?: boolean;
  /** --counters: take [p:b] / -c counters from the input. */
  readonly counters?: boolean;
  /** File name for error messages (default "<restore>"). */
  readonly file?: string;
}

export interface SaveOptions {
  /** Only this table (default: every table restored at least once, in first-use order). */
  readonly table?: TableName;
  /** iptables-save -c: prefix rules with [packets:bytes]. */
  readonly counters?: boolean;
  /** Line printed before each "*table" (e.g. "# Generated by iptables-save v1.8.4"). */
  readonly header?: string;
  /** Line printed after each "COMMIT". */
  readonly footer?: string;
}

/** A rule as listed by `iptables -L -v --line-numbers` / the tracer. */
export interface ListedRule {
  /** 1-based position in its chain. */
  readonly index: number;
  readonly rule: Rule;
  /** iptables-save form ("-A CHAIN ..."). */
  readonly text: string;
  readonly pkts: number;
  readonly bytes: number;
}

/** Something that evaluates hooks (datapath's RuleEvaluator shape). */
export interface HookEvaluator {
  evaluate(table: TableName, hook: HookName, pkt: Packet, ctx: EvalContext, observer?: TraversalObserver, log?: CounterLog | null): HookResult;
}

export class Netfilter implements HookEvaluator {
  private readonly tables = new Map<TableName, NodeTable>();
  /** Tables in the order they were first restored (iptables-save's order). */
  private readonly loaded: TableName[] = [];
  private readonly recentLists = new Map<string, RecentList>();
  private readonly nfacctObjects = new Map<string, NfacctCounter>();
  private readonly evaluator = new Evaluator();
  private gen = 0;
  private readonly env: MatchEnv = {
    recent: (name) => {
      let l = this.recentLists.get(name);
      if (!l) this.recentLists.set(name, (l = new RecentList(name)));
      return l;
    },
    nfacct: (name) => {
      let c = this.nfacctObjects.get(name);
      if (!c) this.nfacctObjects.set(name, (c = { pkts: 0, bytes: 0 }));
      return c;
    },
  };

  constructor() {
    for (const t of TABLE_ORDER) {
      const v = EMPTY_VERSIONS.get(t)!;
      this.tables.set(t, { v, pkts: new Float64Array(v.nSlots), bytes: new Float64Array(v.nSlots) });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Installing rules

  /** iptables-restore. Throws InputError (file, line, column, option) on the first bad line. */
  restore(text: string, opts: RestoreOptions = {}): void {
    const noflush = opts.noflush ?? false;
    const counters = opts.counters ?? false;
    const file = opts.file ?? "<restore>";
    const sections = scanSections(text);
    if (sections === null) {
      parseRestore(text, file, new Transaction(this, noflush, counters, false));
      return;
    }
    for (const sec of sections) {
      const table = sec.table as TableName;
      const known = (TABLE_ORDER as readonly string[]).includes(table);
      const body = text.slice(sec.start, sec.end);
      const outer = known ? this.cacheOuterKey(table, noflush, counters, file) : "";
      const key = known ? textKey(body) : "";
      const hit = known ? cacheGet(outer, key) : undefined;
      if (hit) {
        this._adopt(table, hit);
        continue;
      }
      // Parse the section alone, padded so that error lines stay those of the whole input.
      const tx = new Transaction(this, noflush, counters, false);
      parseRestore("\n".repeat(sec.line) + body, file, tx);
      if (known && tx.commits === 1) {
        const v = this.tables.get(table)!.v;
        if (v.users === 1) cachePut(outer, key, v);
      }
    }
  }

  /** What, besides the section text, decides the version a restore produces. */
  private cacheOuterKey(table: TableName, noflush: boolean, counters: boolean, file: string): string {
    const cur = this.tables.get(table)!.v;
    // A flushing restore keeps only the builtin policies (when the input does not set them).
    const prior = noflush ? `N${cur.uid}` : `F${BUILTIN_CHAINS[table].map((h) => cur.chains.get(h)!.policy).join(",")}`;
    return `${table}|${prior}|${counters ? 1 : 0}|${file}`;
  }

  /**
   * One iptables command, e.g. "-t nat -N KUBE-SERVICES", "-t nat -C PREROUTING -m comment
   * --comment x -j KUBE-SERVICES", "-I INPUT 1 -j KUBE-FIREWALL" (table defaults to filter).
   * Returns false only for a -C whose rule does not exist; other failures throw InputError.
   */
  command(line: string, opts: { file?: string } = {}): boolean {
    const loc: Loc = { file: opts.file ?? "<command>", line: 1 };
    const tk = tokenize(line, loc);
    let table: TableName = "filter";
    for (let i = 0; i < tk.tokens.length; i++) {
      const t = tk.tokens[i];
      if (t === "-t" || t === "--table") {
        const name = tk.tokens[i + 1];
        if (!name || !(TABLE_ORDER as readonly string[]).includes(name)) throw inputError(loc, t, `unknown table "${name ?? ""}"`, tk.cols[i]);
        table = name as TableName;
        tk.tokens.splice(i, 2);
        tk.cols.splice(i, 2);
        break;
      }
    }
    if (tk.tokens.length === 0) throw inputError(loc, undefined, "no command given");
    const tx = new Transaction(this, true, false, true);
    tx.beginTable(table, loc);
    parseCommand(tk, 0, loc, tx);
    if (tx.checkFailed) return false;
    tx.commit(loc);
    return true;
  }

  /** @internal used by Transaction */
  _table(name: TableName): TableState {
    return this.tables.get(name)!.v;
  }

  /**
   * @internal Builds a new version from a validated staged table and installs it. Staged chains
   * not in `dirty` belong to the current version and are copied (a version is never changed once
   * built: other nodes may share it); entries that belong to the current version are copied too,
   * and their counters continue. `policyInit` holds the policy counters the input set;
   * `ruleInit` the counters new rules were given (restore --counters).
   */
  _install(
    name: TableName,
    st: TableState,
    dirty: ReadonlySet<string>,
    policyInit: ReadonlyMap<string, { pkts: number; bytes: number }>,
    ruleInit: ReadonlyMap<Entry, { pkts: number; bytes: number }>,
  ): void {
    const prev = this.tables.get(name)!.v;
    const chains = new Map<string, Chain>();
    const all: Entry[] = [];
    const from: number[] = [];
    let carried = false;
    let shareable = true;
    for (const [cname, c0] of st.chains) {
      let c = c0;
      if (!dirty.has(cname)) {
        c = new Chain(cname, c0.policy, c0.entries.slice());
        c.index = c0.index; // same rules in the same order
      }
      const es = c.entries;
      for (let i = 0; i < es.length; i++) {
        let e = es[i]!;
        let f = -1;
        if (e.id >= 0) {
          f = e.id;
          carried = true;
          e = es[i] = e.copy();
        }
        e.id = all.length;
        all.push(e);
        from.push(f);
      }
      chains.set(cname, c);
    }
    for (const c of chains.values()) {
      for (const e of c.entries) {
        if (e.tcode === T_JUMP || e.tcode === T_GOTO) e.jump = chains.get(e.jumpName)!;
        e.compile(this.env);
        if (e.perNode) shareable = false;
      }
      if (dirty.has(c.name)) c.buildIndex();
    }
    let slot = all.length;
    for (const h of BUILTIN_CHAINS[name]) {
      const c = chains.get(h);
      if (c) c.slot = slot++;
    }
    const initPkts = new Float64Array(slot);
    const initBytes = new Float64Array(slot);
    for (const [e, ctr] of ruleInit) {
      if (e.id >= 0 && all[e.id] === e && from[e.id]! < 0) {
        initPkts[e.id] = ctr.pkts;
        initBytes[e.id] = ctr.bytes;
      }
    }
    for (const h of BUILTIN_CHAINS[name]) {
      const c = chains.get(h);
      if (!c) continue;
      const p = policyInit.get(h);
      initPkts[c.slot] = p ? p.pkts : NaN;
      initBytes[c.slot] = p ? p.bytes : NaN;
    }
    const v = new TableVersion(name, chains, st.refs, slot, carried ? prev.uid : 0, carried ? Int32Array.from(from) : null, initPkts, initBytes, shareable);
    this._adopt(name, v);
  }

  /** @internal Makes `v` this node's version of the table; counters continue where they carry over. */
  _adopt(name: TableName, v: TableVersion): void {
    const old = this.tables.get(name)!;
    if (v.carry !== null && v.prevUid !== old.v.uid) throw new Error(`netfilter: version ${v.uid} of ${name} does not follow ${old.v.uid}`);
    const pkts = new Float64Array(v.nSlots);
    const bytes = new Float64Array(v.nSlots);
    const nRules = v.carry !== null ? v.carry.length : 0;
    if (v.carry !== null) {
      const carry = v.carry;
      for (let i = 0; i < nRules; i++) {
        const f = carry[i]!;
        if (f >= 0) {
          pkts[i] = old.pkts[f]!;
          bytes[i] = old.bytes[f]!;
        } else {
          pkts[i] = v.initPkts[i]!;
          bytes[i] = v.initBytes[i]!;
        }
      }
    } else {
      pkts.set(v.initPkts);
      bytes.set(v.initBytes);
    }
    for (const h of BUILTIN_CHAINS[name]) {
      const c = v.chains.get(h);
      if (!c) continue;
      if (Number.isNaN(v.initPkts[c.slot]!)) {
        const oc = old.v.chains.get(h);
        pkts[c.slot] = oc ? old.pkts[oc.slot]! : 0;
        bytes[c.slot] = oc ? old.bytes[oc.slot]! : 0;
      } else {
        pkts[c.slot] = v.initPkts[c.slot]!;
        bytes[c.slot] = v.initBytes[c.slot]!;
      }
    }
    v.users++;
    this.tables.set(name, { v, pkts, bytes });
    this.gen++;
    if (--old.v.users <= 0) cacheDrop(old.v);
    if (!this.loaded.includes(name)) this.loaded.push(name);
    // xt_recent frees a list with the last rule that names it.
    if (this.recentLists.size > 0) {
      const used = new Set<string>();
      for (const t of this.tables.values()) {
        for (const c of t.v.chains.values()) {
          for (const e of c.entries) for (const m of e.rule.matches) if (m.module === "recent") used.add((m.data as { name: string }).name);
        }
      }
      for (const n of [...this.recentLists.keys()]) if (!used.has(n)) this.recentLists.delete(n);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Evaluation

  /**
   * Runs the builtin chain `hook` of `table` on the packet. ctx.mark is updated as MARK targets
   * fire. The result object is reused by the next call: copy what you keep.
   */
  evaluate(table: TableName, hook: HookName, pkt: Packet, ctx: EvalContext, observer?: TraversalObserver, log?: CounterLog | null): HookResult {
    const t = this.tables.get(table)!;
    const start = t.v.chains.get(hook);
    if (!start || start.policy === null) throw new Error(`table ${table} has no ${hook} chain`);
    if (log) log.cur = t;
    return this.evaluator.run(table, start, pkt, ctx, true, observer, t.pkts, t.bytes, log ?? null);
  }

  /**
   * Changes whenever any table of this Netfilter gets another version (restore, chain or rule
   * edits, flush): a CounterLog recorded under one generation is replayed only under the same.
   */
  get generation(): number {
    return this.gen;
  }

  /**
   * Counts one more packet of `len` bytes on every slot of a replayable CounterLog, exactly as the
   * traversals it recorded would (the caller checked the generation). `table` is log.table.
   */
  replayCounters(table: unknown, slots: readonly number[], len: number): void {
    const t = table as NodeTable;
    const pk = t.pkts, by = t.bytes;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      pk[s]++;
      by[s] += len;
    }
  }

  /**
   * A view that evaluates without side effects: counters, recent lists, nfacct objects and
   * statistic nth counters are read but never changed (for the explaining tracer).
   */
  dryRun(): HookEvaluator {
    return {
      evaluate: (table, hook, pkt, ctx, observer) => {
        const t = this.tables.get(table)!;
        const start = t.v.chains.get(hook);
        if (!start || start.policy === null) throw new Error(`table ${table} has no ${hook} chain`);
        return this.evaluator.run(table, start, pkt, ctx, false, observer, t.pkts, t.bytes);
      },
    };
  }

  /** Turns the chain index off (linear walk everywhere); for tests and benchmarks. */
  setIndexEnabled(on: boolean): void {
    this.evaluator.indexEnabled = on;
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /** iptables-save. */
  save(opts: SaveOptions = {}): string {
    const names = opts.table ? [opts.table] : this.loaded;
    return names.map((t) => printTable(this.snapshot(t), opts)).join("");
  }

  snapshot(table: TableName): TableSnapshot {
    const t = this.tables.get(table)!;
    const st = t.v;
    const builtin = BUILTIN_CHAINS[table].map((h) => st.chains.get(h)!);
    const user = [...st.chains.values()].filter((c) => c.policy === null).sort((a, b) => strcmp(a.name, b.name));
    return {
      name: table,
      chains: [...builtin, ...user].map((c) => ({
        name: c.name,
        policy: c.policy ?? undefined,
        pkts: c.slot >= 0 ? t.pkts[c.slot]! : 0,
        bytes: c.slot >= 0 ? t.bytes[c.slot]! : 0,
        rules: c.entries.map((e) => ({ rule: e.rule, pkts: t.pkts[e.id]!, bytes: t.bytes[e.id]! })),
      })),
    };
  }

  /** Tables restored at least once, in iptables-save order. */
  loadedTables(): readonly TableName[] {
    return this.loaded;
  }

  /** Chain names of a table in iptables-save order (builtin chains, then user chains by strcmp). */
  chains(table: TableName): string[] {
    return this.snapshot(table).chains.map((c) => c.name);
  }

  hasChain(table: TableName, chain: string): boolean {
    return this.tables.get(table)!.v.chains.has(chain);
  }

  /** Identity of the installed compiled table (equal on nodes that share it; diagnostics and tests). */
  tableVersion(table: TableName): number {
    return this.tables.get(table)!.v.uid;
  }

  /** Whether evaluation uses a (dst, proto, dport) index for this chain (diagnostics). */
  isIndexed(table: TableName, chain: string): boolean {
    return this.tables.get(table)!.v.chains.get(chain)?.index != null;
  }

  /** The rules of a chain in order (empty for an unknown chain). */
  rules(table: TableName, chain: string): ListedRule[] {
    const t = this.tables.get(table)!;
    const c = t.v.chains.get(chain);
    if (!c) return [];
    return c.entries.map((e, i) => ({ index: i + 1, rule: e.rule, text: e.text, pkts: t.pkts[e.id]!, bytes: t.bytes[e.id]! }));
  }

  /** Policy and policy counters of a builtin chain. */
  policy(table: TableName, chain: HookName): { policy: "ACCEPT" | "DROP"; pkts: number; bytes: number } | undefined {
    const t = this.tables.get(table)!;
    const c = t.v.chains.get(chain);
    if (!c || c.policy === null) return undefined;
    return { policy: c.policy, pkts: t.pkts[c.slot]!, bytes: t.bytes[c.slot]! };
  }

  /** Total number of rules in all tables. */
  ruleCount(table?: TableName): number {
    let n = 0;
    for (const [name, t] of this.tables) if (!table || table === name) for (const c of t.v.chains.values()) n += c.entries.length;
    return n;
  }

  /** iptables -Z: zero every rule and policy counter (all tables). */
  resetCounters(): void {
    for (const t of this.tables.values()) {
      t.pkts.fill(0);
      t.bytes.fill(0);
    }
  }

  /** An xt_recent list (like /proc/net/xt_recent/NAME), if some rule uses it. */
  recentList(name: string): RecentList | undefined {
    return this.recentLists.get(name);
  }

  /** An nfacct object's counters, if some rule has used it. */
  nfacct(name: string): Readonly<NfacctCounter> | undefined {
    return this.nfacctObjects.get(name);
  }
}

/** The text of a rule in iptables-save form (for tracers and reports). */
export function ruleText(rule: Rule): string {
  return printRule(rule);
}

// ---------------------------------------------------------------------------------------------

const HOOK_BITS: Readonly<Record<HookName, number>> = { PREROUTING: 1, INPUT: 2, FORWARD: 4, OUTPUT: 8, POSTROUTING: 16 };
const HOOK_NAMES = Object.keys(HOOK_BITS) as HookName[];

/** One restore (or one command): stages a table section and installs it at COMMIT. */
class Transaction implements RestoreHandler {
  private table: TableName | undefined;
  private st: TableState | undefined;
  private dirty = new Set<string>();
  /** Policy counters set by this section (:CHAIN lines of builtin chains). */
  private policyInit = new Map<string, { pkts: number; bytes: number }>();
  /** Counters given to new rules (--counters). */
  private ruleInit = new Map<Entry, { pkts: number; bytes: number }>();
  /** Set by -C in command mode instead of throwing. */
  checkFailed = false;
  /** Sections committed. */
  commits = 0;

  constructor(
    private readonly nf: Netfilter,
    private readonly noflush: boolean,
    private readonly counters: boolean,
    private readonly commandMode: boolean,
  ) {}

  beginTable(table: TableName, _loc: Loc): void {
    const cur = this.nf._table(table);
    this.table = table;
    this.dirty = new Set();
    this.policyInit = new Map();
    this.ruleInit = new Map();
    if (this.noflush) {
      this.st = { chains: new Map(cur.chains), refs: new Map(cur.refs) };
    } else {
      // Builtin chains keep their policy and policy counters (_install carries them).
      this.st = emptyTable(table, cur);
      for (const c of this.st.chains.values()) this.dirty.add(c.name);
    }
  }

  private get s(): TableState {
    return this.st!;
  }

  /** Copy-on-write access to a chain for modification. */
  private mut(name: string): Chain {
    const c = this.s.chains.get(name)!;
    if (this.dirty.has(name)) return c;
    const copy = c.clone();
    this.s.chains.set(name, copy);
    this.dirty.add(name);
    return copy;
  }

  private chainOrFail(name: string, loc: Loc): Chain {
    const c = this.s.chains.get(name);
    if (!c) throw inputError(loc, name, `chain ${name} does not exist in table ${this.table}`);
    return c;
  }

  private unref(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.jumpName) this.s.refs.set(e.jumpName, (this.s.refs.get(e.jumpName) ?? 1) - 1);
    }
  }

  private checkNewChainName(name: string, loc: Loc): void {
    if (targetDef(name) || (STANDARD_VERDICTS as readonly string[]).includes(name)) {
      throw inputError(loc, name, `chain name may not clash with the target ${name}`);
    }
  }

  declareChain(name: string, policy: Policy | undefined, counters: { pkts: number; bytes: number } | undefined, loc: Loc): void {
    const existing = this.s.chains.get(name);
    const builtin = (BUILTIN_CHAINS[this.table!] as readonly string[]).includes(name);
    if (builtin) {
      if (policy === undefined) throw inputError(loc, name, `builtin chain ${name} needs a policy (ACCEPT or DROP), not "-"`);
      const c = this.mut(name);
      c.policy = policy;
      this.policyInit.set(name, this.counters && counters ? { pkts: counters.pkts, bytes: counters.bytes } : { pkts: 0, bytes: 0 });
      return;
    }
    if (policy !== undefined) throw inputError(loc, name, `can't set policy ${policy} on user chain ${name} (use "-")`);
    if (existing) {
      const c = this.mut(name);
      this.unref(c.entries);
      c.entries = [];
      return;
    }
    this.checkNewChainName(name, loc);
    this.s.chains.set(name, new Chain(name, null));
    this.dirty.add(name);
  }

  newChain(name: string, loc: Loc): void {
    if (this.s.chains.has(name)) throw inputError(loc, name, `chain ${name} already exists`);
    this.checkNewChainName(name, loc);
    this.s.chains.set(name, new Chain(name, null));
    this.dirty.add(name);
  }

  addRule(rule: Rule, position: number | undefined, counters: { pkts: number; bytes: number } | undefined, loc: Loc): void {
    const chain = this.chainOrFail(rule.chain, loc);
    const t = rule.target;
    if (t.kind === "jump" || t.kind === "goto") {
      const target = this.s.chains.get(t.chain);
      if (!target) {
        throw inputError(loc, t.chain, `Couldn't load target \`${t.chain}': no such chain in table ${this.table} (declare it before rules jump to it) and no such target`);
      }
      if (target.policy !== null) throw inputError(loc, t.chain, `cannot jump to the builtin chain ${t.chain}`);
    } else if (t.kind !== "none") {
      const def = TARGETS[t.kind]!;
      if (def.tables && !def.tables.includes(this.table!)) {
        throw inputError(loc, `-j ${t.kind}`, `the ${t.kind} target is only valid in the ${def.tables.join(", ")} table, not ${this.table}`);
      }
    }
    const c = this.mut(chain.name);
    const entry = new Entry(rule);
    if (this.counters && counters) this.ruleInit.set(entry, counters);
    if (position === undefined) c.entries.push(entry);
    else {
      if (position > c.entries.length + 1) throw inputError(loc, "-I", `index of insertion too big (chain ${chain.name} has ${c.entries.length} rules)`);
      c.entries.splice(position - 1, 0, entry);
    }
    if (entry.jumpName) this.s.refs.set(entry.jumpName, (this.s.refs.get(entry.jumpName) ?? 0) + 1);
  }

  private findRule(chain: Chain, rule: Rule): number {
    const text = printRule(rule);
    return chain.entries.findIndex((e) => e.text === text);
  }

  deleteRule(chainName: string, which: Rule | number, loc: Loc): void {
    const chain = this.chainOrFail(chainName, loc);
    const i = typeof which === "number" ? which - 1 : this.findRule(chain, which);
    if (i < 0 || i >= chain.entries.length) {
      throw inputError(loc, "-D", typeof which === "number" ? `index of deletion too big (chain ${chainName} has ${chain.entries.length} rules)` : "bad rule (does a matching rule exist in that chain?)");
    }
    const c = this.mut(chainName);
    this.unref(c.entries.splice(i, 1));
  }

  checkRule(rule: Rule, loc: Loc): void {
    const chain = this.chainOrFail(rule.chain, loc);
    if (this.findRule(chain, rule) >= 0) return;
    if (this.commandMode) {
      this.checkFailed = true;
      return;
    }
    throw inputError(loc, "-C", "bad rule (does a matching rule exist in that chain?)");
  }

  deleteChain(name: string | undefined, loc: Loc): void {
    const names = name !== undefined ? [name] : [...this.s.chains.values()].filter((c) => c.policy === null).map((c) => c.name);
    if (name === undefined) {
      // Deleting every user chain: references from user chains vanish with them.
      for (const n of names) this.unref(this.s.chains.get(n)!.entries);
    }
    for (const n of names) {
      const c = this.chainOrFail(n, loc);
      if (c.policy !== null) throw inputError(loc, n, `cannot delete the builtin chain ${n}`);
      if (name !== undefined && c.entries.length > 0) throw inputError(loc, n, `chain ${n} is not empty (flush it first)`);
      const refs = this.s.refs.get(n) ?? 0;
      if (refs > 0) throw inputError(loc, n, `chain ${n} is still referenced by ${refs} rule(s)`);
    }
    for (const n of names) {
      this.s.chains.delete(n);
      this.s.refs.delete(n);
      this.dirty.delete(n);
    }
  }

  flush(name: string | undefined, loc: Loc): void {
    const names = name !== undefined ? [name] : [...this.s.chains.keys()];
    for (const n of names) {
      this.chainOrFail(n, loc);
      const c = this.mut(n);
      this.unref(c.entries);
      c.entries = [];
    }
  }

  setPolicy(name: string, policy: Policy, loc: Loc): void {
    const c = this.chainOrFail(name, loc);
    if (c.policy === null) throw inputError(loc, name, `can't set a policy on user chain ${name}`);
    this.mut(name).policy = policy;
  }

  commit(loc: Loc): void {
    const st = this.s;
    const table = this.table!;
    // Kernel checks at table replace: no loops, targets only where their hooks allow.
    const hooksOf = new Map<string, number>();
    const visit = (c: Chain, bit: number, path: string[]): void => {
      const have = hooksOf.get(c.name) ?? 0;
      if (path.includes(c.name)) {
        throw inputError(loc, "COMMIT", `jump loop: ${[...path.slice(path.indexOf(c.name)), c.name].join(" → ")} (the kernel rejects the table: ELOOP)`);
      }
      if (have & bit && path.length > 0) return;
      hooksOf.set(c.name, have | bit);
      path.push(c.name);
      for (const e of c.entries) if (e.jumpName) visit(st.chains.get(e.jumpName)!, bit, path);
      path.pop();
    };
    for (const h of BUILTIN_CHAINS[table]) visit(st.chains.get(h)!, HOOK_BITS[h], []);
    // Loops among chains not reachable from any hook are rejected too.
    for (const c of st.chains.values()) if (!hooksOf.has(c.name)) visit(c, 0, []);
    for (const c of st.chains.values()) {
      const mask = hooksOf.get(c.name) ?? 0;
      if (!mask) continue;
      for (const e of c.entries) {
        const def = TARGETS[e.rule.target.kind];
        if (!def?.hooks) continue;
        const allowed = def.hooks.reduce((m, h) => m | HOOK_BITS[h], 0);
        if (mask & ~allowed) {
          const bad = HOOK_NAMES.filter((h) => mask & HOOK_BITS[h] & ~allowed);
          const src = e.rule.source;
          throw inputError(
            loc,
            `-j ${e.rule.target.kind}`,
            `${e.rule.target.kind} in chain ${c.name}${src.line !== undefined ? ` (line ${src.line})` : ""} is reachable from ${bad.join(", ")}; it is only valid from ${def.hooks.join(", ")}`,
          );
        }
      }
    }
    this.nf._install(table, st, this.dirty, this.policyInit, this.ruleInit);
    this.commits++;
    this.table = undefined;
    this.st = undefined;
  }
}
