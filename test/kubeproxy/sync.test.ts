import { describe, expect, it } from "vitest";
import { defaultKubeProxyConfig } from "../../src/kubeproxy/config.ts";
import { ONE_HOUR_NS, SyncRunner, canaryCheckIntervalNs, periodicSyncIntervalNs, udpConntrackCleanup, udpSnapshots, type UdpServicePortSnapshot } from "../../src/kubeproxy/sync.ts";
import { cluster, ep, node, service, slice } from "./builder.ts";

const S = 1_000_000_000;

describe("config defaults", () => {
  it.each([
    { name: "v1.16", profile: "v1.16", min: 0, periodic: 30 * S, canary: null },
    { name: "current", profile: "current", min: 1000, periodic: ONE_HOUR_NS, canary: 30 * S },
  ] as const)("$name", ({ profile, min, periodic, canary }) => {
    const c = defaultKubeProxyConfig(profile, "10.1.0.0/16");
    expect(c.minSyncPeriodMs).toBe(min);
    expect(c.syncPeriodMs).toBe(30_000);
    expect(c.masqueradeBit).toBe(14);
    expect(c.randomFully).toBe(true);
    expect(c.localhostNodePorts).toBe(true);
    expect(c.detectLocalMode).toBe("ClusterCIDR");
    expect(periodicSyncIntervalNs(c)).toBe(periodic);
    expect(canaryCheckIntervalNs(c)).toBe(canary);
  });
  it("no cluster CIDR → no local detector", () => {
    expect(defaultKubeProxyConfig("current", "").detectLocalMode).toBe("None");
  });
});

describe("SyncRunner (BoundedFrequencyRunner, burst 2)", () => {
  it("minInterval 0 (v1.16): every request runs at once; periodic sync every syncPeriod", () => {
    const r = SyncRunner.forConfig(defaultKubeProxyConfig("v1.16", ""));
    for (const t of [5, 6, 7]) {
      expect(r.request(t)).toBe(t);
      r.ran(t);
    }
    expect(r.nextDue()).toBe(7 + 30 * S);
  });

  it("minInterval 1 s: two back-to-back runs, then one per second; requests coalesce", () => {
    const r = new SyncRunner({ minIntervalNs: S, maxIntervalNs: 3600 * S });
    const run = (t: number) => {
      const at = r.request(t);
      if (at === t) r.ran(t);
      return at;
    };
    expect(run(0)).toBe(0);
    expect(run(100)).toBe(100); // burst token
    expect(run(200)).toBe(100 + S); // no token: pulled in to lastRun + minInterval
    expect(r.request(300)).toBe(100 + S); // coalesced into the same run
    r.ran(100 + S);
    expect(r.nextDue()).toBe(100 + S + 3600 * S);
    expect(run(100 + S + 10)).toBe(100 + 2 * S);
  });

  it("after a quiet period the burst is available again", () => {
    const r = new SyncRunner({ minIntervalNs: S, maxIntervalNs: 3600 * S });
    for (const t of [0, 1]) {
      expect(r.request(t)).toBe(t);
      r.ran(t);
    }
    const t0 = 10 * S;
    expect(r.request(t0)).toBe(t0);
    r.ran(t0);
    expect(r.request(t0 + 1)).toBe(t0 + 1);
  });

  it("rejects fractional time", () => {
    expect(() => new SyncRunner({ minIntervalNs: 0.5, maxIntervalNs: S })).toThrow();
  });
});

const snap = (p: Partial<UdpServicePortSnapshot> & { endpoints: string[] }): UdpServicePortSnapshot => ({
  name: "kube-system/kube-dns:dns",
  clusterIP: "10.0.0.10",
  nodePort: 0,
  externalIPs: [],
  loadBalancerIPs: [],
  ...p,
});

