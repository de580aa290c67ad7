// Renders the Helm chart for tests and tooling through deploy/render-manifests.sh, which runs
// `helm template` when helm is installed and deploy/helm-render (Go text/template + sprig, the
// parts helm's engine is made of) otherwise. One code path: what the tests check is what the
// committed plain manifests were made with.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isKubeObject, type KubeObject } from './validate.js';

/** The repository root (deploy/..). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Flags for one render: `--set a.b=c`, `-f values.yaml`, `--api-versions g/v`. */
export interface RenderOptions {
  readonly set?: readonly string[];
  readonly valuesFiles?: readonly string[];
  readonly apiVersions?: readonly string[];
}

/** A render: the YAML stream, or why the chart did not render (a `fail`, a template error, no renderer). */
export type RenderResult =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

/** Renders the chart with the given values. */
export async function renderChart(options: RenderOptions = {}): Promise<RenderResult> {
  const flags: string[] = [];
  for (const s of options.set ?? []) flags.push('--set', s);
  for (const f of options.valuesFiles ?? []) flags.push('-f', f);
  for (const a of options.apiVersions ?? []) flags.push('--api-versions', a);
  return new Promise<RenderResult>((resolve) => {
    execFile(
      'bash',
      ['deploy/render-manifests.sh', '--stdout', '--', ...flags],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) resolve({ ok: false, reason: stderr.trim() || err.message });
        else resolve({ ok: true, value: stdout });
      },
    );
  });
}

/** Parses a multi-document YAML stream into objects; a document that is not an object is an error. */
export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an empty document (only comments)
    if (!isKubeObject(value))
      throw new Error(`a document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    out.push(value);
  }
  return out;
}

/** Finds the one object of a kind (and name suffix), or throws naming what was there. */
export function findObject(objects: readonly KubeObject[], kind: string, nameSuffix = ''): KubeObject {
  const hits = objects.filter((o) => o.kind === kind && (o.metadata?.name ?? '').endsWith(nameSuffix));
  if (hits.length !== 1) {
    throw new Error(
      `expected one ${kind} *${nameSuffix}, found ${hits.length} among ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`,
    );
  }
  return hits[0]!;
}
