/**
 * kube-proxy iptables-mode rule generation: a pure function from cluster state, node and config to
 * the iptables-restore payloads (filter and nat) that kube-proxy of the configured profile writes
 * on a full sync (KUBE-PROXY.md §2 for "current" = v1.28–v1.30, §4 for "v1.16").
 *
 * Payload layout follows kube-proxy's buffers: "*table", the chain lines, then the rules, "COMMIT".
 * Restore syntax is kube-proxy's own (comments quoted by kube-proxy, `-m tcp -p tcp -d … --dport …`
 * order, v1.16 `/32` addresses, `%#08x` marks → 0x00004000); iptables-save renders it differently
 * (§3) and that is netfilter/'s job.
 *
 * Deliberate modelling choices (each differs from a real kube-proxy only in order, never in the
 * set of rules):
 * - Cross-service order: kube-proxy iterates a Go map, so the order of services inside
 *   KUBE-SERVICES, KUBE-NODEPORTS and the filter chains is random on every sync. svcsim sorts service
 *   ports by servicePortName (bytewise); `GenerateOptions.serviceOrder` gives an explicit order
 *   so a captured dump can be reproduced.
 * - Jump rules from builtin chains (§2.1, §4.7): real kube-proxy (and kubelet) ensure them outside
 *   the restore with `iptables -C` and, if missing, `iptables -I <chain> 1`, so later list entries
 *   end up above earlier ones, and rules already present (kubelet's, which start first) stay where
 *   they are. svcsim writes the resulting order as `-A <BUILTIN> …` lines at the head of the rules,
 *   so restoring the payload on a fresh node yields the real builtin-chain contents. A consumer
 *   that re-applies payloads with --noflush semantics must not append them twice: pass
 *   `jumpRules: false` on later syncs, or use `builtinJumpRules()` with -C/-I semantics.
 * - Kubelet-owned chains (`kubeletChains`, default true): v1.16 kube-proxy jumps to KUBE-MARK-DROP
 *   and relies on kubelet's KUBE-FIREWALL; both are written into the payload so the ruleset is
 *   self-contained. In "current" kube-proxy writes KUBE-FIREWALL itself; kubelet only contributes the
 *   INPUT/OUTPUT jumps to it.
 * - Endpoint chains of a merged cluster+local set are sorted by "ip:port" (upstream: map order).
 *
 * Not modelled: partial syncs and stale-chain deletion (`-X`) — a pure generator has no previous
 * state, so every payload is a full sync; the KUBE-PROXY-CANARY chains; v1.31+ nfacct rules; IPv6;
 * the v1.29+ omission of the INVALID DROP rule under nf_conntrack_tcp_be_liberal (svcsim assumes
 * it is 0); topology hints.
 */
import { createHash } from "node:crypto";
import type { ClusterState, NodeState } from "../cluster/types.ts";
import { cidrContains, tryParseCidr, tryParseIPv4 } from "../net/ip.ts";
import type { GeneratedRules, KubeProxyConfig, ProfileName } from "./types.ts";
import {
  categorizeEndpoints,
  collectServicePorts,
  endpointsForServicePort,
  slicesByService,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type EndpointInfo,
  type ServicePortInfo,
} from "./endpoints.ts";
import { endpointChainName } from "./names.ts";
import { probabilityString } from "./probability.ts";

export interface GenerateOptions {
  /**
   * Explicit cross-service order: servicePortName strings (profile format). Listed service ports
   * come first in this order; the rest follow sorted by name.
   */
  readonly serviceOrder?: readonly string[];
  /** Write the builtin-chain jump rules (default true). */
  readonly jumpRules?: boolean;
  /** Write the kubelet-owned chains the ruleset depends on (default true). */
  readonly kubeletChains?: boolean;
  /**
   * "go" (default): marks as real kube-proxy writes them, Go %#08x → 0x00004000.
   * "literal": bare hex 0x4000, as kube-proxy's unit tests inject it.
   */
  readonly markFormat?: "go" | "literal";
}

/** More than this many endpoints in total → large-cluster mode (v1.25+): SVC/SEP comments dropped. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export function formatMark(value: number, style: "go" | "literal"): string {
  const hex = (value >>> 0).toString(16);
  return style === "go" ? "0x" + hex.padStart(8, "0") : "0x" + hex;
}

export interface JumpRule {
  readonly table: "filter" | "nat";
  readonly chain: "INPUT" | "FORWARD" | "OUTPUT" | "PREROUTING" | "POSTROUTING";
  /** Rule body in restore syntax, without "-A CHAIN". */
  readonly rule: string;
  readonly owner: "kube-proxy" | "kubelet";
}

