// `intentmap connectivity`: static NetworkPolicy connectivity analysis of a manifest directory.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ManifestIssue, ManifestObject } from '../kube/manifests.js';
import { UsageError, UserError } from './errors.js';

/** Options of `intentmap connectivity` after parsing. */
interface ConnectivityCommandOptions {
  readonly resources: readonly string[];
  readonly format: 'json' | 'connlist' | 'md';
  readonly explain: boolean;
  readonly ipblockMatchesPods: boolean;
  readonly strict: boolean;
  readonly verbose: boolean;
}

/** Adds `connectivity` to the program. */
export function register(program: Command): void {
  program
    .command('connectivity')
    .description(
      'List the connections NetworkPolicies allow between the workloads (and external IP ranges) of a directory of manifests.',
    )
    .requiredOption(
      '--resources <path>',
      'a manifest file or directory (YAML/JSON, read recursively); repeat to combine several',
      (value: string, previous: readonly string[] | undefined) => [...(previous ?? []), value],
    )
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['json', 'connlist', 'md'])
        .default('connlist'),
    )
    .option('--explain', 'show the policies and rules behind each connection', false)
    .option(
      '--ipblock-matches-pods',
      'let ipBlocks match pod IPs too (as many CNIs do); default: external IPs only',
      false,
    )
    .option(
      '--strict',
      'exit with status 1 when a manifest has an error (the output is still printed)',
      false,
    )
    .option('--verbose', 'list every skipped object, not only a summary', false)
    .action(async (opts: ConnectivityCommandOptions) => {
      await runConnectivity(opts);
    });
}

async function runConnectivity(opts: ConnectivityCommandOptions): Promise<void> {
  const [
    { loadManifests, formatIssue },
    { analyzeManifests },
    { formatConnectivity },
    { CONNECTIVITY_KINDS },
  ] = await Promise.all([
    import('../kube/manifests.js'),
    import('../policy/analyze-manifests.js'),
    import('../policy/format.js'),
    import('../policy/workloads.js'),
  ]);
  const objects: ManifestObject[] = [];
  const loadIssues: ManifestIssue[] = [];
  for (const path of opts.resources) {
    if (path.trim() === '') throw new UsageError('--resources: give a manifest file or directory.');
    const loaded = await loadManifests(path, { kinds: CONNECTIVITY_KINDS });
    if (loaded.files.length === 0) {
      const why = loaded.issues.find((i) => i.severity === 'error');
      throw new UserError(
        why
          ? `--resources ${path}: ${why.message}`
          : `--resources ${path}: no .yaml, .yml or .json files found. Point it at a directory of manifests.`,
      );
    }
    objects.push(...loaded.objects);
    loadIssues.push(...loaded.issues);
  }
  const analysis = analyzeManifests(objects, {
    explain: opts.explain,
    ipBlockMatchesPods: opts.ipblockMatchesPods,
  });
  const issues = [...loadIssues, ...analysis.issues];
  const errors = issues.filter((i) => i.severity === 'error');
  const notes = issues.filter((i) => i.severity === 'note');
  for (const e of issues.filter((i) => i.severity !== 'note'))
    process.stderr.write(`intentmap: ${formatIssue(e)}\n`);
  if (opts.verbose) for (const n of notes) process.stderr.write(`intentmap: ${formatIssue(n)}\n`);
  else if (notes.length > 0) {
    process.stderr.write(
      `intentmap: note: ${notes.length} object(s) or file(s) skipped (kinds or files connectivity does not read); --verbose lists them.\n`,
    );
  }
  process.stdout.write(formatConnectivity(analysis.entries, opts.format));
  if (errors.length > 0 && opts.strict) {
    throw new UserError(`${errors.length} manifest error(s) (listed above); fix them or drop --strict.`);
  }
}
