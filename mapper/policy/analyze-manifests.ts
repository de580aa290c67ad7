// Connectivity analysis from already-loaded manifest objects: decode policies and workloads, run
// the analysis, and gather every issue. Pure; the CLI adds the filesystem.
import type { ManifestIssue, ManifestObject } from '../kube/manifests.js';
import type { ConnectivityEntry, ConnectivityOptions } from './connectivity.js';
import { analyzeConnectivity } from './connectivity.js';
import type { NetworkPolicy } from './model.js';
import { decodePolicies } from './model.js';
import type { Workload } from './workloads.js';
import { buildWorkloads } from './workloads.js';

/** The analysis of one set of manifests. */
export interface ManifestAnalysis {
  readonly entries: readonly ConnectivityEntry[];
  readonly workloads: readonly Workload[];
  readonly policies: readonly NetworkPolicy[];
  readonly issues: readonly ManifestIssue[];
}

/** Decodes workloads and policies from `objects` and lists the allowed connections. */
export function analyzeManifests(
  objects: readonly ManifestObject[],
  options: ConnectivityOptions = {},
): ManifestAnalysis {
  const { policies: sourced, issues: policyIssues } = decodePolicies(objects);
  const { workloads, issues: workloadIssues } = buildWorkloads(objects);
  const policies = sourced.map((s) => s.policy);
  const entries = analyzeConnectivity(workloads, policies, options);
  return { entries, workloads, policies, issues: [...policyIssues, ...workloadIssues] };
}