const NEW = "-m conntrack --ctstate NEW ";
const C_EXT = `-m comment --comment "kubernetes externally-visible service portals"`;
const C_SVC = `-m comment --comment "kubernetes service portals"`;
const C_FWD = `-m comment --comment "kubernetes forwarding rules"`;
const C_HC = `-m comment --comment "kubernetes health check service ports"`;
const C_LBF = `-m comment --comment "kubernetes load balancer firewall"`;
const C_POST = `-m comment --comment "kubernetes postrouting rules"`;

/**
 * The jump rules in the order they are ensured: kubelet's first (kubelet starts before kube-proxy),
 * then kube-proxy's list in its source order. Each is inserted at position 1 if missing.
 */
export function jumpRuleSpecs(profile: ProfileName, cfg: KubeProxyConfig, kubelet: boolean): JumpRule[] {
  const r: JumpRule[] = [];
  const kp = (table: JumpRule["table"], chain: JumpRule["chain"], rule: string) => r.push({ table, chain, rule, owner: "kube-proxy" });
  const kl = (table: JumpRule["table"], chain: JumpRule["chain"], rule: string) => r.push({ table, chain, rule, owner: "kubelet" });
  if (profile === "v1.16") {
    if (kubelet) {
      kl("filter", "OUTPUT", "-j KUBE-FIREWALL");
      kl("filter", "INPUT", "-j KUBE-FIREWALL");
      kl("nat", "POSTROUTING", `${C_POST} -j KUBE-POSTROUTING`);
    }
    kp("filter", "INPUT", `${NEW}${C_EXT} -j KUBE-EXTERNAL-SERVICES`);
    kp("filter", "FORWARD", `${NEW}${C_SVC} -j KUBE-SERVICES`);
    kp("filter", "OUTPUT", `${NEW}${C_SVC} -j KUBE-SERVICES`);
    kp("nat", "OUTPUT", `${C_SVC} -j KUBE-SERVICES`);
    kp("nat", "PREROUTING", `${C_SVC} -j KUBE-SERVICES`);
    kp("nat", "POSTROUTING", `${C_POST} -j KUBE-POSTROUTING`);
    kp("filter", "FORWARD", `${C_FWD} -j KUBE-FORWARD`);
    kp("filter", "INPUT", `${NEW}${C_SVC} -j KUBE-SERVICES`);
    return r;
  }
  const fw = cfg.localhostNodePorts;
  if (kubelet && fw) {
    kl("filter", "INPUT", "-j KUBE-FIREWALL");
    kl("filter", "OUTPUT", "-j KUBE-FIREWALL");
  }
  kp("filter", "INPUT", `${NEW}${C_EXT} -j KUBE-EXTERNAL-SERVICES`);
  kp("filter", "FORWARD", `${NEW}${C_EXT} -j KUBE-EXTERNAL-SERVICES`);
  kp("filter", "INPUT", `${C_HC} -j KUBE-NODEPORTS`);
  kp("filter", "FORWARD", `${NEW}${C_SVC} -j KUBE-SERVICES`);
  kp("filter", "OUTPUT", `${NEW}${C_SVC} -j KUBE-SERVICES`);
  kp("filter", "FORWARD", `${C_FWD} -j KUBE-FORWARD`);
  kp("filter", "INPUT", `${NEW}${C_LBF} -j KUBE-PROXY-FIREWALL`);
  kp("filter", "OUTPUT", `${NEW}${C_LBF} -j KUBE-PROXY-FIREWALL`);
  kp("filter", "FORWARD", `${NEW}${C_LBF} -j KUBE-PROXY-FIREWALL`);
  kp("nat", "OUTPUT", `${C_SVC} -j KUBE-SERVICES`);
  kp("nat", "PREROUTING", `${C_SVC} -j KUBE-SERVICES`);
  kp("nat", "POSTROUTING", `${C_POST} -j KUBE-POSTROUTING`);
  if (fw) {
    // kube-proxy's duplicates of kubelet's jumps (iptablesKubeletJumpChains): no-ops if kubelet ran.
    kp("filter", "INPUT", "-j KUBE-FIREWALL");
    kp("filter", "OUTPUT", "-j KUBE-FIREWALL");
  }
  return r;
}

const BUILTIN_ORDER: Record<JumpRule["table"], readonly JumpRule["chain"][]> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "OUTPUT", "POSTROUTING"],
};

/**
 * Builtin-chain contents after ensuring every jump rule (check, else insert at 1) on empty
 * builtin chains, as "-A CHAIN …" restore lines, per table in hook order.
 */
export function builtinJumpRules(specs: readonly JumpRule[]): Record<"filter" | "nat", string[]> {
  const chains = new Map<string, string[]>();
  for (const s of specs) {
    const k = `${s.table} ${s.chain}`;
    let c = chains.get(k);
    if (!c) chains.set(k, (c = []));
    if (!c.includes(s.rule)) c.unshift(s.rule);
  }
  const out: Record<"filter" | "nat", string[]> = { filter: [], nat: [] };
  for (const table of ["filter", "nat"] as const) {
    for (const chain of BUILTIN_ORDER[table]) {
      for (const rule of chains.get(`${table} ${chain}`) ?? []) out[table].push(`-A ${chain} ${rule}`);
    }
  }
  return out;
}

