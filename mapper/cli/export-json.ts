// The `json` export format: a JSON array with one edge per line (diff-friendly), in the shape of
// mapper/api/edge-json.ts.
import { edgeToJson } from '../api/edge-json.js';
import type { ExportContext } from './export-command.js';

/** Renders edges as a JSON array, one edge per line. */
export function exportJson(ctx: ExportContext): string {
  if (ctx.edges.length === 0) return '[]\n';
  return `[\n${ctx.edges.map((e) => JSON.stringify(edgeToJson(e))).join(',\n')}\n]\n`;
}