describe("UDP conntrack cleanup per profile", () => {
  it.each([
    {
      name: "endpoint removed, ClusterIP service (both profiles)",
      profile: "current",
      prev: [snap({ endpoints: ["10.1.1.2:53", "10.1.2.3:53"] })],
      next: [snap({ endpoints: ["10.1.2.3:53"] })],
      want: [{ proto: "udp", origDst: "10.0.0.10", dstNat: "10.1.1.2" }],
    },
    {
      name: "v1.16: removed endpoint of a NodePort service is cleared by nodePort only",
      profile: "v1.16",
      prev: [snap({ nodePort: 30053, endpoints: ["10.1.1.2:53", "10.1.2.3:53"] })],
      next: [snap({ nodePort: 30053, endpoints: ["10.1.2.3:53"] })],
      want: [{ proto: "udp", dport: 30053, dstNat: "10.1.1.2" }],
    },
    {
      name: "current: removed endpoint of a NodePort service: ClusterIP and nodePort forms",
      profile: "current",
      prev: [snap({ nodePort: 30053, endpoints: ["10.1.1.2:53", "10.1.2.3:53"] })],
      next: [snap({ nodePort: 30053, endpoints: ["10.1.2.3:53"] })],
      want: [
        { proto: "udp", origDst: "10.0.0.10", dstNat: "10.1.1.2" },
        { proto: "udp", dport: 30053, dstNat: "10.1.1.2" },
      ],
    },
    {
      name: "v1.16: 0 → >0 endpoints clears ClusterIP and externalIPs",
      profile: "v1.16",
      prev: [snap({ externalIPs: ["192.168.99.1"], loadBalancerIPs: ["1.2.3.4"], endpoints: [] })],
      next: [snap({ externalIPs: ["192.168.99.1"], loadBalancerIPs: ["1.2.3.4"], endpoints: ["10.1.1.2:53"] })],
      want: [
        { proto: "udp", origDst: "10.0.0.10" },
        { proto: "udp", origDst: "192.168.99.1" },
      ],
    },
    {
      name: "current: 0 → >0 endpoints also clears LB IPs and the nodePort",
      profile: "current",
      prev: [snap({ nodePort: 30053, loadBalancerIPs: ["1.2.3.4"], endpoints: [] })],
      next: [snap({ nodePort: 30053, loadBalancerIPs: ["1.2.3.4"], endpoints: ["10.1.1.2:53"] })],
      want: [
        { proto: "udp", origDst: "10.0.0.10" },
        { proto: "udp", origDst: "1.2.3.4" },
        { proto: "udp", dport: 30053 },
      ],
    },
    {
      name: "deleted UDP service clears its ClusterIP",
      profile: "current",
      prev: [snap({ endpoints: ["10.1.1.2:53"] })],
      next: [],
      want: [{ proto: "udp", origDst: "10.0.0.10" }],
    },
    {
      name: "v1.16: a newly opened UDP nodePort is cleared by port",
      profile: "v1.16",
      prev: [],
      next: [snap({ nodePort: 30053, endpoints: [] })],
      want: [{ proto: "udp", dport: 30053 }],
    },
    { name: "no change, nothing to do", profile: "current", prev: [snap({ endpoints: ["10.1.1.2:53"] })], next: [snap({ endpoints: ["10.1.1.2:53"] })], want: [] },
  ] as const)("$name", ({ profile, prev, next, want }) => {
    expect(udpConntrackCleanup(profile, prev, next)).toEqual(want);
  });

  it("snapshots come from cluster state (UDP ports only, SEP endpoint set)", () => {
    const st = cluster({
      nodes: [node("node-1", "192.168.0.11")],
      services: [
        service("kube-system", "kube-dns", {
          clusterIP: "10.0.0.10",
          ports: [
            { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
            { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
          ],
        }),
      ],
      slices: [
        slice("kube-system", "kube-dns", "d", [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53 }], [
          ep("10.1.1.2", "node-1"),
          ep("10.1.2.3", "node-2", { ready: false }),
        ]),
      ],
    });
    expect(udpSnapshots(st, "node-1", "current")).toEqual([
      { name: "kube-system/kube-dns:dns", clusterIP: "10.0.0.10", nodePort: 0, externalIPs: [], loadBalancerIPs: [], endpoints: ["10.1.1.2:53"] },
    ]);
  });
});
