/**
 * IPv4 addresses as 32-bit integers, CIDRs, and their text forms.
 * Numbers, not strings, travel on the per-packet path; text is for input and output only.
 *
 * Representation: the address's 32 bits as a *signed* int32 (`x | 0`): 10.0.0.1 is 167772161,
 * 192.168.0.1 is -1062731775. Signed int32 values are V8 small integers, so addresses stored in
 * packets, conntrack entries and map keys never become boxed heap numbers (unsigned values above
 * 2^31 would: a measured 15–20 % of the per-packet cost for clusters on 128.0.0.0 and above).
 * Equality, masking and hashing work on the bits; order by address (sorting, ranges) needs
 * `compareIPv4` / `ipv4ToUnsigned`, and anything shown to users goes through formatIPv4.
 * IPv6 is not modelled (svcsim simulates single-stack IPv4 clusters).
 */

export type IPv4 = number; // the address bits as a signed int32 (always normalised with | 0)

export interface Cidr {
  readonly addr: IPv4; // network address (host bits zero)
  readonly prefix: number; // 0..32
  readonly mask: IPv4;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses dotted-quad text; returns null when it is not a valid IPv4 address. */
export function tryParseIPv4(text: string): IPv4 | null {
  const m = IPV4_RE.exec(text);
  if (!m) return null;
  return (Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4]);
}

export function parseIPv4(text: string): IPv4 {
  const a = tryParseIPv4(text);
  if (a === null) throw new Error(`invalid IPv4 address "${text}"`);
  return a;
}

/** The address as an unsigned number 0 … 2^32−1 (for ordering and for numeric output). */
export function ipv4ToUnsigned(a: IPv4): number {
  return a >>> 0;
}

/** Orders addresses numerically (0.0.0.0 first, 255.255.255.255 last). */
export function compareIPv4(a: IPv4, b: IPv4): number {
  return (a >>> 0) - (b >>> 0);
}

export function formatIPv4(a: IPv4): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function prefixMask(prefix: number): IPv4 {
  return prefix === 0 ? 0 : 0xffffffff << (32 - prefix);
}

/** Parses "a.b.c.d/len" (or a bare address, taken as /32). Null when invalid. */
export function tryParseCidr(text: string, opts: { strictHostBits?: boolean } = {}): Cidr | null {
  const slash = text.indexOf("/");
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const addr = tryParseIPv4(ipText);
  if (addr === null) return null;
  let prefix = 32;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,2}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > 32) return null;
  }
  const mask = prefixMask(prefix);
  if (opts.strictHostBits && (addr & ~mask) !== 0) return null;
  return { addr: addr & mask, prefix, mask };
}

export function parseCidr(text: string, opts: { strictHostBits?: boolean } = {}): Cidr {
  const c = tryParseCidr(text, opts);
  if (!c) throw new Error(`invalid CIDR "${text}"`);
  return c;
}

export function cidrContains(c: Cidr, a: IPv4): boolean {
  return (a & c.mask) === c.addr;
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}

/** Number of addresses in the CIDR (2^(32-prefix)). */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The n-th address of the CIDR (0 = network address). */
export function cidrNth(c: Cidr, n: number): IPv4 {
  return (c.addr + n) | 0;
}

/** "ip:port" text for an address and port. */
export function formatHostPort(a: IPv4, port: number): string {
  return `${formatIPv4(a)}:${port}`;
}

/** Parses "ip:port"; null when invalid. */
export function tryParseHostPort(text: string): { addr: IPv4; port: number } | null {
  const i = text.lastIndexOf(":");
  if (i < 0) return null;
  const addr = tryParseIPv4(text.slice(0, i));
  const p = text.slice(i + 1);
  if (addr === null || !/^\d{1,5}$/.test(p)) return null;
  const port = Number(p);
  if (port < 1 || port > 65535) return null;
  return { addr, port };
}

/**
 * An endpoint (address, port) as one non-negative number, unsigned address · 65536 + port: a map
 * key that orders by address then port, and leaves −1 free to mean "none".
 */
export function endpointKey(a: IPv4, port: number): number {
  return ipv4ToUnsigned(a) * 65536 + port;
}

/** The address of an endpointKey (int32 bits again). */
export function endpointKeyAddr(k: number): IPv4 {
  return Math.floor(k / 65536) | 0;
}

/** The port of an endpointKey. */
export function endpointKeyPort(k: number): number {
  return k % 65536;
}

export const LOOPBACK_NET: Cidr = parseCidr("127.0.0.0/8");
