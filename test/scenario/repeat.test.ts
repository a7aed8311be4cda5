/**
 * `repeat: N` manifests: when every `${i}` is inside a string value the template is parsed once and
 * copied (load.ts expandRepeat); otherwise every copy is parsed. Both must give the same scenario
 * and the same error lines. Each row is loaded as written and with a trailing `# ${i}` comment line
 * (which forces parsing every copy without moving anything), and the outcomes must be equal.
 */
import { describe, expect, it } from "vitest";
import { loadScenarioText, expandRepeat } from "../../src/scenario/load.ts";
import { parseYamlDocuments } from "../../src/scenario/source.ts";

const head = `apiVersion: svcsim/v1
kind: Scenario
metadata:
  name: t
cluster:
  serviceCIDR: 10.0.0.0/16
  clusterCIDR: 10.1.0.0/16
  nodes:
  - {name: node-1, ip: 192.168.0.11, podCIDR: 10.1.1.0/24}
manifests:
`;

const DEP = `    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web-\${i}}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web-\${i}}}
      template:
        metadata: {labels: {app: web-\${i}}}
        spec:
          containers:
          - {name: c, image: "img:\${i}", ports: [{containerPort: 8080}]}
`;

function scenario(inline: string, repeat: number, forceSlow = false, before = ""): string {
  // A comment at the end of the template's last line: nothing moves, yet every copy must be parsed.
  const body = forceSlow ? inline.replace(/\n$/, " # ${i}\n") : inline;
  return `${head}${before}- repeat: ${repeat}\n  inline: |\n${body}`;
}

function outcome(text: string): string {
  try {
    const { scenario: s, warnings } = loadScenarioText(text, "s.yaml");
    return JSON.stringify({ objects: s.objects, warnings });
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

const rows = [
  { name: "Deployments and Services with ${i} in names, labels and a quoted image", shared: true, repeat: 12,
    inline: `${DEP}    ---\n    apiVersion: v1\n    kind: Service\n    metadata: {name: web-\${i}, labels: {team: "t\${i}"}}\n    spec: {selector: {app: web-\${i}}, ports: [{port: 80, targetPort: 8080}]}\n`,
    check: (t: string) => expect(t).toContain('"name":"web-11"') },
  { name: "error after a ${i} on the same line: the column is the copy's (copy 11 clashes with an earlier manifest)", shared: true, repeat: 12,
    inline: `    apiVersion: v1\n    kind: Service\n    metadata: {labels: {a: x\${i}}, name: s-\${i}}\n    spec: {selector: {app: a}, ports: [{port: 80}]}\n`,
    before: `- apiVersion: v1\n  kind: Service\n  metadata: {name: s-11}\n  spec: {selector: {app: a}, ports: [{port: 80}]}\n`,
    // copy 11 reads "    metadata: {labels: {a: x11}, name: s-11}": the name starts at column 40 (41 in the template)
    check: (t: string) => expect(t).toMatch(/^error: s\.yaml:19:40: manifests\[1\]\.inline\[0\]\.metadata\.name: duplicate Service "default\/s-11"/) },
  { name: "schema error in one copy only (an invalid name), positioned in the template", shared: true, repeat: 3,
    inline: `    apiVersion: v1\n    kind: Service\n    metadata: {labels: {a: x\${i}}, name: "S\${i}"}\n    spec: {selector: {app: a}, ports: [{port: 80}]}\n`,
    check: (t: string) => expect(t).toMatch(/^error: s\.yaml:15:39: manifests\[0\]\.inline\[0\]\.metadata\.name: expected .*"S0"$/) },
  { name: "${i} as a number (replicas) parses every copy", shared: false, repeat: 3,
    inline: DEP.replace("replicas: 2", "replicas: ${i}"),
    check: (t: string) => expect(t).toContain('"replicas":2') },
  { name: "${i} in a key parses every copy", shared: false, repeat: 3,
    inline: DEP.replace("{labels: {app: web-${i}}}", "{labels: {app: web-${i}, k${i}: v}}"),
    check: (t: string) => expect(t).toContain('"k2":"v"') },
  { name: "a YAML syntax error is reported as before", shared: false, repeat: 3,
    inline: DEP.replace("{name: web-${i}}", "{name: [web-${i}}"),
    check: (t: string) => expect(t).toMatch(/^error: s\.yaml:\d+:\d+: manifests\[0\]\.inline: YAML syntax error/) },
];

describe("repeat: one parse for string-only ${i}, the same results as parsing every copy", () => {
  it.each(rows)("$name", ({ inline, repeat, before, check, shared }) => {
    const fast = outcome(scenario(inline, repeat, false, before));
    const slow = outcome(scenario(inline, repeat, true, before));
    expect(fast).toBe(slow);
    check(fast);
    let parses = 0;
    const template = inline.replace(/^ {4}/gm, "");
    try {
      expandRepeat(repeat, template, (t) => { parses++; return parseYamlDocuments(t, "x.yaml"); });
    } catch { /* syntax-error row: every copy fails */ }
    if (shared) expect(parses).toBe(1);
    else expect(parses).toBeGreaterThan(1);
  });
});
