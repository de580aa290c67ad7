// Offline cluster state: a directory of manifests (kubectl get -o yaml|json, multi-document, List
// kinds) plus optional lifecycle event files, turned into the ClusterEvents a live watch would
// have produced.
//
// Lifecycle events (`*.ndjson` anywhere under the directory), one JSON object per line:
//   {"ts": "2026-11-23T01:02:03.456Z" | 1790000000000, "type": "ADDED" | "MODIFIED" | "DELETED", "object": {<Kubernetes object with kind>}}
// They carry what a manifest snapshot cannot: when pods were created and deleted, so a pod that is
// gone (and whose IP was reused) still owns its IP for the time it lived. Blank lines and lines
// starting with '#' are ignored; a bad line is reported with its file and line number.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterState } from '../identity/cluster-state.js';
import {
  CLUSTER_EVENT_TYPES,
  type ClusterEvent,
  type ClusterEventType,
  type ClusterObject,
} from '../identity/objects.js';
import { toClusterObject } from './convert.js';
import { formatIssue, loadManifests } from './manifests.js';

/** A loaded snapshot: events in apply order, and every problem found (as one-line messages). */
export interface Snapshot {
  readonly events: readonly ClusterEvent[];
  readonly issues: readonly string[];
  /** Files read (manifests and event files). */
  readonly files: readonly string[];
}

/** One parsed lifecycle line. */
export type LifecycleLineResult =
  { readonly ok: true; readonly value: ClusterEvent } | { readonly ok: false; readonly reason: string };

// Controllers before pods at equal times, so the owner walk finds them at once.
const KIND_ORDER: Record<string, number> = {
  Namespace: 0,
  Node: 1,
  Deployment: 2,
  CronJob: 2,
  StatefulSet: 2,
  DaemonSet: 2,
  ReplicaSet: 3,
  Job: 3,
  Service: 4,
  Pod: 5,
  EndpointSlice: 6,
  NetworkPolicy: 7,
};

/** When a manifest object came to be, for its ADDED event: a pod's start, else its creation, else 0. */
export function objectTimeMs(o: ClusterObject): number {
  if (o.kind === 'Pod') return o.startedMs ?? o.createdMs ?? 0;
  if ('createdMs' in o) return o.createdMs ?? 0;
  return 0;
}

/** Parses one lifecycle line (pure). */
export function parseLifecycleLine(line: string): LifecycleLineResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  if (typeof v !== 'object' || v === null) return { ok: false, reason: 'not a JSON object' };
  const { ts, type, object } = v as { ts?: unknown; type?: unknown; object?: unknown };
  const atMs = typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : NaN;
  if (!Number.isFinite(atMs))
    return { ok: false, reason: `ts ${JSON.stringify(ts)} is not an RFC 3339 time or epoch milliseconds` };
  if (typeof type !== 'string' || !(CLUSTER_EVENT_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      reason: `type ${JSON.stringify(type)} must be one of ${CLUSTER_EVENT_TYPES.join(', ')}`,
    };
  }
  const r = toClusterObject(object);
  if (!r.ok) return { ok: false, reason: `object: ${r.reason}` };
  return { ok: true, value: { type: type as ClusterEventType, object: r.value, atMs } };
}

async function listNdjson(dir: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue; // loadManifests reports unreadable directories
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(current, e.name);
      if (e.isDirectory()) stack.push(full);
      else if (e.name.endsWith('.ndjson')) out.push(full);
    }
  }
  return out.sort();
}

/** Sorts events by time, then kind order (stable). */
export function orderEvents(events: readonly ClusterEvent[]): ClusterEvent[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort(
      (a, b) =>
        a.e.atMs - b.e.atMs ||
        (KIND_ORDER[a.e.object.kind] ?? 9) - (KIND_ORDER[b.e.object.kind] ?? 9) ||
        a.i - b.i,
    )
    .map((x) => x.e);
}

/** Loads a snapshot directory (or one manifest file). */
export async function loadSnapshot(path: string): Promise<Snapshot> {
  const manifests = await loadManifests(path);
  const issues: string[] = manifests.issues
    .filter((i) => !(i.severity === 'note' && i.file.endsWith('.ndjson')))
    .map(formatIssue);
  const events: ClusterEvent[] = [];
  for (const m of manifests.objects) {
    const r = toClusterObject(m.raw, m.kind);
    if (!r.ok) {
      if (r.reason !== 'unknown-kind')
        issues.push(
          `error: ${m.source.file}#${m.source.document + 1}: ${m.kind} ${m.metadata.name}: ${r.reason}; skipped.`,
        );
      continue;
    }
    events.push({ type: 'ADDED', object: r.value, atMs: objectTimeMs(r.value) });
  }
  const files = [...manifests.files];
  for (const file of await listNdjson(path)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      issues.push(`error: ${file}: cannot be read: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    files.push(file);
    text.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return;
      const r = parseLifecycleLine(t);
      if (r.ok) events.push(r.value);
      else issues.push(`error: ${file}:${i + 1}: ${r.reason}; line skipped.`);
    });
  }
  return { events: orderEvents(events), issues, files };
}

/** Applies a snapshot to cluster state; a snapshot is all there is, so state counts as caught up for any time. */
export function applySnapshot(state: ClusterState, snapshot: Snapshot): void {
  for (const e of snapshot.events) state.apply(e);
  state.markSynced(Infinity);
}
