// `intentmap report`: the "safe to enforce" report. Replays every observed edge under the
// cluster's current NetworkPolicies plus a candidate set (generated from --intents, given as
// --policies, or suggested from the traffic itself) and gives every server a verdict with evidence.
import { writeFile, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError, UserError } from './errors.js';
import { parseDurationMs } from './options.js';
import type { ReportJson } from '../report/report.js';

/** Options of `intentmap report` after parsing. */
interface ReportCommandOptions {
  readonly db: string;
  readonly intents?: string;
  readonly policies?: string;
  readonly snapshot?: string;
  readonly format: 'md' | 'html' | 'json';
  readonly out?: string;
  readonly minWindow: string;
  readonly quietPeriod: string;
  readonly since: string;
  readonly previous?: string;
  readonly now?: string;
  readonly egress: boolean;
}

/** Adds `report` to the program. */
export function register(program: Command): void {
  program
    .command('report')
    .description('Tell, server by server, whether enforcing NetworkPolicies is safe, and what would break.')
    .requiredOption('--db <file>', 'the intentmap database')
    .addOption(
      new Option('--intents <dir>', 'judge the policies generated from these ClientIntents').conflicts(
        'policies',
      ),
    )
    .addOption(new Option('--policies <dir>', 'judge these NetworkPolicy manifests').conflicts('intents'))
    .option(
      '--snapshot <dir>',
      'manifests of the cluster: labels, CronJob schedules, and the NetworkPolicies in force today',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'html', 'json']).default('md'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--min-window <duration>', 'minimum observation window for "safe to enforce"', '7d')
    .option(
      '--quiet-period <duration>',
      'a client first seen within this period means not enough evidence',
      '2d',
    )
    .option('--since <duration>', 'only traffic seen within this period counts', '30d')
    .option('--previous <file>', 'a previous `report --format json` output to compare with')
    .option(
      '--now <time>',
      "the report's clock (ISO 8601 or epoch ms), for reproducible reports; default: the current time",
    )
    .option(
      '--egress',
      'also judge generated egress policies (with --intents or the suggested intents)',
      false,
    )
    .action(async (opts: ReportCommandOptions) => {
      await runReport(opts);
    });
}

async function runReport(opts: ReportCommandOptions): Promise<void> {
  const [load, engine, candidates, report, render, { formatIntentIssue }] = await Promise.all([
    import('../intents/load.js'),
    import('../report/policy-engine.js'),
    import('../report/candidate.js'),
    import('../report/report.js'),
    import('../report/render.js'),
    import('../intents/model.js'),
  ]);
  let now: number;
  try {
    now = load.parseNow(opts.now, Date.now());
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const options = {
    minWindowMs: parseDurationMs(opts.minWindow, '--min-window'),
    quietPeriodMs: parseDurationMs(opts.quietPeriod, '--quiet-period'),
    sinceMs: parseDurationMs(opts.since, '--since'),
  };
  let previous: ReportJson | undefined;
  if (opts.previous !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(opts.previous, 'utf8'));
    } catch (err) {
      throw new UserError(
        `--previous ${opts.previous}: cannot be read as JSON (${(err as Error).message}). Pass a file written by \`intentmap report --format json\`.`,
      );
    }
    const d = report.decodeReportJson(parsed);
    if (!d.ok) throw new UserError(`--previous ${opts.previous} ${d.reason}.`);
    previous = d.value;
  }
  const { db, store } = await load.openStoreForRead(opts.db);
  try {
    const cluster = await load.loadClusterView(store, opts.snapshot);
    const edges = load.loadReplayEdges(store);
    const current = engine.decodeManifestPolicies(cluster.view.networkPolicies);
    const genOptions = {
      egress: opts.egress,
      domainIps: load.loadDomainIps(db),
      apiServerCidrs: load.apiServerAddresses(edges),
    };
    let candidate;
    if (opts.intents !== undefined) {
      const declared = await load.loadIntentsDir(opts.intents);
      if (declared.files === 0)
        throw new UserError(`--intents ${opts.intents}: no .yaml, .yml or .json files found.`);
      const c = candidates.candidateFromIntents(
        declared.intents,
        cluster.view,
        edges.map((e) => e.edge),
        `ClientIntents from ${opts.intents} (${declared.intents.length} documents)`,
        genOptions,
      );
      candidate = { ...c, issues: [...declared.issues, ...c.issues] };
    } else if (opts.policies !== undefined) {
      const loaded = await load.loadPolicyObjects(opts.policies);
      if (loaded.files === 0)
        throw new UserError(`--policies ${opts.policies}: no .yaml, .yml or .json files found.`);
      const decoded = engine.decodeManifestPolicies(loaded.objects);
      candidate = candidates.candidateFromPolicies(
        decoded.policies,
        `NetworkPolicies from ${opts.policies}`,
        [...loaded.issues, ...decoded.issues],
      );
    } else {
      candidate = candidates.candidateFromSuggested(
        edges.map((e) => e.edge),
        cluster.view,
        genOptions,
      );
    }
    const built = report.buildReport({
      now,
      edges,
      cluster: cluster.view,
      candidate,
      current: current.policies,
      options,
      ...(previous !== undefined ? { previous } : {}),
      issues: [...cluster.issues, ...current.issues],
    });
    const text = render.renderReport(built, opts.format);
    if (opts.out !== undefined) {
      await writeFile(opts.out, text);
      const s = built.summary.servers;
      process.stderr.write(
        `intentmap: wrote ${opts.out}: ${s['safe-to-enforce']} safe to enforce, ${s['would-block']} would block, ${s['not-enough-evidence']} not enough evidence, ${s['already-enforced']} already enforced.\n`,
      );
    } else process.stdout.write(text);
    for (const i of built.issues)
      if (i.severity === 'error') process.stderr.write(`intentmap: ${formatIntentIssue(i)}\n`);
  } finally {
    db.close();
  }
}
