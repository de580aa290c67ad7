// The container image without a Docker engine (none runs here, and hadolint is neither in Debian
// nor on npm):
//  1. a structural lint of deploy/docker/Dockerfile, with the hadolint rules that apply named;
//  2. the production file tree built as the Dockerfile builds it (package files, node_modules,
//     the build output, migrations; then `npm prune --omit=dev`), from which both entrypoints start:
//     `--help`, the mapper serving /healthz, /readyz and /metrics on a temp database and a snapshot
//     as uid 65532 (the image's USER), and the sniffer capturing on loopback with CAP_NET_RAW only
//     (the chart's securityContext) and reporting to that mapper.
// The tree reuses the repository's node_modules (a copy, then pruned) and dist/ (built by the test
// global setup with tsc -p tsconfig.build.json, the Dockerfile's `npm run build` minus the UI
// bundle) rather than running `npm ci` again: the native modules would be rebuilt from the same
// lock file, and node-gyp cannot fetch Node headers here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, findObject, parseManifests } from '../deploy/render.js';
import type { KubeObject } from '../deploy/validate.js';

const DOCKERFILE = join(REPO_ROOT, 'deploy/docker/Dockerfile');
const DOCKERIGNORE = join(REPO_ROOT, 'deploy/docker/Dockerfile.dockerignore');

// ---- a small Dockerfile reader ----------------------------------------------------------------
interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly stage: number;
}

/** Splits a Dockerfile into instructions (continuations joined, comments dropped), numbering stages. */
function readDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (pending !== '' && /^\s*#/.test(line)) continue; // comments inside a continuation
    const joined = pending + (pending ? ' ' : '') + line.trim();
    if (line.endsWith('\\')) {
      pending = joined.slice(0, -1).trim();
      continue;
    }
    pending = '';
    if (joined === '') continue;
    const m = /^(\S+)\s*(.*)$/.exec(joined)!;
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2]!, stage });
  }
  return out;
}

