/**
 * The architecture, enforced: imports point only down the layering table of DESIGN.md §1,
 * and src/ outside the CLI never reads the wall clock or unseeded randomness.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve } from "node:path";

const SRC = resolve(__dirname, "../../src");

/** folder → folders it may import from (errors.ts at src/ top is importable by all). */
const ALLOWED: Record<string, string[]> = {
  engine: [],
  net: [],
  netfilter: ["net"],
  cluster: ["net"],
  kubeproxy: ["cluster", "netfilter", "net"],
  datapath: ["engine", "net", "netfilter", "cluster"],
  traffic: ["engine", "net", "datapath", "netfilter", "cluster"],
  // The timed control plane: kubelet probes, controllers and kube-proxy syncs as scheduled recipes.
  control: ["engine", "net", "cluster", "kubeproxy", "netfilter"],
  // scenario composes runs, and turns a run into a report input (report types and statistics).
  scenario: ["engine", "net", "netfilter", "cluster", "kubeproxy", "datapath", "traffic", "control", "report"],
  report: ["engine", "net"],
  cli: ["scenario", "report", "engine", "net", "netfilter", "cluster", "kubeproxy", "datapath", "traffic", "control"],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const files = walk(SRC);
const IMPORT_RE = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']/g;

describe("layering", () => {
  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  const rows = files.map((f) => ({ name: relative(SRC, f), file: f }));
  it.each(rows)("$name imports only allowed layers", ({ file }) => {
    const rel = relative(SRC, file);
    const layer = rel.includes("/") ? rel.split("/")[0]! : "";
    const text = readFileSync(file, "utf8");
    const bad: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1]!;
      if (!spec.startsWith(".")) continue; // packages
      const target = relative(SRC, resolve(dirname(file), spec));
      if (target.startsWith("..")) { bad.push(`${spec} (outside src)`); continue; }
      const tLayer = target.includes("/") ? target.split("/")[0]! : "";
      if (tLayer === "" || tLayer === layer) continue; // src/errors.ts or same layer
      if (layer === "") { bad.push(`${spec} (top-level file importing a layer)`); continue; }
      if (!(ALLOWED[layer] ?? []).includes(tLayer)) bad.push(`${spec} (${layer} → ${tLayer})`);
    }
    expect(bad).toEqual([]);
  });

  const nonCli = rows.filter((r) => !r.name.startsWith("cli/"));
  it.each(nonCli)("$name uses no wall clock or unseeded randomness", ({ file }) => {
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    expect(code).not.toMatch(/Math\.random|Date\.now\(|new Date\(|performance\.now\(/);
  });
});
