// The policy set a report judges: generated from intents (declared or suggested), or given as
// manifests. Intents-based candidates protect every observed in-cluster server, so a server that
// no intent names shows what enforcing it would break (the ProtectedService view).
import type { GraphEdge } from '../graph/model.js';
import { workloadKey, type ClusterView, type ClusterWorkload } from '../intents/cluster.js';
import type { ClientIntents, IntentIssue } from '../intents/model.js';
import {
  generateNetworkPolicies,
  resolveIntents,
  type PolicyGenOptions,
  type ResolvedGrant,
} from '../intents/netpol.js';
import type { PlainObject } from '../intents/render.js';
import { classifyInfrastructure, suggestIntents } from '../intents/suggest.js';
import { decodeGeneratedPolicies, workloadOf, type NetworkPolicy } from './policy-engine.js';

/** Where the candidate policies came from. */
export const CANDIDATE_SOURCES = ['intents', 'suggested', 'policies'] as const;
/** Where the candidate policies came from. */
export type CandidateSource = (typeof CANDIDATE_SOURCES)[number];

/** The policies that would be in force on top of the cluster's current ones. */
export interface Candidate {
  readonly source: CandidateSource;
  /** e.g. `intents from ./intents (12 documents)`. */
  readonly description: string;
  readonly policies: readonly NetworkPolicy[];
  /** The generated objects (empty for `policies`). */
  readonly objects: readonly PlainObject[];
  /** Declared grants, when the candidate came from intents: used to say which intent is missing. */
  readonly grants?: readonly ResolvedGrant[];
  readonly intents?: readonly ClientIntents[];
  readonly issues: readonly IntentIssue[];
}

/**
 * The in-cluster workloads observed as servers, except cluster infrastructure (DNS, the API
 * server): intents do not declare those (see `--infra`), so a deny-all policy for them would be wrong.
 */
export function observedServers(edges: readonly GraphEdge[], cluster: ClusterView): ClusterWorkload[] {
  const out = new Map<string, ClusterWorkload>();
  for (const e of edges) {
    if (e.server.kind !== 'workload' || classifyInfrastructure(e) !== null) continue;
    const w = workloadOf(e.server, cluster);
    if (w !== undefined && !w.hostNetwork) out.set(workloadKey(w), w);
  }
  return [...out.values()];
}

/** A candidate generated from intents; every observed server is protected. */
export function candidateFromIntents(
  intents: readonly ClientIntents[],
  cluster: ClusterView,
  edges: readonly GraphEdge[],
  description: string,
  options: Omit<PolicyGenOptions, 'protectAlso'> = {},
  source: CandidateSource = 'intents',
): Candidate {
  const gen = generateNetworkPolicies(intents, cluster, {
    ...options,
    protectAlso: observedServers(edges, cluster),
  });
  const objects = gen.policies.map((p) => p.object);
  const decoded = decodeGeneratedPolicies(objects);
  return {
    source,
    description,
    policies: decoded.policies,
    objects,
    grants: resolveIntents(intents, cluster).grants,
    intents,
    issues: [...gen.issues, ...decoded.issues],
  };
}

/** A candidate from the intents intentmap suggests for the observed traffic. */
export function candidateFromSuggested(
  edges: readonly GraphEdge[],
  cluster: ClusterView,
  options: Omit<PolicyGenOptions, 'protectAlso'> = {},
): Candidate {
  const s = suggestIntents(edges, { infra: 'annotate' });
  const c = candidateFromIntents(
    s.intents,
    cluster,
    edges,
    `intents suggested from observed traffic (${s.intents.length} clients)`,
    options,
    'suggested',
  );
  return { ...c, issues: [...s.issues, ...c.issues] };
}

/** A candidate from given policies. */
export function candidateFromPolicies(
  policies: readonly NetworkPolicy[],
  description: string,
  issues: readonly IntentIssue[] = [],
): Candidate {
  return { source: 'policies', description, policies, objects: [], issues };
}
