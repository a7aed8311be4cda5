/**
 * IPv4 values are the address bits as a signed int32 (net/ip.ts): every producer normalises the
 * same way, so equality, masks and hashes agree; order and user-facing text go through
 * compareIPv4 / formatIPv4. Addresses on both sides of 128.0.0.0 (the sign bit) are the cases.
 */
import { describe, expect, it } from "vitest";
import { cidrContains, cidrNth, cidrSize, compareIPv4, endpointKey, endpointKeyAddr, endpointKeyPort, formatCidr, formatIPv4, ipv4ToUnsigned, parseCidr, parseIPv4, prefixMask, tryParseCidr, tryParseIPv4 } from "../../src/net/ip.ts";

describe("representation: signed int32 bits", () => {
  it.each([
    { text: "0.0.0.0", bits: 0, unsigned: 0 },
    { text: "10.0.0.1", bits: 0x0a000001, unsigned: 0x0a000001 },
    { text: "127.255.255.255", bits: 0x7fffffff, unsigned: 0x7fffffff },
    { text: "128.0.0.0", bits: -0x80000000, unsigned: 0x80000000 },
    { text: "192.168.10.1", bits: 0xc0a80a01 | 0, unsigned: 0xc0a80a01 },
    { text: "255.255.255.255", bits: -1, unsigned: 0xffffffff },
  ])("$text", ({ text, bits, unsigned }) => {
    const a = parseIPv4(text);
    expect(a).toBe(bits);
    expect(a | 0).toBe(a); // already normalised: a small integer, never a heap number
    expect(ipv4ToUnsigned(a)).toBe(unsigned);
    expect(formatIPv4(a)).toBe(text);
  });

  it.each(["256.0.0.1", "1.2.3", "01.2.3.4", "a.b.c.d", ""])("rejects %j", (t) => {
    expect(tryParseIPv4(t)).toBeNull();
  });
});

describe("endpoint keys (address and port as one number)", () => {
  const eps = [
    { text: "0.0.0.0", port: 0 },
    { text: "10.1.166.146", port: 9376 },
    { text: "127.255.255.255", port: 65535 },
    { text: "128.0.0.0", port: 1 },
    { text: "192.168.10.1", port: 80 },
    { text: "255.255.255.255", port: 65535 },
  ];
  it.each(eps)("$text:$port round-trips and is never negative", ({ text, port }) => {
    const k = endpointKey(parseIPv4(text), port);
    expect(k).toBeGreaterThanOrEqual(0);
    expect([formatIPv4(endpointKeyAddr(k)), endpointKeyPort(k)]).toEqual([text, port]);
    expect(endpointKeyAddr(k)).toBe(parseIPv4(text)); // int32 bits again
  });

  it("orders by address (across the sign bit), then port", () => {
    const keys = eps.map((e) => endpointKey(parseIPv4(e.text), e.port));
    expect([...keys].sort((a, b) => a - b)).toEqual(keys);
  });
});

describe("CIDRs across the sign bit", () => {
  it.each([
    { cidr: "192.168.0.0/16", inside: ["192.168.0.0", "192.168.255.255"], outside: ["192.169.0.0", "10.0.0.1"] },
    { cidr: "128.0.0.0/1", inside: ["128.0.0.0", "255.255.255.255", "192.168.1.1"], outside: ["127.255.255.255", "0.0.0.0"] },
    { cidr: "0.0.0.0/1", inside: ["0.0.0.0", "127.255.255.255"], outside: ["128.0.0.0"] },
    { cidr: "0.0.0.0/0", inside: ["0.0.0.0", "255.255.255.255", "128.0.0.0"], outside: [] },
    { cidr: "255.255.255.255/32", inside: ["255.255.255.255"], outside: ["255.255.255.254"] },
  ])("$cidr", ({ cidr, inside, outside }) => {
    const c = parseCidr(cidr);
    expect(formatCidr(c)).toBe(cidr);
    for (const a of inside) expect(cidrContains(c, parseIPv4(a)), a).toBe(true);
    for (const a of outside) expect(cidrContains(c, parseIPv4(a)), a).toBe(false);
  });

  it("cidrNth walks across 127.255.255.255 → 128.0.0.0 in address order", () => {
    const all = parseCidr("0.0.0.0/0");
    expect(cidrSize(all)).toBe(2 ** 32);
    expect(formatIPv4(cidrNth(all, 2 ** 31 - 1))).toBe("127.255.255.255");
    expect(formatIPv4(cidrNth(all, 2 ** 31))).toBe("128.0.0.0");
    expect(formatIPv4(cidrNth(all, 2 ** 32 - 1))).toBe("255.255.255.255");
    const c = parseCidr("192.168.0.0/16");
    expect(formatIPv4(cidrNth(c, cidrSize(c) - 1))).toBe("192.168.255.255");
  });

  it("masks are int32 bits too; strict host bits still checked", () => {
    expect(prefixMask(32)).toBe(-1);
    expect(prefixMask(1)).toBe(-0x80000000);
    expect(prefixMask(0)).toBe(0);
    expect(tryParseCidr("192.168.1.1/16", { strictHostBits: true })).toBeNull();
    expect(tryParseCidr("192.168.0.0/16", { strictHostBits: true })).not.toBeNull();
  });
});

describe("ordering is by address, not by sign", () => {
  it("compareIPv4 sorts 10.x before 128.x before 192.168.x before 255.x", () => {
    const texts = ["255.255.255.255", "192.168.0.1", "10.0.0.1", "128.0.0.0", "0.0.0.0", "127.255.255.255"];
    const sorted = texts.map(parseIPv4).sort(compareIPv4).map(formatIPv4);
    expect(sorted).toEqual(["0.0.0.0", "10.0.0.1", "127.255.255.255", "128.0.0.0", "192.168.0.1", "255.255.255.255"]);
  });
});
