// Bundles a TypeScript entry point into one ESM file with esbuild, for running in child processes
// (inside lab namespaces) without a full `tsc` build. Packages stay external: the bundle is
// written under node_modules/.cache so that `cap`, `pino`, etc. resolve from the repository.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

/** The repository root: the nearest directory above this module whose package.json is intentmap's (works from dist/ too). */
function findRepoRoot(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'intentmap') return dir;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return resolve(import.meta.dirname, '..', '..');
}

const REPO_ROOT = findRepoRoot();

/** Bundles `entry` (a path relative to the repository root) and returns the absolute path of the .mjs. */
export async function bundleEntry(entry: string): Promise<string> {
  const outDir = join(REPO_ROOT, 'node_modules', '.cache', 'intentmap-lab');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${basename(entry, '.ts')}-${process.pid}.mjs`);
  await build({
    entryPoints: [join(REPO_ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    outfile,
    logLevel: 'error',
  });
  // One bundle per process (the tree may change between runs); removed when this process exits.
  process.once('exit', () => rmSync(outfile, { force: true }));
  return outfile;
}

/** Absolute path of a file in the repository. */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

/**
 * Compiles the optional packet-stats addon (sniffer/capture/native/packet-stats.c) with gcc into
 * node_modules/.cache, named by the source's hash and the Node version (built once, reused by later
 * runs); returns its path, or null when gcc or the Node headers are missing.
 */
export function buildPacketStatsAddon(): string | null {
  const outDir = join(REPO_ROOT, 'node_modules', '.cache', 'intentmap-lab');
  mkdirSync(outDir, { recursive: true });
  const source = join(REPO_ROOT, 'sniffer/capture/native/packet-stats.c');
  const digest = createHash('sha256').update(readFileSync(source)).update(process.version).digest('hex');
  const out = join(outDir, `packet-stats-${digest.slice(0, 16)}.node`);
  if (existsSync(out)) return out;
  // Built under a temporary name and renamed: a concurrent test file never loads a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(
    'gcc',
    ['-shared', '-fPIC', '-Wl,-soname,libpcap.so', '-O2', '-I/usr/include/node', '-o', tmp, source],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return null;
  renameSync(tmp, out);
  return out;
}
