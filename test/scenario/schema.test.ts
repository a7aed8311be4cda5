/**
 * The committed JSON Schema (scenarios/scenario.schema.json, for editors and CI users) is exactly
 * the object the loader validates with. Regenerate: UPDATE_SCHEMA=1 npx vitest run test/scenario/schema.test.ts
 */
import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv } from "ajv";
import { scenarioSchema } from "../../src/scenario/schema.ts";

const FILE = resolve(__dirname, "../../scenarios/scenario.schema.json");

describe("scenario JSON Schema", () => {
  it("scenarios/scenario.schema.json equals the exported schema", () => {
    const text = `${JSON.stringify(scenarioSchema, null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA) writeFileSync(FILE, text);
    expect(readFileSync(FILE, "utf8")).toBe(text);
  });

  it("is a valid draft-07 schema that accepts the shipped scenario's structure", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(FILE, "utf8")));
    const ok = { apiVersion: "svcsim/v1", kind: "Scenario", cluster: { serviceCIDR: "10.0.0.0/16", clusterCIDR: "10.1.0.0/16", nodes: [{ name: "n", ip: "192.168.0.1", podCIDR: "10.1.0.0/24" }] }, manifests: [{ file: "x.yaml" }] };
    expect(validate(ok)).toBe(true);
    expect(validate({ ...ok, extra: 1 })).toBe(false);
  });
});
