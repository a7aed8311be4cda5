/**
 * Charts as PNG (Chart.js 4 through chartjs-node-canvas 5 / node-canvas 3), rendered at the edge
 * from a Report or a SweepAggregate (DESIGN.md §8):
 * - share: per-endpoint request share (with 95 % Wilson error bars) and connection share, the
 *   expected share as a dash and the range a fair balancer lands in 95 % of the time as a band;
 * - outcomes: outcomes per interval, stacked, with the scenario's timeline events as markers;
 * - latency: histogram of ok-request latencies with the cumulative share and p50/p90/p99 lines;
 * - sweep: for each fairness metric, the histogram of its values across runs.
 *
 * Determinism: fixed size, device pixel ratio 1, animation off, one font (DejaVu Sans, registered
 * from the Debian fonts-dejavu-core path when present) — the same input gives the same bytes.
 * Canvas is native: render in the main process (vitest's forks pool), never in worker threads.
 * Error bars, bands and markers are drawn by small inline plugins (Chart.js has no such chart type).
 */
import { existsSync } from "node:fs";
import { ChartJSNodeCanvas } from "chartjs-node-canvas";
import type { Chart, ChartConfiguration, Plugin } from "chart.js";
import { OUTCOMES, shareChartId, sweepChartId, type Report, type ServiceReport } from "./model.ts";
import { FAIRNESS_SWEEP_METRICS, type SweepAggregate } from "./sweep.ts";
import { fit } from "./layout.ts";
import { niceCeil } from "./build.ts";

export const CHART_WIDTH = 1000;
export const CHART_HEIGHT = 500;
export const FONT_FAMILY = "DejaVu Sans";
const FONT_FILES: readonly [string, string][] = [
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "normal"],
  ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "bold"],
];

export interface RenderedChart {
  /** Stable id: "share-default-hostnames-default", "outcomes", "latency", "sweep-fairness.p". */
  id: string;
  /** File name to save it under (id + ".png"). */
  file: string;
  title: string;
  /** Alternative text describing what the chart shows. */
  alt: string;
  png: Buffer;
}

const COLORS: Record<(typeof OUTCOMES)[number], string> = {
  ok: "#2e7d32",
  refused: "#ef6c00",
  reset: "#6a1b9a",
  timeout: "#c62828",
  error: "#616161",
};
const BLUE = "#1565c0";
const LIGHT_BLUE = "#90caf9";
const BAND = "rgba(120,120,120,0.22)";

let canvasInstance: ChartJSNodeCanvas | undefined;

function renderer(): ChartJSNodeCanvas {
  if (canvasInstance) return canvasInstance;
  const c = new ChartJSNodeCanvas({
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    backgroundColour: "#ffffff",
    chartCallback: (ChartJS) => {
      ChartJS.defaults.font.family = FONT_FAMILY;
      ChartJS.defaults.font.size = 15;
      ChartJS.defaults.color = "#212121";
      ChartJS.defaults.animation = false;
      ChartJS.defaults.responsive = false;
      ChartJS.defaults.devicePixelRatio = 1;
    },
  });
  for (const [file, weight] of FONT_FILES) if (existsSync(file)) c.registerFont(file, { family: FONT_FAMILY, weight });
  canvasInstance = c;
  return c;
}

function render(config: ChartConfiguration): Buffer {
  return renderer().renderToBufferSync(config, "image/png");
}

/** Text with a white box behind it, so labels stay readable over bars. */
function label(ctx: Chart["ctx"], text: string, x: number, y: number, color: string): void {
  const w = ctx.measureText(text).width;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(x - 2, y - 12, w + 4, 16);
  ctx.fillStyle = color;
  ctx.fillText(text, x, y);
}


function baseOptions(title: string, subtitle: string) {
  return {
    animation: false as const,
    responsive: false,
    devicePixelRatio: 1,
    layout: { padding: 12 },
    plugins: {
      title: { display: true, text: title, font: { size: 20, weight: "bold" as const } },
      subtitle: { display: subtitle !== "", text: subtitle, font: { size: 14 }, padding: { bottom: 8 } },
      legend: { position: "bottom" as const, labels: { font: { size: 14 }, boxWidth: 18 } },
      tooltip: { enabled: false },
    },
  };
}

// ---- share -------------------------------------------------------------------------------------

