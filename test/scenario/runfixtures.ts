/** Scenario texts for the run tests: the seed cluster plus extra Services and clients. */
import { readFileSync } from "node:fs";
import { loadScenarioText } from "../../src/scenario/load.ts";
import type { Scenario } from "../../src/scenario/types.ts";

export const SEED_FILE = new URL("../../scenarios/hostnames-clusterip.yaml", import.meta.url).pathname;

export function seedScenario(): Scenario {
  return loadScenarioText(readFileSync(SEED_FILE, "utf8"), SEED_FILE).scenario;
}

const SEED_CLUSTER = `
apiVersion: svcsim/v1
kind: Scenario
metadata: {name: test}
cluster:
  serviceCIDR: 10.0.0.0/16
  clusterCIDR: 10.1.0.0/16
  nodes:
  - {name: node-1, ip: 192.168.0.11, podCIDR: 10.1.161.0/24}
  - {name: node-2, ip: 192.168.0.12, podCIDR: 10.1.166.0/24}
  - {name: node-3, ip: 192.168.0.13, podCIDR: 10.1.170.0/24}
kubeProxy: {mode: iptables, profile: PROFILE, clusterCIDR: 10.1.0.0/16}
manifests:
- file: manifests/service-via-cluster-ip.yaml
- inline: |
    apiVersion: v1
    kind: Service
    metadata: {name: empty}
    spec:
      clusterIP: 10.0.0.50
      selector: {app: nothing}
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: ghost}
    spec:
      clusterIP: 10.0.0.60
      ports: [{port: 80, targetPort: 9376}]
    ---
    apiVersion: v1
    kind: Endpoints
    metadata: {name: ghost}
    subsets:
    - addresses: [{ip: 10.1.170.99}]
      ports: [{port: 9376}]
pin:
  pods:
  - {name: hostnames-85bc9c579-dsmh9, ip: 10.1.161.47, node: node-1}
  - {name: hostnames-85bc9c579-tx87g, ip: 10.1.166.146, node: node-2}
  - {name: hostnames-85bc9c579-zndz2, ip: 10.1.166.166, node: node-2}
apps:
- image: k8s.gcr.io/serve_hostname
  app: serve_hostname
  serviceTime: {distribution: constant, value: 1ms}
clients:
CLIENTS
run: {seed: 1}
`;

/** The seed cluster (+ Services "empty" without endpoints and "ghost" whose endpoint has no pod) with these clients (YAML list items). */
export function scenarioWith(clients: string, opts: { profile?: "v1.16" | "current"; seed?: number } = {}): Scenario {
  const text = SEED_CLUSTER.replace("PROFILE", opts.profile ?? "v1.16").replace("clients:\nCLIENTS", clients.trim() === "" ? "clients: []" : `clients:\n${clients}`).replace("run: {seed: 1}", `run: {seed: ${opts.seed ?? 1}}`);
  return loadScenarioText(text, SEED_FILE).scenario;
}
