/**
 * Durations as Go's time.ParseDuration reads them ("500ms", "1s", "1m30s", "1.5h"), returned as
 * integer nanoseconds of simulated time. Negative durations and bare numbers other than "0" are
 * not accepted: a scenario always says its unit.
 */
import { parseDuration as parseEngineDuration } from "../engine/time.ts";

/** The JSON Schema pattern for durations (editors check it; the loader parses with the engine). */
export const DURATION_PATTERN = "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$";

/** Integer nanoseconds, or null when the text is not a duration (one parser: engine/time.ts). */
export function tryParseDuration(text: string): number | null {
  try {
    return parseEngineDuration(text);
  } catch {
    return null;
  }
}

export function parseDuration(text: string): number {
  return parseEngineDuration(text);
}

/** Short text for a duration in ns (for messages): "1.5s", "250ms", "0s". */
export function formatDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns >= 1e9) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0 || ns >= 1e6) return `${ns / 1e6}ms`;
  if (ns >= 1e3) return `${ns / 1e3}us`;
  return `${ns}ns`;
}
