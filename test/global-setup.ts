// Runs once before the test files: builds dist/ so that tests can spawn the real `intentmap` CLI.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Builds the project unless INTENTMAP_SKIP_BUILD=1 and dist/ already exists. */
export default function setup(): void {
  if (process.env['INTENTMAP_SKIP_BUILD'] === '1' && existsSync('dist/mapper/cli/main.js')) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
