/**
 * renderHtml: one self-contained HTML file (reports/<scenario>/report.html) — inline CSS, charts
 * embedded as data: URIs, no scripts, no external requests (a Content-Security-Policy meta tag
 * forbids any: default-src 'none'). It opens from a file, offline, in a classroom or as a CI artifact.
 *
 * Sections: summary (requests, fairness verdicts, findings), distribution per service with its
 * share chart, outcomes (table, chart, timeline events), latency, clients, client output, the
 * scenario, each node's rules with counters, conntrack, and the packet trace of one connection.
 * Long verbatim sections sit in <details> so the page stays short without needing scripts.
 */
import type { RenderedChart } from "./charts.ts";
import { formatP } from "./stats.ts";
import { shareChartId, type FairnessView, type Report, type ServiceReport } from "./model.ts";

/** Escapes text for HTML element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const mm = (v: number | null): string => (v === null ? "∞" : v.toFixed(2));

const CSS = `
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:0;color:#212121;background:#fafafa;line-height:1.45}
main{max-width:1060px;margin:0 auto;padding:16px 24px 48px;background:#fff}
h1{font-size:1.6em;margin:.4em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:2px solid #e0e0e0;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
.meta{color:#555;margin:0 0 1em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
td{white-space:nowrap}.wrap td{white-space:normal}
.scroll{overflow-x:auto}
th{background:#f0f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2e7d32}.bad{color:#c62828;font-weight:bold}
ul.findings li{margin:.3em 0}
figure{margin:.6em 0 1.2em}figure img{max-width:100%;height:auto;border:1px solid #e0e0e0}
figcaption{font-size:.88em;color:#555}
pre{background:#f5f5f5;border:1px solid #e0e0e0;padding:8px;overflow-x:auto;font-family:"DejaVu Sans Mono",monospace;font-size:.82em;line-height:1.35}
details{margin:.4em 0}summary{cursor:pointer;font-weight:bold}
`;

function fairnessRow(label: string, f: FairnessView | null): string {
  if (!f) return `<tr><th>${esc(label)}</th><td colspan="6">not enough endpoints or observations to test</td></tr>`;
  const cls = f.skewed ? "bad" : "ok";
  return (
    `<tr><th>${esc(label)}</th><td class="${cls}">${esc(f.verdict)}</td><td class="n">${f.chiSquare.statistic === null ? "∞" : f.chiSquare.statistic.toFixed(2)} (df ${f.chiSquare.df})</td>` +
    `<td class="n">p${esc(formatP(f.chiSquare.p))}</td><td class="n">${f.jain.toFixed(3)}</td><td class="n">${f.cv.toFixed(3)}</td><td class="n">${mm(f.maxMin)}</td></tr>`
  );
}

function img(c: RenderedChart | undefined): string {
  if (!c) return "";
  return `<figure><img src="data:image/png;base64,${c.png.toString("base64")}" alt="${esc(c.alt)}" width="1000" height="500"><figcaption>${esc(c.title)}</figcaption></figure>`;
}

function serviceSection(s: ServiceReport, charts: Map<string, RenderedChart>): string {
  const rows = s.endpoints
    .map(
      (e) =>
        `<tr><td>${esc(e.pod || "?")}</td><td>${esc(e.address)}</td><td>${esc(e.node)}</td><td class="n">${e.requests}</td><td class="n">${pct(e.share)}</td>` +
        `<td class="n">${e.expectedShare === null ? "–" : pct(e.expectedShare)}</td><td class="n">${e.ci95 ? `${pct(e.ci95.lower)} – ${pct(e.ci95.upper)}` : "–"}</td>` +
        `<td class="n">${e.connections}</td><td class="n">${pct(e.connectionShare)}</td>` +
        `<td class="n">${e.requests - e.outcomes.ok}</td>` +
        `<td class="n">${e.latency ? e.latency.p50 : "–"}</td><td class="n">${e.latency ? e.latency.p99 : "–"}</td></tr>`,
    )
    .join("\n");
  return `<h3>${esc(s.service)}${s.port ? `:${esc(s.port)}` : ""} <small>(cluster IP ${esc(s.clusterIP)})</small></h3>
<p>${s.requests.sent} requests (${s.requests.ok} ok, ${s.requests.failed.total} failed) over ${s.connections} connections.</p>
<table>
<tr><th>pod</th><th>endpoint</th><th>node</th><th>requests</th><th>share</th><th>expected</th><th>95% CI</th><th>connections</th><th>conn. share</th><th>failed</th><th>p50 ms</th><th>p99 ms</th></tr>
${rows}
</table>
<table>
<tr><th>view</th><th>verdict</th><th>chi-square</th><th>p</th><th>Jain</th><th>CV</th><th>max/min</th></tr>
${fairnessRow("per request", s.perRequest)}
${fairnessRow("per connection", s.perConnection)}
</table>
${img(charts.get(shareChartId(s.service, s.port)))}`;
}

function pre(text: string): string {
  return `<pre>${esc(text.replace(/\n$/, ""))}</pre>`;
}

export function renderHtml(report: Report, charts: readonly RenderedChart[] = []): string {
  const byId = new Map(charts.map((c) => [c.id, c]));
  const m = report.meta;
  const q = report.requests;
  const c = report.context;
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="svcsim">
<title>svcsim report: ${esc(m.scenario)} (seed ${m.seed})</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>svcsim report: ${esc(m.scenario)}</h1>
<p class="meta">seed ${m.seed} · kube-proxy profile ${esc(m.profile)} · ${(report.run.endMs / 1000).toFixed(3)} s simulated · generated by ${esc(m.generatedBy)}</p>
${m.description ? `<p>${esc(m.description)}</p>` : ""}
<h2 id="summary">Summary</h2>
<table>
<tr><th>sent</th><th>ok</th><th>refused</th><th>reset</th><th>timed out</th><th>error</th><th>failed ratio</th></tr>
<tr><td class="n">${q.sent}</td><td class="n">${q.ok}</td><td class="n">${q.failed.refused}</td><td class="n">${q.failed.reset}</td><td class="n">${q.failed.timeout}</td><td class="n">${q.failed.error}</td><td class="n ${q.failed.total > 0 ? "bad" : "ok"}">${pct(q.failedRatio)}</td></tr>
</table>`);
  if (report.fairness) parts.push(`<p>Fairness (${esc(report.fairness.service)}, per request): <strong class="${report.fairness.chiSquare.p < 0.05 ? "bad" : "ok"}">${esc(report.fairness.verdict)}</strong></p>`);
  if (report.analysis.length > 0) parts.push(`<h3>Findings</h3>\n<ul class="findings">\n${report.analysis.map((a) => `<li>${esc(a)}</li>`).join("\n")}\n</ul>`);

  parts.push(`<h2 id="distribution">Distribution</h2>`);
  if (report.services.length === 0) parts.push("<p>No services were listed.</p>");
  for (const s of report.services) parts.push(serviceSection(s, byId));

  parts.push(`<h2 id="outcomes">Outcomes</h2>`);
  if (report.outcomes.byReason.length === 0) parts.push("<p>No requests.</p>");
  else parts.push(`<table>\n<tr><th>outcome</th><th>reason</th><th>count</th></tr>\n${report.outcomes.byReason.map((b) => `<tr><td class="${b.outcome === "ok" ? "ok" : "bad"}">${esc(b.outcome)}</td><td>${esc(b.reason)}</td><td class="n">${b.count}</td></tr>`).join("\n")}\n</table>`);
  parts.push(img(byId.get("outcomes")));
  if (report.outcomes.events.length > 0) parts.push(`<h3>Timeline events</h3>\n<table>\n<tr><th>time (s)</th><th>action</th><th>detail</th></tr>\n${report.outcomes.events.map((e) => `<tr><td class="n">${(e.timeMs / 1000).toFixed(3)}</td><td>${esc(e.action)}</td><td>${esc(e.detail)}</td></tr>`).join("\n")}\n</table>`);

  parts.push(`<h2 id="latency">Latency</h2>`);
  const l = report.latency.overall;
  parts.push(l ? `<p>ok requests: n=${l.n}, p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms, mean ${l.mean} ms (nearest rank).</p>` : "<p>No successful requests.</p>");
  parts.push(img(byId.get("latency")));

  if (report.clients.length > 0) {
    parts.push(`<h2 id="clients">Clients</h2>\n<table>\n<tr><th>client</th><th>service</th><th>sent</th><th>ok</th><th>failed</th><th>connections</th><th>requests/connection</th><th>verdict</th></tr>
${report.clients.map((k) => `<tr><td>${esc(k.client)}</td><td>${esc(k.service || "–")}</td><td class="n">${k.requests.sent}</td><td class="n">${k.requests.ok}</td><td class="n">${k.requests.failed.total}</td><td class="n">${k.connections}</td><td class="n">${k.requestsPerConnection}</td><td>${esc(k.perRequest ? k.perRequest.verdict : "–")}</td></tr>`).join("\n")}\n</table>`);
  }

  if (c.curl.length > 0) parts.push(`<h2 id="client-output">Client output</h2>\n${c.curlTotal > c.curl.length ? `<p>First ${c.curl.length} of ${c.curlTotal} lines.</p>\n` : ""}${pre(c.curl.join("\n"))}`);
  if (c.scenarioYaml) parts.push(`<h2 id="scenario">Scenario</h2>\n<details open><summary>scenario file</summary>${pre(c.scenarioYaml)}</details>`);
  if (c.rules.length > 0) {
    parts.push(`<h2 id="rules">Rules with counters</h2>`);
    for (const r of c.rules) parts.push(`<details><summary>${esc(r.node)}: iptables-save -c</summary>${pre(r.text)}</details>`);
  }
  if (c.conntrack) parts.push(`<h2 id="conntrack">Conntrack</h2>\n<details><summary>conntrack -L</summary>${pre(c.conntrack)}</details>`);
  if (c.packetExplanation) parts.push(`<h2 id="packet-trace">Packet trace${c.packetExplanation.flow !== null ? ` of connection ${c.packetExplanation.flow}` : ""}</h2>\n<h3>${esc(c.packetExplanation.title)}</h3>\n${pre(c.packetExplanation.text)}`);

  parts.push(`</main>\n</body>\n</html>\n`);
  // Wide tables scroll sideways instead of squeezing cells.
  return parts
    .filter((p) => p !== "")
    .join("\n")
    .replace(/<table>/g, '<div class="scroll"><table>')
    .replace(/<\/table>/g, "</table></div>");
}
