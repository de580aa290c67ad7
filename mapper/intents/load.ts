// The I/O edge of intents and reports: reading intents and policy directories, snapshots and the
// store into the pure modules' inputs. Shared by the export, diff, simulate and report commands.
import type { Database as Db } from 'better-sqlite3';
import type { GraphQuery } from '../graph/model.js';
import { loadManifests, type ManifestObject } from '../kube/manifests.js';
import type { GraphStore } from '../store/graph-store.js';
import type { ReplayEdge } from '../report/replay.js';
import {
  clusterFromIdentities,
  clusterFromManifests,
  mergeClusterViews,
  type ClusterView,
} from './cluster.js';
import type { ClientIntents, IntentIssue } from './model.js';
import { decodeClientIntents, findIntentCycles, manifestIssuesToIntentIssues } from './parse.js';
import { classifyInfrastructure } from './suggest.js';

/** Reads every ClientIntents under `dir`; bad files and documents become issues, the rest is kept. */
export async function loadIntentsDir(
  dir: string,
): Promise<{ intents: ClientIntents[]; issues: IntentIssue[]; files: number }> {
  const loaded = await loadManifests(dir);
  const decoded = decodeClientIntents(loaded.objects);
  const issues = [
    ...manifestIssuesToIntentIssues(loaded.issues.filter((i) => i.severity === 'error')),
    ...decoded.issues,
    ...findIntentCycles(decoded.intents),
  ];
  return { intents: [...decoded.intents], issues, files: loaded.files.length };
}

/** Reads the NetworkPolicies under `dir` (raw manifest objects) with loading issues. */
export async function loadPolicyObjects(
  dir: string,
): Promise<{ objects: ManifestObject[]; issues: IntentIssue[]; files: number }> {
  const loaded = await loadManifests(dir, { kinds: new Set(['NetworkPolicy']) });
  return {
    objects: [...loaded.objects],
    issues: manifestIssuesToIntentIssues(loaded.issues.filter((i) => i.severity === 'error')),
    files: loaded.files.length,
  };
}

/** The cluster view: the store's identities, overlaid with a manifests snapshot when given. */
export async function loadClusterView(
  store: GraphStore,
  snapshotDir: string | undefined,
): Promise<{ view: ClusterView; issues: IntentIssue[] }> {
  const base = clusterFromIdentities(store.listIdentities().map((r) => r.identity));
  if (snapshotDir === undefined) return { view: base, issues: [] };
  const loaded = await loadManifests(snapshotDir);
  const snap = clusterFromManifests(loaded.objects, `snapshot ${snapshotDir}`);
  return {
    view: mergeClusterViews(base, snap),
    issues: manifestIssuesToIntentIssues(loaded.issues.filter((i) => i.severity === 'error')),
  };
}

/** Every edge matching `query`, with the addresses it was seen between. */
export function loadReplayEdges(store: GraphStore, query: GraphQuery = {}): ReplayEdge[] {
  return store.queryEdges(query).map((edge) => ({ edge, endpoints: store.edgeEndpoints(edge.id) }));
}

/** Observed DNS answers (name → IPs), to turn internet domains into ipBlocks. */
export function loadDomainIps(db: Db, since?: number): Map<string, string[]> {
  const rows = db
    .prepare(`SELECT name, ip FROM dns_names WHERE last_seen >= ? ORDER BY name, ip`)
    .all(since ?? 0) as { name: string; ip: string }[];
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const name = r.name.toLowerCase().replace(/\.$/, '');
    out.set(name, [...(out.get(name) ?? []), r.ip]);
  }
  return out;
}

/** The API server addresses seen in edges (server IPs of edges to the `default/kubernetes` Service or kube-apiserver). */
export function apiServerAddresses(edges: readonly ReplayEdge[]): string[] {
  const ips = new Set<string>();
  for (const e of edges)
    if (classifyInfrastructure(e.edge) === 'kube-apiserver') for (const p of e.endpoints) ips.add(p.serverIp);
  return [...ips].sort();
}

/** Opens the store read-only for a reporting command; the message says how to create one. */
export async function openStoreForRead(file: string): Promise<{ db: Db; store: GraphStore }> {
  const [{ openDatabase, StoreError }, { GraphStore: Store }, { UserError }] = await Promise.all([
    import('../store/open-store.js'),
    import('../store/graph-store.js'),
    import('../cli/errors.js'),
  ]);
  try {
    const db = openDatabase(file, { readonly: true });
    return { db, store: new Store(db) };
  } catch (err) {
    if (err instanceof StoreError) throw new UserError(`--db: ${err.message}`);
    throw err;
  }
}

/** Parses `--now` (ISO 8601 or epoch milliseconds) for reproducible reports. */
export function parseNow(text: string | undefined, current: number): number {
  if (text === undefined) return current;
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n))
    throw new Error(`--now: "${text}" is not an ISO 8601 time (2026-01-31T12:00:00Z) or epoch milliseconds.`);
  return n;
}
