/**
 * Where things are in YAML sources: parsing with positions (yaml's LineCounter), walking a JSON
 * path to the node it came from, field-path text (`manifests[1].spec.ports[0].targetPort`), and
 * turning ajv errors into one InputError line that says what was expected.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from "yaml";
import type { ErrorObject } from "ajv";
import { InputError, type InputErrorLocation } from "../errors.ts";

export type JsonPath = readonly (string | number)[];

/** One YAML document with what is needed to point into it. */
export interface YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lc: LineCounter;
  /** Path prepended to field text (e.g. ["manifests", 2, "inline", 0]); [] for a plain document. */
  readonly fieldBase: JsonPath;
  /** Maps a (line, column) of this text to the file the user edits (inline YAML strings). */
  readonly mapPos?: (line: number, col: number) => { line: number; col: number };
}

/** Where a value came from: a source and the path of the value inside its document. */
export interface Origin {
  readonly src: YamlSource;
  readonly path: JsonPath;
}

export function fieldText(path: JsonPath): string {
  let s = "";
  for (const seg of path) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

function firstLine(msg: string): string {
  return msg.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").trim();
}

/**
 * Parses all YAML documents of a text. Syntax errors (and duplicate keys) throw an InputError at
 * their position. Empty documents (e.g. a trailing `---`) are dropped.
 */
export function parseYamlDocuments(text: string, file: string, fieldBase: JsonPath = [], mapPos?: YamlSource["mapPos"]): YamlSource[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    // EmptyStream: no documents at all.
    return [];
  }
  for (const d of list) {
    const e = d.errors[0];
    if (e) {
      const p = e.linePos?.[0];
      const pos = p && mapPos ? mapPos(p.line, p.col) : p ? { line: p.line, col: p.col } : undefined;
      throw new InputError({ file, ...(pos ? { line: pos.line, column: pos.col } : {}), ...(fieldBase.length ? { field: fieldText(fieldBase) } : {}) }, `YAML syntax error: ${firstLine(e.message)}`);
    }
  }
  return list.filter((d) => d.contents !== null).map((doc, i) => ({ file, doc, lc, fieldBase: fieldBase.length ? [...fieldBase, i] : [], ...(mapPos ? { mapPos } : {}) }));
}

/** The node at `path` (and the pair holding it, for key positions). */
export function nodeAt(doc: Document.Parsed, path: JsonPath): { node?: Node; pair?: Pair; parent?: Node } {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  let parent: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const p = node.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(seg));
      if (!p) return { parent: node };
      parent = node;
      pair = p as Pair;
      node = p.value;
    } else if (isSeq(node)) {
      const it = node.items[Number(seg)];
      if (it === undefined) return { parent: node };
      parent = node;
      pair = undefined;
      node = it;
    } else {
      return parent ? { parent } : {};
    }
  }
  return { node: node as Node, ...(pair ? { pair } : {}), ...(parent ? { parent } : {}) };
}

function posOf(src: YamlSource, offset: number): { line: number; column: number } {
  const p = src.lc.linePos(offset);
  const m = src.mapPos ? src.mapPos(p.line, p.col) : { line: p.line, col: p.col };
  return { line: m.line, column: m.col };
}

/**
 * The location of the value at `path` (or of its key with `key: true`). When the path does not
 * exist, the nearest existing ancestor is used; the field text is always the full path.
 */
export function locate(src: YamlSource, path: JsonPath, opts: { key?: boolean; fieldPath?: JsonPath } = {}): InputErrorLocation {
  let found = nodeAt(src.doc, path);
  let rest = path;
  while (!found.node && rest.length > 0) {
    rest = rest.slice(0, -1);
    found = nodeAt(src.doc, rest);
  }
  const target = opts.key && found.pair?.key && (found.pair.key as Node).range ? (found.pair.key as Node) : found.node;
  const range = target?.range ?? (src.doc.contents as Node | null)?.range;
  const field = fieldText([...src.fieldBase, ...(opts.fieldPath ?? path)]);
  return { file: src.file, ...(range ? posOf(src, range[0]) : {}), ...(field ? { field } : {}) };
}

export function at(o: Origin, sub: JsonPath = [], opts: { key?: boolean } = {}): InputErrorLocation {
  return locate(o.src, [...o.path, ...sub], opts);
}

