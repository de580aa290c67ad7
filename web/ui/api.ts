// The UI's calls to its server. A 401 sends the browser to the login page; other errors carry the
// server's catalogue code and message.
import type { ViewFilter, ViewGraph } from '../shared/view.js';
import { encodeFilter } from '../shared/view.js';

/** An error answered by the UI API. */
export class UiApiError extends Error {
  override readonly name = 'UiApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (res.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new UiApiError(401, 'missing-token', 'signed out');
  }
  if (!res.ok) {
    let code = 'http';
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { code?: string; message?: string };
      code = body.code ?? code;
      message = body.message ?? message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new UiApiError(res.status, code, message);
  }
  return (await res.json()) as T;
}

/** The query string for a filter (view parameters only). */
export function filterQuery(f: ViewFilter): string {
  return encodeFilter(f, { viewOnly: true });
}

/** Fetches the aggregated view. */
export function fetchGraph(f: ViewFilter): Promise<ViewGraph> {
  return getJson<ViewGraph>(`/ui/api/graph?${filterQuery(f)}`);
}

/** Type-ahead suggestions. */
export function fetchSuggest(q: string): Promise<{
  namespaces: string[];
  workloads: { id: string; namespace: string; name: string; kind: string; workloadKind: string }[];
}> {
  return getJson(`/ui/api/suggest?q=${encodeURIComponent(q)}&limit=20`);
}

/** The inspector's node detail. */
export function fetchNode<T>(id: string, f: ViewFilter): Promise<T> {
  return getJson<T>(`/ui/api/node?id=${encodeURIComponent(id)}&${filterQuery(f)}`);
}

/** The inspector's edge detail. */
export function fetchEdge<T>(source: string, target: string, f: ViewFilter): Promise<T> {
  return getJson<T>(
    `/ui/api/edge?source=${encodeURIComponent(source)}&target=${encodeURIComponent(target)}&${filterQuery(f)}`,
  );
}