/**
 * Payload lines, joined a thousand at a time: the line strings (template-literal concatenations)
 * die young instead of all living until the end of a 320,000-rule generation, which at 10,000
 * Services left ~150 MB of old-generation garbage per node.
 */
class Lines {
  private readonly chunks: string[] = [];
  private cur: string[] = [];
  push(...lines: string[]): void {
    for (const l of lines) this.cur.push(l);
    if (this.cur.length >= 1024) this.seal();
  }
  private seal(): void {
    if (this.cur.length === 0) return;
    this.chunks.push(this.cur.join("\n"));
    this.cur = [];
  }
  /** Each line of `parts` followed by "\n", as one flat string. */
  static text(...parts: Lines[]): string {
    const all: string[] = [];
    for (const p of parts) {
      p.seal();
      for (const c of p.chunks) all.push(c);
    }
    all.push("");
    return all.join("\n");
  }
}

interface Ctx {
  readonly cfg: KubeProxyConfig;
  readonly node: NodeState;
  readonly nodeIP: number | null;
  readonly mark: string; // "0x00004000" (current) or "0x00004000/0x00004000" (v1.16)
  readonly ports: readonly ServicePortInfo[];
  readonly endpoints: readonly (readonly EndpointInfo[])[];
  readonly filterChains: Lines;
  readonly filterRules: Lines;
  readonly natChains: Lines;
  readonly natRules: Lines;
}

function orderPorts(ports: ServicePortInfo[], order: readonly string[] | undefined): ServicePortInfo[] {
  if (!order || order.length === 0) return ports;
  const rank = new Map<string, number>();
  order.forEach((n, i) => {
    if (!rank.has(n)) rank.set(n, i);
  });
  const listed = ports.filter((p) => rank.has(p.name)).sort((a, b) => (rank.get(a.name) as number) - (rank.get(b.name) as number));
  const rest = ports.filter((p) => !rank.has(p.name));
  return [...listed, ...rest];
}

/** Local addresses of the node as kube-proxy sees its interfaces: lo first, then the node IP. */
function nodeLocalIPs(node: NodeState): string[] {
  return node.ip && node.ip !== "127.0.0.1" ? ["127.0.0.1", node.ip] : ["127.0.0.1"];
}

function isZeroCidr(s: string): boolean {
  const c = tryParseCidr(s);
  return c !== null && c.prefix === 0;
}

function ipsInCidrs(ips: readonly string[], cidrs: readonly string[]): string[] {
  const parsed = cidrs.map((c) => tryParseCidr(c)).filter((c) => c !== null);
  return ips.filter((ip) => {
    const a = tryParseIPv4(ip);
    return a !== null && parsed.some((c) => cidrContains(c, a));
  });
}

function nodeInRanges(nodeIP: number | null, ranges: readonly string[]): boolean {
  if (nodeIP === null) return false;
  for (const r of ranges) {
    const c = tryParseCidr(r);
    if (c !== null && cidrContains(c, nodeIP)) return true;
  }
  return false;
}

/** Generates kube-proxy's restore payloads for `nodeName`. Pure: same inputs, same bytes. */
export function generateRules(state: ClusterState, nodeName: string, cfg: KubeProxyConfig, opts: GenerateOptions = {}): GeneratedRules {
  const node = state.nodes[nodeName];
  if (!node) throw new Error(`generateRules: unknown node "${nodeName}"`);
  const profile = cfg.profile;
  const markStyle = opts.markFormat ?? "go";
  const markValue = (1 << cfg.masqueradeBit) >>> 0;
  const m = formatMark(markValue, markStyle);
  const ports = orderPorts(collectServicePorts(state, profile), opts.serviceOrder);
  const slices = slicesByService(state);
  const endpoints = ports.map((sp) => endpointsForServicePort(slices.get(`${sp.service.meta.namespace}/${sp.service.meta.name}`), sp, nodeName, profile));
  const ctx: Ctx = {
    cfg,
    node,
    nodeIP: tryParseIPv4(node.ip),
    mark: profile === "v1.16" ? `${m}/${m}` : m,
    ports,
    endpoints,
    filterChains: new Lines(),
    filterRules: new Lines(),
    natChains: new Lines(),
    natRules: new Lines(),
  };
  ctx.filterChains.push("*filter");
  ctx.natChains.push("*nat");
  const kubelet = opts.kubeletChains ?? true;
  const jumps = opts.jumpRules ?? true ? builtinJumpRules(jumpRuleSpecs(profile, cfg, kubelet)) : { filter: [], nat: [] };
  if (profile === "v1.16") genV116(ctx, jumps, kubelet, markStyle);
  else genCurrent(ctx, jumps);
  ctx.filterRules.push("COMMIT");
  ctx.natRules.push("COMMIT");
  return {
    filter: Lines.text(ctx.filterChains, ctx.filterRules),
    nat: Lines.text(ctx.natChains, ctx.natRules),
  };
}

