/** Public API of the scenario layer (what the CLI wires). */
export { loadScenario, loadScenarioText, appForImage, type LoadOptions, type LoadResult } from "./load.ts";
export { buildInitialState } from "./build.ts";
export { scenarioSchema, SCHEMA_ID, EXPECTATION_METRICS, TIMELINE_ACTIONS } from "./schema.ts";
export { parseDuration, tryParseDuration, formatDuration } from "./duration.ts";
export type * from "./types.ts";
