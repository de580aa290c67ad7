// Compares the verdicts of two policy sets over the same connections: the "before/after" view of
// `simulate` (which observed edges would change verdict if the new policies were applied).
import type { Endpoint, EvaluatorOptions, PolicyEvaluator, Verdict } from './evaluate.js';
import { createEvaluator } from './evaluate.js';
import type { NetworkPolicy } from './model.js';
import type { Protocol } from './ports.js';

/** One connection to judge. Callers may extend it (edge ids, counts); the extra fields are kept. */
export interface Flow {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly protocol: Protocol;
  readonly port: number;
}

/** A connection whose verdict differs between the two policy sets. */
export interface VerdictChange<F extends Flow> {
  readonly flow: F;
  readonly before: Verdict;
  readonly after: Verdict;
}

/** The comparison: changed flows in input order, and counts. */
export interface VerdictComparison<F extends Flow> {
  readonly changed: readonly VerdictChange<F>[];
  /** Allowed before, denied after. */
  readonly newlyDenied: number;
  /** Denied before, allowed after. */
  readonly newlyAllowed: number;
  readonly unchanged: number;
}

/** Compares two evaluators flow by flow (only changed flows get explanations built). */
export function compareVerdicts<F extends Flow>(
  flows: Iterable<F>,
  before: PolicyEvaluator,
  after: PolicyEvaluator,
): VerdictComparison<F> {
  const changed: VerdictChange<F>[] = [];
  let newlyDenied = 0;
  let newlyAllowed = 0;
  let unchanged = 0;
  for (const flow of flows) {
    const a = before.isAllowed(flow.src, flow.dst, flow.protocol, flow.port);
    const b = after.isAllowed(flow.src, flow.dst, flow.protocol, flow.port);
    if (a === b) {
      unchanged++;
      continue;
    }
    if (a) newlyDenied++;
    else newlyAllowed++;
    changed.push({
      flow,
      before: before.evaluate(flow.src, flow.dst, flow.protocol, flow.port),
      after: after.evaluate(flow.src, flow.dst, flow.protocol, flow.port),
    });
  }
  return { changed, newlyDenied, newlyAllowed, unchanged };
}

/** Compares two policy sets over the same flows. */
export function comparePolicySets<F extends Flow>(
  flows: Iterable<F>,
  before: readonly NetworkPolicy[],
  after: readonly NetworkPolicy[],
  options: EvaluatorOptions = {},
): VerdictComparison<F> {
  return compareVerdicts(flows, createEvaluator(before, options), createEvaluator(after, options));
}