function shareChart(s: ServiceReport): RenderedChart {
  const eps = s.endpoints;
  const labels = eps.map((e) => fit(e.pod || e.address, 28));
  const ranges = eps.map((e) => e.expectedRange95);
  const cis = eps.map((e) => e.ci95);
  const expected = eps.map((e) => e.expectedShare);
  let yMax = 0;
  for (const e of eps) yMax = Math.max(yMax, e.share, e.connectionShare, e.ci95?.upper ?? 0, e.expectedRange95?.upper ?? 0, e.expectedShare ?? 0);
  const top = Math.max(10, Math.min(100, Math.ceil((yMax * 100 * 1.12) / 10) * 10));

  const overlay: Plugin<"bar"> = {
    id: "svcsimShareOverlay",
    beforeDatasetsDraw(chart: Chart) {
      const { ctx } = chart;
      const x = chart.scales.x!;
      const y = chart.scales.y!;
      const half = (x.width / Math.max(1, eps.length)) * 0.42;
      ctx.save();
      ctx.fillStyle = BAND;
      ranges.forEach((r, i) => {
        if (!r) return;
        const cx = x.getPixelForValue(i);
        const y1 = y.getPixelForValue(r.upper * 100);
        const y0 = y.getPixelForValue(r.lower * 100);
        ctx.fillRect(cx - half, y1, 2 * half, y0 - y1);
      });
      ctx.restore();
    },
    afterDatasetsDraw(chart: Chart) {
      const { ctx } = chart;
      const x = chart.scales.x!;
      const y = chart.scales.y!;
      const half = (x.width / Math.max(1, eps.length)) * 0.42;
      const bars = chart.getDatasetMeta(0).data;
      ctx.save();
      // expected share: a dashed line across the endpoint's slot
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = 3;
      ctx.setLineDash([10, 6]);
      expected.forEach((e, i) => {
        if (e === null) return;
        const cx = x.getPixelForValue(i);
        const py = y.getPixelForValue(e * 100);
        ctx.beginPath();
        ctx.moveTo(cx - half, py);
        ctx.lineTo(cx + half, py);
        ctx.stroke();
      });
      // 95 % CI error bars on the request-share bars
      ctx.setLineDash([]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#0d2a4d";
      cis.forEach((ci, i) => {
        const bar = bars[i];
        if (!ci || !bar) return;
        const bx = bar.x;
        const yl = y.getPixelForValue(ci.lower * 100);
        const yu = y.getPixelForValue(ci.upper * 100);
        ctx.beginPath();
        ctx.moveTo(bx, yl);
        ctx.lineTo(bx, yu);
        ctx.moveTo(bx - 8, yl);
        ctx.lineTo(bx + 8, yl);
        ctx.moveTo(bx - 8, yu);
        ctx.lineTo(bx + 8, yu);
        ctx.stroke();
      });
      ctx.restore();
    },
  };

  const verdict = s.perRequest ? `requests: ${s.perRequest.verdict}` : "no fairness test";
  const title = `Share per endpoint: ${s.service}${s.port ? `:${s.port}` : ""}`;
  const config: ChartConfiguration<"bar"> = {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "requests (95% CI)", data: eps.map((e) => e.share * 100), backgroundColor: BLUE },
        { label: "connections", data: eps.map((e) => e.connectionShare * 100), backgroundColor: LIGHT_BLUE },
        // Legend-only entries for what the overlay plugin draws.
        // (line datasets take no bar slot, so the real bars stay centred)
        { type: "line", label: "expected share (dashed)", data: [], borderColor: "#000000", backgroundColor: "#000000" } as never,
        { type: "line", label: "95% range if balanced as expected", data: [], borderColor: BAND, backgroundColor: BAND } as never,
      ],
    },
    options: {
      ...baseOptions(title, verdict),
      scales: {
        x: { ticks: { font: { size: 13 }, maxRotation: 0, autoSkip: false } },
        y: { min: 0, max: top, title: { display: true, text: "share (%)" }, ticks: { font: { size: 13 } } },
      },
    },
    plugins: [overlay],
  };
  const id = shareChartId(s.service, s.port);
  const alt = `${title}. ${eps.map((e) => `${e.pod || e.address}: ${(e.share * 100).toFixed(1)}% of requests${e.expectedShare === null ? "" : `, ${(e.expectedShare * 100).toFixed(1)}% expected`}`).join("; ")}. ${verdict}.`;
  return { id, file: `${id}.png`, title, alt, png: render(config as ChartConfiguration) };
}

// ---- outcomes over time ----------------------------------------------------------------------

