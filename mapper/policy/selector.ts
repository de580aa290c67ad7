// Kubernetes label selectors (metav1.LabelSelector): decoding with validation, and matching.
// Semantics: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
// — matchLabels and matchExpressions are ANDed; an empty selector matches everything.

/** The operators of a set-based requirement. */
export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
/** A set-based requirement operator. */
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

/** One matchExpressions entry. */
export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** A decoded label selector. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** A validation problem, located by a dotted field path. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
  /** True for what the API server would reject but netpol-analyzer reads anyway: reported, not fatal. */
  readonly warning?: boolean;
}

/** The result of a decoder that validates: the value, or every problem found. */
export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** The selector that matches everything (`{}`). */
export const MATCH_ALL_SELECTOR: LabelSelector = Object.freeze({ matchLabels: {}, matchExpressions: [] });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decodes and validates a label selector found at `field` (null/undefined is the empty selector). */
export function decodeLabelSelector(raw: unknown, field: string): Decoded<LabelSelector> {
  if (raw === undefined || raw === null) return { ok: true, value: MATCH_ALL_SELECTOR };
  if (!isRecord(raw))
    return { ok: false, problems: [{ field, message: 'must be a label selector (a mapping).' }] };
  const problems: FieldProblem[] = [];
  const matchLabels: Record<string, string> = {};
  if (raw.matchLabels !== undefined && raw.matchLabels !== null) {
    if (!isRecord(raw.matchLabels)) {
      problems.push({
        field: `${field}.matchLabels`,
        message: 'must be a map of label keys to string values.',
      });
    } else {
      for (const [k, v] of Object.entries(raw.matchLabels)) {
        if (typeof v === 'string') matchLabels[k] = v;
        else if (v === null) matchLabels[k] = '';
        else
          problems.push({
            field: `${field}.matchLabels.${k}`,
            message: `value ${JSON.stringify(v)} is not a string. Quote it: ${JSON.stringify(JSON.stringify(v))}.`,
          });
      }
    }
  }
  const matchExpressions: SelectorRequirement[] = [];
  if (raw.matchExpressions !== undefined && raw.matchExpressions !== null) {
    if (!Array.isArray(raw.matchExpressions)) {
      problems.push({ field: `${field}.matchExpressions`, message: 'must be a list of requirements.' });
    } else {
      raw.matchExpressions.forEach((req: unknown, i) => {
        const at = `${field}.matchExpressions[${i}]`;
        const decoded = decodeRequirement(req, at);
        if (decoded.ok) matchExpressions.push(decoded.value);
        else problems.push(...decoded.problems);
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { matchLabels, matchExpressions } };
}

function decodeRequirement(raw: unknown, at: string): Decoded<SelectorRequirement> {
  if (!isRecord(raw))
    return { ok: false, problems: [{ field: at, message: 'must be a mapping with key and operator.' }] };
  const problems: FieldProblem[] = [];
  const key = raw.key;
  if (typeof key !== 'string' || key === '')
    problems.push({ field: `${at}.key`, message: 'key is missing or empty.' });
  const op = raw.operator;
  if (typeof op !== 'string' || !(SELECTOR_OPERATORS as readonly string[]).includes(op)) {
    problems.push({
      field: `${at}.operator`,
      message: `"${String(op)}" is not a valid operator. Use one of ${SELECTOR_OPERATORS.join(', ')}.`,
    });
  }
  let values: string[] = [];
  if (raw.values !== undefined && raw.values !== null) {
    if (!Array.isArray(raw.values) || !raw.values.every((v) => typeof v === 'string')) {
      problems.push({ field: `${at}.values`, message: 'must be a list of strings (quote numbers).' });
    } else values = raw.values;
  }
  // metav1 validation (ValidateLabelSelectorRequirement): In/NotIn need values, Exists/DoesNotExist forbid them.
  if ((op === 'In' || op === 'NotIn') && values.length === 0) {
    problems.push({ field: `${at}.values`, message: `must be non-empty when operator is ${op}.` });
  }
  if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
    problems.push({ field: `${at}.values`, message: `must be empty when operator is ${op}; remove values.` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { key: key as string, operator: op as SelectorOperator, values } };
}

/** A compiled selector: a fast predicate over a label map. */
export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

/** Compiles a selector into a predicate (the empty selector matches every label map). */
export function compileSelector(selector: LabelSelector): LabelMatcher {
  const keys = Object.keys(selector.matchLabels);
  const values = keys.map((k) => selector.matchLabels[k]!);
  const reqs = selector.matchExpressions.map((r) => ({
    key: r.key,
    op: r.operator,
    values: new Set(r.values),
  }));
  if (keys.length === 0 && reqs.length === 0) return () => true;
  // Indexed loops, no destructuring: this runs for every peer check of a replay.
  return (labels) => {
    for (let i = 0; i < keys.length; i++) if (labels[keys[i]!] !== values[i]) return false;
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i]!;
      const value = Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined;
      switch (r.op) {
        case 'In':
          if (value === undefined || !r.values.has(value)) return false;
          break;
        case 'NotIn':
          // NotIn also matches objects without the key (labels.Selector semantics).
          if (value !== undefined && r.values.has(value)) return false;
          break;
        case 'Exists':
          if (value === undefined) return false;
          break;
        case 'DoesNotExist':
          if (value !== undefined) return false;
          break;
      }
    }
    return true;
  };
}

/** Tests whether `labels` satisfy `selector`. */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return compileSelector(selector)(labels);
}

/** True when the selector has no terms, and so matches everything. */
export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}

/** Formats a selector the way kubectl prints one: `app=web,tier in (a,b),!debug`; `{}` when empty. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${r.values.join(',')})`);
  }
  return parts.length === 0 ? '{}' : parts.join(',');
}
