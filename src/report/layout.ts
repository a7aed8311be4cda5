/**
 * Plain-text layout helpers for reports that must read well in an 80-column terminal:
 * column tables that shrink one flexible column (middle ellipsis, so pod-name suffixes stay
 * visible), word wrapping with a hanging indent, and hard wrapping of long verbatim lines
 * (iptables-save rules) with an indented continuation.
 *
 * Widths count code points; the text reports use no wide (CJK) characters of their own.
 */

export const WIDTH = 80;

export const len = (s: string): number => [...s].length;

/** Shortens s to w code points, replacing its middle with "…". */
export function fit(s: string, w: number): string {
  const cs = [...s];
  if (cs.length <= w) return s;
  if (w <= 1) return cs.slice(0, w).join("");
  const head = Math.ceil((w - 1) / 2);
  const tail = w - 1 - head;
  return cs.slice(0, head).join("") + "…" + (tail > 0 ? cs.slice(cs.length - tail).join("") : "");
}

const pad = (s: string, w: number, right: boolean): string => {
  const n = w - len(s);
  return n <= 0 ? s : right ? " ".repeat(n) + s : s + " ".repeat(n);
};

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** This column shrinks (with a middle ellipsis) when the table is too wide. */
  flex?: boolean;
}

/** Renders a table as lines no wider than `width` (indent included). */
export function table(cols: readonly Column[], rows: readonly (readonly string[])[], indent = "", width = WIDTH): string[] {
  const widths = cols.map((c, i) => Math.max(len(c.header), ...rows.map((r) => len(r[i] ?? ""))));
  const total = () => len(indent) + widths.reduce((a, b) => a + b, 0) + (cols.length - 1);
  let over = total() - width;
  for (let i = 0; i < cols.length && over > 0; i++) {
    if (!cols[i]!.flex) continue;
    const cut = Math.min(over, widths[i]! - Math.max(6, Math.min(len(cols[i]!.header), widths[i]!)));
    if (cut > 0) {
      widths[i]! -= cut;
      over -= cut;
    }
  }
  const line = (cells: readonly string[]) =>
    (indent + cells.map((c, i) => pad(fit(c, widths[i]!), widths[i]!, !!cols[i]!.right)).join(" ")).replace(/\s+$/, "");
  return [line(cols.map((c) => c.header)), ...rows.map(line)];
}

/** Word-wraps text: first line starts with `first`, later ones with `rest` (a hanging indent). */
export function wrap(text: string, first = "", rest = first, width = WIDTH): string[] {
  const out: string[] = [];
  let cur = first;
  let empty = true;
  const flush = () => {
    out.push(cur.replace(/\s+$/, ""));
    cur = rest;
    empty = true;
  };
  for (const word of text.split(/\s+/)) {
    if (word === "") continue;
    let w = [...word];
    if (!empty && len(cur) + 1 + w.length > width) flush();
    // A word longer than a whole line is split hard.
    while (len(cur) + (empty ? 0 : 1) + w.length > width) {
      const room = width - len(cur) - (empty ? 0 : 1);
      if (room <= 0) {
        if (empty) throw new Error(`wrap: prefix "${cur}" leaves no room in ${width} columns`);
        flush();
        continue;
      }
      cur += (empty ? "" : " ") + w.slice(0, room).join("");
      w = w.slice(room);
      flush();
    }
    if (w.length === 0) continue;
    cur += (empty ? "" : " ") + w.join("");
    empty = false;
  }
  if (!empty || out.length === 0) out.push(cur.replace(/\s+$/, ""));
  return out;
}

/** Hard-wraps a verbatim line at `width`, continuing on lines that start with `cont`. */
export function hardWrap(line: string, indent = "", cont = "    ", width = WIDTH): string[] {
  const cs = [...line.replace(/\t/g, "  ")];
  const out: string[] = [];
  let prefix = indent;
  let i = 0;
  do {
    const room = Math.max(1, width - len(prefix));
    out.push((prefix + cs.slice(i, i + room).join("")).replace(/\s+$/, ""));
    i += room;
    prefix = indent + cont;
  } while (i < cs.length);
  return out;
}
