/**
 * Helpers of the breadth CLI tests: ./sim run as a user would (like run-cli.ts), but
 * asynchronously, so a spec table's many invocations run side by side.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { ROOT, type CliResult } from "./run-cli.ts";

export const BREADTH = resolve(ROOT, "test/fixtures/breadth");

export function simAsync(args: readonly string[]): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(resolve(ROOT, "sim"), args, { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    p.on("error", rej);
    p.on("close", (code) => res({ stdout, stderr, code: code ?? -1 }));
  });
}

/** Runs every argument list with at most `width` processes at a time; results in input order. */
export async function simMany(jobs: readonly (readonly string[])[], width = 3): Promise<CliResult[]> {
  const out: CliResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await simAsync(jobs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return out;
}
