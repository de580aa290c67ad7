// `intentmap export`: prints the stored access graph. `--format json` prints edges in the shape
// of mapper/api/edge-json.ts, one edge per line inside a JSON array, sorted deterministically.
// Other formats (clientintents, networkpolicy) plug in at EXPORT_FORMATS below.
import type { Command } from 'commander';
import type { GraphEdge } from '../graph/model.js';
import type { GraphStore } from '../store/index.js';
import { UsageError, UserError } from './errors.js';
import { withIntentsExportOptions } from '../intents/export-options.js';

/** What an exporter gets: the filtered edges, sorted, and the store for anything else it needs. */
export interface ExportContext {
  readonly edges: readonly GraphEdge[];
  readonly store: GraphStore;
  /** The command's options, for format-specific flags. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Renders the export; returns the text to print. */
export type Exporter = (ctx: ExportContext) => Promise<string> | string;

/**
 * The dispatch point of `--format`: format name → lazily imported exporter. Add a format here
 * with a one-line entry (its module is loaded only when chosen).
 */
export const EXPORT_FORMATS: Readonly<Record<string, () => Promise<Exporter>>> = {
  json: async () => (await import('./export-json.js')).exportJson,
  // ==== further formats (intents engineer): clientintents, networkpolicy ====
  clientintents: async () => (await import('../intents/export.js')).exportClientIntents,
  networkpolicy: async () => (await import('../intents/export.js')).exportNetworkPolicies,
};

interface ExportOptions {
  readonly db: string;
  readonly format: string;
  readonly namespace?: string;
  readonly workload?: string;
  readonly since?: string;
  readonly until?: string;
}

/** Adds the `export` subcommand. */
export function register(program: Command): void {
  withIntentsExportOptions(program.command('export'))
    .description('Print the stored access graph (edges between workload identities).')
    .requiredOption('--db <file>', 'SQLite database written by `intentmap mapper` or `intentmap import`')
    .option('--format <format>', `output format: ${Object.keys(EXPORT_FORMATS).join(', ')}`, 'json')
    .option('--namespace <ns>', 'only edges whose client or server is in this namespace')
    .option(
      '--workload <name>',
      'only edges whose client or server is this workload (NAME or NAMESPACE/NAME)',
    )
    .option(
      '--since <time>',
      'only edges last seen since then: a duration back from now (14d, 1h) or an ISO time',
    )
    .option('--until <time>', 'only edges first seen until then: a duration back from now or an ISO time')
    .action(async (opts: ExportOptions) => {
      const load = EXPORT_FORMATS[opts.format];
      if (load === undefined)
        throw new UsageError(
          `--format: "${opts.format}" is not one of ${Object.keys(EXPORT_FORMATS).join(', ')}.`,
        );
      const [{ openDatabase, GraphStore, StoreError }, { parseGraphFilters }, { compareEdges }] =
        await Promise.all([
          import('../store/index.js'),
          import('../api/graph-query.js'),
          import('../api/edge-json.js'),
        ]);
      const filters = parseGraphFilters(opts, Date.now());
      if (!filters.ok) throw new UsageError(`--${filters.message}`);
      let store: GraphStore;
      try {
        store = new GraphStore(openDatabase(opts.db, { readonly: true }));
      } catch (err) {
        if (err instanceof StoreError) throw new UserError(err.message);
        throw err;
      }
      try {
        const edges = store.queryEdges(filters.value).sort(compareEdges);
        const exporter = await load();
        const text = await exporter({ edges, store, options: { ...opts } });
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      } finally {
        store.db.close();
      }
    });
}
