/**
 * Test-only: renders kube-proxy restore payloads the way iptables-save (legacy, 1.8.x) prints them
 * (KUBE-PROXY.md §3), for the rule features kube-proxy's nat table uses. It exists so the §4.16
 * derived dump and the seed dump lines can be checked before src/netfilter's parser/printer exist;
 * once they do, the same tests should go through print(parse(payload)) instead (see report).
 */
import { formatFixedGo } from "../../src/kubeproxy/probability.ts";

export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    if (line[i] === '"') {
      const j = line.indexOf('"', i + 1);
      out.push(line.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = line.indexOf(" ", i);
      if (j < 0) j = line.length;
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out;
}

function quoteComment(c: string): string {
  return /^[A-Za-z0-9_-]+$/.test(c) ? c : `"${c.replace(/(["\\'])/g, "\\$1")}"`;
}
function addr(a: string): string {
  return a.includes("/") ? a : `${a}/32`;
}
function normMark(v: string): string {
  return v
    .split("/")
    .map((x) => "0x" + parseInt(x, 16).toString(16))
    .join("/");
}
function savedProbability(p: string): string {
  const P = Math.round(2 ** 31 * Number(p));
  return formatFixedGo(P / 2 ** 31, 11);
}

/** One "-A CHAIN …" restore line → iptables-save rendering. */
export function saveRule(line: string): string {
  const t = tokenize(line);
  const chain = t[1] as string;
  const pre: Record<string, string> = {};
  const rest: string[] = [];
  let neg = false;
  for (let i = 2; i < t.length; i++) {
    const tok = t[i] as string;
    if (tok === "!") {
      neg = true;
      continue;
    }
    if (tok === "-s" || tok === "-d" || tok === "-i" || tok === "-o" || tok === "-p") {
      const v = t[++i] as string;
      pre[tok] = (neg ? "! " : "") + tok + " " + (tok === "-s" || tok === "-d" ? addr(v) : v);
      neg = false;
      continue;
    }
    if (neg) rest.push("!");
    neg = false;
    if (tok === "--comment") {
      rest.push(tok, quoteComment(t[++i] as string));
    } else if (tok === "--mark" || tok === "--set-xmark") {
      rest.push(tok, normMark(t[++i] as string));
    } else if (tok === "--or-mark") {
      const v = normMark(t[++i] as string);
      rest.push("--set-xmark", `${v}/${v}`);
    } else if (tok === "--xor-mark") {
      rest.push("--set-xmark", `${normMark(t[++i] as string)}/0x0`);
    } else if (tok === "--probability") {
      rest.push(tok, savedProbability(t[++i] as string));
    } else rest.push(tok);
  }
  const head = ["-s", "-d", "-i", "-o", "-p"].filter((k) => pre[k] !== undefined).map((k) => pre[k]);
  return ["-A", chain, ...head, ...rest].join(" ");
}

const BUILTIN: Record<string, string[]> = {
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
};

/** Whole restore payload (one table) → iptables-save body (no "# Generated" lines). */
export function saveTable(payload: string): string {
  const lines = payload.split("\n").filter((l) => l !== "");
  const table = (lines[0] as string).slice(1);
  const user = new Set<string>();
  const rules = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    if (l.startsWith(":")) user.add(l.slice(1).split(" ")[0] as string);
    else if (l.startsWith("-A ")) {
      const c = l.split(" ")[1] as string;
      if (!rules.has(c)) rules.set(c, []);
      (rules.get(c) as string[]).push(saveRule(l));
    }
  }
  const builtins = BUILTIN[table] as string[];
  const sorted = [...user].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out = [`*${table}`];
  for (const b of builtins) out.push(`:${b} ACCEPT [0:0]`);
  for (const c of sorted) out.push(`:${c} - [0:0]`);
  for (const c of [...builtins, ...sorted]) out.push(...(rules.get(c) ?? []));
  out.push("COMMIT");
  return out.join("\n") + "\n";
}
