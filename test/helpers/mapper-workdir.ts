// The working folder of a test that runs the real `intentmap mapper` process (bench/load/harness.ts):
// a temp dir with the ingest token in a file and a manifest snapshot holding one namespace, so the
// mapper starts without a Kubernetes API server.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What createMapperWorkdir made: the temp dir (remove it in afterAll), the token file and the snapshot dir. */
export interface MapperWorkdir {
  readonly dir: string;
  readonly tokenFile: string;
  readonly snapshot: string;
}

/** Makes a temp dir named `prefix…` holding `token` in `token` and a snapshot with namespace shop. */
export function createMapperWorkdir(prefix: string, token: string): MapperWorkdir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  const snapshot = join(dir, 'snapshot');
  mkdirSync(snapshot);
  writeFileSync(
    join(snapshot, 'ns.yaml'),
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, uid: ns1}\n',
  );
  return { dir, tokenFile, snapshot };
}
