/**
 * renderText: the terminal report (`./sim run` prints it and saves it as report.txt). Every line
 * fits 80 columns: tables shrink the pod-name column with a middle ellipsis, prose wraps with a
 * hanging indent, verbatim rule lines hard-wrap with an indented continuation.
 *
 * Sections: header, client (curl) output, one distribution table per service with its fairness
 * lines, outcomes, latency, clients, findings, then the node rules with counters, conntrack and a
 * packet explanation when the report carries them.
 */
import { formatP } from "./stats.ts";
import { fit, hardWrap, table, wrap, WIDTH } from "./layout.ts";
import { OUTCOMES, type FairnessView, type LatencySummary, type Report, type ServiceReport } from "./model.ts";

export interface TextOptions {
  /** Include the rules with counters, conntrack listing and packet explanation (default true). */
  readonly verbatim?: boolean;
}

const MAX_INTERVAL_ROWS = 12;

const pct1 = (x: number): string => (x * 100).toFixed(1);
const ms3 = (x: number): string => x.toFixed(3);
const mm = (v: number | null): string => (v === null ? "inf" : v.toFixed(2));

function heading(title: string): string[] {
  const t = fit(title, WIDTH);
  return ["", t, "-".repeat(Math.min(WIDTH, [...t].length))];
}

export function fairnessLines(label: string, f: FairnessView | null): string[] {
  if (!f) return wrap(`${label}: not enough endpoints or observations to test`, "", "  ");
  const stat = f.chiSquare.statistic === null ? "inf" : f.chiSquare.statistic.toFixed(2);
  return [
    ...wrap(`${label}: ${f.verdict}`, "", "  "),
    ...wrap(`chi-square ${stat} (df ${f.chiSquare.df}, p${formatP(f.chiSquare.p)}), Jain ${f.jain.toFixed(3)}, CV ${f.cv.toFixed(3)}, max/min ${mm(f.maxMin)}, max deviation ${pct1(f.maxDeviation)} pts`, "  ", "  "),
  ];
}

function serviceSection(s: ServiceReport): string[] {
  const out = heading(`Distribution: ${s.service}${s.port ? `:${s.port}` : ""} (${s.clusterIP})`);
  const rows = s.endpoints.map((e) => [
    e.pod || "?",
    e.address,
    String(e.requests),
    pct1(e.share),
    e.expectedShare === null ? "-" : pct1(e.expectedShare),
    e.ci95 ? `${pct1(e.ci95.lower)}-${pct1(e.ci95.upper)}` : "-",
    String(e.connections),
  ]);
  out.push(
    ...table(
      [
        { header: "pod", flex: true },
        { header: "endpoint", flex: true },
        { header: "reqs", right: true },
        { header: "share%", right: true },
        { header: "exp%", right: true },
        { header: "95% CI", right: true },
        { header: "conns", right: true },
      ],
      rows,
    ),
  );
  const r = s.requests;
  out.push(...wrap(`${r.sent} requests (${r.ok} ok, ${r.failed.total} failed) over ${s.connections} connections`, "", "  "));
  out.push(...fairnessLines("requests", s.perRequest));
  out.push(...fairnessLines("connections", s.perConnection));
  return out;
}

function latencyRow(name: string, l: LatencySummary): string[] {
  return [name, String(l.n), ms3(l.p50), ms3(l.p90), ms3(l.p99), ms3(l.max)];
}

