/** Golden-file helper: compares with test/fixtures/kubeproxy/<name>; UPDATE_GOLDENS=1 rewrites. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const DIR = fileURLToPath(new URL("../fixtures/kubeproxy/", import.meta.url));

export function fixture(name: string): string {
  return readFileSync(DIR + name, "utf8");
}

export function expectGolden(name: string, actual: string): void {
  const path = DIR + name;
  if (process.env.UPDATE_GOLDENS === "1" || !existsSync(path)) {
    if (process.env.UPDATE_GOLDENS !== "1") throw new Error(`golden ${name} missing (run with UPDATE_GOLDENS=1 and review it)`);
    writeFileSync(path, actual);
    return;
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}
