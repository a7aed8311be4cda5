/**
 * Charts (PNG, deterministic), the self-contained HTML report (checked in headless Chromium,
 * offline) and the Markdown report. Canvas is native: this file runs in a forked process (the
 * vitest forks pool), never in worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TraceRecord } from "../../src/engine/trace.ts";
import { buildReport } from "../../src/report/build.ts";
import { CHART_HEIGHT, CHART_WIDTH, renderCharts, renderSweepCharts, type RenderedChart } from "../../src/report/charts.ts";
import { renderHtml } from "../../src/report/html.ts";
import { renderMarkdown } from "../../src/report/markdown.ts";
import { aggregateSweep } from "../../src/report/sweep.ts";
import { ensureChromium, loadFile } from "./chromium.ts";
import { input, keepAliveRequests, requestRecords, splitRequests, type Req } from "./fixtures.ts";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngSize(png: Buffer): { width: number; height: number } {
  // IHDR is the first chunk: 8-byte signature, 4-byte length, "IHDR", then width and height.
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const reqs: Req[] = [
  ...keepAliveRequests([0, 1, 2, 0], 60).map((r, i) => ({ ...r, latency: 800_000 + (i % 37) * 50_000 })),
  { client: "curl", ep: -1, flow: 900, outcome: "refused", reason: "icmp-port-unreachable", time: 1_800_000_000 },
  { client: "curl", ep: 1, flow: 901, outcome: "timeout", reason: "connect-timeout", time: 2_300_000_000, latency: 1_000_000_000 },
];
const event: TraceRecord = { type: "scenario.event", time: 1_500_000_000, action: "deletePod", detail: "default/hostnames-85bc9c579-tx87g" };
const report = buildReport(
  input([...requestRecords(reqs), event].sort((a, b) => a.time - b.time), {
    extras: {
      curl: ["hostnames-85bc9c579-dsmh9", "curl: (7) Failed to connect to 10.0.91.192 port 80: Connection refused"],
      rules: [{ node: "node-1", text: '[4:240] -A KUBE-SERVICES -d 10.0.91.192/32 -p tcp -m comment --comment "default/hostnames:default cluster IP" -m tcp --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU\n' }],
      conntrack: "tcp 6 117 TIME_WAIT src=192.168.0.11 dst=10.0.91.192 sport=41234 dport=80 src=10.1.161.47 dst=192.168.0.11 sport=9376 dport=41234 [ASSURED] mark=0 use=1\n",
      packetExplanation: { flow: 1, title: "client-1 → 10.0.91.192:80 (flow 1)", text: "node-1 OUTPUT nat: KUBE-SERVICES rule 1 → KUBE-SVC-ODX2UBAZM7RQWOIU rule 1 → KUBE-SEP-… DNAT to 10.1.161.47:9376 <script>alert(1)</script>\n" },
      scenarioYaml: "apiVersion: svcsim/v1\nkind: Scenario\nclients:\n- name: curl\n  target: http://10.0.91.192/\n",
    },
  }),
);

let charts: RenderedChart[] = [];
let dir = "";
beforeAll(() => {
  charts = renderCharts(report);
  dir = mkdtempSync(join(tmpdir(), "svcsim-report-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("charts", () => {
  it("renders the share, outcomes and latency charts", () => {
    expect(charts.map((c) => c.id)).toEqual(["share-default-hostnames-default", "outcomes", "latency"]);
    expect(charts.map((c) => c.file)).toEqual(["share-default-hostnames-default.png", "outcomes.png", "latency.png"]);
  });
  it.each(["share-default-hostnames-default", "outcomes", "latency"])("%s is a non-empty PNG of the fixed size", (id) => {
    const c = charts.find((x) => x.id === id)!;
    expect(c.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(pngSize(c.png)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
    expect(c.png.length).toBeGreaterThan(10_000); // text, bars and axes, not a blank canvas (~3 kB)
    expect(c.alt.length).toBeGreaterThan(20);
  });
  it("same report, same bytes", () => {
    const again = renderCharts(buildReport(input([...requestRecords(reqs), event].sort((a, b) => a.time - b.time))));
    for (let i = 0; i < charts.length; i++) expect(again[i]!.png.equals(charts[i]!.png)).toBe(true);
  });
  it("different data, different pixels", () => {
    const other = renderCharts(buildReport(input(requestRecords(splitRequests([30, 30, 30])))));
    expect(other[0]!.png.equals(charts[0]!.png)).toBe(false);
  });
  it("sweep charts: one histogram per fairness metric, deterministic", () => {
    const runs = [0, 1, 2, 3, 4, 5].map((s) => {
      const base = input(requestRecords(splitRequests([30 + s, 30, 30 - s])));
      return buildReport({ ...base, meta: { ...base.meta, seed: s } });
    });
    const agg = aggregateSweep(runs);
    const a = renderSweepCharts(agg);
    const b = renderSweepCharts(agg);
    expect(a.map((c) => c.id)).toEqual(["sweep-fairness.p", "sweep-fairness.jain", "sweep-fairness.cv", "sweep-fairness.maxMin", "sweep-fairness.maxDeviation", "sweep-fairness.perConnection.p"]);
    for (let i = 0; i < a.length; i++) {
      expect(a[i]!.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(a[i]!.png.equals(b[i]!.png)).toBe(true);
    }
  });
});

describe("HTML report", () => {
  it("embeds every chart as a data: URI", () => {
    const html = renderHtml(report, charts);
    for (const c of charts) expect(html).toContain(`src="data:image/png;base64,${c.png.toString("base64")}"`);
    expect(html.match(/<img /g)!.length).toBe(charts.length);
  });
  it("references nothing outside itself (only text may mention URLs)", () => {
    const html = renderHtml(report, charts);
    expect(html).not.toMatch(/(src|href|action)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/<script/i); // the packet text's <script> is escaped
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
  });
  it("has the sections a class needs", () => {
    const html = renderHtml(report, charts);
    for (const id of ["summary", "distribution", "outcomes", "latency", "clients", "client-output", "scenario", "rules", "conntrack", "packet-trace"]) expect(html).toContain(`id="${id}"`);
    expect(html).toContain("kube-proxy balances connections, not requests");
    expect(html).toContain("[4:240] -A KUBE-SERVICES");
  });
  it("loads in headless Chromium offline with no console errors and decoded charts", async () => {
    ensureChromium();
    const file = join(dir, "report.html");
    writeFileSync(file, renderHtml(report, charts));
    const res = await loadFile(file, "[...document.images].map((i) => ({ complete: i.complete, w: i.naturalWidth, h: i.naturalHeight }))");
    expect(res.errors).toEqual([]);
    expect(res.requests.filter((u) => !u.startsWith("data:"))).toEqual([]);
    expect(res.value).toEqual(charts.map(() => ({ complete: true, w: CHART_WIDTH, h: CHART_HEIGHT })));
  });
  it("the Chromium check does catch errors and network requests (control)", async () => {
    const file = join(dir, "bad.html");
    writeFileSync(file, '<!DOCTYPE html><html><body><img src="https://example.invalid/x.png"><script>console.error("boom")</script></body></html>');
    const res = await loadFile(file, "[...document.images].map((i) => i.naturalWidth)");
    expect(res.errors.some((e) => e.includes("boom"))).toBe(true);
    expect(res.requests).toContain("https://example.invalid/x.png");
    expect(res.value).toEqual([0]);
  });
});

describe("Markdown report", () => {
  it("links the chart files and carries the tables", () => {
    const md = renderMarkdown(report, charts);
    for (const c of charts) expect(md).toContain(`](${c.file})`);
    expect(md).toContain("| hostnames-85bc9c579-dsmh9 | 10.1.161.47:9376 | node-1 | 120 | 49.8% | 33.3% |");
    expect(md).toContain("| refused | icmp-port-unreachable | 1 |");
    expect(md).toMatch(/```\n\[4:240\] -A KUBE-SERVICES/);
  });
});
