/**
 * Writing report files so that nothing already written is lost: every file is written to a
 * temporary name beside its target and renamed into place only after all of them were written.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The svcsim checkout (where `sim`, scenarios/ and reports/ live). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const DEFAULT_SCENARIO = join(PACKAGE_ROOT, "scenarios/hostnames-clusterip.yaml");

export function writeAllOrNothing(dir: string, files: readonly { name: string; data: string | Buffer }[]): string[] {
  mkdirSync(dir, { recursive: true });
  const tmp: string[] = [];
  try {
    for (const f of files) {
      const t = join(dir, `.${f.name}.tmp-${process.pid}`);
      writeFileSync(t, f.data);
      tmp.push(t);
    }
  } catch (e) {
    for (const t of tmp) rmSync(t, { force: true });
    throw e;
  }
  return files.map((f, i) => {
    const target = join(dir, f.name);
    renameSync(tmp[i]!, target);
    return target;
  });
}
