/**
 * Shared pieces of the match and target registries: option specs, parsed options, the
 * failure callback (which the parser turns into an InputError naming file, line, column and
 * option), and value parsers with iptables' own rules (strtoul base 0 for marks, numeric ports).
 *
 * Not modelled: getopt_long's unique-prefix abbreviations (`--comm` for `--comment`), service
 * names for ports (`http`) and protocol names beyond the few listed in PROTO_NUMBERS.
 */
import { tryParseIPv4 } from "../net/ip.ts";
import { PROTO_ICMP, PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../net/packet.ts";

export interface OptionSpec {
  /** Takes one argument. */
  readonly arg: boolean;
  /** May be preceded by `!`. */
  readonly negatable: boolean;
  /** May be given more than once in one instance. */
  readonly multi?: boolean;
  /** This name is an alias of another option (e.g. "destination-port" → "dport"). */
  readonly alias?: string;
}

/** One option as written, dispatched to a match or target instance. Names are without "--". */
export interface ParsedOption {
  readonly name: string;
  readonly arg: string | undefined;
  readonly neg: boolean;
  /** 1-based column of the option in its line (for errors). */
  readonly column: number | undefined;
}

/** Reports a bad option value; `option` is the option as written ("--dport"). Never returns. */
export type Fail = (option: string, detail: string, column?: number) => never;

/** Finds the (last) occurrence of an option. */
export function opt(opts: readonly ParsedOption[], name: string): ParsedOption | undefined {
  for (let i = opts.length - 1; i >= 0; i--) if (opts[i]!.name === name) return opts[i];
  return undefined;
}

/** The option's argument (the dispatcher guarantees one exists when the spec says arg: true). */
export function argOf(o: ParsedOption): string {
  return o.arg ?? "";
}

/** C strtoul(s, &end, 0) over the whole string, limited to uint32: "0x4000", "16384", "040000". */
export function parseU32(s: string): number | undefined {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = s.length === 1 ? 0 : parseInt(s.slice(1), 8);
  else if (/^[1-9][0-9]*$/.test(s)) v = Number(s);
  else return undefined;
  return v <= 0xffffffff ? v : undefined;
}

/** `value[/mask]` as xtables_parse_mark_mask reads it (mask defaults to 0xffffffff). */
export function parseMarkMask(s: string): { value: number; mask: number } | undefined {
  const slash = s.indexOf("/");
  const value = parseU32(slash < 0 ? s : s.slice(0, slash));
  if (value === undefined) return undefined;
  if (slash < 0) return { value, mask: 0xffffffff };
  const mask = parseU32(s.slice(slash + 1));
  if (mask === undefined) return undefined;
  return { value, mask };
}

/** A numeric port 0..65535 (service names are not looked up). */
export function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** `a`, `a:b`, `:b` (0:b), `a:` (a:65535), as tcp/udp/sctp --sport/--dport read them. */
export function parsePortRange(s: string): [number, number] | undefined {
  const colon = s.indexOf(":");
  if (colon < 0) {
    const p = parsePort(s);
    return p === undefined ? undefined : [p, p];
  }
  const a = colon === 0 ? 0 : parsePort(s.slice(0, colon));
  const rest = s.slice(colon + 1);
  const b = rest === "" ? 65535 : parsePort(rest);
  if (a === undefined || b === undefined) return undefined;
  return [a, b];
}

/** Dotted-quad address (no host names). */
export function parseAddr(s: string): number | undefined {
  const a = tryParseIPv4(s);
  return a === null ? undefined : a;
}

/** Protocol names iptables knows without /etc/protocols lookups in svcsim. */
export const PROTO_NUMBERS: Readonly<Record<string, number>> = {
  all: 0,
  tcp: PROTO_TCP,
  udp: PROTO_UDP,
  udplite: 136,
  icmp: PROTO_ICMP,
  esp: 50,
  ah: 51,
  sctp: PROTO_SCTP,
};

/** iptables-save prints a protocol by name when it has one (the xtables_chain_protos table). */
export function protoToName(n: number): string {
  for (const [name, num] of Object.entries(PROTO_NUMBERS)) if (num === n && name !== "all") return name;
  return String(n);
}

/** `-p` argument: a name (case-insensitive) or a number 0..255. */
export function parseProto(s: string): number | undefined {
  const lower = s.toLowerCase();
  if (lower in PROTO_NUMBERS) return PROTO_NUMBERS[lower];
  if (/^\d{1,3}$/.test(s) && Number(s) <= 255) return Number(s);
  return undefined;
}
