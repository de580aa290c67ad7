// `intentmap diff`: drift between declared ClientIntents (a directory, as kept in git) and the
// traffic observed in the store: missing, unused and unknown intents.
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError, UserError } from './errors.js';
import { parseDurationMs } from './options.js';

/** Options of `intentmap diff` after parsing. */
interface DiffCommandOptions {
  readonly db: string;
  readonly intents: string;
  readonly since: string;
  readonly format: 'text' | 'json' | 'md';
  readonly snapshot?: string;
  readonly now?: string;
  readonly failOnDrift: boolean;
}

/** Adds `diff` to the program. */
export function register(program: Command): void {
  program
    .command('diff')
    .description('Compare declared ClientIntents with observed traffic: missing, unused and unknown intents.')
    .requiredOption('--db <file>', 'the intentmap database')
    .requiredOption('--intents <dir>', 'a directory (or file) of ClientIntents (k8s.otterize.com/v2beta1)')
    .option('--since <duration>', 'the observation window', '14d')
    .addOption(
      new Option('--format <format>', 'output format (md fits a pull-request comment)')
        .choices(['text', 'json', 'md'])
        .default('text'),
    )
    .option('--snapshot <dir>', 'manifests of the cluster, to resolve workloads and Services the store lacks')
    .option('--now <time>', 'the end of the window (ISO 8601 or epoch ms); default: the current time')
    .option(
      '--fail-on-drift',
      'exit with status 1 when anything is missing or unknown (the output is still printed)',
      false,
    )
    .action(async (opts: DiffCommandOptions) => {
      await runDiff(opts);
    });
}

async function runDiff(opts: DiffCommandOptions): Promise<void> {
  const [load, { diffIntents, renderDrift }, { formatIntentIssue }] = await Promise.all([
    import('../intents/load.js'),
    import('../intents/diff.js'),
    import('../intents/model.js'),
  ]);
  let now: number;
  try {
    now = load.parseNow(opts.now, Date.now());
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const since = now - parseDurationMs(opts.since, '--since');
  const declared = await load.loadIntentsDir(opts.intents);
  if (declared.files === 0)
    throw new UserError(
      `--intents ${opts.intents}: no .yaml, .yml or .json files found. Point it at the directory of ClientIntents.`,
    );
  const { db, store } = await load.openStoreForRead(opts.db);
  try {
    const cluster = await load.loadClusterView(store, opts.snapshot);
    const edges = store.queryEdges({ since });
    const drift = diffIntents(declared.intents, edges, cluster.view, { since, until: now });
    const extra = [...declared.issues, ...cluster.issues];
    process.stdout.write(
      renderDrift(
        { ...drift, issues: [...extra, ...drift.issues.filter((i) => !extra.includes(i))] },
        opts.format,
      ),
    );
    if (opts.format !== 'text')
      for (const i of [...extra, ...drift.issues])
        if (i.severity !== 'note') process.stderr.write(`intentmap: ${formatIntentIssue(i)}\n`);
    if (opts.failOnDrift && drift.missing.length + drift.unknown.length > 0) {
      throw new UserError(
        `drift: ${drift.missing.length} missing and ${drift.unknown.length} unknown intent(s).`,
      );
    }
  } finally {
    db.close();
  }
}
