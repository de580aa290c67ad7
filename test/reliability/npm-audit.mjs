#!/usr/bin/env node
// The CI check for known vulnerabilities in production dependencies:
//   node test/reliability/npm-audit.mjs
// runs `npm audit --omit=dev --audit-level=high --json` and exits
//   0  the audit ran and found no high or critical advisory;
//   1  it found high or critical advisories (each is printed: package, severity, title, URL);
//   3  the audit could NOT be run (registry or advisory endpoint unreachable, proxy refusing the
//      bulk advisory POST, npm error). This is a failure on purpose: an audit that did not run
//      must not look like a clean one. Set INTENTMAP_AUDIT_UNAVAILABLE=warn to turn exit 3 into a
//      loud warning with exit 0 on machines that cannot reach the advisory service (say so in the
//      CI log; the printed line starts with "npm audit: NOT VERIFIED").
import { spawnSync } from 'node:child_process';
import process from 'node:process';

const r = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], {
  encoding: 'utf8',
  timeout: 120_000,
  maxBuffer: 64 * 1024 * 1024,
});

/** @param {string} why */
function unavailable(why) {
  const warnOnly = process.env['INTENTMAP_AUDIT_UNAVAILABLE'] === 'warn';
  process.stderr.write(
    `npm audit: NOT VERIFIED — the audit could not be run: ${why}\n` +
      (warnOnly
        ? 'npm audit: INTENTMAP_AUDIT_UNAVAILABLE=warn is set, so this is not failing the build.\n'
        : 'npm audit: failing (exit 3). Run it where registry.npmjs.org/-/npm/v1/security/advisories/bulk is reachable, ' +
          'or set INTENTMAP_AUDIT_UNAVAILABLE=warn to accept an unverified build.\n'),
  );
  process.exit(warnOnly ? 0 : 3);
}

if (r.error) unavailable(`npm could not be started (${r.error.message})`);
/** @type {any} */
let report;
try {
  report = JSON.parse(r.stdout);
} catch {
  unavailable(`npm printed no JSON report (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}`);
}
if (report.error || report.statusCode || (report.message && !report.metadata)) {
  const e = report.error ?? {};
  unavailable(`${report.message ?? e.summary ?? 'npm audit error'}${e.code ? ` (${e.code})` : ''}`);
}
const counts = report.metadata?.vulnerabilities;
if (!counts) unavailable('the report has no metadata.vulnerabilities section');
const bad = Object.values(report.vulnerabilities ?? {}).filter(
  /** @param {any} v */ (v) => v.severity === 'high' || v.severity === 'critical',
);
if (bad.length > 0) {
  process.stderr.write(
    `npm audit: ${bad.length} production dependencies with high or critical advisories:\n`,
  );
  for (const v of /** @type {any[]} */ (bad)) {
    const via = (v.via ?? [])
      .filter(/** @param {any} x */ (x) => typeof x === 'object')
      .map(/** @param {any} x */ (x) => `${x.title} ${x.url}`)
      .join('; ');
    process.stderr.write(
      `  ${v.name} (${v.severity}, range ${v.range}): ${via || `via ${(v.via ?? []).join(', ')}`}\n`,
    );
  }
  process.exit(1);
}
process.stdout.write(
  `npm audit: ok — production dependencies: ${counts.critical} critical, ${counts.high} high, ` +
    `${counts.moderate} moderate, ${counts.low} low (${report.metadata.dependencies?.prod ?? '?'} packages)\n`,
);