function outcomesChart(report: Report): RenderedChart {
  const buckets = report.outcomes.overTime;
  const interval = report.run.intervalMs;
  const labels = buckets.map((b) => (b.startMs / 1000).toFixed(interval >= 1000 ? 0 : interval >= 100 ? 1 : interval >= 10 ? 2 : 3));
  const events = report.outcomes.events;
  const markers: Plugin<"bar"> = {
    id: "svcsimFaultMarkers",
    afterDatasetsDraw(chart: Chart) {
      if (events.length === 0) return;
      const { ctx, chartArea } = chart;
      const x = chart.scales.x!;
      const slot = x.width / Math.max(1, buckets.length);
      ctx.save();
      ctx.strokeStyle = "#b71c1c";
      ctx.fillStyle = "#b71c1c";
      ctx.lineWidth = 2;
      ctx.font = `13px "${FONT_FAMILY}"`;
      events.forEach((e, i) => {
        const px = x.left + (e.timeMs / interval) * slot;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        const text = fit(`${e.action} ${e.detail}`, 36);
        const w = ctx.measureText(text).width;
        const tx = px + 4 + w > chartArea.right ? px - 4 - w : px + 4;
        label(ctx, text, tx, chartArea.top + 16 + (i % 4) * 18, "#b71c1c");
      });
      ctx.restore();
    },
  };
  const config: ChartConfiguration<"bar"> = {
    type: "bar",
    data: {
      labels,
      datasets: OUTCOMES.map((o) => ({ label: o, data: buckets.map((b) => b[o]), backgroundColor: COLORS[o], barPercentage: 1, categoryPercentage: 0.95 })),
    },
    options: {
      ...baseOptions("Request outcomes over time", `per ${interval} ms of simulated time, by completion${events.length ? "; dashed lines: timeline events" : ""}`),
      scales: {
        x: { stacked: true, title: { display: true, text: "simulated time (s)" }, ticks: { font: { size: 13 }, maxRotation: 0, autoSkip: true, maxTicksLimit: 20 } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: "requests" }, ticks: { font: { size: 13 }, precision: 0 } },
      },
    },
    plugins: [markers],
  };
  const q = report.requests;
  const alt = `Outcomes over time: ${q.sent} requests, ${q.ok} ok, ${q.failed.refused} refused, ${q.failed.reset} reset, ${q.failed.timeout} timed out, ${q.failed.error} errors${events.length ? `; events: ${events.map((e) => `${e.action} at ${(e.timeMs / 1000).toFixed(3)} s`).join(", ")}` : ""}.`;
  return { id: "outcomes", file: "outcomes.png", title: "Request outcomes over time", alt, png: render(config as ChartConfiguration) };
}

// ---- latency -------------------------------------------------------------------------------

function latencyChart(report: Report): RenderedChart | null {
  const h = report.latency.histogram;
  const l = report.latency.overall;
  if (!h || !l) return null;
  const xMax = h.counts.length * h.binMs;
  let cum = 0;
  const cdf = [{ x: 0, y: 0 }, ...h.counts.map((c, i) => ({ x: (i + 1) * h.binMs, y: ((cum += c) / l.n) * 100 }))];
  const lines: Plugin = {
    id: "svcsimPercentiles",
    afterDatasetsDraw(chart: Chart) {
      const { ctx, chartArea } = chart;
      const x = chart.scales.x!;
      ctx.save();
      ctx.font = `13px "${FONT_FAMILY}"`;
      ctx.fillStyle = "#212121";
      ctx.strokeStyle = "#424242";
      ctx.lineWidth = 1.5;
      ctx.setLineDash([4, 4]);
      ([["p50", l.p50], ["p90", l.p90], ["p99", l.p99]] as const).forEach(([name, v], i) => {
        const px = x.getPixelForValue(v);
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        const text = `${name} ${v} ms`;
        const w = ctx.measureText(text).width;
        label(ctx, text, px + 4 + w > chartArea.right ? px - 4 - w : px + 4, chartArea.top + 16 + i * 18, "#212121");
      });
      ctx.restore();
    },
  };
  const config: ChartConfiguration = {
    type: "bar",
    data: {
      datasets: [
        { type: "bar", label: "requests per bin", data: h.counts.map((c, i) => ({ x: (i + 0.5) * h.binMs, y: c })), backgroundColor: BLUE, yAxisID: "y", barPercentage: 1, categoryPercentage: 1, borderWidth: 0, order: 2 },
        { type: "line", label: "cumulative %", data: cdf, borderColor: "#ef6c00", backgroundColor: "#ef6c00", yAxisID: "y2", pointRadius: 0, borderWidth: 2.5, order: 1 },
      ],
    },
    options: {
      ...baseOptions("Latency of ok requests", `n=${l.n}, bins of ${h.binMs} ms; p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms`),
      scales: {
        x: { type: "linear", min: 0, max: xMax, offset: false, title: { display: true, text: "latency (ms)" }, ticks: { font: { size: 13 }, maxRotation: 0, maxTicksLimit: 16 } },
        y: { beginAtZero: true, title: { display: true, text: "requests" }, ticks: { font: { size: 13 }, precision: 0 } },
        y2: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "cumulative (%)" }, ticks: { font: { size: 13 } } },
      },
    },
    plugins: [lines],
  };
  const alt = `Latency histogram of ${l.n} ok requests: p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms.`;
  return { id: "latency", file: "latency.png", title: "Latency of ok requests", alt, png: render(config) };
}

