// The panels that other parts compute (suggested intents, the safe-to-enforce report, policy
// reasons) reach the web server through these small interfaces. The mapper's composition root
// passes adapters over the intents/report modules; when one is missing the UI says "not
// available" instead of inventing data.
import type { GraphEdge, Identity } from '../../mapper/graph/model.js';
import type { Verdict } from '../shared/view.js';

/** Suggested ClientIntents for client workloads, from their observed edges. */
export interface IntentsProvider {
  /**
   * Multi-document YAML (one ClientIntents per client) for `clients`, from `edges` (the edges
   * whose client is one of them). Deterministic: the same input gives the same text.
   */
  clientIntentsYaml(clients: readonly Identity[], edges: readonly GraphEdge[]): string;
}

/** Per-server verdicts and the flows that would be blocked. */
export interface ReportVerdicts {
  /** Verdict by server identity key (identityKey of the server). */
  readonly servers: ReadonlyMap<string, Verdict>;
  /** Stored edge ids that would be blocked (or are blocked) under the policies in force. */
  readonly blockedEdgeIds: ReadonlySet<number>;
  /** Why a server got its verdict (evidence), by server identity key. */
  readonly reasons?: ReadonlyMap<string, readonly string[]>;
}

/** One policy decision about an edge. */
export interface PolicyDecision {
  /** `namespace/name` of the NetworkPolicy (or the intent that generates it). */
  readonly policy: string;
  readonly effect: 'allow' | 'deny';
  readonly reason: string;
}

/** The safe-to-enforce report over the observed graph. */
export interface ReportProvider {
  /** Verdicts over every stored edge, at time `now` (epoch ms). */
  verdicts(edges: readonly GraphEdge[], now: number): ReportVerdicts;
  /** The policies that allow or deny one edge, with the reason. */
  edgePolicies(edge: GraphEdge, now: number): readonly PolicyDecision[];
  /** The self-contained HTML report. */
  reportHtml(edges: readonly GraphEdge[], now: number): string;
}
