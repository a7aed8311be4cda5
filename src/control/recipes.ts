/**
 * Recipes the timed control plane needs that cluster/recipes.ts does not have yet, written by
 * composing the existing ones (candidates to move into cluster/recipes.ts):
 *
 * - markPodFailed: kubelet reports phase Failed (restartPolicy Never after a non-zero exit).
 * - rolloutTemplate: a new pod template (kubectl set image / rollout restart).
 * - syncDeployment: the Deployment controller's RollingUpdate pacing (maxSurge / maxUnavailable,
 *   apps/v1 defaults 25 % / 25 %) and Recreate, after upstream's rolloutRolling:
 *   reconcileNewReplicaSet (scale the new ReplicaSet up to replicas + maxSurge in total) and, when it
 *   did not scale up, reconcileOldReplicaSets (first drop unhealthy old pods, then scale old
 *   ReplicaSets down, oldest first, while available pods stay >= replicas − maxUnavailable).
 *   "Available" = Ready and not terminating; minReadySeconds is not modelled (treated as 0), nor
 *   proportional scaling of several live ReplicaSets during a rollout, nor progressDeadlineSeconds.
 */
import type { Draft } from "immer";
import { applyDeployment, currentTemplateHash, reconcileDeployment, type ClusterDraft, type ControllerContext } from "../cluster/recipes.ts";
import type { PodState, PodTemplate, ReplicaSetState } from "../cluster/types.ts";
import { objKey } from "../cluster/types.ts";

export function markPodFailed(d: ClusterDraft, key: string): void {
  const pod = d.pods[key];
  if (!pod) return;
  pod.status.phase = "Failed";
  pod.status.ready = false;
  pod.status.running = false;
}

/** New template: every container gets `image` when given; otherwise the restartedAt annotation changes (kubectl rollout restart). */
export function rolloutTemplate(d: ClusterDraft, depKey: string, now: number, image?: string): void {
  const dep = d.deployments[depKey];
  if (!dep) return;
  const t = dep.spec.template as PodTemplate;
  const template: PodTemplate = image !== undefined
    ? { ...t, containers: t.containers.map((c) => ({ ...c, image })) }
    : { ...t, annotations: { ...t.annotations, "kubectl.kubernetes.io/restartedAt": `${now}ns` } };
  applyDeployment(d, { name: dep.meta.name, namespace: dep.meta.namespace, labels: dep.meta.labels, annotations: dep.meta.annotations, spec: { ...(dep.spec as typeof dep.spec & object), template } as never }, now);
}

/** Kubernetes' intstr.GetScaledValueFromIntOrPercent. */
export function resolveIntOrPercent(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0) return n;
    throw new Error(`invalid int-or-percent "${v}"`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

function ownedPods(d: ClusterDraft, rs: Draft<ReplicaSetState>): Draft<PodState>[] {
  const owner = `ReplicaSet/${rs.meta.name}`;
  return Object.values(d.pods).filter((p) => p.meta.namespace === rs.meta.namespace && p.meta.ownerRef === owner);
}
const isActive = (p: Draft<PodState>) => p.meta.deletionTimestamp === undefined && p.status.phase !== "Failed" && p.status.phase !== "Succeeded";
const available = (d: ClusterDraft, rs: Draft<ReplicaSetState>) => ownedPods(d, rs).filter((p) => isActive(p) && p.status.ready).length;

/**
 * One Deployment controller sync. Returns true when it changed a ReplicaSet's replicas (the
 * caller reconciles ReplicaSets after its own delay).
 */
export function syncDeployment(d: ClusterDraft, depKey: string, ctx: ControllerContext): boolean {
  const dep = d.deployments[depKey];
  if (!dep) return false;
  const ns = dep.meta.namespace;
  const owner = `Deployment/${dep.meta.name}`;
  const newName = `${dep.meta.name}-${currentTemplateHash(d, depKey)}`;
  const before = new Map<string, number>();
  for (const rs of Object.values(d.replicaSets)) if (rs.meta.namespace === ns && rs.meta.ownerRef === owner) before.set(rs.meta.name, rs.spec.replicas);
  const hadNew = before.has(newName);
  // Creates the new ReplicaSet when missing (and sets replicas as if there were no pacing).
  reconcileDeployment(d, depKey, ctx);
  const newRS = d.replicaSets[objKey(ns, newName)]!;
  const olds = Object.values(d.replicaSets)
    .filter((rs) => rs.meta.namespace === ns && rs.meta.ownerRef === owner && rs.meta.name !== newName)
    .sort((a, b) => a.meta.creationTimestamp - b.meta.creationTimestamp || (a.meta.name < b.meta.name ? -1 : 1));
  // Restore the pre-sync values; the pacing below decides.
  for (const rs of olds) rs.spec.replicas = before.get(rs.meta.name) ?? 0;
  newRS.spec.replicas = hadNew ? before.get(newName)! : 0;
  const replicas = dep.spec.replicas;
  const oldCount = olds.reduce((n, rs) => n + rs.spec.replicas, 0);
  const changed = () => [...olds, newRS].some((rs) => rs.spec.replicas !== (before.has(rs.meta.name) ? before.get(rs.meta.name) : -1));

  if (oldCount === 0) {
    newRS.spec.replicas = replicas; // plain scaling
    return changed();
  }
  if (dep.spec.strategy.type === "Recreate") {
    for (const rs of olds) rs.spec.replicas = 0;
    const oldPods = olds.some((rs) => ownedPods(d, rs).length > 0);
    if (!oldPods) newRS.spec.replicas = replicas;
    return changed();
  }
  let maxSurge = resolveIntOrPercent(dep.spec.strategy.maxSurge, replicas, true);
  let maxUnavailable = resolveIntOrPercent(dep.spec.strategy.maxUnavailable, replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  // reconcileNewReplicaSet
  if (newRS.spec.replicas > replicas) {
    newRS.spec.replicas = replicas;
    return changed();
  }
  if (newRS.spec.replicas < replicas) {
    const total = oldCount + newRS.spec.replicas;
    const maxTotal = replicas + maxSurge;
    if (total < maxTotal) {
      newRS.spec.replicas += Math.min(maxTotal - total, replicas - newRS.spec.replicas);
      return changed();
    }
  }
  // reconcileOldReplicaSets
  const minAvailable = replicas - maxUnavailable;
  const newUnavailable = newRS.spec.replicas - available(d, newRS);
  const allCount = oldCount + newRS.spec.replicas;
  let maxScaledDown = allCount - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return changed();
  // cleanupUnhealthyReplicas
  for (const rs of olds) {
    if (maxScaledDown <= 0) break;
    const unhealthy = rs.spec.replicas - available(d, rs);
    if (unhealthy <= 0) continue;
    const n = Math.min(unhealthy, maxScaledDown, rs.spec.replicas);
    rs.spec.replicas -= n;
    maxScaledDown -= n;
  }
  // scaleDownOldReplicaSetsForRollingUpdate
  let avail = available(d, newRS);
  for (const rs of olds) avail += Math.min(available(d, rs), rs.spec.replicas);
  let toScale = avail - minAvailable;
  for (const rs of olds) {
    if (toScale <= 0) break;
    const n = Math.min(rs.spec.replicas, toScale);
    rs.spec.replicas -= n;
    toScale -= n;
  }
  return changed();
}
