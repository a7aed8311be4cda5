/** Runs ./sim as a user would, capturing stdout, stderr and the exit code. */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(__dirname, "../..");

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export function sim(args: readonly string[], opts: { cwd?: string } = {}): CliResult {
  const r = spawnSync(resolve(ROOT, "sim"), args, { cwd: opts.cwd ?? ROOT, encoding: "utf8", timeout: 60_000 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}