/** Docker's .dockerignore matching (patternmatcher): `**`, `*`, `!` exceptions, the last match wins. */
function isIgnored(patterns: readonly string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+/, '');
    const re = new RegExp(
      '^' +
        pattern
          .split('/')
          .map((part) =>
            part === '**'
              ? '.*'
              : part
                  .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                  .replace(/\*/g, '[^/]*')
                  .replace(/\?/g, '[^/]'),
          )
          .join('/')
          .replace(/\.\*\//g, '(?:.*/)?') +
        '(?:/.*)?$',
    );
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('deploy/docker/Dockerfile (structural lint; hadolint rule ids where one applies)', () => {
  const text = readFileSync(DOCKERFILE, 'utf8');
  const all = readDockerfile(text);
  const args = new Map<string, string>();
  for (const i of all.filter((i) => i.keyword === 'ARG' && i.stage === -1)) {
    const [name, value] = i.args.split('=');
    if (value !== undefined) args.set(name!, value);
  }
  const froms = all.filter((i) => i.keyword === 'FROM');
  const stages = froms.map((f) => / AS (\S+)$/i.exec(f.args)?.[1] ?? '');
  const last = froms.length - 1;
  const inStage = (n: number, keyword: string): Instruction[] =>
    all.filter((i) => i.stage === n && i.keyword === keyword);

  it('is multi-stage, from an exact Node 20 or 22 slim release (DL3006, DL3007)', () => {
    expect(stages).toEqual(['build', 'runtime']);
    for (const f of froms) {
      const image = f.args
        .split(/\s+/)[0]!
        .replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? '');
      expect(image).toMatch(/^node:(20|22)\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('installs with apt-get, without recommends, and removes the lists (DL3027, DL3015, DL3009)', () => {
    const runs = all.filter((i) => i.keyword === 'RUN');
    for (const r of runs) {
      expect(r.args).not.toMatch(/(^|[\s;&|])apt\s/);
      expect(r.args).not.toMatch(/apt-get (dist-)?upgrade/);
      if (r.args.includes('apt-get install')) {
        expect(r.args).toContain('--no-install-recommends');
        expect(r.args).toContain('rm -rf /var/lib/apt/lists/*');
        expect(r.args).toMatch(/apt-get update\s*&&/);
      }
    }
  });

  it('builds native modules in the build stage and ships only runtime libraries', () => {
    const buildRuns = inStage(0, 'RUN').map((r) => r.args);
    expect(buildRuns.join('\n')).toMatch(/libpcap-dev.*python3.*make.*g\+\+/);
    const order = buildRuns
      .map((r) =>
        r.includes('npm ci')
          ? 'ci'
          : r.includes('npm run build')
            ? 'build'
            : r.includes('npm prune --omit=dev')
              ? 'prune'
              : '',
      )
      .filter(Boolean);
    expect(order).toEqual(['ci', 'build', 'prune']);
    const runtimeRuns = inStage(last, 'RUN')
      .map((r) => r.args)
      .join('\n');
    expect(runtimeRuns).toContain('libpcap0.8');
    expect(runtimeRuns).not.toMatch(/-dev\b|g\+\+|\bmake\b|python3|npm (ci|install)/);
    // Everything the runtime stage has comes from the build stage (DL3022: --from names a stage).
    for (const c of inStage(last, 'COPY')) {
      const from = /--from=(\S+)/.exec(c.args)?.[1];
      expect(from).toBeDefined();
      expect(stages.slice(0, last)).toContain(from);
    }
    expect(all.some((i) => i.keyword === 'ADD')).toBe(false); // DL3020
  });

  it('runs as a non-root numeric user with an exec-form entrypoint (DL3002, DL3025, DL3000, DL4006)', () => {
    const users = inStage(last, 'USER');
    expect(users.at(-1)?.args).toBe('65532:65532');
    const entrypoint = JSON.parse(inStage(last, 'ENTRYPOINT')[0]!.args) as string[];
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(entrypoint).toEqual(['node', `/app/${pkg.bin['intentmap']}`]);
    expect(() => JSON.parse(inStage(last, 'CMD')[0]!.args) as unknown).not.toThrow();
    expect(inStage(last, 'HEALTHCHECK')[0]?.args).toMatch(/CMD \[/);
    for (const w of all.filter((i) => i.keyword === 'WORKDIR')) expect(w.args).toMatch(/^\//);
    // Pipes in RUN need pipefail.
    if (inStage(0, 'RUN').some((r) => / \| /.test(r.args)))
      expect(inStage(0, 'SHELL')[0]?.args).toContain('pipefail');
  });

  it('declares, in each stage, every variable the stage uses (pre-FROM ARGs do not carry over)', () => {
    for (let n = 0; n < froms.length; n++) {
      const declared = new Set<string>();
      for (const i of all.filter((i) => i.stage === n)) {
        if (i.keyword === 'ARG' || i.keyword === 'ENV') declared.add(i.args.split(/[=\s]/)[0]!);
        if (i.keyword === 'FROM' || i.keyword === 'RUN' || i.keyword === 'HEALTHCHECK') continue; // FROM sees pre-FROM ARGs; RUN/CMD see the shell's
        for (const m of i.args.matchAll(/\$\{?(\w+)/g))
          expect([stages[n], i.keyword, m[1], declared.has(m[1]!)]).toEqual([
            stages[n],
            i.keyword,
            m[1],
            true,
          ]);
      }
    }
  });

  it('carries the OCI labels', () => {
    const labels = inStage(last, 'LABEL')
      .map((l) => l.args)
      .join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision', 'created', 'base.name']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it('gets every file it copies from the context, and no local build, database or secret (ignore file)', () => {
    const patterns = readFileSync(DOCKERIGNORE, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const c of inStage(0, 'COPY')) {
      const sources = c.args
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1);
      for (const s of sources) {
        expect([s, existsSync(join(REPO_ROOT, s))]).toEqual([s, true]);
        // A directory is sent when some file in it is (Docker walks into it for the ! exceptions).
        const files = statSync(join(REPO_ROOT, s)).isDirectory()
          ? readdirSync(join(REPO_ROOT, s), { recursive: true, withFileTypes: true })
              .filter((e) => e.isFile())
              .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name)))
          : [s];
        expect([s, files.some((f) => !isIgnored(patterns, f))]).toEqual([s, true]);
      }
    }
    for (const p of ['sniffer/main.ts', 'mapper/cli/main.ts', 'migrations/0001_init.sql', 'web/ui-build.ts'])
      expect([p, isIgnored(patterns, p)]).toEqual([p, false]);
    for (const p of [
      'node_modules/cap/package.json',
      'dist/mapper/cli/main.js',
      '.git/config',
      '.data/intentmap.db',
      'mapper/x.db',
      'sniffer/aggregate.test.ts',
      'notes.txt',
      '.env',
    ]) {
      expect([p, isIgnored(patterns, p)]).toEqual([p, true]);
    }
  });
});

// ---- the production file tree --------------------------------------------------------------------
const IS_ROOT = process.getuid?.() === 0;
const HAS_SETPRIV = hasCommand('setpriv');
const MAPPER_UID = 65532;
const work = mkdtempSync(join(tmpdir(), 'intentmap-image-'));
const tree = join(work, 'app');
const committed: KubeObject[] = parseManifests(
  readFileSync(join(REPO_ROOT, 'deploy/manifests/intentmap.yaml'), 'utf8'),
);
const chartArgs = (kind: string): string[] => {
  const w = findObject(committed, kind);
  const spec = (w['spec'] as { template: { spec: { containers: { args: string[] }[] } } }).template.spec;
  return spec.containers[0]!.args;
};
const flagsOf = (list: readonly string[]): string[] =>
  list.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
const flagValue = (list: readonly string[], flag: string): string | undefined =>
  list.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);

/** The backup one-liner of the README ("Upgrading"), paths as arguments; run in /app (the WORKDIR). */
const BACKUP_SCRIPT =
  "const D = require('better-sqlite3'); const db = new D(process.argv[1], { fileMustExist: true }); db.backup(process.argv[2]).then(() => console.log('backup done'))";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Runs the CLI from the tree; returns exit code and output. */
function cli(argv: string[]): { code: number; out: string } {
  try {
    const out = execFileSync('node', [join(tree, 'dist/mapper/cli/main.js'), ...argv], {
      cwd: tree,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Waits until an HTTP endpoint of a child process answers. There is no event to wait on from
 * outside the process, so this retries the connection (not a fixed sleep), and fails as soon as
 * the process exits.
 */
async function waitForHttp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  let exited = false;
  child.once('exit', () => (exited = true));
  for (let attempt = 0; attempt < 600; attempt++) {
    if (exited) throw new Error(`the process exited before ${url} answered:\n${output()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not answer within 30 s:\n${output()}`);
}

function start(
  argv: string[],
  options: { uid?: number; caps?: string } = {},
): { child: ChildProcess; output: () => string } {
  const node = ['node', join(tree, 'dist/mapper/cli/main.js'), ...argv];
  const prefix =
    options.uid !== undefined || options.caps !== undefined
      ? [
          'setpriv',
          ...(options.uid !== undefined
            ? [`--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups']
            : []),
          ...(options.caps ? [`--bounding-set=${options.caps}`, '--inh-caps=-all'] : []),
        ]
      : [];
  const full = [...prefix, ...node];
  const child = spawn(full[0]!, full.slice(1), { cwd: tree, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return { child, output: () => text };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe('the production file tree (as the Dockerfile builds it)', () => {
  let helpRoot = '';
  let hasMapperCommand = false;
  let hasLiveSniff = false;

  beforeAll(() => {
    mkdirSync(tree, { recursive: true });
    for (const f of ['package.json', 'package-lock.json'])
      writeFileSync(join(tree, f), readFileSync(join(REPO_ROOT, f)));
    // COPY --from=build /src/node_modules (after `npm ci`): the installed tree, hard-linked for
    // speed (prune only unlinks), except the hidden lock file that prune rewrites.
    const lockBefore = readFileSync(join(REPO_ROOT, 'node_modules/.package-lock.json'));
    try {
      execFileSync('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules')]);
    } catch {
      execFileSync('cp', ['-a', join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules')]);
    }
    rmSync(join(tree, 'node_modules/.package-lock.json'));
    writeFileSync(join(tree, 'node_modules/.package-lock.json'), lockBefore);
    execFileSync('cp', ['-a', join(REPO_ROOT, 'dist'), join(REPO_ROOT, 'migrations'), tree]);
    // `npm run build` ends with dist/sniffer/capture/native/build-addon.js, which compiles the
    // packet-stats addon beside itself from the source tree (present in the build stage only).
    rmSync(join(tree, 'dist/sniffer/capture/native/packet-stats.node'), { force: true });
    mkdirSync(join(tree, 'sniffer/capture/native'), { recursive: true });
    copyFileSync(
      join(REPO_ROOT, 'sniffer/capture/native/packet-stats.c'),
      join(tree, 'sniffer/capture/native/packet-stats.c'),
    );
    execFileSync(process.execPath, [join(tree, 'dist/sniffer/capture/native/build-addon.js')], {
      stdio: 'pipe',
    });
    rmSync(join(tree, 'sniffer'), { recursive: true });
    // The image's build fails without the addon (Dockerfile: `test -f`); so does this tree where
    // gcc and Node's headers are here.
    if (hasCommand('gcc') && existsSync(join(process.execPath, '../../include/node/node_api.h')))
      expect(existsSync(join(tree, 'dist/sniffer/capture/native/packet-stats.node'))).toBe(true);
    // RUN npm prune --omit=dev && rm -rf dist/bench && find dist -name '*.test.*' -delete
    execFileSync('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: tree,
      stdio: 'pipe',
    });
    execFileSync('sh', ['-c', "rm -rf dist/bench && find dist -name '*.test.*' -delete"], { cwd: tree });
    expect(readFileSync(join(REPO_ROOT, 'node_modules/.package-lock.json')).equals(lockBefore)).toBe(true);
    chmodSync(work, 0o755);
    helpRoot = cli(['--help']).out;
    hasMapperCommand = /^\s+mapper\b/m.test(helpRoot);
    hasLiveSniff = cli(['sniff', '--help']).out.includes('--iface');
    if (!hasMapperCommand)
      process.stderr.write('deploy-image: `intentmap mapper` is not registered yet; its tests are skipped\n');
    if (!hasLiveSniff)
      process.stderr.write(
        'deploy-image: `intentmap sniff --iface` is not registered yet; its tests are skipped\n',
      );
  }, 300_000);

  it('holds no dev dependency, and the native modules built for this Node', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dev of Object.keys(pkg.devDependencies)) {
      // A dev dependency may stay only as some production dependency's own dependency.
      if (!existsSync(join(tree, 'node_modules', dev))) continue;
      const lock = JSON.parse(readFileSync(join(tree, 'node_modules/.package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean }>;
      };
      expect([dev, lock.packages[`node_modules/${dev}`]?.dev]).toEqual([dev, undefined]);
    }
    for (const dev of [
      'typescript',
      'vitest',
      'eslint',
      'esbuild',
      'prettier',
      'playwright-core',
      'fast-check',
    ])
      expect([dev, existsSync(join(tree, 'node_modules', dev))]).toEqual([dev, false]);
    for (const dep of Object.keys(pkg.dependencies))
      expect([dep, existsSync(join(tree, 'node_modules', dep))]).toEqual([dep, true]);
    const loaded = execFileSync(
      'node',
      [
        '-e',
        "const D = require('better-sqlite3'); const db = new D(':memory:'); const v = db.prepare('select sqlite_version() v').get().v; require('cap'); console.log(v)",
      ],
      { cwd: tree, encoding: 'utf8' },
    );
    expect(loaded.trim()).toMatch(/^3\.\d+\.\d+$/);
    expect(readdirSync(join(tree, 'dist')).sort()).not.toContain('bench');
  });

  it('starts the CLI: --help lists the commands, sniff --help knows every flag the chart passes', () => {
    expect(cli(['--help']).code).toBe(0);
    expect(helpRoot).toMatch(/^\s+sniff\b/m);
    const sniffHelp = cli(['sniff', '--help']);
    expect(sniffHelp.code).toBe(0);
    if (!hasLiveSniff) return;
    for (const flag of flagsOf(chartArgs('DaemonSet')))
      expect([flag, sniffHelp.out.includes(flag)]).toEqual([flag, true]);
  });

  it.runIf(IS_ROOT && HAS_SETPRIV)(
    'runs the mapper as uid 65532 with the chart flags, serving its probes, then the sniffer with NET_RAW only',
    async (ctx) => {
      if (!hasMapperCommand) return ctx.skip();
      const mapperHelp = cli(['mapper', '--help']);
      expect(mapperHelp.code).toBe(0);
      for (const flag of flagsOf(chartArgs('Deployment')))
        expect([flag, mapperHelp.out.includes(flag)]).toEqual([flag, true]);

      // The pod's volumes: the database directory (PVC, fsGroup 65532), the token Secret, a snapshot
      // instead of the API server.
      const dbDir = join(work, 'db');
      mkdirSync(dbDir);
      chownSync(dbDir, MAPPER_UID, MAPPER_UID);
      const token = 'k'.repeat(48);
      const tokenFile = join(work, 'token');
      writeFileSync(tokenFile, token, { mode: 0o444 });
      const snapshot = join(work, 'snapshot');
      mkdirSync(snapshot);
      writeFileSync(
        join(snapshot, 'cluster.yaml'),
        [
          'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}',
          'apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, uid: u1, labels: {app: web}}\nspec: {containers: [{name: c, image: i}]}\nstatus: {podIP: 127.0.0.1, phase: Running}',
        ].join('\n---\n'),
      );
      const port = await freePort();
      const margs = chartArgs('Deployment')
        .filter((a) => !/^--(db|listen|token-file)=/.test(a))
        .concat([
          `--db=${join(dbDir, 'intentmap.db')}`,
          `--listen=127.0.0.1:${port}`,
          `--token-file=${tokenFile}`,
          `--snapshot=${snapshot}`,
        ]);
      const mapper = start(margs, { uid: MAPPER_UID });
      const base = `http://127.0.0.1:${port}`;
      await waitForHttp(`${base}/healthz`, mapper.child, mapper.output);

      const deployment = findObject(committed, 'Deployment');
      const container = (
        deployment['spec'] as {
          template: { spec: { containers: Record<string, { httpGet: { path: string } }>[] } };
        }
      ).template.spec.containers[0]!;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const res = await fetch(`${base}${container[probe]!.httpGet.path}`);
        expect([probe, res.status]).toEqual([probe, 200]);
      }
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('intentmap_ingest_batches_total');

      if (hasLiveSniff) {
        const metricsPort = await freePort();
        const spool = join(work, 'spool');
        mkdirSync(spool);
        const sargs = chartArgs('DaemonSet')
          .filter(
            (a) =>
              !/^--(iface|mapper|token-file|spool-dir|metrics-listen|proc-root|report-interval)=/.test(a),
          )
          .concat([
            '--iface=lo',
            `--mapper=${base}`,
            `--token-file=${tokenFile}`,
            `--spool-dir=${spool}`,
            `--metrics-listen=127.0.0.1:${metricsPort}`,
            '--report-interval=1s',
            '--node-name=image-test',
          ]);
        const sniffer = start(sargs, { caps: '-all,+net_raw' });
        await waitForHttp(`http://127.0.0.1:${metricsPort}/healthz`, sniffer.child, sniffer.output);
        const ds = findObject(committed, 'DaemonSet');
        const sc = (
          ds['spec'] as {
            template: { spec: { containers: Record<string, { httpGet: { path: string } }>[] } };
          }
        ).template.spec.containers[0]!;
        for (const probe of ['livenessProbe', 'readinessProbe']) {
          const res = await fetch(`http://127.0.0.1:${metricsPort}${sc[probe]!.httpGet.path}`);
          expect([probe, res.status, sniffer.output()]).toEqual([probe, 200, sniffer.output()]);
        }
        if (existsSync(join(tree, 'dist/sniffer/capture/native/packet-stats.node'))) {
          const sm = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
          expect(sm).toMatch(/^intentmap_sniffer_kernel_drops_available 1$/m);
        }
        // A connection on loopback for the capture to see, then a graceful stop that flushes it.
        await fetch(`${base}/healthz`);
        expect(await stop(sniffer.child)).toBe(0);
        const after = await (await fetch(`${base}/metrics`)).text();
        expect(after).toMatch(/intentmap_ingest_batches_total\{outcome="applied"\} [1-9]/);
      }
      // The README's backup procedure, run as the mapper's user while the mapper is running: SQLite's
      // online backup API through the image's own better-sqlite3 (the image has no sqlite3 CLI).
      const backup = join(dbDir, 'backup.db');
      execFileSync(
        'setpriv',
        [
          `--reuid=${MAPPER_UID}`,
          `--regid=${MAPPER_UID}`,
          '--clear-groups',
          'node',
          '-e',
          BACKUP_SCRIPT,
          join(dbDir, 'intentmap.db'),
          backup,
        ],
        { cwd: tree },
      );
      const check = execFileSync(
        'node',
        [
          '-e',
          "const D = require('better-sqlite3'); const db = new D(process.argv[1], { readonly: true }); console.log(db.pragma('integrity_check', { simple: true }), db.prepare('select count(*) n from schema_migrations').get().n > 0)",
          backup,
        ],
        { cwd: tree, encoding: 'utf8' },
      );
      expect(check.trim()).toBe('ok true');
      expect(await stop(mapper.child)).toBe(0);
      // The database is where the chart puts it, on the volume, owned by the mapper's user.
      expect(existsSync(join(dbDir, 'intentmap.db'))).toBe(true);
      expect(flagValue(chartArgs('Deployment'), '--db')).toMatch(/^\/var\/lib\/intentmap\/db\//);
    },
  );
});
