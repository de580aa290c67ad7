// `intentmap export --format clientintents|networkpolicy`: the exporters the export command
// dispatches to (mapper/cli/export-command.ts EXPORT_FORMATS). ClientIntents go to stdout as one multi-document YAML stream (or a JSON List with
// `--output json`), or with --out DIR one file per client, so each team can keep its own intents.
// NetworkPolicies are generated from --intents DIR or from the suggested intents.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, UserError } from '../cli/errors.js';
import type { GraphEdge } from '../graph/model.js';
import type { GraphStore } from '../store/graph-store.js';
import { apiServerAddresses, loadClusterView, loadDomainIps, loadIntentsDir } from './load.js';
import { formatIntentIssue, type IntentIssue } from './model.js';
import { generateNetworkPolicies } from './netpol.js';
import {
  clientIntentsToObject,
  intentsFileName,
  renderJsonList,
  renderYamlDocuments,
  type PlainObject,
} from './render.js';
import { INFRA_MODES, suggestIntents, type InfraMode } from './suggest.js';

/** The export formats this module handles. */
export const INTENTS_EXPORT_FORMATS = ['clientintents', 'networkpolicy'] as const;

/** The export command's context, as mapper/cli/export-command.ts passes it. */
export interface IntentsExportContext {
  readonly edges: readonly GraphEdge[];
  readonly store: GraphStore;
  readonly options: Readonly<Record<string, unknown>>;
}

function str(o: Readonly<Record<string, unknown>>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}

function strList(o: Readonly<Record<string, unknown>>, k: string): string[] | undefined {
  const v = o[k];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function report(issues: readonly IntentIssue[]): void {
  for (const i of issues) process.stderr.write(`intentmap: ${formatIntentIssue(i)}\n`);
}

async function emit(
  objects: readonly { name: string; object: PlainObject }[],
  output: string,
  out: string | undefined,
): Promise<string> {
  if (out === undefined) {
    const list = objects.map((o) => o.object);
    return output === 'json' ? renderJsonList(list) : renderYamlDocuments(list);
  }
  await mkdir(out, { recursive: true });
  for (const o of objects) {
    await writeFile(
      join(out, o.name),
      output === 'json' ? `${JSON.stringify(o.object, null, 2)}\n` : renderYamlDocuments([o.object]),
    );
  }
  return `wrote ${objects.length} file(s) to ${out}\n`;
}

function failOnErrors(issues: readonly IntentIssue[]): void {
  const n = issues.filter((i) => i.severity === 'error').length;
  if (n > 0)
    throw new UserError(`${n} error(s) above; the objects they name were not emitted, the others were.`);
}

function suggestFrom(ctx: IntentsExportContext): ReturnType<typeof suggestIntents> {
  const infra = str(ctx.options, 'infra') ?? 'annotate';
  if (!(INFRA_MODES as readonly string[]).includes(infra))
    throw new UsageError(`--infra: "${infra}" is not one of ${INFRA_MODES.join(', ')}.`);
  const namespace = str(ctx.options, 'namespace');
  const workload = str(ctx.options, 'workload');
  return suggestIntents(ctx.edges, {
    infra: infra as InfraMode,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(workload !== undefined ? { workload } : {}),
  });
}

/** `--format clientintents`: one suggested ClientIntents per client workload. */
export async function exportClientIntents(ctx: IntentsExportContext): Promise<string> {
  const output = str(ctx.options, 'output') ?? 'yaml';
  if (str(ctx.options, 'intents') !== undefined)
    throw new UsageError(
      '--intents is for --format networkpolicy; clientintents are suggested from the observed traffic.',
    );
  const s = suggestFrom(ctx);
  const issues: IntentIssue[] = [...s.issues];
  if (s.intents.length === 0)
    issues.push({
      severity: 'warning',
      subject: '--db',
      message:
        'no client workload matched; nothing to export. Widen --since or check --namespace/--workload.',
    });
  report(issues);
  return emit(
    s.intents.map((ci) => ({
      name: intentsFileName(ci, output === 'json' ? 'json' : 'yaml'),
      object: clientIntentsToObject(ci),
    })),
    output,
    str(ctx.options, 'out'),
  );
}

/** `--format networkpolicy`: NetworkPolicies from --intents DIR or from the suggested intents. */
export async function exportNetworkPolicies(ctx: IntentsExportContext): Promise<string> {
  const output = str(ctx.options, 'output') ?? 'yaml';
  const issues: IntentIssue[] = [];
  const intentsDir = str(ctx.options, 'intents');
  let intents;
  if (intentsDir !== undefined) {
    const declared = await loadIntentsDir(intentsDir);
    if (declared.files === 0)
      throw new UserError(`--intents ${intentsDir}: no .yaml, .yml or .json files found.`);
    issues.push(...declared.issues);
    intents = declared.intents;
  } else {
    const s = suggestFrom(ctx);
    issues.push(...s.issues);
    intents = s.intents;
  }
  const cluster = await loadClusterView(ctx.store, str(ctx.options, 'snapshot'));
  issues.push(...cluster.issues);
  const replay = ctx.edges.map((edge) => ({ edge, endpoints: ctx.store.edgeEndpoints(edge.id) }));
  const protect = strList(ctx.options, 'protect');
  const cidrs = strList(ctx.options, 'apiserverCidr');
  const gen = generateNetworkPolicies(intents, cluster.view, {
    egress: ctx.options['egress'] === true,
    ...(protect !== undefined && protect.length > 0 ? { protect } : {}),
    apiServerCidrs: cidrs !== undefined && cidrs.length > 0 ? cidrs : apiServerAddresses(replay),
    domainIps: loadDomainIps(ctx.store.db),
  });
  issues.push(...gen.issues);
  report(issues);
  const text = await emit(
    gen.policies.map((p) => {
      const meta = p.object['metadata'] as { name: string; namespace: string };
      return {
        name: `${meta.namespace}.${meta.name}.${output === 'json' ? 'json' : 'yaml'}`,
        object: p.object,
      };
    }),
    output,
    str(ctx.options, 'out'),
  );
  if (issues.some((i) => i.severity === 'error')) {
    process.stdout.write(text);
    failOnErrors(issues);
  }
  return text;
}