export function renderText(report: Report, opts: TextOptions = {}): string {
  const out: string[] = [];
  const m = report.meta;
  out.push(...wrap(`svcsim report: ${m.scenario} (seed ${m.seed}, kube-proxy profile ${m.profile})`));
  if (m.description) out.push(...wrap(m.description));
  const q = report.requests;
  out.push(
    ...wrap(
      `Simulated ${(report.run.endMs / 1000).toFixed(3)} s: ${q.sent} requests, ${q.ok} ok, ${q.failed.total} failed ` +
        `(refused ${q.failed.refused}, reset ${q.failed.reset}, timeout ${q.failed.timeout}, error ${q.failed.error})`,
    ),
  );

  const c = report.context;
  if (c.curl.length > 0) {
    out.push(...heading(c.curlTotal > c.curl.length ? `Client output (first ${c.curl.length} of ${c.curlTotal} lines)` : "Client output"));
    for (const l of c.curl) out.push(...hardWrap(l, "  "));
  }

  for (const s of report.services) out.push(...serviceSection(s));

  out.push(...heading("Outcomes"));
  if (report.outcomes.byReason.length === 0) out.push("no requests");
  else out.push(...table([{ header: "outcome" }, { header: "reason", flex: true }, { header: "count", right: true }], report.outcomes.byReason.map((b) => [b.outcome, b.reason, String(b.count)])));
  const failing = report.outcomes.overTime.filter((b) => b.refused + b.reset + b.timeout + b.error > 0);
  if (failing.length > 0) {
    out.push(`intervals with failures (${report.run.intervalMs} ms each):`);
    const shown = failing.slice(0, MAX_INTERVAL_ROWS);
    out.push(
      ...table(
        [{ header: "from (s)", right: true }, ...OUTCOMES.map((o) => ({ header: o, right: true }))],
        shown.map((b) => [(b.startMs / 1000).toFixed(3), ...OUTCOMES.map((o) => String(b[o]))]),
        "  ",
      ),
    );
    if (failing.length > shown.length) out.push(`  … ${failing.length - shown.length} more (see the JSON or the chart)`);
  }
  for (const e of report.outcomes.events) out.push(...wrap(`t=${(e.timeMs / 1000).toFixed(3)}s ${e.action} ${e.detail}`, "  event ", "    "));

  out.push(...heading("Latency of ok requests (ms, nearest rank)"));
  const lrows: string[][] = [];
  if (report.latency.overall) lrows.push(latencyRow("all", report.latency.overall));
  for (const s of report.services) for (const e of s.endpoints) if (e.latency) lrows.push(latencyRow(e.pod || e.address, e.latency));
  if (lrows.length === 0) out.push("no successful requests");
  else out.push(...table([{ header: "scope", flex: true }, { header: "n", right: true }, { header: "p50", right: true }, { header: "p90", right: true }, { header: "p99", right: true }, { header: "max", right: true }], lrows));

  if (report.clients.length > 0) {
    out.push(...heading("Clients"));
    out.push(
      ...table(
        [{ header: "client", flex: true }, { header: "service", flex: true }, { header: "sent", right: true }, { header: "ok", right: true }, { header: "failed", right: true }, { header: "conns", right: true }, { header: "req/conn", right: true }],
        report.clients.map((k) => [k.client, k.service || "-", String(k.requests.sent), String(k.requests.ok), String(k.requests.failed.total), String(k.connections), k.requestsPerConnection.toFixed(1)]),
      ),
    );
  }

  if (report.analysis.length > 0) {
    out.push(...heading("Findings"));
    for (const a of report.analysis) out.push(...wrap(a, "- ", "  "));
  }

  if (opts.verbatim ?? true) {
    for (const r of c.rules) {
      out.push(...heading(`Rules with counters: ${r.node}`));
      for (const l of r.text.replace(/\n$/, "").split("\n")) out.push(...hardWrap(l));
    }
    if (c.conntrack) {
      out.push(...heading("Conntrack"));
      for (const l of c.conntrack.replace(/\n$/, "").split("\n")) out.push(...hardWrap(l));
    }
    if (c.packetExplanation) {
      out.push(...heading(`Packet trace: ${c.packetExplanation.title}`));
      for (const l of c.packetExplanation.text.replace(/\n$/, "").split("\n")) out.push(...hardWrap(l));
    }
  }
  return out.join("\n") + "\n";
}