export function fail(o: Origin, sub: JsonPath, detail: string, opts: { key?: boolean } = {}): never {
  throw new InputError(at(o, sub, opts), detail);
}

// ---------------------------------------------------------------------------------------------
// ajv errors → one line

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function typeWord(t: string | string[]): string {
  const one = (x: string) => (x === "object" ? "a mapping" : x === "array" ? "a list" : x === "integer" ? "an integer" : x === "number" ? "a number" : x === "boolean" ? "true or false" : x === "string" ? "a string" : x);
  return Array.isArray(t) ? t.map(one).join(" or ") : one(t);
}

const KEYWORD_RANK: Readonly<Record<string, number>> = {
  additionalProperties: 0, const: 1, enum: 2, type: 3, required: 4, pattern: 5, minimum: 6, maximum: 6, exclusiveMinimum: 6, minItems: 7, maxItems: 7, minLength: 8, maxLength: 8,
};

function splitPointer(p: string): (string | number)[] {
  if (p === "") return [];
  return p.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(data: unknown, path: JsonPath): unknown {
  let v: unknown = data;
  for (const s of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[String(s)] : undefined;
  return v;
}

/**
 * Picks the most telling ajv error (deepest path; then unknown field, const/enum, type, required,
 * pattern, ranges) and throws it as an InputError positioned in `src`, relative to `base`.
 */
export function throwSchemaError(errors: readonly ErrorObject[], data: unknown, src: YamlSource, base: JsonPath): never {
  const useful = errors.filter((e) => e.keyword !== "if" && e.keyword !== "allOf" && e.keyword !== "anyOf" && e.keyword !== "oneOf");
  const list = (useful.length ? useful : errors).map((e, i) => ({ e, i, path: splitPointer(e.instancePath) }));
  list.sort((a, b) => b.path.length - a.path.length || (KEYWORD_RANK[a.e.keyword] ?? 9) - (KEYWORD_RANK[b.e.keyword] ?? 9) || a.i - b.i);
  const { e, path } = list[0]!;
  const value = valueAt(data, path);
  const full = [...base, ...path];
  const p = e.params as Record<string, unknown>;
  const sch = e.parentSchema as Record<string, unknown> | undefined;
  switch (e.keyword) {
    case "additionalProperties": {
      const name = String(p.additionalProperty);
      const allowed = Object.keys((sch?.properties as Record<string, unknown>) ?? {}).sort();
      throw new InputError(locate(src, [...full, name], { key: true }), `unknown field "${name}" — expected one of ${allowed.join(", ")}`);
    }
    case "required": {
      const name = String(p.missingProperty);
      throw new InputError(locate(src, full, { fieldPath: [...full, name] }), `missing required field "${name}"`);
    }
    case "const":
      throw new InputError(locate(src, full), `expected ${JSON.stringify(p.allowedValue)}, got ${describe(value)}`);
    case "enum": {
      const vals = (p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(", ");
      throw new InputError(locate(src, full), `expected one of ${vals}, got ${describe(value)}`);
    }
    case "type":
      if (typeof sch?.["x-expected"] === "string") throw new InputError(locate(src, full), `expected ${sch["x-expected"] as string}, got ${describe(value)}`);
      throw new InputError(locate(src, full), `expected ${typeWord(p.type as string | string[])}, got ${describe(value)}`);
    case "pattern": {
      const exp = typeof sch?.["x-expected"] === "string" ? (sch["x-expected"] as string) : `a string matching ${String(p.pattern)}`;
      throw new InputError(locate(src, full), `expected ${exp}, got ${describe(value)}`);
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const op = { minimum: ">=", maximum: "<=", exclusiveMinimum: ">", exclusiveMaximum: "<" }[e.keyword];
      throw new InputError(locate(src, full), `expected a value ${op} ${String(p.limit)}, got ${describe(value)}`);
    }
    case "minItems":
      throw new InputError(locate(src, full), `expected at least ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`);
    case "maxItems":
      throw new InputError(locate(src, full), `expected at most ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`);
    case "minLength":
      throw new InputError(locate(src, full), "expected a non-empty string");
    case "maxLength":
      throw new InputError(locate(src, full), `expected at most ${String(p.limit)} characters, got ${describe(value)}`);
    default:
      throw new InputError(locate(src, full), e.message ?? "invalid value");
  }
}