/** All charts of one run's report: a share chart per service with requests, outcomes, latency. */
export function renderCharts(report: Report): RenderedChart[] {
  const out: RenderedChart[] = [];
  for (const s of report.services) if (s.requests.sent > 0 && s.endpoints.length > 0) out.push(shareChart(s));
  if (report.requests.sent > 0) out.push(outcomesChart(report));
  const lat = latencyChart(report);
  if (lat) out.push(lat);
  return out;
}

// ---- sweep ---------------------------------------------------------------------------------

/** One histogram per fairness metric: its values across the sweep's runs. */
export function renderSweepCharts(agg: SweepAggregate): RenderedChart[] {
  const out: RenderedChart[] = [];
  for (const name of FAIRNESS_SWEEP_METRICS) {
    const m = agg.metrics.find((x) => x.metric === name);
    if (!m || m.n === 0 || m.min === null || m.max === null) continue;
    const isP = name.endsWith(".p");
    const lo = isP ? 0 : m.min;
    const hi = isP ? 1 : m.max;
    const bins = isP ? 20 : Math.max(1, Math.min(20, Math.ceil(Math.sqrt(m.n))));
    const width = hi > lo ? (hi - lo) / bins : 1;
    const counts = new Array<number>(bins).fill(0);
    for (const v of m.values) if (v !== null && Number.isFinite(v)) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]!++;
    const labels = counts.map((_, i) => Number((lo + i * width).toPrecision(3)).toString());
    const uniform = m.n / bins;
    const guide: Plugin<"bar"> = {
      id: "svcsimSweepGuide",
      afterDatasetsDraw(chart: Chart) {
        if (!isP) return;
        const { ctx, chartArea } = chart;
        const y = chart.scales.y!;
        const x = chart.scales.x!;
        ctx.save();
        ctx.strokeStyle = "#000000";
        ctx.lineWidth = 2;
        ctx.setLineDash([8, 5]);
        const py = y.getPixelForValue(uniform);
        ctx.beginPath();
        ctx.moveTo(chartArea.left, py);
        ctx.lineTo(chartArea.right, py);
        ctx.stroke();
        // alpha threshold
        const px = x.left + (agg.alpha / width) * (x.width / bins);
        ctx.strokeStyle = "#c62828";
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.restore();
      },
    };
    const g = (v: number | null) => (v === null ? "-" : String(Number(v.toPrecision(3))));
    const sub = `${m.n} runs; mean ${g(m.mean)}, sd ${g(m.sd)}, median ${g(m.median)}, p5-p95 ${g(m.p5)}-${g(m.p95)}` + (isP ? `; dashed: uniform (fair); red: p=${agg.alpha}` : "");
    const title = `${name} across ${agg.runs} seeds: ${agg.scenario}`;
    const config: ChartConfiguration<"bar"> = {
      type: "bar",
      data: { labels, datasets: [{ label: `runs per bin (bin width ${Number(width.toPrecision(3))})`, data: counts, backgroundColor: isP && name === "fairness.p" ? BLUE : LIGHT_BLUE, barPercentage: 1, categoryPercentage: 0.95 }] },
      options: {
        ...baseOptions(fit(title, 70), sub),
        scales: {
          x: { title: { display: true, text: `${name} (bin start)` }, ticks: { font: { size: 13 }, maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
          y: { beginAtZero: true, title: { display: true, text: "runs" }, ticks: { font: { size: 13 }, precision: 0 } },
        },
      },
      plugins: [guide],
    };
    const id = sweepChartId(name);
    out.push({ id, file: `${id}.png`, title, alt: `${title}. ${sub}.`, png: render(config as ChartConfiguration) });
  }
  return out;
}
