/**
 * The report layer's public API. Charts (native canvas) live in charts.ts and are exported here
 * too; importing this module does not create a canvas until a chart is rendered.
 */
export * from "./model.ts";
export { buildReport, fairnessView } from "./build.ts";
export { renderText, type TextOptions } from "./text.ts";
export { renderMarkdown } from "./markdown.ts";
export { renderHtml } from "./html.ts";
export { renderCharts, renderSweepCharts, CHART_WIDTH, CHART_HEIGHT, type RenderedChart } from "./charts.ts";
export { evaluateExpectations, formatResult, expectationText, junitXml, SUPPORTED_METRICS, type ExpectationSpec, type ExpectationResult, type JUnitSuite } from "./expectations.ts";
export { aggregateSweep, renderSweepText, FAIRNESS_SWEEP_METRICS, SWEEP_SCHEMA, type SweepAggregate, type MetricDistribution } from "./sweep.ts";