/**
 * What generateRules' output for each node depends on, as digests: for one state, config and
 * options, two nodes with equal keys get byte-identical payloads (the run's set-up generates once
 * for all of them: at 10,000 Services a payload is 32 MB and its generation ~150 MB of garbage).
 * The node enters generation only through: its local addresses within --nodeport-addresses, whether
 * its IP is in each port's loadBalancerSourceRanges, the local-traffic detector (its pod CIDR in
 * NodeCIDR mode) and which endpoints are local. Locality matters only for service ports with a
 * Local traffic policy, so it is left out of the other ports' endpoints; everything else about
 * every endpoint is in the key (e.g. which of two duplicates was kept).
 */
export function nodeRulesKeys(state: ClusterState, nodeNames: readonly string[], cfg: KubeProxyConfig): string[] {
  const hashes = nodeNames.map((n) => {
    const node = state.nodes[n];
    if (!node) throw new Error(`nodeRulesKeys: unknown node "${n}"`);
    return createHash("sha256").update(JSON.stringify([ipsInCidrs(nodeLocalIPs(node), cfg.nodePortAddresses), localDetector(cfg, node)]));
  });
  // Service ports and slices once for every node; endpoints port by port (short-lived garbage).
  const ports = collectServicePorts(state, cfg.profile);
  const slices = slicesByService(state);
  for (const sp of ports) {
    const local = sp.internalPolicyLocal || sp.externalPolicyLocal;
    const ss = slices.get(`${sp.service.meta.namespace}/${sp.service.meta.name}`);
    for (let i = 0; i < nodeNames.length; i++) {
      const h = hashes[i]!;
      h.update(sp.sourceRanges.length > 0 && nodeInRanges(tryParseIPv4(state.nodes[nodeNames[i]!]!.ip), sp.sourceRanges) ? "\nR" : "\n");
      for (const e of endpointsForServicePort(ss, sp, nodeNames[i]!, cfg.profile)) {
        h.update(JSON.stringify(e, (k, v: unknown) => (k === "isLocal" && !local ? undefined : v)));
      }
    }
  }
  return hashes.map((h) => h.digest("base64"));
}

const chainLine = (c: string) => `:${c} - [0:0]`;

// ---------------------------------------------------------------------------------------------
// current (v1.28–v1.30)

interface LocalDetector {
  ifLocal: string; // e.g. "-s 10.0.0.0/8"
  ifNotLocal: string; // e.g. "! -s 10.0.0.0/8"
}

function localDetector(cfg: KubeProxyConfig, node: NodeState): LocalDetector | null {
  switch (cfg.detectLocalMode) {
    case "ClusterCIDR":
      return cfg.clusterCIDR ? { ifLocal: `-s ${cfg.clusterCIDR}`, ifNotLocal: `! -s ${cfg.clusterCIDR}` } : null;
    case "NodeCIDR":
      return node.podCIDR ? { ifLocal: `-s ${node.podCIDR}`, ifNotLocal: `! -s ${node.podCIDR}` } : null;
    case "BridgeInterface":
      return cfg.bridgeInterface ? { ifLocal: `-i ${cfg.bridgeInterface}`, ifNotLocal: `! -i ${cfg.bridgeInterface}` } : null;
    case "InterfaceNamePrefix":
      return cfg.interfaceNamePrefix
        ? { ifLocal: `-i ${cfg.interfaceNamePrefix}+`, ifNotLocal: `! -i ${cfg.interfaceNamePrefix}+` }
        : null;
    case "None":
      return null;
  }
}

