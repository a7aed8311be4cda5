/**
 * The cluster at t=0: every object of the scenario applied, every controller run to completion
 * (Deployments → ReplicaSets → pods scheduled, addressed, Running and Ready → EndpointSlices), with
 * the scenario's pins honoured. Later events drive the same recipes (cluster/recipes.ts).
 */
import { produce } from "immer";
import type { ClusterDraft } from "../cluster/recipes.ts";
import type { ClusterState } from "../cluster/types.ts";
import { objKey } from "../cluster/types.ts";
import {
  addNode,
  applyDeployment,
  applyEndpointSlice,
  applyEndpoints,
  applyPod,
  applyService,
  convergeCluster,
  emptyClusterState,
  pinPod,
  pinTemplateHash,
} from "../cluster/recipes.ts";
import type { Scenario } from "./types.ts";

/**
 * `rand` is a seeded uniform [0,1) stream reserved for cluster names (pod and slice suffixes),
 * e.g. rng.stream("cluster/names"); the same scenario and stream give the same cluster.
 *
 * The recipes write a fresh object that nothing else holds, not an immer draft: the t=0 state has
 * no previous version to share structure with, and drafting 100,000 new pods costs immer seconds
 * and hundreds of MB (it tracks and then re-walks every assigned object). The finished state is
 * then handed to immer once (an empty `produce`), which deep-freezes it exactly when auto-freeze is
 * on (tests) and returns it untouched in production (productionMode()).
 */
export function buildInitialState(scenario: Scenario, rand: () => number): ClusterState {
  const { serviceCIDR, clusterCIDR, clusterDomain } = scenario.cluster;
  const now = 0;
  const state = emptyClusterState({ serviceCIDR, clusterCIDR, clusterDomain });
  build(state as ClusterDraft, scenario, rand, now);
  return produce(state, () => {});
}

function build(d: ClusterDraft, scenario: Scenario, rand: () => number, now: number): void {
  for (const n of scenario.cluster.nodes) addNode(d, n);
  for (const ob of scenario.objects) {
    switch (ob.kind) {
      case "Deployment": applyDeployment(d, ob.input, now); break;
      case "Service": applyService(d, ob.input, now); break;
      case "Pod": applyPod(d, ob.input, now); break;
      case "EndpointSlice": applyEndpointSlice(d, ob.input, now); break;
      case "Endpoints": break; // after all Services exist (below)
    }
  }
  for (const ob of scenario.objects) {
    if (ob.kind !== "Endpoints") continue;
    const svc = d.services[objKey(ob.input.namespace, ob.input.name)];
    // The endpoints controller owns Endpoints of Services with a selector; hand-written ones are ignored (load warns).
    if (svc?.spec.selector) continue;
    applyEndpoints(d, ob.input, { now, rand });
  }
  for (const p of scenario.pin.pods) {
    pinPod(d, { namespace: p.namespace, name: p.name, ...(p.ip ? { ip: p.ip } : {}), ...(p.node ? { node: p.node } : {}), ...(p.deployment ? { deployment: p.deployment } : {}) });
    if (p.deployment && p.templateHash) pinTemplateHash(d, objKey(p.namespace, p.deployment), p.templateHash);
  }
  convergeCluster(d, { now, rand }, { markReady: true });
}

