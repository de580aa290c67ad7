// Bundles the browser UI (web/ui, TypeScript + d3) into dist/web/public with esbuild: one ES
// module, one stylesheet, the favicon. Every asset is served by the mapper itself (no CDN). Run by
// `npm run build` as `node dist/web/ui-build.js`; tests import buildUi() directly.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options for buildUi. */
export interface BuildUiOptions {
  /** The package root (holds package.json and web/ui). */
  readonly root?: string;
  /** Output folder (default ROOT/dist/web/public). */
  readonly outDir?: string;
  /** Minify (default true). */
  readonly minify?: boolean;
}

/** Finds the package root from this file (in web/ or dist/web/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'web', 'ui', 'main.ts'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(
    'cannot find the intentmap source tree (web/ui/main.ts) above ' + fileURLToPath(import.meta.url),
  );
}

/** Builds the UI bundle; returns the output folder. */
export async function buildUi(options: BuildUiOptions = {}): Promise<string> {
  const root = resolve(options.root ?? packageRoot());
  const outDir = resolve(options.outDir ?? join(root, 'dist', 'web', 'public'));
  // esbuild is a build-time dependency: loaded here so the mapper never needs it at run time.
  const esbuild = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, 'web', 'ui', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'linked',
    loader: { '.css': 'text' },
    logLevel: 'warning',
    absWorkingDir: root,
  });
  const css = ['app.css', 'graph.css']
    .map((f) => readFileSync(join(root, 'web', 'ui', f), 'utf8'))
    .join('\n');
  writeFileSync(join(outDir, 'app.css'), css);
  copyFileSync(join(root, 'web', 'ui', 'favicon.svg'), join(outDir, 'favicon.svg'));
  return outDir;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  buildUi().then(
    (out) => console.log(`web UI bundled into ${out}`),
    (err: unknown) => {
      console.error(`web UI build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
