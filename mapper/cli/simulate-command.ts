// `intentmap simulate`: replays every stored edge through a NetworkPolicy set and prints each
// edge's verdict with the why, totals per server and per client, and (with --compare) the edges
// whose verdict changes between two sets.
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError, UserError } from './errors.js';
import { parseDurationMs } from './options.js';
import type { NetworkPolicy } from '../policy/model.js';

/** Options of `intentmap simulate` after parsing. */
interface SimulateCommandOptions {
  readonly db: string;
  readonly policies?: string;
  readonly compare?: string;
  readonly format: 'table' | 'json' | 'md';
  readonly snapshot?: string;
  readonly since?: string;
  readonly namespace?: string;
  readonly now?: string;
  readonly failOnBlocked: boolean;
}

/** Adds `simulate` to the program. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'Replay every observed edge through a set of NetworkPolicies: allowed or would be blocked, and why.',
    )
    .requiredOption('--db <file>', 'the intentmap database')
    .option(
      '--policies <dir>',
      "a directory (or file) of NetworkPolicy manifests to judge; default: the --snapshot's NetworkPolicies (the cluster's current ones)",
    )
    .option(
      '--compare <dir>',
      'a second policy set: list the edges whose verdict changes from --policies to it',
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json', 'md']).default('table'),
    )
    .option(
      '--snapshot <dir>',
      'manifests of the cluster (Namespaces, workloads, Services) for labels the store lacks',
    )
    .option('--since <duration>', 'only edges seen within this period, e.g. 14d')
    .option('--namespace <ns>', 'only edges whose client or server is in this namespace')
    .option('--now <time>', 'the clock for --since (ISO 8601 or epoch ms); default: the current time')
    .option(
      '--fail-on-blocked',
      'exit with status 1 when an edge would be blocked (the output is still printed)',
      false,
    )
    .action(async (opts: SimulateCommandOptions) => {
      await runSimulate(opts);
    });
}

async function runSimulate(opts: SimulateCommandOptions): Promise<void> {
  const [load, engine, replay, { formatIntentIssue }] = await Promise.all([
    import('../intents/load.js'),
    import('../report/policy-engine.js'),
    import('../report/replay.js'),
    import('../intents/model.js'),
  ]);
  let now: number;
  try {
    now = load.parseNow(opts.now, Date.now());
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const since = opts.since !== undefined ? now - parseDurationMs(opts.since, '--since') : undefined;
  const readSet = async (dir: string, flag: string): Promise<NetworkPolicy[]> => {
    const loaded = await load.loadPolicyObjects(dir);
    if (loaded.files === 0)
      throw new UserError(
        `${flag} ${dir}: no .yaml, .yml or .json files found. Point it at a directory of NetworkPolicy manifests.`,
      );
    const decoded = engine.decodeManifestPolicies(loaded.objects);
    for (const i of [...loaded.issues, ...decoded.issues])
      process.stderr.write(`intentmap: ${formatIntentIssue(i)}\n`);
    return decoded.policies;
  };
  if (opts.policies === undefined && opts.snapshot === undefined) {
    throw new UsageError(
      "give --policies DIR (the set to judge), or --snapshot DIR to judge the cluster's current NetworkPolicies.",
    );
  }
  const policies = await readSet(
    opts.policies ?? (opts.snapshot as string),
    opts.policies !== undefined ? '--policies' : '--snapshot',
  );
  const compare = opts.compare !== undefined ? await readSet(opts.compare, '--compare') : undefined;
  const { db, store } = await load.openStoreForRead(opts.db);
  try {
    const cluster = await load.loadClusterView(store, opts.snapshot);
    for (const i of cluster.issues) process.stderr.write(`intentmap: ${formatIntentIssue(i)}\n`);
    const edges = load.loadReplayEdges(store, {
      ...(since !== undefined ? { since } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    });
    const result = replay.simulate(edges, policies, cluster.view, compare);
    process.stdout.write(replay.renderSimulation(result, opts.format));
    if (opts.failOnBlocked && result.totals.blocked > 0)
      throw new UserError(`${result.totals.blocked} observed edge(s) would be blocked.`);
  } finally {
    db.close();
  }
}
