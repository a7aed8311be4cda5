export { ControlPlane, nextGrid, type ControlPlaneOptions, type NetworkState, type PodRuntime, type PodRuntimeListener, type NodeListener, type ProcessState } from "./controlplane.ts";
export { defaultControlPlaneConfig, KUBERNETES_PROBE_DEFAULTS, type AppShutdown, type ControlPlaneConfig } from "./config.ts";
export { KubeProxySyncer, conntrackCommand, conntrackFilter, routedEndpoints, withChainDeletions, type ConntrackDelete, type InstallResult, type InstallRules, type RulesInstall } from "./kubeproxy.ts";
export { applyTimelineEvent, scheduleTimeline, timelineDetail, type ControlTimelineEvent } from "./timeline.ts";
export { emitControl, type ControlAction } from "./events.ts";
