import { describe, expect, it } from "vitest";
import { endpointChainName, hash16, servicePortName, serviceChainName, serviceChainNames } from "../../src/kubeproxy/names.ts";

describe("servicePortName per profile", () => {
  it.each([
    { name: "v1.16 named", profile: "v1.16", port: "default", want: "default/hostnames:default" },
    { name: "v1.16 unnamed keeps the colon", profile: "v1.16", port: "", want: "default/hostnames:" },
    { name: "current named", profile: "current", port: "default", want: "default/hostnames:default" },
    { name: "current unnamed has no colon", profile: "current", port: "", want: "default/hostnames" },
  ] as const)("$name", ({ profile, port, want }) => {
    expect(servicePortName(profile, "default", "hostnames", port)).toBe(want);
  });
});

describe("chain name hashes (sha256 → base32 → 16)", () => {
  const rows = [
    { name: "seed service", spn: "default/hostnames:default", ep: "", want: "KUBE-SVC-ODX2UBAZM7RQWOIU" },
    { name: "seed SEP 10.1.161.47", spn: "default/hostnames:default", ep: "10.1.161.47:9376", want: "KUBE-SEP-I2HJPDDJL5BQFM6K" },
    { name: "seed SEP 10.1.166.146", spn: "default/hostnames:default", ep: "10.1.166.146:9376", want: "KUBE-SEP-ZGC4PHJJE7XNKWAH" },
    { name: "seed SEP 10.1.166.166", spn: "default/hostnames:default", ep: "10.1.166.166:9376", want: "KUBE-SEP-KGA3ZAVJ5MEPXEK5" },
    { name: "≤v1.19 unnamed port (debug-services docs)", spn: "default/hostnames:", ep: "", want: "KUBE-SVC-NWV5X2332I4OT4T3" },
    { name: "v1.20+ unnamed port", spn: "default/hostnames", ep: "", want: "KUBE-SVC-YN5D6RYVEVZOH44Q" },
    { name: "§4.3 10.244.1.5", spn: "default/hostnames:default", ep: "10.244.1.5:9376", want: "KUBE-SEP-LZSOAAIF344LOQYR" },
    { name: "§4.3 10.244.2.6", spn: "default/hostnames:default", ep: "10.244.2.6:9376", want: "KUBE-SEP-7Y5M6KCUSGT5SOWG" },
    { name: "§4.3 10.244.3.7", spn: "default/hostnames:default", ep: "10.244.3.7:9376", want: "KUBE-SEP-TGZTSLCPVJQ25Y36" },
    { name: "§2.3 ns1/svc1", spn: "ns1/svc1", ep: "", want: "KUBE-SVC-AQI2S6QIMU7PVVRP" },
    { name: "§2.3 SEP 10.0.1.1:80", spn: "ns1/svc1", ep: "10.0.1.1:80", want: "KUBE-SEP-3JOIVZTXZZRGORX4" },
    { name: "§2.3 SEP 10.0.1.2:80", spn: "ns1/svc1", ep: "10.0.1.2:80", want: "KUBE-SEP-IO5XOSKPAXIFQXAJ" },
    { name: "§2.3 SEP 10.0.1.3:80", spn: "ns1/svc1", ep: "10.0.1.3:80", want: "KUBE-SEP-XGJFVO3L2O5SRFNT" },
    { name: "§2.4 ns1/svc1:p80", spn: "ns1/svc1:p80", ep: "", want: "KUBE-SVC-XPGD46QRK7WJZT7O" },
    { name: "§2.4 SEP 10.180.0.1:80", spn: "ns1/svc1:p80", ep: "10.180.0.1:80", want: "KUBE-SEP-SXIVWICOYRO3J4NJ" },
    { name: "§2.4 SEP 10.180.2.1:80", spn: "ns1/svc1:p80", ep: "10.180.2.1:80", want: "KUBE-SEP-ZX7GRIZKSNUQ3LAJ" },
  ];
  it.each(rows)("$name", ({ spn, ep, want }) => {
    const got = ep === "" ? serviceChainName("KUBE-SVC-", spn, "tcp") : endpointChainName(spn, "tcp", ep);
    expect(got).toBe(want);
  });

  it("all per-service chains share the hash suffix", () => {
    const c = serviceChainNames("ns1/svc1:p80", "tcp");
    expect([c.svc, c.svl, c.ext, c.fw, c.xlb]).toEqual([
      "KUBE-SVC-XPGD46QRK7WJZT7O",
      "KUBE-SVL-XPGD46QRK7WJZT7O",
      "KUBE-EXT-XPGD46QRK7WJZT7O",
      "KUBE-FW-XPGD46QRK7WJZT7O",
      "KUBE-XLB-XPGD46QRK7WJZT7O",
    ]);
  });

  it("protocol is part of the hash", () => {
    expect(hash16("ns1/svc1udp")).not.toBe(hash16("ns1/svc1tcp"));
    expect(hash16("ns1/svc1tcp")).toMatch(/^[A-Z2-7]{16}$/);
  });
});
