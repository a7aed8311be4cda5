/**
 * `--set path=value` overrides for sweeps and checks: applied to the scenario's YAML before it is
 * validated, so an override is checked exactly like the file itself. Paths use dots and [n]
 * indices ("kubeProxy.minSyncPeriod", "clients[0].requests"); values are read as YAML scalars
 * ("2s" stays a string, "10" is a number, "true" a boolean).
 */
import { parseDocument, parse as parseYaml } from "yaml";
import { InputError } from "../errors.ts";

export interface Override {
  readonly path: readonly (string | number)[];
  readonly text: string;
  readonly value: unknown;
}

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$/;

export function parseOverride(spec: string): Override {
  const eq = spec.indexOf("=");
  const where = { file: "<command line>", field: "--set" };
  if (eq <= 0) throw new InputError(where, `expected path=value such as kubeProxy.minSyncPeriod=2s, got "${spec}"`);
  const pathText = spec.slice(0, eq);
  const path: (string | number)[] = [];
  for (const seg of pathText.split(".")) {
    const m = SEGMENT.exec(seg);
    if (!m) throw new InputError(where, `bad path "${pathText}": expected names separated by dots, with [n] indices, e.g. clients[0].requests`);
    path.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(idx[1]));
  }
  let value: unknown;
  try {
    value = parseYaml(spec.slice(eq + 1));
  } catch {
    value = spec.slice(eq + 1);
  }
  return { path, text: spec, value };
}

/** The scenario text with the overrides applied (comments and layout elsewhere kept). */
export function applyOverrides(text: string, file: string, overrides: readonly Override[]): string {
  if (overrides.length === 0) return text;
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return text; // the loader reports the YAML error with its position
  for (const o of overrides) {
    try {
      doc.setIn(o.path, o.value);
    } catch (e) {
      throw new InputError({ file: "<command line>", field: "--set" }, `cannot set ${o.text} in ${file}: ${(e as Error).message}`);
    }
  }
  return doc.toString();
}
