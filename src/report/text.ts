/**
 * renderText: the terminal report (`./sim run` prints it and saves it as report.txt). Every line
 * fits 80 columns: tables shrink the pod-name column with a middle ellipsis, prose wraps with a
 * hanging indent, verbatim rule lines hard-wrap with an indented continuation.
 *
 * Sections: header, client (curl) output, one distribution table per service with its fairness
 * lines, outcomes (with a strip per endpoint: one character per interval), faults (each fault's
 * stage times and its windows' requests), latency, clients, findings, then the node rules with
 * counters, conntrack and a packet explanation when the report carries them.
 */
import { formatP } from "./stats.ts";
import { fit, hardWrap, table, wrap, WIDTH } from "./layout.ts";
import { OUTCOMES, type EndpointTimeline, type FairnessView, type FaultReport, type LatencySummary, type Report, type ServiceReport } from "./model.ts";

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

const STRIP_LABEL = 22;
const STRIP_WIDTH = WIDTH - STRIP_LABEL - 1;

/**
 * One character per interval (intervals merged when there are more than fit): " " nothing sent,
 * "." all ok, else the most frequent failure: R refused, X reset, T timeout, E error (lower case
 * when some requests of the interval were still ok).
 */
function endpointStrips(eps: readonly EndpointTimeline[], intervalMs: number, endMs: number): string[] {
  if (eps.length === 0 || !(intervalMs > 0)) return [];
  const n = Math.floor(endMs / intervalMs) + 1;
  const per = Math.max(1, Math.ceil(n / STRIP_WIDTH));
  const cols = Math.ceil(n / per);
  const out = [`Outcomes per endpoint by start time, one column per ${(intervalMs * per / 1000).toFixed(3)} s`, `(. ok, R refused, X reset, T timeout, E error; lower case: some ok):`];
  for (const e of eps) {
    const acc = Array.from({ length: cols }, () => ({ ok: 0, refused: 0, reset: 0, timeout: 0, error: 0 }));
    for (const b of e.buckets) {
      const c = acc[Math.min(cols - 1, Math.floor(Math.round(b.startMs / intervalMs) / per))]!;
      c.ok += b.ok; c.refused += b.refused; c.reset += b.reset; c.timeout += b.timeout; c.error += b.error;
    }
    const strip = acc.map((c) => {
      const fails: [number, string][] = [[c.refused, "R"], [c.reset, "X"], [c.timeout, "T"], [c.error, "E"]];
      let best: [number, string] = [0, ""];
      for (const f of fails) if (f[0] > best[0]) best = f;
      if (best[0] === 0) return c.ok > 0 ? "." : " ";
      return c.ok > 0 ? best[1].toLowerCase() : best[1];
    }).join("");
    const label = e.endpoint === "" ? "(no endpoint)" : e.pod ? `${e.pod}` : e.endpoint;
    out.push(`${fit(label, STRIP_LABEL).padEnd(STRIP_LABEL)} ${strip}`.replace(/\s+$/, ""));
  }
  return out;
}

const sec = (ms: number | null): string => (ms === null ? "-" : (ms / 1000).toFixed(3));
const plus = (ms: number | null, t0: number): string => (ms === null ? "" : `+${((ms - t0) / 1000).toFixed(3)}`);

function faultSection(f: FaultReport): string[] {
  const out = wrap(`t=${sec(f.timeMs)}s ${f.action} ${f.detail}`, "", "    ");
  const rows: string[][] = [];
  const stage = (name: string, ms: number | null) => rows.push([name, sec(ms), plus(ms, f.timeMs)]);
  stage("probe failure", f.probeFailureMs);
  stage("endpoint not ready", f.notReadyMs);
  const nodes = new Map<string, number>();
  for (const p of f.pods) for (const r of p.rulesUpdatedMs) nodes.set(r.node, Math.max(nodes.get(r.node) ?? 0, r.timeMs));
  for (const [node, ms] of [...nodes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) stage(`rules updated ${node}`, ms);
  if (nodes.size === 0) stage("rules updated", null);
  stage("last new connection", f.lastNewConnectionMs);
  stage("replacement ready", f.replacementReadyMs);
  stage("recovered", f.recoveredMs);
  if (f.pods.length > 0) {
    out.push(...wrap(`pods: ${f.pods.map((p) => `${p.pod}${p.ip ? ` (${p.ip})` : ""}${p.replacement && p.replacement !== p.pod ? ` → ${p.replacement}` : ""}`).join(", ")}`, "  ", "    "));
    out.push(...table([{ header: "stage", flex: true }, { header: "t (s)", right: true }, { header: "after fault", right: true }], rows, "  "));
  }
  out.push(
    ...table(
      [{ header: "window", flex: true }, { header: "from (s)", right: true }, { header: "sent", right: true }, { header: "ok", right: true }, { header: "refused", right: true }, { header: "reset", right: true }, { header: "timeout", right: true }, { header: "error", right: true }],
      f.windows.map((w) => [w.name, sec(w.fromMs), String(w.requests.sent), String(w.requests.ok), String(w.requests.failed.refused), String(w.requests.failed.reset), String(w.requests.failed.timeout), String(w.requests.failed.error)]),
      "  ",
    ),
  );
  const q = f.requests;
  out.push(...wrap(`${q.failed.total} of ${q.sent} requests started until t=${sec(f.untilMs)}s failed; ${q.failed.total > 0 ? `the last failure ended ${(f.timeToRecoveryMs / 1000).toFixed(3)} s after the fault` : "none failed"}`, "  ", "    "));
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
  if (report.faults.length > 0 || failing.length > 0) out.push(...endpointStrips(report.outcomes.perEndpoint, report.run.intervalMs, report.run.endMs));

  if (report.faults.length > 0) {
    out.push(...heading("Faults (times in simulated seconds)"));
    report.faults.forEach((f, i) => {
      if (i > 0) out.push("");
      out.push(...faultSection(f));
    });
  }

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