function genCurrent(ctx: Ctx, jumps: Record<"filter" | "nat", string[]>): void {
  const { cfg, filterChains, filterRules, natChains, natRules } = ctx;
  for (const c of ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"]) filterChains.push(chainLine(c));
  for (const c of ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]) natChains.push(chainLine(c));
  const mark = ctx.mark;
  // (builtin-chain jumps; see module doc)
  if (cfg.localhostNodePorts) filterChains.push(chainLine("KUBE-FIREWALL"));
  filterRules.push(...jumps.filter);
  natRules.push(...jumps.nat);

  natRules.push(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  natRules.push(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  natRules.push(
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? " --random-fully" : ""}`,
  );
  natRules.push(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);
  if (cfg.localhostNodePorts) {
    filterRules.push(
      `-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  let total = 0;
  for (const eps of ctx.endpoints) total += eps.length;
  const largeCluster = total > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const detector = localDetector(cfg, ctx.node);

  for (let i = 0; i < ctx.ports.length; i++) {
    const sp = ctx.ports[i] as ServicePortInfo;
    const cat = categorizeEndpoints(ctx.endpoints[i] as readonly EndpointInfo[], sp, "current");
    const sn = sp.name;
    const proto = sp.protocol;
    const pm = `-m ${proto} -p ${proto}`;
    const port = String(sp.port.port);
    const ch = sp.chains;
    const hasEndpoints = cat.hasEndpoints;

    const usesClusterChain = cat.cluster.length > 0 && usesClusterEndpoints(sp);
    const usesLocalChain = cat.local.length > 0 && usesLocalEndpoints(sp);
    let internalChain = ch.svc;
    let hasInternal = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalChain = ch.svl;
      if (cat.local.length === 0) hasInternal = false;
    }
    let externalPolicyChain = ch.svc;
    let hasExternal = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = ch.svl;
      if (cat.local.length === 0) hasExternal = false;
    }
    const extChain = ch.ext;
    const usesExt = hasEndpoints && sp.externallyAccessible;
    const usesFW = hasEndpoints && sp.loadBalancerIPs.length > 0 && sp.sourceRanges.length > 0;
    const lbChain = usesFW ? ch.fw : extChain;

    let intTarget = "";
    let intComment = "";
    let extTarget = "";
    let extComment = "";
    if (!hasEndpoints) {
      intTarget = extTarget = "REJECT";
      intComment = extComment = `"${sn} has no endpoints"`;
    } else {
      if (!hasInternal) {
        intTarget = "DROP";
        intComment = `"${sn} has no local endpoints"`;
      }
      if (!hasExternal) {
        extTarget = "DROP";
        extComment = `"${sn} has no local endpoints"`;
      }
    }

    // ClusterIP
    const cipMatch = `-m comment --comment "${sn} cluster IP" ${pm} -d ${sp.clusterIP} --dport ${port}`;
    if (hasInternal) natRules.push(`-A KUBE-SERVICES ${cipMatch} -j ${internalChain}`);
    else filterRules.push(`-A KUBE-SERVICES -m comment --comment ${intComment} ${pm} -d ${sp.clusterIP} --dport ${port} -j ${intTarget}`);

    // externalIPs
    for (const eip of sp.externalIPs) {
      if (hasEndpoints) natRules.push(`-A KUBE-SERVICES -m comment --comment "${sn} external IP" ${pm} -d ${eip} --dport ${port} -j ${extChain}`);
      if (!hasExternal) filterRules.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${extComment} ${pm} -d ${eip} --dport ${port} -j ${extTarget}`);
    }
    // LoadBalancer ingress
    for (const lb of sp.loadBalancerIPs) {
      if (hasEndpoints) natRules.push(`-A KUBE-SERVICES -m comment --comment "${sn} loadbalancer IP" ${pm} -d ${lb} --dport ${port} -j ${lbChain}`);
      if (usesFW) {
        filterRules.push(`-A KUBE-PROXY-FIREWALL -m comment --comment "${sn} traffic not accepted by ${ch.fw}" ${pm} -d ${lb} --dport ${port} -j DROP`);
      }
    }
    if (!hasExternal) {
      for (const lb of sp.loadBalancerIPs) {
        filterRules.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${extComment} ${pm} -d ${lb} --dport ${port} -j ${extTarget}`);
      }
    }
    // NodePort
    if (sp.nodePort !== 0) {
      if (hasEndpoints) natRules.push(`-A KUBE-NODEPORTS -m comment --comment ${sn} ${pm} --dport ${sp.nodePort} -j ${extChain}`);
      if (!hasExternal) {
        filterRules.push(
          `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${extComment} -m addrtype --dst-type LOCAL ${pm} --dport ${sp.nodePort} -j ${extTarget}`,
        );
      }
    }
    // Health-check node port (always TCP)
    if (sp.healthCheckNodePort !== 0) {
      filterRules.push(
        `-A KUBE-NODEPORTS -m comment --comment "${sn} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );
    }

    // Internal traffic: masquerade off-cluster traffic to the ClusterIP.
    if (hasInternal) {
      if (cfg.masqueradeAll) natRules.push(`-A ${internalChain} ${cipMatch} -j KUBE-MARK-MASQ`);
      else if (detector) natRules.push(`-A ${internalChain} ${cipMatch} ${detector.ifNotLocal} -j KUBE-MARK-MASQ`);
    }

    // External traffic chain.
    if (usesExt) {
      natChains.push(chainLine(extChain));
      if (!sp.externalPolicyLocal) {
        natRules.push(`-A ${extChain} -m comment --comment "masquerade traffic for ${sn} external destinations" -j KUBE-MARK-MASQ`);
      } else {
        if (detector) {
          natRules.push(`-A ${extChain} -m comment --comment "pod traffic for ${sn} external destinations" ${detector.ifLocal} -j ${ch.svc}`);
        }
        natRules.push(
          `-A ${extChain} -m comment --comment "masquerade LOCAL traffic for ${sn} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
        );
        natRules.push(
          `-A ${extChain} -m comment --comment "route LOCAL traffic for ${sn} external destinations" -m addrtype --src-type LOCAL -j ${ch.svc}`,
        );
      }
      if (hasExternal) natRules.push(`-A ${extChain} -j ${externalPolicyChain}`);
    }

    // Firewall chain (loadBalancerSourceRanges).
    if (usesFW) {
      natChains.push(chainLine(ch.fw));
      const head = `-A ${ch.fw} -m comment --comment "${sn} loadbalancer IP"`;
      for (const src of sp.sourceRanges) natRules.push(`${head} -s ${src} -j ${extChain}`);
      if (nodeInRanges(ctx.nodeIP, sp.sourceRanges)) {
        for (const lb of sp.loadBalancerIPs) natRules.push(`${head} -s ${lb} -j ${extChain}`);
      }
      natRules.push(`-A ${ch.fw} -m comment --comment "other traffic to ${sn} will be dropped by KUBE-PROXY-FIREWALL"`);
    }

    if (usesClusterChain) {
      natChains.push(chainLine(ch.svc));
      writeServiceToEndpoints(natRules, sn, sp, ch.svc, cat.cluster, largeCluster);
    }
    if (usesLocalChain) {
      natChains.push(chainLine(ch.svl));
      writeServiceToEndpoints(natRules, sn, sp, ch.svl, cat.local, largeCluster);
    }

    for (const ep of cat.reachable) {
      const sep = endpointChainName(sn, proto, ep.key);
      natChains.push(chainLine(sep));
      const head = largeCluster ? `-A ${sep}` : `-A ${sep} -m comment --comment ${sn}`;
      natRules.push(`${head} -s ${ep.ip} -j KUBE-MARK-MASQ`);
      const aff = sp.affinityTimeout > 0 ? ` -m recent --name ${sep} --set` : "";
      natRules.push(`${head}${aff} ${pm} -j DNAT --to-destination ${ep.key}`);
    }
  }

  // Last rule of KUBE-SERVICES: hand over to KUBE-NODEPORTS.
  const npComment = `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  const npa = cfg.nodePortAddresses;
  if (npa.length === 0 || npa.some(isZeroCidr)) {
    const loop = cfg.localhostNodePorts ? "" : " ! -d 127.0.0.0/8";
    natRules.push(`-A KUBE-SERVICES ${npComment} -m addrtype --dst-type LOCAL${loop} -j KUBE-NODEPORTS`);
  } else {
    for (const ip of ipsInCidrs(nodeLocalIPs(ctx.node), npa)) {
      if (ip.startsWith("127.") && !cfg.localhostNodePorts) continue;
      natRules.push(`-A KUBE-SERVICES ${npComment} -d ${ip} -j KUBE-NODEPORTS`);
    }
  }

  filterRules.push(`-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`);
  filterRules.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filterRules.push(
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
}

function writeServiceToEndpoints(
  out: Lines,
  sn: string,
  sp: ServicePortInfo,
  chain: string,
  eps: readonly EndpointInfo[],
  largeCluster: boolean,
): void {
  const seps = eps.map((e) => endpointChainName(sn, sp.protocol, e.key));
  const heads = eps.map((e) => (largeCluster ? `-A ${chain}` : `-A ${chain} -m comment --comment "${sn} -> ${e.key}"`));
  if (sp.affinityTimeout > 0) {
    for (let i = 0; i < eps.length; i++) {
      out.push(`${heads[i]} -m recent --name ${seps[i]} --rcheck --seconds ${sp.affinityTimeout} --reap -j ${seps[i]}`);
    }
  }
  const n = eps.length;
  for (let i = 0; i < n; i++) {
    if (i < n - 1) out.push(`${heads[i]} -m statistic --mode random --probability ${probabilityString("current", n - i)} -j ${seps[i]}`);
    else out.push(`${heads[i]} -j ${seps[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// v1.16

const cidr32 = (ip: string) => `${ip}/32`;

function genV116(ctx: Ctx, jumps: Record<"filter" | "nat", string[]>, kubelet: boolean, markStyle: "go" | "literal"): void {
  const { cfg, filterChains, filterRules, natChains, natRules } = ctx;
  for (const c of ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD"]) filterChains.push(chainLine(c));
  for (const c of ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]) natChains.push(chainLine(c));
  if (kubelet) {
    // kubelet v1.16 (kubelet_network_linux.go): drop bit 15, KUBE-MARK-DROP and KUBE-FIREWALL.
    const d = formatMark(1 << 15, markStyle);
    filterChains.push(chainLine("KUBE-FIREWALL"));
    natChains.push(chainLine("KUBE-MARK-DROP"));
    filterRules.push(...jumps.filter);
    natRules.push(...jumps.nat);
    filterRules.push(`-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark ${d}/${d} -j DROP`);
    natRules.push(`-A KUBE-MARK-DROP -j MARK --set-xmark ${d}/${d}`);
  } else {
    filterRules.push(...jumps.filter);
    natRules.push(...jumps.nat);
  }
  const mark = ctx.mark;
  natRules.push(
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -m mark --mark ${mark} -j MASQUERADE${cfg.randomFully ? " --random-fully" : ""}`,
  );
  natRules.push(`-A KUBE-MARK-MASQ -j MARK --set-xmark ${mark}`);
  const clusterCIDR = cfg.clusterCIDR;

  for (let i = 0; i < ctx.ports.length; i++) {
    const sp = ctx.ports[i] as ServicePortInfo;
    const cat = categorizeEndpoints(ctx.endpoints[i] as readonly EndpointInfo[], sp, "v1.16");
    const sn = sp.name;
    const proto = sp.protocol;
    const pm = `-m ${proto} -p ${proto}`;
    const port = String(sp.port.port);
    const ch = sp.chains;
    const svcChain = ch.svc;
    const xlbChain = ch.xlb;
    const onlyLocal = sp.externalPolicyLocal;
    const hasEndpoints = cat.hasEndpoints;
    if (hasEndpoints) natChains.push(chainLine(svcChain));
    if (onlyLocal) natChains.push(chainLine(xlbChain));

    // ClusterIP
    if (hasEndpoints) {
      const args = `-A KUBE-SERVICES -m comment --comment "${sn} cluster IP" ${pm} -d ${cidr32(sp.clusterIP)} --dport ${port}`;
      if (cfg.masqueradeAll) natRules.push(`${args} -j KUBE-MARK-MASQ`);
      else if (clusterCIDR) natRules.push(`${args} ! -s ${clusterCIDR} -j KUBE-MARK-MASQ`);
      natRules.push(`${args} -j ${svcChain}`);
    } else {
      filterRules.push(`-A KUBE-SERVICES -m comment --comment "${sn} has no endpoints" ${pm} -d ${cidr32(sp.clusterIP)} --dport ${port} -j REJECT`);
    }

    // externalIPs (always to the SVC chain in v1.16, whatever the traffic policy)
    for (const eip of sp.externalIPs) {
      if (hasEndpoints) {
        const args = `-A KUBE-SERVICES -m comment --comment "${sn} external IP" ${pm} -d ${cidr32(eip)} --dport ${port}`;
        natRules.push(`${args} -j KUBE-MARK-MASQ`);
        natRules.push(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ${svcChain}`);
        natRules.push(`${args} -m addrtype --dst-type LOCAL -j ${svcChain}`);
      } else {
        filterRules.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment "${sn} has no endpoints" ${pm} -d ${cidr32(eip)} --dport ${port} -j REJECT`);
      }
    }

    // LoadBalancer ingress. v1.16 writes the FW chain line and its rules once per ingress IP; the
    // repeated chain line only re-flushes the chain inside the same restore, so it is written
    // once here while the rules are repeated, as they are in the kernel.
    let fwDeclared = false;
    for (const lb of sp.loadBalancerIPs) {
      if (hasEndpoints) {
        if (!fwDeclared) {
          natChains.push(chainLine(ch.fw));
          fwDeclared = true;
        }
        natRules.push(`-A KUBE-SERVICES -m comment --comment "${sn} loadbalancer IP" ${pm} -d ${cidr32(lb)} --dport ${port} -j ${ch.fw}`);
        const head = `-A ${ch.fw} -m comment --comment "${sn} loadbalancer IP"`;
        let chosen = xlbChain;
        if (!onlyLocal) {
          natRules.push(`${head} -j KUBE-MARK-MASQ`);
          chosen = svcChain;
        }
        if (sp.sourceRanges.length === 0) {
          natRules.push(`${head} -j ${chosen}`);
        } else {
          for (const src of sp.sourceRanges) natRules.push(`${head} -s ${src} -j ${chosen}`);
          if (nodeInRanges(ctx.nodeIP, sp.sourceRanges)) natRules.push(`${head} -s ${cidr32(lb)} -j ${chosen}`);
        }
        natRules.push(`${head} -j KUBE-MARK-DROP`);
      } else {
        filterRules.push(`-A KUBE-SERVICES -m comment --comment "${sn} has no endpoints" ${pm} -d ${cidr32(lb)} --dport ${port} -j REJECT`);
      }
    }

    // NodePort
    if (sp.nodePort !== 0) {
      if (hasEndpoints) {
        const args = `-A KUBE-NODEPORTS -m comment --comment ${sn} ${pm} --dport ${sp.nodePort}`;
        if (!onlyLocal) {
          natRules.push(`${args} -j KUBE-MARK-MASQ`);
          natRules.push(`${args} -j ${svcChain}`);
        } else {
          natRules.push(`${args} -s 127.0.0.0/8 -j KUBE-MARK-MASQ`);
          natRules.push(`${args} -j ${xlbChain}`);
        }
      } else {
        filterRules.push(
          `-A KUBE-EXTERNAL-SERVICES -m comment --comment "${sn} has no endpoints" -m addrtype --dst-type LOCAL ${pm} --dport ${sp.nodePort} -j REJECT`,
        );
      }
    }

    if (!hasEndpoints) continue;

    // Endpoint chains, interleaved with the SVC rules as v1.16 writes them. No comments on SVC and
    // SEP rules: appendServiceCommentLocked's result was discarded (fixed in v1.18).
    const eps = cat.cluster;
    const seps = eps.map((e) => endpointChainName(sn, proto, e.key));
    for (const s of seps) natChains.push(chainLine(s));
    const aff = sp.affinityTimeout;
    if (aff > 0) {
      for (const s of seps) natRules.push(`-A ${svcChain} -m recent --name ${s} --rcheck --seconds ${aff} --reap -j ${s}`);
    }
    const n = eps.length;
    const localSeps: string[] = [];
    for (let k = 0; k < n; k++) {
      const ep = eps[k] as EndpointInfo;
      const s = seps[k] as string;
      if (onlyLocal && ep.isLocal) localSeps.push(s);
      if (k < n - 1) natRules.push(`-A ${svcChain} -m statistic --mode random --probability ${probabilityString("v1.16", n - k)} -j ${s}`);
      else natRules.push(`-A ${svcChain} -j ${s}`);
      natRules.push(`-A ${s} -s ${cidr32(ep.ip)} -j KUBE-MARK-MASQ`);
      natRules.push(`-A ${s}${aff > 0 ? ` -m recent --name ${s} --set` : ""} ${pm} -j DNAT --to-destination ${ep.key}`);
    }

    if (!onlyLocal) continue;
    // KUBE-XLB (externalTrafficPolicy: Local)
    if (clusterCIDR) {
      natRules.push(
        `-A ${xlbChain} -s ${clusterCIDR} -m comment --comment "Redirect pods trying to reach external loadbalancer VIP to clusterIP" -j ${svcChain}`,
      );
    }
    natRules.push(`-A ${xlbChain} -m comment --comment "masquerade LOCAL traffic for ${sn} LB IP" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
    natRules.push(
      `-A ${xlbChain} -m comment --comment "route LOCAL traffic for ${sn} LB IP to service chain" -m addrtype --src-type LOCAL -j ${svcChain}`,
    );
    const nl = localSeps.length;
    if (nl === 0) {
      natRules.push(`-A ${xlbChain} -m comment --comment "${sn} has no local endpoints" -j KUBE-MARK-DROP`);
    } else {
      if (aff > 0) {
        for (const s of localSeps) {
          natRules.push(`-A ${xlbChain} -m comment --comment ${sn} -m recent --name ${s} --rcheck --seconds ${aff} --reap -j ${s}`);
        }
      }
      for (let k = 0; k < nl; k++) {
        const head = `-A ${xlbChain} -m comment --comment "Balancing rule ${k} for ${sn}"`;
        if (k < nl - 1) natRules.push(`${head} -m statistic --mode random --probability ${probabilityString("v1.16", nl - k)} -j ${localSeps[k]}`);
        else natRules.push(`${head} -j ${localSeps[k]}`);
      }
    }
  }

  // Last rule of KUBE-SERVICES.
  const npComment = `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  const npa = cfg.nodePortAddresses;
  if (npa.length === 0 || npa.some(isZeroCidr)) {
    natRules.push(`-A KUBE-SERVICES ${npComment} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`);
  } else {
    // Upstream iterates a string set (random order); svcsim sorts.
    const ips = ipsInCidrs(nodeLocalIPs(ctx.node), npa).sort();
    for (const ip of ips) natRules.push(`-A KUBE-SERVICES ${npComment} -d ${ip} -j KUBE-NODEPORTS`);
  }

  filterRules.push(`-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`);
  filterRules.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark} -j ACCEPT`);
  if (clusterCIDR) {
    filterRules.push(
      `-A KUBE-FORWARD -s ${clusterCIDR} -m comment --comment "kubernetes forwarding conntrack pod source rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    );
    filterRules.push(
      `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack pod destination rule" -d ${clusterCIDR} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    );
  }
}
