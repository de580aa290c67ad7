// Output formats of connectivity analysis: JSON (the corpus' format), connlist text (as
// netpol-analyzer prints it) and a Markdown table. `explain` adds the rules and policies behind
// each line.
import type { ConnectivityEntry } from './connectivity.js';
import type { DirectionConnections } from './evaluate.js';
import { formatRuleRef } from './evaluate.js';
import { formatPorts } from './ports.js';

/** The output formats of `intentmap connectivity`. */
export const CONNECTIVITY_FORMATS = ['json', 'connlist', 'md'] as const;
/** An output format of `intentmap connectivity`. */
export type ConnectivityFormat = (typeof CONNECTIVITY_FORMATS)[number];

/** Text for "every protocol on every port" in connlist and Markdown output. */
export const ALL_CONNECTIONS_TEXT = 'All Connections';

/** The explanation of one direction as data. */
export interface DirectionWhy {
  readonly enforced: boolean;
  readonly isolated: boolean;
  readonly allowedBy: readonly string[];
  readonly isolatedBy: readonly string[];
}

/** One JSON output line. */
export interface ConnectivityJson {
  readonly src: string;
  readonly dst: string;
  readonly conns: 'All' | readonly string[];
  readonly why?: { readonly egress: DirectionWhy; readonly ingress: DirectionWhy };
}

function why(d: DirectionConnections): DirectionWhy {
  return {
    enforced: d.enforced,
    isolated: d.isolated,
    allowedBy: d.allowedBy.map(formatRuleRef),
    isolatedBy: d.isolatedBy,
  };
}

function whyText(d: DirectionConnections): string {
  const who = d.direction === 'egress' ? 'egress' : 'ingress';
  if (!d.enforced) return `${who}: external, not subject to policy`;
  if (!d.isolated) return `${who}: not isolated`;
  return `${who}: allowed by ${d.allowedBy.map(formatRuleRef).join(', ')} (isolated by ${d.isolatedBy.join(', ')})`;
}

function connsText(e: ConnectivityEntry): string {
  const c = formatPorts(e.ports);
  return c === 'All' ? ALL_CONNECTIONS_TEXT : c.join(',');
}

/** Converts entries to the JSON output (the corpus' `expected` format, plus `why` when explained). */
export function toConnectivityJson(entries: readonly ConnectivityEntry[]): ConnectivityJson[] {
  return entries.map((e) => ({
    src: e.src,
    dst: e.dst,
    conns: formatPorts(e.ports),
    ...(e.why ? { why: { egress: why(e.why.egress), ingress: why(e.why.ingress) } } : {}),
  }));
}

function escapeMd(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Renders entries in one of the output formats; the text ends with a newline. */
export function formatConnectivity(
  entries: readonly ConnectivityEntry[],
  format: ConnectivityFormat,
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(toConnectivityJson(entries), null, 2)}\n`;
    case 'connlist':
      return entries
        .map((e) => {
          const line = `${e.src} => ${e.dst} : ${connsText(e)}`;
          return e.why ? `${line}\n    ${whyText(e.why.egress)}\n    ${whyText(e.why.ingress)}` : line;
        })
        .map((l) => `${l}\n`)
        .join('');
    case 'md': {
      const explain = entries.some((e) => e.why);
      const head = explain
        ? '| src | dst | conns | why |\n|---|---|---|---|\n'
        : '| src | dst | conns |\n|---|---|---|\n';
      return (
        head +
        entries
          .map((e) => {
            const cells = [e.src, e.dst, connsText(e)];
            if (explain && e.why) cells.push(`${whyText(e.why.egress)}; ${whyText(e.why.ingress)}`);
            return `| ${cells.map(escapeMd).join(' | ')} |\n`;
          })
          .join('')
      );
    }
  }
}
