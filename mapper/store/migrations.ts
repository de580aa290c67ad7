// Migration planning: pure checks over what the code ships and what a database has applied.
import { createHash } from 'node:crypto';

/** A migration file shipped with the code. */
export interface Migration {
  /** The number in `NNNN_name.sql`. */
  readonly id: number;
  readonly name: string;
  readonly sql: string;
  /** sha256 of the file's bytes, hex. */
  readonly checksum: string;
}

/** A migration recorded as applied in a database. */
export interface AppliedMigration {
  readonly id: number;
  readonly name: string;
  readonly checksum: string;
}

/** Why a database cannot be used with this code. */
export type MigrationRefusal =
  | { readonly reason: 'newer-database'; readonly id: number; readonly name: string }
  | { readonly reason: 'edited-migration'; readonly id: number; readonly name: string };

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Computes a migration's checksum. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Parses migration files (name → text) into an ordered list; rejects bad names and duplicate numbers. */
export function parseMigrations(files: ReadonlyMap<string, string>): Migration[] {
  const out: Migration[] = [];
  const seen = new Set<number>();
  for (const [file, sql] of files) {
    const m = FILE_RE.exec(file);
    if (!m)
      throw new Error(
        `migration file "${file}" is not named NNNN_name.sql; rename it, e.g. 0002_add_index.sql`,
      );
    const id = Number(m[1]);
    if (seen.has(id))
      throw new Error(`two migration files have the number ${m[1]}; give "${file}" the next free number`);
    seen.add(id);
    out.push({ id, name: m[2] ?? '', sql, checksum: checksumOf(sql) });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Decides what to apply, or why the database must be refused. */
export function planMigrations(
  shipped: readonly Migration[],
  applied: readonly AppliedMigration[],
):
  | { readonly ok: true; readonly pending: readonly Migration[] }
  | { readonly ok: false; readonly refusal: MigrationRefusal } {
  const byId = new Map(shipped.map((m) => [m.id, m]));
  for (const a of applied) {
    const mine = byId.get(a.id);
    if (!mine) return { ok: false, refusal: { reason: 'newer-database', id: a.id, name: a.name } };
    if (mine.checksum !== a.checksum)
      return { ok: false, refusal: { reason: 'edited-migration', id: a.id, name: a.name } };
  }
  const done = new Set(applied.map((a) => a.id));
  return { ok: true, pending: shipped.filter((m) => !done.has(m.id)) };
}
