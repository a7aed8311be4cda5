/**
 * kube-proxy names: the servicePortName string and the per-service / per-endpoint chain names.
 *
 * - servicePortName: v1.16 (and every version ≤ v1.19) always writes `ns/name:portName`, so an
 *   unnamed port leaves a trailing colon; v1.20+ ("current") writes `ns/name` plus `:portName` only
 *   when the port has a name (KUBE-PROXY.md §1).
 * - Chain name = prefix + the first 16 characters of base32(sha256(servicePortName + protocol))
 *   (RFC 4648 alphabet, upper case, padding irrelevant since 16 < 52). The endpoint chain hashes
 *   servicePortName + protocol + "ip:port" (the endpoint's target port).
 *
 * Hashes are cached: a sync over 10k endpoints would otherwise spend most of its time in sha256.
 * IPv6 endpoint strings (`[ip]:port`) are not produced: svcsim is IPv4 single-stack.
 */
import { createHash } from "node:crypto";
import type { ProfileName } from "./types.ts";

export type ChainPrefix = "KUBE-SVC-" | "KUBE-SVL-" | "KUBE-EXT-" | "KUBE-FW-" | "KUBE-XLB-" | "KUBE-SEP-";

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (upper case, no padding) of the first bytes needed for `chars` characters. */
export function base32Prefix(bytes: Uint8Array, chars: number): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length && out.length < chars; i++) {
    acc = ((acc << 8) | (bytes[i] as number)) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (out.length < chars && bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

const hashCache = new Map<string, string>();
const HASH_CACHE_LIMIT = 1 << 18;

/** First 16 base32 characters of sha256(input) — kube-proxy's portProtoHash / endpoint hash. */
export function hash16(input: string): string {
  let h = hashCache.get(input);
  if (h === undefined) {
    h = base32Prefix(createHash("sha256").update(input).digest(), 16);
    if (hashCache.size >= HASH_CACHE_LIMIT) hashCache.clear();
    hashCache.set(input, h);
  }
  return h;
}

/** The servicePortName string kube-proxy uses in comments and as hash input. */
export function servicePortName(profile: ProfileName, namespace: string, name: string, portName: string): string {
  if (profile === "v1.16") return `${namespace}/${name}:${portName}`;
  return portName === "" ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`;
}

/** Lower-case protocol as kube-proxy writes it ("tcp", "udp", "sctp"). */
export function protoLower(p: "TCP" | "UDP" | "SCTP"): "tcp" | "udp" | "sctp" {
  return p === "TCP" ? "tcp" : p === "UDP" ? "udp" : "sctp";
}

/** Per-service-port chain: prefix + hash16(servicePortName + protocol). */
export function serviceChainName(prefix: Exclude<ChainPrefix, "KUBE-SEP-">, svcPortName: string, protocol: string): string {
  return prefix + hash16(svcPortName + protocol);
}

/** Per-endpoint chain: KUBE-SEP- + hash16(servicePortName + protocol + "ip:port"). */
export function endpointChainName(svcPortName: string, protocol: string, endpoint: string): string {
  return "KUBE-SEP-" + hash16(svcPortName + protocol + endpoint);
}

/** All per-service-port chain names share one hash suffix. */
export interface ServiceChainNames {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
  readonly xlb: string;
}

export function serviceChainNames(svcPortName: string, protocol: string): ServiceChainNames {
  const h = hash16(svcPortName + protocol);
  return { svc: "KUBE-SVC-" + h, svl: "KUBE-SVL-" + h, ext: "KUBE-EXT-" + h, fw: "KUBE-FW-" + h, xlb: "KUBE-XLB-" + h };
}
